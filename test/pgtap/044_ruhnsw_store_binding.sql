-- ruhnsw: an index is bound to its store relation by OID, with dims
-- checked, never to a reusable store number.  The sequence that crashed
-- the backend before (an aborted transaction created store 1 with 3 dims
-- and the index recorded it; then store 1 came back with 768 dims) and its
-- variants (savepoints, aborted CREATE TABLE, several untyped columns)
-- must give correct answers: equal to the exact scan on a heap twin.
SELECT plan(15);

CREATE FUNCTION knn_ids(tbl regclass, q ruvector, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> $1 LIMIT $2) s', tbl)
		INTO r USING q, k;
	RETURN r;
END $$;

SET ruvector.enable_exact_scan = off;
SET enable_seqscan = off;
SET ruvector.ef_search = 200;

-- the reported sequence
CREATE TABLE ud (id int, v ruvector) USING ruvector;
CREATE INDEX ud_v ON ud USING ruhnsw (v);
BEGIN;
INSERT INTO ud VALUES (1, '[1,2,3]');
ROLLBACK;
INSERT INTO ud SELECT i, array_fill(i::real, ARRAY[768])::ruvector FROM generate_series(1, 50) i;
CREATE TABLE udh AS SELECT * FROM ud;
SELECT is(knn_ids('ud', array_fill(7.2::real, ARRAY[768])::ruvector, 5), ARRAY[7, 8, 6, 9, 5],
	'index after a rolled-back 3-dim insert answers 768-dim queries');
SELECT is((SELECT count(*) FROM ruvector_verify('ud')), 0::bigint, 'verify clean');
SELECT is((SELECT count(*) FROM ud WHERE v <-> array_fill(1::real, ARRAY[768])::ruvector < 1e9), 50::bigint,
	'all 50 rows readable');
SELECT throws_ok($$INSERT INTO ud VALUES (99, '[1,2,3]')$$, '0A000',
	'ruhnsw index "ud_v" covers vectors of 768 dimensions only', 'another dimension is refused by the live index');
SELECT is((SELECT count(*) FROM ud), 50::bigint, 'the refused insert left the table intact');

-- savepoint: the store is created and rolled back inside a subtransaction
CREATE TABLE sp (id int, v ruvector) USING ruvector;
CREATE INDEX ON sp USING ruhnsw (v);
BEGIN;
SAVEPOINT a;
INSERT INTO sp SELECT i, ARRAY[i, i]::real[]::ruvector FROM generate_series(1, 20) i;
ROLLBACK TO a;
INSERT INTO sp SELECT i, ARRAY[i, 0, i, 0, i]::real[]::ruvector FROM generate_series(1, 30) i;
COMMIT;
SELECT is(knn_ids('sp', '[10.3,0,10.3,0,10.3]', 3), ARRAY[10, 11, 9], 'savepoint rollback of the first store');
SELECT is((SELECT count(*) FROM ruvector_verify('sp')), 0::bigint, 'verify clean after the savepoint case');
VACUUM sp;
SELECT is(knn_ids('sp', '[29.4,0,29.4,0,29.4]', 2), ARRAY[29, 30], 'VACUUM keeps the index working');

-- the aborted rows' nodes are removed by VACUUM as well
CREATE TABLE va (id int, v ruvector) USING ruvector;
CREATE INDEX ON va USING ruhnsw (v);
BEGIN;
INSERT INTO va SELECT i, ARRAY[i, i, i]::real[]::ruvector FROM generate_series(1, 100) i;
ROLLBACK;
VACUUM va;
INSERT INTO va SELECT i, ARRAY[i, i, i, i]::real[]::ruvector FROM generate_series(1, 40) i;
SELECT is(knn_ids('va', '[40,40,40,40]', 3), ARRAY[40, 39, 38], 'VACUUM of an index over an aborted store, then new rows');
SELECT is((SELECT count(*) FROM ruvector_verify('va')), 0::bigint, 'verify clean');

-- aborted CREATE TABLE with stores and an index, then the same name again
BEGIN;
CREATE TABLE ac (id int, v ruvector) USING ruvector;
CREATE INDEX ON ac USING ruhnsw (v);
INSERT INTO ac SELECT i, ARRAY[i, i]::real[]::ruvector FROM generate_series(1, 10) i;
ROLLBACK;
CREATE TABLE ac (id int, v ruvector) USING ruvector;
CREATE INDEX ON ac USING ruhnsw (v);
INSERT INTO ac SELECT i, ARRAY[i, i, i, i, i, i]::real[]::ruvector FROM generate_series(1, 25) i;
SELECT is(knn_ids('ac', array_fill(3.3::real, ARRAY[6])::ruvector, 3), ARRAY[3, 4, 2], 'aborted CREATE TABLE, then again');

-- several untyped columns, each with its own index; stores created and
-- aborted in different orders
CREATE TABLE mc (id int, a ruvector, b ruvector) USING ruvector;
CREATE INDEX mc_a ON mc USING ruhnsw (a);
CREATE INDEX mc_b ON mc USING ruhnsw (b);
BEGIN;
INSERT INTO mc VALUES (1, '[1,1]', '[1,1,1]');
ROLLBACK;
BEGIN;
INSERT INTO mc VALUES (1, NULL, '[1,1,1,1,1,1,1,1]');
ROLLBACK;
INSERT INTO mc SELECT i, ARRAY[i, i, i]::real[]::ruvector, ARRAY[i, -i]::real[]::ruvector FROM generate_series(1, 60) i;
SELECT is((SELECT array_agg(id) FROM (SELECT id FROM mc ORDER BY a <-> '[33.2,33.2,33.2]' LIMIT 3) s), ARRAY[33, 34, 32],
	'column a: index bound to its 3-dim store');
SELECT is((SELECT array_agg(id) FROM (SELECT id FROM mc ORDER BY b <-> '[12.3,-12.3]' LIMIT 3) s), ARRAY[12, 13, 11],
	'column b: index bound to its 2-dim store');
SELECT diag(v::text) FROM ruvector_verify('mc') v;
SELECT is((SELECT count(*) FROM ruvector_verify('mc')), 0::bigint, 'verify clean on both indexes');
SELECT throws_ok($$INSERT INTO mc VALUES (100, '[1,2]', '[1,2]')$$, '0A000',
	'ruhnsw index "mc_a" covers vectors of 3 dimensions only', 'column a refuses a 2-dim vector');

-- (ALTER TABLE ... SET TABLESPACE, which keeps the store relations and
-- the index, is tested in t/022_tablespace.pl)

SELECT * FROM finish();
