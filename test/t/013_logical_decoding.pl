# 013_logical_decoding.pl: logical decoding of a database holding ruvector
# tables never wedges.  Decoding reads heap tuples from WAL, so a ruvector
# table's vector columns reach the type's output functions as vrefs; under
# the historic snapshot of decoding, ruvector_out prints the placeholder
# "<ruvector ref store=N vid=M>" and ruvector_send sends int16 marker,
# int16 store, int64 vid (docs/type.md, "Logical decoding").
#
# A wal_level = logical cluster with a ruvector table of two vector
# columns, a ruvector table with a ruhnsw index and REPLICA IDENTITY FULL,
# and an ordinary heap table with a ruvector column.  A test_decoding slot
# must decode INSERT / UPDATE / DELETE on the ruvector tables and then on
# the heap table: every call succeeds, the ruvector columns show the
# placeholder with the store number of their column (ruvector_store) and
# vids that agree between a row's insert and its later old tuple, the heap
# table's changes follow exactly, and later calls keep working.  A second
# slot with a minimal output plugin built here (rvsend, the binary send
# function of every column) checks the binary placeholder, which
# ruvector_recv refuses.  Outside decoding, vref bytes still make both
# output functions raise "unresolved ruvector reference", the text
# placeholder is no valid input, and publications stay refused.
use strict;
use warnings;
use File::Path qw(make_path);
use IPC::Run qw(run);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('decoding');
$node->init(allows_streaming => 'logical');

# ---- the rvsend output plugin: "rel ACTION: col=hex ..." per change ----
my $plugdir = $node->basedir . '/plugin';
make_path($plugdir);
open(my $fh, '>', "$plugdir/rvsend.c") or die "rvsend.c: $!";
print $fh <<'EOC';
/* rvsend: test output plugin; every column through its binary send function */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_MODULE_MAGIC;

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);

static void
rv_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
}

static void
rv_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
}

static void
rv_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn)
{
}

static void
rv_tuple(StringInfo out, TupleDesc desc, HeapTuple tuple)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		bool		isnull;
		Datum		d;
		Oid			send;
		bool		isvarlena;
		bytea	   *b;

		if (att->attisdropped)
			continue;
		d = heap_getattr(tuple, i + 1, desc, &isnull);
		appendStringInfo(out, " %s=", NameStr(att->attname));
		if (isnull)
		{
			appendStringInfoString(out, "null");
			continue;
		}
		getTypeBinaryOutputInfo(att->atttypid, &send, &isvarlena);
		b = OidSendFunctionCall(send, d);
		for (int j = 0; j < (int) (VARSIZE(b) - VARHDRSZ); j++)
			appendStringInfo(out, "%02x", (unsigned char) VARDATA(b)[j]);
	}
}

static void
rv_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
		  ReorderBufferChange *change)
{
	TupleDesc	desc = RelationGetDescr(rel);

	OutputPluginPrepareWrite(ctx, true);
	appendStringInfoString(ctx->out, RelationGetRelationName(rel));
	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			appendStringInfoString(ctx->out, " INSERT:");
			rv_tuple(ctx->out, desc, &change->data.tp.newtuple->tuple);
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			appendStringInfoString(ctx->out, " UPDATE:");
			if (change->data.tp.oldtuple)
			{
				appendStringInfoString(ctx->out, " old:");
				rv_tuple(ctx->out, desc, &change->data.tp.oldtuple->tuple);
				appendStringInfoString(ctx->out, " new:");
			}
			rv_tuple(ctx->out, desc, &change->data.tp.newtuple->tuple);
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			appendStringInfoString(ctx->out, " DELETE:");
			if (change->data.tp.oldtuple)
				rv_tuple(ctx->out, desc, &change->data.tp.oldtuple->tuple);
			break;
		default:
			appendStringInfoString(ctx->out, " OTHER");
			break;
	}
	OutputPluginWrite(ctx, true);
}

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = rv_startup;
	cb->begin_cb = rv_begin;
	cb->change_cb = rv_change;
	cb->commit_cb = rv_commit;
}
EOC
close($fh);
my ($incdir, $cc) = ('', '');
run([ 'pg_config', '--includedir-server' ], '>', \$incdir) or die 'pg_config failed';
chomp $incdir;
run([ 'pg_config', '--cc' ], '>', \$cc) or die 'pg_config failed';
chomp $cc;
my $ccout;
run([ split(/\s+/, $cc), '-fPIC', '-shared', '-Wall', '-Werror', "-I$incdir",
	  '-o', "$plugdir/rvsend.so", "$plugdir/rvsend.c" ], '>&', \$ccout);
ok($? == 0, 'the rvsend test output plugin builds') or diag($ccout);

$node->append_conf('postgresql.conf', qq{
autovacuum = off
dynamic_library_path = '\$libdir:$plugdir'
});
$node->start;
# Debian's server admits only listed output plugins (a setting upstream
# PostgreSQL does not have): list rvsend where it exists.
if ($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'}) eq '1')
{
	$node->safe_psql('postgres', q{
ALTER SYSTEM SET output_plugin_libraries = pgoutput, test_decoding, rvsend;
SELECT pg_reload_conf();});
}

$node->safe_psql('postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE TABLE r (id int PRIMARY KEY, v ruvector(3), w ruvector(2), note text) USING ruvector;
CREATE TABLE ri (id int PRIMARY KEY, v ruvector(3)) USING ruvector;
CREATE INDEX ri_v ON ri USING ruhnsw (v vector_l2_ops);
ALTER TABLE ri REPLICA IDENTITY FULL;
CREATE TABLE h (id int PRIMARY KEY, t text, v ruvector(3));
SELECT 'slot' FROM pg_create_logical_replication_slot('s', 'test_decoding');
SELECT 'slot' FROM pg_create_logical_replication_slot('b', 'rvsend');
});

# DML on the ruvector tables first, then on the ordinary table
$node->safe_psql('postgres', $_) for (
	q{INSERT INTO r VALUES (1, '[1,2,3]', '[1,2]', 'a'), (2, '[4,5,6]', NULL, 'b'), (3, NULL, '[5,6]', 'c')},
	q{UPDATE r SET v = '[7,8,9]' WHERE id = 1},
	q{UPDATE r SET note = 'bb' WHERE id = 2},
	q{DELETE FROM r WHERE id = 3},
	q{INSERT INTO ri VALUES (1, '[1,2,3]'), (2, '[1,1,1]')},
	q{UPDATE ri SET v = '[0,0,1]' WHERE id = 2},
	q{DELETE FROM ri WHERE id = 1},
	q{INSERT INTO h VALUES (1, 'a', '[1,2,3]')},
	q{UPDATE h SET t = 'b' WHERE id = 1},
	q{DELETE FROM h WHERE id = 1});

# changes(slot): the slot's decoded lines for r, ri and h, after checking
# that the call succeeded without an error.
sub changes
{
	my ($slot, $what) = @_;
	my ($out, $err) = ('', '');
	my $ret = $node->psql('postgres',
		"SELECT data FROM pg_logical_slot_get_changes('$slot', NULL, NULL)",
		stdout => \$out, stderr => \$err);
	ok($ret == 0 && $err eq '', "$what: pg_logical_slot_get_changes('$slot') succeeds")
	  or diag("ret $ret: $err");
	return [ grep { /^(table public\.)?(r|ri|h)[: ]/ } split /\n/, $out ];
}

# store number -> column name of a ruvector table, from the AM's catalog
sub stores
{
	my ($rel) = @_;
	my %s = map { split /\|/ } split /\n/, $node->safe_psql('postgres', qq{
SELECT DISTINCT s.storeno, a.attname FROM ruvector_store s
JOIN pg_class c ON c.relfilenode = s.relnode
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = s.attnum
WHERE c.oid = '$rel'::regclass});
	return \%s;
}
my %store = (r => stores('r'), ri => stores('ri'));
my %storeno;	# table -> column -> store number
for my $t (keys %store)
{
	$storeno{$t}{ $store{$t}{$_} } = $_ for keys %{ $store{$t} };
}
is(join(',', map { "$_=$store{r}{$_}" } sort keys %{ $store{r} }) . ' ' .
	join(',', map { "$_=$store{ri}{$_}" } sort keys %{ $store{ri} }),
	'1=v,2=w 1=v', 'the stores: r.v, r.w and ri.v');

# ---- text: test_decoding ----
my @vids;	# [table, column, vid] of every placeholder, in order

# refs(lines): lines with each placeholder replaced by <ref> when its store
# is its column's (<ref in COLUMN> otherwise), recording it in @vids
sub refs
{
	my ($lines) = @_;
	return map
	{
		my $line = $_;
		my ($table) = $line =~ /^table public\.(\w+):/;
		$line =~ s{(\w+)\[ruvector\]:'<ruvector ref store=(\d+) vid=(\d+)>'}{
			my $col = $store{$table}{$2} // "store $2";
			push @vids, [ $table, $1, $3 ];
			$col eq $1 ? "$1\[ruvector\]:<ref>" : "$1\[ruvector\]:<ref in $col>"
		}ge;
		$line
	} @$lines;
}
my @got = refs(changes('s', 'first call'));
is(join("\n", @got), join("\n",
	q{table public.r: INSERT: id[integer]:1 v[ruvector]:<ref> w[ruvector]:<ref> note[text]:'a'},
	q{table public.r: INSERT: id[integer]:2 v[ruvector]:<ref> w[ruvector]:null note[text]:'b'},
	q{table public.r: INSERT: id[integer]:3 v[ruvector]:null w[ruvector]:<ref> note[text]:'c'},
	q{table public.r: UPDATE: id[integer]:1 v[ruvector]:<ref> w[ruvector]:<ref> note[text]:'a'},
	q{table public.r: UPDATE: id[integer]:2 v[ruvector]:<ref> w[ruvector]:null note[text]:'bb'},
	q{table public.r: DELETE: id[integer]:3},
	q{table public.ri: INSERT: id[integer]:1 v[ruvector]:<ref>},
	q{table public.ri: INSERT: id[integer]:2 v[ruvector]:<ref>},
	q{table public.ri: UPDATE: old-key: id[integer]:2 v[ruvector]:<ref> new-tuple: id[integer]:2 v[ruvector]:<ref>},
	q{table public.ri: DELETE: id[integer]:1 v[ruvector]:<ref>},
	q{table public.h: INSERT: id[integer]:1 t[text]:'a' v[ruvector]:'[1,2,3]'},
	q{table public.h: UPDATE: id[integer]:1 t[text]:'b' v[ruvector]:'[1,2,3]'},
	q{table public.h: DELETE: id[integer]:1}),
	'decoded changes: placeholders for ruvector tables (store of the right column), then the heap table');
is(scalar(@vids), 12, 'twelve placeholders');
my @rv = map { $_->[2] } grep { $_->[0] eq 'r' && $_->[1] eq 'v' } @vids;
isnt($rv[0], $rv[1], 'two rows of one INSERT have different vids');
# ri: insert 1 (vid a), insert 2 (b), update 2 old b new c, delete 1 old a
my @ri = map { $_->[2] } grep { $_->[0] eq 'ri' } @vids;
is(join(' ', @ri[ 2, 4 ]), join(' ', @ri[ 1, 0 ]),
	"an old tuple's placeholder names the vid its insert had");
isnt($ri[3], $ri[2], 'an updated vector has a new vid');

my $again = changes('s', 'second call');
is(scalar(@$again), 0, 'the second call returns no change again (the slot advanced)');

$node->safe_psql('postgres', $_) for (
	q{INSERT INTO r VALUES (4, '[1,1,1]', NULL, 'd')},
	q{INSERT INTO h VALUES (2, 'x', NULL)});
is(join("\n", refs(changes('s', 'third call'))), join("\n",
	q{table public.r: INSERT: id[integer]:4 v[ruvector]:<ref> w[ruvector]:null note[text]:'d'},
	q{table public.h: INSERT: id[integer]:2 t[text]:'x' v[ruvector]:null}),
	'later changes decode: the slot is not wedged');

# ---- binary: the rvsend plugin ----
my $bin = changes('b', 'binary slot');
my $hexint = sub { sprintf('%08x', $_[0]) };
my $vec123 = $node->safe_psql('postgres',
	q{SELECT encode(int2send(3::int2) || int2send(0::int2) || float4send(1) || float4send(2) || float4send(3), 'hex')});
# the placeholder of each (table, column, vid) seen in the text slot, in order
my @want_ph = map { sprintf('adaa%04x%016x', $storeno{ $_->[0] }{ $_->[1] }, $_->[2]) } @vids;
my @got_ph = map { /=(adaa[0-9a-f]{20})(?=\s|$)/g } @$bin;
is(join(' ', @got_ph), join(' ', @want_ph),
	'binary placeholders: int16 marker, int16 store, int64 vid, the same refs as the text slot');
ok((grep { $_ eq "h INSERT: id=" . $hexint->(1) . " t=61 v=$vec123" } @$bin),
	'the heap table sends its real vector');
is(scalar(@$bin), 15, 'the binary slot decodes every change, the later ones too');

# ruvector_recv refuses the binary placeholder
my $datadir = $node->data_dir;
my ($ret, $out, $err) = (0, '', '');
$ret = $node->psql('postgres', qq{
COPY (SELECT decode('$got_ph[0]', 'hex')) TO '$datadir/ph.bin' WITH (FORMAT binary);
CREATE TEMP TABLE feed (v ruvector);
COPY feed FROM '$datadir/ph.bin' WITH (FORMAT binary);},
	stdout => \$out, stderr => \$err);
like($err, qr/ERROR:  unresolved ruvector reference/, 'ruvector_recv refuses the binary placeholder');

# ---- outside decoding nothing changed ----
# vref bytes (native byte order, as in a heap tuple) through a binary-
# coercible cast reach the output functions, which refuse them
my $vref = unpack('H*', pack('s s L L', -21078, 1, 5, 0));
$node->safe_psql('postgres', 'CREATE CAST (bytea AS ruvector) WITHOUT FUNCTION');
$ret = $node->psql('postgres', qq{SELECT ('\\x$vref'::bytea::ruvector)::text},
	stdout => \$out, stderr => \$err);
like($err, qr/ERROR:  unresolved ruvector reference/, 'ruvector_out refuses a vref outside decoding');
$ret = $node->psql('postgres', qq{SELECT ruvector_send('\\x$vref'::bytea::ruvector)},
	stdout => \$out, stderr => \$err);
like($err, qr/ERROR:  unresolved ruvector reference/, 'ruvector_send refuses a vref outside decoding');
$ret = $node->psql('postgres', q{SELECT '<ruvector ref store=1 vid=0>'::ruvector},
	stdout => \$out, stderr => \$err);
like($err, qr/ERROR:  invalid input syntax for type vector: "<ruvector ref store=1 vid=0>"/,
	'the text placeholder is no valid ruvector input');
$ret = $node->psql('postgres', 'CREATE PUBLICATION p FOR TABLE r', stdout => \$out, stderr => \$err);
like($err, qr/ERROR:  publication "p" would include ruvector table "(public\.)?r"/, 'publications stay refused');

$node->safe_psql('postgres', q{SELECT pg_drop_replication_slot('s'), pg_drop_replication_slot('b')});
$node->stop;
unlike(slurp_file($node->logfile), qr/PANIC|TRAP:|terminated by signal/, 'no crash');
done_testing();
