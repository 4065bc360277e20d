/*-------------------------------------------------------------------------
 *
 * rv_tam.h
 *	  Internal interface of the ruvector table access method (src/tam):
 *	  the per-relation cache of vector columns and stores, vref handling,
 *	  store lifecycle, and the hooks.  The index layer uses the store
 *	  lookup (RvTamOpenStore, the one way to open a store), RvDatumGetVref,
 *	  RvRelIsRuvector and the functions marked "index API".
 *
 * Stores belong to a table's current storage, identified by the table's
 * (reltablespace, relfilenode) as pg_class records them (reltablespace 0
 * for the database's default tablespace, so ALTER DATABASE SET TABLESPACE
 * and CREATE DATABASE ... TABLESPACE keep the key; pg_upgrade preserves
 * both numbers), not by its OID: rewrites that give the table new storage
 * (TRUNCATE, VACUUM FULL, CLUSTER, SET ACCESS METHOD, ALTER COLUMN TYPE)
 * get new stores, and the old storage's stores are dropped with it,
 * transactionally; SET TABLESPACE moves the store relations along,
 * keeping their OIDs, and re-keys their catalog rows.  Each store is a catalogued relation
 * (store_am.c); the mapping from storage and store number to that
 * relation's OID lives in the extension's catalog table ruvector_store.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_TAM_H
#define RV_TAM_H

#include "access/htup_details.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/rel.h"

#include "tam/store/rv_store.h"

#define RV_TAM_NAME				"ruvector"
/* tam_slot.c: vrefs and resolution */
extern Datum RvMakeVref(int16 storeno, uint64 vid);
extern bool RvDatumGetVref(Datum d, int16 *storeno, uint64 *vid);
extern void RvResolveTuple(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
						   RvPinSet *pins, bool materialize, bool count_reads);
extern void RvResolveTupleSome(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
							   RvPinSet *pins, bool materialize, const bool *resolve,
							   bool count_reads);

/* tam_vacuum.c */
extern Relation RvTamOpenForReport(Oid relid);
extern bool RvSlotInsertAborted(TupleTableSlot *slot);
extern bool RvTupleInsertAborted(HeapTupleHeader t);
extern HeapTuple RvFormStoredTuple(Relation rel, TupleTableSlot *slot);
extern HeapTuple RvFormUpdatedTuple(Relation rel, TupleTableSlot *slot,
									TupleTableSlot *oldslot);
extern void RvFormStoredTuples(Relation rel, TupleTableSlot **slots, int n,
							   HeapTuple *out);

/* tam_routine.c */
extern const TableAmRoutine *RvHeap(void);
extern bool RvIsOurRoutine(const TableAmRoutine *routine);
extern bool RvRelIsRuvector(Relation rel);

/* tam_ddl.c */
extern void RvTamInstallHooks(void);

/*
 * tam_verify.c: the consistency checks of an index access method over
 * ruvector tables, registered by that layer at load time (src/index
 * registers ruhnsw's), so that ruvector_verify reaches an index through
 * the catalog (the index's pg_am name) and this registry, never through
 * the index layer's headers.  A check reports each problem through the
 * callback: kind (a short identifier), the store concerned (-1 if none),
 * the index block and vid (-1 if none) and a detail naming the index.
 */
typedef void (*RvIndexVerifyReport) (void *arg, const char *kind, int store, int64 blkno,
									 int64 vid, const char *detail);
typedef void (*RvIndexVerifyFn) (Relation heap, Relation index, RvIndexVerifyReport report,
								 void *arg);
extern void RvRegisterIndexVerifier(const char *amname, RvIndexVerifyFn fn);

/* index API: the vid a heap tuple's column refers to (false if null) */
extern bool RvTamTidRefersToVid(Relation rel, ItemPointer tid, int16 attnum,
								RvStore *store, uint64 vid);
extern bool RvTamGetVid(Relation rel, ItemPointer tid, int16 attnum,
						RvStore **store, uint64 *vid);

/*
 * tam_vidcache.c: the vids of the rows this backend's latest insert call
 * wrote, for aminsert (index API: RvVidCacheLookup); filled by
 * tam_routine.c's insert paths.
 */
extern void RvVidCacheReset(Relation rel, CommandId cid);
extern void RvVidCacheAdd(Relation rel, ItemPointer tid, HeapTuple tuple);
extern bool RvVidCacheLookup(Relation rel, ItemPointer tid, int16 attnum, int16 *storeno,
							 uint64 *vid);

#endif							/* RV_TAM_H */
