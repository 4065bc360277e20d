-- An UPDATE that leaves the vector unchanged keeps its vid: no store
-- write, and the ruhnsw node records the new row version's TID (non-HOT)
-- or nothing at all (HOT).  A changed vector gets a new vid.  After each
-- step the ruhnsw index answers exactly as the exact scan of an identical
-- heap table, the store holds what it should and ruvector_verify is
-- clean.
SELECT plan(39);

CREATE TABLE h (id int PRIMARY KEY, cat int, v ruvector(4));
INSERT INTO h SELECT g, g % 7, ARRAY[g, g % 13, g % 5, -g]::real[]::ruvector FROM generate_series(1, 600) g;
CREATE TABLE r (id int PRIMARY KEY, cat int, v ruvector(4)) USING ruvector WITH (autovacuum_enabled = off);
INSERT INTO r SELECT * FROM h;
CREATE INDEX r_v ON r USING ruhnsw (v) WITH (m = 8, ef_construction = 64);

-- the store's pages and its allocated vectors (live and dead)
CREATE FUNCTION store_pages(tbl regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(pages)::bigint FROM ruvector_storage_report(tbl) $$;
CREATE FUNCTION store_allocated(tbl regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(live_vectors + dead_vectors)::bigint FROM ruvector_storage_report(tbl) $$;

-- k-NN ids for 12 queries, and the k-NN rows (id, cat, v) for one: index
-- on r vs exact on h (ties broken by id in both: distances of distinct
-- integer vectors to these queries differ)
CREATE FUNCTION knn_equal(tbl regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	ok boolean := true;
	a text[];
	b text[];
	q ruvector;
BEGIN
	SET LOCAL ruvector.enable_exact_scan = off;
	SET LOCAL enable_seqscan = off;
	SET LOCAL ruvector.ef_search = 400;
	FOR i IN 1..12 LOOP
		q := ARRAY[i * 50 + 0.3, (i * 7) % 13 + 0.1, i % 5 + 0.2, -(i * 50) - 0.4]::real[]::ruvector;
		EXECUTE format('SELECT array_agg(id || '':'' || cat || '':'' || v::text) FROM (SELECT id, cat, v FROM %s ORDER BY v <-> $1 LIMIT 10) s', tbl) INTO a USING q;
		SELECT array_agg(id || ':' || cat || ':' || v::text) INTO b FROM (SELECT id, cat, v FROM h ORDER BY v <-> q, id LIMIT 10) s;
		IF a IS DISTINCT FROM b THEN
			RAISE NOTICE 'query %: index % exact %', i, a, b;
			ok := false;
		END IF;
	END LOOP;
	RETURN ok;
END $$;

-- every row through the index: ef_search and LIMIT cover the table
CREATE FUNCTION all_through_index(tbl regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	a text[];
	b text[];
BEGIN
	SET LOCAL ruvector.enable_exact_scan = off;
	SET LOCAL enable_seqscan = off;
	SET LOCAL ruvector.ef_search = 1000;
	EXECUTE format('SELECT array_agg(x ORDER BY x) FROM (SELECT id || '':'' || cat || '':'' || v::text AS x FROM (SELECT * FROM %s ORDER BY v <-> ''[300,6,2,-300]'' LIMIT 1000) s) t', tbl) INTO a;
	SELECT array_agg(x ORDER BY x) INTO b FROM (SELECT id || ':' || cat || ':' || v::text AS x FROM h) t;
	IF a IS DISTINCT FROM b THEN
		RAISE NOTICE 'index returns % rows, heap twin has %', cardinality(a), cardinality(b);
		RETURN false;
	END IF;
	RETURN true;
END $$;

SELECT ok(knn_equal('r'), 'index equals exact after the build');
SELECT is(store_allocated('r'), 600::bigint, '600 vectors allocated');

-- 1. a non-vector column of every row (pages are full: mostly non-HOT)
SELECT store_pages('r') AS pages0 \gset
CREATE TABLE ctid0 AS SELECT id, ctid AS t FROM r;
UPDATE r SET cat = cat + 1;
UPDATE h SET cat = cat + 1;
SELECT is(store_allocated('r'), 600::bigint, 'UPDATE of a non-vector column allocates no vector');
SELECT is(store_pages('r'), :pages0::bigint, 'and the store keeps its size');
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('r')), 0::bigint, 'no dead vector');
SELECT ok(knn_equal('r'), 'index equals exact after UPDATE of a non-vector column');
SELECT ok(all_through_index('r'), 'every updated row comes out of the index once');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean after the UPDATE');
SELECT cmp_ok((SELECT count(*) FROM r JOIN ctid0 USING (id) WHERE (r.ctid::text::point)[0] <> (ctid0.t::text::point)[0]),
	'>', 100::bigint, 'more than 100 rows moved to another page: non-HOT updates (the index got TIDs added)');

-- 2. twice more, before any VACUUM: three versions of each row share a vid
UPDATE r SET cat = cat + 1;
UPDATE h SET cat = cat + 1;
UPDATE r SET cat = cat - 1 WHERE id % 2 = 0;
UPDATE h SET cat = cat - 1 WHERE id % 2 = 0;
SELECT is(store_allocated('r'), 600::bigint, 'repeated updates allocate no vector');
SELECT ok(knn_equal('r'), 'index equals exact with several versions per vid');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean with several versions per vid');

-- 3. VACUUM drops the dead versions' TIDs and keeps every node
VACUUM r;
VACUUM h;
SELECT is(store_allocated('r'), 600::bigint, 'VACUUM frees no vector still referenced');
SELECT is((SELECT free_slots FROM ruvector_storage_report('r')), 0::bigint, 'and makes no slot free');
SELECT ok(knn_equal('r'), 'index equals exact after VACUUM');
SELECT ok(all_through_index('r'), 'every row comes out of the index after VACUUM');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean after VACUUM');

-- 4. SET v = v keeps the vid too
UPDATE r SET v = v, cat = cat + 2 WHERE id <= 300;
UPDATE h SET v = v, cat = cat + 2 WHERE id <= 300;
SELECT is(store_allocated('r'), 600::bigint, 'SET v = v allocates no vector');
SELECT ok(knn_equal('r'), 'index equals exact after SET v = v');

-- 5. a changed vector gets a new vid; the old one is freed by VACUUM
UPDATE r SET v = v + '[0.5,0,0,0]' WHERE id % 10 = 1;
UPDATE h SET v = v + '[0.5,0,0,0]' WHERE id % 10 = 1;
SELECT is(store_allocated('r'), 660::bigint, 'a changed vector is stored anew: 60 more vectors');
SELECT ok(knn_equal('r'), 'index equals exact after UPDATE of the vector');
-- another row's equal vector: stored anew, never that row's vid
UPDATE r SET v = (SELECT v FROM r WHERE id = 2) WHERE id = 3;
UPDATE h SET v = (SELECT v FROM h WHERE id = 2) WHERE id = 3;
SELECT is(store_allocated('r'), 661::bigint, 'SET v = another row''s v gets a vid of its own');
-- and a row set back to bytes equal to its own vector keeps its vid
UPDATE r SET v = '[4,4,4,-4]' WHERE id = 4;
UPDATE h SET v = '[4,4,4,-4]' WHERE id = 4;
SELECT is(store_allocated('r'), 661::bigint, 'a literal equal to the row''s own vector keeps its vid');
SELECT ok(knn_equal('r'), 'index equals exact after those');

-- 6. a trigger changing the vector: new vid; one leaving it: none
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.cat = 100 THEN
		NEW.v := NEW.v + '[0,0.25,0,0]'::ruvector;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER r_bump BEFORE UPDATE ON r FOR EACH ROW EXECUTE FUNCTION bump();
CREATE TRIGGER h_bump BEFORE UPDATE ON h FOR EACH ROW EXECUTE FUNCTION bump();
UPDATE r SET cat = 100 WHERE id BETWEEN 100 AND 109;
UPDATE h SET cat = 100 WHERE id BETWEEN 100 AND 109;
UPDATE r SET cat = 101 WHERE id BETWEEN 110 AND 119;
UPDATE h SET cat = 101 WHERE id BETWEEN 110 AND 119;
SELECT is(store_allocated('r'), 671::bigint, 'a trigger that changes the vector: 10 new vids; one that does not: none');
SELECT ok(knn_equal('r'), 'index equals exact after the trigger updates');
DROP TRIGGER r_bump ON r;
DROP TRIGGER h_bump ON h;

-- 7. ON CONFLICT DO UPDATE: same vector keeps the vid, a new one does not
INSERT INTO r VALUES (5, 0, '[5,5,0,-5]'), (6, 0, '[6.5,6,1,-6]')
	ON CONFLICT (id) DO UPDATE SET cat = r.cat + 10, v = EXCLUDED.v;
INSERT INTO h VALUES (5, 0, '[5,5,0,-5]'), (6, 0, '[6.5,6,1,-6]')
	ON CONFLICT (id) DO UPDATE SET cat = h.cat + 10, v = EXCLUDED.v;
SELECT is(store_allocated('r'), 672::bigint,
	'ON CONFLICT DO UPDATE stores a changed vector, keeps an unchanged one''s vid');
SELECT ok(knn_equal('r'), 'index equals exact after ON CONFLICT DO UPDATE');

-- 8. DELETE and VACUUM free exactly the unreferenced vids
DELETE FROM r WHERE id % 5 = 0;
DELETE FROM h WHERE id % 5 = 0;
VACUUM (INDEX_CLEANUP on) r;
VACUUM h;
SELECT is((SELECT live_vectors FROM ruvector_storage_report('r')), 480::bigint, '480 rows, 480 live vectors');
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('r')), 0::bigint, 'nothing dead after VACUUM');
SELECT ok(knn_equal('r'), 'index equals exact after DELETE and VACUUM');
SELECT ok(all_through_index('r'), 'every row comes out of the index after DELETE and VACUUM');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean after DELETE and VACUUM');

-- 9. an index built over rows whose versions share vids, then REINDEX
UPDATE r SET cat = cat + 1 WHERE id <= 200;
UPDATE h SET cat = cat + 1 WHERE id <= 200;
CREATE INDEX r_v2 ON r USING ruhnsw (v) WITH (m = 8, ef_construction = 64);
DROP INDEX r_v;
SELECT ok(knn_equal('r'), 'an index built over shared vids equals exact');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean after that build');
DROP INDEX r_v2;
UPDATE r SET cat = cat + 1 WHERE id <= 200;
UPDATE h SET cat = cat + 1 WHERE id <= 200;
CREATE INDEX CONCURRENTLY r_v3 ON r USING ruhnsw (v) WITH (m = 8, ef_construction = 64);
SELECT ok(knn_equal('r'), 'an index built concurrently over shared vids equals exact');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean after that build');

-- 10. partitions: a row moving to another partition gets a vid there
CREATE TABLE p (id int, cat int, v ruvector(4)) PARTITION BY LIST (cat);
CREATE TABLE p0 PARTITION OF p FOR VALUES IN (0) USING ruvector;
CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1) USING ruvector;
INSERT INTO p SELECT g, 0, ARRAY[g, 1, 2, 3]::real[]::ruvector FROM generate_series(1, 20) g;
UPDATE p SET cat = 1 WHERE id <= 5;
SELECT is(store_allocated('p1'), 5::bigint, 'rows moved to another partition are stored in its store');
SELECT is((SELECT array_agg(id ORDER BY id) FROM p1 WHERE v = ARRAY[id, 1, 2, 3]::real[]::ruvector),
	ARRAY[1, 2, 3, 4, 5], 'with their vectors');

SELECT * FROM finish();
