# RvCrash: killing a PostgreSQL::Test::Cluster node as a power loss would,
# for the crash tests (t/010_crash_recovery.pl, t/012_crash_reachability.pl).
#
# kill9_everything($node) SIGKILLs the postmaster and every process it has.
# The postmaster is stopped first so that it cannot fork a child (an
# autovacuum worker, say) between listing its children and dying; an orphan
# left running would keep the old shared memory attached and the restart
# would fail.  It returns once every one of them is gone, and asserts that
# (one Test::More test).  Linux only: children are found in /proc.
package RvCrash;

use strict;
use warnings;
use Exporter 'import';
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(kill9_everything);

# The child processes of $ppid, from /proc: the PPID is the second field
# after the command name's closing parenthesis.
sub children_of
{
	my ($ppid) = @_;
	my @kids;
	opendir(my $dh, '/proc') or die "cannot read /proc: $!";
	for my $p (grep { /^\d+$/ } readdir $dh)
	{
		open(my $fh, '<', "/proc/$p/stat") or next;
		my $stat = <$fh> // '';
		close $fh;
		push @kids, $p if $stat =~ /.*\)\s+\S+\s+(\d+)/s && $1 == $ppid;
	}
	closedir $dh;
	return @kids;
}

sub kill9_everything
{
	my ($node) = @_;
	my $pm = $node->{_pid};
	kill 'STOP', $pm;
	my @pids = children_of($pm);
	$node->kill9;
	kill 'KILL', @pids;
	for (1 .. 600)
	{
		last unless grep { kill 0, $_ } @pids;
		usleep(100_000);
	}
	ok(!(grep { kill 0, $_ } @pids), 'every server process is gone after SIGKILL');
}

1;
