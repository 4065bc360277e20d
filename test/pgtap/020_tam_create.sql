-- Table AM ruvector: CREATE TABLE with zero, one and several ruvector
-- columns among other types, TOASTed text, NULL vectors, a ruvector column
-- without typmod holding different dimensions; CREATE TABLE AS and
-- SELECT INTO with default_table_access_method = ruvector.  Every table has
-- a heap twin receiving the same statements; results must be identical.
SELECT plan(26);

-- stores are consistent: no orphans, every catalog row belongs to the
-- current storage of a ruvector table
CREATE FUNCTION pg_temp.stores_ok() RETURNS boolean LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM ruvector_gc_orphans()) = 0
	   AND NOT EXISTS (SELECT 1 FROM ruvector_store s
					   WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_am a ON a.oid = c.relam
										 WHERE a.amname = 'ruvector' AND c.relfilenode = s.relnode))
$$;

-- zero ruvector columns
CREATE TABLE r0 (id int PRIMARY KEY, t text, j jsonb) USING ruvector;
CREATE TABLE h0 (id int PRIMARY KEY, t text, j jsonb);
INSERT INTO r0 SELECT g, 'row ' || g, jsonb_build_object('g', g) FROM generate_series(1, 100) g;
INSERT INTO h0 SELECT g, 'row ' || g, jsonb_build_object('g', g) FROM generate_series(1, 100) g;
SELECT is((SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'r0'::regclass)::text,
	'ruvector', 'r0 uses the ruvector access method');
SELECT results_eq('SELECT id, t, j FROM r0 ORDER BY id', 'SELECT id, t, j FROM h0 ORDER BY id',
	'no vector columns: same rows as heap');
SELECT is((SELECT count(*) FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode
		   WHERE c.oid = 'r0'::regclass), 0::bigint, 'no vector columns: no stores');

-- one ruvector column, with NULLs
CREATE TABLE r1 (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
CREATE TABLE h1 (id int PRIMARY KEY, v ruvector(3));
INSERT INTO r1 SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE ARRAY[g, g * 0.5, -g]::real[]::ruvector END
	FROM generate_series(1, 200) g;
INSERT INTO h1 SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE ARRAY[g, g * 0.5, -g]::real[]::ruvector END
	FROM generate_series(1, 200) g;
SELECT results_eq('SELECT id, v::text FROM r1 ORDER BY id', 'SELECT id, v::text FROM h1 ORDER BY id',
	'one vector column: same text output as heap');
SELECT results_eq('SELECT id FROM r1 r JOIN h1 h USING (id) WHERE r.v = h.v ORDER BY id',
	'SELECT id FROM h1 WHERE v IS NOT NULL ORDER BY id', 'one vector column: vectors equal with =');
SELECT is((SELECT count(*) FROM r1 WHERE v IS NULL), 28::bigint, 'NULL vectors stay NULL');
SELECT results_eq('SELECT live_vectors, dead_vectors, free_slots FROM ruvector_storage_report(''r1'')',
	$$VALUES (172::bigint, 0::bigint, 0::bigint)$$, 'storage report counts one store of 172 vectors');

-- several ruvector columns among other types, TOASTed text, jsonb
CREATE TABLE r2 (id int PRIMARY KEY, a ruvector(4), t text, b ruvector(2), n bigint, j jsonb,
	c ruvector, big text) USING ruvector;
CREATE TABLE h2 (id int PRIMARY KEY, a ruvector(4), t text, b ruvector(2), n bigint, j jsonb,
	c ruvector, big text);
CREATE TEMP TABLE src2 AS
	SELECT g AS id,
		   ARRAY[g, g + 1, g + 2, g + 3]::real[]::ruvector AS a,
		   'text ' || g AS t,
		   CASE WHEN g % 5 = 0 THEN NULL ELSE ARRAY[g / 3.0, -g]::real[]::ruvector END AS b,
		   g * 1000000000::bigint AS n,
		   jsonb_build_object('k', g, 'arr', jsonb_build_array(g, g)) AS j,
		   -- untyped column: dims 1..5 by row
		   (SELECT array_agg((g * 10 + k)::real) FROM generate_series(1, 1 + g % 5) k)::ruvector AS c,
		   CASE WHEN g % 10 = 1 THEN (SELECT string_agg(md5(g::text || k::text), '') FROM generate_series(1, 400) k)
		   END AS big
	FROM generate_series(1, 300) g;
INSERT INTO r2 SELECT * FROM src2;
INSERT INTO h2 SELECT * FROM src2;
SELECT results_eq('SELECT id, a::text, t, b::text, n, j, c::text, big FROM r2 ORDER BY id',
	'SELECT id, a::text, t, b::text, n, j, c::text, big FROM h2 ORDER BY id',
	'several vector columns: same rows as heap');
SELECT results_eq('SELECT id, vector_dims(c) FROM r2 ORDER BY id', 'SELECT id, vector_dims(c) FROM h2 ORDER BY id',
	'untyped column keeps each row''s dimensions');
SELECT ok(pg_relation_size(reltoastrelid) > 0, 'big text went to the TOAST table')
	FROM pg_class WHERE oid = 'r2'::regclass;
SELECT is((SELECT sum(length(big)) FROM r2), (SELECT sum(length(big)) FROM h2), 'TOASTed text reads back');
SELECT results_eq('SELECT column_name, dims, live_vectors FROM ruvector_storage_report(''r2'') ORDER BY column_name, dims',
	$$VALUES ('a', 4, 300::bigint), ('b', 2, 240::bigint), ('c', 1, 60::bigint), ('c', 2, 60::bigint),
		('c', 3, 60::bigint), ('c', 4, 60::bigint), ('c', 5, 60::bigint)$$,
	'one store per (column, dims)');
SELECT ok(pg_temp.stores_ok(), 'stores consistent after CREATE TABLE');

-- CREATE TABLE AS / SELECT INTO under default_table_access_method
SET default_table_access_method = ruvector;
CREATE TABLE r3 AS SELECT id, a, t, b, c, big FROM h2;
SELECT id, a, b, c INTO r4 FROM h2 WHERE id % 2 = 0;
CREATE TABLE r5 (LIKE h1);
RESET default_table_access_method;
CREATE TABLE h3 AS SELECT id, a, t, b, c, big FROM h2;
SELECT is((SELECT array_agg(a.amname ORDER BY c.relname)::text[] FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		   WHERE c.relname IN ('r3', 'r4', 'r5', 'h3')),
	ARRAY['heap', 'ruvector', 'ruvector', 'ruvector'], 'CREATE TABLE AS / SELECT INTO / LIKE use the default AM');
SELECT results_eq('SELECT id, a::text, t, b::text, c::text, big FROM r3 ORDER BY id',
	'SELECT id, a::text, t, b::text, c::text, big FROM h3 ORDER BY id', 'CREATE TABLE AS: same rows as heap');
SELECT results_eq('SELECT id, a::text, b::text, c::text FROM r4 ORDER BY id',
	'SELECT id, a::text, b::text, c::text FROM h2 WHERE id % 2 = 0 ORDER BY id', 'SELECT INTO: same rows as heap');
SELECT is((SELECT sum(live_vectors) FROM ruvector_storage_report('r3')), 840::numeric,
	'CREATE TABLE AS stored every vector');
INSERT INTO r5 SELECT * FROM h1;
SELECT results_eq('SELECT id, v::text FROM r5 ORDER BY id', 'SELECT id, v::text FROM h1 ORDER BY id',
	'CREATE TABLE (LIKE): same rows');

-- CREATE TABLE AS with an explicit USING and WITH NO DATA
CREATE TABLE r6 USING ruvector AS SELECT * FROM h1 WITH NO DATA;
SELECT is((SELECT count(*) FROM r6), 0::bigint, 'CREATE TABLE AS WITH NO DATA is empty');
INSERT INTO r6 SELECT * FROM h1;
SELECT results_eq('SELECT id, v::text FROM r6 ORDER BY id', 'SELECT id, v::text FROM h1 ORDER BY id',
	'CREATE TABLE USING ruvector AS ... WITH NO DATA then INSERT');

-- a ruvector table in a transaction that rolls back leaves no store behind
BEGIN;
CREATE TABLE r7 (id int, v ruvector(3)) USING ruvector;
INSERT INTO r7 SELECT g, '[1,2,3]' FROM generate_series(1, 10) g;
ROLLBACK;
SELECT ok(pg_temp.stores_ok(), 'stores consistent after rolled-back CREATE TABLE');

-- temp and unlogged ruvector tables
CREATE TEMP TABLE rt (id int, v ruvector(3)) USING ruvector;
CREATE UNLOGGED TABLE ru (id int, v ruvector(3)) USING ruvector;
INSERT INTO rt SELECT id, v FROM h1;
INSERT INTO ru SELECT id, v FROM h1;
SELECT results_eq('SELECT id, v::text FROM rt ORDER BY id', 'SELECT id, v::text FROM h1 ORDER BY id',
	'temp ruvector table: same rows');
SELECT results_eq('SELECT id, v::text FROM ru ORDER BY id', 'SELECT id, v::text FROM h1 ORDER BY id',
	'unlogged ruvector table: same rows');

-- every catalog row is one per (storage, store)
SELECT is((SELECT count(*) FROM (SELECT spcnode, relnode, storeno FROM ruvector_store
								  GROUP BY 1, 2, 3 HAVING count(*) > 1) d), 0::bigint,
	'one catalog row per (storage, store)');
SELECT is((SELECT count(*) FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode
		   WHERE c.oid = 'r2'::regclass), 7::bigint, 'r2 has 7 catalog rows');
SELECT ok(pg_temp.stores_ok(), 'stores consistent at the end');

SELECT * FROM finish();
