-- ruhnsw index size against the vectors it covers: index bytes per vector
-- (pg_relation_size of the index over the indexed rows) at 100 and 784
-- dimensions with the default m = 16, after CREATE INDEX and after more
-- rows are inserted into the built index, against the targets 0.4x (100
-- dims) and 0.15x (784 dims) of the raw vectors (4 bytes per dimension).
-- The figures are printed as diag; ruvector_verify finds nothing wrong.
SELECT plan(9);

SELECT setseed(0.29);
CREATE TABLE s100 (id int PRIMARY KEY, v ruvector(100)) USING ruvector;
INSERT INTO s100
	SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 100) WHERE i > 0)::ruvector
	FROM generate_series(1, 10000) i;
CREATE INDEX s100_idx ON s100 USING ruhnsw (v);
SELECT round(pg_relation_size('s100_idx')::numeric / (SELECT count(*) FROM s100), 1) AS b \gset
SELECT diag('100 dims, 10000 rows, built: ' || :b || ' index bytes per vector, ' ||
			round(:b / 400.0, 3) || 'x raw');
SELECT cmp_ok(:b::numeric, '<=', 0.4 * 400, '100 dims, built: index bytes per vector <= 0.4x raw');

INSERT INTO s100
	SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 100) WHERE i > 0)::ruvector
	FROM generate_series(10001, 14000) i;
SELECT round(pg_relation_size('s100_idx')::numeric / (SELECT count(*) FROM s100), 1) AS b \gset
SELECT diag('100 dims, 14000 rows, 4000 inserted: ' || :b || ' index bytes per vector, ' ||
			round(:b / 400.0, 3) || 'x raw');
SELECT cmp_ok(:b::numeric, '<=', 0.4 * 400, '100 dims, after inserts: index bytes per vector <= 0.4x raw');
SELECT is((SELECT count(*) FROM ruvector_verify('s100')), 0::bigint, '100 dims: verify finds nothing');

-- the index answers as an exact search does for a vector of the table
SELECT is((SELECT id FROM s100 ORDER BY v <-> (SELECT v FROM s100 WHERE id = 12345) LIMIT 1),
		  12345, '100 dims: a stored vector is its own nearest neighbour');
SELECT is((SELECT id FROM s100 ORDER BY v <-> (SELECT v FROM s100 WHERE id = 77) LIMIT 1),
		  77, '100 dims: a built vector is its own nearest neighbour');

CREATE TABLE s784 (id int PRIMARY KEY, v ruvector(784)) USING ruvector;
INSERT INTO s784
	SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 784) WHERE i > 0)::ruvector
	FROM generate_series(1, 3000) i;
CREATE INDEX s784_idx ON s784 USING ruhnsw (v);
SELECT round(pg_relation_size('s784_idx')::numeric / (SELECT count(*) FROM s784), 1) AS b \gset
SELECT diag('784 dims, 3000 rows, built: ' || :b || ' index bytes per vector, ' ||
			round(:b / 3136.0, 3) || 'x raw');
SELECT cmp_ok(:b::numeric, '<=', 0.15 * 3136, '784 dims, built: index bytes per vector <= 0.15x raw');

INSERT INTO s784
	SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 784) WHERE i > 0)::ruvector
	FROM generate_series(3001, 4000) i;
SELECT round(pg_relation_size('s784_idx')::numeric / (SELECT count(*) FROM s784), 1) AS b \gset
SELECT diag('784 dims, 4000 rows, 1000 inserted: ' || :b || ' index bytes per vector, ' ||
			round(:b / 3136.0, 3) || 'x raw');
SELECT cmp_ok(:b::numeric, '<=', 0.15 * 3136, '784 dims, after inserts: index bytes per vector <= 0.15x raw');
SELECT is((SELECT count(*) FROM ruvector_verify('s784')), 0::bigint, '784 dims: verify finds nothing');
SELECT is((SELECT id FROM s784 ORDER BY v <-> (SELECT v FROM s784 WHERE id = 3500) LIMIT 1),
		  3500, '784 dims: a stored vector is its own nearest neighbour');

SELECT * FROM finish();
