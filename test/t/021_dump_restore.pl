# pg_dump of a database with ruvector tables (and heap twins) restored into
# a fresh database with psql: the tables keep the ruvector access method,
# contents equal the original and the heap twins, and the restored stores
# are exactly those of the restored tables.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION ruvector_tam;
CREATE TABLE r (id int PRIMARY KEY, v ruvector(16), note text, u ruvector) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(16), note text, u ruvector);
SELECT setseed(0.5);
INSERT INTO h SELECT g, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE g > 0),
	'n' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE array_fill(g::real, ARRAY[1 + g % 3])::ruvector END
	FROM generate_series(1, 2000) g;
INSERT INTO r SELECT * FROM h;
CREATE INDEX r_v ON r (v);
DELETE FROM r WHERE id % 10 = 0;
DELETE FROM h WHERE id % 10 = 0;
UPDATE r SET v = v + v WHERE id % 10 = 1;
UPDATE h SET v = v + v WHERE id % 10 = 1;
CREATE TABLE empty_r (id int, v ruvector(3)) USING ruvector;
});

my $rows = q{SELECT md5(string_agg(id || ' ' || coalesce(v::text, '-') || ' ' || note || ' ' || coalesce(u::text, '-'), E'\n' ORDER BY id)) FROM };
my $want = $node->safe_psql('src', $rows . 'h');
is($node->safe_psql('src', $rows . 'r'), $want, 'source: ruvector table equals heap twin');

my $dump = $node->basedir . '/src.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst'), '-f', $dump ],
	'restore with psql');

is($node->safe_psql('dst', $rows . 'r'), $want, 'restored ruvector table equals the source');
is($node->safe_psql('dst', $rows . 'h'), $want, 'restored heap twin equals the source');
is($node->safe_psql('dst', q{SELECT string_agg(c.relname || ':' || a.amname, ',' ORDER BY c.relname)
	FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname IN ('r', 'h', 'empty_r')}),
	'empty_r:ruvector,h:heap,r:ruvector', 'access methods restored');
is($node->safe_psql('dst', 'SELECT count(*) FROM ruvector_gc_orphans()'), '0', 'restored: no orphan stores');
is($node->safe_psql('dst', q{SELECT count(*) FROM ruvector_store s
	WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relfilenode = s.relnode AND c.relname = 'r')}),
	'0', 'restored: every store belongs to r');
is($node->safe_psql('dst', q{SELECT string_agg(column_name || ':' || dims || ':' || live_vectors || ':' || dead_vectors, ','
	ORDER BY column_name, dims) FROM ruvector_storage_report('r')}),
	$node->safe_psql('dst', q{SELECT string_agg(c || ':' || d || ':' || n || ':0', ',' ORDER BY c, d) FROM
		(SELECT 'u' c, vector_dims(u) d, count(*) n FROM h WHERE u IS NOT NULL GROUP BY 2
		 UNION ALL SELECT 'v', 16, count(*) FROM h WHERE v IS NOT NULL) s}),
	'restored: stores hold exactly the live vectors');
is($node->safe_psql('dst', q{SET enable_seqscan = off; SELECT count(*) FROM r WHERE v > '[0.5]'}),
	$node->safe_psql('src', q{SELECT count(*) FROM h WHERE v > '[0.5]'}), 'restored index usable');

$node->stop;
done_testing();
