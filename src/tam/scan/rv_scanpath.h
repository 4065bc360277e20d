/*-------------------------------------------------------------------------
 *
 * rv_scanpath.h
 *	  Building the CustomPaths and CustomScans of the table AM's own scans
 *	  (the exact k-NN scan, the column scan): non-parallel, unparameterized
 *	  scans of one base relation whose restriction clauses become the
 *	  plan's qual.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_SCANPATH_H
#define RV_SCANPATH_H

#include "nodes/extensible.h"
#include "nodes/pathnodes.h"

extern CustomPath *RvScanPathCreate(RelOptInfo *rel, const CustomPathMethods *methods,
									Cost startup_cost, Cost total_cost, List *pathkeys,
									List *custom_private);
extern Plan *RvScanPlanCreate(RelOptInfo *rel, CustomPath *best_path, List *tlist,
							  List *clauses, const CustomScanMethods *methods,
							  List *custom_exprs, List *custom_private);

#endif							/* RV_SCANPATH_H */
