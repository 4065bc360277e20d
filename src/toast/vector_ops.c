/*-------------------------------------------------------------------------
 *
 * vector_ops.c
 *	  Functions and operators of the ruvector type, matching pgvector's:
 *	  distances (l2_distance, inner_product, cosine_distance, l1_distance
 *	  and the operator forms <->, <#>, <=>, <+>), vector_dims, vector_norm,
 *	  l2_normalize, subvector, binary_quantize, the arithmetic operators
 *	  + - * and || (concatenation), and the btree comparison family.
 *
 * Distances go through the kernels of src/simd/rv_simd.h (one-piece form:
 * b1 = NULL, n1 = 0) and return float8 like pgvector.  Arithmetic raises
 * "value out of range: overflow/underflow" (22003) instead of producing a
 * non-finite or flushed element, so every result is a valid vector.
 *
 * Invariant: every vector argument is read with PG_GETARG_RUVECTOR_CHECKED
 * (vrefs and malformed values are rejected before use).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/float.h"
#include "utils/varbit.h"

#include "simd/rv_simd.h"
#include "toast/rv_memory.h"
#include "toast/rv_vector.h"

/* ---- distances ---- */

/*
 * RvVectorDistance: see rv_vector.h.  The single definition of every
 * distance's value: the SQL functions below and the exact k-NN scan both
 * call it, so a scan's ranking equals the SQL expression's value exactly.
 */
double
RvVectorDistance(RvDistanceKind kind, const float *a, const float *b, int n)
{
	switch (kind)
	{
		case RV_DIST_L2:
			return sqrt((double) RvL2SquaredDistance(a, b, n, NULL, 0));
		case RV_DIST_L2_SQUARED:
			return (double) RvL2SquaredDistance(a, b, n, NULL, 0);
		case RV_DIST_INNER_PRODUCT:
			return (double) RvInnerProduct(a, b, n, NULL, 0);
		case RV_DIST_NEG_INNER_PRODUCT:
			return -(double) RvInnerProduct(a, b, n, NULL, 0);
		case RV_DIST_COSINE:
			return (double) RvCosineDistance(a, b, n, NULL, 0);
		case RV_DIST_L1:
			return (double) RvL1Distance(a, b, n, NULL, 0);
		case RV_DIST_NONE:
			break;
	}
	elog(ERROR, "unknown ruvector distance kind %d", (int) kind);
	return 0.0;					/* keep compiler quiet */
}

/* The C symbol of each distance's SQL function, by kind. */
static const struct
{
	const char *symbol;
	RvDistanceKind kind;
}			rv_distance_symbols[] = {
	{"ruvector_l2_distance", RV_DIST_L2},
	{"ruvector_l2_squared_distance", RV_DIST_L2_SQUARED},
	{"ruvector_inner_product", RV_DIST_INNER_PRODUCT},
	{"ruvector_negative_inner_product", RV_DIST_NEG_INNER_PRODUCT},
	{"ruvector_cosine_distance", RV_DIST_COSINE},
	{"ruvector_l1_distance", RV_DIST_L1},
};

/* RvDistanceKindFromSymbol: see rv_vector.h. */
RvDistanceKind
RvDistanceKindFromSymbol(const char *symbol)
{
	for (int i = 0; i < lengthof(rv_distance_symbols); i++)
		if (strcmp(symbol, rv_distance_symbols[i].symbol) == 0)
			return rv_distance_symbols[i].kind;
	return RV_DIST_NONE;
}

/* A distance function: two checked vectors of equal dims, then the value. */
static Datum
RvDistanceCall(FunctionCallInfo fcinfo, RvDistanceKind kind)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	RuVector   *b = PG_GETARG_RUVECTOR_CHECKED(1);

	RvCheckDims(a, b);
	PG_RETURN_FLOAT8(RvVectorDistance(kind, a->x, b->x, a->dim));
}

PG_FUNCTION_INFO_V1(ruvector_l2_distance);

/*
 * l2_distance(ruvector, ruvector) -> float8: Euclidean distance; also the
 * <-> operator.  Raises "different vector dimensions A and B" (22000), as
 * every distance function does.
 */
Datum
ruvector_l2_distance(PG_FUNCTION_ARGS)
{
	return RvDistanceCall(fcinfo, RV_DIST_L2);
}

PG_FUNCTION_INFO_V1(ruvector_l2_squared_distance);

/*
 * vector_l2_squared_distance(ruvector, ruvector) -> float8: squared
 * Euclidean distance (index support: same order as <->, no sqrt).
 */
Datum
ruvector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	return RvDistanceCall(fcinfo, RV_DIST_L2_SQUARED);
}

PG_FUNCTION_INFO_V1(ruvector_inner_product);

/* inner_product(ruvector, ruvector) -> float8: sum of a[i] * b[i]. */
Datum
ruvector_inner_product(PG_FUNCTION_ARGS)
{
	return RvDistanceCall(fcinfo, RV_DIST_INNER_PRODUCT);
}

PG_FUNCTION_INFO_V1(ruvector_negative_inner_product);

/*
 * vector_negative_inner_product(ruvector, ruvector) -> float8: minus the
 * inner product; the <#> operator (smaller is closer).
 */
Datum
ruvector_negative_inner_product(PG_FUNCTION_ARGS)
{
	return RvDistanceCall(fcinfo, RV_DIST_NEG_INNER_PRODUCT);
}

PG_FUNCTION_INFO_V1(ruvector_cosine_distance);

/*
 * cosine_distance(ruvector, ruvector) -> float8: 1 - cos(a, b) in [0, 2];
 * NaN when either vector is zero; also the <=> operator.
 */
Datum
ruvector_cosine_distance(PG_FUNCTION_ARGS)
{
	return RvDistanceCall(fcinfo, RV_DIST_COSINE);
}

PG_FUNCTION_INFO_V1(ruvector_l1_distance);

/*
 * l1_distance(ruvector, ruvector) -> float8: sum of |a[i] - b[i]|; also
 * the <+> operator.
 */
Datum
ruvector_l1_distance(PG_FUNCTION_ARGS)
{
	return RvDistanceCall(fcinfo, RV_DIST_L1);
}

/* ---- single-vector functions ---- */

PG_FUNCTION_INFO_V1(ruvector_dims);

/*
 * vector_dims(ruvector) -> int4: the number of dimensions.
 */
Datum
ruvector_dims(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);

	PG_RETURN_INT32(a->dim);
}

/*
 * RvVectorNorm: the L2 norm of v, accumulated in double.
 */
static double
RvVectorNorm(const RuVector *v)
{
	double		norm = 0.0;

	for (int i = 0; i < v->dim; i++)
		norm += (double) v->x[i] * (double) v->x[i];
	return sqrt(norm);
}

PG_FUNCTION_INFO_V1(ruvector_norm);

/*
 * vector_norm(ruvector) -> float8: the Euclidean (L2) norm.
 */
Datum
ruvector_norm(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);

	PG_RETURN_FLOAT8(RvVectorNorm(a));
}

PG_FUNCTION_INFO_V1(ruvector_l2_normalize);

/*
 * l2_normalize(ruvector) -> ruvector: a / ||a||; the zero vector stays
 * zero.  Raises "value out of range: overflow" if an element overflows.
 */
Datum
ruvector_l2_normalize(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	double		norm = RvVectorNorm(a);
	RuVector   *result = InitRuVector(a->dim);

	if (norm > 0)
	{
		for (int i = 0; i < a->dim; i++)
		{
			result->x[i] = (float) ((double) a->x[i] / norm);
			if (isinf(result->x[i]))
				float_overflow_error();
		}
	}

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_subvector);

/*
 * subvector(ruvector, int4 start, int4 count) -> ruvector: count elements
 * from the 1-based position start, clipped to the vector like substring().
 * Raises "vector must have at least 1 dimension" when nothing remains.
 */
Datum
ruvector_subvector(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end = start + count;	/* exclusive; int64: no overflow */
	RuVector   *result;
	int			dim;

	if (start < 1)
		start = 1;
	if (end > (int64) a->dim + 1)
		end = (int64) a->dim + 1;
	if (end <= start)
		RvCheckDim(0);

	dim = (int) (end - start);
	RvCheckDim(dim);
	result = InitRuVector(dim);
	memcpy(result->x, a->x + (start - 1), sizeof(float) * dim);

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_binary_quantize);

/*
 * binary_quantize(ruvector) -> bit(dim): bit i is 1 when x[i] > 0.
 */
Datum
ruvector_binary_quantize(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	int			len = VARBITTOTALLEN(a->dim);
	VarBit	   *result = (VarBit *) palloc0(len);
	bits8	   *rx = VARBITS(result);

	SET_VARSIZE(result, len);
	VARBITLEN(result) = a->dim;
	for (int i = 0; i < a->dim; i++)
	{
		if (a->x[i] > 0)
			rx[i / BITS_PER_BYTE] |= (bits8) (0x80 >> (i % BITS_PER_BYTE));
	}

	PG_RETURN_VARBIT_P(result);
}

/* ---- arithmetic ---- */

PG_FUNCTION_INFO_V1(ruvector_add);

/*
 * vector_add(ruvector, ruvector) -> ruvector: elementwise sum; the +
 * operator and the sum() transition.  Raises on overflow.
 */
Datum
ruvector_add(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	RuVector   *b = PG_GETARG_RUVECTOR_CHECKED(1);
	RuVector   *result;

	RvCheckDims(a, b);
	result = InitRuVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		result->x[i] = a->x[i] + b->x[i];
		if (isinf(result->x[i]))
			float_overflow_error();
	}

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_sub);

/*
 * vector_sub(ruvector, ruvector) -> ruvector: elementwise difference; the
 * - operator.  Raises on overflow.
 */
Datum
ruvector_sub(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	RuVector   *b = PG_GETARG_RUVECTOR_CHECKED(1);
	RuVector   *result;

	RvCheckDims(a, b);
	result = InitRuVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		result->x[i] = a->x[i] - b->x[i];
		if (isinf(result->x[i]))
			float_overflow_error();
	}

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_mul);

/*
 * vector_mul(ruvector, ruvector) -> ruvector: elementwise product; the *
 * operator.  Raises on overflow, and on underflow (a non-zero product that
 * rounds to zero).
 */
Datum
ruvector_mul(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	RuVector   *b = PG_GETARG_RUVECTOR_CHECKED(1);
	RuVector   *result;

	RvCheckDims(a, b);
	result = InitRuVector(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		result->x[i] = a->x[i] * b->x[i];
		if (isinf(result->x[i]))
			float_overflow_error();
		if (result->x[i] == 0 && !(a->x[i] == 0 || b->x[i] == 0))
			float_underflow_error();
	}

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_concat);

/*
 * vector_concat(ruvector, ruvector) -> ruvector: a's elements followed by
 * b's; the || operator.  Raises "vector cannot have more than 16000
 * dimensions" (54000).
 */
Datum
ruvector_concat(PG_FUNCTION_ARGS)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	RuVector   *b = PG_GETARG_RUVECTOR_CHECKED(1);
	RuVector   *result;

	RvCheckDim(a->dim + b->dim);
	result = InitRuVector(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);

	PG_RETURN_RUVECTOR_P(result);
}

/* ---- btree comparison ---- */

/*
 * RvCompareArgs: RvVectorCmp of the two checked arguments.
 */
static int
RvCompareArgs(FunctionCallInfo fcinfo)
{
	RuVector   *a = PG_GETARG_RUVECTOR_CHECKED(0);
	RuVector   *b = PG_GETARG_RUVECTOR_CHECKED(1);
	int			cmp = RvVectorCmp(a, b);

	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return cmp;
}

PG_FUNCTION_INFO_V1(ruvector_lt);
PG_FUNCTION_INFO_V1(ruvector_le);
PG_FUNCTION_INFO_V1(ruvector_eq);
PG_FUNCTION_INFO_V1(ruvector_ne);
PG_FUNCTION_INFO_V1(ruvector_ge);
PG_FUNCTION_INFO_V1(ruvector_gt);
PG_FUNCTION_INFO_V1(ruvector_cmp);

/* vector_lt(ruvector, ruvector) -> bool: a < b in btree order */
Datum
ruvector_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RvCompareArgs(fcinfo) < 0);
}

/* vector_le(ruvector, ruvector) -> bool: a <= b in btree order */
Datum
ruvector_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RvCompareArgs(fcinfo) <= 0);
}

/* vector_eq(ruvector, ruvector) -> bool: same dim and elements */
Datum
ruvector_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RvCompareArgs(fcinfo) == 0);
}

/* vector_ne(ruvector, ruvector) -> bool: not vector_eq */
Datum
ruvector_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RvCompareArgs(fcinfo) != 0);
}

/* vector_ge(ruvector, ruvector) -> bool: a >= b in btree order */
Datum
ruvector_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RvCompareArgs(fcinfo) >= 0);
}

/* vector_gt(ruvector, ruvector) -> bool: a > b in btree order */
Datum
ruvector_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(RvCompareArgs(fcinfo) > 0);
}

/* vector_cmp(ruvector, ruvector) -> int4: -1, 0 or 1 (btree support 1) */
Datum
ruvector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(RvCompareArgs(fcinfo));
}
