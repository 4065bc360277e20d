# Unlogged ruvector tables after a crash: create an unlogged ruvector table
# with a btree index (ruhnsw: not yet landed), insert, checkpoint, crash
# (immediate stop), restart: the table is empty but usable (INSERT, exact
# k-NN, index scan, UPDATE, DELETE, VACUUM) and ruvector_verify is clean.
# A logged table next to it keeps its rows.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('unlogged');
$node->init;
$node->start;
my $vec = q{(SELECT array_agg(((g * 7 + k) % 100)::real) FROM generate_series(1, 768) k)::ruvector};
$node->safe_psql('postgres', qq{
	CREATE EXTENSION ruvector_tam;
	CREATE UNLOGGED TABLE u (id int PRIMARY KEY, tag int, v ruvector(768), w ruvector(3)) USING ruvector;
	CREATE INDEX u_tag ON u (tag);
	CREATE TABLE l (id int PRIMARY KEY, v ruvector(768)) USING ruvector;
	INSERT INTO u SELECT g, g % 10, $vec, ARRAY[g, 1, 2]::real[]::ruvector FROM generate_series(1, 300) g;
	INSERT INTO l SELECT g, $vec FROM generate_series(1, 300) g;
	CHECKPOINT;
	INSERT INTO u SELECT g, g % 10, $vec, NULL FROM generate_series(301, 400) g;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '400', 'rows before the crash');
$node->stop('immediate');
$node->start;

is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'unlogged table empty after the crash');
is($node->safe_psql('postgres', 'SELECT count(*) FROM l'), '300', 'logged table keeps its rows');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('u')"), '0', 'verify clean on the reset table');
$node->safe_psql('postgres', qq{
	INSERT INTO u SELECT g, g % 10, $vec, ARRAY[g, 1, 2]::real[]::ruvector FROM generate_series(1, 200) g;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '200', 'INSERT after the crash');
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off; SELECT count(*) FROM u WHERE tag = 3}), '20', 'btree index scan after the crash');
is($node->safe_psql('postgres', qq{
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM u ORDER BY w <-> '[5,1,2]' LIMIT 3) s}),
	'5,4,6', 'exact k-NN after the crash');
$node->safe_psql('postgres', qq{
	UPDATE u SET v = (SELECT v FROM u WHERE id = 1) WHERE id % 2 = 0;
	DELETE FROM u WHERE id % 5 = 0;
	VACUUM u;});
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '160', 'UPDATE/DELETE/VACUUM after the crash');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('u')"), '0', 'verify clean after VACUUM');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('l')"), '0', 'verify clean on the logged table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM u WHERE v = (SELECT v FROM u WHERE id = 1)'), '82',
	'vectors read back after the crash (80 updated, ids 1 and 101 equal by construction)');

# a second crash, this time without a checkpoint after the inserts
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'empty again after a second crash');
$node->safe_psql('postgres', qq{INSERT INTO u SELECT g, 0, $vec, NULL FROM generate_series(1, 10) g; VACUUM u;});
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('u')"), '0', 'verify clean after the second crash');
$node->stop;
done_testing();
