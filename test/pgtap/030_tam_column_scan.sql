-- The column scan (Custom Scan "ruvector column scan"): a SELECT that does
-- not read every vector column of a ruvector table resolves only those it
-- reads (none for count(*)), and returns exactly the heap twin's rows.
SELECT plan(22);

CREATE TABLE r (id int PRIMARY KEY, tag int, body text, v ruvector(768), w ruvector(3)) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, tag int, body text, v ruvector(768), w ruvector(3));
INSERT INTO h SELECT g, g % 5, 'row ' || g,
	(SELECT array_agg(((g * 31 + k) % 97)::real) FROM generate_series(1, 768) k)::ruvector,
	CASE WHEN g % 10 = 0 THEN NULL ELSE ARRAY[g, g % 7, 1]::real[]::ruvector END
	FROM generate_series(1, 2000) g;
INSERT INTO r SELECT * FROM h;
DELETE FROM r WHERE id % 9 = 0;
DELETE FROM h WHERE id % 9 = 0;
UPDATE r SET tag = tag + 10 WHERE id % 13 = 0;
UPDATE h SET tag = tag + 10 WHERE id % 13 = 0;
ANALYZE r, h;

CREATE FUNCTION plan_of(q text) RETURNS text LANGUAGE plpgsql AS
$$ DECLARE l text; r text := ''; BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF, VERBOSE) ' || q LOOP r := r || l || E'\n'; END LOOP;
	RETURN r; END $$;
CREATE FUNCTION resolutions() RETURNS bigint LANGUAGE sql AS
$$ SELECT (j ->> 'zero_copy_resolutions')::bigint + (j ->> 'copied_resolutions')::bigint
	FROM ruvector_memory_detailed() j $$;

-- plans
SELECT matches(plan_of('SELECT count(*) FROM r'),
	'Custom Scan \(ruvector column scan\) on public.r.*Vectors Resolved: \n',
	'count(*): the column scan, no vector resolved');
SELECT matches(plan_of('SELECT id, w FROM r WHERE tag = 3'),
	'Custom Scan \(ruvector column scan\).*Filter: \(r.tag = 3\).*Vectors Resolved: w',
	'a query reading w only: the column scan resolves w');
SELECT unalike(plan_of('SELECT id, v, w FROM r'), '%column scan%',
	'every vector column read: the table''s own Seq Scan');
SELECT unalike(plan_of('SELECT r FROM r'), '%column scan%', 'a whole-row reference: Seq Scan');
SELECT unalike(plan_of('UPDATE r SET tag = tag WHERE tag = 1'), '%column scan%', 'UPDATE: not used');
SELECT unalike(plan_of('SELECT id FROM r WHERE tag = 1 FOR UPDATE'), '%column scan%', 'FOR UPDATE: not used');
SET ruvector.enable_column_scan = off;
SELECT unalike(plan_of('SELECT count(*) FROM r'), '%column scan%', 'ruvector.enable_column_scan = off: not used');
RESET ruvector.enable_column_scan;

-- no store page is read for a query that reads no vector
SELECT resolutions() AS before \gset
SELECT is((SELECT count(*) FROM r), (SELECT count(*) FROM h), 'count(*) equals the heap''s');
SELECT is(resolutions() - :before, 0::bigint, '... and resolved no vector');
SELECT resolutions() AS before \gset
SELECT is((SELECT count(*) FROM r WHERE w IS NOT NULL), (SELECT count(*) FROM h WHERE w IS NOT NULL),
	'WHERE w IS NOT NULL equals the heap''s');
SELECT cmp_ok(resolutions() - :before, '<=', (SELECT count(*) FROM h)::bigint,
	'... resolving w only (at most one vector a row)');

-- results against the heap twin
SELECT results_eq('SELECT id, tag, body FROM r WHERE tag IN (1, 11) ORDER BY id',
	'SELECT id, tag, body FROM h WHERE tag IN (1, 11) ORDER BY id', 'non-vector columns with a filter');
SELECT results_eq('SELECT id, w::text FROM r WHERE tag = 3 ORDER BY id',
	'SELECT id, w::text FROM h WHERE tag = 3 ORDER BY id', 'the one vector column read');
SELECT results_eq('SELECT id, w <-> ''[1,1,1]'' FROM r WHERE id < 300 ORDER BY 2, 1',
	'SELECT id, w <-> ''[1,1,1]'' FROM h WHERE id < 300 ORDER BY 2, 1', 'distances on the column read');
SELECT results_eq('SELECT tag, count(*), sum(vector_norm(w))::numeric(20, 4) FROM r GROUP BY tag ORDER BY tag',
	'SELECT tag, count(*), sum(vector_norm(w))::numeric(20, 4) FROM h GROUP BY tag ORDER BY tag',
	'aggregates over the column read');
SELECT results_eq('SELECT id, v::text, w::text FROM r WHERE id % 100 = 1 ORDER BY id',
	'SELECT id, v::text, w::text FROM h WHERE id % 100 = 1 ORDER BY id', 'both columns (Seq Scan)');
SELECT results_eq('SELECT r.id, h.body FROM r JOIN h USING (id) WHERE r.tag = 2 ORDER BY 1',
	'SELECT h2.id, h.body FROM h h2 JOIN h USING (id) WHERE h2.tag = 2 ORDER BY 1', 'a join');
SELECT results_eq('SELECT id, (SELECT count(*) FROM r WHERE r.tag = h.tag) FROM h WHERE id < 8 ORDER BY id',
	'SELECT id, (SELECT count(*) FROM h h2 WHERE h2.tag = h.tag) FROM h WHERE id < 8 ORDER BY id',
	'rescanned as a correlated subquery');
SELECT results_eq('SELECT id FROM r WHERE v IS NULL OR w IS NULL ORDER BY id',
	'SELECT id FROM h WHERE v IS NULL OR w IS NULL ORDER BY id', 'IS NULL tests on vector columns');

-- a cursor moving backwards (Material above the scan) and a rolled-back write
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT id FROM r WHERE tag = 4 ORDER BY id;
MOVE FORWARD 3 IN c;
SELECT results_eq('FETCH BACKWARD 2 FROM c',
	'SELECT id FROM (SELECT id FROM h WHERE tag = 4 ORDER BY id LIMIT 2) s ORDER BY id DESC',
	'scroll cursor backwards');
COMMIT;
BEGIN;
DELETE FROM r WHERE tag = 0;
SELECT is((SELECT count(*) FROM r WHERE tag = 0), 0::bigint, 'own deletes are seen');
ROLLBACK;
SELECT is((SELECT count(*) FROM r WHERE tag = 0), (SELECT count(*) FROM h WHERE tag = 0), 'rolled back: rows are back');

SELECT * FROM finish();
