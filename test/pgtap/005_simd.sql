-- ruvector_simd_info(): the run-time kernel choice is reported consistently.
-- (Whether it matches /proc/cpuinfo is checked by test/t/005_kernels.pl.)
SELECT plan(12);

SELECT has_function('ruvector_simd_info', ARRAY[]::text[], 'ruvector_simd_info() exists');
SELECT function_returns('ruvector_simd_info', ARRAY[]::text[], 'jsonb', 'it returns jsonb');
SELECT is((SELECT p.prosecdef FROM pg_proc p WHERE p.proname = 'ruvector_simd_info'),
	false, 'it is not SECURITY DEFINER');

SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(ruvector_simd_info()) AS k),
	ARRAY['active', 'arch', 'available', 'cpu'], 'top-level keys');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(ruvector_simd_info()->'cpu') AS k),
	ARRAY['avx2', 'avx512f', 'fma', 'neon', 'sse2'], 'cpu feature keys');
SELECT ok((SELECT bool_and(jsonb_typeof(v) = 'boolean')
	FROM jsonb_each(ruvector_simd_info()->'cpu') AS e(k, v)), 'cpu features are booleans');
SELECT ok(jsonb_typeof(ruvector_simd_info()->'available') = 'array'
	AND jsonb_array_length(ruvector_simd_info()->'available') >= 1, 'available is a non-empty array');
SELECT is(ruvector_simd_info()->>'active', ruvector_simd_info()->'available'->>0,
	'active is the first (best) available');
SELECT is(ruvector_simd_info()->'available'->>-1, 'scalar', 'scalar is always available, last');
SELECT ok((SELECT bool_and(x IN ('avx512f', 'avx2+fma', 'sse2', 'neon', 'scalar'))
	FROM jsonb_array_elements_text(ruvector_simd_info()->'available') AS x), 'known kernel names only');

-- The best kernels the reported features allow (every one is compiled in on
-- x86_64 and aarch64).
SELECT is(i->>'active',
	CASE
		WHEN i->>'arch' = 'x86_64' AND (i->'cpu'->>'avx512f')::bool
			AND (i->'cpu'->>'avx2')::bool AND (i->'cpu'->>'fma')::bool THEN 'avx512f'
		WHEN i->>'arch' = 'x86_64' AND (i->'cpu'->>'avx2')::bool
			AND (i->'cpu'->>'fma')::bool THEN 'avx2+fma'
		WHEN i->>'arch' = 'x86_64' AND (i->'cpu'->>'sse2')::bool THEN 'sse2'
		WHEN i->>'arch' = 'aarch64' AND (i->'cpu'->>'neon')::bool THEN 'neon'
		ELSE 'scalar'
	END, 'active is the best kernel the CPU features allow')
FROM ruvector_simd_info() AS i;

-- Every kernel the features allow is listed, and none they forbid.
SELECT is(i->'available',
	(SELECT jsonb_agg(name ORDER BY ord) FROM (VALUES
		(1, 'avx512f', i->>'arch' = 'x86_64' AND (i->'cpu'->>'avx512f')::bool
			AND (i->'cpu'->>'avx2')::bool AND (i->'cpu'->>'fma')::bool),
		(2, 'avx2+fma', i->>'arch' = 'x86_64' AND (i->'cpu'->>'avx2')::bool AND (i->'cpu'->>'fma')::bool),
		(3, 'sse2', i->>'arch' = 'x86_64' AND (i->'cpu'->>'sse2')::bool),
		(4, 'neon', i->>'arch' = 'aarch64' AND (i->'cpu'->>'neon')::bool),
		(5, 'scalar', true)) AS v(ord, name, usable) WHERE usable),
	'available matches the CPU features, best first')
FROM ruvector_simd_info() AS i;

SELECT * FROM finish();
