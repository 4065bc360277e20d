-- ruvector comparison operators and the btree opclass: the order is
-- PostgreSQL's array order over the elements (then dims), so real[]
-- comparison is the independent reference.  Also a heap table with a
-- ruvector column: btree index, unique index, ORDER BY, DISTINCT, GROUP BY,
-- merge join, UPDATE/DELETE, out-of-line (TOAST) storage.
SELECT plan(27);

-- explain(sql): the text of sql's plan.
CREATE FUNCTION pg_temp.explain(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN ' || sql LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;

-- vectors over {-1, 0, 1, 2} with 1..3 dims: many ties and prefixes
CREATE TEMP TABLE vals AS
	SELECT row_number() OVER () AS id, a
	FROM (SELECT ARRAY[x]::real[] a FROM generate_series(-1, 2) x
		  UNION ALL SELECT ARRAY[x, y] FROM generate_series(-1, 2) x, generate_series(-1, 2) y
		  UNION ALL SELECT ARRAY[x, y, z] FROM generate_series(-1, 2) x, generate_series(0, 1) y, generate_series(-1, 0) z
		  UNION ALL SELECT ARRAY[-0.0::real, 1]) s;
ALTER TABLE vals ADD COLUMN v ruvector;
UPDATE vals SET v = a::ruvector;

SELECT is((SELECT count(*) FROM vals p, vals q WHERE (p.v < q.v) <> (p.a < q.a)), 0::bigint, '< matches array order');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE (p.v <= q.v) <> (p.a <= q.a)), 0::bigint, '<= matches array order');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE (p.v = q.v) <> (p.a = q.a)), 0::bigint, '= matches array equality');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE (p.v <> q.v) <> (p.a <> q.a)), 0::bigint, '<> matches array inequality');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE (p.v >= q.v) <> (p.a >= q.a)), 0::bigint, '>= matches array order');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE (p.v > q.v) <> (p.a > q.a)), 0::bigint, '> matches array order');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE sign(vector_cmp(p.v, q.v)) <> sign(btarraycmp(p.a, q.a))), 0::bigint,
	'vector_cmp matches btarraycmp');
SELECT is((SELECT count(*) FROM vals p, vals q WHERE vector_lt(p.v, q.v) <> (p.v < q.v) OR vector_le(p.v, q.v) <> (p.v <= q.v)
		   OR vector_eq(p.v, q.v) <> (p.v = q.v) OR vector_ne(p.v, q.v) <> (p.v <> q.v)
		   OR vector_ge(p.v, q.v) <> (p.v >= q.v) OR vector_gt(p.v, q.v) <> (p.v > q.v)), 0::bigint,
	'vector_lt/le/eq/ne/ge/gt are the operators');
SELECT is('[-0,1]'::ruvector = '[0,1]'::ruvector, true, '-0 equals 0');
SELECT is('[1,2]'::ruvector < '[1,2,0]'::ruvector, true, 'a prefix sorts first');

SELECT is((SELECT array_agg(id ORDER BY v, id) FROM vals), (SELECT array_agg(id ORDER BY a, id) FROM vals), 'ORDER BY');
SELECT is((SELECT count(DISTINCT v) FROM vals), (SELECT count(DISTINCT a) FROM vals), 'count(DISTINCT)');
SELECT is((SELECT count(*) FROM (SELECT DISTINCT v FROM vals) s), (SELECT count(DISTINCT a) FROM vals), 'SELECT DISTINCT');
SELECT is((SELECT count(*) FROM (SELECT v FROM vals GROUP BY v) s), (SELECT count(DISTINCT a) FROM vals), 'GROUP BY');
SELECT is((SELECT v::real[] FROM vals ORDER BY v DESC LIMIT 1), (SELECT max(a) FROM vals),
	'ORDER BY DESC');

-- heap table with a btree index
CREATE TABLE items (id int PRIMARY KEY, v ruvector(3));
INSERT INTO items SELECT i, ARRAY[i % 7, i % 11, i % 13] FROM generate_series(1, 5000) i;
CREATE INDEX items_v ON items (v);
ANALYZE items;
SELECT is((SELECT opcname::text FROM pg_opclass c JOIN pg_index i ON c.oid = i.indclass[0]
		   WHERE i.indexrelid = 'items_v'::regclass), 'ruvector_ops', 'the default btree opclass is ruvector_ops');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT ok(pg_temp.explain($$SELECT id FROM items WHERE v = '[3,4,5]'$$) ~ 'Index (Only )?Scan using items_v',
	'equality uses the btree index');
CREATE TEMP TABLE by_index AS SELECT
	(SELECT array_agg(id ORDER BY id) FROM items WHERE v = '[3,4,5]') eq,
	(SELECT array_agg(id ORDER BY id) FROM items WHERE v < '[1,2,3]') lt,
	(SELECT array_agg(id ORDER BY id) FROM items WHERE v BETWEEN '[2,0,0]' AND '[3,5,0]') btw,
	(SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY v, id LIMIT 50) s) ord;
RESET enable_seqscan;
RESET enable_bitmapscan;
SET enable_indexscan = off;
SET enable_indexonlyscan = off;
SET enable_bitmapscan = off;
SELECT is((SELECT eq FROM by_index), (SELECT array_agg(id ORDER BY id) FROM items WHERE v::real[] = '{3,4,5}'),
	'index equality finds the same rows as a scan on real[]');
SELECT is((SELECT lt FROM by_index), (SELECT array_agg(id ORDER BY id) FROM items WHERE v::real[] < '{1,2,3}'),
	'index range < finds the same rows');
SELECT is((SELECT btw FROM by_index), (SELECT array_agg(id ORDER BY id) FROM items WHERE v::real[] BETWEEN '{2,0,0}' AND '{3,5,0}'),
	'index BETWEEN finds the same rows');
SELECT is((SELECT ord FROM by_index), (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY v::real[], id LIMIT 50) s),
	'index order is the array order');
RESET enable_indexscan;
RESET enable_indexonlyscan;
RESET enable_bitmapscan;

CREATE EXTENSION amcheck;
SELECT lives_ok($$SELECT bt_index_check('items_v', true)$$, 'amcheck verifies the btree index');

SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT is((SELECT count(*) FROM items a JOIN items b ON a.v = b.v),
	(SELECT sum(c * c) FROM (SELECT count(*) c FROM items GROUP BY v::real[]) s)::bigint, 'merge join on =');
RESET enable_hashjoin;
RESET enable_nestloop;

CREATE UNIQUE INDEX items_v_unique ON items (id, v);
CREATE TABLE uniq (v ruvector UNIQUE);
INSERT INTO uniq VALUES ('[1,2]'), ('[1,2,3]');
SELECT throws_ok($$INSERT INTO uniq VALUES ('[1,2]')$$, '23505', NULL, 'unique btree index rejects a duplicate');

UPDATE items SET v = v + '[1,1,1]' WHERE id <= 100;
DELETE FROM items WHERE id > 4000;
SELECT is((SELECT count(*) FROM items WHERE id <= 100 AND v::real[] <> ARRAY[id % 7 + 1, id % 11 + 1, id % 13 + 1]::real[]),
	0::bigint, 'UPDATE with + stores the new vectors');

-- long vectors go out of line (STORAGE external) and come back intact
SELECT is((SELECT typstorage::text FROM pg_type WHERE oid = 'ruvector'::regtype), 'e', 'STORAGE external');
CREATE TABLE big (id int, v ruvector);
INSERT INTO big SELECT i, array_fill(i::real / 3, ARRAY[4000]) FROM generate_series(1, 5) i;
SELECT is((SELECT count(*) FROM big WHERE v::real[] <> array_fill(id::real / 3, ARRAY[4000])::real[]), 0::bigint,
	'4000-dim vectors survive out-of-line storage');

SELECT * FROM finish();
