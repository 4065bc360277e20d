# install.sh: sourced by test/run-all.sh and bench/*.sh before anything
# else (it needs no PostgreSQL tool to be present: it is what installs
# them).  Defines rv_install.
#
# rv_install [MAKEVAR=value...]: installs the missing Debian packages
# (scripts/install-deps.sh), takes the install lock on descriptor 9, held
# until the calling script exits (every checkout on a machine installs
# into the one system PostgreSQL: under the lock, the library installed is
# the one the caller's runs use), then builds and installs the extension
# with the given make variables.  Sets RV_LOCK_WAIT (seconds spent waiting
# for the lock).  RV_CLEAN_BUILD=1 builds from clean.  RV_INSTALL_LOCK_HELD=1
# means the caller inherited descriptor 9 holding the lock (test/run-all.sh's
# demo smoke run): waiting for the lock anew would wait for that caller
# forever, so it only checks that the lock is held.

rv_install() {
	local sudo="" t0
	bash scripts/install-deps.sh
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	t0=$(date +%s.%N)
	if [ "${RV_INSTALL_LOCK_HELD:-0}" = 1 ]; then
		flock -n 9 2>/dev/null || {
			echo "RV_INSTALL_LOCK_HELD=1 but descriptor 9 does not hold /tmp/ruvector_tam-install.lock" >&2
			exit 1
		}
	else
		exec 9>/tmp/ruvector_tam-install.lock
		flock 9
	fi
	RV_LOCK_WAIT=$(echo "$(date +%s.%N) - $t0" | bc -l)
	if [ "${RV_CLEAN_BUILD:-0}" = 1 ]; then make -s clean >/dev/null; fi
	make -s -j"$(nproc)" "$@"
	$sudo make -s install "$@" >/dev/null
}
