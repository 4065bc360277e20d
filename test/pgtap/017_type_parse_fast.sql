-- Text input's fast path for short decimals (vector_parse.c RvParseFast)
-- gives bit for bit the float that float4in (strtof) gives, on random
-- decimals of every length it takes, on the edges where it hands over to
-- strtof, and inside whole vectors.
SELECT plan(4);

SELECT setseed(0.17);
CREATE TEMP TABLE s AS SELECT g, CASE g % 7
	WHEN 0 THEN (floor(random() * 1e8) - 5e7)::bigint::text
	WHEN 1 THEN round((random() * 2 - 1)::numeric, g % 11)::text
	WHEN 2 THEN round((random() * 1000)::numeric, 1 + g % 7)::text
	WHEN 3 THEN '0.' || lpad(floor(random() * 1e6)::bigint::text, 10, '0')
	WHEN 4 THEN floor(random() * 16777300)::bigint::text || '.' || (g % 10)::text
	WHEN 5 THEN '-.' || floor(random() * 1e7)::bigint::text
	ELSE to_char(random() * 100, 'FM999990.0000000') END AS t
	FROM generate_series(1, 40000) g;

SELECT is((SELECT count(*) FROM s
	WHERE float4send((('[' || t || ']')::ruvector::real[])[1]) <> float4send(t::real)),
	0::bigint, '40000 random short decimals: the same float as float4in');

SELECT is((SELECT count(*) FROM unnest(ARRAY['16777216', '16777217', '16777218', '16777219.5',
	'0.1', '-0', '+.5', '5.', '0000123.4500', '1.0000001', '0.0000000001', '0.00000000001',
	'99999999', '999999999', '1.5e3', '3.4028235e38', '1.17549435e-38', '0.3333333333',
	'-0.0000000003', '12345678.9', '0.12345678', '8388608.5', '8388609.5', '2.5', '1e-45'
	]) t
	WHERE float4send((('[' || t || ']')::ruvector::real[])[1]) <> float4send(t::real)),
	0::bigint, 'edge cases (2^24, ties to even, leading zeros, exponents): the same floats');

SELECT is(('[' || (SELECT string_agg(t, ' , ') FROM s WHERE g <= 2000) || ']')::ruvector::real[],
	(SELECT array_agg(t::real ORDER BY g) FROM s WHERE g <= 2000),
	'a 2000-dimension vector of them, with spaces around commas');

SELECT throws_ok($$SELECT '[1.5,2x]'::ruvector$$, '22P02',
	'invalid input syntax for type vector: "[1.5,2x]"', 'junk after a fast-path number is still an error');

SELECT * FROM finish();
