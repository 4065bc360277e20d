# Whole-database moves and copies of a database with ruvector tables:
# CREATE DATABASE ... TEMPLATE d (both strategies, WAL_LOG, which copies
# only the relations in pg_class, and FILE_COPY, each into the default and
# into another tablespace), a pg_basebackup of the cluster started as a
# copy on another port, and ALTER DATABASE d SET TABLESPACE (and back).
# In every copy: every vector is carried bit-exact (md5 over the text and
# the binary form), k-NN answers through the ruhnsw indexes are those of
# the source, ruvector_verify and ruvector_gc_orphans find nothing,
# pg_prewarm reads every store relation in full, and the tables take writes
# and VACUUM (checks in test/t/lib/RvLifecycle.pm).  Writes in a template
# copy do not show in d.  The data set has NULLs, deleted and updated rows,
# two vector columns with l2 and cosine indexes, an unlogged table (empty in
# the base backup's copy, like its heap twin: PostgreSQL does not back up
# unlogged data) and a table in a tablespace of its own.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvLifecycle;

my $node = PostgreSQL::Test::Cluster->new('moves');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', 'autovacuum = off');
$node->start;

# tablespaces: ts (target of ALTER DATABASE), ts2 (target of CREATE
# DATABASE), ts_tab (holds table s throughout)
my %dir = map { $_ => PostgreSQL::Test::Utils::tempdir("tblspc_$_") } qw(ts ts2 ts_tab);
$node->safe_psql('postgres', "CREATE TABLESPACE $_ LOCATION '$dir{$_}'") for sort keys %dir;
$node->safe_psql('postgres', 'CREATE DATABASE d');
rv_populate($node, 'd', tablespace => 'ts_tab');

# The checks hold in d itself (so that a failure in a copy is the copy's);
# the reference is taken after their writes.
rv_check_copy($node, 'd', {}, 'source d');
my $want = rv_snapshot($node, 'd');
for my $idx ([ 't', 'v' ], [ 't', 'w' ], [ 'u', 'v' ], [ 's', 'v' ])
{
	my ($rel, $col) = @$idx;
	is($want->{"knn plan $rel.$col"}, "Index Scan using ${rel}_$col on $rel",
		"source d: k-NN on $rel.$col runs through ${rel}_$col");
	like($want->{"knn $rel.$col"}, qr/^(?:\d+=(?:\d+:[-0-9.e]+,){9}\d+:[-0-9.e]+;){19}\d+=/,
		"source d: 20 k-NN answers of 10 rows each on $rel.$col");
}
like($want->{'rows t'}, qr/^1\d{3} [0-9a-f]{32}$/, 'source d: t has its rows');
like($want->{'rows u'}, qr/^4\d\d [0-9a-f]{32}$/, 'source d: u has its rows');
like($want->{'rows s'}, qr/^3\d\d [0-9a-f]{32}$/, 'source d: s has its rows');

# the whole snapshot in one string, to compare d before and after
sub flat
{
	my ($snap) = @_;
	return join("\n", map { "$_ = $snap->{$_}" } sort keys %$snap);
}

for my $copy (
	[ 'd2', '' ],
	[ 'd3', 'TABLESPACE ts2' ],
	[ 'd4', 'STRATEGY FILE_COPY' ],
	[ 'd5', 'TABLESPACE ts2 STRATEGY FILE_COPY' ])
{
	my ($db, $opt) = @$copy;
	my $label = "CREATE DATABASE $db TEMPLATE d" . ($opt ? " $opt" : ' (WAL_LOG)');
	$node->safe_psql('postgres', "CREATE DATABASE $db TEMPLATE d $opt");
	rv_check_copy($node, $db, $want, $label);
	rv_is(flat(rv_snapshot($node, 'd')), flat($want), "$label: the writes in $db do not show in d");
}

# pg_basebackup of the running cluster (tablespaces mapped to new
# directories), started as a cluster of its own on another port
my $copy = PostgreSQL::Test::Cluster->new('basebackup');
my @map = map { ('-T', "$dir{$_}=" . PostgreSQL::Test::Utils::tempdir("copy_$_")) } sort keys %dir;
command_ok(
	[
		'pg_basebackup', '-D', $copy->data_dir, '-h', $node->host, '-p', $node->port,
		'--checkpoint', 'fast', '--no-sync', @map
	],
	'pg_basebackup');
$copy->append_conf('postgresql.conf', "port = " . $copy->port . "\nunix_socket_directories = '" . $copy->host . "'\n");
$copy->start;
rv_is(rv_query($copy, 'd', 'SELECT count(*) FROM u') . ' ' . rv_query($copy, 'd', 'SELECT count(*) FROM uh'),
	'0 0', 'pg_basebackup copy: unlogged u and its heap twin uh are empty');
rv_check_copy($copy, 'd', $want, 'pg_basebackup copy',
	skip => [ 'rows u', 'binary u', 'knn u.v', 'storage report u' ]);
$copy->stop;

# the database itself moves to another tablespace, and back
$node->safe_psql('postgres', 'ALTER DATABASE d SET TABLESPACE ts');
is($node->safe_psql('postgres', q{SELECT spcname FROM pg_database d JOIN pg_tablespace t
	ON t.oid = d.dattablespace WHERE datname = 'd'}), 'ts', 'd is in ts');
rv_check_copy($node, 'd', $want, 'ALTER DATABASE d SET TABLESPACE ts');
my $moved = rv_snapshot($node, 'd');
$node->safe_psql('postgres', 'ALTER DATABASE d SET TABLESPACE pg_default');
rv_check_copy($node, 'd', $moved, 'ALTER DATABASE d SET TABLESPACE pg_default');

$node->stop;
done_testing();
