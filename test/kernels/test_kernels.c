/*-------------------------------------------------------------------------
 *
 * test_kernels.c
 *	  Standalone check of every distance kernel this CPU can run (and, in
 *	  RV_TEST_EMULATED builds, the AVX-512F and NEON kernels through SIMDe's
 *	  portable code) against a double-precision scalar reference.  Prints
 *	  TAP ("1..N", "ok N - ..."); exit status 0 only if all points pass.
 *
 * Coverage: every dimension 1..2048 plus 3072, 4099 and 16000; start
 * offsets 0..15 floats from a 64-byte boundary; every vector placed so that
 * it ends within 15 floats of an inaccessible guard page (and exactly at it
 * for one offset per dimension), so any read past the end faults; n == 0;
 * and the two-piece entry points of rv_simd.h with the split at 0, at n, at
 * every multiple of 16 floats (strided for large n) and at an odd point.
 *
 * Criteria: l2sq, l1 and the norms within 1e-5 relative to the reference;
 * dot products within 1e-5 of sum |a_i * b_i| (sign cancellation makes a
 * plain relative bound meaningless); cosine distance within 1e-5 absolute
 * and inside [0, 2]; cosine of a zero vector is NaN.
 *
 * Code kernels (bf16, SQ8, RaBitQ), per implementation: the kernels and the
 * public entry points against a double reference over the decoded vector,
 * same criteria, for dims 1..300, 511, 767, 768, 1025, 1536, 1537, 2999 and
 * 3000, query and codes at different offsets 0..15 elements from a 64-byte
 * boundary and ending at a guard page; the RaBitQ bit kernel exactly, for
 * 1..64 and up to 256 words at word offsets 0..7, and the sign-bound
 * count (rabitq_agree8) exactly for 1..40, 52 and 64 words with its
 * inputs ending at a guard page.  Then the encoders
 * (bf16 bits, SQ8 error <= scale/2, the rotation padded to the next
 * multiple of 64 and orthonormal, at dims 1 .. 2950) and, for RaBitQ, 200
 * data x 100 query vectors (20,000 pairs) at d = 128 and 784 (and 100,
 * 300: padded to 128 and 320, the latter by the overlapping-block
 * rotation) from a Gaussian and from a non-negative, mostly-zero "pixel-like"
 * distribution (centroid = data mean): the bias (mean signed error / mean
 * |true value|, must be < 0.5% for squared L2 and cosine, < 2% for the
 * inner product, whose true values are near zero), the mean estimate of 5
 * pairs over 1000 independent rotations (within 4 standard errors of the
 * truth: the paper's unbiasedness is over the rotation), and the fraction of pairs whose true squared
 * L2 distance, inner product and cosine distance lie within the reported
 * bound at RV_RABITQ_EPS0 (must be >= 99%), printed as "# rabitq" lines
 * with the coverage at the paper's eps0 = 1.9 for comparison.
 *
 * Build: test/kernels/build.sh (test/t/005_kernels.pl does it); needs only
 * the C library and the src/simd sources, no PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "simd/rv_simd_kernels.h"

#ifdef RV_TEST_EMULATED
extern const RvKernels rv_kernels_avx512_emulated;
extern const RvKernels rv_kernels_neon_emulated;
#endif

#define MAX_DIM		16000
#define TOL			1e-5

/* A float buffer whose end abuts a PROT_NONE page. */
typedef struct GuardBuf
{
	float	   *end;			/* first float of the guard page */
	size_t		nfloats;		/* usable floats before it */
} GuardBuf;

/* A kernel implementation under test. */
typedef struct TestKernels
{
	const RvKernels *k;
	char		label[64];
	bool		native;			/* may be installed as rv_kernels */
} TestKernels;

static int	test_count = 0;
static int	test_failed = 0;
static float src_a[MAX_DIM];
static float src_b[MAX_DIM];
static float src_zero[MAX_DIM];

/* Emits one TAP test point. */
static void
TestOk(bool ok, const char *fmt,...)
{
	va_list		ap;

	test_count++;
	if (!ok)
		test_failed++;
	printf("%sok %d - ", ok ? "" : "not ", test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Deterministic xorshift64* in [-1, 1). */
static float
TestRandom(void)
{
	static uint64_t s = 0x9E3779B97F4A7C15ULL;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return (float) ((double) ((s * 2685821657736338717ULL) >> 11) / (double) (1ULL << 53) * 2.0 - 1.0);
}

static void
GuardInit(GuardBuf *g, size_t nfloats)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		bytes = ((nfloats + 64) * sizeof(float) + page - 1) / page * page;
	char	   *base = mmap(NULL, bytes + page, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED || mprotect(base + bytes, page, PROT_NONE) != 0)
	{
		printf("Bail out! cannot map guard buffer\n");
		exit(1);
	}
	g->end = (float *) (base + bytes);
	g->nfloats = bytes / sizeof(float);
}

/*
 * Copies src[0..n) into g so that it starts off floats (0..15) past a
 * 64-byte boundary and ends less than 16 floats before the guard page.
 */
static float *
GuardPlace(GuardBuf *g, const float *src, int n, int off)
{
	int			pad = ((-(off + n)) % 16 + 16) % 16;
	float	   *p = g->end - n - pad;

	if (n > 0)
		memcpy(p, src, sizeof(float) * n);
	return p;
}

/* Double-precision reference sums over n floats. */
typedef struct RefSums
{
	double		l2sq,
				dot,
				dotabs,
				l1,
				aa,
				bb;
} RefSums;

static void
RefCompute(const float *a, const float *b, int n, RefSums *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < n; i++)
	{
		double		x = a[i],
					y = b[i];

		r->l2sq += (x - y) * (x - y);
		r->dot += x * y;
		r->dotabs += fabs(x * y);
		r->l1 += fabs(x - y);
		r->aa += x * x;
		r->bb += y * y;
	}
}

static double
RefCosine(const RefSums *r)
{
	double		sim = r->dot / sqrt(r->aa * r->bb);

	if (sim > 1)
		sim = 1;
	else if (sim < -1)
		sim = -1;
	return 1 - sim;
}

/* Is got within TOL * scale of want?  scale 0 demands equality. */
static bool
Close(double got, double want, double scale)
{
	return fabs(got - want) <= TOL * scale;
}

/* First failure (or worst case) seen in one check, for the diagnostic. */
typedef struct Worst
{
	long		fails;
	double		err;
	int			n,
				off,
				split;
	double		got,
				want;
} Worst;

static void
WorstNote(Worst *w, bool ok, double got, double want, double scale,
		  int n, int off, int split)
{
	double		err = scale > 0 ? fabs(got - want) / scale : fabs(got - want);

	if (!ok)
		w->fails++;
	if (!ok || err > w->err || isnan(err))
	{
		if (!ok || w->fails == 0)
		{
			w->err = err;
			w->n = n;
			w->off = off;
			w->split = split;
			w->got = got;
			w->want = want;
		}
	}
}

static void
WorstReport(const Worst *w, const char *what)
{
	if (w->fails > 0)
		printf("#   %s: %ld failures; e.g. n=%d off=%d split=%d got=%.9g want=%.9g (err %.3g)\n",
			   what, w->fails, w->n, w->off, w->split, w->got, w->want, w->err);
}

/* The dimensions checked by the primitive-kernel tests. */
static int
DimAt(int i)
{
	static const int large[] = {3072, 4099, MAX_DIM};

	if (i < 2048)
		return i + 1;
	if (i < 2048 + 3)
		return large[i - 2048];
	return -1;
}

/* The primitive kernels l2sq, dot, l1 and dot_norms of one implementation. */
static void
TestPrimitives(const TestKernels *t)
{
	static GuardBuf ga,
				gb;
	Worst		w[4];
	const char *names[4] = {"l2sq", "dot", "l1", "dot_norms"};
	bool		zero_ok = true;

	if (ga.end == NULL)
	{
		GuardInit(&ga, MAX_DIM + 16);
		GuardInit(&gb, MAX_DIM + 16);
	}
	memset(w, 0, sizeof(w));

	for (int di = 0; DimAt(di) > 0; di++)
	{
		int			n = DimAt(di);
		RefSums		r;

		RefCompute(src_a, src_b, n, &r);
		for (int off = 0; off < 16; off++)
		{
			int			boff = (off * 7 + 5) % 16;
			const float *a = GuardPlace(&ga, src_a, n, off);
			const float *b = GuardPlace(&gb, src_b, n, boff);
			float		got,
						d,
						aa,
						bb;
			bool		ok;

			got = t->k->l2sq(a, b, n);
			WorstNote(&w[0], Close(got, r.l2sq, r.l2sq), got, r.l2sq, r.l2sq, n, off, -1);
			got = t->k->dot(a, b, n);
			WorstNote(&w[1], Close(got, r.dot, r.dotabs), got, r.dot, r.dotabs, n, off, -1);
			got = t->k->l1(a, b, n);
			WorstNote(&w[2], Close(got, r.l1, r.l1), got, r.l1, r.l1, n, off, -1);
			t->k->dot_norms(a, b, n, &d, &aa, &bb);
			ok = Close(d, r.dot, r.dotabs) && Close(aa, r.aa, r.aa) && Close(bb, r.bb, r.bb);
			WorstNote(&w[3], ok, d, r.dot, r.dotabs, n, off, -1);
		}
	}

	/* n == 0 reads nothing and sums to zero, even at the guard page. */
	{
		float		d = 1,
					aa = 1,
					bb = 1;

		zero_ok = t->k->l2sq(ga.end, gb.end, 0) == 0.0f &&
			t->k->dot(ga.end, gb.end, 0) == 0.0f &&
			t->k->l1(ga.end, gb.end, 0) == 0.0f;
		t->k->dot_norms(ga.end, gb.end, 0, &d, &aa, &bb);
		zero_ok = zero_ok && d == 0.0f && aa == 0.0f && bb == 0.0f;
	}

	for (int i = 0; i < 4; i++)
	{
		TestOk(w[i].fails == 0, "%s %s: dims 1..2048, 3072, 4099, 16000 at offsets 0..15",
			   t->label, names[i]);
		WorstReport(&w[i], names[i]);
	}
	TestOk(zero_ok, "%s: n = 0 gives zero sums", t->label);
}

/* The split points tried for dimension n: 0, n, multiples of 16, one odd. */
static int
SplitAt(int n, int i)
{
	int			stride = n <= 2048 ? 16 : 16 * 37;
	int			nmul = (n - 1) / stride;	/* multiples of stride in (0, n) */

	if (i == 0)
		return 0;
	if (i == 1)
		return n;
	if (i == 2)
		return n > 2 ? n / 2 + 1 : -1;
	if (i - 3 < nmul)
		return (i - 2) * stride;
	return -1;
}

/* The two-piece entry points with t installed as rv_kernels. */
static void
TestTwoPiece(const TestKernels *t)
{
	static const int big[] = {512, 768, 1000, 1024, 1536, 2048, 3072, MAX_DIM};
	static GuardBuf ga,
				gb0,
				gb1;
	const RvKernels *saved = rv_kernels;
	Worst		w[5];
	const char *names[5] = {"RvL2SquaredDistance", "RvInnerProduct", "RvL1Distance",
	"RvCosineDistance", "RvCosineDistanceNorms"};
	bool		range_ok = true;
	bool		nan_ok;
	int			case_no = 0;

	if (ga.end == NULL)
	{
		GuardInit(&ga, MAX_DIM + 16);
		GuardInit(&gb0, MAX_DIM + 16);
		GuardInit(&gb1, MAX_DIM + 16);
	}
	memset(w, 0, sizeof(w));
	rv_kernels = t->k;

	for (int di = 0; di < 300 + (int) (sizeof(big) / sizeof(big[0])); di++)
	{
		int			n = di < 300 ? di + 1 : big[di - 300];
		RefSums		r;
		double		cosref;

		RefCompute(src_a, src_b, n, &r);
		cosref = RefCosine(&r);
		for (int si = 0; SplitAt(n, si) >= 0; si++)
		{
			int			n0 = SplitAt(n, si);
			int			n1 = n - n0;
			int			off = case_no++ % 16;
			const float *a = GuardPlace(&ga, src_a, n, off);
			const float *b0 = GuardPlace(&gb0, src_b, n0, (off * 5 + 3) % 16);
			const float *b1 = n1 > 0 ? GuardPlace(&gb1, src_b + n0, n1, (off * 3 + 1) % 16) : NULL;
			float		got;

			got = RvL2SquaredDistance(a, b0, n0, b1, n1);
			WorstNote(&w[0], Close(got, r.l2sq, r.l2sq), got, r.l2sq, r.l2sq, n, off, n0);
			got = RvInnerProduct(a, b0, n0, b1, n1);
			WorstNote(&w[1], Close(got, r.dot, r.dotabs), got, r.dot, r.dotabs, n, off, n0);
			got = RvL1Distance(a, b0, n0, b1, n1);
			WorstNote(&w[2], Close(got, r.l1, r.l1), got, r.l1, r.l1, n, off, n0);
			got = RvCosineDistance(a, b0, n0, b1, n1);
			WorstNote(&w[3], Close(got, cosref, 1), got, cosref, 0, n, off, n0);
			range_ok = range_ok && got >= 0 && got <= 2;
			got = RvCosineDistanceNorms(a, (float) sqrt(r.aa), b0, n0, b1, n1,
										(float) sqrt(r.bb));
			WorstNote(&w[4], Close(got, cosref, 1), got, cosref, 0, n, off, n0);
			range_ok = range_ok && got >= 0 && got <= 2;
		}
	}

	for (int i = 0; i < 5; i++)
	{
		TestOk(w[i].fails == 0, "%s %s: two pieces, split at 0, n, 16k and odd",
			   t->label, names[i]);
		WorstReport(&w[i], names[i]);
	}

	/* Parallel and antiparallel vectors stay inside [0, 2] after rounding. */
	for (int n = 1; n <= 1100; n += 7)
	{
		static float neg[MAX_DIM],
					dbl[MAX_DIM];
		float		c1,
					c2,
					c3;

		for (int i = 0; i < n; i++)
		{
			neg[i] = -src_a[i];
			dbl[i] = 3.0f * src_a[i];
		}
		c1 = RvCosineDistance(src_a, src_a, n, NULL, 0);
		c2 = RvCosineDistance(src_a, neg, n, NULL, 0);
		c3 = RvCosineDistance(src_a, dbl, n / 2, dbl + n / 2, n - n / 2);
		if (!(c1 >= 0 && c1 <= 1e-5 && c2 <= 2 && c2 >= 2 - 1e-5 && c3 >= 0 && c3 <= 1e-5))
		{
			range_ok = false;
			printf("#   n=%d: cos(a,a)=%.9g cos(a,-a)=%.9g cos(a,3a)=%.9g\n", n, c1, c2, c3);
		}
	}
	TestOk(range_ok, "%s: cosine distance stays within [0, 2], 0 for a vs 3a, 2 for a vs -a",
		   t->label);

	/* pgvector: cosine distance with a zero vector is NaN. */
	nan_ok = isnan(RvCosineDistance(src_zero, src_b, 100, NULL, 0)) &&
		isnan(RvCosineDistance(src_a, src_zero, 60, src_zero, 40)) &&
		isnan(RvCosineDistance(src_zero, src_zero, 7, NULL, 0)) &&
		isnan(RvCosineDistanceNorms(src_zero, 0.0f, src_b, 100, NULL, 0, 1.0f)) &&
		isnan(RvCosineDistanceNorms(src_a, 1.0f, src_zero, 100, NULL, 0, 0.0f));
	TestOk(nan_ok, "%s: cosine distance with a zero vector is NaN", t->label);

	rv_kernels = saved;
}


/* ------------------------------------------------------------ code kernels */

/*
 * Copies n elements of elsize bytes so that they start off elements past a
 * 64-byte boundary and end less than 16 elements before g's guard page.
 */
static void *
GuardPlaceBytes(GuardBuf *g, const void *src, size_t elsize, int n, int off)
{
	int			pad = ((-(off + n)) % 16 + 16) % 16;
	char	   *p = (char *) g->end - (size_t) (n + pad) * elsize;

	if (n > 0)
		memcpy(p, src, elsize * n);
	return p;
}

/* The dimensions of the code kernel tests: 1..300 and some large/odd. */
static int
CodeDimAt(int i)
{
	static const int large[] = {511, 767, 768, 1025, 1536, 1537, 2999, 3000};

	if (i < 300)
		return i + 1;
	if (i < 300 + (int) (sizeof(large) / sizeof(large[0])))
		return large[i - 300];
	return -1;
}

#define CODE_MAX_DIM 3000
static uint16_t src_bf16[MAX_DIM];
static uint8_t src_sq8[MAX_DIM];

/*
 * The bf16, SQ8 and RaBitQ kernels of one implementation, directly and (with
 * t installed as rv_kernels) through the public entry points of rv_simd.h,
 * against double references over the decoded vectors.
 */
static void
TestCodes(const TestKernels *t)
{
	static GuardBuf gq,
				gc;
	const RvKernels *saved = rv_kernels;
	Worst		w[11];
	const char *names[11] = {"l2sq_bf16", "dot_bf16", "dot_norms_bf16",
		"l2sq_sq8", "dot_sq8", "RvBf16L2SquaredDistance", "RvBf16InnerProduct",
		"RvBf16CosineDistance", "RvSq8L2SquaredDistance", "RvSq8InnerProduct",
	"RvSq8CosineDistance"};
	long		bit_fails = 0;
	long		agree_fails = 0;
	bool		zero_ok;

	if (gq.end == NULL)
	{
		GuardInit(&gq, MAX_DIM + 16);
		GuardInit(&gc, MAX_DIM + 16);
	}
	memset(w, 0, sizeof(w));
	rv_kernels = t->k;

	for (int di = 0; CodeDimAt(di) > 0; di++)
	{
		int			n = CodeDimAt(di);
		RvSq8Params sp;
		double		bl2 = 0,
					bdot = 0,
					bdotabs = 0,
					bqq = 0,
					bxx = 0,
					sl2 = 0,
					sdot = 0,
					squ = 0,
					squabs = 0,
					sxx = 0,
					sqabs = 0,
					bcos,
					scos;

		RvBf16Encode(src_b, n, src_bf16);
		RvSq8Encode(src_b, n, src_sq8, &sp);
		for (int i = 0; i < n; i++)
		{
			double		q = src_a[i];
			double		xb = RvBf16Decode(src_bf16[i]);
			double		xs = (double) sp.offset + (double) sp.scale * src_sq8[i];

			bl2 += (q - xb) * (q - xb);
			bdot += q * xb;
			bdotabs += fabs(q * xb);
			bqq += q * q;
			bxx += xb * xb;
			sl2 += (q - xs) * (q - xs);
			sdot += q * xs;
			squ += q * src_sq8[i];
			squabs += fabs(q * src_sq8[i]);
			sxx += xs * xs;
			sqabs += fabs(q);
		}
		bcos = 1 - fmax(-1, fmin(1, bdot / sqrt(bqq * bxx)));
		scos = 1 - fmax(-1, fmin(1, sdot / sqrt(bqq * sxx)));

		for (int off = 0; off < 16; off++)
		{
			const float *q = GuardPlace(&gq, src_a, n, off);
			const uint16_t *cb = GuardPlaceBytes(&gc, src_bf16, 2, n, (off * 7 + 5) % 16);
			float		got,
						d,
						qq,
						xx;
			double		ipscale = fabs(sp.offset) * sqabs + sp.scale * squabs;
			RvSq8Query	sq;
			bool		ok;

			got = t->k->l2sq_bf16(q, cb, n);
			WorstNote(&w[0], Close(got, bl2, bl2), got, bl2, bl2, n, off, -1);
			got = t->k->dot_bf16(q, cb, n);
			WorstNote(&w[1], Close(got, bdot, bdotabs), got, bdot, bdotabs, n, off, -1);
			t->k->dot_norms_bf16(q, cb, n, &d, &qq, &xx);
			ok = Close(d, bdot, bdotabs) && Close(qq, bqq, bqq) && Close(xx, bxx, bxx);
			WorstNote(&w[2], ok, d, bdot, bdotabs, n, off, -1);
			got = RvBf16L2SquaredDistance(q, cb, n);
			WorstNote(&w[5], Close(got, bl2, bl2), got, bl2, bl2, n, off, -1);
			got = RvBf16InnerProduct(q, cb, n);
			WorstNote(&w[6], Close(got, bdot, bdotabs), got, bdot, bdotabs, n, off, -1);
			got = RvBf16CosineDistance(q, cb, n);
			WorstNote(&w[7], Close(got, bcos, 1 + bdotabs / sqrt(bqq * bxx)), got, bcos, 0, n, off, -1);

			{
				const uint8_t *cs = GuardPlaceBytes(&gc, src_sq8, 1, n, (off * 5 + 3) % 16);

				got = t->k->l2sq_sq8(q, cs, n, sp.scale, sp.offset);
				WorstNote(&w[3], Close(got, sl2, sl2), got, sl2, sl2, n, off, -1);
				got = t->k->dot_sq8(q, cs, n);
				WorstNote(&w[4], Close(got, squ, squabs), got, squ, squabs, n, off, -1);
				RvSq8PrepareQuery(q, n, &sq);
				got = RvSq8L2SquaredDistance(&sq, cs, &sp);
				WorstNote(&w[8], Close(got, sl2, sl2), got, sl2, sl2, n, off, -1);
				got = RvSq8InnerProduct(&sq, cs, &sp);
				WorstNote(&w[9], Close(got, sdot, ipscale), got, sdot, ipscale, n, off, -1);
				got = RvSq8CosineDistance(&sq, cs, &sp);
				WorstNote(&w[10], Close(got, scos, 1 + ipscale / sqrt(bqq * sxx)), got, scos, 0, n, off, -1);
			}
		}
	}

	/* RaBitQ bit kernel: exact, nwords 1..64 and larger, word offsets 0..7. */
	{
		static uint64_t words[5 * 256];
		static GuardBuf gx,
					gp;
		uint64_t	s = 0x0123456789ABCDEFULL;

		if (gx.end == NULL)
		{
			GuardInit(&gx, 2 * 256 + 64);
			GuardInit(&gp, 2 * 4 * 256 + 64);
		}
		for (int i = 0; i < 5 * 256; i++)
		{
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			words[i] = s;
		}
		for (int nw = 1; nw <= 256; nw += (nw < 64 ? 1 : 48))
			for (int off = 0; off < 8; off++)
			{
				const uint64_t *x = GuardPlaceBytes(&gx, words, 8, nw, off);
				const uint64_t *pl = GuardPlaceBytes(&gp, words + 256, 8, 4 * nw, (off * 3 + 1) % 8);
				uint64_t	want = 0;
				uint32_t	got;

				for (int j = 0; j < 4; j++)
					for (int i = 0; i < nw; i++)
						want += ((uint64_t) __builtin_popcountll(x[i] & pl[j * nw + i])) << j;
				got = t->k->rabitq_bitdot4(x, pl, nw);
				if (got != want)
				{
					if (bit_fails++ == 0)
						printf("#   rabitq_bitdot4: nwords=%d off=%d got=%u want=%llu\n",
							   nw, off, got, (unsigned long long) want);
				}
			}
	}

	/*
	 * The sign-bound count: exact, nwords 1..40, 52, 64 (masked tails of
	 * every length), plane strides nwords..nwords+3, x, s and the planes
	 * ending right at a guard page (a read past them faults).
	 */
	{
		static GuardBuf gx2,
					gs2,
					gp2;
		uint64_t	r = 0x2545F4914F6CDD1DULL;

		if (gx2.end == NULL)
		{
			GuardInit(&gx2, 2 * 64);
			GuardInit(&gs2, 2 * 64);
			GuardInit(&gp2, 2 * 8 * 68);
		}
		for (int nw = 1; nw <= 64; nw += (nw < 40 ? 1 : 12))
			for (int extra = 0; extra < 4; extra++)
			{
				int			ps = nw + extra;
				uint64_t   *x = (uint64_t *) gx2.end - nw;
				uint64_t   *sg = (uint64_t *) gs2.end - nw;
				uint64_t   *pl = (uint64_t *) gp2.end - 8 * ps;
				uint64_t	want = 0;
				uint32_t	got;

				for (int i = 0; i < nw; i++)
				{
					r ^= r << 13;
					r ^= r >> 7;
					r ^= r << 17;
					x[i] = r;
					sg[i] = r * 0x9E3779B97F4A7C15ULL;
				}
				for (int i = 0; i < 8 * ps; i++)
				{
					r ^= r << 13;
					r ^= r >> 7;
					r ^= r << 17;
					pl[i] = r;
				}
				for (int j = 0; j < 8; j++)
					for (int i = 0; i < nw; i++)
						want += ((uint64_t) __builtin_popcountll(~(x[i] ^ sg[i]) & pl[j * ps + i])) << j;
				got = t->k->rabitq_agree8(x, sg, pl, nw, ps);
				if (got != want)
				{
					if (agree_fails++ == 0)
						printf("#   rabitq_agree8: nwords=%d stride=%d got=%u want=%llu\n",
							   nw, ps, got, (unsigned long long) want);
				}
			}
	}

	zero_ok = t->k->l2sq_bf16(gq.end, (const uint16_t *) gc.end, 0) == 0.0f &&
		t->k->dot_bf16(gq.end, (const uint16_t *) gc.end, 0) == 0.0f &&
		t->k->l2sq_sq8(gq.end, (const uint8_t *) gc.end, 0, 1.0f, 1.0f) == 0.0f &&
		t->k->dot_sq8(gq.end, (const uint8_t *) gc.end, 0) == 0.0f &&
		t->k->rabitq_bitdot4((const uint64_t *) gq.end, (const uint64_t *) gc.end, 0) == 0 &&
		t->k->rabitq_agree8((const uint64_t *) gq.end, (const uint64_t *) gq.end,
							(const uint64_t *) gc.end, 0, 0) == 0;

	for (int i = 0; i < 11; i++)
	{
		TestOk(w[i].fails == 0, "%s %s: dims 1..300, 511, 767, 768, 1025, 1536, 1537, 2999, 3000 at offsets 0..15",
			   t->label, names[i]);
		WorstReport(&w[i], names[i]);
	}
	TestOk(bit_fails == 0, "%s rabitq_bitdot4: exact for 1..64, 112, 160, 208, 256 words at word offsets 0..7",
		   t->label);
	TestOk(agree_fails == 0, "%s rabitq_agree8: exact for 1..40, 52, 64 words, strides +0..3, ending at a guard page",
		   t->label);
	TestOk(zero_ok, "%s: code kernels with n = 0 give zero", t->label);

	/*
	 * dot_u8s8 (query in -127..127) and dot_u8s7 (-63..63) against an
	 * int64 reference, exact, ending at a guard page (codes and query
	 * unaligned); then the int8 query's inner product against the float
	 * query's on the same codes: the query's rounding moves it by at most
	 * scale * qstep / 2 * sum c (plus float rounding).
	 */
	for (int qmax = 127; qmax >= 63; qmax = qmax == 127 ? 63 : 0)
	{
		static GuardBuf gi;
		static int8_t src_qi[MAX_DIM];
		long		u8s8_fails = 0,
					int_fails = 0,
					range_fails = 0;
		double		worst = 0;
		const char *kname = qmax == 127 ? "dot_u8s8" : "dot_u8s7";
		int32_t		(*dotk) (const uint8_t *, const int8_t *, int, int32_t *) =
			qmax == 127 ? t->k->dot_u8s8 : t->k->dot_u8s7;

		if (gi.end == NULL)
			GuardInit(&gi, MAX_DIM + 16);
		for (int di = 0; CodeDimAt(di) > 0; di++)
		{
			int			n = CodeDimAt(di);
			RvSq8Params sp;

			RvSq8Encode(src_b, n, src_sq8, &sp);
			for (int off = 0; off < 16; off++)
			{
				const uint8_t *cs = GuardPlaceBytes(&gc, src_sq8, 1, n, (off * 5 + 3) % 16);
				const float *q = GuardPlace(&gq, src_a, n, off);
				RvSq8Query	sq;
				const int8_t *qi;
				int64_t		want = 0,
							wsum = 0;
				int32_t		csum = -1;
				int32_t		got;
				double		fl,
							in,
							tol;

				RvSq8PrepareQuery(q, n, &sq);
				RvSq8PrepareIntQuery(&sq, src_qi, qmax);
				qi = GuardPlaceBytes(&gi, src_qi, 1, n, (off * 3 + 1) % 16);
				for (int i = 0; i < n; i++)
				{
					want += (int64_t) cs[i] * qi[i];
					wsum += cs[i];
					if (qi[i] > qmax || qi[i] < -qmax)
						range_fails++;
				}
				got = dotk(cs, qi, n, &csum);
				if (got != want || csum != wsum)
				{
					if (u8s8_fails++ == 0)
						printf("#   %s: n=%d off=%d got=%d/%d want=%lld/%lld\n", kname, n, off,
							   got, csum, (long long) want, (long long) wsum);
				}
				sq.qi = src_qi;
				fl = RvSq8InnerProduct(&sq, cs, &sp);
				in = RvSq8InnerProductInt(&sq, cs, &sp);
				tol = (double) sp.scale * sq.qstep * 0.5 * (double) wsum +
					1e-5 * (fabs(sp.offset * sq.sum) + sp.scale * 255.0 * n * (fabs(sq.qmid) + qmax * sq.qstep)) + 1e-6;
				worst = fmax(worst, fabs(in - fl) / tol);
				if (!(fabs(in - fl) <= tol))
				{
					if (int_fails++ == 0)
						printf("#   RvSq8InnerProductInt: n=%d off=%d int=%g float=%g tol=%g\n",
							   n, off, in, fl, tol);
				}
			}
		}
		TestOk(u8s8_fails == 0, "%s %s: exact for the code dims at offsets 0..15, ending at a guard page",
			   t->label, kname);
		TestOk(range_fails == 0, "%s RvSq8PrepareIntQuery: every element in -%d..%d",
			   t->label, qmax, qmax);
		{
			/* the extremes: every code 255 against +-qmax (no saturation) */
			static uint8_t c255[MAX_DIM];
			static int8_t qext[MAX_DIM];
			long		ext_fails = 0;
			int			ns[] = {31, 32, 64, 100, 784, 1537};

			memset(c255, 255, sizeof(c255));
			for (int sign = -1; sign <= 1; sign += 2)
				for (int k = 0; k < (int) (sizeof(ns) / sizeof(ns[0])); k++)
				{
					int32_t		csum;
					int32_t		got;

					memset(qext, sign * qmax, ns[k]);
					got = dotk(c255, qext, ns[k], &csum);
					if (got != sign * 255 * qmax * ns[k] || csum != 255 * ns[k])
						ext_fails++;
				}
			TestOk(ext_fails == 0, "%s %s: exact with every code 255 and every query element +-%d",
				   t->label, kname, qmax);
		}
		TestOk(int_fails == 0, "%s RvSq8InnerProductInt (%s): within scale * qstep / 2 * sum c of RvSq8InnerProduct (worst %.2f of it)",
			   t->label, kname, worst);
	}
	rv_kernels = saved;
}

/* Number of TAP points TestCodes emits. */
#define CODE_POINTS 22

/* ------------------------------------------------------------- encoders */

/* Standard normal deviate (Box-Muller over TestRandom). */
static double
TestGauss(void)
{
	double		u = (TestRandom() + 1.0) / 2.0;
	double		v = (TestRandom() + 1.0) / 2.0;

	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(2 * M_PI * v);
}

/* The encoders and the rotation, independent of the ISA. */
static void
TestEncoders(void)
{
	bool		bf_ok = true,
				sq_ok = true,
				rot_ok = true;
	static float x[4096],
				y[4096],
				rx[4096],
				ry[4096];

	/* bf16 codes are the top 16 bits; decode is exact on them. */
	for (int i = 0; i < MAX_DIM; i++)
	{
		uint32_t	u;
		uint16_t	c;

		memcpy(&u, &src_a[i], sizeof(u));
		RvBf16Encode(&src_a[i], 1, &c);
		if (c != (u >> 16) || fabs(RvBf16Decode(c) - src_a[i]) > fabs(src_a[i]) / 128.0)
			bf_ok = false;
	}
	TestOk(bf_ok, "RvBf16Encode keeps the top 16 bits; relative error < 2^-7");

	/* SQ8: every element within scale / 2 (plus rounding) of its decoding. */
	for (int n = 1; n <= 1000; n += 37)
	{
		RvSq8Params p;
		double		nn = 0;

		RvSq8Encode(src_a, n, src_sq8, &p);
		for (int i = 0; i < n; i++)
		{
			double		v = (double) p.offset + (double) p.scale * src_sq8[i];

			nn += v * v;
			if (fabs(v - src_a[i]) > p.scale * 0.5 + 1e-6)
				sq_ok = false;
		}
		if (fabs(nn - p.norm2) > 1e-5 * nn)
			sq_ok = false;
	}
	{
		RvSq8Params p;
		float		c[5] = {0.25f, 0.25f, 0.25f, 0.25f, 0.25f};

		RvSq8Encode(c, 5, src_sq8, &p);
		sq_ok = sq_ok && p.scale == 0.0f && p.offset == 0.25f && src_sq8[4] == 0;
	}
	TestOk(sq_ok, "RvSq8Encode: each element within scale/2 of its decoding; constant vectors exact");

	/* The rotation is orthonormal: it keeps norms and inner products. */
	for (int dim = 1; dim <= 3000; dim = dim * 3 + 1)
	{
		int			p = RvRabitqPaddedDim(dim);
		double		xy = 0,
					rxy = 0,
					xx = 0,
					rxx = 0;

		for (int i = 0; i < dim; i++)
		{
			x[i] = (float) TestGauss();
			y[i] = (float) TestGauss();
			xy += (double) x[i] * y[i];
			xx += (double) x[i] * x[i];
		}
		RvRabitqRotate(x, dim, 42, rx);
		RvRabitqRotate(y, dim, 42, ry);
		for (int i = 0; i < p; i++)
		{
			rxy += (double) rx[i] * ry[i];
			rxx += (double) rx[i] * rx[i];
		}
		if (p < dim || p % 64 != 0 || p < 64 || (dim > 64 && p >= dim + 64) ||
			fabs(rxx - xx) > 1e-4 * xx || fabs(rxy - xy) > 1e-4 * xx)
		{
			rot_ok = false;
			printf("#   dim %d (P %d): |x|^2 %.6g -> %.6g, <x,y> %.6g -> %.6g\n",
				   dim, p, xx, rxx, xy, rxy);
		}
	}
	TestOk(rot_ok, "RvRabitqRotate pads to the next multiple of 64 (>= 64) and keeps norms and inner products");
}

/* -------------------------------------------------- RaBitQ, randomized */

#define RQ_NDATA	200
#define RQ_NQUERY	100
#define RQ_MAXDIM	784
#define RQ_NSEEDS	1000

/* One vector of the named distribution: 0 Gaussian, 1 pixel-like. */
static void
RqSample(int dist, float *v, int dim)
{
	for (int i = 0; i < dim; i++)
	{
		if (dist == 0)
			v[i] = (float) TestGauss();
		else
		{
			/* Non-negative, mostly zero, integer intensities like MNIST. */
			double		u = (TestRandom() + 1.0) / 2.0;

			v[i] = u < 0.6 ? 0.0f : (float) floor((TestRandom() + 1.0) * 127.5);
		}
	}
}

/*
 * RQ_NDATA x RQ_NQUERY pairs at dimension dim: the estimator's bias
 * (mean signed error / mean true distance) and how often the true distance
 * lies within the reported bound, for squared L2, inner product and cosine.
 */
static void
TestRabitq(int dim, int dist, uint64_t seed)
{
	static float data[RQ_NDATA][RQ_MAXDIM];
	static float query[RQ_MAXDIM];
	static float centroid[RQ_MAXDIM];
	static float scratch[1024];
	static uint64_t codes[RQ_NDATA][1024 / 64];
	static uint64_t planes[4 * 1024 / 64];
	static RvRabitqFactors fac[RQ_NDATA];
	const char *dname = dist == 0 ? "Gaussian" : "pixel-like";
	double		err_l2 = 0,
				abs_l2 = 0,
				err_ip = 0,
				abs_ip = 0,
				err_cos = 0,
				abs_cos = 0;
	long		cov_l2 = 0,
				cov_ip = 0,
				cov_cos = 0,
				cov_paper = 0,
				npairs = 0;
	double		bias_l2,
				bias_ip,
				bias_cos;
	double		zmax = 0,
				rel_seed = 0;

	memset(centroid, 0, sizeof(centroid));
	for (int k = 0; k < RQ_NDATA; k++)
	{
		RqSample(dist, data[k], dim);
		for (int i = 0; i < dim; i++)
			centroid[i] += data[k][i] / RQ_NDATA;
	}
	for (int k = 0; k < RQ_NDATA; k++)
		RvRabitqEncode(data[k], centroid, dim, seed, scratch, codes[k], &fac[k]);

	for (int m = 0; m < RQ_NQUERY; m++)
	{
		RvRabitqQuery rq;

		RqSample(dist, query, dim);
		RvRabitqPrepareQuery(query, centroid, dim, seed, seed * 31 + m, scratch, planes, &rq);
		for (int k = 0; k < RQ_NDATA; k++)
		{
			double		l2 = 0,
						ip = 0,
						oo = 0,
						qq = 0,
						cosd;
			float		b,
						bp,
						est;

			for (int i = 0; i < dim; i++)
			{
				double		o = data[k][i],
							q = query[i];

				l2 += (o - q) * (o - q);
				ip += o * q;
				oo += o * o;
				qq += q * q;
			}
			cosd = 1 - ip / sqrt(oo * qq);

			est = RvRabitqL2Squared(&rq, codes[k], &fac[k], RV_RABITQ_EPS0, &b);
			RvRabitqL2Squared(&rq, codes[k], &fac[k], 1.9, &bp);
			err_l2 += est - l2;
			abs_l2 += fabs(l2);
			cov_l2 += fabs(est - l2) <= b;
			cov_paper += fabs(est - l2) <= bp;

			est = RvRabitqInnerProduct(&rq, codes[k], &fac[k], RV_RABITQ_EPS0, &b);
			err_ip += est - ip;
			abs_ip += fabs(ip);
			cov_ip += fabs(est - ip) <= b;

			est = RvRabitqCosineDistance(&rq, codes[k], &fac[k], RV_RABITQ_EPS0, &b);
			err_cos += est - cosd;
			abs_cos += fabs(cosd);
			cov_cos += fabs(est - cosd) <= b;
			npairs++;
		}
	}
	/*
	 * Unbiasedness over the rotation itself (the paper's expectation): for
	 * 5 pairs (the last query against data 0..4), the mean estimate over
	 * RQ_NSEEDS independent rotation seeds must be within 4 standard errors
	 * of the true squared distance.
	 */
	for (int k = 0; k < 5; k++)
	{
		double		l2 = 0,
					sum = 0,
					sum2 = 0,
					mean,
					se,
					z;

		for (int i = 0; i < dim; i++)
			l2 += ((double) data[k][i] - query[i]) * ((double) data[k][i] - query[i]);
		for (int r = 0; r < RQ_NSEEDS; r++)
		{
			RvRabitqFactors f;
			RvRabitqQuery rq;
			uint64_t	rseed = seed * 1000003 + r;
			double		est;

			RvRabitqEncode(data[k], centroid, dim, rseed, scratch, codes[RQ_NDATA - 1], &f);
			RvRabitqPrepareQuery(query, centroid, dim, rseed, rseed + 17, scratch, planes, &rq);
			est = RvRabitqL2Squared(&rq, codes[RQ_NDATA - 1], &f, RV_RABITQ_EPS0, NULL);
			sum += est;
			sum2 += est * est;
		}
		mean = sum / RQ_NSEEDS;
		se = sqrt(fmax(sum2 / RQ_NSEEDS - mean * mean, 0) / (RQ_NSEEDS - 1));
		z = se > 0 ? (mean - l2) / se : (mean == l2 ? 0 : INFINITY);
		if (fabs(z) > zmax)
			zmax = fabs(z);
		rel_seed = fmax(rel_seed, fabs(mean - l2) / l2);
	}

	bias_l2 = err_l2 / abs_l2;
	bias_ip = err_ip / abs_ip;
	bias_cos = err_cos / abs_cos;
	printf("# rabitq d=%d %s, %ld pairs: bias (mean signed error / mean |true|) l2sq %+.5f, ip %+.5f, cosine %+.5f\n",
		   dim, dname, npairs, bias_l2, bias_ip, bias_cos);
	printf("# rabitq d=%d %s: bound coverage at eps0=%.2f: l2sq %.4f, ip %.4f, cosine %.4f; at the paper's eps0=1.9: %.4f\n",
		   dim, dname, RV_RABITQ_EPS0, (double) cov_l2 / npairs, (double) cov_ip / npairs,
		   (double) cov_cos / npairs, (double) cov_paper / npairs);
	printf("# rabitq d=%d %s: mean of %d rotations vs true l2sq for 5 pairs: max |z| %.2f, max relative error %.5f\n",
		   dim, dname, RQ_NSEEDS, zmax, rel_seed);
	TestOk(fabs(bias_l2) < 0.005 && fabs(bias_cos) < 0.005 && fabs(bias_ip) < 0.02 && zmax < 4,
		   "rabitq d=%d %s: estimator unbiased (bias < 0.5%% l2sq/cosine, < 2%% ip; over rotations |z| < 4)",
		   dim, dname);
	TestOk(cov_l2 >= 0.99 * npairs && cov_ip >= 0.99 * npairs && cov_cos >= 0.99 * npairs,
		   "rabitq d=%d %s: true distance within the bound on >= 99%% of pairs", dim, dname);
}

/* Number of TAP points of TestEncoders and the TestRabitq runs. */
#define ENCODER_POINTS (3 + 6 * 2)

int
main(void)
{
	const RvKernels *avail[RV_SIMD_MAX_KERNELS];
	TestKernels tk[RV_SIMD_MAX_KERNELS + 2];
	const RvKernels *first;
	int			navail;
	int			nt = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < MAX_DIM; i++)
	{
		src_a[i] = TestRandom();
		src_b[i] = TestRandom();
	}

	RvSimdInit();
	first = rv_kernels;
	RvSimdInit();
	navail = RvSimdAvailable(avail, RV_SIMD_MAX_KERNELS);

	{
		const RvSimdCpu *cpu = RvSimdCpuFeatures();

		printf("# arch %s; cpu: sse2=%d avx2=%d fma=%d avx512f=%d neon=%d\n",
			   RV_SIMD_ARCH_NAME, cpu->sse2, cpu->avx2, cpu->fma, cpu->avx512f, cpu->neon);
		printf("# active: %s\n", rv_kernels->name);
		printf("# available:");
		for (int i = 0; i < navail; i++)
			printf(" %s", avail[i]->name);
		printf("\n");
	}

	for (int i = 0; i < navail; i++)
	{
		tk[nt].k = avail[i];
		snprintf(tk[nt].label, sizeof(tk[nt].label), "%s", avail[i]->name);
		tk[nt++].native = true;
	}
#ifdef RV_TEST_EMULATED
	tk[nt].k = &rv_kernels_avx512_emulated;
	snprintf(tk[nt].label, sizeof(tk[nt].label), "avx512f (SIMDe emulation)");
	tk[nt++].native = false;
	tk[nt].k = &rv_kernels_neon_emulated;
	snprintf(tk[nt].label, sizeof(tk[nt].label), "neon (SIMDe emulation)");
	tk[nt++].native = false;
#endif

	/* 3 dispatch points, 5 + 7 + CODE_POINTS per implementation, encoders. */
	printf("1..%d\n", 3 + (12 + CODE_POINTS) * nt + ENCODER_POINTS);

	TestOk(rv_kernels == first && rv_kernels == avail[0],
		   "RvSimdInit is idempotent and chose the first available kernels (%s)",
		   rv_kernels->name);
	TestOk(navail >= 1 && navail <= RV_SIMD_MAX_KERNELS &&
		   strcmp(avail[navail - 1]->name, "scalar") == 0,
		   "RvSimdAvailable lists %d implementations ending with scalar", navail);
	{
		const RvKernels *one[1] = {NULL};
		int			again = RvSimdAvailable(one, 1);

		TestOk(again == navail && one[0] == avail[0],
			   "RvSimdAvailable honours max and returns the total count");
	}

	for (int i = 0; i < nt; i++)
	{
		/* Emulated tables are never installed as rv_kernels in a server. */
		TestPrimitives(&tk[i]);
		TestTwoPiece(&tk[i]);
		TestCodes(&tk[i]);
	}

	TestEncoders();
	TestRabitq(128, 0, 1);
	TestRabitq(128, 1, 2);
	TestRabitq(784, 0, 3);
	TestRabitq(784, 1, 4);
	TestRabitq(100, 0, 5);
	TestRabitq(300, 1, 6);
	return test_failed > 0 ? 1 : 0;
}
