# VACUUM's reachability pass over a ruhnsw index (amvacuumcleanup): it
# first walks the graph beside running inserts (RUHNSW_UPDATE_LOCK in
# ShareLock) and takes the exclusive lock to repair only when a live node
# is not reached.
#   - a VACUUM of an index whose nodes are all reachable reports (DEBUG1)
#     that it walked every live node and repaired nothing;
#   - after deleting 40% of the rows, VACUUM (which repairs the lists and
#     then checks) leaves verify clean and every row found by the index;
#   - 2 clients insert while VACUUM runs in a loop: every committed row is
#     reachable (verify), and at least half of the VACUUMs did without the
#     repair (a node inserted behind the first walk gets a second);
#   - the count of live nodes it reports equals the table's rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('vacclean');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION ruvector_tam;
	CREATE TABLE t (id int PRIMARY KEY, v ruvector(16)) USING ruvector;
	INSERT INTO t SELECT g, (SELECT array_agg(((hashint4(g * 16 + k) & 1023) / 1024.0)::real)
		FROM generate_series(1, 16) k)::ruvector FROM generate_series(1, 3000) g;
	CREATE INDEX t_v ON t USING ruhnsw (v) WITH (m = 8, ef_construction = 32);});

my ($ret, $out, $err) = $node->psql('postgres', 'SET client_min_messages = debug1; VACUUM t');
is($ret, 0, 'VACUUM runs');
like($err, qr/index "t_v": all 3000 live nodes reachable from the entry point, no repair/,
	'VACUUM of a fully reachable index walks 3000 live nodes and repairs nothing');

$node->safe_psql('postgres', 'DELETE FROM t WHERE id % 5 IN (1, 3)');
($ret, $out, $err) = $node->psql('postgres', 'SET client_min_messages = debug1; VACUUM t');
is($ret, 0, 'VACUUM after deleting 40% runs');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t')"), '0',
	'verify is clean after it');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET ruvector.ef_search = 400;
	SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> (SELECT v FROM t WHERE id = 2) LIMIT 400) x}),
	'400', 'the index still returns 400 rows');

# inserts beside VACUUMs
my $dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$dir/ins.sql", q{
\set id random(100000, 100000000)
INSERT INTO t VALUES (:id, (SELECT array_agg(((hashint4(:id * 16 + k) & 1023) / 1024.0)::real) FROM generate_series(1, 16) k)::ruvector) ON CONFLICT DO NOTHING;
});
my $pgb = IPC::Run::start(
	[ 'pgbench', '--no-vacuum', '--client=2', '--jobs=2', '-T', '8',
	  '-h', $node->host, '-p', $node->port, '-f', "$dir/ins.sql", 'postgres' ],
	'>', \my $pout, '2>', \my $perr);
my ($vacs, $norepair) = (0, 0);
while ($pgb->pumpable)
{
	$pgb->pump_nb;
	my ($r, $o, $e) = $node->psql('postgres', 'SET client_min_messages = debug1; VACUUM t');
	$vacs++ if $r == 0;
	$norepair++ if $e =~ /live nodes reachable from the entry point, no repair/;
	select(undef, undef, undef, 0.2);
}
$pgb->finish;
is($pgb->result(0), 0, 'pgbench inserting beside the VACUUMs exits 0') or diag($perr);
ok($vacs > 0, "$vacs VACUUMs ran beside the inserts");
# a link moved by an insert during both walks can send a VACUUM to the
# repair, rarely: most must do without it
cmp_ok($norepair, '>=', $vacs / 2,
	"$norepair of $vacs found every live node reachable without a repair");
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t')"), '0',
	'verify is clean: every committed row is reachable');
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
($ret, $out, $err) = $node->psql('postgres', 'SET client_min_messages = debug1; VACUUM t');
like($err, qr/all $rows live nodes reachable/, "the walk counts the table's $rows rows");
$node->stop;
done_testing();
