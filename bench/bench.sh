#!/usr/bin/env bash
# bench.sh (make bench): measures ruvector_tam on Fashion-MNIST (60,000 x
# 784 training vectors, 10,000 test queries) with the libpq client
# bench/rvbench.c (prepared statements, binary vectors and results), in a
# throwaway cluster:
#   - ruvector table: COPY rows/s, ruhnsw build seconds, a ruvector.ef_search
#     sweep (recall@10, QPS, p50, p99), exact-scan QPS, single-row INSERT
#     rows/s with the index present, bytes per vector (heap part, store, index);
#   - the same table as plain heap (vectors TOASTed): COPY, bytes and
#     exact-scan QPS, for the ratios;
#   - when pgvector's `vector` extension is available on this machine, the
#     same work on pgvector side by side (bench/pgvector-compare.sh): a heap
#     table with a vector(784) column and an hnsw index, same m and
#     ef_construction, same COPY input, queries, exact answers and client,
#     in a database of its own (pgv) in the same cluster; otherwise one
#     NOTE line says it is skipped.
# Writes results/bench-<date>.json and results/bench-<date>.png (recall-QPS).
#
# Settings (environment): NQ_SWEEP (queries per ef_search setting, default
# all 10000), NQ_RECALL (queries with exact ground truth, default 2000), NQ_EXACT
# (timed exact-scan queries per table, default 100), N_INSERT (default 2000),
# EF_LIST (default "10 20 40 80 120 200 400"), N_TRAIN (training rows,
# default all 60000: smaller for quick trials), RV_SKIP_INDEX=1 (no ruhnsw),
# N_PGBENCH (pgbench INSERTs per run in the pgvector comparison, default
# 2000), RV_SKIP_PGVECTOR=1 (no pgvector comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
T_START=$(date +%s.%N)
NQ_SWEEP=${NQ_SWEEP:-10000}
NQ_RECALL=${NQ_RECALL:-2000}
NQ_EXACT=${NQ_EXACT:-100}
N_INSERT=${N_INSERT:-2000}
EF_LIST=${EF_LIST:-10 20 40 80 120 200 400}

say() { printf '\n== %s\n' "$*"; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
div() { printf '%.6f' "$(echo "scale=6; $1 / $2" | bc -l)"; }

. scripts/install.sh
rv_install
LOCK_WAIT=$(printf "%.3f" "$RV_LOCK_WAIT")
. scripts/cluster.sh
rv_cluster_start "shared_buffers = 1GB"
run() { rv_as_owner "$@"; }
sql() { run psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# the client runs as the cluster owner, who may not be able to enter the
# checkout: it is built into RV_TMP
RVB=$(rv_build_rvbench)
D="$RV_TMP/data-fmnist"
bash bench/prepare-data.sh "$D"
Q="$D/test.copy"
TRAIN="$D/train.copy"
if [ -n "${N_TRAIN:-}" ]; then
	TRAIN="$RV_TMP/train-$N_TRAIN.copy"
	head -n "$N_TRAIN" "$D/train.copy" > "$TRAIN"
	chmod 644 "$TRAIN"
fi
ROWS=$(wc -l < "$TRAIN")
W="$RV_TMP"		# writable by the cluster owner, who runs the client

sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION ruvector_tam"
HAVE_INDEX=$(sql -c "SELECT count(*) FROM pg_am WHERE amname = 'ruhnsw'")
SKIP_WHY="the ruhnsw index access method is missing from this build"
if [ "${RV_SKIP_INDEX:-0}" = 1 ]; then HAVE_INDEX=0; SKIP_WHY="RV_SKIP_INDEX=1"; fi
[ "$HAVE_INDEX" = 1 ] || echo "NOTE: $SKIP_WHY: build, ef_search sweep and indexed INSERT are skipped"
. bench/pgvector-compare.sh
pgv_setup

declare -A COPY_RPS COPY_S BYTES EXACT_QPS EXACT_P50 EXACT_P99 INS_RPS
for am in ruvector heap; do
	say "$am table: COPY $ROWS rows"
	sql -c "CREATE TABLE fm_$am (id bigint PRIMARY KEY, label int, embedding ruvector(784)) USING $am"
	out=$(run "$RVB" load -t "fm_$am" -f "$TRAIN" -C 10000)
	COPY_RPS[$am]=$(kv rows_per_s "$out"); COPY_S[$am]=$(kv seconds "$out")
	sql -c "VACUUM ANALYZE fm_$am"
done
pgv_load

# bytes: heap part (main fork + FSM/VM + TOAST), stores, ruhnsw index, pkey
bytes() {
	sql -c "SELECT pg_table_size('$1')" ; }
HEAP_PART=$(bytes fm_ruvector)
STORE=$(sql -c "SELECT coalesce(sum(bytes), 0) FROM ruvector_storage_report('fm_ruvector')")
HEAPTAB=$(bytes fm_heap)
PKEY=$(sql -c "SELECT pg_relation_size('fm_ruvector_pkey')")

say "exact ground truth for the first $NQ_RECALL queries ($(nproc) connections)"
out=$(run "$RVB" truth -t fm_ruvector -q "$Q" -n "$NQ_RECALL" -o "$W/truth.txt" -j "$(nproc)")
echo "$out"

for am in ruvector heap; do
	say "$am table: exact scan, $NQ_EXACT queries, one connection"
	out=$(run "$RVB" search -t "fm_$am" -q "$Q" -n "$NQ_EXACT" -w 5 -T "$W/truth.txt" \
		-s enable_indexscan=off -s enable_bitmapscan=off)
	echo "$out"
	EXACT_QPS[$am]=$(kv qps "$out"); EXACT_P50[$am]=$(kv p50_ms "$out"); EXACT_P99[$am]=$(kv p99_ms "$out")
done
pgv_exact

BUILD_S=null INDEX=0 SWEEP_JSON="" 
: > "$W/sweep.dat"
if [ "$HAVE_INDEX" = 1 ]; then
	say "ruhnsw build (m = 16, ef_construction = 64)"
	out=$(run "$RVB" build -S "CREATE INDEX fm_ruvector_idx ON fm_ruvector USING ruhnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)")
	BUILD_S=$(kv seconds "$out")
	sql -c "ANALYZE fm_ruvector"
	INDEX=$(sql -c "SELECT pg_relation_size('fm_ruvector_idx')")
	pgv_build
	say "ef_search sweep: $NQ_SWEEP queries per setting (recall over the first $NQ_RECALL), one connection"
	printf '%8s %10s %10s %10s %10s\n' ef_search recall@10 QPS p50_ms p99_ms
	for ef in $EF_LIST; do
		out=$(run "$RVB" search -t fm_ruvector -q "$Q" -n "$NQ_SWEEP" -T "$W/truth.txt" -s "ruvector.ef_search=$ef")
		r=$(kv recall "$out"); qps=$(kv qps "$out"); p50=$(kv p50_ms "$out"); p99=$(kv p99_ms "$out")
		printf '%8s %10s %10s %10s %10s\n' "$ef" "$r" "$qps" "$p50" "$p99"
		echo "$ef $r $qps $p50 $p99" >> "$W/sweep.dat"
		SWEEP_JSON+="${SWEEP_JSON:+,}{\"ef_search\":$ef,\"recall_at_10\":$r,\"qps\":$qps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"queries\":$(kv queries "$out"),\"recall_queries\":$(kv recall_queries "$out")}"
	done
	pgv_sweep
fi

for am in ruvector heap; do
	what="primary key only"
	[ "$am" = ruvector ] && [ "$HAVE_INDEX" = 1 ] && what="primary key + ruhnsw"
	say "$am table: $N_INSERT single-row INSERTs ($what)"
	out=$(run "$RVB" insert -t "fm_$am" -q "$Q" -n "$N_INSERT" -i 1000001)
	echo "$out"
	INS_RPS[$am]=$(kv rows_per_s "$out")
done
pgv_insert
pgv_writes

T_END=$(date +%s.%N)
TOTAL_S=$(printf "%.3f" "$(echo "$T_END - $T_START" | bc -l)")
say "results (Fashion-MNIST, $ROWS x 784; $(nproc) cores; timings noisy on a shared machine)"
printf '%-34s %12s %12s %8s\n' "" ruvector heap ratio
printf '%-34s %12.0f %12.0f %8.2f\n' "COPY rows/s" "${COPY_RPS[ruvector]}" "${COPY_RPS[heap]}" "$(div "${COPY_RPS[ruvector]}" "${COPY_RPS[heap]}")"
RV_TOTAL=$((HEAP_PART + STORE + PKEY))
HEAP_TOTAL=$((HEAPTAB + $(sql -c "SELECT pg_relation_size('fm_heap_pkey')")))
printf '%-34s %12d %12d %8.3f\n' "bytes: table (+ stores) + pkey" "$RV_TOTAL" "$HEAP_TOTAL" "$(div "$RV_TOTAL" "$HEAP_TOTAL")"
printf '%-34s %12.2f %12.2f %8.2f\n' "exact-scan QPS ($NQ_EXACT queries)" "${EXACT_QPS[ruvector]}" "${EXACT_QPS[heap]}" "$(div "${EXACT_QPS[ruvector]}" "${EXACT_QPS[heap]}")"
printf '%-34s %12s %12s\n' "exact-scan p50 / p99 ms" "${EXACT_P50[ruvector]}/${EXACT_P99[ruvector]}" "${EXACT_P50[heap]}/${EXACT_P99[heap]}"
printf '%-34s %12.0f %12.0f\n' "single-row INSERT rows/s" "${INS_RPS[ruvector]}" "${INS_RPS[heap]}"
printf '%-34s %12.1f\n' "bytes/vector: heap part" "$(div "$HEAP_PART" $ROWS)"
printf '%-34s %12.1f\n' "bytes/vector: vector store" "$(div "$STORE" $ROWS)"
printf '%-34s %12.1f\n' "bytes/vector: ruhnsw index" "$(div "$INDEX" $ROWS)"
printf '%-34s %12.1f\n' "bytes/vector: heap table (TOAST)" "$(div "$HEAPTAB" $ROWS)"
if [ "$BUILD_S" != null ]; then
	printf '%-34s %12.1f\n' "ruhnsw build seconds" "$BUILD_S"
else
	printf '%-34s %12s\n' "ruhnsw build seconds" "SKIPPED ($SKIP_WHY)"
fi
printf '%-34s %12.0f (%.0f s of it waiting for the install lock)\n' "bench total seconds" "$TOTAL_S" "$LOCK_WAIT"
pgv_report "$BUILD_S" "${EXACT_QPS[ruvector]}" "${COPY_RPS[ruvector]}" "${INS_RPS[ruvector]}" \
	"$((HEAP_PART + STORE))" "$PKEY" "$INDEX" "$W/sweep.dat"

mkdir -p results
stamp=$(date +%Y%m%d-%H%M%S)
json="results/bench-$stamp.json"
cat > "$json" <<EOF
{
  "dataset": "fashion-mnist", "rows": $ROWS, "dims": 784, "cores": $(nproc),
  "extension_version": "$(sql -c 'SELECT ruvector_version()')",
  "git_commit": "$(git rev-parse --short HEAD)",
  "index_used": $([ "$HAVE_INDEX" = 1 ] && echo true || echo false),
  "index": {"am": "ruhnsw", "m": 16, "ef_construction": 64, "build_s": $BUILD_S},
  "queries": {"k": 10, "sweep_queries": $NQ_SWEEP, "recall_queries": $NQ_RECALL, "exact_queries": $NQ_EXACT, "connections": 1},
  "ef_search_sweep": [$SWEEP_JSON],
  "copy_rows_per_s": {"ruvector": ${COPY_RPS[ruvector]}, "heap": ${COPY_RPS[heap]}},
  "copy_s": {"ruvector": ${COPY_S[ruvector]}, "heap": ${COPY_S[heap]}},
  "exact_qps": {"ruvector": ${EXACT_QPS[ruvector]}, "heap": ${EXACT_QPS[heap]}},
  "exact_p50_ms": {"ruvector": ${EXACT_P50[ruvector]}, "heap": ${EXACT_P50[heap]}},
  "exact_p99_ms": {"ruvector": ${EXACT_P99[ruvector]}, "heap": ${EXACT_P99[heap]}},
  "insert_rows_per_s": {"ruvector_with_index": ${INS_RPS[ruvector]}, "heap": ${INS_RPS[heap]}, "n": $N_INSERT},
  "bytes": {"ruvector_heap_part": $HEAP_PART, "ruvector_store": $STORE, "ruvector_index": $INDEX,
            "ruvector_pkey": $PKEY, "heap_table": $HEAPTAB, "ruvector_total_without_ruhnsw": $RV_TOTAL, "heap_total": $HEAP_TOTAL},
  "ratios": {"copy_rows_per_s": $(div "${COPY_RPS[ruvector]}" "${COPY_RPS[heap]}"),
             "bytes": $(div "$RV_TOTAL" "$HEAP_TOTAL"),
             "exact_qps": $(div "${EXACT_QPS[ruvector]}" "${EXACT_QPS[heap]}")},
  "pgvector_available": $([ "$HAVE_PGV" = 1 ] && echo true || echo false),
  "pgvector_skipped_because": $([ -n "$PGV_WHY" ] && echo "\"$PGV_WHY\"" || echo null),
  "pgvector": $(pgv_json),
  "total_s": $TOTAL_S, "install_lock_wait_s": $LOCK_WAIT
}
EOF
echo "wrote $json"

if [ -s "$W/sweep.dat" ]; then
	png="results/bench-$stamp.png"
	PGV_PLOT=""
	[ "$HAVE_PGV" = 1 ] && PGV_PLOT="\"$W/pgv-sweep.dat\" using 2:3 with linespoints lw 2 pt 6 title \"pgvector ${PGV[version]} hnsw, hnsw.ef_search sweep\", "
	gnuplot <<EOF
set terminal pngcairo size 900,600 noenhanced
set output "$png"
set title "ruvector_tam ruhnsw on Fashion-MNIST ($ROWS x 784, k = 10, m = 16, ef_construction = 64)"
set xlabel "recall@10"
set ylabel "queries per second (one connection)"
set logscale y
set grid
set key bottom left
set offsets graph 0.1, graph 0.02, graph 0.1, graph 0.1
plot "$W/sweep.dat" using 2:3 with linespoints lw 2 pt 7 title "ruhnsw, ef_search sweep", \
     "" using 2:3:(sprintf("ef=%d", \$1)) with labels right offset -1,0 notitle, \
     $PGV_PLOT"-" using 1:2 with points pt 5 ps 1.5 title "exact scan (ruvector table)", \
     "-" using 1:2 with points pt 9 ps 1.5 title "exact scan (heap table)"
1.0 ${EXACT_QPS[ruvector]}
e
1.0 ${EXACT_QPS[heap]}
e
EOF
	echo "wrote $png"
fi

# indexed single-row INSERTs (1 and 4 clients) and COPY, 100 dims, against pgvector
RV_INSTALL_LOCK_HELD=1 bash bench/insert-compare.sh
