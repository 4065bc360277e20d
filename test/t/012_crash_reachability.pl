# Crash recovery keeps every node of a ruhnsw index reachable.
#
# A table with a ruhnsw index (64 dims, m = 4: level-0 lists of 8 links
# fill quickly, so inserts prune neighbour lists all the time; clustered
# vectors make pruning drop links to close neighbours) takes INSERT,
# UPDATE (a new vector, so a new node) and DELETE from 4 concurrent
# pgbench clients; mid-load the postmaster and every server process get
# SIGKILL.  After the restart, before any VACUUM (autovacuum is off):
#   - ruvector_verify reports no ruhnsw_unreachable node (a live node the
#     entry point does not reach: its row is invisible to index scans) and
#     no other problem (vectors of crashed transactions merely waiting for
#     VACUUM are not problems);
#   - every committed row is among the first 3 rows (3: in case another
#     row has the same vector) of an index scan for its own vector, with
#     the exact scan and sequential scans off and ef_search = 1000 (the
#     graph is kept below 1000 nodes, so such a search visits every node
#     reachable from the entry point: a row it misses is unreachable);
#   - an iterative index scan returns every row: every live node is
#     reachable over level-0 links, the ones a scan's search follows (a
#     stricter check than verify's walk over the links of all levels).
# The code before this test failed these checks in 3 of 4 rounds or more
# (18 to 60 unreachable nodes over the 4 crashes).
# Then all but the newest 300 rows are deleted and VACUUM frees their vids
# and those of the crashed transactions for reuse by the next round's
# inserts; verify again.  Four rounds.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvCrash;
use IPC::Run;
use Time::HiRes qw(usleep time);

my $node = PostgreSQL::Test::Cluster->new('crash_reach');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
autovacuum = off
checkpoint_timeout = '1h'
max_wal_size = '1GB'
log_min_messages = warning
});
$node->start;

# rvec(seed): 64 floats around one of 16 centres, from a hash of seed
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION rvec(seed bigint) RETURNS ruvector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg((((seed % 16) * 0.29 + k * 0.13)::numeric % 1.0
		+ (((hashint8(seed * 64 + k) & 1023) / 1024.0) - 0.5) * 0.1)::real ORDER BY k)::ruvector
	FROM generate_series(1, 64) k $$;
CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v ruvector(64)) USING ruvector;
INSERT INTO t (v) SELECT rvec(g) FROM generate_series(1, 100) g;
CREATE INDEX t_v ON t USING ruhnsw (v) WITH (m = 4, ef_construction = 16);
});

# Each transaction inserts two rows and then updates (30%) or deletes
# (70%) one of the 100 newest rows; ids come from the identity, vectors
# from a random seed (distinct seeds for the three vectors).  Deletes keep the graph small (see the header).
my $script = $node->basedir . '/load.sql';
open(my $fh, '>', $script) or die "cannot write $script: $!";
print $fh q{\set r random(1, 1000000000)
\set s 4 * :r
\set op random(1, 10)
BEGIN;
INSERT INTO t (v) SELECT rvec(:s + g) FROM generate_series(1, 2) g;
\if :op <= 3
UPDATE t SET v = rvec(:s + 3) WHERE id = (SELECT max(id) FROM t) - :r % 100;
\else
DELETE FROM t WHERE id = (SELECT max(id) FROM t) - :r % 100;
\endif
COMMIT;
};
close $fh;


# ruvector_verify's problems, as "kind count" lines
sub verify_problems
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(kind || ' ' || n, ', ' ORDER BY kind), '') FROM "
		  . "(SELECT kind, count(*) AS n FROM ruvector_verify('t') GROUP BY kind) s"
	);
}

my $index_settings = q{
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET ruvector.enable_exact_scan = off;
SET ruvector.ef_search = 1000;
};

my $total_unreachable = 0;
for my $round (1 .. 4)
{
	my $rows0 = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	my $maxid0 = $node->safe_psql('postgres', 'SELECT max(id) FROM t');
	my ($out, $err) = ('', '');
	my $bench = IPC::Run::start(
		[
			# bounded and throttled, so that however late the crash comes on
			# a loaded machine the graph stays below 1000 nodes (each
			# transaction adds about 2.3 vectors): at most 400 transactions
			'pgbench', '--no-vacuum', '--client=4', '--jobs=4',
			'--transactions=100', '--rate=120', '-f', $script,
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);

	# crash once about 120 transactions committed (240 new rows)
	my $t0 = time;
	my $progress = 0;
	while (time - $t0 < 30)
	{
		my $maxid = $node->safe_psql('postgres', 'SELECT max(id) FROM t');
		if ($maxid >= $maxid0 + 240) { $progress = 1; last; }
		usleep(20_000);
	}
	ok($progress, "round $round: the load committed rows before the crash");
	$bench->pump_nb;
	ok($bench->pumpable, "round $round: pgbench is still running at the crash");
	kill9_everything($node);
	$bench->kill_kill;
	$node->start;

	my $problems = verify_problems();
	my ($unreachable) = $problems =~ /ruhnsw_unreachable (\d+)/;
	$unreachable //= 0;
	$total_unreachable += $unreachable;
	my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	my $vectors = $node->safe_psql('postgres',
		"SELECT sum(live_vectors + dead_vectors) FROM ruvector_storage_report('t')");
	cmp_ok($vectors, '<', 1000,
		"round $round: fewer than 1000 vectors, so ef_search = 1000 searches are exhaustive");
	diag("round $round: $rows rows (before the load $rows0), $vectors vectors; verify before VACUUM: "
		  . ($problems eq '' ? 'nothing' : $problems));
	# on a problem, its rows (which page, which vid) go to the log
	diag($node->safe_psql('postgres',
		"SELECT string_agg(concat_ws(' ', kind, store, blkno, vid, detail), E'\\n') FROM ruvector_verify('t')"))
	  if $problems ne '';
	is($unreachable, 0, "round $round: no unreachable index node after recovery");
	is($problems, '', "round $round: ruvector_verify reports no problem");

	is( $node->safe_psql(
			'postgres', $index_settings . q{
SELECT count(*) FROM t o
WHERE o.id NOT IN (SELECT i.id FROM t i ORDER BY i.v <-> o.v LIMIT 3);
}), '0', "round $round: every committed row is found by an index scan for its own vector");
	is( $node->safe_psql(
			'postgres', $index_settings . q{
SET ruvector.iterative_scan = relaxed_order;
SET ruvector.max_scan_tuples = 100000;
SELECT count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> rvec(3) LIMIT 100000) s;
}), $rows, "round $round: an iterative index scan returns all $rows rows");

	# keep the newest 300 rows; VACUUM frees the other vids for reuse
	$node->safe_psql('postgres',
		'DELETE FROM t WHERE id NOT IN (SELECT id FROM t ORDER BY id DESC LIMIT 300); VACUUM t');
	is(verify_problems(), '', "round $round: ruvector_verify reports nothing after VACUUM");
}
diag("unreachable nodes over 4 crashes: $total_unreachable");

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:/, 'no PANIC or assertion failure in the server log');
$node->stop;
done_testing();
