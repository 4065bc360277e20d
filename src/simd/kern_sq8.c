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
 * offset.  dot_u8s8 is the integer form of dot for a query quantized to
 * int8 (simd_codes.c, RvSq8PrepareIntQuery): exact int32 sums of c[i] *
 * qi[i] and of c[i]; in the AVX-512 object it runs on AVX512-VNNI
 * (VPDPBUSD) when the CPU has it.  dot_u8s7 is the same for a query
 * quantized to -63..63, which lets AVX2 multiply code and query bytes
 * with VPMADDUBSW (pairs of products summed into int16 lanes, exact since
 * 2 * 255 * 63 < 32768) where VNNI is missing.  int_query_max says which
 * of the two the CPU runs fast: 127 (dot_u8s8 on VNNI), 63 (dot_u8s7 on
 * AVX2) or 0 (neither beats dot's floats).  Needs only the C library and
 * SIMDe.
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

/*
 * sum c[i] * qi[i] over n (codes 0..255, query -127..127), and *csum = sum
 * c[i]; exact in int32 for n <= 65535.  The plain loop, which compilers
 * vectorize; every ISA but AVX-512 with VNNI uses it.
 */
static int32_t
rv_sq8_dot_u8s8_generic(const uint8_t *c, const int8_t *qi, int n, int32_t *csum)
{
	int32_t		dot = 0,
				sum = 0;

	for (int i = 0; i < n; i++)
	{
		dot += (int32_t) c[i] * (int32_t) qi[i];
		sum += c[i];
	}
	*csum = sum;
	return dot;
}

#if defined(RV_ISA_AVX512) && !defined(RV_SIMD_EMULATE) && defined(__x86_64__) && \
	defined(__GNUC__)
#include <immintrin.h>
#define RV_DOT_U8S8_VNNI 1

/*
 * AVX512-VNNI: VPDPBUSD multiplies 64 code bytes by 64 query bytes and
 * adds each group of four products into an int32 lane, the codes' sum in
 * a second accumulator (against ones); the tail is a masked load
 * (AVX512BW), so nothing past c[n-1] or qi[n-1] is read.
 */
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static int32_t
rv_sq8_dot_u8s8_vnni(const uint8_t *c, const int8_t *qi, int n, int32_t *csum)
{
	const __m512i ones = _mm512_set1_epi8(1);
	__m512i		d0 = _mm512_setzero_si512(),
				d1 = _mm512_setzero_si512(),
				s0 = _mm512_setzero_si512();
	int			i = 0;

	for (; i + 128 <= n; i += 128)
	{
		__m512i		c0 = _mm512_loadu_si512(c + i);
		__m512i		c1 = _mm512_loadu_si512(c + i + 64);

		d0 = _mm512_dpbusd_epi32(d0, c0, _mm512_loadu_si512(qi + i));
		d1 = _mm512_dpbusd_epi32(d1, c1, _mm512_loadu_si512(qi + i + 64));
		s0 = _mm512_dpbusd_epi32(s0, c0, ones);
		s0 = _mm512_dpbusd_epi32(s0, c1, ones);
	}
	for (; i < n; i += 64)
	{
		__mmask64	k = n - i >= 64 ? ~(__mmask64) 0 : (((__mmask64) 1) << (n - i)) - 1;
		__m512i		cv = _mm512_maskz_loadu_epi8(k, c + i);

		d0 = _mm512_dpbusd_epi32(d0, cv, _mm512_maskz_loadu_epi8(k, qi + i));
		s0 = _mm512_dpbusd_epi32(s0, cv, ones);
	}
	*csum = _mm512_reduce_add_epi32(s0);
	return _mm512_reduce_add_epi32(_mm512_add_epi32(d0, d1));
}

/* -1 until probed, then whether the CPU has AVX512BW and AVX512-VNNI */
static int	rv_sq8_have_vnni = -1;
#endif

int32_t
RV_MANGLE(rv_sq8_dot_u8s8) (const uint8_t *c, const int8_t *qi, int n, int32_t *csum)
{
#ifdef RV_DOT_U8S8_VNNI
	if (rv_sq8_have_vnni < 0)
	{
		__builtin_cpu_init();
		rv_sq8_have_vnni = __builtin_cpu_supports("avx512bw") &&
			__builtin_cpu_supports("avx512vnni") ? 1 : 0;
	}
	if (rv_sq8_have_vnni)
		return rv_sq8_dot_u8s8_vnni(c, qi, n, csum);
#endif
	return rv_sq8_dot_u8s8_generic(c, qi, n, csum);
}

/*
 * sum c[i] * qi[i] over n (codes 0..255, query -63..63), and *csum = sum
 * c[i]; exact in int32 for n <= 65535.  On AVX2 and AVX-512 objects 32
 * bytes a step: VPMADDUBSW multiplies code bytes (unsigned) by query bytes
 * (signed) and adds adjacent pairs into int16 lanes (at most 2 * 255 * 63
 * = 32130 in magnitude: no saturation), VPMADDWD against ones widens and
 * adds them into int32 lanes, VPSADBW against zero sums the codes; the
 * n % 32 tail is summed in scalar, so nothing past c[n-1] or qi[n-1] is
 * read.  Elsewhere the plain loop.
 */
int32_t
RV_MANGLE(rv_sq8_dot_u8s7) (const uint8_t *c, const int8_t *qi, int n, int32_t *csum)
{
	int32_t		dot = 0,
				sum = 0;
	int			i = 0;

#if defined(RV_ISA_AVX2) || defined(RV_ISA_AVX512)
	{
		const simde__m256i ones = simde_mm256_set1_epi16(1);
		const simde__m256i zero = simde_mm256_setzero_si256();
		simde__m256i d0 = zero,
					d1 = zero,
					s0 = zero;
		int32_t		dl[8];
		int64_t		sl[4];

		for (; i + 64 <= n; i += 64)
		{
			simde__m256i c0 = simde_mm256_loadu_si256((const simde__m256i *) (c + i));
			simde__m256i c1 = simde_mm256_loadu_si256((const simde__m256i *) (c + i + 32));
			simde__m256i p0 = simde_mm256_maddubs_epi16(c0, simde_mm256_loadu_si256((const simde__m256i *) (qi + i)));
			simde__m256i p1 = simde_mm256_maddubs_epi16(c1, simde_mm256_loadu_si256((const simde__m256i *) (qi + i + 32)));

			d0 = simde_mm256_add_epi32(d0, simde_mm256_madd_epi16(p0, ones));
			d1 = simde_mm256_add_epi32(d1, simde_mm256_madd_epi16(p1, ones));
			s0 = simde_mm256_add_epi64(s0, simde_mm256_add_epi64(simde_mm256_sad_epu8(c0, zero),
																  simde_mm256_sad_epu8(c1, zero)));
		}
		for (; i + 32 <= n; i += 32)
		{
			simde__m256i c0 = simde_mm256_loadu_si256((const simde__m256i *) (c + i));
			simde__m256i p0 = simde_mm256_maddubs_epi16(c0, simde_mm256_loadu_si256((const simde__m256i *) (qi + i)));

			d0 = simde_mm256_add_epi32(d0, simde_mm256_madd_epi16(p0, ones));
			s0 = simde_mm256_add_epi64(s0, simde_mm256_sad_epu8(c0, zero));
		}
		simde_mm256_storeu_si256((simde__m256i *) dl, simde_mm256_add_epi32(d0, d1));
		simde_mm256_storeu_si256((simde__m256i *) sl, s0);
		for (int k = 0; k < 8; k++)
			dot += dl[k];
		sum = (int32_t) (sl[0] + sl[1] + sl[2] + sl[3]);
	}
#endif
	for (; i < n; i++)
	{
		dot += (int32_t) c[i] * (int32_t) qi[i];
		sum += c[i];
	}
	*csum = sum;
	return dot;
}

/*
 * The widest int8 query the CPU multiplies faster than dot's floats: 127
 * when dot_u8s8 runs on VNNI, 63 for dot_u8s7 on an AVX2 or AVX-512
 * object, else 0 (the plain loops are slower than the float kernel).
 */
int
RV_MANGLE(rv_sq8_int_query_max) (void)
{
#ifdef RV_DOT_U8S8_VNNI
	int32_t		unused;
	uint8_t		c = 0;
	int8_t		q = 0;

	(void) RV_MANGLE(rv_sq8_dot_u8s8) (&c, &q, 1, &unused);	/* probes */
	if (rv_sq8_have_vnni == 1)
		return 127;
#endif
#if defined(RV_ISA_AVX2) || defined(RV_ISA_AVX512)
	return 63;
#else
	return 0;
#endif
}
