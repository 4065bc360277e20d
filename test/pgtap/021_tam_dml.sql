-- Table AM ruvector: INSERT (single, multi-row, RETURNING), COPY FROM in
-- text, csv and binary, ON CONFLICT, UPDATE, DELETE, SELECT with WHERE,
-- FOR UPDATE / FOR SHARE, BEFORE/AFTER ROW triggers, foreign keys,
-- savepoints.  A ruvector table r and a heap twin h get the same statements.
SELECT plan(42);

CREATE FUNCTION pg_temp.stores_ok() RETURNS boolean LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM ruvector_gc_orphans()) = 0
	   AND NOT EXISTS (SELECT 1 FROM ruvector_store s
					   WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_am a ON a.oid = c.relam
										 WHERE a.amname = 'ruvector' AND c.relfilenode = s.relnode))
$$;
-- run sql on both tables: {t} is replaced by r, then by h
CREATE FUNCTION pg_temp.both(sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE replace(sql, '{t}', 'r');
	EXECUTE replace(sql, '{t}', 'h');
END $$;
CREATE FUNCTION pg_temp.same(cols text, descr text) RETURNS text LANGUAGE sql AS $$
	SELECT results_eq(format('SELECT %s FROM r ORDER BY id', cols), format('SELECT %s FROM h ORDER BY id', cols), descr)
$$;

CREATE TABLE r (id int PRIMARY KEY, v ruvector(3), note text, n int) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(3), note text, n int);

-- INSERT single and multi-row with RETURNING
SELECT results_eq($$INSERT INTO r VALUES (1, '[1,2,3]', 'one', 1) RETURNING id, v::text, note$$,
	$$INSERT INTO h VALUES (1, '[1,2,3]', 'one', 1) RETURNING id, v::text, note$$, 'INSERT ... RETURNING a vector');
SELECT results_eq($$INSERT INTO r VALUES (2, '[4,5,6]', 'two', 2), (3, NULL, 'three', 3), (4, '[-1.5,0,1e-7]', NULL, 4)
	RETURNING id, v::text, v = '[4,5,6]'$$,
	$$INSERT INTO h VALUES (2, '[4,5,6]', 'two', 2), (3, NULL, 'three', 3), (4, '[-1.5,0,1e-7]', NULL, 4)
	RETURNING id, v::text, v = '[4,5,6]'$$, 'multi-row INSERT ... RETURNING');
SELECT pg_temp.both($$INSERT INTO {t} SELECT g, ARRAY[g, -g, g / 7.0]::real[]::ruvector, 'g' || g, g % 10
	FROM generate_series(5, 500) g$$);
SELECT pg_temp.same('id, v::text, note, n', 'INSERT ... SELECT: same rows');

-- COPY FROM text, csv, binary (written by COPY TO from the heap twin)
CREATE TABLE rc (id int PRIMARY KEY, v ruvector(3), note text, n int) USING ruvector;
CREATE TABLE hc (id int PRIMARY KEY, v ruvector(3), note text, n int);
DO $$
DECLARE
	dir text := current_setting('data_directory');
	fmt text;
BEGIN
	FOREACH fmt IN ARRAY ARRAY['text', 'csv', 'binary'] LOOP
		EXECUTE format('COPY h TO %L WITH (FORMAT %s)', dir || '/rv_021_copy.' || fmt, fmt);
	END LOOP;
END $$;
DO $$
DECLARE
	dir text := current_setting('data_directory');
BEGIN
	EXECUTE format('COPY rc FROM %L WITH (FORMAT text)', dir || '/rv_021_copy.text');
	EXECUTE format('COPY hc FROM %L WITH (FORMAT text)', dir || '/rv_021_copy.text');
END $$;
SELECT results_eq('SELECT id, v::text, note, n FROM rc ORDER BY id', 'SELECT id, v::text, note, n FROM hc ORDER BY id',
	'COPY FROM text');
SELECT results_eq('SELECT id, v::text, note, n FROM rc ORDER BY id', 'SELECT id, v::text, note, n FROM h ORDER BY id',
	'COPY FROM text round-trips the heap table');
TRUNCATE rc, hc;
DO $$
DECLARE
	dir text := current_setting('data_directory');
BEGIN
	EXECUTE format('COPY rc FROM %L WITH (FORMAT csv)', dir || '/rv_021_copy.csv');
	EXECUTE format('COPY hc FROM %L WITH (FORMAT csv)', dir || '/rv_021_copy.csv');
END $$;
SELECT results_eq('SELECT id, v::text, note, n FROM rc ORDER BY id', 'SELECT id, v::text, note, n FROM hc ORDER BY id',
	'COPY FROM csv');
TRUNCATE rc, hc;
DO $$
DECLARE
	dir text := current_setting('data_directory');
BEGIN
	EXECUTE format('COPY rc FROM %L WITH (FORMAT binary)', dir || '/rv_021_copy.binary');
	EXECUTE format('COPY hc FROM %L WITH (FORMAT binary)', dir || '/rv_021_copy.binary');
END $$;
SELECT results_eq('SELECT id, v::text, note, n FROM rc ORDER BY id', 'SELECT id, v::text, note, n FROM hc ORDER BY id',
	'COPY FROM binary');
SELECT results_eq('SELECT id, v::text, note, n FROM rc ORDER BY id', 'SELECT id, v::text, note, n FROM h ORDER BY id',
	'COPY FROM binary round-trips the heap table');
-- COPY TO from the ruvector table gives the heap table's bytes
DO $$
DECLARE
	dir text := current_setting('data_directory');
BEGIN
	EXECUTE format('COPY (SELECT * FROM r ORDER BY id) TO %L WITH (FORMAT binary)', dir || '/rv_021_r.bin');
	EXECUTE format('COPY (SELECT * FROM h ORDER BY id) TO %L WITH (FORMAT binary)', dir || '/rv_021_h.bin');
END $$;
SELECT is(pg_read_binary_file(current_setting('data_directory') || '/rv_021_r.bin'),
	pg_read_binary_file(current_setting('data_directory') || '/rv_021_h.bin'), 'COPY TO binary: identical bytes');
SELECT is((SELECT sum(live_vectors) FROM ruvector_storage_report('rc')), 499::numeric,
	'COPY stored one vector per non-null row');

-- ON CONFLICT
SELECT results_eq($$INSERT INTO r VALUES (1, '[9,9,9]', 'dup', 0), (600, '[6,0,0]', 'new', 6)
	ON CONFLICT DO NOTHING RETURNING id, v::text$$,
	$$INSERT INTO h VALUES (1, '[9,9,9]', 'dup', 0), (600, '[6,0,0]', 'new', 6)
	ON CONFLICT DO NOTHING RETURNING id, v::text$$, 'ON CONFLICT DO NOTHING');
SELECT results_eq($$INSERT INTO r VALUES (2, '[7,7,7]', 'upd', 0), (601, '[6,0,1]', 'new', 6)
	ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v + r.v, note = r.note || '+' || EXCLUDED.note RETURNING id, v::text, note$$,
	$$INSERT INTO h VALUES (2, '[7,7,7]', 'upd', 0), (601, '[6,0,1]', 'new', 6)
	ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v + h.v, note = h.note || '+' || EXCLUDED.note RETURNING id, v::text, note$$,
	'ON CONFLICT DO UPDATE of the vector');
SELECT results_eq($$INSERT INTO r VALUES (3, '[1,1,1]', 'x', 0) ON CONFLICT (id) DO UPDATE SET n = r.n + 100
	WHERE r.v IS NULL RETURNING id, v::text, n$$,
	$$INSERT INTO h VALUES (3, '[1,1,1]', 'x', 0) ON CONFLICT (id) DO UPDATE SET n = h.n + 100
	WHERE h.v IS NULL RETURNING id, v::text, n$$, 'ON CONFLICT DO UPDATE of another column, WHERE on the vector');
SELECT pg_temp.same('id, v::text, note, n', 'after ON CONFLICT: same rows');

-- UPDATE and DELETE
SELECT results_eq($$UPDATE r SET v = v * '[2,2,2]' WHERE n = 3 RETURNING id, v::text$$,
	$$UPDATE h SET v = v * '[2,2,2]' WHERE n = 3 RETURNING id, v::text$$, 'UPDATE of the vector RETURNING');
SELECT pg_temp.both($$UPDATE {t} SET note = upper(note) WHERE n = 4$$);
SELECT pg_temp.both($$UPDATE {t} SET v = NULL WHERE n = 5$$);
SELECT pg_temp.both($$UPDATE {t} SET v = '[0,0,1]' WHERE v IS NULL AND n = 5 AND id % 20 = 5$$);
SELECT pg_temp.both($$UPDATE {t} SET v = v WHERE n = 6$$);
SELECT pg_temp.same('id, v::text, note, n', 'after UPDATEs: same rows');
SELECT results_eq($$DELETE FROM r WHERE n = 7 OR v = '[10,-10,1.4285714]' RETURNING id, v::text$$,
	$$DELETE FROM h WHERE n = 7 OR v = '[10,-10,1.4285714]' RETURNING id, v::text$$, 'DELETE RETURNING');
SELECT pg_temp.same('id, v::text, note, n', 'after DELETE: same rows');

-- SELECT with WHERE on vectors and other columns
SELECT results_eq($$SELECT id FROM r WHERE v = '[20,-20,2.857143]' ORDER BY id$$,
	$$SELECT id FROM h WHERE v = '[20,-20,2.857143]' ORDER BY id$$, 'WHERE v = constant');
SELECT results_eq($$SELECT id, v::text FROM r WHERE v < '[50,0,0]' AND note LIKE 'g%' ORDER BY id$$,
	$$SELECT id, v::text FROM h WHERE v < '[50,0,0]' AND note LIKE 'g%' ORDER BY id$$, 'WHERE v < constant AND note');
SELECT results_eq($$SELECT id, v <-> '[1,1,1]' FROM r WHERE vector_norm(v) > 100 ORDER BY id$$,
	$$SELECT id, v <-> '[1,1,1]' FROM h WHERE vector_norm(v) > 100 ORDER BY id$$, 'WHERE on a function of the vector');
SELECT results_eq($$SELECT r.id, r.v::text FROM r JOIN h ON r.v = h.v AND r.id <> h.id ORDER BY 1, 2$$,
	$$SELECT a.id, a.v::text FROM h a JOIN h b ON a.v = b.v AND a.id <> b.id ORDER BY 1, 2$$, 'join on vectors');
SELECT results_eq($$SELECT id, v::text FROM r WHERE ctid = (SELECT ctid FROM r WHERE id = 10)$$,
	$$SELECT id, v::text FROM h WHERE id = 10$$, 'TID scan');
SELECT results_eq($$SELECT id, v::text FROM r WHERE ctid < '(1,0)' AND id < 20 ORDER BY id$$,
	$$SELECT id, v::text FROM h WHERE id IN (SELECT id FROM r WHERE ctid < '(1,0)' AND id < 20) ORDER BY id$$,
	'TID range scan');

-- FOR UPDATE / FOR SHARE
SELECT results_eq($$SELECT id, v::text FROM r WHERE n = 1 ORDER BY id FOR UPDATE$$,
	$$SELECT id, v::text FROM h WHERE n = 1 ORDER BY id FOR UPDATE$$, 'SELECT ... FOR UPDATE');
SELECT results_eq($$SELECT id, v::text FROM r WHERE n = 2 ORDER BY id FOR SHARE$$,
	$$SELECT id, v::text FROM h WHERE n = 2 ORDER BY id FOR SHARE$$, 'SELECT ... FOR SHARE');
SELECT results_eq($$SELECT id, v::text FROM r WHERE n = 2 ORDER BY id FOR KEY SHARE SKIP LOCKED$$,
	$$SELECT id, v::text FROM h WHERE n = 2 ORDER BY id FOR KEY SHARE SKIP LOCKED$$, 'SELECT ... FOR KEY SHARE SKIP LOCKED');
-- UPDATE of a row locked earlier in the same transaction (EvalPlanQual-free path)
BEGIN;
SELECT 1 FROM r WHERE id = 11 FOR UPDATE;
SELECT 1 FROM h WHERE id = 11 FOR UPDATE;
SELECT pg_temp.both($$UPDATE {t} SET v = v + '[1,1,1]' WHERE id = 11$$);
COMMIT;
SELECT pg_temp.same('id, v::text, note, n', 'after FOR UPDATE + UPDATE: same rows');

-- triggers: BEFORE ROW modifies the vector, AFTER ROW logs NEW/OLD
CREATE TABLE trig_log (tab text, op text, id int, old_v text, new_v text, seq serial);
CREATE FUNCTION pg_temp.before_trig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.v IS NOT NULL THEN
		NEW.v := NEW.v + '[100,100,100]';
	END IF;
	RETURN NEW;
END $$;
CREATE FUNCTION pg_temp.after_trig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO trig_log (tab, op, id, new_v) VALUES (TG_TABLE_NAME, TG_OP, NEW.id, NEW.v::text);
	ELSIF TG_OP = 'UPDATE' THEN
		INSERT INTO trig_log (tab, op, id, old_v, new_v) VALUES (TG_TABLE_NAME, TG_OP, NEW.id, OLD.v::text, NEW.v::text);
	ELSE
		INSERT INTO trig_log (tab, op, id, old_v) VALUES (TG_TABLE_NAME, TG_OP, OLD.id, OLD.v::text);
	END IF;
	RETURN NULL;
END $$;
SELECT pg_temp.both($$CREATE TRIGGER bt BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION pg_temp.before_trig()$$);
SELECT pg_temp.both($$CREATE TRIGGER at AFTER INSERT OR UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION pg_temp.after_trig()$$);
SELECT pg_temp.both($$INSERT INTO {t} VALUES (700, '[1,2,3]', 't', 70), (701, NULL, 't', 70)$$);
SELECT pg_temp.both($$UPDATE {t} SET v = v - '[1,1,1]', n = 71 WHERE id BETWEEN 12 AND 14$$);
SELECT pg_temp.both($$DELETE FROM {t} WHERE id IN (15, 700)$$);
SELECT pg_temp.both($$INSERT INTO {t} VALUES (16, '[0,0,0]', 'c', 0) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v$$);
SELECT pg_temp.same('id, v::text, note, n', 'BEFORE trigger modified vectors identically');
SELECT results_eq($$SELECT op, id, old_v, new_v FROM trig_log WHERE tab = 'r' ORDER BY seq$$,
	$$SELECT op, id, old_v, new_v FROM trig_log WHERE tab = 'h' ORDER BY seq$$, 'AFTER trigger logs identical NEW/OLD vectors');
SELECT is((SELECT count(*) FROM trig_log WHERE tab = 'r'), 8::bigint, 'AFTER trigger fired 8 times');
SELECT pg_temp.both($$DROP TRIGGER bt ON {t}$$);
SELECT pg_temp.both($$DROP TRIGGER at ON {t}$$);

-- foreign keys to and from the table
CREATE TABLE parent (pid int PRIMARY KEY, pv ruvector(2)) USING ruvector;
INSERT INTO parent VALUES (1, '[1,1]'), (2, '[2,2]'), (3, '[3,3]');
CREATE TABLE rchild (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE CASCADE, v ruvector(3)) USING ruvector;
CREATE TABLE hchild (id int PRIMARY KEY, pid int REFERENCES parent ON DELETE CASCADE, v ruvector(3));
SELECT pg_temp.both($$INSERT INTO {t}child SELECT g, 1 + g % 3, ARRAY[g, g, g]::real[]::ruvector FROM generate_series(1, 30) g$$);
SELECT throws_ok($$INSERT INTO rchild VALUES (100, 9, '[1,1,1]')$$, '23503', NULL, 'FK from a ruvector table is enforced');
SELECT throws_ok($$UPDATE parent SET pid = 10 WHERE pid = 1$$, '23503', NULL, 'FK to a ruvector table is enforced');
DELETE FROM parent WHERE pid = 2;
SELECT results_eq('SELECT id, pid, v::text FROM rchild ORDER BY id', 'SELECT id, pid, v::text FROM hchild ORDER BY id',
	'ON DELETE CASCADE from a ruvector parent');
CREATE TABLE hparent_ref (id int PRIMARY KEY, rid int REFERENCES r ON DELETE SET NULL);
INSERT INTO hparent_ref SELECT id, id FROM r WHERE id < 30;
DELETE FROM r WHERE id = 18;
DELETE FROM h WHERE id = 18;
SELECT is((SELECT count(*) FROM hparent_ref WHERE rid IS NULL), 1::bigint, 'ON DELETE SET NULL from a ruvector table');

-- savepoints: rolled-back vectors are never visible; VACUUM reclaims their slots
CREATE TABLE rs (id int PRIMARY KEY, v ruvector(4)) USING ruvector;
CREATE TABLE hs (id int PRIMARY KEY, v ruvector(4));
BEGIN;
INSERT INTO rs SELECT g, ARRAY[g, 0, 0, 0]::real[]::ruvector FROM generate_series(1, 100) g;
INSERT INTO hs SELECT g, ARRAY[g, 0, 0, 0]::real[]::ruvector FROM generate_series(1, 100) g;
SAVEPOINT a;
INSERT INTO rs SELECT g, ARRAY[g, 1, 1, 1]::real[]::ruvector FROM generate_series(101, 150) g;
UPDATE rs SET v = v + '[0,9,9,9]' WHERE id <= 20;
ROLLBACK TO a;
SAVEPOINT b;
UPDATE rs SET v = v + '[0,0,0,5]' WHERE id > 90;
UPDATE hs SET v = v + '[0,0,0,5]' WHERE id > 90;
RELEASE b;
SAVEPOINT c;
DELETE FROM rs WHERE id < 5;
ROLLBACK TO c;
COMMIT;
BEGIN;
INSERT INTO rs SELECT g, ARRAY[g, 2, 2, 2]::real[]::ruvector FROM generate_series(200, 229) g;
ROLLBACK;
SELECT results_eq('SELECT id, v::text FROM rs ORDER BY id', 'SELECT id, v::text FROM hs ORDER BY id',
	'savepoints: rolled-back vectors never visible');
-- 100 live; dead: 50 + 20 (rolled-back subxact) + 10 (updated away) + 30 (rolled-back xact)
SELECT results_eq('SELECT live_vectors, dead_vectors, free_slots FROM ruvector_storage_report(''rs'')',
	$$VALUES (100::bigint, 110::bigint, 0::bigint)$$, 'before VACUUM: rolled-back and old vectors are dead');
VACUUM rs;
SELECT results_eq('SELECT live_vectors, dead_vectors, free_slots FROM ruvector_storage_report(''rs'')',
	$$VALUES (100::bigint, 0::bigint, 110::bigint)$$, 'after VACUUM: their slots are free');
INSERT INTO rs SELECT g, ARRAY[g, 3, 3, 3]::real[]::ruvector FROM generate_series(300, 409) g;
INSERT INTO hs SELECT g, ARRAY[g, 3, 3, 3]::real[]::ruvector FROM generate_series(300, 409) g;
SELECT results_eq('SELECT live_vectors, dead_vectors, free_slots FROM ruvector_storage_report(''rs'')',
	$$VALUES (210::bigint, 0::bigint, 0::bigint)$$, 'free slots are reused');
SELECT results_eq('SELECT id, v::text FROM rs ORDER BY id', 'SELECT id, v::text FROM hs ORDER BY id',
	'reused slots hold the new vectors');

SELECT pg_temp.same('id, v::text, note, n', 'same rows at the end');
SELECT ok(pg_temp.stores_ok(), 'stores consistent at the end');

SELECT * FROM finish();
