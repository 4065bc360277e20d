#!/usr/bin/env bash
# bench.sh (make bench): measures ruvector_tam against heap and, where it is
# installed, pgvector, on each data set of BENCH_DATASET in turn (default
# "fmnist text"), each in a throwaway cluster of its own, then prints the
# ruvector / pgvector ratios per data set.  The data sets
# (bench/prepare-data.sh; docs/benchmarks.md):
#   fmnist  Fashion-MNIST: 60,000 training vectors of 784 pixels, 10,000 test
#           queries; L2 distance;
#   text    WordNet 3.0 LSA text embeddings (bench/textembed.py): 107,226
#           training vectors of 100 dimensions, 10,000 held-out documents as
#           queries; cosine similarity, as L2 distance on unit vectors (the
#           same order), so the same operators, indexes and client serve it;
#           the database's exact answers are checked against textembed.py's
#           brute-force ones.
# Per data set, with the libpq client bench/rvbench.c (prepared statements,
# binary vectors and results):
#   - ruvector table: COPY rows/s, ruhnsw build seconds, a ruvector.ef_search
#     sweep (recall@10, QPS, p50, p99), exact-scan QPS, single-row INSERT
#     rows/s with the index present, bytes per vector (heap part, store, index);
#   - the same table as plain heap: COPY, bytes and exact-scan QPS, for the
#     ratios;
#   - when pgvector's `vector` extension is available on this machine, the
#     same work on pgvector side by side (bench/pgvector-compare.sh): a heap
#     table with a vector(DIM) column and an hnsw index, same m and
#     ef_construction, same COPY input, queries, exact answers and client,
#     in a database of its own (pgv) in the same cluster; otherwise one
#     NOTE line says it is skipped.
# Writes results/bench-<date>-<dataset>.json and results/bench-<date>-<dataset>.png
# (recall-QPS) per data set.
#
# Settings (environment): BENCH_DATASET (one or more of fmnist, text),
# NQ_SWEEP (queries per ef_search setting, default all 10000), NQ_RECALL
# (queries with exact ground truth, default 2000), NQ_EXACT (timed exact-scan
# queries per table, default 100), N_INSERT (default 2000), EF_LIST (default
# "10 15 20 25 30 40 60 80 120 200 400" for fmnist, "10 40 100 200 300 400
# 500 600 700 1000" for text: steps fine enough near recall@10 = 0.99 that
# each system is measured close to its own crossing), N_TRAIN (training rows, default all: smaller for
# quick trials), RV_SKIP_INDEX=1 (no ruhnsw), N_PGBENCH (pgbench INSERTs per
# run in the pgvector comparison, default 1500: the 1- and 4-client runs
# copy distinct rows, at most 5000 - N_INSERT in all), RV_SKIP_PGVECTOR=1 (no
# pgvector comparison), RV_DATA_CACHE (where the text set is cached).
set -euo pipefail
cd "$(dirname "$0")/.."
T_START=$(date +%s.%N)
BENCH_DATASET=${BENCH_DATASET:-fmnist text}

# More than one data set: one run of this script per data set, then the
# ratios of all of them (each run appends one line to BENCH_SUMMARY).  The
# install lock (scripts/install.sh) is taken once here and inherited, so
# that no other checkout's install or run comes between the data sets.
if [ "$(wc -w <<<"$BENCH_DATASET")" -gt 1 ]; then
	summary=$(mktemp /tmp/ruvector-bench-summary.XXXXXX)
	trap 'rm -f "$summary"' EXIT
	if [ "${RV_INSTALL_LOCK_HELD:-0}" != 1 ]; then
		exec 9>/tmp/ruvector_tam-install.lock
		flock 9
		printf 'waited %.0f s for the install lock\n' "$(echo "$(date +%s.%N) - $T_START" | bc -l)"
	fi
	for ds in $BENCH_DATASET; do
		BENCH_DATASET=$ds BENCH_SUMMARY=$summary RV_INSTALL_LOCK_HELD=1 bash bench/bench.sh
	done
	printf '\n== ruvector_tam vs pgvector per data set: QPS at recall@10 >= 0.99 (one connection; m = 16, ef_construction = 64)\n'
	printf '%-8s %7s %5s %-7s | %9s %4s %9s | %9s %4s %9s | %7s | %7s\n' data_set rows dims metric \
		"rv QPS" ef recall@10 "pgv QPS" ef recall@10 ratio seconds
	while read -r ds rows dims metric q1 e1 r1 q2 e2 r2 ratio total; do
		printf '%-8s %7s %5s %-7s | %9s %4s %9s | %9s %4s %9s | %7s | %7.0f\n' \
			"$ds" "$rows" "$dims" "$metric" "$q1" "$e1" "$r1" "$q2" "$e2" "$r2" "$ratio" "$total"
	done < "$summary"
	echo "(ratio = ruvector QPS / pgvector QPS, each at its fastest ef_search with recall@10 >= 0.99)"
	printf 'bench total seconds, all data sets: %.0f\n' "$(echo "$(date +%s.%N) - $T_START" | bc -l)"
	exit 0
fi

case "$BENCH_DATASET" in
fmnist)
	DIM=784 TP=fm DS_NAME=fashion-mnist DS_TITLE="Fashion-MNIST" METRIC=l2
	EF_DEFAULT="10 15 20 25 30 40 60 80 120 200 400" ;;
text)
	# recall@10 reaches 0.99 only at a few hundred candidates here: the
	# sweep goes up to 1000, the largest ef_search of both systems
	DIM=100 TP=tx DS_NAME=wordnet-lsa DS_TITLE="WordNet LSA" METRIC=cosine
	EF_DEFAULT="10 40 100 200 300 400 500 600 700 1000" ;;
*)
	echo "bench.sh: unknown BENCH_DATASET \"$BENCH_DATASET\" (fmnist, text or both)" >&2
	exit 2 ;;
esac
NQ_SWEEP=${NQ_SWEEP:-10000}
NQ_RECALL=${NQ_RECALL:-2000}
NQ_EXACT=${NQ_EXACT:-100}
N_INSERT=${N_INSERT:-2000}
EF_LIST=${EF_LIST:-$EF_DEFAULT}

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
D="$RV_TMP/data-$BENCH_DATASET"
say "data set $BENCH_DATASET ($DS_TITLE): bench/prepare-data.sh"
t0=$(date +%s.%N)
bash bench/prepare-data.sh "$D" "$BENCH_DATASET"
PREP_S=$(printf "%.1f" "$(echo "$(date +%s.%N) - $t0" | bc -l)")
DATA_INFO=""
[ -s "$D/info.txt" ] && DATA_INFO=$(cat "$D/info.txt")
echo "prepared in $PREP_S s"
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
	sql -c "CREATE TABLE ${TP}_$am (id bigint PRIMARY KEY, label int, embedding ruvector($DIM)) USING $am"
	out=$(run "$RVB" load -t "${TP}_$am" -f "$TRAIN" -C 10000)
	COPY_RPS[$am]=$(kv rows_per_s "$out"); COPY_S[$am]=$(kv seconds "$out")
	sql -c "VACUUM ANALYZE ${TP}_$am"
done
pgv_load

# bytes: heap part (main fork + FSM/VM + TOAST), stores, ruhnsw index, pkey
bytes() {
	sql -c "SELECT pg_table_size('$1')" ; }
HEAP_PART=$(bytes ${TP}_ruvector)
STORE=$(sql -c "SELECT coalesce(sum(bytes), 0) FROM ruvector_storage_report('${TP}_ruvector')")
HEAPTAB=$(bytes ${TP}_heap)
PKEY=$(sql -c "SELECT pg_relation_size('${TP}_ruvector_pkey')")

say "exact ground truth for the first $NQ_RECALL queries ($(nproc) connections)"
out=$(run "$RVB" truth -t ${TP}_ruvector -q "$Q" -n "$NQ_RECALL" -o "$W/truth.txt" -j "$(nproc)")
echo "$out"
TRUTH_CHECK=""
if [ "$BENCH_DATASET" = text ]; then
	# the exact scan's answers against textembed.py's brute force (exits 1 on
	# a mismatch; N_TRAIN rows would change the answers)
	if [ -z "${N_TRAIN:-}" ]; then
		TRUTH_CHECK=$(/usr/bin/python3 bench/textembed.py check "$W/truth.txt" "$D")
		echo "exact scan against brute force: $TRUTH_CHECK"
	else
		echo "N_TRAIN set: the exact answers are not checked against the brute-force ones"
	fi
fi

for am in ruvector heap; do
	say "$am table: exact scan, $NQ_EXACT queries, one connection"
	out=$(run "$RVB" search -t "${TP}_$am" -q "$Q" -n "$NQ_EXACT" -w 5 -T "$W/truth.txt" \
		-s enable_indexscan=off -s enable_bitmapscan=off)
	echo "$out"
	EXACT_QPS[$am]=$(kv qps "$out"); EXACT_P50[$am]=$(kv p50_ms "$out"); EXACT_P99[$am]=$(kv p99_ms "$out")
done
pgv_exact

BUILD_S=null INDEX=0 SWEEP_JSON="" 
: > "$W/sweep.dat"
if [ "$HAVE_INDEX" = 1 ]; then
	say "ruhnsw build (m = 16, ef_construction = 64)"
	# DEBUG1 carries "using N parallel workers" when the build goes parallel
	out=$(run "$RVB" build -s client_min_messages=debug1 \
		-S "CREATE INDEX ${TP}_ruvector_idx ON ${TP}_ruvector USING ruhnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" \
		2> >(tee "$W/rv-build.err" | grep -v '^DEBUG:' >&2))
	BUILD_S=$(kv seconds "$out")
	RV_BUILD_WORKERS=$(build_workers "$W/rv-build.err")
	echo "ruhnsw build: $BUILD_S s, $RV_BUILD_WORKERS parallel workers launched"
	sql -c "ANALYZE ${TP}_ruvector"
	INDEX=$(sql -c "SELECT pg_relation_size('${TP}_ruvector_idx')")
	pgv_build
	alt=""
	[ "$HAVE_PGV" = 1 ] && alt="; ruhnsw and pgvector's hnsw take turns, one setting at a time"
	say "ef_search sweep: $NQ_SWEEP queries per setting (recall over the first $NQ_RECALL), one connection$alt"
	pgv_sweep_begin
	printf '%8s %10s %10s %10s %10s' ef_search recall@10 QPS p50_ms p99_ms
	[ "$HAVE_PGV" = 1 ] && printf ' |%10s %10s %10s %10s (pgvector)' recall@10 QPS p50_ms p99_ms
	echo
	for ef in $EF_LIST; do
		out=$(run "$RVB" search -t ${TP}_ruvector -q "$Q" -n "$NQ_SWEEP" -T "$W/truth.txt" -s "ruvector.ef_search=$ef")
		r=$(kv recall "$out"); qps=$(kv qps "$out"); p50=$(kv p50_ms "$out"); p99=$(kv p99_ms "$out")
		printf '%8s %10s %10s %10s %10s' "$ef" "$r" "$qps" "$p50" "$p99"
		echo "$ef $r $qps $p50 $p99" >> "$W/sweep.dat"
		SWEEP_JSON+="${SWEEP_JSON:+,}{\"ef_search\":$ef,\"recall_at_10\":$r,\"qps\":$qps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"queries\":$(kv queries "$out"),\"recall_queries\":$(kv recall_queries "$out")}"
		[ "$HAVE_PGV" = 1 ] && { printf ' |'; pgv_sweep_one "$ef"; }
		echo
	done
fi

for am in ruvector heap; do
	what="primary key only"
	[ "$am" = ruvector ] && [ "$HAVE_INDEX" = 1 ] && what="primary key + ruhnsw"
	say "$am table: $N_INSERT single-row INSERTs ($what)"
	out=$(run "$RVB" insert -t "${TP}_$am" -q "$Q" -n "$N_INSERT" -i 1000001)
	echo "$out"
	INS_RPS[$am]=$(kv rows_per_s "$out")
done
pgv_insert
pgv_writes

T_END=$(date +%s.%N)
TOTAL_S=$(printf "%.3f" "$(echo "$T_END - $T_START" | bc -l)")
say "results ($DS_TITLE, $ROWS x $DIM; $(nproc) cores; timings noisy on a shared machine)"
printf '%-34s %12s %12s %8s\n' "" ruvector heap ratio
printf '%-34s %12.0f %12.0f %8.2f\n' "COPY rows/s" "${COPY_RPS[ruvector]}" "${COPY_RPS[heap]}" "$(div "${COPY_RPS[ruvector]}" "${COPY_RPS[heap]}")"
RV_TOTAL=$((HEAP_PART + STORE + PKEY))
HEAP_TOTAL=$((HEAPTAB + $(sql -c "SELECT pg_relation_size('${TP}_heap_pkey')")))
printf '%-34s %12d %12d %8.3f\n' "bytes: table (+ stores) + pkey" "$RV_TOTAL" "$HEAP_TOTAL" "$(div "$RV_TOTAL" "$HEAP_TOTAL")"
printf '%-34s %12.2f %12.2f %8.2f\n' "exact-scan QPS ($NQ_EXACT queries)" "${EXACT_QPS[ruvector]}" "${EXACT_QPS[heap]}" "$(div "${EXACT_QPS[ruvector]}" "${EXACT_QPS[heap]}")"
printf '%-34s %12s %12s\n' "exact-scan p50 / p99 ms" "${EXACT_P50[ruvector]}/${EXACT_P99[ruvector]}" "${EXACT_P50[heap]}/${EXACT_P99[heap]}"
printf '%-34s %12.0f %12.0f\n' "single-row INSERT rows/s" "${INS_RPS[ruvector]}" "${INS_RPS[heap]}"
printf '%-34s %12.1f\n' "bytes/vector: heap part" "$(div "$HEAP_PART" $ROWS)"
printf '%-34s %12.1f\n' "bytes/vector: vector store" "$(div "$STORE" $ROWS)"
printf '%-34s %12.1f\n' "bytes/vector: ruhnsw index" "$(div "$INDEX" $ROWS)"
printf '%-34s %12.1f\n' "bytes/vector: heap table (+ TOAST)" "$(div "$HEAPTAB" $ROWS)"
if [ "$BUILD_S" != null ]; then
	printf '%-34s %12.1f\n' "ruhnsw build seconds" "$BUILD_S"
else
	printf '%-34s %12s\n' "ruhnsw build seconds" "SKIPPED ($SKIP_WHY)"
fi
printf '%-34s %12.0f (%.0f s of it waiting for the install lock)\n' "bench total seconds" "$TOTAL_S" "$LOCK_WAIT"
pgv_report "$BUILD_S" "${EXACT_QPS[ruvector]}" "${COPY_RPS[ruvector]}" "${INS_RPS[ruvector]}" \
	"$((HEAP_PART + STORE))" "$PKEY" "$INDEX" "$W/sweep.dat"
if [ -n "${BENCH_SUMMARY:-}" ]; then
	# one line for the all-data-sets table of the calling run
	read -r bq be br < <(best_qps "$W/sweep.dat")
	pq=null pe=null pr=null
	[ "$HAVE_PGV" = 1 ] && read -r pq pe pr < <(best_qps "$W/pgv-sweep.dat")
	echo "$BENCH_DATASET $ROWS $DIM $METRIC $bq $be $br $pq $pe $pr $(ratio "$bq" "$pq" | sed 's/^\([0-9]*\.[0-9][0-9][0-9]\).*/\1/') $TOTAL_S" >> "$BENCH_SUMMARY"
fi

mkdir -p results
stamp=$(date +%Y%m%d-%H%M%S)
json="results/bench-$stamp-$BENCH_DATASET.json"
cat > "$json" <<EOF
{
  "dataset": "$DS_NAME", "rows": $ROWS, "dims": $DIM, "metric": "$METRIC", "cores": $(nproc),
  "prepare_s": $PREP_S, "data_info": "$DATA_INFO", "truth_check": "$TRUTH_CHECK",
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
	png="results/bench-$stamp-$BENCH_DATASET.png"
	PGV_PLOT=""
	[ "$HAVE_PGV" = 1 ] && PGV_PLOT="\"$W/pgv-sweep.dat\" using 2:3 with linespoints lw 2 pt 6 title \"pgvector ${PGV[version]} hnsw, hnsw.ef_search sweep\", "
	gnuplot <<EOF
set terminal pngcairo size 900,600 noenhanced
set output "$png"
set title "ruvector_tam ruhnsw on $DS_TITLE ($ROWS x $DIM, k = 10, m = 16, ef_construction = 64)"
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
