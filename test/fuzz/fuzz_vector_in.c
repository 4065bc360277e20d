/*-------------------------------------------------------------------------
 *
 * fuzz_vector_in.c
 *	  libFuzzer harness for the ruvector text parser (src/toast/
 *	  vector_parse.c, the pure part of ruvector_in), built with
 *	  -fsanitize=fuzzer,address,undefined by test/fuzz/build.sh.
 *
 * Each input is parsed as a NUL-terminated string twice: with room for
 * RV_MAX_DIM (16000) floats and with room for only 4, each buffer
 * allocated exactly so that AddressSanitizer catches any write past it.
 * Aborts (a "crash" for libFuzzer) when an invariant fails:
 *	- status is a known code; on success 1 <= dim <= maxdim and every
 *	  element is finite; on out-of-range the token lies inside the input;
 *	- the small parse agrees with the large one (same result when the
 *	  large one found at most 4 elements, "too many" when it found more);
 *	- every accepted vector, printed with %.9g and parsed again, reads back
 *	  bit for bit.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toast/vector_parse.h"

#define FUZZ_MAX_DIM	16000
#define FUZZ_SMALL_DIM	4

static void
check(int cond, const char *what)
{
	if (!cond)
	{
		fprintf(stderr, "fuzz_vector_in: invariant failed: %s\n", what);
		abort();
	}
}

static void
check_result(const char *lit, size_t len, const float *x, int maxdim,
			 const RvParseResult *r)
{
	check(r->status >= RV_PARSE_OK && r->status <= RV_PARSE_JUNK,
		  "known status");
	if (r->status == RV_PARSE_OK)
	{
		check(r->dim >= 1 && r->dim <= maxdim, "1 <= dim <= maxdim");
		for (int i = 0; i < r->dim; i++)
			check(isfinite(x[i]), "finite elements");
	}
	if (r->status == RV_PARSE_OUT_OF_RANGE)
		check(r->err_start >= 0 && r->err_len > 0 &&
			  (size_t) r->err_start + r->err_len <= len,
			  "out-of-range token inside the input");
	(void) lit;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *lit;
	float	   *big;
	float	   *small;
	RvParseResult rb;
	RvParseResult rs;
	size_t		len;

	/* The server hands ruvector_in a NUL-terminated C string. */
	lit = malloc(size + 1);
	memcpy(lit, data, size);
	lit[size] = '\0';
	len = strlen(lit);

	big = malloc(sizeof(float) * FUZZ_MAX_DIM);
	small = malloc(sizeof(float) * FUZZ_SMALL_DIM);

	RvVectorParseText(lit, big, FUZZ_MAX_DIM, &rb);
	check_result(lit, len, big, FUZZ_MAX_DIM, &rb);
	RvVectorParseText(lit, small, FUZZ_SMALL_DIM, &rs);
	check_result(lit, len, small, FUZZ_SMALL_DIM, &rs);

	if (rb.status == RV_PARSE_OK && rb.dim > FUZZ_SMALL_DIM)
		check(rs.status == RV_PARSE_TOO_MANY, "small buffer: too many");
	else if (rb.status == RV_PARSE_OK)
	{
		check(rs.status == RV_PARSE_OK && rs.dim == rb.dim,
			  "small buffer: same result");
		check(memcmp(small, big, sizeof(float) * rb.dim) == 0,
			  "small buffer: same values");
	}

	/* Round trip through %.9g, which is exact for float4. */
	if (rb.status == RV_PARSE_OK)
	{
		char	   *out = malloc((size_t) rb.dim * 20 + 3);
		char	   *p = out;
		float	   *again = malloc(sizeof(float) * rb.dim);
		RvParseResult r2;

		*p++ = '[';
		for (int i = 0; i < rb.dim; i++)
			p += sprintf(p, "%s%.9g", i > 0 ? "," : "", (double) big[i]);
		*p++ = ']';
		*p = '\0';
		RvVectorParseText(out, again, rb.dim, &r2);
		check(r2.status == RV_PARSE_OK && r2.dim == rb.dim,
			  "printed vector parses");
		check(memcmp(again, big, sizeof(float) * rb.dim) == 0,
			  "printed vector reads back bit for bit");
		free(again);
		free(out);
	}

	free(small);
	free(big);
	free(lit);
	return 0;
}
