#!/usr/bin/env bash
# build.sh SRC_ROOT OUTDIR: builds the libFuzzer harnesses of test/fuzz with
# clang -fsanitize=fuzzer,address,undefined (UBSan reports abort):
#   OUTDIR/fuzz_vector_in  the text parser, src/toast/vector_parse.c
#   OUTDIR/fuzz_kernels    the SIMD kernels through test/kernels/build.sh
#                          (same per-ISA flags, AVX-512F and NEON also
#                          compiled for SIMDe emulation)
# Warnings are errors.  Needs Debian's clang and libclang-rt-14-dev.
set -euo pipefail
src=$1; out=$2
here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-clang}
SAN=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
mkdir -p "$out/kernels"
"$CC" -std=gnu99 -O1 -g -Wall -Wextra -Werror "${SAN[@]}" -I"$src/src" \
	"$here/fuzz_vector_in.c" "$src/src/toast/vector_parse.c" -o "$out/fuzz_vector_in"
CC=$CC RV_EMULATE=1 bash "$here/../kernels/build.sh" "$src" "$out/kernels" \
	"$here/fuzz_kernels.c" "$out/fuzz_kernels" "${SAN[@]}"
