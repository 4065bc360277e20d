-- A vid is freed only when no heap tuple refers to it and no index can
-- still return it, never on the assumption that index cleanup ran:
-- VACUUM (INDEX_CLEANUP off) leaves dead line pointers, so it frees
-- nothing; HOT chains made before CREATE INDEX [CONCURRENTLY] are indexed
-- by their root TIDs.  After each step the ruhnsw index answers exactly as
-- the exact scan of an identical heap table.
SELECT plan(14);

CREATE TABLE h (id int PRIMARY KEY, cat int, v ruvector(4));
INSERT INTO h SELECT g, g % 7, ARRAY[g, g % 13, g % 5, -g]::real[]::ruvector FROM generate_series(1, 600) g;
CREATE TABLE r (id int PRIMARY KEY, cat int, v ruvector(4)) USING ruvector WITH (autovacuum_enabled = off);
INSERT INTO r SELECT * FROM h;
CREATE INDEX r_v ON r USING ruhnsw (v) WITH (m = 8, ef_construction = 64);

-- k-NN ids for 12 queries: index on r vs exact on h (ties broken by id
-- in both: distances of distinct integer vectors to these queries differ)
CREATE FUNCTION knn_equal(tbl regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ok boolean := true;
	a int[];
	b int[];
	q ruvector;
BEGIN
	SET LOCAL ruvector.enable_exact_scan = off;
	SET LOCAL enable_seqscan = off;
	SET LOCAL ruvector.ef_search = 400;
	FOR i IN 1..12 LOOP
		q := ARRAY[i * 50 + 0.3, (i * 7) % 13 + 0.1, i % 5 + 0.2, -(i * 50) - 0.4]::real[]::ruvector;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> $1 LIMIT 10) s', tbl) INTO a USING q;
		SELECT array_agg(id) INTO b FROM (SELECT id FROM h ORDER BY v <-> q, id LIMIT 10) s;
		IF a IS DISTINCT FROM b THEN
			RAISE NOTICE 'query %: index % exact %', i, a, b;
			ok := false;
		END IF;
	END LOOP;
	RETURN ok;
END $$;

SELECT ok(knn_equal('r'), 'index equals exact after the build');

DELETE FROM r WHERE id % 3 = 0;
DELETE FROM h WHERE id % 3 = 0;
VACUUM (INDEX_CLEANUP off) r;
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('r')), 200::bigint,
	'VACUUM (INDEX_CLEANUP off) frees no vector: 200 dead remain');
SELECT is((SELECT free_slots FROM ruvector_storage_report('r')), 0::bigint, 'and no slot is free for reuse');
INSERT INTO r SELECT g, g % 7, ARRAY[g, g % 13, g % 5, -g]::real[]::ruvector FROM generate_series(601, 800) g;
INSERT INTO h SELECT g, g % 7, ARRAY[g, g % 13, g % 5, -g]::real[]::ruvector FROM generate_series(601, 800) g;
SELECT ok(knn_equal('r'), 'index equals exact after INDEX_CLEANUP off and new rows');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean');

VACUUM (INDEX_CLEANUP on) r;
SELECT is((SELECT free_slots FROM ruvector_storage_report('r')), 200::bigint,
	'a VACUUM that cleans the index frees the 200 vectors');
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('r')), 0::bigint, 'no dead vector left');
INSERT INTO r SELECT g, g % 7, ARRAY[g, g % 13, g % 5, -g]::real[]::ruvector FROM generate_series(801, 1000) g;
INSERT INTO h SELECT g, g % 7, ARRAY[g, g % 13, g % 5, -g]::real[]::ruvector FROM generate_series(801, 1000) g;
SELECT is((SELECT free_slots FROM ruvector_storage_report('r')), 0::bigint, 'new rows reuse the freed slots');
SELECT ok(knn_equal('r'), 'index equals exact after slot reuse');

-- HOT-updated rows before CREATE INDEX (plain and CONCURRENTLY)
CREATE TABLE r2 (id int PRIMARY KEY, cat int, v ruvector(4)) USING ruvector WITH (fillfactor = 50, autovacuum_enabled = off);
INSERT INTO r2 SELECT * FROM h;
UPDATE r2 SET cat = cat + 1;
UPDATE r2 SET cat = cat + 1 WHERE id % 2 = 0;
CREATE INDEX r2_v ON r2 USING ruhnsw (v) WITH (m = 8);
SELECT ok(knn_equal('r2'), 'HOT chains before CREATE INDEX: index equals exact');
VACUUM r2;
SELECT ok(knn_equal('r2'), 'and after VACUUM');

CREATE TABLE r3 (id int PRIMARY KEY, cat int, v ruvector(4)) USING ruvector WITH (fillfactor = 50, autovacuum_enabled = off);
INSERT INTO r3 SELECT * FROM h;
UPDATE r3 SET cat = cat + 1;
CREATE INDEX CONCURRENTLY r3_v ON r3 USING ruhnsw (v) WITH (m = 8);
UPDATE r3 SET cat = cat + 1 WHERE id % 2 = 0;
SELECT ok(knn_equal('r3'), 'HOT chains around CREATE INDEX CONCURRENTLY: index equals exact');
VACUUM (INDEX_CLEANUP off) r3;
VACUUM r3;
SELECT ok(knn_equal('r3'), 'and after VACUUM (INDEX_CLEANUP off) then VACUUM');
SELECT is((SELECT count(*) FROM ruvector_verify('r3')), 0::bigint, 'verify clean on r3');

SELECT * FROM finish();
