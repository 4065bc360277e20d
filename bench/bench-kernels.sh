#!/usr/bin/env bash
# bench-kernels.sh (make bench-kernels): builds bench/kernel_bench.c with the
# src/simd kernels (per-ISA flags as in the Makefile, -O2, no PostgreSQL)
# into a temporary directory and prints ns per distance for every kernel
# implementation this CPU can run at 128, 768 and 1536 dimensions.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/ruvector-kbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
bash test/kernels/build.sh "$(pwd)" "$tmp" bench/kernel_bench.c "$tmp/kernel_bench"
"$tmp/kernel_bench"
