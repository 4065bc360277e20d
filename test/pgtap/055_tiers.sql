-- Tiers: ruvector_compact(tbl, tier) seals every segment into warm, cool or
-- cold, and each tier is checked against an identical heap table: the
-- vectors read back bit for bit, the exact k-NN scan answers as the heap
-- (results and distances, L2, inner product, cosine), ruhnsw returns exact
-- distances in order with recall@10 close to the hot tier's, UPDATE and
-- DELETE of sealed rows work (a changed vector goes to hot), VACUUM frees
-- sealed vids and compacts, the store files shrink, ruvector_verify stays
-- clean and the audit log holds the moves, intact.  Bad calls get their
-- SQLSTATEs.  Recall and sizes are printed as diag.
SELECT plan(59);

CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(CASE WHEN hashint4(seed * 7919 + i) % 10 < 4 THEN 0
	ELSE abs(hashint4(seed * 100000 + i) % 256) END::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

CREATE TABLE items (id int PRIMARY KEY, cat int, v ruvector(64)) USING ruvector;
CREATE TABLE items_heap (id int PRIMARY KEY, cat int, v ruvector(64));
INSERT INTO items_heap SELECT g, g % 7, mk(64, g) FROM generate_series(1, 4100) g;
INSERT INTO items SELECT * FROM items_heap;
CREATE TABLE queries AS SELECT q, mk(64, 9000 + q) AS v FROM generate_series(1, 25) q;
CREATE INDEX items_l2 ON items USING ruhnsw (v vector_l2_ops);
ANALYZE items, items_heap;

-- rows whose vector differs from the heap twin's (bit for bit, via text)
CREATE FUNCTION pg_temp.diff() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT id, cat, v::text FROM items EXCEPT SELECT id, cat, v::text FROM items_heap)
		UNION ALL
		(SELECT id, cat, v::text FROM items_heap EXCEPT SELECT id, cat, v::text FROM items)) x $$;

-- the exact k-NN scan (no index) against the heap: ids and distances
CREATE FUNCTION pg_temp.exact_diff(op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	r record;
	n bigint := 0;
	m bigint;
BEGIN
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format($q$SELECT count(*) FROM (
			(SELECT id, d FROM (SELECT id, v %1$s $1 AS d FROM items ORDER BY v %1$s $1, id LIMIT 10) a
			 EXCEPT SELECT id, d FROM (SELECT id, v %1$s $1 AS d FROM items_heap ORDER BY v %1$s $1, id LIMIT 10) b)
			UNION ALL
			(SELECT id, d FROM (SELECT id, v %1$s $1 AS d FROM items_heap ORDER BY v %1$s $1, id LIMIT 10) b
			 EXCEPT SELECT id, d FROM (SELECT id, v %1$s $1 AS d FROM items ORDER BY v %1$s $1, id LIMIT 10) a)) x$q$, op)
			INTO m USING r.v;
		n := n + m;
	END LOOP;
	RETURN n;
END $$;

-- ruhnsw: exact distances (the heap's for those ids), in order; and recall@10
CREATE FUNCTION pg_temp.index_ok() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r record;
	bad int;
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		WITH s AS (SELECT row_number() OVER () AS pos, id, d
				   FROM (SELECT id, v <-> r.v AS d FROM items ORDER BY v <-> r.v LIMIT 10) x)
		SELECT count(*) INTO bad FROM s
		WHERE d IS DISTINCT FROM (SELECT h.v <-> r.v FROM items_heap h WHERE h.id = s.id)
		   OR d < (SELECT max(d) FROM s s2 WHERE s2.pos < s.pos);
		IF bad > 0 THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;
CREATE FUNCTION pg_temp.recall() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	r record;
	hits bigint := 0;
	got int[];
	want int[];
BEGIN
	FOR r IN SELECT q, v FROM queries LOOP
		SET LOCAL enable_seqscan = off;
		SELECT array_agg(id) INTO got FROM (SELECT id FROM items ORDER BY v <-> r.v LIMIT 10) s;
		SET LOCAL enable_seqscan = on;
		SET LOCAL enable_indexscan = off;
		SELECT array_agg(id) INTO want FROM (SELECT id FROM items_heap ORDER BY v <-> r.v, id LIMIT 10) s;
		SET LOCAL enable_indexscan = on;
		SELECT hits + count(*) INTO hits FROM unnest(got) g WHERE g = ANY (want);
	END LOOP;
	RETURN round(hits::numeric / (10 * (SELECT count(*) FROM queries)), 4);
END $$;

SET ruvector.ef_search = 100;
CREATE TEMP TABLE hot_recall AS SELECT pg_temp.recall() AS r;
SELECT diag(format('hot: recall@10 at ef_search 100 %s', (SELECT r FROM hot_recall)));

-- one round per tier: seal everything, then check it against the heap
CREATE FUNCTION pg_temp.tier_round(tier text, first bool) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	c record;
	rec numeric;
BEGIN
	SELECT * INTO c FROM ruvector_compact('items', tier);
	/*
	 * The previous round's move releases its old copy only once no other
	 * backend of this database holds a snapshot from before it
	 * (RvDirSettle); until then the segments are still moving and this
	 * call moves none.  An autoanalyze running meanwhile is such a
	 * backend: wait for it (up to 30 s), as a user would call again.
	 */
	FOR i IN 1..150 LOOP
		EXIT WHEN c.segments_moved > 0;
		PERFORM pg_sleep(0.2);
		SELECT * INTO c FROM ruvector_compact('items', tier);
	END LOOP;
	RETURN NEXT is(c.target, tier, tier || ': ruvector_compact reports the tier');
	RETURN NEXT is(c.segments_moved, 3::bigint, tier || ': all 3 segments moved');
	RETURN NEXT is(c.vectors, (SELECT count(*) FROM items), tier || ': every live vector moved');
	RETURN NEXT is((SELECT live_vectors FROM ruvector_storage_report('items') r WHERE r.tier = tier_round.tier),
		(SELECT count(*) FROM items), tier || ': the storage report has them in ' || tier);
	RETURN NEXT is(pg_temp.diff(), 0::bigint, tier || ': every vector reads back bit for bit');
	RETURN NEXT is(pg_temp.exact_diff('<->'), 0::bigint, tier || ': exact k-NN scan, L2: the heap''s ids and distances');
	RETURN NEXT is(pg_temp.exact_diff('<#>'), 0::bigint, tier || ': exact k-NN scan, inner product: the heap''s');
	RETURN NEXT is(pg_temp.exact_diff('<=>'), 0::bigint, tier || ': exact k-NN scan, cosine: the heap''s');
	RETURN NEXT ok(pg_temp.index_ok(), tier || ': ruhnsw returns exact distances, in order');
	rec := pg_temp.recall();
	RETURN NEXT diag(format('%s: recall@10 at ef_search 100 %s (hot %s)', tier, rec, (SELECT r FROM hot_recall)));
	-- 1-bit codes of 64 dims are coarse (RaBitQ's error is about 1/sqrt(d)):
	-- cold gets a wider margin here; make bench-tiers measures 784 dims
	RETURN NEXT cmp_ok(rec, '>=', (SELECT r FROM hot_recall) - CASE WHEN tier = 'cold' THEN 0.15 ELSE 0.02 END,
		tier || ': recall@10 close to the hot tier''s');
	RETURN NEXT is((SELECT count(*) FROM ruvector_verify('items')), 0::bigint, tier || ': verify clean');
END $$;

SELECT * FROM pg_temp.tier_round('warm', true);
SELECT * FROM pg_temp.tier_round('cool', false);
SELECT * FROM pg_temp.tier_round('cold', false);
SELECT is((SELECT pages FROM ruvector_storage_report('items') WHERE tier = 'hot'), 2::bigint,
	'every segment sealed: the hot file is cut to its metapage and directory');

-- writes against sealed rows, mirrored on the heap
UPDATE items SET cat = cat + 100 WHERE id % 5 = 0;
UPDATE items_heap SET cat = cat + 100 WHERE id % 5 = 0;
UPDATE items SET v = mk(64, 6000 + id) WHERE id % 11 = 0;
UPDATE items_heap SET v = mk(64, 6000 + id) WHERE id % 11 = 0;
DELETE FROM items WHERE id % 3 = 0;
DELETE FROM items_heap WHERE id % 3 = 0;
SELECT is(pg_temp.diff(), 0::bigint, 'UPDATE and DELETE of sealed rows: contents as the heap''s');
SELECT cmp_ok((SELECT live_vectors FROM ruvector_storage_report('items') WHERE tier = 'hot'), '>', 0::bigint,
	'changed vectors went to the hot tier');
CREATE TEMP TABLE before_vac AS SELECT bytes, dead_vectors FROM ruvector_storage_report('items') WHERE tier = 'cold';
SELECT cmp_ok((SELECT dead_vectors FROM before_vac), '>', 0::bigint, 'deleted rows leave dead sealed vectors');
-- VACUUM frees the sealed vids and compacts the cold segments (a third of each freed)
VACUUM items;
SELECT is(pg_temp.diff(), 0::bigint, 'after VACUUM: contents as the heap''s');
SELECT is(pg_temp.exact_diff('<->'), 0::bigint, 'after VACUUM: exact k-NN scan as the heap''s');
SELECT ok(pg_temp.index_ok(), 'after VACUUM: ruhnsw exact distances in order');
SELECT is((SELECT count(*) FROM ruvector_verify('items')), 0::bigint, 'after VACUUM: verify clean');
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('items') WHERE tier = 'cold'), 0::bigint,
	'VACUUM freed the deleted rows'' sealed vids');
SELECT cmp_ok((SELECT bytes FROM ruvector_storage_report('items') WHERE tier = 'cold'), '<',
	(SELECT bytes FROM before_vac), 'VACUUM compacted the cold segments and truncated the cold relation');
SELECT diag(format('cold relation: %s bytes before VACUUM, %s after', (SELECT bytes FROM before_vac),
	(SELECT bytes FROM ruvector_storage_report('items') WHERE tier = 'cold')));

-- nothing left for the policy to do
CREATE TEMP TABLE c AS SELECT * FROM ruvector_compact('items');
SELECT is((SELECT target FROM c), 'policy', 'without a tier, ruvector_compact applies the policy');
SELECT is((SELECT segments_moved FROM c), 0::bigint, 'after VACUUM''s compaction the policy finds nothing to do');

-- back to a warmer tier
SELECT is((SELECT segments_moved FROM ruvector_compact('items', 'warm')), 4::bigint,
	'the 3 cold segments move back to warm, and the hot one with the changed vectors');
SELECT is(pg_temp.diff(), 0::bigint, 'back in warm: contents as the heap''s');

-- VACUUM FULL brings everything back hot
VACUUM FULL items;
SELECT diag(string_agg(format('%s: %s live, %s dead, %s pages', tier, live_vectors, dead_vectors, pages), '; '))
	FROM ruvector_storage_report('items');
-- (VACUUM FULL rewrites every vector hot; its sweep then packs the one
-- sparse segment, the tail the seal closed, into warm)
SELECT is((SELECT sum(live_vectors) FROM ruvector_storage_report('items') WHERE tier IN ('hot', 'warm')),
	(SELECT count(*) FROM items)::numeric, 'VACUUM FULL: every vector hot, or packed into warm by the sweep');
SELECT is(pg_temp.diff(), 0::bigint, 'after VACUUM FULL: contents as the heap''s');

-- the audit log has the moves, and its chain checks
SELECT is((SELECT string_agg(event, ',' ORDER BY seq) FROM ruvector_audit
	WHERE event IN ('seal', 'migrate', 'compact') AND detail NOT LIKE 'VACUUM at %'),
	'seal,migrate,migrate,seal,migrate',
	'ruvector_compact''s moves: a seal from hot, migrations warm to cool to cold, then a seal and a migration back to warm');
SELECT cmp_ok((SELECT count(*) FROM ruvector_audit WHERE event = 'compact' AND detail LIKE 'VACUUM at %'),
	'>=', 1::bigint, 'VACUUM''s compaction of the cold segments is logged too');
SELECT is((SELECT count(*) FROM ruvector_audit_verify()), 0::bigint, 'the audit chain is intact');

-- errors
SELECT throws_ok($$SELECT * FROM ruvector_compact('items', 'lukewarm')$$, '22023',
	'invalid tier "lukewarm"', 'an unknown tier is refused');
SELECT throws_ok($$SELECT * FROM ruvector_compact('items', 'hot')$$, '22023',
	'invalid tier "hot"', 'hot is not a tier to seal into');
SELECT throws_ok($$SELECT * FROM ruvector_compact('items_heap')$$, '42809',
	'"items_heap" is not a ruvector table', 'a heap table is refused');
SET ruvector.store_format = 3;
CREATE TABLE old (id int, v ruvector(8)) USING ruvector;
INSERT INTO old VALUES (1, '[1,2,3,4,5,6,7,8]');
RESET ruvector.store_format;
SELECT throws_ok($$SELECT * FROM ruvector_compact('old', 'warm')$$, '0A000',
	'vector store 1 of "old" was written in a format without tiers', 'a store of an older format is refused');
CREATE TABLE wide (id int, v ruvector(2100)) USING ruvector;
INSERT INTO wide SELECT g, array_fill(g::real, ARRAY[2100])::ruvector FROM generate_series(1, 3) g;
SELECT throws_ok($$SELECT * FROM ruvector_compact('wide', 'cold')$$, '0A000',
	'vectors of 2100 dimensions cannot be sealed into the cold tier', 'cold needs bit codes');
CREATE ROLE tier_stranger;
GRANT SELECT ON items TO tier_stranger;
GRANT EXECUTE ON FUNCTION ruvector_compact(regclass, text) TO tier_stranger;
SET ROLE tier_stranger;
SELECT throws_ok($$SELECT * FROM ruvector_compact('items', 'warm')$$, '42501',
	'must be owner of table items', 'only the owner may move segments');
RESET ROLE;
SELECT is(pg_temp.diff(), 0::bigint, 'after the refused calls: contents unchanged');

SELECT * FROM finish();
