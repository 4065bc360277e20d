/*-------------------------------------------------------------------------
 *
 * rv_knn.h
 *	  The exact k-NN scan of a ruvector table: a custom scan that answers
 *	  `ORDER BY vec <op> query LIMIT k` without an index by scoring every
 *	  visible row's vector where it lies in its store, keeping the best
 *	  candidates' TIDs in a bounded heap, and fetching only those rows.
 *	  knn_plan.c offers the path and builds the plan; knn_exec.c runs it.
 *
 * Plan representation (CustomScan, scanrelid = the table):
 *	custom_exprs:	(query expression, the ORDER BY distance expression)
 *	custom_private:	(attnum, RvDistanceKind, query-is-left-argument, bound,
 *					workers) as Integer nodes; bound = the LIMIT (+ OFFSET)
 *					known at plan time, the number of candidates kept at
 *					first; workers = the parallel workers a ranking pass
 *					asks for (0: serial), see knn_plan.c
 *	scan.plan.qual:	the WHERE clauses, none of which reads a vector
 *
 * The scan returns rows in the order of the key (distance ascending, NaN
 * after every number, NULL last, then TID), which is a total order, so a
 * rescan with a larger bound under the same snapshot extends, never
 * reorders, what was already returned.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_KNN_H
#define RV_KNN_H

#include "nodes/extensible.h"
#include "storage/dsm.h"
#include "storage/shm_toc.h"

#define RV_KNN_SCAN_NAME		"ruvector exact k-NN"

/* Largest LIMIT (+ OFFSET) the path is offered for: 16 bytes a candidate. */
#define RV_KNN_MAX_BOUND		1000000

/* Positions in custom_private */
#define RV_KNN_PRIV_ATTNUM		0
#define RV_KNN_PRIV_KIND		1
#define RV_KNN_PRIV_QUERYLEFT	2
#define RV_KNN_PRIV_BOUND		3
#define RV_KNN_PRIV_WORKERS		4

/* ruvector.enable_exact_scan */
extern bool rv_enable_exact_scan;

/* knn_exec.c: the scan's state node */
extern Node *RvKnnCreateScanState(CustomScan *cscan);

/*
 * knn_exec.c: the entry point of a parallel ranking pass's worker
 * (CreateParallelContext with library "ruvector_tam")
 */
extern PGDLLEXPORT void RvKnnParallelMain(dsm_segment *seg, shm_toc *toc);

/* knn_plan.c: registers the planner hook, the plan methods and the GUC */
extern void RvKnnInit(void);

#endif							/* RV_KNN_H */
