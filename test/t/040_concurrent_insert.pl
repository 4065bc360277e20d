# ruhnsw under concurrent inserts: 4 pgbench clients insert into a table
# with a ruhnsw index; afterwards every row must be reachable through an
# index scan (large ef_search, iterative scan) and the nearest neighbour
# of each of a sample of rows must be the row itself.  Also checks the
# NOTICE of a build whose graph does not fit into maintenance_work_mem.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ruhnsw_concurrent');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION ruvector_tam;
	CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
						embedding ruvector(16)) USING ruvector;
	INSERT INTO items (embedding)
		SELECT (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::ruvector
		FROM generate_series(1, 200) i;
	CREATE INDEX items_l2 ON items USING ruhnsw (embedding) WITH (m = 8, ef_construction = 32);
});

my $host = $node->host;
my $port = $node->port;
$node->pgbench(
	"--no-vacuum --client=4 --jobs=4 --transactions=250 -h $host -p $port",
	0,
	[qr{processed: 1000/1000}],
	[qr{^$}],
	'4 clients insert concurrently',
	{
		'040_insert' => q{
			INSERT INTO items (embedding)
				SELECT array_agg(random()::real)::ruvector FROM generate_series(1, 16);
		}
	},
	'postgres');

is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '1200', 'all rows inserted');
my $settings = q{
	SET ruvector.ef_search = 1000;
	SET ruvector.iterative_scan = relaxed_order;
	SET enable_seqscan = off;
	SET enable_bitmapscan = off;
};
is($node->safe_psql('postgres', $settings . q{
	SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 100000) s;
}), '1200', 'every row is reachable through the index');
is($node->safe_psql('postgres', $settings . q{
	SELECT count(*) FROM items o
	WHERE o.id % 10 = 0
	  AND (SELECT i.id FROM items i ORDER BY i.embedding <-> o.embedding LIMIT 1) <> o.id;
}), '0', 'each sampled row is its own nearest neighbour');

# the build fallback reports itself
my ($stdout, $stderr);
$node->psql('postgres', q{
	SET maintenance_work_mem = '1MB';
	INSERT INTO items (embedding)
		SELECT (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::ruvector
		FROM generate_series(1, 4000) i;
	CREATE INDEX items_small ON items USING ruhnsw (embedding);
}, stdout => \$stdout, stderr => \$stderr);
like($stderr, qr/NOTICE:  ruhnsw graph does not fit into maintenance_work_mem/,
	'NOTICE when the graph does not fit into maintenance_work_mem');
is($node->safe_psql('postgres', $settings . q{
	DROP INDEX items_l2;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 100000) s;
}), '5200', 'the fallback build reaches every row');

$node->stop;
done_testing();
