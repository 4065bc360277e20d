/*-------------------------------------------------------------------------
 *
 * kern_f32.c
 *	  The f32 distance kernels (sum (a-b)^2, sum a*b, sum |a-b|, and the
 *	  one-pass dot/norms for cosine), written once on rv_simd_isa.h and
 *	  compiled once per ISA into kern_f32_<isa>.o (see the Makefile).
 *
 * Inputs are float arrays of n >= 0 elements with only 4-byte alignment:
 * every load is unaligned, and the n % RV_VW tail goes through
 * rv_load_tail, which never reads past a[n-1] or b[n-1] (a vector may end
 * at a page boundary); n == 0 touches no memory.  The main loops keep four
 * accumulators (4 * RV_VW floats a step; two for dot_norms, which has three
 * sums) to cover add/FMA latency; with RV_VW = 1 this is the classic
 * four-way unrolled scalar loop.  Float accumulation keeps relative error
 * within the 1e-5 of rv_simd.h.  Needs only the C library and SIMDe.
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_isa.h"

#define W RV_VW

/* sum (a[i] - b[i])^2 over n floats */
float
RV_MANGLE(rv_f32_l2sq) (const float *a, const float *b, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		rv_vf		d0 = rv_sub(rv_loadu(a + i), rv_loadu(b + i));
		rv_vf		d1 = rv_sub(rv_loadu(a + i + W), rv_loadu(b + i + W));
		rv_vf		d2 = rv_sub(rv_loadu(a + i + 2 * W), rv_loadu(b + i + 2 * W));
		rv_vf		d3 = rv_sub(rv_loadu(a + i + 3 * W), rv_loadu(b + i + 3 * W));

		s0 = rv_fmadd(d0, d0, s0);
		s1 = rv_fmadd(d1, d1, s1);
		s2 = rv_fmadd(d2, d2, s2);
		s3 = rv_fmadd(d3, d3, s3);
	}
	for (; i + W <= n; i += W)
	{
		rv_vf		d = rv_sub(rv_loadu(a + i), rv_loadu(b + i));

		s0 = rv_fmadd(d, d, s0);
	}
	if (i < n)
	{
		rv_vf		d = rv_sub(rv_load_tail(a + i, n - i), rv_load_tail(b + i, n - i));

		s1 = rv_fmadd(d, d, s1);
	}
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* sum a[i] * b[i] over n floats */
float
RV_MANGLE(rv_f32_dot) (const float *a, const float *b, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		s0 = rv_fmadd(rv_loadu(a + i), rv_loadu(b + i), s0);
		s1 = rv_fmadd(rv_loadu(a + i + W), rv_loadu(b + i + W), s1);
		s2 = rv_fmadd(rv_loadu(a + i + 2 * W), rv_loadu(b + i + 2 * W), s2);
		s3 = rv_fmadd(rv_loadu(a + i + 3 * W), rv_loadu(b + i + 3 * W), s3);
	}
	for (; i + W <= n; i += W)
		s0 = rv_fmadd(rv_loadu(a + i), rv_loadu(b + i), s0);
	if (i < n)
		s1 = rv_fmadd(rv_load_tail(a + i, n - i), rv_load_tail(b + i, n - i), s1);
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* sum |a[i] - b[i]| over n floats */
float
RV_MANGLE(rv_f32_l1) (const float *a, const float *b, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		s0 = rv_add(s0, rv_abs(rv_sub(rv_loadu(a + i), rv_loadu(b + i))));
		s1 = rv_add(s1, rv_abs(rv_sub(rv_loadu(a + i + W), rv_loadu(b + i + W))));
		s2 = rv_add(s2, rv_abs(rv_sub(rv_loadu(a + i + 2 * W), rv_loadu(b + i + 2 * W))));
		s3 = rv_add(s3, rv_abs(rv_sub(rv_loadu(a + i + 3 * W), rv_loadu(b + i + 3 * W))));
	}
	for (; i + W <= n; i += W)
		s0 = rv_add(s0, rv_abs(rv_sub(rv_loadu(a + i), rv_loadu(b + i))));
	if (i < n)
		s1 = rv_add(s1, rv_abs(rv_sub(rv_load_tail(a + i, n - i),
									  rv_load_tail(b + i, n - i))));
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n floats, one pass */
void
RV_MANGLE(rv_f32_dot_norms) (const float *a, const float *b, int n,
							 float *dot, float *aa, float *bb)
{
	rv_vf		d0 = rv_zero(),
				d1 = rv_zero(),
				x0 = rv_zero(),
				x1 = rv_zero(),
				y0 = rv_zero(),
				y1 = rv_zero();
	int			i = 0;

	for (; i + 2 * W <= n; i += 2 * W)
	{
		rv_vf		va0 = rv_loadu(a + i);
		rv_vf		vb0 = rv_loadu(b + i);
		rv_vf		va1 = rv_loadu(a + i + W);
		rv_vf		vb1 = rv_loadu(b + i + W);

		d0 = rv_fmadd(va0, vb0, d0);
		x0 = rv_fmadd(va0, va0, x0);
		y0 = rv_fmadd(vb0, vb0, y0);
		d1 = rv_fmadd(va1, vb1, d1);
		x1 = rv_fmadd(va1, va1, x1);
		y1 = rv_fmadd(vb1, vb1, y1);
	}
	if (i + W <= n)
	{
		rv_vf		va = rv_loadu(a + i);
		rv_vf		vb = rv_loadu(b + i);

		d0 = rv_fmadd(va, vb, d0);
		x0 = rv_fmadd(va, va, x0);
		y0 = rv_fmadd(vb, vb, y0);
		i += W;
	}
	if (i < n)
	{
		rv_vf		va = rv_load_tail(a + i, n - i);
		rv_vf		vb = rv_load_tail(b + i, n - i);

		d1 = rv_fmadd(va, vb, d1);
		x1 = rv_fmadd(va, va, x1);
		y1 = rv_fmadd(vb, vb, y1);
	}
	*dot = rv_hsum(rv_add(d0, d1));
	*aa = rv_hsum(rv_add(x0, x1));
	*bb = rv_hsum(rv_add(y0, y1));
}
