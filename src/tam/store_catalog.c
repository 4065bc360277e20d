/*-------------------------------------------------------------------------
 *
 * store_catalog.c
 *	  Which stores a table's storage has: the extension catalog table
 *	  ruvector_store, the per-relation cache on rd_amcache, the backend's
 *	  open store handles, and store creation, copying and dropping.
 *
 * Invariants:
 *	- a catalog row (spcnode, relnode, storeno) names exactly one store
 *	  file; rows and files are created, copied and dropped in the same
 *	  transaction as the table storage change that needs them (files via
 *	  RelationCreateStorage/RelationDropStorage pending actions, rows via
 *	  ordinary MVCC), so an abort leaves neither orphans nor dangling rows;
 *	- stores are created lazily, on the first vector of a (column, dims)
 *	  in a storage, under ShareUpdateExclusiveLock on the table so two
 *	  sessions cannot both create one;
 *	- rd_amcache is one palloc chunk (the relcache frees it with pfree) and
 *	  is rebuilt when rd_node changes or on relcache invalidation, which we
 *	  send whenever a table's stores change;
 *	- catalog reads use SnapshotSelf: they must see rows this transaction
 *	  wrote in the current command (a store created mid-statement).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlogutils.h"
#include "catalog/catalog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/smgr.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "tam/rv_tam.h"

#define Natts_rv_store				8
#define Anum_rv_store_spcnode		1
#define Anum_rv_store_relnode		2
#define Anum_rv_store_storeno		3
#define Anum_rv_store_attnum		4
#define Anum_rv_store_dims			5
#define Anum_rv_store_tier			6
#define Anum_rv_store_store_spc		7
#define Anum_rv_store_store_node	8

/* Open store handles of this backend, keyed by the store's RelFileNode. */
typedef struct RvStoreHashEntry
{
	RelFileNode node;			/* key */
	RvStore    *store;
} RvStoreHashEntry;

static HTAB *rv_store_hash = NULL;

/* The namespace of extension ruvector_tam (PG15 does not export a getter). */
static Oid
RvExtensionSchema(bool missing_ok)
{
	Oid			extoid = get_extension_oid("ruvector_tam", missing_ok);
	Oid			nsp = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (!OidIsValid(extoid))
		return InvalidOid;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

/*
 * RvCatalogRelid: OID of the extension's ruvector_store table; InvalidOid
 * (or an error unless missing_ok) when the extension is not installed.
 */
Oid
RvCatalogRelid(bool missing_ok)
{
	Oid			nsp = RvExtensionSchema(missing_ok);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(RV_STORE_CATALOG, nsp) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ruvector_tam catalog table \"%s\" is missing", RV_STORE_CATALOG),
				 errhint("Reinstall the extension with CREATE EXTENSION ruvector_tam.")));
	return relid;
}

/* RvTypeOid: OID of type ruvector in the extension's schema. */
Oid
RvTypeOid(bool missing_ok)
{
	Oid			nsp = RvExtensionSchema(missing_ok);
	Oid			typoid = InvalidOid;

	if (OidIsValid(nsp))
		typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								 CStringGetDatum("ruvector"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(typoid) && !missing_ok)
		elog(ERROR, "type ruvector of extension ruvector_tam not found");
	return typoid;
}

/* RvRelIsRuvector: true if rel uses the ruvector table access method. */
bool
RvRelIsRuvector(Relation rel)
{
	return RvIsOurRoutine(rel->rd_tableam);
}

static RvCatalogStore *
RvCatalogFromTuple(HeapTuple tup, TupleDesc desc)
{
	Datum		values[Natts_rv_store];
	bool		nulls[Natts_rv_store];
	RvCatalogStore *cs = palloc0(sizeof(RvCatalogStore));

	heap_deform_tuple(tup, desc, values, nulls);
	cs->storage.spcNode = DatumGetObjectId(values[Anum_rv_store_spcnode - 1]);
	cs->storage.dbNode = MyDatabaseId;
	cs->storage.relNode = DatumGetObjectId(values[Anum_rv_store_relnode - 1]);
	cs->storeno = DatumGetInt16(values[Anum_rv_store_storeno - 1]);
	cs->attnum = DatumGetInt16(values[Anum_rv_store_attnum - 1]);
	cs->dims = DatumGetInt32(values[Anum_rv_store_dims - 1]);
	cs->tier = DatumGetInt16(values[Anum_rv_store_tier - 1]);
	cs->node.spcNode = DatumGetObjectId(values[Anum_rv_store_store_spc - 1]);
	cs->node.dbNode = MyDatabaseId;
	cs->node.relNode = DatumGetObjectId(values[Anum_rv_store_store_node - 1]);
	return cs;
}

/*
 * Scans the catalog for the rows of storage (all rows when NULL) with
 * snapshot; calls fn(catalog, tuple, row, arg) for each.
 */
static void
RvCatalogScan(Relation catalog, RelFileNode *storage, Snapshot snapshot,
			  void (*fn) (Relation, HeapTuple, RvCatalogStore *, void *), void *arg)
{
	ScanKeyData key[2];
	int			nkeys = 0;
	SysScanDesc scan;
	HeapTuple	tup;

	if (storage)
	{
		ScanKeyInit(&key[0], Anum_rv_store_spcnode, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(storage->spcNode));
		ScanKeyInit(&key[1], Anum_rv_store_relnode, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(storage->relNode));
		nkeys = 2;
	}
	scan = systable_beginscan(catalog, InvalidOid, false, snapshot, nkeys, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		fn(catalog, tup, RvCatalogFromTuple(tup, RelationGetDescr(catalog)), arg);
	systable_endscan(scan);
}

static void
RvCollectRow(Relation catalog, HeapTuple tup, RvCatalogStore *cs, void *arg)
{
	List	  **list = arg;

	*list = lappend(*list, cs);
}

/*
 * RvCatalogListStores: the catalog rows of storage (every row when NULL),
 * read with an MVCC snapshot when mvcc, else with SnapshotSelf.  Returns a
 * List of palloc'd RvCatalogStore.  Takes AccessShareLock on the catalog.
 */
List *
RvCatalogListStores(RelFileNode *storage, bool mvcc)
{
	Relation	catalog = table_open(RvCatalogRelid(false), AccessShareLock);
	List	   *result = NIL;
	Snapshot	snap = mvcc ? RegisterSnapshot(GetLatestSnapshot()) : SnapshotSelf;

	RvCatalogScan(catalog, storage, snap, RvCollectRow, &result);
	if (mvcc)
		UnregisterSnapshot(snap);
	table_close(catalog, AccessShareLock);
	return result;
}

/*
 * RvStoreOpen: the backend's handle for the store named by cs, opened for
 * a table of the given persistence (and temp-table backend).  Handles live
 * in TopMemoryContext; a cached handle whose geometry no longer matches
 * (the relfilenode was reused) is rebuilt.
 */
RvStore *
RvStoreOpen(const RvCatalogStore *cs, char persistence, BackendId backend)
{
	RvStoreHashEntry *entry;
	bool		found;
	RvStore    *store;
	MemoryContext oldcxt;

	if (rv_store_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(RelFileNode);
		ctl.entrysize = sizeof(RvStoreHashEntry);
		ctl.hcxt = TopMemoryContext;
		rv_store_hash = hash_create("ruvector stores", 64, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(rv_store_hash, &cs->node, HASH_ENTER, &found);
	if (found)
	{
		store = entry->store;
		if (store->dims == cs->dims && store->persistence == persistence &&
			store->rel->rd_backend == backend)
		{
			store->storeno = cs->storeno;
			store->attnum = cs->attnum;
			return store;
		}
		/* not freed: caches may still hold the old pointer (rare, tiny) */
	}

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	store = palloc0(sizeof(RvStore));
	store->node = cs->node;
	store->rel = CreateFakeRelcacheEntry(cs->node);
	store->rel->rd_rel->relpersistence = persistence;
	/* any kind with storage and no table AM: block counts come from smgr */
	store->rel->rd_rel->relkind = RELKIND_INDEX;
	store->rel->rd_backend = backend;
	/* bufmgr refuses temp relations not marked as this backend's own */
	store->rel->rd_islocaltemp = (persistence == RELPERSISTENCE_TEMP &&
								  backend == BackendIdForTempRelations());
	MemoryContextSwitchTo(oldcxt);
	store->persistence = persistence;
	store->storeno = cs->storeno;
	store->attnum = cs->attnum;
	store->dims = cs->dims;
	RvStoreComputeLayout(cs->dims, &store->layout, &store->stride, &store->base,
						 &store->seg_blocks);
	entry->store = store;
	return store;
}

/*
 * Forgets the handle of a dropped store.  The handle itself is not freed:
 * a relation cache or pin set may still point at it until invalidation.
 */
static void
RvStoreForget(RelFileNode *node)
{
	if (rv_store_hash != NULL)
		hash_search(rv_store_hash, node, HASH_REMOVE, NULL);
}

/* Builds rel's cache chunk from the catalog; replaces rd_amcache. */
static RvRelCache *
RvRelBuildCache(Relation rel, List *rows, int extra)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			typoid = RvTypeOid(false);
	int			nvec = 0;
	int			maxstores = list_length(rows) + extra + 4;
	Size		size;
	RvRelCache *cache;
	ListCell   *lc;

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && TupleDescAttr(desc, i)->atttypid == typoid)
			nvec++;
	size = MAXALIGN(sizeof(RvRelCache)) + MAXALIGN(sizeof(int16) * (nvec + 1)) +
		sizeof(RvStoreRef) * maxstores;
	cache = MemoryContextAllocZero(CacheMemoryContext, size);
	cache->storage = rel->rd_node;
	cache->typoid = typoid;
	cache->vecatts = (int16 *) ((char *) cache + MAXALIGN(sizeof(RvRelCache)));
	cache->stores = (RvStoreRef *) ((char *) cache->vecatts + MAXALIGN(sizeof(int16) * (nvec + 1)));
	cache->maxstores = maxstores;
	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && TupleDescAttr(desc, i)->atttypid == typoid)
			cache->vecatts[cache->nvecatts++] = i + 1;
	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		RvStoreRef *ref = &cache->stores[cache->nstores++];

		ref->storeno = cs->storeno;
		ref->attnum = cs->attnum;
		ref->dims = cs->dims;
		ref->node = cs->node;
	}
	if (rel->rd_amcache)
		pfree(rel->rd_amcache);
	rel->rd_amcache = cache;
	return cache;
}

/*
 * RvRelGetCache: rel's vector columns and stores for its current storage,
 * built from the catalog on first use.  The result lives until the next
 * relcache invalidation of rel; do not keep it across one.
 */
RvRelCache *
RvRelGetCache(Relation rel)
{
	RvRelCache *cache = rel->rd_amcache;

	if (cache != NULL && RelFileNodeEquals(cache->storage, rel->rd_node))
		return cache;
	return RvRelBuildCache(rel, RvCatalogListStores(&rel->rd_node, false), 0);
}

static RvStore *
RvOpenRef(Relation rel, RvStoreRef *ref)
{
	RvCatalogStore cs;

	if (ref->handle)
		return ref->handle;

	cs.storage = rel->rd_node;
	cs.storeno = ref->storeno;
	cs.attnum = ref->attnum;
	cs.dims = ref->dims;
	cs.tier = RV_TIER_HOT;
	cs.node = ref->node;
	ref->handle = RvStoreOpen(&cs, rel->rd_rel->relpersistence, rel->rd_backend);
	return ref->handle;
}

/* RvTamGetStoreByNo: the store numbered storeno of rel's storage; errors if none. */
RvStore *
RvTamGetStoreByNo(Relation rel, int16 storeno)
{
	RvRelCache *cache = RvRelGetCache(rel);

	for (int i = 0; i < cache->nstores; i++)
		if (cache->stores[i].storeno == storeno)
			return RvOpenRef(rel, &cache->stores[i]);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("ruvector table \"%s\" has no vector store %d",
					RelationGetRelationName(rel), storeno)));
	return NULL;				/* keep compiler quiet */
}

/* Inserts a catalog row and creates the store's file with its metapage. */
static RvCatalogStore *
RvCreateStore(Relation rel, RelFileNode storage, int16 storeno, int16 attnum, int32 dims,
			  char persistence, BackendId backend, bool init_meta)
{
	Relation	pg_class = table_open(RelationRelationId, RowExclusiveLock);
	Relation	catalog = table_open(RvCatalogRelid(false), RowExclusiveLock);
	RvCatalogStore *cs = palloc0(sizeof(RvCatalogStore));
	Datum		values[Natts_rv_store];
	bool		nulls[Natts_rv_store] = {0};
	HeapTuple	tup;
	SMgrRelation srel;
	RvStore    *store;

	cs->storage = storage;
	cs->storeno = storeno;
	cs->attnum = attnum;
	cs->dims = dims;
	cs->tier = RV_TIER_HOT;
	cs->node.spcNode = storage.spcNode;
	cs->node.dbNode = MyDatabaseId;
	cs->node.relNode = GetNewRelFileNode(storage.spcNode, pg_class, persistence);
	table_close(pg_class, RowExclusiveLock);

	srel = RelationCreateStorage(cs->node, persistence, true);
	if (persistence == RELPERSISTENCE_UNLOGGED)
	{
		/* an empty init fork: crash recovery resets the store to empty */
		smgrcreate(srel, INIT_FORKNUM, false);
		log_smgrcreate(&cs->node, INIT_FORKNUM);
		smgrimmedsync(srel, INIT_FORKNUM);
	}

	values[Anum_rv_store_spcnode - 1] = ObjectIdGetDatum(storage.spcNode);
	values[Anum_rv_store_relnode - 1] = ObjectIdGetDatum(storage.relNode);
	values[Anum_rv_store_storeno - 1] = Int16GetDatum(storeno);
	values[Anum_rv_store_attnum - 1] = Int16GetDatum(attnum);
	values[Anum_rv_store_dims - 1] = Int32GetDatum(dims);
	values[Anum_rv_store_tier - 1] = Int16GetDatum(RV_TIER_HOT);
	values[Anum_rv_store_store_spc - 1] = ObjectIdGetDatum(cs->node.spcNode);
	values[Anum_rv_store_store_node - 1] = ObjectIdGetDatum(cs->node.relNode);
	tup = heap_form_tuple(RelationGetDescr(catalog), values, nulls);
	CatalogTupleInsert(catalog, tup);
	heap_freetuple(tup);
	table_close(catalog, RowExclusiveLock);

	store = RvStoreOpen(cs, persistence, backend);
	if (init_meta)
		RvStoreInitFile(store);
	if (rel)
		CacheInvalidateRelcache(rel);
	return cs;
}

/*
 * RvTamGetStore: the store of rel's storage for column attnum holding
 * vectors of dims dimensions.  When none exists and create is true, takes
 * ShareUpdateExclusiveLock on rel (held to end of transaction), re-reads
 * the catalog and creates it.  Returns NULL when none exists and !create.
 */
RvStore *
RvTamGetStore(Relation rel, int16 attnum, int32 dims, bool create)
{
	RvRelCache *cache = RvRelGetCache(rel);
	RvCatalogStore *cs;
	int16		maxno = 0;
	List	   *rows;
	ListCell   *lc;

	for (int i = 0; i < cache->nstores; i++)
		if (cache->stores[i].attnum == attnum && cache->stores[i].dims == dims)
			return RvOpenRef(rel, &cache->stores[i]);
	if (!create)
		return NULL;

	LockRelationOid(RelationGetRelid(rel), ShareUpdateExclusiveLock);
	rows = RvCatalogListStores(&rel->rd_node, false);
	foreach(lc, rows)
	{
		cs = lfirst(lc);
		maxno = Max(maxno, cs->storeno);
		if (cs->attnum == attnum && cs->dims == dims)
		{
			RvRelBuildCache(rel, rows, 0);
			return RvStoreOpen(cs, rel->rd_rel->relpersistence, rel->rd_backend);
		}
	}
	if (maxno == PG_INT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many vector stores in table \"%s\"", RelationGetRelationName(rel)),
				 errhint("Rewrite the table with VACUUM FULL.")));
	cs = RvCreateStore(rel, rel->rd_node, maxno + 1, attnum, dims, rel->rd_rel->relpersistence,
					   rel->rd_backend, true);
	RvRelBuildCache(rel, lappend(rows, cs), 0);
	return RvStoreOpen(cs, rel->rd_rel->relpersistence, rel->rd_backend);
}

typedef struct RvDropArg
{
	char		persistence;
	BackendId	backend;
	int16		attnum;
} RvDropArg;

static void
RvDropRow(Relation catalog, HeapTuple tup, RvCatalogStore *cs, void *arg)
{
	RvDropArg  *da = arg;
	Relation	fake;

	if (da->attnum != 0 && cs->attnum != da->attnum)
		return;
	fake = CreateFakeRelcacheEntry(cs->node);
	fake->rd_rel->relpersistence = da->persistence;
	fake->rd_rel->relkind = RELKIND_INDEX;
	fake->rd_backend = da->backend;
	fake->rd_islocaltemp = da->persistence == RELPERSISTENCE_TEMP &&
		da->backend == BackendIdForTempRelations();
	RelationDropStorage(fake);
	FreeFakeRelcacheEntry(fake);
	RvStoreForget(&cs->node);
	CatalogTupleDelete(catalog, &tup->t_self);
}

/*
 * RvTamDropStores: drops the stores of storage (only column attnum's when
 * attnum != 0): their files at commit (kept on abort), their catalog rows
 * now.  No-op when the extension's catalog is gone (DROP EXTENSION).
 */
void
RvTamDropStores(RelFileNode storage, char persistence, BackendId backend, int16 attnum)
{
	Oid			catoid = RvCatalogRelid(true);
	Relation	catalog;
	RvDropArg	da;

	if (!OidIsValid(catoid))
		return;
	da.persistence = persistence;
	da.backend = backend;
	da.attnum = attnum;
	catalog = table_open(catoid, RowExclusiveLock);
	RvCatalogScan(catalog, &storage, SnapshotSelf, RvDropRow, &da);
	table_close(catalog, RowExclusiveLock);
}

/*
 * RvTamCopyStores: gives newstorage (a rewrite target of rel, e.g. a new
 * tablespace or VACUUM FULL's transient heap) a copy of every store of
 * rel's storage with the same store numbers, so vrefs copied verbatim
 * stay valid.  Copies block by block (WAL-logged as full pages when the
 * persistence needs WAL).
 */
void
RvTamCopyStores(Relation rel, RelFileNode newstorage, char persistence)
{
	List	   *rows = RvCatalogListStores(&rel->rd_node, false);
	ListCell   *lc;

	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		RvStore    *src = RvStoreOpen(cs, rel->rd_rel->relpersistence, rel->rd_backend);
		RvCatalogStore *ncs;
		RvStore    *dst;

		FlushRelationBuffers(src->rel);
		ncs = RvCreateStore(NULL, newstorage, cs->storeno, cs->attnum, cs->dims, persistence,
							rel->rd_backend, false);
		dst = RvStoreOpen(ncs, persistence, rel->rd_backend);
		RelationCopyStorage(RelationGetSmgr(src->rel), RelationGetSmgr(dst->rel),
							MAIN_FORKNUM, persistence);
	}
}
