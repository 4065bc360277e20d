# Streaming replication of ruvector tables: a primary with
# wal_consistency_checking for generic (vector store) and heap records and a
# hot standby made from a base backup.  A mixed workload on the primary
# (CREATE TABLE USING ruvector, INSERT, COPY, UPDATE of vector and
# non-vector columns, DELETE, rolled-back inserts, VACUUM with slot reuse,
# TRUNCATE, VACUUM FULL, ALTER TABLE SET ACCESS METHOD heap and back,
# DROP TABLE) must replay to identical query results on the standby, read
# there without promotion, and no replayed page may differ from the
# primary's ("inconsistent page found").
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
wal_consistency_checking = 'generic,heap,heap2'
shared_buffers = 8MB
autovacuum = off
log_statement = 'none'
});
$primary->start;

$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(id bigint, seed int, d int) RETURNS ruvector
LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(sin(id * 0.37 + j * 1.3 + seed)::real ORDER BY j)::ruvector
  FROM generate_series(1, d) j $$;
-- in the base backup already
CREATE TABLE pre (id bigint PRIMARY KEY, v ruvector(1024)) USING ruvector;
INSERT INTO pre SELECT i, vec(i, 0, 1024) FROM generate_series(1, 200) i;
});

# a slot keeps the primary's WAL (consistency checking logs a full page
# image with every record) until the standby has it
$primary->safe_psql('postgres',
	"SELECT pg_create_physical_replication_slot('standby_slot')");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'standby_slot'");
$standby->start;

my $copy = '';
for my $id (1001 .. 1300)
{
	$copy .= "$id\tcopied $id\t["
	  . join(',', map { sprintf('%.5f', cos($id * 0.11 + $_ * 0.3)) } 1 .. 768)
	  . "]\t["
	  . join(',', map { sprintf('%.3f', $id / 7.0 + $_) } 1 .. 16) . "]\n";
}

$primary->safe_psql(
	'postgres', q{
CREATE TABLE a (id bigint PRIMARY KEY, body text, v ruvector(768), w ruvector(16)) USING ruvector;
INSERT INTO a SELECT i, 'row ' || i, vec(i, 0, 768), vec(i, 1, 16) FROM generate_series(1, 500) i;
});
$primary->safe_psql('postgres', "COPY a FROM STDIN;\n$copy\\.\n");
$primary->safe_psql(
	'postgres', q{
UPDATE a SET v = vec(id, 2, 768) WHERE id % 7 = 0;
UPDATE a SET body = 'updated ' || id WHERE id % 5 = 0;
UPDATE a SET w = NULL WHERE id % 9 = 0;
DELETE FROM a WHERE id % 11 = 0;
BEGIN;
INSERT INTO a SELECT i, 'rolled back', vec(i, 3, 768), vec(i, 3, 16) FROM generate_series(2001, 2300) i;
ROLLBACK;
VACUUM a;
INSERT INTO a SELECT i, 'reuse ' || i, vec(i, 4, 768), vec(i, 4, 16) FROM generate_series(3001, 3200) i;
CHECKPOINT;
UPDATE a SET v = vec(id, 5, 768), w = vec(id, 5, 16) WHERE id % 13 = 0;
UPDATE pre SET v = vec(id, 1, 1024) WHERE id % 3 = 0;
DELETE FROM pre WHERE id % 4 = 0;
VACUUM pre;

CREATE TABLE b (id int PRIMARY KEY, v ruvector(64)) USING ruvector;
INSERT INTO b SELECT i, vec(i, 0, 64) FROM generate_series(1, 1000) i;
TRUNCATE b;
INSERT INTO b SELECT i, vec(i, 1, 64) FROM generate_series(1, 300) i;
BEGIN;
TRUNCATE b;
INSERT INTO b SELECT i, vec(i, 2, 64) FROM generate_series(1, 50) i;
ROLLBACK;

CREATE TABLE c (id int PRIMARY KEY, note text, v ruvector(300)) USING ruvector;
INSERT INTO c SELECT i, 'c' || i, vec(i, 0, 300) FROM generate_series(1, 400) i;
DELETE FROM c WHERE id % 2 = 0;
VACUUM FULL c;
ALTER TABLE c SET ACCESS METHOD heap;
UPDATE c SET v = vec(id, 1, 300) WHERE id % 3 = 0;
ALTER TABLE c SET ACCESS METHOD ruvector;
UPDATE c SET note = 'back' WHERE id % 5 = 0;
INSERT INTO c SELECT i, 'new', vec(i, 2, 300) FROM generate_series(401, 500) i;

CREATE TABLE d (id int, v ruvector(768)) USING ruvector;
INSERT INTO d SELECT i, vec(i, 0, 768) FROM generate_series(1, 300) i;
DROP TABLE d;

VACUUM FULL a;
UPDATE a SET v = vec(id, 6, 768) WHERE id % 17 = 0;
DELETE FROM a WHERE id % 19 = 0;
VACUUM a;
INSERT INTO a SELECT i, 'last ' || i, vec(i, 7, 768), vec(i, 7, 16) FROM generate_series(4001, 4100) i;
});

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

my %queries = (
	'a content' =>
	  q{SELECT count(*) || ' ' || md5(string_agg(row(id, body, v::text, w::text)::text, ',' ORDER BY id)) FROM a},
	'a v md5' => q{SELECT md5(string_agg(v::text, ',' ORDER BY id)) FROM a},
	'a knn 768' =>
	  q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM a ORDER BY v <-> vec(42, 9, 768), id LIMIT 10) s},
	'a knn 16 where' =>
	  q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM a WHERE w IS NOT NULL ORDER BY w <-> vec(7, 9, 16), id LIMIT 10) s},
	'a aggregates' =>
	  q{SELECT count(w), sum(vector_norm(v))::numeric(20,3), avg(w)::text FROM a},
	'a index lookup' => q{SELECT v::text FROM a WHERE id = 1001},
	'a storage report' =>
	  q{SELECT string_agg(concat_ws(':', store, column_name, dims, live_vectors, dead_vectors, free_slots, pages), ' ' ORDER BY store) FROM ruvector_storage_report('a')},
	'pre content' =>
	  q{SELECT count(*) || ' ' || md5(string_agg(v::text, ',' ORDER BY id)) FROM pre},
	'pre knn' =>
	  q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM pre ORDER BY v <-> vec(3, 9, 1024), id LIMIT 10) s},
	'b content' =>
	  q{SELECT count(*) || ' ' || md5(string_agg(v::text, ',' ORDER BY id)) FROM b},
	'c content' =>
	  q{SELECT count(*) || ' ' || md5(string_agg(row(id, note, v::text)::text, ',' ORDER BY id)) FROM c},
	'c knn' =>
	  q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM c ORDER BY v <-> vec(11, 9, 300), id LIMIT 10) s},
	'c access method' =>
	  q{SELECT amname FROM pg_class JOIN pg_am ON pg_am.oid = relam WHERE relname = 'c'},
	'd gone' => q{SELECT to_regclass('d') IS NULL},
	'store catalog' =>
	  q{SELECT count(*) FROM ruvector_store s JOIN pg_class c ON c.relfilenode = s.relnode},
);

for my $name (sort keys %queries)
{
	my $p = $primary->safe_psql('postgres', $queries{$name});
	my $s = $standby->safe_psql('postgres', $queries{$name});
	is($s, $p, "standby equals primary: $name");
}

# Sanity of the primary's own results, so that equal-but-wrong is caught.
is($primary->safe_psql('postgres', 'SELECT count(*) FROM a'),
	$primary->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM (SELECT i FROM generate_series(1, 500) i
          UNION ALL SELECT i FROM generate_series(1001, 1300) i) s
        WHERE i % 11 <> 0 AND i % 19 <> 0)
     + (SELECT count(*) FROM generate_series(3001, 3200) i WHERE i % 19 <> 0)
     + 100}),
	'primary: a has the expected rows');
is($primary->safe_psql('postgres', 'SELECT v::text = vec(43, 0, 768)::text FROM a WHERE id = 43'),
	't', 'primary: a vector reads back exactly');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM b'), '300',
	'primary: b after TRUNCATE and a rolled-back TRUNCATE');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM ruvector_gc_orphans()'),
	'0', 'primary: no orphaned stores');
is($primary->safe_psql('postgres', 'SHOW wal_consistency_checking'),
	'generic,heap,heap2', 'primary: WAL consistency checking is on');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'standby answered as a hot standby, not promoted');

$primary->stop;
$standby->stop;
for my $n ($primary, $standby)
{
	my $log = slurp_file($n->logfile);
	unlike($log, qr/inconsistent page found/,
		$n->name . ': no inconsistent page found by wal_consistency_checking');
	unlike($log, qr/PANIC|TRAP:/, $n->name . ': no PANIC or assertion failure');
}
done_testing();
