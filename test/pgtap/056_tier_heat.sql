-- Access heat: index fetches, bitmap-scan rows and exact scores (a
-- search's rerank) count reads per segment; a sequential scan does not.
-- (The planner's probes of an index's extremes are index fetches too, so
-- the counts are compared before and after, or taken by equality lookups.)
-- The counts are written into the segment headers at scan end (here at
-- every scan end: ruvector.heat_flush_interval = 0) only for a table whose
-- policy has a heat_threshold, decay with the policy's half-life, stay
-- with a segment when it is sealed, and keep a segment that is read often
-- from moving to a colder tier; ruvector_segments shows them.  The table
-- equals its heap twin throughout.
SELECT plan(22);

CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint4(seed * 7919 + i) % 1000) / 100.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

-- three full segments (2000 vids each)
CREATE TABLE h (id int PRIMARY KEY, v ruvector(16)) USING ruvector;
CREATE TABLE h_heap (id int PRIMARY KEY, v ruvector(16));
INSERT INTO h_heap SELECT g, mk(16, g) FROM generate_series(1, 6000) g;
INSERT INTO h SELECT * FROM h_heap ORDER BY id;
CREATE INDEX h_l2 ON h USING ruhnsw (v vector_l2_ops);
ANALYZE h, h_heap;

CREATE FUNCTION pg_temp.diff() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT id, v::text FROM h EXCEPT SELECT id, v::text FROM h_heap)
		UNION ALL
		(SELECT id, v::text FROM h_heap EXCEPT SELECT id, v::text FROM h)) x $$;
-- n lookups by key of rows first .. first + n - 1, one statement each
CREATE FUNCTION pg_temp.lookups(first int, n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	x text;
BEGIN
	FOR i IN first .. first + n - 1 LOOP
		EXECUTE 'SELECT v::text FROM h WHERE id = $1' INTO x USING i;
	END LOOP;
END $$;
CREATE FUNCTION pg_temp.heat(s int8) RETURNS float8 LANGUAGE sql AS $$
	SELECT heat FROM ruvector_segments('h') WHERE segno = s $$;

SET ruvector.heat_flush_interval = 0;
SET enable_seqscan = off;
SET enable_bitmapscan = off;

SELECT results_eq($$SELECT segno, tier, vectors, heat FROM ruvector_segments('h') ORDER BY segno$$,
	$$VALUES (0::int8, 'hot'::text, 2000::int8, 0::float8), (1, 'hot', 2000, 0), (2, 'hot', 2000, 0)$$,
	'three hot segments, no heat yet');

-- without a heat_threshold nothing is written
SELECT pg_temp.lookups(2001, 30);
SELECT is((SELECT sum(heat) FROM ruvector_segments('h')), 0::float8,
	'no heat policy: reads are not written');

SELECT lives_ok($$SELECT ruvector_set_tiers('h', warm_after => '0 s', heat_threshold => 50)$$,
	'a policy: warm at once unless read 50 times');
SELECT pg_temp.lookups(2001, 60);
SELECT ok(pg_temp.heat(1) BETWEEN 59.9 AND 60, '60 lookups by key in segment 1: heat 60 (' ||
	pg_temp.heat(1) || ')');
SELECT is(pg_temp.heat(0) + pg_temp.heat(2), 0::float8, 'the other segments have none');

-- a bitmap scan's rows count; a sequential scan's do not
RESET enable_bitmapscan;
SET enable_indexscan = off;
SELECT is((SELECT count(v) FROM h WHERE id BETWEEN 4001 AND 4010), 10::bigint, 'a bitmap scan of 10 rows');
SELECT ok(pg_temp.heat(2) BETWEEN 9.9 AND 10, 'the bitmap scan''s 10 rows: heat 10 (' || pg_temp.heat(2) || ')');
RESET enable_indexscan;
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
CREATE TEMP TABLE seq_before AS SELECT sum(heat) AS s FROM ruvector_segments('h');
SELECT is((SELECT count(v) FROM h), 6000::bigint, 'a sequential scan of every row');
SELECT ok((SELECT sum(heat) FROM ruvector_segments('h')) <= (SELECT s FROM seq_before),
	'the sequential scan counted nothing');
RESET enable_indexscan;
RESET enable_bitmapscan;

-- a search's rerank counts the vectors it scores exactly
CREATE TEMP TABLE before AS SELECT sum(heat) AS s FROM ruvector_segments('h');
SELECT is((SELECT count(*) FROM (SELECT id FROM h ORDER BY v <-> mk(16, 77) LIMIT 10) x), 10::bigint,
	'a ruhnsw search');
SELECT ok((SELECT sum(heat) FROM ruvector_segments('h')) >= (SELECT s FROM before) + 10,
	'its rerank and result rows added at least 10 reads');

-- VACUUM by the policy: the segment read 60 times stays hot
SELECT ok(pg_temp.heat(0) < 50 AND pg_temp.heat(2) < 50, 'segments 0 and 2 are below the threshold');
VACUUM h;
SELECT results_eq($$SELECT segno, tier FROM ruvector_segments('h') ORDER BY segno$$,
	$$VALUES (0::int8, 'warm'::text), (1, 'hot'), (2, 'warm')$$,
	'VACUUM sealed the cold segments and kept the hot one');
SELECT ok(pg_temp.heat(2) BETWEEN 9.9 AND 20, 'segment 2 kept its heat in warm (' || pg_temp.heat(2) || ')');
SELECT is(pg_temp.diff(), 0::bigint, 'contents as the heap''s');
SELECT is((SELECT count(*) FROM ruvector_verify('h')), 0::bigint, 'verify clean');

-- reads of a sealed segment count too
CREATE TEMP TABLE warm_before AS SELECT pg_temp.heat(0) AS s;
SELECT pg_temp.lookups(1, 40);
SELECT ok(pg_temp.heat(0) - (SELECT s FROM warm_before) BETWEEN 39.9 AND 40.1,
	'40 lookups in warm segment 0 add 40 to its heat (' || pg_temp.heat(0) || ')');

-- heat decays: with a half-life of a second, two seconds later segment 1 is
-- below the threshold and the policy moves it
SELECT lives_ok($$SELECT ruvector_set_tiers('h', warm_after => '0 s', heat_threshold => 50,
	heat_half_life => '1 second')$$, 'a half-life of a second');
SELECT pg_sleep(2.2);
SELECT ok(pg_temp.heat(1) < 60 / 4.0, 'two half-lives later segment 1''s heat is below a quarter (' ||
	pg_temp.heat(1) || ')');
VACUUM h;
SELECT is((SELECT tier FROM ruvector_segments('h') WHERE segno = 1), 'warm', 'and VACUUM moved it');
SELECT is(pg_temp.diff(), 0::bigint, 'contents as the heap''s at the end');

-- who may look
CREATE ROLE heat_stranger;
SET ROLE heat_stranger;
SELECT throws_ok($$SELECT * FROM ruvector_segments('h')$$, '42501', 'permission denied for table h',
	'ruvector_segments needs SELECT on the table');
RESET ROLE;

SELECT * FROM finish();
