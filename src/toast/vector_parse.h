/*-------------------------------------------------------------------------
 *
 * vector_parse.h
 *	  The text form of a ruvector ('[1,2.5,-3]') parsed into floats, with no
 *	  PostgreSQL dependency: the result is a code, never an ereport, so the
 *	  parser links unchanged into standalone fuzzers (test/fuzz).
 *
 * vector_io.c (ruvector_in) turns each code into pgvector's message and
 * SQLSTATE; the codes are listed in the order the parser detects them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_VECTOR_PARSE_H
#define RV_VECTOR_PARSE_H

typedef enum RvParseStatus
{
	RV_PARSE_OK = 0,
	RV_PARSE_NO_BRACKET,		/* 22P02, detail: must start with "[" */
	RV_PARSE_NO_ELEMENT,		/* 22000: at least 1 dimension */
	RV_PARSE_TOO_MANY,			/* 54000: more than maxdim elements */
	RV_PARSE_SYNTAX,			/* 22P02, no detail */
	RV_PARSE_OUT_OF_RANGE,		/* 22003: overflow; token err_start/err_len */
	RV_PARSE_NAN,				/* 22000: NaN not allowed */
	RV_PARSE_INFINITE,			/* 22000: infinite value not allowed */
	RV_PARSE_JUNK				/* 22P02, detail: junk after "]" */
} RvParseStatus;

typedef struct RvParseResult
{
	RvParseStatus status;
	int			dim;			/* RV_PARSE_OK: number of elements */
	int			err_start;		/* RV_PARSE_OUT_OF_RANGE: offset in lit */
	int			err_len;		/* ... and length of the offending token */
} RvParseResult;

/*
 * RvVectorParseText: parses the NUL-terminated lit into x[] (room for maxdim
 * floats).  On success status is RV_PARSE_OK and 1 <= dim <= maxdim; x[] then
 * holds finite values only.  Elements are read with strtof (like float4in;
 * the caller runs with LC_NUMERIC C); a value that underflows float4 is
 * kept as strtof returns it (subnormal or signed zero), an overflow is
 * RV_PARSE_OUT_OF_RANGE.  Never reads past the terminating NUL
 * and never writes past x[maxdim - 1].
 */
extern void RvVectorParseText(const char *lit, float *x, int maxdim,
							  RvParseResult *result);

#endif							/* RV_VECTOR_PARSE_H */
