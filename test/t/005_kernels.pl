# 005_kernels.pl: the SIMD distance kernels outside the server.  Builds the
# standalone test/kernels/test_kernels.c with the src/simd sources (found
# through RV_SRC_ROOT, since only test/ is copied for the cluster owner)
# into a temporary directory under TESTDIR, runs it and passes each of its
# TAP points on (the RaBitQ bias and bound-coverage figures as diagnostics).
# Then checks that the kernels chosen, both by the program
# and by the server's ruvector_simd_info(), are the best ones /proc/cpuinfo
# says this CPU supports.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IPC::Run qw(run);
use Test::More;

my $src = $ENV{RV_SRC_ROOT};
plan skip_all => 'RV_SRC_ROOT does not point at a source tree'
  unless $src && -r "$src/src/simd/simd_dispatch.c";
my $root = $ENV{RV_TEST_ROOT} or die "RV_TEST_ROOT not set";
my $tmp = tempdir('kernels.XXXXXX', DIR => $ENV{TESTDIR} // '/tmp', CLEANUP => 1);

# Build, with the AVX-512 and NEON kernels also built for SIMDe emulation.
local $ENV{RV_EMULATE} = 1;
my ($out, $rc);
run([ 'bash', "$root/kernels/build.sh", $src, $tmp,
	  "$root/kernels/test_kernels.c", "$tmp/test_kernels" ], '>&', \$out);
ok($? == 0, 'test_kernels builds with -Wall -Wextra -Werror') or diag($out);
BAIL_OUT('cannot build test_kernels') if $?;

# Run and relay its TAP stream.
run([ "$tmp/test_kernels" ], '>', \$out, '2>&1');
$rc = $?;
my ($planned, $seen, $active) = (0, 0, '');
for my $line (split /\n/, $out)
{
	if ($line =~ /^1\.\.(\d+)$/) { $planned = $1; }
	elsif ($line =~ /^(not )?ok \d+ - (.*)$/) { $seen++; ok(!defined $1, $2); }
	elsif ($line =~ /^#\s*active: (\S+)/) { $active = $1; note($line); }
	elsif ($line =~ /^# rabitq /) { diag($line); }
	elsif ($line =~ /^#/) { note($line); }
	else { diag($line); }
}
ok($rc == 0, 'test_kernels exits cleanly')
  or diag($rc & 127 ? 'killed by signal ' . ($rc & 127) : 'exit status ' . ($rc >> 8));
ok($planned > 0 && $seen == $planned, "test_kernels ran all $planned of its test points")
  or diag("saw $seen");

# The best kernels this CPU supports, according to the kernel's view of it.
SKIP:
{
	my $arch = `uname -m`;
	chomp $arch;
	my $expect;
	if ($arch =~ /^(x86_64|amd64)$/ && open(my $fh, '<', '/proc/cpuinfo'))
	{
		my %f;
		while (<$fh>)
		{
			if (/^flags\s*:\s*(.*)$/) { %f = map { $_ => 1 } split ' ', $1; last; }
		}
		close $fh;
		$expect = $f{avx512f} && $f{avx2} && $f{fma} ? 'avx512f'
		  : $f{avx2} && $f{fma} ? 'avx2+fma' : 'sse2';
	}
	elsif ($arch eq 'aarch64')
	{
		$expect = 'neon';
	}
	skip("no expectation for architecture $arch", 2) unless defined $expect;
	is($active, $expect, "standalone dispatch picks the best kernels for this CPU ($expect)");

	my $db = "t_005_kernels_$$";
	my $sql = '';
	if (system('createdb', $db) == 0)
	{
		run([ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db,
			  '-c', 'CREATE EXTENSION ruvector_tam',
			  '-c', "SELECT ruvector_simd_info()->>'active'" ], '>', \$sql, '2>&1');
		system('dropdb', $db);
	}
	chomp $sql;
	is($sql, $expect, "the server's ruvector_simd_info() reports the same ($expect)");
}

done_testing();
