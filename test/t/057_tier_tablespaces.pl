# Tablespaces per tier: ruvector_set_tiers(..., cold_tablespace => ...)
# creates the cold relation there and VACUUM seals into it; changing the
# policy moves an existing tier relation; ALTER TABLE SET TABLESPACE moves
# the hot store with the table but keeps a tier relation in its policy's
# tablespace; VACUUM FULL puts the new warm relation in the warm tier's
# tablespace; a rolled-back policy change leaves everything where it was.
# Throughout, the table equals its heap twin, the exact scan and a ruhnsw
# search answer as on the twin, verify is clean, and the files really are
# in the tablespace's directory (pg_relation_filepath).  Permission: CREATE
# on the tablespace is needed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('tier_ts');
$node->init;
$node->start;

my %dir;
for my $ts (qw(ts_cold ts_warm ts_table))
{
	$dir{$ts} = $node->basedir . "/$ts";
	mkdir $dir{$ts} or die "mkdir $dir{$ts}: $!";
	$node->safe_psql('postgres', "CREATE TABLESPACE $ts LOCATION '$dir{$ts}'");
}
$node->safe_psql('postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE FUNCTION mk(d int, seed int) RETURNS ruvector LANGUAGE sql IMMUTABLE AS
$$ SELECT array_agg(((hashint4(seed * 7919 + i) % 1000) / 100.0)::real ORDER BY i)::ruvector
	FROM generate_series(1, d) i $$;
CREATE TABLE r (id int PRIMARY KEY, v ruvector(24)) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(24));
INSERT INTO h SELECT g, mk(24, g) FROM generate_series(1, 5000) g;
INSERT INTO r SELECT * FROM h ORDER BY id;
CREATE INDEX r_v ON r USING ruhnsw (v);
});

my $rows = q{SELECT md5(string_agg(id || ' ' || v::text, E'\n' ORDER BY id)) FROM };
my $want = $node->safe_psql('postgres', $rows . 'h');
my $exact = q{SET enable_indexscan = off; SELECT string_agg(id || ':' || round((v <-> mk(24, 99999))::numeric, 4), ',')
	FROM (SELECT id, v FROM %s ORDER BY v <-> mk(24, 99999), id LIMIT 10) s};
my $want_exact = $node->safe_psql('postgres', sprintf($exact, 'h'));
my $ann = q{SET ruvector.enable_exact_scan = off; SET enable_seqscan = off; SET ruvector.ef_search = 200;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM r ORDER BY v <-> mk(24, 99999) LIMIT 10) s};
my $want_ids = $node->safe_psql('postgres',
	q{SELECT string_agg(id::text, ',') FROM (SELECT id FROM h ORDER BY v <-> mk(24, 99999), id LIMIT 10) s});
# tier => tablespace name of each of r's store relations
my $where = q{SELECT string_agg((ARRAY['hot', 'warm', 'cool', 'cold'])[s.tier + 1] || '=' || coalesce(t.spcname, 'default'),
		',' ORDER BY (ARRAY['hot', 'warm', 'cool', 'cold'])[s.tier + 1])
	FROM ruvector_store s JOIN pg_class c ON c.oid = s.store LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
	WHERE s.relnode = pg_relation_filenode('r')};
# every relation of r's stores whose file is where its tablespace says
my $files_ok = sub {
	my ($name) = @_;
	my $paths = $node->safe_psql('postgres', q{
		SELECT string_agg(coalesce(t.spcname, 'default') || ' ' || pg_relation_filepath(c.oid), E'\n')
		FROM ruvector_store s JOIN pg_class c ON c.oid = s.store LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
		WHERE s.relnode = pg_relation_filenode('r')});
	my $bad = 0;
	for my $line (split /\n/, $paths)
	{
		my ($spc, $path) = split / /, $line;
		my $oid = $spc eq 'default' ? undef : $node->safe_psql('postgres', "SELECT oid FROM pg_tablespace WHERE spcname = '$spc'");
		$bad++ if defined $oid && $path !~ m{^pg_tblspc/$oid/};
		$bad++ if !defined $oid && $path !~ m{^base/};
		$bad++ unless -f $node->data_dir . "/$path";
	}
	is($bad, 0, "$name: every store file is in its tablespace's directory");
};
my $check = sub {
	my ($name) = @_;
	is($node->safe_psql('postgres', $rows . 'r'), $want, "$name: contents equal the heap twin");
	is($node->safe_psql('postgres', sprintf($exact, 'r')), $want_exact, "$name: the exact scan answers as on the twin");
	my %exact = map { $_ => 1 } split /,/, $want_ids;
	my $hits = grep { $exact{$_} } split /,/, $node->safe_psql('postgres', $ann);
	cmp_ok($hits, '>=', 8, "$name: ruhnsw finds $hits of the exact 10 nearest");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_verify(\'r\')'), '0', "$name: verify clean");
};

# permission: CREATE on the tablespace
$node->safe_psql('postgres', q{CREATE ROLE tier_owner; GRANT CREATE ON SCHEMA public TO tier_owner;
	GRANT EXECUTE ON FUNCTION ruvector_set_tiers(regclass, interval, interval, interval, bool, name, name, name,
	float8, interval) TO tier_owner;
	SET ROLE tier_owner; CREATE TABLE owned (id int, v ruvector(4)) USING ruvector; RESET ROLE;});
my ($rc, $out, $err) = $node->psql('postgres',
	q{SET ROLE tier_owner; SELECT ruvector_set_tiers('owned', cold_tablespace => 'ts_cold')});
like($err, qr/permission denied for tablespace ts_cold/, 'set_tiers needs CREATE on the tablespace');
$node->safe_psql('postgres', q{GRANT CREATE ON TABLESPACE ts_cold TO tier_owner});
($rc, $out, $err) = $node->psql('postgres',
	q{SET ROLE tier_owner; SELECT ruvector_set_tiers('owned', cold_tablespace => 'ts_cold')});
is($rc, 0, 'with CREATE on it the owner may place a tier there') or diag($err);

# the cold relation is created in its tablespace and VACUUM seals into it
$node->safe_psql('postgres', q{SELECT ruvector_set_tiers('r', cold_after => '0 s', cold_tablespace => 'ts_cold')});
$node->safe_psql('postgres', 'VACUUM r');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_segments('r') WHERE tier = 'cold'}), '3',
	'VACUUM sealed every segment into cold');
is($node->safe_psql('postgres', $where), 'cold=ts_cold,hot=default,warm=default', 'cold is in ts_cold');
$files_ok->('cold in ts_cold');
$check->('cold in ts_cold');

# a rolled-back policy change moves nothing
$node->safe_psql('postgres', q{BEGIN; SELECT ruvector_set_tiers('r', cold_after => '0 s', cold_tablespace => 'ts_warm',
	warm_tablespace => 'ts_warm'); ROLLBACK;});
is($node->safe_psql('postgres', $where), 'cold=ts_cold,hot=default,warm=default', 'rolled back: nothing moved');
$check->('rolled back');

# a new policy moves the existing relations
$node->safe_psql('postgres', q{SELECT ruvector_set_tiers('r', cold_after => '0 s', warm_tablespace => 'ts_warm')});
is($node->safe_psql('postgres', $where), 'cold=default,hot=default,warm=ts_warm',
	'the policy moved cold back to the table\'s tablespace and warm to ts_warm');
$files_ok->('policy moved');
$check->('policy moved');

# ALTER TABLE SET TABLESPACE: hot and cold (no tablespace of their own) follow the table, warm stays
$node->safe_psql('postgres', 'ALTER TABLE r SET TABLESPACE ts_table');
is($node->safe_psql('postgres', $where), 'cold=ts_table,hot=ts_table,warm=ts_warm',
	'SET TABLESPACE: warm stays in its tablespace');
$files_ok->('SET TABLESPACE');
$check->('SET TABLESPACE');
$node->safe_psql('postgres', 'ALTER TABLE r SET TABLESPACE pg_default');
is($node->safe_psql('postgres', $where), 'cold=default,hot=default,warm=ts_warm', 'and back');

# VACUUM FULL rewrites everything hot; the new warm relation goes to ts_warm
$node->safe_psql('postgres', 'VACUUM FULL r');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT tier, ',') FROM ruvector_segments('r')}), 'hot',
	'VACUUM FULL: every segment hot');
is($node->safe_psql('postgres', q{SELECT coalesce(t.spcname, 'default') FROM ruvector_store s
	JOIN pg_class c ON c.oid = s.store LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
	WHERE s.relnode = pg_relation_filenode('r') AND s.tier = 1}), 'ts_warm',
	'VACUUM FULL: the new warm relation is in ts_warm');
$node->safe_psql('postgres', 'VACUUM r');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_segments('r') WHERE tier = 'cold'}), '3',
	'VACUUM seals into the new cold relation');
is($node->safe_psql('postgres', $where), 'cold=default,hot=default,warm=ts_warm',
	'VACUUM FULL made cold and warm again, each in its tier\'s tablespace');
$files_ok->('after VACUUM FULL');
$check->('after VACUUM FULL');

# the tablespace a tier left can be dropped: nothing of r stays in it
$node->safe_psql('postgres', 'DROP TABLE owned');
($rc, $out, $err) = $node->psql('postgres', 'DROP TABLESPACE ts_cold');
is($rc, 0, 'ts_cold, left by every tier, can be dropped');
($rc, $out, $err) = $node->psql('postgres', 'DROP TABLESPACE ts_warm');
isnt($rc, 0, 'ts_warm, which holds the warm relation, cannot');

$node->stop;
done_testing();
