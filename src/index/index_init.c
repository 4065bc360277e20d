/*-------------------------------------------------------------------------
 *
 * index_init.c
 *	  Load-time setup of the index layer (src/index): the ruhnsw reloption
 *	  kind with m and ef_construction, and the ruvector.* settings that
 *	  steer ruhnsw scans.  Called once per backend from _PG_init.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "utils/guc.h"

#include "index/ruhnsw.h"
#include "index/ruhnsw_verify.h"
#include "ruvector_tam.h"

int			ruhnsw_ef_search = RUHNSW_DEFAULT_EF_SEARCH;
int			ruhnsw_iterative_scan = RUHNSW_ITERATIVE_OFF;
int			ruhnsw_max_scan_tuples = 20000;
relopt_kind ruhnsw_relopt_kind;

static const struct config_enum_entry ruhnsw_iterative_scan_options[] = {
	{"off", RUHNSW_ITERATIVE_OFF, false},
	{"relaxed_order", RUHNSW_ITERATIVE_RELAXED, false},
	{"strict_order", RUHNSW_ITERATIVE_STRICT, false},
	{NULL, 0, false}
};

/*
 * RvIndexInit: registers the ruhnsw reloptions, ruhnsw's check with
 * ruvector_verify, and the ruvector.ef_search, ruvector.iterative_scan and
 * ruvector.max_scan_tuples settings, and
 * reserves the "ruvector" prefix.
 */
void
RvIndexInit(void)
{
	ruhnsw_relopt_kind = add_reloption_kind();
	add_int_reloption(ruhnsw_relopt_kind, "m", "Max number of connections",
					  RUHNSW_DEFAULT_M, RUHNSW_MIN_M, RUHNSW_MAX_M, AccessExclusiveLock);
	add_int_reloption(ruhnsw_relopt_kind, "ef_construction",
					  "Size of the dynamic candidate list for construction",
					  RUHNSW_DEFAULT_EF_CONSTRUCTION, RUHNSW_MIN_EF_CONSTRUCTION,
					  RUHNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);

	DefineCustomIntVariable("ruvector.ef_search",
							"Sets the size of the dynamic candidate list for ruhnsw searches.",
							"Valid range is 1..1000.", &ruhnsw_ef_search,
							RUHNSW_DEFAULT_EF_SEARCH, RUHNSW_MIN_EF_SEARCH,
							RUHNSW_MAX_EF_SEARCH, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("ruvector.iterative_scan",
							 "Sets whether ruhnsw scans continue when a filter discards results.",
							 NULL, &ruhnsw_iterative_scan, RUHNSW_ITERATIVE_OFF,
							 ruhnsw_iterative_scan_options, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.max_scan_tuples",
							"Sets the maximum number of candidates an iterative ruhnsw scan visits.",
							NULL, &ruhnsw_max_scan_tuples, 20000, 1, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("ruvector");

	/* ruvector_verify checks ruhnsw indexes through this registration */
	RvRegisterIndexVerifier(RUHNSW_AM_NAME, RuhnswVerify);
}
