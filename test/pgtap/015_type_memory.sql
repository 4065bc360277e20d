-- ruvector_memory_detailed() and ruvector_reset_peak_memory(): vectors are
-- counted when built, uncounted when their memory context goes away, the
-- peak tracks the high-water mark.
SELECT plan(15);

-- mem(): this backend's counters as a record.
CREATE FUNCTION pg_temp.mem(OUT cur bigint, OUT peak bigint, OUT allocs bigint, OUT zc bigint, OUT cp bigint)
LANGUAGE sql AS $$
	SELECT (j->>'current_bytes')::bigint, (j->>'peak_bytes')::bigint, (j->>'allocations')::bigint,
		(j->>'zero_copy_resolutions')::bigint, (j->>'copied_resolutions')::bigint
	FROM ruvector_memory_detailed() j
$$;

-- hold(n): runs one statement holding n 64-dim vector constants at once
-- (all parsed into the statement's context, freed with it) and returns
-- the counters before, inside (peak) and after.
CREATE FUNCTION pg_temp.hold(n int, OUT cur0 bigint, OUT allocs0 bigint, OUT peak1 bigint,
	OUT cur2 bigint, OUT allocs2 bigint) LANGUAGE plpgsql AS $$
DECLARE
	lit text := '''' || array_fill(1.5, ARRAY[64])::ruvector::text || '''::ruvector';
	q text;
BEGIN
	SELECT cur, allocs INTO cur0, allocs0 FROM pg_temp.mem();
	PERFORM ruvector_reset_peak_memory();
	q := 'SELECT count(*) FROM (VALUES (' ||
		(SELECT string_agg(lit, '), (') FROM generate_series(1, n)) || ')) v(x)';
	EXECUTE q;
	SELECT peak, cur, allocs INTO peak1, cur2, allocs2 FROM pg_temp.mem();
END $$;

SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(ruvector_memory_detailed()) k),
	ARRAY['allocations', 'copied_resolutions', 'current_bytes', 'peak_bytes', 'zero_copy_resolutions'],
	'ruvector_memory_detailed() has the five counters');
SELECT is((SELECT count(*) FROM jsonb_each(ruvector_memory_detailed()) WHERE jsonb_typeof(value) <> 'number'),
	0::bigint, 'all counters are numbers');
SELECT is((SELECT zc + cp FROM pg_temp.mem()), 0::bigint, 'no vref resolutions without ruvector tables');

CREATE TEMP TABLE h AS SELECT * FROM pg_temp.hold(2000);
SELECT cmp_ok((SELECT allocs2 - allocs0 FROM h), '>=', 2000::bigint, 'each vector built counts as an allocation');
-- a 64-dim vector is 264 bytes; 2000 of them live at once
SELECT cmp_ok((SELECT peak1 - cur0 FROM h), '>=', (2000 * (8 + 64 * 4))::bigint,
	'the peak covers all vectors alive at once');
SELECT cmp_ok((SELECT cur2 FROM h), '<=', (SELECT cur0 + 4096 FROM h),
	'current_bytes goes back down when the statement''s memory is freed');
SELECT cmp_ok((SELECT cur2 FROM h), '>=', 0::bigint, 'current_bytes never goes negative');

-- per-row memory is released row by row: the peak stays small
SELECT lives_ok($$SELECT ruvector_reset_peak_memory()$$, 'reset peak');
SELECT is((SELECT peak - cur FROM pg_temp.mem()), 0::bigint, 'after reset, peak equals current');
CREATE TEMP TABLE before_rows AS SELECT * FROM pg_temp.mem();
SELECT is((SELECT count(x) FROM (SELECT ('[' || i || ',1,2]')::ruvector + '[1,1,1]' x FROM generate_series(1, 20000) i) s),
	20000::bigint, 'build 40000 vectors, one row at a time');
SELECT cmp_ok((SELECT m.allocs - b.allocs FROM pg_temp.mem() m, before_rows b), '>=', 40000::bigint,
	'all 40000 allocations counted');
SELECT cmp_ok((SELECT m.peak - b.cur FROM pg_temp.mem() m, before_rows b), '<', 40000 * 24::bigint,
	'per-tuple resets release vectors (peak far below the total)');
SELECT cmp_ok((SELECT m.cur FROM pg_temp.mem() m), '<=', (SELECT cur + 4096 FROM before_rows),
	'current_bytes back to the baseline after the query');

-- counters are per backend and survive errors
SELECT throws_ok($$SELECT '[1,2]'::ruvector + '[1,2,3]'$$, '22000', 'different vector dimensions 2 and 3',
	'an error while vectors are alive');
SELECT cmp_ok((SELECT m.cur FROM pg_temp.mem() m), '<=', (SELECT cur + 4096 FROM before_rows),
	'current_bytes back to the baseline after an error');

SELECT * FROM finish();
