# ruhnsw iterative scans resume their search instead of restarting it: a
# filtered query that discards almost every candidate walks the graph in
# batches of ef_search, and the search scores each node at most once over
# all batches (a restart with a doubled ef scores the early nodes again:
# 40 + 80 + 160 + ... nodes for the same ground).  The DEBUG1 report of the
# scan ("N nodes scored in B batches") is the measure; results are checked
# against the exact answer.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('iterative');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION ruvector_tam;
	CREATE TABLE t (id int PRIMARY KEY, cat int, v ruvector(8)) USING ruvector;
	INSERT INTO t SELECT g, g % 500, (SELECT array_agg(((g * 37 + k * 101) % 997)::real) FROM generate_series(1, 8) k)::ruvector
		FROM generate_series(1, 3000) g;
	CREATE INDEX ON t USING ruhnsw (v) WITH (m = 8, ef_construction = 40);
	CREATE TABLE h AS SELECT * FROM t;});

my $query = q{SELECT string_agg(id::text, ',' ORDER BY d, id) FROM (
	SELECT id, v <-> '[500,500,500,500,500,500,500,500]' AS d FROM %s WHERE cat = 7
	ORDER BY v <-> '[500,500,500,500,500,500,500,500]' LIMIT 5) s};
my $want = $node->safe_psql('postgres', sprintf($query, 'h'));

my ($ret, $out, $err) = $node->psql('postgres', q{
	SET ruvector.enable_exact_scan = off; SET enable_seqscan = off; SET enable_bitmapscan = off;
	SET ruvector.ef_search = 40; SET ruvector.iterative_scan = strict_order;
	SET ruvector.max_scan_tuples = 100000; SET client_min_messages = debug1;
} . sprintf($query, 't'));
is($ret, 0, 'filtered iterative query runs');
is($out, $want, 'it returns the exact 5 nearest rows of the filter');
my ($scored, $batches) = $err =~ /ruhnsw scan of "t_v_idx": (\d+) nodes scored in (\d+) batches/;
ok(defined $scored, 'the scan reported its cost') or diag($err);
diag("filtered iterative scan: $scored nodes scored in $batches batches");
cmp_ok($batches, ">", 1, "the scan went on for more than one batch ($batches)");
cmp_ok($scored, '<=', 3000, "every node scored at most once over all batches ($scored nodes, 3000 rows)");

# without iteration one batch of ef_search candidates, and fewer rows
($ret, $out, $err) = $node->psql('postgres', q{
	SET ruvector.enable_exact_scan = off; SET enable_seqscan = off; SET enable_bitmapscan = off;
	SET ruvector.ef_search = 40; SET ruvector.iterative_scan = off; SET client_min_messages = debug1;
} . sprintf($query, 't'));
($scored, $batches) = $err =~ /ruhnsw scan of "t_v_idx": (\d+) nodes scored in (\d+) batches/;
is($batches, 1, 'iterative_scan = off: one batch');

$node->stop;
done_testing();
