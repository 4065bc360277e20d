# A ruhnsw index whose file ends in zeroed blocks takes inserts into them.
#
# The index grows by ReadBuffer(P_NEW), which writes a zeroed block to the
# file at once, and then initializes the page in a WAL record of its own.
# A crash between the two (the record not yet flushed) leaves the index
# with trailing all-zero blocks after recovery, and since they are no
# longer past the end, no later extension initializes them again: the
# writers must (RuhnswRegisterPage).  Before they did, an insert wrote its
# node into such a page by offset, leaving a page with pd_upper 0 and
# contents (ruvector_verify: "pd_upper is 0 but the page is not all
# zeros"), which PostgreSQL refused to read back once it had been written
# out ("invalid page in block"), and the nodes on it unreachable: one run
# of t/012_crash_reachability in about 50 ended so.
#
# Here the crash's outcome is made directly: with the server stopped, four
# zeroed blocks are appended to the index file.  Then single-row and
# multi-row inserts fill them (m = 32: about 20 nodes a page); verify
# reports nothing, every row is found by an index scan for its own vector,
# and both still hold after a checkpoint and a restart (the pages read
# back from disk).  A standby replays the same WAL and answers the same.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('zeroed_pages');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION rvec(seed bigint) RETURNS ruvector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(((hashint8(seed * 16 + k) & 1023) / 1024.0)::real ORDER BY k)::ruvector
	FROM generate_series(1, 16) k $$;
CREATE TABLE t (id bigint PRIMARY KEY, v ruvector(16)) USING ruvector;
INSERT INTO t SELECT g, rvec(g) FROM generate_series(1, 40) g;
CREATE INDEX t_v ON t USING ruhnsw (v) WITH (m = 32, ef_construction = 64);
CHECKPOINT;
});
my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_v')");
my $blocks0 = $node->safe_psql('postgres', "SELECT pg_relation_size('t_v') / 8192");
$node->stop;

# what a crash between an extension and its initializing record leaves
my $file = $node->data_dir . '/' . $path;
open(my $fh, '>>', $file) or die "cannot append to $file: $!";
binmode $fh;
print $fh "\0" x (4 * 8192);
close $fh;
$node->start;
is( $node->safe_psql('postgres', "SELECT pg_relation_size('t_v') / 8192"),
	$blocks0 + 4, 'the index file ends in 4 zeroed blocks');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t')"),
	'0', 'verify accepts the zeroed blocks (new pages)');

my $backup = 'zb';
$node->backup($backup);
my $standby = PostgreSQL::Test::Cluster->new('zeroed_pages_standby');
$standby->init_from_backup($node, $backup, has_streaming => 1);
$standby->start;

# single-row inserts, then a multi-row one: 160 nodes, 8 pages or so
$node->safe_psql(
	'postgres', q{
DO $$ BEGIN
	FOR i IN 41 .. 120 LOOP
		INSERT INTO t VALUES (i, rvec(i));
	END LOOP;
END $$;
INSERT INTO t SELECT g, rvec(g) FROM generate_series(121, 200) g;
});
$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM generate_series($blocks0, $blocks0 + 3) b
		WHERE (page_header(get_raw_page('t_v', b::int))).upper > 0"),
	'4', 'the inserts initialized the 4 zeroed blocks and wrote into them');

my $problems = q{SELECT coalesce(string_agg(concat_ws(' ', kind, blkno, vid, detail), '; '), '')
	FROM ruvector_verify('t')};
my $unfound = q{
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET ruvector.enable_exact_scan = off;
SET ruvector.ef_search = 1000;
SELECT count(*) FROM t o WHERE o.id NOT IN (SELECT i.id FROM t i ORDER BY i.v <-> o.v LIMIT 3);
};

is($node->safe_psql('postgres', $problems), '', 'verify reports nothing after the inserts');
is($node->safe_psql('postgres', $unfound), '0',
	'every row is found by an index scan for its own vector');

$node->safe_psql('postgres', 'CHECKPOINT');
$node->restart;
my ($rc, $out, $err) = $node->psql('postgres', $problems);
is($rc, 0, 'after a restart the index pages read back from disk') or diag($err);
is($out, '', 'verify reports nothing after the restart');
is($node->safe_psql('postgres', $unfound), '0',
	'after the restart every row is still found by an index scan');

$node->wait_for_catchup($standby, 'replay', $node->lsn('flush'));
is($standby->safe_psql('postgres', $unfound), '0',
	'on the standby every row is found by an index scan');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '200', 'the standby has all 200 rows');

$standby->stop;
$node->stop;
done_testing();
