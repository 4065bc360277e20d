/*-------------------------------------------------------------------------
 *
 * vector_parse.c
 *	  The pure text parser of the ruvector type (see vector_parse.h): string
 *	  to dimension count and floats, or an error code.  No PostgreSQL
 *	  headers, no allocation, no longjmp, so that test/fuzz can run it under
 *	  libFuzzer with AddressSanitizer and UBSan.
 *
 * Grammar (pgvector's): optional whitespace, '[', one or more elements
 * separated by ',' (whitespace allowed around each), ']', optional
 * whitespace.  Whitespace is what array_in accepts.  Checks run in this
 * order, per element: element count limit, empty element, strtof syntax,
 * float4 range (overflow or underflow to zero), NaN, infinity.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "toast/vector_parse.h"

/*
 * RvIsSpace: the whitespace that array_in accepts (its helper is static).
 */
static inline bool
RvIsSpace(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' ||
		ch == '\r' || ch == '\v' || ch == '\f';
}

/* Sets result to status and returns. */
#define RV_PARSE_FAIL(_status) \
	do { result->status = (_status); return; } while (0)

void
RvVectorParseText(const char *lit, float *x, int maxdim,
				  RvParseResult *result)
{
	const char *pt = lit;
	int			dim = 0;

	result->status = RV_PARSE_OK;
	result->dim = 0;
	result->err_start = 0;
	result->err_len = 0;

	while (RvIsSpace(*pt))
		pt++;

	if (*pt != '[')
		RV_PARSE_FAIL(RV_PARSE_NO_BRACKET);
	pt++;

	while (RvIsSpace(*pt))
		pt++;

	if (*pt == ']')
		RV_PARSE_FAIL(RV_PARSE_NO_ELEMENT);

	for (;;)
	{
		float		val;
		char	   *end;

		if (dim == maxdim)
			RV_PARSE_FAIL(RV_PARSE_TOO_MANY);

		while (RvIsSpace(*pt))
			pt++;

		/* An empty element, as float4in sees it */
		if (*pt == '\0')
			RV_PARSE_FAIL(RV_PARSE_SYNTAX);

		/* strtof, like float4in, avoids double rounding */
		errno = 0;
		val = strtof(pt, &end);
		if (end == pt)
			RV_PARSE_FAIL(RV_PARSE_SYNTAX);

		/* Overflow and true underflow (to zero), like float4in */
		if (errno == ERANGE && (val == 0.0f || isinf(val)))
		{
			result->err_start = (int) (pt - lit);
			result->err_len = (int) (end - pt);
			RV_PARSE_FAIL(RV_PARSE_OUT_OF_RANGE);
		}

		if (isnan(val))
			RV_PARSE_FAIL(RV_PARSE_NAN);
		if (isinf(val))
			RV_PARSE_FAIL(RV_PARSE_INFINITE);

		x[dim++] = val;
		pt = end;

		while (RvIsSpace(*pt))
			pt++;

		if (*pt == ',')
			pt++;
		else if (*pt == ']')
		{
			pt++;
			break;
		}
		else
			RV_PARSE_FAIL(RV_PARSE_SYNTAX);
	}

	while (RvIsSpace(*pt))
		pt++;

	if (*pt != '\0')
		RV_PARSE_FAIL(RV_PARSE_JUNK);

	result->dim = dim;
}
