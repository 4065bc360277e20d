-- avg(ruvector) and sum(ruvector): values against per-element avg/sum of
-- the real[] elements in double precision, empty input, NULLs, errors,
-- the float8[] state functions, and parallel aggregation (partial states
-- combined from workers).
SELECT plan(24);

-- explain(sql, analyze): the JSON plan of sql.
CREATE FUNCTION pg_temp.explain(sql text, do_analyze bool DEFAULT false) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	result jsonb;
BEGIN
	EXECUTE format('EXPLAIN (FORMAT json, ANALYZE %s) %s', do_analyze::text, sql) INTO result;
	RETURN result;
END $$;

CREATE TABLE agg (id int, g int, a real[], v ruvector(16));
INSERT INTO agg
	SELECT i, i % 5, a, a::ruvector
	FROM (SELECT i, array_agg((random() * 200 - 100)::real ORDER BY j) a
		  FROM generate_series(1, 60000) i, generate_series(1, 16) j GROUP BY i) s;
INSERT INTO agg VALUES (0, 0, NULL, NULL);
ANALYZE agg;

-- per-group references in double precision
CREATE TEMP TABLE expect AS
	SELECT g, array_agg(av ORDER BY o) AS av, array_agg(sm ORDER BY o) AS sm, array_agg(mag ORDER BY o) AS mag
	FROM (SELECT g, o, avg(x::float8) av, sum(x::float8) sm, sum(abs(x::float8)) mag
		  FROM agg, unnest(a) WITH ORDINALITY u(x, o) GROUP BY g, o) s
	GROUP BY g;

-- close(got, want, tol, scale): elementwise |got - want| <= tol * scale
CREATE FUNCTION pg_temp.close(got real[], want float8[], tol float8, scale float8[]) RETURNS bool LANGUAGE sql AS $$
	SELECT cardinality(got) = cardinality(want) AND
		bool_and(abs(x - y) <= tol * s) FROM unnest(got, want, scale) u(x, y, s)
$$;

SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS SELECT g, avg(v) av, sum(v) sm FROM agg GROUP BY g;
SELECT is((SELECT count(*) FROM serial s JOIN expect e USING (g)
		   WHERE NOT pg_temp.close(s.av::real[], e.av, 1e-6, e.mag)), 0::bigint,
	'avg matches the per-element average');
SELECT is((SELECT count(*) FROM serial s JOIN expect e USING (g)
		   WHERE NOT pg_temp.close(s.sm::real[], e.sm, 1e-5, e.mag)), 0::bigint,
	'sum matches the per-element sum');
SELECT is((SELECT count(*) FROM serial), 5::bigint, 'one result per group');
SELECT is(avg(v)::text, '[2,3]', 'avg example') FROM (VALUES ('[1,2]'::ruvector), ('[3,4]'), (NULL)) t(v);
SELECT is(sum(v)::text, '[4,6]', 'sum example, NULL skipped') FROM (VALUES ('[1,2]'::ruvector), (NULL), ('[3,4]')) t(v);
SELECT is((SELECT avg(v) FROM agg WHERE false), NULL, 'avg of no rows is NULL');
SELECT is((SELECT sum(v) FROM agg WHERE false), NULL, 'sum of no rows is NULL');
SELECT is((SELECT avg(v) FROM agg WHERE v IS NULL), NULL, 'avg of only NULLs is NULL');
SELECT is(avg(v)::text, '[3e+38]', 'avg sums in double precision (no float4 overflow)')
	FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v);
SELECT throws_ok($$SELECT sum(v) FROM (VALUES ('[3e38]'::ruvector), ('[3e38]')) t(v)$$, '22003',
	'value out of range: overflow', 'sum overflow');
SELECT throws_ok($$SELECT avg(v) FROM (VALUES ('[1,2]'::ruvector), ('[1,2,3]')) t(v)$$, '22000',
	'expected 2 dimensions, not 3', 'avg of mixed dims');
SELECT throws_ok($$SELECT sum(v) FROM (VALUES ('[1,2]'::ruvector), ('[1,2,3]')) t(v)$$, '22000',
	'different vector dimensions 2 and 3', 'sum of mixed dims');

-- state functions
SELECT is(vector_accum('{0}', '[1,2]'), '{1,1,2}'::float8[], 'vector_accum starts a state {n, sums}');
SELECT is(vector_accum('{1,1,2}', '[3,4]'), '{2,4,6}'::float8[], 'vector_accum adds');
SELECT is(vector_combine('{2,4,6}', '{1,1,1}'), '{3,5,7}'::float8[], 'vector_combine adds states');
SELECT is(vector_combine('{0}', '{1,1,1}'), '{1,1,1}'::float8[], 'vector_combine with an empty state');
SELECT is(vector_avg('{2,4,6}')::text, '[2,3]', 'vector_avg divides by n');
SELECT throws_ok($$SELECT vector_avg('{}')$$, 'XX000', 'vector_avg: expected state array', 'malformed state');
SELECT is((SELECT count(*) FROM pg_aggregate WHERE aggfnoid IN ('avg(ruvector)'::regprocedure, 'sum(ruvector)'::regprocedure)
		   AND aggcombinefn <> 0), 2::bigint, 'both aggregates have a combine function');
SELECT is((SELECT count(*) FROM pg_proc WHERE oid IN ('avg(ruvector)'::regprocedure, 'sum(ruvector)'::regprocedure)
		   AND proparallel = 's'), 2::bigint, 'both aggregates are PARALLEL SAFE');

-- parallel aggregation
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT ok(pg_temp.explain('SELECT g, avg(v), sum(v) FROM agg GROUP BY g')::text ~ 'Partial', 'the plan aggregates in parallel');
SELECT cmp_ok((pg_temp.explain('SELECT avg(v), sum(v) FROM agg', true) #>> '{0,Plan,Plans,0,Workers Launched}')::int,
	'>=', 1, 'parallel workers ran');
CREATE TEMP TABLE par AS SELECT g, avg(v) av, sum(v) sm FROM agg GROUP BY g;
SELECT is((SELECT count(*) FROM par p JOIN expect e USING (g)
		   WHERE NOT pg_temp.close(p.av::real[], e.av, 1e-6, e.mag)), 0::bigint,
	'parallel avg matches the per-element average');
SELECT is((SELECT count(*) FROM par p JOIN expect e USING (g)
		   WHERE NOT pg_temp.close(p.sm::real[], e.sm, 1e-5, e.mag)), 0::bigint,
	'parallel sum matches the per-element sum');

SELECT * FROM finish();
