-- Lossy cold storage: a table whose policy has lossy_cold keeps only codes
-- in cold (1-bit search records and SQ8 records as the payload).  Checked
-- against a heap twin of the exact vectors: every component read back is
-- within half a quantization step (scale / 2, scale = (max - min) / 255
-- of that vector) of the original, and most vectors differ from it (the
-- run is really lossy).  Checked against a heap table of the vectors read
-- back (the reconstructions): the exact k-NN scan and ruhnsw return their
-- distances, UPDATE, DELETE and VACUUM (whose compaction rewrites the
-- runs) keep them bit for bit, and so does a move back to warm.  The lossy
-- cold relation is smaller than a lossless one of the same data; a table
-- with the default policy stays lossless; VACUUM under a lossy policy
-- leaves existing lossless cold runs alone, ruvector_compact(tbl, 'cold')
-- converts them, to the very same reconstructions.  Recall, errors and
-- sizes are printed as diag.
SELECT plan(45);

CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint8(seed::bigint * 100003 + i) % 20000) / 100.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

CREATE TABLE lc (id int PRIMARY KEY, v ruvector(64)) USING ruvector;
CREATE TABLE ll (id int PRIMARY KEY, v ruvector(64)) USING ruvector;
CREATE TABLE orig (id int PRIMARY KEY, v ruvector(64));
INSERT INTO orig SELECT g, mk(64, g) FROM generate_series(1, 4100) g;
INSERT INTO lc SELECT * FROM orig;
INSERT INTO ll SELECT * FROM orig;
CREATE TABLE queries AS SELECT q, mk(64, 900000 + q) AS v FROM generate_series(1, 25) q;
CREATE INDEX lc_l2 ON lc USING ruhnsw (v vector_l2_ops);
CREATE INDEX ll_l2 ON ll USING ruhnsw (v vector_l2_ops);
ANALYZE lc, ll, orig;

-- rows of a whose vector differs from b's (bit for bit, via text), both ways
CREATE FUNCTION pg_temp.diff(a regclass, b regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($q$SELECT count(*) FROM (
		(SELECT id, v::text FROM %1$s EXCEPT SELECT id, v::text FROM %2$s)
		UNION ALL
		(SELECT id, v::text FROM %2$s EXCEPT SELECT id, v::text FROM %1$s)) x$q$, a, b) INTO n;
	RETURN n;
END $$;

-- rows of t that break the bound against the vectors of ref, and rows not
-- bit-identical to them; the largest error in quantization steps
CREATE FUNCTION pg_temp.bound(t regclass, ref regclass, OUT violations bigint, OUT differing bigint,
	OUT matched bigint, OUT worst float8) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		SELECT count(*) FILTER (WHERE e.err > e.scale / 2 * (1 + 1e-6) + 2.0 ^ -23 * e.maxabs),
			count(*) FILTER (WHERE r.v::text <> o.v::text), count(*),
			max(e.err / nullif(e.scale, 0))
		FROM %s r JOIN %s o USING (id),
		LATERAL (SELECT max(abs(a::float8 - b::float8)) AS err,
				(max(b::float8) - min(b::float8)) / 255 AS scale, max(abs(b::float8)) AS maxabs
			FROM unnest(r.v::real[], o.v::real[]) u(a, b)) e$q$, t, ref)
		INTO violations, differing, matched, worst;
END $$;

-- the exact k-NN scan (no index) of a against b: ids and distances, both ways
CREATE FUNCTION pg_temp.exact_diff(a regclass, b regclass, op text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	r record;
	n bigint := 0;
	m bigint;
BEGIN
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format($q$SELECT count(*) FROM (
			(SELECT id, d FROM (SELECT id, v %3$s $1 AS d FROM %1$s ORDER BY v %3$s $1, id LIMIT 10) x
			 EXCEPT SELECT id, d FROM (SELECT id, v %3$s $1 AS d FROM %2$s ORDER BY v %3$s $1, id LIMIT 10) y)
			UNION ALL
			(SELECT id, d FROM (SELECT id, v %3$s $1 AS d FROM %2$s ORDER BY v %3$s $1, id LIMIT 10) y
			 EXCEPT SELECT id, d FROM (SELECT id, v %3$s $1 AS d FROM %1$s ORDER BY v %3$s $1, id LIMIT 10) x)) z$q$,
			a, b, op)
			INTO m USING r.v;
		n := n + m;
	END LOOP;
	RETURN n;
END $$;

-- ruhnsw on lc: distances those of twin's vectors for the ids, in order
CREATE FUNCTION pg_temp.index_ok(twin regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r record;
	bad int;
BEGIN
	SET LOCAL enable_seqscan = off;
	FOR r IN SELECT q, v FROM queries LOOP
		EXECUTE format($q$
			WITH s AS (SELECT row_number() OVER () AS pos, id, d
					   FROM (SELECT id, v <-> $1 AS d FROM lc ORDER BY v <-> $1 LIMIT 10) x)
			SELECT count(*) FROM s
			WHERE d IS DISTINCT FROM (SELECT t.v <-> $1 FROM %s t WHERE t.id = s.id)
			   OR d < (SELECT max(d) FROM s s2 WHERE s2.pos < s.pos)$q$, twin)
			INTO bad USING r.v;
		IF bad > 0 THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;
-- ruhnsw's recall@10 on t against the exact top 10 of twin
CREATE FUNCTION pg_temp.recall(t regclass, twin regclass) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	r record;
	hits bigint := 0;
	got int[];
	want int[];
BEGIN
	FOR r IN SELECT q, v FROM queries LOOP
		SET LOCAL enable_seqscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> $1 LIMIT 10) s', t)
			INTO got USING r.v;
		SET LOCAL enable_seqscan = on;
		SET LOCAL enable_indexscan = off;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v <-> $1, id LIMIT 10) s', twin)
			INTO want USING r.v;
		SET LOCAL enable_indexscan = on;
		SELECT hits + count(*) INTO hits FROM unnest(got) g WHERE g = ANY (want);
	END LOOP;
	RETURN round(hits::numeric / (10 * (SELECT count(*) FROM queries)), 4);
END $$;

CREATE FUNCTION pg_temp.cold_bytes(t regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT coalesce(sum(bytes), 0)::bigint FROM ruvector_storage_report(t) WHERE tier = 'cold' $$;

SET ruvector.ef_search = 100;
CREATE TEMP TABLE hot_recall AS SELECT pg_temp.recall('lc', 'orig') AS r;

-- lc: a policy of lossy cold at once; VACUUM moves every segment there
SELECT lives_ok($$SELECT ruvector_set_tiers('lc', cold_after => '0 seconds', lossy_cold => true)$$,
	'a policy of lossy cold at once is set');
SELECT is((SELECT lossy_cold FROM ruvector_tier_policy WHERE relid = 'lc'::regclass), true,
	'the policy row has lossy_cold');
VACUUM lc;
SELECT is((SELECT live_vectors FROM ruvector_storage_report('lc') WHERE tier = 'cold'), 4100::bigint,
	'VACUUM moved every vector to cold by the policy');
-- ll: the same data, lossless cold (the default policy)
SELECT is((SELECT segments_moved FROM ruvector_compact('ll', 'cold')), 3::bigint,
	'the lossless twin: all 3 segments sealed into cold');

CREATE TEMP TABLE lossy0 AS SELECT pg_temp.cold_bytes('lc') AS b;
CREATE TEMP TABLE b AS SELECT * FROM pg_temp.bound('lc', 'orig');
SELECT diag(format('lossy cold: worst error %s quantization steps; %s of %s vectors differ from the original',
	round((SELECT worst FROM b)::numeric, 6), (SELECT differing FROM b), (SELECT matched FROM b)));
SELECT is((SELECT matched FROM b), 4100::bigint, 'every row has its original');
SELECT is((SELECT violations FROM b), 0::bigint,
	'every component within scale / 2 of the original (scale = (max - min) / 255 of the vector)');
SELECT cmp_ok((SELECT differing FROM b), '>=', 4000::bigint, 'nearly every vector differs from the original: lossy');
SELECT cmp_ok((SELECT worst FROM b), '>', 0.4::float8, 'errors reach towards half a step (the bound is not loose)');
SELECT is(pg_temp.diff('ll', 'orig'), 0::bigint, 'the default policy''s cold stays lossless, bit for bit');

-- the reconstructions, as the store returns them, in a heap table
CREATE TABLE recon (id int PRIMARY KEY, v ruvector(64));
INSERT INTO recon SELECT id, v FROM lc;
CREATE TABLE recon0 AS SELECT * FROM recon;
ANALYZE recon;
SELECT is(pg_temp.exact_diff('lc', 'recon', '<->'), 0::bigint,
	'exact k-NN scan, L2: ids and distances of the reconstructed vectors');
SELECT is(pg_temp.exact_diff('lc', 'recon', '<#>'), 0::bigint, 'exact k-NN scan, inner product: the same');
SELECT is(pg_temp.exact_diff('lc', 'recon', '<=>'), 0::bigint, 'exact k-NN scan, cosine: the same');
SELECT ok(pg_temp.index_ok('recon'), 'ruhnsw returns the reconstructed vectors'' distances, in order');
SET ruvector.search_codes = bit;
SELECT is(pg_temp.exact_diff('lc', 'recon', '<->'), 0::bigint, 'search_codes bit: exact k-NN scan the same');
SELECT ok(pg_temp.index_ok('recon'), 'search_codes bit: ruhnsw the same');
SET ruvector.search_codes = off;
SELECT is(pg_temp.exact_diff('lc', 'recon', '<->'), 0::bigint, 'search_codes off: exact k-NN scan the same');
SELECT ok(pg_temp.index_ok('recon'), 'search_codes off: ruhnsw the same');
RESET ruvector.search_codes;
CREATE TEMP TABLE lossy_recall AS SELECT pg_temp.recall('lc', 'recon') AS r;
CREATE TEMP TABLE lossless_recall AS SELECT pg_temp.recall('ll', 'orig') AS r;
SELECT diag(format('recall@10 at ef_search 100: hot %s, lossless cold %s, lossy cold %s (against the exact top 10 of the reconstructions)',
	(SELECT r FROM hot_recall), (SELECT r FROM lossless_recall), (SELECT r FROM lossy_recall)));
-- 1-bit codes of 64 dims are coarse (055_tiers allows cold 0.15 below
-- hot; make bench-tiers measures 784 dims); measured here: lossy 0.852,
-- lossless 0.844, hot 0.988
SELECT cmp_ok((SELECT r FROM lossy_recall), '>=', 0.80, 'ruhnsw recall@10 on lossy cold at least 0.80');
SELECT cmp_ok((SELECT r FROM lossy_recall), '>=', (SELECT r FROM lossless_recall) - 0.05,
	'ruhnsw recall@10 on lossy cold within 0.05 of lossless cold''s');
SELECT is((SELECT count(*) FROM ruvector_verify('lc')), 0::bigint, 'lossy cold: verify clean');
SELECT is((SELECT count(*) FROM ruvector_verify('ll')), 0::bigint, 'lossless cold: verify clean');

-- disk: the lossy cold relation against the lossless one
SELECT diag(format('cold bytes per vector (64 dims, raw 256): lossy %s, lossless %s',
	round(pg_temp.cold_bytes('lc') / 4100.0, 1), round(pg_temp.cold_bytes('ll') / 4100.0, 1)));
SELECT cmp_ok(pg_temp.cold_bytes('lc'), '<', pg_temp.cold_bytes('ll') * 6 / 10,
	'lossy cold takes less than 60% of the lossless cold bytes');
SELECT is((SELECT resident_bytes FROM ruvector_storage_report('lc') WHERE tier = 'cold'),
	(SELECT resident_bytes FROM ruvector_storage_report('ll') WHERE tier = 'cold'),
	'the search codes (resident bytes) are as many as lossless cold''s');

-- writes against lossy rows, mirrored on the reconstructions (the policy
-- now moves nothing, so that the changed vectors stay hot and exact)
SELECT ruvector_set_tiers('lc', cold_after => '100 years', lossy_cold => true);
UPDATE lc SET v = mk(64, 600000 + id) WHERE id % 11 = 0;
UPDATE recon SET v = mk(64, 600000 + id) WHERE id % 11 = 0;
DELETE FROM lc WHERE id % 3 = 0;
DELETE FROM recon WHERE id % 3 = 0;
SELECT is(pg_temp.diff('lc', 'recon'), 0::bigint, 'UPDATE and DELETE of lossy rows: contents as the twin''s');
SELECT is((SELECT v::text FROM lc WHERE id = 11), mk(64, 600011)::text,
	'an updated vector is stored exactly (in hot)');
CREATE TEMP TABLE before_vac AS SELECT pg_temp.cold_bytes('lc') AS b;
VACUUM lc;
SELECT is((SELECT dead_vectors FROM ruvector_storage_report('lc') WHERE tier = 'cold'), 0::bigint,
	'VACUUM freed the deleted rows'' lossy vids');
SELECT cmp_ok(pg_temp.cold_bytes('lc'), '<', (SELECT b FROM before_vac),
	'VACUUM compacted the lossy cold segments');
SELECT is(pg_temp.diff('lc', 'recon'), 0::bigint,
	'after VACUUM''s compaction: the reconstructions bit for bit (no drift)');
SELECT cmp_ok(pg_temp.cold_bytes('lc'), '<',
	(SELECT live_vectors FROM ruvector_storage_report('lc') WHERE tier = 'cold') * pg_temp.cold_bytes('ll') / 4100 * 6 / 10,
	'the compacted runs are still lossy (under 60% of lossless bytes per vector)');
SELECT is(pg_temp.exact_diff('lc', 'recon', '<->'), 0::bigint, 'after VACUUM: exact k-NN scan as the twin''s');
SELECT ok(pg_temp.index_ok('recon'), 'after VACUUM: ruhnsw distances the twin''s, in order');
SELECT is((SELECT count(*) FROM ruvector_verify('lc')), 0::bigint, 'after VACUUM: verify clean');

-- back to warm: the reconstructions are the vectors from now on
SELECT cmp_ok((SELECT segments_moved FROM ruvector_compact('lc', 'warm')), '>=', 3::bigint,
	'the lossy cold segments move to warm');
SELECT is((SELECT count(*) FROM ruvector_storage_report('lc') WHERE tier = 'cold' AND live_vectors > 0), 0::bigint,
	'nothing left in cold');
SELECT is(pg_temp.diff('lc', 'recon'), 0::bigint, 'in warm: the reconstructions bit for bit');
SELECT is(pg_temp.exact_diff('lc', 'recon', '<->'), 0::bigint, 'in warm: exact k-NN scan as the twin''s');
SELECT is((SELECT count(*) FROM ruvector_verify('lc')), 0::bigint, 'in warm: verify clean');
-- and into cold again (the policy is still lossy): encoded anew from the
-- warm vectors, within the bound of them
SELECT cmp_ok((SELECT segments_moved FROM ruvector_compact('lc', 'cold')), '>=', 3::bigint,
	'into lossy cold again');
SELECT is((SELECT violations FROM pg_temp.bound('lc', 'recon')), 0::bigint,
	'lossy again: every component within scale / 2 of the warm vectors');

-- a lossless cold table whose policy becomes lossy
SELECT lives_ok($$SELECT ruvector_set_tiers('ll', cold_after => '0 seconds', lossy_cold => true)$$,
	'the lossless table gets a lossy policy');
VACUUM ll;
SELECT is(pg_temp.diff('ll', 'orig'), 0::bigint, 'VACUUM leaves its existing lossless cold runs as they are');
SELECT is((SELECT segments_moved FROM ruvector_compact('ll', 'cold')), 3::bigint,
	'ruvector_compact(tbl, ''cold'') rewrites the 3 lossless cold runs lossy');
SELECT is(pg_temp.diff('ll', 'recon0'), 0::bigint,
	'converted: the same reconstructions as sealing the originals lossy from hot');
SELECT diag(format('converted: %s cold bytes; the lossy table had %s', pg_temp.cold_bytes('ll'),
	(SELECT b FROM lossy0)));
SELECT cmp_ok(pg_temp.cold_bytes('ll'), '<=', (SELECT b FROM lossy0) + 3 * 8192,
	'converted: as small as the lossy table''s cold was');
SELECT is((SELECT count(*) FROM ruvector_verify('ll')), 0::bigint, 'converted: verify clean');

SELECT * FROM finish();
