/*-------------------------------------------------------------------------
 *
 * rv_vector.h
 *	  The ruvector value: varlena layout (identical to pgvector's vector),
 *	  and the in-row vector reference (vref) that a ruvector table stores in
 *	  its heap tuples instead of the vector.
 *
 * Layout of a vector datum (4-byte varlena header, never compressed inline
 * by us; STORAGE external):
 *		int32	vl_len_		varlena header
 *		int16	dim			1 .. RV_MAX_DIM
 *		int16	unused		always 0
 *		float4	x[dim]		finite values only
 *
 * Layout of a vref datum (RV_VREF_SIZE bytes with a 4-byte header; heap may
 * store it with a 1-byte short header, so read it with VARDATA_ANY):
 *		int32	vl_len_
 *		int16	marker		RV_VREF_MARKER: negative, never a valid dim
 *		int16	attnum		the store number (storeno) of the table's store holding
 *							the vector (the field's name is historical)
 *		uint64	vid			store-local vector id (unaligned in the tuple)
 *
 * Invariant: a vref never leaves the table AM as a value; every function of
 * the type that reads a vector calls RvVectorCheck(), which raises an
 * internal error on vref bytes (and on any other impossible dim).  The one
 * exception is logical decoding, which reads heap tuples straight from WAL
 * and hands their vrefs to the type's output functions: while a historic
 * snapshot is active (HistoricSnapshotActive()), ruvector_out and
 * ruvector_send turn a vref into the placeholder below instead of raising,
 * so that a decoding slot is never wedged by a ruvector table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_VECTOR_H
#define RV_VECTOR_H

#include "fmgr.h"

#define RV_MAX_DIM 16000

typedef struct RuVector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of dimensions */
	int16		unused;			/* reserved for future use, always zero */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} RuVector;

#define RUVECTOR_SIZE(_dim)		(offsetof(RuVector, x) + sizeof(float) * (_dim))
#define DatumGetRuVector(x)		((RuVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_RUVECTOR_P(x)	DatumGetRuVector(PG_GETARG_DATUM(x))
#define PG_RETURN_RUVECTOR_P(x)	PG_RETURN_POINTER(x)

/* The vector reference stored in heap tuples of ruvector tables. */
#define RV_VREF_MARKER		((int16) -0x5256)	/* "RV" */
typedef struct RvVref
{
	int16		marker;			/* RV_VREF_MARKER */
	int16		attnum;			/* store number (storeno), not a column */
	uint32		vid_lo;			/* vid split in two words: the datum is */
	uint32		vid_hi;			/* only 4-byte aligned in heap tuples */
} RvVref;
#define RV_VREF_SIZE		(VARHDRSZ + sizeof(RvVref))

/*
 * What logical decoding sees for a vref (docs/type.md, "Logical
 * decoding"): ruvector_out prints RV_VREF_PLACEHOLDER_FMT with the store
 * number and the vid, text that ruvector_in refuses (it does not start
 * with "["); ruvector_send sends int16 RV_VREF_MARKER (where a vector has
 * its dim), int16 store number, int64 vid, which ruvector_recv refuses as
 * "unresolved ruvector reference".
 */
#define RV_VREF_PLACEHOLDER_FMT	"<ruvector ref store=%d vid=" UINT64_FORMAT ">"

/*
 * True if the varlena (any header form, not toasted) holds a vref.  With a
 * 1-byte header the payload may sit at any address: read the marker with
 * memcpy, never through an RvVref pointer (misaligned access; UBSan).
 */
static inline bool
RvIsVref(const struct varlena *v)
{
	int16		marker;

	if (VARSIZE_ANY_EXHDR(v) != sizeof(RvVref))
		return false;
	memcpy(&marker, VARDATA_ANY(v), sizeof(marker));
	return marker == RV_VREF_MARKER;
}

/* Allocates a zeroed vector of dim dimensions (palloc, current context). */
extern RuVector *InitRuVector(int dim);

/*
 * Validates a detoasted vector read from anywhere: dim in 1..RV_MAX_DIM and
 * varlena size consistent.  Raises ERRCODE_INTERNAL_ERROR "unresolved
 * ruvector reference" on vref bytes, ERRCODE_DATA_CORRUPTED otherwise.
 */
extern void RvVectorCheck(const RuVector *v);

/*
 * Detoasts a ruvector datum and validates it with RvVectorCheck().  Returns
 * a pointer that may alias the datum (not toasted) or a fresh copy.  Every
 * SQL-callable function of the type reads its vector arguments this way.
 */
extern RuVector *RvDatumGetVector(Datum d);
#define PG_GETARG_RUVECTOR_CHECKED(n)	RvDatumGetVector(PG_GETARG_DATUM(n))

/*
 * Value checks shared by the type's functions; each raises pgvector's error
 * (message and SQLSTATE) when the check fails.
 *	RvCheckDim:			1 <= dim <= RV_MAX_DIM
 *	RvCheckExpectedDim:	typmod is -1 or equals dim
 *	RvCheckDims:		a and b have the same dim
 *	RvCheckDimCounts:	the same, given the two dims
 *	RvCheckElement:		value is finite
 */
extern void RvCheckDim(int dim);
extern void RvCheckExpectedDim(int32 typmod, int dim);
extern void RvCheckDims(const RuVector *a, const RuVector *b);
extern void RvCheckDimCounts(int adim, int bdim);
extern void RvCheckElement(float value);

/*
 * The distance functions of the type, as one enumeration so that code
 * ranking stored vectors (the exact k-NN scan of src/tam) computes
 * bit-for-bit the value the SQL function would: RvVectorDistance() is what
 * each SQL distance function returns.
 */
typedef enum RvDistanceKind
{
	RV_DIST_NONE = 0,
	RV_DIST_L2,					/* l2_distance, <-> */
	RV_DIST_L2_SQUARED,			/* vector_l2_squared_distance */
	RV_DIST_INNER_PRODUCT,		/* inner_product */
	RV_DIST_NEG_INNER_PRODUCT,	/* vector_negative_inner_product, <#> */
	RV_DIST_COSINE,				/* cosine_distance, <=> */
	RV_DIST_L1					/* l1_distance, <+> */
} RvDistanceKind;

/*
 * RvVectorDistance: distance kind between a[0..n) and b[0..n) (one piece
 * each, 4-byte aligned), as the SQL function returns it (float8).  The
 * caller has checked that both have n dimensions.
 */
extern double RvVectorDistance(RvDistanceKind kind, const float *a, const float *b, int n);

/*
 * RvDistanceKindFromSymbol: the kind whose SQL function is implemented by
 * the C symbol name (pg_proc.prosrc of this library), or RV_DIST_NONE.
 */
extern RvDistanceKind RvDistanceKindFromSymbol(const char *symbol);

/* Three-way btree comparison: elementwise, then by dim (like arrays). */
extern int	RvVectorCmp(const RuVector *a, const RuVector *b);

#endif							/* RV_VECTOR_H */
