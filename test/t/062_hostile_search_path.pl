# 062_hostile_search_path.pl: a hostile non-superuser plants decoys before
# CREATE EXTENSION, and none of them may fire while a superuser installs and
# uses the extension.
#
# The role "hostile" owns schema "hostile" and may create in "public" (as
# before PostgreSQL 15).  It creates there functions, aggregates and
# operators named like the core objects and extension functions the
# extension script and the library's own SQL use (float4, int4, text,
# count, sum, array_to_vector, ruvector_in, l2_distance, = on oid / name
# / int2 / int4 / text, < on oid, || on text, ...); each decoy records its
# firing in hostile.fired and raises a WARNING.  A positive control first
# shows that the decoys do fire for unqualified references.
#
# Then a superuser, with search_path = hostile, public, runs CREATE
# EXTENSION ruvector_tam SCHEMA public and uses the extension: ruvector
# table (with a publication present), COPY, INSERT, UPDATE, DELETE, k-NN query, aggregates, btree index,
# CREATE TABLE AS, VACUUM, storage report, GC, TRUNCATE, SET ACCESS METHOD,
# DROP.  The same use is repeated with the worst-case path hostile,
# pg_catalog, public (pg_catalog searched after the decoys; the user's own
# statements then qualify core operators, as they must on such a path).
# Pass: hostile.fired is empty and the log has no decoy warning.
#
# ALTER EXTENSION UPDATE from 0.1.0 runs with the path the superuser has
# (t/025_store_lifecycle.pl); its script qualifies every core object too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hostile');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE ROLE hostile LOGIN;
CREATE SCHEMA hostile AUTHORIZATION hostile;
GRANT CREATE ON SCHEMA public TO hostile;
});

# Decoy bodies: one plpgsql function per signature, recording its firing.
my @decoy_fns = (
	# name, argument types, return type, result expression
	[ 'float4', 'int4', 'float4', '$1::pg_catalog.float4' ],
	[ 'float4', 'float8', 'float4', '$1::pg_catalog.float4' ],
	[ 'int4', 'text', 'int4', '0' ],
	[ 'int4', 'int8', 'int4', '0' ],
	[ 'int2', 'int4', 'int2', '0' ],
	[ 'text', 'int4', 'text', "''" ],
	[ 'text', 'oid', 'text', "''" ],
	[ 'oid', 'int8', 'oid', '0' ],
	[ 'array_to_vector', 'int4[], int4, bool', 'text', "''" ],
	[ 'array_to_vector', 'float4[]', 'text', "''" ],
	[ 'ruvector_in', 'text', 'text', "''" ],
	[ 'ruvector_out', 'text', 'text', "''" ],
	[ 'l2_distance', 'float4[], float4[]', 'float8', '0' ],
	[ 'vector_dims', 'text', 'int4', '0' ],
	[ 'ruvector_version', '', 'text', "'decoy'" ],
	[ 'ruvector_gc_orphans', 'int4', 'text', "''" ],
	[ 'ruvector_storage_report', 'oid', 'text', "''" ],
	[ 'pg_relation_filenode', 'oid', 'oid', '0' ],
	[ 'format_type', 'oid, int4', 'text', "''" ],
	[ 'lower', 'name', 'text', "''" ],
	[ 'length', 'name', 'int4', '0' ],
	[ 'now', '', 'timestamptz', "'epoch'" ],
);
# Operators: symbol, left, right, function name.
my @decoy_ops = (
	[ '=', 'oid', 'oid' ], [ '=', 'name', 'name' ], [ '=', 'name', 'text' ],
	[ '=', 'int2', 'int2' ], [ '=', 'int4', 'int4' ], [ '=', 'int8', 'int8' ],
	[ '=', 'text', 'text' ], [ '=', 'regclass', 'regclass' ], [ '<', 'oid', 'oid' ],
	[ '<>', 'oid', 'oid' ], [ '||', 'text', 'text' ], [ '+', 'int4', 'int4' ],
	[ '-', 'int4', 'int4' ], [ '=', 'int2', 'int4' ], [ '=', 'oid', 'int4' ],
	[ '~~', 'name', 'text' ], [ '=', 'float4[]', 'float4[]' ],
);

my $sql = q{
SET ROLE hostile;
CREATE TABLE hostile.fired (what text, by_user name DEFAULT current_user);
GRANT INSERT, SELECT ON hostile.fired TO PUBLIC;
};
for my $schema ('hostile', 'public')
{
	my $n = 0;
	for my $f (@decoy_fns)
	{
		my ($name, $args, $ret, $res) = @$f;
		# Same signature as an extension function: only outside the target
		# schema (in it, CREATE EXTENSION refuses to start; tested below).
		next if $schema eq 'public' && "$name($args)" =~
		  /^(ruvector_version\(\)|array_to_vector\(int4\[\], int4, bool\))$/;
		my $label = "$schema.$name($args)";
		$sql .= qq{
CREATE FUNCTION $schema.$name($args) RETURNS $ret LANGUAGE plpgsql AS \$d\$
BEGIN
	INSERT INTO hostile.fired (what) VALUES ('$label');
	RAISE WARNING 'decoy fired: $label';
	RETURN $res;
END \$d\$;};
	}
	for my $o (@decoy_ops)
	{
		my ($op, $l, $r) = @$o;
		my $fn = "decoy_op_" . $n++;
		my $label = "$schema.$op($l,$r)";
		my $rettype = $op =~ /^[=<>~]/ ? 'bool' : $l;
		my $res = $rettype eq 'bool' ? 'false' : 'NULL';
		$sql .= qq{
CREATE FUNCTION $schema.$fn($l, $r) RETURNS $rettype LANGUAGE plpgsql AS \$d\$
BEGIN
	INSERT INTO hostile.fired (what) VALUES ('$label');
	RAISE WARNING 'decoy fired: $label';
	RETURN $res;
END \$d\$;
CREATE OPERATOR $schema.$op (LEFTARG = $l, RIGHTARG = $r, FUNCTION = $schema.$fn);};
	}
	# Aggregates named like core ones.
	$sql .= qq{
CREATE FUNCTION $schema.decoy_agg_sfunc(int8, int4) RETURNS int8 LANGUAGE plpgsql AS \$d\$
BEGIN
	INSERT INTO hostile.fired (what) VALUES ('$schema aggregate');
	RAISE WARNING 'decoy fired: $schema aggregate';
	RETURN 0;
END \$d\$;
CREATE AGGREGATE $schema.count(int4) (SFUNC = $schema.decoy_agg_sfunc, STYPE = int8);
CREATE AGGREGATE $schema.sum(int4) (SFUNC = $schema.decoy_agg_sfunc, STYPE = int8);
CREATE AGGREGATE $schema.max(int4) (SFUNC = $schema.decoy_agg_sfunc, STYPE = int8);};
}
$sql .= "\nRESET ROLE;\n";
$node->safe_psql('postgres', $sql);
my $ndecoys = $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_proc WHERE proowner = 'hostile'::regrole}) +
  $node->safe_psql('postgres',
	q{SELECT count(*) FROM pg_operator WHERE oprowner = 'hostile'::regrole});
ok($ndecoys > 100, "hostile role planted $ndecoys decoy functions and operators");

# Positive control: the decoys fire for unqualified references.
$node->safe_psql('postgres', q{
SET search_path = hostile, pg_catalog, public;
SELECT 1::oid = 2::oid, float4(1), count(1), 'a'::name = 'b'::name;
});
is($node->safe_psql('postgres', 'SELECT count(DISTINCT what) FROM hostile.fired'), '4',
	'positive control: the decoys fire for unqualified references');
$node->safe_psql('postgres', 'TRUNCATE hostile.fired');
my $log_offset = -s $node->logfile;

# A decoy with the exact signature of an extension function in the target
# schema makes CREATE EXTENSION fail instead of adopting or replacing it.
my ($ret, $out, $err);
$node->safe_psql('postgres', q{
SET ROLE hostile;
CREATE FUNCTION public.ruvector_version() RETURNS text LANGUAGE sql AS $$SELECT 'decoy'$$;
});
$ret = $node->psql('postgres', q{
SET search_path = hostile, public;
CREATE EXTENSION ruvector_tam SCHEMA public;
}, stdout => \$out, stderr => \$err);
ok($ret != 0 && $err =~ /function "ruvector_version" already exists with same argument types/,
	'CREATE EXTENSION refuses a target schema holding a decoy with its own signature')
  or diag($err);
$node->safe_psql('postgres', 'SET ROLE hostile; DROP FUNCTION public.ruvector_version()');

# The superuser installs and uses the extension with the hostile path.
$ret = $node->psql('postgres', q{
SET search_path = hostile, public;
CREATE EXTENSION ruvector_tam SCHEMA public;
}, stdout => \$out, stderr => \$err);
is($ret, 0, 'CREATE EXTENSION succeeds with search_path = hostile, public') or diag($err);
unlike($err // '', qr/decoy fired/, 'no decoy fired during CREATE EXTENSION');

# usage($qualify): the superuser's workload; with $qualify the statements
# name core operators as OPERATOR(pg_catalog.x), as any query on a path
# that puts pg_catalog after an untrusted schema must.
sub usage
{
	my ($path, $qualify) = @_;
	my $eq = $qualify ? 'OPERATOR(pg_catalog.=)' : '=';
	my $lt = $qualify ? 'OPERATOR(pg_catalog.<)' : '<';
	my $plus = $qualify ? 'OPERATOR(pg_catalog.+)' : '+';
	my $cnt = $qualify ? 'pg_catalog.count' : 'count';
	my $dir = $node->basedir;
	return qq{
SET search_path = $path;
-- a publication makes the library's publication check (an SPI query run
-- by its ddl_command_end trigger) see rows, so its joins are evaluated
CREATE TABLE plain (id int);
CREATE PUBLICATION pub FOR TABLE plain;
CREATE TABLE items (id int, v ruvector(3), note text) USING ruvector;
INSERT INTO items SELECT g, ARRAY[g, g $plus 1, g $plus 2]::float4[]::ruvector, 'n'
	FROM pg_catalog.generate_series(1, 200) g;
COPY items TO '$dir/items.copy' WITH (FORMAT binary);
COPY items FROM '$dir/items.copy' WITH (FORMAT binary);
COPY (SELECT * FROM items WHERE id $lt 10) TO '$dir/items.txt';
COPY items FROM '$dir/items.txt';
UPDATE items SET v = '[9,9,9]' WHERE id $eq 5;
DELETE FROM items WHERE id $lt 50;
SELECT id FROM items ORDER BY v <-> '[3,4,5]' LIMIT 5;
SELECT avg(v), sum(v) FROM items;
SELECT l2_distance(v, '[1,1,1]'), v <=> '[1,2,3]', vector_dims(v), v::float4[]
	FROM items WHERE id $eq 100;
CREATE INDEX ON items (v);
CREATE INDEX ON items (id);
SELECT id FROM items WHERE v = '[100,101,102]'::ruvector;
CREATE TABLE items2 USING ruvector AS SELECT * FROM items;
VACUUM items;
VACUUM FULL items2;
SELECT * FROM ruvector_storage_report('items'::regclass);
SELECT $cnt(*) FROM ruvector_gc_orphans();
ALTER TABLE items2 SET ACCESS METHOD heap;
ALTER TABLE items2 SET ACCESS METHOD ruvector;
TRUNCATE items2;
DROP TABLE items2;
DROP TABLE items;
DROP PUBLICATION pub;
DROP TABLE plain;
SELECT $cnt(*) FROM ruvector_gc_orphans();
};
}

for my $case ([ 'hostile, public', 0 ], [ 'hostile, pg_catalog, public', 1 ])
{
	my ($path, $qualify) = @$case;
	$ret = $node->psql('postgres', usage($path, $qualify), stdout => \$out, stderr => \$err,
		on_error_stop => 1);
	is($ret, 0, "the extension works with search_path = $path") or diag($err);
	ok(($err // '') !~ /decoy fired/, "no decoy warning with search_path = $path")
	  or diag(join("\n", (grep { /decoy fired/ } split /\n/, $err)[0 .. 4]));
	is($node->safe_psql('postgres',
		q{SELECT coalesce(pg_catalog.string_agg(what || ' x' || n, ', '), '')
		  FROM (SELECT what, pg_catalog.count(*) AS n FROM hostile.fired GROUP BY what) f}), '',
		"no decoy fired with search_path = $path");
}

# The publication check still works with its qualified operators.
$ret = $node->psql('postgres', q{
SET search_path = hostile, pg_catalog, public;
CREATE TABLE public.r (v ruvector(2)) USING ruvector;
CREATE PUBLICATION pub2 FOR TABLE public.r;
}, stdout => \$out, stderr => \$err);
ok($ret != 0 && $err =~ /publication "pub2" would include ruvector table "public.r"/,
	'a publication of a ruvector table is still refused on the hostile path')
  or diag($err);

my $log = slurp_file($node->logfile, $log_offset);
ok($log !~ /decoy fired/, 'the server log has no decoy warning after the control');

$node->stop;
done_testing();
