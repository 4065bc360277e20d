# ruvector_verify on damaged stores: create ruvector tables, stop the server,
# overwrite bytes of store pages on disk (data page vector header, data page
# special space, data page header, segment page xids and header, metapage
# geometry, SQ8 code records and bit records), start it again, and check that verify reports each damage with
# the right kind, that the session survives every call and that no backend
# crashed.  data_checksums stays off (the default), so damaged pages reach
# verify; a page header the buffer manager refuses is reported as read_error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('verify');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector_tam');

# 768 dims (store format 5): header layout, stride 3136; block 1 is the
# segment directory (entry of segment s at payload offset 64 + 32 s: tier,
# previous tier, flags, first block, ...); segment 0 is in the first hot
# extent: its meta page is block 2, followed by its first bit page (block 3:
# bit records of 112 bytes, vids 0..71, vid k's at payload offset 112 k: 16
# bytes of factors, then 96 bytes of sign bits), then its first code page
# (block 4: SQ8 records of 780 bytes, one stream over the code pages:
# vid 0's at payload offset 0: 12 bytes of scale/offset/norm, then its
# codes; vid 10's at 7800 straddles: its first 264 bytes end block 4, the
# other 516, codes 252 to 767, start the next code page); the payload
# stream starts in block 5 (vid 0's header at payload offset 56), blocks 5,
# 6 and 7 hold payload, block 8 the next code page.
my @tables = qw(t_healthy t_vhdr t_magic t_pghdr t_xids t_tier t_meta t_codes t_straddle t_codemagic
  t_bits t_bitmagic t_bitfac t_bitzero t_dir);
for my $t (@tables)
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE $t (id int PRIMARY KEY, v ruvector(768)) USING ruvector;
		INSERT INTO $t SELECT g, (SELECT array_agg(((g * 7 + k) % 100)::real) FROM generate_series(1, 768) k)::ruvector
			FROM generate_series(1, 100) g;
		VACUUM $t;});
	is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('$t')"), '0', "$t healthy before damage");
}

my $pgdata = $node->data_dir;
my %path;
for my $t (@tables)
{
	$path{$t} = $pgdata . '/' . $node->safe_psql('postgres', qq{
		SELECT pg_relation_filepath(relation) FROM ruvector_storage_report('$t')});
	ok(-f $path{$t}, "$t store file exists");
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
overwrite($path{t_vhdr}, 5 * $B + 64 + 56, "\xff" x 8);           # vid 0's varlena header
overwrite($path{t_magic}, 6 * $B + $B - 64, "XXXX");              # data page magic
overwrite($path{t_pghdr}, 7 * $B + 16, pack('v', 0xfff0));       # data page pd_special
overwrite($path{t_codes}, 4 * $B + 64 + 12, "\x00\xff" x 8);      # vid 0's first 16 codes
overwrite($path{t_straddle}, 8 * $B + 64 + 100, "\x00\xff" x 8);  # vid 10's codes 352..367 (its second part)
overwrite($path{t_codemagic}, 8 * $B + $B - 64, "XXXX");          # code page magic
# (rows inserted one at a time: vids 0..63 were stored before the store
# had a centroid, the mean of those 64, and keep absent, all-zero records)
overwrite($path{t_bits}, 3 * $B + 64 + 70 * 112 + 16, "\x00\xff" x 4);  # vid 70's first 64 sign bits
overwrite($path{t_bitmagic}, 3 * $B + $B - 64, "XXXX");                # bit page magic
overwrite($path{t_bitfac}, 3 * $B + 64 + 71 * 112 + 4, pack('f', 7.5)); # vid 71's <o_bar, o> > 1
overwrite($path{t_bitzero}, 3 * $B + 64 + 1 * 112 + 16, "\x01");       # vid 1's absent record
overwrite($path{t_xids}, 2 * $B + 64 + 64, "\0" x (4 * 10));      # xids of vids 0..9 -> free
overwrite($path{t_tier}, 2 * $B + 64 + 4, pack('v', 9));          # segment header tier
overwrite($path{t_meta}, 0 * $B + 64 + 8, pack('l', 999));        # metapage dims
overwrite($path{t_dir}, 1 * $B + 64 + 64 + 8, pack('L', 999999)); # segment 0's first block
$node->start;

# every call in one session: it must survive them all
my $sql = '';
for my $t (@tables)
{
	$sql .= qq{SELECT '$t', kind, count(*) FROM ruvector_verify('$t') GROUP BY kind ORDER BY kind;\n};
	$sql .= qq{SELECT count(v <-> v) FROM $t;\n};
}
$sql .= qq{SELECT 'straddler', blkno, vid FROM ruvector_verify('t_straddle');\n};
$sql .= qq{SELECT 'still alive';\n};
my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 0);
like($out, qr/still alive/, 'the session survived every verify call and every damaged read');
note($out);
note($err);

my %kinds;
for my $line (split /\n/, $out)
{
	my ($t, $kind, $n) = split /\|/, $line;
	$kinds{$t}{$kind} = $n if defined $n;
}
is_deeply($kinds{t_healthy} // {}, {}, 'undamaged table: no rows');
ok($kinds{t_vhdr}{vid_header}, 'vector header overwritten: vid_header');
is(join(',', sort keys %{ $kinds{t_vhdr} }), 'vid_header', 'vector header overwritten: nothing else');
ok($kinds{t_magic}{page_magic}, 'data page magic overwritten: page_magic');
ok($kinds{t_magic}{vid_payload}, 'data page magic overwritten: the vids on it are reported');
ok($kinds{t_pghdr}{read_error}, 'data page header overwritten: read_error');
ok($kinds{t_xids}{heap_vref_unallocated} && $kinds{t_xids}{heap_vref_unallocated} == 10,
	'segment xids zeroed: 10 heap_vref_unallocated');
ok($kinds{t_xids}{segment_count}, 'segment xids zeroed: segment_count');
ok($kinds{t_xids}{meta_counts}, 'segment xids zeroed: meta_counts');
ok($kinds{t_tier}{segment_header}, 'segment tier overwritten: segment_header');
ok($kinds{t_meta}{meta_geometry}, 'metapage dims overwritten: meta_geometry');
ok($kinds{t_codes}{vid_codes} && $kinds{t_codes}{vid_codes} == 1, 'code record overwritten: one vid_codes');
is(join(',', sort keys %{ $kinds{t_codes} }), 'vid_codes', 'code record overwritten: nothing else');
ok($kinds{t_straddle}{vid_codes} && $kinds{t_straddle}{vid_codes} == 1,
	'second part of a straddling code record overwritten: one vid_codes');
is(join(',', sort keys %{ $kinds{t_straddle} }), 'vid_codes',
	'second part of a straddling code record overwritten: nothing else');
like($out, qr/^straddler\|8\|10$/m, 'second part of a straddling code record: reported on its page (block 8), vid 10');
ok($kinds{t_codemagic}{page_magic}, 'code page magic overwritten: page_magic');
ok($kinds{t_bits}{vid_bits} && $kinds{t_bits}{vid_bits} == 1, 'bit record sign bits overwritten: one vid_bits');
is(join(',', sort keys %{ $kinds{t_bits} }), 'vid_bits', 'bit record sign bits overwritten: nothing else');
ok($kinds{t_bitmagic}{page_magic}, 'bit page magic overwritten: page_magic');
ok($kinds{t_bitfac}{vid_bits} && $kinds{t_bitfac}{vid_bits} == 1, 'bit record factor overwritten: one vid_bits');
is(join(',', sort keys %{ $kinds{t_bitfac} }), 'vid_bits', 'bit record factor overwritten: nothing else');
ok($kinds{t_bitzero}{vid_bits} && $kinds{t_bitzero}{vid_bits} == 1, 'absent bit record overwritten: one vid_bits');
is(join(',', sort keys %{ $kinds{t_bitzero} }), 'vid_bits', 'absent bit record overwritten: nothing else');
ok(%{ $kinds{t_dir} // {} }, 'directory entry overwritten: reported (' . join(',', sort keys %{ $kinds{t_dir} // {} }) . ')');

# the damaged tables' reads fail cleanly, the healthy one still reads
like($err, qr/ERROR:/, 'reads of damaged stores raise errors');
unlike($err, qr/server closed the connection|terminated/, 'no connection lost');
my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal|server process .* exited with exit code [^0]/, 'no backend crashed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t_healthy'), '100', 'undamaged table still reads');
$node->stop;
done_testing();
