# ruhnsw on-disk formats and the WAL of TID tails.  Format 4 adds TID
# tails (row versions sharing a vid); format 3 is format 4 without them,
# so an index whose metapage says 3 is read and written as it is and says
# 4 once an UPDATE adds a tail; an older format is refused with SQLSTATE
# 55000 and a hint to REINDEX, and REINDEX cures it.  The updates that
# create and grow tails run after a checkpoint and the server is then
# stopped in immediate mode, so crash recovery replays their WAL with
# wal_consistency_checking = 'generic' (a mismatch is a FATAL at redo);
# after it the index answers as the exact scan of a heap twin and
# ruvector_verify is clean.  Then the bounds of a node's TIDs: the TIDs of
# versions heap has pruned are dropped when room is needed, and past the
# most a node holds an UPDATE fails with 54000.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ruhnsw_format');
$node->init;
$node->append_conf('postgresql.conf', qq{wal_consistency_checking = 'generic'
autovacuum = off});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector_tam');

# the index's answers equal the heap twin's exact ones (ids and cat)
my $knn_fn = q{
CREATE FUNCTION knn_equal(tbl regclass, twin regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	a text[];
	b text[];
	q ruvector;
BEGIN
	SET LOCAL ruvector.enable_exact_scan = off;
	SET LOCAL enable_seqscan = off;
	SET LOCAL ruvector.ef_search = 400;
	FOR i IN 1..8 LOOP
		q := ARRAY[i * 40 + 0.3, (i * 7) % 13 + 0.1, -(i * 40) - 0.4]::real[]::ruvector;
		EXECUTE format('SELECT array_agg(id || '':'' || cat) FROM (SELECT id, cat FROM %s ORDER BY v <-> $1 LIMIT 10) s', tbl) INTO a USING q;
		EXECUTE format('SELECT array_agg(id || '':'' || cat) FROM (SELECT id, cat FROM %s ORDER BY v <-> $1, id LIMIT 10) s', twin) INTO b USING q;
		IF a IS DISTINCT FROM b THEN
			RAISE NOTICE '%: query %: index % exact %', tbl, i, a, b;
			RETURN false;
		END IF;
	END LOOP;
	RETURN true;
END $$;};
$node->safe_psql('postgres', $knn_fn);

for my $t (qw(f4 f3 f2))
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int PRIMARY KEY, cat int, v ruvector(3)) USING ruvector;
		CREATE TABLE ${t}_h (id int PRIMARY KEY, cat int, v ruvector(3));
		INSERT INTO $t SELECT g, 0, ARRAY[g, g % 13, -g]::real[]::ruvector FROM generate_series(1, 400) g;
		INSERT INTO ${t}_h SELECT * FROM $t;
		CREATE INDEX ${t}_v ON $t USING ruhnsw (v) WITH (m = 8, ef_construction = 64);});
}
# metapage: magic at byte 24, version at 28
$node->safe_psql('postgres', 'CHECKPOINT');
is($node->safe_psql('postgres', q{SELECT get_byte(b, 28) FROM (SELECT pg_read_binary_file(pg_relation_filepath('f4_v'), 0, 64) b) s}),
	'4', 'a new index is of format 4');
my %path;
$path{$_} = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('${_}_v')") for qw(f3 f2);
$node->stop;

sub set_version
{
	my ($file, $version) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, 24, 0) or die;
	read($fh, my $magic, 4);
	die "not a ruhnsw metapage" unless unpack('V', $magic) == 0x52484E53;
	seek($fh, 28, 0) or die;
	print $fh pack('V', $version);
	close($fh);
}
set_version($path{f3}, 3);
set_version($path{f2}, 2);
$node->start;

# format 3: read as it is
ok($node->safe_psql('postgres', q{SELECT knn_equal('f3', 'f3_h')}) eq 't', 'a format-3 index answers exactly');

# format 2: refused with 55000 and a hint to REINDEX
my ($rc, $out, $err) = $node->psql('postgres',
	q{\set VERBOSITY verbose
SET enable_seqscan = off; SET ruvector.enable_exact_scan = off;
SELECT id FROM f2 ORDER BY v <-> '[1,1,-1]' LIMIT 3;});
like($err, qr/ERROR:  55000: ruhnsw index "f2_v" has on-disk format 2, which this version does not read/,
	'a format-2 index is refused with SQLSTATE 55000');
like($err, qr/HINT:  REINDEX INDEX public\.f2_v;/, 'with a hint to REINDEX it');
like($err, qr/DETAIL:  This version reads ruhnsw formats 3 to 4\./, 'and the formats read');
$node->safe_psql('postgres', 'REINDEX INDEX f2_v');
ok($node->safe_psql('postgres', q{SELECT knn_equal('f2', 'f2_h')}) eq 't', 'after REINDEX it answers exactly');

# updates that keep the vector, after a checkpoint: tails created (every
# row's first update; pages are full, so they are not HOT), grown (further
# updates before VACUUM) and emptied (VACUUM), then crash recovery
$node->safe_psql('postgres', 'CHECKPOINT');
for my $t (qw(f4 f3))
{
	$node->safe_psql('postgres', qq{
		UPDATE $t SET cat = cat + 1; UPDATE ${t}_h SET cat = cat + 1;
		UPDATE $t SET cat = cat + 1 WHERE id % 2 = 0; UPDATE ${t}_h SET cat = cat + 1 WHERE id % 2 = 0;
		UPDATE $t SET cat = cat + 1 WHERE id % 4 = 0; UPDATE ${t}_h SET cat = cat + 1 WHERE id % 4 = 0;});
}
$node->safe_psql('postgres', q{VACUUM f4; UPDATE f4 SET cat = cat + 1 WHERE id <= 100; UPDATE f4_h SET cat = cat + 1 WHERE id <= 100;});
is($node->safe_psql('postgres', q{SELECT sum(live_vectors + dead_vectors) FROM ruvector_storage_report('f4')}),
	'400', 'the updates stored no vector');
$node->stop('immediate');
$node->start;
ok($node->safe_psql('postgres', q{SELECT knn_equal('f4', 'f4_h')}) eq 't', 'after crash recovery: the index answers exactly');
ok($node->safe_psql('postgres', q{SELECT knn_equal('f3', 'f3_h')}) eq 't', 'and so does the index that was of format 3');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('f4')}), '0', 'verify clean (format 4)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('f3')}), '0', 'verify clean (was format 3)');
$node->safe_psql('postgres', 'CHECKPOINT');
is($node->safe_psql('postgres', q{SELECT get_byte(b, 28) FROM (SELECT pg_read_binary_file(pg_relation_filepath('f3_v'), 0, 64) b) s}),
	'4', 'the format-3 index says 4 once it holds TID tails');
ok(!$node->log_contains('inconsistent page found'), 'no WAL consistency failure at redo');
$node->safe_psql('postgres', q{VACUUM f4; VACUUM f3;});
ok($node->safe_psql('postgres', q{SELECT knn_equal('f4', 'f4_h')}) eq 't', 'after VACUUM the index answers exactly');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('f4')}), '0', 'verify clean after VACUUM');

# one row updated 1,500 times, not HOT (its btree-indexed k changes), each
# update its own transaction and no VACUUM: heap prunes the dead versions
# as it goes, and the node drops their TIDs when it needs room, so the
# updates succeed (without that the node would pass the 1,025 TIDs it can
# hold), the index grows by at most one group (room for a tail) and stays
# consistent
$node->safe_psql('postgres', q{ALTER TABLE f4 ADD COLUMN k int DEFAULT 0; CREATE INDEX f4_kk ON f4 (k);
	CHECKPOINT;});
my $size0 = $node->safe_psql('postgres', q{SELECT pg_relation_size('f4_v')});
# metapage: group_pages at byte 24 + 52
my $group = $node->safe_psql('postgres', q{SELECT (get_byte(b, 76) + 256 * get_byte(b, 77) + 1) * 8192
	FROM (SELECT pg_read_binary_file(pg_relation_filepath('f4_v'), 0, 100) b) s});
($rc, $out, $err) = $node->psql('postgres', join("\n", map { "UPDATE f4 SET k = k + 1 WHERE id = 7;" } 1 .. 1500));
is($err, '', '1,500 non-HOT updates of one row, pruned as they go, succeed');
cmp_ok($node->safe_psql('postgres', q{SELECT pg_relation_size('f4_v')}) - $size0, '<=', $group,
	'and the index grows by at most one group');
# in one transaction none of the versions can go: past the most a node
# holds, the UPDATE fails with 54000 and a hint to VACUUM
($rc, $out, $err) = $node->psql('postgres', q{\set VERBOSITY verbose
DO $$ BEGIN FOR i IN 1..1500 LOOP UPDATE f4 SET k = k + 1 WHERE id = 8; END LOOP; END $$;});
like($err, qr/ERROR:  54000: ruhnsw index "f4_v" cannot hold more than \d+ row versions of vector id \d+/,
	'too many live row versions of one vector: 54000');
like($err, qr/HINT:  VACUUM the table to remove dead row versions\./, 'with a hint to VACUUM');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('f4')}), '0', 'verify clean after the failed transaction');
$node->safe_psql('postgres', 'VACUUM f4');
ok($node->safe_psql('postgres', q{SELECT knn_equal('f4', 'f4_h')}) eq 't', 'and the index answers exactly after VACUUM');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('f4')}), '0', 'verify clean after VACUUM');

$node->stop;
done_testing();
