#!/usr/bin/env bash
# build.sh SRC_ROOT OUTDIR MAIN.c EXE [extra cc flags...]
# Builds a standalone program (the kernel test or benchmark) from MAIN.c and
# the src/simd sources, without PostgreSQL, the way the Makefile does: every
# kernel family src/simd/kern_*.c is compiled once per ISA of this
# architecture (scalar, plus sse2, avx2 with -mavx2 -mfma and avx512 with
# -mavx512f -mavx2 -mfma on x86-64, neon on AArch64) with that ISA's
# -DRV_ISA_* macro (src/simd/rv_simd_isa.h); the other src/simd sources
# except simd_info.c (the only one that needs PostgreSQL) get the baseline
# flags.  With RV_EMULATE=1 it also builds the AVX-512 and NEON variants
# through SIMDe's portable fallbacks (no ISA flags, -DRV_SIMD_EMULATE) under
# the suffixes avx512_emulated and neon_emulated, so that their logic is
# checked on any CPU (tables rv_kernels_avx512_emulated and
# rv_kernels_neon_emulated).  Warnings are errors.
set -euo pipefail
src=$1/src; out=$2; main=$3; exe=$4; shift 4
CC=${CC:-cc}
CFLAGS=(-std=gnu99 -O2 -g -Wall -Wextra -Werror -I"$src" "$@")
isas=(scalar)
case "$(uname -m)" in
	x86_64|amd64) isas+=(sse2 avx2 avx512) ;;
	aarch64|arm64) isas+=(neon) ;;
esac
mkdir -p "$out"
objs=()
isaflags() {
	case $1 in
		scalar) echo -DRV_ISA_SCALAR ;;
		sse2) echo -DRV_ISA_SSE2 ;;
		avx2) echo -DRV_ISA_AVX2 -mavx2 -mfma ;;
		avx512) echo -DRV_ISA_AVX512 -mavx512f -mavx2 -mfma ;;
		neon) echo -DRV_ISA_NEON ;;
	esac
}
for f in "$src"/simd/*.c; do
	b=$(basename "$f" .c)
	case $b in
		simd_info) ;;
		kern_*)
			for isa in "${isas[@]}"; do
				# shellcheck disable=SC2046
				"$CC" "${CFLAGS[@]}" $(isaflags $isa) -c "$f" -o "$out/${b}_$isa.o"
				objs+=("$out/${b}_$isa.o")
			done
			if [ "${RV_EMULATE:-0}" = 1 ]; then
				# -Wno-psabi: GCC notes the 64-byte vector argument ABI of the portable code.
				"$CC" "${CFLAGS[@]}" -Wno-psabi -DRV_SIMD_EMULATE -DRV_ISA_AVX512 \
					-DRV_ISA_SUFFIX=avx512_emulated -c "$f" -o "$out/${b}_avx512_emulated.o"
				"$CC" "${CFLAGS[@]}" -DRV_SIMD_EMULATE -DRV_ISA_NEON \
					-DRV_ISA_SUFFIX=neon_emulated -c "$f" -o "$out/${b}_neon_emulated.o"
				objs+=("$out/${b}_avx512_emulated.o" "$out/${b}_neon_emulated.o")
			fi
			;;
		*)
			"$CC" "${CFLAGS[@]}" -c "$f" -o "$out/$b.o"
			objs+=("$out/$b.o")
			;;
	esac
done
if [ "${RV_EMULATE:-0}" = 1 ]; then
	CFLAGS+=(-DRV_TEST_EMULATED)
fi
"$CC" "${CFLAGS[@]}" "$main" "${objs[@]}" -lm -o "$exe"
