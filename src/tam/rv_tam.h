/*-------------------------------------------------------------------------
 *
 * rv_tam.h
 *	  Internal interface of the ruvector table access method (src/tam):
 *	  the per-relation cache of vector columns and stores, vref handling,
 *	  store lifecycle, and the hooks.  The index layer uses the store
 *	  lookups (RvTamGetStoreByNo, RvTamGetStoreByRelid), RvDatumGetVref,
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

#include "tam/rv_store.h"

#define RV_TAM_NAME				"ruvector"
#define RV_STORE_CATALOG		"ruvector_store"
#define RV_STORE_AM_NAME		"ruvector_store"
#define RV_INTERNAL_SCHEMA		"ruvector_internal"

/* One store of a table's current storage, as cached in rd_amcache. */
typedef struct RvStoreRef
{
	int16		storeno;
	int16		attnum;
	int32		dims;
	Oid			relid;			/* the store relation */
	RvStore    *handle;			/* opened on first use, or NULL */
} RvStoreRef;

/*
 * The relation's cache, a single palloc chunk in CacheMemoryContext hung
 * on rel->rd_amcache (freed by the relcache on invalidation).  Built for
 * the storage rel->rd_node; rebuilt when that changes.
 */
typedef struct RvRelCache
{
	RelFileNode storage;		/* rd_node this was built for */
	uint64		generation;		/* RvStoreGeneration() it was built in */
	Oid			typoid;			/* the ruvector type's OID */
	int			nvecatts;		/* ruvector columns (not dropped) */
	int			nstores;
	int			maxstores;		/* capacity of stores[] */
	int16	   *vecatts;		/* points into this chunk: attnums */
	RvStoreRef *stores;			/* points into this chunk */
} RvRelCache;

/* store_catalog.c */
extern RvRelCache *RvRelGetCache(Relation rel);
extern Oid	RvTypeOid(bool missing_ok);
extern bool RvRelIsRuvector(Relation rel);
extern RvStore *RvTamGetStore(Relation rel, int16 attnum, int32 dims, bool create);
extern RvStore *RvTamGetStoreByNo(Relation rel, int16 storeno);
extern RvStore *RvTamGetStoreByRelid(Relation rel, Oid relid);
extern void RvTamDropStores(RelFileNode storage, int16 attnum, bool keep_relations);
extern void RvTamCopyStores(Relation rel, RelFileNode newstorage, char persistence);
extern void RvTamMoveStores(Relation rel, RelFileNode newstorage);
extern void RvStoreLockOwner(Oid storeoid);
extern List *RvCatalogListStores(RelFileNode *storage, bool mvcc);
extern Oid	RvCatalogRelid(bool missing_ok);

/* Catalog row, as listed by RvCatalogListStores. */
typedef struct RvCatalogStore
{
	RelFileNode storage;
	int16		storeno;
	int16		attnum;
	int32		dims;
	int16		tier;
	Oid			relid;			/* the store relation */
	ItemPointerData tid;		/* of the catalog row */
} RvCatalogStore;

extern RvStore *RvStoreOpen(const RvCatalogStore *cs, char persistence, BackendId backend);
extern bool RvStoreRelFileNode(Oid relid, RelFileNode *node);
extern void RvTamDropStoreRow(const RvCatalogStore *cs);
extern void RvTamDropStoreRelation(Oid relid);
extern uint64 RvStoreGeneration(void);
extern Oid	RvStorageSpcKey(Oid spcNode);

/* tam_slot.c: vrefs and resolution */
extern Datum RvMakeVref(int16 storeno, uint64 vid);
extern bool RvDatumGetVref(Datum d, int16 *storeno, uint64 *vid);
extern void RvResolveTuple(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
						   RvPinSet *pins, bool materialize);
extern void RvResolveTupleSome(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
							   RvPinSet *pins, bool materialize, const bool *resolve);
extern bool RvSlotInsertAborted(TupleTableSlot *slot);
extern bool RvTupleInsertAborted(HeapTupleHeader t);
extern HeapTuple RvFormStoredTuple(Relation rel, TupleTableSlot *slot);
extern void RvFormStoredTuples(Relation rel, TupleTableSlot **slots, int n,
							   HeapTuple *out);

/* tam_routine.c */
extern const TableAmRoutine *RvHeap(void);
extern bool RvIsOurRoutine(const TableAmRoutine *routine);

/* tam_ddl.c */
extern void RvTamInstallHooks(void);

/* index API: the vid a heap tuple's column refers to (false if null) */
extern bool RvTamTidRefersToVid(Relation rel, ItemPointer tid, int16 attnum,
								RvStore *store, uint64 vid);
extern bool RvTamGetVid(Relation rel, ItemPointer tid, int16 attnum,
						RvStore **store, uint64 *vid);

#endif							/* RV_TAM_H */
