#!/usr/bin/env bash
# tam-bench.sh (make bench-tam): the table AM benchmark of issue 3 on
# Fashion-MNIST's 60,000 x 784 training vectors, against an identical heap
# table with a ruvector column (vectors TOASTed out of line):
#   COPY seconds, total bytes (table + TOAST + indexes + vector stores),
#   exact `ORDER BY v <-> q LIMIT 10` latency over the first NQ test images.
# Prints the figures and ratios and writes results/tam-bench-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
NQ=${NQ:-20}
bash scripts/install-deps.sh
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# same lock as test/run-all.sh: one checkout installs and runs at a time
exec 9>/tmp/ruvector_tam-install.lock
flock 9
make -s -j"$(nproc)"
$SUDO make -s install >/dev/null
. scripts/cluster.sh
rv_cluster_start "shared_buffers = 1GB"
bash bench/prepare-data.sh "$RV_TMP/data-fmnist"
D="$RV_TMP/data-fmnist"
psqlc() { rv_as_owner psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }

psqlc -c "CREATE EXTENSION ruvector_tam"
for am in heap ruvector; do
	psqlc -c "CREATE TABLE fm_$am (id bigint PRIMARY KEY, label int, v ruvector(784)) USING $am"
	# start each load from a fresh checkpoint so neither pays for the other's WAL
	psqlc -c "CHECKPOINT"
	t0=$(now); psqlc -c "COPY fm_$am FROM '$D/train.copy'"; t1=$(now)
	declare "copy_$am=$(echo "$t1 - $t0" | bc -l)"
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
printf 'COPY seconds              heap %.2f  ruvector %.2f  ratio %.2f (target <= 1.00)\n' "$copy_heap" "$copy_ruvector" "$r_copy"
printf 'total bytes               heap %d  ruvector %d  ratio %.3f (target <= 0.80)\n' "$bytes_heap" "$bytes_rv" "$r_bytes"
printf 'exact k=10 latency (ms)   heap %.2f  ruvector %.2f  speed-up %.2fx (target >= 5x)\n' "$lat_heap" "$lat_ruvector" "$r_lat"
printf 'same answers as heap      %s\n' "$same"
mkdir -p results
f="results/tam-bench-$(date +%Y%m%d-%H%M%S).json"
printf '{"rows":60000,"dims":784,"copy_s":{"heap":%s,"ruvector":%s},"bytes":{"heap":%s,"ruvector":%s},"exact_knn_ms":{"heap":%s,"ruvector":%s},"queries":%s,"same_answers":%s}\n' \
	"$copy_heap" "$copy_ruvector" "$bytes_heap" "$bytes_rv" "$lat_heap" "$lat_ruvector" "$NQ" "$same" > "$f"
echo "wrote $f"
