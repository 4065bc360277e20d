# Standby queries and segment moves: with hot_standby_feedback a standby's
# snapshot holds back the release of a moved segment's old location on the
# primary, as a local backend's does, through a replication slot (the
# slot's xmin) and without one (the walsender's xmin).  A REPEATABLE READ
# transaction on each standby reads the same rows and k-NN answers before
# and after the primary seals every segment into cold, inserts into the
# freed space and VACUUMs; the primary keeps the old hot extents
# (unsettled) until the standbys' transactions end, then releases them
# (new rows reuse them), and the standbys equal the primary again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('fb_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
autovacuum = off
max_wal_senders = 4
});
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(id int, d int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((abs(hashint4(id * 13 + j)) % 200)::real ORDER BY j)::ruvector
  FROM generate_series(1, d) j $$;
CREATE TABLE t (id int PRIMARY KEY, v ruvector(32)) USING ruvector;
INSERT INTO t SELECT g, vec(g, 32) FROM generate_series(1, 6000) g;
SELECT pg_create_physical_replication_slot('fb_slot');
});
$primary->backup('base');

my %standby;
for my $name ('slot', 'noslot')
{
	my $s = PostgreSQL::Test::Cluster->new("fb_$name");
	$s->init_from_backup($primary, 'base', has_streaming => 1);
	$s->append_conf('postgresql.conf', q{
hot_standby_feedback = on
wal_receiver_status_interval = 1
});
	$s->append_conf('postgresql.conf', "primary_slot_name = 'fb_slot'") if $name eq 'slot';
	$s->start;
	$standby{$name} = $s;
}

my $rows = q{SELECT md5(string_agg(id || ':' || v::text, ',' ORDER BY id)) FROM t};
my $knn = q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM t ORDER BY v <-> vec(777777, 32), id LIMIT 10) s};
my $hot_pages = q{SELECT pages FROM ruvector_storage_report('t') WHERE tier = 'hot'};

# each standby opens a snapshot and holds it
my %sess;
my %want;
for my $name (sort keys %standby)
{
	$primary->wait_for_catchup($standby{$name}, 'replay', $primary->lsn('insert'));
	my $b = $standby{$name}->background_psql('postgres');
	$b->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
	$want{$name} = [ $b->query_safe($rows), $b->query_safe($knn) ];
	is($want{$name}[0], $primary->safe_psql('postgres', $rows), "$name: the snapshot sees the primary's rows");
	$sess{$name} = $b;
}
# the feedback has reached the primary: both standbys' xmins are known
ok($primary->poll_query_until('postgres',
		q{SELECT (SELECT xmin IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'fb_slot')
			AND (SELECT count(*) FROM pg_stat_replication WHERE backend_xmin IS NOT NULL) >= 1}),
	'the primary knows the standbys\' xmins (the slot\'s and the other walsender\'s)');

my $pages_hot = $primary->safe_psql('postgres', $hot_pages);
$primary->safe_psql('postgres', q{SELECT * FROM ruvector_compact('t', 'cold')});
$primary->safe_psql('postgres', q{INSERT INTO t SELECT g, vec(g, 32) FROM generate_series(6001, 9000) g});
my ($rc, $out, $err) = $primary->psql('postgres', 'VACUUM (VERBOSE) t');
like($err, qr/settled \d+ moves, [1-9]\d* waiting for older snapshots/,
	'VACUUM keeps the moves unsettled while the standbys\' snapshots may read the old extents');
my $pages_held = $primary->safe_psql('postgres', $hot_pages);
cmp_ok($pages_held, '>', $pages_hot,
	"the old hot extents are held: new rows went after them ($pages_hot hot pages before, $pages_held now)");
for my $name (sort keys %standby)
{
	$primary->wait_for_catchup($standby{$name}, 'replay', $primary->lsn('insert'));
	is($sess{$name}->query_safe($rows), $want{$name}[0], "$name: after the move, the snapshot reads the same rows");
	is($sess{$name}->query_safe($knn), $want{$name}[1], "$name: and the same k-NN answer");
}

# the standbys' transactions end: the next VACUUM releases and truncates
for my $name (sort keys %standby)
{
	$sess{$name}->query_safe('COMMIT');
	$sess{$name}->quit;
}
my $released = 0;
for (my $i = 0; $i < 120 && !$released; $i++)
{
	($rc, $out, $err) = $primary->psql('postgres', 'VACUUM (VERBOSE) t');
	$released = $err =~ /settled [1-9]\d* moves, 0 waiting for older snapshots/;
	sleep 1 unless $released;
}
ok($released, 'once the standbys\' snapshots are gone, VACUUM releases the old extents');
# three more segments' worth of rows: they take the three released extents,
# so the hot file grows by less than one extent (the last segment filling)
my $extent = $primary->safe_psql('postgres', q{SELECT max(blocks) FROM ruvector_segments('t') WHERE tier = 'hot'});
$primary->safe_psql('postgres', q{INSERT INTO t SELECT g, vec(g, 32) FROM generate_series(9001, 15000) g});
my $grown = $primary->safe_psql('postgres', $hot_pages) - $pages_held;
cmp_ok($grown, '<', $extent,
	"new rows reuse the released extents: the hot file grew by $grown pages (an extent is $extent)");
for my $name (sort keys %standby)
{
	$primary->wait_for_catchup($standby{$name}, 'replay', $primary->lsn('insert'));
	is($standby{$name}->safe_psql('postgres', $rows), $primary->safe_psql('postgres', $rows),
		"$name: the standby's rows equal the primary's");
	is($standby{$name}->safe_psql('postgres', $knn), $primary->safe_psql('postgres', $knn),
		"$name: the standby's k-NN answer equals the primary's");
}
is($primary->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('t')}), '0', 'verify clean');

$_->stop for values %standby;
$primary->stop;
done_testing();
