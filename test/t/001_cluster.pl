# Smoke test of the Perl TAP setup: a PostgreSQL::Test::Cluster node can
# create the extension.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector_tam');
is($node->safe_psql('postgres', 'SELECT ruvector_version()'), '0.3.0', 'extension loads in a TAP cluster');
$node->stop;
done_testing();
