-- Table AM ruvector: ORDER BY embedding <op> q LIMIT k without an index
-- returns exactly the heap twin's answer, for <->, <#>, <=>, <+> and
-- 16..128 dimensions (random vectors, ties broken by id).
SELECT plan(20);

SELECT setseed(0.24);
CREATE TEMP TABLE q AS
	SELECT d, qn, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, d) WHERE qn > 0)::ruvector AS v
	FROM unnest(ARRAY[16, 37, 64, 128]) d, generate_series(1, 2) qn;

DO $$
DECLARE
	d int;
BEGIN
	FOREACH d IN ARRAY ARRAY[16, 37, 64, 128] LOOP
		EXECUTE format('CREATE TABLE r%s (id int PRIMARY KEY, v ruvector(%s)) USING ruvector', d, d);
		EXECUTE format('CREATE TABLE h%s (id int PRIMARY KEY, v ruvector(%s))', d, d);
		EXECUTE format('INSERT INTO h%s SELECT g, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, %s) WHERE g > 0)
			FROM generate_series(1, 3000) g', d, d);
		EXECUTE format('INSERT INTO r%s SELECT * FROM h%s', d, d);
	END LOOP;
END $$;

SELECT results_eq(format('SELECT id, v::text FROM r%s ORDER BY id', d), format('SELECT id, v::text FROM h%s ORDER BY id', d),
	format('%s dims: table contents equal', d))
	FROM unnest(ARRAY[16, 37, 64, 128]) d;

SELECT results_eq(
	format('SELECT id, v %s %L AS dist FROM r%s ORDER BY v %s %L, id LIMIT 10', op, (SELECT v FROM q WHERE q.d = dd AND qn = 1), dd, op,
		(SELECT v FROM q WHERE q.d = dd AND qn = 1)),
	format('SELECT id, v %s %L AS dist FROM h%s ORDER BY v %s %L, id LIMIT 10', op, (SELECT v FROM q WHERE q.d = dd AND qn = 1), dd, op,
		(SELECT v FROM q WHERE q.d = dd AND qn = 1)),
	format('%s dims, %s: top 10 equal the heap''s', dd, op))
	FROM unnest(ARRAY[16, 37, 64, 128]) dd, unnest(ARRAY['<->', '<#>', '<=>', '<+>']) op
	ORDER BY dd, op;

SELECT * FROM finish();
