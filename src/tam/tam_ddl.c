/*-------------------------------------------------------------------------
 *
 * tam_ddl.c
 *	  DDL lifecycle of ruvector tables beyond what the table AM callbacks
 *	  see: dropping a table's or a column's stores (object-access hook),
 *	  refusing publications that would include a ruvector table (an event
 *	  trigger at ddl_command_end), the event trigger that makes sure this
 *	  library is loaded before DDL runs,
 *	  and the orphan collector ruvector_gc_orphans().
 *
 * Invariants:
 *	- the hooks are installed by _PG_init; the extension's ddl_command_start
 *	  event trigger (ruvector_ddl_load) loads the library in any backend
 *	  before a DROP runs, so the drop hook always sees the drop;
 *	- every store file is dropped in the transaction that drops its table
 *	  storage or column (at commit; kept on abort);
 *	- logical decoding would see vrefs, so no publication may include a
 *	  ruvector table (docs/design.md, logical decoding): the statement that would make one
 *	  do so fails.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlogutils.h"
#include "catalog/namespace.h"
#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_extension.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/smgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/relfilenodemap.h"
#include "utils/syscache.h"

#include "ruvector_tam.h"
#include "tam/rv_tam.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_tier.h"
#include "tam/store/rv_score.h"

static object_access_hook_type prev_object_access_hook = NULL;

/*
 * True while the running deletion also removes the stores of the ruvector
 * tables it drops: DROP EXTENSION ruvector_tam (it holds the deletion lock
 * on the extension, and the stores are its members), or the removal of a
 * session's temporary objects (which drops everything in the temporary
 * schema, the stores of temporary tables included).
 */
static bool
RvDeletionRemovesStores(const ObjectAccessDrop *drop)
{
	Oid			extoid = get_extension_oid("ruvector_tam", true);
	LOCKTAG		tag;

	if (drop != NULL &&
		(drop->dropflags & (PERFORM_DELETION_SKIP_ORIGINAL | PERFORM_DELETION_SKIP_EXTENSIONS)) ==
		(PERFORM_DELETION_SKIP_ORIGINAL | PERFORM_DELETION_SKIP_EXTENSIONS))
		return true;
	if (!OidIsValid(extoid))
		return true;
	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, ExtensionRelationId, extoid, 0);
	return LockHeldByMe(&tag, AccessExclusiveLock);
}

static void
RvObjectAccess(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	HeapTuple	tup;
	Form_pg_class cls;
	Oid			amoid;

	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_DROP || classId != RelationRelationId || subId < 0)
		return;
	amoid = get_am_oid(RV_TAM_NAME, true);
	if (!OidIsValid(amoid))
		return;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(objectId));
	if (!HeapTupleIsValid(tup))
		return;
	cls = (Form_pg_class) GETSTRUCT(tup);
	if (cls->relam == amoid && cls->relkind == RELKIND_RELATION &&
		OidIsValid(cls->relfilenode))
	{
		RelFileNode storage;

		storage.spcNode = OidIsValid(cls->reltablespace) ? cls->reltablespace : MyDatabaseTableSpace;
		storage.dbNode = MyDatabaseId;
		storage.relNode = cls->relfilenode;
		/*
		 * VACUUM's pending audit events live in the stores' metapages: log
		 * them before the stores go (in this transaction, so a DROP that
		 * rolls back leaves them pending); not with DROP EXTENSION, whose
		 * audit log goes too
		 */
		if (subId == 0 && !RvDeletionRemovesStores(arg))
			RvAuditDrain(false);
		RvTamDropStores(storage, (int16) subId, RvDeletionRemovesStores(arg));
		/* the table's tier policy goes with it (not with DROP EXTENSION: it is gone then) */
		if (subId == 0 && !RvDeletionRemovesStores(arg))
			RvTierForgetPolicy(objectId);
	}
	ReleaseSysCache(tup);
}

/* Raises an error if any publication includes a ruvector table. */
static void
RvCheckPublications(void)
{
	int			ret;

	if (!OidIsValid(get_am_oid(RV_TAM_NAME, true)))
		return;
	SPI_connect();
	/*
	 * Every operator is qualified: this runs with the caller's search_path,
	 * which may put an untrusted schema (with decoy "=" operators) before
	 * pg_catalog.
	 */
	ret = SPI_execute("SELECT pt.pubname, pt.schemaname, pt.tablename "
					  "FROM pg_catalog.pg_publication_tables pt "
					  "JOIN pg_catalog.pg_namespace n "
					  "ON n.nspname OPERATOR(pg_catalog.=) pt.schemaname "
					  "JOIN pg_catalog.pg_class c "
					  "ON c.relnamespace OPERATOR(pg_catalog.=) n.oid "
					  "AND c.relname OPERATOR(pg_catalog.=) pt.tablename "
					  "JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) c.relam "
					  "WHERE a.amname OPERATOR(pg_catalog.=) 'ruvector'::pg_catalog.name "
					  "LIMIT 1", false, 1);
	if (ret == SPI_OK_SELECT && SPI_processed > 0)
	{
		char	   *pub = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *nsp = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		char	   *tab = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);

		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("publication \"%s\" would include ruvector table \"%s.%s\"", pub, nsp, tab),
				 errdetail("Logical replication of tables using the ruvector access method is not supported yet."),
				 errhint("Leave ruvector tables out of publications, or move the table to heap with ALTER TABLE ... SET ACCESS METHOD heap.")));
	}
	SPI_finish();
}

/* RvTamInstallHooks: installs the object-access hook (once). */
void
RvTamInstallHooks(void)
{
	static bool installed = false;

	if (installed)
		return;
	installed = true;
	prev_object_access_hook = object_access_hook;
	object_access_hook = RvObjectAccess;
}

static const struct config_enum_entry rv_search_codes_options[] = {
	{"off", RV_SCORE_EXACT, false},
	{"int8", RV_SCORE_SQ8, false},
	{"bit", RV_SCORE_BIT, false},
	{NULL, 0, false}
};

/*
 * RvTamInit: the table AM layer's part of _PG_init: the DDL hooks,
 * ruvector.search_codes (rv_score.h) and the
 * developer settings ruvector.store_format (the metapage version new
 * stores get: 4, with SQ8 and bit codes and a segment directory for
 * tiers, by default; 1 writes stores as 0.2.0 did, 2 with SQ8 codes only
 * and 3 without a directory, so that tests can check this library reads
 * and rewrites them) and ruvector.debug_seal_crash (a crash point of
 * sealing, for the crash tests: rv_tier.h).
 */
void
RvTamInit(void)
{
	RvTamInstallHooks();
	DefineCustomEnumVariable("ruvector.search_codes",
							 "Sets what searches score vectors on before they rerank: int8 codes, 1-bit codes or the exact floats.",
							 "int8: ruhnsw traverses on SQ8 codes and reranks on the floats; the exact k-NN scan "
							 "skips rows whose code distance bound rules them out.  bit: ruhnsw traverses on "
							 "1-bit RaBitQ codes and reranks on the floats (the exact scan still prunes on SQ8 "
							 "bounds).  off: floats only.",
							 &rv_search_codes, RV_SCORE_SQ8, rv_search_codes_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.store_format",
							"Sets the format of new vector stores (developer option).",
							"1 = floats only, as written by release 0.2.0; 2 = floats and SQ8 codes; "
							"3 = floats, SQ8 and 1-bit codes; 4 = version 3 with a segment directory and tiers; "
							"5 = version 4 with SQ8 code records straddling code pages.",
							&rv_store_version, RV_STORE_META_V5, RV_STORE_META_V1,
							RV_STORE_META_V5, PGC_SUSET, GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL,
							NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.insert_code_cache",
							"Sets the memory each backend may use to keep the code records its ruhnsw inserts score.",
							"Inserts into a ruhnsw index score the SQ8 codes of a few thousand stored vectors each, "
							"mostly the same ones again; a backend keeps a copy of those it read, up to this much "
							"per table (for 4 tables at most), instead of pinning their store pages again.  "
							"0 disables it.",
							&rv_insert_code_cache, 64 * 1024, 0, MAX_KILOBYTES, PGC_USERSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.heat_flush_interval",
							"Sets how often a backend writes the access heat it counted into segment headers.",
							"Reads of a table's vectors are counted in memory and written at the end of "
							"a scan once this long has passed since the last write; 0 writes at every "
							"scan end.  Only tables whose tier policy has a heat_threshold are counted.",
							&rv_heat_flush_interval, 1000, 0, 3600 * 1000, PGC_USERSET,
							GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("ruvector.debug_seal_crash",
							"Makes the next segment move crash the server at a given point (developer option).",
							"0 = never; 1 = after the new location is reserved; 2 = halfway through "
							"writing it; 3 = after the directory switched, before the transaction commits.",
							&rv_debug_seal_crash, 0, 0, 3, PGC_SUSET,
							GUC_NOT_IN_SAMPLE | GUC_NO_SHOW_ALL, NULL, NULL, NULL);
	DefineCustomBoolVariable("ruvector.int8_query",
							 "Quantizes the query to int8 for the SQ8 estimates of graph traversal.",
							 "Where the CPU has AVX512-VNNI, ruhnsw's searches, builds and inserts "
							 "estimate distances on SQ8 codes with an int8 query (VPDPBUSD) instead of "
							 "a float one.  Results stay exact: candidates are reranked on the floats, "
							 "and every bound a rerank or the exact scan relies on uses the float query.",
							 &rv_int8_query, true, PGC_USERSET, 0, NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(ruvector_ddl_load);

/*
 * ruvector_ddl_load() -> event_trigger: fired at ddl_command_start; its
 * only job is that calling it loads this library (and so the hooks above)
 * before the DDL runs.
 */
Datum
ruvector_ddl_load(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ruvector_ddl_load() must be called as an event trigger")));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(ruvector_ddl_check);

/*
 * ruvector_ddl_check() -> event_trigger: fired at ddl_command_end for
 * statements that can put a ruvector table into a publication (CREATE or
 * ALTER PUBLICATION, CREATE TABLE [AS], SELECT INTO, ALTER TABLE); raises
 * an error, aborting the statement, if any publication now includes one.
 */
Datum
ruvector_ddl_check(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ruvector_ddl_check() must be called as an event trigger")));
	RvCheckPublications();
	PG_RETURN_VOID();
}

/*
 * The OID of a temporary relation of any session whose storage is
 * (spc, relnode), or InvalidOid.  RelidByRelfilenode skips temporary
 * relations (their relfilenodes need not be unique), so the orphan
 * collector has to look for them itself.
 */
static Oid
RvTempRelidByRelfilenode(Oid spc, Oid relnode)
{
	Relation	pg_class = table_open(RelationRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			relid = InvalidOid;

	ScanKeyInit(&key[0], Anum_pg_class_reltablespace, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(spc));
	ScanKeyInit(&key[1], Anum_pg_class_relfilenode, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relnode));
	scan = systable_beginscan(pg_class, ClassTblspcRelfilenodeIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);

		if (cls->relpersistence == RELPERSISTENCE_TEMP)
		{
			relid = cls->oid;
			break;
		}
	}
	systable_endscan(scan);
	table_close(pg_class, AccessShareLock);
	return relid;
}

/*
 * Drops every store relation of this database (access method
 * ruvector_store, any schema) that no catalog row in rows names, and
 * reports each in rsinfo.
 */
static void
RvGcUnreferencedStores(ReturnSetInfo *rsinfo, List *rows)
{
	Oid			amoid = get_table_am_oid(RV_STORE_AM_NAME, false);
	Relation	pg_class = table_open(RelationRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(pg_class, 0, NULL);
	HeapTuple	tup;
	List	   *unreferenced = NIL;
	ListCell   *lc;

	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_class cls = (Form_pg_class) GETSTRUCT(tup);
		bool		named = false;

		if (cls->relam != amoid || cls->relkind != RELKIND_RELATION)
			continue;
		/* another session's temporary stores are its own business */
		if (cls->relpersistence == RELPERSISTENCE_TEMP &&
			!isTempOrTempToastNamespace(cls->relnamespace))
			continue;
		foreach(lc, rows)
			if (((RvCatalogStore *) lfirst(lc))->relid == cls->oid)
				named = true;
		if (!named)
			unreferenced = lappend_oid(unreferenced, cls->oid);
	}
	table_endscan(scan);
	table_close(pg_class, AccessShareLock);

	foreach(lc, unreferenced)
	{
		RvCatalogStore cs;
		Datum		values[4];
		bool		nulls[4] = {true, true, true, false};

		memset(&cs, 0, sizeof(cs));
		cs.relid = lfirst_oid(lc);
		RvTamDropStoreRelation(cs.relid);
		values[0] = CStringGetTextDatum("unreferenced store relation dropped");
		nulls[0] = false;
		values[3] = ObjectIdGetDatum(cs.relid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(ruvector_gc_orphans);

/*
 * ruvector_gc_orphans() -> setof (reason, table_relfilenode, store,
 * store_relation): finds catalog rows whose table storage no longer
 * exists in this database (orphans) and drops them with their store
 * relations; finds catalog rows whose store relation is missing from
 * pg_class and drops those rows; returns one row per store dropped.
 * A healthy database returns no rows.  Revoked from PUBLIC.
 */
Datum
ruvector_gc_orphans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *rows;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	rows = RvCatalogListStores(NULL, true);
	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		Oid			spc = RvStorageSpcKey(cs->storage.spcNode);
		Oid			relid = RelidByRelfilenode(spc, cs->storage.relNode);
		RelFileNode node;
		const char *reason = NULL;
		Datum		values[4];
		bool		nulls[4] = {0};

		if (!OidIsValid(relid))
			relid = RvTempRelidByRelfilenode(spc, cs->storage.relNode);
		if (!OidIsValid(relid))
			reason = "orphaned store dropped";
		else if (!RvStoreRelFileNode(cs->relid, &node))
			reason = "store relation missing: catalog row dropped";
		if (reason == NULL)
			continue;
		RvTamDropStoreRow(cs);
		values[0] = CStringGetTextDatum(reason);
		values[1] = ObjectIdGetDatum(cs->storage.relNode);
		values[2] = Int32GetDatum(cs->storeno);
		values[3] = ObjectIdGetDatum(cs->relid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	RvGcUnreferencedStores(rsinfo, RvCatalogListStores(NULL, true));
	return (Datum) 0;
}
