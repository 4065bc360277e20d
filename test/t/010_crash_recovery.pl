# Crash recovery of ruvector tables and their vector stores.
#
# Every ruvector table has a heap "shadow" table (same columns, ruvector
# type on the heap AM) written in the same transactions, so the shadow is
# an independent record of what committed.  Each round commits known work
# after a checkpoint (so crash recovery must replay it: GenericXLog records
# of store allocation, payload writes, VACUUM's frees and slot reuse), then
# leaves COPY, UPDATE, DELETE, TRUNCATE, CREATE TABLE and a VACUUM loop in
# flight in background sessions and crashes the server: round 1 with
# "pg_ctl stop -m immediate", round 2 by SIGKILL of the postmaster and of
# every server process.  After restart:
#   - each ruvector table equals, row by row and bit for bit (v::text), the
#     contents the client read just before the crash, and its shadow;
#   - nothing uncommitted is visible, the in-flight TRUNCATE and CREATE
#     TABLE left no trace and ruvector_gc_orphans() finds nothing;
#   - the table is usable: INSERT, UPDATE, VACUUM (slot reuse), and exact
#     ORDER BY v <-> q LIMIT 10 equal to the shadow's.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RvCrash;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
wal_level = replica
max_wal_senders = 0
checkpoint_timeout = '1h'
max_wal_size = '2GB'
autovacuum = off
log_statement = 'none'
log_min_messages = warning
});
$node->start;

# Vectors computed in SQL (full float4 precision) and in Perl (text).
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION vec(id bigint, seed int, d int) RETURNS ruvector
LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(sin(id * 0.37 + j * 1.3 + seed)::real ORDER BY j)::ruvector
  FROM generate_series(1, d) j $$;
-- 768 dims: header layout, vectors straddle pages
CREATE TABLE big (id bigint PRIMARY KEY, body text, v ruvector(768)) USING ruvector;
CREATE TABLE big_s (id bigint PRIMARY KEY, body text, v ruvector(768));
-- two vector columns, dense layout (16 dims) and a tiny one
CREATE TABLE small (id bigint PRIMARY KEY, body text, v ruvector(16), w ruvector(3)) USING ruvector;
CREATE TABLE small_s (id bigint PRIMARY KEY, body text, v ruvector(16), w ruvector(3));
});

sub perl_vec
{
	my ($id, $seed, $d) = @_;
	return '['
	  . join(',', map { sprintf('%.4f', sin($id * 0.53 + $_ * 0.7 + $seed)) } 1 .. $d)
	  . ']';
}

sub copy_rows
{
	my ($from, $to, $seed) = @_;
	my $data = '';
	$data .= "$_\tcopy $_\t" . perl_vec($_, $seed, 768) . "\n" for $from .. $to;
	return $data;
}

# Table contents, as a digest of every column in id order.
sub digest
{
	my ($node, $t) = @_;
	my $cols =
	    $t =~ /^small/ ? 'id, body, v::text, w::text'
	  : $t =~ /^tr/    ? 'id, v::text'
	  :                  'id, body, v::text';
	return $node->safe_psql('postgres',
		"SELECT count(*) || ' ' || coalesce(md5(string_agg(row($cols)::text, ',' ORDER BY id)), '-') FROM $t"
	);
}

sub knn
{
	my ($node, $t, $d, $seed) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(id::text, ',') FROM (SELECT id FROM $t ORDER BY v <-> vec($seed, 5, $d), id LIMIT 10) s"
	);
}

# Committed work that crash recovery must replay (it follows a checkpoint).
sub committed_work
{
	my ($round) = @_;
	my $b = $round * 10000;    # id base of this round
	$node->safe_psql(
		'postgres', qq{
BEGIN;
INSERT INTO big SELECT i, 'row ' || i, vec(i, 0, 768) FROM generate_series($b + 1, $b + 400) i;
INSERT INTO big_s SELECT i, 'row ' || i, vec(i, 0, 768) FROM generate_series($b + 1, $b + 400) i;
INSERT INTO small SELECT i, 'row ' || i, vec(i, 0, 16), vec(i, 1, 3) FROM generate_series($b + 1, $b + 3000) i;
INSERT INTO small_s SELECT i, 'row ' || i, vec(i, 0, 16), vec(i, 1, 3) FROM generate_series($b + 1, $b + 3000) i;
COMMIT;
CHECKPOINT;
});
	# COPY (multi_insert) into both tables in one transaction
	my $copy = copy_rows($b + 401, $b + 700, $round);
	$node->safe_psql('postgres',
		"BEGIN;\nCOPY big FROM STDIN;\n$copy\\.\nCOPY big_s FROM STDIN;\n$copy\\.\nCOMMIT;\n");
	$node->safe_psql(
		'postgres', qq{
BEGIN;
UPDATE big SET v = vec(id, 1, 768) WHERE id % 7 = 0 AND id > $b;
UPDATE big_s SET v = vec(id, 1, 768) WHERE id % 7 = 0 AND id > $b;
UPDATE big SET body = 'hot ' || id WHERE id % 11 = 0 AND id > $b;
UPDATE big_s SET body = 'hot ' || id WHERE id % 11 = 0 AND id > $b;
UPDATE small SET w = vec(id, 2, 3), body = 'upd' WHERE id % 5 = 0 AND id > $b;
UPDATE small_s SET w = vec(id, 2, 3), body = 'upd' WHERE id % 5 = 0 AND id > $b;
DELETE FROM big WHERE id % 13 = 0 AND id > $b;
DELETE FROM big_s WHERE id % 13 = 0 AND id > $b;
DELETE FROM small WHERE id % 4 = 0 AND id > $b;
DELETE FROM small_s WHERE id % 4 = 0 AND id > $b;
COMMIT;
BEGIN;
INSERT INTO big SELECT i, 'rolled back', vec(i, 3, 768) FROM generate_series($b + 5001, $b + 5100) i;
INSERT INTO big_s SELECT i, 'rolled back', vec(i, 3, 768) FROM generate_series($b + 5001, $b + 5100) i;
INSERT INTO small SELECT i, 'rolled back', vec(i, 3, 16), NULL FROM generate_series($b + 5001, $b + 5500) i;
ROLLBACK;
VACUUM big;
VACUUM small;
-- slot reuse after VACUUM freed the deleted, updated and rolled-back vids
BEGIN;
INSERT INTO big SELECT i, 'reuse ' || i, vec(i, 4, 768) FROM generate_series($b + 801, $b + 900) i;
INSERT INTO big_s SELECT i, 'reuse ' || i, vec(i, 4, 768) FROM generate_series($b + 801, $b + 900) i;
INSERT INTO small SELECT i, 'reuse ' || i, vec(i, 4, 16), NULL FROM generate_series($b + 3001, $b + 3600) i;
INSERT INTO small_s SELECT i, 'reuse ' || i, vec(i, 4, 16), NULL FROM generate_series($b + 3001, $b + 3600) i;
UPDATE big SET v = vec(id, 6, 768) WHERE id % 17 = 0;
UPDATE big_s SET v = vec(id, 6, 768) WHERE id % 17 = 0;
COMMIT;
DROP TABLE IF EXISTS tr;
DROP TABLE IF EXISTS tr_s;
CREATE TABLE tr (id bigint PRIMARY KEY, v ruvector(8)) USING ruvector;
CREATE TABLE tr_s (id bigint PRIMARY KEY, v ruvector(8));
INSERT INTO tr SELECT i, vec(i, 7, 8) FROM generate_series(1, 500) i;
INSERT INTO tr_s SELECT i, vec(i, 7, 8) FROM generate_series(1, 500) i;
});
}

sub dead_vectors
{
	my ($t) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(dead_vectors), 0) FROM ruvector_storage_report('$t')");
}

# Starts the in-flight work of a round; returns the background sessions.
sub start_inflight
{
	my ($round) = @_;
	my $b = $round * 10000 + 100000;    # ids never committed
	my @s;

	my $dead0 = dead_vectors('big');

	# COPY, streamed and never finished (no "\." and no COMMIT)
	my $cp = $node->background_psql('postgres');
	$cp->query_safe(
		"BEGIN; INSERT INTO big_s SELECT i, 'x', vec(i, 0, 768) FROM generate_series($b + 1, $b + 2000) i;"
	);
	$cp->{stdin} .= "COPY big FROM STDIN;\n" . copy_rows($b + 1, $b + 2000, 9);
	$cp->{run}->pump_nb;
	push @s, $cp;

	# UPDATE of vector and non-vector columns and DELETE, uncommitted
	my $up = $node->background_psql('postgres');
	$up->query_safe(
		qq{BEGIN;
UPDATE big SET v = vec(id, 8, 768), body = 'uncommitted' WHERE id % 3 = 0;
UPDATE big_s SET v = vec(id, 8, 768), body = 'uncommitted' WHERE id % 3 = 0;
DELETE FROM small WHERE id % 3 = 0;
DELETE FROM small_s WHERE id % 3 = 0;
INSERT INTO small SELECT i, 'x', vec(i, 8, 16), vec(i, 8, 3) FROM generate_series($b + 1, $b + 3000) i;
});
	push @s, $up;

	# TRUNCATE and refill, uncommitted: the old stores must survive
	my $tr = $node->background_psql('postgres');
	$tr->query_safe(
		"BEGIN; TRUNCATE tr; INSERT INTO tr SELECT i, vec(i, 9, 8) FROM generate_series(1, 300) i;");
	push @s, $tr;

	# a table created and filled in flight
	my $ct = $node->background_psql('postgres');
	$ct->query_safe(
		"BEGIN; CREATE TABLE newt (id int, v ruvector(768)) USING ruvector; INSERT INTO newt SELECT i, vec(i, 0, 768) FROM generate_series(1, 200) i;"
	);
	push @s, $ct;

	# VACUUM over and over while the rest is in flight
	my $vac = $node->background_psql('postgres', on_error_stop => 0);
	$vac->{stdin} .= "VACUUM small; VACUUM big;\n" x 5000;
	$vac->{run}->pump_nb;
	push @s, $vac;

	# wait until the streamed COPY has put vectors into the store
	my $ok = 0;
	for (1 .. 600)
	{
		$cp->{run}->pump_nb for 1 .. 50;
		if (dead_vectors('big') >= $dead0 + 500) { $ok = 1; last; }
		usleep(100_000);
	}
	ok($ok, "round $round: in-flight COPY wrote vectors before the crash");
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'VACUUM%' AND state = 'active'"
	);
	return @s;
}


sub check_round
{
	my ($round, $before) = @_;
	for my $t (qw(big small tr))
	{
		is(digest($node, $t), $before->{$t},
			"round $round: $t after recovery has exactly the rows committed before the crash");
		is(digest($node, $t), digest($node, "${t}_s"),
			"round $round: $t after recovery equals its heap shadow");
	}
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM big WHERE id BETWEEN 100000 AND 199999 OR body = 'uncommitted'"),
		'0',
		"round $round: no uncommitted row or row version visible");
	is($node->safe_psql('postgres', "SELECT to_regclass('newt') IS NULL"),
		't', "round $round: table created in flight does not exist");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_gc_orphans()'),
		'0', "round $round: ruvector_gc_orphans() finds nothing after recovery");
	is(knn($node, 'big', 768, 42), knn($node, 'big_s', 768, 42),
		"round $round: exact kNN on big equals the shadow's");

	# usable afterwards: VACUUM frees the crashed transactions' vids, new
	# rows reuse them, updates write new slots
	my $b = $round * 10000 + 200000;
	$node->safe_psql(
		'postgres', qq{
VACUUM big; VACUUM small; VACUUM tr;
BEGIN;
INSERT INTO big SELECT i, 'after', vec(i, 10, 768) FROM generate_series($b + 1, $b + 300) i;
INSERT INTO big_s SELECT i, 'after', vec(i, 10, 768) FROM generate_series($b + 1, $b + 300) i;
INSERT INTO small SELECT i, 'after', vec(i, 10, 16), vec(i, 10, 3) FROM generate_series($b + 1, $b + 3000) i;
INSERT INTO small_s SELECT i, 'after', vec(i, 10, 16), vec(i, 10, 3) FROM generate_series($b + 1, $b + 3000) i;
UPDATE big SET v = vec(id, 11, 768) WHERE id % 9 = 0;
UPDATE big_s SET v = vec(id, 11, 768) WHERE id % 9 = 0;
UPDATE small SET v = vec(id, 11, 16) WHERE id % 9 = 0;
UPDATE small_s SET v = vec(id, 11, 16) WHERE id % 9 = 0;
INSERT INTO tr SELECT i, vec(i, 10, 8) FROM generate_series(501, 600) i;
INSERT INTO tr_s SELECT i, vec(i, 10, 8) FROM generate_series(501, 600) i;
COMMIT;
VACUUM big; VACUUM small;
});
	for my $t (qw(big small tr))
	{
		is(digest($node, $t), digest($node, "${t}_s"),
			"round $round: $t equals its shadow after INSERT, UPDATE, VACUUM");
	}
	is(knn($node, 'big', 768, 7), knn($node, 'big_s', 768, 7),
		"round $round: exact kNN on big after new writes equals the shadow's");
	is(knn($node, 'small', 16, 3), knn($node, 'small_s', 16, 3),
		"round $round: exact kNN on small equals the shadow's");
}

for my $round (1, 2)
{
	committed_work($round);
	my %before = map { $_ => digest($node, $_) } qw(big small tr);
	my @sessions = start_inflight($round);

	if ($round == 1)
	{
		$node->stop('immediate');
	}
	else
	{
		kill9_everything($node);
	}
	$_->{run}->kill_kill for @sessions;
	$node->start;
	check_round($round, \%before);
}

# Unlogged ruvector table: crash recovery resets it (and its stores) to
# empty, and it is usable afterwards.
$node->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE u (id int PRIMARY KEY, v ruvector(768)) USING ruvector;
INSERT INTO u SELECT i, vec(i, 0, 768) FROM generate_series(1, 200) i;
CHECKPOINT;
INSERT INTO u SELECT i, vec(i, 0, 768) FROM generate_series(201, 300) i;
});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM u'),
	'0', 'unlogged table is empty after crash recovery');
$node->safe_psql(
	'postgres', q{
INSERT INTO u SELECT i, vec(i, 1, 768) FROM generate_series(1, 150) i;
DELETE FROM u WHERE id % 2 = 0;
VACUUM u;
INSERT INTO u SELECT i, vec(i, 2, 768) FROM generate_series(1001, 1050) i;
});
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FILTER (WHERE v::text = vec(id, CASE WHEN id > 1000 THEN 2 ELSE 1 END, 768)::text) || '/' || count(*) FROM u"
	),
	'125/125',
	'unlogged table usable after crash recovery (INSERT, DELETE, VACUUM, reuse)');

# wal_level = minimal: a table created, COPYed into and committed in one
# transaction skips heap WAL (fsync at commit) while its stores log
# GenericXLog records; a crash must keep both.
$node->append_conf('postgresql.conf', "wal_level = minimal\nwal_skip_threshold = '64kB'\n");
$node->restart;
my $mcopy = copy_rows(1, 400, 3);
$node->safe_psql('postgres',
	"BEGIN;\nCREATE TABLE m (id bigint PRIMARY KEY, body text, v ruvector(768)) USING ruvector;\n"
	  . "CREATE TABLE m_s (id bigint PRIMARY KEY, body text, v ruvector(768));\n"
	  . "COPY m FROM STDIN;\n$mcopy\\.\nCOPY m_s FROM STDIN;\n$mcopy\\.\nCOMMIT;\n");
$node->safe_psql(
	'postgres', q{
BEGIN;
CREATE TABLE m2 (id bigint PRIMARY KEY, body text, v ruvector(768)) USING ruvector;
INSERT INTO m2 SELECT i, 'm2', vec(i, 0, 768) FROM generate_series(1, 5) i;
COMMIT;
BEGIN;
TRUNCATE m;
TRUNCATE m_s;
INSERT INTO m SELECT i, 'again', vec(i, 1, 768) FROM generate_series(1, 300) i;
INSERT INTO m_s SELECT i, 'again', vec(i, 1, 768) FROM generate_series(1, 300) i;
COMMIT;
UPDATE m SET v = vec(id, 2, 768) WHERE id % 3 = 0;
UPDATE m_s SET v = vec(id, 2, 768) WHERE id % 3 = 0;
});
my $m_before = digest($node, 'm');
my $m2_before = digest($node, 'm2');
$node->stop('immediate');
$node->start;
is(digest($node, 'm'), $m_before, 'wal_level=minimal: m after recovery has the committed rows');
is(digest($node, 'm'), digest($node, 'm_s'), 'wal_level=minimal: m equals its shadow');
is(digest($node, 'm2'), $m2_before, 'wal_level=minimal: small table created in one transaction survives');
is(digest($node, 'big'), digest($node, 'big_s'), 'wal_level=minimal: big still equals its shadow');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_gc_orphans()'),
	'0', 'wal_level=minimal: ruvector_gc_orphans() finds nothing');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|server process .* was terminated by signal (?!9)/,
	'no PANIC or assertion failure in the server log');
$node->stop;
done_testing();
