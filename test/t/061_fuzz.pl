# 061_fuzz.pl: builds the libFuzzer harnesses of test/fuzz (clang,
# -fsanitize=fuzzer,address,undefined) from the sources under RV_SRC_ROOT
# into a temporary directory and runs each for a bounded time
# (RV_FUZZ_SECONDS, default 15) from the seed corpus in test/fuzz/corpus.
# Passes when each builds, runs, executes inputs and reports no crash
# (no sanitizer report, no invariant abort, no timeout, no leak); prints
# the executions run.  A crashing input is kept as an artifact in the log.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IPC::Run qw(run);
use Test::More;

my $src = $ENV{RV_SRC_ROOT};
plan skip_all => 'RV_SRC_ROOT does not point at a source tree'
  unless $src && -r "$src/src/toast/vector_parse.c";
my $root = $ENV{RV_TEST_ROOT} or die "RV_TEST_ROOT not set";
my $secs = $ENV{RV_FUZZ_SECONDS} // 15;
my $tmp = tempdir('fuzz.XXXXXX', DIR => $ENV{TESTDIR} // '/tmp', CLEANUP => 1);

my $out;
run([ 'bash', "$root/fuzz/build.sh", $src, $tmp ], '>&', \$out);
ok($? == 0, 'fuzzers build with clang -fsanitize=fuzzer,address,undefined -Werror')
  or diag($out);
BAIL_OUT('cannot build the fuzzers') if $?;

my %max_len = (vector_in => 4096, kernels => 16386);
my $total = 0;
for my $name ('vector_in', 'kernels')
{
	my $corpus = "$tmp/corpus_$name";
	mkdir $corpus or die "mkdir $corpus: $!";
	copy($_, $corpus) or die "copy $_: $!" for glob("$root/fuzz/corpus/$name/*");

	run([ "$tmp/fuzz_$name", "-max_total_time=$secs", "-max_len=$max_len{$name}",
		  '-timeout=10', '-print_final_stats=1', "-artifact_prefix=$tmp/crash_$name-",
		  $corpus ], '>', \$out, '2>&1');
	my $rc = $?;
	my ($execs) = $out =~ /stat::number_of_executed_units:\s*(\d+)/;
	my @crashes = glob("$tmp/crash_$name-*");
	$execs //= 0;
	$total += $execs;
	note("fuzz_$name: $execs executions in ${secs}s, " . scalar(@crashes) . ' crashes');
	ok($rc == 0 && !@crashes && $out !~ /ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:/,
		"fuzz_$name: $execs executions, 0 crashes")
	  or do
	  {
		  my @lines = split /\n/, $out;
		  diag(join("\n", grep { !/^"|^#\d+\s/ } @lines[ ($#lines > 80 ? $#lines - 80 : 0) .. $#lines ]));
		  for my $c (@crashes)
		  {
			  open(my $fh, '<:raw', $c) or next;
			  local $/;
			  my $bytes = <$fh>;
			  diag("crashing input $c (hex): " . unpack('H*', substr($bytes, 0, 512)));
		  }
	  };
	ok($execs > 1000, "fuzz_$name ran more than 1000 inputs");
}
note("fuzz executions in total: $total");

done_testing();
