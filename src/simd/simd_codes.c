/*-------------------------------------------------------------------------
 *
 * simd_codes.c
 *	  Encoders (f32 -> code) and distance entry points for the compressed
 *	  representations of rv_simd.h: bf16, SQ8 (per-vector scale and offset)
 *	  and 1-bit RaBitQ with its random rotation, 4-bit query quantization,
 *	  unbiased estimator and error bound.
 *
 * The encoders, the rotation and the estimator's scalar arithmetic are
 * plain C compiled with the baseline flags; the per-element work of every
 * distance goes through rv_kernels (the ISA chosen by simd_dispatch.c).
 * Nothing here allocates or keeps state; callers pass every buffer.  Like
 * the rest of src/simd except simd_info.c, this file needs only the C
 * library.  The formulas and their sources are in rv_simd.h.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "simd/rv_simd_kernels.h"

/* ---------------------------------------------------------------- bf16 */

/* RvBf16Encode: out[i] = top 16 bits of x[i], for i < n. */
void
RvBf16Encode(const float *x, int n, uint16_t *out)
{
	for (int i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &x[i], sizeof(u));
		out[i] = (uint16_t) (u >> 16);
	}
}

/* RvBf16Decode: the float whose top 16 bits are c and the rest zero. */
float
RvBf16Decode(uint16_t c)
{
	uint32_t	u = (uint32_t) c << 16;
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Squared L2 distance of q[0..n) to the decoded bf16 vector c[0..n). */
float
RvBf16L2SquaredDistance(const float *q, const uint16_t *c, int n)
{
	return rv_kernels->l2sq_bf16(q, c, n);
}

/* Inner product of q[0..n) and the decoded bf16 vector c[0..n). */
float
RvBf16InnerProduct(const float *q, const uint16_t *c, int n)
{
	return rv_kernels->dot_bf16(q, c, n);
}

/* Cosine distance of q[0..n) to the decoded bf16 vector, one pass. */
float
RvBf16CosineDistance(const float *q, const uint16_t *c, int n)
{
	float		dot,
				qq,
				xx;

	rv_kernels->dot_norms_bf16(q, c, n, &dot, &qq, &xx);
	return RvSimdCosineFromSums(dot, qq, xx);
}

/* ----------------------------------------------------------------- SQ8 */

/*
 * RvSq8Encode: codes[0..n) and *p for x[0..n) (see rv_simd.h); n >= 1.
 */
void
RvSq8Encode(const float *x, int n, uint8_t *codes, RvSq8Params *p)
{
	float		lo = x[0],
				hi = x[0];
	double		norm2 = 0.0;

	for (int i = 1; i < n; i++)
	{
		if (x[i] < lo)
			lo = x[i];
		if (x[i] > hi)
			hi = x[i];
	}
	p->offset = lo;
	p->scale = (float) (((double) hi - lo) / 255.0);
	for (int i = 0; i < n; i++)
	{
		double		u = p->scale > 0 ? ((double) x[i] - lo) / p->scale : 0.0;
		long		r = lround(u);
		double		v;

		if (r < 0)
			r = 0;
		else if (r > 255)
			r = 255;
		codes[i] = (uint8_t) r;
		v = (double) p->offset + (double) p->scale * r;
		norm2 += v * v;
	}
	p->norm2 = (float) norm2;
}

/* RvSq8PrepareQuery: sum and squared norm of q[0..n), kept with q. */
void
RvSq8PrepareQuery(const float *q, int n, RvSq8Query *out)
{
	float		s0 = 0,
				s1 = 0,
				s2 = 0,
				s3 = 0;
	float		sum;
	int			i = 0;

	/*
	 * four partial sums in scalar variables: four independent chains of
	 * additions (an array of them made GCC gather the elements one by one)
	 */
	for (; i + 4 <= n; i += 4)
	{
		s0 += q[i];
		s1 += q[i + 1];
		s2 += q[i + 2];
		s3 += q[i + 3];
	}
	for (; i < n; i++)
		s0 += q[i];
	sum = (s0 + s1) + (s2 + s3);
	out->q = q;
	out->n = n;
	out->sum = sum;
	out->norm2 = rv_kernels->dot(q, q, n);
	out->qi = NULL;
	out->qmax = 0;
	out->qmid = 0.0f;
	out->qstep = 0.0f;
}

/* RvSq8PrepareIntQuery: q's int8 form into qi, |qi| <= qmax (see rv_simd.h). */
void
RvSq8PrepareIntQuery(RvSq8Query *q, int8_t *qi, int qmax)
{
	float		lo = q->n > 0 ? q->q[0] : 0.0f,
				hi = lo;
	double		mid,
				step;

	/*
	 * comparisons, not fminf/fmaxf (library calls at the baseline ISA);
	 * the query is finite (the type's input rejects NaN and infinities)
	 */
	for (int i = 1; i < q->n; i++)
	{
		float		x = q->q[i];

		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	mid = 0.5 * ((double) lo + (double) hi);
	step = ((double) hi - (double) lo) / (2.0 * qmax);
	{
		float		fm = (float) mid;
		float		inv = step > 0 ? (float) (1.0 / step) : 0.0f;
		float		fmax = (float) qmax;

		for (int i = 0; i < q->n; i++)
		{
			float		v = rintf((q->q[i] - fm) * inv);

			qi[i] = (int8_t) (v > fmax ? qmax : v < -fmax ? -qmax : (int) v);
		}
	}
	q->qi = qi;
	q->qmax = qmax;
	q->qmid = (float) mid;
	q->qstep = (float) step;
}

/* Cosine distance of the int8 query to the decoded SQ8 vector (|q| exact). */
float
RvSq8CosineDistanceInt(const RvSq8Query *q, const uint8_t *c, const RvSq8Params *p)
{
	return RvSimdCosineFromSums(RvSq8InnerProductInt(q, c, p), q->norm2, p->norm2);
}

/* Inner product of the int8 query and the decoded SQ8 vector. */
float
RvSq8InnerProductInt(const RvSq8Query *q, const uint8_t *c, const RvSq8Params *p)
{
	int32_t		csum;
	int32_t		dot = q->qmax > 63 ? rv_kernels->dot_u8s8(c, q->qi, q->n, &csum) :
		rv_kernels->dot_u8s7(c, q->qi, q->n, &csum);

	return (float) ((double) p->offset * q->sum +
					(double) p->scale * ((double) q->qmid * csum + (double) q->qstep * dot));
}

/* Squared L2 distance of the query to the decoded SQ8 vector. */
float
RvSq8L2SquaredDistance(const RvSq8Query *q, const uint8_t *c,
					   const RvSq8Params *p)
{
	return rv_kernels->l2sq_sq8(q->q, c, q->n, p->scale, p->offset);
}

/* Inner product of the query and the decoded SQ8 vector. */
float
RvSq8InnerProduct(const RvSq8Query *q, const uint8_t *c, const RvSq8Params *p)
{
	return (float) ((double) p->offset * q->sum +
					(double) p->scale * rv_kernels->dot_sq8(q->q, c, q->n));
}

/* Cosine distance of the query to the decoded SQ8 vector. */
float
RvSq8CosineDistance(const RvSq8Query *q, const uint8_t *c, const RvSq8Params *p)
{
	double		dot = (double) p->offset * q->sum +
		(double) p->scale * rv_kernels->dot_sq8(q->q, c, q->n);

	return RvSimdCosineFromSums(dot, q->norm2, p->norm2);
}

/* -------------------------------------------------------------- RaBitQ */

/* splitmix64: the sign bits of the rotation and the rounding noise. */
static uint64_t
RvRabitqMix(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

int
RvRabitqPaddedDim(int dim)
{
	return dim <= 64 ? 64 : ((dim + 63) / 64) * 64;
}

/* In-place unnormalized fast Walsh-Hadamard transform of v[0..p), p = 2^k. */
static void
RvRabitqFwht(float *v, int p)
{
	for (int h = 1; h < p; h *= 2)
		for (int i = 0; i < p; i += 2 * h)
			for (int j = i; j < i + h; j++)
			{
				float		a = v[j],
							b = v[j + h];

				v[j] = a + b;
				v[j + h] = a - b;
			}
}

/*
 * v[0..p) = R v, p a multiple of 64: RV_RABITQ_ROUNDS rounds of (seeded
 * random sign flips of all p elements; a normalized fast Walsh-Hadamard
 * transform of the block of the largest power of two b <= p, the first
 * b elements in even rounds and the last b in odd ones; when b < p, one
 * step of Kac's walk, (v_i, v_{i+p/2}) <- (v_i + v_{i+p/2}, v_i -
 * v_{i+p/2}) / sqrt 2 for i < p/2, which mixes the two ends).  Every
 * step is orthonormal, so R is.  This is the construction of the RaBitQ
 * library's FhtKacRotator (VectorDB-NTU/RaBitQ-Library, rotator.hpp),
 * which pads only to a multiple of 64; for p a power of two it is
 * RV_RABITQ_ROUNDS rounds of (sign flips, FWHT).
 */
static void
RvRabitqRotateInPlace(float *v, int p, uint64_t seed)
{
	int			b = 64;
	float		scale = 1.0f;
	float		kac = (float) (1.0 / sqrt(2.0));
	int			half = p / 2;

	while (b * 2 <= p)
		b *= 2;
	for (int r = 0; r < RV_RABITQ_ROUNDS; r++)
	{
		float	   *blk = (r % 2 == 0) ? v : v + (p - b);

		for (int w = 0; w < p / 64; w++)
		{
			uint64_t	bits = RvRabitqMix(seed ^ ((uint64_t) r << 48) ^ (uint64_t) w);

			for (int i = 0; i < 64; i++)
				if ((bits >> i) & 1)
					v[64 * w + i] = -v[64 * w + i];
		}
		RvRabitqFwht(blk, b);
		if (b == p)
		{
			scale *= (float) (1.0 / sqrt((double) b));
			continue;
		}
		{
			float		s = (float) (1.0 / sqrt((double) b));

			for (int i = 0; i < b; i++)
				blk[i] *= s;
		}
		for (int i = 0; i < half; i++)
		{
			float		x = v[i],
						y = v[i + half];

			v[i] = (x + y) * kac;
			v[i + half] = (x - y) * kac;
		}
	}
	if (scale != 1.0f)
		for (int i = 0; i < p; i++)
			v[i] *= scale;
}

/* RvRabitqRotate: out[0..P) = R(x[0..dim) padded with zeros). */
void
RvRabitqRotate(const float *x, int dim, uint64_t seed, float *out)
{
	int			p = RvRabitqPaddedDim(dim);

	memcpy(out, x, sizeof(float) * dim);
	memset(out + dim, 0, sizeof(float) * (p - dim));
	RvRabitqRotateInPlace(out, p, seed);
}

/* scratch[0..P) = R(x - c), c may be NULL. */
static void
RvRabitqResidual(const float *x, const float *c, int dim, uint64_t seed,
				 float *scratch)
{
	int			p = RvRabitqPaddedDim(dim);

	for (int i = 0; i < dim; i++)
		scratch[i] = c ? x[i] - c[i] : x[i];
	memset(scratch + dim, 0, sizeof(float) * (p - dim));
	RvRabitqRotateInPlace(scratch, p, seed);
}

/* RvRabitqEncode: see rv_simd.h. */
void
RvRabitqEncode(const float *x, const float *c, int dim, uint64_t seed,
			   float *scratch, uint64_t *code, RvRabitqFactors *f)
{
	int			p = RvRabitqPaddedDim(dim);
	double		norm2 = 0.0,
				abssum = 0.0,
				xc = 0.0,
				xx = 0.0;

	RvRabitqResidual(x, c, dim, seed, scratch);
	memset(code, 0, sizeof(uint64_t) * (p / 64));
	for (int i = 0; i < p; i++)
	{
		double		y = scratch[i];

		norm2 += y * y;
		abssum += fabs(y);
		if (y > 0)
			code[i / 64] |= (uint64_t) 1 << (i % 64);
	}
	for (int i = 0; i < dim; i++)
	{
		xx += (double) x[i] * x[i];
		if (c)
			xc += (double) x[i] * c[i];
	}
	/* o_r == c: any finite ip_oo does, the distance has no error then. */
	RvRabitqFactorsFrom((float) sqrt(norm2),
						norm2 > 0 ? (float) (abssum / (sqrt((double) p) * sqrt(norm2))) : 1.0f,
						(float) xc, (float) sqrt(xx), code, p / 64, f);
}

/* RvRabitqFactorsFrom: see rv_simd.h. */
void
RvRabitqFactorsFrom(float dist_c, float ip_oo, float o_dot_c, float o_norm,
					const uint64_t *code, int nwords, RvRabitqFactors *f)
{
	uint32_t	pop = 0;
	double		r;

	for (int w = 0; w < nwords; w++)
		pop += (uint32_t) __builtin_popcountll(code[w]);
	f->dist_c = dist_c;
	f->ip_oo = ip_oo;
	f->o_dot_c = o_dot_c;
	f->o_norm = o_norm;
	f->popcount = pop;
	f->ip_scale = (float) (f->dist_c / (double) f->ip_oo);
	r = 1.0 / ((double) f->ip_oo * f->ip_oo) - 1.0;
	f->err = (float) (f->dist_c * sqrt(r > 0 ? r : 0.0));
}

/* RvRabitqPrepareQuery: see rv_simd.h. */
void
RvRabitqPrepareQuery(const float *q, const float *c, int dim, uint64_t seed,
					 uint64_t round_seed, float *scratch, uint64_t *planes,
					 RvRabitqQuery *out)
{
	int			p = RvRabitqPaddedDim(dim);
	int			nwords = p / 64;
	const int	levels = (1 << RV_RABITQ_QUERY_BITS) - 1;
	float		vl,
				vr;
	double		norm2 = 0.0,
				qc = 0.0,
				cc = 0.0,
				qq = 0.0;
	uint32_t	sum_qu = 0;
	uint64_t	rng = round_seed;

	RvRabitqResidual(q, c, dim, seed, scratch);
	vl = vr = scratch[0];
	for (int i = 0; i < p; i++)
	{
		norm2 += (double) scratch[i] * scratch[i];
		if (scratch[i] < vl)
			vl = scratch[i];
		if (scratch[i] > vr)
			vr = scratch[i];
	}
	out->dim = dim;
	out->pdim = p;
	out->nwords = nwords;
	out->vl = vl;
	out->delta = (vr - vl) / levels;
	memset(planes, 0, sizeof(uint64_t) * RV_RABITQ_QUERY_BITS * nwords);
	for (int i = 0; i < p; i++)
	{
		int			u = 0;

		if (out->delta > 0)
		{
			/* Randomized rounding: E[vl + delta * u] = scratch[i]. */
			double		noise;

			rng = RvRabitqMix(rng);
			noise = (double) (rng >> 11) / (double) (1ULL << 53);
			u = (int) floor(((double) scratch[i] - vl) / out->delta + noise);
			if (u < 0)
				u = 0;
			else if (u > levels)
				u = levels;
		}
		sum_qu += (uint32_t) u;
		for (int j = 0; j < RV_RABITQ_QUERY_BITS; j++)
			if ((u >> j) & 1)
				planes[j * nwords + i / 64] |= (uint64_t) 1 << (i % 64);
	}
	for (int i = 0; i < dim; i++)
	{
		qq += (double) q[i] * q[i];
		if (c)
		{
			qc += (double) q[i] * c[i];
			cc += (double) c[i] * c[i];
		}
	}
	out->sum_qu = sum_qu;
	out->dist_c = (float) sqrt(norm2);
	out->q_dot_c = (float) qc;
	out->c_norm2 = (float) cc;
	out->q_norm = (float) sqrt(qq);
	out->k_s = (float) (2.0 * out->delta / sqrt((double) p));
	out->k_pop = (float) (2.0 * out->vl / sqrt((double) p));
	out->k_0 = (float) (-((double) p * out->vl + (double) out->delta * sum_qu) /
						sqrt((double) p));
	out->bound_unit = (float) (out->dist_c / sqrt(p - 1.0));
	out->planes = planes;
}

/*
 * Estimate of <o_r - c, q_r - c> and (when bound != NULL) its error bound
 * for confidence eps0 (rv_simd.h), from the precomputed factors:
 * ||o_r - c|| <x_bar, y'> / <o_bar, o> and
 * ||o_r - c|| sqrt(1 / <o_bar, o>^2 - 1) ||q_r - c|| eps0 / sqrt(P - 1).
 */
static inline double
RvRabitqResidualIp(const RvRabitqQuery *q, const uint64_t *code,
				   const RvRabitqFactors *f, double eps0, double *bound)
{
	uint32_t	s = rv_kernels->rabitq_bitdot4(code, q->planes, q->nwords);
	float		ip_xq = q->k_s * (float) s + q->k_pop * (float) f->popcount + q->k_0;

	if (bound)
		*bound = (double) f->err * q->bound_unit * eps0;
	return (double) f->ip_scale * ip_xq;
}

/* Estimated squared L2 distance; *bound as in rv_simd.h. */
float
RvRabitqL2Squared(const RvRabitqQuery *q, const uint64_t *code,
				  const RvRabitqFactors *f, double eps0, float *bound)
{
	double		b;
	double		ip = RvRabitqResidualIp(q, code, f, eps0, bound ? &b : NULL);

	if (bound)
		*bound = (float) (2.0 * b);
	return (float) ((double) f->dist_c * f->dist_c +
					(double) q->dist_c * q->dist_c - 2.0 * ip);
}

/* Estimated inner product <o_r, q_r>; *bound as in rv_simd.h. */
float
RvRabitqInnerProduct(const RvRabitqQuery *q, const uint64_t *code,
					 const RvRabitqFactors *f, double eps0, float *bound)
{
	double		b;
	double		ip = RvRabitqResidualIp(q, code, f, eps0, bound ? &b : NULL);

	if (bound)
		*bound = (float) b;
	return (float) (ip + f->o_dot_c + q->q_dot_c - q->c_norm2);
}

/* Estimated cosine distance (not clamped); *bound as in rv_simd.h. */
float
RvRabitqCosineDistance(const RvRabitqQuery *q, const uint64_t *code,
					   const RvRabitqFactors *f, double eps0, float *bound)
{
	double		norms = (double) f->o_norm * q->q_norm;
	double		b;
	double		ip;

	if (norms == 0.0)
	{
		if (bound)
			*bound = NAN;
		return NAN;
	}
	ip = RvRabitqResidualIp(q, code, f, eps0, bound ? &b : NULL);
	if (bound)
		*bound = (float) (b / norms);
	return (float) (1.0 - (ip + f->o_dot_c + q->q_dot_c - q->c_norm2) / norms);
}
