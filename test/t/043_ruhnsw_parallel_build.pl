# Parallel ruhnsw builds on 4,000 Fashion-MNIST images (784 dims): at the
# default max_parallel_maintenance_workers (2) the build goes parallel and
# the workers insert rows (their DEBUG1 counts), the index passes
# ruvector_verify, every row is reachable through it, recall@10 at the
# default ef_search against an exact scan is >= 0.99 and within 0.01 of a
# serial build's on the same rows (and within 0.03 at ef_search 10, where
# a worse graph shows); pg_stat_progress_create_index shows the
# rows inserted while the build runs; CREATE INDEX CONCURRENTLY builds in
# parallel too; a small store, max_parallel_maintenance_workers = 0 and a
# graph that does not fit into maintenance_work_mem build serially (the
# last on the index pages, with its NOTICE), with the same checks; VACUUM
# FULL and a table created and indexed in one transaction build in
# parallel, and row versions sharing a vid all get their TIDs.
use strict;
use warnings;
use IO::Uncompress::Gunzip;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $data = '/usr/share/datasets/fashion-mnist';
my $nrows = 4000;
my $nq = 50;

# the first $n images of an idx3 file as ruvector text
sub images
{
	my ($file, $n) = @_;
	my $z = IO::Uncompress::Gunzip->new("$data/$file")
	  or die "cannot read $data/$file";
	my $hdr = '';
	$z->read($hdr, 16) == 16 or die "short header in $file";
	my (undef, $count, $rows, $cols) = unpack('N4', $hdr);
	die "$file has only $count images" if $count < $n;
	my $size = $rows * $cols;
	my @out;
	for (1 .. $n)
	{
		my $buf = '';
		while (length($buf) < $size)
		{
			my $chunk;
			my $got = $z->read($chunk, $size - length($buf));
			die "short read in $file" unless $got && $got > 0;
			$buf .= $chunk;
		}
		push @out, '[' . join(',', unpack('C*', $buf)) . ']';
	}
	return @out;
}

my $node = PostgreSQL::Test::Cluster->new('ruhnsw_parallel_build');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 8\n");
$node->start;

my $dir = PostgreSQL::Test::Utils::tempdir;
my @train = images('train-images-idx3-ubyte.gz', $nrows);
my @test = images('t10k-images-idx3-ubyte.gz', $nq);
open(my $fh, '>', "$dir/items.copy") or die;
print $fh ($_ + 1) . "\t$train[$_]\n" for 0 .. $#train;
close $fh;
open($fh, '>', "$dir/queries.copy") or die;
print $fh ($_ + 1) . "\t$test[$_]\n" for 0 .. $#test;
close $fh;
chmod 0644, "$dir/items.copy", "$dir/queries.copy";

$node->safe_psql('postgres', qq{
	CREATE EXTENSION ruvector_tam;
	CREATE TABLE items (id bigint PRIMARY KEY, embedding ruvector(784)) USING ruvector;
	COPY items FROM '$dir/items.copy';
	CREATE TABLE queries (q int PRIMARY KEY, v ruvector(784));
	COPY queries FROM '$dir/queries.copy';
	ANALYZE items;
	-- exact top 10 of every query, by a sequential scan
	SET enable_indexscan = off;
	SET enable_bitmapscan = off;
	CREATE TABLE truth AS
		SELECT q.q, t.id FROM queries q,
			LATERAL (SELECT id FROM items ORDER BY embedding <-> q.v, id LIMIT 10) t;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM truth'), $nq * 10, 'exact answers computed');

my $recall_sql = q{
	SET enable_seqscan = off;
	SELECT round(count(*)::numeric / (SELECT count(*) FROM truth), 4)
	FROM queries q
		CROSS JOIN LATERAL (SELECT id FROM items ORDER BY embedding <-> q.v LIMIT 10) r
		JOIN truth t ON t.q = q.q AND t.id = r.id;
};
my $reach_sql = q{
	SET ruvector.ef_search = 1000;
	SET ruvector.iterative_scan = relaxed_order;
	SET enable_seqscan = off;
	SET enable_bitmapscan = off;
	SELECT (SELECT count(*) FROM (SELECT id FROM items
				ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 100000) s)
		|| ' ' ||
		(SELECT count(*) FROM items o WHERE o.id % 20 = 0
			AND (SELECT i.embedding <-> o.embedding FROM items i
				 ORDER BY i.embedding <-> o.embedding LIMIT 1) <> 0);
};
my $verify_sql = q{
	SELECT coalesce(string_agg(format('%s vid=%s: %s', kind, vid, detail), E'\n'), '')
	FROM ruvector_verify('items');
};

# builds an index with the settings given; returns psql's stderr
sub build
{
	my ($settings, $create) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', "SET client_min_messages = debug1; $settings; $create",
		stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
	return $stderr;
}

# the rows the leader and the workers inserted, from their DEBUG1 lines
sub inserted
{
	my ($stderr) = @_;
	my %n = (leader => 0, worker => 0, workers => 0);
	while ($stderr =~ /ruhnsw parallel build: (leader|worker) inserted (\d+) of/g)
	{
		$n{$1} += $2;
		$n{workers}++ if $1 eq 'worker';
	}
	return \%n;
}

# serial reference on the same rows
my $err = build('SET max_parallel_maintenance_workers = 0',
	'CREATE INDEX items_idx ON items USING ruhnsw (embedding) WITH (m = 16, ef_construction = 64)');
unlike($err, qr/parallel workers/, 'max_parallel_maintenance_workers = 0: serial build');
my $serial_recall = $node->safe_psql('postgres', $recall_sql);
my $serial_recall10 = $node->safe_psql('postgres', "SET ruvector.ef_search = 10; $recall_sql");
diag("serial build: recall\@10 at the default ef_search $serial_recall, at ef_search 10 $serial_recall10");
is($node->safe_psql('postgres', $verify_sql), '', 'serial build: ruvector_verify clean');
is($node->safe_psql('postgres', $reach_sql), "$nrows 0", 'serial build: every row reachable');
$node->safe_psql('postgres', 'DROP INDEX items_idx');

# parallel, at the default settings
$err = build('',
	'CREATE INDEX items_idx ON items USING ruhnsw (embedding) WITH (m = 16, ef_construction = 64)');
like($err, qr/ruhnsw build of "items_idx": using 2 parallel workers/,
	'default settings: the build launches 2 parallel workers');
my $n = inserted($err);
is($n->{workers}, 2, 'both workers report');
is($n->{leader} + $n->{worker}, $nrows, 'leader and workers inserted every row once');
cmp_ok($n->{worker}, '>', 0, 'the workers inserted rows');
diag("parallel build: leader inserted $n->{leader}, workers $n->{worker}");
unlike($err, qr/WARNING/, 'no warnings from the parallel build');
is($node->safe_psql('postgres', $verify_sql), '', 'parallel build: ruvector_verify clean');
is($node->safe_psql('postgres', $reach_sql), "$nrows 0", 'parallel build: every row reachable');
my $par_recall = $node->safe_psql('postgres', $recall_sql);
diag("parallel build: recall\@10 at the default ef_search $par_recall");
cmp_ok($par_recall, '>=', 0.99, 'parallel build: recall@10 >= 0.99 at the default ef_search');
cmp_ok($par_recall, '>=', $serial_recall - 0.01, 'parallel build: recall within 0.01 of the serial build');
my $par_recall10 = $node->safe_psql('postgres', "SET ruvector.ef_search = 10; $recall_sql");
diag("parallel build: recall\@10 at ef_search 10 $par_recall10");
cmp_ok($par_recall10, '>=', $serial_recall10 - 0.03,
	'parallel build: recall at ef_search 10 within 0.03 of the serial build');
is($node->safe_psql('postgres', q{
	SELECT reltuples FROM pg_class WHERE relname = 'items_idx'}), $nrows,
	'the index reports every row');
$node->safe_psql('postgres', 'DROP INDEX items_idx');

# progress while a parallel build runs (a larger ef_construction makes it last)
my ($bout, $berr) = ('', '');
my $bg = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-c',
	  'CREATE INDEX items_idx ON items USING ruhnsw (embedding) WITH (m = 16, ef_construction = 400)' ],
	'>', \$bout, '2>', \$berr);
my @seen;
while ($bg->pumpable)
{
	my $row = $node->safe_psql('postgres', q{
		SELECT phase || '|' || tuples_total || '|' || tuples_done
		FROM pg_stat_progress_create_index WHERE relid = 'items'::regclass});
	push @seen, $row if $row ne '';
	$bg->pump_nb;
}
$bg->finish;
is($bg->result(0), 0, 'the observed build succeeded');
my @mid = grep {
	my ($phase, $total, $done) = split /\|/;
	$phase eq 'building index: loading tuples' && $total == $nrows && $done > 0 && $done < $nrows
} @seen;
diag('progress samples: ' . scalar(@seen) . ', mid-build: ' . scalar(@mid));
cmp_ok(scalar(@mid), '>', 0,
	'pg_stat_progress_create_index: loading tuples, tuples_total = rows, 0 < tuples_done < total');
$node->safe_psql('postgres', 'DROP INDEX items_idx');

# CREATE INDEX CONCURRENTLY (an MVCC snapshot for the parallel scan)
$err = build('', 'CREATE INDEX CONCURRENTLY items_idx ON items USING ruhnsw (embedding)');
like($err, qr/using 2 parallel workers/, 'CONCURRENTLY: parallel build');
is(inserted($err)->{leader} + inserted($err)->{worker}, $nrows, 'CONCURRENTLY: every row inserted once');
is($node->safe_psql('postgres', $verify_sql), '', 'CONCURRENTLY: ruvector_verify clean');
is($node->safe_psql('postgres', $reach_sql), "$nrows 0", 'CONCURRENTLY: every row reachable');
$node->safe_psql('postgres', 'DROP INDEX items_idx');

# the serial on-disk fallback: the graph does not fit into maintenance_work_mem
$err = build(q{SET maintenance_work_mem = '1MB'},
	'CREATE INDEX items_idx ON items USING ruhnsw (embedding)');
like($err, qr/NOTICE:  ruhnsw graph does not fit into maintenance_work_mem/,
	'small maintenance_work_mem: NOTICE of the on-disk build');
unlike($err, qr/parallel workers/, 'small maintenance_work_mem: serial build');
is($node->safe_psql('postgres', $verify_sql), '', 'on-disk build: ruvector_verify clean');
is($node->safe_psql('postgres', $reach_sql), "$nrows 0", 'on-disk build: every row reachable');
my $disk_recall = $node->safe_psql('postgres', $recall_sql);
diag("on-disk build: recall\@10 at the default ef_search $disk_recall");
cmp_ok($disk_recall, '>=', 0.99, 'on-disk build: recall@10 >= 0.99');
$node->safe_psql('postgres', 'DROP INDEX items_idx');

# a store smaller than min_parallel_table_scan_size builds serially
$node->safe_psql('postgres', q{
	CREATE TABLE small (id bigint PRIMARY KEY, embedding ruvector(784)) USING ruvector;
	INSERT INTO small SELECT id, embedding FROM items WHERE id <= 500;
});
$err = build('', 'CREATE INDEX small_idx ON small USING ruhnsw (embedding)');
unlike($err, qr/parallel workers/, 'a small store builds serially at the default settings');
$err = build('SET min_parallel_table_scan_size = 0',
	'CREATE INDEX small_idx2 ON small USING ruhnsw (embedding)');
like($err, qr/using 2 parallel workers/, 'min_parallel_table_scan_size = 0: parallel');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SET ruvector.ef_search = 1000;
	SELECT count(*) FROM (SELECT id FROM small ORDER BY embedding <-> (SELECT embedding FROM small WHERE id = 7) LIMIT 1000) s}),
	'500', 'small parallel build: every row reachable');

# rebuilds: VACUUM FULL (new storage and stores), and a table created,
# filled and indexed in one transaction (workers see its stores)
$err = build('SET min_parallel_table_scan_size = 0', 'VACUUM FULL small');
is(() = $err =~ /using 2 parallel workers/g, 2, 'VACUUM FULL rebuilds both ruhnsw indexes in parallel');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('small')}), '0',
	'after VACUUM FULL: ruvector_verify clean');
$err = build('SET min_parallel_table_scan_size = 0', q{
	BEGIN;
	CREATE TABLE fresh (id bigint PRIMARY KEY, embedding ruvector(784)) USING ruvector;
	INSERT INTO fresh SELECT id, embedding FROM items WHERE id <= 700;
	CREATE INDEX fresh_idx ON fresh USING ruhnsw (embedding);
	COMMIT;
});
like($err, qr/ruhnsw build of "fresh_idx": using 2 parallel workers/,
	'a table created and indexed in one transaction: parallel build');
is(inserted($err)->{leader} + inserted($err)->{worker}, 700, 'every row of the new table inserted once');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('fresh')}), '0',
	'new table: ruvector_verify clean');

# row versions sharing a vid (a non-HOT UPDATE keeps the vector): the
# build in the updating transaction indexes both versions of each row, so
# every node gets its further TIDs; a build that kept one TID per vid
# would lose the new versions of about half of the updated rows
$err = build('SET min_parallel_table_scan_size = 0', q{
	BEGIN;
	UPDATE fresh SET id = id + 100000 WHERE id % 10 = 0;
	DROP INDEX fresh_idx;
	CREATE INDEX fresh_idx ON fresh USING ruhnsw (embedding);
	COMMIT;
});
like($err, qr/ruhnsw build of "fresh_idx": using 2 parallel workers/,
	'shared vids: parallel build');
is(inserted($err)->{leader} + inserted($err)->{worker}, 770,
	'shared vids: 700 rows and the 70 old versions indexed');
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SET ruvector.ef_search = 1000;
	SELECT count(*) || ' ' || count(*) FILTER (WHERE id > 100000)
	FROM (SELECT id FROM fresh ORDER BY embedding <-> (SELECT embedding FROM fresh WHERE id = 7) LIMIT 1000) s}),
	'700 70', 'shared vids: every row, updated ones included, found through the index');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('fresh')}), '0',
	'shared vids: ruvector_verify clean');

$node->stop;
done_testing();
