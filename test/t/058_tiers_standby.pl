# Tiers on a streaming standby: a primary with wal_consistency_checking
# for generic (vector store) records, smgr truncation among them, and a hot
# standby made from a base backup.  On the primary the table's segments are
# sealed into cool, cold and back to warm (the tier relations created on
# the way), rows are updated and deleted, VACUUM frees sealed vids,
# compacts and truncates, a policy moves segments, and a lossy_cold policy
# rewrites them with codes only (ruvector_compact); after each step the
# standby, read without promotion, answers exactly as the primary (every
# row and vector, the exact k-NN scan, an index scan), ruvector_verify is
# clean, and no replayed page differed from the primary's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('tprimary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
wal_consistency_checking = 'generic'
autovacuum = off
log_statement = 'none'
});
$primary->start;
$primary->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(id int, d int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((abs(hashint4(id * 13 + j)) % 200)::real ORDER BY j)::ruvector
  FROM generate_series(1, d) j $$;
CREATE TABLE t (id int PRIMARY KEY, cat int, v ruvector(96)) USING ruvector;
INSERT INTO t SELECT g, g % 9, vec(g, 96) FROM generate_series(1, 5000) g;
CREATE INDEX ON t USING ruhnsw (v vector_l2_ops);
});
$primary->safe_psql('postgres',
	"SELECT pg_create_physical_replication_slot('tier_slot')");
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('tstandby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'tier_slot'");
$standby->start;

my $rows = q{SELECT md5(string_agg(id || ':' || cat || ':' || v::text, ',' ORDER BY id)) FROM t};
my $knn = q{SET enable_indexscan = off;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> vec(777777, 96), id LIMIT 10) s};
my $idx = q{SET enable_seqscan = off; SET ruvector.enable_exact_scan = off; SET ruvector.ef_search = 400;
SELECT string_agg(id::text || '/' || d::text, ',') FROM
  (SELECT id, v <-> vec(777777, 96) AS d FROM t ORDER BY v <-> vec(777777, 96) LIMIT 10) s};

sub same_on_standby
{
	my ($label) = @_;
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	for my $q ([ 'rows and vectors', $rows ], [ 'exact k-NN', $knn ], [ 'index scan', $idx ])
	{
		is($standby->safe_psql('postgres', $q->[1]), $primary->safe_psql('postgres', $q->[1]),
			"$label: the standby's $q->[0] equal the primary's");
	}
	# (ruvector_verify locks the table against VACUUM: primary only)
	is($primary->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('t')}), '0',
		"$label: verify on the primary is clean");
}

same_on_standby('hot');
$primary->safe_psql('postgres', q{SELECT * FROM ruvector_compact('t', 'cool')});
same_on_standby('sealed into cool');
$primary->safe_psql('postgres', q{SELECT * FROM ruvector_compact('t', 'cold')});
same_on_standby('moved to cold');
$primary->safe_psql(
	'postgres', q{
UPDATE t SET cat = cat + 100 WHERE id % 4 = 0;
UPDATE t SET v = vec(id + 90000, 96) WHERE id % 17 = 0;
DELETE FROM t WHERE id % 3 = 0;
VACUUM t;
});
same_on_standby('writes, then VACUUM compacts the cold segments and truncates');
$primary->safe_psql('postgres', q{SELECT * FROM ruvector_compact('t', 'warm'); VACUUM t;});
same_on_standby('back to warm, settled');
$primary->safe_psql('postgres',
	q{SELECT ruvector_set_tiers('t', warm_after => '0 s', cold_after => '0 s'); VACUUM t;});
same_on_standby('a policy of cold at once, applied by VACUUM');
is($primary->safe_psql('postgres',
		q{SELECT string_agg(tier, ',' ORDER BY tier) FROM ruvector_storage_report('t') WHERE live_vectors > 0}),
	'cold', 'the policy moved every segment to cold');
# access heat: lookups by key on the primary write it into segment headers
# (GenericXLog), which the standby replays byte for byte; lookups on the
# standby count but write nothing
$primary->safe_psql('postgres',
	q{SELECT ruvector_set_tiers('t', warm_after => '0 s', cold_after => '0 s', heat_threshold => 1000)});
my $lookups = q{SET ruvector.heat_flush_interval = 0; SET enable_seqscan = off; SET enable_bitmapscan = off;
	DO $$ DECLARE x text; BEGIN FOR i IN 1 .. 200 LOOP
		EXECUTE 'SELECT v::text FROM t WHERE id = $1' INTO x USING i; END LOOP; END $$;};
$primary->safe_psql('postgres', $lookups);
my $heat = q{SELECT string_agg(segno || ':' || round(heat::numeric, 0), ',' ORDER BY segno) FROM ruvector_segments('t')};
my $heat_primary = $primary->safe_psql('postgres', $heat);
like($heat_primary, qr/^0:[1-9]/, "lookups gave segment 0 heat on the primary ($heat_primary)");
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($standby->safe_psql('postgres', $heat), $heat_primary, 'the standby reads the same heat');
$standby->safe_psql('postgres', $lookups);
is($standby->safe_psql('postgres', $heat), $heat_primary, 'lookups on the standby wrote nothing');
same_on_standby('heat written');

$primary->safe_psql('postgres',
	q{SELECT ruvector_set_tiers('t', warm_after => '0 s', cold_after => '0 s', lossy_cold => true);
SELECT * FROM ruvector_compact('t', 'cold'); VACUUM t;});
same_on_standby('lossy cold: ruvector_compact rewrote the cold segments with codes only');
is($primary->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE v::text NOT IN (vec(id, 96)::text, vec(id + 90000, 96)::text)) > count(*) / 2 FROM t}),
	't', 'lossy cold: most vectors read back as reconstructions, not as written');
$primary->safe_psql('postgres', q{VACUUM FULL t});
same_on_standby('VACUUM FULL');

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
my $log = slurp_file($standby->logfile);
unlike($log, qr/inconsistent page found/, 'no replayed page differed from the primary\'s');
unlike($log, qr/FATAL|PANIC/, 'the standby replayed without FATAL or PANIC');
$standby->stop;
$primary->stop;
done_testing();
