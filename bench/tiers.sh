#!/usr/bin/env bash
# tiers.sh (make bench-tiers): the tier benchmark on Fashion-MNIST (60,000 x
# 784) and the WordNet LSA text embeddings (100-d, unit length; built by
# bench/prepare-data.sh from Debian's wordnet package), both by L2.  For each data set:
# load a ruvector table, build ruhnsw (m = 16, ef_construction = 64), take
# exact answers with the exact scan, then with every segment in each tier
# in turn (hot, then ruvector_compact(tbl, warm | cool | cold), then
# cold-lossy: a lossy_cold policy and ruvector_compact(tbl, cold), which
# rewrites the cold segments with codes only):
#   recall@10 and QPS of ruhnsw at the ef_search where the hot tier reaches
#   0.99 (searched from EF_LIST), one connection (bench/rvbench.c);
#   exact k-NN QPS;
#   resident bytes per vector (ruvector_storage_report.resident_bytes:
#   what search keeps touching) and disk bytes per vector, against raw
#   (dims * 4);
#   sealing throughput (vectors/s of ruvector_compact into the tier);
#   exact_r: the exact scan's recall@10 (1 but for cold-lossy, whose
#   vectors are SQ8 reconstructions; recall is against the original's
#   exact answers in every row).
# Prints a table per data set and writes results/tiers-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
T_START=$(date +%s.%N)
DATASETS=${BENCH_DATASET:-fmnist text}
NQ=${NQ:-2000}
NQ_EXACT=${NQ_EXACT:-50}

say() { printf '\n== %s\n' "$*"; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

. scripts/install.sh
rv_install
. scripts/cluster.sh
rv_cluster_start "shared_buffers = 1GB" "autovacuum = off"
run() { rv_as_owner "$@"; }
sql() { run psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
RVB=$(rv_build_rvbench)
W="$RV_TMP"
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION ruvector_tam"
mkdir -p results
JSON="results/tiers-$(date +%Y%m%d-%H%M%S).json"
echo "{" > "$JSON.tmp"
first_ds=1

for ds in $DATASETS; do
	case "$ds" in
	fmnist) DIM=784 OPS=vector_l2_ops EF_LIST=${EF_LIST_FMNIST:-"20 40 80 120 200"} ;;
	text) DIM=100 OPS=vector_l2_ops EF_LIST=${EF_LIST_TEXT:-"100 200 400 700 1000"} ;;
	*) echo "tiers.sh: unknown data set $ds" >&2; exit 2 ;;
	esac
	D="$RV_TMP/data-$ds"
	say "data set $ds: bench/prepare-data.sh"
	bash bench/prepare-data.sh "$D" "$ds"
	T="t_$ds"
	sql -c "CREATE TABLE $T (id bigint PRIMARY KEY, label int, embedding ruvector($DIM)) USING ruvector"
	out=$(run "$RVB" load -t "$T" -f "$D/train.copy" -C 10000); echo "$out"
	ROWS=$(sql -c "SELECT count(*) FROM $T")
	sql -c "VACUUM ANALYZE $T"
	out=$(run "$RVB" truth -t "$T" -q "$D/test.copy" -n "$NQ" -o "$W/truth-$ds.txt" -j "$(nproc)"); echo "$out"
	sql -c "CREATE INDEX ON $T USING ruhnsw (embedding $OPS) WITH (m = 16, ef_construction = 64)"
	sql -c "ANALYZE $T"

	# the hot tier's ef_search for recall@10 >= 0.99 (else the largest tried)
	EF=""
	for ef in $EF_LIST; do
		out=$(run "$RVB" search -t "$T" -q "$D/test.copy" -n "$NQ" -T "$W/truth-$ds.txt" -s "ruvector.ef_search=$ef")
		r=$(kv recall "$out")
		echo "hot ef_search $ef: recall@10 $r"
		EF=$ef
		if [ "$(echo "$r >= 0.99" | bc -l)" = 1 ]; then break; fi
	done
	say "$ds: $ROWS rows x $DIM dims; every segment in one tier at a time; ruhnsw at ef_search $EF"
	printf '%-10s | %9s %9s | %9s %7s | %10s %10s | %10s %9s | %10s\n' tier recall@10 QPS exact_QPS \
		exact_r resident/v disk/v "disk/raw" "seal_s" "sealed/s"
	[ $first_ds = 1 ] || echo "," >> "$JSON.tmp"
	first_ds=0
	echo "\"$ds\": {\"rows\": $ROWS, \"dims\": $DIM, \"ef_search\": $EF, \"tiers\": [" >> "$JSON.tmp"
	first=1
	for tier in hot warm cool cold cold-lossy; do
		seal_s=0 rate=null
		if [ "$tier" = cold-lossy ]; then
			sql -c "SELECT ruvector_set_tiers('$T', lossy_cold => true)" > /dev/null
		fi
		if [ "$tier" != hot ]; then
			t0=$(date +%s.%N)
			sql -c "SELECT * FROM ruvector_compact('$T', '${tier%-lossy}')" > /dev/null
			seal_s=$(printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc -l)")
			rate=$(printf '%.0f' "$(echo "$ROWS / $seal_s" | bc -l)")
			sql -c "VACUUM $T"
		fi
		out=$(run "$RVB" search -t "$T" -q "$D/test.copy" -n "$NQ" -T "$W/truth-$ds.txt" -s "ruvector.ef_search=$EF")
		r=$(kv recall "$out"); qps=$(kv qps "$out")
		out=$(run "$RVB" search -t "$T" -q "$D/test.copy" -n "$NQ_EXACT" -T "$W/truth-$ds.txt" \
			-s enable_indexscan=off -s enable_bitmapscan=off)
		eqps=$(kv qps "$out"); er=$(kv recall "$out")
		if [ "$tier" != cold-lossy ] && [ "$er" != "1.0000" ] && [ "$er" != "1" ]; then
			echo "tiers.sh: the exact scan on $tier answered recall $er, not 1" >&2; exit 1
		fi
		read -r resident disk < <(sql -F ' ' -c "SELECT round(sum(resident_bytes)::numeric / $ROWS, 1),
			round(sum(bytes)::numeric / $ROWS, 1) FROM ruvector_storage_report('$T')")
		ratio=$(printf '%.3f' "$(echo "$disk / ($DIM * 4)" | bc -l)")
		printf '%-10s | %9s %9s | %9s %7s | %10s %10s | %10s %9s | %10s\n' "$tier" "$r" "$qps" "$eqps" \
			"$er" "$resident" "$disk" "$ratio" "$seal_s" "$rate"
		[ $first = 1 ] || echo "," >> "$JSON.tmp"
		first=0
		echo "{\"tier\": \"$tier\", \"recall_at_10\": $r, \"qps\": $qps, \"exact_qps\": $eqps, \"exact_recall_at_10\": $er, \"resident_bytes_per_vector\": $resident, \"disk_bytes_per_vector\": $disk, \"disk_over_raw\": $ratio, \"seal_seconds\": $seal_s, \"sealed_per_second\": $rate}" >> "$JSON.tmp"
	done
	echo "(resident/v: bytes per vector search keeps touching, targets warm <= 2d+32, cool <= d+32, cold <= d/8+32 = $((2*DIM+32)), $((DIM+32)), $((DIM/8+32)); disk/raw: all store files over dims * 4)"
	echo "]}" >> "$JSON.tmp"
	sql -c "DROP TABLE $T"
done
echo "}" >> "$JSON.tmp"
mv "$JSON.tmp" "$JSON"
printf '\nwrote %s; total %.0f s\n' "$JSON" "$(echo "$(date +%s.%N) - $T_START" | bc -l)"
