#!/usr/bin/env bash
# build.sh SRC_ROOT OUTDIR MAIN.c EXE [extra cc flags...]
# Builds a standalone program (the kernel test or benchmark) from MAIN.c and
# the src/simd kernel sources, without PostgreSQL, with the same per-ISA
# flags as the Makefile: kernels_avx2.c gets -mavx2 -mfma and
# kernels_avx512.c -mavx512f -mavx2 -mfma on x86-64, everything else the
# baseline.  With RV_EMULATE=1 it also builds the AVX-512 and NEON kernels
# through SIMDe's portable fallbacks (no ISA flags) as the tables
# rv_kernels_avx512_emulated and rv_kernels_neon_emulated, so that their
# logic is checked on any CPU.  Warnings are errors.
set -euo pipefail
src=$1/src; out=$2; main=$3; exe=$4; shift 4
CC=${CC:-cc}
CFLAGS=(-std=gnu99 -O2 -g -Wall -Wextra -Werror -I"$src" "$@")
x86=0; case "$(uname -m)" in x86_64|amd64) x86=1 ;; esac
mkdir -p "$out"
objs=()
for f in kernels_scalar kernels_sse2 kernels_avx2 kernels_avx512 kernels_neon simd_dispatch; do
	isa=()
	if [ $x86 -eq 1 ]; then
		case $f in
			kernels_avx2) isa=(-mavx2 -mfma) ;;
			kernels_avx512) isa=(-mavx512f -mavx2 -mfma) ;;
		esac
	fi
	"$CC" "${CFLAGS[@]}" "${isa[@]}" -c "$src/simd/$f.c" -o "$out/$f.o"
	objs+=("$out/$f.o")
done
if [ "${RV_EMULATE:-0}" = 1 ]; then
	# -Wno-psabi: GCC notes the 64-byte vector argument ABI of the portable code.
	"$CC" "${CFLAGS[@]}" -Wno-psabi -DRV_SIMD_EMULATE -Drv_kernels_avx512=rv_kernels_avx512_emulated \
		-c "$src/simd/kernels_avx512.c" -o "$out/kernels_avx512_emulated.o"
	"$CC" "${CFLAGS[@]}" -DRV_SIMD_EMULATE -Drv_kernels_neon=rv_kernels_neon_emulated \
		-c "$src/simd/kernels_neon.c" -o "$out/kernels_neon_emulated.o"
	objs+=("$out/kernels_avx512_emulated.o" "$out/kernels_neon_emulated.o")
	CFLAGS+=(-DRV_TEST_EMULATED)
fi
"$CC" "${CFLAGS[@]}" "$main" "${objs[@]}" -lm -o "$exe"
