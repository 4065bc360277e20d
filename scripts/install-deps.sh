#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages that building, testing, the
# demo and the benchmarks need, only when some are missing (clang and its
# runtimes are for the libFuzzer harnesses of test/fuzz; wordnet-base and
# python3-numpy make the text data set of make bench).  Works as root or
# through sudo.
set -euo pipefail

PKGS=(build-essential postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
      libtap-parser-sourcehandler-pgtap-perl libipc-run-perl
      libsimde-dev liblz4-dev libsodium-dev libpq-dev
      dataset-fashion-mnist wordnet-base python3-numpy gnuplot-nox util-linux bc
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
