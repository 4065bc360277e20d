-- Search on 1-bit codes: with ruvector.search_codes = bit, ruhnsw
-- traverses on the store's RaBitQ bit codes and reranks each batch on the
-- exact floats in lower-bound order (bounds from the SQ8 codes, which
-- always hold).  Checked against an identical heap table (Sort over Seq
-- Scan), on non-negative "pixel-like" data (where the centroid matters):
-- every metric returns exactly ordered rows with exact distances; with
-- ef_search >= the table's size the answers equal the heap's; recall@10 on
-- bit codes at ef_search 200 is within 0.03 of exact traversal's (after
-- VACUUM FULL, which makes the centroid the mean); the
-- exact k-NN scan under search_codes = bit still rules rows out on SQ8
-- bounds and answers as the heap; a store of more dims than bit codes
-- allow falls back to SQ8; resident bytes per vector (bit pages and
-- directory) are <= dims/8 + 32 at 784 and 100 dims.  Recall and
-- resident figures are printed as diag.
SELECT plan(24);

SELECT setseed(0.53);
CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(CASE WHEN hashint4(seed * 7919 + i) % 10 < 4 THEN 0
	ELSE abs(hashint4(seed * 100000 + i) % 256) END::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

CREATE TABLE items (id int PRIMARY KEY, v ruvector(96)) USING ruvector;
CREATE TABLE items_heap (id int PRIMARY KEY, v ruvector(96));
INSERT INTO items_heap SELECT g, mk(96, g) FROM generate_series(1, 3000) g;
INSERT INTO items SELECT * FROM items_heap;
CREATE TABLE queries AS SELECT q, mk(96, 5000 + q) AS v FROM generate_series(1, 40) q;
CREATE INDEX items_l2 ON items USING ruhnsw (v vector_l2_ops);
CREATE INDEX items_ip ON items USING ruhnsw (v vector_ip_ops);
CREATE INDEX items_cos ON items USING ruhnsw (v vector_cosine_ops);
ANALYZE items, items_heap;

SET ruvector.search_codes = bit;
SELECT is(current_setting('ruvector.search_codes'), 'bit', 'search_codes accepts bit');

-- results of an index scan: ids in order, distances non-decreasing and equal
-- to the heap twin's exact distances for those ids
CREATE FUNCTION pg_temp.scan_ok(tbl text, twin text, op text, k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r record;
	bad int;
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format($q$
			WITH s AS (SELECT row_number() OVER () AS pos, id, d
					   FROM (SELECT id, v %1$s $1 AS d FROM %3$s ORDER BY v %1$s $1 LIMIT %2$s) x)
			SELECT count(*) FROM s
			WHERE d IS DISTINCT FROM (SELECT h.v %1$s $1 FROM %4$s h WHERE h.id = s.id)
			   OR d < (SELECT max(d) FROM s s2 WHERE s2.pos < s.pos)$q$, op, k, tbl, twin)
			INTO bad USING r.v;
		IF bad > 0 THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;

SELECT ok(pg_temp.scan_ok('items', 'items_heap', '<->', 10), 'L2 on bit codes: exact distances, in order');
SELECT ok(pg_temp.scan_ok('items', 'items_heap', '<#>', 10), 'inner product on bit codes: exact distances, in order');
SELECT ok(pg_temp.scan_ok('items', 'items_heap', '<=>', 10), 'cosine on bit codes: exact distances, in order');
SELECT ok(pg_temp.scan_ok('items', 'items_heap', '<->', 100), 'L2 on bit codes, LIMIT 100: exact distances, in order');

-- ef_search >= rows: the rerank pool is the whole table, answers = heap's
-- (the centroid of rows stored one at a time: the mean of the first 64)
CREATE TABLE small (id int PRIMARY KEY, v ruvector(96)) USING ruvector;
INSERT INTO small SELECT * FROM items_heap WHERE id <= 900;
CREATE INDEX small_l2 ON small USING ruhnsw (v vector_l2_ops);
CREATE INDEX small_ip ON small USING ruhnsw (v vector_ip_ops);
CREATE INDEX small_cos ON small USING ruhnsw (v vector_cosine_ops);
ANALYZE small;
CREATE FUNCTION pg_temp.same_as_heap(op text, k int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	r record;
	diff bigint := 0;
	n bigint;
BEGIN
	FOR r IN SELECT q, v FROM queries LOOP
		SET LOCAL enable_seqscan = off;
		EXECUTE format('CREATE TEMP TABLE got AS SELECT id FROM small ORDER BY v %s $1 LIMIT %s', op, k)
			USING r.v;
		SET LOCAL enable_seqscan = on;
		SET LOCAL enable_indexscan = off;
		EXECUTE format('CREATE TEMP TABLE want AS SELECT id FROM items_heap WHERE id <= 900 ORDER BY v %s $1, id LIMIT %s', op, k)
			USING r.v;
		SET LOCAL enable_indexscan = on;
		SELECT count(*) INTO n FROM ((SELECT id FROM got EXCEPT SELECT id FROM want)
			UNION ALL (SELECT id FROM want EXCEPT SELECT id FROM got)) x;
		diff := diff + n;
		DROP TABLE got;
		DROP TABLE want;
	END LOOP;
	RETURN diff;
END $$;

SET ruvector.ef_search = 1000;
SET ruvector.iterative_scan = relaxed_order;
SET ruvector.max_scan_tuples = 100000;
SELECT is(pg_temp.same_as_heap('<->', 10), 0::bigint, 'bit, L2, pool = table: the heap''s top 10');
SELECT is(pg_temp.same_as_heap('<#>', 10), 0::bigint, 'bit, inner product, pool = table: the heap''s top 10');
SELECT is(pg_temp.same_as_heap('<=>', 10), 0::bigint, 'bit, cosine, pool = table: the heap''s top 10');
RESET ruvector.iterative_scan;
RESET ruvector.max_scan_tuples;

-- recall@10 at ef_search 200: bit codes vs int8 codes vs exact traversal
CREATE FUNCTION pg_temp.recall(op text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	r record;
	hits bigint := 0;
	got int[];
	want int[];
BEGIN
	FOR r IN SELECT q, v FROM queries LOOP
		SET LOCAL enable_seqscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY v %s $1 LIMIT 10) s', op)
			INTO got USING r.v;
		SET LOCAL enable_seqscan = on;
		SET LOCAL enable_indexscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items_heap ORDER BY v %s $1, id LIMIT 10) s', op)
			INTO want USING r.v;
		SET LOCAL enable_indexscan = on;
		SELECT hits + count(*) INTO hits FROM unnest(got) g WHERE g = ANY (want);
	END LOOP;
	RETURN round(hits::numeric / (10 * (SELECT count(*) FROM queries)), 4);
END $$;

-- rows stored by INSERT, one at a time: the centroid is the mean of the
-- first 64 rows, which have no bit codes (scored on SQ8); VACUUM FULL
-- rewrites the store with the mean of all rows as centroid
SET ruvector.ef_search = 200;
SELECT diag(format('recall@10 at ef_search 200, <->, centroid = the mean of the first 64 rows: bit codes %s',
	pg_temp.recall('<->')));
VACUUM FULL items;
CREATE TEMP TABLE rec AS
	SELECT op, pg_temp.recall(op) AS bit FROM unnest(ARRAY['<->', '<#>', '<=>']) op;
ALTER TABLE rec ADD COLUMN int8 numeric, ADD COLUMN exact numeric;
SET ruvector.search_codes = int8;
UPDATE rec SET int8 = pg_temp.recall(op);
SET ruvector.search_codes = off;
UPDATE rec SET exact = pg_temp.recall(op);
SET ruvector.search_codes = bit;
RESET ruvector.ef_search;
SELECT diag(format('recall@10 at ef_search 200, %s, centroid = the mean of all rows: bit codes %s, int8 codes %s, exact traversal %s',
		op, bit, int8, exact))
	FROM rec ORDER BY op;
SELECT cmp_ok(bit, '>=', exact - 0.03, format('%s: recall on bit codes within 0.03 of exact traversal', op))
	FROM rec ORDER BY op;

-- the exact k-NN scan under search_codes = bit: prunes on SQ8 bounds only,
-- answers are the heap's
CREATE TABLE plain (id int PRIMARY KEY, v ruvector(96)) USING ruvector;
INSERT INTO plain SELECT * FROM items_heap;
ANALYZE plain;
CREATE FUNCTION pg_temp.ruled_out(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		IF l ~ 'Rows Ruled Out On Codes' THEN
			RETURN substring(l from '(\d+)$')::bigint;
		END IF;
	END LOOP;
	RETURN NULL;
END $$;
SELECT cmp_ok(pg_temp.ruled_out($$SELECT id FROM plain ORDER BY v <-> mk(96, 6001) LIMIT 10$$),
	'>', 1000::bigint, 'exact scan under bit, L2: more than 1000 of 3000 rows ruled out (on SQ8 codes)');
SELECT results_eq(
	$$SELECT id, v <-> mk(96, 6002) FROM plain ORDER BY v <-> mk(96, 6002) LIMIT 25$$,
	$$SELECT id, v <-> mk(96, 6002) FROM items_heap ORDER BY v <-> mk(96, 6002), id LIMIT 25$$,
	'exact scan under bit, L2: the heap''s rows and distances');
SELECT results_eq(
	$$SELECT id, v <=> mk(96, 6002) FROM plain ORDER BY v <=> mk(96, 6002) LIMIT 25$$,
	$$SELECT id, v <=> mk(96, 6002) FROM items_heap ORDER BY v <=> mk(96, 6002), id LIMIT 25$$,
	'exact scan under bit, cosine: the heap''s rows and distances');

CREATE FUNCTION pg_temp.per_vector(t regclass, codes text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	b numeric;
BEGIN
	PERFORM set_config('ruvector.search_codes', codes, true);
	SELECT round(resident_bytes::numeric / live_vectors, 2) INTO b FROM ruvector_storage_report(t);
	RETURN b;
END $$;
-- more dims than bit codes allow (> 1984): searched on SQ8 codes, exactly ordered
CREATE TABLE wide (id int PRIMARY KEY, v ruvector(2000)) USING ruvector;
CREATE TABLE wide_heap (id int PRIMARY KEY, v ruvector(2000));
INSERT INTO wide_heap SELECT g, mk(2000, g) FROM generate_series(1, 200) g;
INSERT INTO wide SELECT * FROM wide_heap;
CREATE INDEX wide_v ON wide USING ruhnsw (v);
SELECT is(pg_temp.per_vector('wide', 'bit'), pg_temp.per_vector('wide', 'int8'),
	'2000 dims: no bit codes, resident bytes under bit as under int8');
SET ruvector.search_codes = bit;
SET enable_seqscan = off;
SET ruvector.ef_search = 400;
SELECT results_eq(
	$$SELECT id, v <-> mk(2000, 7001) FROM wide ORDER BY v <-> mk(2000, 7001) LIMIT 10$$,
	$$SELECT id, v <-> mk(2000, 7001) FROM wide_heap ORDER BY v <-> mk(2000, 7001), id LIMIT 10$$,
	'2000 dims under bit (SQ8 fallback), pool = table: the heap''s top 10 and distances');
RESET ruvector.ef_search;
RESET enable_seqscan;

-- resident bytes per vector at 784 and 100 dims (6000 vectors: three segments)
CREATE TABLE r784 (id int, v ruvector(784)) USING ruvector;
INSERT INTO r784 SELECT g, mk(784, g) FROM generate_series(1, 6000) g;
CREATE TABLE r100 (id int, v ruvector(100)) USING ruvector;
INSERT INTO r100 SELECT g, mk(100, g) FROM generate_series(1, 6000) g;
SELECT diag(format('resident bytes per vector, %s dims: bit %s, int8 %s, off %s', d,
		pg_temp.per_vector(t, 'bit'), pg_temp.per_vector(t, 'int8'), pg_temp.per_vector(t, 'off')))
	FROM (VALUES (784, 'r784'::regclass), (100, 'r100'::regclass)) x(d, t);
SELECT cmp_ok(pg_temp.per_vector('r784', 'bit'), '<=', 784 / 8.0 + 32, '784 dims: resident bytes per vector under bit <= d/8 + 32');
SELECT cmp_ok(pg_temp.per_vector('r100', 'bit'), '<=', 100 / 8.0 + 32, '100 dims: resident bytes per vector under bit <= d/8 + 32');
SELECT cmp_ok(pg_temp.per_vector('r784', 'off'), '>=', 784 * 4::numeric, '784 dims: under off, resident bytes cover the floats');
SELECT is((SELECT count(*) FROM ruvector_verify('r784')), 0::bigint, '784 dims: verify clean (bit records checked)');
SELECT is((SELECT count(*) FROM ruvector_verify('items')), 0::bigint, '96 dims: verify clean');

-- elements near FLT_MAX: the running mean stays finite, overflowing bit
-- factors leave absent records (scored on SQ8): verify is clean and the
-- scan's answers are the heap's
CREATE TABLE huge (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
CREATE TABLE huge_heap (id int PRIMARY KEY, v ruvector(3));
INSERT INTO huge_heap SELECT g, ARRAY[CASE WHEN g % 2 = 0 THEN 3e38 ELSE -3e38 END, g, -g]::real[]::ruvector
	FROM generate_series(1, 200) g;
INSERT INTO huge SELECT * FROM huge_heap;
CREATE INDEX huge_v ON huge USING ruhnsw (v);
SELECT is((SELECT count(*) FROM ruvector_verify('huge')), 0::bigint, 'elements near FLT_MAX: verify clean');
SET ruvector.ef_search = 400;
SET enable_seqscan = off;
-- (from [3e38, 7, -7] the even rows are at finite distances, the odd at
-- infinity; rows 6, 8, 4 and 10 are the four nearest, in two tied pairs)
SELECT set_eq(
	$$SELECT id FROM huge ORDER BY v <-> '[3e38,7,-7]' LIMIT 4$$,
	$$SELECT id FROM huge_heap ORDER BY v <-> '[3e38,7,-7]', id LIMIT 4$$,
	'elements near FLT_MAX under bit: the heap''s four nearest rows');
RESET enable_seqscan;
RESET ruvector.ef_search;

SELECT throws_ok($$SET ruvector.search_codes = 'bits'$$, '22023', NULL,
	'ruvector.search_codes rejects an unknown value');
RESET ruvector.search_codes;

SELECT * FROM finish();
