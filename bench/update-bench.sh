#!/usr/bin/env bash
# update-bench.sh: `UPDATE t SET cat = cat + 1` on 5,000 rows of a table
# of 100-dimensional vectors with an HNSW index (m = 16, ef_construction =
# 64), ruvector (ruvector table, ruhnsw) against pgvector (heap table,
# hnsw) when pgvector is installed, in the same cluster, same data (a
# deterministic formula, one database per extension).  Each of ROUNDS=3
# rounds loads both tables afresh, indexes them, VACUUMs and CHECKPOINTs,
# then times the UPDATE of every row (the pages are full, so most updates
# are not HOT) on each system in turn; the median seconds are reported,
# with the table, store and index bytes before and after the last
# round's UPDATE, and the ratios ruvector / pgvector (below 1 is better);
# then, steady state, a VACUUM and the same UPDATE again.
# Usage: bash bench/update-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
N=${N:-5000}
. scripts/install.sh
rv_install
. scripts/cluster.sh
rv_cluster_start "autovacuum = off"
psqlc() { rv_as_owner psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

psqlc -c "CREATE EXTENSION ruvector_tam"
HAVE_PGV=0
if [ "$(psqlc -c "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")" = 1 ]; then
	HAVE_PGV=1
	psqlc -c "CREATE DATABASE pgv"
	psqlc -d pgv -c "CREATE EXTENSION vector"
	echo "pgvector $(psqlc -d pgv -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'") found: compared side by side"
else
	echo "NOTE: pgvector is not installed: ruvector figures only"
fi
systems=ruvector
[ $HAVE_PGV = 1 ] && systems="ruvector pgvector"

# db, type, table AM, index AM and opclass of a system
setup() {
	if [ "$1" = ruvector ]; then db=postgres typ=ruvector am="USING ruvector" iam=ruhnsw ops=""
	else db=pgv typ=vector am="" iam=hnsw ops=vector_l2_ops; fi
}
# sizes SYSTEM: "table store index" bytes (store 0 for pgvector; table
# includes TOAST)
sizes() {
	setup "$1"
	if [ "$1" = ruvector ]; then
		psqlc -d $db -c "SELECT pg_table_size('t') || ' ' || (SELECT coalesce(sum(bytes), 0) FROM ruvector_storage_report('t')) || ' ' || pg_indexes_size('t')"
	else
		psqlc -d $db -c "SELECT pg_table_size('t') || ' 0 ' || pg_indexes_size('t')"
	fi
}

# report LABEL MS BEFORE AFTER: one line of figures (sizes "table store index")
report() {
	local b=($3) a=($4)
	printf '%-40s %.3f s; table %s -> %s, store %s -> %s, index %s -> %s bytes\n' \
		"$1:" "$(echo "$2 / 1000" | bc -l)" "${b[0]}" "${a[0]}" "${b[1]}" "${a[1]}" "${b[2]}" "${a[2]}"
}

declare -A times times2 before after
for round in $(seq 1 "$ROUNDS"); do
	for sys in $systems; do
		setup $sys
		psqlc -d $db -c "DROP TABLE IF EXISTS t"
		psqlc -d $db -c "CREATE TABLE t (id int PRIMARY KEY, cat int, v $typ(100)) $am"
		psqlc -d $db -c "INSERT INTO t SELECT g, g % 10, (SELECT array_agg(sin(g * 0.37 + k * 1.13)::real) FROM generate_series(1, 100) k)::$typ FROM generate_series(1, $N) g"
		psqlc -d $db -c "CREATE INDEX t_v ON t USING $iam (v $ops) WITH (m = 16, ef_construction = 64)"
		psqlc -d $db -c "VACUUM ANALYZE t"
		psqlc -d $db -c "CHECKPOINT"
	done
	for sys in $systems; do
		setup $sys
		before[$sys]=$(sizes $sys)
		out=$(psqlc -d $db -c '\timing on' -c "UPDATE t SET cat = cat + 1")
		ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")
		after[$sys]=$(sizes $sys)
		times[$sys]+="$(echo "$ms / 1000" | bc -l) "
		report "round $round $sys UPDATE" "$ms" "${before[$sys]}" "${after[$sys]}"
		# steady state: VACUUM, then the same UPDATE again
		psqlc -d $db -c "VACUUM t"
		b2=$(sizes $sys)
		out=$(psqlc -d $db -c '\timing on' -c "UPDATE t SET cat = cat + 1")
		ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")
		times2[$sys]+="$(echo "$ms / 1000" | bc -l) "
		report "round $round $sys VACUUM, UPDATE again" "$ms" "$b2" "$(sizes $sys)"
	done
done

echo
echo "UPDATE t SET cat = cat + 1 on $N rows of 100 dims, hnsw m = 16, ef_construction = 64 (median of $ROUNDS)"
declare -A med med2
for sys in $systems; do
	med[$sys]=$(tr ' ' '\n' <<<"${times[$sys]}" | grep . | median)
	med2[$sys]=$(tr ' ' '\n' <<<"${times2[$sys]}" | grep . | median)
	printf '  %-8s first UPDATE %.3f s, after VACUUM again %.3f s\n' "$sys" "${med[$sys]}" "${med2[$sys]}"
done
if [ $HAVE_PGV = 1 ]; then
	printf '  first UPDATE, seconds ruvector / pgvector: %.2f (speed %.2fx pgvector)\n' \
		"$(echo "${med[ruvector]} / ${med[pgvector]}" | bc -l)" "$(echo "${med[pgvector]} / ${med[ruvector]}" | bc -l)"
	printf '  after VACUUM, seconds ruvector / pgvector: %.2f (speed %.2fx pgvector)\n' \
		"$(echo "${med2[ruvector]} / ${med2[pgvector]}" | bc -l)" "$(echo "${med2[pgvector]} / ${med2[ruvector]}" | bc -l)"
fi
