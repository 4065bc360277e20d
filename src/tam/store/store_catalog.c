/*-------------------------------------------------------------------------
 *
 * store_catalog.c
 *	  Which stores a table's storage has: the extension catalog table
 *	  ruvector_store, the per-relation cache on rd_amcache, the backend's
 *	  open store handles, and store creation, copying and dropping.
 *
 * A store is a catalogued relation: relkind 'r' with the internal access
 * method ruvector_store (store_am.c), named store_<oid>, owned by the
 * bootstrap superuser, in schema ruvector_internal and a member of the
 * extension (so pg_dump skips it and pg_upgrade carries it), or, for a
 * temporary table, a temporary relation in the session's temporary
 * schema.  It has no pg_depend link to its table: an extension member that
 * depends on a user table would turn DROP TABLE into a request to drop the
 * extension.  Its table's DDL reaches it through the table AM callbacks and
 * the drop hook (tam_ddl.c) instead.
 *
 * Invariants:
 *	- a catalog row (spcnode, relnode, storeno) names exactly one store
 *	  relation; rows and relations are created, copied and dropped in the
 *	  same transaction as the table storage change that needs them
 *	  (ordinary transactional DDL and MVCC), so an abort leaves neither
 *	  orphans nor dangling rows;
 *	- spcnode is the table's pg_class.reltablespace (0 for the database's
 *	  default tablespace), never the tablespace OID the default resolves
 *	  to, so moving the database keeps every key valid;
 *	- stores are created lazily, on the first vector of a (column, dims)
 *	  in a storage, under ShareUpdateExclusiveLock on the table so two
 *	  sessions cannot both create one;
 *	- rd_amcache is one palloc chunk (the relcache frees it with pfree) and
 *	  is rebuilt when rd_node changes or on relcache invalidation, which we
 *	  send whenever a table's stores change;
 *	- catalog reads use SnapshotSelf: they must see rows this transaction
 *	  wrote in the current command (a store created mid-statement), and
 *	  rows another transaction committed a moment ago (its store relation's
 *	  pg_class row is read the same way);
 *	- a store relation is dropped by the drop of its table storage or
 *	  column, unless it is itself part of the running deletion (DROP
 *	  EXTENSION, the end of a session's temporary objects), which removes
 *	  it (tam_ddl.c tells which).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/xlogutils.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/heap.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_am.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/smgr.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/relfilenodemap.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "tam/store/rv_store.h"
#include "tam/store/rv_tier.h"
#include "tam/store/store_int.h"
#include "access/generic_xlog.h"
#include "access/xact.h"

#define Natts_rv_store				7
#define Anum_rv_store_spcnode		1
#define Anum_rv_store_relnode		2
#define Anum_rv_store_storeno		3
#define Anum_rv_store_attnum		4
#define Anum_rv_store_dims			5
#define Anum_rv_store_tier			6
#define Anum_rv_store_store			7

/* Open store handles of this backend, keyed by the store relation's OID. */
typedef struct RvStoreHashEntry
{
	Oid			relid;			/* key */
	RvStore    *store;
} RvStoreHashEntry;

static HTAB *rv_store_hash = NULL;

/*
 * Bumped whenever a store relation (or every relation) is invalidated in
 * this backend: relation caches built in an older generation are rebuilt,
 * so no handle of a moved or dropped store file outlives the invalidation.
 */
static uint64 rv_store_generation = 1;

/* The namespace of extension ruvector_tam (PG15 does not export a getter). */
Oid
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


/*
 * RvStorageSpcKey: the catalog's spcnode for a storage whose RelFileNode
 * has tablespace spcNode: 0 for the database's default tablespace, as in
 * pg_class.reltablespace.
 */
Oid
RvStorageSpcKey(Oid spcNode)
{
	return spcNode == MyDatabaseTableSpace ? InvalidOid : spcNode;
}

/* RvStoreGeneration: see rv_store_generation. */
uint64
RvStoreGeneration(void)
{
	return rv_store_generation;
}

static RvCatalogStore *
RvCatalogFromTuple(HeapTuple tup, TupleDesc desc)
{
	Datum		values[Natts_rv_store];
	bool		nulls[Natts_rv_store];
	RvCatalogStore *cs = palloc0(sizeof(RvCatalogStore));
	Oid			spc;

	heap_deform_tuple(tup, desc, values, nulls);
	spc = DatumGetObjectId(values[Anum_rv_store_spcnode - 1]);
	cs->storage.spcNode = OidIsValid(spc) ? spc : MyDatabaseTableSpace;
	cs->storage.dbNode = MyDatabaseId;
	cs->storage.relNode = DatumGetObjectId(values[Anum_rv_store_relnode - 1]);
	cs->storeno = DatumGetInt16(values[Anum_rv_store_storeno - 1]);
	cs->attnum = DatumGetInt16(values[Anum_rv_store_attnum - 1]);
	cs->dims = DatumGetInt32(values[Anum_rv_store_dims - 1]);
	cs->tier = DatumGetInt16(values[Anum_rv_store_tier - 1]);
	cs->relid = DatumGetObjectId(values[Anum_rv_store_store - 1]);
	cs->tid = tup->t_self;
	return cs;
}

/*
 * Scans the catalog for the rows of storage (all rows when NULL) with
 * snapshot; returns a List of palloc'd RvCatalogStore.
 */
static List *
RvCatalogScan(Relation catalog, RelFileNode *storage, Snapshot snapshot)
{
	ScanKeyData key[2];
	int			nkeys = 0;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	if (storage)
	{
		ScanKeyInit(&key[0], Anum_rv_store_spcnode, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(RvStorageSpcKey(storage->spcNode)));
		ScanKeyInit(&key[1], Anum_rv_store_relnode, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(storage->relNode));
		nkeys = 2;
	}
	scan = systable_beginscan(catalog, InvalidOid, false, snapshot, nkeys, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		result = lappend(result, RvCatalogFromTuple(tup, RelationGetDescr(catalog)));
	systable_endscan(scan);
	return result;
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
	List	   *result;
	Snapshot	snap = mvcc ? RegisterSnapshot(GetLatestSnapshot()) : SnapshotSelf;

	result = RvCatalogScan(catalog, storage, snap);
	if (mvcc)
		UnregisterSnapshot(snap);
	table_close(catalog, AccessShareLock);
	return result;
}

/*
 * RvStoreRelFileNode: the RelFileNode of store relation relid, read from
 * pg_class with SnapshotSelf (so a store created earlier in this command,
 * or committed by another session a moment ago, is found).  Returns false
 * when pg_class has no such relation.
 */
bool
RvStoreRelFileNode(Oid relid, RelFileNode *node)
{
	Relation	pg_class = table_open(RelationRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(pg_class, ClassOidIndexId, true, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

		node->spcNode = OidIsValid(cls->reltablespace) ? cls->reltablespace : MyDatabaseTableSpace;
		node->dbNode = MyDatabaseId;
		node->relNode = cls->relfilenode;
		found = true;
	}
	systable_endscan(scan);
	table_close(pg_class, AccessShareLock);
	return found;
}

/* Relcache invalidation of a store relation, or of everything. */
static void
RvStoreRelcacheCallback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) ||
		(rv_store_hash != NULL && hash_search(rv_store_hash, &relid, HASH_FIND, NULL) != NULL))
		rv_store_generation++;
}

/*
 * RvStoreOpen: the backend's handle for the store named by cs, opened for
 * a table of the given persistence (and temp-table backend).  Handles live
 * in TopMemoryContext; a cached handle whose file or geometry no longer
 * matches (the store relation was rewritten, or its OID reused) is
 * replaced.  Raises ERRCODE_DATA_CORRUPTED when the store relation is
 * missing from pg_class.
 */
static RvStore *
RvStoreOpen(const RvCatalogStore *cs, char persistence, BackendId backend)
{
	RvStoreHashEntry *entry;
	bool		found;
	RvStore    *store;
	MemoryContext oldcxt;
	RelFileNode node;

	if (rv_store_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RvStoreHashEntry);
		ctl.hcxt = TopMemoryContext;
		rv_store_hash = hash_create("ruvector stores", 64, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(RvStoreRelcacheCallback, (Datum) 0);
	}
	if (!RvStoreRelFileNode(cs->relid, &node))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("vector store relation %u of store %d is missing", cs->relid,
						cs->storeno),
				 errhint("ruvector_gc_orphans() lists and removes catalog rows without a store.")));
	entry = hash_search(rv_store_hash, &cs->relid, HASH_ENTER, &found);
	if (found)
	{
		store = entry->store;
		if (store != NULL && store->dims == cs->dims && store->persistence == persistence &&
			store->rel->rd_backend == backend && RelFileNodeEquals(store->node, node) &&
			store->tier == (uint16) cs->tier)
		{
			store->storeno = cs->storeno;
			store->attnum = cs->attnum;
			return store;
		}
		/* not freed: caches may still hold the old pointer (rare, tiny) */
	}

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	store = palloc0(sizeof(RvStore));
	store->relid = cs->relid;
	store->node = node;
	store->rel = CreateFakeRelcacheEntry(node);
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
	store->tier = (uint16) cs->tier;
	entry->store = NULL;
	/* the geometry follows the file's metapage version (none yet: current) */
	if (cs->tier == RV_TIER_HOT)
		RvStoreReadGeometry(store);
	entry->store = store;
	return store;
}

/*
 * Forgets the handle of a dropped store.  The handle itself is not freed:
 * a relation cache or pin set may still point at it until invalidation.
 */
static void
RvStoreForget(Oid relid)
{
	if (rv_store_hash != NULL)
		hash_search(rv_store_hash, &relid, HASH_REMOVE, NULL);
	rv_store_generation++;
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
	cache->generation = rv_store_generation;
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
		RvStoreRef *ref;

		if (cs->tier != RV_TIER_HOT)
			continue;			/* a tier relation: reached through its store */
		ref = &cache->stores[cache->nstores++];

		ref->storeno = cs->storeno;
		ref->attnum = cs->attnum;
		ref->dims = cs->dims;
		ref->relid = cs->relid;
	}
	if (rel->rd_amcache)
		pfree(rel->rd_amcache);
	rel->rd_amcache = cache;
	return cache;
}

/*
 * RvRelGetCache: rel's vector columns and stores for its current storage,
 * built from the catalog on first use.  The result lives until the next
 * relcache invalidation of rel or of one of its stores; do not keep it
 * across one.
 */
RvRelCache *
RvRelGetCache(Relation rel)
{
	RvRelCache *cache = rel->rd_amcache;

	if (cache != NULL && RelFileNodeEquals(cache->storage, rel->rd_node) &&
		cache->generation == rv_store_generation)
		return cache;
	return RvRelBuildCache(rel, RvCatalogListStores(&rel->rd_node, false), 0);
}

static RvStore *
RvOpenRef(Relation rel, RvStoreRef *ref)
{
	RvCatalogStore cs;

	if (ref->handle)
		return ref->handle;

	memset(&cs, 0, sizeof(cs));
	cs.storage = rel->rd_node;
	cs.storeno = ref->storeno;
	cs.attnum = ref->attnum;
	cs.dims = ref->dims;
	cs.tier = RV_TIER_HOT;
	cs.relid = ref->relid;
	ref->handle = RvStoreOpen(&cs, rel->rd_rel->relpersistence, rel->rd_backend);
	return ref->handle;
}

/*
 * The cached reference to rel's store numbered storeno (when storeno >= 0)
 * or with relation relid (otherwise), or NULL.  A miss re-reads the
 * catalog once: the store may have been created by a transaction that
 * committed after the cache was built.
 */
static RvStoreRef *
RvFindStoreRef(Relation rel, int16 storeno, Oid relid)
{
	RvRelCache *cache = RvRelGetCache(rel);

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < cache->nstores; i++)
			if (storeno >= 0 ? cache->stores[i].storeno == storeno :
				cache->stores[i].relid == relid)
				return &cache->stores[i];
		if (pass == 0)
			cache = RvRelBuildCache(rel, RvCatalogListStores(&rel->rd_node, false), 0);
	}
	return NULL;
}

/* The store numbered storeno of rel's storage, or ERRCODE_DATA_CORRUPTED. */
static RvStore *
RvTamGetStoreByNo(Relation rel, int16 storeno)
{
	RvStoreRef *ref = RvFindStoreRef(rel, storeno, InvalidOid);

	if (ref == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector table \"%s\" has no vector store %d",
						RelationGetRelationName(rel), storeno)));
	return RvOpenRef(rel, ref);
}

/*
 * The store of rel's current storage whose relation is relid, or NULL when
 * rel has no such store (it was dropped, or created by a transaction that
 * aborted).
 */
static RvStore *
RvTamGetStoreByRelid(Relation rel, Oid relid)
{
	RvStoreRef *ref = RvFindStoreRef(rel, -1, relid);

	return ref ? RvOpenRef(rel, ref) : NULL;
}

/*
 * Creates a store relation for storage (a table storage in tablespace
 * storage.spcNode), in tablespace reltablespace (InvalidOid: storage's),
 * inserts its catalog row (keyed by storage) and, when init_meta, writes
 * its metapage.  The relation is catalogued like any table (see the file
 * header); it is visible to this backend at once (the relcache holds a
 * new relation), to others when the transaction commits.
 */
static RvCatalogStore *
RvCreateStore(Relation rel, RelFileNode storage, int16 storeno, int16 attnum, int32 dims,
			  char persistence, BackendId backend, bool init_meta, int16 tier,
			  Oid reltablespace)
{
	Relation	pg_class;
	Relation	catalog;
	RvCatalogStore *cs = palloc0(sizeof(RvCatalogStore));
	Datum		values[Natts_rv_store];
	bool		nulls[Natts_rv_store] = {0};
	HeapTuple	tup;
	RvStore    *store;
	Oid			spc = RvStorageSpcKey(storage.spcNode);
	Oid			relspc = OidIsValid(reltablespace) ? RvStorageSpcKey(reltablespace) : spc;
	Oid			nsp;
	Oid			amoid = get_table_am_oid(RV_STORE_AM_NAME, false);
	char		relname[NAMEDATALEN];

	if (persistence == RELPERSISTENCE_TEMP)
		nsp = LookupCreationNamespace("pg_temp");
	else
		nsp = get_namespace_oid(RV_INTERNAL_SCHEMA, false);

	pg_class = table_open(RelationRelationId, RowExclusiveLock);
	cs->relid = GetNewRelFileNode(relspc, pg_class, persistence);
	table_close(pg_class, RowExclusiveLock);
	snprintf(relname, sizeof(relname), "store_%u", cs->relid);
	heap_create_with_catalog(relname, nsp, relspc, cs->relid, InvalidOid, InvalidOid,
							 BOOTSTRAP_SUPERUSERID, amoid, CreateTemplateTupleDesc(0), NIL,
							 RELKIND_RELATION, persistence, false, false, ONCOMMIT_NOOP,
							 (Datum) 0, false, true, true, InvalidOid, NULL);
	if (persistence != RELPERSISTENCE_TEMP)
	{
		ObjectAddress self;
		ObjectAddress ext;

		ObjectAddressSet(self, RelationRelationId, cs->relid);
		ObjectAddressSet(ext, ExtensionRelationId, get_extension_oid("ruvector_tam", false));
		recordDependencyOn(&self, &ext, DEPENDENCY_EXTENSION);
	}

	cs->storage = storage;
	cs->storeno = storeno;
	cs->attnum = attnum;
	cs->dims = dims;
	cs->tier = tier;

	catalog = table_open(RvCatalogRelid(false), RowExclusiveLock);
	values[Anum_rv_store_spcnode - 1] = ObjectIdGetDatum(spc);
	values[Anum_rv_store_relnode - 1] = ObjectIdGetDatum(storage.relNode);
	values[Anum_rv_store_storeno - 1] = Int16GetDatum(storeno);
	values[Anum_rv_store_attnum - 1] = Int16GetDatum(attnum);
	values[Anum_rv_store_dims - 1] = Int32GetDatum(dims);
	values[Anum_rv_store_tier - 1] = Int16GetDatum(tier);
	values[Anum_rv_store_store - 1] = ObjectIdGetDatum(cs->relid);
	tup = heap_form_tuple(RelationGetDescr(catalog), values, nulls);
	CatalogTupleInsert(catalog, tup);
	cs->tid = tup->t_self;
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
 * The store of rel's storage for column attnum holding vectors of dims
 * dimensions.  When none exists and create is true, takes
 * ShareUpdateExclusiveLock on rel (held to end of transaction), re-reads
 * the catalog and creates it.  Returns NULL when none exists and !create.
 */
static RvStore *
RvTamGetStoreByColumn(Relation rel, int16 attnum, int32 dims, bool create)
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
					   rel->rd_backend, true, RV_TIER_HOT, InvalidOid);
	RvRelBuildCache(rel, lappend(rows, cs), 0);
	return RvStoreOpen(cs, rel->rd_rel->relpersistence, rel->rd_backend);
}

/*
 * RvTamOpenStore: the one way to open a store of rel (the table whose
 * storage it belongs to): by its number in rel's vrefs (RV_STORE_BY_NO:
 * ERRCODE_DATA_CORRUPTED when rel has none), by its store relation
 * (RV_STORE_BY_RELID: NULL when rel has none), by column and dims
 * (RV_STORE_BY_COLUMN: created when key->create, else NULL when missing),
 * or by a catalog row read by the caller (RV_STORE_BY_ROW, for verify,
 * which checks rows the cache may not trust).  Returns the backend's
 * handle, kept for the backend's life (rv_store.h).
 */
RvStore *
RvTamOpenStore(Relation rel, const RvStoreKey *key)
{
	switch (key->by)
	{
		case RV_STORE_BY_NO:
			return RvTamGetStoreByNo(rel, key->storeno);
		case RV_STORE_BY_RELID:
			return RvTamGetStoreByRelid(rel, key->relid);
		case RV_STORE_BY_COLUMN:
			return RvTamGetStoreByColumn(rel, key->attnum, key->dims, key->create);
		case RV_STORE_BY_ROW:
			return RvStoreOpen(key->row, rel->rd_rel->relpersistence, rel->rd_backend);
	}
	elog(ERROR, "unknown store key kind %d", (int) key->by);
	return NULL;				/* keep compiler quiet */
}

/*
 * RvTamDropStoreRelation: drops store relation relid (at commit, like any
 * DROP TABLE), unless it is gone already.  Its extension membership does
 * not stop the drop.
 */
void
RvTamDropStoreRelation(Oid relid)
{
	ObjectAddress obj;

	RvStoreForget(relid);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	ObjectAddressSet(obj, RelationRelationId, relid);
	performDeletion(&obj, DROP_RESTRICT,
					PERFORM_DELETION_INTERNAL | PERFORM_DELETION_QUIETLY |
					PERFORM_DELETION_SKIP_EXTENSIONS);
}

/*
 * RvTamDropStores: drops the stores of storage (only column attnum's when
 * attnum != 0): their catalog rows and, unless keep_relations, their
 * relations (see RvTamDropStoreRelation).  keep_relations is for a
 * deletion that removes the store relations itself (DROP EXTENSION, the
 * end of a session's temporary objects): dropping them here as well would
 * delete them twice.  No-op when the extension's catalog is gone.
 */
void
RvTamDropStores(RelFileNode storage, int16 attnum, bool keep_relations)
{
	Oid			catoid = RvCatalogRelid(true);
	Relation	catalog;
	List	   *rows;
	ListCell   *lc;

	if (!OidIsValid(catoid))
		return;
	catalog = table_open(catoid, RowExclusiveLock);
	rows = RvCatalogScan(catalog, &storage, SnapshotSelf);
	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);

		if (attnum != 0 && cs->attnum != attnum)
			continue;
		CatalogTupleDelete(catalog, &cs->tid);
		if (keep_relations)
			RvStoreForget(cs->relid);
		else
			RvTamDropStoreRelation(cs->relid);
	}
	table_close(catalog, RowExclusiveLock);
}

/*
 * RvTamDropStoreRow: drops one store found by ruvector_gc_orphans (its
 * relation when it still exists, and its catalog row).
 */
void
RvTamDropStoreRow(const RvCatalogStore *cs)
{
	Relation	catalog = table_open(RvCatalogRelid(false), RowExclusiveLock);
	ItemPointerData tid = cs->tid;

	CatalogTupleDelete(catalog, &tid);
	table_close(catalog, RowExclusiveLock);
	RvTamDropStoreRelation(cs->relid);
}

/*
 * RvTamCopyStores: gives newstorage (a rewrite target of rel, e.g. a new
 * tablespace or VACUUM FULL's transient heap) a copy of every store of
 * rel's storage with the same store numbers, so vrefs copied verbatim
 * stay valid.  The new store relations go to newstorage's tablespace; a
 * store that had tier relations gets new, empty ones of the same tiers
 * (and warm), each in tier_spc[tier] where that is valid (RV_NTIERS
 * entries), else with the store.
 * A store is rewritten vid by vid in the current format (RvStoreRewrite)
 * when its format differs (a version-1 store, without codes, or a
 * version-2 one, without bit codes) or when the current format gives it
 * bit codes, so VACUUM FULL and CLUSTER rebuild its codes and recompute
 * its centroid from the vectors it holds; any other store of the current
 * format is copied block by block (WAL-logged as full pages when the
 * persistence needs WAL).
 */
void
RvTamCopyStores(Relation rel, RelFileNode newstorage, char persistence, const Oid *tier_spc)
{
	List	   *rows = RvCatalogListStores(&rel->rd_node, false);
	ListCell   *lc;

	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		RvStore    *src;
		RvCatalogStore *ncs;
		RvStore    *dst;
		bool		tiers = false;

		/* a tier relation is copied with its store: into the new hot store */
		if (cs->tier != RV_TIER_HOT)
			continue;
		src = RvStoreOpen(cs, rel->rd_rel->relpersistence, rel->rd_backend);
		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
			if (RvStoreTier(src, t, false, NULL) != NULL)
				tiers = true;
		FlushRelationBuffers(src->rel);
		ncs = RvCreateStore(NULL, newstorage, cs->storeno, cs->attnum, cs->dims, persistence,
							rel->rd_backend, false, RV_TIER_HOT, InvalidOid);
		if (src->meta_version == (uint32) rv_store_version && src->geo.bits != RV_CODES_BIT &&
			!tiers)
		{
			dst = RvStoreOpen(ncs, persistence, rel->rd_backend);
			RelationCopyStorage(RelationGetSmgr(src->rel), RelationGetSmgr(dst->rel),
								MAIN_FORKNUM, persistence);
		}
		else
		{
			/*
			 * another format, bit codes, or tiers: rewritten (codes and
			 * centroid rebuilt, every segment hot again)
			 */
			dst = RvStoreOpen(ncs, persistence, rel->rd_backend);
			if (RelationGetNumberOfBlocks(dst->rel) == 0)
				RvStoreInitFile(dst);
			RvStoreRewrite(src, dst);
			/*
			 * the table had tier relations: the new storage gets the same
			 * ones (empty), each in its tier's tablespace, so that VACUUM
			 * can seal into them again
			 */
			if (tiers && dst->meta_version >= RV_STORE_META_V4)
				for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
					if (t == RV_TIER_WARM || RvStoreTier(src, t, false, NULL) != NULL)
					{
						dst->tier_spc[t] = tier_spc[t];
						RvStoreTier(dst, t, true, NULL);
					}
		}
	}
}

/*
 * Moves store relation srel (held in AccessExclusiveLock) to tablespace
 * target, as ALTER TABLE SET TABLESPACE does: a new relfilenode there, the
 * pages copied by the store access method (which flushes them first),
 * pg_class updated.  Returns whether it moved (false: it is there).
 */
static bool
RvRelationSetTablespace(Relation srel, Oid target)
{
	Oid			newnode;
	RelFileNode rnode = srel->rd_node;

	if (!CheckRelationTableSpaceMove(srel, target))
		return false;
	newnode = GetNewRelFileNode(target, NULL, srel->rd_rel->relpersistence);
	rnode.spcNode = target;
	rnode.relNode = newnode;
	table_relation_copy_data(srel, &rnode);
	SetRelationTableSpace(srel, target, newnode);
	RelationAssumeNewRelfilenode(srel);
	return true;
}

/*
 * RvTamMoveStores: ALTER TABLE rel SET TABLESPACE moved rel's storage to
 * newstorage; moves every store relation of rel's storage to the same
 * tablespace, a tier relation to tier_spc[tier] where that is valid (the
 * tier policy's tablespace; RV_NTIERS entries), keeping its OID so indexes stay bound to it) as ALTER TABLE
 * SET TABLESPACE would (new relfilenode, pages copied by the store access
 * method, pg_class updated), and re-keys the catalog rows to newstorage.
 * Takes AccessExclusiveLock on each store relation.
 */
void
RvTamMoveStores(Relation rel, RelFileNode newstorage, const Oid *tier_spc)
{
	Relation	catalog = table_open(RvCatalogRelid(false), RowExclusiveLock);
	List	   *rows = RvCatalogScan(catalog, &rel->rd_node, SnapshotSelf);
	ListCell   *lc;

	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		Relation	srel = relation_open(cs->relid, AccessExclusiveLock);
		Datum		values[Natts_rv_store];
		bool		nulls[Natts_rv_store] = {0};
		bool		replace[Natts_rv_store] = {0};
		HeapTuple	oldtup;
		HeapTuple	newtup;
		SysScanDesc scan;
		ScanKeyData key;

		/* a tier relation with a tablespace of its own goes there */
		RvRelationSetTablespace(srel, cs->tier != RV_TIER_HOT && OidIsValid(tier_spc[cs->tier]) ?
								tier_spc[cs->tier] : newstorage.spcNode);
		relation_close(srel, NoLock);
		RvStoreForget(cs->relid);

		/* re-key the row: fetch it by TID with SnapshotSelf */
		ScanKeyInit(&key, Anum_rv_store_store, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(cs->relid));
		scan = systable_beginscan(catalog, InvalidOid, false, SnapshotSelf, 1, &key);
		oldtup = systable_getnext(scan);
		if (!HeapTupleIsValid(oldtup))
			elog(ERROR, "catalog row of store relation %u vanished", cs->relid);
		values[Anum_rv_store_spcnode - 1] = ObjectIdGetDatum(RvStorageSpcKey(newstorage.spcNode));
		values[Anum_rv_store_relnode - 1] = ObjectIdGetDatum(newstorage.relNode);
		replace[Anum_rv_store_spcnode - 1] = true;
		replace[Anum_rv_store_relnode - 1] = true;
		newtup = heap_modify_tuple(oldtup, RelationGetDescr(catalog), values, nulls, replace);
		CatalogTupleUpdate(catalog, &oldtup->t_self, newtup);
		systable_endscan(scan);
	}
	table_close(catalog, RowExclusiveLock);
	CacheInvalidateRelcache(rel);
}

/*
 * RvStoreLockOwner: takes AccessExclusiveLock on the table whose store is
 * relation storeoid (found through the catalog row naming it), so that a
 * rewrite of the store relation itself (VACUUM FULL, CLUSTER or SET
 * TABLESPACE run on it directly, e.g. by a database-wide VACUUM FULL)
 * waits for every reader and writer of the table and excludes new ones
 * until it commits: they reach the store's pages without locking the
 * store relation.  Harmless when the caller holds that lock already
 * (ALTER TABLE ... SET TABLESPACE moving its stores).  No-op for a store
 * relation no catalog row names.
 */
void
RvStoreLockOwner(Oid storeoid)
{
	Oid			catoid = RvCatalogRelid(true);
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	RvCatalogStore *cs = NULL;

	if (!OidIsValid(catoid))
		return;
	catalog = table_open(catoid, AccessShareLock);
	ScanKeyInit(&key, Anum_rv_store_store, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(storeoid));
	scan = systable_beginscan(catalog, InvalidOid, false, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		cs = RvCatalogFromTuple(tup, RelationGetDescr(catalog));
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	if (cs != NULL)
	{
		Oid			owner = RelidByRelfilenode(RvStorageSpcKey(cs->storage.spcNode),
											   cs->storage.relNode);

		if (OidIsValid(owner))
			LockRelationOid(owner, AccessExclusiveLock);
	}
}

/*
 * RvStoreTier: the handle of store's tier relation for tier (a hot
 * store's warm, cool or cold relation), found through the catalog row of
 * the same table storage and store number with that tier; NULL when there
 * is none and !create.  With create, a missing relation is created (a
 * catalog row and relation in the running transaction, in tablespace
 * store->tier_spc[tier] or else the store's, its block 0 written).  *create_xid (may be NULL) receives
 * the top transaction id when the relation was created by the running
 * transaction (its moves wait for that commit), else
 * InvalidTransactionId.  Handles are cached in store for the backend's
 * store generation.
 */
RvStore *
RvStoreTier(RvStore *store, int tier, bool create, TransactionId *create_xid)
{
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	RvCatalogStore *hot = NULL;
	RvCatalogStore *found = NULL;
	TransactionId xmin = InvalidTransactionId;

	if (create_xid)
		*create_xid = InvalidTransactionId;
	if (tier <= RV_TIER_HOT || tier >= RV_NTIERS)
		return store;
	if (store->tiers_generation == rv_store_generation && store->tiers[tier] != NULL &&
		create_xid == NULL)
		return store->tiers[tier];

	catalog = table_open(RvCatalogRelid(false), AccessShareLock);
	ScanKeyInit(&key, Anum_rv_store_store, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(store->relid));
	scan = systable_beginscan(catalog, InvalidOid, false, SnapshotSelf, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		hot = RvCatalogFromTuple(tup, RelationGetDescr(catalog));
	systable_endscan(scan);
	if (hot == NULL)
	{
		table_close(catalog, AccessShareLock);
		return NULL;
	}
	{
		ScanKeyData keys[2];

		ScanKeyInit(&keys[0], Anum_rv_store_spcnode, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(RvStorageSpcKey(hot->storage.spcNode)));
		ScanKeyInit(&keys[1], Anum_rv_store_relnode, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(hot->storage.relNode));
		scan = systable_beginscan(catalog, InvalidOid, false, SnapshotSelf, 2, keys);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			RvCatalogStore *cs = RvCatalogFromTuple(tup, RelationGetDescr(catalog));

			if (cs->storeno == hot->storeno && cs->tier == tier)
			{
				found = cs;
				xmin = HeapTupleHeaderGetXmin(tup->t_data);
				break;
			}
		}
		systable_endscan(scan);
	}
	table_close(catalog, AccessShareLock);
	if (found == NULL && create)
	{
		RvStore    *ts;
		Buffer		buf;
		GenericXLogState *state;
		Page		page;
		RvTierMeta *tm;

		found = RvCreateStore(NULL, hot->storage, hot->storeno, hot->attnum, hot->dims,
							  store->persistence, store->rel->rd_backend, false, (int16) tier,
							  store->tier_spc[tier]);
		ts = RvStoreOpen(found, store->persistence, store->rel->rd_backend);
		buf = RvReadBufferExtend(ts, 0);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(ts->rel);
		page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
		RvPageInit(page, RV_PAGE_TIERMETA, 0);
		tm = (RvTierMeta *) RvPagePayload(page);
		tm->magic = RV_STORE_MAGIC;
		tm->tier = (uint32) tier;
		tm->dims = store->dims;
		tm->store = store->relid;
		((PageHeader) page)->pd_lower = RV_PAGE_PAYLOAD_START + sizeof(RvTierMeta);
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
		xmin = GetTopTransactionId();
		/* the table's cache is rebuilt when this commits */
		rv_store_generation++;
	}
	if (found == NULL)
		return NULL;
	if (create_xid && TransactionIdIsCurrentTransactionId(xmin))
		*create_xid = GetTopTransactionId();
	if (store->tiers_generation != rv_store_generation)
	{
		memset(store->tiers, 0, sizeof(store->tiers));
		store->tiers_generation = rv_store_generation;
	}
	store->tiers[tier] = RvStoreOpen(found, store->persistence, store->rel->rd_backend);
	/* a tier relation shares its store's geometry */
	store->tiers[tier]->geo = store->geo;
	store->tiers[tier]->meta_version = store->meta_version;
	store->tiers[tier]->tier = (uint16) tier;
	return store->tiers[tier];
}

/*
 * RvStoreTierSetTablespace: moves store's tier relation for tier (which
 * must exist) to tablespace spc (InvalidOid: the store's own), as ALTER
 * TABLE SET TABLESPACE would (a new relfilenode, the pages copied by the
 * store access method, pg_class updated); a no-op when it is there
 * already.  The catalog row, keyed by the table's storage, is unchanged.
 * Caller holds AccessExclusiveLock on the table (readers reach the tier's
 * pages without locking the tier relation).  Returns whether it moved.
 */
bool
RvStoreTierSetTablespace(RvStore *store, int tier, Oid spc)
{
	RvStore    *ts = RvStoreTier(store, tier, false, NULL);
	Oid			target = OidIsValid(spc) ? spc : store->rel->rd_node.spcNode;
	Relation	srel;
	bool		moved;

	if (ts == NULL)
		elog(ERROR, "store %u has no %s relation", store->relid, RvTierName(tier));
	srel = relation_open(ts->relid, AccessExclusiveLock);
	moved = RvRelationSetTablespace(srel, target);
	relation_close(srel, NoLock);
	if (moved)
	{
		RvStoreForget(ts->relid);
		store->tiers_generation = 0;
		rv_store_generation++;
	}
	return moved;
}
