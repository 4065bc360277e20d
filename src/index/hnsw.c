/*-------------------------------------------------------------------------
 *
 * hnsw.c
 *	  The ruhnsw index access method's handler: the IndexAmRoutine, the
 *	  reloptions (m, ef_construction), the cost estimate and the build
 *	  phase names.
 *
 * The cost model follows pgvector's HNSW: an index path without ORDER BY
 * costs "infinity" (the index cannot answer plain scans), and an ordered
 * scan is charged for visiting about (entry level + 2) * m tuples, all of
 * it as startup cost since the search runs before the first tuple.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/amapi.h"
#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"

#include "index/ruhnsw.h"

PG_FUNCTION_INFO_V1(ruhnsw_handler);

/* RuhnswGetM: the index's m reloption (or its default). */
int
RuhnswGetM(Relation index)
{
	RuhnswOptions *opts = (RuhnswOptions *) index->rd_options;

	return opts ? opts->m : RUHNSW_DEFAULT_M;
}

/* RuhnswGetEfConstruction: the index's ef_construction (or its default). */
int
RuhnswGetEfConstruction(Relation index)
{
	RuhnswOptions *opts = (RuhnswOptions *) index->rd_options;

	return opts ? opts->ef_construction : RUHNSW_DEFAULT_EF_CONSTRUCTION;
}

static char *
ruhnswbuildphasename(int64 phasenum)
{
	switch (phasenum)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case PROGRESS_RUHNSW_PHASE_LOAD:
			return "loading tuples";
		default:
			return NULL;
	}
}

static void
ruhnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				   Cost *indexStartupCost, Cost *indexTotalCost,
				   Selectivity *indexSelectivity, double *indexCorrelation,
				   double *indexPages)
{
	GenericCosts costs;
	int			m;
	int			entryLevel;
	Relation	index;
	double		tuples = path->indexinfo->tuples;

	/* never use the index without an ORDER BY */
	if (path->indexorderbys == NIL)
	{
		*indexStartupCost = DBL_MAX;
		*indexTotalCost = DBL_MAX;
		*indexSelectivity = 0;
		*indexCorrelation = 0;
		*indexPages = 0;
		return;
	}

	MemSet(&costs, 0, sizeof(costs));
	index = index_open(path->indexinfo->indexoid, NoLock);
	m = RuhnswGetM(index);
	index_close(index, NoLock);

	entryLevel = tuples > 1 ? (int) (log(tuples) / log((double) m)) : 0;
	entryLevel = Min(entryLevel, RUHNSW_MAX_LEVEL);
	costs.numIndexTuples = (entryLevel + 2) * m;
	genericcostestimate(root, path, loop_count, &costs);

	/* most of the work happens before the first tuple */
	*indexStartupCost = costs.indexTotalCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = costs.indexCorrelation;
	*indexPages = costs.numIndexPages;
}

static bytea *
ruhnswoptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"m", RELOPT_TYPE_INT, offsetof(RuhnswOptions, m)},
		{"ef_construction", RELOPT_TYPE_INT, offsetof(RuhnswOptions, ef_construction)},
	};

	return (bytea *) build_reloptions(reloptions, validate, ruhnsw_relopt_kind,
									  sizeof(RuhnswOptions), tab, lengthof(tab));
}

static bool
ruhnswvalidate(Oid opclassoid)
{
	return true;
}

/* ruhnsw_handler: the SQL-callable index AM handler. */
Datum
ruhnsw_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = 0;
	amroutine->amsupport = 1;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = true;
	amroutine->amcanbackward = false;
	amroutine->amcanunique = false;
	amroutine->amcanmulticol = false;
	amroutine->amoptionalkey = true;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	amroutine->ampredlocks = false;
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = false;
	amroutine->amparallelvacuumoptions = 0;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = ruhnswbuild;
	amroutine->ambuildempty = ruhnswbuildempty;
	amroutine->aminsert = ruhnswinsert;
	amroutine->ambulkdelete = ruhnswbulkdelete;
	amroutine->amvacuumcleanup = ruhnswvacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = ruhnswcostestimate;
	amroutine->amoptions = ruhnswoptions;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = ruhnswbuildphasename;
	amroutine->amvalidate = ruhnswvalidate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = ruhnswbeginscan;
	amroutine->amrescan = ruhnswrescan;
	amroutine->amgettuple = ruhnswgettuple;
	amroutine->amgetbitmap = NULL;
	amroutine->amendscan = ruhnswendscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
