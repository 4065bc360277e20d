/*-------------------------------------------------------------------------
 *
 * kern_sq8.c
 *	  Distance kernels of an f32 query against an SQ8 code vector (uint8
 *	  codes u[i] with one scale and offset per vector: x[i] = offset +
 *	  scale * u[i]), written once on rv_simd_isa.h and compiled once per ISA
 *	  into kern_sq8_<isa>.o.
 *
 * q is n >= 0 floats with 4-byte alignment, c is n bytes with any
 * alignment; all loads are unaligned and the n % RV_VW tail is copied
 * through a zeroed buffer, so nothing past q[n-1] or c[n-1] is read.
 * l2sq decodes each lane (x = u * scale + offset, fused where the ISA has
 * it) and sums (q - x)^2, so it does not cancel when q is close to x;
 * dot returns the raw sum q[i] * u[i], which the entry point in
 * simd_codes.c combines with the query's sum and the vector's scale and
 * offset.  Needs only the C library and SIMDe.
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_isa.h"

#define W RV_VW

/* Codes c[0..r), 0 < r < RV_VW, as floats; the other lanes zero. */
static inline rv_vf
rv_load_u8_tail(const uint8_t *c, int r)
{
	uint8_t		buf[RV_VW] = {0};

	memcpy(buf, c, r);
	return rv_load_u8(buf);
}

/* sum (q[i] - (offset + scale * c[i]))^2 over n */
float
RV_MANGLE(rv_sq8_l2sq) (const float *q, const uint8_t *c, int n,
						float scale, float offset)
{
	const rv_vf vs = rv_set1(scale);
	const rv_vf vo = rv_set1(offset);
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		rv_vf		d0 = rv_sub(rv_loadu(q + i), rv_fmadd(rv_load_u8(c + i), vs, vo));
		rv_vf		d1 = rv_sub(rv_loadu(q + i + W), rv_fmadd(rv_load_u8(c + i + W), vs, vo));
		rv_vf		d2 = rv_sub(rv_loadu(q + i + 2 * W), rv_fmadd(rv_load_u8(c + i + 2 * W), vs, vo));
		rv_vf		d3 = rv_sub(rv_loadu(q + i + 3 * W), rv_fmadd(rv_load_u8(c + i + 3 * W), vs, vo));

		s0 = rv_fmadd(d0, d0, s0);
		s1 = rv_fmadd(d1, d1, s1);
		s2 = rv_fmadd(d2, d2, s2);
		s3 = rv_fmadd(d3, d3, s3);
	}
	for (; i + W <= n; i += W)
	{
		rv_vf		d = rv_sub(rv_loadu(q + i), rv_fmadd(rv_load_u8(c + i), vs, vo));

		s0 = rv_fmadd(d, d, s0);
	}
	if (i < n)
	{
		/* Zeroed lanes decode to offset in both q and x: q lanes are 0. */
		rv_vf		x = rv_fmadd(rv_load_u8_tail(c + i, n - i), vs, vo);
		rv_vf		qt = rv_load_tail(q + i, n - i);
		float		xl[RV_VW];
		float		ql[RV_VW];
		float		s = 0.0f;

		/* Sum only the first n - i lanes (x is offset, not 0, beyond). */
		memcpy(xl, &x, sizeof(xl));
		memcpy(ql, &qt, sizeof(ql));
		for (int k = 0; k < n - i; k++)
		{
			float		d = ql[k] - xl[k];

			s += d * d;
		}
		return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3))) + s;
	}
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}

/* sum q[i] * c[i] over n (raw code values 0..255) */
float
RV_MANGLE(rv_sq8_dot) (const float *q, const uint8_t *c, int n)
{
	rv_vf		s0 = rv_zero(),
				s1 = rv_zero(),
				s2 = rv_zero(),
				s3 = rv_zero();
	int			i = 0;

	for (; i + 4 * W <= n; i += 4 * W)
	{
		s0 = rv_fmadd(rv_loadu(q + i), rv_load_u8(c + i), s0);
		s1 = rv_fmadd(rv_loadu(q + i + W), rv_load_u8(c + i + W), s1);
		s2 = rv_fmadd(rv_loadu(q + i + 2 * W), rv_load_u8(c + i + 2 * W), s2);
		s3 = rv_fmadd(rv_loadu(q + i + 3 * W), rv_load_u8(c + i + 3 * W), s3);
	}
	for (; i + W <= n; i += W)
		s0 = rv_fmadd(rv_loadu(q + i), rv_load_u8(c + i), s0);
	if (i < n)
		s1 = rv_fmadd(rv_load_tail(q + i, n - i), rv_load_u8_tail(c + i, n - i), s1);
	return rv_hsum(rv_add(rv_add(s0, s1), rv_add(s2, s3)));
}
