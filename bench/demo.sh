#!/usr/bin/env bash
# demo.sh (make demo): the main job.  Installs what is missing, builds and
# installs the extension, starts a throwaway cluster (or uses the server
# named by PG* variables when RV_USE_EXISTING=1) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# same lock as test/run-all.sh: one checkout installs and runs at a time
exec 9>/tmp/ruvector_tam-install.lock
flock 9
make -s -j"$(nproc)"
$SUDO make -s install >/dev/null
. scripts/cluster.sh
if [ "${RV_USE_EXISTING:-0}" != 1 ]; then rv_cluster_start; fi
rv_as_owner psql -X -q -v ON_ERROR_STOP=1 -c 'DROP EXTENSION IF EXISTS ruvector_tam CASCADE' -c 'CREATE EXTENSION ruvector_tam' >/dev/null
echo "ruvector_tam $(rv_as_owner psql -X -At -c 'SELECT ruvector_version()') is installed and running."
