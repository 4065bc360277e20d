# ruhnsw WAL: a streaming standby with wal_consistency_checking = 'generic'
# replays the build (log_newpage_range), inserts and VACUUM (GenericXLog);
# index-scan results must be equal on primary and standby.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('ruhnsw_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'");
$primary->start;
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('ruhnsw_standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION ruvector_tam;
	SELECT setseed(0.3);
	CREATE TABLE items (id bigint PRIMARY KEY, embedding ruvector(24)) USING ruvector;
	INSERT INTO items
		SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 24) WHERE i > 0)::ruvector
		FROM generate_series(1, 1500) i;
	CREATE INDEX items_l2 ON items USING ruhnsw (embedding);
	INSERT INTO items
		SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 24) WHERE i > 0)::ruvector
		FROM generate_series(1501, 1800) i;
	DELETE FROM items WHERE id % 3 = 0;
	VACUUM items;
	INSERT INTO items
		SELECT i, (SELECT array_agg(random()::real) FROM generate_series(1, 24) WHERE i > 0)::ruvector
		FROM generate_series(1801, 2000) i;
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

my $query = q{
	SET enable_seqscan = off;
	SELECT string_agg(ids, ';' ORDER BY q) FROM (
		SELECT q.id AS q, (SELECT string_agg(i.id::text, ',') FROM
			(SELECT id FROM items ORDER BY embedding <-> q.embedding LIMIT 10) i) AS ids
		FROM items q WHERE q.id % 97 = 1) s;
};
my $on_primary = $primary->safe_psql('postgres', $query);
my $on_standby = $standby->safe_psql('postgres', $query);
isnt($on_primary, '', 'the primary returns results');
is($on_standby, $on_primary, 'index-scan results are equal on primary and standby');
like($primary->safe_psql('postgres', q{EXPLAIN SELECT id FROM items ORDER BY embedding <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10}),
	qr/Index Scan using items_l2/, 'the query uses the index');

$standby->stop;
$primary->stop;
ok(!grep({ /inconsistent page found/ } slurp_file($standby->logfile)), 'no page inconsistency on the standby');
done_testing();
