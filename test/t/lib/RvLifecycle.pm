# RvLifecycle: the data set and the checks shared by the lifecycle tests
# (test/t/023_pg_upgrade.pl, test/t/024_database_moves.pl), which prove that
# every vector and every ruhnsw index of a ruvector table survives a
# PostgreSQL operation that moves or copies a database's files.
#
# rv_populate builds, in one database, ruvector tables each with a heap
# twin holding the same rows:
#   t / h    2,000 rows x 64 dims (v) and 8 dims (w), deterministic
#            (sin-based), NULLs in both vector columns, deleted rows,
#            updated vectors and updated non-vector columns; ruhnsw
#            indexes t_v (l2) and t_w (cosine), a btree primary key
#   u / uh   unlogged, 500 rows, ruhnsw index u_v
#   s / sh   (only when a tablespace is named) 300 rows in that tablespace,
#            ruhnsw index s_v
# plus pg_prewarm, so that a store relation can be read by PostgreSQL's own
# buffer machinery.
#
# rv_snapshot returns what must be equal before and after the operation:
# per table the row count and an md5 over (id, v::text, w::text, note), an
# md5 over the binary send form of both vectors (bit-exact), the k-NN
# answers (ids and distances) through each ruhnsw index with the exact scan
# and sequential scans off, the plan of that query, and the storage report.
#
# rv_check_copy compares a database with a snapshot (test points named
# "<label>: <key>") and then checks what must hold in any healthy copy:
# every ruvector table equals its heap twin, ruvector_verify finds nothing,
# ruvector_gc_orphans finds nothing, INSERT / UPDATE / DELETE / VACUUM work
# (the ruvector table still equals its twin, a new vector is found through
# the index, verify still clean), and pg_prewarm of every store relation
# returns its block count (the report's pages, pg_relation_size / BLCKSZ).  A failing query yields the value
# "ERROR: <message>" so that the test point fails with the server's message
# instead of ending the test.
package RvLifecycle;

use strict;
use warnings;
use Exporter 'import';
use Test::More;

our @EXPORT = qw(rv_populate rv_snapshot rv_check_copy rv_query rv_is);

# ruvector table => its heap twin
my %twin = (t => 'h', u => 'uh', s => 'sh');

# first id of the rows the next rv_check_copy inserts
my $next_id = 100000;

# rv_query(node, db, sql): the output of sql, or "ERROR: <first error line>"
# when psql fails.
sub rv_query
{
	my ($node, $db, $sql) = @_;
	my ($ret, $out, $err);

	# psql may exit before reading its input (no such database): the
	# write then fails with EPIPE inside IPC::Run, which dies
	eval { ($ret, $out, $err) = $node->psql($db, $sql); 1 }
	  or return 'ERROR: ' . (split /\n/, $@)[0];
	return $out if $ret == 0;
	my ($first) = grep { /ERROR|FATAL|PANIC|could not/ } split /\n/, $err;
	return 'ERROR: ' . ($first // $err // "psql exit $ret");
}

# rv_is(got, want, name): is() that fails when either side is an error
# (two equal error messages are not equal results).
sub rv_is
{
	my ($got, $want, $name) = @_;
	if (grep { !defined($_) || /^ERROR: / } ($got, $want))
	{
		fail($name);
		diag("     got: " . ($got // 'undef') . "\nexpected: " . ($want // 'undef'));
		return 0;
	}
	return is($got, $want, $name);
}

# rv_populate(node, db, tablespace => name): creates the extension and the
# tables above in db (s and sh only when tablespace is given).
sub rv_populate
{
	my ($node, $db, %opt) = @_;

	$node->safe_psql($db, q{
CREATE EXTENSION ruvector_tam;
CREATE EXTENSION pg_prewarm;
CREATE FUNCTION vec(id int, seed int, d int) RETURNS ruvector
LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg((sin(id * 0.37 + j * 1.3 + seed) + 0.25 * cos(id * j * 0.011))::real ORDER BY j)::ruvector
	FROM generate_series(1, d) j $$;
CREATE TABLE t (id int PRIMARY KEY, v ruvector(64), w ruvector(8), note text) USING ruvector;
CREATE TABLE h (id int PRIMARY KEY, v ruvector(64), w ruvector(8), note text);
INSERT INTO h SELECT g, CASE WHEN g % 37 <> 0 THEN vec(g, 0, 64) END,
	CASE WHEN g % 5 <> 0 THEN vec(g, 1, 8) END, 'row ' || g
	FROM generate_series(1, 2000) g;
INSERT INTO t SELECT * FROM h;
CREATE INDEX t_v ON t USING ruhnsw (v);
CREATE INDEX t_w ON t USING ruhnsw (w vector_cosine_ops) WITH (m = 8, ef_construction = 32);
DELETE FROM t WHERE id % 10 = 3;
DELETE FROM h WHERE id % 10 = 3;
UPDATE t SET v = vec(id, 2, 64) WHERE id % 10 = 7;
UPDATE h SET v = vec(id, 2, 64) WHERE id % 10 = 7;
UPDATE t SET note = 'updated ' || id WHERE id % 10 = 1;
UPDATE h SET note = 'updated ' || id WHERE id % 10 = 1;
CREATE UNLOGGED TABLE u (id int PRIMARY KEY, v ruvector(64), w ruvector(8), note text) USING ruvector;
CREATE UNLOGGED TABLE uh (id int PRIMARY KEY, v ruvector(64), w ruvector(8), note text);
INSERT INTO uh SELECT g, vec(g, 5, 64), CASE WHEN g % 3 <> 0 THEN vec(g, 6, 8) END, 'u ' || g
	FROM generate_series(1, 500) g;
INSERT INTO u SELECT * FROM uh;
CREATE INDEX u_v ON u USING ruhnsw (v);
DELETE FROM u WHERE id % 7 = 0;
DELETE FROM uh WHERE id % 7 = 0;
VACUUM t;
VACUUM h;
});
	if (my $ts = $opt{tablespace})
	{
		$node->safe_psql($db, qq{
CREATE TABLE s (id int PRIMARY KEY, v ruvector(64), w ruvector(8), note text) USING ruvector TABLESPACE $ts;
CREATE TABLE sh (id int PRIMARY KEY, v ruvector(64), w ruvector(8), note text) TABLESPACE $ts;
INSERT INTO sh SELECT g, vec(g, 7, 64), vec(g, 8, 8), NULL FROM generate_series(1, 300) g;
INSERT INTO s SELECT * FROM sh;
CREATE INDEX s_v ON s USING ruhnsw (v) TABLESPACE $ts;
});
	}
	return;
}

# the ruvector tables of db (t, u and, when it exists, s)
sub rv_tables
{
	my ($node, $db) = @_;
	my $have = rv_query($node, $db, q{SELECT to_regclass('s') IS NOT NULL});
	return ('t', 'u', ($have eq 't' ? ('s') : ()));
}

# md5 text form, md5 binary form and row count of a table's rows
sub rows_sql
{
	my ($rel) = @_;
	return qq{SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ' ' || coalesce(v::text, '-') || ' '
		|| coalesce(w::text, '-') || ' ' || coalesce(note, '-'), E'\\n' ORDER BY id)), '-') FROM $rel};
}

sub bin_sql
{
	my ($rel) = @_;
	return qq{SELECT coalesce(md5(string_agg(id || ' ' || coalesce(encode(ruvector_send(v), 'hex'), '-') || ' '
		|| coalesce(encode(ruvector_send(w), 'hex'), '-'), E'\\n' ORDER BY id)), '-') FROM $rel};
}

# k-NN through the index on rel.col by op: 20 queries, 10 answers each
sub knn_sql
{
	my ($rel, $col, $op, $dims, $explain) = @_;
	my $q = "vec(k * 101, 9, $dims)";
	return q{SET ruvector.enable_exact_scan = off; SET enable_seqscan = off; }
	  . ($explain ? 'EXPLAIN (COSTS OFF) ' : '')
	  . qq{SELECT string_agg(k || '=' || ids, ';' ORDER BY k) FROM generate_series(1, 20) k,
		LATERAL (SELECT string_agg(id || ':' || d, ',' ORDER BY d, id) ids FROM
			(SELECT id, $col $op $q d FROM $rel ORDER BY $col $op $q LIMIT 10) x) y};
}

my @knn = ([ 't', 'v', '<->', 64 ], [ 't', 'w', '<=>', 8 ], [ 'u', 'v', '<->', 64 ], [ 's', 'v', '<->', 64 ]);

# rv_snapshot(node, db) -> hashref key => value of what a copy must equal
sub rv_snapshot
{
	my ($node, $db) = @_;
	my %tables = map { $_ => 1 } rv_tables($node, $db);
	my %snap;

	for my $rel (sort keys %tables)
	{
		$snap{"rows $rel"} = rv_query($node, $db, rows_sql($rel));
		$snap{"binary $rel"} = rv_query($node, $db, bin_sql($rel));
		$snap{"storage report $rel"} = rv_query($node, $db, qq{SELECT string_agg(concat_ws(':', store, column_name,
			dims, tier, live_vectors, dead_vectors, free_slots, pages, bytes), ' ' ORDER BY store, tier)
			FROM ruvector_storage_report('$rel')});
	}
	for my $k (@knn)
	{
		my ($rel, $col, $op, $dims) = @$k;
		next unless $tables{$rel};
		$snap{"knn $rel.$col"} = rv_query($node, $db, knn_sql($rel, $col, $op, $dims));
		my $plan = rv_query($node, $db, knn_sql($rel, $col, $op, $dims, 1));
		# the index the plan scans (the one thing that matters here)
		$snap{"knn plan $rel.$col"} = join(',', $plan =~ /(Index Scan using \w+ on \w+)/g) || $plan;
	}
	return \%snap;
}

# rv_check_copy(node, db, want, label, skip => [keys]): the test points
# described at the top; want is a snapshot (keys listed in skip are not
# compared).  Changes db (writes rows, runs VACUUM).
sub rv_check_copy
{
	my ($node, $db, $want, $label, %opt) = @_;
	my %skip = map { $_ => 1 } @{ $opt{skip} // [] };
	my @tables = rv_tables($node, $db);

	my $got = rv_snapshot($node, $db);
	for my $key (sort keys %$want)
	{
		next if $skip{$key};
		rv_is($got->{$key}, $want->{$key}, "$label: $key equals the source");
	}
	for my $rel (@tables)
	{
		my $twin = $twin{$rel};
		rv_is($got->{"rows $rel"}, rv_query($node, $db, rows_sql($twin)), "$label: $rel equals its heap twin $twin");
		is(rv_query($node, $db, qq{SELECT coalesce(string_agg(concat_ws(' ', kind, store, blkno, vid, detail),
			E'\\n' ORDER BY kind, store, blkno, vid), '') FROM ruvector_verify('$rel')}),
			'', "$label: ruvector_verify('$rel') finds no problem");
	}
	# (whole rows: the output columns are not what this test is about)
	is(rv_query($node, $db, q{SELECT coalesce(string_agg(o::text, E'\n' ORDER BY o::text), '') FROM ruvector_gc_orphans() o}),
		'', "$label: ruvector_gc_orphans finds nothing");

	# writes: INSERT, UPDATE of a vector, DELETE, VACUUM in every table,
	# each table with its twin in one transaction; new ids never used before
	# in this test (copies inherit their source's rows)
	my $base = $next_id;
	my $end = $base + 49;
	$next_id += 1000;
	for my $rel (@tables)
	{
		my $twin = $twin{$rel};
		my $res = rv_query($node, $db, qq{
BEGIN;
INSERT INTO $rel SELECT g, vec(g, 3, 64), vec(g, 4, 8), 'new ' || g FROM generate_series($base, $end) g;
INSERT INTO $twin SELECT g, vec(g, 3, 64), vec(g, 4, 8), 'new ' || g FROM generate_series($base, $end) g;
UPDATE $rel SET v = vec(id, 5, 64) WHERE id % 50 = 2;
UPDATE $twin SET v = vec(id, 5, 64) WHERE id % 50 = 2;
DELETE FROM $rel WHERE id % 50 = 4;
DELETE FROM $twin WHERE id % 50 = 4;
COMMIT;
VACUUM $rel;
VACUUM $twin;
SELECT 'ok'});
		is($res, 'ok', "$label: INSERT, UPDATE, DELETE, VACUUM on $rel");
		rv_is(rv_query($node, $db, rows_sql($rel)), rv_query($node, $db, rows_sql($twin)),
			"$label: after the writes $rel equals its heap twin $twin");
		my $probe = $base + 7;
		is(rv_query($node, $db, qq{SET ruvector.enable_exact_scan = off; SET enable_seqscan = off;
			SELECT id FROM $rel ORDER BY v <-> vec($probe, 3, 64) LIMIT 1}),
			$probe, "$label: a new vector of $rel is found through its ruhnsw index");
		is(rv_query($node, $db, qq{SELECT count(*) FROM ruvector_verify('$rel')}), '0',
			"$label: ruvector_verify('$rel') clean after the writes");
		# every store relation (at least one, now that it has rows, and one
		# not empty) is read in full by pg_prewarm
		my $prewarm = rv_query($node, $db, qq{SELECT count(*) || ' ' || count(*) FILTER (WHERE pg_prewarm(relation) = pages)
			|| ' ' || count(*) FILTER (WHERE pg_relation_size(relation) = pages * current_setting('block_size')::int8)
			|| ' ' || count(*) FILTER (WHERE pages > 0) FROM ruvector_storage_report('$rel')});
		like($prewarm, qr/^([1-9]\d*) \1 \1 [1-9]\d*$/,
			"$label: pg_prewarm and pg_relation_size of every store relation of $rel give its pages");
	}
	return;
}

1;
