/*-------------------------------------------------------------------------
 *
 * rv_tam.h
 *	  Internal interface of the ruvector table access method (src/tam):
 *	  the per-relation cache of vector columns and stores, vref handling,
 *	  store lifecycle, and the hooks.  The index layer uses only the
 *	  functions marked "index API".
 *
 * Stores belong to a table's current storage, identified by its
 * RelFileNode (spcNode, relNode), not by its OID: rewrites that give the
 * table new storage (TRUNCATE, VACUUM FULL, CLUSTER, SET TABLESPACE,
 * SET ACCESS METHOD, ALTER COLUMN TYPE) get new stores, and the old
 * storage's stores are dropped with it, transactionally.  The mapping
 * lives in the extension's catalog table ruvector_store.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_TAM_H
#define RV_TAM_H

#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/rel.h"

#include "tam/rv_store.h"

#define RV_TAM_NAME				"ruvector"
#define RV_STORE_CATALOG		"ruvector_store"

/* One store of a table's current storage, as cached in rd_amcache. */
typedef struct RvStoreRef
{
	int16		storeno;
	int16		attnum;
	int32		dims;
	RelFileNode node;
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
extern void RvTamDropStores(RelFileNode storage, char persistence, BackendId backend,
							int16 attnum);
extern void RvTamCopyStores(Relation rel, RelFileNode newstorage, char persistence);
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
	RelFileNode node;
} RvCatalogStore;

extern RvStore *RvStoreOpen(const RvCatalogStore *cs, char persistence, BackendId backend);

/* tam_slot.c: vrefs and resolution */
extern Datum RvMakeVref(int16 storeno, uint64 vid);
extern bool RvDatumGetVref(Datum d, int16 *storeno, uint64 *vid);
extern void RvResolveTuple(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
						   RvPinSet *pins, bool materialize);
extern void RvResolveTupleSome(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
							   RvPinSet *pins, bool materialize, const bool *resolve);
extern HeapTuple RvFormStoredTuple(Relation rel, TupleTableSlot *slot);
extern void RvFormStoredTuples(Relation rel, TupleTableSlot **slots, int n,
							   HeapTuple *out);

/* tam_routine.c */
extern const TableAmRoutine *RvHeap(void);
extern bool RvIsOurRoutine(const TableAmRoutine *routine);

/* tam_ddl.c */
extern void RvTamInstallHooks(void);

/* index API: the vid a heap tuple's column refers to (false if null) */
extern bool RvTamGetVid(Relation rel, ItemPointer tid, int16 attnum,
						RvStore **store, uint64 *vid);

#endif							/* RV_TAM_H */
