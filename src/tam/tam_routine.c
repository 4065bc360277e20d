/*-------------------------------------------------------------------------
 *
 * tam_routine.c
 *	  The ruvector table access method's TableAmRoutine.  Rows are heap
 *	  rows in the table's main fork, handled by PostgreSQL's heap code;
 *	  this file wraps heap's callbacks so that vectors go to the vector
 *	  stores on the way in and come back resolved on the way out.
 *
 * Invariants:
 *	- heap's callbacks always get heap's own scan descriptors and
 *	  BufferHeapTuple slots (never ours); the executor always gets virtual
 *	  slots holding resolved values (tam_slot.c);
 *	- TIDs are heap's TIDs, unchanged;
 *	- heap code that insists on rd_tableam being heap's (heap_getnext via
 *	  index_build_range_scan and index_validate_scan, copy_for_cluster)
 *	  runs with rel->rd_tableam temporarily set to heap's routine inside
 *	  PG_TRY/PG_FINALLY.  PostgreSQL 15 offers no other way: heap_getnext
 *	  refuses a relation whose rd_tableam is not heap's, and these heap
 *	  callbacks scan the relation they are given.  A copy of the relcache
 *	  entry is no way out either (heap's scan registers the entry's
 *	  rd_smgr field as its smgr owner).  Why the swap is safe: the entry
 *	  is backend-local and pinned by the caller, so only this backend sees
 *	  the swapped pointer, and only for the duration of the call; if a
 *	  relcache rebuild of rel happens inside the window (an invalidation
 *	  processed at a lock acquisition, or a sinval reset), the rebuilt
 *	  entry gets rd_tableam from pg_am again, i.e. ours, so the worst
 *	  outcome is heap_getnext's own "only heap AM is supported" ERROR
 *	  aborting the statement, never a scan through the wrong routine after
 *	  the window; PG_FINALLY restores ours on every exit;
 *	- a store pin taken for a zero-copy value is held by the scan or fetch
 *	  state and released when the next row is produced or the scan ends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "commands/defrem.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "tam/rv_tam.h"
#include "tam/rv_vacuum.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_tier.h"

PG_FUNCTION_INFO_V1(ruvector_tam_handler);

static const TableAmRoutine rv_methods;

/* RvHeap: heap's routine, to which most work is delegated. */
const TableAmRoutine *
RvHeap(void)
{
	return GetHeapamTableAmRoutine();
}

/* Scans: heap's scan wrapped with a heap slot and the pins of the row out. */
typedef struct RvScanDescData
{
	TableScanDescData rs_base;	/* copy of heap's, for the executor */
	TableScanDesc heapscan;
	TupleTableSlot *hslot;
	RvPinSet	pins;
	MemoryContext rowcxt;		/* reset for every row produced */
} RvScanDescData;
typedef RvScanDescData *RvScanDesc;

static TableScanDesc
rv_scan_begin(Relation rel, Snapshot snapshot, int nkeys, struct ScanKeyData *key,
			  ParallelTableScanDesc pscan, uint32 flags)
{
	RvScanDesc	scan = palloc0(sizeof(RvScanDescData));

	scan->heapscan = RvHeap()->scan_begin(rel, snapshot, nkeys, key, pscan, flags);
	scan->rs_base = *scan->heapscan;
	scan->hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsBufferHeapTuple);
	scan->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ruvector scan row",
										 ALLOCSET_DEFAULT_SIZES);
	return &scan->rs_base;
}

/*
 * RvHeapSlotFor: a heap slot for reading rows into the executor's slot,
 * built with that slot's tuple descriptor.  The relcache's descriptor is
 * not always the one the stored tuples were written with: ALTER TABLE's
 * rewrite reads the old rows with the descriptor from before ALTER COLUMN
 * TYPE changed the catalog, and heap deforms with the slot's descriptor.
 * *hslot is replaced, in the memory context it lived in, when its
 * descriptor differs.
 */
static TupleTableSlot *
RvHeapSlotFor(TupleTableSlot **hslot, TupleTableSlot *slot)
{
	if ((*hslot)->tts_tupleDescriptor != slot->tts_tupleDescriptor)
	{
		/* in the scan's context: callers may be in a per-tuple one */
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(*hslot));

		ExecDropSingleTupleTableSlot(*hslot);
		*hslot = MakeSingleTupleTableSlot(slot->tts_tupleDescriptor, &TTSOpsBufferHeapTuple);
		MemoryContextSwitchTo(old);
	}
	return *hslot;
}

static void
RvScanNextRow(RvScanDesc scan)
{
	RvPinSetBeginRow(&scan->pins);
	MemoryContextReset(scan->rowcxt);
}

/*
 * Resolves scan->hslot into slot (zero-copy, pins held by the scan); a
 * bitmap scan's row counts as a read of its vectors (store_heat.c).
 */
static void
RvScanEmit(RvScanDesc scan, TupleTableSlot *slot)
{
	MemoryContext old = MemoryContextSwitchTo(scan->rowcxt);

	/* a bitmap scan's rows were picked by an index: reads for the heat */
	RvResolveTuple(scan->rs_base.rs_rd, scan->hslot, slot, &scan->pins, false,
				   (scan->rs_base.rs_flags & SO_TYPE_BITMAPSCAN) != 0);
	MemoryContextSwitchTo(old);
	RvPinSetEndRow(&scan->pins);
}

static void
rv_scan_end(TableScanDesc sscan)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvPinSetReleaseAll(&scan->pins);
	RvTierHeatFlush(scan->rs_base.rs_rd);
	ExecDropSingleTupleTableSlot(scan->hslot);
	RvHeap()->scan_end(scan->heapscan);
	MemoryContextDelete(scan->rowcxt);
	pfree(scan);
}

static void
rv_scan_rescan(TableScanDesc sscan, struct ScanKeyData *key, bool set_params,
			   bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvPinSetReleaseAll(&scan->pins);
	MemoryContextReset(scan->rowcxt);
	ExecClearTuple(scan->hslot);
	RvHeap()->scan_rescan(scan->heapscan, key, set_params, allow_strat, allow_sync,
						  allow_pagemode);
	scan->rs_base = *scan->heapscan;
}

static bool
rv_scan_getnextslot(TableScanDesc sscan, ScanDirection direction, TupleTableSlot *slot)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvScanNextRow(scan);
	if (!RvHeap()->scan_getnextslot(scan->heapscan, direction,
									RvHeapSlotFor(&scan->hslot, slot)))
	{
		ExecClearTuple(slot);
		return false;
	}
	RvScanEmit(scan, slot);
	return true;
}

static void
rv_scan_set_tidrange(TableScanDesc sscan, ItemPointer mintid, ItemPointer maxtid)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvHeap()->scan_set_tidrange(scan->heapscan, mintid, maxtid);
	scan->rs_base = *scan->heapscan;
}

static bool
rv_scan_getnextslot_tidrange(TableScanDesc sscan, ScanDirection direction,
							 TupleTableSlot *slot)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvScanNextRow(scan);
	if (!RvHeap()->scan_getnextslot_tidrange(scan->heapscan, direction,
											 RvHeapSlotFor(&scan->hslot, slot)))
	{
		ExecClearTuple(slot);
		return false;
	}
	RvScanEmit(scan, slot);
	return true;
}

/* Index fetches */
typedef struct RvIndexFetchData
{
	IndexFetchTableData base;
	IndexFetchTableData *heapfetch;
	TupleTableSlot *hslot;
	RvPinSet	pins;
	MemoryContext rowcxt;
} RvIndexFetchData;

static IndexFetchTableData *
rv_index_fetch_begin(Relation rel)
{
	RvIndexFetchData *fetch = palloc0(sizeof(RvIndexFetchData));

	fetch->base.rel = rel;
	fetch->heapfetch = RvHeap()->index_fetch_begin(rel);
	fetch->hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsBufferHeapTuple);
	fetch->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ruvector fetch row",
										  ALLOCSET_DEFAULT_SIZES);
	return &fetch->base;
}

static void
rv_index_fetch_reset(IndexFetchTableData *scan)
{
	RvIndexFetchData *fetch = (RvIndexFetchData *) scan;

	RvPinSetReleaseAll(&fetch->pins);
	MemoryContextReset(fetch->rowcxt);
	ExecClearTuple(fetch->hslot);
	RvHeap()->index_fetch_reset(fetch->heapfetch);
}

static void
rv_index_fetch_end(IndexFetchTableData *scan)
{
	RvIndexFetchData *fetch = (RvIndexFetchData *) scan;

	RvPinSetReleaseAll(&fetch->pins);
	RvTierHeatFlush(scan->rel);
	ExecDropSingleTupleTableSlot(fetch->hslot);
	RvHeap()->index_fetch_end(fetch->heapfetch);
	MemoryContextDelete(fetch->rowcxt);
	pfree(fetch);
}

static bool
rv_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid, Snapshot snapshot,
					 TupleTableSlot *slot, bool *call_again, bool *all_dead)
{
	RvIndexFetchData *fetch = (RvIndexFetchData *) scan;
	MemoryContext old;

	RvPinSetBeginRow(&fetch->pins);
	MemoryContextReset(fetch->rowcxt);
	if (!RvHeap()->index_fetch_tuple(fetch->heapfetch, tid, snapshot,
									 RvHeapSlotFor(&fetch->hslot, slot),
									 call_again, all_dead))
	{
		RvPinSetEndRow(&fetch->pins);
		return false;
	}
	old = MemoryContextSwitchTo(fetch->rowcxt);
	RvResolveTuple(scan->rel, fetch->hslot, slot, &fetch->pins, false, true);
	MemoryContextSwitchTo(old);
	RvPinSetEndRow(&fetch->pins);
	return true;
}

/* Single-row operations: a temporary heap slot, materialized results. */
static bool
rv_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
						   TupleTableSlot *slot)
{
	TupleTableSlot *hslot = MakeSingleTupleTableSlot(slot->tts_tupleDescriptor,
													 &TTSOpsBufferHeapTuple);
	bool		found = RvHeap()->tuple_fetch_row_version(rel, tid, snapshot, hslot);

	if (found)
		RvResolveTuple(rel, hslot, slot, NULL, true, false);
	else
		ExecClearTuple(slot);
	ExecDropSingleTupleTableSlot(hslot);
	return found;
}

static bool
rv_tuple_tid_valid(TableScanDesc sscan, ItemPointer tid)
{
	return RvHeap()->tuple_tid_valid(((RvScanDesc) sscan)->heapscan, tid);
}

static void
rv_tuple_get_latest_tid(TableScanDesc sscan, ItemPointer tid)
{
	RvHeap()->tuple_get_latest_tid(((RvScanDesc) sscan)->heapscan, tid);
}

static bool
rv_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot, Snapshot snapshot)
{
	TupleTableSlot *hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
													 &TTSOpsBufferHeapTuple);
	bool		result = false;

	if (RvHeap()->tuple_fetch_row_version(rel, &slot->tts_tid, SnapshotAny, hslot))
		result = RvHeap()->tuple_satisfies_snapshot(rel, hslot, snapshot);
	ExecDropSingleTupleTableSlot(hslot);
	return result;
}

static void
rv_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
				struct BulkInsertStateData *bistate)
{
	HeapTuple	tuple = RvFormStoredTuple(rel, slot);

	heap_insert(rel, tuple, cid, options, bistate);
	RvVidCacheReset(rel, cid);
	RvVidCacheAdd(rel, &tuple->t_self, tuple);
	slot->tts_tableOid = RelationGetRelid(rel);
	ItemPointerCopy(&tuple->t_self, &slot->tts_tid);
	heap_freetuple(tuple);
}

static void
rv_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
							struct BulkInsertStateData *bistate, uint32 specToken)
{
	HeapTuple	tuple = RvFormStoredTuple(rel, slot);

	HeapTupleHeaderSetSpeculativeToken(tuple->t_data, specToken);
	heap_insert(rel, tuple, cid, options | HEAP_INSERT_SPECULATIVE, bistate);
	RvVidCacheReset(rel, cid);
	RvVidCacheAdd(rel, &tuple->t_self, tuple);
	slot->tts_tableOid = RelationGetRelid(rel);
	ItemPointerCopy(&tuple->t_self, &slot->tts_tid);
	heap_freetuple(tuple);
}

static void
rv_multi_insert(Relation rel, TupleTableSlot **slots, int ntuples, CommandId cid,
				int options, struct BulkInsertStateData *bistate)
{
	HeapTuple  *tuples = palloc(sizeof(HeapTuple) * ntuples);
	TupleTableSlot **hslots = palloc(sizeof(TupleTableSlot *) * ntuples);

	RvFormStoredTuples(rel, slots, ntuples, tuples);
	for (int i = 0; i < ntuples; i++)
	{
		hslots[i] = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
		ExecStoreHeapTuple(tuples[i], hslots[i], true);
	}
	heap_multi_insert(rel, hslots, ntuples, cid, options, bistate);
	RvVidCacheReset(rel, cid);
	for (int i = 0; i < ntuples; i++)
	{
		RvVidCacheAdd(rel, &hslots[i]->tts_tid, tuples[i]);
		slots[i]->tts_tableOid = RelationGetRelid(rel);
		slots[i]->tts_tid = hslots[i]->tts_tid;
		ExecDropSingleTupleTableSlot(hslots[i]);
	}
	pfree(hslots);
	pfree(tuples);
}

/*
 * Updates the row version at otid to slot's values.  Vector columns whose
 * value is unchanged (bit for bit the old version's vector) keep the old
 * version's vref (RvFormUpdatedTuple), so an update of other columns
 * writes no store and heap may make it HOT; changed vectors get new vids.
 * The old version is read with SnapshotAny: the executor hands us the
 * version it fetched or locked, which is still on its page; if heap_update
 * then finds it updated or deleted meanwhile, the new tuple is discarded
 * and the executor retries with the newer version's TID.
 */
static TM_Result
rv_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid,
				Snapshot snapshot, Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
				LockTupleMode *lockmode, bool *update_indexes)
{
	HeapTuple	tuple;
	TM_Result	result;

	if (RvRelGetCache(rel)->nvecatts > 0)
	{
		TupleTableSlot *oldslot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
														   &TTSOpsBufferHeapTuple);

		if (RvHeap()->tuple_fetch_row_version(rel, otid, SnapshotAny, oldslot))
			tuple = RvFormUpdatedTuple(rel, slot, oldslot);
		else
			tuple = RvFormStoredTuple(rel, slot);
		ExecDropSingleTupleTableSlot(oldslot);
	}
	else
		tuple = RvFormStoredTuple(rel, slot);

	result = heap_update(rel, otid, tuple, cid, crosscheck, wait, tmfd, lockmode);
	slot->tts_tableOid = RelationGetRelid(rel);
	ItemPointerCopy(&tuple->t_self, &slot->tts_tid);
	*update_indexes = result == TM_Ok && !HeapTupleIsHeapOnly(tuple);
	heap_freetuple(tuple);
	return result;
}

static TM_Result
rv_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot, TupleTableSlot *slot,
			  CommandId cid, LockTupleMode mode, LockWaitPolicy wait_policy, uint8 flags,
			  TM_FailureData *tmfd)
{
	TupleTableSlot *hslot = MakeSingleTupleTableSlot(slot->tts_tupleDescriptor,
													 &TTSOpsBufferHeapTuple);
	TM_Result	result;

	result = RvHeap()->tuple_lock(rel, tid, snapshot, hslot, cid, mode, wait_policy,
								  flags, tmfd);
	if (!TTS_EMPTY(hslot))
		RvResolveTuple(rel, hslot, slot, NULL, true, false);
	else
		ExecClearTuple(slot);
	ExecDropSingleTupleTableSlot(hslot);
	return result;
}

/* ANALYZE, bitmap and sample scans: heap's, with rows resolved. */
static bool
rv_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
						   BufferAccessStrategy bstrategy)
{
	return RvHeap()->scan_analyze_next_block(((RvScanDesc) sscan)->heapscan, blockno,
											 bstrategy);
}

static bool
rv_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin, double *liverows,
						   double *deadrows, TupleTableSlot *slot)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvScanNextRow(scan);
	if (!RvHeap()->scan_analyze_next_tuple(scan->heapscan, OldestXmin, liverows, deadrows,
										   RvHeapSlotFor(&scan->hslot, slot)))
		return false;
	RvScanEmit(scan, slot);
	return true;
}

static bool
rv_scan_bitmap_next_block(TableScanDesc sscan, struct TBMIterateResult *tbmres)
{
	return RvHeap()->scan_bitmap_next_block(((RvScanDesc) sscan)->heapscan, tbmres);
}

static bool
rv_scan_bitmap_next_tuple(TableScanDesc sscan, struct TBMIterateResult *tbmres,
						  TupleTableSlot *slot)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvScanNextRow(scan);
	if (!RvHeap()->scan_bitmap_next_tuple(scan->heapscan, tbmres,
										  RvHeapSlotFor(&scan->hslot, slot)))
		return false;
	RvScanEmit(scan, slot);
	return true;
}

static bool
rv_scan_sample_next_block(TableScanDesc sscan, struct SampleScanState *scanstate)
{
	return RvHeap()->scan_sample_next_block(((RvScanDesc) sscan)->heapscan, scanstate);
}

static bool
rv_scan_sample_next_tuple(TableScanDesc sscan, struct SampleScanState *scanstate,
						  TupleTableSlot *slot)
{
	RvScanDesc	scan = (RvScanDesc) sscan;

	RvScanNextRow(scan);
	if (!RvHeap()->scan_sample_next_tuple(scan->heapscan, scanstate,
										  RvHeapSlotFor(&scan->hslot, slot)))
		return false;
	RvScanEmit(scan, slot);
	return true;
}

/* Index builds: heap's range scan with vrefs resolved for the callback. */
typedef struct RvBuildState
{
	Relation	rel;
	Relation	index;
	IndexBuildCallback callback;
	void	   *callback_state;
	bool		pass_vrefs;		/* ruhnsw takes vrefs (vids) */
	MemoryContext cxt;
} RvBuildState;

static void
RvBuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				bool tupleIsAlive, void *state)
{
	RvBuildState *bs = state;
	int			nkeys = index->rd_index->indnatts;
	Datum		resolved[INDEX_MAX_KEYS];
	MemoryContext old;

	if (bs->pass_vrefs)
	{
		bs->callback(index, tid, values, isnull, tupleIsAlive, bs->callback_state);
		return;
	}
	MemoryContextReset(bs->cxt);
	old = MemoryContextSwitchTo(bs->cxt);
	for (int i = 0; i < nkeys; i++)
	{
		int16		storeno;
		uint64		vid;

		resolved[i] = values[i];
		if (!isnull[i] && index->rd_index->indkey.values[i] != 0 &&
			TupleDescAttr(RelationGetDescr(index), i)->atttypid == RvRelGetCache(bs->rel)->typoid &&
			RvDatumGetVref(values[i], &storeno, &vid))
			resolved[i] = PointerGetDatum(RvStoreFetch(RvTamOpenStore(bs->rel, RV_KEY_STORENO(storeno)),
													   vid, NULL));
	}
	MemoryContextSwitchTo(old);
	bs->callback(index, tid, resolved, isnull, tupleIsAlive, bs->callback_state);
}

/*
 * Refuses index definitions whose expressions or predicate read ruvector
 * columns: heap's build code would evaluate them on vrefs.
 */
static void
RvCheckIndexable(Relation rel, Relation index, IndexInfo *indexInfo)
{
	RvRelCache *cache = RvRelGetCache(rel);
	Bitmapset  *attrs = NULL;

	if (indexInfo->ii_Expressions == NIL && indexInfo->ii_Predicate == NIL)
		return;
	pull_varattnos((Node *) indexInfo->ii_Expressions, 1, &attrs);
	pull_varattnos((Node *) indexInfo->ii_Predicate, 1, &attrs);
	for (int i = 0; i < cache->nvecatts; i++)
		if (bms_is_member(cache->vecatts[i] - FirstLowInvalidHeapAttributeNumber, attrs))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("index \"%s\" has an expression or predicate over a ruvector column of ruvector table \"%s\"",
							RelationGetRelationName(index), RelationGetRelationName(rel)),
					 errdetail("Expression and partial indexes over vector columns are not supported on ruvector tables yet."),
					 errhint("Index the column itself, or keep the table on the heap access method.")));
}

static bool
RvIsRuhnsw(Relation index)
{
	return strcmp(get_am_name(index->rd_rel->relam), "ruhnsw") == 0;
}

static double
rv_index_build_range_scan(Relation rel, Relation index, struct IndexInfo *indexInfo,
						  bool allow_sync, bool anyvisible, bool progress,
						  BlockNumber start_blockno, BlockNumber numblocks,
						  IndexBuildCallback callback, void *callback_state,
						  TableScanDesc scan)
{
	RvBuildState bs;
	double		result = 0;

	RvCheckIndexable(rel, index, indexInfo);
	bs.rel = rel;
	bs.index = index;
	bs.callback = callback;
	bs.callback_state = callback_state;
	bs.pass_vrefs = RvIsRuhnsw(index);
	bs.cxt = AllocSetContextCreate(CurrentMemoryContext, "ruvector index build",
								   ALLOCSET_DEFAULT_SIZES);
	rel->rd_tableam = RvHeap();
	PG_TRY();
	{
		result = RvHeap()->index_build_range_scan(rel, index, indexInfo, allow_sync,
												  anyvisible, progress, start_blockno,
												  numblocks, RvBuildCallback, &bs,
												  scan ? ((RvScanDesc) scan)->heapscan : NULL);
	}
	PG_FINALLY();
	{
		rel->rd_tableam = &rv_methods;
	}
	PG_END_TRY();
	MemoryContextDelete(bs.cxt);

	/*
	 * Heap's build scan ends the (parallel) scan it was handed: release our
	 * wrapper of it too (its slot pins the tuple descriptor).
	 */
	if (scan)
	{
		RvScanDesc	rscan = (RvScanDesc) scan;

		RvPinSetReleaseAll(&rscan->pins);
		ExecDropSingleTupleTableSlot(rscan->hslot);
		MemoryContextDelete(rscan->rowcxt);
		pfree(rscan);
	}
	return result;
}

static void
rv_index_validate_scan(Relation rel, Relation index, struct IndexInfo *indexInfo,
					   Snapshot snapshot, struct ValidateIndexState *state)
{
	RvRelCache *cache = RvRelGetCache(rel);

	RvCheckIndexable(rel, index, indexInfo);
	if (!RvIsRuhnsw(index))
	{
		for (int i = 0; i < indexInfo->ii_NumIndexAttrs; i++)
			for (int k = 0; k < cache->nvecatts; k++)
				if (indexInfo->ii_IndexAttrNumbers[i] == cache->vecatts[k])
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("CREATE INDEX CONCURRENTLY over a ruvector column of a ruvector table is supported only for ruhnsw indexes"),
							 errhint("Use CREATE INDEX without CONCURRENTLY.")));
	}
	rel->rd_tableam = RvHeap();
	PG_TRY();
	{
		RvHeap()->index_validate_scan(rel, index, indexInfo, snapshot, state);
	}
	PG_FINALLY();
	{
		rel->rd_tableam = &rv_methods;
	}
	PG_END_TRY();
}

/* Storage lifecycle: heap's, plus the stores of the storage. */
static void
rv_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode, char persistence,
							 TransactionId *freezeXid, MultiXactId *minmulti)
{
	RvHeap()->relation_set_new_filenode(rel, newrnode, persistence, freezeXid, minmulti);
	/*
	 * TRUNCATE and friends: the old storage's stores go with it, after
	 * VACUUM's pending audit events in their metapages are logged
	 */
	if (!RelFileNodeEquals(rel->rd_node, *newrnode))
	{
		RvAuditDrain(false);
		RvTamDropStores(rel->rd_node, 0, false);
	}
}

static void
rv_relation_nontransactional_truncate(Relation rel)
{
	RvHeap()->relation_nontransactional_truncate(rel);
	RvTamDropStores(rel->rd_node, 0, false);
	if (rel->rd_amcache)
	{
		pfree(rel->rd_amcache);
		rel->rd_amcache = NULL;
	}
}

static void
rv_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	Oid			tier_spc[RV_NTIERS];

	RvHeap()->relation_copy_data(rel, newrnode);
	/* the stores follow, keeping their relations (indexes are bound to them) */
	RvTierPolicyTablespaces(RelationGetRelid(rel), tier_spc);
	RvTamMoveStores(rel, *newrnode, tier_spc);
}

static void
rv_relation_copy_for_cluster(Relation OldHeap, Relation NewHeap, Relation OldIndex,
							 bool use_sort, TransactionId OldestXmin,
							 TransactionId *xid_cutoff, MultiXactId *multi_cutoff,
							 double *num_tuples, double *tups_vacuumed,
							 double *tups_recently_dead)
{
	const TableAmRoutine *newam = NewHeap->rd_tableam;
	Oid			tier_spc[RV_NTIERS];

	if (!RvRelIsRuvector(NewHeap))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot copy ruvector table \"%s\" into a table of another access method",
						RelationGetRelationName(OldHeap))));
	if (use_sort && OldIndex)
	{
		RvRelCache *cache = RvRelGetCache(OldHeap);

		for (int i = 0; i < OldIndex->rd_index->indnatts; i++)
			for (int k = 0; k < cache->nvecatts; k++)
				if (OldIndex->rd_index->indkey.values[i] == cache->vecatts[k])
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot CLUSTER ruvector table \"%s\" by sorting on a vector column",
									RelationGetRelationName(OldHeap))));
	}

	/* vrefs are copied verbatim: give the new storage the same stores */
	RvTierPolicyTablespaces(RelationGetRelid(OldHeap), tier_spc);
	RvTamCopyStores(OldHeap, NewHeap->rd_node, NewHeap->rd_rel->relpersistence, tier_spc);

	OldHeap->rd_tableam = RvHeap();
	NewHeap->rd_tableam = RvHeap();
	PG_TRY();
	{
		RvHeap()->relation_copy_for_cluster(OldHeap, NewHeap, OldIndex, use_sort, OldestXmin,
											xid_cutoff, multi_cutoff, num_tuples,
											tups_vacuumed, tups_recently_dead);
	}
	PG_FINALLY();
	{
		OldHeap->rd_tableam = &rv_methods;
		NewHeap->rd_tableam = newam;
	}
	PG_END_TRY();

	/*
	 * The stores were copied whole: free the vids of the rows the copy
	 * dropped (no other transaction can use the new storage yet).
	 */
	RvSweepStores(NewHeap, OldestXmin, DEBUG2, NULL);
}

static void
rv_relation_vacuum(Relation rel, struct VacuumParams *params, BufferAccessStrategy bstrategy)
{
	RvHeap()->relation_vacuum(rel, params, bstrategy);
	RvVacuumStores(rel, params, bstrategy);
}

static uint64
rv_relation_size(Relation rel, ForkNumber forkNumber)
{
	return RvHeap()->relation_size(rel, forkNumber);
}

static bool
rv_relation_needs_toast_table(Relation rel)
{
	return RvHeap()->relation_needs_toast_table(rel);
}

static Oid
rv_relation_toast_am(Relation rel)
{
	return RvHeap()->relation_toast_am(rel);
}

static void
rv_relation_estimate_size(Relation rel, int32 *attr_widths, BlockNumber *pages,
						  double *tuples, double *allvisfrac)
{
	RvHeap()->relation_estimate_size(rel, attr_widths, pages, tuples, allvisfrac);
}

static const TupleTableSlotOps *
rv_slot_callbacks(Relation rel)
{
	return &TTSOpsVirtual;
}

static Size
rv_parallelscan_estimate(Relation rel)
{
	return RvHeap()->parallelscan_estimate(rel);
}

static Size
rv_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	return RvHeap()->parallelscan_initialize(rel, pscan);
}

static void
rv_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	RvHeap()->parallelscan_reinitialize(rel, pscan);
}

static TM_Result
rv_tuple_delete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
				Snapshot crosscheck, bool wait, TM_FailureData *tmfd, bool changingPart)
{
	return RvHeap()->tuple_delete(rel, tid, cid, snapshot, crosscheck, wait, tmfd,
								  changingPart);
}

static void
rv_tuple_complete_speculative(Relation rel, TupleTableSlot *slot, uint32 specToken,
							  bool succeeded)
{
	RvHeap()->tuple_complete_speculative(rel, slot, specToken, succeeded);
}

static TransactionId
rv_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	return RvHeap()->index_delete_tuples(rel, delstate);
}

static void
rv_relation_fetch_toast_slice(Relation toastrel, Oid valueid, int32 attrsize,
							  int32 sliceoffset, int32 slicelength, struct varlena *result)
{
	RvHeap()->relation_fetch_toast_slice(toastrel, valueid, attrsize, sliceoffset,
										 slicelength, result);
}

static const TableAmRoutine rv_methods = {
	.type = T_TableAmRoutine,

	.slot_callbacks = rv_slot_callbacks,

	.scan_begin = rv_scan_begin,
	.scan_end = rv_scan_end,
	.scan_rescan = rv_scan_rescan,
	.scan_getnextslot = rv_scan_getnextslot,

	.scan_set_tidrange = rv_scan_set_tidrange,
	.scan_getnextslot_tidrange = rv_scan_getnextslot_tidrange,

	.parallelscan_estimate = rv_parallelscan_estimate,
	.parallelscan_initialize = rv_parallelscan_initialize,
	.parallelscan_reinitialize = rv_parallelscan_reinitialize,

	.index_fetch_begin = rv_index_fetch_begin,
	.index_fetch_reset = rv_index_fetch_reset,
	.index_fetch_end = rv_index_fetch_end,
	.index_fetch_tuple = rv_index_fetch_tuple,

	.tuple_insert = rv_tuple_insert,
	.tuple_insert_speculative = rv_tuple_insert_speculative,
	.tuple_complete_speculative = rv_tuple_complete_speculative,
	.multi_insert = rv_multi_insert,
	.tuple_delete = rv_tuple_delete,
	.tuple_update = rv_tuple_update,
	.tuple_lock = rv_tuple_lock,

	.tuple_fetch_row_version = rv_tuple_fetch_row_version,
	.tuple_get_latest_tid = rv_tuple_get_latest_tid,
	.tuple_tid_valid = rv_tuple_tid_valid,
	.tuple_satisfies_snapshot = rv_tuple_satisfies_snapshot,
	.index_delete_tuples = rv_index_delete_tuples,

	.relation_set_new_filenode = rv_relation_set_new_filenode,
	.relation_nontransactional_truncate = rv_relation_nontransactional_truncate,
	.relation_copy_data = rv_relation_copy_data,
	.relation_copy_for_cluster = rv_relation_copy_for_cluster,
	.relation_vacuum = rv_relation_vacuum,
	.scan_analyze_next_block = rv_scan_analyze_next_block,
	.scan_analyze_next_tuple = rv_scan_analyze_next_tuple,
	.index_build_range_scan = rv_index_build_range_scan,
	.index_validate_scan = rv_index_validate_scan,

	.relation_size = rv_relation_size,
	.relation_needs_toast_table = rv_relation_needs_toast_table,
	.relation_toast_am = rv_relation_toast_am,
	.relation_fetch_toast_slice = rv_relation_fetch_toast_slice,

	.relation_estimate_size = rv_relation_estimate_size,

	.scan_bitmap_next_block = rv_scan_bitmap_next_block,
	.scan_bitmap_next_tuple = rv_scan_bitmap_next_tuple,
	.scan_sample_next_block = rv_scan_sample_next_block,
	.scan_sample_next_tuple = rv_scan_sample_next_tuple
};

/*
 * ruvector_tam_handler(internal) -> table_am_handler: the routine of the
 * ruvector table access method.
 */
Datum
ruvector_tam_handler(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(&rv_methods);
}

/* RvIsOurRoutine: true if routine is the ruvector table AM's. */
bool
RvIsOurRoutine(const TableAmRoutine *routine)
{
	return routine == &rv_methods;
}

/* RvRelIsRuvector: true if rel uses the ruvector table access method. */
bool
RvRelIsRuvector(Relation rel)
{
	return RvIsOurRoutine(rel->rd_tableam);
}
