-- Table AM ruvector: bad vectors (wrong dimensions for the typmod, NaN,
-- Infinity, more than 16000 dimensions, malformed text) raise the type's
-- SQLSTATE and message on INSERT, UPDATE and COPY, and leave the table
-- equal to its heap twin; the vectors of a failed statement are dead and
-- VACUUM frees them.
SELECT plan(26);

CREATE FUNCTION pg_temp.same(descr text) RETURNS text LANGUAGE sql AS $$
	SELECT results_eq('SELECT id, v::text, u::text FROM r ORDER BY id', 'SELECT id, v::text, u::text FROM h ORDER BY id', descr)
$$;
CREATE TABLE r (id int PRIMARY KEY, v ruvector(3), u ruvector) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(3), u ruvector);
INSERT INTO r SELECT g, ARRAY[g, g, g]::real[]::ruvector, ARRAY[g]::real[]::ruvector FROM generate_series(1, 50) g;
INSERT INTO h SELECT g, ARRAY[g, g, g]::real[]::ruvector, ARRAY[g]::real[]::ruvector FROM generate_series(1, 50) g;

-- INSERT
SELECT throws_ok($$INSERT INTO r VALUES (100, '[1,2]', NULL)$$, '22000', 'expected 3 dimensions, not 2', 'INSERT: wrong dimensions');
SELECT throws_ok($$INSERT INTO r VALUES (100, '[1,NaN,2]', NULL)$$, '22000', 'NaN not allowed in vector', 'INSERT: NaN');
SELECT throws_ok($$INSERT INTO r VALUES (100, '[1,Infinity,2]', NULL)$$, '22000', 'infinite value not allowed in vector',
	'INSERT: Infinity');
SELECT throws_ok($$INSERT INTO r VALUES (100, '[1,2,-inf]', NULL)$$, '22000', 'infinite value not allowed in vector',
	'INSERT: -inf');
SELECT throws_ok($$INSERT INTO r VALUES (100, NULL, ARRAY['NaN'::real]::ruvector)$$, '22000', 'NaN not allowed in vector',
	'INSERT: NaN through the array cast');
SELECT throws_ok(format('INSERT INTO r VALUES (100, NULL, %L)', '[' || repeat('1,', 16000) || '1]'), '54000',
	'vector cannot have more than 16000 dimensions', 'INSERT: 16001 dimensions');
SELECT throws_ok($$INSERT INTO r VALUES (100, '[1,2,3', NULL)$$, '22P02', 'invalid input syntax for type vector: "[1,2,3"',
	'INSERT: malformed text');
SELECT throws_ok($$INSERT INTO r VALUES (100, '1,2,3', NULL)$$, '22P02', 'invalid input syntax for type vector: "1,2,3"',
	'INSERT: text without brackets');
SELECT throws_ok($$INSERT INTO r VALUES (100, '[]', NULL)$$, '22000', 'vector must have at least 1 dimension',
	'INSERT: no dimensions');
-- a multi-row INSERT failing on its last row: earlier rows' vectors were stored
SELECT throws_ok($$INSERT INTO r SELECT g, ARRAY[g, 0, 0]::real[]::ruvector, CASE WHEN g = 120 THEN '[1,2]'::ruvector(3) END
	FROM generate_series(101, 120) g$$, '22000', 'expected 3 dimensions, not 2', 'INSERT ... SELECT fails on its last row');
SELECT throws_ok($$INSERT INTO r SELECT g, ARRAY[g, 0, 0]::real[]::ruvector, ARRAY[g, 1]::real[]::ruvector FROM generate_series(101, 120) g
	UNION ALL SELECT 1, '[1,1,1]', NULL$$, '23505', NULL, 'INSERT fails on a unique violation after storing vectors');
SELECT pg_temp.same('INSERT errors leave the table unchanged');

-- UPDATE
SELECT throws_ok($$UPDATE r SET v = ARRAY[id, id]::real[]::ruvector WHERE id < 10$$, '22000', 'expected 3 dimensions, not 2',
	'UPDATE: wrong dimensions');
SELECT throws_ok($$UPDATE r SET v = ARRAY[id, 'NaN', id]::real[]::ruvector WHERE id = 49$$, '22000', 'NaN not allowed in vector',
	'UPDATE: NaN');
SELECT throws_ok($$UPDATE r SET u = '[1,2,3,4,5]', v = CASE WHEN id = 50 THEN '[1,2]'::ruvector(3) ELSE v END$$,
	'22000', 'expected 3 dimensions, not 2', 'UPDATE failing on the last row after updating others');
SELECT throws_ok($$UPDATE r SET v = v * '[1e30,1e30,1e30]' * '[1e30,1e30,1e30]' WHERE id = 5$$, '22003', NULL,
	'UPDATE: arithmetic overflow');
SELECT pg_temp.same('UPDATE errors leave the table unchanged');

-- COPY FROM text, csv and binary with one bad row at the end
DO $$
DECLARE
	dir text := current_setting('data_directory');
BEGIN
	EXECUTE format($q$COPY (SELECT g, CASE WHEN g = 230 THEN '[1,NaN,2]' ELSE '[1,2,3]' END, NULL FROM generate_series(200, 230) g)
		TO %L$q$, dir || '/rv_025_nan.txt');
	EXECUTE format($q$COPY (SELECT g, CASE WHEN g = 230 THEN '[1,2]' ELSE '[1,2,3]' END, '[5]' FROM generate_series(200, 230) g)
		TO %L WITH (FORMAT csv)$q$, dir || '/rv_025_dims.csv');
	EXECUTE format($q$COPY (SELECT g, '[' || repeat('1,', 16000) || '1]', NULL FROM generate_series(200, 200) g)
		TO %L$q$, dir || '/rv_025_big.txt');
	EXECUTE format($q$COPY (SELECT g, '[1,2,3' FROM generate_series(200, 201) g) TO %L$q$, dir || '/rv_025_syntax.txt');
	-- binary: a 2-d vector for a ruvector(3) column
	CREATE TEMP TABLE bin2 (id int, v ruvector(2), u ruvector);
	INSERT INTO bin2 SELECT g, '[1,2]', '[3]' FROM generate_series(200, 210) g;
	EXECUTE format('COPY bin2 TO %L WITH (FORMAT binary)', dir || '/rv_025_dims.bin');
END $$;
CREATE FUNCTION pg_temp.copy_from(file text, opts text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('COPY r FROM %L %s', current_setting('data_directory') || '/' || file, opts);
END $$;
SELECT throws_ok($$SELECT pg_temp.copy_from('rv_025_nan.txt', '')$$, '22000', 'NaN not allowed in vector', 'COPY text: NaN');
SELECT throws_ok($$SELECT pg_temp.copy_from('rv_025_dims.csv', 'WITH (FORMAT csv)')$$, '22000', 'expected 3 dimensions, not 2',
	'COPY csv: wrong dimensions');
SELECT throws_ok($$SELECT pg_temp.copy_from('rv_025_big.txt', '')$$, '54000', 'vector cannot have more than 16000 dimensions',
	'COPY text: 16001 dimensions');
SELECT throws_ok($$SELECT pg_temp.copy_from('rv_025_syntax.txt', '(FORMAT text)')$$, '22P02',
	'invalid input syntax for type vector: "[1,2,3"', 'COPY text: malformed');
SELECT throws_ok($$SELECT pg_temp.copy_from('rv_025_dims.bin', 'WITH (FORMAT binary)')$$, '22000', 'expected 3 dimensions, not 2',
	'COPY binary: wrong dimensions');
SELECT pg_temp.same('COPY errors leave the table unchanged');

-- the failed statements' vectors are dead, and VACUUM frees them
SELECT is((SELECT sum(live_vectors) FROM ruvector_storage_report('r')), 100::numeric, 'live vectors unchanged');
VACUUM r;
SELECT is((SELECT sum(dead_vectors) FROM ruvector_storage_report('r')), 0::numeric, 'VACUUM frees the failed statements'' vectors');
SELECT pg_temp.same('table unchanged after VACUUM');

SELECT * FROM finish();
