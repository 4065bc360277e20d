/* placeholder: replaced by the SIMD kernels work (issue 2 section 4) */
#include "postgres.h"
#include <math.h>
#include "simd/rv_simd.h"

static float
scalar_l2sq(const float *a, const float *b, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += (a[i] - b[i]) * (a[i] - b[i]);
	return s;
}

static float
scalar_dot(const float *a, const float *b, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

static float
scalar_l1(const float *a, const float *b, int n)
{
	float		s = 0;

	for (int i = 0; i < n; i++)
		s += fabsf(a[i] - b[i]);
	return s;
}

static void
scalar_dot_norms(const float *a, const float *b, int n, float *d, float *aa, float *bb)
{
	*d = scalar_dot(a, b, n);
	*aa = scalar_dot(a, a, n);
	*bb = scalar_dot(b, b, n);
}

static const RvKernels scalar = {"scalar", scalar_l2sq, scalar_dot, scalar_l1, scalar_dot_norms};
const RvKernels *rv_kernels = &scalar;

void
RvSimdInit(void)
{
}

int
RvSimdAvailable(const RvKernels **out, int max)
{
	if (max > 0)
		out[0] = &scalar;
	return 1;
}

float
RvL2SquaredDistance(const float *a, const float *b0, int n0, const float *b1, int n1)
{
	return rv_kernels->l2sq(a, b0, n0) + (n1 ? rv_kernels->l2sq(a + n0, b1, n1) : 0);
}

float
RvInnerProduct(const float *a, const float *b0, int n0, const float *b1, int n1)
{
	return rv_kernels->dot(a, b0, n0) + (n1 ? rv_kernels->dot(a + n0, b1, n1) : 0);
}

float
RvL1Distance(const float *a, const float *b0, int n0, const float *b1, int n1)
{
	return rv_kernels->l1(a, b0, n0) + (n1 ? rv_kernels->l1(a + n0, b1, n1) : 0);
}

float
RvCosineDistance(const float *a, const float *b0, int n0, const float *b1, int n1)
{
	float		d, aa, bb, d2 = 0, aa2 = 0, bb2 = 0;
	double		sim;

	rv_kernels->dot_norms(a, b0, n0, &d, &aa, &bb);
	if (n1)
		rv_kernels->dot_norms(a + n0, b1, n1, &d2, &aa2, &bb2);
	sim = (double) (d + d2) / sqrt((double) (aa + aa2) * (double) (bb + bb2));
	if (sim > 1)
		sim = 1;
	else if (sim < -1)
		sim = -1;
	return 1 - sim;
}

float
RvCosineDistanceNorms(const float *a, float anorm, const float *b0, int n0,
					  const float *b1, int n1, float bnorm)
{
	double		sim = (double) RvInnerProduct(a, b0, n0, b1, n1) / ((double) anorm * bnorm);

	if (sim > 1)
		sim = 1;
	else if (sim < -1)
		sim = -1;
	return 1 - sim;
}
