-- Every live node of a ruhnsw index stays reachable from the entry point
-- after VACUUM and after a build, so an index scan can return every live
-- row.  Provokes unreachable nodes deterministically: small m (tight
-- neighbour lists, heavy pruning on insert), clustered data whose hubs are
-- deleted in bulk, repeated DELETE / INSERT / VACUUM rounds.  Checks, for
-- each state: ruvector_verify reports nothing, and querying the index
-- with each live row's own vector returns that row first.  Table r keeps
-- at most 1000 live rows so that ruvector.ef_search = 1000 makes a search
-- exhaustive over what the entry point reaches: a row it misses is
-- unreachable, not merely hard to find.  Before the repair (hnswreach.c)
-- most of these checks failed (see the commit that added the repair).
SELECT plan(13);

-- pseudo-random vector of dims in [-0.5, 0.5), from seed
CREATE FUNCTION pg_temp.rvec(seed int, dims int) RETURNS ruvector LANGUAGE sql AS $$
	SELECT array_agg((((hashint8(seed::bigint * 64 + k) & 65535) / 65536.0) - 0.5)::real ORDER BY k)::ruvector
	FROM generate_series(1, dims) k
$$;
CREATE FUNCTION pg_temp.unreachable(rel regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM ruvector_verify(rel)
$$;
-- live rows that a self-query through the index does not return first
CREATE FUNCTION pg_temp.lost(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	lost bigint;
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SET LOCAL ruvector.enable_exact_scan = off;
	SET LOCAL ruvector.ef_search = 1000;
	SELECT count(*) INTO lost
	FROM (SELECT id, v FROM r ORDER BY id LIMIT n) s
	WHERE (SELECT r2.id FROM r r2 ORDER BY r2.v <-> s.v LIMIT 1) IS DISTINCT FROM s.id;
	RETURN lost;
END
$$;

-- the plan of the self-query of pg_temp.lost
CREATE FUNCTION pg_temp.lost_plan() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SET LOCAL ruvector.enable_exact_scan = off;
	FOR line IN EXPLAIN (COSTS OFF)
		SELECT count(*) FROM (SELECT id, v FROM r ORDER BY id LIMIT 10) s
		WHERE (SELECT r2.id FROM r r2 ORDER BY r2.v <-> s.v LIMIT 1) IS DISTINCT FROM s.id
	LOOP
		plan := plan || line || E'\n';
	END LOOP;
	RETURN plan;
END
$$;

CREATE TABLE r (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
CREATE INDEX r_v ON r USING ruhnsw (v) WITH (m = 2, ef_construction = 8);
SELECT matches(pg_temp.lost_plan(), 'Index Scan using r_v on r r2', 'self-queries use the ruhnsw index');

-- build with m = 2 over clustered data (points around 25 centres)
INSERT INTO r SELECT g, (SELECT array_agg(((g % 25) * 0.37 + k * 0.11) % 1.0
		+ (((hashint8(g::bigint * 64 + k) & 1023) / 1024.0) - 0.5) * 0.05 ORDER BY k)::real[]::ruvector
	FROM generate_series(1, 8) k) FROM generate_series(1, 1000) g;
DROP INDEX r_v;
CREATE INDEX r_v ON r USING ruhnsw (v) WITH (m = 2, ef_construction = 8);
SELECT is(pg_temp.unreachable('r'), 0::bigint, 'build (m = 2): ruvector_verify reports nothing');
SELECT is(pg_temp.lost(1000), 0::bigint, 'build (m = 2): every row is found by its own vector');

-- delete most of each cluster and the early (best linked) nodes: the hubs
DELETE FROM r WHERE id % 25 < 18 OR id < 300;
VACUUM r;
SELECT is(pg_temp.unreachable('r'), 0::bigint, 'after deleting hubs and VACUUM: verify reports nothing');
SELECT is(pg_temp.lost(1000), 0::bigint, 'after deleting hubs and VACUUM: every live row is found');

-- inserts (pruning full lists), more deletes, VACUUM, three rounds
INSERT INTO r SELECT g, pg_temp.rvec(g, 8) FROM generate_series(10001, 10600) g;
DELETE FROM r WHERE id % 3 = 0;
VACUUM r;
SELECT is(pg_temp.unreachable('r'), 0::bigint, 'round 1: verify reports nothing');
INSERT INTO r SELECT g, pg_temp.rvec(g, 8) FROM generate_series(20001, 20400) g;
DELETE FROM r WHERE id % 5 = 1 OR (id > 10000 AND id < 10200);
VACUUM r;
SELECT is(pg_temp.unreachable('r'), 0::bigint, 'round 2: verify reports nothing');
SELECT is(pg_temp.lost(1000), 0::bigint, 'round 2: every live row is found by its own vector');

-- inserts only (no dead tuples): VACUUM still reconnects what pruning stranded
INSERT INTO r SELECT g, pg_temp.rvec(g, 8) FROM generate_series(30001, 30300) g;
VACUUM r;
SELECT cmp_ok((SELECT count(*) FROM r), '<=', 1000::bigint, 'r holds at most 1000 rows (searches are exhaustive)');
SELECT is(pg_temp.unreachable('r'), 0::bigint, 'inserts then VACUUM without dead rows: verify reports nothing');
SELECT is(pg_temp.lost(1000), 0::bigint, 'inserts then VACUUM: every live row is found');

-- m = 4, larger, the same kind of workload
CREATE TABLE r4 (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
CREATE INDEX r4_v ON r4 USING ruhnsw (v) WITH (m = 4, ef_construction = 8);
INSERT INTO r4 SELECT g, pg_temp.rvec(g, 8) FROM generate_series(1, 4000) g;
DELETE FROM r4 WHERE id % 4 <> 0;
VACUUM r4;
SELECT is(pg_temp.unreachable('r4'), 0::bigint, 'm = 4 after deleting 3/4 and VACUUM: verify reports nothing');
INSERT INTO r4 SELECT g, pg_temp.rvec(g, 8) FROM generate_series(5001, 7000) g;
DELETE FROM r4 WHERE id % 3 = 0;
VACUUM r4;
SELECT is(pg_temp.unreachable('r4'), 0::bigint, 'm = 4 after a second round: verify reports nothing');

SELECT * FROM finish();
