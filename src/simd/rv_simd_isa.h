/*-------------------------------------------------------------------------
 *
 * rv_simd_isa.h
 *	  Private to the kernel family sources (src/simd/kern_*.c): a small
 *	  vector abstraction over SIMDe, selected by the one ISA macro the
 *	  build defines for the object being compiled, and the name-mangling
 *	  macro that gives each ISA's object its own external symbols.
 *
 * Each kern_<family>.c is written once against this header and compiled
 * once per ISA (Makefile, test/kernels/build.sh): kern_f32.c becomes
 * kern_f32_scalar.o, kern_f32_sse2.o, kern_f32_avx2.o, kern_f32_avx512.o on
 * x86-64 and kern_f32_neon.o on AArch64.  Exactly one of these is defined:
 *
 *	 RV_ISA_SCALAR	plain C, one float "lane"		baseline flags
 *	 RV_ISA_SSE2	4 lanes, mul + add				baseline flags (x86-64)
 *	 RV_ISA_AVX2	8 lanes, fused multiply-add		-mavx2 -mfma
 *	 RV_ISA_AVX512	16 lanes, fused multiply-add	-mavx512f -mavx2 -mfma
 *	 RV_ISA_NEON	4 lanes, fused multiply-add		baseline flags (AArch64)
 *
 * RV_ISA_SUFFIX (default: the ISA's short name) is pasted onto every
 * external name through RV_MANGLE(), so the objects of one family link side
 * by side; test builds set it to e.g. avx512_emulated when compiling an ISA
 * through SIMDe's portable fallbacks (RV_SIMD_EMULATE).
 *
 * Everything here is static inline, so each object gets its own copy
 * compiled with its own flags; no instruction of a wider ISA can leak into
 * another object through a shared out-of-line helper.
 *
 * The operations (rv_vf is one vector of RV_VW floats):
 *	 rv_zero, rv_set1, rv_loadu (unaligned), rv_load_tail(p, r) (the first
 *	 0 < r < RV_VW floats, the others zero; never reads p[r] or beyond),
 *	 rv_add, rv_sub, rv_mul, rv_fmadd(a, b, c) = a * b + c (fused where the
 *	 ISA has it), rv_abs, rv_hsum (sum of the lanes),
 *	 rv_load_bf16(p) (RV_VW bf16 codes widened to floats: code << 16),
 *	 rv_load_u8(p) (RV_VW bytes converted to floats 0..255).
 * And a popcount accumulator over 64-bit words, RV_CNT_WORDS per step:
 *	 rv_cnt_zero, rv_cnt_and(acc, a, b) (adds popcount(a[i] & b[i]) for
 *	 i < RV_CNT_WORDS), rv_cnt_total(acc).
 * The bf16/u8 loads read exactly RV_VW codes; tails are the caller's job.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_SIMD_ISA_H
#define RV_SIMD_ISA_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd/rv_simd_kernels.h"

#define RV_CAT2(a, b) a##_##b
#define RV_CAT(a, b) RV_CAT2(a, b)
#define RV_MANGLE(name) RV_CAT(name, RV_ISA_SUFFIX)

/* ------------------------------------------------------------------ */
#if defined(RV_ISA_SCALAR)

#ifndef RV_ISA_SUFFIX
#define RV_ISA_SUFFIX scalar
#endif
#define RV_ISA_NAME "scalar"
#define RV_VW 1

typedef float rv_vf;

static inline rv_vf rv_zero(void) { return 0.0f; }
static inline rv_vf rv_set1(float x) { return x; }
static inline rv_vf rv_loadu(const float *p) { return *p; }
/* Never called: with one lane there is no partial tail. */
static inline rv_vf rv_load_tail(const float *p, int r) { (void) r; return *p * 0.0f; }
static inline rv_vf rv_add(rv_vf a, rv_vf b) { return a + b; }
static inline rv_vf rv_sub(rv_vf a, rv_vf b) { return a - b; }
static inline rv_vf rv_mul(rv_vf a, rv_vf b) { return a * b; }
/* Not fused: keeps the scalar kernels bit-identical across compilers. */
static inline rv_vf rv_fmadd(rv_vf a, rv_vf b, rv_vf c) { return a * b + c; }
static inline rv_vf rv_abs(rv_vf a) { return fabsf(a); }
static inline float rv_hsum(rv_vf a) { return a; }

static inline rv_vf
rv_load_bf16(const uint16_t *p)
{
	uint32_t	u = (uint32_t) *p << 16;
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static inline rv_vf rv_load_u8(const uint8_t *p) { return (float) *p; }

#define RV_CNT_WORDS 1
typedef uint64_t rv_vcnt;
static inline rv_vcnt rv_cnt_zero(void) { return 0; }
static inline rv_vcnt
rv_cnt_and(rv_vcnt acc, const uint64_t *a, const uint64_t *b)
{
	return acc + (uint64_t) __builtin_popcountll(a[0] & b[0]);
}
static inline uint64_t rv_cnt_total(rv_vcnt acc) { return acc; }

/* ------------------------------------------------------------------ */
#elif defined(RV_ISA_SSE2)

#include <simde/x86/sse2.h>

#ifndef RV_ISA_SUFFIX
#define RV_ISA_SUFFIX sse2
#endif
#define RV_ISA_NAME "sse2"
#define RV_VW 4

typedef simde__m128 rv_vf;

static inline rv_vf rv_zero(void) { return simde_mm_setzero_ps(); }
static inline rv_vf rv_set1(float x) { return simde_mm_set1_ps(x); }
static inline rv_vf rv_loadu(const float *p) { return simde_mm_loadu_ps(p); }
static inline rv_vf
rv_load_tail(const float *p, int r)
{
	float		buf[4] = {0};

	memcpy(buf, p, sizeof(float) * r);
	return simde_mm_loadu_ps(buf);
}
static inline rv_vf rv_add(rv_vf a, rv_vf b) { return simde_mm_add_ps(a, b); }
static inline rv_vf rv_sub(rv_vf a, rv_vf b) { return simde_mm_sub_ps(a, b); }
static inline rv_vf rv_mul(rv_vf a, rv_vf b) { return simde_mm_mul_ps(a, b); }
static inline rv_vf
rv_fmadd(rv_vf a, rv_vf b, rv_vf c)
{
	return simde_mm_add_ps(simde_mm_mul_ps(a, b), c);
}
static inline rv_vf
rv_abs(rv_vf a)
{
	return simde_mm_andnot_ps(simde_mm_set1_ps(-0.0f), a);
}
static inline float
rv_hsum(rv_vf v)
{
	simde__m128 s = simde_mm_add_ps(v, simde_mm_movehl_ps(v, v));

	s = simde_mm_add_ss(s, simde_mm_shuffle_ps(s, s, 1));
	return simde_mm_cvtss_f32(s);
}

static inline rv_vf
rv_load_bf16(const uint16_t *p)
{
	simde__m128i x = simde_mm_loadl_epi64((const simde__m128i *) p);

	return simde_mm_castsi128_ps(simde_mm_unpacklo_epi16(simde_mm_setzero_si128(), x));
}

static inline rv_vf
rv_load_u8(const uint8_t *p)
{
	int32_t		w;
	simde__m128i x;
	simde__m128i z = simde_mm_setzero_si128();

	memcpy(&w, p, sizeof(w));
	x = simde_mm_cvtsi32_si128(w);
	x = simde_mm_unpacklo_epi16(simde_mm_unpacklo_epi8(x, z), z);
	return simde_mm_cvtepi32_ps(x);
}

/* SWAR popcount of 128 bits, summed per 64-bit half by psadbw. */
#define RV_CNT_WORDS 2
typedef simde__m128i rv_vcnt;
static inline rv_vcnt rv_cnt_zero(void) { return simde_mm_setzero_si128(); }
static inline rv_vcnt
rv_cnt_and(rv_vcnt acc, const uint64_t *a, const uint64_t *b)
{
	const simde__m128i m1 = simde_mm_set1_epi8(0x55);
	const simde__m128i m2 = simde_mm_set1_epi8(0x33);
	const simde__m128i m4 = simde_mm_set1_epi8(0x0f);
	simde__m128i x = simde_mm_and_si128(simde_mm_loadu_si128((const simde__m128i *) a),
										simde_mm_loadu_si128((const simde__m128i *) b));

	x = simde_mm_sub_epi8(x, simde_mm_and_si128(simde_mm_srli_epi16(x, 1), m1));
	x = simde_mm_add_epi8(simde_mm_and_si128(x, m2),
						  simde_mm_and_si128(simde_mm_srli_epi16(x, 2), m2));
	x = simde_mm_and_si128(simde_mm_add_epi8(x, simde_mm_srli_epi16(x, 4)), m4);
	return simde_mm_add_epi64(acc, simde_mm_sad_epu8(x, simde_mm_setzero_si128()));
}
static inline uint64_t
rv_cnt_total(rv_vcnt acc)
{
	uint64_t	w[2];

	simde_mm_storeu_si128((simde__m128i *) w, acc);
	return w[0] + w[1];
}

/* ------------------------------------------------------------------ */
#elif defined(RV_ISA_AVX2) || defined(RV_ISA_AVX512)

#include <simde/x86/avx2.h>
#include <simde/x86/fma.h>
#ifdef RV_ISA_AVX512
#include <simde/x86/avx512.h>
#endif

/* AVX2 nibble-table popcount (vpshufb + vpsadbw), 4 words a step. */
#define RV_CNT_WORDS 4
typedef simde__m256i rv_vcnt;
static inline rv_vcnt rv_cnt_zero(void) { return simde_mm256_setzero_si256(); }
static inline rv_vcnt
rv_cnt_and(rv_vcnt acc, const uint64_t *a, const uint64_t *b)
{
	const simde__m256i lut = simde_mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
												   0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const simde__m256i m4 = simde_mm256_set1_epi8(0x0f);
	simde__m256i x = simde_mm256_and_si256(simde_mm256_loadu_si256((const simde__m256i *) a),
										   simde_mm256_loadu_si256((const simde__m256i *) b));
	simde__m256i c = simde_mm256_add_epi8(simde_mm256_shuffle_epi8(lut, simde_mm256_and_si256(x, m4)),
										  simde_mm256_shuffle_epi8(lut, simde_mm256_and_si256(simde_mm256_srli_epi16(x, 4), m4)));

	return simde_mm256_add_epi64(acc, simde_mm256_sad_epu8(c, simde_mm256_setzero_si256()));
}
static inline uint64_t
rv_cnt_total(rv_vcnt acc)
{
	uint64_t	w[4];

	simde_mm256_storeu_si256((simde__m256i *) w, acc);
	return w[0] + w[1] + w[2] + w[3];
}

#if defined(RV_ISA_AVX2)

#ifndef RV_ISA_SUFFIX
#define RV_ISA_SUFFIX avx2
#endif
#define RV_ISA_NAME "avx2+fma"
#define RV_VW 8

typedef simde__m256 rv_vf;

static inline rv_vf rv_zero(void) { return simde_mm256_setzero_ps(); }
static inline rv_vf rv_set1(float x) { return simde_mm256_set1_ps(x); }
static inline rv_vf rv_loadu(const float *p) { return simde_mm256_loadu_ps(p); }

/*
 * Native builds use a masked load (vmaskmovps), which faults on no byte it
 * does not load; SIMDe's portable maskload would read all eight floats, so
 * emulated builds copy through a buffer instead.
 */
static inline rv_vf
rv_load_tail(const float *p, int r)
{
#ifdef SIMDE_X86_AVX_NATIVE
	static const int32_t mask[16] = {
		-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0
	};

	return simde_mm256_maskload_ps(p, simde_mm256_loadu_si256((const simde__m256i *) (mask + 8 - r)));
#else
	float		buf[8] = {0};

	memcpy(buf, p, sizeof(float) * r);
	return simde_mm256_loadu_ps(buf);
#endif
}
static inline rv_vf rv_add(rv_vf a, rv_vf b) { return simde_mm256_add_ps(a, b); }
static inline rv_vf rv_sub(rv_vf a, rv_vf b) { return simde_mm256_sub_ps(a, b); }
static inline rv_vf rv_mul(rv_vf a, rv_vf b) { return simde_mm256_mul_ps(a, b); }
static inline rv_vf rv_fmadd(rv_vf a, rv_vf b, rv_vf c) { return simde_mm256_fmadd_ps(a, b, c); }
static inline rv_vf
rv_abs(rv_vf a)
{
	return simde_mm256_andnot_ps(simde_mm256_set1_ps(-0.0f), a);
}
static inline float
rv_hsum(rv_vf v)
{
	simde__m128 s = simde_mm_add_ps(simde_mm256_castps256_ps128(v),
									simde_mm256_extractf128_ps(v, 1));

	s = simde_mm_add_ps(s, simde_mm_movehl_ps(s, s));
	s = simde_mm_add_ss(s, simde_mm_shuffle_ps(s, s, 1));
	return simde_mm_cvtss_f32(s);
}
static inline rv_vf
rv_load_bf16(const uint16_t *p)
{
	simde__m256i x = simde_mm256_cvtepu16_epi32(simde_mm_loadu_si128((const simde__m128i *) p));

	return simde_mm256_castsi256_ps(simde_mm256_slli_epi32(x, 16));
}
static inline rv_vf
rv_load_u8(const uint8_t *p)
{
	simde__m256i x = simde_mm256_cvtepu8_epi32(simde_mm_loadl_epi64((const simde__m128i *) p));

	return simde_mm256_cvtepi32_ps(x);
}

#else							/* RV_ISA_AVX512 */

#ifndef RV_ISA_SUFFIX
#define RV_ISA_SUFFIX avx512
#endif
#define RV_ISA_NAME "avx512f"
#define RV_VW 16

typedef simde__m512 rv_vf;

static inline rv_vf rv_zero(void) { return simde_mm512_setzero_ps(); }
static inline rv_vf rv_set1(float x) { return simde_mm512_set1_ps(x); }
static inline rv_vf rv_loadu(const float *p) { return simde_mm512_loadu_ps(p); }

/*
 * Native builds use an AVX-512 zero-masking load, which suppresses faults
 * on the masked-off lanes; emulated builds copy through a buffer.
 */
static inline rv_vf
rv_load_tail(const float *p, int r)
{
#ifdef SIMDE_X86_AVX512F_NATIVE
	return _mm512_maskz_loadu_ps((__mmask16) ((1u << r) - 1), p);
#else
	float		buf[16] = {0};

	memcpy(buf, p, sizeof(float) * r);
	return simde_mm512_loadu_ps(buf);
#endif
}
static inline rv_vf rv_add(rv_vf a, rv_vf b) { return simde_mm512_add_ps(a, b); }
static inline rv_vf rv_sub(rv_vf a, rv_vf b) { return simde_mm512_sub_ps(a, b); }
static inline rv_vf rv_mul(rv_vf a, rv_vf b) { return simde_mm512_mul_ps(a, b); }
static inline rv_vf rv_fmadd(rv_vf a, rv_vf b, rv_vf c) { return simde_mm512_fmadd_ps(a, b, c); }
static inline rv_vf rv_abs(rv_vf a) { return simde_mm512_abs_ps(a); }
static inline float
rv_hsum(rv_vf v)
{
	simde__m256 lo = simde_mm512_castps512_ps256(v);
	simde__m256 hi = simde_mm256_castpd_ps(simde_mm512_extractf64x4_pd(simde_mm512_castps_pd(v), 1));
	simde__m256 s8 = simde_mm256_add_ps(lo, hi);
	simde__m128 s = simde_mm_add_ps(simde_mm256_castps256_ps128(s8),
									simde_mm256_extractf128_ps(s8, 1));

	s = simde_mm_add_ps(s, simde_mm_movehl_ps(s, s));
	s = simde_mm_add_ss(s, simde_mm_shuffle_ps(s, s, 1));
	return simde_mm_cvtss_f32(s);
}
/*
 * The SIMDe in use lacks the AVX-512F widening conversions, so native
 * builds call the intrinsics directly and emulated builds convert through
 * a buffer (the lane order is all there is to check there).
 */
static inline rv_vf
rv_load_bf16(const uint16_t *p)
{
#ifdef SIMDE_X86_AVX512F_NATIVE
	__m512i		x = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) p));

	return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
#else
	uint32_t	bits[16];
	float		buf[16];

	for (int i = 0; i < 16; i++)
		bits[i] = (uint32_t) p[i] << 16;
	memcpy(buf, bits, sizeof(buf));
	return simde_mm512_loadu_ps(buf);
#endif
}
static inline rv_vf
rv_load_u8(const uint8_t *p)
{
#ifdef SIMDE_X86_AVX512F_NATIVE
	return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) p)));
#else
	float		buf[16];

	for (int i = 0; i < 16; i++)
		buf[i] = (float) p[i];
	return simde_mm512_loadu_ps(buf);
#endif
}

#endif							/* RV_ISA_AVX2 / RV_ISA_AVX512 */

/* ------------------------------------------------------------------ */
#elif defined(RV_ISA_NEON)

#include <simde/arm/neon.h>

#ifndef RV_ISA_SUFFIX
#define RV_ISA_SUFFIX neon
#endif
#define RV_ISA_NAME "neon"
#define RV_VW 4

typedef simde_float32x4_t rv_vf;

static inline rv_vf rv_zero(void) { return simde_vdupq_n_f32(0.0f); }
static inline rv_vf rv_set1(float x) { return simde_vdupq_n_f32(x); }
static inline rv_vf rv_loadu(const float *p) { return simde_vld1q_f32(p); }
static inline rv_vf
rv_load_tail(const float *p, int r)
{
	float		buf[4] = {0};

	memcpy(buf, p, sizeof(float) * r);
	return simde_vld1q_f32(buf);
}
static inline rv_vf rv_add(rv_vf a, rv_vf b) { return simde_vaddq_f32(a, b); }
static inline rv_vf rv_sub(rv_vf a, rv_vf b) { return simde_vsubq_f32(a, b); }
static inline rv_vf rv_mul(rv_vf a, rv_vf b) { return simde_vmulq_f32(a, b); }
static inline rv_vf rv_fmadd(rv_vf a, rv_vf b, rv_vf c) { return simde_vfmaq_f32(c, a, b); }
static inline rv_vf rv_abs(rv_vf a) { return simde_vabsq_f32(a); }
static inline float rv_hsum(rv_vf v) { return simde_vaddvq_f32(v); }
static inline rv_vf
rv_load_bf16(const uint16_t *p)
{
	/* vshll_n_u16(x, 16) is valid NEON, but SIMDe limits n to 1..15. */
	return simde_vreinterpretq_f32_u32(simde_vshlq_n_u32(simde_vmovl_u16(simde_vld1_u16(p)), 16));
}
static inline rv_vf
rv_load_u8(const uint8_t *p)
{
	uint32_t	w;
	simde_uint8x8_t b;

	memcpy(&w, p, sizeof(w));
	b = simde_vreinterpret_u8_u32(simde_vdup_n_u32(w));
	return simde_vcvtq_f32_u32(simde_vmovl_u16(simde_vget_low_u16(simde_vmovl_u8(b))));
}

#define RV_CNT_WORDS 2
typedef simde_uint64x2_t rv_vcnt;
static inline rv_vcnt rv_cnt_zero(void) { return simde_vdupq_n_u64(0); }
static inline rv_vcnt
rv_cnt_and(rv_vcnt acc, const uint64_t *a, const uint64_t *b)
{
	simde_uint8x16_t x = simde_vandq_u8(simde_vld1q_u8((const uint8_t *) a),
										simde_vld1q_u8((const uint8_t *) b));

	return simde_vaddq_u64(acc, simde_vpaddlq_u32(simde_vpaddlq_u16(simde_vpaddlq_u8(simde_vcntq_u8(x)))));
}
static inline uint64_t
rv_cnt_total(rv_vcnt acc)
{
	return simde_vgetq_lane_u64(acc, 0) + simde_vgetq_lane_u64(acc, 1);
}

#else
#error "define one of RV_ISA_SCALAR, RV_ISA_SSE2, RV_ISA_AVX2, RV_ISA_AVX512, RV_ISA_NEON"
#endif

/*
 * The external functions of one ISA's objects (see RvKernels in rv_simd.h
 * for their contracts); kern_table.c gathers them into rv_kernels_<isa>.
 */
extern float RV_MANGLE(rv_f32_l2sq) (const float *a, const float *b, int n);
extern float RV_MANGLE(rv_f32_dot) (const float *a, const float *b, int n);
extern float RV_MANGLE(rv_f32_l1) (const float *a, const float *b, int n);
extern void RV_MANGLE(rv_f32_dot_norms) (const float *a, const float *b, int n,
										 float *dot, float *aa, float *bb);
extern float RV_MANGLE(rv_bf16_l2sq) (const float *q, const uint16_t *c, int n);
extern float RV_MANGLE(rv_bf16_dot) (const float *q, const uint16_t *c, int n);
extern void RV_MANGLE(rv_bf16_dot_norms) (const float *q, const uint16_t *c, int n,
										  float *dot, float *qq, float *xx);
extern float RV_MANGLE(rv_sq8_l2sq) (const float *q, const uint8_t *c, int n,
									 float scale, float offset);
extern float RV_MANGLE(rv_sq8_dot) (const float *q, const uint8_t *c, int n);
extern int32_t RV_MANGLE(rv_sq8_dot_u8s8) (const uint8_t *c, const int8_t *qi, int n,
										   int32_t *csum);
extern int32_t RV_MANGLE(rv_sq8_dot_u8s7) (const uint8_t *c, const int8_t *qi, int n,
										   int32_t *csum);
extern int	RV_MANGLE(rv_sq8_int_query_max) (void);
extern uint32_t RV_MANGLE(rv_rabitq_bitdot4) (const uint64_t *x,
											  const uint64_t *planes, int nwords);
extern uint32_t RV_MANGLE(rv_rabitq_agree8) (const uint64_t *x, const uint64_t *s,
											 const uint64_t *planes, int nwords,
											 int pstride);

#endif							/* RV_SIMD_ISA_H */
