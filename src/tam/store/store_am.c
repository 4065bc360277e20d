/*-------------------------------------------------------------------------
 *
 * store_am.c
 *	  The internal table access method "ruvector_store" of the vector store
 *	  relations.  A store relation is an ordinary pg_class relation (in
 *	  schema ruvector_internal, or the session's temporary schema for a
 *	  temporary table's stores) so that PostgreSQL's own machinery carries
 *	  its file: pg_upgrade, ALTER DATABASE SET TABLESPACE, CREATE DATABASE
 *	  TEMPLATE, base backups, pg_prewarm, pg_relation_size.  Its pages are
 *	  written and read only by the store engine (store.c) through the
 *	  buffer manager; this access method exists to give the relation storage
 *	  and to refuse everything else.
 *
 * Invariants:
 *	- storage is created only for a store relation being created in this
 *	  transaction (by store_catalog.c, or as the transient copy of VACUUM
 *	  FULL); a request for a new relfilenode of an existing store (TRUNCATE
 *	  of a store relation) is refused, so a store's pages never vanish
 *	  under its table;
 *	- scans, DML and index builds on a store relation raise
 *	  ERRCODE_FEATURE_NOT_SUPPORTED naming the relation; ANALYZE sees an
 *	  empty relation and VACUUM has nothing to do (VACUUM of the owning
 *	  table sweeps the store), so database-wide ANALYZE and VACUUM pass;
 *	- VACUUM FULL, CLUSTER and SET TABLESPACE of a store relation copy its
 *	  pages verbatim to the new file (store pages are not MVCC data) while
 *	  holding AccessExclusiveLock on the owning table (readers and writers
 *	  reach store pages without locking the store relation, so the table
 *	  lock is what keeps them off the old file), and the relcache
 *	  invalidation they send makes every backend reopen its handle
 *	  (store_catalog.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/multixact.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/storage.h"
#include "catalog/storage_xlog.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/rel.h"

#include "tam/store/rv_store.h"

static void
RvStoreAmRefuse(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("\"%s\" is a ruvector vector store and cannot be accessed directly",
					RelationGetRelationName(rel)),
			 errhint("Query the table that owns it; ruvector_storage_report() lists a table's stores.")));
}

static const TupleTableSlotOps *
rvs_slot_callbacks(Relation rel)
{
	return &TTSOpsVirtual;
}

/* Scans: only ANALYZE's is allowed, and it sees no rows. */
static TableScanDesc
rvs_scan_begin(Relation rel, Snapshot snapshot, int nkeys, struct ScanKeyData *key,
			   ParallelTableScanDesc pscan, uint32 flags)
{
	TableScanDesc scan;

	if (!(flags & SO_TYPE_ANALYZE))
		RvStoreAmRefuse(rel);
	scan = palloc0(sizeof(TableScanDescData));
	scan->rs_rd = rel;
	scan->rs_snapshot = snapshot;
	scan->rs_flags = flags;
	return scan;
}

static void
rvs_scan_end(TableScanDesc scan)
{
	pfree(scan);
}

static void
rvs_scan_rescan(TableScanDesc scan, struct ScanKeyData *key, bool set_params,
				bool allow_strat, bool allow_sync, bool allow_pagemode)
{
}

static bool
rvs_scan_getnextslot(TableScanDesc scan, ScanDirection direction, TupleTableSlot *slot)
{
	RvStoreAmRefuse(scan->rs_rd);
	return false;
}

static Size
rvs_parallelscan_estimate(Relation rel)
{
	RvStoreAmRefuse(rel);
	return 0;
}

static Size
rvs_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	RvStoreAmRefuse(rel);
	return 0;
}

static void
rvs_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	RvStoreAmRefuse(rel);
}

static struct IndexFetchTableData *
rvs_index_fetch_begin(Relation rel)
{
	RvStoreAmRefuse(rel);
	return NULL;
}

static void
rvs_index_fetch_reset(struct IndexFetchTableData *data)
{
}

static void
rvs_index_fetch_end(struct IndexFetchTableData *data)
{
}

static bool
rvs_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid, Snapshot snapshot,
					  TupleTableSlot *slot, bool *call_again, bool *all_dead)
{
	RvStoreAmRefuse(scan->rel);
	return false;
}

static bool
rvs_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
							TupleTableSlot *slot)
{
	RvStoreAmRefuse(rel);
	return false;
}

static bool
rvs_tuple_tid_valid(TableScanDesc scan, ItemPointer tid)
{
	RvStoreAmRefuse(scan->rs_rd);
	return false;
}

static void
rvs_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
	RvStoreAmRefuse(scan->rs_rd);
}

static bool
rvs_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot, Snapshot snapshot)
{
	RvStoreAmRefuse(rel);
	return false;
}

static TransactionId
rvs_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	RvStoreAmRefuse(rel);
	return InvalidTransactionId;
}

static void
rvs_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
				 struct BulkInsertStateData *bistate)
{
	RvStoreAmRefuse(rel);
}

static void
rvs_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
							 struct BulkInsertStateData *bistate, uint32 specToken)
{
	RvStoreAmRefuse(rel);
}

static void
rvs_tuple_complete_speculative(Relation rel, TupleTableSlot *slot, uint32 specToken,
							   bool succeeded)
{
	RvStoreAmRefuse(rel);
}

static void
rvs_multi_insert(Relation rel, TupleTableSlot **slots, int ntuples, CommandId cid,
				 int options, struct BulkInsertStateData *bistate)
{
	RvStoreAmRefuse(rel);
}

static TM_Result
rvs_tuple_delete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
				 Snapshot crosscheck, bool wait, TM_FailureData *tmfd, bool changingPart)
{
	RvStoreAmRefuse(rel);
	return TM_Ok;
}

static TM_Result
rvs_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid,
				 Snapshot snapshot, Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
				 LockTupleMode *lockmode, bool *update_indexes)
{
	RvStoreAmRefuse(rel);
	return TM_Ok;
}

static TM_Result
rvs_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot,
			   CommandId cid, LockTupleMode mode, LockWaitPolicy wait_policy, uint8 flags,
			   TM_FailureData *tmfd)
{
	RvStoreAmRefuse(rel);
	return TM_Ok;
}

/*
 * New storage: only for a relation being created (heap_create_with_catalog
 * calls this); the store engine writes the metapage afterwards.  Unlogged
 * stores get an empty init fork, so crash recovery resets them to empty
 * together with their unlogged table.
 */
static void
rvs_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode, char persistence,
							  TransactionId *freezeXid, MultiXactId *minmulti)
{
	SMgrRelation srel;

	if (rel->rd_createSubid == InvalidSubTransactionId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot truncate ruvector vector store \"%s\"",
						RelationGetRelationName(rel)),
				 errhint("Truncate the table that owns it.")));
	*freezeXid = InvalidTransactionId;
	*minmulti = InvalidMultiXactId;
	srel = RelationCreateStorage(*newrnode, persistence, true);
	if (persistence == RELPERSISTENCE_UNLOGGED)
	{
		smgrcreate(srel, INIT_FORKNUM, false);
		log_smgrcreate(newrnode, INIT_FORKNUM);
		smgrimmedsync(srel, INIT_FORKNUM);
	}
	smgrclose(srel);
}

static void
rvs_relation_nontransactional_truncate(Relation rel)
{
	RvStoreAmRefuse(rel);
}

/* Copies every fork of rel's storage to newrnode, block by block. */
static void
RvStoreAmCopyFile(Relation rel, const RelFileNode *newrnode, char persistence)
{
	SMgrRelation dstrel;

	FlushRelationBuffers(rel);
	dstrel = RelationCreateStorage(*newrnode, persistence, true);
	RelationCopyStorage(RelationGetSmgr(rel), dstrel, MAIN_FORKNUM, persistence);
	for (ForkNumber fork = MAIN_FORKNUM + 1; fork <= MAX_FORKNUM; fork++)
	{
		if (smgrexists(RelationGetSmgr(rel), fork))
		{
			smgrcreate(dstrel, fork, false);
			if (persistence == RELPERSISTENCE_PERMANENT ||
				(persistence == RELPERSISTENCE_UNLOGGED && fork == INIT_FORKNUM))
				log_smgrcreate(newrnode, fork);
			RelationCopyStorage(RelationGetSmgr(rel), dstrel, fork, persistence);
		}
	}
	RelationDropStorage(rel);
	smgrclose(dstrel);
}

static void
rvs_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	RvStoreLockOwner(RelationGetRelid(rel));
	RvStoreAmCopyFile(rel, newrnode, rel->rd_rel->relpersistence);
}

static void
rvs_relation_copy_for_cluster(Relation OldTable, Relation NewTable, Relation OldIndex,
							  bool use_sort, TransactionId OldestXmin,
							  TransactionId *xid_cutoff, MultiXactId *multi_cutoff,
							  double *num_tuples, double *tups_vacuumed,
							  double *tups_recently_dead)
{
	/*
	 * NewTable already has an empty file: copy the pages over it.  The
	 * swap that follows drops the old file.
	 */
	RvStoreLockOwner(RelationGetRelid(OldTable));
	FlushRelationBuffers(OldTable);
	RelationCopyStorage(RelationGetSmgr(OldTable), RelationGetSmgr(NewTable), MAIN_FORKNUM,
						NewTable->rd_rel->relpersistence);
	*xid_cutoff = InvalidTransactionId;
	*multi_cutoff = InvalidMultiXactId;
	*num_tuples = 0;
	*tups_vacuumed = 0;
	*tups_recently_dead = 0;
}

static void
rvs_relation_vacuum(Relation rel, struct VacuumParams *params, BufferAccessStrategy bstrategy)
{
	/* nothing: VACUUM of the owning table sweeps its stores */
}

static bool
rvs_scan_analyze_next_block(TableScanDesc scan, BlockNumber blockno,
							BufferAccessStrategy bstrategy)
{
	return false;
}

static bool
rvs_scan_analyze_next_tuple(TableScanDesc scan, TransactionId OldestXmin, double *liverows,
							double *deadrows, TupleTableSlot *slot)
{
	return false;
}

static double
rvs_index_build_range_scan(Relation table_rel, Relation index_rel, struct IndexInfo *index_info,
						   bool allow_sync, bool anyvisible, bool progress,
						   BlockNumber start_blockno, BlockNumber numblocks,
						   IndexBuildCallback callback, void *callback_state,
						   TableScanDesc scan)
{
	RvStoreAmRefuse(table_rel);
	return 0;
}

static void
rvs_index_validate_scan(Relation table_rel, Relation index_rel, struct IndexInfo *index_info,
						Snapshot snapshot, struct ValidateIndexState *state)
{
	RvStoreAmRefuse(table_rel);
}

static bool
rvs_relation_needs_toast_table(Relation rel)
{
	return false;
}

static Oid
rvs_relation_toast_am(Relation rel)
{
	return InvalidOid;
}

/* The planner's size estimate: no rows (nothing can read them anyway). */
static void
rvs_relation_estimate_size(Relation rel, int32 *attr_widths, BlockNumber *pages,
						   double *tuples, double *allvisfrac)
{
	*pages = 0;
	*tuples = 0;
	*allvisfrac = 0;
}

static bool
rvs_scan_bitmap_next_block(TableScanDesc scan, struct TBMIterateResult *tbmres)
{
	RvStoreAmRefuse(scan->rs_rd);
	return false;
}

static bool
rvs_scan_bitmap_next_tuple(TableScanDesc scan, struct TBMIterateResult *tbmres,
						   TupleTableSlot *slot)
{
	RvStoreAmRefuse(scan->rs_rd);
	return false;
}

static bool
rvs_scan_sample_next_block(TableScanDesc scan, struct SampleScanState *scanstate)
{
	RvStoreAmRefuse(scan->rs_rd);
	return false;
}

static bool
rvs_scan_sample_next_tuple(TableScanDesc scan, struct SampleScanState *scanstate,
						   TupleTableSlot *slot)
{
	RvStoreAmRefuse(scan->rs_rd);
	return false;
}

static const TableAmRoutine rv_store_methods = {
	.type = T_TableAmRoutine,
	.slot_callbacks = rvs_slot_callbacks,
	.scan_begin = rvs_scan_begin,
	.scan_end = rvs_scan_end,
	.scan_rescan = rvs_scan_rescan,
	.scan_getnextslot = rvs_scan_getnextslot,
	.parallelscan_estimate = rvs_parallelscan_estimate,
	.parallelscan_initialize = rvs_parallelscan_initialize,
	.parallelscan_reinitialize = rvs_parallelscan_reinitialize,
	.index_fetch_begin = rvs_index_fetch_begin,
	.index_fetch_reset = rvs_index_fetch_reset,
	.index_fetch_end = rvs_index_fetch_end,
	.index_fetch_tuple = rvs_index_fetch_tuple,
	.tuple_fetch_row_version = rvs_tuple_fetch_row_version,
	.tuple_tid_valid = rvs_tuple_tid_valid,
	.tuple_get_latest_tid = rvs_tuple_get_latest_tid,
	.tuple_satisfies_snapshot = rvs_tuple_satisfies_snapshot,
	.index_delete_tuples = rvs_index_delete_tuples,
	.tuple_insert = rvs_tuple_insert,
	.tuple_insert_speculative = rvs_tuple_insert_speculative,
	.tuple_complete_speculative = rvs_tuple_complete_speculative,
	.multi_insert = rvs_multi_insert,
	.tuple_delete = rvs_tuple_delete,
	.tuple_update = rvs_tuple_update,
	.tuple_lock = rvs_tuple_lock,
	.relation_set_new_filenode = rvs_relation_set_new_filenode,
	.relation_nontransactional_truncate = rvs_relation_nontransactional_truncate,
	.relation_copy_data = rvs_relation_copy_data,
	.relation_copy_for_cluster = rvs_relation_copy_for_cluster,
	.relation_vacuum = rvs_relation_vacuum,
	.scan_analyze_next_block = rvs_scan_analyze_next_block,
	.scan_analyze_next_tuple = rvs_scan_analyze_next_tuple,
	.index_build_range_scan = rvs_index_build_range_scan,
	.index_validate_scan = rvs_index_validate_scan,
	.relation_size = table_block_relation_size,
	.relation_needs_toast_table = rvs_relation_needs_toast_table,
	.relation_toast_am = rvs_relation_toast_am,
	.relation_estimate_size = rvs_relation_estimate_size,
	.scan_bitmap_next_block = rvs_scan_bitmap_next_block,
	.scan_bitmap_next_tuple = rvs_scan_bitmap_next_tuple,
	.scan_sample_next_block = rvs_scan_sample_next_block,
	.scan_sample_next_tuple = rvs_scan_sample_next_tuple,
};

PG_FUNCTION_INFO_V1(ruvector_store_handler);

/* ruvector_store_handler(internal) -> table_am_handler: the routine above. */
Datum
ruvector_store_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&rv_store_methods);
}
