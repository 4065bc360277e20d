# Store relations across session ends and extension versions.
#
# 1. A temporary ruvector table's store relations live in the session's
#    temporary schema and go away with the session (and with DISCARD
#    TEMP), leaving no catalog row and nothing for ruvector_gc_orphans().
# 2. ALTER EXTENSION ruvector_tam UPDATE from 0.1.0 (through 0.2.0 to
#    0.3.0) and from 0.2.0: with no 0.1.0 store it converts the extension,
#    and the result has exactly the objects and function properties of a
#    fresh 0.3.0 install, and works (a ruvector
#    table with a ruhnsw index created under 0.1.0 is usable after it);
#    while a 0.1.0 store exists it refuses with 0A000, naming the table and
#    the dump/restore path, and changes nothing.
# 3. A rewrite of a store relation itself (VACUUM FULL of it, as a
#    database-wide VACUUM FULL does) waits for a transaction writing to its
#    table and keeps everything that transaction wrote.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lifecycle');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector_tam');

my $stores = q{SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'ruvector_store'};

# ---- 1. temporary tables
$node->safe_psql('postgres', q{
	CREATE TEMP TABLE tt (id int, v ruvector(3), u ruvector) USING ruvector;
	INSERT INTO tt SELECT g, ARRAY[g, g, g]::real[]::ruvector, ARRAY[g, 1]::real[]::ruvector FROM generate_series(1, 50) g;
	CREATE INDEX ON tt USING ruhnsw (v);
	SELECT count(*) FROM tt});
# (a backend drops its temporary objects as it exits, after the client has
# gone: on a loaded machine the next session can start first)
ok($node->poll_query_until('postgres', $stores, '0'),
	'a session that ended took its temporary store relations along');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_store'), '0', 'and their catalog rows');

my ($ret, $out, $err) = $node->psql('postgres', q{
	CREATE TEMP TABLE tt (id int, v ruvector(3)) USING ruvector;
	INSERT INTO tt SELECT g, ARRAY[g, g, g]::real[]::ruvector FROM generate_series(1, 50) g;
	SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		WHERE a.amname = 'ruvector_store' AND c.relnamespace = pg_my_temp_schema();
	DISCARD TEMP;
	SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'ruvector_store';
	SELECT count(*) FROM ruvector_store;});
is($ret, 0, 'DISCARD TEMP with a temporary ruvector table') or diag($err);
is($out, "1\n0\n0", 'the store was in the temporary schema; DISCARD TEMP dropped it and its catalog row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_gc_orphans()'), '0', 'nothing left for GC');

# ---- 2. ALTER EXTENSION UPDATE from 0.1.0
# what a database's copy of the extension consists of: every member
# object (but the store relations of tables, also members), and each
# function's signature, arguments (OUT ones too), result, volatility,
# strictness, parallel safety, C symbol and ACL
my $shape = q{
	SELECT string_agg(x, E'\n' ORDER BY x) FROM (
		SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS x
		  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
		 WHERE d.deptype = 'e' AND e.extname = 'ruvector_tam'
		   AND pg_describe_object(d.classid, d.objid, d.objsubid) NOT LIKE 'table ruvector_internal.%'
		UNION ALL
		SELECT p.oid::regprocedure || ' (' || pg_get_function_arguments(p.oid) || ') -> ' || pg_get_function_result(p.oid) || ' ' || p.provolatile::text ||
			p.proisstrict::text || p.proparallel::text || ' ' || p.prosrc || ' ' || coalesce(p.proacl::text, '-')
		  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
		  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
		UNION ALL
		SELECT 'column ruvector_store.' || attname || ' ' || atttypid::regtype FROM pg_attribute
		 WHERE attrelid = 'ruvector_store'::regclass AND attnum > 0 AND NOT attisdropped) s};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION ruvector_tam');
my $want = $node->safe_psql('fresh', $shape);

$node->safe_psql('postgres', 'CREATE DATABASE upd');
$node->safe_psql('upd', q{
	CREATE EXTENSION ruvector_tam VERSION '0.1.0';
	CREATE TABLE r (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
	CREATE INDEX r_v ON r USING ruhnsw (v);
	CREATE TABLE h (id int, v ruvector(3));
	INSERT INTO h SELECT g, ARRAY[g, -g, 1]::real[]::ruvector FROM generate_series(1, 20) g});
is($node->safe_psql('upd', q{SELECT extversion FROM pg_extension WHERE extname = 'ruvector_tam'}), '0.1.0',
	'0.1.0 installed from its script');
isnt($node->safe_psql('upd', $shape), $want, '0.1.0 differs from 0.3.0 (the comparison can fail)');
$node->safe_psql('upd', 'ALTER EXTENSION ruvector_tam UPDATE');
is($node->safe_psql('upd', q{SELECT extversion FROM pg_extension WHERE extname = 'ruvector_tam'}), '0.3.0',
	'updated to 0.3.0');
is($node->safe_psql('upd', $shape), $want, 'the updated extension has exactly the objects of a fresh 0.3.0 install');
$node->safe_psql('upd', q{INSERT INTO r SELECT * FROM h});
is($node->safe_psql('upd', q{SET ruvector.enable_exact_scan = off; SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM r ORDER BY v <-> '[5.2,-5.2,1]' LIMIT 3) s}),
	'5,6,4', 'a table and ruhnsw index created under 0.1.0 work after the update');
is($node->safe_psql('upd', q{SELECT count(*) FROM ruvector_verify('r')}), '0', 'verify clean after the update');
is($node->safe_psql('upd', q{SELECT count(*) FROM ruvector_storage_report('r') WHERE relation IS NOT NULL}), '1',
	'the new rows went to a store relation');

# from 0.2.0: its script, a table with vectors and an index, then the update
$node->safe_psql('postgres', 'CREATE DATABASE upd2');
$node->safe_psql('upd2', q{
	CREATE EXTENSION ruvector_tam VERSION '0.2.0';
	CREATE TABLE r (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
	INSERT INTO r SELECT g, ARRAY[g, -g, 1]::real[]::ruvector FROM generate_series(1, 20) g;
	CREATE INDEX r_v ON r USING ruhnsw (v)});
isnt($node->safe_psql('upd2', $shape), $want, '0.2.0 differs from 0.3.0 (the comparison can fail)');
$node->safe_psql('upd2', 'ALTER EXTENSION ruvector_tam UPDATE');
is($node->safe_psql('upd2', $shape), $want, 'updated from 0.2.0: exactly the objects of a fresh 0.3.0 install');
is($node->safe_psql('upd2', q{SET ruvector.enable_exact_scan = off; SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM r ORDER BY v <-> '[5.2,-5.2,1]' LIMIT 3) s}),
	'5,6,4', 'a table and ruhnsw index created under 0.2.0 work after the update');
is($node->safe_psql('upd2', q{SELECT live_vectors, resident_bytes > 0 FROM ruvector_storage_report('r')}), '20|t',
	'ruvector_storage_report has resident_bytes after the update');

# a 0.1.0 table that holds vectors: 0.1.0's catalog row for its store
# (written here as 0.1.0's library wrote it, since this library is 0.3.0)
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', q{
	CREATE EXTENSION ruvector_tam VERSION '0.1.0';
	CREATE TABLE items (id int, v ruvector(3)) USING ruvector;
	INSERT INTO ruvector_store SELECT 0, relfilenode, 1, 2, 3, 0, 0, 99999 FROM pg_class WHERE relname = 'items'});
($ret, $out, $err) = $node->psql('old', 'ALTER EXTENSION ruvector_tam UPDATE', on_error_stop => 1);
isnt($ret, 0, 'the update refuses while a 0.1.0 store exists');
like($err, qr/ERROR:  cannot update ruvector_tam from 0\.1\.0 while tables hold 0\.1\.0 vector stores: items/,
	'the error names the table');
like($err, qr/HINT:  Dump these tables with pg_dump -t, drop them, run ALTER EXTENSION ruvector_tam UPDATE, then restore them\./,
	'the hint gives the dump/restore path');
($ret, $out, $err) = $node->psql('old', q{\set VERBOSITY verbose
	ALTER EXTENSION ruvector_tam UPDATE});
like($err, qr/ERROR:  0A000:/, 'SQLSTATE 0A000');
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'ruvector_tam'}), '0.1.0',
	'the refused update changed nothing');

# ---- 3. VACUUM FULL of a store relation against a concurrent writer
$node->safe_psql('postgres', q{
	CREATE TABLE w (id int PRIMARY KEY, v ruvector(16)) USING ruvector;
	INSERT INTO w SELECT g, array_fill(g::real, ARRAY[16])::ruvector FROM generate_series(1, 1000) g});
my $store = $node->safe_psql('postgres', q{SELECT relation FROM ruvector_storage_report('w')});
my $writer = $node->background_psql('postgres');
$writer->query_safe(q{BEGIN; INSERT INTO w SELECT g, array_fill(g::real, ARRAY[16])::ruvector FROM generate_series(1001, 2000) g});
my $vac = $node->background_psql('postgres', on_error_stop => 0);
$vac->query_until(qr/started/, "\\echo started\nVACUUM FULL $store;\n");
ok($node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'VACUUM FULL%' AND wait_event_type = 'Lock'}),
	'VACUUM FULL of the store relation waits for the transaction writing to its table');
$writer->query_safe(q{INSERT INTO w SELECT g, array_fill(g::real, ARRAY[16])::ruvector FROM generate_series(2001, 2500) g});
$writer->query_safe('COMMIT');
$writer->quit;
$vac->quit;
is($node->safe_psql('postgres', q{SELECT count(*), sum(id) FILTER (WHERE v = array_fill(id::real, ARRAY[16])::ruvector) FROM w}),
	'2500|3126250', 'every vector written around the store rewrite is there, intact');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('w')}), '0', 'verify clean after the store rewrite');
isnt($node->safe_psql('postgres', qq{SELECT pg_relation_filenode('$store')}), $store =~ s/.*store_//r,
	'the store relation got a new file');

$node->stop;
done_testing();
