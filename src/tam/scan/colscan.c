/*-------------------------------------------------------------------------
 *
 * colscan.c
 *	  The column scan of a ruvector table: a sequential scan that resolves
 *	  only the vector columns the query reads.  The table AM's own scans
 *	  must resolve every vector column of every row (the AM does not know
 *	  which columns the plan needs), which makes `SELECT count(*)` or
 *	  `SELECT id, title ... WHERE category = 3` read every stored vector.
 *	  This custom scan is planned instead of such a Seq Scan: it reads the
 *	  heap part with heap's own scan and resolves just the needed vector
 *	  columns, so a query that reads none touches no store page.
 *
 * Invariants:
 *	- a vector column the plan does not read is NULL in the scan's slot,
 *	  never a vref; one it reads holds the resolved value, as in any scan;
 *	- "reads" is decided by the planner from the relation's target list
 *	  and restriction clauses (pull_varattnos); a whole-row reference
 *	  reads every column, and then the path is not offered;
 *	- offered only for plain SELECTs without row marks (so no EvalPlanQual
 *	  re-check and no UPDATE/DELETE reads through it), costed just below
 *	  the Seq Scan it replaces.
 *
 * Plan: CustomScan with scanrelid = the table, custom_private = an Integer
 * list of the attnums of the vector columns to resolve.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/sysattr.h"
#include "access/tableam.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/restrictinfo.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "tam/scan/rv_colscan.h"
#include "tam/scan/rv_scanpath.h"
#include "tam/rv_tam.h"

bool		rv_enable_column_scan = true;

typedef struct RvColScanState
{
	CustomScanState css;
	List	   *resolved;		/* attnums of the vector columns resolved */
	bool	   *resolve;		/* per attribute of the table */
	TableScanDesc hscan;
	TupleTableSlot *hslot;
	RvPinSet	pins;
	MemoryContext rowcxt;		/* reset for every row produced */
} RvColScanState;

static Plan *RvColScanPlanPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							   List *tlist, List *clauses, List *custom_plans);
static Node *RvColScanCreateState(CustomScan *cscan);

static const CustomPathMethods rv_colscan_path_methods = {
	.CustomName = RV_COLSCAN_NAME,
	.PlanCustomPath = RvColScanPlanPath,
};

static const CustomScanMethods rv_colscan_scan_methods = {
	.CustomName = RV_COLSCAN_NAME,
	.CreateCustomScanState = RvColScanCreateState,
};

/*
 * RvColScanAddPath: adds the column scan to rel's paths when the query is
 * a plain SELECT over a ruvector table (rte) that leaves at least one of
 * its vector columns unread; seq is that relation's (unparameterized,
 * serial) Seq Scan path, whose cost it undercuts.  Called from the
 * set_rel_pathlist hook once the relation is known to be a ruvector table.
 */
void
RvColScanAddPath(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte, Oid typoid,
				 Path *seq)
{
	Bitmapset  *attrs = NULL;
	List	   *resolve = NIL;
	bool		skipped = false;
	ListCell   *lc;
	CustomPath *path;
	AttrNumber	natts;

	if (!rv_enable_column_scan || root->parse->commandType != CMD_SELECT ||
		root->parse->rowMarks != NIL || rte->tablesample != NULL)
		return;

	pull_varattnos((Node *) rel->reltarget->exprs, rel->relid, &attrs);
	foreach(lc, rel->baserestrictinfo)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause, rel->relid, &attrs);
	if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs))
		return;					/* whole-row reference: reads everything */

	natts = rel->max_attr;
	for (AttrNumber attno = 1; attno <= natts; attno++)
	{
		if (get_atttype(rte->relid, attno) != typoid)
			continue;
		if (bms_is_member(attno - FirstLowInvalidHeapAttributeNumber, attrs))
			resolve = lappend(resolve, makeInteger(attno));
		else
			skipped = true;
	}
	if (!skipped)
		return;

	/* the Seq Scan it replaces, a little cheaper: no vector is resolved */
	path = RvScanPathCreate(rel, &rv_colscan_path_methods, seq->startup_cost,
							seq->total_cost - cpu_operator_cost * rel->tuples, NIL,
							resolve);
	add_path(rel, &path->path);
}

static Plan *
RvColScanPlanPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				  List *tlist, List *clauses, List *custom_plans)
{
	return RvScanPlanCreate(rel, best_path, tlist, clauses, &rv_colscan_scan_methods,
							NIL, best_path->custom_private);
}

static void
RvColScanBegin(CustomScanState *node, EState *estate, int eflags)
{
	RvColScanState *st = (RvColScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Relation	rel = node->ss.ss_currentRelation;
	ListCell   *lc;

	st->resolved = cscan->custom_private;
	st->resolve = palloc0(sizeof(bool) * RelationGetDescr(rel)->natts);
	foreach(lc, st->resolved)
	{
		AttrNumber	attno = intVal(lfirst(lc));

		if (attno >= 1 && attno <= RelationGetDescr(rel)->natts)
			st->resolve[attno - 1] = true;
	}
	st->rowcxt = AllocSetContextCreate(estate->es_query_cxt, "ruvector column scan row",
									   ALLOCSET_DEFAULT_SIZES);
	st->hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsBufferHeapTuple);
}

/* ExecScan's access method: the next visible row, needed vectors resolved. */
static TupleTableSlot *
RvColScanNext(ScanState *node)
{
	RvColScanState *st = (RvColScanState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;
	Relation	rel = node->ss_currentRelation;
	MemoryContext old;

	if (st->hscan == NULL)
		st->hscan = RvHeap()->scan_begin(rel, node->ps.state->es_snapshot, 0, NULL, NULL,
										 SO_TYPE_SEQSCAN | SO_ALLOW_STRAT |
										 SO_ALLOW_SYNC | SO_ALLOW_PAGEMODE);
	RvPinSetBeginRow(&st->pins);
	MemoryContextReset(st->rowcxt);
	if (!RvHeap()->scan_getnextslot(st->hscan, ForwardScanDirection, st->hslot))
	{
		RvPinSetEndRow(&st->pins);
		return ExecClearTuple(slot);
	}
	old = MemoryContextSwitchTo(st->rowcxt);
	RvResolveTupleSome(rel, st->hslot, slot, &st->pins, false, st->resolve, false);
	MemoryContextSwitchTo(old);
	RvPinSetEndRow(&st->pins);
	return slot;
}

static bool
RvColScanRecheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

static TupleTableSlot *
RvColScanExec(CustomScanState *node)
{
	return ExecScan(&node->ss, RvColScanNext, RvColScanRecheck);
}

static void
RvColScanEnd(CustomScanState *node)
{
	RvColScanState *st = (RvColScanState *) node;

	if (node->ss.ps.ps_ResultTupleSlot)
		ExecClearTuple(node->ss.ps.ps_ResultTupleSlot);
	ExecClearTuple(node->ss.ss_ScanTupleSlot);
	RvPinSetReleaseAll(&st->pins);
	if (st->hscan != NULL)
		RvHeap()->scan_end(st->hscan);
	ExecDropSingleTupleTableSlot(st->hslot);
	MemoryContextDelete(st->rowcxt);
}

static void
RvColScanRescan(CustomScanState *node)
{
	RvColScanState *st = (RvColScanState *) node;

	ExecClearTuple(node->ss.ss_ScanTupleSlot);
	RvPinSetReleaseAll(&st->pins);
	MemoryContextReset(st->rowcxt);
	ExecClearTuple(st->hslot);
	if (st->hscan != NULL)
		RvHeap()->scan_rescan(st->hscan, NULL, false, false, false, false);
	ExecScanReScan(&node->ss);
}

/* EXPLAIN: which vector columns are resolved. */
static void
RvColScanExplain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	RvColScanState *st = (RvColScanState *) node;
	Relation	rel = node->ss.ss_currentRelation;
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, st->resolved)
		names = lappend(names,
						NameStr(TupleDescAttr(RelationGetDescr(rel),
											  intVal(lfirst(lc)) - 1)->attname));
	ExplainPropertyList("Vectors Resolved", names, es);
}

static const CustomExecMethods rv_colscan_exec_methods = {
	.CustomName = RV_COLSCAN_NAME,
	.BeginCustomScan = RvColScanBegin,
	.ExecCustomScan = RvColScanExec,
	.EndCustomScan = RvColScanEnd,
	.ReScanCustomScan = RvColScanRescan,
	.ExplainCustomScan = RvColScanExplain,
};

static Node *
RvColScanCreateState(CustomScan *cscan)
{
	RvColScanState *st = (RvColScanState *) newNode(sizeof(RvColScanState),
													T_CustomScanState);

	st->css.methods = &rv_colscan_exec_methods;
	return (Node *) st;
}

/*
 * RvColScanInit: defines ruvector.enable_column_scan and registers the
 * scan's methods.  Called once per backend from the table AM layer's init.
 */
void
RvColScanInit(void)
{
	DefineCustomBoolVariable("ruvector.enable_column_scan",
							 "Enables the column scan of ruvector tables, which resolves only the vector columns a query reads.",
							 NULL, &rv_enable_column_scan, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	RegisterCustomScanMethods(&rv_colscan_scan_methods);
}
