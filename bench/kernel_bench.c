/*-------------------------------------------------------------------------
 *
 * kernel_bench.c
 *	  Microbenchmark of the distance kernels (make bench-kernels): for every
 *	  implementation this CPU can run, the time per distance of
 *	  RvL2SquaredDistance, RvInnerProduct, RvL1Distance and RvCosineDistance
 *	  (no precomputed norms) at 128, 768 and 1536 dimensions.
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
	rv_kernels = avail[0];
	printf("\nchecksum %.6g\n", checksum);
	return 0;
}
