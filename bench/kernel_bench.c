/*-------------------------------------------------------------------------
 *
 * kernel_bench.c
 *	  Microbenchmark of the distance kernels (make bench-kernels): for every
 *	  implementation this CPU can run, the time per distance of
 *	  RvL2SquaredDistance, RvInnerProduct, RvL1Distance and RvCosineDistance
 *	  (no precomputed norms) at 128, 768 and 1536 dimensions; then the same
 *	  for the code representations of rv_simd.h: an f32 query against bf16
 *	  codes (L2, IP, cosine), SQ8 codes (L2, IP, cosine, query prepared
 *	  once) and 1-bit RaBitQ codes (squared L2 estimate with its bound,
 *	  4-bit query prepared once), plus the one-off cost of preparing a
 *	  RaBitQ query (rotation and quantization) and encoding one vector.
 *
 * Method: one query against 32 stored vectors laid out like a store page
 * (each starting on a 64-byte boundary), warm in cache; each cell runs
 * batches of at least 20 ms and reports the best of five, in nanoseconds per
 * distance through the public one-piece entry points (so the indirect call
 * is included, as in the server).  A checksum of all results is printed so
 * the compiler cannot drop the work.  Needs only the C library and the
 * src/simd sources; built by bench/bench-kernels.sh.
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simd/rv_simd_kernels.h"

#define NBASE		32
#define MIN_NS		20000000.0	/* shortest timed batch */
#define REPEATS		5

typedef float (*BenchDist) (const float *a, const float *b0, int n0,
							const float *b1, int n1);

static double checksum = 0.0;

static double BenchNow(void);

/* The code vectors and prepared queries the code benchmarks score. */
static struct
{
	int			dim;
	const float *q;
	uint16_t   *bf16;			/* NBASE x dim */
	uint8_t    *sq8;			/* NBASE x dim */
	RvSq8Params sq8p[NBASE];
	RvSq8Query	sq8q;
	uint64_t   *rbq;			/* NBASE x nwords */
	RvRabitqFactors rbqf[NBASE];
	RvRabitqQuery rbqq;
} bc;

static float
BenchBf16L2(int j)
{
	return RvBf16L2SquaredDistance(bc.q, bc.bf16 + (size_t) j * bc.dim, bc.dim);
}

static float
BenchBf16Ip(int j)
{
	return RvBf16InnerProduct(bc.q, bc.bf16 + (size_t) j * bc.dim, bc.dim);
}

static float
BenchBf16Cos(int j)
{
	return RvBf16CosineDistance(bc.q, bc.bf16 + (size_t) j * bc.dim, bc.dim);
}

static float
BenchSq8L2(int j)
{
	return RvSq8L2SquaredDistance(&bc.sq8q, bc.sq8 + (size_t) j * bc.dim, &bc.sq8p[j]);
}

static float
BenchSq8Ip(int j)
{
	return RvSq8InnerProduct(&bc.sq8q, bc.sq8 + (size_t) j * bc.dim, &bc.sq8p[j]);
}

static float
BenchSq8Cos(int j)
{
	return RvSq8CosineDistance(&bc.sq8q, bc.sq8 + (size_t) j * bc.dim, &bc.sq8p[j]);
}

static float
BenchRbqL2(int j)
{
	float		bound;
	float		est = RvRabitqL2Squared(&bc.rbqq, bc.rbq + (size_t) j * bc.rbqq.nwords,
										&bc.rbqf[j], RV_RABITQ_EPS0, &bound);

	return est + bound;
}

typedef float (*BenchCode) (int j);

/* Like BenchBatch for the code benchmarks. */
static double
BenchCodeBatch(BenchCode fn, long iters)
{
	double		t0 = BenchNow();
	float		acc = 0.0f;

	for (long it = 0; it < iters; it++)
		for (int j = 0; j < NBASE; j++)
			acc += fn(j);
	checksum += acc;
	return BenchNow() - t0;
}

/* Best-of-REPEATS nanoseconds per code distance. */
static double
BenchCodeCell(BenchCode fn)
{
	long		iters = 1;
	double		best = 0.0;

	while (BenchCodeBatch(fn, iters) < MIN_NS)
		iters *= 2;
	for (int r = 0; r < REPEATS; r++)
	{
		double		ns = BenchCodeBatch(fn, iters) / ((double) iters * NBASE);

		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

static double
BenchNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Runs iters passes over the base vectors; returns elapsed nanoseconds. */
static double
BenchBatch(BenchDist fn, const float *q, const float *base, int stride,
		   int dim, long iters)
{
	double		t0 = BenchNow();
	float		acc = 0.0f;

	for (long it = 0; it < iters; it++)
		for (int j = 0; j < NBASE; j++)
			acc += fn(q, base + (size_t) j * stride, dim, NULL, 0);
	checksum += acc;
	return BenchNow() - t0;
}

/* Best-of-REPEATS nanoseconds per distance. */
static double
BenchCell(BenchDist fn, const float *q, const float *base, int stride, int dim)
{
	long		iters = 1;
	double		best = 0.0;

	/* Warm up and size the batch to at least MIN_NS. */
	while (BenchBatch(fn, q, base, stride, dim, iters) < MIN_NS)
		iters *= 2;
	for (int r = 0; r < REPEATS; r++)
	{
		double		ns = BenchBatch(fn, q, base, stride, dim, iters) / ((double) iters * NBASE);

		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

int
main(void)
{
	static const int dims[] = {128, 768, 1536};
	static const char *const fnames[] = {"l2sq", "dot", "l1", "cosine"};
	const BenchDist fns[] = {RvL2SquaredDistance, RvInnerProduct, RvL1Distance, RvCosineDistance};
	const RvKernels *avail[RV_SIMD_MAX_KERNELS];
	const RvSimdCpu *cpu;
	int			navail;
	uint32_t	seed = 12345;

	RvSimdInit();
	cpu = RvSimdCpuFeatures();
	navail = RvSimdAvailable(avail, RV_SIMD_MAX_KERNELS);
	printf("arch %s; cpu: sse2=%d avx2=%d fma=%d avx512f=%d neon=%d; active: %s\n",
		   RV_SIMD_ARCH_NAME, cpu->sse2, cpu->avx2, cpu->fma, cpu->avx512f,
		   cpu->neon, rv_kernels->name);
	printf("ns per distance (best of %d, %d warm stored vectors, 64-byte aligned)\n\n",
		   REPEATS, NBASE);
	printf("%-10s %5s %9s %9s %9s %9s\n", "kernel", "dim", fnames[0], fnames[1], fnames[2], fnames[3]);

	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
	{
		int			dim = dims[d];
		int			stride = (dim + 15) / 16 * 16;
		void	   *qmem = NULL;
		void	   *bmem = NULL;
		float	   *q;
		float	   *base;

		if (posix_memalign(&qmem, 64, sizeof(float) * stride) != 0 ||
			posix_memalign(&bmem, 64, sizeof(float) * stride * NBASE) != 0)
		{
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		q = qmem;
		base = bmem;
		for (int i = 0; i < stride; i++)
		{
			seed = seed * 1664525u + 1013904223u;
			q[i] = (float) (seed >> 8) / (float) (1u << 24) - 0.5f;
		}
		for (int i = 0; i < stride * NBASE; i++)
		{
			seed = seed * 1664525u + 1013904223u;
			base[i] = (float) (seed >> 8) / (float) (1u << 24) - 0.5f;
		}

		for (int k = 0; k < navail; k++)
		{
			rv_kernels = avail[k];
			printf("%-10s %5d", avail[k]->name, dim);
			for (int f = 0; f < 4; f++)
				printf(" %9.2f", BenchCell(fns[f], q, base, stride, dim));
			printf("\n");
			fflush(stdout);
		}
		free(q);
		free(base);
	}
	/* The code representations. */
	printf("\nns per code distance (f32 query vs codes; query prepared once)\n\n");
	printf("%-10s %5s %9s %9s %9s %9s %9s %9s %9s\n", "kernel", "dim",
		   "bf16-l2", "bf16-ip", "bf16-cos", "sq8-l2", "sq8-ip", "sq8-cos", "rbq-l2");
	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++)
	{
		static const BenchCode cfns[] = {BenchBf16L2, BenchBf16Ip, BenchBf16Cos,
		BenchSq8L2, BenchSq8Ip, BenchSq8Cos, BenchRbqL2};
		int			dim = dims[d];
		int			pdim = RvRabitqPaddedDim(dim);
		float	   *q = malloc(sizeof(float) * dim);
		float	   *x = malloc(sizeof(float) * dim);
		float	   *scratch = malloc(sizeof(float) * pdim);
		uint64_t   *planes = malloc(sizeof(uint64_t) * 4 * (pdim / 64));
		double		t0,
					prep_ns,
					enc_ns;
		int			reps = 2000;

		bc.dim = dim;
		bc.bf16 = malloc(sizeof(uint16_t) * dim * NBASE);
		bc.sq8 = malloc((size_t) dim * NBASE);
		bc.rbq = malloc(sizeof(uint64_t) * (pdim / 64) * NBASE);
		if (!q || !x || !scratch || !planes || !bc.bf16 || !bc.sq8 || !bc.rbq)
		{
			fprintf(stderr, "out of memory\n");
			return 1;
		}
		for (int i = 0; i < dim; i++)
		{
			seed = seed * 1664525u + 1013904223u;
			q[i] = (float) (seed >> 8) / (float) (1u << 24) - 0.5f;
		}
		for (int j = 0; j < NBASE; j++)
		{
			for (int i = 0; i < dim; i++)
			{
				seed = seed * 1664525u + 1013904223u;
				x[i] = (float) (seed >> 8) / (float) (1u << 24) - 0.5f;
			}
			RvBf16Encode(x, dim, bc.bf16 + (size_t) j * dim);
			RvSq8Encode(x, dim, bc.sq8 + (size_t) j * dim, &bc.sq8p[j]);
			RvRabitqEncode(x, NULL, dim, 7, scratch, bc.rbq + (size_t) j * (pdim / 64), &bc.rbqf[j]);
		}
		bc.q = q;

		for (int k = 0; k < navail; k++)
		{
			rv_kernels = avail[k];
			RvSq8PrepareQuery(q, dim, &bc.sq8q);
			RvRabitqPrepareQuery(q, NULL, dim, 7, 11, scratch, planes, &bc.rbqq);
			printf("%-10s %5d", avail[k]->name, dim);
			for (size_t f = 0; f < sizeof(cfns) / sizeof(cfns[0]); f++)
				printf(" %9.2f", BenchCodeCell(cfns[f]));
			printf("\n");
			fflush(stdout);
		}
		rv_kernels = avail[0];

		/* One-off costs (plain C, no ISA choice): best of 3 x reps calls. */
		prep_ns = enc_ns = 0;
		for (int r = 0; r < 3; r++)
		{
			double		a,
						b;

			t0 = BenchNow();
			for (int i = 0; i < reps; i++)
				RvRabitqPrepareQuery(q, NULL, dim, 7, (uint64_t) i, scratch, planes, &bc.rbqq);
			a = (BenchNow() - t0) / reps;
			t0 = BenchNow();
			for (int i = 0; i < reps; i++)
				RvRabitqEncode(x, NULL, dim, 7, scratch, bc.rbq, &bc.rbqf[0]);
			b = (BenchNow() - t0) / reps;
			if (r == 0 || a < prep_ns)
				prep_ns = a;
			if (r == 0 || b < enc_ns)
				enc_ns = b;
		}
		checksum += bc.rbqq.sum_qu + bc.rbqf[0].popcount;
		printf("%-10s %5d  RaBitQ (P = %d): prepare query %.0f ns, encode vector %.0f ns\n",
			   "", dim, pdim, prep_ns, enc_ns);
		free(q);
		free(x);
		free(scratch);
		free(planes);
		free(bc.bf16);
		free(bc.sq8);
		free(bc.rbq);
	}

	rv_kernels = avail[0];
	printf("\nchecksum %.6g\n", checksum);
	return 0;
}
