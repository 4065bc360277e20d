#!/usr/bin/perl
# harness.pl: runs every suite through one TAP::Harness and closes on the
# line "N passed, N failed" (N counts TAP test points).  Exit status is 0
# only when every test point passed and every file finished cleanly.
# Environment: PG* of the throwaway cluster, RV_TEST_ROOT (the test dir),
# PG_REGRESS, PG_ISOLATION_REGRESS, TESTDIR (the throwaway directory),
# RV_SRC_ROOT, RV_CHECKOUT, RV_OWNER (the cluster owner), from
# test/run-all.sh.
#
# Runs as the invoking user.  As root, each suite runs as RV_OWNER (runuser,
# environment kept, PATH passed on), except bin/demo-smoke, which needs root
# to install and to make a checkout only root can enter.  Every suite starts
# in TESTDIR, a directory the cluster owner can enter.  bin/demo-smoke
# reinstalls the extension, so it always runs after the other suites.
use strict;
use warnings;
use TAP::Harness;

my $root = $ENV{RV_TEST_ROOT} or die "RV_TEST_ROOT not set";
my $testdir = $ENV{TESTDIR} or die "TESTDIR not set";
chdir $testdir or die "cannot change directory to \"$testdir\": $!";
my @files = @ARGV;
if (!@files)
{
	push @files, sort glob("$root/pgtap/*.sql");
	push @files, sort glob("$root/isolation/specs/*.spec");
	push @files, sort glob("$root/t/*.pl");
	push @files, "$root/bin/demo-smoke";
}
my $is_smoke = sub { $_[0] =~ m{/bin/demo-smoke$} };
@files = ((grep { !$is_smoke->($_) } @files), (grep { $is_smoke->($_) } @files));

my @as_owner =
  $> == 0
  ? ('runuser', '-u', ($ENV{RV_OWNER} // 'postgres'), '--', 'env', "PATH=$ENV{PATH}")
  : ();

my $harness = TAP::Harness->new({
	verbosity => ($ENV{RV_TEST_VERBOSE} ? 1 : 0),
	timer => 1,
	failures => 1,
	comments => 1,
	exec => sub {
		my ($h, $file) = @_;
		return [ 'bash', $file ] if $is_smoke->($file);
		return [ @as_owner, "$root/bin/run-pgtap", $file ] if $file =~ /\.sql$/;
		return [ @as_owner, "$root/bin/run-isolation", $file ] if $file =~ /\.spec$/;
		return [ @as_owner, $^X, $file ];
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
