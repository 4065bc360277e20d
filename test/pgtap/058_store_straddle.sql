-- Store format 5: the SQ8 code records of a hot segment form one byte
-- stream over its code pages, so a record may straddle from one code page
-- into the next (at 784 dims a record is 796 bytes: about one in ten
-- straddles).  The same 784-dim rows in a format-5 table, a format-4 table
-- and a heap table: contents, exact k-NN answers (L2, inner product,
-- cosine, ruled out on codes: the straddlers' copies are read), ruhnsw
-- answers and recall, verify, resident bytes per vector; slot reuse after
-- VACUUM; a format-4 store keeps reading, inserting and searching and
-- VACUUM FULL rewrites it in format 5.  At 100 dims (112-byte records, 72
-- a page) nothing straddles: format 5 keeps format 4's code pages.
SELECT plan(38);

CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint4(seed * 100000 + i) % 20000) / 1000.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

-- 2000 vids: one full segment, so a page's share per vector is exact
CREATE TABLE h (id int PRIMARY KEY, v ruvector(784));
INSERT INTO h SELECT g, mk(784, g) FROM generate_series(1, 2000) g;

SET ruvector.store_format = 4;
CREATE TABLE f4 (id int PRIMARY KEY, v ruvector(784)) USING ruvector;
INSERT INTO f4 SELECT * FROM h;
CREATE TABLE s4 (id int PRIMARY KEY, v ruvector(100)) USING ruvector;
INSERT INTO s4 SELECT g, mk(100, g) FROM generate_series(1, 2000) g;
RESET ruvector.store_format;
CREATE TABLE f5 (id int PRIMARY KEY, v ruvector(784)) USING ruvector;
INSERT INTO f5 SELECT * FROM h;
CREATE TABLE s5 (id int PRIMARY KEY, v ruvector(100)) USING ruvector;
INSERT INTO s5 SELECT g, mk(100, g) FROM generate_series(1, 2000) g;
ANALYZE h, f4, f5, s4, s5;

-- the metapage's version, from the store file (after a checkpoint)
CREATE FUNCTION pg_temp.fmt(t regclass) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	v int;
BEGIN
	CHECKPOINT;
	SELECT get_byte(pg_read_binary_file(pg_relation_filepath(relation), 68, 1), 0) INTO v
		FROM ruvector_storage_report(t);
	RETURN v;
END $$;
CREATE FUNCTION pg_temp.same_rows(t text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((SELECT id, v FROM %1$s EXCEPT SELECT id, v FROM h)
		UNION ALL (SELECT id, v FROM h EXCEPT SELECT id, v FROM %1$s)) x', t) INTO n;
	RETURN n;
END $$;
-- resident bytes per vector, the metapage and directory page (per store) aside
CREATE FUNCTION pg_temp.per_vector(t regclass) RETURNS numeric LANGUAGE sql AS $$
	SELECT round((resident_bytes - 2 * 8192)::numeric / live_vectors, 1)
	FROM ruvector_storage_report(t) $$;
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
-- recall@10 of the index over queries 1..nq against the heap's exact answers
CREATE FUNCTION pg_temp.recall(t text, nq int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	hits bigint := 0;
	n bigint;
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR qi IN 1..nq LOOP
		EXECUTE format('SELECT count(*) FROM (SELECT id FROM %1$s ORDER BY v <-> mk(784, 5000 + %2$s) LIMIT 10) a
			JOIN (SELECT id FROM h ORDER BY v <-> mk(784, 5000 + %2$s), id LIMIT 10) b USING (id)', t, qi)
			INTO n;
		hits := hits + n;
	END LOOP;
	RETURN round(hits::numeric / (10 * nq), 4);
END $$;
-- whether the index's answers come in exact distance order (queries 1..nq)
CREATE FUNCTION pg_temp.in_order(t text, nq int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
	d float8[];
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR qi IN 1..nq LOOP
		EXECUTE format('SELECT array_agg(dist) FROM (SELECT v <-> mk(784, 5000 + %2$s) AS dist
			FROM %1$s ORDER BY v <-> mk(784, 5000 + %2$s) LIMIT 10) s', t, qi) INTO d;
		IF d IS NULL OR cardinality(d) <> 10 OR d <> (SELECT array_agg(x ORDER BY x) FROM unnest(d) x) THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;

SELECT is(pg_temp.fmt('f5'), 5, 'new stores are of format 5');
SELECT is(pg_temp.fmt('f4'), 4, 'ruvector.store_format = 4 gives a format-4 store');
SELECT is(pg_temp.same_rows('f5'), 0::bigint, 'format 5: every row and vector as in the heap table');
SELECT is(pg_temp.same_rows('f4'), 0::bigint, 'format 4: every row and vector as in the heap table');
SELECT is((SELECT count(*) FROM ruvector_verify('f5')), 0::bigint, 'format 5: verify clean (both parts of each straddler checked)');
SELECT is((SELECT count(*) FROM ruvector_verify('f4')), 0::bigint, 'format 4: verify clean');

-- resident bytes: 199 of 201 pages a segment (meta page and code pages)
SELECT diag('784 dims, resident bytes per vector: format 4 ' || pg_temp.per_vector('f4') ||
	', format 5 ' || pg_temp.per_vector('f5'));
SELECT cmp_ok(pg_temp.per_vector('f5'), '<=', (784 + 32)::numeric,
	'format 5 at 784 dims: resident bytes per vector <= dims + 32');
SELECT cmp_ok(pg_temp.per_vector('f4'), '>', (784 + 32)::numeric,
	'format 4 at 784 dims: above dims + 32 (10 whole records a code page)');
SELECT cmp_ok((SELECT bytes FROM ruvector_storage_report('f5')), '<',
	(SELECT bytes FROM ruvector_storage_report('f4')), 'format 5 at 784 dims: fewer pages on disk');
SELECT diag('100 dims, resident bytes per vector: format 4 ' || pg_temp.per_vector('s4') ||
	', format 5 ' || pg_temp.per_vector('s5'));
SELECT is((SELECT (bytes, resident_bytes)::text FROM ruvector_storage_report('s5')),
	(SELECT (bytes, resident_bytes)::text FROM ruvector_storage_report('s4')),
	'100 dims: format 5 keeps format 4''s code pages (72 whole records a page)');
SELECT is((SELECT count(*) FROM ruvector_verify('s5')), 0::bigint, '100 dims, format 5: verify clean');

-- exact k-NN: the heap's rows and distances, rows ruled out on the codes
SELECT results_eq(
	$$SELECT id, v <-> mk(784, 9001) FROM f5 ORDER BY v <-> mk(784, 9001) LIMIT 10$$,
	$$SELECT id, v <-> mk(784, 9001) FROM h ORDER BY v <-> mk(784, 9001), id LIMIT 10$$,
	'format 5, exact scan, L2: the heap''s rows and distances');
SELECT results_eq(
	$$SELECT id, v <#> mk(784, 9002) FROM f5 ORDER BY v <#> mk(784, 9002) LIMIT 10$$,
	$$SELECT id, v <#> mk(784, 9002) FROM h ORDER BY v <#> mk(784, 9002), id LIMIT 10$$,
	'format 5, exact scan, inner product: the heap''s rows and distances');
SELECT results_eq(
	$$SELECT id, v <=> mk(784, 9003) FROM f5 ORDER BY v <=> mk(784, 9003) LIMIT 10$$,
	$$SELECT id, v <=> mk(784, 9003) FROM h ORDER BY v <=> mk(784, 9003), id LIMIT 10$$,
	'format 5, exact scan, cosine: the heap''s rows and distances');
SELECT results_eq(
	$$SELECT id, v <-> mk(784, 9004) FROM f4 ORDER BY v <-> mk(784, 9004) LIMIT 10$$,
	$$SELECT id, v <-> mk(784, 9004) FROM f5 ORDER BY v <-> mk(784, 9004) LIMIT 10$$,
	'exact scan, L2: format 4 and format 5 agree');
SELECT cmp_ok(pg_temp.ruled_out($$SELECT id FROM f5 ORDER BY v <-> mk(784, 9001) LIMIT 10$$), '>', 1000::bigint,
	'format 5, exact scan, L2: rows ruled out on codes');
SELECT is(pg_temp.ruled_out($$SELECT id FROM f5 ORDER BY v <-> mk(784, 9005) LIMIT 10$$),
	pg_temp.ruled_out($$SELECT id FROM f4 ORDER BY v <-> mk(784, 9005) LIMIT 10$$),
	'exact scan, L2: as many rows ruled out on codes in format 5 as in format 4 (the same codes)');
SELECT cmp_ok(pg_temp.ruled_out($$SELECT id FROM f5 ORDER BY v <#> mk(784, 9002) LIMIT 10$$), '>', 0::bigint,
	'format 5, exact scan, inner product: rows ruled out on codes');

-- ruhnsw on both formats, same data and parameters (serial builds)
SET max_parallel_maintenance_workers = 0;
CREATE INDEX f4_v ON f4 USING ruhnsw (v) WITH (m = 16, ef_construction = 64);
CREATE INDEX f5_v ON f5 USING ruhnsw (v) WITH (m = 16, ef_construction = 64);
RESET max_parallel_maintenance_workers;
SET ruvector.ef_search = 40;
CREATE TEMP TABLE rec AS SELECT pg_temp.recall('f4', 20) AS r4, pg_temp.recall('f5', 20) AS r5;
SELECT diag('recall@10 at ef_search 40 over 20 queries: format 4 ' || r4 || ', format 5 ' || r5) FROM rec;
SELECT is((SELECT r5 FROM rec), (SELECT r4 FROM rec),
	'ruhnsw: format 5''s recall@10 is format 4''s (the same codes, the same serial build)');
SELECT cmp_ok((SELECT r5 FROM rec), '>=', 0.6::numeric, 'ruhnsw on format 5: recall@10 >= 0.6 at ef_search 40 (uniform random data)');
SELECT ok(pg_temp.in_order('f5', 20), 'ruhnsw on format 5: answers in exact distance order');
SET ruvector.search_codes = bit;
SELECT ok(pg_temp.in_order('f5', 10), 'ruhnsw on format 5, search_codes = bit: answers in exact distance order');
RESET ruvector.search_codes;
SET ruvector.ef_search = 1000;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id, v <-> mk(784, 9006) FROM f5 ORDER BY v <-> mk(784, 9006) LIMIT 10$$,
	$$SELECT id, v <-> mk(784, 9006) FROM h ORDER BY v <-> mk(784, 9006), id LIMIT 10$$,
	'ruhnsw on format 5, full pool: the heap''s rows and distances');
RESET enable_seqscan;
RESET ruvector.ef_search;

-- slot reuse: freed vids get new vectors, their straddling records rewritten
DELETE FROM f5 WHERE id % 3 = 0;
DELETE FROM h WHERE id % 3 = 0;
VACUUM f5;
INSERT INTO f5 SELECT g, mk(784, g + 10000) FROM generate_series(3, 2000, 3) g;
INSERT INTO h SELECT g, mk(784, g + 10000) FROM generate_series(3, 2000, 3) g;
SELECT is(pg_temp.same_rows('f5'), 0::bigint, 'format 5 after DELETE, VACUUM and INSERT (vids reused): the heap''s rows');
SELECT is((SELECT count(*) FROM ruvector_verify('f5')), 0::bigint, 'format 5 after slot reuse: verify clean');
SELECT cmp_ok(pg_temp.per_vector('f5'), '<=', (784 + 32)::numeric,
	'format 5 after slot reuse: resident bytes per vector <= dims + 32 (vids reused, no growth)');
SET enable_indexscan = off;
SELECT results_eq(
	$$SELECT id, v <-> mk(784, 9007) FROM f5 ORDER BY v <-> mk(784, 9007) LIMIT 10$$,
	$$SELECT id, v <-> mk(784, 9007) FROM h ORDER BY v <-> mk(784, 9007), id LIMIT 10$$,
	'format 5 after slot reuse, exact scan: the heap''s rows and distances');
RESET enable_indexscan;

-- a format-4 store: reads, inserts (still format 4) and searches
DELETE FROM f4 WHERE id % 3 = 0;
VACUUM f4;
INSERT INTO f4 SELECT g, mk(784, g + 10000) FROM generate_series(3, 2000, 3) g;
INSERT INTO f4 SELECT g, mk(784, g) FROM generate_series(2001, 2300) g;
INSERT INTO f5 SELECT g, mk(784, g) FROM generate_series(2001, 2300) g;
INSERT INTO h SELECT g, mk(784, g) FROM generate_series(2001, 2300) g;
SELECT is(pg_temp.fmt('f4'), 4, 'format 4 after inserts: still format 4');
SELECT is(pg_temp.same_rows('f4'), 0::bigint, 'format 4 after DELETE, VACUUM and INSERT: the heap''s rows');
SELECT is(pg_temp.same_rows('f5'), 0::bigint, 'format 5 after a second segment: the heap''s rows');
SELECT is((SELECT count(*) FROM ruvector_verify('f5')), 0::bigint, 'format 5 with two segments: verify clean');
SET ruvector.ef_search = 1000;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id, v <-> mk(784, 9008) FROM f4 ORDER BY v <-> mk(784, 9008) LIMIT 10$$,
	$$SELECT id, v <-> mk(784, 9008) FROM h ORDER BY v <-> mk(784, 9008), id LIMIT 10$$,
	'format 4 with ruhnsw, full pool: the heap''s rows and distances');
RESET enable_seqscan;
RESET ruvector.ef_search;

-- VACUUM FULL: format 4 rewritten in format 5, contents unchanged
CREATE TEMP TABLE before AS SELECT pg_temp.per_vector('f4') AS pv;
VACUUM FULL f4;
SELECT is(pg_temp.fmt('f4'), 5, 'VACUUM FULL rewrites a format-4 store in format 5');
SELECT is(pg_temp.same_rows('f4'), 0::bigint, 'after VACUUM FULL: every row and vector as in the heap table');
SELECT is((SELECT count(*) FROM ruvector_verify('f4')), 0::bigint, 'after VACUUM FULL: verify clean');
SELECT cmp_ok(pg_temp.per_vector('f4'), '<', (SELECT pv FROM before),
	'after VACUUM FULL: fewer resident bytes per vector');
SET enable_indexscan = off;
SELECT results_eq(
	$$SELECT id, v <=> mk(784, 9009) FROM f4 ORDER BY v <=> mk(784, 9009) LIMIT 10$$,
	$$SELECT id, v <=> mk(784, 9009) FROM h ORDER BY v <=> mk(784, 9009), id LIMIT 10$$,
	'after VACUUM FULL, exact scan, cosine: the heap''s rows and distances');
RESET enable_indexscan;
SET ruvector.ef_search = 1000;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id, v <-> mk(784, 9010) FROM f4 ORDER BY v <-> mk(784, 9010) LIMIT 10$$,
	$$SELECT id, v <-> mk(784, 9010) FROM h ORDER BY v <-> mk(784, 9010), id LIMIT 10$$,
	'after VACUUM FULL, ruhnsw, full pool: the heap''s rows and distances');
RESET enable_seqscan;
RESET ruvector.ef_search;

SELECT * FROM finish();
