/*-------------------------------------------------------------------------
 *
 * rv_vacuum.h
 *	  VACUUM of vector stores (mark-and-sweep after heap's lazy vacuum) and
 *	  the storage report.  See tam_vacuum.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_VACUUM_H
#define RV_VACUUM_H

#include "commands/vacuum.h"
#include "utils/rel.h"

extern void RvVacuumStores(Relation rel, struct VacuumParams *params,
						   BufferAccessStrategy bstrategy);
extern void RvSweepStores(Relation rel, TransactionId horizon, int elevel,
						  BufferAccessStrategy strategy);

#endif							/* RV_VACUUM_H */
