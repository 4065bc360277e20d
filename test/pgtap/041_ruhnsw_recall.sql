-- ruhnsw recall@10 against exact search on 5,000 random 32-d vectors;
-- iterative scans with a filter; deletes of 50% + VACUUM + re-insert;
-- CREATE INDEX CONCURRENTLY; the build fallback when the graph does not
-- fit into maintenance_work_mem.  Recall figures are printed as diag.
SELECT plan(13);

SELECT setseed(0.17);
CREATE TABLE items (id bigint PRIMARY KEY, cat int, embedding ruvector(32)) USING ruvector;
INSERT INTO items
	SELECT i, i % 50, (SELECT array_agg(random()::real) FROM generate_series(1, 32) WHERE i > 0)::ruvector
	FROM generate_series(1, 5000) i;
CREATE TABLE queries AS
	SELECT q, (SELECT array_agg(random()::real) FROM generate_series(1, 32) WHERE q > 0)::ruvector AS v
	FROM generate_series(1, 50) q;
CREATE TEMP TABLE truth AS SELECT 0 AS q, 0::bigint AS id LIMIT 0;

-- exact top 10 of every query into truth (by a sequential scan)
CREATE FUNCTION pg_temp.compute_truth(filter text DEFAULT 'true') RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	DELETE FROM truth;
	SET LOCAL enable_indexscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format('INSERT INTO truth SELECT $1, id FROM items WHERE %s ORDER BY embedding <-> $2, id LIMIT 10', filter)
			USING r.q, r.v;
	END LOOP;
END $$;

-- recall@10 of the index scans against truth
CREATE FUNCTION pg_temp.recall(filter text DEFAULT 'true') RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	r record;
	hits bigint := 0;
	total bigint := 0;
	got bigint[];
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items WHERE %s ORDER BY embedding <-> $1 LIMIT 10) s', filter)
			INTO got USING r.v;
		hits := hits + (SELECT count(*) FROM truth t WHERE t.q = r.q AND t.id = ANY (got));
		total := total + (SELECT count(*) FROM truth t WHERE t.q = r.q);
	END LOOP;
	RETURN round(hits::numeric / total, 4);
END $$;

CREATE INDEX items_l2 ON items USING ruhnsw (embedding);
SELECT pg_temp.compute_truth();
SELECT pg_temp.recall() AS r \gset
SELECT diag('recall@10 at ef_search = 40: ' || :r);
SELECT cmp_ok(:r::numeric, '>=', 0.9, 'recall@10 >= 0.9 at the default ef_search');
SET ruvector.ef_search = 200;
SELECT pg_temp.recall() AS r \gset
SELECT diag('recall@10 at ef_search = 200: ' || :r);
SELECT cmp_ok(:r::numeric, '>=', 0.98, 'recall@10 >= 0.98 at ef_search = 200');
RESET ruvector.ef_search;

-- filters: 1 row in 50 passes; without iterative scans too few rows
SELECT cmp_ok((SELECT count(*) FROM (SELECT id FROM items WHERE cat = 3 ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 1) LIMIT 10) s),
	'<', 10::bigint, 'without iterative scan a selective filter returns fewer than LIMIT rows');
SET ruvector.iterative_scan = relaxed_order;
SELECT is((SELECT count(*) FROM (SELECT id FROM items WHERE cat = 3 ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 1) LIMIT 10) s),
	10::bigint, 'relaxed_order: a selective filter returns LIMIT rows');
SET ruvector.iterative_scan = strict_order;
SELECT is((SELECT count(*) FROM (SELECT id FROM items WHERE cat = 3 ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 1) LIMIT 10) s),
	10::bigint, 'strict_order: a selective filter returns LIMIT rows');
SELECT is((SELECT count(*) FROM (SELECT id FROM items WHERE cat = 7 OR id = 3 ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 2) LIMIT 200) s),
	101::bigint, 'strict_order: every matching row when fewer than LIMIT exist');
SELECT pg_temp.compute_truth('cat = 3');
SELECT pg_temp.recall('cat = 3') AS r \gset
SELECT diag('recall@10 with filter cat = 3 (strict_order): ' || :r);
SELECT cmp_ok(:r::numeric, '>=', 0.9, 'filtered recall@10 >= 0.9 with iterative scan');
RESET ruvector.iterative_scan;

-- delete 50%, VACUUM, re-insert
CREATE TEMP TABLE saved AS SELECT * FROM items WHERE id % 2 = 0;
DELETE FROM items WHERE id % 2 = 0;
VACUUM items;
SELECT pg_temp.compute_truth();
SELECT pg_temp.recall() AS r \gset
SELECT diag('recall@10 after deleting 50% + VACUUM: ' || :r);
SELECT cmp_ok(:r::numeric, '>=', 0.9, 'recall@10 >= 0.9 after deleting 50% and VACUUM');
INSERT INTO items SELECT * FROM saved;
SELECT pg_temp.compute_truth();
SELECT pg_temp.recall() AS r \gset
SELECT diag('recall@10 after re-inserting: ' || :r);
SELECT cmp_ok(:r::numeric, '>=', 0.9, 'recall@10 >= 0.9 after re-inserting');
SET ruvector.ef_search = 1000;
SET enable_seqscan = off;
SELECT is((SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT v FROM queries WHERE q = 3) LIMIT 1000) s),
	1000::bigint, 'ef_search = 1000 returns 1000 rows');
RESET enable_seqscan;
RESET ruvector.ef_search;

-- build fallback (graph larger than maintenance_work_mem) and CIC
DROP INDEX items_l2;
SET maintenance_work_mem = '1MB';
SET client_min_messages = warning;	-- its NOTICE is checked in t/040
SELECT lives_ok($$CREATE INDEX items_l2 ON items USING ruhnsw (embedding)$$, 'the fallback build completes');
RESET client_min_messages;
RESET maintenance_work_mem;
SELECT pg_temp.recall() AS r \gset
SELECT diag('recall@10, fallback build: ' || :r);
SELECT cmp_ok(:r::numeric, '>=', 0.9, 'recall@10 >= 0.9 for the fallback build');
DROP INDEX items_l2;
SELECT hasnt_index('items', 'items_l2', 'DROP INDEX after the fallback build');
SELECT * FROM finish();
