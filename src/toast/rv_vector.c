/*-------------------------------------------------------------------------
 *
 * rv_vector.c
 *	  Construction and validation of ruvector values shared by every
 *	  function of the type (and by the table AM and index): InitRuVector,
 *	  RvVectorCheck, RvDatumGetVector, the dimension/element checks with
 *	  pgvector's error wording, and the btree comparison.
 *
 * Invariant: a value that passed RvVectorCheck() has 1 <= dim <= RV_MAX_DIM
 * and a varlena size of exactly RUVECTOR_SIZE(dim); a vref never passes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "ruvector_tam.h"
#include "toast/rv_memory.h"
#include "toast/rv_vector.h"

/*
 * RvTypeInit: called from _PG_init.  The type keeps no settings or hooks,
 * so there is nothing to set up; kept as the layer's init entry point.
 */
void
RvTypeInit(void)
{
}

/*
 * InitRuVector: a zeroed vector of dim dimensions (caller checked dim) in
 * CurrentMemoryContext, allocated through the accounted allocator.
 */
RuVector *
InitRuVector(int dim)
{
	Size		size = RUVECTOR_SIZE(dim);
	RuVector   *result;

	Assert(dim >= 1 && dim <= RV_MAX_DIM);
	result = (RuVector *) RvMemAlloc0(size);
	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

/*
 * RvVectorCheck: raises ERRCODE_INTERNAL_ERROR on vref bytes and
 * ERRCODE_DATA_CORRUPTED on any other value that cannot be a vector.
 * v must be detoasted (any header form is accepted for the vref test).
 */
void
RvVectorCheck(const RuVector *v)
{
	const struct varlena *vl = (const struct varlena *) v;

	if (RvIsVref(vl))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("unresolved ruvector reference"),
				 errdetail("A vector reference escaped its ruvector table.")));

	if (VARATT_IS_EXTENDED(vl) ||
		v->dim < 1 || v->dim > RV_MAX_DIM ||
		VARSIZE(vl) != RUVECTOR_SIZE(v->dim))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid ruvector value"),
				 errdetail("Dimension %d and size %u do not describe a vector.",
						   (int) v->dim, (unsigned int) VARSIZE_ANY(vl))));
}

/*
 * RvDatumGetVector: detoasts d and checks it; returns the vector.
 */
RuVector *
RvDatumGetVector(Datum d)
{
	RuVector   *v = DatumGetRuVector(d);

	RvVectorCheck(v);
	return v;
}

/*
 * RvCheckDim: "vector must have at least 1 dimension" (22000) or "vector
 * cannot have more than 16000 dimensions" (54000).
 */
void
RvCheckDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));

	if (dim > RV_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions",
						RV_MAX_DIM)));
}

/*
 * RvCheckExpectedDim: "expected N dimensions, not M" (22000) unless typmod
 * is -1 (unconstrained) or equals dim.
 */
void
RvCheckExpectedDim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

/*
 * RvCheckDims: "different vector dimensions A and B" (22000).
 */
void
RvCheckDims(const RuVector *a, const RuVector *b)
{
	RvCheckDimCounts(a->dim, b->dim);
}

/* RvCheckDimCounts: RvCheckDims for dimension counts adim and bdim. */
void
RvCheckDimCounts(int adim, int bdim)
{
	if (adim != bdim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", adim, bdim)));
}

/*
 * RvCheckElement: "NaN not allowed in vector" or "infinite value not
 * allowed in vector" (both 22000).
 */
void
RvCheckElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));

	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}

/*
 * RvVectorCmp: -1, 0 or 1.  Elements are compared first and dimensions
 * last, like PostgreSQL arrays, so vectors of different dims still order.
 */
int
RvVectorCmp(const RuVector *a, const RuVector *b)
{
	int			dim = Min(a->dim, b->dim);

	for (int i = 0; i < dim; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}

	if (a->dim < b->dim)
		return -1;
	if (a->dim > b->dim)
		return 1;
	return 0;
}
