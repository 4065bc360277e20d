# ALTER TABLE ... SET TABLESPACE on ruvector tables (committed and rolled
# back), CREATE TABLE ... TABLESPACE, and moving back: contents equal the
# heap twin, the stores follow the table's storage, none is orphaned, and
# the tablespace can be dropped afterwards (no store file left in it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ts');
$node->init;
$node->start;

my $dir = $node->basedir . '/ts_rv';
mkdir $dir or die "mkdir $dir: $!";
$node->safe_psql('postgres', "CREATE TABLESPACE ts_rv LOCATION '$dir'");
$node->safe_psql('postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE TABLE r (id int PRIMARY KEY, v ruvector(8), u ruvector(2)) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(8), u ruvector(2));
INSERT INTO h SELECT g, array_fill(g::real / 3, ARRAY[8])::ruvector,
	CASE WHEN g % 2 = 0 THEN ARRAY[g, -g]::real[]::ruvector END FROM generate_series(1, 3000) g;
INSERT INTO r SELECT * FROM h;
});

my $rows = q{SELECT md5(string_agg(id || ' ' || coalesce(v::text, '-') || ' ' || coalesce(u::text, '-'), E'\n' ORDER BY id)) FROM };
my $want = $node->safe_psql('postgres', $rows . 'h');
my $ts_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_tablespace WHERE spcname = 'ts_rv'});
my $stores_ok = q{SELECT (SELECT count(*) FROM ruvector_gc_orphans()) = 0
	AND NOT EXISTS (SELECT 1 FROM ruvector_store s WHERE NOT EXISTS (SELECT 1 FROM pg_class c
		WHERE c.relfilenode = s.relnode AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'ruvector')))};
# spcnode of r's stores (all rows agree) and their count
my $stores_spc = q{SELECT string_agg(DISTINCT (CASE WHEN c.reltablespace = 0 THEN d.dattablespace ELSE c.reltablespace END)
		|| '/' || (CASE WHEN sc.reltablespace = 0 THEN d.dattablespace ELSE sc.reltablespace END), ',') || ' ' || count(*)
	FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode AND c.reltablespace = s.spcnode
	JOIN pg_class sc ON sc.oid = s.store
	JOIN pg_database d ON d.datname = current_database() WHERE c.relname = 'r'};
my $default_spc = $node->safe_psql('postgres', q{SELECT dattablespace FROM pg_database WHERE datname = current_database()});

is($node->safe_psql('postgres', $stores_spc), "$default_spc/$default_spc 2", 'stores start in the default tablespace');

$node->safe_psql('postgres', 'BEGIN; ALTER TABLE r SET TABLESPACE ts_rv; ROLLBACK;');
is($node->safe_psql('postgres', $rows . 'r'), $want, 'rolled-back SET TABLESPACE: contents intact');
is($node->safe_psql('postgres', $stores_spc), "$default_spc/$default_spc 2", 'rolled-back SET TABLESPACE: stores unchanged');
is($node->safe_psql('postgres', $stores_ok), 't', 'rolled-back SET TABLESPACE: stores consistent');

# a ruhnsw index is not rebuilt by SET TABLESPACE: it must stay bound to
# the store relations, which move keeping their OIDs
$node->safe_psql('postgres', 'CREATE INDEX r_v ON r USING ruhnsw (v)');
my $store_oids = q{SELECT string_agg(relation::oid::text, ',' ORDER BY store) FROM ruvector_storage_report('r')};
my $oids_before = $node->safe_psql('postgres', $store_oids);
my $knn = q{SET ruvector.enable_exact_scan = off; SET enable_seqscan = off; SET ruvector.ef_search = 400;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM r ORDER BY v <-> array_fill(500.1::real, ARRAY[8])::ruvector LIMIT 10) s};
my $knn_exact = q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM h ORDER BY v <-> array_fill(500.1::real, ARRAY[8])::ruvector, id LIMIT 10) s};
$node->safe_psql('postgres', 'ALTER TABLE r SET TABLESPACE ts_rv');
is($node->safe_psql('postgres', $rows . 'r'), $want, 'SET TABLESPACE: contents equal the heap twin');
is($node->safe_psql('postgres', $store_oids), $oids_before, 'SET TABLESPACE: the store relations keep their OIDs');
is($node->safe_psql('postgres', $knn), $node->safe_psql('postgres', $knn_exact),
	'SET TABLESPACE: the ruhnsw index answers as the exact scan on the heap twin');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('r')}), '0', 'SET TABLESPACE: verify clean');
is($node->safe_psql('postgres', $stores_spc), "$ts_oid/$ts_oid 2", 'SET TABLESPACE: stores moved with the table');
is($node->safe_psql('postgres', $stores_ok), 't', 'SET TABLESPACE: stores consistent');
$node->safe_psql('postgres', q{INSERT INTO r VALUES (5000, '[1,2,3,4,5,6,7,8]', '[1,1]');
	INSERT INTO h VALUES (5000, '[1,2,3,4,5,6,7,8]', '[1,1]'); DELETE FROM r WHERE id < 100; DELETE FROM h WHERE id < 100;
	VACUUM r});
$want = $node->safe_psql('postgres', $rows . 'h');
is($node->safe_psql('postgres', $rows . 'r'), $want, 'DML and VACUUM in the new tablespace');

# VACUUM FULL and a fresh table in the tablespace
$node->safe_psql('postgres', 'VACUUM FULL r');
is($node->safe_psql('postgres', $rows . 'r'), $want, 'VACUUM FULL in the tablespace');
$node->safe_psql('postgres', 'CREATE TABLE r2 (id int, v ruvector(8), u ruvector(2)) USING ruvector TABLESPACE ts_rv;
	INSERT INTO r2 SELECT * FROM h');
is($node->safe_psql('postgres', $rows . 'r2'), $want, 'CREATE TABLE ... TABLESPACE');
is($node->safe_psql('postgres', $stores_ok), 't', 'stores consistent in the tablespace');

# the data survives a restart (stores were WAL-logged/flushed in the new place)
$node->restart;
is($node->safe_psql('postgres', $rows . 'r'), $want, 'contents after restart');

# back to the default tablespace; the tablespace must then be droppable
$node->safe_psql('postgres', 'ALTER TABLE r SET TABLESPACE pg_default; DROP TABLE r2');
is($node->safe_psql('postgres', $rows . 'r'), $want, 'back to pg_default: contents equal');
is($node->safe_psql('postgres', $stores_spc), "$default_spc/$default_spc 2", 'back to pg_default: stores moved');
is($node->safe_psql('postgres', $stores_ok), 't', 'back to pg_default: stores consistent');
$node->safe_psql('postgres', 'CHECKPOINT');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP TABLESPACE ts_rv');
is($ret, 0, 'DROP TABLESPACE succeeds: no store file left behind') or diag($stderr);

$node->stop;
done_testing();
