-- The type's SQL objects: created in the extension's schema with
-- schema-qualified references (the extension installs into any schema and
-- works from a search_path that does not include it), no SECURITY DEFINER,
-- the expected volatility/strictness/parallel labels, and a pgvector-style
-- nearest-neighbour query.
SELECT plan(13);

-- explain(sql): the text of sql's plan.
CREATE FUNCTION pg_temp.explain(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN ' || sql LOOP
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END $$;

SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
		   JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
		   WHERE p.prosecdef), 0::bigint, 'no SECURITY DEFINER function');
SELECT is((SELECT array_agg(proname::text ORDER BY proname) FROM pg_proc p
		   WHERE 'ruvector'::regtype = ANY (p.proargtypes) AND p.prokind = 'f'
		   AND (p.provolatile <> 'i' OR NOT p.proisstrict OR p.proparallel <> 's')), NULL,
	'every function over ruvector is IMMUTABLE STRICT PARALLEL SAFE');
SELECT is((SELECT array_agg(p::text ORDER BY p::text) FROM unnest(ARRAY[
		'l2_distance(ruvector,ruvector)', 'inner_product(ruvector,ruvector)', 'cosine_distance(ruvector,ruvector)',
		'l1_distance(ruvector,ruvector)', 'vector_dims(ruvector)', 'vector_norm(ruvector)', 'l2_normalize(ruvector)',
		'subvector(ruvector,integer,integer)', 'binary_quantize(ruvector)', 'avg(ruvector)', 'sum(ruvector)']) p
		   WHERE to_regprocedure(p) IS NULL), NULL, 'pgvector''s function names exist for ruvector');

-- reinstall into another schema and use it from outside
DROP EXTENSION ruvector_tam;
CREATE SCHEMA rv;
CREATE EXTENSION ruvector_tam SCHEMA rv;
SET search_path = public;
SELECT is((SELECT count(*) FROM pg_depend d JOIN pg_type t ON t.oid = d.objid AND d.classid = 'pg_type'::regclass
		   JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
		   WHERE t.typname = 'ruvector' AND t.typnamespace = 'rv'::regnamespace), 1::bigint,
	'CREATE EXTENSION ... SCHEMA rv puts the type in rv');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
		   JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
		   WHERE p.pronamespace <> 'rv'::regnamespace), 0::bigint, 'every function is in rv');
SELECT is((SELECT count(*) FROM pg_operator o JOIN pg_depend d ON d.objid = o.oid AND d.classid = 'pg_operator'::regclass
		   JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
		   WHERE o.oprnamespace <> 'rv'::regnamespace), 0::bigint, 'every operator is in rv');
SELECT is('[1,2]'::rv.ruvector OPERATOR(rv.<->) '[4,6]'::rv.ruvector, 5::float8, 'qualified operator outside search_path');
SELECT is(rv.avg(v)::text, '[2,3]', 'qualified aggregate outside search_path')
	FROM (VALUES ('[1,2]'::rv.ruvector), ('[3,4]')) t(v);
SELECT is(ARRAY[1,2]::rv.ruvector::text, '[1,2]', 'casts work outside search_path');
CREATE TABLE docs (id int, embedding rv.ruvector(2));
INSERT INTO docs SELECT i, ARRAY[i % 17, i % 23] FROM generate_series(1, 500) i;
CREATE INDEX ON docs (embedding);
SET enable_seqscan = off;
SELECT ok(pg_temp.explain($$SELECT id FROM docs WHERE embedding OPERATOR(rv.=) '[3,4]'$$) ~ 'Index',
	'btree opclass found outside search_path');
RESET enable_seqscan;
SELECT is((SELECT count(*) FROM docs WHERE embedding OPERATOR(rv.=) '[3,4]'),
	(SELECT count(*) FROM docs WHERE embedding::real[] = '{3,4}'), 'index equality outside search_path');

SET search_path = rv, public;
SELECT is((SELECT array_agg(id) FROM (SELECT id FROM docs ORDER BY embedding <-> '[5,5]', id LIMIT 10) s),
	(SELECT array_agg(id) FROM (SELECT id FROM docs, LATERAL (SELECT embedding::real[] e) l
		ORDER BY (e[1] - 5) ^ 2 + (e[2] - 5) ^ 2, id LIMIT 10) s),
	'pgvector-style ORDER BY embedding <-> query LIMIT k');
SELECT is((SELECT array_agg(id) FROM (SELECT id FROM docs ORDER BY embedding <+> '[5,5]', id LIMIT 10) s),
	(SELECT array_agg(id) FROM (SELECT id FROM docs, LATERAL (SELECT embedding::real[] e) l
		ORDER BY abs(e[1] - 5) + abs(e[2] - 5), id LIMIT 10) s),
	'ORDER BY embedding <+> query LIMIT k');
SELECT * FROM finish();
