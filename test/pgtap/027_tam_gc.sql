-- Table AM ruvector: the orphan collector ruvector_gc_orphans() and the
-- storage report: GC is revoked from PUBLIC (42501 for an ordinary role),
-- finds and drops a store whose table storage is gone (with its store
-- relation), drops a catalog row whose store relation is missing and a
-- store relation no row names, and never touches the stores of live
-- (incl. temp) tables.
SELECT plan(14);

CREATE TABLE r (id int, v ruvector(3)) USING ruvector;
INSERT INTO r SELECT g, ARRAY[g, g, g]::real[]::ruvector FROM generate_series(1, 100) g;
CREATE TEMP TABLE rt (id int, v ruvector(3)) USING ruvector;
INSERT INTO rt SELECT g, ARRAY[g, 0, g]::real[]::ruvector FROM generate_series(1, 100) g;
CREATE TABLE h (id int, v ruvector(3));
INSERT INTO h SELECT g, ARRAY[g, g, g]::real[]::ruvector FROM generate_series(1, 100) g;

SELECT is((SELECT count(*) FROM ruvector_gc_orphans()), 0::bigint, 'no orphans with live tables');
SELECT is((SELECT count(*) FROM ruvector_store), 2::bigint, 'the stores of r and the temp table rt are kept');
SELECT results_eq('SELECT id, v::text FROM rt ORDER BY id',
	'SELECT id, (ARRAY[id, 0, id]::real[]::ruvector)::text FROM h ORDER BY id', 'temp table readable after GC');

-- an orphan: r's store re-keyed to a table storage that does not exist
CREATE TEMP TABLE r_store AS SELECT store FROM ruvector_store s
	JOIN pg_class c ON c.relfilenode = s.relnode WHERE c.oid = 'r'::regclass;
BEGIN;
UPDATE ruvector_store SET relnode = 4000000000 WHERE store = (SELECT store FROM r_store);
SELECT results_eq('SELECT reason, table_relfilenode, store, store_relation FROM ruvector_gc_orphans()',
	$$SELECT 'orphaned store dropped', 4000000000::oid, 1, store FROM r_store$$, 'GC finds and drops the orphan');
SELECT is((SELECT count(*) FROM ruvector_store WHERE relnode = 4000000000), 0::bigint, 'orphan catalog row removed');
SELECT is((SELECT count(*) FROM pg_class WHERE oid = (SELECT store FROM r_store)), 0::bigint,
	'orphan store relation dropped');
SELECT is((SELECT count(*) FROM ruvector_gc_orphans()), 0::bigint, 'GC is idempotent');
ROLLBACK;

-- a catalog row whose store relation is missing: the row goes, and the
-- relation it no longer names is dropped as unreferenced
BEGIN;
UPDATE ruvector_store SET store = 4000000002 WHERE store = (SELECT store FROM r_store);
SELECT set_eq('SELECT reason, store_relation FROM ruvector_gc_orphans()',
	$$VALUES ('store relation missing: catalog row dropped', 4000000002::oid),
	         ('unreferenced store relation dropped', (SELECT store FROM r_store))$$,
	'GC drops a row without its relation and a relation without its row');
SELECT is((SELECT count(*) FROM ruvector_store WHERE store = 4000000002), 0::bigint, 'dangling row removed');
ROLLBACK;
SELECT results_eq('SELECT id, v::text FROM r ORDER BY id', 'SELECT id, v::text FROM h ORDER BY id', 'r intact');
SELECT is((SELECT count(*) FROM ruvector_gc_orphans()), 0::bigint, 'nothing to collect after the rollbacks');

-- privileges
DROP ROLE IF EXISTS rv_027_plain;
CREATE ROLE rv_027_plain;
GRANT USAGE ON SCHEMA public TO rv_027_plain;
SET ROLE rv_027_plain;
SELECT throws_ok('SELECT * FROM ruvector_gc_orphans()', '42501', NULL, 'GC is revoked from PUBLIC');
SELECT throws_ok($$SELECT * FROM ruvector_storage_report('r')$$, '42501', NULL, 'storage report needs SELECT');
SELECT throws_ok('SELECT * FROM ruvector_store', '42501', NULL, 'the store catalog is not readable by PUBLIC');
RESET ROLE;
REVOKE USAGE ON SCHEMA public FROM rv_027_plain;
DROP ROLE rv_027_plain;

SELECT * FROM finish();
