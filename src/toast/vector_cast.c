/*-------------------------------------------------------------------------
 *
 * vector_cast.c
 *	  Casts of the ruvector type: the typmod coercion ruvector(n), arrays
 *	  (integer[], real[], double precision[], numeric[]) to ruvector, and
 *	  ruvector to real[].
 *
 * Invariant: every vector produced here passes the same checks as input
 * (dim range, typmod, finite elements), with pgvector's messages.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "toast/rv_vector.h"

PG_FUNCTION_INFO_V1(ruvector_typmod_coerce);

/*
 * ruvector(ruvector, int4 typmod, bool explicit) -> ruvector: the length
 * coercion for ruvector(n); returns the argument, or raises "expected N
 * dimensions, not M" (22000).
 */
Datum
ruvector_typmod_coerce(PG_FUNCTION_ARGS)
{
	RuVector   *v = PG_GETARG_RUVECTOR_CHECKED(0);
	int32		typmod = PG_GETARG_INT32(1);

	RvCheckExpectedDim(typmod, v->dim);

	PG_RETURN_RUVECTOR_P(v);
}

PG_FUNCTION_INFO_V1(array_to_ruvector);

/*
 * array_to_ruvector(anyarray of int4/float4/float8/numeric, int4 typmod,
 * bool) -> ruvector.  Errors: "array must be 1-D" (22000), "array must not
 * contain nulls" (22004), dim and element checks, numeric out of float4
 * range as numeric_float4 raises it, "unsupported array type" (22000).
 */
Datum
array_to_ruvector(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	RuVector   *result;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			nelems;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));

	if (ARR_HASNULL(array) && array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	if (elemtype != INT4OID && elemtype != FLOAT4OID &&
		elemtype != FLOAT8OID && elemtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("unsupported array type")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, &nelems);

	RvCheckDim(nelems);
	RvCheckExpectedDim(typmod, nelems);

	result = InitRuVector(nelems);
	for (int i = 0; i < nelems; i++)
	{
		switch (elemtype)
		{
			case INT4OID:
				result->x[i] = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT4OID:
				result->x[i] = DatumGetFloat4(elems[i]);
				break;
			case FLOAT8OID:
				result->x[i] = (float) DatumGetFloat8(elems[i]);
				break;
			default:
				result->x[i] =
					DatumGetFloat4(DirectFunctionCall1(numeric_float4,
													   elems[i]));
				break;
		}
		RvCheckElement(result->x[i]);
	}

	/* elements of a by-reference type point into the array: keep them */
	pfree(elems);

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_to_float4);

/*
 * ruvector_to_float4(ruvector, int4, bool) -> real[]: the elements as a
 * one-dimensional array with lower bound 1.
 */
Datum
ruvector_to_float4(PG_FUNCTION_ARGS)
{
	RuVector   *v = PG_GETARG_RUVECTOR_CHECKED(0);
	Datum	   *datums;
	ArrayType  *result;

	datums = (Datum *) palloc(sizeof(Datum) * v->dim);
	for (int i = 0; i < v->dim; i++)
		datums[i] = Float4GetDatum(v->x[i]);

	result = construct_array(datums, v->dim, FLOAT4OID,
							 sizeof(float4), true, TYPALIGN_INT);
	pfree(datums);

	PG_RETURN_ARRAYTYPE_P(result);
}
