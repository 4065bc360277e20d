#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages that building, testing and
# the demo need, only when some are missing (clang and its runtimes are
# for the libFuzzer harnesses of test/fuzz).  Works as root or through sudo.
set -euo pipefail

PKGS=(build-essential postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
      libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
      libsimde-dev liblz4-dev libsodium-dev libpq-dev
      dataset-fashion-mnist gnuplot-nox util-linux bc
      clang libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
