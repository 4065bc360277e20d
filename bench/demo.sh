#!/usr/bin/env bash
# demo.sh (make demo): the main job, end to end on Fashion-MNIST.
# Installs what is missing, builds and installs the extension, starts a
# throwaway cluster (or uses the server named by the PG* variables when
# RV_USE_EXISTING=1), creates a table USING ruvector, loads the 60,000
# training images with COPY (progress bar), builds a ruhnsw index (progress
# from pg_stat_progress_create_index), runs the 10,000 test images as k=10
# queries and prints load/build times, sizes, recall@10, QPS and latency,
# then a few example queries.  Leaves nothing running unless RV_KEEP=1.
#
# Settings (environment): RV_USE_EXISTING=1, RV_KEEP=1,
#   NQ (queries timed, default 10000), NQ_RECALL (queries with exact ground
#   truth for recall, default 1000), EF_SEARCH (default: the GUC's default),
#   N_TRAIN (training rows loaded, default all 60000: smaller for quick
#   trials), RV_SKIP_INDEX=1 (skip the ruhnsw step: exact search only).
set -euo pipefail
cd "$(dirname "$0")/.."
T_START=$(date +%s.%N)
NQ=${NQ:-10000}
NQ_RECALL=${NQ_RECALL:-1000}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
now() { date +%s.%N; }
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

say "1/7 installing dependencies, building and installing ruvector_tam"
# the install lock as test/run-all.sh takes it (RV_INSTALL_LOCK_HELD=1 when
# run-all's demo smoke run is our caller: see scripts/install.sh)
. scripts/install.sh
rv_install
LOCK_WAIT=$RV_LOCK_WAIT

. scripts/cluster.sh
if [ "${RV_USE_EXISTING:-0}" = 1 ]; then
	RV_TMP=$(mktemp -d /tmp/ruvector-demo.XXXXXX)
	chmod 755 "$RV_TMP"
	export RV_TMP
	cleanup_existing() {
		if [ -z "${RV_KEEP:-}" ]; then
			psql -X -q -c 'DROP TABLE IF EXISTS fashion, fashion_test, fashion_labels' >/dev/null 2>&1 || true
			rm -rf "$RV_TMP"
		fi
	}
	trap cleanup_existing EXIT
	run() { "$@"; }
	echo "using the existing server: ${PGHOST:-default host} port ${PGPORT:-default}"
else
	rv_cluster_start "shared_buffers = 1GB"
	run() { rv_as_owner "$@"; }
	echo "throwaway cluster in $RV_TMP (port $PGPORT)"
fi
sql() { run psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# the client runs as the cluster owner, who may not be able to enter the
# checkout: it is built into RV_TMP
RVB=$(rv_build_rvbench)

say "2/7 preparing Fashion-MNIST (dataset-fashion-mnist) as COPY text"
D="$RV_TMP/data-fmnist"
bash bench/prepare-data.sh "$D"
TRAIN="$D/train.copy"
if [ -n "${N_TRAIN:-}" ]; then
	TRAIN="$RV_TMP/train-$N_TRAIN.copy"
	head -n "$N_TRAIN" "$D/train.copy" > "$TRAIN"
	chmod 644 "$TRAIN"
fi
echo "$(wc -l <"$TRAIN") training rows, $(wc -l <"$D/test.copy") test rows of 784 pixels"

sql <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ruvector_tam;
DROP TABLE IF EXISTS fashion, fashion_test, fashion_labels;
CREATE TABLE fashion (id bigint PRIMARY KEY, label int, embedding ruvector(784)) USING ruvector;
CREATE TABLE fashion_test (id bigint PRIMARY KEY, label int, embedding ruvector(784));
CREATE TABLE fashion_labels (label int PRIMARY KEY, name text);
INSERT INTO fashion_labels VALUES (0, 'T-shirt/top'), (1, 'Trouser'), (2, 'Pullover'),
  (3, 'Dress'), (4, 'Coat'), (5, 'Sandal'), (6, 'Shirt'), (7, 'Sneaker'), (8, 'Bag'),
  (9, 'Ankle boot');
SQL
run psql -X -q -v ON_ERROR_STOP=1 -c "\\copy fashion_test FROM '$D/test.copy'"
echo "ruvector_tam $(sql -c 'SELECT ruvector_version()'); table: CREATE TABLE fashion (id bigint PRIMARY KEY, label int, embedding ruvector(784)) USING ruvector"

say "3/7 loading the $(wc -l <"$TRAIN") training images with COPY (5,000 rows per COPY)"
out=$(run "$RVB" load -t fashion -f "$TRAIN" -C 5000)
LOAD_ROWS=$(kv rows "$out"); LOAD_S=$(kv seconds "$out")
sql -c 'VACUUM ANALYZE fashion'

say "4/7 building the ruhnsw index (m = 16, ef_construction = 64)"
HAVE_INDEX=$(sql -c "SELECT count(*) FROM pg_am WHERE amname = 'ruhnsw'")
BUILD_S=""
SKIP_WHY="ruhnsw missing"
if [ "${RV_SKIP_INDEX:-0}" = 1 ] && [ "$HAVE_INDEX" = 1 ]; then
	HAVE_INDEX=0
	SKIP_WHY="RV_SKIP_INDEX=1"
	echo "SKIPPED: RV_SKIP_INDEX=1 asks for exact search only; every query below is an exact scan."
elif [ "$HAVE_INDEX" = 1 ]; then
	out=$(run "$RVB" build -S "CREATE INDEX fashion_embedding_idx ON fashion USING ruhnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)")
	BUILD_S=$(kv seconds "$out")
	sql -c 'ANALYZE fashion'
else
	echo "SKIPPED: the ruhnsw index access method is missing from this build"
	echo "(SELECT 1 FROM pg_am WHERE amname = 'ruhnsw' finds nothing); every query below is an exact scan."
fi

say "5/7 exact ground truth for the first $NQ_RECALL test images (enable_indexscan = off, $(nproc) connections)"
out=$(run "$RVB" truth -t fashion -q "$D/test.copy" -n "$NQ_RECALL" -o "$RV_TMP/truth.txt" -j "$(nproc)")
EXACT_QPS=$(kv qps "$out")
echo "exact scan: $(kv queries "$out") queries in $(kv seconds "$out") s on $(nproc) connections"

SETS=()
[ -n "${EF_SEARCH:-}" ] && SETS=(-s "ruvector.ef_search=$EF_SEARCH")
if [ "$HAVE_INDEX" = 1 ]; then
	# the literal loads the library, which defines the setting
	EF=$(sql -c "SELECT current_setting('ruvector.ef_search', true) FROM (SELECT '[1]'::ruvector) s")
	[ -n "${EF_SEARCH:-}" ] && EF=$EF_SEARCH
	say "6/7 running the $NQ test images as k = 10 queries through ruhnsw (ruvector.ef_search = ${EF:-?}, one connection)"
	out=$(run "$RVB" search -t fashion -q "$D/test.copy" -n "$NQ" -T "$RV_TMP/truth.txt" "${SETS[@]}")
	KIND="ruhnsw index scan"
else
	# without an index every query is an exact scan: recall is 1 by
	# definition, and the truth pass above already timed them
	NQ=$NQ_RECALL
	say "6/7 running $NQ test images as k = 10 exact-scan queries (no index; one connection)"
	out=$(run "$RVB" search -t fashion -q "$D/test.copy" -n "$NQ" -T "$RV_TMP/truth.txt" -w 5)
	KIND="exact scan (index step skipped: $SKIP_WHY)"
fi
RECALL=$(kv recall "$out"); RECALL_Q=$(kv recall_queries "$out")
QPS=$(kv qps "$out"); P50=$(kv p50_ms "$out"); P99=$(kv p99_ms "$out"); Q_S=$(kv seconds "$out")

read -r HEAP_B STORE_B INDEX_B PKEY_B < <(sql -F ' ' -c "
SELECT pg_table_size('fashion'),
       (SELECT coalesce(sum(bytes), 0) FROM ruvector_storage_report('fashion')),
       coalesce((SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_am a ON a.oid = c.relam WHERE indrelid = 'fashion'::regclass AND amname = 'ruhnsw'), 0),
       pg_relation_size('fashion_pkey')")

say "7/7 example queries (query image's label beside its neighbours' labels)"
run psql -X -e -v ON_ERROR_STOP=1 <<'SQL'
-- How PostgreSQL runs a nearest-neighbour query on this table
EXPLAIN (COSTS OFF)
SELECT id, label FROM fashion
ORDER BY embedding <-> (SELECT embedding FROM fashion_test WHERE id = 1) LIMIT 10;

-- The 10 training images nearest to test image 1
SELECT f.id, l.name AS label, round((f.embedding <-> q.embedding)::numeric, 1) AS distance
FROM fashion f JOIN fashion_labels l USING (label),
     (SELECT embedding FROM fashion_test WHERE id = 1) q
ORDER BY f.embedding <-> (SELECT embedding FROM fashion_test WHERE id = 1)
LIMIT 10;

-- A few more: each test image's label and its 10 neighbours' labels
SELECT t.id AS test_image, lt.name AS query_label, n.neighbours
FROM fashion_test t JOIN fashion_labels lt USING (label),
LATERAL (SELECT string_agg(ln.name, ', ' ORDER BY nn.d) AS neighbours
         FROM (SELECT f.label, f.embedding <-> t.embedding AS d
               FROM fashion f ORDER BY f.embedding <-> t.embedding LIMIT 10) nn
         JOIN fashion_labels ln USING (label)) n
WHERE t.id IN (2, 3, 13, 24, 43, 100)
ORDER BY t.id;
SQL

T_END=$(now)
say "summary"
mb() { printf "%.1f" "$(echo "$1 / 1048576" | bc -l)"; }
printf '%-28s %s rows in %.1f s (%.0f rows/s)\n' "load (COPY)" "$LOAD_ROWS" "$LOAD_S" "$(echo "$LOAD_ROWS / $LOAD_S" | bc -l)"
if [ -n "$BUILD_S" ]; then
	printf '%-28s %.1f s (m = 16, ef_construction = 64)\n' "index build (ruhnsw)" "$BUILD_S"
else
	printf '%-28s %s\n' "index build (ruhnsw)" "SKIPPED ($SKIP_WHY)"
fi
printf '%-28s %s bytes (%s MB)\n' "table, heap part" "$HEAP_B" "$(mb "$HEAP_B")"
printf '%-28s %s bytes (%s MB)\n' "vector store" "$STORE_B" "$(mb "$STORE_B")"
printf '%-28s %s bytes (%s MB)\n' "ruhnsw index" "$INDEX_B" "$(mb "$INDEX_B")"
printf '%-28s %s bytes (%s MB)\n' "primary key (btree)" "$PKEY_B" "$(mb "$PKEY_B")"
printf '%-28s %s\n' "queries" "$NQ k = 10 queries, $KIND, one connection, $Q_S s"
printf '%-28s %s (over the first %s queries, against the exact scan)\n' "recall@10" "$RECALL" "$RECALL_Q"
printf '%-28s %s\n' "QPS" "$QPS"
printf '%-28s %s ms / %s ms\n' "latency p50 / p99" "$P50" "$P99"
printf '%-28s %s queries/s on %s connections\n' "exact scan" "$EXACT_QPS" "$(nproc)"
printf '%-28s %.0f s (%.0f s of it waiting for the install lock)\n' "demo total" \
	"$(echo "$T_END - $T_START" | bc -l)" "$LOCK_WAIT"
if [ -n "${RV_KEEP:-}" ]; then
	echo "RV_KEEP=1: tables fashion, fashion_test, fashion_labels kept; connect with: PGHOST=${PGHOST:-} PGPORT=${PGPORT:-} psql"
	if [ "${RV_USE_EXISTING:-0}" != 1 ]; then
		echo "the cluster keeps running; stop it with: pg_ctl -D $RV_TMP/data stop"
		trap - EXIT
	fi
fi
