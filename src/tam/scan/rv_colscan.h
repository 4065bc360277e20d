/*-------------------------------------------------------------------------
 *
 * rv_colscan.h
 *	  The column scan of a ruvector table (colscan.c): a sequential scan
 *	  that resolves only the vector columns the query reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_COLSCAN_H
#define RV_COLSCAN_H

#include "nodes/pathnodes.h"

#define RV_COLSCAN_NAME			"ruvector column scan"

/* ruvector.enable_column_scan */
extern bool rv_enable_column_scan;

/*
 * Adds the column scan path to rel (a base or partition relation whose
 * RTE is rte, a ruvector table; typoid the ruvector type; seq its Seq Scan
 * path, for the cost) when the query leaves a vector column unread.
 */
extern void RvColScanAddPath(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte,
							 Oid typoid, Path *seq);

/* Registers the GUC and the plan methods; from the table AM layer's init. */
extern void RvColScanInit(void);

#endif							/* RV_COLSCAN_H */
