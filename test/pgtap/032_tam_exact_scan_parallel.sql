-- The exact k-NN scan's parallel ranking pass: with parallel plans made
-- cheap (parallel_setup_cost = 0, parallel_tuple_cost = 0,
-- min_parallel_table_scan_size = 0, max_parallel_workers_per_gather = 2)
-- the plan asks for two workers, EXPLAIN ANALYZE shows them launched and
-- ranking rows, and the answers equal an identical heap table's (and the
-- same scan's without workers): L2, inner product, cosine and L1, WHERE
-- clauses, OFFSET, ties in TID order, NULL vectors last, widening past the
-- bound, rescans, a parameter as query, and the distance's dimension
-- error raised in a worker.
SELECT plan(37);

-- r784: ruvector table, h784: heap twin; ids 1..4000, every 97th vector
-- NULL, vectors 1001..1010 equal to vector 1000 (ties), then deletes and
-- updates.
CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT array_agg(((hashint4(seed * 100000 + i) % 20000) / 100.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;
CREATE TABLE r784 (id int PRIMARY KEY, tag int, v ruvector(784)) USING ruvector;
CREATE TABLE h784 (id int PRIMARY KEY, tag int, v ruvector(784));
INSERT INTO h784 SELECT g, g % 7,
	CASE WHEN g % 97 = 0 THEN NULL WHEN g BETWEEN 1001 AND 1010 THEN mk(784, 1000) ELSE mk(784, g) END
	FROM generate_series(1, 4000) g;
INSERT INTO r784 SELECT * FROM h784;
DELETE FROM r784 WHERE id % 11 = 0;
DELETE FROM h784 WHERE id % 11 = 0;
UPDATE r784 SET v = mk(784, id + 5000) WHERE id % 13 = 0;
UPDATE h784 SET v = mk(784, id + 5000) WHERE id % 13 = 0;
ANALYZE r784, h784;

CREATE FUNCTION plan_of(q text, analyzed bool DEFAULT false) RETURNS text LANGUAGE plpgsql AS
$$ DECLARE l text; r text := ''; BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF, TIMING OFF, SUMMARY OFF, ANALYZE ' || analyzed || ') ' || q LOOP
		r := r || l || E'\n'; END LOOP;
	RETURN r; END $$;
-- the figure EXPLAIN ANALYZE gives for a property of the scan
CREATE FUNCTION figure(q text, prop text) RETURNS bigint LANGUAGE sql AS
$$ SELECT (regexp_match(plan_of(q, true), prop || ': (\d+)'))[1]::bigint $$;

-- without the settings the table is too small for workers
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$), '%Workers%',
	'default settings, small table: a serial pass');

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

SELECT matches(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$),
	'Custom Scan \(ruvector exact k-NN\) on r784.*Bound: 10.*Workers Planned: 2',
	'parallel settings: the exact scan asks for two workers');
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$), '%Sort%',
	'... with no Sort above it');
SELECT cmp_ok(figure($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$, 'Workers Launched'),
	'>=', 1::bigint, 'EXPLAIN ANALYZE: workers launched');
SELECT is(figure($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$, 'Rows Ranked'),
	(SELECT count(*) FROM r784), 'every row ranked once across the participants');
SET parallel_leader_participation = off;
SELECT is(figure($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$, 'Rows Ranked By Workers'),
	(SELECT count(*) FROM r784), 'parallel_leader_participation = off: the workers rank every row');
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
SELECT unalike(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 3) LIMIT 10$$), '%Workers%',
	'max_parallel_workers_per_gather = 0: a serial pass');
SET max_parallel_workers_per_gather = 2;
-- (a Gather of all rows made dear, so that the exact scan is chosen)
SET parallel_tuple_cost = 10;
SELECT matches(plan_of($$SELECT id FROM r784 WHERE tag = (SELECT 3) ORDER BY v <-> mk(784, 3) LIMIT 10$$),
	'Custom Scan \(ruvector exact k-NN\).*Filter: \(tag = \$0\)', 'a WHERE clause with a parameter: the exact scan...');
SELECT unalike(plan_of($$SELECT id FROM r784 WHERE tag = (SELECT 3) ORDER BY v <-> mk(784, 3) LIMIT 10$$),
	'%Workers%', '... with a serial pass');
SET parallel_tuple_cost = 0;
SELECT matches(plan_of($$SELECT id FROM r784 WHERE tag = 3 ORDER BY v <-> mk(784, 3) LIMIT 10$$),
	'Custom Scan \(ruvector exact k-NN\).*Workers Planned: 2', '... where a constant gets workers');

-- results.  pgTAP runs its queries through cursors, which never get
-- parallel plans, so par(q) runs q itself (numbered: n, then q's columns)
-- as EXPLAIN ANALYZE CREATE TEMP TABLE ans AS ..., raises unless the plan
-- ran the exact scan with workers launched, and returns the query that
-- reads ans back in order.
CREATE FUNCTION par(q text) RETURNS text LANGUAGE plpgsql AS
$$ DECLARE l text; r text := ''; BEGIN
	DROP TABLE IF EXISTS ans;
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) '
		'CREATE TEMP TABLE ans AS SELECT row_number() OVER () AS n, s.* FROM (' || q || ') s' LOOP
		r := r || l || E'\n';
	END LOOP;
	IF r !~ 'Custom Scan \(ruvector exact k-NN\).*Workers Launched: [12]' THEN
		RAISE EXCEPTION 'not a parallel exact scan: %', r;
	END IF;
	RETURN 'SELECT * FROM ans ORDER BY n';
END $$;
-- the expected rows, numbered the same way
CREATE FUNCTION numbered(q text) RETURNS text LANGUAGE sql AS
$$ SELECT 'SELECT row_number() OVER () AS n, s.* FROM (' || q || ') s' $$;

-- The parallel scan against the heap twin (ties re-sorted by id as the
-- heap query breaks them by id), every operator.  The leader does not
-- take part from here on (unless said), so the workers rank every row and
-- the answer is the leader's merge of their keys.
SET parallel_leader_participation = off;
SELECT results_eq(
	par(format('SELECT id, dist FROM (SELECT id, v %s %L AS dist FROM r784 ORDER BY v %s %L LIMIT 12) s ORDER BY dist, id',
		op, mk(784, q), op, mk(784, q))),
	numbered(format('SELECT id, v %s %L AS dist FROM h784 ORDER BY v %s %L, id LIMIT 12', op, mk(784, q), op, mk(784, q))),
	format('%s, query %s: top 12 ids and distances equal the heap''s', op, q))
	FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op, unnest(ARRAY[1000, 77]) q
	ORDER BY op, q;

-- ties come in TID order, as without workers; the same rows as a serial
-- pass, with and without the leader taking part
SELECT results_eq(
	par($$SELECT ctid AS tid, id FROM r784 ORDER BY v <-> mk(784, 1000) LIMIT 10$$),
	numbered($$SELECT ctid AS tid, id FROM r784 WHERE v <-> mk(784, 1000) = 0 ORDER BY ctid$$),
	'equal distances come in TID order');
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_answer AS
	SELECT row_number() OVER () AS n, id FROM (SELECT id FROM r784 ORDER BY v <=> mk(784, 1000) LIMIT 300) s;
SET max_parallel_workers_per_gather = 2;
SELECT results_eq(par($$SELECT id FROM r784 ORDER BY v <=> mk(784, 1000) LIMIT 300$$),
	$$SELECT n, id FROM serial_answer$$, 'the first 300 rows equal the serial pass''s, in order');
RESET parallel_leader_participation;
SELECT results_eq(par($$SELECT id FROM r784 ORDER BY v <=> mk(784, 1000) LIMIT 300$$),
	$$SELECT n, id FROM serial_answer$$, '... with the leader taking part too');
SET parallel_leader_participation = off;

-- WHERE, OFFSET, NULLs, more rows than the bound
SELECT results_eq(
	par($$SELECT id, tag FROM r784 WHERE tag IN (2, 3) AND id > 100 ORDER BY v <#> mk(784, 5) LIMIT 15 OFFSET 3$$),
	numbered($$SELECT id, tag FROM h784 WHERE tag IN (2, 3) AND id > 100 ORDER BY v <#> mk(784, 5), id LIMIT 15 OFFSET 3$$),
	'WHERE and OFFSET: equal the heap''s');
SELECT matches(plan_of($$SELECT id FROM r784 WHERE tag IN (2, 3) ORDER BY v <-> mk(784, 5) LIMIT 15$$),
	'Filter: \(tag = ANY .*Workers Planned: 2', 'the filter is evaluated in a parallel pass');
SET ruvector.enable_exact_scan = off;
CREATE TEMP TABLE tail_answer AS
	SELECT row_number() OVER () AS n, id, nullv FROM
		(SELECT id, v IS NULL AS nullv FROM r784 ORDER BY v <-> mk(784, 9), ctid LIMIT 50 OFFSET 3600) s;
RESET ruvector.enable_exact_scan;
SELECT results_eq(
	par($$SELECT id, v IS NULL AS nullv FROM r784 ORDER BY v <-> mk(784, 9) LIMIT 50 OFFSET 3600$$),
	$$SELECT n, id, nullv FROM tail_answer$$,
	'the tail: NULL vectors last, in TID order (Sort over Seq Scan by distance, ctid)');
SELECT is((SELECT count(*) FROM tail_answer WHERE nullv), 35::bigint, '... 35 of them');
SELECT results_eq(
	par($$SELECT id FROM r784 WHERE v IS NOT NULL AND tag <> 1 ORDER BY v <=> mk(784, 9) LIMIT 7$$),
	numbered($$SELECT id FROM h784 WHERE v IS NOT NULL AND tag <> 1 ORDER BY v <=> mk(784, 9), id LIMIT 7$$),
	'WHERE v IS NOT NULL: equal the heap''s');
SELECT matches(plan_of($$SELECT id FROM r784 ORDER BY v <-> mk(784, 1000), id DESC LIMIT 5$$, true),
	'Incremental Sort.*Custom Scan \(ruvector exact k-NN\).*Workers Launched: [12].*Ranking Passes: 2',
	'Incremental Sort over tied distances: a second parallel pass with a wider bound');
SELECT results_eq(
	par($$SELECT id FROM r784 ORDER BY v <-> mk(784, 1000), id DESC LIMIT 5$$),
	numbered($$SELECT id FROM h784 ORDER BY v <-> mk(784, 1000), id DESC LIMIT 5$$),
	'... equal the heap''s');

-- a query vector from a parameter; rescans in a lateral join
PREPARE knn(ruvector, int) AS SELECT id FROM r784 ORDER BY v <-> $1 LIMIT $2;
SELECT results_eq($$EXECUTE knn(mk(784, 31), 9)$$,
	$$SELECT id FROM h784 ORDER BY v <-> mk(784, 31), id LIMIT 9$$,
	'prepared statement with the query vector and k as parameters');
SELECT matches(plan_of($$EXECUTE knn(mk(784, 31), 9)$$), 'Workers Planned: 2',
	'... run in parallel');
SELECT matches(plan_of($$SELECT q.id, n.id FROM generate_series(1, 3) q(id), LATERAL (SELECT id FROM r784 ORDER BY v <-> mk(784, q.id) LIMIT 2) n$$),
	'Custom Scan \(ruvector exact k-NN\).*Workers Planned: 2', 'lateral subquery: a parallel scan');
SELECT results_eq(
	par($$SELECT q.id AS qid, n.id FROM generate_series(1, 4) q(id), LATERAL (SELECT id FROM r784 ORDER BY v <-> mk(784, q.id) LIMIT 2) n ORDER BY 1, 2$$),
	numbered($$SELECT q.id AS qid, n.id FROM generate_series(1, 4) q(id), LATERAL (SELECT id FROM h784 ORDER BY v <-> mk(784, q.id), id LIMIT 2) n ORDER BY 1, 2$$),
	'rescanned per outer row: equal the heap''s');
SELECT results_eq($$SELECT id FROM r784 ORDER BY v <-> (SELECT NULL::ruvector) LIMIT 3$$,
	$$SELECT id FROM r784 ORDER BY ctid LIMIT 3$$,
	'a NULL query: every distance NULL, rows in TID order');

-- errors: the distance's, from a worker (the leader ranks nothing)
CREATE TABLE rany (id int, v ruvector) USING ruvector;
INSERT INTO rany SELECT g, '[1,2,3]' FROM generate_series(1, 3000) g;
INSERT INTO rany VALUES (3001, '[1,2,3,4]');
INSERT INTO rany SELECT g, '[3,2,1]' FROM generate_series(3002, 6000) g;
ANALYZE rany;
SELECT matches(plan_of($$SELECT id FROM rany ORDER BY v <-> '[1,1,1]' LIMIT 1$$),
	'Workers Planned: 2', 'untyped column: a parallel scan');
SELECT throws_ok($$SELECT id FROM rany ORDER BY v <-> '[1,1,1]' LIMIT 1$$,
	'22000', 'different vector dimensions 4 and 3', 'a row of other dims raises the operator''s error');
SELECT throws_ok($$SELECT id FROM rany ORDER BY '[1,1,1]' <-> v LIMIT 1$$,
	'22000', 'different vector dimensions 3 and 4', '... with the arguments in the query''s order');
RESET parallel_leader_participation;
SELECT results_eq($$SELECT id FROM rany WHERE id <> 3001 ORDER BY v <-> '[3,2,1]', id LIMIT 2$$,
	ARRAY[3002, 3003], 'filtered to matching dims: no error');

SELECT * FROM finish();
