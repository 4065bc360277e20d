# Tiers under crashes and damage.
#
# A ruvector table and its heap twin (same rows, same transactions) are
# sealed and compacted while the server crashes for real: at each crash
# point of a segment move (ruvector.debug_seal_crash: after the new
# location is reserved, halfway through writing it, after the directory
# switched but before commit: a PANIC, so the postmaster restarts and
# replays WAL), and by SIGKILL of the backend in the middle of a long
# ruvector_compact.  After each recovery the table equals its twin bit for
# bit (v::text), the exact k-NN scan answers as the twin's, ruvector_verify
# is clean, the audit chain is intact, and the move can be done again.
# Then a sealed page is damaged on disk: reading a vector on it raises
# data_corrupted (XX001) naming the relation and block, never a wrong
# vector, and ruvector_verify reports it; the damage is repaired by
# restoring the page, and a forged audit row is reported by
# ruvector_audit_verify.  A compaction that waits for an inserting
# transaction shows its phase and segments in ruvector_compact_progress.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('tiercrash');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
checkpoint_timeout = '1h'
autovacuum = off
restart_after_crash = on
log_min_messages = warning
});
$node->start;

$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(id int, d int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(CASE WHEN hashint4(id * 31 + j) % 3 = 0 THEN 0
         ELSE (abs(hashint4(id * 7 + j)) % 255)::real END ORDER BY j)::ruvector
  FROM generate_series(1, d) j $$;
CREATE TABLE t (id int PRIMARY KEY, v ruvector(128)) USING ruvector;
CREATE TABLE t_twin (id int PRIMARY KEY, v ruvector(128));
INSERT INTO t_twin SELECT g, vec(g, 128) FROM generate_series(1, 9000) g;
INSERT INTO t SELECT * FROM t_twin;
CREATE INDEX ON t USING ruhnsw (v vector_l2_ops);
CHECKPOINT;
});

sub check_state
{
	my ($label) = @_;
	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) FROM ((SELECT id, v::text FROM t EXCEPT SELECT id, v::text FROM t_twin)
 UNION ALL (SELECT id, v::text FROM t_twin EXCEPT SELECT id, v::text FROM t)) x}),
		'0',
		"$label: every row and vector as in the twin");
	is( $node->safe_psql(
			'postgres', q{
SET enable_indexscan = off;
SELECT count(*) FROM ((SELECT id FROM (SELECT id FROM t ORDER BY v <-> vec(99999, 128), id LIMIT 10) a)
 EXCEPT (SELECT id FROM (SELECT id FROM t_twin ORDER BY v <-> vec(99999, 128), id LIMIT 10) b)) x}),
		'0',
		"$label: exact k-NN scan as the twin's");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('t')}),
		'0', "$label: verify clean");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_audit_verify()}),
		'0', "$label: audit chain intact");
}

# crash points of a move, each a PANIC in the middle of ruvector_compact
my @tiers = ('cool', 'cold', 'warm');
for my $point (1 .. 3)
{
	my $tier = $tiers[ $point - 1 ];
	my ($ret, $out, $err) = $node->psql(
		'postgres', qq{
SET ruvector.debug_seal_crash = $point;
SELECT * FROM ruvector_compact('t', '$tier');});
	like($err, qr/server closed the connection|terminating connection|PANIC/,
		"crash point $point ($tier): the server crashed mid-move");
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die "server did not come back after crash point $point";
	check_state("after crash point $point");
	# the move done again, completely, after recovery
	is( $node->safe_psql(
			'postgres', qq{SELECT segments_moved > 0 FROM ruvector_compact('t', '$tier')}),
		't', "after crash point $point: the move to $tier succeeds");
	check_state("after crash point $point and a full move to $tier");
}

# SIGKILL of the backend during a long compaction (9000 rows, 5 segments to cool)
{
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/started/, q{
\echo started
SELECT * FROM ruvector_compact('t', 'cool');
});
	usleep(30_000);
	kill 'KILL', $pid;
	eval { $bg->quit; };
	$node->poll_query_until('postgres', 'SELECT 1', '1')
	  or die "server did not come back after SIGKILL";
	check_state('after SIGKILL of a compacting backend');
	$node->safe_psql('postgres', q{SELECT * FROM ruvector_compact('t', 'cool'); VACUUM t;});
	check_state('after the compaction is redone and VACUUM settled it');
}

# progress: a compaction waiting for an inserting transaction shows in ruvector_compact_progress
{
	my $ins = $node->background_psql('postgres');
	$ins->query_safe(q{BEGIN; INSERT INTO t VALUES (20001, vec(20001, 128));
		INSERT INTO t_twin VALUES (20001, vec(20001, 128))});
	my $mover = $node->background_psql('postgres');
	$mover->query_until(qr/started/, q{
\echo started
SELECT segments_moved FROM ruvector_compact('t', 'cool');
});
	ok( $node->poll_query_until(
			'postgres', q{SELECT phase = 'moving segments' AND segments_total >= 6
			AND segments_done >= 5 FROM ruvector_compact_progress WHERE relid = 't'::regclass}),
		'a compaction waiting for a writer shows its phase and segments in ruvector_compact_progress');
	$ins->query_safe('COMMIT');
	$ins->quit;
	# the compaction goes on once the writer committed
	my $moved = $mover->query_safe('SELECT 1');
	$mover->quit;
	like($moved, qr/1/, 'the waiting compaction finished');
	is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_compact_progress}), '0',
		'the compaction done, its progress row is gone');
	check_state('after a compaction that waited for a writer');
}

# a damaged sealed page: an error naming the relation and block, never a wrong vector
my $rel = $node->safe_psql('postgres',
	q{SELECT relation::regclass::text FROM ruvector_storage_report('t') WHERE tier = 'cool'});
my $relpath = $node->safe_psql('postgres', qq{SELECT pg_relation_filepath('$rel')});
my $relid = $node->safe_psql('postgres', qq{SELECT '$rel'::regclass::oid});
# the payload page holding id 1's vector: the first run's last block
my $blk = $node->safe_psql('postgres',
	qq{SELECT pg_relation_size('$rel') / 8192 - 1});
$node->safe_psql('postgres', 'CHECKPOINT');
$node->stop;
my $file = $node->data_dir . '/' . $relpath;
open(my $fh, '+<', $file) or die "open $file: $!";
binmode $fh;
seek($fh, $blk * 8192 + 2000, 0) or die;
my $saved;
read($fh, $saved, 16);
seek($fh, $blk * 8192 + 2000, 0) or die;
print $fh ("\x5a" x 16);
close $fh;
$node->start;
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT sum(length(v::text)) FROM t});
like($err, qr/tier relation $relid: block \d+ fails its checksum/,
	'reading a damaged sealed page: an error naming the relation and block');
is($ret, 3, 'the read fails (data_corrupted), returns no vector');
like($node->safe_psql('postgres',
		q{SELECT string_agg(DISTINCT kind, ',') FROM ruvector_verify('t')}),
	qr/sealed_checksum/, 'ruvector_verify reports the damaged sealed segment');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM ruvector_audit WHERE event = 'verify_failure'}),
	'1', 'the verify failure is an audit event');
# restore the page bytes: everything checks again
$node->stop;
open($fh, '+<', $file) or die "open $file: $!";
binmode $fh;
seek($fh, $blk * 8192 + 2000, 0) or die;
print $fh $saved;
close $fh;
$node->start;
check_state('after the damaged page is restored');

# a forged audit row
$node->safe_psql('postgres',
	q{UPDATE ruvector_audit SET detail = detail || ' (edited)' WHERE seq = 2});
like($node->safe_psql('postgres', q{SELECT string_agg(seq::text, ',') FROM ruvector_audit_verify()}),
	qr/^2$/, 'a forged audit row is reported by ruvector_audit_verify');

$node->stop;
done_testing();
