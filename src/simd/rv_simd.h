/*-------------------------------------------------------------------------
 *
 * rv_simd.h
 *	  Distance kernels over float4 vectors and from a float4 query to
 *	  compressed codes (bf16, SQ8, 1-bit RaBitQ, with their encoders),
 *	  chosen once per backend at load time from the CPU's features
 *	  (AVX-512F, AVX2+FMA, SSE2 baseline; NEON through SIMDe on Arm).
 *
 * Every kernel takes plain float pointers that need only 4-byte alignment:
 * the store keeps vectors 64-byte aligned within a page, but temp-table
 * local buffers and GenericXLog page copies are only 8-byte aligned, so the
 * kernels use unaligned-safe loads throughout.
 *
 * A stored vector may straddle two pages (docs/design.md, store layout): the "two
 * piece" entry points score a contiguous query a[0..n0+n1) against a stored
 * vector given as b0[0..n0) followed by b1[0..n1), without copying.  Pass
 * b1 = NULL, n1 = 0 for a vector that lies in one piece.
 *
 * Each ISA's kernels are one source per kernel family (src/simd/kern_*.c)
 * compiled once per ISA; see rv_simd_isa.h and docs/simd.md.
 *
 * Results are float4 (like pgvector); internal accumulation is float4 in
 * SIMD lanes, which keeps relative error <= 1e-5 against a double reference
 * for the dimensions the type allows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_SIMD_H
#define RV_SIMD_H

#include <stdbool.h>
#include <stdint.h>

/* One ISA's implementation of the primitive kernels over n floats. */
typedef struct RvKernels
{
	const char *name;			/* "avx512f", "avx2+fma", "sse2", "neon", "scalar" */
	float		(*l2sq) (const float *a, const float *b, int n);	/* sum (a-b)^2 */
	float		(*dot) (const float *a, const float *b, int n); /* sum a*b */
	float		(*l1) (const float *a, const float *b, int n);	/* sum |a-b| */
	/* sum a*b, sum a*a, sum b*b in one pass (cosine without norms) */
	void		(*dot_norms) (const float *a, const float *b, int n,
							  float *dot, float *aa, float *bb);

	/*
	 * Code kernels: an f32 query q[0..n) against a code vector c[0..n)
	 * (see the encoders below).  Same alignment rules as above (codes need
	 * only their element alignment); n == 0 reads nothing and yields 0.
	 */
	/* bf16 codes, x = bf16(c): sum (q-x)^2, sum q*x, and one-pass sums */
	float		(*l2sq_bf16) (const float *q, const uint16_t *c, int n);
	float		(*dot_bf16) (const float *q, const uint16_t *c, int n);
	void		(*dot_norms_bf16) (const float *q, const uint16_t *c, int n,
								   float *dot, float *qq, float *xx);
	/* SQ8 codes: sum (q - (offset + scale*c))^2, and raw sum q*c */
	float		(*l2sq_sq8) (const float *q, const uint8_t *c, int n,
							 float scale, float offset);
	float		(*dot_sq8) (const float *q, const uint8_t *c, int n);

	/*
	 * SQ8 codes against an int8 query qi[0..n): sum c*qi, and *csum = sum
	 * c, exact in int32 for n <= 65535; dot_u8s8 takes qi in -127..127,
	 * dot_u8s7 in -63..63 (VPMADDUBSW on AVX2).  int_query_max: 127 when
	 * dot_u8s8 beats dot_sq8 on this CPU (VNNI), 63 when dot_u8s7 does
	 * (AVX2), else 0
	 */
	int32_t		(*dot_u8s8) (const uint8_t *c, const int8_t *qi, int n, int32_t *csum);
	int32_t		(*dot_u8s7) (const uint8_t *c, const int8_t *qi, int n, int32_t *csum);
	int			(*int_query_max) (void);
	/* RaBitQ: sum_j 2^j popcount(x & plane_j), planes at q + j*nwords */
	uint32_t	(*rabitq_bitdot4) (const uint64_t *x, const uint64_t *planes,
								   int nwords);

	/*
	 * Sign-bound agreement: sum_j 2^j popcount(NOT(x XOR s) & plane_j) for
	 * j = 0..7, plane j at planes + j * pstride (nwords words each)
	 */
	uint32_t	(*rabitq_agree8) (const uint64_t *x, const uint64_t *s,
								  const uint64_t *planes, int nwords, int pstride);
} RvKernels;

/* The kernels in use in this backend; set by RvSimdInit() from _PG_init. */
extern const RvKernels *rv_kernels;

/* Picks the best kernels for this CPU; idempotent. */
extern void RvSimdInit(void);

/* Every implementation compiled into this build, for tests and benchmarks. */
extern int	RvSimdAvailable(const RvKernels **out, int max);

/*
 * Two-piece distances: a has n0 + n1 floats; the stored vector is b0[0..n0)
 * followed by b1[0..n1).  All return float4.
 */
extern float RvL2SquaredDistance(const float *a, const float *b0, int n0,
								 const float *b1, int n1);
extern float RvInnerProduct(const float *a, const float *b0, int n0,
							const float *b1, int n1);
extern float RvL1Distance(const float *a, const float *b0, int n0,
						  const float *b1, int n1);
/* 1 - cos(a, b), clamped to [0, 2]; NaN when either vector is zero. */
extern float RvCosineDistance(const float *a, const float *b0, int n0,
							  const float *b1, int n1);
/* The same with precomputed L2 norms ||a|| and ||b||. */
extern float RvCosineDistanceNorms(const float *a, float anorm,
								   const float *b0, int n0,
								   const float *b1, int n1, float bnorm);

/*
 * ---- Codes (simd_codes.c): encoders and distances of an f32 query to a
 * compressed vector.  All dimensions n/dim >= 1 unless stated; results are
 * float4 in the units of the f32 functions above (squared L2, plain inner
 * product, cosine distance 1 - cos).  Nothing here allocates: callers pass
 * the output and scratch buffers.
 */

/*
 * bf16: each code is the top 16 bits of the float (truncation, so the
 * decoded value has the float's sign and exponent and 7 of its 23 mantissa
 * bits: relative error < 2^-7 per element).  NaN inputs are not supported.
 */
extern void RvBf16Encode(const float *x, int n, uint16_t *out);
extern float RvBf16Decode(uint16_t c);
extern float RvBf16L2SquaredDistance(const float *q, const uint16_t *c, int n);
extern float RvBf16InnerProduct(const float *q, const uint16_t *c, int n);
/* 1 - cos(q, bf16(c)) clamped to [0, 2]; NaN when either is zero. */
extern float RvBf16CosineDistance(const float *q, const uint16_t *c, int n);

/*
 * SQ8, one scale and offset per vector: x[i] ~ offset + scale * c[i] with
 * offset = min x, scale = (max x - min x) / 255 and c[i] = round((x[i] -
 * offset) / scale) in 0..255 (all codes 0 and scale 0 for a constant
 * vector), so each element is off by at most scale / 2.  norm2 is the
 * squared L2 norm of the decoded vector, for cosine.
 */
typedef struct RvSq8Params
{
	float		scale;
	float		offset;
	float		norm2;
} RvSq8Params;

/* A query prepared once for many SQ8 distances (points at the caller's q). */
typedef struct RvSq8Query
{
	const float *q;
	int			n;
	float		sum;			/* sum q[i] */
	float		norm2;			/* sum q[i]^2 */
	/* the int8 form (RvSq8PrepareIntQuery), or qi = NULL */
	const int8_t *qi;			/* q[i] ~ qmid + qstep * qi[i], |qi| <= qmax */
	int			qmax;			/* 127 or 63 */
	float		qmid;
	float		qstep;
} RvSq8Query;

extern void RvSq8Encode(const float *x, int n, uint8_t *codes, RvSq8Params *p);
extern void RvSq8PrepareQuery(const float *q, int n, RvSq8Query *out);

/*
 * The int8 form of a prepared query, for estimates alone (graph
 * traversal; no error bound covers it): q[i] ~ qmid + qstep * qi[i] with
 * qmid the midpoint of q's range and qi[i] = round((q[i] - qmid) / qstep)
 * in -qmax..qmax (qmax 127 or 63: rv_kernels->int_query_max), so each
 * element is off by at most qstep / 2 = (max q - min q) / (4 qmax): with
 * 127 about what an SQ8 code's own rounding costs, with 63 twice that.
 * qi is the caller's buffer of n bytes (n <= 65535).  RvSq8InnerProductInt
 * then takes sum q[i] c[i] ~ qmid sum c[i] + qstep sum qi[i] c[i] from the
 * integer kernel (dot_u8s8 on VNNI for 127, dot_u8s7 for 63).
 */
extern void RvSq8PrepareIntQuery(RvSq8Query *q, int8_t *qi, int qmax);
/* offset * sum q + scale * sum q~*c, with the int8 query q~ */
extern float RvSq8InnerProductInt(const RvSq8Query *q, const uint8_t *c,
								  const RvSq8Params *p);
/* 1 - cos(q~, decoded), with |q| of the float query; NaN for a zero norm */
extern float RvSq8CosineDistanceInt(const RvSq8Query *q, const uint8_t *c,
									const RvSq8Params *p);
extern float RvSq8L2SquaredDistance(const RvSq8Query *q, const uint8_t *c,
									const RvSq8Params *p);
/* offset * sum q + scale * sum q*c */
extern float RvSq8InnerProduct(const RvSq8Query *q, const uint8_t *c,
							   const RvSq8Params *p);
/* 1 - cos(q, decoded) clamped to [0, 2]; NaN when either norm is zero. */
extern float RvSq8CosineDistance(const RvSq8Query *q, const uint8_t *c,
								 const RvSq8Params *p);

/*
 * RaBitQ, 1 bit per dimension (Gao and Long, "RaBitQ: Quantizing
 * High-Dimensional Vectors with a Theoretical Error Bound for Approximate
 * Nearest Neighbor Search", SIGMOD 2024; reference code gaoj0017/RaBitQ).
 *
 * Rotation: vectors are zero-padded to P = RvRabitqPaddedDim(dim) (the
 * smallest multiple of 64 >= max(dim, 64)) and rotated by RV_RABITQ_ROUNDS
 * rounds of (seeded random sign flips of all P elements, a normalized fast
 * Walsh-Hadamard transform of the largest power-of-two block b <= P, the
 * first b elements in even rounds and the last b in odd ones, and when b <
 * P one orthonormal step of Kac's walk pairing element i with i + P/2):
 * the RaBitQ library's FhtKacRotator (VectorDB-NTU/RaBitQ-Library).  Every
 * step is orthonormal, so R is.  The seed must be the same for data and
 * queries.  For a data vector o_r and a
 * centroid c (NULL = origin) the code is the sign bits of the rotated
 * residual y = R(o_r - c): bit i of word i/64 is set iff y_i > 0 (x_b), and
 * the factors are ||o_r - c||, <o_bar, o> = sum |y_i| / (sqrt(P) ||y||)
 * (the paper's <o_bar, o>), <o_r, c>, ||o_r|| and popcount(x_b).
 *
 * The query residual y' = R(q_r - c) is quantized to RV_RABITQ_QUERY_BITS
 * bits with randomized rounding (unbiased): y' ~ vl + delta * q_u, q_u in
 * 0..15, stored as four bit planes.  Then (paper, section 3.3)
 *	 <x_bar, y'> = (2 vl popcount + 2 delta <x_b, q_u> - P vl - delta sum q_u)
 *				   / sqrt(P)
 *	 <o_r - c, q_r - c> ~ ||o_r - c|| <x_bar, y'> / <o_bar, o>	(unbiased)
 * with the error bound (paper, Theorem 3.2 / section 3.2.2)
 *	 ||o_r - c|| ||q_r - c|| sqrt(1 / <o_bar, o>^2 - 1) eps0 / sqrt(P - 1),
 * which holds with high probability over the rotation.  The paper (and
 * gaoj0017/RaBitQ) uses eps0 = 1.9; with this layer's rotation and 4-bit
 * query, test_kernels measures ~93.5% of pairs inside the bound at 1.9 and
 * ~99.6% at RV_RABITQ_EPS0 = 3.0, this layer's default.  Distances follow:
 *	 ||o_r - q_r||^2 = ||o_r - c||^2 + ||q_r - c||^2 - 2 <o_r - c, q_r - c>
 *	 <o_r, q_r> = <o_r - c, q_r - c> + <o_r, c> + <q_r, c> - ||c||^2
 *	 cos distance = 1 - <o_r, q_r> / (||o_r|| ||q_r||)
 * each with the bound scaled accordingly (2x for L2, 1 / (||o_r|| ||q_r||)
 * for cosine; estimates are not clamped).  The bound does not include the
 * (small, zero-mean) error of the 4-bit query.
 */
#define RV_RABITQ_ROUNDS 4
#define RV_RABITQ_QUERY_BITS 4
#define RV_RABITQ_EPS0 3.0

typedef struct RvRabitqFactors
{
	float		dist_c;			/* ||o_r - c|| */
	float		ip_oo;			/* <o_bar, o> in (0, 1]; 1 when o_r = c */
	float		o_dot_c;		/* <o_r, c> (0 without centroid) */
	float		o_norm;			/* ||o_r|| */
	uint32_t	popcount;		/* set bits of the code */
	/* derived, for the distance loop: */
	float		ip_scale;		/* dist_c / ip_oo */
	float		err;			/* dist_c * sqrt(1 / ip_oo^2 - 1) */
} RvRabitqFactors;

/* A prepared query; planes points at the caller's 4 * nwords words. */
typedef struct RvRabitqQuery
{
	int			dim;			/* original dimension */
	int			pdim;			/* padded dimension P */
	int			nwords;			/* P / 64 */
	float		dist_c;			/* ||q_r - c|| */
	float		q_dot_c;		/* <q_r, c> */
	float		c_norm2;		/* ||c||^2 */
	float		q_norm;			/* ||q_r|| */
	float		vl;				/* quantization lower end */
	float		delta;			/* quantization step */
	uint32_t	sum_qu;			/* sum of the 4-bit query codes */
	/* derived: <x_bar, y'> = k_s * <x_b, q_u> + k_pop * popcount + k_0 */
	float		k_s;			/* 2 delta / sqrt(P) */
	float		k_pop;			/* 2 vl / sqrt(P) */
	float		k_0;			/* -(P vl + delta sum_qu) / sqrt(P) */
	float		bound_unit;		/* dist_c / sqrt(P - 1) */
	const uint64_t *planes;
} RvRabitqQuery;

/*
 * RvRabitqFactorsFrom: the full factors of a code from the four a store
 * keeps (dist_c, ip_oo, o_dot_c, o_norm, as RvRabitqEncode computed
 * them); the popcount is taken from code's nwords words and the derived
 * terms recomputed, exactly as RvRabitqEncode derives them.
 */
extern void RvRabitqFactorsFrom(float dist_c, float ip_oo, float o_dot_c, float o_norm,
								const uint64_t *code, int nwords, RvRabitqFactors *f);

/* P for dim: the smallest multiple of 64 >= max(dim, 64). */
extern int	RvRabitqPaddedDim(int dim);

/* out[0..P) = R(x padded with zeros); x has dim floats. */
extern void RvRabitqRotate(const float *x, int dim, uint64_t seed, float *out);

/*
 * Encodes o_r = x[0..dim) against centroid c (dim floats, or NULL): writes
 * P / 64 words to code and the factors to *f.  scratch holds P floats.
 */
extern void RvRabitqEncode(const float *x, const float *c, int dim,
						   uint64_t seed, float *scratch,
						   uint64_t *code, RvRabitqFactors *f);

/*
 * Prepares q_r = q[0..dim) against the same centroid and seed: writes 4 *
 * P / 64 words to planes and fills *out (which points at planes).  round_seed
 * seeds the randomized rounding.  scratch holds P floats.
 */
extern void RvRabitqPrepareQuery(const float *q, const float *c, int dim,
								 uint64_t seed, uint64_t round_seed,
								 float *scratch, uint64_t *planes,
								 RvRabitqQuery *out);

/*
 * Estimates of the squared L2 distance, the inner product and the cosine
 * distance between the query and the encoded vector; when bound is not NULL
 * *bound receives the half-width of the error bound for confidence eps0
 * (pass RV_RABITQ_EPS0), so |estimate - true| <= *bound with high
 * probability.  Cosine is NaN when either norm is zero.
 */
extern float RvRabitqL2Squared(const RvRabitqQuery *q, const uint64_t *code,
							   const RvRabitqFactors *f, double eps0,
							   float *bound);
extern float RvRabitqInnerProduct(const RvRabitqQuery *q, const uint64_t *code,
								  const RvRabitqFactors *f, double eps0,
								  float *bound);
extern float RvRabitqCosineDistance(const RvRabitqQuery *q, const uint64_t *code,
									const RvRabitqFactors *f, double eps0,
									float *bound);

#endif							/* RV_SIMD_H */
