/*-------------------------------------------------------------------------
 *
 * kernels_neon.c
 *	  AArch64 Advanced SIMD (NEON) distance kernels (4 float lanes, fused
 *	  multiply-add) on SIMDe.
 *
 * NEON is mandatory on AArch64, so this file needs no extra compiler flags
 * and the dispatcher always offers it there.  On every other architecture
 * it compiles to an empty translation unit (unless RV_SIMD_EMULATE is set by
 * a test build, which runs it through SIMDe's portable fallbacks).
 *
 * Inputs are float arrays of n >= 0 elements with only 4-byte alignment
 * (NEON loads need only element alignment).  The main loops keep four
 * accumulators (16 floats a step) to cover FMA latency; the n % 4 tail is
 * added in scalar code, so nothing past a[n-1] or b[n-1] is read.  Needs
 * only the C library and SIMDe (see rv_simd_kernels.h).
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_kernels.h"

#if defined(RV_SIMD_ARCH_AARCH64) || defined(RV_SIMD_EMULATE)

#include <math.h>

#include <simde/arm/neon.h>

/* Sum of the lanes of s0 + s1 + s2 + s3. */
static inline float
RvSimdHsumNeon(simde_float32x4_t s0, simde_float32x4_t s1,
			   simde_float32x4_t s2, simde_float32x4_t s3)
{
	return simde_vaddvq_f32(simde_vaddq_f32(simde_vaddq_f32(s0, s1),
											simde_vaddq_f32(s2, s3)));
}

/* sum (a[i] - b[i])^2 over n floats */
static float
RvSimdL2SqNeon(const float *a, const float *b, int n)
{
	simde_float32x4_t s0 = simde_vdupq_n_f32(0.0f);
	simde_float32x4_t s1 = s0;
	simde_float32x4_t s2 = s0;
	simde_float32x4_t s3 = s0;
	float		sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		simde_float32x4_t d0 = simde_vsubq_f32(simde_vld1q_f32(a + i), simde_vld1q_f32(b + i));
		simde_float32x4_t d1 = simde_vsubq_f32(simde_vld1q_f32(a + i + 4), simde_vld1q_f32(b + i + 4));
		simde_float32x4_t d2 = simde_vsubq_f32(simde_vld1q_f32(a + i + 8), simde_vld1q_f32(b + i + 8));
		simde_float32x4_t d3 = simde_vsubq_f32(simde_vld1q_f32(a + i + 12), simde_vld1q_f32(b + i + 12));

		s0 = simde_vfmaq_f32(s0, d0, d0);
		s1 = simde_vfmaq_f32(s1, d1, d1);
		s2 = simde_vfmaq_f32(s2, d2, d2);
		s3 = simde_vfmaq_f32(s3, d3, d3);
	}
	for (; i + 4 <= n; i += 4)
	{
		simde_float32x4_t d = simde_vsubq_f32(simde_vld1q_f32(a + i), simde_vld1q_f32(b + i));

		s0 = simde_vfmaq_f32(s0, d, d);
	}
	sum = RvSimdHsumNeon(s0, s1, s2, s3);
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

/* sum a[i] * b[i] over n floats */
static float
RvSimdDotNeon(const float *a, const float *b, int n)
{
	simde_float32x4_t s0 = simde_vdupq_n_f32(0.0f);
	simde_float32x4_t s1 = s0;
	simde_float32x4_t s2 = s0;
	simde_float32x4_t s3 = s0;
	float		sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		s0 = simde_vfmaq_f32(s0, simde_vld1q_f32(a + i), simde_vld1q_f32(b + i));
		s1 = simde_vfmaq_f32(s1, simde_vld1q_f32(a + i + 4), simde_vld1q_f32(b + i + 4));
		s2 = simde_vfmaq_f32(s2, simde_vld1q_f32(a + i + 8), simde_vld1q_f32(b + i + 8));
		s3 = simde_vfmaq_f32(s3, simde_vld1q_f32(a + i + 12), simde_vld1q_f32(b + i + 12));
	}
	for (; i + 4 <= n; i += 4)
		s0 = simde_vfmaq_f32(s0, simde_vld1q_f32(a + i), simde_vld1q_f32(b + i));
	sum = RvSimdHsumNeon(s0, s1, s2, s3);
	for (; i < n; i++)
		sum += a[i] * b[i];
	return sum;
}

/* sum |a[i] - b[i]| over n floats (vabdq: absolute difference) */
static float
RvSimdL1Neon(const float *a, const float *b, int n)
{
	simde_float32x4_t s0 = simde_vdupq_n_f32(0.0f);
	simde_float32x4_t s1 = s0;
	simde_float32x4_t s2 = s0;
	simde_float32x4_t s3 = s0;
	float		sum;
	int			i = 0;

	for (; i + 16 <= n; i += 16)
	{
		s0 = simde_vaddq_f32(s0, simde_vabdq_f32(simde_vld1q_f32(a + i), simde_vld1q_f32(b + i)));
		s1 = simde_vaddq_f32(s1, simde_vabdq_f32(simde_vld1q_f32(a + i + 4), simde_vld1q_f32(b + i + 4)));
		s2 = simde_vaddq_f32(s2, simde_vabdq_f32(simde_vld1q_f32(a + i + 8), simde_vld1q_f32(b + i + 8)));
		s3 = simde_vaddq_f32(s3, simde_vabdq_f32(simde_vld1q_f32(a + i + 12), simde_vld1q_f32(b + i + 12)));
	}
	for (; i + 4 <= n; i += 4)
		s0 = simde_vaddq_f32(s0, simde_vabdq_f32(simde_vld1q_f32(a + i), simde_vld1q_f32(b + i)));
	sum = RvSimdHsumNeon(s0, s1, s2, s3);
	for (; i < n; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n floats, one pass */
static void
RvSimdDotNormsNeon(const float *a, const float *b, int n,
				   float *dot, float *aa, float *bb)
{
	simde_float32x4_t zero = simde_vdupq_n_f32(0.0f);
	simde_float32x4_t d0 = zero,
				d1 = zero,
				x0 = zero,
				x1 = zero,
				y0 = zero,
				y1 = zero;
	float		sd,
				sx,
				sy;
	int			i = 0;

	for (; i + 8 <= n; i += 8)
	{
		simde_float32x4_t va0 = simde_vld1q_f32(a + i);
		simde_float32x4_t vb0 = simde_vld1q_f32(b + i);
		simde_float32x4_t va1 = simde_vld1q_f32(a + i + 4);
		simde_float32x4_t vb1 = simde_vld1q_f32(b + i + 4);

		d0 = simde_vfmaq_f32(d0, va0, vb0);
		x0 = simde_vfmaq_f32(x0, va0, va0);
		y0 = simde_vfmaq_f32(y0, vb0, vb0);
		d1 = simde_vfmaq_f32(d1, va1, vb1);
		x1 = simde_vfmaq_f32(x1, va1, va1);
		y1 = simde_vfmaq_f32(y1, vb1, vb1);
	}
	if (i + 4 <= n)
	{
		simde_float32x4_t va = simde_vld1q_f32(a + i);
		simde_float32x4_t vb = simde_vld1q_f32(b + i);

		d0 = simde_vfmaq_f32(d0, va, vb);
		x0 = simde_vfmaq_f32(x0, va, va);
		y0 = simde_vfmaq_f32(y0, vb, vb);
		i += 4;
	}
	sd = simde_vaddvq_f32(simde_vaddq_f32(d0, d1));
	sx = simde_vaddvq_f32(simde_vaddq_f32(x0, x1));
	sy = simde_vaddvq_f32(simde_vaddq_f32(y0, y1));
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

const RvKernels rv_kernels_neon = {
	"neon",
	RvSimdL2SqNeon,
	RvSimdDotNeon,
	RvSimdL1Neon,
	RvSimdDotNormsNeon
};

#else

/* Not AArch64: nothing to compile (keeps the translation unit non-empty). */
typedef int RvSimdNeonUnused;

#endif
