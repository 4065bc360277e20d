# cluster.sh: sourced by test/run-all.sh and bench/*.sh.  Starts a throwaway
# PostgreSQL 15 cluster in a temporary directory with its own socket
# directory and a free port, run as the postgres user when we are root
# (initdb refuses root), and tears it down on exit, even on failure.
#
# After rv_cluster_start: RV_TMP (work dir, owned by the cluster user),
# PGHOST, PGPORT, PGUSER, PGDATABASE are exported; rv_as_owner CMD... runs
# a command as the cluster's owner with that environment (plus
# UBSAN_OPTIONS when set), started in RV_TMP.
#
# The checkout may sit in a directory the cluster owner cannot enter (root's
# clone under /root, mode 0700).  So everything the owner executes or reads
# (clients such as rvbench, data, test files) is placed under RV_TMP, and
# every command it runs starts there: a PostgreSQL client started in a
# directory it cannot enter prints 'could not change directory to ...' on
# stderr, which callers that require an empty stderr take for a failure.

PGBIN=${PGBIN:-$(pg_config --bindir)}

# RV_SANITIZE=1 (make sanitize): the library carries UBSan; every server
# started from here, and every TAP cluster started under rv_as_owner,
# inherits UBSAN_OPTIONS, so that the first report aborts the backend
# (the suite then fails) with a stack trace in the server log.
if [ "${RV_SANITIZE:-0}" = 1 ]; then
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
fi
export PATH="$PGBIN:$PATH"

# rv_as_owner CMD...: runs CMD as the cluster owner (postgres when we are
# root) in RV_TMP (/ before rv_cluster_start), with the cluster's PG*
# variables; returns CMD's exit status.  Relative paths in CMD are
# therefore relative to RV_TMP.
rv_as_owner() {
	(
		cd "${RV_TMP:-/}" || exit 1
		if [ "$(id -u)" -eq 0 ]; then
			exec runuser -u postgres -- env PATH="$PATH" PGHOST="$PGHOST" PGPORT="$PGPORT" \
				PGUSER="$PGUSER" PGDATABASE="$PGDATABASE" RV_TMP="$RV_TMP" \
				PERL5LIB="${PERL5LIB:-}" ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} "$@"
		else
			exec "$@"
		fi
	)
}

# rv_build_rvbench: compiles the libpq client bench/rvbench.c (from the
# current directory, the checkout) into RV_TMP/bin/rvbench, mode 755, where
# the cluster owner can execute it, and prints that path.  Needs RV_TMP.
rv_build_rvbench() {
	mkdir -p "$RV_TMP/bin"
	cc -O2 -Wall -Wextra -Werror -I"$(pg_config --includedir)" -o "$RV_TMP/bin/rvbench" \
		bench/rvbench.c -L"$(pg_config --libdir)" -lpq -lm >&2
	chmod 755 "$RV_TMP/bin" "$RV_TMP/bin/rvbench"
	echo "$RV_TMP/bin/rvbench"
}

rv_free_port() {
	local p
	for p in $(shuf -i 20000-40000 -n 50); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && [ ! -e "/tmp/.s.PGSQL.$p" ]; then
			echo "$p"; return 0
		fi
	done
	return 1
}

rv_cluster_stop() {
	if [ -n "${RV_TMP:-}" ] && [ -d "$RV_TMP" ]; then
		if [ -f "$RV_TMP/data/postmaster.pid" ]; then
			rv_as_owner pg_ctl -D "$RV_TMP/data" -m immediate stop >/dev/null 2>&1 || true
		fi
		if [ -z "${RV_KEEP:-}" ]; then rm -rf "$RV_TMP"; else echo "kept $RV_TMP"; fi
	fi
}

# rv_cluster_start [extra postgresql.conf lines...]
rv_cluster_start() {
	RV_TMP=$(mktemp -d /tmp/ruvector.XXXXXX)
	chmod 755 "$RV_TMP"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$RV_TMP"
	export RV_TMP
	export PGHOST="$RV_TMP/sock" PGPORT=$(rv_free_port) PGDATABASE=postgres
	export PGUSER=$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un )
	trap rv_cluster_stop EXIT
	rv_as_owner mkdir -p "$RV_TMP/sock"
	rv_as_owner initdb -D "$RV_TMP/data" -A trust -U "$PGUSER" --no-sync >"$RV_TMP/initdb.log" 2>&1 \
		|| { cat "$RV_TMP/initdb.log"; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$PGHOST'"
		echo "port = $PGPORT"
		echo "fsync = off"
		echo "max_connections = 60"
		echo "shared_buffers = 256MB"
		echo "maintenance_work_mem = 512MB"
		echo "max_prepared_transactions = 5"
		echo "wal_level = logical"
		for l in "$@"; do echo "$l"; done
	} | rv_as_owner tee -a "$RV_TMP/data/postgresql.conf" >/dev/null
	rv_as_owner pg_ctl -D "$RV_TMP/data" -l "$RV_TMP/server.log" -w start >/dev/null \
		|| { cat "$RV_TMP/server.log"; return 1; }
}
