-- Table AM ruvector: the orphan collector ruvector_gc_orphans() and the
-- storage report: GC is revoked from PUBLIC (42501 for an ordinary role),
-- finds and drops a store whose table storage is gone, reports a missing
-- store file, and never touches the stores of live (incl. temp) tables.
SELECT plan(11);

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

-- an orphan: a catalog row whose table storage does not exist
INSERT INTO ruvector_store SELECT spcnode, 4000000000, storeno, attnum, dims, tier, store_spcnode, 4000000001
	FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode WHERE c.oid = 'r'::regclass;
SELECT results_eq('SELECT reason, table_relfilenode, store, store_relfilenode FROM ruvector_gc_orphans()',
	$$VALUES ('orphaned store dropped', 4000000000::oid, 1, 4000000001::oid)$$, 'GC finds and drops the orphan');
SELECT is((SELECT count(*) FROM ruvector_store WHERE relnode = 4000000000), 0::bigint, 'orphan catalog row removed');
SELECT is((SELECT count(*) FROM ruvector_gc_orphans()), 0::bigint, 'GC is idempotent');

-- a catalog row whose store file is missing is reported, not dropped
BEGIN;
UPDATE ruvector_store SET store_relnode = 4000000002
	WHERE relnode = (SELECT relfilenode FROM pg_class WHERE oid = 'r'::regclass);
SELECT results_eq('SELECT reason, store_relfilenode FROM ruvector_gc_orphans()',
	$$VALUES ('store file missing', 4000000002::oid)$$, 'GC reports a missing store file');
ROLLBACK;
SELECT results_eq('SELECT id, v::text FROM r ORDER BY id', 'SELECT id, v::text FROM h ORDER BY id', 'r intact');

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
