# Crash recovery of store format 5's straddling SQ8 code records.  At 784
# dims a code record is 796 bytes and the records of a segment form one
# stream over its code pages (8064 payload bytes each), so about one record
# in ten straddles two code pages, written as two pieces (in one GenericXLog
# record, or two when the insert's pages exceed four buffers).  After a
# checkpoint, inserts (multi-row, single-row, COPY), deletes, VACUUM and
# slot reuse commit, a transaction rolls back; the server stops with
# "immediate" (no shutdown checkpoint), so recovery replays every piece.
# After restart the table equals its heap twin row for row, ruvector_verify
# (which checks both parts of every straddler against the floats) is
# clean, and the exact k-NN scan, which rules rows out on the codes,
# returns the heap's rows and distances for L2, inner product and cosine.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('straddle');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
checkpoint_timeout = '1h'
max_wal_size = '2GB'
autovacuum = off
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(id bigint, seed int) RETURNS ruvector
LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(sin(id * 0.37 + j * 1.3 + seed)::real ORDER BY j)::ruvector
  FROM generate_series(1, 784) j $$;
CREATE TABLE t (id bigint PRIMARY KEY, v ruvector(784)) USING ruvector;
CREATE TABLE th (id bigint PRIMARY KEY, v ruvector(784));
INSERT INTO t SELECT i, vec(i, 0) FROM generate_series(1, 100) i;
INSERT INTO th SELECT i, vec(i, 0) FROM generate_series(1, 100) i;
CHECKPOINT;
});

# the store is of format 5 (metapage version, payload offset 4)
my $path = $node->safe_psql('postgres',
	"SELECT pg_relation_filepath(relation) FROM ruvector_storage_report('t')");
is($node->safe_psql('postgres', "SELECT get_byte(pg_read_binary_file('$path', 68, 1), 0)"),
	'5', 'the store is of format 5');

# committed work after the checkpoint: recovery must replay it
$node->safe_psql(
	'postgres', q{
INSERT INTO t SELECT i, vec(i, 0) FROM generate_series(101, 1500) i;
INSERT INTO th SELECT i, vec(i, 0) FROM generate_series(101, 1500) i;
});
for my $i (1501 .. 1540)
{
	$node->safe_psql('postgres',
		"BEGIN; INSERT INTO t VALUES ($i, vec($i, 1)); INSERT INTO th VALUES ($i, vec($i, 1)); COMMIT;");
}
my $copy = '';
for my $i (1541 .. 1700)
{
	$copy .= "$i\t[" . join(',', map { sprintf('%.4f', sin($i * 0.53 + $_ * 0.7)) } 1 .. 784) . "]\n";
}
$node->safe_psql('postgres', "BEGIN;\nCOPY t FROM STDIN;\n$copy\\.\nCOPY th FROM STDIN;\n$copy\\.\nCOMMIT;\n");
$node->safe_psql(
	'postgres', q{
BEGIN;
INSERT INTO t SELECT i, vec(i, 2) FROM generate_series(5001, 5100) i;
ROLLBACK;
DELETE FROM t WHERE id % 4 = 0;
DELETE FROM th WHERE id % 4 = 0;
VACUUM t;
-- slot reuse: the freed vids (straddlers among them) get new records
INSERT INTO t SELECT i, vec(i, 3) FROM generate_series(2001, 2500) i;
INSERT INTO th SELECT i, vec(i, 3) FROM generate_series(2001, 2500) i;
INSERT INTO t SELECT i, vec(i, 4) FROM generate_series(2501, 3000) i;
INSERT INTO th SELECT i, vec(i, 4) FROM generate_series(2501, 3000) i;
});

# how many of the vids written straddle two code pages (vids of segment 0)
my $straddlers = $node->safe_psql('postgres', q{
	SELECT count(*) FROM generate_series(0, 2000 - 1) k
	WHERE (k * 796) % 8064 + 796 > 8064});
cmp_ok($straddlers, '>', 150, "segment 0 holds $straddlers straddling record positions");

my $sum = q{SELECT count(*) || ' ' || md5(string_agg(id || ':' || v::text, ',' ORDER BY id)) FROM };
my $before = $node->safe_psql('postgres', $sum . 't');
is($before, $node->safe_psql('postgres', $sum . 'th'), 'before the crash: the heap twin\'s contents');

$node->stop('immediate');
$node->start;

is($node->safe_psql('postgres', $sum . 't'), $before, 'after crash recovery: the contents read before the crash');
is($node->safe_psql('postgres', $sum . 'th'), $before, 'after crash recovery: the heap twin agrees');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('t')}), '0',
	'after crash recovery: verify clean (every code record, both parts of each straddler)');
for my $op ('<->', '<#>', '<=>')
{
	for my $seed (7, 8)
	{
		my $q = "vec(900000 + $seed, $seed)";
		is( $node->safe_psql('postgres',
				"SELECT string_agg(id || ' ' || d, ',') FROM (SELECT id, v $op $q AS d FROM t ORDER BY v $op $q LIMIT 10) s"),
			$node->safe_psql('postgres',
				"SELECT string_agg(id || ' ' || d, ',') FROM (SELECT id, v $op $q AS d FROM th ORDER BY v $op $q, id LIMIT 10) s"),
			"after crash recovery, exact scan ($op, query $seed): the heap's rows and distances");
	}
}
# still writable: more straddlers after recovery, then verify again
$node->safe_psql(
	'postgres', q{
INSERT INTO t SELECT i, vec(i, 5) FROM generate_series(3001, 3300) i;
INSERT INTO th SELECT i, vec(i, 5) FROM generate_series(3001, 3300) i;
});
is($node->safe_psql('postgres', $sum . 't'), $node->safe_psql('postgres', $sum . 'th'),
	'inserts after recovery: the heap twin\'s contents');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('t')}), '0',
	'inserts after recovery: verify clean');
$node->stop;
done_testing();
