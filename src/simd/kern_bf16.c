/*-------------------------------------------------------------------------
 *
 * kern_bf16.c
 *	  Distance kernels of an f32 query against a bf16 code vector (each
 *	  code is the top 16 bits of a float: value = code << 16 reinterpreted
 *	  as a float), written once on rv_simd_isa.h and compiled once per ISA
 *	  into kern_bf16_<isa>.o: kern_float_body.h's kernels with loads that
 *	  widen the codes.
 *
 * q is n >= 0 floats with 4-byte alignment, c is n uint16 codes with
 * 2-byte alignment; all loads are unaligned and the n % RV_VW tail is
 * copied through a zeroed buffer, so nothing past q[n-1] or c[n-1] is read.
 * Sums are accumulated in floats over the exactly widened codes, so the
 * result is within the f32 kernels' 1e-5 relative error of the double
 * distance to the decoded vector (the bf16 rounding itself is the
 * encoder's, see rv_simd.h).  Needs only the C library and SIMDe.
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_isa.h"

#define W RV_VW

/* Codes c[0..r), 0 < r < RV_VW, widened; the other lanes zero. */
static inline rv_vf
rv_load_bf16_tail(const uint16_t *c, int r)
{
	uint16_t	buf[RV_VW] = {0};

	memcpy(buf, c, sizeof(uint16_t) * r);
	return rv_load_bf16(buf);
}

#define RV_BODY_FN(name)		RV_MANGLE(rv_bf16_##name)
#define RV_BODY_T				uint16_t
#define RV_BODY_LOAD(p)			rv_load_bf16(p)
#define RV_BODY_LOAD_TAIL(p, r)	rv_load_bf16_tail(p, r)
#include "simd/kern_float_body.h"
