# 063_script_qualified.pl: grep-level search_path safety of the installed
# extension scripts ($(pg_config --sharedir)/extension/ruvector_tam--*.sql).
# After removing comments and quoted literals:
#	- no SECURITY DEFINER;
#	- every object the script creates is named @extschema@.name;
#	- every core type name (int4, text, oid, record, ...) is written
#	  pg_catalog.name, and every function, operator or type the script refers
#	  to in an option (FUNCTION =, SFUNC =, RESTRICT =, HANDLER, EXECUTE
#	  FUNCTION, WITH FUNCTION, CREATE CAST, GRANT/REVOKE/COMMENT ON ...) is
#	  schema-qualified;
#	- every LANGUAGE sql / plpgsql function pins its search_path (SET
#	  search_path) and calls functions only schema-qualified in its body.
# The same rules as sql/parts/00_base.sql states; checked on what is
# installed, i.e. what CREATE EXTENSION runs.
use strict;
use warnings;
use Test::More;

my $share = `pg_config --sharedir`;
chomp $share;
# RV_EXT_SCRIPTS (a glob) checks other files, e.g. to try the checker itself.
my @scripts = sort glob($ENV{RV_EXT_SCRIPTS} // "$share/extension/ruvector_tam--*.sql");
ok(scalar(@scripts) > 0, 'installed extension scripts found: ' . scalar(@scripts));

my @core_types = qw(bool bytea char name int2 int4 int8 text oid float4 float8 numeric
  json jsonb cstring internal regclass regtype regproc bit varbit void record
  event_trigger table_am_handler index_am_handler tsm_handler anyelement anyarray
  trigger timestamptz interval tid xid cid);
my $core_re = join('|', @core_types);
my %sql_keywords = map { $_ => 1 } qw(if in exists values array row cast coalesce nullif
  greatest least any all some not and or case when then else end select from where
  returning on using over filter within format_type);
delete $sql_keywords{format_type};

for my $script (@scripts)
{
	my $name = $script =~ s{.*/}{}r;
	open(my $fh, '<', $script) or die "$script: $!";
	my $text = do { local $/; <$fh> };
	close $fh;

	# psql meta-command line of the generated script
	$text =~ s/^\\echo.*$//mg;
	# Function bodies (dollar quoted) are checked on their own.
	my @bodies;
	$text =~ s/(\$(\w*)\$)(.*?)\1/push @bodies, $3; ' $BODY$ '/gse;
	# comments, then literals
	for my $s ($text, @bodies)
	{
		$s =~ s/--[^\n]*//g;
		$s =~ s{/\*.*?\*/}{}gs;
		$s =~ s/'(?:[^']|'')*'/''/g;
	}

	my @problems;
	push @problems, 'SECURITY DEFINER' if $text =~ /SECURITY\s+DEFINER/i;

	# Objects created in @extschema@.
	while ($text =~ /\bCREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|TYPE|AGGREGATE|TABLE|VIEW|
			SEQUENCE|DOMAIN|OPERATOR\s+CLASS|OPERATOR\s+FAMILY|OPERATOR|PROCEDURE)\s+
			(?!IF\b)([^\s(]+)/gix)
	{
		push @problems, "CREATE $1 $2 not in \@extschema\@" unless $2 =~ /^\@extschema\@\./;
	}

	# Core type names only as pg_catalog.name (CREATE TYPE options aside).
	my $t = $text =~ s/\b(ALIGNMENT|STORAGE|INTERNALLENGTH)\s*=\s*\w+//gir;
	while ($t =~ /(?<![\w.\@"])($core_re)(?![\w"])/g)
	{
		my $type = $1;
		my $ctx = substr($t, ($-[0] > 40 ? $-[0] - 40 : 0), 60) =~ s/\s+/ /gr;
		push @problems, "unqualified core type $type in: ...$ctx...";
	}

	# References in options must be schema-qualified.
	while ($t =~ /\b(FUNCTION|SFUNC|FINALFUNC|COMBINEFUNC|SERIALFUNC|DESERIALFUNC|
			MSFUNC|MINVFUNC|MFINALFUNC|RESTRICT|JOIN|INPUT|OUTPUT|RECEIVE|SEND|
			TYPMOD_IN|TYPMOD_OUT|ANALYZE|SUBSCRIPT|STYPE|MSTYPE|LEFTARG|RIGHTARG|
			ELEMENT|COMMUTATOR|NEGATOR)\s*=\s*([^\s,()]+(?:\([^)]*\))?)/gix)
	{
		my ($opt, $ref) = ($1, $2);
		push @problems, "$opt = $ref not schema-qualified" unless $ref =~ /\./;
	}
	while ($t =~ /\b(HANDLER|EXECUTE\s+FUNCTION|EXECUTE\s+PROCEDURE|WITH\s+FUNCTION|
			ON\s+FUNCTION|ON\s+TABLE|ON\s+TYPE|ON\s+SEQUENCE|ON\s+AGGREGATE|
			FOR\s+TYPE)\s+([^\s(;]+)/gix)
	{
		my ($kw, $ref) = ($1, $2);
		push @problems, "$kw $ref not schema-qualified" unless $ref =~ /\./;
	}
	while ($t =~ /\b(?:REVOKE|GRANT)\s+[\w\s,]*?\bON\s+(?!FUNCTION|TABLE|TYPE|SEQUENCE|AGGREGATE|SCHEMA|ALL\b)([^\s(;]+)/gi)
	{
		my $ref = $1;
		push @problems, "GRANT/REVOKE ON $ref not schema-qualified" unless $ref =~ /\./;
	}
	while ($t =~ /\bCREATE\s+CAST\s*\(\s*(\S+)\s+AS\s+([^\s)]+)/gi)
	{
		my ($from, $to) = ($1, $2);
		push @problems, "CREATE CAST ($from AS $to) not schema-qualified"
		  unless $from =~ /\./ && $to =~ /\./;
	}
	while ($t =~ /\bOPERATOR\s+(\d+)\s+([^\s,;(]+)/gi)
	{
		my ($num, $ref) = ($1, $2);
		push @problems, "opclass OPERATOR $num $ref not schema-qualified" unless $ref =~ /\./;
	}

	# SQL and PL/pgSQL functions: pinned search_path, qualified calls.
	my $nbody = 0;
	while ($t =~ /\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+(\S+?)\((.*?);/gis)
	{
		my ($fn, $def) = ($1, $2);
		next unless $def =~ /LANGUAGE\s+(sql|plpgsql)\b/i || $def =~ /BEGIN\s+ATOMIC/i;
		$nbody++;
		push @problems, "$fn: LANGUAGE $1 without SET search_path"
		  unless $def =~ /\bSET\s+search_path\b/i;
	}
	for my $b (@bodies)
	{
		while ($b =~ /(?<![\w.\@"])([A-Za-z_]\w*)\s*\(/g)
		{
			push @problems, "unqualified call $1( in a function body"
			  unless $sql_keywords{ lc $1 };
		}
		while ($b =~ /(?<![\w.\@"])($core_re)(?![\w"])/g)
		{
			push @problems, "unqualified core type $1 in a function body";
		}
	}

	is_deeply(\@problems, [], "$name: search_path-safe at grep level ("
		  . scalar(@bodies) . " function bodies, $nbody SQL/PL functions)")
	  or diag(join("\n", @problems));
}

done_testing();
