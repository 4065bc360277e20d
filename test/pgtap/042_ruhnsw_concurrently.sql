-- CREATE INDEX CONCURRENTLY and REINDEX CONCURRENTLY of ruhnsw indexes
-- (outside a transaction block: pgTAP without an enclosing transaction).
SELECT plan(3);
SELECT setseed(0.5);
CREATE TABLE items (id bigint PRIMARY KEY, embedding ruvector(16)) USING ruvector;
INSERT INTO items
	SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 16) WHERE i > 0)::ruvector
	FROM generate_series(1, 2000) i;
CREATE INDEX CONCURRENTLY items_l2 ON items USING ruhnsw (embedding);
SELECT is((SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_l2'::regclass), true, 'CIC builds a valid index');
SET ruvector.ef_search = 1000;
SET ruvector.iterative_scan = relaxed_order;
SET enable_seqscan = off;
SELECT is((SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 5000) s),
	2000::bigint, 'every row is reachable after CIC');
REINDEX INDEX CONCURRENTLY items_l2;
SELECT is((SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 5000) s),
	2000::bigint, 'every row is reachable after REINDEX CONCURRENTLY');
SELECT * FROM finish();
