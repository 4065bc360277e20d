# pgvector-compare.sh: sourced by bench/bench.sh after it has started the
# cluster and built rvbench.  Runs pgvector's side of the side-by-side
# comparison, and the write measurements on both systems, in functions that
# bench.sh calls at its phases so that both systems see the same cluster,
# the same client, the same data and the same moment of the run:
#   pgv_setup   detects pgvector (pg_available_extensions); sets HAVE_PGV
#   pgv_load    COPY of the training rows into TP_pgv (heap, vector(DIM))
#   pgv_exact   exact k-NN QPS (sequential scan, index scans off)
#   pgv_build   hnsw build (m = 16, ef_construction = 64), bytes
#   pgv_sweep_begin, pgv_sweep_one EF
#               hnsw.ef_search sweep, one setting at a time: bench.sh runs
#               it right after ruhnsw's run at the same ef_search, so a
#               change of the shared machine's speed during the sweep
#               falls on both systems alike
#   pgv_insert  the rvbench single-row INSERTs bench.sh also runs on TP_ruvector
#   pgv_writes  pgbench INSERTs (1 and 4 clients), COPY of 5,000 rows,
#               UPDATE of a non-vector column on 5,000 rows: both systems
#   pgv_report  the side-by-side table; pgv_json its JSON object (or null)
# pgvector lives in its own database, pgv, of the same cluster: both
# extensions define functions of the same name and signature (docs/
# migration.md), and one database each keeps name resolution out of the
# figures.  Every file the cluster owner reads (pgbench scripts, COPY input)
# is written to RV_TMP.  Ratios are ruvector / pgvector throughout: above 1
# is better for rates (rows/s, QPS), below 1 for seconds and bytes.
#
# Tables are named TP_* (TP: the data set's table prefix, fm or tx).
# Needs from bench.sh: run, sql, RVB, W, Q, TRAIN, ROWS, DIM, TP, EF_LIST,
# NQ_SWEEP, NQ_RECALL, NQ_EXACT, N_INSERT, HAVE_INDEX, say, kv, div; Q holds
# at least 10,000 query rows (the pgbench INSERTs and the COPY use rows
# N_INSERT+1 .. 10000).

# the 1- and 4-client pgbench runs copy distinct test rows (N_INSERT+1 ..
# 5000, before the COPY's 5001 .. 10000): pgvector files a vector equal to
# an indexed one's as another heap TID of that element, without a graph
# insert, so a repeated row would flatter it; ruvector inserts every row
N_PGBENCH=${N_PGBENCH:-1500}
PGB_SRC=$((5000 - N_INSERT))
if [ $((2 * N_PGBENCH)) -gt "$PGB_SRC" ]; then
	echo "N_PGBENCH=$N_PGBENCH: the two pgbench runs need $((2 * N_PGBENCH)) distinct rows, test rows $((N_INSERT + 1)) .. 5000 are $PGB_SRC" >&2
	exit 1
fi
HAVE_PGV=0
PGV_WHY=""
declare -A PGV PRV

runv() { rv_as_owner env PGDATABASE=pgv "$@"; }
sqlv() { runv psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# ratio A B: A / B, or null when either is missing or B is 0
ratio() {
	if [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]] && [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then
		div "$1" "$2"
	else
		echo null
	fi
}
# best_qps FILE: "QPS ef_search recall" of the highest-QPS sweep line (ef
# recall qps ...) with recall >= 0.99, or "null null null"
best_qps() {
	awk '$2 >= 0.99 && $3 > best { best = $3; ef = $1; r = $2 }
		END { if (best == "") print "null null null"; else print best, ef, r }' "$1"
}

pgv_setup() {
	if [ "${RV_SKIP_PGVECTOR:-0}" = 1 ]; then
		PGV_WHY="RV_SKIP_PGVECTOR=1"
	elif [ "$(sql -c "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")" != 1 ]; then
		PGV_WHY="pgvector's vector extension is not installed on this machine"
	elif [ "$HAVE_INDEX" != 1 ]; then
		PGV_WHY="no ruhnsw index to compare with hnsw"
	fi
	if [ -n "$PGV_WHY" ]; then
		echo "NOTE: $PGV_WHY: the pgvector comparison is skipped"
		return 0
	fi
	HAVE_PGV=1
	sql -c "CREATE DATABASE pgv"
	sqlv -c "CREATE EXTENSION vector"
	PGV[version]=$(sqlv -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
	echo "pgvector ${PGV[version]} found: compared side by side (database pgv, same cluster)"
	# the query vectors as rows, the source of the pgbench INSERTs
	sql -c "CREATE TABLE ${TP}_q (id bigint PRIMARY KEY, label int, embedding ruvector($DIM))"
	sqlv -c "CREATE TABLE ${TP}_q (id bigint PRIMARY KEY, label int, embedding vector($DIM))"
	run "$RVB" load -t ${TP}_q -f "$Q" -C 10000 >/dev/null
	runv "$RVB" load -t ${TP}_q -f "$Q" -C 10000 >/dev/null
	sql -c "VACUUM ANALYZE ${TP}_q"
	sqlv -c "VACUUM ANALYZE ${TP}_q"
}

pgv_load() {
	[ "$HAVE_PGV" = 1 ] || return 0
	say "pgvector table (heap, vector($DIM)): COPY $ROWS rows"
	sqlv -c "CREATE TABLE ${TP}_pgv (id bigint PRIMARY KEY, label int, embedding vector($DIM))"
	local out
	out=$(runv "$RVB" load -t ${TP}_pgv -f "$TRAIN" -C 10000)
	PGV[copy_rps]=$(kv rows_per_s "$out")
	sqlv -c "VACUUM ANALYZE ${TP}_pgv"
}

pgv_exact() {
	[ "$HAVE_PGV" = 1 ] || return 0
	say "pgvector table: exact scan, $NQ_EXACT queries, one connection"
	local out
	out=$(runv "$RVB" search -y vector -t ${TP}_pgv -q "$Q" -n "$NQ_EXACT" -w 5 -T "$W/truth.txt" \
		-s enable_indexscan=off -s enable_bitmapscan=off)
	echo "$out"
	PGV[exact_qps]=$(kv qps "$out"); PGV[exact_recall]=$(kv recall "$out")
}

# build_workers FILE: the parallel workers a CREATE INDEX launched, from
# the DEBUG1 line "using N parallel workers" in its stderr (FILE) that
# both pgvector and ruhnsw print when they build in parallel; 0 without one
build_workers() {
	local n
	n=$(sed -n 's/.*using \([0-9]*\) parallel workers.*/\1/p' "$1" | tail -1)
	echo "${n:-0}"
}

pgv_build() {
	[ "$HAVE_PGV" = 1 ] || return 0
	local s
	for s in max_parallel_maintenance_workers max_worker_processes max_parallel_workers \
		maintenance_work_mem min_parallel_table_scan_size; do
		PGV[$s]=$(sqlv -c "SHOW $s")
	done
	say "pgvector hnsw build (m = 16, ef_construction = 64; max_parallel_maintenance_workers = ${PGV[max_parallel_maintenance_workers]}, maintenance_work_mem = ${PGV[maintenance_work_mem]})"
	local out
	# DEBUG1 carries pgvector's "using N parallel workers" when it goes
	# parallel; PostgreSQL 15's own "building index ... serially" is about
	# btree's planning only and is not shown
	runv "$RVB" build -s client_min_messages=debug1 \
		-S "CREATE INDEX ${TP}_pgv_idx ON ${TP}_pgv USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" \
		> "$W/pgv-build.out" 2> >(tee "$W/pgv-build.err" | grep -v '^DEBUG:  building index' >&2)
	wait $! || true		# tee has written all of stderr
	out=$(cat "$W/pgv-build.out")
	PGV[build_s]=$(kv seconds "$out")
	PGV[build_workers]=$(build_workers "$W/pgv-build.err")
	echo "pgvector build: ${PGV[build_s]} s, ${PGV[build_workers]} parallel workers launched"
	sqlv -c "ANALYZE ${TP}_pgv"
	PGV[table]=$(sqlv -c "SELECT pg_table_size('${TP}_pgv')")
	PGV[pkey]=$(sqlv -c "SELECT pg_relation_size('${TP}_pgv_pkey')")
	PGV[index]=$(sqlv -c "SELECT pg_relation_size('${TP}_pgv_idx')")
	PGV[total]=$((PGV[table] + PGV[pkey] + PGV[index]))
}

# pgv_sweep_begin: empties pgvector's sweep results
pgv_sweep_begin() {
	: > "$W/pgv-sweep.dat"
	PGV[sweep_json]=""
}

# pgv_sweep_one EF: NQ_SWEEP queries at hnsw.ef_search = EF (recall over the
# first NQ_RECALL); appends "ef recall qps p50 p99" to pgv-sweep.dat and
# prints the same fields
pgv_sweep_one() {
	[ "$HAVE_PGV" = 1 ] || return 0
	local ef=$1 out r qps p50 p99
	out=$(runv "$RVB" search -y vector -t ${TP}_pgv -q "$Q" -n "$NQ_SWEEP" -T "$W/truth.txt" -s "hnsw.ef_search=$ef")
	r=$(kv recall "$out"); qps=$(kv qps "$out"); p50=$(kv p50_ms "$out"); p99=$(kv p99_ms "$out")
	echo "$ef $r $qps $p50 $p99" >> "$W/pgv-sweep.dat"
	PGV[sweep_json]+="${PGV[sweep_json]:+,}{\"ef_search\":$ef,\"recall_at_10\":$r,\"qps\":$qps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"queries\":$(kv queries "$out"),\"recall_queries\":$(kv recall_queries "$out")}"
	printf '%10s %10s %10s %10s' "$r" "$qps" "$p50" "$p99"
}

pgv_insert() {
	[ "$HAVE_PGV" = 1 ] || return 0
	say "pgvector table: $N_INSERT single-row INSERTs (primary key + hnsw)"
	local out
	out=$(runv "$RVB" insert -y vector -t ${TP}_pgv -q "$Q" -n "$N_INSERT" -i 1000001)
	echo "$out"
	PGV[ins_rvbench]=$(kv rows_per_s "$out")
}

# put SYS KEY VALUE: PRV[KEY] (SYS ruvector) or PGV[KEY] (SYS pgvector) = VALUE
put() {
	if [ "$1" = ruvector ]; then PRV[$2]=$3; else PGV[$2]=$3; fi
}

# sizes DB TABLE: "table_bytes index_bytes"; table bytes include the
# vector stores of a ruvector table
sizes() {
	if [ "$1" = pgv ]; then
		sqlv -F ' ' -c "SELECT pg_table_size('$2'), pg_indexes_size('$2')"
	else
		sql -F ' ' -c "SELECT pg_table_size('$2') + (SELECT coalesce(sum(bytes), 0) FROM ruvector_storage_report('$2')), pg_indexes_size('$2')"
	fi
}

pgv_writes() {
	[ "$HAVE_PGV" = 1 ] || return 0
	local sys db tab c out tps
	# pgbench: one single-row INSERT per transaction, ids from a sequence,
	# vectors from test rows N_INSERT+1 .. 5000, each row once over both
	# runs (the rows the rvbench INSERTs used are 1 .. N_INSERT)
	for sys in ruvector pgvector; do
		if [ $sys = ruvector ]; then db=postgres tab=${TP}_ruvector; else db=pgv tab=${TP}_pgv; fi
		rv_as_owner env PGDATABASE=$db psql -X -q -v ON_ERROR_STOP=1 -c "CREATE SEQUENCE ${TP}_ins_seq START 3000001"
		cat > "$W/ins-$sys.sql" <<EOF
INSERT INTO $tab (id, label, embedding) SELECT s.n, q.label, q.embedding FROM (SELECT nextval('${TP}_ins_seq') AS n) s JOIN ${TP}_q q ON q.id = $((N_INSERT + 1)) + s.n % $PGB_SRC;
EOF
		chmod 644 "$W/ins-$sys.sql"
	done
	for c in 1 4; do
		for sys in ruvector pgvector; do
			if [ $sys = ruvector ]; then db=postgres; else db=pgv; fi
			say "$sys: pgbench -M prepared, single-row INSERT into the indexed table, $c client(s), $N_PGBENCH rows"
			out=$(rv_as_owner env PGDATABASE=$db pgbench -n -M prepared -f "$W/ins-$sys.sql" \
				-c $c -j $c -t $((N_PGBENCH / c)) 2>&1)
			tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
			[ -n "$tps" ] || { echo "$out"; echo "pgbench gave no tps" >&2; return 1; }
			echo "$tps rows/s"
			put $sys ins_c$c "$tps"
		done
	done

	# COPY of test images 5001 .. 10000 under new ids, one COPY of 5,000 rows
	awk -F '\t' -v OFS='\t' 'NR > 5000 && NR <= 10000 { $1 = $1 + 4000000; print }' "$Q" > "$W/copy5000.copy"
	chmod 644 "$W/copy5000.copy"
	local nc
	nc=$(wc -l < "$W/copy5000.copy")
	for sys in ruvector pgvector; do
		say "$sys: COPY of $nc rows into the indexed table"
		if [ $sys = ruvector ]; then db=postgres tab=${TP}_ruvector; else db=pgv tab=${TP}_pgv; fi
		out=$(rv_as_owner env PGDATABASE=$db "$RVB" load -t $tab -f "$W/copy5000.copy" -C 5000)
		echo "$out"
		put $sys copy5k "$(kv rows_per_s "$out")"
	done
	PGV[copy5k_rows]=$nc

	# UPDATE of the label (not indexed) of training rows 1 .. 5000
	local before after ms
	for sys in ruvector pgvector; do
		if [ $sys = ruvector ]; then db=postgres tab=${TP}_ruvector; else db=pgv tab=${TP}_pgv; fi
		say "$sys: UPDATE of a non-vector column on 5,000 rows"
		before=$(sizes $db $tab)
		out=$(rv_as_owner env PGDATABASE=$db psql -X -At -v ON_ERROR_STOP=1 -c '\timing on' \
			-c "UPDATE $tab SET label = label + 1 WHERE id <= 5000")
		ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")
		grep -q '^UPDATE 5000$' <<<"$out" || { echo "$out"; echo "UPDATE did not touch 5000 rows" >&2; return 1; }
		after=$(sizes $db $tab)
		put $sys upd_s "$(printf '%.3f' "$(echo "$ms / 1000" | bc -l)")"
		put $sys upd_tab_before "${before% *}"; put $sys upd_idx_before "${before#* }"
		put $sys upd_tab_after "${after% *}"; put $sys upd_idx_after "${after#* }"
		echo "$ms ms; table (+ store) ${before% *} -> ${after% *} bytes, indexes ${before#* } -> ${after#* } bytes"
	done
}

# row LABEL RUVECTOR PGVECTOR [FORMAT]: one line of the side-by-side table
row() {
	local f=${4:-%.1f} a=$2 b=$3
	[[ "$a" =~ ^[0-9.]+$ ]] && a=$(printf "$f" "$a")
	[[ "$b" =~ ^[0-9.]+$ ]] && b=$(printf "$f" "$b")
	printf '%-42s %16s %16s %8s\n' "$1" "$a" "$b" "$(ratio "$2" "$3" | sed 's/^\([0-9]*\.[0-9][0-9][0-9]\).*/\1/')"
}

# pgv_report RV_BUILD_S RV_EXACT_QPS RV_COPY_RPS RV_INS_RVBENCH RV_TABLE RV_PKEY RV_INDEX SWEEP_FILE
pgv_report() {
	[ "$HAVE_PGV" = 1 ] || return 0
	PRV[build_s]=$1 PRV[exact_qps]=$2 PRV[copy_rps]=$3 PRV[ins_rvbench]=$4
	PRV[table]=$5 PRV[pkey]=$6 PRV[index]=$7
	# bench.sh's ruhnsw build sets RV_BUILD_WORKERS (build_workers)
	PRV[build_workers]=${RV_BUILD_WORKERS:-null}
	PRV[total]=$((PRV[table] + PRV[pkey] + PRV[index]))
	read -r PRV[best_qps] PRV[best_ef] PRV[best_recall] < <(best_qps "$8")
	read -r PGV[best_qps] PGV[best_ef] PGV[best_recall] < <(best_qps "$W/pgv-sweep.dat")
	say "ruvector_tam vs pgvector ${PGV[version]}: same cluster, client (rvbench) and data; m = 16, ef_construction = 64"
	printf '%9s | %-36s | %s\n' "" ruvector pgvector
	printf '%9s | %9s %9s %8s %8s | %9s %9s %8s %8s\n' ef_search recall@10 QPS p50_ms p99_ms recall@10 QPS p50_ms p99_ms
	paste -d ' ' "$8" "$W/pgv-sweep.dat" | while read -r ef r1 q1 a1 b1 _ r2 q2 a2 b2; do
		printf '%9s | %9s %9.1f %8.3f %8.3f | %9s %9.1f %8.3f %8.3f\n' "$ef" "$r1" "$q1" "$a1" "$b1" "$r2" "$q2" "$a2" "$b2"
	done
	echo
	printf '%-42s %16s %16s %8s\n' "(ratio = ruvector / pgvector)" ruvector pgvector ratio
	local bq1=${PRV[best_qps]} bq2=${PGV[best_qps]}
	row "QPS at recall@10 >= 0.99" "$bq1" "$bq2"
	printf '%-42s %16s %16s\n' "  at ef_search" "${PRV[best_ef]}" "${PGV[best_ef]}"
	row "exact k-NN QPS ($NQ_EXACT queries)" "${PRV[exact_qps]}" "${PGV[exact_qps]}" %.2f
	row "index build seconds" "${PRV[build_s]}" "${PGV[build_s]}"
	printf '%-42s %16s %16s\n' "  parallel workers in the build" "${PRV[build_workers]}" "${PGV[build_workers]}"
	row "COPY rows/s ($ROWS rows, no vector index)" "${PRV[copy_rps]}" "${PGV[copy_rps]}" %.0f
	row "INSERT rows/s, pgbench, 1 client" "${PRV[ins_c1]}" "${PGV[ins_c1]}" %.0f
	row "INSERT rows/s, pgbench, 4 clients" "${PRV[ins_c4]}" "${PGV[ins_c4]}" %.0f
	row "INSERT rows/s, rvbench binary, 1 client" "${PRV[ins_rvbench]}" "${PGV[ins_rvbench]}" %.0f
	row "COPY ${PGV[copy5k_rows]} rows into indexed table, rows/s" "${PRV[copy5k]}" "${PGV[copy5k]}" %.0f
	row "UPDATE label of 5000 rows, seconds" "${PRV[upd_s]}" "${PGV[upd_s]}" %.3f
	row "  table (+ store) bytes before UPDATE" "${PRV[upd_tab_before]}" "${PGV[upd_tab_before]}" %.0f
	row "  table (+ store) bytes after UPDATE" "${PRV[upd_tab_after]}" "${PGV[upd_tab_after]}" %.0f
	row "  table (+ store) growth bytes" "$((PRV[upd_tab_after] - PRV[upd_tab_before]))" "$((PGV[upd_tab_after] - PGV[upd_tab_before]))" %.0f
	row "  indexes bytes before UPDATE" "${PRV[upd_idx_before]}" "${PGV[upd_idx_before]}" %.0f
	row "  indexes bytes after UPDATE" "${PRV[upd_idx_after]}" "${PGV[upd_idx_after]}" %.0f
	row "bytes: table (+ store)" "${PRV[table]}" "${PGV[table]}" %.0f
	row "bytes: vector index" "${PRV[index]}" "${PGV[index]}" %.0f
	row "bytes: primary key" "${PRV[pkey]}" "${PGV[pkey]}" %.0f
	row "bytes: table + indexes" "${PRV[total]}" "${PGV[total]}" %.0f
	echo "settings: max_parallel_maintenance_workers = ${PGV[max_parallel_maintenance_workers]}, max_worker_processes = ${PGV[max_worker_processes]}, max_parallel_workers = ${PGV[max_parallel_workers]}, maintenance_work_mem = ${PGV[maintenance_work_mem]}, min_parallel_table_scan_size = ${PGV[min_parallel_table_scan_size]}"
}

# pgv_json: the comparison as one JSON value (null when skipped)
pgv_json() {
	if [ "$HAVE_PGV" != 1 ]; then
		echo "null"
		return 0
	fi
	local n=null
	cat <<EOF
{
    "version": "${PGV[version]}", "database": "pgv", "table": "heap, vector($DIM), hnsw (m = 16, ef_construction = 64)",
    "settings": {"max_parallel_maintenance_workers": ${PGV[max_parallel_maintenance_workers]}, "max_worker_processes": ${PGV[max_worker_processes]},
                 "max_parallel_workers": ${PGV[max_parallel_workers]}, "maintenance_work_mem": "${PGV[maintenance_work_mem]}",
                 "min_parallel_table_scan_size": "${PGV[min_parallel_table_scan_size]}"},
    "build_parallel_workers": {"ruvector": ${PRV[build_workers]}, "pgvector": ${PGV[build_workers]}},
    "ef_search_sweep": [${PGV[sweep_json]}],
    "qps_at_recall_0_99": {"ruvector": ${PRV[best_qps]}, "ruvector_ef_search": ${PRV[best_ef]},
                           "pgvector": ${PGV[best_qps]}, "pgvector_ef_search": ${PGV[best_ef]}},
    "exact_qps": {"ruvector": ${PRV[exact_qps]}, "pgvector": ${PGV[exact_qps]}, "pgvector_recall": ${PGV[exact_recall]:-$n}},
    "build_s": {"ruvector": ${PRV[build_s]}, "pgvector": ${PGV[build_s]}},
    "copy_rows_per_s": {"ruvector": ${PRV[copy_rps]}, "pgvector": ${PGV[copy_rps]}},
    "insert_rows_per_s": {"pgbench_1_client": {"ruvector": ${PRV[ins_c1]}, "pgvector": ${PGV[ins_c1]}},
                          "pgbench_4_clients": {"ruvector": ${PRV[ins_c4]}, "pgvector": ${PGV[ins_c4]}},
                          "rvbench_1_client": {"ruvector": ${PRV[ins_rvbench]}, "pgvector": ${PGV[ins_rvbench]}},
                          "pgbench_rows_per_run": $N_PGBENCH},
    "copy_indexed_rows_per_s": {"ruvector": ${PRV[copy5k]}, "pgvector": ${PGV[copy5k]}, "rows": ${PGV[copy5k_rows]}},
    "update_5000": {"ruvector": {"seconds": ${PRV[upd_s]}, "table_bytes_before": ${PRV[upd_tab_before]}, "table_bytes_after": ${PRV[upd_tab_after]},
                                 "index_bytes_before": ${PRV[upd_idx_before]}, "index_bytes_after": ${PRV[upd_idx_after]}},
                    "pgvector": {"seconds": ${PGV[upd_s]}, "table_bytes_before": ${PGV[upd_tab_before]}, "table_bytes_after": ${PGV[upd_tab_after]},
                                 "index_bytes_before": ${PGV[upd_idx_before]}, "index_bytes_after": ${PGV[upd_idx_after]}}},
    "bytes": {"ruvector": {"table_and_store": ${PRV[table]}, "pkey": ${PRV[pkey]}, "index": ${PRV[index]}, "total": ${PRV[total]}},
              "pgvector": {"table": ${PGV[table]}, "pkey": ${PGV[pkey]}, "index": ${PGV[index]}, "total": ${PGV[total]}}},
    "ratios_ruvector_over_pgvector": {
      "qps_at_recall_0_99": $(ratio "${PRV[best_qps]}" "${PGV[best_qps]}"),
      "exact_qps": $(ratio "${PRV[exact_qps]}" "${PGV[exact_qps]}"),
      "build_s": $(ratio "${PRV[build_s]}" "${PGV[build_s]}"),
      "copy_rows_per_s": $(ratio "${PRV[copy_rps]}" "${PGV[copy_rps]}"),
      "insert_pgbench_1_client": $(ratio "${PRV[ins_c1]}" "${PGV[ins_c1]}"),
      "insert_pgbench_4_clients": $(ratio "${PRV[ins_c4]}" "${PGV[ins_c4]}"),
      "insert_rvbench_1_client": $(ratio "${PRV[ins_rvbench]}" "${PGV[ins_rvbench]}"),
      "copy_indexed_rows_per_s": $(ratio "${PRV[copy5k]}" "${PGV[copy5k]}"),
      "update_5000_s": $(ratio "${PRV[upd_s]}" "${PGV[upd_s]}"),
      "update_5000_table_growth": $(ratio "$((PRV[upd_tab_after] - PRV[upd_tab_before]))" "$((PGV[upd_tab_after] - PGV[upd_tab_before]))"),
      "bytes_total": $(ratio "${PRV[total]}" "${PGV[total]}")}
  }
EOF
}
