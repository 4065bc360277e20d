-- ruhnsw basics: build, exact results at high ef_search for every
-- opclass, EXPLAIN, options and their errors, non-ruvector tables, empty
-- table, NULLs, zero vectors under cosine, REINDEX, CIC, DROP.
SELECT plan(30);

-- This file tests the index's own results (NULLs and cosine zero vectors
-- are not indexed): keep the exact k-NN scan of ruvector tables
-- (src/tam/knn_plan.c), which returns every row, from winning the plan for
-- large LIMITs and tiny tables.
SET ruvector.enable_exact_scan = off;

CREATE FUNCTION pg_temp.explain(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;

-- ids(sql): the ids an ORDER BY ... LIMIT query returns, as an array in order
CREATE FUNCTION pg_temp.ids(sql text) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
	r bigint[];
BEGIN
	EXECUTE 'SELECT array_agg(id) FROM (' || sql || ') s' INTO r;
	RETURN r;
END $$;

SELECT setseed(0.42);
CREATE TABLE items (id bigint PRIMARY KEY, cat int, embedding ruvector(8)) USING ruvector;
INSERT INTO items
	SELECT i, i % 10, (SELECT array_agg(round((random() * 10)::numeric, 3)::real) FROM generate_series(1, 8) WHERE i > 0)::ruvector
	FROM generate_series(1, 600) i;
INSERT INTO items VALUES (601, 1, NULL), (602, 2, NULL);
CREATE TABLE queries AS
	SELECT q, (SELECT array_agg(round((random() * 10)::numeric, 3)::real) FROM generate_series(1, 8) WHERE q > 0)::ruvector AS v
	FROM generate_series(1, 10) q;

CREATE INDEX items_l2 ON items USING ruhnsw (embedding vector_l2_ops);
SET ruvector.ef_search = 1000;

-- exact(op, q): ids by exact search; ann(op, q): by the index
CREATE FUNCTION pg_temp.cmp(op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint := 0;
	qv ruvector;
	a bigint[];
	b bigint[];
BEGIN
	FOR qv IN SELECT v FROM queries ORDER BY q LOOP
		SET LOCAL enable_indexscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding %s $1, id LIMIT 10) s', op) INTO a USING qv;
		SET LOCAL enable_indexscan = on;
		SET LOCAL enable_seqscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding %s $1 LIMIT 10) s', op) INTO b USING qv;
		IF a IS DISTINCT FROM b THEN
			bad := bad + 1;
		END IF;
	END LOOP;
	RETURN bad;
END $$;

SELECT alike(pg_temp.explain($$SELECT id FROM items ORDER BY embedding <-> '[1,2,3,4,5,6,7,8]' LIMIT 5$$),
	'%Index Scan using items_l2%', 'EXPLAIN: ORDER BY <-> LIMIT uses the index');
SELECT unalike(pg_temp.explain($$SELECT id FROM items WHERE embedding IS NOT NULL$$),
	'%items_l2%', 'EXPLAIN: no ORDER BY, no index');
SELECT is(pg_temp.cmp('<->'), 0::bigint, 'l2: equal to exact search at ef_search = 1000');
SELECT is((SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[1,2,3,4,5,6,7,8]' LIMIT 1000) s), 600::bigint,
	'NULL vectors are not returned; all 600 others are');

DROP INDEX items_l2;
CREATE INDEX items_ip ON items USING ruhnsw (embedding vector_ip_ops);
SELECT alike(pg_temp.explain($$SELECT id FROM items ORDER BY embedding <#> '[1,2,3,4,5,6,7,8]' LIMIT 5$$),
	'%Index Scan using items_ip%', 'EXPLAIN: <#> uses the ip index');
SELECT is(pg_temp.cmp('<#>'), 0::bigint, 'ip: equal to exact search');
DROP INDEX items_ip;
CREATE INDEX items_cos ON items USING ruhnsw (embedding vector_cosine_ops);
SELECT alike(pg_temp.explain($$SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4,5,6,7,8]' LIMIT 5$$),
	'%Index Scan using items_cos%', 'EXPLAIN: <=> uses the cosine index');
SELECT is(pg_temp.cmp('<=>'), 0::bigint, 'cosine: equal to exact search');
DROP INDEX items_cos;
CREATE INDEX items_l1 ON items USING ruhnsw (embedding vector_l1_ops) WITH (m = 8, ef_construction = 40);
SELECT alike(pg_temp.explain($$SELECT id FROM items ORDER BY embedding <+> '[1,2,3,4,5,6,7,8]' LIMIT 5$$),
	'%Index Scan using items_l1%', 'EXPLAIN: <+> uses the l1 index');
SELECT is(pg_temp.cmp('<+>'), 0::bigint, 'l1 (m = 8): equal to exact search');
DROP INDEX items_l1;

-- inserts after the build
CREATE INDEX items_l2 ON items USING ruhnsw (embedding);
INSERT INTO items
	SELECT i, i % 10, (SELECT array_agg(round((random() * 10)::numeric, 3)::real) FROM generate_series(1, 8) WHERE i > 0)::ruvector
	FROM generate_series(603, 900) i;
SELECT is(pg_temp.cmp('<->'), 0::bigint, 'l2 after 300 inserts: equal to exact search');
UPDATE items SET embedding = '[0,0,0,0,0,0,0,0]' WHERE id = 5;
SELECT is(pg_temp.ids($$SELECT id FROM items ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 1$$), ARRAY[5::bigint],
	'an updated row is found under its new vector');

-- REINDEX, CONCURRENTLY
REINDEX INDEX items_l2;
SELECT is(pg_temp.cmp('<->'), 0::bigint, 'after REINDEX: equal to exact search');
DROP INDEX items_l2;
SELECT hasnt_index('items', 'items_l2', 'DROP INDEX');

-- options
SELECT throws_ok($$CREATE INDEX ON items USING ruhnsw (embedding) WITH (m = 1)$$, '22023', NULL, 'm = 1 is out of range');
SELECT throws_ok($$CREATE INDEX ON items USING ruhnsw (embedding) WITH (m = 101)$$, '22023', NULL, 'm = 101 is out of range');
SELECT throws_ok($$CREATE INDEX ON items USING ruhnsw (embedding) WITH (ef_construction = 3)$$, '22023', NULL,
	'ef_construction = 3 is out of range');
SELECT throws_ok($$CREATE INDEX ON items USING ruhnsw (embedding) WITH (ef_construction = 1001)$$, '22023', NULL,
	'ef_construction = 1001 is out of range');
SELECT throws_ok($$CREATE INDEX ON items USING ruhnsw (embedding) WITH (m = 40, ef_construction = 64)$$, '22023',
	'ef_construction must be greater than or equal to 2 * m', 'ef_construction < 2 * m');
SELECT throws_ok($$SET ruvector.ef_search = 0$$, '22023', NULL, 'ef_search = 0 is out of range');
SELECT throws_ok($$SET ruvector.iterative_scan = 'sometimes'$$, '22023', NULL, 'iterative_scan takes off, relaxed_order, strict_order');
SELECT throws_ok($$CREATE INDEX ON items USING ruhnsw (embedding, embedding)$$, '0A000', NULL, 'one key column only');

-- a heap table
CREATE TABLE heapitems (id int, embedding ruvector(3));
SELECT throws_ok($$CREATE INDEX ON heapitems USING ruhnsw (embedding)$$, '0A000',
	'ruhnsw indexes are supported only on ruvector tables', 'heap tables are refused');

-- empty table, then inserts; zero vector under cosine
CREATE TABLE empty (id int, embedding ruvector(3)) USING ruvector;
CREATE INDEX empty_l2 ON empty USING ruhnsw (embedding);
SELECT is((SELECT count(*) FROM (SELECT id FROM empty ORDER BY embedding <-> '[1,1,1]' LIMIT 5) s), 0::bigint,
	'an index on an empty table returns nothing');
INSERT INTO empty VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, NULL), (4, '[0,0,0]');
SET enable_seqscan = off;
SELECT is(pg_temp.ids($$SELECT id FROM empty ORDER BY embedding <-> '[2,2,2.1]' LIMIT 5$$), ARRAY[2, 1, 4]::bigint[],
	'inserts into an index built empty');
CREATE INDEX empty_cos ON empty USING ruhnsw (embedding vector_cosine_ops);
SELECT is(pg_temp.ids($$SELECT id FROM empty ORDER BY embedding <=> '[1,2,2]' LIMIT 5$$) @> ARRAY[1, 2]::bigint[], true,
	'cosine: nonzero vectors found');
SELECT is(pg_temp.ids($$SELECT id FROM empty ORDER BY embedding <=> '[1,2,2]' LIMIT 5$$) @> ARRAY[4]::bigint[], false,
	'cosine: zero vectors are not indexed');
RESET enable_seqscan;
SELECT throws_ok($$SELECT id FROM empty ORDER BY embedding <-> '[1,1]' LIMIT 1$$, '22000', NULL,
	'query of other dimensions');

-- a column without typmod: one dimension per index
CREATE TABLE anyd (id int, embedding ruvector) USING ruvector;
INSERT INTO anyd VALUES (1, '[1,2]'), (2, '[1,2,3]');
SELECT throws_ok($$CREATE INDEX ON anyd USING ruhnsw (embedding)$$, '0A000', NULL,
	'vectors of several dimensions are refused');
DELETE FROM anyd WHERE id = 2;
CREATE INDEX anyd_l2 ON anyd USING ruhnsw (embedding);
SELECT throws_ok($$INSERT INTO anyd VALUES (3, '[1,2,3]')$$, '0A000',
	'ruhnsw index "anyd_l2" covers vectors of 2 dimensions only', 'insert of other dimensions is refused');

SELECT * FROM finish();
