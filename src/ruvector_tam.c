/*-------------------------------------------------------------------------
 *
 * ruvector_tam.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init, which registers every
 *	  layer's settings and hooks in dependency order (simd, toast, tam,
 *	  index).  Nothing here touches storage.
 *
 * Invariant: _PG_init runs once per backend and calls each layer's init
 * once (they are not idempotent: the index layer adds a reloption kind,
 * the scans chain the planner hook); each is safe to run in any backend
 * (the library is not required in shared_preload_libraries).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "ruvector_tam.h"
#include "simd/rv_simd.h"
#include "tam/scan/rv_colscan.h"
#include "tam/scan/rv_knn.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init: called once when the library is loaded into a backend.
 */
void
_PG_init(void)
{
	RvSimdInit();
	RvTypeInit();
	RvTamInit();
	RvKnnInit();
	RvColScanInit();
	RvIndexInit();
}

PG_FUNCTION_INFO_V1(ruvector_version);

/*
 * ruvector_version() -> text: the version of the loaded library, which may
 * differ from the installed extension script's during an upgrade.
 */
Datum
ruvector_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(RUVECTOR_TAM_VERSION));
}
