# pg_upgrade 15 -> 15 of a cluster with ruvector tables, once in copy mode
# (the default) and once with --link, each into a fresh cluster: every vector is carried
# bit-exact (md5 over the text and the binary form), k-NN answers through
# the ruhnsw indexes are those of the old cluster, ruvector_verify and
# ruvector_gc_orphans find nothing, pg_prewarm reads every store relation,
# and the upgraded tables take writes and VACUUM (checks in
# test/t/lib/RvLifecycle.pm).  The data set has NULLs, deleted and updated
# rows, two vector columns with l2 and cosine indexes and an unlogged table.
# No tablespace: pg_upgrade between two clusters of the same major version
# refuses any (their PG_15_<catversion> directories would be the same).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvLifecycle;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->append_conf('postgresql.conf', 'autovacuum = off');
$old->start;
$old->safe_psql('postgres', 'CREATE DATABASE d');
rv_populate($old, 'd');

# The checks hold on the old cluster itself (so that a failure after the
# upgrade is the upgrade's); the reference is taken after their writes.
rv_check_copy($old, 'd', {}, 'old cluster');
my $want = rv_snapshot($old, 'd');
like($want->{'knn plan t.v'}, qr/^Index Scan using t_v on t$/, 'old cluster: k-NN on t.v runs through t_v');
like($want->{'knn plan t.w'}, qr/^Index Scan using t_w on t$/, 'old cluster: k-NN on t.w runs through t_w');
like($want->{'knn plan u.v'}, qr/^Index Scan using u_v on u$/, 'old cluster: k-NN on u.v runs through u_v');
like($want->{'knn t.v'}, qr/^(?:\d+=(?:\d+:[-0-9.e]+,){9}\d+:[-0-9.e]+;){19}\d+=/,
	'old cluster: 20 k-NN answers of 10 rows each');
like($want->{'rows t'}, qr/^1\d{3} [0-9a-f]{32}$/, 'old cluster: t has its rows');
like($want->{'rows u'}, qr/^4\d\d [0-9a-f]{32}$/, 'old cluster: u has its rows');
$old->stop;

my $bindir = $old->config_data('--bindir');
my $workdir = PostgreSQL::Test::Utils::tempdir('upgrade');
# copy mode is pg_upgrade 15's default (it has no --copy option)
for my $mode ([ 'copy' ], [ 'link', '--link' ])
{
	my ($name, @opt) = @$mode;
	my $new = PostgreSQL::Test::Cluster->new("new_$name");
	$new->init;
	$new->append_conf('postgresql.conf', 'autovacuum = off');

	# pg_upgrade writes its scripts into the working directory
	chdir $workdir or die "chdir $workdir: $!";
	command_ok(
		[
			'pg_upgrade', '--no-sync', '-d', $old->data_dir, '-D', $new->data_dir,
			'-b', $bindir, '-B', $bindir, '-s', $new->host,
			'-p', $old->port, '-P', $new->port, @opt
		],
		"pg_upgrade ($name mode)");
	$new->start;
	rv_check_copy($new, 'd', $want, "upgraded ($name)");
	$new->stop;
}

done_testing();
