-- The exact k-NN scan (Custom Scan "ruvector exact k-NN"): ORDER BY a
-- distance LIMIT k on a ruvector table without an index is planned as the
-- custom scan, and returns exactly what Sort over Seq Scan returns on the
-- table itself (ruvector.enable_exact_scan = off) and on an identical heap
-- table: every operator and function form, dims whose vectors lie in one
-- page, straddle two pages or span three, NULLs, ties, dead and updated
-- rows, WHERE clauses, OFFSET, widening past the bound, parameters,
-- rescans in a lateral join, and the distance's dimension error.
SELECT plan(54);

SELECT setseed(0.29);

-- r<d>: ruvector table, h<d>: heap twin; ids 1..1500, every 97th vector
-- NULL, vectors 1001..1010 equal to vector 1000 (ties), then deletes,
-- updates and a rolled-back insert.
CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint4(seed * 100000 + i) % 20000) / 100.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;

DO $$
DECLARE
	d int;
BEGIN
	FOREACH d IN ARRAY ARRAY[3, 128, 784, 3072] LOOP
		EXECUTE format('CREATE TABLE r%s (id int PRIMARY KEY, tag int, v ruvector(%s)) USING ruvector', d, d);
		EXECUTE format('CREATE TABLE h%s (id int PRIMARY KEY, tag int, v ruvector(%s))', d, d);
		EXECUTE format('INSERT INTO h%s SELECT g, g %% 7,
			CASE WHEN g %% 97 = 0 THEN NULL WHEN g BETWEEN 1001 AND 1010 THEN mk(%s, 1000) ELSE mk(%s, g) END
			FROM generate_series(1, 1500) g', d, d, d);
		EXECUTE format('INSERT INTO r%s SELECT * FROM h%s', d, d);
		EXECUTE format('DELETE FROM r%s WHERE id %% 11 = 0', d);
		EXECUTE format('DELETE FROM h%s WHERE id %% 11 = 0', d);
		EXECUTE format('UPDATE r%s SET v = mk(%s, id + 5000) WHERE id %% 13 = 0', d, d);
		EXECUTE format('UPDATE h%s SET v = mk(%s, id + 5000) WHERE id %% 13 = 0', d, d);
		EXECUTE format('UPDATE r%s SET tag = tag + 1 WHERE id %% 17 = 0 AND id NOT BETWEEN 1000 AND 1010', d);
		EXECUTE format('UPDATE h%s SET tag = tag + 1 WHERE id %% 17 = 0 AND id NOT BETWEEN 1000 AND 1010', d);
	END LOOP;
END $$;
BEGIN;
INSERT INTO r784 SELECT g, 0, mk(784, 1000) FROM generate_series(2001, 2100) g;
ROLLBACK;
ANALYZE r3, r128, r784, r3072, h3, h128, h784, h3072;

CREATE FUNCTION pg_temp.explain_analyze(q text) RETURNS SETOF text LANGUAGE plpgsql AS
$$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q; END $$;

-- the plan: the custom scan, with the bound and the filter
CREATE FUNCTION plan_of(q text) RETURNS text LANGUAGE plpgsql AS
$$ DECLARE l text; r text := ''; BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP r := r || l || E'\n'; END LOOP;
	RETURN r; END $$;

SELECT matches(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$),
	'Custom Scan \(ruvector exact k-NN\) on r784.*Order By: \(v <-> .*Bound: 10',
	'ORDER BY v <-> q LIMIT 10 is planned as the exact k-NN scan, bound 10');
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$), '%Sort%',
	'... with no Sort above it');
SELECT matches(plan_of($$SELECT id FROM r784 WHERE tag = 3 ORDER BY v <#> mk(784, 3) LIMIT 5 OFFSET 5$$),
	'Custom Scan \(ruvector exact k-NN\).*Filter: \(tag = 3\).*Bound: 10',
	'a WHERE clause is the scan''s filter; OFFSET counts in the bound');
SELECT matches(plan_of($$SELECT id FROM r784 ORDER BY l2_distance(mk(784, 3), v) LIMIT 3$$),
	'Custom Scan \(ruvector exact k-NN\)', 'the function form, query first, too');
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3)$$), '%exact k-NN%',
	'no LIMIT: not used');
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) DESC LIMIT 3$$), '%exact k-NN%',
	'descending order: not used');
SELECT unalike(plan_of($$SELECT id FROM r784 WHERE v <-> mk(784, 1) < 50 ORDER BY v <-> mk(784, 3) LIMIT 3$$),
	'%exact k-NN%', 'a WHERE clause reading the vector: not used');
SELECT unalike(plan_of($$SELECT id FROM r784 WHERE random() < 2 ORDER BY v <-> mk(784, 3) LIMIT 3$$),
	'%exact k-NN%', 'a volatile WHERE clause: not used');
SELECT unalike(plan_of($$SELECT id FROM h784 ORDER BY v <-> mk(784, 3) LIMIT 3$$), '%exact k-NN%',
	'a heap table: not used');
SELECT unalike(plan_of($$SELECT r.id FROM r784 r JOIN h3 ON h3.id = r.id ORDER BY r.v <-> mk(784, 3) LIMIT 3$$),
	'%exact k-NN%', 'a join: not used');
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 3 FOR UPDATE$$), '%exact k-NN%',
	'FOR UPDATE: not used');
SET ruvector.enable_exact_scan = off;
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$), '%exact k-NN%',
	'ruvector.enable_exact_scan = off: not used');
RESET ruvector.enable_exact_scan;

-- an ruhnsw index that can order by the operator keeps its queries
CREATE INDEX r128_l2 ON r128 USING ruhnsw (v vector_l2_ops);
SELECT matches(plan_of($$SELECT id FROM r128 ORDER BY v <-> mk(128, 3) LIMIT 10$$),
	'Index Scan using r128_l2', 'an ruhnsw index on the operator is used, not the exact scan');
SELECT matches(plan_of($$SELECT id FROM r128 ORDER BY v <=> mk(128, 3) LIMIT 10$$),
	'exact k-NN', '... another operator (cosine) still gets the exact scan');
SET enable_indexscan = off;
SELECT matches(plan_of($$SELECT id FROM r128 ORDER BY v <-> mk(128, 3) LIMIT 10$$),
	'exact k-NN', 'with enable_indexscan = off the exact scan answers');
RESET enable_indexscan;
DROP INDEX r128_l2;

-- results: the custom scan against the heap twin, every operator, every
-- dims (the scan's rows re-sorted by id within equal distances, as the
-- heap query breaks ties by id and the scan by TID)
SELECT results_eq(
	format('SELECT id, dist FROM (SELECT id, v %s %L AS dist FROM r%s ORDER BY v %s %L LIMIT 12) s ORDER BY dist, id',
		op, mk(d, 1000), d, op, mk(d, 1000)),
	format('SELECT id, v %s %L AS dist FROM h%s ORDER BY v %s %L, id LIMIT 12', op, mk(d, 1000), d, op, mk(d, 1000)),
	format('%s dims, %s: top 12 ids and distances equal the heap''s', d, op))
	FROM unnest(ARRAY[3, 128, 784, 3072]) d, unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op
	ORDER BY d, op;
SELECT results_eq(
	$$SELECT ctid, id FROM r784 ORDER BY v <-> mk(784, 1000) LIMIT 10$$,
	$$SELECT ctid, id FROM r784 WHERE v <-> mk(784, 1000) = 0 ORDER BY ctid$$,
	'equal distances come in TID order');

-- the remaining distance functions
SELECT results_eq(
	format('SELECT id FROM r784 ORDER BY %s(v, %L) LIMIT 20', f, mk(784, 77)),
	format('SELECT id FROM h784 ORDER BY %s(v, %L), id LIMIT 20', f, mk(784, 77)),
	format('ORDER BY %s(v, q): equal the heap''s', f))
	FROM unnest(ARRAY['inner_product', 'vector_l2_squared_distance', 'cosine_distance', 'l1_distance']) f;

-- WHERE, OFFSET, and more rows than the bound (Incremental Sort on id
-- pulls past the LIMIT when distances tie; OFFSET 1400 skips past NULLs)
SELECT results_eq(
	$$SELECT id, tag FROM r784 WHERE tag IN (2, 3) AND id > 100 ORDER BY v <+> mk(784, 5) LIMIT 15 OFFSET 3$$,
	$$SELECT id, tag FROM h784 WHERE tag IN (2, 3) AND id > 100 ORDER BY v <+> mk(784, 5), id LIMIT 15 OFFSET 3$$,
	'WHERE and OFFSET: equal the heap''s');
SELECT matches(
	(SELECT string_agg(l, E'\n') FROM (SELECT * FROM pg_temp.explain_analyze(
		$$SELECT id FROM r128 ORDER BY v <-> mk(128, 1000), id DESC LIMIT 5$$)) e(l)),
	'Incremental Sort.*Custom Scan \(ruvector exact k-NN\).*Ranking Passes: 2',
	'Incremental Sort over tied distances makes the scan widen its bound (a second pass)');
SELECT results_eq(
	$$SELECT id FROM r128 ORDER BY v <-> mk(128, 1000), id DESC LIMIT 5$$,
	$$SELECT id FROM h128 ORDER BY v <-> mk(128, 1000), id DESC LIMIT 5$$,
	'a second sort key over tied distances (the scan widens its bound): equal the heap''s');
SELECT results_eq(
	$$SELECT id, v IS NULL FROM r3 ORDER BY v <=> '[1,2,3]' LIMIT 100 OFFSET 1290$$,
	$$SELECT id, v IS NULL FROM h3 ORDER BY v <=> '[1,2,3]', id LIMIT 100 OFFSET 1290$$,
	'the tail: NULL vectors last, in TID order');
SELECT is((SELECT count(*) FROM (SELECT id FROM r3 ORDER BY v <-> '[0,0,0]' LIMIT 100000) s),
	(SELECT count(*) FROM h3), 'a LIMIT above the row count returns every row once');
SELECT results_eq(
	$$SELECT id FROM r784 WHERE v IS NOT NULL ORDER BY v <-> mk(784, 9) LIMIT 7$$,
	$$SELECT id FROM h784 WHERE v IS NOT NULL ORDER BY v <-> mk(784, 9), id LIMIT 7$$,
	'WHERE v IS NOT NULL is allowed and honoured');

-- a query vector from a parameter (custom plans of a prepared statement)
PREPARE knn(ruvector, int) AS SELECT id FROM r784 ORDER BY v <-> $1 LIMIT $2;
SELECT results_eq($$EXECUTE knn(mk(784, 31), 9)$$,
	$$SELECT id FROM h784 ORDER BY v <-> mk(784, 31), id LIMIT 9$$,
	'prepared statement with the query vector and k as parameters');

-- rescans: one scan per outer row of a lateral join, query from the outer row
SELECT matches(plan_of($$SELECT q.id, n.id FROM h3 q, LATERAL (SELECT id FROM r784 ORDER BY v <-> mk(784, q.id) LIMIT 2) n WHERE q.id < 4$$),
	'Custom Scan \(ruvector exact k-NN\)', 'lateral subquery uses the scan');
SELECT results_eq(
	$$SELECT q.id, n.id FROM h3 q, LATERAL (SELECT id FROM r784 ORDER BY v <-> mk(784, q.id) LIMIT 2) n WHERE q.id < 6 ORDER BY 1, 2$$,
	$$SELECT q.id, n.id FROM h3 q, LATERAL (SELECT id FROM h784 ORDER BY v <-> mk(784, q.id), id LIMIT 2) n WHERE q.id < 6 ORDER BY 1, 2$$,
	'rescanned per outer row: equal the heap''s');

-- the same answers with the scan off (Sort over Seq Scan on the same table,
-- ties broken by ctid as the scan does)
SET ruvector.enable_exact_scan = off;
CREATE TEMP TABLE off_answer AS SELECT id FROM r3072 ORDER BY v <#> mk(3072, 42), ctid LIMIT 25;
RESET ruvector.enable_exact_scan;
SELECT results_eq($$SELECT id FROM r3072 ORDER BY v <#> mk(3072, 42) LIMIT 25$$,
	$$SELECT id FROM off_answer$$, 'scan on and off agree on the same table (3072 dims)');

-- a partitioned table with ruvector partitions: each partition's scan is
-- ordered, Merge Append merges them
CREATE TABLE pr (id int, part int, v ruvector(784)) PARTITION BY LIST (part);
CREATE TABLE pr0 PARTITION OF pr FOR VALUES IN (0) USING ruvector;
CREATE TABLE pr1 PARTITION OF pr FOR VALUES IN (1) USING ruvector;
INSERT INTO pr SELECT id, id % 2, v FROM h784;
ANALYZE pr;
SELECT matches(plan_of($$SELECT id FROM pr ORDER BY v <-> mk(784, 8) LIMIT 10$$),
	'Merge Append.*Custom Scan \(ruvector exact k-NN\) on pr0.*Custom Scan \(ruvector exact k-NN\) on pr1',
	'partitioned table: Merge Append over each partition''s exact scan');
SELECT results_eq(
	$$SELECT id FROM pr ORDER BY v <-> mk(784, 8) LIMIT 10$$,
	$$SELECT id FROM h784 ORDER BY v <-> mk(784, 8), id LIMIT 10$$,
	'partitioned table: equal the heap''s');

-- errors: the expression's own, and nothing changes
CREATE TABLE rany (id int, v ruvector) USING ruvector;
INSERT INTO rany VALUES (1, '[1,2,3]'), (2, '[1,2,3,4]');
SELECT matches(plan_of($$SELECT id FROM rany ORDER BY v <-> '[1,1,1]' LIMIT 1$$),
	'exact k-NN', 'untyped column: the scan is used');
SELECT throws_ok($$SELECT id FROM rany ORDER BY v <-> '[1,1,1]' LIMIT 1$$,
	'22000', 'different vector dimensions 4 and 3', 'a row of other dims raises the operator''s error');
SELECT throws_ok($$SELECT id FROM rany ORDER BY '[1,1,1]' <-> v LIMIT 1$$,
	'22000', 'different vector dimensions 3 and 4', '... with the arguments in the query''s order');
SELECT results_eq($$SELECT id FROM rany WHERE id = 1 ORDER BY v <-> '[1,1,1]' LIMIT 1$$,
	ARRAY[1], 'filtered to matching dims: no error');
SELECT results_eq($$SELECT id FROM rany ORDER BY v <-> (SELECT NULL::ruvector) LIMIT 5$$, ARRAY[1, 2],
	'a NULL query (from an init plan): every distance NULL, rows in TID order');

-- ADD COLUMN with a default: old rows hold the default, not a vref
ALTER TABLE rany ADD COLUMN w ruvector(2) DEFAULT '[3,4]';
INSERT INTO rany VALUES (3, '[1,2,3]', '[0,0]');
SELECT results_eq($$SELECT id, w <-> '[0,0]' FROM rany ORDER BY w <-> '[0,0]' LIMIT 3$$,
	$$VALUES (3, 0::float8), (1, 5), (2, 5)$$, 'a column added with a default ranks its default');

SELECT * FROM finish();
