/*-------------------------------------------------------------------------
 *
 * fuzz_kernels.c
 *	  libFuzzer harness for the SIMD distance kernels (src/simd), built
 *	  with -fsanitize=fuzzer,address,undefined by test/fuzz/build.sh,
 *	  together with the AVX-512F and NEON kernels compiled for SIMDe
 *	  emulation.
 *
 * Input layout: byte 0 picks a start offset (0..15 floats) and byte 1 the
 * split point of the two-piece entry points; the rest is read as int16
 * pairs, each element a[i] = int16 / 256 and b[i] likewise (finite,
 * |x| <= 128, so sums cannot overflow and the error bound is meaningful).
 * a and b live in exactly sized heap blocks (any read past the end is an
 * AddressSanitizer report), and the two-piece stored vector in two
 * separate blocks.  Aborts when a kernel of any implementation this CPU
 * runs (plus the emulated ones) differs from a double reference by more
 * than the worst-case float summation bound (n + 4) * 2^-22 * sum |term|,
 * when the two-piece results differ from one-piece ones by more than that,
 * or when cosine distance leaves [0, 2] (or is not NaN for a zero vector).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd/rv_simd_kernels.h"

#ifdef RV_TEST_EMULATED
extern const RvKernels rv_kernels_avx512_emulated;
extern const RvKernels rv_kernels_neon_emulated;
#endif

#define FUZZ_MAX_N	4096

static void
check(int cond, const char *kernel, const char *what, int n)
{
	if (!cond)
	{
		fprintf(stderr, "fuzz_kernels: %s: %s (n = %d)\n", kernel, what, n);
		abort();
	}
}

/* |got - want| within the summation bound for n terms of magnitude mag. */
static int
close_enough(double got, double want, double mag, int n)
{
	double		tol = (n + 4) * ldexp(1.0, -22) * mag + 1e-30;

	return fabs(got - want) <= tol;
}

static void
check_kernels(const RvKernels *k, const float *a, const float *b, int n)
{
	double		l2 = 0,
				dot = 0,
				dotmag = 0,
				l1 = 0,
				aa = 0,
				bb = 0;
	float		fdot,
				faa,
				fbb;

	for (int i = 0; i < n; i++)
	{
		double		d = (double) a[i] - b[i];

		l2 += d * d;
		l1 += fabs(d);
		dot += (double) a[i] * b[i];
		dotmag += fabs((double) a[i] * b[i]);
		aa += (double) a[i] * a[i];
		bb += (double) b[i] * b[i];
	}

	check(close_enough(k->l2sq(a, b, n), l2, l2, n), k->name, "l2sq", n);
	check(close_enough(k->l1(a, b, n), l1, l1, n), k->name, "l1", n);
	check(close_enough(k->dot(a, b, n), dot, dotmag, n), k->name, "dot", n);
	k->dot_norms(a, b, n, &fdot, &faa, &fbb);
	check(close_enough(fdot, dot, dotmag, n), k->name, "dot_norms dot", n);
	check(close_enough(faa, aa, aa, n), k->name, "dot_norms aa", n);
	check(close_enough(fbb, bb, bb, n), k->name, "dot_norms bb", n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const RvKernels *impls[RV_SIMD_MAX_KERNELS + 2];
	static int	nimpls = -1;
	int			n,
				off,
				split;
	float	   *abuf,
			   *bbuf,
			   *a,
			   *b,
			   *b0,
			   *b1;
	int			azero = 1,
				bzero = 1;
	double		mag = 0;

	if (nimpls < 0)
	{
		nimpls = RvSimdAvailable(impls, RV_SIMD_MAX_KERNELS);
#ifdef RV_TEST_EMULATED
		impls[nimpls++] = &rv_kernels_avx512_emulated;
		impls[nimpls++] = &rv_kernels_neon_emulated;
#endif
	}

	if (size < 2)
		return 0;
	off = data[0] % 16;
	n = (int) ((size - 2) / 4);
	if (n > FUZZ_MAX_N)
		n = FUZZ_MAX_N;
	split = n > 0 ? data[1] % (n + 1) : 0;
	data += 2;

	/* Exactly sized: a starts off floats into its block and ends at its end */
	abuf = malloc(sizeof(float) * (n + off));
	bbuf = malloc(sizeof(float) * (n + off));
	a = abuf + off;
	b = bbuf + off;
	for (int i = 0; i < n; i++)
	{
		int16_t		va = (int16_t) (data[4 * i] | (data[4 * i + 1] << 8));
		int16_t		vb = (int16_t) (data[4 * i + 2] | (data[4 * i + 3] << 8));

		a[i] = va / 256.0f;
		b[i] = vb / 256.0f;
		azero &= va == 0;
		bzero &= vb == 0;
	}

	for (int k = 0; k < nimpls; k++)
		check_kernels(impls[k], a, b, n);

	/* Two-piece entry points (dispatched kernels) against one piece. */
	b0 = malloc(sizeof(float) * split);
	b1 = malloc(sizeof(float) * (n - split));
	memcpy(b0, b, sizeof(float) * split);
	memcpy(b1, b + split, sizeof(float) * (n - split));
	for (int i = 0; i < n; i++)
		mag += fabs((double) a[i]) * 256 + (double) a[i] * a[i] + 16384;

	check(close_enough(RvL2SquaredDistance(a, b0, split, b1, n - split),
					   RvL2SquaredDistance(a, b, n, NULL, 0), mag, n),
		  rv_kernels->name, "two-piece l2sq", n);
	check(close_enough(RvInnerProduct(a, b0, split, b1, n - split),
					   RvInnerProduct(a, b, n, NULL, 0), mag, n),
		  rv_kernels->name, "two-piece inner product", n);
	check(close_enough(RvL1Distance(a, b0, split, b1, n - split),
					   RvL1Distance(a, b, n, NULL, 0), mag, n),
		  rv_kernels->name, "two-piece l1", n);
	{
		float		c = RvCosineDistance(a, b0, split, b1, n - split);

		if (azero || bzero)
			check(isnan(c), rv_kernels->name, "cosine of a zero vector is NaN", n);
		else
			check(c >= 0.0f && c <= 2.0f, rv_kernels->name, "cosine in [0, 2]", n);
	}

	free(b1);
	free(b0);
	free(bbuf);
	free(abuf);
	return 0;
}
