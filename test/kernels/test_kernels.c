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

	/* 3 dispatch points, then 5 + 7 per implementation. */
	printf("1..%d\n", 3 + 12 * nt);

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
	}
	return test_failed > 0 ? 1 : 0;
}
