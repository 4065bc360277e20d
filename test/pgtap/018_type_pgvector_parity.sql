-- Parity of the ruvector type with pgvector 0.8.6 where it used to differ:
-- text input that underflows float4 reads as zero (subnormals kept,
-- overflow still an error), the same behaviour on binary input and on
-- casts from double precision[] / numeric[], and pgvector's support
-- functions vector_avg(double precision[]), vector_combine(double
-- precision[], double precision[]) and array_to_vector(..., integer,
-- boolean) with their results and errors.  Expected floats come from core
-- types (float4send, real[], float8 -> real); errors are checked by
-- SQLSTATE and message.  vector_combine('{0}', '{0}') is the one
-- deliberate difference (pgvector raises; see the parallel test below).
SELECT plan(63);

-- err(sql): 'SQLSTATE: message' of the error sql raises, or 'no error'.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ': ' || msg;
END $$;

-- feed_recv(bytes): hands bytes to ruvector_recv through a binary COPY
-- (the bytea field body becomes the column's binary value); returns the
-- value's text form.
CREATE FUNCTION pg_temp.feed_recv(bytes bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	path text := current_setting('data_directory') || '/rv_018_' ||
		pg_backend_pid() || '.bin';
	result text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', bytes, path);
	CREATE TEMP TABLE rv_feed (v ruvector);
	EXECUTE format('COPY rv_feed FROM %L WITH (FORMAT binary)', path);
	SELECT v::text INTO result FROM rv_feed;
	DROP TABLE rv_feed;
	RETURN result;
END $$;

-- explain(sql): the text of sql's plan.
CREATE FUNCTION pg_temp.explain(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS off) ' || sql LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;

-- ---- text input: underflow reads as zero, overflow is an error ----
SELECT is('[1e-46,1]'::ruvector::text, '[0,1]', 'underflow to zero: [1e-46,1] reads as [0,1]');
SELECT is('[-1e-46,1]'::ruvector::text, '[-0,1]', 'negative underflow keeps the sign: [-0,1]');
SELECT is(float4send(('[-1e-46]'::ruvector::real[])[1]), float4send('-0'::real),
	'negative underflow is the float -0 bit for bit');
SELECT is(float4send(('[1e-46]'::ruvector::real[])[1]), float4send(0::real),
	'positive underflow is the float +0 bit for bit');
SELECT is(float4send(('[1e-40]'::ruvector::real[])[1]), float4send('1e-40'::real),
	'a subnormal is kept as float4in reads it');
SELECT is(float4send(('[-1.5e-45]'::ruvector::real[])[1]), float4send('-1.5e-45'::real),
	'the smallest subnormal is kept');
SELECT is(('[' || '0.' || repeat('0', 60) || '1]')::ruvector::text, '[0]',
	'a long decimal below float4 range reads as 0');
SELECT is('[1e-400,2e-50,3]'::ruvector::text, '[0,0,3]', 'several underflows in one vector');
SELECT is('[1e-46,1]'::ruvector(2)::text, '[0,1]', 'underflow with a typmod');
SELECT is(pg_temp.err($$SELECT '[4e38,1]'::ruvector$$),
	'22003: "4e38" is out of range for type vector', 'overflow is still out of range');
SELECT is(pg_temp.err($$SELECT '[1,-4e38]'::ruvector$$),
	'22003: "-4e38" is out of range for type vector', 'negative overflow is still out of range');
SELECT is(pg_temp.err($$SELECT '[1e-46,NaN]'::ruvector$$),
	'22000: NaN not allowed in vector', 'NaN after an underflow is still refused');

-- underflowing input stored in a heap table and in a ruvector table
CREATE TABLE uh (id int, v ruvector);
CREATE TABLE ur (id int, v ruvector) USING ruvector;
INSERT INTO uh VALUES (1, '[1e-46,2]'), (2, '[-1e-46,-1e-39]');
INSERT INTO ur SELECT * FROM uh;
SELECT is((SELECT array_agg(v::text ORDER BY id) FROM uh), ARRAY['[0,2]', '[-0,-1e-39]'],
	'underflows stored in a heap table');
SELECT is((SELECT array_agg(v::text ORDER BY id) FROM ur), (SELECT array_agg(v::text ORDER BY id) FROM uh),
	'a ruvector table returns the same values');

-- ---- binary input: subnormals and -0 are finite and accepted ----
SELECT is(pg_temp.feed_recv('\x0002000080000000' || float4send('1e-45'::real)), '[-0,1e-45]',
	'binary -0 and the smallest subnormal are accepted');
SELECT is(pg_temp.err($$SELECT pg_temp.feed_recv('\x00010000' || float4send('Infinity'::real))$$),
	'22000: infinite value not allowed in vector', 'binary infinity is refused');

-- ---- casts from double precision[] and numeric[] ----
SELECT is('{1e-46,-1e-46}'::float8[]::ruvector::text, '[0,-0]',
	'double precision below float4 range becomes 0 / -0');
SELECT is(float4send(('{1e-40}'::float8[]::ruvector::real[])[1]), float4send('1e-40'::real),
	'double precision in subnormal range rounds to the float4 subnormal');
SELECT is(pg_temp.err($$SELECT '{4e38,-4e38}'::float8[]::ruvector$$),
	'22000: infinite value not allowed in vector', 'double precision beyond float4 range is infinite');
SELECT is(pg_temp.err($$SELECT ARRAY[1e-46]::numeric[]::ruvector$$),
	pg_temp.err($$SELECT 1e-46::numeric::real$$), 'numeric below float4 range: numeric -> real''s error');
SELECT is(pg_temp.err($$SELECT ARRAY[4e38]::numeric[]::ruvector$$),
	pg_temp.err($$SELECT 4e38::numeric::real$$), 'numeric beyond float4 range: numeric -> real''s error');

-- ---- array_to_vector: pgvector's name and signatures ----
SELECT is((SELECT array_agg(format('%s -> %s', p.oid::regprocedure, p.prorettype::regtype) ORDER BY p.oid::regprocedure::text)
		   FROM pg_proc p WHERE p.proname = 'array_to_vector'),
	ARRAY['array_to_vector(double precision[],integer,boolean) -> ruvector',
		  'array_to_vector(integer[],integer,boolean) -> ruvector',
		  'array_to_vector(numeric[],integer,boolean) -> ruvector',
		  'array_to_vector(real[],integer,boolean) -> ruvector'],
	'array_to_vector has pgvector''s four signatures');
SELECT is((SELECT count(*) FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc
		   WHERE c.casttarget = 'ruvector'::regtype AND p.proname = 'array_to_vector'
		   AND c.castsource = p.proargtypes[0]), 4::bigint,
	'the four array casts go through array_to_vector');
SELECT is(array_to_vector(ARRAY[1, 2, 3], -1, false)::text, '[1,2,3]', 'array_to_vector(integer[])');
SELECT is(array_to_vector(ARRAY[1.5, -2]::real[], 2, true)::text, '[1.5,-2]', 'array_to_vector(real[]) with typmod');
SELECT is(array_to_vector(ARRAY[0.1]::float8[], -1, false)::real[], ARRAY[0.1::float8::real],
	'array_to_vector(double precision[]) rounds like float8 -> real');
SELECT is(array_to_vector(ARRAY[0.1]::numeric[], -1, false)::real[], ARRAY[0.1::numeric::real],
	'array_to_vector(numeric[]) rounds like numeric -> real');
SELECT is(array_to_vector('{1e-46}'::float8[], -1, false)::text, '[0]', 'array_to_vector(double precision[]) underflow');
SELECT is(pg_temp.err($$SELECT array_to_vector(ARRAY[1, 2, 3], 2, true)$$),
	'22000: expected 2 dimensions, not 3', 'array_to_vector checks the typmod');
SELECT is(pg_temp.err($$SELECT array_to_vector(array_agg(n), 16001, false) FROM generate_series(1, 16001) n$$),
	'54000: vector cannot have more than 16000 dimensions', 'array_to_vector of 16001 elements');
SELECT is(pg_temp.err($$SELECT array_to_vector('{{1}}'::int[], -1, false)$$),
	'22000: array must be 1-D', 'array_to_vector of a 2-D array');
SELECT is(pg_temp.err($$SELECT array_to_vector('{1,NULL}'::real[], -1, false)$$),
	'22004: array must not contain nulls', 'array_to_vector of an array with a null');

-- ---- vector_avg(double precision[]) ----
SELECT is(format('%s -> %s', 'vector_avg(float8[])'::regprocedure,
		  (SELECT prorettype::regtype FROM pg_proc WHERE oid = 'vector_avg(float8[])'::regprocedure)),
	'vector_avg(double precision[]) -> ruvector', 'vector_avg has pgvector''s signature');
SELECT is((SELECT aggfinalfn::regprocedure::text || ', ' || aggcombinefn::regprocedure::text FROM pg_aggregate
		   WHERE aggfnoid = 'avg(ruvector)'::regprocedure),
	'vector_avg(double precision[]), vector_combine(double precision[],double precision[])',
	'avg(ruvector) finishes with vector_avg and combines with vector_combine');
SELECT is(vector_avg('{2,2,4,6}')::text, '[1,2,3]', 'vector_avg divides the sums by n');
SELECT is(vector_avg('{0}'), NULL, 'vector_avg of the initial state is NULL');
SELECT is(pg_temp.err($$SELECT vector_avg('{1}')$$),
	'22000: vector must have at least 1 dimension', 'vector_avg of a state without sums');
SELECT is(pg_temp.err($$SELECT vector_avg('{{2,2,4,6}}')$$),
	'XX000: vector_avg: expected state array', 'vector_avg of a 2-D state');
SELECT is(pg_temp.err($$SELECT vector_avg('{NULL,2,4,6}')$$),
	'XX000: vector_avg: expected state array', 'vector_avg of a state with a null');
SELECT is(pg_temp.err($$SELECT vector_avg('{}')$$),
	'XX000: vector_avg: expected state array', 'vector_avg of an empty state');
SELECT is(pg_temp.err($$SELECT vector_avg(array_agg(n)) FROM generate_series(1, 16002) n$$),
	'54000: vector cannot have more than 16000 dimensions', 'vector_avg of 16001 sums');
SELECT is(pg_temp.err($$SELECT vector_avg('{0.5,3e38}')$$),
	'22000: infinite value not allowed in vector', 'vector_avg whose mean leaves float4 range');

-- ---- vector_combine(double precision[], double precision[]) ----
SELECT is(format('%s -> %s', 'vector_combine(float8[],float8[])'::regprocedure,
		  (SELECT prorettype::regtype FROM pg_proc WHERE oid = 'vector_combine(float8[],float8[])'::regprocedure)),
	'vector_combine(double precision[],double precision[]) -> double precision[]',
	'vector_combine has pgvector''s signature');
SELECT is(vector_combine('{1,2}', '{3,4}'), '{4,6}'::float8[], 'vector_combine adds counts and sums');
SELECT is(vector_combine('{0}', '{2,1,1}'), '{2,1,1}'::float8[], 'vector_combine: empty left state');
SELECT is(vector_combine('{2,1,1}', '{0}'), '{2,1,1}'::float8[], 'vector_combine: empty right state');
SELECT is(pg_temp.err($$SELECT vector_combine('{{1,2}}', '{3,4}')$$),
	'XX000: vector_combine: expected state array', 'vector_combine: 2-D left state');
SELECT is(pg_temp.err($$SELECT vector_combine('{1,2}', '{{3,4}}')$$),
	'XX000: vector_combine: expected state array', 'vector_combine: 2-D right state');
SELECT is(pg_temp.err($$SELECT vector_combine('{NULL,2}', '{3,4}')$$),
	'XX000: vector_combine: expected state array', 'vector_combine: null in the left state');
SELECT is(pg_temp.err($$SELECT vector_combine('{1,2}', '{3,NULL}')$$),
	'XX000: vector_combine: expected state array', 'vector_combine: null in the right state');
SELECT is(pg_temp.err($$SELECT vector_combine('{}', '{0}')$$),
	'XX000: vector_combine: expected state array', 'vector_combine: empty left array');
SELECT is(pg_temp.err($$SELECT vector_combine('{0}', '{}')$$),
	'XX000: vector_combine: expected state array', 'vector_combine: empty right array');
SELECT is(pg_temp.err($$SELECT vector_combine('{1}', '{0}')$$),
	'22000: vector must have at least 1 dimension', 'vector_combine: a counted state without sums');
SELECT is(pg_temp.err($$SELECT vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16002) n))$$),
	'54000: vector cannot have more than 16000 dimensions', 'vector_combine: 16001 sums on the right');
SELECT is(pg_temp.err($$SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n), '{0}')$$),
	'54000: vector cannot have more than 16000 dimensions', 'vector_combine: 16001 sums on the left');
SELECT is(pg_temp.err($$SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n),
		(SELECT array_agg(n) FROM generate_series(1, 16002) n))$$),
	'54000: vector cannot have more than 16000 dimensions', 'vector_combine: 16001 sums on both sides');
SELECT is(pg_temp.err($$SELECT vector_combine('{1,2}', '{1,2,3}')$$),
	'22000: expected 1 dimensions, not 2', 'vector_combine: states of different dims');
SELECT is(pg_temp.err($$SELECT vector_combine('{1,1e308}', '{1,1e308}')$$),
	'22003: value out of range: overflow', 'vector_combine: sums overflow');

-- The deliberate difference: two initial states combine to the initial
-- state (pgvector 0.8.6 raises "vector must have at least 1 dimension").
-- The executor makes this call whenever a parallel worker's share of
-- avg() holds no row.
SELECT is(vector_combine('{0}', '{0}'), '{0}'::float8[], 'vector_combine of two initial states is the initial state');
CREATE TABLE par AS SELECT i AS id, ARRAY[i, -i]::ruvector AS v FROM generate_series(1, 50000) i;
ANALYZE par;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SELECT ok(pg_temp.explain($$SELECT avg(v) FROM par WHERE id % 7 = 10$$) ~ 'Partial Aggregate',
	'avg over a filter aggregates in parallel');
SELECT is((SELECT avg(v) FROM par WHERE id % 7 = 10), NULL, 'parallel avg over no matching row is NULL');
SELECT ok(pg_temp.explain($$SELECT avg(v) FROM par WHERE id % 50000 = 7$$) ~ 'Partial Aggregate',
	'avg over a filter matching one row aggregates in parallel');
SELECT is((SELECT avg(v)::text FROM par WHERE id % 50000 = 7), '[7,-7]', 'parallel avg when a worker sees no row');
RESET ALL;

SELECT * FROM finish();
