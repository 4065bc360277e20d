/*-------------------------------------------------------------------------
 *
 * kern_bf16.c
 *	  Distance kernels of an f32 query against a bf16 code vector (each
 *	  code is the top 16 bits of a float: value = code << 16 reinterpreted
 *	  as a float), written once on rv_simd_isa.h and compiled once per ISA
 *	  into kern_bf16_<isa>.o.
 *
 * q is n >= 0 floats with 4-byte alignment, c is n uint16 codes with
 * 2-byte alignment; all loads are unaligned and the n % RV_VW tail is
 * copied through a zeroed buffer, so nothing past q[n-1] or c[n-1] is read.
 * Sums are accumulated in floats over the exactly widened codes, so the
 * result is within the f32 kernels' 1e-5 relative error of the double
 * distance to the decoded vector (the bf16 rounding itself is the
 * encoder's, see rv_simd.h).  Needs only the C library and SIMDe.
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_isa.h"

#define W RV_VW

/* Codes c[0..r), 0 < r < RV_VW, widened; the other lanes zero. */
static inline rv_vf
rv_load_bf16_tail(const uint16_t *c, int r)
{
	uint16_t	buf[RV_VW] = {0};

	memcpy(buf, c, sizeof(uint16_t) * r);
	return rv_load_bf16(buf);
}

/* sum (q[i] - bf16(c[i]))^2 over n */
float
RV_MANGLE(rv_bf16_l2sq) (const float *q, const uint16_t *c, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		rv_vf		d0 = rv_sub(rv_loadu(q + i), rv_load_bf16(c + i));
		rv_vf		d1 = rv_sub(rv_loadu(q + i + W), rv_load_bf16(c + i + W));
		rv_vf		d2 = rv_sub(rv_loadu(q + i + 2 * W), rv_load_bf16(c + i + 2 * W));
		rv_vf		d3 = rv_sub(rv_loadu(q + i + 3 * W), rv_load_bf16(c + i + 3 * W));

		s0 = rv_fmadd(d0, d0, s0);
		s1 = rv_fmadd(d1, d1, s1);
		s2 = rv_fmadd(d2, d2, s2);
		s3 = rv_fmadd(d3, d3, s3);
	}
	for (; i + W <= n; i += W)
	{
		rv_vf		d = rv_sub(rv_loadu(q + i), rv_load_bf16(c + i));

		s0 = rv_fmadd(d, d, s0);
	}
	if (i < n)
	{
		rv_vf		d = rv_sub(rv_load_tail(q + i, n - i), rv_load_bf16_tail(c + i, n - i));

		s1 = rv_fmadd(d, d, s1);
	}
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* sum q[i] * bf16(c[i]) over n */
float
RV_MANGLE(rv_bf16_dot) (const float *q, const uint16_t *c, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		s0 = rv_fmadd(rv_loadu(q + i), rv_load_bf16(c + i), s0);
		s1 = rv_fmadd(rv_loadu(q + i + W), rv_load_bf16(c + i + W), s1);
		s2 = rv_fmadd(rv_loadu(q + i + 2 * W), rv_load_bf16(c + i + 2 * W), s2);
		s3 = rv_fmadd(rv_loadu(q + i + 3 * W), rv_load_bf16(c + i + 3 * W), s3);
	}
	for (; i + W <= n; i += W)
		s0 = rv_fmadd(rv_loadu(q + i), rv_load_bf16(c + i), s0);
	if (i < n)
		s1 = rv_fmadd(rv_load_tail(q + i, n - i), rv_load_bf16_tail(c + i, n - i), s1);
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* *dot = sum q*x, *qq = sum q*q, *xx = sum x*x with x = bf16(c), one pass */
void
RV_MANGLE(rv_bf16_dot_norms) (const float *q, const uint16_t *c, int n,
							  float *dot, float *qq, float *xx)
{
	rv_vf		d0 = rv_zero(),
				d1 = rv_zero(),
				a0 = rv_zero(),
				a1 = rv_zero(),
				b0 = rv_zero(),
				b1 = rv_zero();
	int			i = 0;

	for (; i + 2 * W <= n; i += 2 * W)
	{
		rv_vf		va0 = rv_loadu(q + i);
		rv_vf		vb0 = rv_load_bf16(c + i);
		rv_vf		va1 = rv_loadu(q + i + W);
		rv_vf		vb1 = rv_load_bf16(c + i + W);

		d0 = rv_fmadd(va0, vb0, d0);
		a0 = rv_fmadd(va0, va0, a0);
		b0 = rv_fmadd(vb0, vb0, b0);
		d1 = rv_fmadd(va1, vb1, d1);
		a1 = rv_fmadd(va1, va1, a1);
		b1 = rv_fmadd(vb1, vb1, b1);
	}
	if (i + W <= n)
	{
		rv_vf		va = rv_loadu(q + i);
		rv_vf		vb = rv_load_bf16(c + i);

		d0 = rv_fmadd(va, vb, d0);
		a0 = rv_fmadd(va, va, a0);
		b0 = rv_fmadd(vb, vb, b0);
		i += W;
	}
	if (i < n)
	{
		rv_vf		va = rv_load_tail(q + i, n - i);
		rv_vf		vb = rv_load_bf16_tail(c + i, n - i);

		d1 = rv_fmadd(va, vb, d1);
		a1 = rv_fmadd(va, va, a1);
		b1 = rv_fmadd(vb, vb, b1);
	}
	*dot = rv_hsum(rv_add(d0, d1));
	*qq = rv_hsum(rv_add(a0, a1));
	*xx = rv_hsum(rv_add(b0, b1));
}
