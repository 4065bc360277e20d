/*-------------------------------------------------------------------------
 *
 * vector_io.c
 *	  Text and binary I/O of the ruvector type and its type modifier:
 *	  ruvector_in, ruvector_out, ruvector_typmod_in, ruvector_recv,
 *	  ruvector_send.
 *
 * The formats, checks, messages and SQLSTATEs are pgvector's, so that data
 * and error handling carry over unchanged:
 *	text	'[1,2.5,-3]': whitespace allowed around elements and brackets,
 *			elements parsed with strtof like float4in, but a value below
 *			float4's range becomes zero (or a subnormal) instead of an
 *			error, as pgvector 0.8.6 does (the parsing itself is
 *			vector_parse.c, free of PostgreSQL so it can be fuzzed),
 *			output in the shortest form that reads back exactly;
 *	binary	int16 dim, int16 unused (must be 0), dim float4, network order.
 *
 * Invariant: nothing leaves these functions unless it passes the same
 * checks (dim in range, typmod, finite elements); received vref bytes are
 * rejected with an internal error like every other vref.  The output
 * functions reject a vref the same way, except during logical decoding
 * (HistoricSnapshotActive()), where they emit the documented placeholder
 * of rv_vector.h (RV_VREF_PLACEHOLDER_FMT / the vref's binary image).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "toast/rv_vector.h"
#include "toast/vector_parse.h"

static void RvSyntaxError(const char *lit, const char *detail)
			pg_attribute_noreturn();

/*
 * RvSyntaxError: "invalid input syntax for type vector" for lit, with an
 * optional detail line.
 */
static void
RvSyntaxError(const char *lit, const char *detail)
{
	if (detail != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", lit),
				 errdetail_internal("%s", detail)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type vector: \"%s\"", lit)));
}

/*
 * RvVectorParse: parses the text form lit into x[] (room for RV_MAX_DIM
 * floats) with the pure parser of vector_parse.c and returns the number of
 * elements.  Raises pgvector's errors: syntax (22P02), overflow of
 * float4 (22003), NaN/Infinity (22000), no element (22000), too many
 * elements (54000).
 */
static int
RvVectorParse(char *lit, float *x)
{
	RvParseResult res;

	RvVectorParseText(lit, x, RV_MAX_DIM, &res);

	switch (res.status)
	{
		case RV_PARSE_OK:
			break;
		case RV_PARSE_NO_BRACKET:
			RvSyntaxError(lit, "Vector contents must start with \"[\".");
			break;
		case RV_PARSE_NO_ELEMENT:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("vector must have at least 1 dimension")));
			break;
		case RV_PARSE_TOO_MANY:
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("vector cannot have more than %d dimensions",
							RV_MAX_DIM)));
			break;
		case RV_PARSE_SYNTAX:
			RvSyntaxError(lit, NULL);
			break;
		case RV_PARSE_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type vector",
							pnstrdup(lit + res.err_start, res.err_len))));
			break;
		case RV_PARSE_NAN:
			RvCheckElement(NAN);
			break;
		case RV_PARSE_INFINITE:
			RvCheckElement(INFINITY);
			break;
		case RV_PARSE_JUNK:
			RvSyntaxError(lit, "Junk after closing right brace.");
			break;
	}

	/* Every failure above raised an error; a bad code must not pass. */
	if (res.status != RV_PARSE_OK)
		elog(ERROR, "unexpected vector parse status %d", (int) res.status);

	return res.dim;
}

/*
 * RvDecodingVref: true when v (detoasted, any header form) holds vref
 * bytes and logical decoding is running (a historic snapshot is active),
 * with the vref's store number and vid; false otherwise, leaving the vref
 * to RvVectorCheck's error.  Decoding reads heap tuples of ruvector tables
 * from WAL, so it is the one place where a vref legitimately reaches the
 * type: its store cannot be read under a historic snapshot (it is no
 * catalog), hence a placeholder.
 */
static bool
RvDecodingVref(const RuVector *v, int16 *storeno, uint64 *vid)
{
	const struct varlena *vl = (const struct varlena *) v;
	RvVref		ref;

	if (!RvIsVref(vl) || !HistoricSnapshotActive())
		return false;
	memcpy(&ref, VARDATA_ANY(vl), sizeof(RvVref));
	*storeno = ref.attnum;
	*vid = ((uint64) ref.vid_hi << 32) | ref.vid_lo;
	return true;
}

PG_FUNCTION_INFO_V1(ruvector_in);

/*
 * ruvector_in(cstring, oid, int4 typmod) -> ruvector: parses '[x1,...,xn]'.
 * Errors as RvVectorParse, plus "expected N dimensions, not M" for typmod.
 */
Datum
ruvector_in(PG_FUNCTION_ARGS)
{
	char	   *lit = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	float	   *x;
	int			dim;
	RuVector   *result;

	x = (float *) palloc(sizeof(float) * RV_MAX_DIM);
	dim = RvVectorParse(lit, x);
	RvCheckDim(dim);
	RvCheckExpectedDim(typmod, dim);

	result = InitRuVector(dim);
	memcpy(result->x, x, sizeof(float) * dim);
	pfree(x);

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_out);

/*
 * ruvector_out(ruvector) -> cstring: '[x1,...,xn]', each element in the
 * shortest decimal form that reads back to the same float4.  During
 * logical decoding a vref prints as RV_VREF_PLACEHOLDER_FMT; anywhere else
 * it raises "unresolved ruvector reference" (XX000).
 */
Datum
ruvector_out(PG_FUNCTION_ARGS)
{
	RuVector   *v = DatumGetRuVector(PG_GETARG_DATUM(0));
	char	   *buf;
	char	   *ptr;
	int16		storeno;
	uint64		vid;

	if (RvDecodingVref(v, &storeno, &vid))
		PG_RETURN_CSTRING(psprintf(RV_VREF_PLACEHOLDER_FMT, storeno, vid));
	RvVectorCheck(v);

	/* each element with its separator, plus '[', ']' and '\0' */
	buf = (char *) palloc((Size) FLOAT_SHORTEST_DECIMAL_LEN * v->dim + 2);
	ptr = buf;

	*ptr++ = '[';
	for (int i = 0; i < v->dim; i++)
	{
		if (i > 0)
			*ptr++ = ',';
		ptr += float_to_shortest_decimal_bufn(v->x[i], ptr);
	}
	*ptr++ = ']';
	*ptr = '\0';

	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(ruvector_typmod_in);

/*
 * ruvector_typmod_in(cstring[]) -> int4: the n of ruvector(n), 1..16000.
 * Errors (22023): "invalid type modifier", "dimensions for type vector must
 * be at least 1", "dimensions for type vector cannot exceed 16000".
 */
Datum
ruvector_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *ta = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *tl;
	int			n;

	tl = ArrayGetIntegerTypmods(ta, &n);

	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier")));

	if (*tl < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector must be at least 1")));

	if (*tl > RV_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector cannot exceed %d",
						RV_MAX_DIM)));

	PG_RETURN_INT32(*tl);
}

PG_FUNCTION_INFO_V1(ruvector_recv);

/*
 * ruvector_recv(internal StringInfo, oid, int4 typmod) -> ruvector: reads
 * int16 dim, int16 unused, dim float4.  Rejects vref bytes (internal
 * error), bad dims, typmod mismatch, unused != 0 and non-finite elements
 * with pgvector's errors; a short message raises protocol_violation.
 */
Datum
ruvector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	RuVector   *result;
	int16		dim;
	int16		unused;

	dim = (int16) pq_getmsgint(buf, sizeof(int16));
	unused = (int16) pq_getmsgint(buf, sizeof(int16));

	/*
	 * The binary image of a vref starts with its marker where dim goes (as
	 * logical decoding sends it): input that is not a vector.
	 */
	if (dim == RV_VREF_MARKER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unresolved ruvector reference"),
				 errdetail("The binary value holds a ruvector table's vector reference, not a vector.")));

	RvCheckDim(dim);
	RvCheckExpectedDim(typmod, dim);

	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));

	result = InitRuVector(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		RvCheckElement(result->x[i]);
	}

	PG_RETURN_RUVECTOR_P(result);
}

PG_FUNCTION_INFO_V1(ruvector_send);

/*
 * ruvector_send(ruvector) -> bytea: int16 dim, int16 unused, dim float4.
 * During logical decoding a vref is sent as int16 RV_VREF_MARKER, int16
 * store number, int64 vid (which ruvector_recv refuses, 22P03); anywhere else it
 * raises "unresolved ruvector reference" (XX000).
 */
Datum
ruvector_send(PG_FUNCTION_ARGS)
{
	RuVector   *v = DatumGetRuVector(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int16		storeno;
	uint64		vid;

	if (RvDecodingVref(v, &storeno, &vid))
	{
		pq_begintypsend(&buf);
		pq_sendint16(&buf, RV_VREF_MARKER);
		pq_sendint16(&buf, storeno);
		pq_sendint64(&buf, vid);
		PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
	}
	RvVectorCheck(v);

	pq_begintypsend(&buf);
	pq_sendint16(&buf, v->dim);
	pq_sendint16(&buf, v->unused);
	for (int i = 0; i < v->dim; i++)
		pq_sendfloat4(&buf, v->x[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
