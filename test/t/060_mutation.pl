# 060_mutation.pl: in-server mutation test of the ruvector type's input
# paths.  From valid values it derives, deterministically (fixed srand),
# mutated text inputs (byte flips, inserts, deletes, truncation, huge
# exponents, NaN/Inf spellings, giant dims) and mutated binary inputs
# (dim, unused, float bit patterns, truncation, wrong lengths, field counts,
# header damage), and feeds them
#	text:	as a quoted literal in INSERT into a ruvector table and its heap
#			twin, as a cast text -> ruvector(3), and as one row of a COPY
#			text file into both tables;
#	binary:	as one tuple of a byte-exact COPY binary file (PGCOPY header,
#			field count, field lengths, trailer) into both tables and into
#			a heap table with a ruvector(3) column.
# Every statement must either succeed or fail with one of the documented
# messages and SQLSTATEs (the type's, src/toast/vector_io.c and
# rv_vector.c, and COPY's own framing/encoding errors); "unresolved
# ruvector reference" (22P03) only for the documented case of a binary
# value whose dim is the vref marker.  Both tables must give the same
# outcome for each input, and a
# COPY text row without COPY metacharacters the same outcome as its
# literal.  The server must not crash (one session runs everything;
# postmaster start time unchanged; no "terminated by signal" in the log),
# and afterwards the ruvector table equals its heap twin (also after
# VACUUM) and ruvector_gc_orphans() finds nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

srand(20240601);

my $node = PostgreSQL::Test::Cluster->new('mutation');
$node->init;
$node->start;
my $dir = $node->basedir . '/inputs';
mkdir $dir or die "mkdir $dir: $!";

$node->safe_psql('postgres', q{
CREATE EXTENSION ruvector_tam;
CREATE TABLE mt (id int, v ruvector) USING ruvector;
CREATE TABLE mh (id int, v ruvector);
CREATE TABLE mh3 (id int, v ruvector(3));
-- try(sql, want): runs sql, returns hex of 'ok[:result]' or 'SQLSTATE:message'
CREATE FUNCTION try(sql text, want bool DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	r text;
BEGIN
	IF want THEN
		EXECUTE sql INTO r;
		RETURN encode(convert_to('ok:' || coalesce(r, 'NULL'), 'UTF8'), 'hex');
	END IF;
	EXECUTE sql;
	RETURN encode(convert_to('ok', 'UTF8'), 'hex');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN encode(convert_to(st || ':' || msg, 'UTF8'), 'hex');
END $$;
});
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

# ---- documented outcomes ----
my %type_errors = (
	'22P02' => qr/^invalid input syntax for type vector: ".*"\z/s,
	'22003' => qr/^".*" is out of range for type vector\z/s,
	'22000' => qr/^(NaN not allowed in vector|infinite value not allowed in vector|vector must have at least 1 dimension|expected -?\d+ dimensions, not -?\d+|expected unused to be 0, not -?\d+)\z/,
	'54000' => qr/^vector cannot have more than 16000 dimensions\z/,
);
# Core's errors on the way to the type: short binary value (pqformat),
# leftover bytes, COPY framing, encoding, the integer id column.
my %copy_errors = (
	'08P01' => qr/^insufficient data left in message\z/,
	'22P03' => qr/^incorrect binary data format\z/,
	'22P04' => qr/^(row field count is -?\d+, expected \d+|unexpected EOF in COPY data|invalid field size|COPY file signature not recognized|invalid COPY file header \(.*\)|unrecognized critical flags in COPY file header|extra data after last expected column|missing data for column ".*"|literal (carriage return|newline) found in data|end-of-copy marker (corrupt|does not match previous newline style)|received copy data after EOF marker)\z/s,
	'22021' => qr/^invalid byte sequence for encoding "UTF8": .*\z/s,
	'22P02' => qr/^invalid input syntax for type integer: ".*"\z/s,
);

# allowed($outcome, $copy, $vref): is this outcome documented?
sub allowed
{
	my ($o, $copy, $vref) = @_;
	return 1 if $o =~ /^ok/;
	my ($st, $msg) = $o =~ /^(\w{5}):(.*)\z/s or return 0;
	return 1 if $type_errors{$st} && $msg =~ $type_errors{$st};
	return 1 if $copy && $copy_errors{$st} && $msg =~ $copy_errors{$st};
	return 1 if $vref && $st eq '22P03' && $msg eq 'unresolved ruvector reference';
	return 0;
}

sub pick { return $_[ int(rand(@_)) ]; }

# ---- text inputs ----
my @text_seeds = ('[1,2,3]', '[1.5,-0.25,3.4028235e+38]', '[0]', ' [ 1 , 2 , 3 ] ',
	'[1e-45,-0,7.]', '[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]', '[-1.17549435e-38,+1e2,.5]');
my @specials = ('1e39', '-1e39', '1e-50', '1e999999999999', '-3.5e38', '3.4028236e38',
	'0x1p200', '0x1p-2', '1e+308', 'nan', 'NaN', '-nan', 'inf', 'Infinity', '-Infinity',
	'INF', '+inf', 'infinity1', '1e', 'e5', '.', '-', '0x', '1.5.5', '', ' ', '1e-46',
	'00000000000000000000000001', '1' . ('0' x 60), '0.' . ('0' x 60) . '1', '9' x 400);
my @chars = ('[', ']', ',', ' ', '-', '+', 'e', 'E', '.', '0', '1', '9', 'x', 'n', 'i',
	"\t", "\n", "\r", "\\", '"', "'", "\x0b", "\x0c", '{', '}', 'N', ';');

# mutate_text($s, $wide): one mutation; $wide allows any byte (COPY only)
sub mutate_text
{
	my ($s, $wide) = @_;
	my $op = int(rand(8));
	my $p = length($s) ? int(rand(length($s) + 1)) : 0;
	my $byte = $wide ? chr(1 + int(rand(255))) : chr(1 + int(rand(126)));
	if ($op == 0 && length $s)	# flip a byte
	{
		substr($s, $p % length($s), 1) = $byte;
	}
	elsif ($op == 1)				# insert a meaningful character
	{
		substr($s, $p, 0) = pick(@chars);
	}
	elsif ($op == 2 && length $s)	# delete a run
	{
		substr($s, $p % length($s), 1 + int(rand(3))) = '';
	}
	elsif ($op == 3)				# truncate
	{
		$s = substr($s, 0, $p);
	}
	elsif ($op == 4 || $op == 5)	# replace an element by a special spelling
	{
		my @e = split /,/, $s, -1;
		my $i = int(rand(@e || 1));
		my $sp = pick(@specials);
		$e[$i] = (defined $e[$i] && $e[$i] =~ /^\s*\[/ ? '[' : '') . $sp
		  . (defined $e[$i] && $e[$i] =~ /\]\s*$/ ? ']' : '');
		$s = join(',', @e);
	}
	elsif ($op == 6)				# insert a random byte
	{
		substr($s, $p, 0) = $byte;
	}
	else							# duplicate a slice
	{
		my $q = int(rand(length($s) + 1));
		($p, $q) = ($q, $p) if $q < $p;
		substr($s, $q, 0) = substr($s, $p, $q - $p);
	}
	return $s;
}

my @text;
push @text, '[' . join(',', (1) x 16000) . ']', '[' . join(',', (1) x 16001) . ']',
  '[' . join(',', ('0.5') x 16000) . ',]', '[]', '[ ]', '', '[1,2,3]';
while (@text < 1000)
{
	my $wide = @text % 5 == 0;
	my $s = pick(@text_seeds);
	$s = mutate_text($s, $wide) for 1 .. 1 + int(rand(3));
	$s =~ s/\0//g;
	push @text, $s;
}

# ---- binary inputs: [payload, tuple override, header override, vref flag] ----
sub f4 { return pack('N', unpack('L', pack('f', $_[0]))); }
my @fbits = (0x7fc00000, 0xffc00000, 0x7f800001, 0x7f800000, 0xff800000, 0x00000001,
	0x7f7fffff, 0x80000000, 0xff7fffff, 0x3f800000);

sub vec_payload
{
	my ($dim, $unused, @x) = @_;
	return pack('n n', $dim & 0xffff, $unused & 0xffff) . join('', map { f4($_) } @x);
}

# tuple($fields, $payload, $len): one COPY binary tuple; $len overrides
sub tuple
{
	my ($id, $payload, $len, $nfields) = @_;
	$len //= length($payload);
	$nfields //= 2;
	return pack('n', $nfields & 0xffff) . pack('N', 4) . pack('N', $id)
	  . pack('N', $len & 0xffffffff) . $payload;
}
my $header = "PGCOPY\n\377\r\n\0" . pack('N', 0) . pack('N', 0);
my $trailer = pack('n', 0xffff);

my @bin;	# [file bytes for (id placeholder), vref flag]
sub add_bin { push @bin, [@_]; }
my @good = (vec_payload(3, 0, 1, 2, 3), vec_payload(1, 0, -0.5), vec_payload(8, 0, 1 .. 8));
add_bin(vec_payload(16000, 0, (0.25) x 16000), 0);
add_bin(vec_payload(16001, 0, (0.25) x 16001), 0);
add_bin(vec_payload(16000, 0, (0.25) x 100), 0);
add_bin(vec_payload(-0x5256, 0, 1, 2, 3), 1);
add_bin(vec_payload(-0x5256, 3, 1, 2), 1);
add_bin($good[0], 0);
while (@bin < 1000)
{
	my $p = pick(@good);
	my $op = int(rand(11));
	my ($len, $nf, $hdr, $tail);
	if ($op == 0)		# dim: giant, negative, zero, off by one
	{
		substr($p, 0, 2) = pack('n', pick(0, 1, 2, 4, 7, 9, 16000, 16001, 32767, 0x8000, 0xffff, 0xfffe, int(rand(65536))));
	}
	elsif ($op == 1)	# unused
	{
		substr($p, 2, 2) = pack('n', pick(1, 0xffff, 0x8000, 0x0100, int(rand(65536))));
	}
	elsif ($op == 2)	# special float bit patterns
	{
		my $n = (length($p) - 4) / 4;
		substr($p, 4 + 4 * int(rand($n)), 4) = pack('N', pick(@fbits));
	}
	elsif ($op == 3)	# flip random bytes
	{
		for (1 .. 1 + int(rand(3)))
		{
			substr($p, int(rand(length $p)), 1) = chr(int(rand(256)));
		}
	}
	elsif ($op == 4)	# truncate, length field consistent
	{
		$p = substr($p, 0, int(rand(length $p)));
	}
	elsif ($op == 5)	# extra bytes, length field consistent
	{
		$p .= join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(6)));
	}
	elsif ($op == 6)	# length field wrong
	{
		$len = length($p) + pick(-5, -4, -1, 1, 3, 4, 100, 1 << 20, -length($p) - 2, 0x7fffffff);
	}
	elsif ($op == 7)	# field count wrong
	{
		$nf = pick(0, 1, 3, 0x7fff, 0xfffe);
	}
	elsif ($op == 8)	# header damage
	{
		$hdr = $header;
		substr($hdr, int(rand(length $hdr)), 1) = chr(int(rand(256)));
	}
	elsif ($op == 9)	# no trailer, or garbage after it
	{
		$tail = pick('', "\0", $trailer . 'x', pack('n', 2));
	}
	else				# NULL vector
	{
		$len = 0xffffffff;
		$p = '';
	}
	add_bin([$p, $len, $nf, $hdr, $tail], 0);
}
for my $b (@bin)	# plain payloads: default framing
{
	$b->[0] = [ $b->[0] ] unless ref $b->[0];
}

# ---- one psql session runs every statement ----
sub sqlq { my $s = shift; $s =~ s/'/''/g; return "'$s'"; }
my (@sql, @expect);	# @expect: [kind, input index, copy?, vref?, text]
push @sql, 'SELECT encode(convert_to(pg_backend_pid()::text, \'UTF8\'), \'hex\');';
for my $i (0 .. $#text)
{
	my $s = $text[$i];
	my $lit_ok = $s !~ /[^\x01-\x7f]/;
	my $id = 100000 + $i;
	if ($lit_ok)
	{
		for my $t ('mt', 'mh')
		{
			push @sql, 'SELECT try(' . sqlq("INSERT INTO $t VALUES ($id, " . sqlq($s) . ')') . ');';
			push @expect, [ "literal $t", $i, 0, 0 ];
		}
		push @sql, "SELECT try('SELECT convert_from(decode(''" . unpack('H*', $s)
		  . "'', ''hex''), ''UTF8'')::ruvector(3)::text', true);";
		push @expect, [ 'cast ruvector(3)', $i, 0, 0 ];
	}
	my $file = "$dir/t$i.txt";
	open(my $fh, '>:raw', $file) or die "$file: $!";
	print $fh (200000 + $i) . "\t$s\n";
	close $fh;
	for my $t ('mt', 'mh')
	{
		push @sql, 'SELECT try(' . sqlq("COPY $t FROM " . sqlq($file)) . ');';
		push @expect, [ "copy text $t", $i, 1, 0 ];
	}
}
for my $i (0 .. $#bin)
{
	my ($spec, $vref) = @{ $bin[$i] };
	my ($p, $len, $nf, $hdr, $tail) = @$spec;
	my $file = "$dir/b$i.bin";
	open(my $fh, '>:raw', $file) or die "$file: $!";
	print $fh ($hdr // $header) . tuple(300000 + $i, $p, $len, $nf) . ($tail // $trailer);
	close $fh;
	for my $t ('mt', 'mh', 'mh3')
	{
		push @sql, 'SELECT try(' . sqlq("COPY $t FROM " . sqlq($file) . ' WITH (FORMAT binary)') . ');';
		push @expect, [ "copy binary $t", $i, 1, $vref ];
	}
}
push @sql, 'SELECT encode(convert_to(pg_backend_pid()::text, \'UTF8\'), \'hex\');';

my ($out, $err) = ('', '');
$node->psql('postgres', join("\n", @sql), stdout => \$out, stderr => \$err);
my @res = map { pack('H*', $_) } split /\n/, $out;
my $pid_before = shift @res;
my $pid_after = pop @res;
is(scalar(@res), scalar(@expect), 'every statement returned (the session survived)')
  or diag($err);
is($pid_after, $pid_before, 'one backend ran every statement');

my $ntext = scalar(@text);
my $nbin = scalar(@bin);
note("inputs tried: $ntext text, $nbin binary; statements: " . scalar(@expect));
ok($ntext >= 500 && $nbin >= 500, "at least 500 text ($ntext) and 500 binary ($nbin) inputs");

# ---- outcomes ----
my (@bad, %by_input, %stats);
for my $k (0 .. $#expect)
{
	my ($kind, $i, $copy, $vref) = @{ $expect[$k] };
	my $o = $res[$k] // 'missing';
	$stats{ $o =~ /^ok/ ? 'ok' : substr($o, 0, 5) }++;
	push @bad, "$kind #$i: $o" unless allowed($o, $copy, $vref);
	$by_input{$kind =~ /binary/ ? "b$i" : "t$i"}{$kind} = $o;
}
is(scalar(@bad), 0, 'every outcome is success or a documented error')
  or diag(join("\n", @bad[ 0 .. ($#bad > 30 ? 30 : $#bad) ]));
note('outcomes: ' . join(', ', map { "$_ $stats{$_}" } sort keys %stats));

my @differ;
for my $key (sort keys %by_input)
{
	my $h = $by_input{$key};
	for my $pair ([ 'literal mt', 'literal mh' ], [ 'copy text mt', 'copy text mh' ],
		[ 'copy binary mt', 'copy binary mh' ])
	{
		next unless exists $h->{ $pair->[0] };
		push @differ, "$key: $pair->[0] => $h->{$pair->[0]}; $pair->[1] => $h->{$pair->[1]}"
		  if $h->{ $pair->[0] } ne $h->{ $pair->[1] };
	}
	# A COPY text row without COPY metacharacters reads like the literal.
	if ($key =~ /^t(\d+)$/ && exists $h->{'literal mh'} && $text[$1] !~ /[\t\n\r\\]/
		&& $text[$1] ne '\.')
	{
		push @differ, "$key: literal => $h->{'literal mh'}; copy text => $h->{'copy text mh'}"
		  if $h->{'literal mh'} ne $h->{'copy text mh'};
	}
}
is(scalar(@differ), 0, 'ruvector table and heap twin agree on every input; COPY text agrees with literals')
  or diag(join("\n", @differ[ 0 .. ($#differ > 30 ? 30 : $#differ) ]));

# ---- the server and the tables afterwards ----
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time,
	'postmaster start time unchanged');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated|PANIC:/,
	'no backend crashed');
my $diff_sql = q{SELECT count(*) FROM ((SELECT id, v::text FROM mt EXCEPT ALL SELECT id, v::text FROM mh)
	UNION ALL (SELECT id, v::text FROM mh EXCEPT ALL SELECT id, v::text FROM mt)) d};
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM mt');
ok($rows > 100, "inputs that succeeded were stored ($rows rows)");
is($node->safe_psql('postgres', $diff_sql), '0', 'ruvector table equals its heap twin');
$node->safe_psql('postgres', 'VACUUM mt; VACUUM mh');
is($node->safe_psql('postgres', $diff_sql), '0', 'ruvector table equals its heap twin after VACUUM');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ruvector_gc_orphans()'), '0',
	'ruvector_gc_orphans() finds no orphan');
SKIP:
{
	skip('ruvector_verify() does not exist yet', 1)
	  unless $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_proc WHERE proname = 'ruvector_verify'") > 0;
	is($node->safe_psql('postgres', q{SELECT count(*) FROM ruvector_verify('mt')}), '0',
		'ruvector_verify() reports no problem');
}

$node->stop;
done_testing();
