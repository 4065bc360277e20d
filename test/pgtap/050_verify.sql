-- ruvector_verify on healthy tables: several dims (dense layout, header
-- layout, 768/1536 dims whose slots straddle pages, an untyped column with
-- mixed dims, two vector columns), after INSERT, UPDATE, DELETE, rollback,
-- VACUUM, TRUNCATE, VACUUM FULL, CLUSTER; unlogged and temporary tables.
-- Every state must give no rows.  Privileges: revoked from PUBLIC (42501),
-- wrong object type (42809).
SELECT plan(33);

-- the problems verify finds, as text, so a failure shows them
CREATE FUNCTION pg_temp.problems(rel regclass) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(format('%s store=%s blk=%s vid=%s: %s', kind, store, blkno, vid, detail),
							   E'\n' ORDER BY kind, store, blkno, vid), '')
	FROM ruvector_verify(rel)
$$;
CREATE FUNCTION pg_temp.vec(seed int, dims int) RETURNS ruvector LANGUAGE sql AS $$
	SELECT array_agg(((seed * 31 + k * 17) % 1000) / 100.0 - 5.0 ORDER BY k)::real[]::ruvector
	FROM generate_series(1, dims) k
$$;

CREATE TABLE t3 (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
CREATE TABLE t128 (id int PRIMARY KEY, v ruvector(128)) USING ruvector;
CREATE TABLE t768 (id int PRIMARY KEY, v ruvector(768), w ruvector(4)) USING ruvector;
CREATE TABLE t1536 (id int PRIMARY KEY, v ruvector(1536)) USING ruvector;
CREATE TABLE tmix (id int PRIMARY KEY, v ruvector) USING ruvector;

SELECT is(pg_temp.problems('t3'), '', 'empty table without stores: no problems');

INSERT INTO t3 SELECT g, pg_temp.vec(g, 3) FROM generate_series(1, 3000) g;
INSERT INTO t128 SELECT g, pg_temp.vec(g, 128) FROM generate_series(1, 600) g;
INSERT INTO t768 SELECT g, pg_temp.vec(g, 768), CASE WHEN g % 3 = 0 THEN NULL ELSE pg_temp.vec(g, 4) END
	FROM generate_series(1, 300) g;
INSERT INTO t1536 SELECT g, pg_temp.vec(g, 1536) FROM generate_series(1, 120) g;
INSERT INTO tmix SELECT g, pg_temp.vec(g, 1 + g % 7) FROM generate_series(1, 500) g;
-- more than one segment (RV_SEG_VIDS = 2000 vids)
SELECT is((SELECT count(*) FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode WHERE c.oid = 'tmix'::regclass), 7::bigint, 'tmix has 7 stores');
SELECT is(pg_temp.problems('t3'), '', '3 dims (dense, two segments) after INSERT');
SELECT is(pg_temp.problems('t128'), '', '128 dims (dense) after INSERT');
SELECT is(pg_temp.problems('t768'), '', '768 dims (header, straddling) and 4 dims after INSERT');
SELECT is(pg_temp.problems('t1536'), '', '1536 dims after INSERT');
SELECT is(pg_temp.problems('tmix'), '', 'untyped column with 7 stores after INSERT');

UPDATE t3 SET v = pg_temp.vec(id + 7, 3) WHERE id % 4 = 0;
DELETE FROM t3 WHERE id % 5 = 0;
UPDATE t768 SET v = pg_temp.vec(id + 1, 768), w = NULL WHERE id % 2 = 0;
DELETE FROM t768 WHERE id % 7 = 0;
UPDATE t1536 SET v = pg_temp.vec(id + 3, 1536) WHERE id < 40;
UPDATE tmix SET v = pg_temp.vec(id, 1 + (id + 1) % 7) WHERE id % 3 = 0;
BEGIN;
INSERT INTO t768 SELECT g, pg_temp.vec(g, 768), pg_temp.vec(g, 4) FROM generate_series(1001, 1100) g;
ROLLBACK;
SELECT is(pg_temp.problems('t3'), '', '3 dims after UPDATE/DELETE');
SELECT is(pg_temp.problems('t768'), '', '768 dims after UPDATE/DELETE and a rolled-back INSERT');
SELECT is(pg_temp.problems('t1536'), '', '1536 dims after UPDATE');
SELECT is(pg_temp.problems('tmix'), '', 'mixed dims after UPDATE across stores');

VACUUM t3, t768, t1536, tmix;
SELECT is(pg_temp.problems('t3'), '', '3 dims after VACUUM');
SELECT is(pg_temp.problems('t768'), '', '768 dims after VACUUM');
SELECT is(pg_temp.problems('t1536'), '', '1536 dims after VACUUM');
SELECT is(pg_temp.problems('tmix'), '', 'mixed dims after VACUUM');

-- freed vids are reused
INSERT INTO t768 SELECT g, pg_temp.vec(g, 768), pg_temp.vec(g, 4) FROM generate_series(2001, 2100) g;
UPDATE t768 SET v = pg_temp.vec(id + 5, 768) WHERE id % 11 = 0;
SELECT is(pg_temp.problems('t768'), '', '768 dims after reusing freed vids');
VACUUM t768;
SELECT is(pg_temp.problems('t768'), '', '768 dims after the second VACUUM');
VACUUM FREEZE t3;
SELECT is(pg_temp.problems('t3'), '', '3 dims after VACUUM FREEZE');

-- rewrites: TRUNCATE, VACUUM FULL (after frozen rows were deleted), CLUSTER
TRUNCATE t128;
SELECT is(pg_temp.problems('t128'), '', 'after TRUNCATE');
INSERT INTO t128 SELECT g, pg_temp.vec(g, 128) FROM generate_series(1, 100) g;
SELECT is(pg_temp.problems('t128'), '', 'after TRUNCATE and INSERT');
DELETE FROM t768 WHERE id % 3 = 1;
VACUUM FULL t768;
SELECT is(pg_temp.problems('t768'), '', '768 dims after DELETE of frozen rows and VACUUM FULL');
VACUUM t768;
SELECT is(pg_temp.problems('t768'), '', '768 dims after VACUUM FULL and VACUUM');
CLUSTER t1536 USING t1536_pkey;
SELECT is(pg_temp.problems('t1536'), '', '1536 dims after CLUSTER');
SELECT is((SELECT count(*) FROM t768 WHERE v IS NOT NULL), (SELECT count(*) FROM t768), 'rows still readable');

-- unlogged and temporary tables
CREATE UNLOGGED TABLE tu (id int PRIMARY KEY, v ruvector(768)) USING ruvector;
INSERT INTO tu SELECT g, pg_temp.vec(g, 768) FROM generate_series(1, 50) g;
DELETE FROM tu WHERE id < 10;
VACUUM tu;
SELECT is(pg_temp.problems('tu'), '', 'unlogged table');
CREATE TEMP TABLE tt (id int PRIMARY KEY, v ruvector(768)) USING ruvector;
INSERT INTO tt SELECT g, pg_temp.vec(g, 768) FROM generate_series(1, 50) g;
UPDATE tt SET v = pg_temp.vec(id + 1, 768) WHERE id < 10;
VACUUM tt;
SELECT is(pg_temp.problems('tt'), '', 'temporary table');

-- a table with no ruvector column
CREATE TABLE tnone (id int) USING ruvector;
INSERT INTO tnone VALUES (1);
SELECT is(pg_temp.problems('tnone'), '', 'ruvector table without vector columns');

-- errors
CREATE TABLE theap (id int, v ruvector(3));
SELECT throws_ok($$SELECT * FROM ruvector_verify('theap')$$, '42809', NULL, 'heap table: wrong object type');
SELECT is((SELECT has_function_privilege('public', 'ruvector_verify(regclass)', 'EXECUTE')), false,
	'EXECUTE is revoked from PUBLIC');
CREATE ROLE rv_verify_user;
GRANT SELECT ON t3 TO rv_verify_user;
SET ROLE rv_verify_user;
SELECT throws_ok($$SELECT * FROM ruvector_verify('t3')$$, '42501', NULL, 'ordinary role: permission denied');
RESET ROLE;
GRANT EXECUTE ON FUNCTION ruvector_verify(regclass) TO rv_verify_user;
SET ROLE rv_verify_user;
SELECT is((SELECT count(*) FROM ruvector_verify('t3')), 0::bigint, 'granted EXECUTE: runs');
RESET ROLE;
REVOKE ALL ON FUNCTION ruvector_verify(regclass) FROM rv_verify_user;
REVOKE ALL ON t3 FROM rv_verify_user;
DROP ROLE rv_verify_user;

-- verify is read-only: the storage report is unchanged by it
SELECT results_eq($$SELECT * FROM ruvector_storage_report('t3')$$,
	$$SELECT * FROM ruvector_storage_report('t3')$$, 'storage report stable');
SELECT is((SELECT count(*) FROM t3), 2400::bigint, 't3 row count intact');

SELECT * FROM finish();
