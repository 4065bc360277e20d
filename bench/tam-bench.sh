#!/usr/bin/env bash
# tam-bench.sh (make bench-tam): the table AM benchmark of issue 3 on
# Fashion-MNIST's 60,000 x 784 training vectors, against an identical heap
# table with a ruvector column (vectors TOASTed out of line):
#   COPY seconds (median of ROUNDS=5 alternating loads), total bytes
#   (table + TOAST + indexes + vector stores),
#   exact `ORDER BY v <-> q LIMIT 10` latency over the first NQ test images.
# Prints the figures and ratios and writes results/tam-bench-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
NQ=${NQ:-20}
. scripts/install.sh
rv_install
. scripts/cluster.sh
# no autovacuum: an autoanalyze of the table just loaded would run during
# the next COPY on a 2-core machine
rv_cluster_start "shared_buffers = 1GB" "autovacuum = off"
bash bench/prepare-data.sh "$RV_TMP/data-fmnist"
D="$RV_TMP/data-fmnist"
psqlc() { rv_as_owner psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

psqlc -c "CREATE EXTENSION ruvector_tam"
# COPY timings on a shared 2-core machine vary by +-20% from run to run:
# load each table ROUNDS times, alternating heap and ruvector, each into a
# freshly created table after a CHECKPOINT (so neither pays for the other's
# WAL), and compare the medians.  The last round's tables stay for the rest.
ROUNDS=${ROUNDS:-5}
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
declare -A copies
for round in $(seq 1 "$ROUNDS"); do
	for am in heap ruvector; do
		psqlc -c "DROP TABLE IF EXISTS fm_$am"
		psqlc -c "CREATE TABLE fm_$am (id bigint PRIMARY KEY, label int, v ruvector(784)) USING $am"
		psqlc -c "CHECKPOINT"
		t0=$(now); psqlc -c "COPY fm_$am FROM '$D/train.copy'"; t1=$(now)
		copies[$am]+="$(echo "$t1 - $t0" | bc -l) "
	done
done
for am in heap ruvector; do
	declare "copy_$am=$(tr ' ' '\n' <<<"${copies[$am]}" | grep . | median)"
	psqlc -c "VACUUM ANALYZE fm_$am"
done
bytes_heap=$(psqlc -c "SELECT pg_total_relation_size('fm_heap')")
bytes_rv=$(psqlc -c "SELECT pg_total_relation_size('fm_ruvector') + (SELECT sum(bytes) FROM ruvector_storage_report('fm_ruvector'))")

head -n "$NQ" "$D/test.copy" | cut -f3 > "$D/queries.txt"
for am in heap ruvector; do
	# warm-up pass, then the timed pass
	for pass in warm timed; do
		{ echo '\timing on'; while read -r q; do echo "SELECT id FROM fm_$am ORDER BY v <-> '$q' LIMIT 10;"; done < "$D/queries.txt"; } > "$D/q_$am.sql"
		out=$(psqlc -f "$D/q_$am.sql")
	done
	ms=$(echo "$out" | awk '/^Time:/ {s += $2; n++} END {printf "%.3f", s / n}')
	declare "lat_$am=$ms"
	echo "$out" | grep -v '^Time:' > "$D/res_$am.txt"
done
same=$(cmp -s "$D/res_heap.txt" "$D/res_ruvector.txt" && echo true || echo false)

r_copy=$(echo "$copy_ruvector / $copy_heap" | bc -l)
r_bytes=$(echo "$bytes_rv / $bytes_heap" | bc -l)
r_lat=$(echo "$lat_heap / $lat_ruvector" | bc -l)
printf 'rows                      60000 x 784 dims\n'
printf 'COPY seconds (median of %d) heap %.2f  ruvector %.2f  ratio %.2f (target <= 1.00)\n' "$ROUNDS" "$copy_heap" "$copy_ruvector" "$r_copy"
printf '  all COPY runs (s)         heap %s  ruvector %s\n' "${copies[heap]}" "${copies[ruvector]}"
printf 'total bytes               heap %d  ruvector %d  ratio %.3f (target <= 0.80)\n' "$bytes_heap" "$bytes_rv" "$r_bytes"
printf 'exact k=10 latency (ms)   heap %.2f  ruvector %.2f  speed-up %.2fx (target >= 5x)\n' "$lat_heap" "$lat_ruvector" "$r_lat"
printf 'same answers as heap      %s\n' "$same"
mkdir -p results
f="results/tam-bench-$(date +%Y%m%d-%H%M%S).json"
printf '{"rows":60000,"dims":784,"copy_s":{"heap":%s,"ruvector":%s},"bytes":{"heap":%s,"ruvector":%s},"exact_knn_ms":{"heap":%s,"ruvector":%s},"queries":%s,"same_answers":%s}\n' \
	"$copy_heap" "$copy_ruvector" "$bytes_heap" "$bytes_rv" "$lat_heap" "$lat_ruvector" "$NQ" "$same" > "$f"
echo "wrote $f"
