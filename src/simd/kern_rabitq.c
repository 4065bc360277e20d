/*-------------------------------------------------------------------------
 *
 * kern_rabitq.c
 *	  The RaBitQ inner kernel, written once on rv_simd_isa.h and compiled
 *	  once per ISA into kern_rabitq_<isa>.o: the integer inner product
 *	  <x_b, q_u> of a 1-bit data code x_b with a 4-bit quantized query q_u
 *	  given as four bit planes, computed as
 *
 *		  sum_{j=0..3} 2^j * popcount(x_b AND plane_j)
 *
 *	  (the bitwise decomposition of Gao and Long, "RaBitQ: Quantizing
 *	  High-Dimensional Vectors with a Theoretical Error Bound for
 *	  Approximate Nearest Neighbor Search", SIGMOD 2024, section 3.3.1).
 *
 * x holds nwords 64-bit words; planes holds 4 * nwords words, plane j at
 * planes + j * nwords (bit i of word w is dimension 64 * w + i in both).
 * Only 8-byte alignment is needed; loads are unaligned.  The popcount is
 * the ISA's (rv_cnt_and: vpshufb nibble table on AVX2/AVX-512F, SWAR on
 * SSE2, vcnt on NEON, __builtin_popcountll in scalar code); whole words
 * left over after the vector steps use __builtin_popcountll.  The result
 * is exact: at most 15 * 64 * nwords, which fits in 32 bits for any
 * dimension the type allows.  Needs only the C library and SIMDe.
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_isa.h"

uint32_t
RV_MANGLE(rv_rabitq_bitdot4) (const uint64_t *x, const uint64_t *planes, int nwords)
{
	const uint64_t *p0 = planes;
	const uint64_t *p1 = planes + nwords;
	const uint64_t *p2 = planes + 2 * nwords;
	const uint64_t *p3 = planes + 3 * nwords;
	rv_vcnt		c0 = rv_cnt_zero(),
				c1 = rv_cnt_zero(),
				c2 = rv_cnt_zero(),
				c3 = rv_cnt_zero();
	uint64_t	t0,
				t1,
				t2,
				t3;
	int			i = 0;

	for (; i + RV_CNT_WORDS <= nwords; i += RV_CNT_WORDS)
	{
		c0 = rv_cnt_and(c0, x + i, p0 + i);
		c1 = rv_cnt_and(c1, x + i, p1 + i);
		c2 = rv_cnt_and(c2, x + i, p2 + i);
		c3 = rv_cnt_and(c3, x + i, p3 + i);
	}
	t0 = rv_cnt_total(c0);
	t1 = rv_cnt_total(c1);
	t2 = rv_cnt_total(c2);
	t3 = rv_cnt_total(c3);
	for (; i < nwords; i++)
	{
		t0 += (uint64_t) __builtin_popcountll(x[i] & p0[i]);
		t1 += (uint64_t) __builtin_popcountll(x[i] & p1[i]);
		t2 += (uint64_t) __builtin_popcountll(x[i] & p2[i]);
		t3 += (uint64_t) __builtin_popcountll(x[i] & p3[i]);
	}
	return (uint32_t) (t0 + 2 * t1 + 4 * t2 + 8 * t3);
}
