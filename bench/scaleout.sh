#!/usr/bin/env bash
# scaleout.sh (make bench-scaleout): the sharded setup of docs/scale-out.md
# (a coordinator whose partitioned table "items" has three postgres_fdw
# foreign partitions, each a USING ruvector table with its own ruhnsw index
# on its own shard server) against the same rows in one ruvector table on
# one server, on Fashion-MNIST (N_TRAIN training rows, default all 60,000;
# 784 dimensions), with the project's libpq client bench/rvbench.c for
# both (prepared statements, binary vectors, one connection):
#   - COPY seconds (through the parent / into the single table) and ruhnsw
#     build seconds (the three shards build at the same time);
#   - per ruvector.ef_search value (EF_LIST, default "40 100"): recall@10
#     against exact answers from the single table (first NQ_RECALL queries,
#     default 1000), QPS, p50 and p99 over NQ queries (default 5000);
#   - rows fetched from the shards per query, and FETCH round trips, from
#     pg_stat_statements on the shards.
# The shards get ef_search through the coordinator's server options (ALTER
# SERVER ... OPTIONS (SET options '-c ruvector.ef_search=N')), the single
# table through SET.  Everything runs in throwaway clusters under one
# temporary directory owned by the cluster user: the SQL blocks of
# docs/scale-out.md, rvbench and the data are copied or built there, so a
# 0700 checkout run as root works.  All four servers share this machine's
# cores, so the sharded figures measure the protocol's overhead, not
# added hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
T_START=$(date +%s.%N)
NQ=${NQ:-5000}
NQ_RECALL=${NQ_RECALL:-1000}
EF_LIST=${EF_LIST:-40 100}

say() { printf '\n== %s\n' "$*"; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc -l)"; }

. scripts/install.sh
rv_install

. scripts/cluster.sh
rv_cluster_start "shared_buffers = 512MB"		# the coordinator
COORD_PORT=$PGPORT
run() { rv_as_owner "$@"; }

# ---- three shard servers beside the coordinator, stopped on exit
SHARD_PORTS=()
scaleout_stop() {
	local i
	for i in 1 2 3; do
		if [ -f "$RV_TMP/shard$i/postmaster.pid" ]; then
			rv_as_owner pg_ctl -D "$RV_TMP/shard$i" -m immediate stop >/dev/null 2>&1 || true
		fi
	done
	rv_cluster_stop
}
trap scaleout_stop EXIT
for i in 1 2 3; do
	p=$(rv_free_port)
	SHARD_PORTS+=("$p")
	run initdb -D "$RV_TMP/shard$i" -A trust -U "$PGUSER" --no-sync >"$RV_TMP/initdb-shard$i.log" 2>&1 \
		|| { cat "$RV_TMP/initdb-shard$i.log"; exit 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$PGHOST'"
		echo "port = $p"
		echo "fsync = off"
		echo "shared_buffers = 256MB"
		echo "maintenance_work_mem = 512MB"
		echo "shared_preload_libraries = 'pg_stat_statements'"
	} | run tee -a "$RV_TMP/shard$i/postgresql.conf" >/dev/null
	run pg_ctl -D "$RV_TMP/shard$i" -l "$RV_TMP/shard$i.log" -w start >/dev/null \
		|| { cat "$RV_TMP/shard$i.log"; exit 1; }
done
# psql on one server's database "vectors": on COORD|1|2|3 [psql args]
on() {
	local port=$COORD_PORT
	[ "$1" = COORD ] || port=${SHARD_PORTS[$(($1 - 1))]}
	shift
	run psql -X -q -At -v ON_ERROR_STOP=1 -p "$port" -d vectors "$@"
}
for s in COORD 1 2 3; do
	port=$COORD_PORT; [ "$s" = COORD ] || port=${SHARD_PORTS[$((s - 1))]}
	run psql -X -q -p "$port" -d postgres -c "CREATE DATABASE vectors"
done

# ---- data and client, inside the throwaway directory
D="$RV_TMP/data-fmnist"
bash bench/prepare-data.sh "$D"
Q="$D/test.copy"
run cp "$D/train.copy" "$RV_TMP/items.copy"
if [ -n "${N_TRAIN:-}" ]; then
	head -n "$N_TRAIN" "$D/train.copy" | run tee "$RV_TMP/items.copy" >/dev/null
fi
ROWS=$(wc -l < "$RV_TMP/items.copy")
cc -O2 -Wall -Wextra -Werror -I"$(pg_config --includedir)" -o "$RV_TMP/rvbench" \
	bench/rvbench.c -L"$(pg_config --libdir)" -lpq -lm
chmod 755 "$RV_TMP/rvbench"
RVB="$RV_TMP/rvbench"

# ---- the doc's SQL blocks, one file each (kind: shards or coordinator)
run mkdir "$RV_TMP/doc"
cp docs/scale-out.md "$RV_TMP/doc/scale-out.md"
chmod 644 "$RV_TMP/doc/scale-out.md"
run perl -e '
	my ($md, $dir) = @ARGV;
	open(my $f, "<", $md) or die "$md: $!";
	my $doc = do { local $/; <$f> };
	my $n = 0;
	while ($doc =~ /<!-- test: (\w+) -->\s*\n```sql\n(.*?)```/sg) {
		$n++;
		open(my $o, ">", sprintf("%s/%02d-%s.sql", $dir, $n, $1)) or die $!;
		print $o $2;
	}
	die "no marked blocks in $md\n" unless $n;' "$RV_TMP/doc/scale-out.md" "$RV_TMP/doc"
VARS=(-v shard_password=bench-secret)
for i in 1 2 3; do VARS+=(-v "shard${i}_host=$PGHOST" -v "shard${i}_port=${SHARD_PORTS[$((i - 1))]}"); done

say "docs/scale-out.md on a coordinator and 3 shards; $ROWS rows"
COPY_SHARDED=null BUILD_SHARDED=null
for f in "$RV_TMP"/doc/*.sql; do
	b=$(basename "$f")
	t0=$(now)
	case "$b" in
		*-shards.sql)
			# the three shards at once (the index build is the long part)
			pids=()
			for i in 1 2 3; do on "$i" "${VARS[@]}" -f "$f" >/dev/null & pids+=($!); done
			for p in "${pids[@]}"; do wait "$p"; done
			grep -q 'CREATE INDEX' "$f" && BUILD_SHARDED=$(since "$t0") ;;
		*-coordinator.sql)
			(cd "$RV_TMP" && on COORD "${VARS[@]}" -f "$f" >/dev/null)
			grep -q '\\copy items' "$f" && COPY_SHARDED=$(since "$t0") ;;
	esac
	echo "$b: $(since "$t0") s"
done
counts=$(for i in 1 2 3; do on "$i" -c "SELECT count(*) FROM items"; done | paste -sd' ')
echo "rows per shard: $counts"

say "one server: the same rows in one ruvector table with one ruhnsw index"
on COORD -c "CREATE TABLE fm_single (id bigint PRIMARY KEY, label int NOT NULL, embedding ruvector(784)) USING ruvector"
t0=$(now)
(cd "$RV_TMP" && on COORD -c "\\copy fm_single FROM 'items.copy'")
COPY_SINGLE=$(since "$t0")
t0=$(now)
on COORD -c "SET maintenance_work_mem = '512MB'" \
	-c "CREATE INDEX fm_single_idx ON fm_single USING ruhnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" \
	-c "ANALYZE fm_single"
BUILD_SINGLE=$(since "$t0")
echo "COPY $COPY_SINGLE s, ruhnsw build $BUILD_SINGLE s"

say "exact answers for the first $NQ_RECALL queries (single table, $(nproc) connections)"
run env PGPORT="$COORD_PORT" PGDATABASE=vectors "$RVB" truth -t fm_single -q "$Q" -n "$NQ_RECALL" \
	-o "$RV_TMP/truth.txt" -j "$(nproc)"

declare -A R QPS P50 P99 FETCHED ROUNDS
for i in 1 2 3; do on "$i" -c "CREATE EXTENSION pg_stat_statements"; done
for ef in $EF_LIST; do
	say "ef_search $ef: $NQ queries, one connection"
	out=$(run env PGPORT="$COORD_PORT" PGDATABASE=vectors "$RVB" search -t fm_single -q "$Q" -n "$NQ" \
		-T "$RV_TMP/truth.txt" -s "ruvector.ef_search=$ef")
	echo "one server: $out"
	R[single,$ef]=$(kv recall "$out"); QPS[single,$ef]=$(kv qps "$out")
	P50[single,$ef]=$(kv p50_ms "$out"); P99[single,$ef]=$(kv p99_ms "$out")

	for i in 1 2 3; do
		on COORD -c "ALTER SERVER shard$i OPTIONS (SET options '-c ruvector.ef_search=$ef')"
	done
	seen=$(on COORD -c "SELECT string_agg(ef_search, ',') FROM (SELECT ef_search FROM shard1_settings
		UNION ALL SELECT ef_search FROM shard2_settings UNION ALL SELECT ef_search FROM shard3_settings) s")
	[ "$seen" = "$ef,$ef,$ef" ] || { echo "shards see ef_search $seen, not $ef" >&2; exit 1; }
	for i in 1 2 3; do on "$i" -c "SELECT pg_stat_statements_reset()" >/dev/null; done
	out=$(run env PGPORT="$COORD_PORT" PGDATABASE=vectors "$RVB" search -t items -q "$Q" -n "$NQ" \
		-T "$RV_TMP/truth.txt")
	echo "3 shards:   $out"
	R[shards,$ef]=$(kv recall "$out"); QPS[shards,$ef]=$(kv qps "$out")
	P50[shards,$ef]=$(kv p50_ms "$out"); P99[shards,$ef]=$(kv p99_ms "$out")
	rows=0 fetches=0 cursors=0
	for i in 1 2 3; do
		IFS='|' read -r r f c < <(on "$i" -c "SELECT coalesce(sum(rows) FILTER (WHERE query LIKE 'FETCH%'), 0),
				coalesce(sum(calls) FILTER (WHERE query LIKE 'FETCH%'), 0),
				coalesce(sum(calls) FILTER (WHERE query LIKE 'DECLARE%'), 0)
			FROM pg_stat_statements")
		rows=$((rows + r)); fetches=$((fetches + f))
		[ "$i" = 1 ] && cursors=$c		# one cursor per shard per query
	done
	FETCHED[$ef]=$(printf '%.1f' "$(echo "$rows / $cursors" | bc -l)")
	ROUNDS[$ef]=$(printf '%.2f' "$(echo "$fetches / $cursors" | bc -l)")
	echo "rows fetched from the shards: $rows in $fetches FETCHes for $cursors queries"
done

plan=$(on COORD -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 42) LIMIT 10")
grep -q 'Merge Append' <<<"$plan" || { echo "unexpected plan:"; echo "$plan"; exit 1; }

say "results (Fashion-MNIST, $ROWS x 784, k = 10, m = 16, ef_construction = 64; $(nproc) cores shared by all four servers; timings noisy)"
printf '%-12s %9s %10s %9s %8s %8s %14s %15s\n' setup ef_search recall@10 QPS p50_ms p99_ms rows_fetched/q FETCHes/q/shard
for ef in $EF_LIST; do
	printf '%-12s %9s %10s %9s %8s %8s %14s %15s\n' "one server" "$ef" "${R[single,$ef]}" \
		"${QPS[single,$ef]}" "${P50[single,$ef]}" "${P99[single,$ef]}" - -
	printf '%-12s %9s %10s %9s %8s %8s %14s %15s\n' "3 shards" "$ef" "${R[shards,$ef]}" \
		"${QPS[shards,$ef]}" "${P50[shards,$ef]}" "${P99[shards,$ef]}" "${FETCHED[$ef]}" \
		"$(printf '%.2f' "$(echo "${ROUNDS[$ef]} / 3" | bc -l)")"
done
printf '%-34s %10s %10s\n' "" "one server" "3 shards"
printf '%-34s %10s %10s\n' "COPY seconds" "$COPY_SINGLE" "$COPY_SHARDED"
printf '%-34s %10s %10s\n' "ruhnsw build seconds" "$BUILD_SINGLE" "$BUILD_SHARDED"
printf '%-34s %10s\n' "rows per shard" "$counts"
printf '%-34s %10s\n' "bench total seconds" "$(since "$T_START")"
