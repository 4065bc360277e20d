/*-------------------------------------------------------------------------
 *
 * kernels_avx2.c
 *	  AVX2+FMA distance kernels (8 float lanes, fused multiply-add) on SIMDe.
 *
 * The Makefile compiles this file alone with -mavx2 -mfma; the dispatcher
 * (simd_dispatch.c) calls into it only when the CPU reports both AVX2 and
 * FMA, and nothing here runs at load time (the table below is constant data).
 *
 * Inputs are float arrays of n >= 0 elements with only 4-byte alignment:
 * every load is unaligned (loadu).  The main loops keep four accumulators
 * (32 floats a step) to cover FMA latency; the n % 8 tail is read with a
 * masked load (vmaskmovps), which never touches memory past a[n-1] or
 * b[n-1], so vectors ending at a page boundary are safe.  Compiled to real
 * code only on x86-64 (or with RV_SIMD_EMULATE in test builds).  Needs only
 * the C library and SIMDe (see rv_simd_kernels.h).
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_kernels.h"

#if defined(RV_SIMD_ARCH_X86_64) || defined(RV_SIMD_EMULATE)

#include <stdint.h>
#include <string.h>

#include <simde/x86/avx2.h>
#include <simde/x86/fma.h>

#ifdef SIMDE_X86_AVX_NATIVE
/* A sliding window over this gives a load mask for the first r lanes. */
static const int32_t rv_simd_avx2_tail_mask[16] = {
	-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
};
#endif

/*
 * Loads p[0..r), 0 < r < 8, into the low lanes and zeroes the others,
 * without reading p[r] or beyond.  SIMDe's portable maskload would read all
 * eight floats, so emulated builds copy through a buffer instead.
 */
static inline simde__m256
RvSimdLoadTailAvx2(const float *p, int r)
{
#ifdef SIMDE_X86_AVX_NATIVE
	simde__m256i mask = simde_mm256_loadu_si256((const simde__m256i *) (rv_simd_avx2_tail_mask + 8 - r));

	return simde_mm256_maskload_ps(p, mask);
#else
	float		buf[8] = {0};

	memcpy(buf, p, sizeof(float) * r);
	return simde_mm256_loadu_ps(buf);
#endif
}

/* Sum of the eight lanes of v. */
static inline float
RvSimdHsumAvx2(simde__m256 v)
{
	simde__m128 s = simde_mm_add_ps(simde_mm256_castps256_ps128(v),
									simde_mm256_extractf128_ps(v, 1));

	s = simde_mm_add_ps(s, simde_mm_movehl_ps(s, s));
	s = simde_mm_add_ss(s, simde_mm_shuffle_ps(s, s, 1));
	return simde_mm_cvtss_f32(s);
}

/* sum (a[i] - b[i])^2 over n floats */
static float
RvSimdL2SqAvx2(const float *a, const float *b, int n)
{
	simde__m256 s0 = simde_mm256_setzero_ps();
	simde__m256 s1 = simde_mm256_setzero_ps();
	simde__m256 s2 = simde_mm256_setzero_ps();
	simde__m256 s3 = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		simde__m256 d0 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));
		simde__m256 d1 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 8), simde_mm256_loadu_ps(b + i + 8));
		simde__m256 d2 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 16), simde_mm256_loadu_ps(b + i + 16));
		simde__m256 d3 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 24), simde_mm256_loadu_ps(b + i + 24));

		s0 = simde_mm256_fmadd_ps(d0, d0, s0);
		s1 = simde_mm256_fmadd_ps(d1, d1, s1);
		s2 = simde_mm256_fmadd_ps(d2, d2, s2);
		s3 = simde_mm256_fmadd_ps(d3, d3, s3);
	}
	for (; i + 8 <= n; i += 8)
	{
		simde__m256 d = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));

		s0 = simde_mm256_fmadd_ps(d, d, s0);
	}
	if (i < n)
	{
		simde__m256 d = simde_mm256_sub_ps(RvSimdLoadTailAvx2(a + i, n - i),
										   RvSimdLoadTailAvx2(b + i, n - i));

		s1 = simde_mm256_fmadd_ps(d, d, s1);
	}
	return RvSimdHsumAvx2(simde_mm256_add_ps(simde_mm256_add_ps(s0, s1),
											 simde_mm256_add_ps(s2, s3)));
}

/* sum a[i] * b[i] over n floats */
static float
RvSimdDotAvx2(const float *a, const float *b, int n)
{
	simde__m256 s0 = simde_mm256_setzero_ps();
	simde__m256 s1 = simde_mm256_setzero_ps();
	simde__m256 s2 = simde_mm256_setzero_ps();
	simde__m256 s3 = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		s0 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i), s0);
		s1 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i + 8), simde_mm256_loadu_ps(b + i + 8), s1);
		s2 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i + 16), simde_mm256_loadu_ps(b + i + 16), s2);
		s3 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i + 24), simde_mm256_loadu_ps(b + i + 24), s3);
	}
	for (; i + 8 <= n; i += 8)
		s0 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i), s0);
	if (i < n)
		s1 = simde_mm256_fmadd_ps(RvSimdLoadTailAvx2(a + i, n - i),
								  RvSimdLoadTailAvx2(b + i, n - i), s1);
	return RvSimdHsumAvx2(simde_mm256_add_ps(simde_mm256_add_ps(s0, s1),
											 simde_mm256_add_ps(s2, s3)));
}

/* sum |a[i] - b[i]| over n floats; |x| clears the sign bit */
static float
RvSimdL1Avx2(const float *a, const float *b, int n)
{
	const simde__m256 sign = simde_mm256_set1_ps(-0.0f);
	simde__m256 s0 = simde_mm256_setzero_ps();
	simde__m256 s1 = simde_mm256_setzero_ps();
	simde__m256 s2 = simde_mm256_setzero_ps();
	simde__m256 s3 = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		simde__m256 d0 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));
		simde__m256 d1 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 8), simde_mm256_loadu_ps(b + i + 8));
		simde__m256 d2 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 16), simde_mm256_loadu_ps(b + i + 16));
		simde__m256 d3 = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 24), simde_mm256_loadu_ps(b + i + 24));

		s0 = simde_mm256_add_ps(s0, simde_mm256_andnot_ps(sign, d0));
		s1 = simde_mm256_add_ps(s1, simde_mm256_andnot_ps(sign, d1));
		s2 = simde_mm256_add_ps(s2, simde_mm256_andnot_ps(sign, d2));
		s3 = simde_mm256_add_ps(s3, simde_mm256_andnot_ps(sign, d3));
	}
	for (; i + 8 <= n; i += 8)
	{
		simde__m256 d = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));

		s0 = simde_mm256_add_ps(s0, simde_mm256_andnot_ps(sign, d));
	}
	if (i < n)
	{
		simde__m256 d = simde_mm256_sub_ps(RvSimdLoadTailAvx2(a + i, n - i),
										   RvSimdLoadTailAvx2(b + i, n - i));

		s1 = simde_mm256_add_ps(s1, simde_mm256_andnot_ps(sign, d));
	}
	return RvSimdHsumAvx2(simde_mm256_add_ps(simde_mm256_add_ps(s0, s1),
											 simde_mm256_add_ps(s2, s3)));
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n floats, one pass */
static void
RvSimdDotNormsAvx2(const float *a, const float *b, int n,
				   float *dot, float *aa, float *bb)
{
	simde__m256 d0 = simde_mm256_setzero_ps();
	simde__m256 d1 = simde_mm256_setzero_ps();
	simde__m256 x0 = simde_mm256_setzero_ps();
	simde__m256 x1 = simde_mm256_setzero_ps();
	simde__m256 y0 = simde_mm256_setzero_ps();
	simde__m256 y1 = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		simde__m256 va0 = simde_mm256_loadu_ps(a + i);
		simde__m256 vb0 = simde_mm256_loadu_ps(b + i);
		simde__m256 va1 = simde_mm256_loadu_ps(a + i + 8);
		simde__m256 vb1 = simde_mm256_loadu_ps(b + i + 8);

		d0 = simde_mm256_fmadd_ps(va0, vb0, d0);
		x0 = simde_mm256_fmadd_ps(va0, va0, x0);
		y0 = simde_mm256_fmadd_ps(vb0, vb0, y0);
		d1 = simde_mm256_fmadd_ps(va1, vb1, d1);
		x1 = simde_mm256_fmadd_ps(va1, va1, x1);
		y1 = simde_mm256_fmadd_ps(vb1, vb1, y1);
	}
	if (i + 8 <= n)
	{
		simde__m256 va = simde_mm256_loadu_ps(a + i);
		simde__m256 vb = simde_mm256_loadu_ps(b + i);

		d0 = simde_mm256_fmadd_ps(va, vb, d0);
		x0 = simde_mm256_fmadd_ps(va, va, x0);
		y0 = simde_mm256_fmadd_ps(vb, vb, y0);
		i += 8;
	}
	if (i < n)
	{
		simde__m256 va = RvSimdLoadTailAvx2(a + i, n - i);
		simde__m256 vb = RvSimdLoadTailAvx2(b + i, n - i);

		d1 = simde_mm256_fmadd_ps(va, vb, d1);
		x1 = simde_mm256_fmadd_ps(va, va, x1);
		y1 = simde_mm256_fmadd_ps(vb, vb, y1);
	}
	*dot = RvSimdHsumAvx2(simde_mm256_add_ps(d0, d1));
	*aa = RvSimdHsumAvx2(simde_mm256_add_ps(x0, x1));
	*bb = RvSimdHsumAvx2(simde_mm256_add_ps(y0, y1));
}

const RvKernels rv_kernels_avx2 = {
	"avx2+fma",
	RvSimdL2SqAvx2,
	RvSimdDotAvx2,
	RvSimdL1Avx2,
	RvSimdDotNormsAvx2
};

#else

/* Not x86-64: nothing to compile (keeps the translation unit non-empty). */
typedef int RvSimdAvx2Unused;

#endif
