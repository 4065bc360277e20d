/*-------------------------------------------------------------------------
 *
 * kernels_sse2.c
 *	  SSE2 distance kernels (4 float lanes) on SIMDe.  SSE2 is part of the
 *	  x86-64 baseline, so this file needs no extra compiler flags; it is the
 *	  floor for x86-64 CPUs without AVX2+FMA.
 *
 * Inputs are float arrays of n >= 0 elements with only 4-byte alignment:
 * every vector load is unaligned (loadu).  The main loops keep four
 * accumulators (16 floats a step) to hide add latency; n % 4 tail elements
 * are added in scalar code, so nothing past a[n-1] or b[n-1] is read.
 * Compiled to real code only on x86-64 (or with RV_SIMD_EMULATE in test
 * builds); elsewhere it is an empty translation unit.  Needs only the C
 * library and SIMDe (see rv_simd_kernels.h).
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_kernels.h"

#if defined(RV_SIMD_ARCH_X86_64) || defined(RV_SIMD_EMULATE)

#include <math.h>

#include <simde/x86/sse2.h>

/* Sum of the four lanes of v. */
static inline float
RvSimdHsumSse2(simde__m128 v)
{
	simde__m128 s = simde_mm_add_ps(v, simde_mm_movehl_ps(v, v));

	s = simde_mm_add_ss(s, simde_mm_shuffle_ps(s, s, 1));
	return simde_mm_cvtss_f32(s);
}

/* sum (a[i] - b[i])^2 over n floats */
static float
RvSimdL2SqSse2(const float *a, const float *b, int n)
{
	simde__m128 s0 = simde_mm_setzero_ps();
	simde__m128 s1 = simde_mm_setzero_ps();
	simde__m128 s2 = simde_mm_setzero_ps();
	simde__m128 s3 = simde_mm_setzero_ps();
	float		sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		simde__m128 d0 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i), simde_mm_loadu_ps(b + i));
		simde__m128 d1 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i + 4), simde_mm_loadu_ps(b + i + 4));
		simde__m128 d2 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i + 8), simde_mm_loadu_ps(b + i + 8));
		simde__m128 d3 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i + 12), simde_mm_loadu_ps(b + i + 12));

		s0 = simde_mm_add_ps(s0, simde_mm_mul_ps(d0, d0));
		s1 = simde_mm_add_ps(s1, simde_mm_mul_ps(d1, d1));
		s2 = simde_mm_add_ps(s2, simde_mm_mul_ps(d2, d2));
		s3 = simde_mm_add_ps(s3, simde_mm_mul_ps(d3, d3));
	}
	for (; i + 4 <= n; i += 4)
	{
		simde__m128 d = simde_mm_sub_ps(simde_mm_loadu_ps(a + i), simde_mm_loadu_ps(b + i));

		s0 = simde_mm_add_ps(s0, simde_mm_mul_ps(d, d));
	}
	sum = RvSimdHsumSse2(simde_mm_add_ps(simde_mm_add_ps(s0, s1), simde_mm_add_ps(s2, s3)));
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* sum a[i] * b[i] over n floats */
static float
RvSimdDotSse2(const float *a, const float *b, int n)
{
	simde__m128 s0 = simde_mm_setzero_ps();
	simde__m128 s1 = simde_mm_setzero_ps();
	simde__m128 s2 = simde_mm_setzero_ps();
	simde__m128 s3 = simde_mm_setzero_ps();
	float		sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		s0 = simde_mm_add_ps(s0, simde_mm_mul_ps(simde_mm_loadu_ps(a + i), simde_mm_loadu_ps(b + i)));
		s1 = simde_mm_add_ps(s1, simde_mm_mul_ps(simde_mm_loadu_ps(a + i + 4), simde_mm_loadu_ps(b + i + 4)));
		s2 = simde_mm_add_ps(s2, simde_mm_mul_ps(simde_mm_loadu_ps(a + i + 8), simde_mm_loadu_ps(b + i + 8)));
		s3 = simde_mm_add_ps(s3, simde_mm_mul_ps(simde_mm_loadu_ps(a + i + 12), simde_mm_loadu_ps(b + i + 12)));
	}
	for (; i + 4 <= n; i += 4)
		s0 = simde_mm_add_ps(s0, simde_mm_mul_ps(simde_mm_loadu_ps(a + i), simde_mm_loadu_ps(b + i)));
	sum = RvSimdHsumSse2(simde_mm_add_ps(simde_mm_add_ps(s0, s1), simde_mm_add_ps(s2, s3)));
	for (; i < n; i++)
		sum += a[i] * b[i];
	return sum;
}

/* sum |a[i] - b[i]| over n floats; |x| clears the sign bit */
static float
RvSimdL1Sse2(const float *a, const float *b, int n)
{
	const simde__m128 sign = simde_mm_set1_ps(-0.0f);
	simde__m128 s0 = simde_mm_setzero_ps();
	simde__m128 s1 = simde_mm_setzero_ps();
	simde__m128 s2 = simde_mm_setzero_ps();
	simde__m128 s3 = simde_mm_setzero_ps();
	float		sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		simde__m128 d0 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i), simde_mm_loadu_ps(b + i));
		simde__m128 d1 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i + 4), simde_mm_loadu_ps(b + i + 4));
		simde__m128 d2 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i + 8), simde_mm_loadu_ps(b + i + 8));
		simde__m128 d3 = simde_mm_sub_ps(simde_mm_loadu_ps(a + i + 12), simde_mm_loadu_ps(b + i + 12));

		s0 = simde_mm_add_ps(s0, simde_mm_andnot_ps(sign, d0));
		s1 = simde_mm_add_ps(s1, simde_mm_andnot_ps(sign, d1));
		s2 = simde_mm_add_ps(s2, simde_mm_andnot_ps(sign, d2));
		s3 = simde_mm_add_ps(s3, simde_mm_andnot_ps(sign, d3));
	}
	for (; i + 4 <= n; i += 4)
	{
		simde__m128 d = simde_mm_sub_ps(simde_mm_loadu_ps(a + i), simde_mm_loadu_ps(b + i));

		s0 = simde_mm_add_ps(s0, simde_mm_andnot_ps(sign, d));
	}
	sum = RvSimdHsumSse2(simde_mm_add_ps(simde_mm_add_ps(s0, s1), simde_mm_add_ps(s2, s3)));
	for (; i < n; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n floats, one pass */
static void
RvSimdDotNormsSse2(const float *a, const float *b, int n,
				   float *dot, float *aa, float *bb)
{
	simde__m128 d0 = simde_mm_setzero_ps();
	simde__m128 d1 = simde_mm_setzero_ps();
	simde__m128 x0 = simde_mm_setzero_ps();
	simde__m128 x1 = simde_mm_setzero_ps();
	simde__m128 y0 = simde_mm_setzero_ps();
	simde__m128 y1 = simde_mm_setzero_ps();
	float		sd,
				sx,
				sy;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		simde__m128 va0 = simde_mm_loadu_ps(a + i);
		simde__m128 vb0 = simde_mm_loadu_ps(b + i);
		simde__m128 va1 = simde_mm_loadu_ps(a + i + 4);
		simde__m128 vb1 = simde_mm_loadu_ps(b + i + 4);

		d0 = simde_mm_add_ps(d0, simde_mm_mul_ps(va0, vb0));
		x0 = simde_mm_add_ps(x0, simde_mm_mul_ps(va0, va0));
		y0 = simde_mm_add_ps(y0, simde_mm_mul_ps(vb0, vb0));
		d1 = simde_mm_add_ps(d1, simde_mm_mul_ps(va1, vb1));
		x1 = simde_mm_add_ps(x1, simde_mm_mul_ps(va1, va1));
		y1 = simde_mm_add_ps(y1, simde_mm_mul_ps(vb1, vb1));
	}
	if (i + 4 <= n)
	{
		simde__m128 va = simde_mm_loadu_ps(a + i);
		simde__m128 vb = simde_mm_loadu_ps(b + i);

		d0 = simde_mm_add_ps(d0, simde_mm_mul_ps(va, vb));
		x0 = simde_mm_add_ps(x0, simde_mm_mul_ps(va, va));
		y0 = simde_mm_add_ps(y0, simde_mm_mul_ps(vb, vb));
		i += 4;
	}
	sd = RvSimdHsumSse2(simde_mm_add_ps(d0, d1));
	sx = RvSimdHsumSse2(simde_mm_add_ps(x0, x1));
	sy = RvSimdHsumSse2(simde_mm_add_ps(y0, y1));
	for (; i < n; i++)
	{
		sd += a[i] * b[i];
		sx += a[i] * a[i];
		sy += b[i] * b[i];
	}
	*dot = sd;
	*aa = sx;
	*bb = sy;
}

const RvKernels rv_kernels_sse2 = {
	"sse2",
	RvSimdL2SqSse2,
	RvSimdDotSse2,
	RvSimdL1Sse2,
	RvSimdDotNormsSse2
};

#else

/* Not x86-64: nothing to compile (keeps the translation unit non-empty). */
typedef int RvSimdSse2Unused;

#endif
