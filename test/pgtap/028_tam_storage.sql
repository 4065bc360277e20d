-- Table AM ruvector: storage efficiency (hot-store bytes / (live vectors
-- x (4 x dims + the page share of one SQ8 code record and of one bit
-- record)) <= 1.05 for 128, 768, 784, 1536 and 3072 dims, metapage,
-- segment meta pages and code pages included; a code page holds
-- floor(8064 / code_stride) records of code_stride = 12 + dims rounded up
-- to 4 bytes; a bit page floor(8064 / bit_stride) of bit_stride = 16 +
-- dims rounded up to 64 bits, for dims <= 1984), VACUUM slot reuse (delete half, VACUUM,
-- re-insert as many: store pages grow by at most 5%), and zero-copy
-- resolution (768 dims resolve in place, 128 dims are copied).
SELECT plan(15);

CREATE FUNCTION pg_temp.mem(key text) RETURNS bigint LANGUAGE sql AS $$
	SELECT (ruvector_memory_detailed() ->> key)::bigint
$$;

DO $$
DECLARE
	d int;
BEGIN
	FOREACH d IN ARRAY ARRAY[128, 768, 784, 1536, 3072] LOOP
		EXECUTE format('CREATE TABLE e%s (id int, v ruvector(%s)) USING ruvector', d, d);
		EXECUTE format('INSERT INTO e%s SELECT g, array_fill((g %% 1000)::real / 7, ARRAY[%s])::ruvector
			FROM generate_series(1, 3000) g', d, d);
	END LOOP;
END $$;
CREATE TEMP TABLE eff AS
	SELECT d, rep.live_vectors, rep.bytes, rep.pages,
		   round(rep.bytes::numeric / (rep.live_vectors * 4 * d), 4) AS raw_ratio,
		   round(rep.bytes::numeric / (rep.live_vectors *
				 (4 * d + 8192.0 / floor(8064 / (ceil((12 + d) / 4.0) * 4)) +
				  CASE WHEN d <= 1984 THEN 8192.0 / floor(8064 / (16 + ceil(d / 64.0) * 8)) ELSE 0 END)),
			 4) AS ratio
	FROM unnest(ARRAY[128, 768, 784, 1536, 3072]) d,
		 LATERAL ruvector_storage_report(format('e%s', d)::regclass) rep;
SELECT diag(format('%s dims: %s live, %s pages, %s bytes, %s x the floats, %s x floats, codes and bits',
		d, live_vectors, pages, bytes, raw_ratio, ratio))
	FROM eff ORDER BY d;
SELECT cmp_ok(ratio, '<=', 1.05, format('%s dims: store bytes / (vector + code + bit bytes) <= 1.05 (%s)', d, ratio))
	FROM eff ORDER BY d;
SELECT is((SELECT sum(live_vectors) FROM eff), 15000::numeric, 'every vector counted live');

-- zero-copy: a 768-d scan resolves in place, a 128-d scan copies (dense layout)
CREATE TEMP TABLE m0 AS SELECT pg_temp.mem('zero_copy_resolutions') AS z, pg_temp.mem('copied_resolutions') AS c;
SELECT count(*) FROM e768 WHERE vector_norm(v) >= 0;
CREATE TEMP TABLE m1 AS SELECT pg_temp.mem('zero_copy_resolutions') AS z, pg_temp.mem('copied_resolutions') AS c;
SELECT count(*) FROM e128 WHERE vector_norm(v) >= 0;
CREATE TEMP TABLE m2 AS SELECT pg_temp.mem('zero_copy_resolutions') AS z, pg_temp.mem('copied_resolutions') AS c;
SELECT diag(format('768 dims: %s zero-copy, %s copied; 128 dims: %s zero-copy, %s copied',
	m1.z - m0.z, m1.c - m0.c, m2.z - m1.z, m2.c - m1.c)) FROM m0, m1, m2;
SELECT is((SELECT (m1.z - m0.z) + (m1.c - m0.c) FROM m0, m1), 3000::bigint, '768 dims: one resolution per row');
-- slots straddling a page boundary (about one per page at 768 dims) are copied
SELECT cmp_ok((SELECT m1.z - m0.z FROM m0, m1), '>=', 1500::bigint, '768 dims: most resolutions are zero-copy');
SELECT cmp_ok((SELECT m1.z - m0.z FROM m0, m1), '>', (SELECT m1.c - m0.c FROM m0, m1), '768 dims: more zero-copy than copies');
SELECT is((SELECT m2.z - m1.z FROM m1, m2), 0::bigint, '128 dims: no zero-copy resolution');
SELECT is((SELECT m2.c - m1.c FROM m1, m2), 3000::bigint, '128 dims: every resolution copies');

-- VACUUM reclaims slots: delete half, VACUUM, re-insert as many rows
CREATE TEMP TABLE p0 AS SELECT pages FROM ruvector_storage_report('e768');
DELETE FROM e768 WHERE id % 2 = 0;
VACUUM e768;
SELECT results_eq($$SELECT live_vectors, dead_vectors, free_slots FROM ruvector_storage_report('e768')$$,
	$$VALUES (1500::bigint, 0::bigint, 1500::bigint)$$, 'VACUUM freed the deleted rows'' slots');
INSERT INTO e768 SELECT g, array_fill(g::real, ARRAY[768])::ruvector FROM generate_series(3001, 4500) g;
SELECT cmp_ok((SELECT pages FROM ruvector_storage_report('e768')), '<=', (SELECT ceil(pages * 1.05)::bigint FROM p0),
	'store pages grow by at most 5% after re-inserting');
SELECT results_eq($$SELECT live_vectors, dead_vectors, free_slots FROM ruvector_storage_report('e768')$$,
	$$VALUES (3000::bigint, 0::bigint, 0::bigint)$$, 'every free slot reused');
SELECT is((SELECT count(*) FROM e768 WHERE v <> array_fill(CASE WHEN id > 3000 THEN id ELSE (id % 1000)::real / 7 END::real,
	ARRAY[768])::ruvector), 0::bigint, 'reused slots hold the right vectors');

SELECT * FROM finish();
