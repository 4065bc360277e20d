# Soak test of a ruvector table with a ruhnsw index under a mixed workload.
#
# A ruvector table t (id bigint primary key, cat int, v ruvector(32)) with
# a ruhnsw index (m = 16, ef_construction = 64) has a heap shadow table s
# with the same columns, written in the same transactions.  After a
# deterministic preload of 5,000 rows, pgbench runs 4 clients for 30 s
# (RV_SOAK_SECONDS) mixing INSERT (both tables, ids from a sequence), k-NN queries through
# the index, UPDATE of the vector (both tables, same new value) and DELETE
# (both tables), while VACUUM t runs every ~2 s from a separate session.
# Afterwards:
#   - pgbench exited 0 and completed transactions (count reported);
#   - ruvector_verify('t') reports no problem;
#   - t equals its shadow (md5 of id:v::text in id order, and row counts);
#   - ruvector_gc_orphans() finds nothing;
#   - recall@10 of the index (ruvector.ef_search = 100) against exact
#     search (enable_indexscan = off) over 200 deterministic queries is
#     within 0.04 of the same index rebuilt on the same rows (REINDEX),
#     which reaches at least 0.95.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $t0 = time;
# seconds of pgbench (RV_SOAK_SECONDS; 30 by default, which keeps make test
# near 15 minutes on 2 cores: about 15 VACUUM rounds under the mix)
my $duration = $ENV{RV_SOAK_SECONDS} // 30;

my $node = PostgreSQL::Test::Cluster->new('soak');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
autovacuum = off
log_min_messages = warning
deadlock_timeout = '100ms'
});
$node->start;

# vec(seed): deterministic hash-based pseudo-random 32-dim vector in [-0.5, 0.5)
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(seed bigint) RETURNS ruvector
LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((((hashint8(seed * 64 + j) & 65535) / 65536.0) - 0.5)::real ORDER BY j)::ruvector
  FROM generate_series(1, 32) j $$;
CREATE TABLE t (id bigint PRIMARY KEY, cat int, v ruvector(32)) USING ruvector;
CREATE TABLE s (id bigint PRIMARY KEY, cat int, v ruvector(32));
INSERT INTO t SELECT i, i % 10, vec(i) FROM generate_series(1, 5000) i;
INSERT INTO s SELECT i, i % 10, vec(i) FROM generate_series(1, 5000) i;
CREATE INDEX t_v ON t USING ruhnsw (v) WITH (m = 16, ef_construction = 64);
CREATE SEQUENCE ids START 5001;
});

# update and delete pick an id that is committed in both tables (insert
# commits t and s together): a random id could belong to a row whose
# insert commits between the script's two statements, which in READ
# COMMITTED would then change s but not t.
my %scripts = (
	'insert' => q{
\set seed random(1, 1000000000)
SELECT nextval('ids') AS nid \gset
BEGIN;
INSERT INTO t VALUES (:nid, :nid % 10, vec(:seed));
INSERT INTO s VALUES (:nid, :nid % 10, vec(:seed));
COMMIT;
},
	'knn' => q{
SELECT id FROM t ORDER BY v <-> (SELECT array_agg((random() - 0.5)::real) FROM generate_series(1, 32))::ruvector LIMIT 10;
},
	'update' => q{
\set r random(1, 12000)
\set seed random(1, 1000000000)
BEGIN;
SELECT coalesce(max(id), 0) AS id FROM s WHERE id <= :r \gset
UPDATE t SET v = vec(:seed) WHERE id = :id;
UPDATE s SET v = vec(:seed) WHERE id = :id;
COMMIT;
},
	'delete' => q{
\set r random(1, 12000)
BEGIN;
SELECT coalesce(max(id), 0) AS id FROM s WHERE id <= :r \gset
DELETE FROM t WHERE id = :id;
DELETE FROM s WHERE id = :id;
COMMIT;
},);
my %weight = (insert => 4, knn => 5, update => 3, delete => 2);

my $dir = PostgreSQL::Test::Utils::tempdir;
my @fargs;
for my $name (sort keys %scripts)
{
	my $f = "$dir/070_$name.sql";
	PostgreSQL::Test::Utils::append_to_file($f, $scripts{$name});
	push @fargs, '-f', "$f\@$weight{$name}";
}

my ($out, $err) = ('', '');
my $pgb = IPC::Run::start(
	[
		'pgbench', '--no-vacuum', '--client=4', '--jobs=4', "-T", $duration,
		'-h', $node->host, '-p', $node->port, @fargs, 'postgres'
	],
	'>', \$out, '2>', \$err);

# VACUUM t every ~2 s while pgbench runs
my $vacuums = 0;
my $vacuum_errors = '';
while ($pgb->pumpable)
{
	for (1 .. 20)
	{
		last unless $pgb->pumpable;
		$pgb->pump_nb;
		usleep(100_000);
	}
	last unless $pgb->pumpable;
	my ($ret, $vo, $ve) = $node->psql('postgres', 'VACUUM t');
	if ($ret == 0) { $vacuums++ }
	else { $vacuum_errors .= $ve }
}
$pgb->finish;
my $rc = $pgb->result(0);

is($rc, 0, 'pgbench exited 0') or diag("pgbench stdout:\n$out\nstderr:\n$err");
my ($txns) = $out =~ /number of transactions actually processed: (\d+)/;
$txns //= 0;
ok($txns > 0, "pgbench completed transactions");
note("pgbench transactions completed: $txns");
my ($failed) = $out =~ /number of failed transactions: (\d+)/;
note("pgbench failed transactions: " . ($failed // 'n/a'));
note("pgbench per-script summary:\n" . join("\n", grep { /^SQL script|weight|processed|tps/ } split /\n/, $out));
is($vacuum_errors, '', "VACUUM t ran $vacuums times without error");
note("VACUUM t runs during the soak: $vacuums");
$node->safe_psql('postgres', 'VACUUM t');

my $problems = $node->safe_psql('postgres',
	"SELECT count(*) FROM ruvector_verify('t')");
is($problems, '0', 'ruvector_verify finds no problem')
  or diag($node->safe_psql('postgres',
	"SELECT kind, store, blkno, vid, detail FROM ruvector_verify('t') LIMIT 20"));

my $digest = q{SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || v::text, ',' ORDER BY id)), '-') FROM };
my $dt = $node->safe_psql('postgres', $digest . 't');
my $ds = $node->safe_psql('postgres', $digest . 's');
is($dt, $ds, 'ruvector table equals its heap shadow')
  or diag("rows that differ (id | in t | in s), with their vref (store, vid) and ctid:\n"
	. $node->safe_psql('postgres', q{
	SET ruvector.enable_column_scan = off;
	SELECT id, left(t.v::text, 60), left(s.v::text, 60), t.ctid
	FROM t FULL JOIN s USING (id)
	WHERE t.v::text IS DISTINCT FROM s.v::text ORDER BY id LIMIT 20}));
note("rows after soak (count md5): $dt");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT id, cat FROM t EXCEPT SELECT id, cat FROM s) x}),
	'0', 'cat column equals the shadow');

is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_gc_orphans()'),
	'0', 'ruvector_gc_orphans finds nothing');

# recall@10 of the index against exact search, over 200 deterministic
# queries: the soaked index (built, then churned by the workload and the
# VACUUMs) against the same index rebuilt on the same rows.  Random 32-d
# vectors are hard for HNSW, so the absolute figure is modest; what a
# user relies on is that churn does not erode it.
my $knn = q{
SELECT q, string_agg(id::text, ',' ORDER BY rn)
FROM generate_series(1, 200) q,
	 LATERAL (SELECT id, row_number() OVER () AS rn FROM
			  (SELECT id FROM t ORDER BY v <-> vec(1000000000 + q) LIMIT 10) x) s
GROUP BY q ORDER BY q;
};
my $plan = $node->safe_psql('postgres',
	"SET ruvector.ef_search = 100; SET enable_seqscan = off; EXPLAIN (COSTS OFF) $knn");
like($plan, qr/Index Scan using t_v/, 'k-NN queries use the ruhnsw index');
my $exact = $node->safe_psql('postgres',
	"SET enable_indexscan = off; SET enable_bitmapscan = off; $knn");
my %ex = map { my ($q, $ids) = split /\|/; ($q => [ split /,/, $ids ]) } split /\n/, $exact;
my $total = 0;
$total += scalar @{ $ex{$_} } for keys %ex;
is($total, 2000, '200 exact queries returned 10 rows each');

# recall@10 of the index at ef_search = 100
sub index_recall
{
	my $approx = $node->safe_psql('postgres',
		"SET ruvector.ef_search = 100; SET enable_seqscan = off; $knn");
	my $hits = 0;
	for my $line (split /\n/, $approx)
	{
		my ($q, $ids) = split /\|/, $line;
		my %got = map { $_ => 1 } split /,/, $ids;
		$hits += scalar grep { $got{$_} } @{ $ex{$q} };
	}
	return $hits / $total;
}
my $soaked = index_recall();
$node->safe_psql('postgres', 'REINDEX INDEX t_v');
my $fresh = index_recall();
note(sprintf('recall@10 at ef_search = 100: soaked index %.4f, rebuilt index %.4f',
	$soaked, $fresh));
cmp_ok($fresh, '>=', 0.95, sprintf('rebuilt index: recall@10 %.4f', $fresh));
cmp_ok($soaked, '>=', $fresh - 0.04,
	sprintf('soaked index: recall@10 %.4f, within 0.04 of the rebuilt index', $soaked));

$node->stop;
note(sprintf('070_soak runtime: %.1f s', time - $t0));
done_testing();
