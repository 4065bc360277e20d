-- ruvector_verify on healthy ruhnsw indexes: no rows for an empty index,
-- after a build, inserts, updates, deletes, VACUUM (deleted nodes and links
-- to them repaired), re-inserts reusing freed vids, REINDEX and
-- REINDEX CONCURRENTLY, for the l2 and cosine opclasses (and ip, l1 once),
-- with several m, 128 dims, an unlogged table and a temporary table;
-- a non-ruhnsw index (btree) is ignored.  Also checks that verify reads
-- every index (a damaged-index test lives in test/t/052_*), and that a
-- build with m = 2 leaves no node unreachable.
SELECT plan(26);

CREATE FUNCTION pg_temp.problems(rel regclass) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(format('%s store=%s blk=%s vid=%s: %s', kind, store, blkno, vid, detail),
							   E'\n' ORDER BY kind, store, blkno, vid), '')
	FROM ruvector_verify(rel)
$$;
CREATE FUNCTION pg_temp.vec(seed int, dims int) RETURNS ruvector LANGUAGE sql AS $$
	SELECT array_agg(((seed * 31 + k * 17 + (seed * k) % 13) % 1000) / 100.0 - 5.0 ORDER BY k)::real[]::ruvector
	FROM generate_series(1, dims) k
$$;

CREATE TABLE a (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
CREATE INDEX a_l2 ON a USING ruhnsw (v vector_l2_ops);
CREATE INDEX a_cos ON a USING ruhnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
SELECT is(pg_temp.problems('a'), '', 'empty indexes: no problems');

INSERT INTO a SELECT g, pg_temp.vec(g, 8) FROM generate_series(1, 1500) g;
SELECT is(pg_temp.problems('a'), '', 'after 1500 inserts into l2 and cosine (m=8) indexes');

CREATE TABLE b (id int PRIMARY KEY, v ruvector(128)) USING ruvector;
INSERT INTO b SELECT g, pg_temp.vec(g, 128) FROM generate_series(1, 800) g;
CREATE INDEX b_l2 ON b USING ruhnsw (v) WITH (m = 8);
CREATE INDEX b_ip ON b USING ruhnsw (v vector_ip_ops);
CREATE INDEX b_l1 ON b USING ruhnsw (v vector_l1_ops) WITH (m = 12);
SELECT is(pg_temp.problems('b'), '', 'after building l2 (m=8), ip and l1 (m=12) indexes over 800 rows');

-- deletes and updates: links to deleted nodes are legal until VACUUM
DELETE FROM a WHERE id % 3 = 0;
UPDATE a SET v = pg_temp.vec(id + 5000, 8) WHERE id % 7 = 0;
SELECT is(pg_temp.problems('a'), '', 'after DELETE and UPDATE (before VACUUM)');
DELETE FROM b WHERE id % 2 = 0;
SELECT is(pg_temp.problems('b'), '', 'b after deleting half (before VACUUM)');

BEGIN;
INSERT INTO a SELECT g, pg_temp.vec(g, 8) FROM generate_series(10001, 10200) g;
ROLLBACK;
SELECT is(pg_temp.problems('a'), '', 'after a rolled-back INSERT');

VACUUM a;
SELECT is(pg_temp.problems('a'), '', 'after VACUUM');
VACUUM b;
SELECT is(pg_temp.problems('b'), '', 'b after VACUUM');

-- freed vids come back: the deleted records are overwritten
INSERT INTO a SELECT g, pg_temp.vec(g, 8) FROM generate_series(20001, 20600) g;
SELECT is(pg_temp.problems('a'), '', 'after re-inserts reusing freed vids');
INSERT INTO b SELECT g, pg_temp.vec(g, 128) FROM generate_series(5001, 5400) g;
SELECT is(pg_temp.problems('b'), '', 'b after re-inserts');
DELETE FROM a WHERE id % 5 = 1;
VACUUM a;
SELECT is(pg_temp.problems('a'), '', 'after a second DELETE and VACUUM');
INSERT INTO a SELECT g, pg_temp.vec(g, 8) FROM generate_series(30001, 30300) g;
VACUUM a;
SELECT is(pg_temp.problems('a'), '', 'after a third round of inserts and VACUUM');

-- the entry point deleted: VACUUM moves it
DELETE FROM b;
VACUUM b;
SELECT is(pg_temp.problems('b'), '', 'b after deleting every row and VACUUM');
INSERT INTO b SELECT g, pg_temp.vec(g, 128) FROM generate_series(1, 300) g;
SELECT is(pg_temp.problems('b'), '', 'b after inserts into an emptied index');

REINDEX TABLE a;
SELECT is(pg_temp.problems('a'), '', 'after REINDEX');
REINDEX INDEX CONCURRENTLY a_cos;
SELECT is(pg_temp.problems('a'), '', 'after REINDEX CONCURRENTLY');

-- rewrites
TRUNCATE b;
SELECT is(pg_temp.problems('b'), '', 'after TRUNCATE');
INSERT INTO b SELECT g, pg_temp.vec(g, 128) FROM generate_series(1, 200) g;
VACUUM FULL b;
SELECT is(pg_temp.problems('b'), '', 'after VACUUM FULL');

-- unlogged and temporary tables
CREATE UNLOGGED TABLE u (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
CREATE INDEX ON u USING ruhnsw (v vector_cosine_ops);
INSERT INTO u SELECT g, pg_temp.vec(g, 8) FROM generate_series(1, 400) g;
DELETE FROM u WHERE id < 100;
VACUUM u;
SELECT is(pg_temp.problems('u'), '', 'unlogged table');
CREATE TEMP TABLE tt (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
CREATE INDEX ON tt USING ruhnsw (v);
INSERT INTO tt SELECT g, pg_temp.vec(g, 8) FROM generate_series(1, 400) g;
UPDATE tt SET v = pg_temp.vec(id + 1, 8) WHERE id < 100;
VACUUM tt;
SELECT is(pg_temp.problems('tt'), '', 'temporary table');

-- NULLs and an untyped column are fine
CREATE TABLE n (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
INSERT INTO n SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE pg_temp.vec(g, 8) END FROM generate_series(1, 400) g;
CREATE INDEX ON n USING ruhnsw (v);
SELECT is(pg_temp.problems('n'), '', 'NULLs are not indexed and not reported');

-- the index is really read: the searches still work and the results are unchanged
SET ruvector.ef_search = 400;
SELECT is((SELECT count(*) FROM (SELECT id FROM a ORDER BY v <-> pg_temp.vec(1, 8) LIMIT 10) s), 10::bigint,
	'index scan after verify');
SELECT is((SELECT count(*) FROM ruvector_verify('a')), 0::bigint, 'a: no rows');
SELECT is((SELECT count(*) FROM ruvector_verify('b')), 0::bigint, 'b: no rows');

-- With a very small m the neighbour-selection heuristic leaves some nodes
-- with no incoming link; the build reconnects them (src/index/hnswreach.c),
-- so verify reports nothing and every row is found by its own vector.
CREATE TABLE c (id int PRIMARY KEY, v ruvector(128)) USING ruvector;
INSERT INTO c SELECT g, pg_temp.vec(g, 128) FROM generate_series(1, 800) g;
CREATE INDEX c_l1 ON c USING ruhnsw (v vector_l1_ops) WITH (m = 2, ef_construction = 8);
SELECT is(pg_temp.problems('c'), '', 'm=2 l1 index: every node reachable');
SET enable_seqscan = off;
SET ruvector.enable_exact_scan = off;
SET ruvector.ef_search = 1000;
SELECT is((SELECT count(*) FROM c s
		   WHERE (SELECT c2.id FROM c c2 ORDER BY c2.v <+> s.v LIMIT 1) IS DISTINCT FROM s.id),
		  0::bigint, 'm=2 l1 index: every row is returned first by a query with its own vector');
RESET enable_seqscan;

SELECT * FROM finish();
