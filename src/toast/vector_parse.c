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
 * float4 overflow, NaN, infinity.  A value too small for float4 becomes
 * what strtof returns (a subnormal or a zero of the same sign), as in
 * pgvector 0.8.6 ('[1e-46]' reads as [0]); only overflow is an error.  Short
 * plain decimals (the bulk of real input) are converted without strtof,
 * to the same float (RvParseFast).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
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

static inline bool
RvIsDigit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/*
 * Exact powers of ten in float: 10^k = 2^k * 5^k with 5^k < 2^24 for
 * k <= 10, so each is representable without rounding.
 */
static const float rv_pow10f[] = {
	1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f
};

/*
 * RvParseFast: the common element forms, [+-]digits[.digits] (or
 * [+-].digits), without strtof.  Succeeds only when the significant
 * digits form an integer m <= 2^24 and there are at most 10 digits after
 * the point: m and 10^frac are then exact floats and m / 10^frac is one
 * correctly rounded IEEE single-precision division, the same float strtof
 * returns (Clinger's fast path).  Anything else (exponents, more digits,
 * inf, nan, hex, syntax errors) returns false and is left to strtof.
 * Needs float arithmetic evaluated in float (FLT_EVAL_METHOD 0).
 */
static inline bool
RvParseFast(const char *pt, float *val, char **endp)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
	const char *p = pt;
	bool		neg = false;
	uint32_t	m = 0;
	int			ndigits = 0;
	int			frac = 0;
	float		f;

	if (*p == '-' || *p == '+')
		neg = (*p++ == '-');
	if (!RvIsDigit(*p) && !(*p == '.' && RvIsDigit(p[1])))
		return false;
	for (; RvIsDigit(*p); p++)
	{
		if (m == 0 && *p == '0')
			continue;			/* leading zero */
		if (++ndigits > 8)
			return false;
		m = m * 10 + (uint32_t) (*p - '0');
	}
	if (*p == '.')
	{
		for (p++; RvIsDigit(*p); p++)
		{
			if (++frac > 10)
				return false;
			if (m == 0 && *p == '0')
				continue;		/* leading zero of the fraction */
			if (++ndigits > 8)
				return false;
			m = m * 10 + (uint32_t) (*p - '0');
		}
	}
	/* an exponent, or letters strtof might take: the slow path decides */
	if (*p == 'e' || *p == 'E' || *p == 'x' || *p == 'X' || m > (1U << 24))
		return false;
	f = (float) m;
	if (frac > 0)
		f = f / rv_pow10f[frac];
	*val = neg ? -f : f;
	*endp = (char *) p;
	return true;
#else
	return false;
#endif
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

		/* the common short decimals without strtof: the same floats */
		if (RvParseFast(pt, &val, &end))
		{
			x[dim++] = val;
			pt = end;
			goto separator;
		}

		/* strtof, like float4in, avoids double rounding */
		errno = 0;
		val = strtof(pt, &end);
		if (end == pt)
			RV_PARSE_FAIL(RV_PARSE_SYNTAX);

		/*
		 * Overflow only: on underflow strtof returns a subnormal or a signed
		 * zero, which is kept (pgvector's vector_in; float4in would refuse a
		 * zero)
		 */
		if (errno == ERANGE && isinf(val))
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

separator:
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
