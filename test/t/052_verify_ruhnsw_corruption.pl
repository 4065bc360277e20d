# ruvector_verify on damaged ruhnsw indexes: build one index per table,
# stop the server, overwrite bytes of index pages on disk (a neighbour slot
# with a huge vid, the metapage magic, the entry point, a node's USED flag,
# a node's heap TID, a node page's page id and its pd_special, an upper
# page's flags and its bytes in use), start it
# again, and check that verify reports each damage with the right kind,
# that the session survives every call and that no backend crashed.
# Index scans over the damaged indexes are not attempted: this tests verify.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('verify_ruhnsw');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector_tam');

# m = 16: level-0 record = 12-byte header (TID, level, flags, upper
# reference) + 2*16 * 4 = 140 bytes, 58 per page; a group is one upper page
# and 21 level-0 pages.  Records start at page offset 24
# (MAXALIGN(SizeOfPageHeaderData)); the special space (flags, page id,
# upper bytes in use) is the last 8 bytes.  With 300 rows: block 1 is the
# upper page of group 0, blocks 2..7 the level-0 pages of vids 0..299 (a
# fresh table's vids start at 0).  The layout is read back from the
# metapage below, so a change of it fails here rather than damaging the
# wrong bytes.
my @tables = qw(t_healthy t_link t_magic t_entry t_unused t_tid t_pageid t_pghdr t_uflags t_uused);
my %path;
for my $t (@tables)
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int PRIMARY KEY, v ruvector(8)) USING ruvector;
		INSERT INTO $t SELECT g, (SELECT array_agg(((g * 7 + k * 13 + (g * k) % 11) % 100)::real) FROM generate_series(1, 8) k)::ruvector
			FROM generate_series(1, 300) g;
		CREATE INDEX ${t}_idx ON $t USING ruhnsw (v) WITH (m = 16);
		DELETE FROM $t WHERE id % 10 = 0;
		VACUUM $t;});
	is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('$t')"), '0', "$t healthy before damage");
	# metapage: nodesize, nodes_per_page, group_pages at bytes 24 + 32, 24 + 36, 24 + 52
	$node->safe_psql('postgres', 'CHECKPOINT');
	is($node->safe_psql('postgres', qq{SELECT get_byte(b, 56) + 256 * get_byte(b, 57) || ',' || get_byte(b, 60) || ',' || get_byte(b, 76)
		FROM (SELECT pg_read_binary_file(pg_relation_filepath('${t}_idx'), 0, 100) b) s}),
		'140,58,21', "$t layout: 140-byte level-0 records, 58 per page, groups of 21");
	$path{$t} = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('${t}_idx')");
	ok(-f $path{$t}, "$t index file exists");
}
$node->stop;

sub overwrite
{
	my ($file, $offset, $bytes) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, $offset, 0) or die;
	print $fh $bytes;
	close($fh);
}

my $B = 8192;
my $REC = 140;
my $L0 = 2 * $B;    # block 2: the level-0 page of vids 0..57
my $UP = 1 * $B;    # block 1: the upper page of group 0
overwrite($path{t_link}, $L0 + 24 + 0 * $REC + 12, pack('V', 0x7ffffff0));  # vid 0's first level-0 link
overwrite($path{t_magic}, 0 * $B + 24, 'XXXX');                             # metapage magic
overwrite($path{t_entry}, 0 * $B + 24 + 24, pack('V', 0x00ffffff));         # metapage entry_vid
overwrite($path{t_unused}, $L0 + 24 + 1 * $REC + 7, "\0");                  # vid 1's flags: not used
overwrite($path{t_tid}, $L0 + 24 + 2 * $REC, pack('vvv', 0, 0x7fff, 1));    # vid 2's heap TID
overwrite($path{t_pageid}, $L0 + $B - 8 + 2, "\0\0");                       # level-0 page's page id
overwrite($path{t_pghdr}, $L0 + 16, pack('v', 0xfff0));                     # level-0 page's pd_special
overwrite($path{t_uflags}, $UP + $B - 8, pack('v', 0));                     # upper page's flags
overwrite($path{t_uused}, $UP + $B - 8 + 4, pack('v', 0));                  # upper page's bytes in use
$node->start;

my $sql = '';
for my $t (@tables)
{
	$sql .= qq{SELECT '$t', kind, count(*) FROM ruvector_verify('$t') GROUP BY kind ORDER BY kind;\n};
}
$sql .= qq{SELECT 'still alive';\n};
my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 0);
like($out, qr/still alive/, 'the session survived every verify call');
note($out);
note($err);

my %kinds;
for my $line (split /\n/, $out)
{
	my ($t, $kind, $n) = split /\|/, $line;
	$kinds{$t}{$kind} = $n if defined $n;
}
is_deeply($kinds{t_healthy} // {}, {}, 'undamaged index: no rows');
is(join(',', sort keys %{ $kinds{t_link} // {} }), 'ruhnsw_link', 'huge neighbour vid: ruhnsw_link only');
is($kinds{t_link}{ruhnsw_link}, 1, 'huge neighbour vid: one row');
is(join(',', sort keys %{ $kinds{t_magic} // {} }), 'ruhnsw_meta', 'metapage magic: ruhnsw_meta only');
ok($kinds{t_entry}{ruhnsw_entry}, 'entry point out of range: ruhnsw_entry');
ok($kinds{t_unused}{ruhnsw_link}, 'node marked unused: links to it are ruhnsw_link');
is($kinds{t_tid}{ruhnsw_heap_tid}, 1, 'heap TID beyond the heap: one ruhnsw_heap_tid');
ok($kinds{t_pageid}{ruhnsw_page}, 'node page id overwritten: ruhnsw_page');
ok($kinds{t_pghdr}{ruhnsw_error}, 'node page header the buffer manager refuses: ruhnsw_error');
is(join(',', sort keys %{ $kinds{t_uflags} // {} }), 'ruhnsw_page', 'upper page not flagged: ruhnsw_page only');
is($kinds{t_uflags}{ruhnsw_page}, 1, 'upper page not flagged: one row');
is(join(',', sort keys %{ $kinds{t_uused} // {} }), 'ruhnsw_node', 'upper page claims no bytes in use: ruhnsw_node only');
cmp_ok($kinds{t_uused}{ruhnsw_node} // 0, '>=', 5, 'upper page claims no bytes in use: a row per upper node (at least 5 of 300)');

unlike($err, qr/server closed the connection|terminated/, 'no connection lost');
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|server process .* exited with exit code [^0]/, 'no backend crashed');
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t_healthy')"), '0', 'healthy index still clean');
$node->stop;
done_testing();
