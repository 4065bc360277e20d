-- Store formats: a store written as release 0.2.0 wrote it (floats only,
-- ruvector.store_format = 1) stays readable, writable, indexable and
-- verifiable by this library and is searched exactly; VACUUM FULL rewrites
-- it in the current format (floats, SQ8 codes and bit codes, format 5)
-- with every vector unchanged, after which searches use its codes.  A
-- format-2 store (SQ8 codes, no bit codes) likewise: searched on SQ8 codes
-- when search_codes = bit asks for bit codes, rewritten in format 5 by
-- VACUUM FULL, then searched on bit codes.  resident_bytes counts every
-- page of a store without codes, and only the code (or bit) and directory
-- pages of one with them.  Everything is compared with an identical heap
-- table.
SELECT plan(27);

CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint4(seed * 100000 + i) % 20000) / 1000.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

CREATE TABLE h (id int PRIMARY KEY, v ruvector(200));
INSERT INTO h SELECT g, mk(200, g) FROM generate_series(1, 2500) g;

SET ruvector.store_format = 1;
CREATE TABLE old (id int PRIMARY KEY, v ruvector(200)) USING ruvector;
INSERT INTO old SELECT * FROM h WHERE id <= 2000;
RESET ruvector.store_format;
-- a store keeps its format: rows written now still go to the format-1 store
INSERT INTO old SELECT * FROM h WHERE id > 2000;
CREATE TABLE cur (id int PRIMARY KEY, v ruvector(200)) USING ruvector;
INSERT INTO cur SELECT * FROM h;
ANALYZE old, cur, h;

CREATE FUNCTION pg_temp.same_rows(t text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((SELECT id, v FROM %1$s EXCEPT SELECT id, v FROM h)
		UNION ALL (SELECT id, v FROM h EXCEPT SELECT id, v FROM %1$s)) x', t) INTO n;
	RETURN n;
END $$;
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

SELECT is(pg_temp.same_rows('old'), 0::bigint, 'format 1: every row and vector as in the heap table');
SELECT is((SELECT count(*) FROM ruvector_verify('old')), 0::bigint, 'format 1: verify clean');
SELECT ok((SELECT resident_bytes = bytes FROM ruvector_storage_report('old')),
	'format 1: no codes, searches touch every page (resident_bytes = bytes)');
SELECT ok((SELECT resident_bytes < bytes / 3 FROM ruvector_storage_report('cur')),
	'current format: resident_bytes (codes and directory) below a third of bytes');
-- the metapage and the directory page are per store (16 kB), not per vector
SELECT cmp_ok((SELECT (resident_bytes - 2 * 8192)::numeric / live_vectors FROM ruvector_storage_report('cur')),
	'<=', (200 + 32)::numeric, 'current format: resident bytes per vector <= dims + 32 at 200 dims');
SELECT ok((SELECT bytes < (SELECT bytes FROM ruvector_storage_report('cur')) FROM ruvector_storage_report('old')),
	'format 1 is smaller on disk (no code pages)');

-- exact scans: the heap's answers; only the current format rules rows out on codes
SELECT results_eq(
	$$SELECT id, v <-> mk(200, 9001) FROM old ORDER BY v <-> mk(200, 9001) LIMIT 20$$,
	$$SELECT id, v <-> mk(200, 9001) FROM h ORDER BY v <-> mk(200, 9001), id LIMIT 20$$,
	'format 1: exact scan answers are the heap''s');
SELECT is(pg_temp.ruled_out($$SELECT id FROM old ORDER BY v <-> mk(200, 9001) LIMIT 10$$), 0::bigint,
	'format 1: no row ruled out on codes (there are none)');
SELECT cmp_ok(pg_temp.ruled_out($$SELECT id FROM cur ORDER BY v <-> mk(200, 9001) LIMIT 10$$), '>', 1000::bigint,
	'current format: rows ruled out on codes');

-- an index on the format-1 store: exact traversal, the heap's answers with a full pool
CREATE INDEX old_v ON old USING ruhnsw (v);
SET ruvector.ef_search = 1000;
SET ruvector.iterative_scan = relaxed_order;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id FROM old ORDER BY v <-> mk(200, 9002) LIMIT 10$$,
	$$SELECT id FROM (SELECT id, v FROM h ORDER BY v <-> mk(200, 9002), id LIMIT 10) s ORDER BY v <-> mk(200, 9002), id$$,
	'format 1 with ruhnsw: the heap''s top 10');
RESET enable_seqscan;
SELECT is((SELECT count(*) FROM ruvector_verify('old')), 0::bigint, 'format 1 with ruhnsw: verify clean');

-- updates and deletes on the format-1 store, mirrored on the heap
UPDATE old SET v = mk(200, id + 10000) WHERE id % 10 = 0;
UPDATE h SET v = mk(200, id + 10000) WHERE id % 10 = 0;
DELETE FROM old WHERE id % 7 = 0;
DELETE FROM h WHERE id % 7 = 0;
SELECT is(pg_temp.same_rows('old'), 0::bigint, 'format 1 after UPDATE and DELETE: the heap''s rows');

-- VACUUM FULL rewrites the store in the current format, vectors unchanged
CREATE TEMP TABLE before AS SELECT bytes, resident_bytes FROM ruvector_storage_report('old');
VACUUM FULL old;
SELECT is(pg_temp.same_rows('old'), 0::bigint, 'after VACUUM FULL: every row and vector as in the heap table');
SELECT is((SELECT count(*) FROM ruvector_verify('old')), 0::bigint, 'after VACUUM FULL: verify clean (codes checked)');
SELECT ok((SELECT resident_bytes < bytes / 3 FROM ruvector_storage_report('old')),
	'after VACUUM FULL: the store has codes (resident_bytes below a third of bytes)');
SET enable_indexscan = off;
SELECT cmp_ok(pg_temp.ruled_out($$SELECT id FROM old ORDER BY v <-> mk(200, 9003) LIMIT 10$$), '>', 1000::bigint,
	'after VACUUM FULL: the exact scan rules rows out on codes');
SELECT results_eq(
	$$SELECT id, v <-> mk(200, 9003) FROM old ORDER BY v <-> mk(200, 9003) LIMIT 20$$,
	$$SELECT id, v <-> mk(200, 9003) FROM h ORDER BY v <-> mk(200, 9003), id LIMIT 20$$,
	'after VACUUM FULL: exact scan answers are the heap''s');
RESET enable_indexscan;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id FROM old ORDER BY v <-> mk(200, 9004) LIMIT 10$$,
	$$SELECT id FROM (SELECT id, v FROM h ORDER BY v <-> mk(200, 9004), id LIMIT 10) s ORDER BY v <-> mk(200, 9004), id$$,
	'after VACUUM FULL, ruhnsw on codes with a full pool: the heap''s top 10');
RESET enable_seqscan;
SELECT throws_ok($$SET ruvector.store_format = 6$$, '22023', NULL, 'ruvector.store_format accepts 1 to 5 only');

-- format 2: SQ8 codes only
SET ruvector.store_format = 2;
CREATE TABLE v2 (id int PRIMARY KEY, v ruvector(200)) USING ruvector;
INSERT INTO v2 SELECT * FROM h;
RESET ruvector.store_format;
CREATE INDEX v2_v ON v2 USING ruhnsw (v);
ANALYZE v2;
CREATE FUNCTION pg_temp.resident(t regclass, codes text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	b bigint;
BEGIN
	PERFORM set_config('ruvector.search_codes', codes, true);
	SELECT resident_bytes INTO b FROM ruvector_storage_report(t);
	RETURN b;
END $$;
SELECT is(pg_temp.same_rows('v2'), 0::bigint, 'format 2: every row and vector as in the heap table');
SELECT is((SELECT count(*) FROM ruvector_verify('v2')), 0::bigint, 'format 2: verify clean');
SELECT is(pg_temp.resident('v2', 'bit'), pg_temp.resident('v2', 'int8'),
	'format 2: no bit codes, a bit search touches the SQ8 code pages (resident bytes as int8)');
SET ruvector.search_codes = bit;
SET ruvector.ef_search = 1000;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id, v <-> mk(200, 9005) FROM v2 ORDER BY v <-> mk(200, 9005) LIMIT 10$$,
	$$SELECT id, v <-> mk(200, 9005) FROM h ORDER BY v <-> mk(200, 9005), id LIMIT 10$$,
	'format 2, search_codes = bit (falls back to int8), full pool: the heap''s top 10 and distances');
RESET enable_seqscan;
RESET ruvector.search_codes;
VACUUM FULL v2;
SELECT is(pg_temp.same_rows('v2'), 0::bigint, 'format 2 after VACUUM FULL: every row and vector as in the heap table');
SELECT is((SELECT count(*) FROM ruvector_verify('v2')), 0::bigint, 'format 2 after VACUUM FULL: verify clean (bit codes checked)');
SELECT cmp_ok(pg_temp.resident('v2', 'bit'), '<', pg_temp.resident('v2', 'int8') / 3,
	'format 2 after VACUUM FULL: bit pages (resident bytes under bit below a third of int8''s)');
SET ruvector.search_codes = bit;
SET enable_seqscan = off;
SELECT results_eq(
	$$SELECT id, v <-> mk(200, 9006) FROM v2 ORDER BY v <-> mk(200, 9006) LIMIT 10$$,
	$$SELECT id, v <-> mk(200, 9006) FROM h ORDER BY v <-> mk(200, 9006), id LIMIT 10$$,
	'format 2 after VACUUM FULL, on bit codes, full pool: the heap''s top 10 and distances');
RESET enable_seqscan;
RESET ruvector.search_codes;
RESET ruvector.ef_search;

SELECT * FROM finish();
