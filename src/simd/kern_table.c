/*-------------------------------------------------------------------------
 *
 * kern_table.c
 *	  One ISA's kernel table, rv_kernels_<isa> (RvKernels, rv_simd.h),
 *	  gathering the functions of that ISA's kern_<family>_<isa>.o objects.
 *	  Compiled once per ISA like the family sources (rv_simd_isa.h).
 *
 * The table is constant data with no initializer code, so linking it is
 * safe on any CPU; its functions may be called only when the dispatcher
 * (simd_dispatch.c) found the ISA on this CPU.
 *
 *-------------------------------------------------------------------------
 */
#include "simd/rv_simd_isa.h"

const RvKernels RV_MANGLE(rv_kernels) = {
	RV_ISA_NAME,
	RV_MANGLE(rv_f32_l2sq),
	RV_MANGLE(rv_f32_dot),
	RV_MANGLE(rv_f32_l1),
	RV_MANGLE(rv_f32_dot_norms),
	RV_MANGLE(rv_bf16_l2sq),
	RV_MANGLE(rv_bf16_dot),
	RV_MANGLE(rv_bf16_dot_norms),
	RV_MANGLE(rv_sq8_l2sq),
	RV_MANGLE(rv_sq8_dot),
	RV_MANGLE(rv_sq8_dot_u8s8),
	RV_MANGLE(rv_sq8_dot_u8s7),
	RV_MANGLE(rv_sq8_int_query_max),
	RV_MANGLE(rv_rabitq_bitdot4),
	RV_MANGLE(rv_rabitq_agree8)
};
