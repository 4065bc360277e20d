-- ruvector functions and operators: distances (<->, <#>, <=>, <+>),
-- vector_dims, vector_norm, l2_normalize, subvector, binary_quantize,
-- + - * ||.  Expectations are computed in SQL from real[] in double
-- precision (distances, with a tolerance) or with core float4 arithmetic
-- (exact, for the elementwise operators).
SELECT plan(56);

-- Random pairs of equal dims (1..64, and a few long ones), as real[].
CREATE TEMP TABLE pairs AS
	SELECT i, array_agg((random() * 2 - 1)::real ORDER BY j) AS a,
		array_agg((random() * 2 - 1)::real ORDER BY j) AS b
	FROM generate_series(1, 300) i,
		generate_series(1, CASE WHEN i % 50 = 0 THEN 1536 + i ELSE 1 + i % 64 END) j
	GROUP BY i;

-- References in double precision, plus the magnitude sums that bound the
-- rounding error of a float4 accumulation.
CREATE TEMP TABLE ref AS
	SELECT i, a, b, a::ruvector AS va, b::ruvector AS vb,
		(SELECT sqrt(sum((x::float8 - y::float8) ^ 2)) FROM unnest(a, b) u(x, y)) AS l2,
		(SELECT sum((x::float8 - y::float8) ^ 2) FROM unnest(a, b) u(x, y)) AS l2sq,
		(SELECT sum(x::float8 * y::float8) FROM unnest(a, b) u(x, y)) AS ip,
		(SELECT sum(abs(x::float8 * y::float8)) FROM unnest(a, b) u(x, y)) AS ipmag,
		(SELECT sum(abs(x::float8 - y::float8)) FROM unnest(a, b) u(x, y)) AS l1,
		(SELECT 1 - sum(x::float8 * y::float8) /
			sqrt(sum(x::float8 * x::float8) * sum(y::float8 * y::float8)) FROM unnest(a, b) u(x, y)) AS cos,
		(SELECT sqrt(sum(x::float8 * x::float8)) FROM unnest(a) u(x)) AS norm
	FROM pairs;

-- ---- distances ----
SELECT is((SELECT count(*) FROM ref WHERE abs(l2_distance(va, vb) - l2) > 1e-5 * (l2 + 1e-6)), 0::bigint,
	'l2_distance matches the double-precision reference');
SELECT is((SELECT count(*) FROM ref WHERE (va <-> vb) IS DISTINCT FROM l2_distance(va, vb)), 0::bigint,
	'<-> is l2_distance');
SELECT is((SELECT count(*) FROM ref WHERE abs(vector_l2_squared_distance(va, vb) - l2sq) > 1e-5 * (l2sq + 1e-6)), 0::bigint,
	'vector_l2_squared_distance matches the reference');
SELECT is((SELECT count(*) FROM ref WHERE abs(inner_product(va, vb) - ip) > 1e-5 * (ipmag + 1e-6)), 0::bigint,
	'inner_product matches the reference');
SELECT is((SELECT count(*) FROM ref WHERE (va <#> vb) IS DISTINCT FROM -inner_product(va, vb)), 0::bigint,
	'<#> is the negative inner product');
SELECT is((SELECT count(*) FROM ref WHERE abs(vector_negative_inner_product(va, vb) + ip) > 1e-5 * (ipmag + 1e-6)), 0::bigint,
	'vector_negative_inner_product matches the reference');
SELECT is((SELECT count(*) FROM ref WHERE abs(cosine_distance(va, vb) - cos) > 1e-5), 0::bigint,
	'cosine_distance matches the reference');
SELECT is((SELECT count(*) FROM ref WHERE (va <=> vb) IS DISTINCT FROM cosine_distance(va, vb)), 0::bigint,
	'<=> is cosine_distance');
SELECT is((SELECT count(*) FROM ref WHERE abs(l1_distance(va, vb) - l1) > 1e-5 * (l1 + 1e-6)), 0::bigint,
	'l1_distance matches the reference');
SELECT is((SELECT count(*) FROM ref WHERE (va <+> vb) IS DISTINCT FROM l1_distance(va, vb)), 0::bigint,
	'<+> is l1_distance');
SELECT is((SELECT count(*) FROM ref WHERE abs((va <-> vb) - (vb <-> va)) > 1e-5 * (l2 + 1e-6)
	OR abs((va <#> vb) - (vb <#> va)) > 1e-5 * (ipmag + 1e-6)
	OR abs((va <=> vb) - (vb <=> va)) > 1e-5
	OR abs((va <+> vb) - (vb <+> va)) > 1e-5 * (l1 + 1e-6)), 0::bigint,
	'distances are symmetric');
SELECT is((SELECT array_agg(oprname::text ORDER BY oprname) FROM pg_operator
		   WHERE oprleft = 'ruvector'::regtype AND oprname IN ('<->', '<#>', '<=>', '<+>') AND oprcom = oid),
	ARRAY['<#>', '<+>', '<->', '<=>'], 'distance operators are their own commutators');
SELECT is(pg_typeof('[1]'::ruvector <-> '[2]'::ruvector)::text, 'double precision', 'distances are float8');
SELECT is(l2_distance('[0,0]', '[3,4]'), 5::float8, 'l2_distance 3-4-5');
SELECT is(cosine_distance('[1,2]', '[2,4]') < 1e-7, true, 'cosine_distance of parallel vectors is ~0');
SELECT is(abs(cosine_distance('[1,2]', '[-1,-2]') - 2) < 1e-7, true, 'cosine_distance of opposite vectors is ~2');
SELECT is(cosine_distance('[0,0]', '[1,1]'), 'NaN'::float8, 'cosine_distance with a zero vector is NaN');
SELECT throws_ok($$SELECT l2_distance('[1,2,3]', '[1,2]')$$, '22000', 'different vector dimensions 3 and 2', 'l2_distance dims');
SELECT throws_ok($$SELECT '[1,2]'::ruvector <#> '[1,2,3]'$$, '22000', 'different vector dimensions 2 and 3', '<#> dims');
SELECT throws_ok($$SELECT inner_product('[1,2]', '[1,2,3]')$$, '22000', 'different vector dimensions 2 and 3', 'inner_product dims');
SELECT throws_ok($$SELECT cosine_distance('[1]', '[1,2]')$$, '22000', 'different vector dimensions 1 and 2', 'cosine_distance dims');
SELECT throws_ok($$SELECT l1_distance('[1,2]', '[1]')$$, '22000', 'different vector dimensions 2 and 1', 'l1_distance dims');
SELECT throws_ok($$SELECT vector_l2_squared_distance('[1,2]', '[1]')$$, '22000', 'different vector dimensions 2 and 1',
	'vector_l2_squared_distance dims');

-- ---- single-vector functions ----
SELECT is((SELECT count(*) FROM ref WHERE vector_dims(va) <> cardinality(a)), 0::bigint, 'vector_dims');
SELECT is((SELECT count(*) FROM ref WHERE abs(vector_norm(va) - norm) > 1e-12 * norm), 0::bigint,
	'vector_norm matches the reference');
SELECT is((SELECT count(*) FROM ref r WHERE EXISTS (
		SELECT FROM unnest(l2_normalize(va)::real[], a) u(y, x)
		WHERE abs(y - x / r.norm) > 1e-6 * abs(x / r.norm) + 1e-12)), 0::bigint,
	'l2_normalize divides by the norm');
SELECT is((SELECT count(*) FROM ref WHERE abs(vector_norm(l2_normalize(va)) - 1) > 1e-6), 0::bigint,
	'l2_normalize has norm 1');
SELECT is(l2_normalize('[0,0,0]')::text, '[0,0,0]', 'l2_normalize keeps the zero vector');
SELECT is(l2_normalize('[3,4]')::real[], ARRAY[0.6, 0.8]::real[], 'l2_normalize 3-4-5');

SELECT is((SELECT count(*) FROM ref, LATERAL (SELECT s, c FROM generate_series(-2, 5) s, generate_series(1, 4) c) p
		   WHERE greatest(s, 1) <= least(s + c - 1, cardinality(a))
		   AND subvector(va, s, c)::real[] IS DISTINCT FROM a[greatest(s, 1):least(s + c - 1, cardinality(a))]), 0::bigint,
	'subvector matches array slices, clipped like substring');
SELECT is(subvector('[1,2,3,4,5]', 2, 3)::text, '[2,3,4]', 'subvector middle');
SELECT is(subvector('[1,2,3,4,5]', 0, 3)::text, '[1,2]', 'subvector before start is clipped');
SELECT is(subvector('[1,2,3,4,5]', 4, 2147483647)::text, '[4,5]', 'subvector with a huge count');
SELECT throws_ok($$SELECT subvector('[1,2,3]', 4, 1)$$, '22000', 'vector must have at least 1 dimension', 'subvector past the end');
SELECT throws_ok($$SELECT subvector('[1,2,3]', 1, 0)$$, '22000', 'vector must have at least 1 dimension', 'subvector count 0');
SELECT throws_ok($$SELECT subvector('[1,2,3]', -5, 3)$$, '22000', 'vector must have at least 1 dimension', 'subvector before the start');
SELECT throws_ok($$SELECT subvector('[1,2,3]', 2147483647, 2147483647)$$, '22000', 'vector must have at least 1 dimension',
	'subvector without integer overflow');

SELECT is((SELECT count(*) FROM ref WHERE binary_quantize(va)::text <>
		   (SELECT string_agg(CASE WHEN x > 0 THEN '1' ELSE '0' END, '' ORDER BY o) FROM unnest(a) WITH ORDINALITY u(x, o))), 0::bigint,
	'binary_quantize sets bit i when x[i] > 0');
SELECT is(binary_quantize('[1,0,-1,0.5,2,-3,4,5,6]'), B'100110111', 'binary_quantize example (9 bits)');
SELECT is(pg_typeof(binary_quantize('[1]'))::text, 'bit', 'binary_quantize returns bit');

-- ---- arithmetic (core float4 arithmetic gives the exact expectation) ----
SELECT is((SELECT count(*) FROM ref WHERE (va + vb)::real[] IS DISTINCT FROM
		   (SELECT array_agg(x + y ORDER BY o) FROM unnest(a, b) WITH ORDINALITY u(x, y, o))), 0::bigint, '+ is elementwise');
SELECT is((SELECT count(*) FROM ref WHERE (va - vb)::real[] IS DISTINCT FROM
		   (SELECT array_agg(x - y ORDER BY o) FROM unnest(a, b) WITH ORDINALITY u(x, y, o))), 0::bigint, '- is elementwise');
SELECT is((SELECT count(*) FROM ref WHERE (va * vb)::real[] IS DISTINCT FROM
		   (SELECT array_agg(x * y ORDER BY o) FROM unnest(a, b) WITH ORDINALITY u(x, y, o))), 0::bigint, '* is elementwise');
SELECT is((SELECT count(*) FROM ref WHERE vector_add(va, vb)::text <> (va + vb)::text
		   OR vector_sub(va, vb)::text <> (va - vb)::text OR vector_mul(va, vb)::text <> (va * vb)::text), 0::bigint,
	'vector_add/sub/mul are the operators');
SELECT is((SELECT count(*) FROM ref WHERE (va || vb)::real[] IS DISTINCT FROM a || b
		   OR vector_concat(va, vb)::real[] IS DISTINCT FROM a || b), 0::bigint, '|| concatenates');
SELECT is(('[1,2]'::ruvector || '[3]'::ruvector)::text, '[1,2,3]', '|| example');
SELECT throws_ok($$SELECT '[3e38]'::ruvector + '[3e38]'$$, '22003', 'value out of range: overflow', '+ overflow');
SELECT throws_ok($$SELECT '[-3e38]'::ruvector - '[3e38]'$$, '22003', 'value out of range: overflow', '- overflow');
SELECT throws_ok($$SELECT '[1e20]'::ruvector * '[1e20]'$$, '22003', 'value out of range: overflow', '* overflow');
SELECT throws_ok($$SELECT '[1e-30]'::ruvector * '[1e-30]'$$, '22003', 'value out of range: underflow', '* underflow');
SELECT is(('[0,2]'::ruvector * '[1e-30,0]')::text, '[0,0]', '* by zero is not underflow');
SELECT throws_ok($$SELECT '[1,2]'::ruvector + '[1,2,3]'$$, '22000', 'different vector dimensions 2 and 3', '+ dims');
SELECT throws_ok($$SELECT '[1,2]'::ruvector - '[1]'$$, '22000', 'different vector dimensions 2 and 1', '- dims');
SELECT throws_ok($$SELECT '[1]'::ruvector * '[1,2]'$$, '22000', 'different vector dimensions 1 and 2', '* dims');
SELECT throws_ok($$SELECT array_fill(1, ARRAY[8000])::ruvector || array_fill(1, ARRAY[8001])::ruvector$$, '54000',
	'vector cannot have more than 16000 dimensions', '|| beyond 16000 dimensions');
SELECT is(vector_dims(array_fill(1, ARRAY[8000])::ruvector || array_fill(2, ARRAY[8000])::ruvector), 16000,
	'|| up to 16000 dimensions');

SELECT * FROM finish();
