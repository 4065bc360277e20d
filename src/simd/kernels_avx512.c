/*-------------------------------------------------------------------------
 *
 * kernels_avx512.c
 *	  AVX-512F distance kernels (16 float lanes, fused multiply-add) on
 *	  SIMDe.
 *
 * The Makefile compiles this file alone with -mavx512f -mavx2 -mfma; the
 * dispatcher (simd_dispatch.c) calls into it only when the CPU (and OS)
 * report AVX-512F, AVX2 and FMA, and nothing here runs at load time (the
 * table below is constant data).
 *
 * Inputs are float arrays of n >= 0 elements with only 4-byte alignment:
 * every load is unaligned (loadu).  The main loops keep four 512-bit
 * accumulators (64 floats a step).  The n % 16 tail is done on 256-bit
 * registers: one full 8-float step if it fits, then a masked load
 * (vmaskmovps) of the last n % 8 floats, which never touches memory past
 * a[n-1] or b[n-1].  (The SIMDe in use lacks AVX-512 masked loads.)
 * Compiled to real code only on x86-64 (or with RV_SIMD_EMULATE in test
 * builds).  Needs only the C library and SIMDe (see rv_simd_kernels.h).
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_kernels.h"

#if defined(RV_SIMD_ARCH_X86_64) || defined(RV_SIMD_EMULATE)

#include <stdint.h>
#include <string.h>

#include <simde/x86/avx512.h>
#include <simde/x86/fma.h>

#ifdef SIMDE_X86_AVX_NATIVE
/* A sliding window over this gives a load mask for the first r lanes. */
static const int32_t rv_simd_avx512_tail_mask[16] = {
	-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
};
#endif

/*
 * Loads p[0..r), 0 < r < 8, into the low lanes of a 256-bit register and
 * zeroes the others, without reading p[r] or beyond.  SIMDe's portable
 * maskload would read all eight floats, so emulated builds copy instead.
 */
static inline simde__m256
RvSimdLoadTailAvx512(const float *p, int r)
{
#ifdef SIMDE_X86_AVX_NATIVE
	simde__m256i mask = simde_mm256_loadu_si256((const simde__m256i *) (rv_simd_avx512_tail_mask + 8 - r));

	return simde_mm256_maskload_ps(p, mask);
#else
	float		buf[8] = {0};

	memcpy(buf, p, sizeof(float) * r);
	return simde_mm256_loadu_ps(buf);
#endif
}

/* Sum of the sixteen lanes of v plus the eight lanes of t. */
static inline float
RvSimdHsumAvx512(simde__m512 v, simde__m256 t)
{
	simde__m256 hi = simde_mm256_castpd_ps(simde_mm512_extractf64x4_pd(simde_mm512_castps_pd(v), 1));
	simde__m256 s8 = simde_mm256_add_ps(simde_mm256_add_ps(simde_mm512_castps512_ps256(v), hi), t);
	simde__m128 s = simde_mm_add_ps(simde_mm256_castps256_ps128(s8),
									simde_mm256_extractf128_ps(s8, 1));

	s = simde_mm_add_ps(s, simde_mm_movehl_ps(s, s));
	s = simde_mm_add_ss(s, simde_mm_shuffle_ps(s, s, 1));
	return simde_mm_cvtss_f32(s);
}

/* sum (a[i] - b[i])^2 over n floats */
static float
RvSimdL2SqAvx512(const float *a, const float *b, int n)
{
	simde__m512 s0 = simde_mm512_setzero_ps();
	simde__m512 s1 = simde_mm512_setzero_ps();
	simde__m512 s2 = simde_mm512_setzero_ps();
	simde__m512 s3 = simde_mm512_setzero_ps();
	simde__m256 t = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		simde__m512 d0 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i));
		simde__m512 d1 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 16), simde_mm512_loadu_ps(b + i + 16));
		simde__m512 d2 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 32), simde_mm512_loadu_ps(b + i + 32));
		simde__m512 d3 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 48), simde_mm512_loadu_ps(b + i + 48));

		s0 = simde_mm512_fmadd_ps(d0, d0, s0);
		s1 = simde_mm512_fmadd_ps(d1, d1, s1);
		s2 = simde_mm512_fmadd_ps(d2, d2, s2);
		s3 = simde_mm512_fmadd_ps(d3, d3, s3);
	}
	for (; i + 16 <= n; i += 16)
	{
		simde__m512 d = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i));

		s0 = simde_mm512_fmadd_ps(d, d, s0);
	}
	if (i + 8 <= n)
	{
		simde__m256 d = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));

		t = simde_mm256_fmadd_ps(d, d, t);
		i += 8;
	}
	if (i < n)
	{
		simde__m256 d = simde_mm256_sub_ps(RvSimdLoadTailAvx512(a + i, n - i),
										   RvSimdLoadTailAvx512(b + i, n - i));

		t = simde_mm256_fmadd_ps(d, d, t);
	}
	return RvSimdHsumAvx512(simde_mm512_add_ps(simde_mm512_add_ps(s0, s1),
											   simde_mm512_add_ps(s2, s3)), t);
}

/* sum a[i] * b[i] over n floats */
static float
RvSimdDotAvx512(const float *a, const float *b, int n)
{
	simde__m512 s0 = simde_mm512_setzero_ps();
	simde__m512 s1 = simde_mm512_setzero_ps();
	simde__m512 s2 = simde_mm512_setzero_ps();
	simde__m512 s3 = simde_mm512_setzero_ps();
	simde__m256 t = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		s0 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i), s0);
		s1 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i + 16), simde_mm512_loadu_ps(b + i + 16), s1);
		s2 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i + 32), simde_mm512_loadu_ps(b + i + 32), s2);
		s3 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i + 48), simde_mm512_loadu_ps(b + i + 48), s3);
	}
	for (; i + 16 <= n; i += 16)
		s0 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i), s0);
	if (i + 8 <= n)
	{
		t = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i), t);
		i += 8;
	}
	if (i < n)
		t = simde_mm256_fmadd_ps(RvSimdLoadTailAvx512(a + i, n - i),
								 RvSimdLoadTailAvx512(b + i, n - i), t);
	return RvSimdHsumAvx512(simde_mm512_add_ps(simde_mm512_add_ps(s0, s1),
											   simde_mm512_add_ps(s2, s3)), t);
}

/* sum |a[i] - b[i]| over n floats */
static float
RvSimdL1Avx512(const float *a, const float *b, int n)
{
	const simde__m256 sign = simde_mm256_set1_ps(-0.0f);
	simde__m512 s0 = simde_mm512_setzero_ps();
	simde__m512 s1 = simde_mm512_setzero_ps();
	simde__m512 s2 = simde_mm512_setzero_ps();
	simde__m512 s3 = simde_mm512_setzero_ps();
	simde__m256 t = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 64 <= n; i += 64)
	{
		simde__m512 d0 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i));
		simde__m512 d1 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 16), simde_mm512_loadu_ps(b + i + 16));
		simde__m512 d2 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 32), simde_mm512_loadu_ps(b + i + 32));
		simde__m512 d3 = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 48), simde_mm512_loadu_ps(b + i + 48));

		s0 = simde_mm512_add_ps(s0, simde_mm512_abs_ps(d0));
		s1 = simde_mm512_add_ps(s1, simde_mm512_abs_ps(d1));
		s2 = simde_mm512_add_ps(s2, simde_mm512_abs_ps(d2));
		s3 = simde_mm512_add_ps(s3, simde_mm512_abs_ps(d3));
	}
	for (; i + 16 <= n; i += 16)
	{
		simde__m512 d = simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i));

		s0 = simde_mm512_add_ps(s0, simde_mm512_abs_ps(d));
	}
	if (i + 8 <= n)
	{
		simde__m256 d = simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));

		t = simde_mm256_add_ps(t, simde_mm256_andnot_ps(sign, d));
		i += 8;
	}
	if (i < n)
	{
		simde__m256 d = simde_mm256_sub_ps(RvSimdLoadTailAvx512(a + i, n - i),
										   RvSimdLoadTailAvx512(b + i, n - i));

		t = simde_mm256_add_ps(t, simde_mm256_andnot_ps(sign, d));
	}
	return RvSimdHsumAvx512(simde_mm512_add_ps(simde_mm512_add_ps(s0, s1),
											   simde_mm512_add_ps(s2, s3)), t);
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n floats, one pass */
static void
RvSimdDotNormsAvx512(const float *a, const float *b, int n,
					 float *dot, float *aa, float *bb)
{
	simde__m512 d0 = simde_mm512_setzero_ps();
	simde__m512 d1 = simde_mm512_setzero_ps();
	simde__m512 x0 = simde_mm512_setzero_ps();
	simde__m512 x1 = simde_mm512_setzero_ps();
	simde__m512 y0 = simde_mm512_setzero_ps();
	simde__m512 y1 = simde_mm512_setzero_ps();
	simde__m256 td = simde_mm256_setzero_ps();
	simde__m256 tx = simde_mm256_setzero_ps();
	simde__m256 ty = simde_mm256_setzero_ps();
	int			i = 0;

	for (; i + 32 <= n; i += 32)
	{
		simde__m512 va0 = simde_mm512_loadu_ps(a + i);
		simde__m512 vb0 = simde_mm512_loadu_ps(b + i);
		simde__m512 va1 = simde_mm512_loadu_ps(a + i + 16);
		simde__m512 vb1 = simde_mm512_loadu_ps(b + i + 16);

		d0 = simde_mm512_fmadd_ps(va0, vb0, d0);
		x0 = simde_mm512_fmadd_ps(va0, va0, x0);
		y0 = simde_mm512_fmadd_ps(vb0, vb0, y0);
		d1 = simde_mm512_fmadd_ps(va1, vb1, d1);
		x1 = simde_mm512_fmadd_ps(va1, va1, x1);
		y1 = simde_mm512_fmadd_ps(vb1, vb1, y1);
	}
	if (i + 16 <= n)
	{
		simde__m512 va = simde_mm512_loadu_ps(a + i);
		simde__m512 vb = simde_mm512_loadu_ps(b + i);

		d0 = simde_mm512_fmadd_ps(va, vb, d0);
		x0 = simde_mm512_fmadd_ps(va, va, x0);
		y0 = simde_mm512_fmadd_ps(vb, vb, y0);
		i += 16;
	}
	if (i + 8 <= n)
	{
		simde__m256 va = simde_mm256_loadu_ps(a + i);
		simde__m256 vb = simde_mm256_loadu_ps(b + i);

		td = simde_mm256_fmadd_ps(va, vb, td);
		tx = simde_mm256_fmadd_ps(va, va, tx);
		ty = simde_mm256_fmadd_ps(vb, vb, ty);
		i += 8;
	}
	if (i < n)
	{
		simde__m256 va = RvSimdLoadTailAvx512(a + i, n - i);
		simde__m256 vb = RvSimdLoadTailAvx512(b + i, n - i);

		td = simde_mm256_fmadd_ps(va, vb, td);
		tx = simde_mm256_fmadd_ps(va, va, tx);
		ty = simde_mm256_fmadd_ps(vb, vb, ty);
	}
	*dot = RvSimdHsumAvx512(simde_mm512_add_ps(d0, d1), td);
	*aa = RvSimdHsumAvx512(simde_mm512_add_ps(x0, x1), tx);
	*bb = RvSimdHsumAvx512(simde_mm512_add_ps(y0, y1), ty);
}

const RvKernels rv_kernels_avx512 = {
	"avx512f",
	RvSimdL2SqAvx512,
	RvSimdDotAvx512,
	RvSimdL1Avx512,
	RvSimdDotNormsAvx512
};

#else

/* Not x86-64: nothing to compile (keeps the translation unit non-empty). */
typedef int RvSimdAvx512Unused;

#endif
