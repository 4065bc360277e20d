-- The exact k-NN scan's sign bound: on a store with 1-bit codes, an L2
-- k-NN scan first rules rows out on a certain lower bound taken from each
-- row's code signs and norm (store_score.c), before the SQ8 partial sums.
-- The bound must never rule out a row of the answer, so the scan is
-- checked against an identical heap table (Sort over Seq Scan) on data
-- meant to stress it: pixel-like vectors, vectors with a few huge
-- components, vectors a hair away from the centroid, exact duplicates of
-- the queries, zero vectors and scaled copies; queries that are rows,
-- that are far away, that sit on the centroid; k = 1, 10, 100; under
-- search_codes = int8 and bit; before and after VACUUM FULL (which moves
-- the centroid to the mean); and with a parallel pass.  It must also do
-- its work: EXPLAIN ANALYZE counts the rows it ruled out.  The SQ8 stage
-- after it (partial sums, a chunk of rows at a time) is checked on rows
-- built so that the SQ8 error bound is tight: each element just under half
-- a quantization step above its code, the query further along that same
-- direction, so a bound that shaved the SQ8 error would drop the nearest
-- row.
SELECT plan(18);

SELECT setseed(0.054);
CREATE FUNCTION mk(seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(CASE
		WHEN seed % 7 = 0 THEN (hashint4(seed * 31 + i) % 1000)::real * (CASE WHEN i % 17 = 0 THEN 1e4 ELSE 1e-3 END)
		WHEN seed % 11 = 0 THEN 0
		WHEN seed % 13 = 0 THEN 100 + (hashint4(seed * 17 + i) % 3)::real * 1e-4
		WHEN hashint4(seed * 7919 + i) % 10 < 4 THEN 0
		ELSE abs(hashint8(seed::bigint * 100000 + i) % 256) END::real ORDER BY i)::ruvector
	FROM generate_series(1, 96) i $$;

CREATE TABLE t (id int PRIMARY KEY, v ruvector(96)) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(96));
INSERT INTO h SELECT g, mk(g) FROM generate_series(1, 3000) g;
-- scaled copies and duplicates
INSERT INTO h SELECT 3000 + id, v FROM h WHERE id <= 100;
INSERT INTO h SELECT 4000 + id,
	(SELECT array_agg(e * 3 ORDER BY o) FROM unnest(v::real[]) WITH ORDINALITY u(e, o))::ruvector
	FROM h WHERE id <= 200;
INSERT INTO t SELECT * FROM h;
ANALYZE t, h;

CREATE TABLE queries AS
	SELECT q, CASE
		WHEN q <= 10 THEN (SELECT v FROM h WHERE id = q * 37)		-- rows of the table
		WHEN q <= 15 THEN (SELECT v FROM h WHERE id = q * 7)		-- rows with huge components
		WHEN q <= 20 THEN (SELECT v FROM h WHERE id = q * 13)		-- near-centroid rows
		WHEN q <= 25 THEN mk(90000 + q)
		ELSE (SELECT array_agg(((hashint4(q * 3 + i) % 256) * 1000)::real) FROM generate_series(1, 96) i)::ruvector
	END AS v
	FROM generate_series(1, 30) q;

-- the scan's rows and distances equal the heap's for every query, op <->, k
CREATE FUNCTION pg_temp.same(k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r record;
	bad int;
BEGIN
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format($q$
			SELECT count(*) FROM (
				(SELECT id, d FROM (SELECT id, v <-> $1 AS d FROM t ORDER BY v <-> $1 LIMIT %1$s) a
				 EXCEPT ALL
				 SELECT id, d FROM (SELECT id, v <-> $1 AS d FROM h ORDER BY v <-> $1, id LIMIT %1$s) b)
				UNION ALL
				(SELECT NULL, max(d) FROM (SELECT v <-> $1 AS d FROM t ORDER BY v <-> $1 LIMIT %1$s) a
				 HAVING max(d) IS DISTINCT FROM
					(SELECT max(d) FROM (SELECT v <-> $1 AS d FROM h ORDER BY v <-> $1 LIMIT %1$s) b))) x$q$, k)
			INTO bad USING r.v;
		IF bad > 0 THEN
			RAISE NOTICE 'query % k %: % rows differ', r.q, k, bad;
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;

-- the sign bound's count from EXPLAIN ANALYZE of the exact scan
CREATE FUNCTION pg_temp.sign_ruled_out(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		IF l ~ 'Of Them On Sign Bounds' THEN
			RETURN substring(l from '(\d+)$')::bigint;
		END IF;
	END LOOP;
	RETURN NULL;
END $$;

SET ruvector.search_codes = int8;
SELECT ok(pg_temp.same(1), 'int8, k = 1: the heap''s rows and distances');
SELECT ok(pg_temp.same(10), 'int8, k = 10: the heap''s rows and distances');
SELECT ok(pg_temp.same(100), 'int8, k = 100: the heap''s rows and distances');
SELECT cmp_ok(pg_temp.sign_ruled_out($$SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE q = 3) LIMIT 10$$),
	'>', 0::bigint, 'the sign bound rules rows out (int8)');
SET ruvector.search_codes = bit;
SELECT ok(pg_temp.same(10), 'bit, k = 10: the heap''s rows and distances');
SELECT cmp_ok(pg_temp.sign_ruled_out($$SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE q = 3) LIMIT 10$$),
	'>', 0::bigint, 'the sign bound rules rows out (bit)');
SET ruvector.search_codes = off;
SELECT is(pg_temp.sign_ruled_out($$SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE q = 3) LIMIT 10$$),
	0::bigint, 'search_codes = off: nothing ruled out on sign bounds');
RESET ruvector.search_codes;

-- the centroid moves to the mean of the rows
VACUUM FULL t;
SELECT ok(pg_temp.same(1), 'after VACUUM FULL, k = 1: the heap''s rows and distances');
SELECT ok(pg_temp.same(10), 'after VACUUM FULL, k = 10: the heap''s rows and distances');
SELECT ok(pg_temp.same(100), 'after VACUUM FULL, k = 100: the heap''s rows and distances');
SELECT cmp_ok(pg_temp.sign_ruled_out($$SELECT id FROM t ORDER BY v <-> (SELECT v FROM queries WHERE q = 3) LIMIT 10$$),
	'>', 0::bigint, 'after VACUUM FULL the sign bound still rules rows out');

-- the scan with a parallel pass: workers rule rows out on their own scorers
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET ruvector.enable_exact_scan = on;
SELECT ok(pg_temp.same(10), 'parallel passes allowed, k = 10: the heap''s rows and distances');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- squared L2 through its function and a filter
SELECT results_eq(
	$$SELECT id FROM t WHERE id % 3 <> 0 ORDER BY vector_l2_squared_distance(v, (SELECT v FROM queries WHERE q = 4)) LIMIT 20$$,
	$$SELECT id FROM h WHERE id % 3 <> 0 ORDER BY vector_l2_squared_distance(v, (SELECT v FROM queries WHERE q = 4)), id LIMIT 20$$,
	'squared L2 with a filter: the heap''s rows');
SELECT is((SELECT count(*) FROM ruvector_verify('t')), 0::bigint, 'verify finds nothing');

-- The SQ8 stage.  Row x_c: element 1 is 0, element 2 is 255 (so the SQ8
-- scale is 1 and the offset 0), the others k_i + 0.49, whose codes k_i
-- are 0.49 below them; query q_c: k_i + 0.98.  Then |q - x| = 0.49 sqrt(94)
-- = 4.75 while the codes' distance is 0.98 sqrt(94) = 9.50 and the error
-- bound e = 4.90: the certain bound 9.50 - e = 4.60 keeps x_c, one with
-- e shaved by a third (8.0) would not, since 20 filler rows around q_c at
-- about 6.0 fill the heap first.  Fillers come first, then 1100 rows of
-- other data, then the x_c: they are ranked in a later chunk than the
-- fillers, against the fillers' worst key.
CREATE TABLE t3 (id int PRIMARY KEY, v ruvector(96)) USING ruvector;
CREATE TABLE h3 (id int PRIMARY KEY, v ruvector(96));
CREATE FUNCTION pg_temp.k3(c int, i int) RETURNS real LANGUAGE sql IMMUTABLE AS
$$ SELECT ((hashint4(c * 1000 + i) & 127) + 64)::real $$;
CREATE FUNCTION pg_temp.v3(c int, add real, noise int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(CASE WHEN i = 1 THEN 0 WHEN i = 2 THEN 255
		ELSE pg_temp.k3(c, i) + add +
			CASE WHEN noise > 0 THEN ((hashint4(c * 7919 + noise * 131 + i) % 1000) / 1000.0 * 1.06)::real ELSE 0 END
		END ORDER BY i)::ruvector FROM generate_series(1, 96) i $$;
INSERT INTO h3 SELECT c * 100 + j, pg_temp.v3(c, 0.98, j) FROM generate_series(1, 5) c, generate_series(1, 20) j;
INSERT INTO h3 SELECT 1000 + g, mk(g) FROM generate_series(1, 1100) g;
INSERT INTO h3 SELECT 5000 + c, pg_temp.v3(c, 0.49, 0) FROM generate_series(1, 5) c;
INSERT INTO t3 SELECT * FROM h3 ORDER BY CASE WHEN id < 1000 THEN 0 WHEN id < 5000 THEN 1 ELSE 2 END, id;
CREATE TABLE queries3 AS SELECT c AS q, pg_temp.v3(c, 0.98, 0) AS v FROM generate_series(1, 5) c;

CREATE FUNCTION pg_temp.same3(k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r record;
	bad int;
BEGIN
	FOR r IN SELECT q, v FROM queries3 LOOP
		EXECUTE format($q$
			SELECT count(*) FROM (
				SELECT id, d FROM (SELECT id, v <-> $1 AS d FROM t3 ORDER BY v <-> $1 LIMIT %1$s) a
				EXCEPT ALL
				SELECT id, d FROM (SELECT id, v <-> $1 AS d FROM h3 ORDER BY v <-> $1, id LIMIT %1$s) b) x$q$, k)
			INTO bad USING r.v;
		IF bad > 0 THEN
			RAISE NOTICE 'SQ8 stage: query % k %: % rows differ', r.q, k, bad;
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;

SELECT is((SELECT id FROM h3 ORDER BY v <-> (SELECT v FROM queries3 WHERE q = 2), id LIMIT 1),
	5002, 'the SQ8 stage''s data: x_c is the nearest row to q_c');
SET ruvector.search_codes = int8;
SELECT ok(pg_temp.same3(1), 'SQ8 stage, int8, k = 1: the heap''s rows and distances');
SELECT ok(pg_temp.same3(10), 'SQ8 stage, int8, k = 10: the heap''s rows and distances');
SET ruvector.search_codes = bit;
SELECT ok(pg_temp.same3(10), 'SQ8 stage, bit, k = 10: the heap''s rows and distances');
RESET ruvector.search_codes;
