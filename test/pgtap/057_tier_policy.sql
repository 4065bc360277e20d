-- Tier policy and VACUUM compaction: ruvector_set_tiers validates and
-- stores a table's policy (ruvector_tier_policy), creates the tier
-- relations VACUUM needs, and VACUUM moves segments older than a tier's
-- interval there; DROP TABLE forgets the policy.  After deleting 90% of a
-- table and one VACUUM, the store's files are within 10% of the live
-- vectors' bytes, and the table still equals its heap twin.
SELECT plan(32);

CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint4(seed * 7919 + i) % 1000) / 100.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

CREATE TABLE p (id int PRIMARY KEY, v ruvector(32)) USING ruvector;
CREATE TABLE p_heap (id int PRIMARY KEY, v ruvector(32));
INSERT INTO p_heap SELECT g, mk(32, g) FROM generate_series(1, 2500) g;
INSERT INTO p SELECT * FROM p_heap;

-- bad calls
SELECT throws_ok($$SELECT ruvector_set_tiers('p', warm_after => '-1 hour')$$, '22023',
	'warm_after must not be negative', 'a negative interval is refused');
SELECT throws_ok($$SELECT ruvector_set_tiers('p', warm_after => '2 days', cool_after => '1 day')$$, '22023',
	'cool_after must not be shorter than a warmer tier''s interval', 'a colder tier may not come sooner');
SELECT throws_ok($$SELECT ruvector_set_tiers('p_heap', warm_after => '1 day')$$, '42809',
	'"p_heap" is not a ruvector table', 'a heap table is refused');
SELECT throws_ok($$SELECT ruvector_set_tiers('p', cold_tablespace => 'no_such_space')$$, '42704',
	'tablespace "no_such_space" does not exist', 'an unknown tablespace is refused');
SELECT throws_ok($$SELECT ruvector_set_tiers('p', warm_tablespace => 'pg_global')$$, '22023',
	'only shared relations can be placed in pg_global tablespace', 'pg_global is refused');
SELECT throws_ok($$SELECT ruvector_set_tiers('p', warm_after => '1 day', heat_threshold => 0)$$, '22023',
	'heat_threshold must be a positive number of reads', 'a heat threshold of 0 is refused');
SELECT throws_ok($$SELECT ruvector_set_tiers('p', heat_threshold => 'infinity')$$, '22023',
	'heat_threshold must be a positive number of reads', 'an infinite heat threshold is refused');
SELECT throws_ok($$SELECT ruvector_set_tiers('p', heat_threshold => 10, heat_half_life => '0 s')$$, '22023',
	'heat_half_life must be positive', 'a heat half-life of 0 is refused');
CREATE ROLE policy_stranger;
GRANT EXECUTE ON FUNCTION ruvector_set_tiers(regclass, interval, interval, interval, bool, name, name, name,
	float8, interval) TO policy_stranger;
SET ROLE policy_stranger;
SELECT throws_ok($$SELECT ruvector_set_tiers('p', warm_after => '1 day')$$, '42501',
	'must be owner of table p', 'only the owner sets a policy');
RESET ROLE;
SELECT is((SELECT count(*) FROM ruvector_tier_policy), 0::bigint, 'refused calls store no policy');

-- a policy nothing is old enough for: VACUUM moves nothing
SELECT lives_ok($$SELECT ruvector_set_tiers('p', warm_after => '1 day', cold_after => '30 days')$$,
	'a policy is set');
SELECT results_eq($$SELECT warm_after, cool_after, cold_after FROM ruvector_tier_policy WHERE relid = 'p'::regclass$$,
	$$VALUES ('1 day'::interval, NULL::interval, '30 days'::interval)$$, 'the policy row');
SELECT results_eq($$SELECT lossy_cold, warm_tablespace, cool_tablespace, cold_tablespace, heat_threshold,
	heat_half_life FROM ruvector_tier_policy WHERE relid = 'p'::regclass$$,
	$$VALUES (false, NULL::oid, NULL::oid, NULL::oid, NULL::float8, '1 hour'::interval)$$,
	'the policy row''s defaults: lossless, the table''s tablespace, no heat threshold');
SELECT lives_ok($$SELECT ruvector_set_tiers('p', warm_after => '1 day', cold_after => '30 days',
	warm_tablespace => 'pg_default', heat_threshold => 100, heat_half_life => '1 day')$$,
	'a policy with a tablespace and heat');
SELECT results_eq($$SELECT warm_tablespace, heat_threshold, heat_half_life FROM ruvector_tier_policy
	WHERE relid = 'p'::regclass$$,
	$$VALUES ((SELECT oid FROM pg_tablespace WHERE spcname = 'pg_default'), 100::float8, '1 day'::interval)$$,
	'the tablespace and heat are stored');
SELECT lives_ok($$SELECT ruvector_set_tiers('p', warm_after => '1 day', cold_after => '30 days')$$,
	'the policy is set again without them');
VACUUM p;
SELECT is((SELECT string_agg(tier, ',' ORDER BY tier) FROM ruvector_storage_report('p')), 'hot',
	'segments younger than every interval stay hot');

-- every segment old enough for warm (interval 0): VACUUM seals them all
SELECT lives_ok($$SELECT ruvector_set_tiers('p', warm_after => '0 seconds')$$, 'a policy of warm at once');
VACUUM p;
SELECT is((SELECT live_vectors FROM ruvector_storage_report('p') WHERE tier = 'warm'), 2500::bigint,
	'VACUUM moved every segment to warm by the policy');
SELECT is((SELECT count(*) FROM ((SELECT id, v::text FROM p EXCEPT SELECT id, v::text FROM p_heap)
	UNION ALL (SELECT id, v::text FROM p_heap EXCEPT SELECT id, v::text FROM p)) x), 0::bigint,
	'after the policy''s moves: contents as the heap''s');
SELECT is((SELECT count(*) FROM ruvector_verify('p')), 0::bigint, 'after the policy''s moves: verify clean');
-- a cold tier the policy names comes with ruvector_set_tiers, and VACUUM uses it
SELECT lives_ok($$SELECT ruvector_set_tiers('p', warm_after => '0 seconds', cold_after => '0 seconds')$$,
	'a policy of cold at once');
VACUUM p;
SELECT is((SELECT live_vectors FROM ruvector_storage_report('p') WHERE tier = 'cold'), 2500::bigint,
	'VACUUM moved every segment on to cold');
SELECT is((SELECT count(*) FROM ((SELECT id, v::text FROM p EXCEPT SELECT id, v::text FROM p_heap)
	UNION ALL (SELECT id, v::text FROM p_heap EXCEPT SELECT id, v::text FROM p)) x), 0::bigint,
	'in cold: contents as the heap''s');
-- no policy: nothing moves back
SELECT lives_ok($$SELECT ruvector_set_tiers('p')$$, 'the policy is cleared');
SELECT is((SELECT count(*) FROM ruvector_tier_policy WHERE relid = 'p'::regclass), 0::bigint, 'no policy row');
VACUUM p;
SELECT is((SELECT live_vectors FROM ruvector_storage_report('p') WHERE tier = 'cold'), 2500::bigint,
	'without a policy VACUUM moves nothing back');
SELECT ruvector_set_tiers('p', warm_after => '1 day');
DROP TABLE p;
SELECT is((SELECT count(*) FROM ruvector_tier_policy), 0::bigint, 'DROP TABLE forgets the policy');

-- delete 90% and VACUUM: the files shrink to within 10% of the live data
CREATE TABLE s (id int PRIMARY KEY, v ruvector(768)) USING ruvector;
CREATE TABLE s_heap (id int PRIMARY KEY, v ruvector(768));
INSERT INTO s_heap SELECT g, mk(768, g) FROM generate_series(1, 6000) g;
INSERT INTO s SELECT * FROM s_heap;
SELECT ruvector_set_tiers('s');		-- no intervals: only the warm relation VACUUM packs into
CREATE TEMP TABLE before AS SELECT sum(bytes) AS b FROM ruvector_storage_report('s');
DELETE FROM s WHERE id % 10 <> 0;
DELETE FROM s_heap WHERE id % 10 <> 0;
VACUUM s;
CREATE TEMP TABLE after AS SELECT sum(bytes) AS b FROM ruvector_storage_report('s');
SELECT diag(format('store files: %s bytes before, %s after deleting 90%% and VACUUM; live vectors %s bytes (ratio %s)',
	(SELECT b FROM before), (SELECT b FROM after), 600 * 768 * 4,
	round((SELECT b FROM after) / (600 * 768 * 4.0), 3)));
SELECT cmp_ok((SELECT b FROM after), '<=', (600 * 768 * 4 * 1.10)::numeric,
	'after deleting 90% and VACUUM: store files within 10% of the live vectors');
SELECT is((SELECT count(*) FROM ((SELECT id, v::text FROM s EXCEPT SELECT id, v::text FROM s_heap)
	UNION ALL (SELECT id, v::text FROM s_heap EXCEPT SELECT id, v::text FROM s)) x), 0::bigint,
	'after the shrink: contents as the heap''s');
SELECT is((SELECT count(*) FROM ruvector_verify('s')), 0::bigint, 'after the shrink: verify clean');
SELECT results_eq($$SELECT id FROM s ORDER BY v <-> mk(768, 77777), id LIMIT 10$$,
	$$SELECT id FROM s_heap ORDER BY v <-> mk(768, 77777), id LIMIT 10$$,
	'after the shrink: exact k-NN as the heap''s');

SELECT * FROM finish();
