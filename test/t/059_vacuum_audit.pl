# VACUUM's tier moves in the audit log.
#
# Lazy VACUUM has no transaction id, so it notes what its moves did as
# pending events in a ring in the store's metapage; a drain (every audit
# path: ruvector_audit_verify, ruvector_verify, ruvector_compact,
# ruvector_storage_report) appends them to ruvector_audit.  Checked here,
# each against the counts VACUUM VERBOSE printed for the same pass and the
# ring read from the metapage with pageinspect:
# 1. VACUUM logs nothing itself; its events wait in the ring (as many as
#    its VERBOSE line says) and survive an immediate shutdown (crash);
#    after restart a drain logs them once, with the right counts, and the
#    chain verifies.
# 2. A drain rolled back leaves them pending; the next drain logs them
#    exactly once; further drains add nothing.
# 3. A read-only transaction and a standby do not drain and do not fail.
# 4. VACUUM FULL keeps the pending events (the ring and its id go with the
#    rewritten store): drained once afterwards.
# 5. A forged pending slot is logged as vacuum_forged, not as its event,
#    and ruvector_audit_verify reports it; a forged audit row of a VACUUM
#    event is reported as any other.
# 6. A ring too small for the events of a pass (a store whose centroid
#    leaves room for one slot): the overwritten events are counted in a
#    vacuum_lost event.
# 7. ruvector_storage_report does not wait for the audit lock (the events
#    wait), and drains only for the table's owner; the drain table is
#    closed to ordinary roles.
# 8. TRUNCATE and DROP TABLE drain before the stores go.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('vacaudit');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE EXTENSION pageinspect;
CREATE FUNCTION vec(id int, d int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((abs(hashint4(id * 7 + j)) % 255)::real ORDER BY j)::ruvector
  FROM generate_series(1, d) j $$;
CREATE TABLE t (id int PRIMARY KEY, v ruvector(16)) USING ruvector;
INSERT INTO t SELECT g, vec(g, 16) FROM generate_series(1, 4500) g;
SELECT ruvector_set_tiers('t', warm_after => '0 s');
});

# the ring of store relation $rel's metapage on node $n: (ring id as
# int8, last seq, capacity, offset of the slots in the payload)
sub ring
{
	my ($n, $rel) = @_;
	my $hex = $n->safe_psql('postgres', "SELECT encode(get_raw_page('$rel', 0), 'hex')");
	my $p = pack('H*', $hex);
	my ($id, $last) = unpack('q< Q<', substr($p, 64 + 112, 16));
	my $dims = unpack('l<', substr($p, 64 + 8, 4));
	my $bits = unpack('L<', substr($p, 64 + 72, 4));
	my $off = 128;
	$off = 128 + 4 * $dims if $bits == 2 && 128 + 4 * $dims > $off;
	$off = ($off + 7) & ~7;
	my $cap = $off >= 8064 ? 0 : int((8064 - $off) / 88);
	return ($id, $last, $cap, $off);
}

# VACUUM (VERBOSE) $tbl: the events its store-1 line announces, as
# [event, detail regexp] pairs
sub vacuum_events
{
	my ($tbl, $cmd) = @_;
	$cmd //= "VACUUM (VERBOSE) $tbl";
	my ($ret, $out, $err) = $node->psql('postgres', $cmd);
	is($ret, 0, "$cmd runs");
	my @ev;
	if ($err =~ /ruvector store 1 of "$tbl": sealed (\d+) segments \((\d+) vectors, (\d+) to (\d+) bytes\), migrated (\d+) segments \((\d+) vectors, (\d+) to (\d+) bytes\), compacted (\d+) segments \((\d+) vectors, (\d+) to (\d+) bytes\);.*truncated (\d+) hot and (\d+) tier pages/)
	{
		my @k = ([ 'seal', $1, $2, $3, $4 ], [ 'migrate', $5, $6, $7, $8 ], [ 'compact', $9, $10, $11, $12 ]);
		my ($hot, $tier) = ($13, $14);
		for my $k (@k)
		{
			my ($name, $segs, $vecs, $b0, $b1) = @$k;
			push @ev, [$name,
				qr/^VACUUM at [^,]+, store 1: $segs segments, $vecs vectors to their tiers, $b0 bytes before, $b1 after \(pending event \d+ of store relation \d+\)$/]
			  if $segs > 0;
		}
		push @ev, ['truncate',
			qr/^VACUUM at [^,]+, store 1: $hot hot and $tier tier blocks freed \(pending event \d+ of store relation \d+\)$/]
		  if $hot + $tier > 0;
	}
	else
	{
		fail("$cmd printed its store line");
		diag($err);
	}
	return @ev;
}

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# the hot store relation of table $tbl, from the store catalog (no drain)
sub hot_store
{
	my ($tbl) = @_;
	return q1(qq{SELECT s.store::regclass::text FROM ruvector_store s JOIN pg_class c
		ON c.relfilenode = s.relnode WHERE c.oid = '$tbl'::regclass AND s.tier = 0});
}

my $store = hot_store('t');
my $storeoid = q1("SELECT '$store'::regclass::oid");
my ($id0, $last0) = ring($node, $store);
is($last0, 0, 'a fresh store has no pending event');

# 1. VACUUM's events wait in the ring, survive a crash, are drained once
my @ev = vacuum_events('t');
ok(@ev >= 1 && $ev[0][0] eq 'seal', 'VACUUM sealed segments into warm: a seal event is due');
is(q1('SELECT count(*) FROM ruvector_audit'), '0', 'VACUUM itself logs nothing');
my ($id1, $last1, $cap) = ring($node, $store);
ok($id1 != 0, 'the ring has its id');
is($last1, scalar(@ev), 'the ring holds one pending event per event VACUUM VERBOSE announced');
ok($cap >= 2, "a 16-dims store's ring has room ($cap slots)");
$node->stop('immediate');
$node->start;
is((ring($node, $store))[1], $last1, 'the pending events survive a crash');
is(q1('SELECT count(*) FROM ruvector_audit'), '0', 'nothing logged before a drain');
is(q1('SELECT count(*) FROM ruvector_audit_verify()'), '0', 'the drain of ruvector_audit_verify keeps the chain intact');
my @rows = split /\n/, q1(q{SELECT event || '|' || relname || '|' || (relation = 't'::regclass) || '|' || detail
	FROM ruvector_audit ORDER BY seq});
is(scalar(@rows), scalar(@ev), 'the drain logged each pending event');
for my $i (0 .. $#ev)
{
	my ($e, $r, $isrel, $d) = split /\|/, $rows[$i] // '|||';
	is("$e $r $isrel", "$ev[$i][0] t true", "event " . ($i + 1) . ": $ev[$i][0] on t");
	like($d, $ev[$i][1], "event " . ($i + 1) . ": the counts of VACUUM VERBOSE");
	like($d, qr/pending event @{[$i + 1]} of store relation $storeoid\)$/, "event " . ($i + 1) . ": its pending number");
}
note("drained: $_") for @rows;
is(q1("SELECT drained FROM ruvector_audit_drained WHERE store = $storeoid"), $last1,
	'the drained position is the newest pending event');
q1('SELECT count(*) FROM ruvector_audit_verify()') for 1 .. 2;
q1(q{SELECT count(*) FROM ruvector_storage_report('t')});
is(q1('SELECT count(*) FROM ruvector_audit'), scalar(@ev), 'further drains log nothing again');

# 2. a rolled-back drain leaves the events pending; logged exactly once afterwards
my $n0 = q1('SELECT count(*) FROM ruvector_audit');
q1(q{INSERT INTO t SELECT g, vec(g, 16) FROM generate_series(4501, 8500) g});
@ev = vacuum_events('t');
ok(@ev >= 1, 'a second VACUUM moved segments');
is(q1(q{BEGIN; SELECT count(*) FROM ruvector_audit_verify(); SELECT count(*) FROM ruvector_audit; ROLLBACK;}),
	"0\n" . ($n0 + @ev), 'inside the transaction the drain logged the events and the chain verifies');
is(q1('SELECT count(*) FROM ruvector_audit'), $n0, 'rolled back: nothing logged');
is(q1("SELECT drained FROM ruvector_audit_drained WHERE store = $storeoid"), $last1,
	'rolled back: the drained position is unchanged');
q1(q{SELECT count(*) FROM ruvector_storage_report('t')});
is(q1('SELECT count(*) FROM ruvector_audit'), $n0 + @ev, 'the next drain (ruvector_storage_report) logs them');
q1(q{SELECT count(*) FROM ruvector_compact('t')});
q1(q{SELECT count(*) FROM ruvector_verify('t')});
q1('SELECT count(*) FROM ruvector_audit_verify()');
is(q1(q{SELECT count(*) FROM (SELECT substring(detail from 'pending event \d+ of store relation \d+') k
	FROM ruvector_audit WHERE detail LIKE 'VACUUM at %' GROUP BY 1 HAVING count(*) > 1) x}), '0',
	'no pending event is logged twice');
is(q1(q{SELECT count(*) FROM ruvector_audit WHERE detail LIKE 'VACUUM at %'}), $n0 + @ev,
	'repeated drains (compact, verify, audit_verify) add no VACUUM event');
is(q1('SELECT max(seq) = count(*) FROM ruvector_audit'), 't', 'the sequence is gapless');
is(q1('SELECT count(*) FROM ruvector_audit_verify()'), '0', 'the chain is intact');

# 3. read-only transactions and a standby neither drain nor fail
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('vacaudit_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$n0 = q1('SELECT count(*) FROM ruvector_audit');
q1(q{INSERT INTO t SELECT g, vec(g, 16) FROM generate_series(8501, 10500) g});
@ev = vacuum_events('t');
ok(@ev >= 1, 'a third VACUUM moved segments');
my $last3 = (ring($node, $store))[1];
my ($ret, $out, $err) = $node->psql('postgres', q{BEGIN READ ONLY;
	SELECT count(*) FROM ruvector_audit_verify();
	SELECT count(*) > 0 FROM ruvector_storage_report('t');
	SELECT count(*) FROM ruvector_verify('t');
	COMMIT;});
is($ret, 0, 'a read-only transaction runs every drain point without error');
is($out, "0\nt\n0", 'and gets their answers');
unlike($err, qr/WARNING|ERROR/, 'without a warning');
is(q1('SELECT count(*) FROM ruvector_audit'), $n0, 'a read-only transaction does not drain');
$node->wait_for_catchup($standby);
is((ring($standby, $store))[1], $last3, 'the standby has the pending events (replayed)');
($ret, $out, $err) = $standby->psql('postgres', q{
	SELECT count(*) FROM ruvector_audit_verify();
	SELECT count(*) > 0 FROM ruvector_storage_report('t');});
is($ret, 0, 'the standby runs the drain points without error');
is($out, "0\nt", 'and gets their answers');
unlike($err, qr/WARNING|ERROR/, 'without a warning');
is(q1('SELECT count(*) FROM ruvector_audit'), $n0, 'nothing was drained by the standby');
$standby->stop;
q1('SELECT count(*) FROM ruvector_audit_verify()');
is(q1('SELECT count(*) FROM ruvector_audit'), $n0 + @ev, 'the primary drains them');

# 4. VACUUM FULL keeps pending events: drained once, from the rewritten store
$n0 = q1('SELECT count(*) FROM ruvector_audit');
q1(q{INSERT INTO t SELECT g, vec(g, 16) FROM generate_series(10501, 12500) g});
@ev = vacuum_events('t');
ok(@ev >= 1, 'a fourth VACUUM moved segments');
my ($idb, $lastb) = ring($node, $store);
is(q1('SELECT count(*) FROM ruvector_audit'), $n0, 'pending before VACUUM FULL');
# VACUUM FULL rewrites the store (all hot again) and seals again: its own
# events (not printed by VACUUM FULL) follow in the kept ring; dropping the
# old storage drains what was pending there
q1('VACUUM FULL t');
$store = hot_store('t');
my ($idn, $lastn) = ring($node, $store);
my $nf = $lastn - $lastb;
is($idn, $idb, 'the rewritten store kept the ring id');
ok($nf >= 0, "and its pending events, followed by VACUUM FULL's own ($nf)");
my $nfull = q1('SELECT count(*) FROM ruvector_audit');
ok($nfull >= $n0 + @ev && $nfull <= $n0 + @ev + $nf,
	'VACUUM FULL logs the events pending in the old store before it goes (' . ($nfull - $n0) . ' logged)');
q1(q{SELECT count(*) FROM ruvector_storage_report('t')});
is(q1('SELECT count(*) FROM ruvector_audit'), $n0 + @ev + $nf,
	'the events pending at VACUUM FULL and its own are logged (by ruvector_storage_report)');
is(q1("SELECT drained FROM ruvector_audit_drained WHERE ring = $idb"), $lastn,
	'drained under the ring id the rewritten store kept');
q1('SELECT count(*) FROM ruvector_audit_verify()');
is(q1('SELECT count(*) FROM ruvector_audit'), $n0 + @ev + $nf, 'and nothing more after another drain');
is(q1(q{SELECT count(*) FROM (SELECT substring(detail from 'pending event \d+ of store relation \d+') k
	FROM ruvector_audit WHERE detail LIKE 'VACUUM at %' GROUP BY 1 HAVING count(*) > 1) x}), '0',
	'no pending event is logged twice');

# 5. a forged pending slot, a forged audit row
$storeoid = q1("SELECT '$store'::regclass::oid");
$n0 = q1('SELECT count(*) FROM ruvector_audit');
q1(q{DELETE FROM t WHERE id % 10 <> 0});
@ev = vacuum_events('t');
ok(@ev >= 1, 'VACUUM after a delete compacted');
my ($idf, $lastf, $capf, $offf) = ring($node, $store);
my $file = $node->data_dir . '/' . q1("SELECT pg_relation_filepath('$store')");
q1('CHECKPOINT');
$node->stop;
{
	# the vectors count of the first pending event of this pass: +1
	my $seq = $lastf - @ev + 1;
	my $pos = 64 + $offf + (($seq - 1) % $capf) * 88 + 32;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, $pos, 0) or die;
	read($fh, my $b, 8);
	my $v = unpack('Q<', $b);
	seek($fh, $pos, 0) or die;
	print $fh pack('Q<', $v + 1);
	close($fh);
}
$node->start;
my $probs = q1(q{SELECT string_agg(seq || ': ' || problem, E'\n' ORDER BY seq) FROM ruvector_audit_verify()});
like($probs, qr/^\d+: a drain found a forged pending VACUUM event: store relation $storeoid: pending VACUUM event \d+ not logged: its MAC does not verify with the cluster's audit key$/,
	'ruvector_audit_verify reports the forged pending event');
is(q1(q{SELECT string_agg(event, ',' ORDER BY seq) FROM ruvector_audit WHERE seq > } . $n0),
	join(',', 'vacuum_forged', map { $_->[0] } @ev[1 .. $#ev]),
	'the forged event is logged as vacuum_forged, the others as themselves');
my $fseq = q1(q{SELECT max(seq) FROM ruvector_audit WHERE detail LIKE 'VACUUM at %'});
my $orig = q1("SELECT detail FROM ruvector_audit WHERE seq = $fseq");
q1("UPDATE ruvector_audit SET detail = replace(detail, 'store 1', 'store 2') WHERE seq = $fseq");
like(q1('SELECT string_agg(seq || \': \' || problem, E\'\\n\' ORDER BY seq) FROM ruvector_audit_verify()'),
	qr/^$fseq: hash does not match the row's contents$/m, 'a forged VACUUM audit row is reported');
q1("UPDATE ruvector_audit SET detail = \$\$$orig\$\$ WHERE seq = $fseq");

# 6. a ring of one slot: a pass of two events loses one, counted in vacuum_lost
q1(q{CREATE TABLE u (id int PRIMARY KEY, v ruvector(1950)) USING ruvector;
	INSERT INTO u SELECT g, vec(g, 1950) FROM generate_series(1, 2100) g;
	SELECT ruvector_set_tiers('u', warm_after => '0 s');});
my $ustore = hot_store('u');
$n0 = q1('SELECT max(seq) FROM ruvector_audit');
@ev = vacuum_events('u');
my ($uid, $ulast, $ucap) = ring($node, $ustore);
is($ucap, 1, 'a 1950-dims store has a ring of one slot');
is($ulast, scalar(@ev), 'the ring counted every event of the pass');
q1('SELECT count(*) FROM ruvector_audit_verify()');
my @u = split /\n/, q1("SELECT event || '|' || detail FROM ruvector_audit WHERE seq > $n0 ORDER BY seq");
if (@ev > 1)
{
	is(scalar(@u), 2, 'two rows: the lost count and the event kept');
	like($u[0], qr/^vacuum_lost\|store relation \d+: @{[@ev - 1]} VACUUM events \(1 to @{[@ev - 1]}\) were overwritten in its ring before they were drained$/,
		'vacuum_lost counts the overwritten events');
	my ($e, $d) = split /\|/, $u[1];
	is($e, $ev[-1][0], 'the newest event is logged');
	like($d, $ev[-1][1], 'with its counts');
}
else
{
	is(scalar(@u), 1, 'one event, none lost');
}
is(q1('SELECT count(*) FROM ruvector_audit_verify()'), '1', 'only the forged pending event is a problem');

# ruvector_storage_report does not wait for the audit lock: the events wait
{
	$n0 = q1('SELECT count(*) FROM ruvector_audit');
	q1(q{INSERT INTO t SELECT g, vec(g, 16) FROM generate_series(20001, 22000) g});
	@ev = vacuum_events('t');
	ok(@ev >= 1, 'VACUUM moved segments again');
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN; LOCK ruvector_audit IN EXCLUSIVE MODE');
	my $t0 = time();
	my ($r1, $o1, $e1) = $node->psql('postgres',
		q{SET lock_timeout = '20s'; SELECT count(*) > 0 FROM ruvector_storage_report('t')});
	my $waited = time() - $t0;
	is("$r1 $o1", '0 t', 'ruvector_storage_report answers while another transaction holds the audit lock');
	ok($waited < 10, "at once, not waiting for the lock (${waited} s)");
	unlike($e1, qr/WARNING|ERROR/, 'quietly');
	$holder->query_safe('COMMIT');
	$holder->quit;
	is(q1('SELECT count(*) FROM ruvector_audit'), $n0, 'the events still wait');
	q1(q{SELECT count(*) FROM ruvector_storage_report('t')});
	is(q1('SELECT count(*) FROM ruvector_audit'), $n0 + @ev, 'and are logged by the next drain');
}

# a role with SELECT on the table only does not drain (nor take the audit lock)
q1('CREATE ROLE rv_059_plain');
{
	$n0 = q1('SELECT count(*) FROM ruvector_audit');
	q1(q{INSERT INTO t SELECT g, vec(g, 16) FROM generate_series(22001, 24000) g});
	@ev = vacuum_events('t');
	ok(@ev >= 1, 'VACUUM moved segments once more');
	q1('GRANT SELECT ON t TO rv_059_plain');
	my ($r3, $o3, $e3) = $node->psql('postgres',
		q{SET ROLE rv_059_plain; SELECT count(*) > 0 FROM ruvector_storage_report('t')});
	is("$r3 $o3", '0 t', 'a role with SELECT gets the report');
	is(q1('SELECT count(*) FROM ruvector_audit'), $n0, 'but does not drain');
	q1(q{SELECT count(*) FROM ruvector_storage_report('t')});
	is(q1('SELECT count(*) FROM ruvector_audit'), $n0 + @ev, 'the owner\'s report does');
}

# the drain table is the extension's: closed to ordinary roles
my ($r2, $o2, $e2) = $node->psql('postgres',
	'SET ROLE rv_059_plain; SELECT count(*) FROM ruvector_audit_drained');
like($e2, qr/permission denied for table ruvector_audit_drained/,
	'ruvector_audit_drained is not readable by an ordinary role');
is(q1(q{SELECT has_table_privilege('public', 'ruvector_audit_drained', 'SELECT, INSERT, UPDATE, DELETE')}),
	'f', 'PUBLIC has no privilege on it');

# 8. TRUNCATE and DROP TABLE log the pending events of the stores they
#    remove (a DROP rolled back leaves them pending)
for my $how ('TRUNCATE', 'DROP')
{
	my $tbl = lc("gone_$how");
	my $problems = q1('SELECT count(*) FROM ruvector_audit_verify()');	# (drains what else waits)
	q1(qq{CREATE TABLE $tbl (id int PRIMARY KEY, v ruvector(16)) USING ruvector;
		INSERT INTO $tbl SELECT g, vec(g, 16) FROM generate_series(1, 4500) g;
		SELECT ruvector_set_tiers('$tbl', warm_after => '0 s');});
	my $relid = q1("SELECT '$tbl'::regclass::oid");
	my @gone = vacuum_events($tbl);
	ok(@gone >= 1, "$how: VACUUM of $tbl left pending events");
	my $before = q1("SELECT count(*) FROM ruvector_audit WHERE relation = $relid");
	if ($how eq 'DROP')
	{
		q1("BEGIN; DROP TABLE $tbl; ROLLBACK;");
		is(q1("SELECT count(*) FROM ruvector_audit WHERE relation = $relid"), $before,
			'a DROP rolled back logs nothing');
		q1("DROP TABLE $tbl");
	}
	else
	{
		q1("TRUNCATE $tbl");
	}
	is(q1("SELECT count(*) FROM ruvector_audit WHERE relation = $relid AND detail LIKE 'VACUUM at %'"),
		$before + @gone, "$how logged the pending events of the stores it removed");
	is(q1('SELECT count(*) FROM ruvector_audit_verify()'), $problems,
		"$how: the chain verifies (no problem but the forged ones of part 5)");
}

$node->stop;
done_testing();
