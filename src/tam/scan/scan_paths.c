/*-------------------------------------------------------------------------
 *
 * scan_paths.c
 *	  The planner's side shared by the table AM's custom scans (knn_plan.c,
 *	  colscan.c): a CustomPath over one base relation and the CustomScan it
 *	  becomes.
 *
 * Invariants: the paths are never parallel and never parameterized; the
 * plan scans rel->relid with the relation's row type (no custom scan
 * tlist), and the restriction clauses become its qual, which ExecScan
 * evaluates (and EvalPlanQual would recheck).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "optimizer/restrictinfo.h"

#include "tam/scan/rv_scanpath.h"

/*
 * RvScanPathCreate: a CustomPath scanning rel with the given methods,
 * costs, pathkeys (NIL: unordered) and private list; rows are rel's.  The
 * caller add_path()s it.
 */
CustomPath *
RvScanPathCreate(RelOptInfo *rel, const CustomPathMethods *methods,
				 Cost startup_cost, Cost total_cost, List *pathkeys,
				 List *custom_private)
{
	CustomPath *path = makeNode(CustomPath);

	path->path.pathtype = T_CustomScan;
	path->path.parent = rel;
	path->path.pathtarget = rel->reltarget;
	path->path.param_info = NULL;
	path->path.parallel_aware = false;
	path->path.parallel_safe = false;
	path->path.parallel_workers = 0;
	path->path.rows = rel->rows;
	path->path.startup_cost = startup_cost;
	path->path.total_cost = Max(total_cost, startup_cost);
	path->path.pathkeys = pathkeys;
	path->flags = 0;
	path->custom_paths = NIL;
	path->custom_private = custom_private;
	path->methods = methods;
	return path;
}

/*
 * RvScanPlanCreate: the CustomScan for best_path (a PlanCustomPath
 * callback's work): tlist as given, clauses as the qual, the given
 * methods, custom_exprs and custom_private.
 */
Plan *
RvScanPlanCreate(RelOptInfo *rel, CustomPath *best_path, List *tlist, List *clauses,
				 const CustomScanMethods *methods, List *custom_exprs,
				 List *custom_private)
{
	CustomScan *cscan = makeNode(CustomScan);

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = extract_actual_clauses(clauses, false);
	cscan->scan.scanrelid = rel->relid;
	cscan->flags = best_path->flags;
	cscan->custom_plans = NIL;
	cscan->custom_exprs = custom_exprs;
	cscan->custom_private = custom_private;
	cscan->custom_scan_tlist = NIL;
	cscan->methods = methods;
	return &cscan->scan.plan;
}
