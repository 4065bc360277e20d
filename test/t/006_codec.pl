# 006_codec.pl: the lossless payload codecs (src/toast/codec.c) outside
# the server.  Builds the standalone test/kernels/test_codec.c with
# src/toast/codec.c and liblz4 (sources found through RV_SRC_ROOT, as in
# 005_kernels.pl), runs it and passes each of its TAP points on: bit-exact
# round trips of the half split and of shuffled LZ4 blocks, refusal of
# short blocks and wrong counts, and, when the Debian package
# dataset-fashion-mnist is installed, the ratio Fashion-MNIST's pixels
# pack to (the "# codec" lines become diagnostics).
use strict;
use warnings;
use File::Temp qw(tempdir);
use IPC::Run qw(run);
use Test::More;

my $src = $ENV{RV_SRC_ROOT};
plan skip_all => 'RV_SRC_ROOT does not point at a source tree'
  unless $src && -r "$src/src/toast/codec.c";
my $root = $ENV{RV_TEST_ROOT} or die "RV_TEST_ROOT not set";
my $tmp = tempdir('codec.XXXXXX', DIR => $ENV{TESTDIR} // '/tmp', CLEANUP => 1);
my $exe = "$tmp/test_codec";

my $out;
run([ $ENV{CC} // 'cc', '-std=gnu99', '-O2', '-g', '-Wall', '-Wextra', '-Werror',
	  "-I$src/src", '-o', $exe, "$root/kernels/test_codec.c", "$src/src/toast/codec.c",
	  '-llz4', '-lm' ], '>&', \$out);
ok($? == 0, 'test_codec builds with -Wall -Wextra -Werror') or diag($out);
BAIL_OUT('cannot build test_codec') if $?;

my $fmnist = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
my @args = -r $fmnist ? ($fmnist) : ();
note('dataset-fashion-mnist is not installed: the ratio check is skipped') unless @args;
run([ $exe, @args ], '>', \$out, '2>&1');
my $rc = $?;
my ($planned, $seen) = (0, 0);
for my $line (split /\n/, $out)
{
	if ($line =~ /^1\.\.(\d+)$/) { $planned = $1; }
	elsif ($line =~ /^(not )?ok \d+ - (.*)$/) { $seen++; ok(!defined $1, $2); }
	elsif ($line =~ /^# codec /) { diag($line); }
	elsif ($line =~ /^#/) { note($line); }
	else { diag($line); }
}
ok($rc == 0, 'test_codec exits cleanly')
  or diag($rc & 127 ? 'killed by signal ' . ($rc & 127) : 'exit status ' . ($rc >> 8));
ok($planned > 0 && $seen == $planned, "test_codec ran all $planned of its test points")
  or diag("saw $seen");
done_testing();
