-- Table AM ruvector: no publication may include a ruvector table
-- (logical decoding would see vrefs): FOR TABLE, FOR ALL TABLES, FOR
-- TABLES IN SCHEMA, ALTER PUBLICATION ADD TABLE / ADD TABLES IN SCHEMA,
-- CREATE TABLE [AS] USING ruvector and SET ACCESS METHOD while a FOR ALL
-- TABLES or schema publication exists are refused with 0A000.
SELECT plan(16);

CREATE SCHEMA s;
CREATE TABLE s.r (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
CREATE TABLE s.h (id int PRIMARY KEY, v ruvector(3));
CREATE SCHEMA hs;
CREATE TABLE hs.h (id int PRIMARY KEY, v ruvector(3));

SELECT throws_ok('CREATE PUBLICATION p1 FOR TABLE s.h, s.r', '0A000',
	'publication "p1" would include ruvector table "s.r"', 'CREATE PUBLICATION FOR TABLE');
SELECT throws_ok('CREATE PUBLICATION p2 FOR ALL TABLES', '0A000',
	'publication "p2" would include ruvector table "s.r"', 'CREATE PUBLICATION FOR ALL TABLES');
SELECT throws_ok('CREATE PUBLICATION p3 FOR TABLES IN SCHEMA s', '0A000',
	'publication "p3" would include ruvector table "s.r"', 'CREATE PUBLICATION FOR TABLES IN SCHEMA');
SELECT is((SELECT count(*) FROM pg_publication), 0::bigint, 'no publication was created');

CREATE PUBLICATION ph FOR TABLE s.h;
SELECT throws_ok('ALTER PUBLICATION ph ADD TABLE s.r', '0A000',
	'publication "ph" would include ruvector table "s.r"', 'ALTER PUBLICATION ADD TABLE');
SELECT throws_ok('ALTER PUBLICATION ph SET TABLE s.r', '0A000',
	'publication "ph" would include ruvector table "s.r"', 'ALTER PUBLICATION SET TABLE');
SELECT throws_ok('ALTER PUBLICATION ph ADD TABLES IN SCHEMA s', '0A000',
	'publication "ph" would include ruvector table "s.r"', 'ALTER PUBLICATION ADD TABLES IN SCHEMA');
SELECT results_eq($$SELECT schemaname::text COLLATE "default", tablename::text COLLATE "default" FROM pg_publication_tables WHERE pubname = 'ph'$$,
	$$VALUES ('s', 'h')$$, 'publication unchanged');

-- a heap table in a schema publication cannot become a ruvector table
CREATE PUBLICATION phs FOR TABLES IN SCHEMA hs;
SELECT throws_ok('ALTER TABLE hs.h SET ACCESS METHOD ruvector', '0A000',
	'publication "phs" would include ruvector table "hs.h"', 'SET ACCESS METHOD ruvector in a published schema');
SELECT throws_ok('CREATE TABLE hs.r (id int, v ruvector(3)) USING ruvector', '0A000',
	'publication "phs" would include ruvector table "hs.r"', 'CREATE TABLE USING ruvector in a published schema');
SELECT throws_ok('ALTER TABLE s.r SET SCHEMA hs', '0A000',
	'publication "phs" would include ruvector table "hs.r"', 'ALTER TABLE SET SCHEMA into a published schema');
DROP PUBLICATION phs;

-- while a FOR ALL TABLES publication exists
DROP TABLE s.r;
CREATE PUBLICATION pall FOR ALL TABLES;
SELECT throws_ok('CREATE TABLE s.r2 (id int, v ruvector(3)) USING ruvector', '0A000',
	'publication "pall" would include ruvector table "s.r2"', 'CREATE TABLE USING ruvector with FOR ALL TABLES');
SET default_table_access_method = ruvector;
SELECT throws_ok('CREATE TABLE s.r3 AS SELECT * FROM s.h', '0A000',
	'publication "pall" would include ruvector table "s.r3"', 'CREATE TABLE AS with FOR ALL TABLES');
SELECT throws_ok('SELECT * INTO s.r4 FROM s.h', '0A000',
	'publication "pall" would include ruvector table "s.r4"', 'SELECT INTO with FOR ALL TABLES');
RESET default_table_access_method;
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'ruvector'), 0::bigint,
	'no ruvector table was created');
SELECT is((SELECT count(*) FROM ruvector_store), 0::bigint, 'no store left behind');

SELECT * FROM finish();
