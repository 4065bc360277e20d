#!/usr/bin/perl
# harness.pl: runs every suite through one TAP::Harness and closes on the
# line "N passed, N failed" (N counts TAP test points).  Exit status is 0
# only when every test point passed and every file finished cleanly.
# Environment: PG* of the throwaway cluster, RV_TEST_ROOT (the test dir),
# PG_REGRESS, PG_ISOLATION_REGRESS, TESTDIR (from test/run-all.sh).
use strict;
use warnings;
use TAP::Harness;

my $root = $ENV{RV_TEST_ROOT} or die "RV_TEST_ROOT not set";
my @files = @ARGV;
if (!@files)
{
	push @files, sort glob("$root/pgtap/*.sql");
	push @files, sort glob("$root/isolation/specs/*.spec");
	push @files, sort glob("$root/t/*.pl");
}

my $harness = TAP::Harness->new({
	verbosity => ($ENV{RV_TEST_VERBOSE} ? 1 : 0),
	timer => 1,
	failures => 1,
	comments => 1,
	exec => sub {
		my ($h, $file) = @_;
		return [ "$root/bin/run-pgtap", $file ] if $file =~ /\.sql$/;
		return [ "$root/bin/run-isolation", $file ] if $file =~ /\.spec$/;
		return [ $^X, $file ];
	},
});
my $agg = $harness->runtests(@files);
my $passed = scalar($agg->passed);
my $failed = scalar($agg->failed);
# A file that died before its plan counts as one failure.
my $bad_files = 0;
for my $d ($agg->descriptions)
{
	my ($p) = $agg->parsers($d);
	$bad_files++ if $p->has_problems && !$p->failed;
}
$failed += $bad_files;
print "$passed passed, $failed failed\n";
exit(($failed || $agg->has_problems) ? 1 : 0);
