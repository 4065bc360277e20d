#!/usr/bin/env bash
# run-all.sh (make test): installs what is missing, builds with -Werror,
# installs into the local PostgreSQL 15, starts a throwaway cluster and runs
# every suite through one TAP harness (test/harness.pl):
#   test/pgtap/*.sql       pgTAP, each file in a fresh database
#   test/isolation/specs/* isolation specs through pg_isolation_regress
#   test/t/*.pl            Perl TAP with PostgreSQL::Test::Cluster
#   test/bin/demo-smoke    make demo on a few thousand rows from a private
#                          copy of the checkout (run last: it reinstalls)
# Closes on "N passed, N failed"; exits non-zero on any failure.
# Usage: make test [TESTS="test/pgtap/010_type_io.sql ..."]
#
# The checkout may be private (root's clone under /root, mode 0700): the
# suites run as the cluster owner from copies of test/ and src/ under the
# throwaway directory RV_TMP, and start there (see scripts/cluster.sh).
# The harness itself runs as the invoking user, who alone can read the
# checkout, and runs each suite as the cluster owner, except the demo smoke
# run, which needs the invoking user to install.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# Install and test under one lock (held to the end) so that parallel
# checkouts on one machine do not swap the installed library under each
# other's tests.
. scripts/install.sh
RV_CLEAN_BUILD=1 rv_install RV_WERROR=1 RV_SANITIZE="${RV_SANITIZE:-0}"

. scripts/cluster.sh
rv_cluster_start
# Test files, the sources the kernel and fuzz suites compile, and the docs
# and bench scripts the scale-out test runs, must be readable by the cluster
# owner whatever the clone's permissions: run from copies inside the
# throwaway directory (sources only, no build products).
cp -r "$ROOT/test" "$RV_TMP/test"
mkdir "$RV_TMP/src-copy"
find src docs bench -type f \( -name '*.c' -o -name '*.h' -o -name '*.md' -o -name '*.sh' -o -name '*.sql' \) -print0 \
	| tar --null -T - -cf - | tar -xf - -C "$RV_TMP/src-copy"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$RV_TMP/test" "$RV_TMP/src-copy"; fi

# make sanitize: prove UBSan is really active in the server under test.
if [ "${RV_SANITIZE:-0}" = 1 ]; then
	so="$(pg_config --pkglibdir)/ruvector_tam.so"
	# (no "| grep -q" under pipefail: an early exit would SIGPIPE the writer)
	handlers=$(nm -D "$so" | grep -c ' U __ubsan_handle_' || true)
	[ "$handlers" -gt 0 ] \
		|| { echo "sanitize: $so has no UBSan instrumentation" >&2; exit 1; }
	pm=$(head -n 1 "$RV_TMP/data/postmaster.pid")
	pmenv=$(tr '\0' '\n' < "/proc/$pm/environ")
	grep -qx "UBSAN_OPTIONS=$UBSAN_OPTIONS" <<<"$pmenv" \
		|| { echo "sanitize: UBSAN_OPTIONS did not reach the postmaster" >&2; exit 1; }
	echo "sanitize: $so calls $handlers UBSan handlers;" \
		"postmaster $pm runs with UBSAN_OPTIONS=$UBSAN_OPTIONS"
fi

PGXS_DIR=$(dirname "$(pg_config --pgxs)")/..
export PERL5LIB="$PGXS_DIR/test/perl${PERL5LIB:+:$PERL5LIB}"
tests=()
for t in ${TESTS:-}; do tests+=("$RV_TMP/$t"); done
status=0
# RV_CHECKOUT and descriptor 9 (the install lock, held) are for the demo
# smoke run; every other suite gets RV_SRC_ROOT, the copy of the sources.
(cd "$RV_TMP" && env PG_REGRESS="$PGXS_DIR/test/regress/pg_regress" \
	PG_ISOLATION_REGRESS="$PGXS_DIR/test/isolation/pg_isolation_regress" \
	TESTDIR="$RV_TMP" RV_TEST_ROOT="$RV_TMP/test" RV_SRC_ROOT="$RV_TMP/src-copy" \
	RV_CHECKOUT="$ROOT" RV_OWNER="$PGUSER" \
	perl "$RV_TMP/test/harness.pl" "${tests[@]}") || status=$?
# A UBSan report anywhere (main cluster or a TAP test's) fails the run.
if [ "${RV_SANITIZE:-0}" = 1 ] && grep -rl --include='*.log' 'runtime error:' "$RV_TMP" >/dev/null 2>&1; then
	echo "sanitize: UBSan reported:"; grep -rh --include='*.log' -A3 'runtime error:' "$RV_TMP" | head -n 40
	status=1
fi
if [ $status -ne 0 ] && [ -f "$RV_TMP/server.log" ]; then
	echo "---- server log (tail) ----"; tail -n 40 "$RV_TMP/server.log"
fi
exit $status
