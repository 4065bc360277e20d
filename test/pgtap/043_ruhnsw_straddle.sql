-- ruhnsw over vectors that straddle store pages (75 dims: 320-byte slots
-- do not divide the page payload), so distances use the two-piece
-- kernels; results equal exact search at ef_search = 1000.  Also prints
-- build and query timings (diag) for a rough comparison with exact scans.
SELECT plan(4);
SELECT setseed(0.9);
CREATE TABLE items (id bigint PRIMARY KEY, embedding ruvector(75)) USING ruvector;
INSERT INTO items
	SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 75) WHERE i > 0)::ruvector
	FROM generate_series(1, 1500) i;
CREATE TABLE queries AS
	SELECT q, (SELECT array_agg(random()::real) FROM generate_series(1, 75) WHERE q > 0)::ruvector AS v
	FROM generate_series(1, 20) q;

CREATE FUNCTION pg_temp.cmp(op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	bad bigint := 0;
	qv ruvector;
	a bigint[];
	b bigint[];
BEGIN
	FOR qv IN SELECT v FROM queries ORDER BY q LOOP
		SET LOCAL enable_indexscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding %s $1, id LIMIT 10) s', op) INTO a USING qv;
		SET LOCAL enable_indexscan = on;
		SET LOCAL enable_seqscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM items ORDER BY embedding %s $1 LIMIT 10) s', op) INTO b USING qv;
		IF a IS DISTINCT FROM b THEN
			bad := bad + 1;
		END IF;
	END LOOP;
	RETURN bad;
END $$;

-- time(sql): milliseconds sql takes
CREATE FUNCTION pg_temp.time(sql text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE sql;
	RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1);
END $$;

SELECT diag('build of 1500 x 75d (ms): ' || pg_temp.time('CREATE INDEX items_l2 ON items USING ruhnsw (embedding)'));
SELECT diag('20 queries, index at ef_search 40 (ms): ' || pg_temp.time($$
	SELECT count(*) FROM queries q, LATERAL (SELECT id FROM items ORDER BY embedding <-> q.v LIMIT 10) s$$));
SET ruvector.ef_search = 1000;
SELECT is(pg_temp.cmp('<->'), 0::bigint, 'l2 over straddling vectors: equal to exact search');
DROP INDEX items_l2;
CREATE INDEX items_cos ON items USING ruhnsw (embedding vector_cosine_ops);
SELECT is(pg_temp.cmp('<=>'), 0::bigint, 'cosine over straddling vectors: equal to exact search');
DROP INDEX items_cos;
CREATE INDEX items_ip ON items USING ruhnsw (embedding vector_ip_ops);
SELECT is(pg_temp.cmp('<#>'), 0::bigint, 'ip over straddling vectors: equal to exact search');
DROP INDEX items_ip;
SET maintenance_work_mem = '1MB';
SET client_min_messages = warning;
CREATE INDEX items_l1 ON items USING ruhnsw (embedding vector_l1_ops) WITH (m = 48, ef_construction = 100);
RESET client_min_messages;
SELECT is(pg_temp.cmp('<+>'), 0::bigint, 'l1 (m = 48, built on pages) over straddling vectors: equal to exact search');
SELECT * FROM finish();
