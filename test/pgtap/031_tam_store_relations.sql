-- Table AM ruvector: vector stores are catalogued relations.  Each store
-- is a pg_class relation of access method ruvector_store in schema
-- ruvector_internal (a temporary table's in its temporary schema), a
-- member of the extension, owned by the bootstrap superuser, named by
-- ruvector_storage_report's relation column; it refuses direct access
-- with 0A000, lets database-wide VACUUM, ANALYZE and VACUUM FULL pass, and
-- goes away with its table, column or extension, also when the drop is
-- part of a larger deletion.
SELECT plan(32);

CREATE TABLE h (id int PRIMARY KEY, v ruvector(3), u ruvector);
INSERT INTO h SELECT g, ARRAY[g, -g, g * 0.5]::real[]::ruvector,
	CASE WHEN g % 3 = 0 THEN ARRAY[g, g]::real[]::ruvector
	     WHEN g % 3 = 1 THEN ARRAY[g, g, g, g]::real[]::ruvector END
	FROM generate_series(1, 200) g;
CREATE TABLE r (id int PRIMARY KEY, v ruvector(3), u ruvector) USING ruvector;
INSERT INTO r SELECT * FROM h;

CREATE FUNCTION rv_contents(rel regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
	EXECUTE format('SELECT md5(string_agg(id || %L || coalesce(v::text, %L) || coalesce(u::text, %L), %L ORDER BY id)) FROM %s',
				   ' ', '-', '-', ',', rel) INTO t;
	RETURN t;
END $$;
CREATE FUNCTION rv_store_relations() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'ruvector_store'
$$;

SELECT is((SELECT count(*) FROM ruvector_storage_report('r')), 3::bigint, 'r has 3 stores (v; u with 2 and 4 dims)');
SELECT is((SELECT count(*) FROM ruvector_storage_report('r') s JOIN pg_class c ON c.oid = s.relation
		   JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam
		   WHERE n.nspname = 'ruvector_internal' AND a.amname = 'ruvector_store' AND c.relkind = 'r'
		     AND c.relowner = 10 AND c.relpersistence = 'p'),
	3::bigint, 'each store is a relation of AM ruvector_store in ruvector_internal, owned by the bootstrap superuser');
SELECT is((SELECT count(*) FROM ruvector_storage_report('r') s JOIN pg_depend d
		   ON d.classid = 'pg_class'::regclass AND d.objid = s.relation AND d.deptype = 'e'
		   JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'),
	3::bigint, 'each store relation is a member of the extension');
SELECT is((SELECT count(*) FROM ruvector_storage_report('r') s JOIN pg_depend d
		   ON d.classid = 'pg_class'::regclass AND d.objid = s.relation AND d.refobjid = 'r'::regclass),
	0::bigint, 'no store relation depends on its table in pg_depend');
SELECT is((SELECT sum(pg_relation_size(relation)) FROM ruvector_storage_report('r')),
	(SELECT sum(bytes) FROM ruvector_storage_report('r'))::numeric, 'pg_relation_size of the store relations = report bytes');
SELECT is(rv_store_relations(), 3::bigint, 'three store relations in the database');

-- direct access is refused with a clear error
CREATE FUNCTION rv_store_of(rel regclass, col text) RETURNS text LANGUAGE sql AS $$
	SELECT relation::text FROM ruvector_storage_report(rel) WHERE column_name = col ORDER BY dims LIMIT 1
$$;
SELECT throws_like(format('SELECT * FROM %s', rv_store_of('r', 'v')), '%is a ruvector vector store and cannot be accessed directly',
	'SELECT from a store relation is refused');
SELECT throws_ok(format('SELECT count(*) FROM %s', rv_store_of('r', 'v')), '0A000', NULL,
	'count(*) from a store relation: 0A000');
SELECT throws_ok(format('INSERT INTO %s DEFAULT VALUES', rv_store_of('r', 'v')), '0A000', NULL,
	'INSERT into a store relation: 0A000');
SELECT throws_ok(format('DELETE FROM %s', rv_store_of('r', 'v')), '0A000', NULL,
	'DELETE from a store relation: 0A000');
SELECT throws_like(format('TRUNCATE %s', rv_store_of('r', 'v')), 'cannot truncate ruvector vector store%',
	'TRUNCATE of a store relation is refused');
SELECT throws_ok(format('DROP TABLE %s', rv_store_of('r', 'v')), '2BP01', NULL,
	'DROP TABLE of a store relation is refused (the extension needs it)');
SELECT is(rv_contents('r'), rv_contents('h'), 'r intact after the refused statements');

-- database-wide maintenance passes over the stores
VACUUM;
ANALYZE;
SELECT is(rv_contents('r'), rv_contents('h'), 'database-wide VACUUM and ANALYZE pass');
SELECT format('VACUUM FULL %s', rv_store_of('r', 'v')) AS cmd \gset
:cmd;
SELECT isnt((SELECT relfilenode FROM pg_class WHERE oid = rv_store_of('r', 'v')::regclass),
	(SELECT split_part(:'cmd', 'store_', 2)::oid), 'VACUUM FULL of a store relation gave it a new file');
SELECT is(rv_contents('r'), rv_contents('h'), 'VACUUM FULL of a store relation keeps its vectors');
SELECT is((SELECT count(*) FROM ruvector_verify('r')), 0::bigint, 'verify clean after VACUUM FULL of a store');

-- stores go with their table, column, rollback keeps them
BEGIN;
DROP TABLE r;
SELECT is(rv_store_relations(), 0::bigint, 'DROP TABLE drops the store relations');
ROLLBACK;
SELECT is(rv_store_relations(), 3::bigint, 'rolled-back DROP TABLE keeps them');
SELECT is(rv_contents('r'), rv_contents('h'), 'r intact after the rollback');
ALTER TABLE r DROP COLUMN u;
SELECT is(rv_store_relations(), 1::bigint, 'DROP COLUMN drops that column''s store relations');
TRUNCATE r;
SELECT is(rv_store_relations(), 0::bigint, 'TRUNCATE drops the old storage''s store relations');
INSERT INTO r SELECT id, v FROM h;
SELECT is(rv_store_relations(), 1::bigint, 'a new store relation after TRUNCATE');

-- a user schema dropped with CASCADE takes its tables' stores along
CREATE SCHEMA s1;
CREATE TABLE s1.t (id int, v ruvector(3)) USING ruvector;
INSERT INTO s1.t SELECT id, v FROM h;
SELECT is(rv_store_relations(), 2::bigint, 's1.t has a store');
DROP SCHEMA s1 CASCADE;
SELECT is(rv_store_relations(), 1::bigint, 'DROP SCHEMA ... CASCADE drops the store of its table');

-- temporary tables: stores in the temporary schema (the end of a session
-- and DISCARD TEMP are tested in t/025_store_lifecycle.pl: pgTAP keeps its
-- own state in temporary tables)
CREATE TEMP TABLE tt (id int, v ruvector(3)) USING ruvector;
INSERT INTO tt SELECT id, v FROM h;
SELECT is((SELECT count(*) FROM ruvector_storage_report('tt') s JOIN pg_class c ON c.oid = s.relation
		   WHERE c.relpersistence = 't' AND c.relnamespace = pg_my_temp_schema()),
	1::bigint, 'a temporary table''s store is a temporary relation in the session''s temporary schema');
SELECT is((SELECT string_agg(v::text, ',' ORDER BY id) FROM tt), (SELECT string_agg(v::text, ',' ORDER BY id) FROM h),
	'temporary table readable');
DROP TABLE tt;
SELECT is(rv_store_relations(), 1::bigint, 'DROP TABLE drops the temporary store');
SELECT is((SELECT count(*) FROM ruvector_store), 1::bigint, 'and its catalog row');
SELECT is((SELECT count(*) FROM ruvector_gc_orphans()), 0::bigint, 'nothing for GC to collect');

-- DROP EXTENSION ... CASCADE removes tables and their store relations
-- (run in a savepoint-free transaction and rolled back, so the rest of
-- the suite keeps the extension)
BEGIN;
DROP EXTENSION ruvector_tam CASCADE;
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		   WHERE n.nspname = 'ruvector_internal'), 0::bigint, 'DROP EXTENSION CASCADE leaves no store relation');
ROLLBACK;
SELECT is(rv_store_relations(), 1::bigint, 'rolled-back DROP EXTENSION keeps the store');

SELECT * FROM finish();
