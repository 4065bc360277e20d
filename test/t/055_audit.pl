# The audit log: ruvector_verify appends a signed, hash-chained
# verify_failure event when it finds damage, and ruvector_audit_verify()
# reports every forged, deleted or re-signed row.
#
# 1. A fresh cluster: the log is empty, the chain intact, no key file yet;
#    the first use creates it (mode 0600) and ruvector_audit_public_key()
#    returns its 32-byte public half, the same after a restart.
# 2. A healthy table's verify logs nothing.  With a store page's magic
#    overwritten on disk, each verify logs one verify_failure row naming
#    the table and its first problem; the chain of three such rows is
#    intact, also after a restart (the key is read back from the file).
# 3. A read-only transaction's verify logs nothing (WARNING).
# 4. Forgeries, each undone afterwards: a changed detail (hash mismatch),
#    a replaced hash (its row's hash and the next row's chain), a replaced
#    signature, a deleted row (the next row's seq).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('audit');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ruvector_tam');
my $pgdata = $node->data_dir;
my $keyfile = "$pgdata/ruvector_audit_ed25519.key";

is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit'), '0', 'the log starts empty');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit_verify()'), '0',
	'an empty log verifies');
my $pk = $node->safe_psql('postgres', "SELECT encode(ruvector_audit_public_key(), 'hex')");
like($pk, qr/^[0-9a-f]{64}$/, 'the public key is 32 bytes');
ok(-f $keyfile, 'the key file exists after first use');
is(sprintf('%04o', (stat $keyfile)[2] & 07777), '0600', 'the key file is mode 0600');
is(-s $keyfile, 64, 'the key file holds a 64-byte Ed25519 secret key');

$node->safe_psql('postgres', q{
	CREATE TABLE t (id int PRIMARY KEY, v ruvector(16)) USING ruvector;
	INSERT INTO t SELECT g, (SELECT array_agg((g * k % 17)::real) FROM generate_series(1, 16) k)::ruvector
		FROM generate_series(1, 200) g;
	VACUUM t;});
is($node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t')"), '0', 'healthy table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit'), '0',
	'a verify that finds nothing logs nothing');

# damage: the magic of the store file's last page (every store page ends
# with its special space, the magic in its last 64 bytes)
my $file = $pgdata . '/' . $node->safe_psql('postgres',
	"SELECT pg_relation_filepath(relation) FROM ruvector_storage_report('t')");
$node->stop;
my $B = 8192;
my $size = -s $file;
ok($size >= 2 * $B, "store file has $size bytes");
open(my $fh, '+<:raw', $file) or die "open $file: $!";
seek($fh, $size - 64, 0) or die;
print $fh 'XXXX';
close($fh);
$node->start;

my $problems = $node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t')");
ok($problems > 0, "verify reports the damage ($problems problems)");
is($node->safe_psql('postgres', q{
	SELECT seq || ' ' || event || ' ' || relname || ' ' || (relation = 't'::regclass)
	FROM ruvector_audit}), '1 verify_failure t true', 'one verify_failure event names the table');
like($node->safe_psql('postgres', 'SELECT detail FROM ruvector_audit WHERE seq = 1'),
	qr/^$problems problems?; first: \w+: .+/, 'its detail gives the count and the first problem');
note('detail of the event: ' . $node->safe_psql('postgres', 'SELECT detail FROM ruvector_audit WHERE seq = 1'));
$node->safe_psql('postgres', "SELECT count(*) FROM ruvector_verify('t')") for 1 .. 2;
is($node->safe_psql('postgres', "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM ruvector_audit"),
	'1,2,3', 'each verify that finds damage appends one row');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM ruvector_audit a JOIN ruvector_audit b ON b.seq = a.seq + 1
	WHERE b.prev_hash = a.hash}), '2', 'each row links the hash of the one before');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit_verify()'), '0',
	'the chain of three rows verifies');

$node->restart;
is($node->safe_psql('postgres', "SELECT encode(ruvector_audit_public_key(), 'hex')"), $pk,
	'the public key survives a restart');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit_verify()'), '0',
	'the chain verifies after a restart');

# read-only: nothing logged, a warning instead
my ($ret, $out, $err) = $node->psql('postgres',
	"BEGIN READ ONLY; SELECT count(*) FROM ruvector_verify('t'); COMMIT;");
is($ret, 0, 'verify runs in a read-only transaction');
like($err, qr/audit event "verify_failure" on "t" not logged: the transaction is read-only/,
	'and warns that the event is not logged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_audit'), '3', 'nothing appended');

# forgeries
sub audit_problems
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(seq || ': ' || problem, E'\\n' ORDER BY seq) FROM ruvector_audit_verify()");
}
my $orig = $node->safe_psql('postgres', q{
	SELECT detail || '|' || encode(hash, 'hex') || '|' || encode(signature, 'hex')
	FROM ruvector_audit WHERE seq = 2});
my ($detail, $hash, $sig) = split /\|/, $orig;

$node->safe_psql('postgres', "UPDATE ruvector_audit SET detail = 'nothing happened' WHERE seq = 2");
is(audit_problems(), "2: hash does not match the row's contents", 'a changed detail is found');
$node->safe_psql('postgres', "UPDATE ruvector_audit SET detail = \$\$$detail\$\$ WHERE seq = 2");
is(audit_problems(), '', 'restoring it heals the chain');

$node->safe_psql('postgres',
	"UPDATE ruvector_audit SET hash = sha256(hash) WHERE seq = 2");
is(audit_problems(),
	"2: hash does not match the row's contents\n"
	. "3: prev_hash is not the previous row's hash: the chain is broken",
	'a replaced hash is found in its row and breaks the chain to the next');
$node->safe_psql('postgres', "UPDATE ruvector_audit SET hash = decode('$hash', 'hex') WHERE seq = 2");

$node->safe_psql('postgres',
	"UPDATE ruvector_audit SET signature = decode(repeat('ab', 64), 'hex') WHERE seq = 2");
is(audit_problems(), "2: signature does not verify with the cluster's audit key",
	'a forged signature is found');
$node->safe_psql('postgres', "UPDATE ruvector_audit SET signature = decode('$sig', 'hex') WHERE seq = 2");
is(audit_problems(), '', 'restored');

$node->safe_psql('postgres', 'DELETE FROM ruvector_audit WHERE seq = 2');
is(audit_problems(), '3: seq 3 where 2 was expected: rows are missing or reordered',
	'a deleted row is found at the next one');

$node->stop;
done_testing();
