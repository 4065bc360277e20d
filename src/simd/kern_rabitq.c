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
 * dimension the type allows.
 *
 * rv_rabitq_agree8 is the exact k-NN scan's sign-bound count (store_score.c):
 *
 *		  sum_{j=0..7} 2^j * popcount(NOT(x XOR s) AND plane_j)
 *
 * (the weights, 8-bit, of the bits of x that agree with those of s), with
 * plane j at planes + j * pstride; at most 255 * 64 * nwords.  The
 * AVX-512 build uses VPOPCNTQ where the CPU has AVX512_VPOPCNTDQ (probed
 * once, on the first call, with __builtin_cpu_supports; masked loads, so
 * nothing past x[nwords - 1], s[...] or a plane's last word is read), the
 * other builds the same popcount accumulator as above over NOT(x XOR s)
 * computed RV_AGREE_CHUNK words at a time.  Needs only the C library and
 * SIMDe (and, for the VPOPCNTQ path, GCC's or Clang's target attribute).
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

/* words of NOT(x XOR s) rv_rabitq_agree8 computes at a time */
#define RV_AGREE_CHUNK 32

static uint32_t
rv_rabitq_agree8_generic(const uint64_t *x, const uint64_t *s, const uint64_t *planes,
						 int nwords, int pstride)
{
	uint64_t	total = 0;

	for (int base = 0; base < nwords; base += RV_AGREE_CHUNK)
	{
		uint64_t	m[RV_AGREE_CHUNK];
		int			len = nwords - base < RV_AGREE_CHUNK ? nwords - base : RV_AGREE_CHUNK;

		for (int i = 0; i < len; i++)
			m[i] = ~(x[base + i] ^ s[base + i]);
		for (int j = 0; j < 8; j++)
		{
			const uint64_t *p = planes + (size_t) j * pstride + base;
			rv_vcnt		c = rv_cnt_zero();
			uint64_t	t;
			int			i = 0;

			for (; i + RV_CNT_WORDS <= len; i += RV_CNT_WORDS)
				c = rv_cnt_and(c, m + i, p + i);
			t = rv_cnt_total(c);
			for (; i < len; i++)
				t += (uint64_t) __builtin_popcountll(m[i] & p[i]);
			total += t << j;
		}
	}
	return (uint32_t) total;
}

#if defined(RV_ISA_AVX512) && !defined(RV_SIMD_EMULATE) && defined(__x86_64__) && \
	defined(__GNUC__)
#include <immintrin.h>
#define RV_AGREE8_VPOPCNT 1

__attribute__((target("avx512f,avx512vpopcntdq")))
static uint32_t
rv_rabitq_agree8_vpopcnt(const uint64_t *x, const uint64_t *s, const uint64_t *planes,
						 int nwords, int pstride)
{
	__m512i		acc = _mm512_setzero_si512();

	for (int i = 0; i < nwords; i += 8)
	{
		__mmask8	k = nwords - i >= 8 ? (__mmask8) 0xFF : (__mmask8) ((1u << (nwords - i)) - 1);
		__m512i		d = _mm512_xor_si512(_mm512_maskz_loadu_epi64(k, x + i),
										 _mm512_maskz_loadu_epi64(k, s + i));

		for (int j = 0; j < 8; j++)
		{
			__m512i		p = _mm512_maskz_loadu_epi64(k, planes + (size_t) j * pstride + i);
			__m512i		c = _mm512_popcnt_epi64(_mm512_andnot_si512(d, p));

			acc = _mm512_add_epi64(acc, _mm512_slli_epi64(c, (unsigned int) j));
		}
	}
	return (uint32_t) _mm512_reduce_add_epi64(acc);
}

/* -1 until probed, then whether the CPU has AVX512_VPOPCNTDQ */
static int	rv_agree8_have_vpopcnt = -1;
#endif

uint32_t
RV_MANGLE(rv_rabitq_agree8) (const uint64_t *x, const uint64_t *s, const uint64_t *planes,
							 int nwords, int pstride)
{
#ifdef RV_AGREE8_VPOPCNT
	if (rv_agree8_have_vpopcnt < 0)
	{
		__builtin_cpu_init();
		rv_agree8_have_vpopcnt = __builtin_cpu_supports("avx512vpopcntdq") ? 1 : 0;
	}
	if (rv_agree8_have_vpopcnt)
		return rv_rabitq_agree8_vpopcnt(x, s, planes, nwords, pstride);
#endif
	return rv_rabitq_agree8_generic(x, s, planes, nwords, pstride);
}
