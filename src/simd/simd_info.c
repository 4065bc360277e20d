/*-------------------------------------------------------------------------
 *
 * simd_info.c
 *	  SQL function ruvector_simd_info(): which distance kernels this backend
 *	  uses, which it could use, and the CPU features that decided it.
 *
 * This is the only file of src/simd that includes PostgreSQL headers; the
 * kernels and the dispatcher stay free of them (see rv_simd_kernels.h).
 * It only reads the dispatcher's state and never changes it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "simd/rv_simd_kernels.h"

PG_FUNCTION_INFO_V1(ruvector_simd_info);

/*
 * ruvector_simd_info() -> jsonb:
 *	 {"arch": "x86_64",
 *	  "active": "avx2+fma",
 *	  "available": ["avx2+fma", "sse2", "scalar"],		(best first)
 *	  "cpu": {"sse2": true, "avx2": true, "fma": true, "avx512f": false,
 *			  "neon": false}}
 * "active" is always available[0]; "available" lists the kernels compiled
 * into this build that this CPU can run and always ends with "scalar".
 */
Datum
ruvector_simd_info(PG_FUNCTION_ARGS)
{
	const RvKernels *avail[RV_SIMD_MAX_KERNELS];
	const RvSimdCpu *cpu;
	StringInfoData buf;
	int			n;

	RvSimdInit();
	cpu = RvSimdCpuFeatures();
	n = RvSimdAvailable(avail, RV_SIMD_MAX_KERNELS);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"arch\": \"%s\", \"active\": \"%s\", \"available\": [",
					 RV_SIMD_ARCH_NAME, rv_kernels->name);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? ", " : "", avail[i]->name);
	appendStringInfo(&buf,
					 "], \"cpu\": {\"sse2\": %s, \"avx2\": %s, \"fma\": %s, "
					 "\"avx512f\": %s, \"neon\": %s}}",
					 cpu->sse2 ? "true" : "false",
					 cpu->avx2 ? "true" : "false",
					 cpu->fma ? "true" : "false",
					 cpu->avx512f ? "true" : "false",
					 cpu->neon ? "true" : "false");

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
