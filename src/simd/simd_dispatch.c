/*-------------------------------------------------------------------------
 *
 * simd_dispatch.c
 *	  Run-time choice of the distance kernels and the two-piece distance
 *	  entry points declared in rv_simd.h.
 *
 * RvSimdInit() probes the CPU once and points rv_kernels at the best
 * implementation it can run: AVX-512F (with AVX2+FMA), then AVX2+FMA, then
 * SSE2 on x86-64; NEON on AArch64; plain C otherwise.  Until it runs,
 * rv_kernels points at the scalar kernels, so calling a distance function
 * early is slow but never wrong.  The probe uses GCC/Clang's
 * __builtin_cpu_supports, which also checks that the OS saves the wide
 * register state (XGETBV) before reporting AVX or AVX-512.
 *
 * Invariant: no function of an ISA-specific kernel object is called unless
 * the probe reported that ISA (see rv_simd_kernels.h).  This file itself is
 * compiled with the baseline flags only.
 *
 * Like the kernel families, this file needs only the C library, so the test
 * and benchmark programs link it without PostgreSQL.  Backends are
 * single-threaded; the one-time initialisation is not meant to race.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "simd/rv_simd_kernels.h"

const RvKernels *rv_kernels = &rv_kernels_scalar;

static bool rv_simd_ready = false;
static RvSimdCpu rv_simd_cpu;
static const RvKernels *rv_simd_usable[RV_SIMD_MAX_KERNELS];
static int	rv_simd_nusable = 0;

/* Fills *cpu with the run-time features of this CPU. */
static void
RvSimdProbeCpu(RvSimdCpu *cpu)
{
	cpu->sse2 = false;
	cpu->avx2 = false;
	cpu->fma = false;
	cpu->avx512f = false;
	cpu->neon = false;

#if defined(RV_SIMD_ARCH_X86_64) && defined(__GNUC__)
	__builtin_cpu_init();
	cpu->sse2 = __builtin_cpu_supports("sse2") != 0;
	cpu->avx2 = __builtin_cpu_supports("avx2") != 0;
	cpu->fma = __builtin_cpu_supports("fma") != 0;
	cpu->avx512f = __builtin_cpu_supports("avx512f") != 0;
#elif defined(RV_SIMD_ARCH_X86_64)
	/* No probe available: SSE2 is part of the x86-64 baseline. */
	cpu->sse2 = true;
#endif

#ifdef RV_SIMD_ARCH_AARCH64
	/* Advanced SIMD is mandatory in AArch64. */
	cpu->neon = true;
#endif
}

/*
 * RvSimdInit: probe the CPU and choose the kernels; later calls return at
 * once.  Called from _PG_init, and by every function here that needs the
 * probe's result.
 */
void
RvSimdInit(void)
{
	const RvSimdCpu *cpu = &rv_simd_cpu;
	int			n = 0;

	if (rv_simd_ready)
		return;

	RvSimdProbeCpu(&rv_simd_cpu);

	/* Best first. */
#ifdef RV_SIMD_ARCH_X86_64
	if (cpu->avx512f && cpu->avx2 && cpu->fma)
		rv_simd_usable[n++] = &rv_kernels_avx512;
	if (cpu->avx2 && cpu->fma)
		rv_simd_usable[n++] = &rv_kernels_avx2;
	if (cpu->sse2)
		rv_simd_usable[n++] = &rv_kernels_sse2;
#endif
#ifdef RV_SIMD_ARCH_AARCH64
	if (cpu->neon)
		rv_simd_usable[n++] = &rv_kernels_neon;
#endif
	(void) cpu;
	rv_simd_usable[n++] = &rv_kernels_scalar;

	rv_simd_nusable = n;
	rv_kernels = rv_simd_usable[0];
	rv_simd_ready = true;
}

/*
 * RvSimdAvailable: the implementations compiled into this build that this
 * CPU can run, best first (so out[0] is what RvSimdInit chose, and the last
 * is always "scalar").  Writes at most max pointers to out and returns the
 * total count, which never exceeds RV_SIMD_MAX_KERNELS.
 */
int
RvSimdAvailable(const RvKernels **out, int max)
{
	RvSimdInit();
	for (int i = 0; i < rv_simd_nusable && i < max; i++)
		out[i] = rv_simd_usable[i];
	return rv_simd_nusable;
}

/*
 * RvSimdCpuFeatures: the probed CPU features (see rv_simd_kernels.h).
 */
const RvSimdCpu *
RvSimdCpuFeatures(void)
{
	RvSimdInit();
	return &rv_simd_cpu;
}

/*
 * RvSimdCosineFromSums: 1 - dot / sqrt(aa * bb) with the similarity
 * clamped to [-1, 1], as pgvector's cosine_distance computes it; NaN when
 * either norm is zero.  Shared by the f32 entry points here and the code
 * kernels' (simd_codes.c).
 */
float
RvSimdCosineFromSums(double dot, double aa, double bb)
{
	double		sim;

	if (aa == 0.0 || bb == 0.0)
		return NAN;
	sim = dot / sqrt(aa * bb);
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return (float) (1.0 - sim);
}

/*
 * The two-piece entry points.  a holds n0 + n1 floats; the stored vector is
 * b0[0..n0) followed by b1[0..n1) (b1 may be NULL when n1 == 0).  Every
 * pointer needs only 4-byte alignment.  Results are float4.
 */

/* Squared Euclidean distance, sum (a - b)^2. */
float
RvL2SquaredDistance(const float *a, const float *b0, int n0,
					const float *b1, int n1)
{
	float		s = rv_kernels->l2sq(a, b0, n0);

	if (n1 > 0)
		s += rv_kernels->l2sq(a + n0, b1, n1);
	return s;
}

/* Inner product, sum a * b (the <#> operator negates it). */
float
RvInnerProduct(const float *a, const float *b0, int n0,
			   const float *b1, int n1)
{
	float		s = rv_kernels->dot(a, b0, n0);

	if (n1 > 0)
		s += rv_kernels->dot(a + n0, b1, n1);
	return s;
}

/* Taxicab distance, sum |a - b|. */
float
RvL1Distance(const float *a, const float *b0, int n0,
			 const float *b1, int n1)
{
	float		s = rv_kernels->l1(a, b0, n0);

	if (n1 > 0)
		s += rv_kernels->l1(a + n0, b1, n1);
	return s;
}

/*
 * Cosine distance 1 - cos(a, b) in [0, 2], from one pass over both
 * vectors; NaN when either vector is all zeros (as pgvector).
 */
float
RvCosineDistance(const float *a, const float *b0, int n0,
				 const float *b1, int n1)
{
	float		dot,
				aa,
				bb;
	float		dot1 = 0.0f,
				aa1 = 0.0f,
				bb1 = 0.0f;

	rv_kernels->dot_norms(a, b0, n0, &dot, &aa, &bb);
	if (n1 > 0)
		rv_kernels->dot_norms(a + n0, b1, n1, &dot1, &aa1, &bb1);
	return RvSimdCosineFromSums((double) dot + dot1, (double) aa + aa1,
								(double) bb + bb1);
}

/*
 * Cosine distance given the L2 norms anorm = ||a|| and bnorm = ||b||
 * (not squared); NaN when either norm is zero.
 */
float
RvCosineDistanceNorms(const float *a, float anorm,
					  const float *b0, int n0,
					  const float *b1, int n1, float bnorm)
{
	double		norms = (double) anorm * (double) bnorm;
	double		sim;

	if (norms == 0.0)
		return NAN;
	sim = (double) RvInnerProduct(a, b0, n0, b1, n1) / norms;
	if (sim > 1.0)
		sim = 1.0;
	else if (sim < -1.0)
		sim = -1.0;
	return (float) (1.0 - sim);
}
