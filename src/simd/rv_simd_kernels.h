/*-------------------------------------------------------------------------
 *
 * rv_simd_kernels.h
 *	  Private to src/simd: the per-ISA kernel tables, the CPU feature probe
 *	  and the architecture tests that decide which ISAs a build has.
 *
 * Like the kernel family sources (kern_*.c, see rv_simd_isa.h) and
 * simd_dispatch.c, this header needs only
 * the C library (no postgres.h), so the kernels link unchanged into the
 * standalone test (test/kernels) and benchmark (bench/kernel_bench.c)
 * programs.  Only simd_info.c talks to PostgreSQL.
 *
 * Invariant: the address of any rv_kernels_<isa> table may be taken
 * anywhere, but its functions may be called only when RvSimdCpuFeatures()
 * says the CPU runs that ISA: the objects kern_<family>_<isa>.o are
 * compiled with that ISA's code generation flags (see the Makefile), so any
 * function in them may contain instructions the baseline CPU lacks.  The
 * tables (kern_table.c) are constant data with no initializer code, so
 * merely linking them is safe.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_SIMD_KERNELS_H
#define RV_SIMD_KERNELS_H

#include <stdbool.h>

#include "simd/rv_simd.h"

/*
 * Which ISAs a build has.  The x86 objects are built only on x86-64 (the
 * Makefile's RV_ISAS); NEON only on AArch64, where it is mandatory.
 * RV_SIMD_EMULATE (test builds only) compiles a family for an ISA on any
 * architecture through SIMDe's portable fallbacks, under another symbol
 * suffix, so that e.g. the AVX-512 logic can be checked on a CPU without
 * AVX-512.
 */
#if defined(__x86_64__) || defined(_M_X64)
#define RV_SIMD_ARCH_X86_64 1
#define RV_SIMD_ARCH_NAME "x86_64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define RV_SIMD_ARCH_AARCH64 1
#define RV_SIMD_ARCH_NAME "aarch64"
#else
#define RV_SIMD_ARCH_NAME "other"
#endif

/* Upper bound on the number of implementations one build can offer. */
#define RV_SIMD_MAX_KERNELS 8

/* CPU features relevant to kernel choice, as probed at run time. */
typedef struct RvSimdCpu
{
	bool		sse2;
	bool		avx2;
	bool		fma;
	bool		avx512f;
	bool		neon;
} RvSimdCpu;

/*
 * The CPU's features (probed once, by RvSimdInit, which this calls).
 * Returns a pointer to static storage; never NULL.
 */
extern const RvSimdCpu *RvSimdCpuFeatures(void);
extern float RvSimdCosineFromSums(double dot, double aa, double bb);

/* Per-ISA tables, defined by kern_table.c compiled for each ISA. */
extern const RvKernels rv_kernels_scalar;
#ifdef RV_SIMD_ARCH_X86_64
extern const RvKernels rv_kernels_sse2;
extern const RvKernels rv_kernels_avx2;
extern const RvKernels rv_kernels_avx512;
#endif
#ifdef RV_SIMD_ARCH_AARCH64
extern const RvKernels rv_kernels_neon;
#endif

#endif							/* RV_SIMD_KERNELS_H */
