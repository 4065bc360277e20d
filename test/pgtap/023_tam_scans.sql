-- Table AM ruvector: btree indexes (unique and not), index and bitmap
-- scans, parallel sequential scans, ANALYZE, EXPLAIN; results equal the
-- heap twin's.
SELECT plan(17);

CREATE FUNCTION pg_temp.plan_of(sql text, do_analyze boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN ' || CASE WHEN do_analyze THEN '(ANALYZE, COSTS OFF, TIMING OFF) ' ELSE '(COSTS OFF) ' END || sql LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;

CREATE TABLE r (id int, k int, v ruvector(8), t text) USING ruvector;
CREATE TABLE h (id int, k int, v ruvector(8), t text);
SELECT setseed(0.21);
CREATE TEMP TABLE src AS
	SELECT g AS id, g % 97 AS k,
		   (SELECT array_agg(round((random() * 10)::numeric, 2)::real) FROM generate_series(1, 8) d WHERE g > 0)::ruvector AS v,
		   md5(g::text) AS t
	FROM generate_series(1, 20000) g;
INSERT INTO r SELECT * FROM src;
INSERT INTO h SELECT * FROM src;
CREATE UNIQUE INDEX r_id ON r (id);
CREATE UNIQUE INDEX h_id ON h (id);
CREATE INDEX r_k ON r (k);
CREATE INDEX h_k ON h (k);
CREATE INDEX r_v ON r (v);
CREATE INDEX h_v ON h (v);
ANALYZE r;
ANALYZE h;

SELECT is((SELECT count(DISTINCT attname) FROM pg_stats WHERE tablename = 'r'), 4::bigint,
	'ANALYZE: pg_stats has every column');
SELECT results_eq($$SELECT attname, null_frac FROM pg_stats WHERE tablename = 'r' ORDER BY attname$$,
	$$SELECT attname, null_frac FROM pg_stats WHERE tablename = 'h' ORDER BY attname$$, 'ANALYZE: same null fractions');
SELECT is((SELECT reltuples FROM pg_class WHERE relname = 'r'), 20000::real, 'ANALYZE: reltuples');

SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT matches(pg_temp.plan_of('SELECT * FROM r WHERE id BETWEEN 100 AND 200'), 'Index Scan using r_id',
	'unique index scan is used');
SELECT results_eq('SELECT id, k, v::text, t FROM r WHERE id BETWEEN 100 AND 200 ORDER BY id',
	'SELECT id, k, v::text, t FROM h WHERE id BETWEEN 100 AND 200 ORDER BY id', 'index scan: same rows');
SELECT results_eq('SELECT id, v::text FROM r WHERE v < ''[0.5]'' ORDER BY v, id',
	'SELECT id, v::text FROM h WHERE v < ''[0.5]'' ORDER BY v, id', 'btree on the vector column: same rows');
SELECT matches(pg_temp.plan_of('SELECT id FROM r WHERE v < ''[0.5]'' ORDER BY v'), 'Index (Only )?Scan using r_v',
	'btree on the vector column is used');
SELECT throws_ok($$INSERT INTO r VALUES (5, 0, '[1,1,1,1,1,1,1,1]', 'dup')$$, '23505', NULL, 'unique index enforced');
RESET enable_bitmapscan;
SET enable_indexscan = off;
SELECT matches(pg_temp.plan_of('SELECT * FROM r WHERE k IN (3, 5, 7)'), 'Bitmap Heap Scan on r', 'bitmap heap scan is used');
SELECT results_eq('SELECT id, k, v::text, t FROM r WHERE k IN (3, 5, 7) ORDER BY id',
	'SELECT id, k, v::text, t FROM h WHERE k IN (3, 5, 7) ORDER BY id', 'bitmap heap scan: same rows');
SELECT results_eq('SELECT id, k, v::text FROM r WHERE k = 3 OR id < 50 ORDER BY id',
	'SELECT id, k, v::text FROM h WHERE k = 3 OR id < 50 ORDER BY id', 'BitmapOr: same rows');
RESET enable_indexscan;
RESET enable_seqscan;

-- index-only scans need the visibility map
VACUUM r;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT results_eq('SELECT id FROM r WHERE id < 300 ORDER BY id', 'SELECT id FROM h WHERE id < 300 ORDER BY id',
	'index-only scan: same rows');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- parallel sequential scan
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of('SELECT id, v::text FROM r WHERE k < 50', true), 'Workers Launched: [12]',
	'parallel seq scan launches workers');
SELECT results_eq('SELECT id, k, v::text, t FROM r WHERE k < 50 ORDER BY id',
	'SELECT id, k, v::text, t FROM h WHERE k < 50 ORDER BY id', 'parallel seq scan: same rows');
SELECT results_eq('SELECT count(*), sum(vector_norm(v))::numeric(20,3) FROM r', 'SELECT count(*), sum(vector_norm(v))::numeric(20,3) FROM h',
	'parallel aggregate over vectors');
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

-- TABLESAMPLE and EXPLAIN
SELECT results_eq('SELECT r.id, r.v::text FROM r TABLESAMPLE SYSTEM (10) REPEATABLE (7) JOIN h USING (id) WHERE r.v <> h.v',
	'SELECT id, v::text FROM h WHERE false', 'TABLESAMPLE returns resolved vectors equal to the heap''s');
SELECT matches(pg_temp.plan_of('SELECT * FROM r WHERE t = ''x''', true), 'Seq Scan on r', 'EXPLAIN ANALYZE works');

SELECT * FROM finish();
