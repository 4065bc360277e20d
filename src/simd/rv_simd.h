/*-------------------------------------------------------------------------
 *
 * rv_simd.h
 *	  Distance kernels over float4 vectors, chosen once per backend at load
 *	  time from the CPU's features (AVX-512F, AVX2+FMA, SSE2 baseline; NEON
 *	  through SIMDe on Arm).
 *
 * Every kernel takes plain float pointers that need only 4-byte alignment:
 * the store keeps vectors 64-byte aligned within a page, but temp-table
 * local buffers and GenericXLog page copies are only 8-byte aligned, so the
 * kernels use unaligned-safe loads throughout.
 *
 * A stored vector may straddle two pages (DESIGN.md section 4): the "two
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

#endif							/* RV_SIMD_H */
