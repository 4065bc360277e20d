/*-------------------------------------------------------------------------
 *
 * kern_f32.c
 *	  The f32 distance kernels (sum (a-b)^2, sum a*b, sum |a-b|, and the
 *	  one-pass dot/norms for cosine), written once on rv_simd_isa.h and
 *	  compiled once per ISA into kern_f32_<isa>.o (see the Makefile); the
 *	  first two and dot/norms are kern_float_body.h's, with plain loads.
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

#define RV_BODY_FN(name)		RV_MANGLE(rv_f32_##name)
#define RV_BODY_T				float
#define RV_BODY_LOAD(p)			rv_loadu(p)
#define RV_BODY_LOAD_TAIL(p, r)	rv_load_tail(p, r)
#include "simd/kern_float_body.h"



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

