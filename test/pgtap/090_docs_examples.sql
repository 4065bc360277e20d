-- The user-facing walkthroughs of docs/migration.md and docs/guide.md and
-- the query shapes make demo prints: a text-typed vector column converted
-- with ALTER COLUMN TYPE ... USING embedding::text::ruvector(n), the table
-- moved with SET ACCESS METHOD ruvector, a ruhnsw index with m and
-- ef_construction, ORDER BY <-> (subquery) through the index, the settings
-- the guide names, a filter with an iterative scan, the storage report and
-- VACUUM reclaiming deleted vectors, ruvector_compact into a tier, a
-- tier policy (with heat and a tablespace) and lossy cold.
SELECT plan(31);

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

-- A pgvector-style table: the vectors in their text form, as pgvector's
-- vector::text would give them.
SELECT setseed(0.25);
CREATE TABLE items (id bigint PRIMARY KEY, cat int, embedding text);
INSERT INTO items
	SELECT i, i % 20, (SELECT array_agg(round((random() * 10)::numeric, 2)::real) FROM generate_series(1, 16) WHERE i > 0)::ruvector::text
	FROM generate_series(1, 2000) i;
CREATE TABLE queries AS SELECT id, embedding::ruvector(16) AS embedding FROM items WHERE id <= 20;

SELECT lives_ok($$ALTER TABLE items ALTER COLUMN embedding TYPE ruvector(16) USING embedding::text::ruvector(16)$$,
	'migration step 2: text form of the vectors converts to ruvector(16)');
SELECT lives_ok($$ALTER TABLE items SET ACCESS METHOD ruvector$$,
	'migration step 3: SET ACCESS METHOD ruvector');
SELECT is((SELECT amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'items'::regclass),
	'ruvector', 'the table uses the ruvector access method');
SELECT is((SELECT live_vectors FROM ruvector_storage_report('items')), 2000::bigint,
	'the store holds every vector after the rewrite');

SET maintenance_work_mem = '64MB';
SELECT lives_ok($$CREATE INDEX items_embedding_idx ON items USING ruhnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)$$,
	'migration step 4: ruhnsw index with m and ef_construction');
ANALYZE items;

SELECT matches(pg_temp.explain($$SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT 10$$),
	'Index Scan using items_embedding_idx', 'ORDER BY <-> (subquery) LIMIT uses the ruhnsw index (the demo''s query shape)');

SET ruvector.ef_search = 200;
SELECT is((SELECT count(*) FROM queries q
	WHERE (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <-> q.embedding LIMIT 10) s)
	    = (SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding <-> q.embedding, id LIMIT 10) s)),
	20::bigint, 'at ef_search = 200 the index returns the exact top 10 of 20 queries');
SELECT is(current_setting('ruvector.ef_search'), '200', 'SET ruvector.ef_search');
BEGIN;
SET LOCAL ruvector.ef_search = 10;
SELECT is(current_setting('ruvector.ef_search'), '10', 'SET LOCAL ruvector.ef_search');
COMMIT;
SELECT is(current_setting('ruvector.ef_search'), '200', 'SET LOCAL ends with its transaction');

-- the guide's exact search: index scans off for one transaction
BEGIN;
SET LOCAL enable_indexscan = off;
SELECT doesnt_match(pg_temp.explain($$SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT 10$$),
	'items_embedding_idx', 'SET LOCAL enable_indexscan = off gives an exact scan');
COMMIT;

-- filters: 1 row in 20 passes; an iterative scan fills the LIMIT
SET ruvector.ef_search = 20;
SET ruvector.iterative_scan = strict_order;
SET ruvector.max_scan_tuples = 40000;
SELECT is((SELECT count(*) FROM (SELECT id FROM items WHERE cat = 7
	ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT 10) s),
	10::bigint, 'a filter with iterative_scan = strict_order returns LIMIT rows');
RESET ruvector.iterative_scan;
RESET ruvector.max_scan_tuples;

-- storage report and VACUUM, as the guide shows them
SELECT is((SELECT string_agg(name, ',' ORDER BY n) FROM unnest(
	(SELECT proargnames FROM pg_proc WHERE proname = 'ruvector_storage_report')) WITH ORDINALITY u(name, n) WHERE n > 1),
	'store,column_name,dims,tier,live_vectors,dead_vectors,free_slots,pages,bytes,relation,resident_bytes',
	'ruvector_storage_report columns as documented');
DELETE FROM items WHERE id > 1500;
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('items')), 500::bigint,
	'deleted rows leave dead vectors');
VACUUM items;
SELECT is((SELECT (live_vectors, dead_vectors, free_slots)::text FROM ruvector_storage_report('items')),
	'(1500,0,500)', 'VACUUM frees the deleted rows'' vector slots');
SELECT cmp_ok((SELECT sum(bytes) FROM ruvector_storage_report('items')), '>=', 1500 * 64::numeric,
	'the store''s bytes are reported');

-- the guide's tiers: ruvector_compact into cold, the report per tier, a
-- policy set and cleared
CREATE TEMP TABLE before AS SELECT id, embedding::text AS t FROM items;
SELECT is((SELECT string_agg(name, ',' ORDER BY n) FROM unnest(
	(SELECT proargnames FROM pg_proc WHERE proname = 'ruvector_compact')) WITH ORDINALITY u(name, n)),
	'tbl,tier,store,target,segments_moved,vectors,bytes_before,bytes_after,seconds',
	'ruvector_compact arguments and columns as documented');
SELECT is((SELECT target || ' ' || vectors FROM ruvector_compact('items', 'cold')), 'cold 1500',
	'ruvector_compact(''items'', ''cold'') moves every vector');
SELECT is((SELECT string_agg(tier || ':' || live_vectors, ',' ORDER BY tier) FROM ruvector_storage_report('items')),
	'cold:1500,hot:0', 'the storage report shows them in cold');
SELECT is((SELECT count(*) FROM items i JOIN before b USING (id) WHERE i.embedding::text = b.t), 1500::bigint,
	'cold vectors read back as they were');
SELECT lives_ok($$SELECT ruvector_set_tiers('items', warm_after => '1 day', cold_after => '30 days')$$,
	'ruvector_set_tiers as the guide shows it');
SELECT is((SELECT (warm_after, cool_after, cold_after)::text FROM ruvector_tier_policy WHERE relid = 'items'::regclass),
	'("1 day",,"30 days")', 'ruvector_tier_policy holds the policy');
SELECT lives_ok($$SELECT ruvector_set_tiers('items', warm_after => '1 day', cold_after => '30 days',
                          heat_threshold => 1000, heat_half_life => '1 day',
                          cold_tablespace => 'pg_default')$$,
	'ruvector_set_tiers with heat and a tablespace as the guide shows it');
SELECT is((SELECT (heat_threshold, heat_half_life, cold_tablespace = (SELECT oid FROM pg_tablespace
	WHERE spcname = 'pg_default'))::text FROM ruvector_tier_policy WHERE relid = 'items'::regclass),
	'(1000,"1 day",t)', 'the policy holds the heat and the tablespace');
SELECT is((SELECT string_agg(tier || ':' || vectors || ':' || (changed_at IS NOT NULL) || ':' || (heat >= 0), ','
	ORDER BY segno) FROM (SELECT segno, tier, relation, vectors, changed_at, round(heat) AS heat
	FROM ruvector_segments('items')) x), 'cold:1500:true:true', 'ruvector_segments as the guide shows it');
SELECT lives_ok($$SELECT ruvector_set_tiers('items')$$, 'ruvector_set_tiers(''items'') clears it');
SELECT is((SELECT count(*) FROM ruvector_tier_policy), 0::bigint, 'no policy left');

-- the guide's lossy cold: the policy, and ruvector_compact rewriting the
-- cold segments; every component within scale / 2 of the original
SELECT lives_ok($$SELECT ruvector_set_tiers('items', cold_after => '30 days', lossy_cold => true)$$,
	'a lossy cold policy as the guide shows it');
SELECT is((SELECT target || ' ' || vectors FROM ruvector_compact('items', 'cold')), 'cold 1500',
	'ruvector_compact(''items'', ''cold'') rewrites the lossless cold segments lossy');
SELECT is((SELECT count(*) FILTER (WHERE e.err > e.scale / 2 * (1 + 1e-6) + 2.0 ^ -23 * e.maxabs)
		|| ' of ' || count(*) || ', ' || (count(*) FILTER (WHERE i.embedding::text <> b.t) > 1000)
	FROM items i JOIN before b USING (id),
	LATERAL (SELECT max(abs(x::float8 - y::float8)) AS err, (max(y::float8) - min(y::float8)) / 255 AS scale,
			max(abs(y::float8)) AS maxabs
		FROM unnest(i.embedding::real[], b.t::ruvector::real[]) u(x, y)) e),
	'0 of 1500, true', 'lossy cold: no component beyond scale / 2, most vectors changed');
SELECT is((SELECT count(*) FROM ruvector_verify('items')), 0::bigint, 'lossy cold: verify clean');

SELECT * FROM finish();
