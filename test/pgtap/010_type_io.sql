-- ruvector text and binary I/O and the type modifier: formats, round
-- trips and pgvector's errors (message and SQLSTATE).  Expected values come
-- from core types (real[], float4send, int2send), never from the type.
SELECT plan(53);

-- err(sql): 'SQLSTATE: message / detail' of the error sql raises.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	det text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || msg || coalesce(' / ' || nullif(det, ''), '');
END $$;

-- feed_recv(bytes, typ): hands bytes to typ's receive function through a
-- binary COPY (the bytea field body becomes the column's binary value).
CREATE FUNCTION pg_temp.feed_recv(bytes bytea, typ text DEFAULT 'ruvector')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	path text := current_setting('data_directory') || '/rv_010_' ||
		pg_backend_pid() || '.bin';
	result text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', bytes, path);
	EXECUTE format('CREATE TEMP TABLE rv_feed (v %s)', typ);
	BEGIN
		EXECUTE format('COPY rv_feed FROM %L WITH (FORMAT binary)', path);
		SELECT v::text INTO result FROM rv_feed;
	EXCEPTION WHEN OTHERS THEN
		DROP TABLE rv_feed;
		RAISE;
	END;
	DROP TABLE rv_feed;
	RETURN result;
END $$;

-- ---- text input and output ----
SELECT is('[1,2,3]'::ruvector::text, '[1,2,3]', 'text round trip');
SELECT is(E' \t[ 1 ,\n2 , 3 ] \r'::ruvector::text, '[1,2,3]', 'whitespace around elements and brackets');
SELECT is('[1.5,-0.25,3.4028235e+38,-1e-45,1e-40,0.1]'::ruvector::text,
	translate('{1.5,-0.25,3.4028235e+38,-1e-45,1e-40,0.1}'::real[]::text, '{}', '[]'),
	'elements print like float4out (shortest exact form)');
SELECT is('[+1e2, .5, 7.]'::ruvector::text, '[100,0.5,7]', 'strtof number forms');
SELECT is('[-0]'::ruvector::real[], '{-0}'::real[], 'negative zero kept');

CREATE TEMP TABLE rnd AS
	SELECT i, array_agg((random() * 2e6 - 1e6)::real * (10 ^ (random() * 20 - 10))::real) AS a
	FROM generate_series(1, 200) i, generate_series(1, 1 + i % 37) j GROUP BY i;
SELECT is((SELECT count(*) FROM rnd
		   WHERE translate(a::text, '{}', '[]')::ruvector::text::ruvector::real[] IS DISTINCT FROM a), 0::bigint,
	'200 random vectors survive text -> ruvector -> text -> ruvector exactly');
SELECT is((SELECT count(*) FROM rnd
		   WHERE translate(a::text, '{}', '[]')::ruvector::text <> translate(a::text, '{}', '[]')), 0::bigint,
	'output text equals float4 output text for random vectors');

SELECT is(vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::ruvector),
	16000, '16000 dimensions accepted');
SELECT is(vector_dims('[7]'::ruvector), 1, 'one dimension accepted');

-- ---- text input errors ----
SELECT throws_ok($$SELECT '1,2,3'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "1,2,3"', 'missing [');
SELECT is(pg_temp.err($$SELECT '1,2,3'::ruvector$$),
	'22P02: invalid input syntax for type vector: "1,2,3" / Vector contents must start with "[".',
	'missing [ detail');
SELECT throws_ok($$SELECT '[1,2,3] x'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "[1,2,3] x"', 'junk after ]');
SELECT is(pg_temp.err($$SELECT '[1,2,3] x'::ruvector$$),
	'22P02: invalid input syntax for type vector: "[1,2,3] x" / Junk after closing right brace.',
	'junk after ] detail');
SELECT is(pg_temp.err($$SELECT '[1,,2]'::ruvector$$),
	'22P02: invalid input syntax for type vector: "[1,,2]"', 'empty element, no detail');
SELECT throws_ok($$SELECT '[1,2'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "[1,2"', 'unterminated');
SELECT throws_ok($$SELECT '[1,2,]'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "[1,2,]"', 'trailing comma');
SELECT throws_ok($$SELECT '[1 2]'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "[1 2]"', 'missing comma');
SELECT throws_ok($$SELECT '[a]'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "[a]"', 'not a number');
SELECT throws_ok($$SELECT ''::ruvector$$, '22P02',
	'invalid input syntax for type vector: ""', 'empty string');
SELECT throws_ok($$SELECT '[]'::ruvector$$, '22000',
	'vector must have at least 1 dimension', 'no element');
SELECT throws_ok($$SELECT '[ ]'::ruvector$$, '22000',
	'vector must have at least 1 dimension', 'no element, blank');
SELECT throws_ok($$SELECT '[NaN]'::ruvector$$, '22000',
	'NaN not allowed in vector', 'NaN');
SELECT throws_ok($$SELECT '[1,Infinity]'::ruvector$$, '22000',
	'infinite value not allowed in vector', 'Infinity');
SELECT throws_ok($$SELECT '[-inf]'::ruvector$$, '22000',
	'infinite value not allowed in vector', '-inf');
SELECT throws_ok($$SELECT '[1e39]'::ruvector$$, '22003',
	'"1e39" is out of range for type vector', 'overflow');
SELECT throws_ok($$SELECT '[1,-1e39]'::ruvector$$, '22003',
	'"-1e39" is out of range for type vector', 'negative overflow');
SELECT is(float4send(('[1e-46]'::ruvector::real[])[1]), float4send(0::real),
	'underflow to zero reads as 0, as in pgvector (018 has the rest)');
SELECT throws_ok($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::ruvector$$,
	'54000', 'vector cannot have more than 16000 dimensions', '16001 dimensions');

-- ---- type modifier ----
SELECT is('[1,2,3]'::ruvector(3)::text, '[1,2,3]', 'matching typmod');
SELECT throws_ok($$SELECT '[1,2]'::ruvector(3)$$, '22000',
	'expected 3 dimensions, not 2', 'typmod mismatch on input');
SELECT throws_ok($$SELECT '[1]'::ruvector(0)$$, '22023',
	'dimensions for type vector must be at least 1', 'typmod 0');
SELECT throws_ok($$SELECT '[1]'::ruvector(16001)$$, '22023',
	'dimensions for type vector cannot exceed 16000', 'typmod 16001');
SELECT throws_ok($$SELECT '[1]'::ruvector(1, 2)$$, '22023',
	'invalid type modifier', 'two typmods');
CREATE TEMP TABLE typed (v ruvector(3));
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		   WHERE attrelid = 'typed'::regclass AND attname = 'v'),
	'ruvector(3)', 'column type prints as ruvector(3)');
SELECT throws_ok($$INSERT INTO typed VALUES ('[1,2]')$$, '22000',
	'expected 3 dimensions, not 2', 'insert into ruvector(3) checks dims');
SELECT throws_ok($$INSERT INTO typed SELECT '[1,2,3,4]'::ruvector$$, '22000',
	'expected 3 dimensions, not 4', 'assignment coercion of ruvector to ruvector(3)');

-- ---- binary send and receive ----
SELECT is(ruvector_send('[1,-2.5,3e-5]'),
	int2send(3::int2) || int2send(0::int2) || float4send(1) || float4send(-2.5) || float4send(3e-5),
	'send: int16 dim, int16 unused, float4 elements in network order');
SELECT is(pg_temp.feed_recv(int2send(2::int2) || int2send(0::int2) || float4send(0.5) || float4send(-7)),
	'[0.5,-7]', 'recv reads the same format');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(0::int2) || int2send(0::int2))$$,
	'22000', 'vector must have at least 1 dimension', 'recv: dim 0');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(-1::int2) || int2send(0::int2) || float4send(1))$$,
	'22000', 'vector must have at least 1 dimension', 'recv: negative dim');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(16001::int2) || int2send(0::int2))$$,
	'54000', 'vector cannot have more than 16000 dimensions', 'recv: dim 16001');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(1::int2) || int2send(1::int2) || float4send(1))$$,
	'22000', 'expected unused to be 0, not 1', 'recv: unused must be 0');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(2::int2) || int2send(0::int2) || float4send(1) || float4send('NaN'))$$,
	'22000', 'NaN not allowed in vector', 'recv: NaN');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(1::int2) || int2send(0::int2) || float4send('-Infinity'))$$,
	'22000', 'infinite value not allowed in vector', 'recv: infinity');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(3::int2) || int2send(0::int2) || float4send(1) || float4send(2))$$,
	'08P01', 'insufficient data left in message', 'recv: truncated value');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(2::int2) || int2send(0::int2) || float4send(1) || float4send(2), 'ruvector(3)')$$,
	'22000', 'expected 3 dimensions, not 2', 'recv: typmod checked');
SELECT throws_ok($$SELECT pg_temp.feed_recv(int2send(-21078::int2) || int2send(1::int2) || int4send(42) || int4send(0))$$,
	'22P03', 'unresolved ruvector reference', 'recv: vref bytes are refused as invalid binary input');

-- COPY ... (FORMAT binary) round trip through a file
CREATE TEMP TABLE src (id int, v ruvector);
INSERT INTO src SELECT i, translate(a::text, '{}', '[]')::ruvector FROM rnd;
SELECT ok(pg_temp.err(format('COPY src TO %L WITH (FORMAT binary)',
	current_setting('data_directory') || '/rv_010_copy_' || pg_backend_pid() || '.bin')) = 'no error',
	'COPY TO binary');
CREATE TEMP TABLE dst (id int, v ruvector);
SELECT ok(pg_temp.err(format('COPY dst FROM %L WITH (FORMAT binary)',
	current_setting('data_directory') || '/rv_010_copy_' || pg_backend_pid() || '.bin')) = 'no error',
	'COPY FROM binary');
SELECT is((SELECT count(*) FROM dst), 200::bigint, 'all rows copied back');
SELECT is((SELECT count(*) FROM src JOIN dst USING (id) WHERE src.v::real[] IS DISTINCT FROM dst.v::real[]),
	0::bigint, 'binary round trip is exact');
SELECT is((SELECT count(*) FROM rnd JOIN dst ON dst.id = rnd.i WHERE dst.v::real[] IS DISTINCT FROM rnd.a),
	0::bigint, 'copied vectors equal the source arrays');

-- NULL handling: functions are strict
SELECT is(ruvector_send(NULL), NULL, 'send of NULL is NULL');

SELECT * FROM finish();
