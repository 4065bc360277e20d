-- Casts of ruvector: integer[], real[], double precision[], numeric[] to
-- ruvector (assignment), ruvector to real[] (implicit), the ruvector(n)
-- length coercion, and their errors.  Expectations use core casts.
SELECT plan(30);

SELECT is((SELECT castcontext::text FROM pg_cast
		   WHERE castsource = 'int4[]'::regtype AND casttarget = 'ruvector'::regtype), 'a', 'integer[] -> ruvector is AS ASSIGNMENT');
SELECT is((SELECT castcontext::text FROM pg_cast
		   WHERE castsource = 'real[]'::regtype AND casttarget = 'ruvector'::regtype), 'a', 'real[] -> ruvector is AS ASSIGNMENT');
SELECT is((SELECT castcontext::text FROM pg_cast
		   WHERE castsource = 'float8[]'::regtype AND casttarget = 'ruvector'::regtype), 'a', 'double precision[] -> ruvector is AS ASSIGNMENT');
SELECT is((SELECT castcontext::text FROM pg_cast
		   WHERE castsource = 'numeric[]'::regtype AND casttarget = 'ruvector'::regtype), 'a', 'numeric[] -> ruvector is AS ASSIGNMENT');
SELECT is((SELECT castcontext::text FROM pg_cast
		   WHERE castsource = 'ruvector'::regtype AND casttarget = 'real[]'::regtype), 'i', 'ruvector -> real[] is AS IMPLICIT');
SELECT is((SELECT castcontext::text FROM pg_cast
		   WHERE castsource = 'ruvector'::regtype AND casttarget = 'ruvector'::regtype), 'i', 'ruvector(n) coercion is implicit');

-- values: each source type converts like core's cast of the elements to real
SELECT is(ARRAY[1, -2, 16777217]::ruvector::real[], ARRAY[1, -2, 16777217]::real[], 'integer[] elements');
CREATE TEMP TABLE rnd AS
	SELECT i, array_agg((random() * 2e6 - 1e6)::float8 * 10 ^ (random() * 30 - 15) ORDER BY j) AS d
	FROM generate_series(1, 100) i, generate_series(1, 1 + i % 29) j GROUP BY i;
SELECT is((SELECT count(*) FROM rnd WHERE d::ruvector::real[] IS DISTINCT FROM d::real[]), 0::bigint,
	'double precision[] elements round like float8 -> real');
SELECT is((SELECT count(*) FROM rnd WHERE d::real[]::ruvector::real[] IS DISTINCT FROM d::real[]), 0::bigint,
	'real[] elements are kept exactly');
SELECT is((SELECT count(*) FROM rnd WHERE d::numeric[]::ruvector::real[] IS DISTINCT FROM d::numeric[]::real[]), 0::bigint,
	'numeric[] elements round like numeric -> real');
SELECT is('[0:2]={5,6,7}'::int[]::ruvector::real[], '{5,6,7}'::real[], 'array lower bound is ignored');
SELECT is(array_lower('[4,5]'::ruvector::real[], 1), 1, 'ruvector -> real[] has lower bound 1');

-- assignment and implicit contexts
CREATE TEMP TABLE t (v ruvector(3));
INSERT INTO t VALUES (ARRAY[1, 2, 3]), (ARRAY[1.5, 2.5, 3.5]::numeric[]), (ARRAY[0.25, 0, -1]::real[]);
SELECT is((SELECT array_agg(v::text ORDER BY v::text) FROM t), ARRAY['[0.25,0,-1]', '[1,2,3]', '[1.5,2.5,3.5]'],
	'arrays are assigned to a ruvector(3) column');
CREATE FUNCTION pg_temp.card(real[]) RETURNS int LANGUAGE sql AS 'SELECT cardinality($1)';
SELECT is(pg_temp.card('[1,2,3,4]'::ruvector), 4, 'ruvector passes implicitly as real[]');
SELECT throws_ok($$SELECT l2_distance(ARRAY[1,2], '[1,2]'::ruvector)$$, '42883', NULL,
	'arrays do not convert implicitly in function calls');

-- ruvector(n) coercion
SELECT is(ruvector('[1,2]'::ruvector, 2, true)::text, '[1,2]', 'ruvector(v, 2, true) returns v');
SELECT is(ruvector('[1,2]'::ruvector, -1, false)::text, '[1,2]', 'typmod -1 accepts any dim');
SELECT is('[1,2,3]'::ruvector::ruvector(3)::text, '[1,2,3]', 'cast to matching ruvector(3)');
SELECT throws_ok($$SELECT '[1,2,3]'::ruvector::ruvector(2)$$, '22000', 'expected 2 dimensions, not 3',
	'cast to ruvector(2) checks dims');
SELECT throws_ok($$SELECT ARRAY[1,2]::ruvector(3)$$, '22000', 'expected 3 dimensions, not 2',
	'array cast to ruvector(3) checks dims');

-- errors
SELECT throws_ok($$SELECT '{{1,2},{3,4}}'::int[]::ruvector$$, '22000', 'array must be 1-D', '2-D array');
SELECT throws_ok($$SELECT ARRAY[1,NULL]::int[]::ruvector$$, '22004', 'array must not contain nulls', 'null element');
SELECT throws_ok($$SELECT '{}'::real[]::ruvector$$, '22000', 'vector must have at least 1 dimension', 'empty array');
SELECT throws_ok($$SELECT array_fill(1, ARRAY[16001])::ruvector$$, '54000',
	'vector cannot have more than 16000 dimensions', '16001 elements');
SELECT is(vector_dims(array_fill(1, ARRAY[16000])::ruvector), 16000, '16000 elements');
SELECT throws_ok($$SELECT ARRAY['NaN']::real[]::ruvector$$, '22000', 'NaN not allowed in vector', 'NaN real');
SELECT throws_ok($$SELECT ARRAY[1, 'NaN']::float8[]::ruvector$$, '22000', 'NaN not allowed in vector', 'NaN float8');
SELECT throws_ok($$SELECT ARRAY['-Infinity']::real[]::ruvector$$, '22000', 'infinite value not allowed in vector', 'infinite real');
SELECT throws_ok($$SELECT ARRAY[1e39]::float8[]::ruvector$$, '22000', 'infinite value not allowed in vector',
	'float8 beyond float4 range becomes infinite');
SELECT throws_ok($$SELECT ARRAY[1e39]::numeric[]::ruvector$$, '22003', NULL,
	'numeric beyond float4 range is out of range');

SELECT * FROM finish();
