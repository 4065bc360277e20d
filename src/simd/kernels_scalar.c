/*-------------------------------------------------------------------------
 *
 * kernels_scalar.c
 *	  Plain C distance kernels: the portable baseline every build has, and
 *	  the fallback when the CPU offers none of the SIMD implementations.
 *
 * Inputs are float arrays of n >= 0 elements with only 4-byte alignment;
 * n == 0 yields 0 without touching memory.  Four independent accumulators
 * per sum shorten the dependency chain and keep float rounding error well
 * inside the 1e-5 relative bound of rv_simd.h up to 16000 dimensions.
 * Needs only the C library (see rv_simd_kernels.h).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "simd/rv_simd_kernels.h"

/* sum (a[i] - b[i])^2 over n floats */
static float
RvSimdL2SqScalar(const float *a, const float *b, int n)
{
	float		s0 = 0.0f,
				s1 = 0.0f,
				s2 = 0.0f,
				s3 = 0.0f;
	int			i = 0;

	for (; i + 4 <= n; i += 4)
	{
		float		d0 = a[i] - b[i];
		float		d1 = a[i + 1] - b[i + 1];
		float		d2 = a[i + 2] - b[i + 2];
		float		d3 = a[i + 3] - b[i + 3];

		s0 += d0 * d0;
		s1 += d1 * d1;
		s2 += d2 * d2;
		s3 += d3 * d3;
	}
	for (; i < n; i++)
	{
		float		d = a[i] - b[i];

		s0 += d * d;
	}
	return (s0 + s1) + (s2 + s3);
}

/* sum a[i] * b[i] over n floats */
static float
RvSimdDotScalar(const float *a, const float *b, int n)
{
	float		s0 = 0.0f,
				s1 = 0.0f,
				s2 = 0.0f,
				s3 = 0.0f;
	int			i = 0;

	for (; i + 4 <= n; i += 4)
	{
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/* sum |a[i] - b[i]| over n floats */
static float
RvSimdL1Scalar(const float *a, const float *b, int n)
{
	float		s0 = 0.0f,
				s1 = 0.0f,
				s2 = 0.0f,
				s3 = 0.0f;
	int			i = 0;

	for (; i + 4 <= n; i += 4)
	{
		s0 += fabsf(a[i] - b[i]);
		s1 += fabsf(a[i + 1] - b[i + 1]);
		s2 += fabsf(a[i + 2] - b[i + 2]);
		s3 += fabsf(a[i + 3] - b[i + 3]);
	}
	for (; i < n; i++)
		s0 += fabsf(a[i] - b[i]);
	return (s0 + s1) + (s2 + s3);
}

/* *dot = sum a*b, *aa = sum a*a, *bb = sum b*b over n floats, one pass */
static void
RvSimdDotNormsScalar(const float *a, const float *b, int n,
					 float *dot, float *aa, float *bb)
{
	float		d0 = 0.0f,
				d1 = 0.0f,
				x0 = 0.0f,
				x1 = 0.0f,
				y0 = 0.0f,
				y1 = 0.0f;
	int			i = 0;

	for (; i + 2 <= n; i += 2)
	{
		d0 += a[i] * b[i];
		d1 += a[i + 1] * b[i + 1];
		x0 += a[i] * a[i];
		x1 += a[i + 1] * a[i + 1];
		y0 += b[i] * b[i];
		y1 += b[i + 1] * b[i + 1];
	}
	if (i < n)
	{
		d0 += a[i] * b[i];
		x0 += a[i] * a[i];
		y0 += b[i] * b[i];
	}
	*dot = d0 + d1;
	*aa = x0 + x1;
	*bb = y0 + y1;
}

const RvKernels rv_kernels_scalar = {
	"scalar",
	RvSimdL2SqScalar,
	RvSimdDotScalar,
	RvSimdL1Scalar,
	RvSimdDotNormsScalar
};
