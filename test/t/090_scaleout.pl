# 090_scaleout.pl: one ruvector table sharded over three PostgreSQL servers
# with core postgres_fdw, following docs/scale-out.md.
#
# Four clusters on this machine: a coordinator and shards shard1..shard3.
# Every SQL block of docs/scale-out.md marked "<!-- test: shards -->" or
# "<!-- test: coordinator -->" runs verbatim, in the doc's order, in the
# database "vectors" of every shard or of the coordinator (psql variables
# shardN_host, shardN_port, shard_password), from a directory holding
# items.copy: the first 20,000 Fashion-MNIST training images, converted by
# bench/prepare-data.sh exactly as make demo and make bench do (Debian's
# dataset-fashion-mnist, installed by scripts/install-deps.sh; this test
# installs nothing).  The coordinator also holds the same rows in one local
# table, single.items, for exact answers and error comparisons.
#
# Checked: every row on the shard its hash selects; the plan (Merge Append
# of Foreign Scans whose remote SQL has the ORDER BY, and no ORDER BY
# without extensions 'ruvector_tam'); k-NN on the parent at ef_search 1000
# gives the exact distances of one server, and recall@10 >= 0.99 at 40;
# rows fetched from the shards per query (pg_stat_statements on the
# shards); the search settings the shard sessions see (role settings,
# server options, a coordinator SET that does not reach them); a filtered
# k-NN returns LIMIT rows with strict_order iterative scans on the shards
# and fewer with them off; INSERT, COPY, UPDATE, DELETE through the parent
# land on the right shard; bad input gives the same SQLSTATE and message as
# on one server; the doc's shard-key trigger; a stopped shard makes the
# query fail with "could not connect to server", pruned queries still run,
# and the restarted shard serves again.
#
# Needs RV_SRC_ROOT: test/run-all.sh points it at its copy of src/, docs/ and bench/.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use IPC::Run qw(run);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{RV_SRC_ROOT};
plan skip_all => 'RV_SRC_ROOT does not point at a readable source tree'
  unless $src && -r "$src/docs/scale-out.md" && -r "$src/bench/prepare-data.sh";
my $dataset = '/usr/share/datasets/fashion-mnist';
BAIL_OUT("$dataset is missing: run scripts/install-deps.sh (dataset-fashion-mnist)")
  unless -r "$dataset/train-images-idx3-ubyte.gz";

my $N_ROWS = 20000;
my $N_QUERIES = 100;
my $N_FILTERED = 20;

# ---- data, converted the project's way
my $tmp = tempdir('scaleout.XXXXXX', DIR => $ENV{TESTDIR} // '/tmp', CLEANUP => 1);
my $out;
run([ 'bash', "$src/bench/prepare-data.sh", "$tmp/fmnist" ], '>&', \$out)
  or BAIL_OUT("bench/prepare-data.sh failed: $out");
sub head_lines
{
	my ($from, $to, $n) = @_;
	open(my $in, '<', $from) or die "$from: $!";
	open(my $o, '>', $to) or die "$to: $!";
	while (<$in>) { last if $. > $n; print $o $_; }
	close $o;
	close $in;
}
head_lines("$tmp/fmnist/train.copy", "$tmp/items.copy", $N_ROWS);
head_lines("$tmp/fmnist/test.copy", "$tmp/queries.copy", $N_QUERIES);
unlink("$tmp/fmnist/train.copy", "$tmp/fmnist/test.copy");

# ---- the doc's blocks
open(my $dfh, '<', "$src/docs/scale-out.md") or die $!;
my $doc = do { local $/; <$dfh> };
close $dfh;
my @blocks;
while ($doc =~ /<!-- test: (\w+) -->\s*\n```sql\n(.*?)```/sg)
{
	push @blocks, [ $1, $2 ];
}
ok(@blocks >= 5
	  && (grep { $_->[0] eq 'shards' } @blocks) >= 2
	  && (grep { $_->[0] eq 'coordinator' } @blocks) >= 3
	  && !(grep { $_->[0] !~ /^(shards|coordinator)$/ } @blocks),
	'docs/scale-out.md has marked shard and coordinator blocks')
  or diag(join(', ', map { $_->[0] } @blocks));

# ---- four clusters
my $coord = PostgreSQL::Test::Cluster->new('coordinator');
$coord->init;
$coord->append_conf('postgresql.conf', "autovacuum = off\nshared_buffers = 64MB\n");
$coord->start;
my @shards;
for my $i (1 .. 3)
{
	my $s = PostgreSQL::Test::Cluster->new("shard$i");
	$s->init;
	$s->append_conf('postgresql.conf',
		"autovacuum = off\nshared_buffers = 64MB\n"
		  . "shared_preload_libraries = 'pg_stat_statements'\n"
		  . "maintenance_work_mem = 128MB\n");
	$s->start;
	push @shards, $s;
}
$_->safe_psql('postgres', 'CREATE DATABASE vectors') for ($coord, @shards);

my @vars = ('-v', 'shard_password=test-secret');
for my $i (1 .. 3)
{
	push @vars, '-v', "shard${i}_host=" . $shards[ $i - 1 ]->host;
	push @vars, '-v', "shard${i}_port=" . $shards[ $i - 1 ]->port;
}

# ---- run the doc, loading from $tmp (the \copy reads items.copy there)
my $cwd = getcwd();
chdir($tmp) or die $!;
my $nb = 0;
for my $b (@blocks)
{
	my ($where, $sql) = @$b;
	$nb++;
	for my $node ($where eq 'shards' ? @shards : ($coord))
	{
		my ($o, $e);
		my $rc = $node->psql('vectors', $sql, stdout => \$o, stderr => \$e,
			on_error_stop => 1, extra_params => \@vars);
		is($rc, 0, "doc block $nb ($where) runs on " . $node->name)
		  or diag($e);
	}
}
chdir($cwd) or die $!;

sub q_coord { return $coord->safe_psql('vectors', $_[0]); }

# ---- the rows, each on its hash's shard
my @counts = map { $_->safe_psql('vectors', 'SELECT count(*) FROM items') } @shards;
is($counts[0] + $counts[1] + $counts[2], $N_ROWS, "the shards hold the $N_ROWS rows loaded through the parent (@counts)");
ok(!(grep { $_ < $N_ROWS / 5 } @counts), 'every shard holds a share of the rows');
is( q_coord('SELECT '
		  . join(' + ',
			map { "(SELECT count(*) FROM (SELECT id FROM items_shard" . ($_ + 1)
				  . " OFFSET 0) s WHERE NOT satisfies_hash_partition('items'::regclass, 3, $_, id))" } 0 .. 2)
		  . " AS misplaced"),
	0, 'every row lives on the shard its hash partition names');

# ---- reference data on the coordinator
q_coord(qq{
CREATE SCHEMA single;
CREATE TABLE single.items (id bigint PRIMARY KEY, label int NOT NULL, embedding ruvector(784)) USING ruvector;
COPY single.items FROM '$tmp/items.copy';
CREATE TABLE queries (id bigint, label int, embedding ruvector(784));
COPY queries FROM '$tmp/queries.copy';
CREATE TABLE truth AS
	SELECT q.id AS qid,
		   array(SELECT s.id FROM single.items s ORDER BY s.embedding <-> q.embedding LIMIT 10) AS ids,
		   array(SELECT s.embedding <-> q.embedding FROM single.items s ORDER BY 1 LIMIT 10) AS d
	FROM queries q;
CREATE FUNCTION err_of(sql text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE
	st text;
	msg text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN st || ': ' || msg;
END \$\$;
});

# ---- settings the shard sessions see
my $settings_sql = q{SELECT string_agg(ef_search || '/' || iterative_scan, ' ') FROM
	(SELECT * FROM shard1_settings UNION ALL SELECT * FROM shard2_settings
	 UNION ALL SELECT * FROM shard3_settings) s};
is(q_coord($settings_sql), '100/strict_order 100/strict_order 100/strict_order',
	'after the doc: server options set ef_search 100, role settings strict_order');
is(q_coord("SET ruvector.ef_search = 7; $settings_sql"),
	'100/strict_order 100/strict_order 100/strict_order',
	'a SET on the coordinator does not reach the shards');

# SQL that sets (or, for undef, drops) the libpq options of the three
# servers; the doc's block leaves them set.
my $have_options = 1;
sub set_options
{
	my ($opts) = @_;
	my $action = !defined $opts ? 'DROP options'
	  : ($have_options ? 'SET' : 'ADD') . " options '$opts'";
	$have_options = defined $opts;
	return join('', map { "ALTER SERVER shard$_ OPTIONS ($action);\n" } 1 .. 3);
}
is(q_coord($settings_sql . ";\n" . set_options('-c ruvector.ef_search=1000') . $settings_sql),
	"100/strict_order 100/strict_order 100/strict_order\n1000/strict_order 1000/strict_order 1000/strict_order",
	'ALTER SERVER ... SET options reaches the shards in the same session');

# ---- the plan
my $knn = 'SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT 10';
my $plan = q_coord("EXPLAIN (VERBOSE, COSTS OFF) $knn");
like($plan, qr/Limit.*\n.*InitPlan.*Merge Append/s, 'k-NN on the parent: Limit over Merge Append');
my @remote = $plan =~ /Remote SQL: (SELECT id, embedding FROM public\.items ORDER BY \(embedding OPERATOR\(public\.<->\) \$1::public\.ruvector\(784\)\) ASC NULLS LAST)$/mg;
is(scalar(@remote), 3, 'each of the 3 Foreign Scans sends ORDER BY <-> to its shard') or diag($plan);
unlike($plan, qr/^\s*(->\s*)?Sort(?! Key)/m, 'no Sort on the coordinator');
$plan = q_coord("BEGIN; ALTER SERVER shard1 OPTIONS (DROP extensions);"
	  . " EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items_shard1 ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT 10;"
	  . " ROLLBACK");
like($plan, qr/Remote SQL: SELECT id, embedding FROM public\.items$/m,
	"without extensions 'ruvector_tam' the ORDER BY stays on the coordinator")
  or diag($plan);

# ---- exact at ef_search 1000, recall at 40
my $got_sql = q{
	SELECT q.id AS qid,
		   array(SELECT s.id FROM items s ORDER BY s.embedding <-> q.embedding LIMIT 10) AS ids,
		   array(SELECT s.embedding <-> q.embedding FROM items s ORDER BY 1 LIMIT 10) AS d
	FROM queries q};
my $cmp_sql = qq{
	SELECT count(*) FILTER (WHERE g.d IS DISTINCT FROM t.d) || ' ' ||
		   count(*) FILTER (WHERE cardinality(g.ids) <> 10) || ' ' ||
		   round(sum(cardinality(ARRAY(SELECT unnest(g.ids) INTERSECT SELECT unnest(t.ids))))::numeric
				 / sum(cardinality(t.ids)), 4)
	FROM ($got_sql) g JOIN truth t USING (qid)};
my ($dmis, $short, $recall) = split ' ', q_coord($cmp_sql);
is($dmis, 0, "ef_search 1000 on the shards: all $N_QUERIES k-NN answers have the exact distances of one server");
is($short, 0, 'every answer has 10 rows');
cmp_ok($recall, '>=', 0.999, "ef_search 1000: recall\@10 $recall");
# ef_search reaches the shards' index scans: with 1 candidate and no
# iterative scan each shard's cursor yields one row
is( q_coord(set_options('-c ruvector.ef_search=1 -c ruvector.iterative_scan=off')
		  . "SELECT count(*) FROM ($knn) k"),
	3, 'ef_search 1 without iterative scans through the server options: one row per shard');
is(q_coord(set_options(undef) . $settings_sql), '40/strict_order 40/strict_order 40/strict_order',
	'without server options the shard role settings apply (ef_search 40)');
($dmis, $short, $recall) = split ' ', q_coord($cmp_sql);
cmp_ok($recall, '>=', 0.99, "ef_search 40 on the shards: recall\@10 $recall over $N_QUERIES queries ($dmis answers not exact)");
is($short, 0, 'every answer has 10 rows');

# ---- rows fetched from the shards per query
for my $s (@shards)
{
	$s->safe_psql('vectors', 'CREATE EXTENSION pg_stat_statements; SELECT pg_stat_statements_reset()');
}
q_coord("SELECT count(*) FROM ($got_sql) g WHERE cardinality(g.ids) = 10 AND cardinality(g.d) = 10");
my ($fetched, $fetches, $declares) = (0, 0, 0);
for my $s (@shards)
{
	my ($r, $c, $d) = split /\|/, $s->safe_psql('vectors', q{
		SELECT coalesce(sum(rows) FILTER (WHERE query LIKE 'FETCH%'), 0),
			   coalesce(sum(calls) FILTER (WHERE query LIKE 'FETCH%'), 0),
			   coalesce(sum(calls) FILTER (WHERE query LIKE 'DECLARE%'), 0)
		FROM pg_stat_statements});
	$fetched += $r;
	$fetches += $c;
	$declares += $d;
}
my $nscans = 2 * $N_QUERIES;	# two subqueries per query
is($declares, 3 * $nscans, "one remote cursor per shard per k-NN ($declares cursors for $nscans queries)");
my $per_query = $fetched / $nscans;
note(sprintf('rows fetched from the 3 shards per k = 10 query: %.1f (%d FETCHes for %d queries)',
		$per_query, $fetches, $nscans));
cmp_ok($per_query, '<=', 30, "rows fetched from the shards per k = 10 query: $per_query (fetch_size 10, 3 shards)");
cmp_ok($per_query, '>=', 10, 'at least the 10 rows of the answer were fetched');

# ---- filtered k-NN: the rows of the "opposite" class (T-shirt/Sandal,
# Trouser/Shirt, ...), 10% of the rows and few of them among a query's
# nearest neighbours, so the shards' index scans must keep searching
my $filt = 's.label = (q.label + 5) % 10';
$plan = q_coord(qq{EXPLAIN (VERBOSE, COSTS OFF) SELECT q.id, array(SELECT s.id FROM items s
	WHERE $filt ORDER BY s.embedding <-> q.embedding LIMIT 10) FROM queries q});
@remote = $plan =~ /Remote SQL: SELECT id, embedding FROM public\.items WHERE \(\(label = \(\(\$1::integer \+ 5\) % 10\)\)\) ORDER BY \(embedding OPERATOR\(public\.<->\) \$2::public\.ruvector\(784\)\) ASC NULLS LAST$/mg;
is(scalar(@remote), 3, 'filtered k-NN: the filter and the ORDER BY go to each shard (Merge Append)') or diag($plan);
my $filt_sql = qq{
	SELECT q.id, (q.label + 5) % 10 AS label,
		   array(SELECT s.embedding <-> q.embedding FROM items s WHERE $filt ORDER BY 1 LIMIT 10) AS d,
		   array(SELECT s.label FROM items s WHERE $filt ORDER BY s.embedding <-> q.embedding LIMIT 10) AS labels,
		   array(SELECT s.embedding <-> q.embedding FROM single.items s WHERE $filt ORDER BY 1 LIMIT 10) AS exact
	FROM queries q WHERE q.id <= $N_FILTERED};
my $filt_check = qq{
	SELECT count(*) FILTER (WHERE cardinality(d) = 10) || ' ' ||
		   count(*) FILTER (WHERE d = ARRAY(SELECT x FROM unnest(d) x ORDER BY x)) || ' ' ||
		   count(*) FILTER (WHERE label = ALL (labels)) || ' ' ||
		   sum(cardinality(d)) || ' ' ||
		   count(*) FILTER (WHERE d = exact)
	FROM ($filt_sql) f};
my ($full, $ordered, $right, $rows, $exact) = split ' ', q_coord($filt_check);
is($full, $N_FILTERED, "filtered k-NN: all $N_FILTERED queries return LIMIT 10 rows");
is($ordered, $N_FILTERED, 'filtered answers are in distance order');
is($right, $N_FILTERED, 'filtered answers satisfy the filter');
note("filtered k-NN, ef_search 40, strict_order: $exact of $N_FILTERED answers exact");
($full, $ordered, $right, $rows, $exact) = split ' ',
  q_coord(set_options('-c ruvector.iterative_scan=off') . $filt_check);
cmp_ok($rows, '<', 10 * $N_FILTERED,
	"with iterative_scan off sent through the server options, the same queries return fewer rows ($rows)");
q_coord(set_options(undef));

# ---- writes through the parent
sub shard_ids
{
	my ($cond) = @_;
	return join(' ', map { $_->safe_psql('vectors',
		"SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '-') FROM items WHERE $cond") } @shards);
}
sub expected_ids
{
	my ($from, $to) = @_;
	return join(' ', map { q_coord("SELECT coalesce(string_agg(i::text, ',' ORDER BY i), '-') FROM generate_series($from, $to) i"
		  . " WHERE satisfies_hash_partition('items'::regclass, 3, $_, i::bigint)") } 0 .. 2);
}
q_coord(q{INSERT INTO items SELECT 900000 + id, label, embedding FROM queries WHERE id <= 30});
is(shard_ids('id BETWEEN 900001 AND 900030'), expected_ids(900001, 900030),
	'INSERT through the parent: each row on its hash shard');
open(my $cf, '>', "$tmp/more.copy") or die $!;
open(my $qf, '<', "$tmp/queries.copy") or die $!;
while (<$qf>)
{
	last if $. > 30;
	s/^(\d+)/910000 + $1/e;
	print $cf $_;
}
close $qf;
close $cf;
q_coord("COPY items FROM '$tmp/more.copy'");
is(shard_ids('id BETWEEN 910001 AND 910030'), expected_ids(910001, 910030),
	'COPY through the parent: each row on its hash shard');
is( q_coord(q{SELECT count(*) FROM queries q WHERE q.id <= 30 AND
		(SELECT array_agg(id ORDER BY id) FROM (SELECT s.id FROM items s ORDER BY s.embedding <-> q.embedding LIMIT 2) n)
		= ARRAY[900000 + q.id, 910000 + q.id]}),
	30, 'k-NN through the parent finds the inserted and copied rows first');

q_coord(q{UPDATE items SET label = 42 WHERE id BETWEEN 900001 AND 900010});
is(shard_ids('label = 42'), expected_ids(900001, 900010), 'UPDATE through the parent changes the rows on their shards');
q_coord(q{UPDATE items SET embedding = (SELECT embedding FROM queries WHERE id = 50) WHERE id = 900011});
is( q_coord(q{SELECT s.id FROM items s ORDER BY s.embedding <-> (SELECT embedding FROM queries WHERE id = 50) LIMIT 1}),
	'900011', 'UPDATE of a vector through the parent: k-NN finds the new vector');
like(q_coord(q{SELECT err_of('UPDATE items SET id = 999999 WHERE id = 900012')}),
	qr/^0A000: cannot change the id of a row of a sharded table$/, 'the doc trigger refuses an UPDATE of the shard key');
is(shard_ids('id IN (900012, 999999)'), expected_ids(900012, 900012), 'the row keeps its id and shard');
q_coord(q{DELETE FROM items WHERE id BETWEEN 900001 AND 900030 OR id BETWEEN 910001 AND 910030});
is(shard_ids('id >= 900000'), '- - -', 'DELETE through the parent removes the rows from every shard');
is(q_coord('SELECT count(*) FROM items'), $N_ROWS, "the parent counts $N_ROWS rows again");

# ---- bad input: the same error as on one server
my $v = '(SELECT embedding FROM queries WHERE id = 1)';
for my $case (
	[ 'INSERT INTO %s VALUES (990001, 1, \'[1,2,3]\')', qr/^22000: expected 784 dimensions, not 3$/, 'wrong dimension' ],
	[ 'INSERT INTO %s VALUES (990001, 1, \'[1,2,x]\')', qr/^22P02: invalid input syntax for type vector/, 'bad vector text' ],
	[ "INSERT INTO %s VALUES (5, 1, $v)", qr/^23505: duplicate key value violates unique constraint "items_pkey"$/, 'duplicate id' ],
	[ 'SELECT id FROM %s ORDER BY embedding <-> \'[1,2,3]\' LIMIT 10', qr/^22000: different vector dimensions 784 and 3$/, 'query vector of another dimension' ],
	[ "COPY %s FROM '$tmp/bad.copy'", qr/^22000: expected 784 dimensions, not 2$/, 'COPY of a row of the wrong dimension' ])
{
	my ($tpl, $re, $what) = @$case;
	if ($what =~ /^COPY/)
	{
		open(my $bf, '>', "$tmp/bad.copy") or die $!;
		print $bf "990001\t1\t[1,2]\n";
		close $bf;
	}
	my $e1 = q_coord("SELECT err_of(\$q\$" . sprintf($tpl, 'items') . "\$q\$)");
	my $e2 = q_coord("SELECT err_of(\$q\$" . sprintf($tpl, 'single.items') . "\$q\$)");
	like($e1, $re, "$what through the parent: $e1");
	is($e1, $e2, "$what: same SQLSTATE and message as on one server");
}

# ---- a shard that is down
my $down = $shards[1];
my $id_on_1 = q_coord(q{SELECT min(id) FROM generate_series(1, 100) id WHERE satisfies_hash_partition('items'::regclass, 3, 0, id::bigint)});
my $new_on_2 = q_coord(q{SELECT min(id) FROM generate_series(1000001, 1000100) id WHERE satisfies_hash_partition('items'::regclass, 3, 1, id::bigint)});
$down->stop('fast');
my ($o, $e);
my $rc = $coord->psql('vectors', $knn, stdout => \$o, stderr => \$e);
isnt($rc, 0, 'k-NN with shard2 stopped fails');
like($e, qr/ERROR:  could not connect to server "shard2"/, 'the error names the shard that is down') or diag($e);
is($o, '', 'and returns no partial answer');
like(q_coord("SELECT err_of(\$q\$$knn\$q\$)"), qr/^08001: could not connect to server "shard2"$/, 'SQLSTATE 08001');
is(q_coord("SELECT count(*) FROM items WHERE id = $id_on_1"), 1, 'a query pruned to a live shard still runs');
like(q_coord("SELECT err_of(\$q\$INSERT INTO items VALUES ($new_on_2, 1, $v)\$q\$)"),
	qr/^08001: could not connect to server "shard2"$/, 'an INSERT routed to the stopped shard fails');
my $new_on_1 = q_coord(q{SELECT min(id) FROM generate_series(1000001, 1000100) id WHERE satisfies_hash_partition('items'::regclass, 3, 0, id::bigint)});
is(q_coord("INSERT INTO items VALUES ($new_on_1, 1, $v); DELETE FROM items WHERE id = $new_on_1 RETURNING id"),
	$new_on_1, 'an INSERT and a DELETE routed to a live shard still run');
$down->start;
is(q_coord("SELECT count(*) FROM ($knn) k"), 10, 'after the restart the k-NN on the parent answers again');

$_->stop for ($coord, @shards);
done_testing();
