# How the parallel ruhnsw build scores, on 6,000 random 48-dimensional
# vectors (real-valued, so SQ8 codes are lossy, unlike Fashion-MNIST's
# integer pixels): the participants score on SQ8 codes, on a copy of
# their own when it fits their share of maintenance_work_mem, else in the
# store's buffers, and the leader builds alone when no worker can start.
# For each of these builds (and a serial one, scoring exactly, as the
# reference): the DEBUG1 lines say how it went, every row is inserted
# once, ruvector_verify reports nothing, every row is reachable through
# the index, and recall@10 at the default ef_search against an exact scan
# is at least 0.88 and within 0.02 of the serial build's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $nrows = 6000;
my $dims = 48;
my $nq = 100;

my $node = PostgreSQL::Test::Cluster->new('ruhnsw_parallel_build_scoring');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 8\nautovacuum = off\n");
$node->start;

$node->safe_psql('postgres', qq{
	CREATE EXTENSION ruvector_tam;
	SELECT setseed(0.044);
	CREATE TABLE items (id bigint PRIMARY KEY, embedding ruvector($dims)) USING ruvector;
	INSERT INTO items SELECT i, (SELECT array_agg((random() * 2 - 1)::real)
								  FROM generate_series(1, $dims) WHERE i > 0)::ruvector
		FROM generate_series(1, $nrows) i;
	CREATE TABLE queries (q int PRIMARY KEY, v ruvector($dims));
	INSERT INTO queries SELECT i, (SELECT array_agg((random() * 2 - 1)::real)
								   FROM generate_series(1, $dims) WHERE i > 0)::ruvector
		FROM generate_series(1, $nq) i;
	ANALYZE items;
	SET enable_indexscan = off;
	SET enable_bitmapscan = off;
	CREATE TABLE truth AS
		SELECT q.q, t.id FROM queries q,
			LATERAL (SELECT id FROM items ORDER BY embedding <-> q.v, id LIMIT 10) t;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM truth'), $nq * 10, 'exact answers computed');

my $recall_sql = q{
	SET enable_seqscan = off;
	SELECT round(count(*)::numeric / (SELECT count(*) FROM truth), 4)
	FROM queries q
		CROSS JOIN LATERAL (SELECT id FROM items ORDER BY embedding <-> q.v LIMIT 10) r
		JOIN truth t ON t.q = q.q AND t.id = r.id;
};
# rows returned by a scan with ef_search above the row count, and rows
# whose own vector the index does not find at distance 0
my $reach_sql = q{
	SET ruvector.ef_search = 1000;
	SET ruvector.iterative_scan = relaxed_order;
	SET enable_seqscan = off;
	SET enable_bitmapscan = off;
	SELECT (SELECT count(*) FROM (SELECT id FROM items
				ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 100000) s)
		|| ' ' ||
		(SELECT count(*) FROM items o WHERE o.id % 10 = 0
			AND (SELECT i.embedding <-> o.embedding FROM items i
				 ORDER BY i.embedding <-> o.embedding LIMIT 1) <> 0);
};
my $verify_sql = q{
	SELECT coalesce(string_agg(format('%s vid=%s: %s', kind, vid, detail), E'\n'), '')
	FROM ruvector_verify('items');
};

# builds the index with the settings given; returns psql's stderr
sub build
{
	my ($settings) = @_;
	my ($stdout, $stderr);
	$node->safe_psql('postgres', 'DROP INDEX IF EXISTS items_idx');
	$node->psql('postgres', "SET client_min_messages = debug1; $settings; "
		  . 'CREATE INDEX items_idx ON items USING ruhnsw (embedding) WITH (m = 16, ef_construction = 64)',
		stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
	return $stderr;
}

# rows inserted by the leader and the workers, from their DEBUG1 lines
sub inserted
{
	my ($stderr) = @_;
	my $n = 0;
	$n += $1 while $stderr =~ /ruhnsw parallel build: (?:leader|worker) inserted (\d+) of/g;
	return $n;
}

# the checks every build gets; returns its recall
sub check_index
{
	my ($what) = @_;
	is($node->safe_psql('postgres', $verify_sql), '', "$what: ruvector_verify clean");
	is($node->safe_psql('postgres', $reach_sql), "$nrows 0", "$what: every row reachable");
	is($node->safe_psql('postgres', q{SELECT reltuples FROM pg_class WHERE relname = 'items_idx'}),
		$nrows, "$what: the index reports every row");
	my $recall = $node->safe_psql('postgres', $recall_sql);
	diag("$what: recall\@10 at the default ef_search $recall");
	cmp_ok($recall, '>=', 0.88, "$what: recall\@10 >= 0.88 at the default ef_search");
	return $recall;
}

# the serial reference: exact distances
my $err = build('SET max_parallel_maintenance_workers = 0');
unlike($err, qr/parallel workers/, 'serial reference build');
my $serial = check_index('serial build');

# parallel, each participant on its copy of the code records
$err = build('SET min_parallel_table_scan_size = 0');
like($err, qr/ruhnsw build of "items_idx": using 2 parallel workers/, 'copies: 2 workers');
is(() = $err =~ /(?:leader|worker) scored on a copy of its own/g, 3,
	'copies: the leader and both workers score on their copies');
is(inserted($err), $nrows, 'copies: every row inserted once');
my $recall = check_index('parallel build on copies');
cmp_ok($recall, '>=', $serial - 0.02, 'copies: recall within 0.02 of the serial build');

# the graph fits into maintenance_work_mem but the copies do not: each
# participant scores the codes in the store's buffers
$err = build(q{SET min_parallel_table_scan_size = 0; SET maintenance_work_mem = '5MB'});
like($err, qr/using 2 parallel workers/, 'no room for copies: 2 workers');
is(() = $err =~ /(?:leader|worker) scored in the store's buffers/g, 3,
	'no room for copies: every participant scores in the store\'s buffers');
is(inserted($err), $nrows, 'no room for copies: every row inserted once');
$recall = check_index('parallel build in the store');
cmp_ok($recall, '>=', $serial - 0.02, 'no room for copies: recall within 0.02 of the serial build');

# no worker can start: the leader inserts every row itself
$err = build('SET min_parallel_table_scan_size = 0; SET max_parallel_workers = 0');
like($err, qr/ruhnsw build of "items_idx": using 0 parallel workers/, 'no worker: none launched');
like($err, qr/leader inserted $nrows of the $nrows rows/, 'no worker: the leader inserts every row');
$recall = check_index('leader alone');
cmp_ok($recall, '>=', $serial - 0.02, 'leader alone: recall within 0.02 of the serial build');

$node->stop;
done_testing();
