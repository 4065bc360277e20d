/*-------------------------------------------------------------------------
 *
 * vector_agg.c
 *	  The avg(ruvector) aggregate: transition (vector_accum), parallel
 *	  combine (vector_combine) and final function (vector_avg), with
 *	  pgvector's SQL names, results and errors; the C symbols carry a
 *	  ruvector_ prefix (ruvector_accum, ruvector_combine, ruvector_avg).
 *	  sum(ruvector) needs no code of its own: it is vector_add both as
 *	  transition and as combine function (see vector_ops.c).
 *
 * The state is a float8[] {n, s1, ..., sdim}: the count and the running
 * sums in double precision, like pgvector's (and float4_accum's) state.
 * The initial state '{0}' has no sums; its dimension is fixed by the first
 * vector.  A float8[] state needs no serialization for parallel plans.
 *
 * Invariant: every state array has one dimension, no nulls, at least one
 * element, and n = 0 exactly when it holds no sums.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/float.h"

#include "toast/rv_vector.h"

#define RV_STATE_DIM(a)		(ARR_DIMS(a)[0] - 1)

/*
 * RvStateValues: the float8 values of a state array, after checking its
 * shape; caller names the SQL function for the internal error.
 */
static float8 *
RvStateValues(ArrayType *state, const char *caller)
{
	if (ARR_NDIM(state) != 1 ||
		ARR_DIMS(state)[0] < 1 ||
		ARR_HASNULL(state) ||
		ARR_ELEMTYPE(state) != FLOAT8OID)
		elog(ERROR, "%s: expected state array", caller);
	return (float8 *) ARR_DATA_PTR(state);
}

/*
 * RvStateBuild: a new state array from n and dim sums.
 */
static ArrayType *
RvStateBuild(float8 n, const float8 *sums, int dim)
{
	Datum	   *datums = (Datum *) palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *result;

	datums[0] = Float8GetDatum(n);
	for (int i = 0; i < dim; i++)
		datums[i + 1] = Float8GetDatum(sums[i]);
	result = construct_array(datums, dim + 1, FLOAT8OID, sizeof(float8),
							 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(datums);
	return result;
}

PG_FUNCTION_INFO_V1(ruvector_accum);

/*
 * vector_accum(float8[] state, ruvector) -> float8[]: adds the vector to
 * the state.  Raises "expected N dimensions, not M" when dims differ and
 * "value out of range: overflow" when a sum overflows.
 */
Datum
ruvector_accum(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	RuVector   *v = PG_GETARG_RUVECTOR_CHECKED(1);
	float8	   *values = RvStateValues(state, "vector_accum");
	int			dim = RV_STATE_DIM(state);
	float8	   *sums;
	ArrayType  *result;

	if (dim == 0)
		dim = v->dim;
	else
		RvCheckExpectedDim(dim, v->dim);

	sums = (float8 *) palloc(sizeof(float8) * dim);
	for (int i = 0; i < dim; i++)
	{
		sums[i] = (RV_STATE_DIM(state) == 0 ? 0.0 : values[i + 1]) +
			(double) v->x[i];
		if (isinf(sums[i]))
			float_overflow_error();
	}

	result = RvStateBuild(values[0] + 1.0, sums, dim);
	pfree(sums);

	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_combine);

/*
 * vector_combine(float8[], float8[]) -> float8[] (C symbol
 * ruvector_combine): merges two partial states of avg (parallel
 * aggregation), as pgvector's vector_combine does.  A state with n = 0
 * contributes nothing and the other is returned as it is, after its
 * dimension count passed RvCheckDim; otherwise the dims must agree and
 * the sums are added.  Raises "vector_combine: expected state array"
 * (XX000) on a malformed state, RvCheckDim's errors, "expected N
 * dimensions, not M" (22000) and "value out of range: overflow" (22003).
 *
 * One deliberate difference: two initial states ('{0}', '{0}') combine
 * to '{0}', where pgvector 0.8.6 raises "vector must have at least 1
 * dimension".  The executor makes exactly that call whenever a parallel
 * worker's share of avg() holds no row (the finalize step starts from
 * INITCOND '{0}'), so pgvector's check would fail ordinary queries such
 * as a parallel avg over a filter that matches nothing.
 */
Datum
ruvector_combine(PG_FUNCTION_ARGS)
{
	ArrayType  *state1 = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType  *state2 = PG_GETARG_ARRAYTYPE_P(1);
	float8	   *values1 = RvStateValues(state1, "vector_combine");
	float8	   *values2 = RvStateValues(state2, "vector_combine");
	int			dim;
	float8	   *sums;
	ArrayType  *result;

	if (values1[0] == 0.0)
	{
		/* nothing on either side: the empty state (see above) */
		if (values2[0] == 0.0 && RV_STATE_DIM(state2) == 0)
			PG_RETURN_ARRAYTYPE_P(RvStateBuild(0.0, NULL, 0));
		RvCheckDim(RV_STATE_DIM(state2));
		PG_RETURN_ARRAYTYPE_P(RvStateBuild(values2[0], values2 + 1,
										   RV_STATE_DIM(state2)));
	}
	if (values2[0] == 0.0)
	{
		RvCheckDim(RV_STATE_DIM(state1));
		PG_RETURN_ARRAYTYPE_P(RvStateBuild(values1[0], values1 + 1,
										   RV_STATE_DIM(state1)));
	}

	dim = RV_STATE_DIM(state1);
	RvCheckDim(dim);
	RvCheckExpectedDim(dim, RV_STATE_DIM(state2));

	sums = (float8 *) palloc(sizeof(float8) * dim);
	for (int i = 0; i < dim; i++)
	{
		sums[i] = values1[i + 1] + values2[i + 1];
		if (isinf(sums[i]))
			float_overflow_error();
	}
	result = RvStateBuild(values1[0] + values2[0], sums, dim);
	pfree(sums);

	PG_RETURN_ARRAYTYPE_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_avg);

/*
 * vector_avg(float8[]) -> ruvector (C symbol ruvector_avg): the
 * elementwise mean, or NULL when no rows were aggregated (SQL's avg of
 * nothing).  Raises "vector_avg: expected state array" (XX000) on a
 * malformed state, RvCheckDim's errors when the state's sums do not form
 * a valid vector, and RvCheckElement's when a mean is not finite.
 */
Datum
ruvector_avg(PG_FUNCTION_ARGS)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(0);
	float8	   *values = RvStateValues(state, "vector_avg");
	float8		n = values[0];
	int			dim = RV_STATE_DIM(state);
	RuVector   *result;

	if (n == 0.0)
		PG_RETURN_NULL();

	RvCheckDim(dim);
	result = InitRuVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (float) (values[i + 1] / n);
		RvCheckElement(result->x[i]);
	}

	PG_RETURN_RUVECTOR_P(result);
}
