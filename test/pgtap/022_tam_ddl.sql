-- Table AM ruvector: DDL lifecycle.  TRUNCATE (also rolled back), DROP
-- TABLE (also rolled back), ADD/DROP COLUMN, ALTER COLUMN TYPE, SET ACCESS
-- METHOD both ways, VACUUM, VACUUM FULL, CLUSTER.  After each, the table
-- equals its heap twin, and the store catalog holds exactly the stores of
-- the tables' current storage (no orphans, none missing).
SELECT plan(50);

CREATE FUNCTION pg_temp.stores_ok() RETURNS boolean LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM ruvector_gc_orphans()) = 0
	   AND NOT EXISTS (SELECT 1 FROM ruvector_store s
					   WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_am a ON a.oid = c.relam
										 WHERE a.amname = 'ruvector' AND c.relfilenode = s.relnode))
	   AND NOT EXISTS (SELECT 1 FROM ruvector_store GROUP BY spcnode, relnode, storeno, tier HAVING count(*) > 1)
$$;
-- (attnum, dims) of the stores of rel's current storage
CREATE FUNCTION pg_temp.stores_of(rel regclass) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(s.attnum || ':' || s.dims, ',' ORDER BY s.attnum, s.dims), '')
	FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode
	WHERE c.oid = rel
$$;
CREATE FUNCTION pg_temp.both(sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE replace(sql, '{t}', 'r');
	EXECUTE replace(sql, '{t}', 'h');
END $$;
CREATE FUNCTION pg_temp.same(cols text, descr text) RETURNS text LANGUAGE sql AS $$
	SELECT results_eq(format('SELECT %s FROM r ORDER BY id', cols), format('SELECT %s FROM h ORDER BY id', cols), descr)
$$;
CREATE FUNCTION pg_temp.am(rel regclass) RETURNS text LANGUAGE sql AS $$
	SELECT a.amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = rel
$$;

CREATE TABLE r (id int PRIMARY KEY, v ruvector(3), n int, w ruvector) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(3), n int, w ruvector);
SELECT pg_temp.both($$INSERT INTO {t} SELECT g, ARRAY[g, g + 0.25, -g]::real[]::ruvector, g,
	CASE WHEN g % 3 = 0 THEN NULL ELSE ARRAY[g, g]::real[]::ruvector END FROM generate_series(1, 300) g$$);
SELECT is(pg_temp.stores_of('r'), '2:3,4:2', 'stores for v and w');

-- TRUNCATE, rolled back and committed
BEGIN;
TRUNCATE r;
SELECT is((SELECT count(*) FROM r), 0::bigint, 'TRUNCATE empties the table');
SELECT is(pg_temp.stores_of('r'), '', 'TRUNCATE: new storage has no stores yet');
INSERT INTO r VALUES (9999, '[1,1,1]', 0, NULL);
ROLLBACK;
SELECT pg_temp.same('id, v::text, n, w::text', 'rolled-back TRUNCATE: rows back');
SELECT is(pg_temp.stores_of('r'), '2:3,4:2', 'rolled-back TRUNCATE: old stores back');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after rolled-back TRUNCATE');
CREATE TABLE r_tr (id int, v ruvector(3)) USING ruvector;
INSERT INTO r_tr SELECT id, v FROM h;
TRUNCATE r_tr;
SELECT is(pg_temp.stores_of('r_tr'), '', 'TRUNCATE drops the stores');
INSERT INTO r_tr SELECT id, v FROM h WHERE id <= 10;
SELECT results_eq('SELECT id, v::text FROM r_tr ORDER BY id', 'SELECT id, v::text FROM h WHERE id <= 10 ORDER BY id',
	'insert after TRUNCATE');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after TRUNCATE');
-- TRUNCATE of a table created in the same transaction (non-transactional truncate)
BEGIN;
CREATE TABLE r_tr2 (id int, v ruvector(3)) USING ruvector;
INSERT INTO r_tr2 SELECT id, v FROM h;
TRUNCATE r_tr2;
INSERT INTO r_tr2 SELECT id, v FROM h WHERE id <= 5;
COMMIT;
SELECT results_eq('SELECT id, v::text FROM r_tr2 ORDER BY id', 'SELECT id, v::text FROM h WHERE id <= 5 ORDER BY id',
	'TRUNCATE in the creating transaction');
SELECT is(pg_temp.stores_of('r_tr2'), '2:3', 'one store after same-transaction TRUNCATE');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after same-transaction TRUNCATE');

-- DROP TABLE, rolled back and committed
CREATE TABLE r_drop (id int, v ruvector(3)) USING ruvector;
INSERT INTO r_drop SELECT id, v FROM h;
BEGIN;
DROP TABLE r_drop;
ROLLBACK;
SELECT results_eq('SELECT id, v::text FROM r_drop ORDER BY id', 'SELECT id, v::text FROM h ORDER BY id',
	'rolled-back DROP TABLE: rows intact');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after rolled-back DROP TABLE');
DROP TABLE r_drop;
SELECT ok(pg_temp.stores_ok(), 'stores consistent after DROP TABLE');
SELECT is((SELECT count(*) FROM ruvector_store s WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relfilenode = s.relnode)),
	0::bigint, 'DROP TABLE removed its catalog rows');
CREATE SCHEMA dropme;
CREATE TABLE dropme.t (id int, v ruvector(3)) USING ruvector;
INSERT INTO dropme.t SELECT id, v FROM h;
DROP SCHEMA dropme CASCADE;
SELECT ok(pg_temp.stores_ok(), 'stores consistent after DROP SCHEMA CASCADE');

-- ADD / DROP COLUMN
SELECT pg_temp.both($$ALTER TABLE {t} ADD COLUMN x ruvector(2)$$);
SELECT pg_temp.both($$UPDATE {t} SET x = ARRAY[id, n]::real[]::ruvector WHERE id % 2 = 0$$);
SELECT pg_temp.same('id, v::text, n, w::text, x::text', 'ADD COLUMN ruvector: same rows');
SELECT pg_temp.both($$ALTER TABLE {t} ADD COLUMN d ruvector(2) DEFAULT '[7,8]'$$);
SELECT pg_temp.same('id, v::text, n, w::text, x::text, d::text', 'ADD COLUMN with a default: same rows');
SELECT pg_temp.both($$ALTER TABLE {t} DROP COLUMN d$$);
SELECT pg_temp.both($$ALTER TABLE {t} DROP COLUMN w$$);
SELECT pg_temp.same('id, v::text, n, x::text', 'DROP COLUMN: same rows');
SELECT is(pg_temp.stores_of('r'), '2:3,5:2', 'DROP COLUMN dropped the column''s store');
SELECT pg_temp.both($$INSERT INTO {t} VALUES (301, '[3,0,1]', 301, '[1,2]')$$);
SELECT pg_temp.same('id, v::text, n, x::text', 'INSERT after DROP COLUMN');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after ADD/DROP COLUMN');
BEGIN;
ALTER TABLE r DROP COLUMN x;
ROLLBACK;
SELECT pg_temp.same('id, v::text, n, x::text', 'rolled-back DROP COLUMN keeps the vectors');
SELECT is(pg_temp.stores_of('r'), '2:3,5:2', 'rolled-back DROP COLUMN keeps the store');

-- ALTER COLUMN TYPE: ruvector(3) -> real[] -> ruvector(3); int -> bigint
SELECT pg_temp.both($$ALTER TABLE {t} ALTER COLUMN v TYPE real[] USING v::real[]$$);
SELECT pg_temp.same('id, v, n, x::text', 'ALTER COLUMN TYPE ruvector -> real[]');
SELECT is(pg_temp.stores_of('r'), '5:2', 'only x keeps a store');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after ALTER COLUMN TYPE to real[]');
SELECT pg_temp.both($$ALTER TABLE {t} ALTER COLUMN v TYPE ruvector(3) USING v::ruvector(3)$$);
SELECT pg_temp.same('id, v::text, n, x::text', 'ALTER COLUMN TYPE real[] -> ruvector(3)');
SELECT pg_temp.both($$ALTER TABLE {t} ALTER COLUMN n TYPE bigint$$);
SELECT pg_temp.same('id, v::text, n, x::text', 'ALTER COLUMN TYPE int -> bigint (rewrite)');
SELECT pg_temp.both($$ALTER TABLE {t} ALTER COLUMN x TYPE ruvector$$);
SELECT pg_temp.same('id, v::text, n, x::text', 'ALTER COLUMN TYPE ruvector(2) -> ruvector (no rewrite)');
SELECT is(pg_temp.stores_of('r'), '2:3,5:2', 'stores after ALTER COLUMN TYPE');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after ALTER COLUMN TYPE');
BEGIN;
ALTER TABLE r ALTER COLUMN n TYPE numeric;
ROLLBACK;
SELECT pg_temp.same('id, v::text, n, x::text', 'rolled-back rewrite');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after rolled-back rewrite');

-- SET ACCESS METHOD heap and back
CREATE TABLE m (id int PRIMARY KEY, v ruvector(3), n bigint, x ruvector) USING ruvector;
INSERT INTO m SELECT id, v, n, x FROM h;
ALTER TABLE m SET ACCESS METHOD heap;
SELECT is(pg_temp.am('m'), 'heap', 'SET ACCESS METHOD heap');
SELECT results_eq('SELECT id, v::text, n, x::text FROM m ORDER BY id', 'SELECT id, v::text, n, x::text FROM h ORDER BY id',
	'ruvector -> heap: contents identical');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after SET ACCESS METHOD heap');
SELECT is((SELECT count(*) FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode WHERE c.oid = 'm'::regclass),
	0::bigint, 'a heap table has no stores');
ALTER TABLE m SET ACCESS METHOD ruvector;
SELECT is(pg_temp.am('m'), 'ruvector', 'SET ACCESS METHOD ruvector');
SELECT results_eq('SELECT id, v::text, n, x::text FROM m ORDER BY id', 'SELECT id, v::text, n, x::text FROM h ORDER BY id',
	'heap -> ruvector: contents identical');
SELECT is(pg_temp.stores_of('m'), '2:3,4:2', 'heap -> ruvector: stores created');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after SET ACCESS METHOD ruvector');

-- VACUUM, VACUUM FULL, CLUSTER
SELECT pg_temp.both($$DELETE FROM {t} WHERE id % 4 = 0$$);
SELECT pg_temp.both($$UPDATE {t} SET v = v + '[1,0,0]' WHERE id % 4 = 1$$);
VACUUM r;
SELECT pg_temp.same('id, v::text, n, x::text', 'VACUUM');
VACUUM FULL r;
SELECT pg_temp.same('id, v::text, n, x::text', 'VACUUM FULL');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after VACUUM FULL');
SELECT is(pg_temp.stores_of('r'), '2:3,5:2', 'VACUUM FULL: stores follow the new storage');
CLUSTER r USING r_pkey;
SELECT pg_temp.same('id, v::text, n, x::text', 'CLUSTER');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after CLUSTER');
SELECT pg_temp.both($$INSERT INTO {t} VALUES (400, '[4,0,0]', 400, '[4]')$$);
SELECT pg_temp.same('id, v::text, n, x::text', 'INSERT after CLUSTER');

SELECT * FROM finish();
