/*-------------------------------------------------------------------------
 *
 * tam_vacuum.c
 *	  VACUUM of a ruvector table's vector stores, and the storage report.
 *
 * VACUUM runs heap's lazy vacuum first (which removes dead tuples and,
 * when it decides to, cleans every index of their TIDs), then a
 * mark-and-sweep per store:
 *	mark:  one pass over the heap pages collects every vid that any tuple
 *	       still on its page references (live, recently dead or not yet
 *	       pruned alike; not tuples whose insert aborted), and counts dead
 *	       line pointers.  Several tuples may refer to one vid (versions of
 *	       a row whose UPDATEs kept the vector): the vid stays live while
 *	       any of them is on its page;
 *	sweep: only when no dead line pointer is left, a vid that is
 *	       unreferenced and whose allocating transaction precedes the
 *	       horizon computed *before* the mark is freed for reuse
 *	       (RvStoreFreeUnreferenced).
 * A dead line pointer is a TID that an index may still return (heap's
 * vacuum skipped index vacuuming: INDEX_CLEANUP off, or its bypass of few
 * dead items), so with one left nothing is freed; without any, every TID
 * an index holds names a tuple on its page, whose vids the mark saw, so no
 * index can return a freed vid (docs/design.md, the vid rule).  VACUUM FULL and
 * CLUSTER run the same sweep on the new storage after copying the stores.
 * For a version-4 store the sweep is followed by the moves of its tier
 * policy and compaction, settling and truncation (RvTierMoveStore), with
 * a VERBOSE line for the moves and one per tier relation.  What the moves
 * and truncation did is noted as pending audit events in the store's
 * metapage (RvAuditNoteMoves, store_audit.c): lazy VACUUM has no
 * transaction id to append to ruvector_audit with; a later drain does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tam/rv_tam.h"
#include "tam/rv_vacuum.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_tier.h"

/* Per-store state of one pass over the heap. */
typedef struct RvMarkStore
{
	RvStoreRef	ref;
	RvStore    *store;
	uint64		nvids;			/* vids below this are considered */
	uint8	   *referenced;		/* bitmap of nvids bits */
	uint64		nrefs;			/* distinct vids seen referenced (tuples for
								 * vids at or beyond nvids) */
} RvMarkStore;

/*
 * Opens every store of rel and reads the heap page by page (share lock,
 * through strategy), setting the bit of every vid referenced by a tuple
 * that snapshot sees.  With SnapshotAny every tuple on its page counts
 * (live, recently dead or not yet pruned alike) except those whose
 * inserting transaction aborted (never visible; their vrefs may name a
 * store that aborted with them).  *ndead counts dead line pointers: each
 * may still be named by an index entry whose vid is unknown here.  Returns
 * the array of per-store states (*nstores entries).
 */
static RvMarkStore *
RvMarkReferenced(Relation rel, Snapshot snapshot, BufferAccessStrategy strategy,
				 int *nstores, uint64 *ndead)
{
	RvRelCache *cache = RvRelGetCache(rel);
	int			n = cache->nstores;
	RvMarkStore *ms = palloc0(sizeof(RvMarkStore) * Max(n, 1));
	int16	   *vecatts;
	int			nvec = cache->nvecatts;
	TupleDesc	desc = RelationGetDescr(rel);
	BlockNumber nblocks;

	vecatts = palloc(sizeof(int16) * Max(nvec, 1));
	memcpy(vecatts, cache->vecatts, sizeof(int16) * nvec);
	for (int i = 0; i < n; i++)
	{
		ms[i].ref = cache->stores[i];
		ms[i].store = RvTamOpenStore(rel, RV_KEY_STORENO(ms[i].ref.storeno));
		ms[i].nvids = RvStoreNextVid(ms[i].store);
		ms[i].referenced = palloc0(ms[i].nvids / 8 + 1);
	}
	*nstores = n;
	*ndead = 0;
	if (n == 0)
		return ms;

	nblocks = RelationGetNumberOfBlocks(rel);
	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		vacuum_delay_point();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageIsNew(page) ? InvalidOffsetNumber : PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		itemid = PageGetItemId(page, off);
			HeapTupleData tuple;

			if (ItemIdIsDead(itemid))
				(*ndead)++;
			if (!ItemIdIsNormal(itemid))
				continue;
			tuple.t_data = (HeapTupleHeader) PageGetItem(page, itemid);
			tuple.t_len = ItemIdGetLength(itemid);
			tuple.t_tableOid = RelationGetRelid(rel);
			ItemPointerSet(&tuple.t_self, blkno, off);
			if (!HeapTupleSatisfiesVisibility(&tuple, snapshot, buf) ||
				RvTupleInsertAborted(tuple.t_data))
				continue;
			for (int a = 0; a < nvec; a++)
			{
				bool		isnull;
				Datum		d = heap_getattr(&tuple, vecatts[a], desc, &isnull);
				int16		storeno;
				uint64		vid;

				if (isnull || !RvDatumGetVref(d, &storeno, &vid))
					continue;
				for (int i = 0; i < n; i++)
				{
					if (ms[i].ref.storeno != storeno)
						continue;
					if (vid >= ms[i].nvids)
						ms[i].nrefs++;
					else if (!(ms[i].referenced[vid / 8] & (1 << (vid % 8))))
					{
						/* a vid shared by several row versions counts once */
						ms[i].referenced[vid / 8] |= (uint8) (1 << (vid % 8));
						ms[i].nrefs++;
					}
					break;
				}
			}
		}
		UnlockReleaseBuffer(buf);
	}
	return ms;
}

/*
 * RvVacuumStores: the store part of VACUUM on rel (after heap's vacuum),
 * reading the heap through VACUUM's buffer strategy.  Runs under VACUUM's
 * ShareUpdateExclusiveLock; reports per store with VACUUM VERBOSE.
 */
void
RvVacuumStores(Relation rel, struct VacuumParams *params, BufferAccessStrategy bstrategy)
{
	RvSweepStores(rel, GetOldestNonRemovableTransactionId(rel),
				  (params->options & VACOPT_VERBOSE) ? INFO : DEBUG2, bstrategy);
}

/*
 * RvSweepStores: mark-and-sweep of every store of rel's current storage
 * with the given horizon (see the file header); reports per store at
 * elevel.  Used by VACUUM and, on the new storage, by VACUUM FULL and
 * CLUSTER, whose verbatim store copies still hold the vectors of the rows
 * they did not copy.
 */
void
RvSweepStores(Relation rel, TransactionId horizon, int elevel, BufferAccessStrategy strategy)
{
	RvMarkStore *ms;
	int			n;
	uint64		ndead;

	ms = RvMarkReferenced(rel, SnapshotAny, strategy, &n, &ndead);

	/*
	 * Dead line pointers are left when heap's vacuum skipped index
	 * vacuuming (INDEX_CLEANUP off, its bypass of few dead items, the
	 * wraparound failsafe): an index may still return their TIDs, and
	 * which vids they named is gone with their tuples.  Then free nothing
	 * (a vid is freed only when no index can still return it), but still
	 * freeze, so that store xids never hold back wraparound.
	 */
	if (ndead > 0)
		ereport(elevel,
				(errmsg("ruvector stores of \"%s\": " UINT64_FORMAT " dead line pointers await index vacuuming; no vectors freed",
						RelationGetRelationName(rel), ndead)));
	for (int i = 0; i < n; i++)
	{
		uint64		nfreed;
		uint64		nlive;
		uint64		next_vid;
		uint64		nallocated;
		BlockNumber nblocks;
		uint64		settled_first = 0;

		CHECK_FOR_INTERRUPTS();
		/* moves no reader needs any more are settled first: their vids are swept */
		if (ms[i].store->meta_version >= RV_STORE_META_V4)
			RvDirSettle(ms[i].store, &settled_first);
		RvStoreFreeUnreferenced(ms[i].store, ms[i].referenced, ms[i].nvids, horizon,
								ndead == 0, &nfreed, &nlive);
		if (ms[i].store->meta_version >= RV_STORE_META_V4)
		{
			RvTierMoves m;

			/*
			 * Compaction by the default policy, into tier relations that
			 * exist (VACUUM has no transaction id to create one with), not
			 * waiting for writers; then settling and truncation.
			 */
			RvTierMoveStore(ms[i].store, RelationGetRelid(rel), -1, 0, &m);
			m.settled += settled_first;
			/* pending audit events: VACUUM cannot append to the log itself */
			RvAuditNoteMoves(ms[i].store, RelationGetRelid(rel), ms[i].ref.storeno, &m);
			{
				StringInfoData kinds;

				initStringInfo(&kinds);
				for (int k = 0; k < RV_MOVE_KINDS; k++)
					appendStringInfo(&kinds, "%s%s " UINT64_FORMAT " segments (" UINT64_FORMAT
									 " vectors, " UINT64_FORMAT " to " UINT64_FORMAT " bytes)",
									 k > 0 ? ", " : "",
									 k == RV_MOVE_SEAL ? "sealed" :
									 k == RV_MOVE_MIGRATE ? "migrated" : "compacted",
									 m.kind[k].segments, m.kind[k].vectors,
									 m.kind[k].bytes_before, m.kind[k].bytes_after);
				ereport(elevel,
						(errmsg("ruvector store %d of \"%s\": %s; "
								"settled " UINT64_FORMAT " moves, " UINT64_FORMAT " waiting for older snapshots; "
								"truncated " UINT64_FORMAT " hot and " UINT64_FORMAT " tier pages",
								ms[i].ref.storeno, RelationGetRelationName(rel), kinds.data,
								m.settled, m.unsettled, m.hot_blocks_freed, m.tier_blocks_freed)));
				pfree(kinds.data);
			}
			/* a line per tier that has a relation */
			{
				uint64		nsegs = RvDirNumSegments(ms[i].store);
				uint64		intier[RV_NTIERS] = {0};

				for (uint64 segno = 0; segno < nsegs; segno++)
				{
					int			t = RvStoreSegLoc(ms[i].store, segno)->tier;

					if (t < RV_NTIERS)
						intier[t]++;
				}
				for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
				{
					RvStore    *ts = RvStoreTier(ms[i].store, t, false, NULL);

					if (ts != NULL)
						ereport(elevel,
								(errmsg("ruvector store %d of \"%s\", tier %s: " UINT64_FORMAT " segments, %u pages",
										ms[i].ref.storeno, RelationGetRelationName(rel),
										RvTierName(t), intier[t],
										RelationGetNumberOfBlocks(ts->rel))));
				}
			}
		}
		RvStoreCounts(ms[i].store, &next_vid, &nallocated, &nblocks);
		ereport(elevel,
				(errmsg("ruvector store %d of \"%s\" (column %d, %d dims, tier hot): "
						"freed " UINT64_FORMAT " vectors, " UINT64_FORMAT " allocated, "
						UINT64_FORMAT " slots, %u pages",
						ms[i].ref.storeno, RelationGetRelationName(rel), ms[i].ref.attnum,
						ms[i].ref.dims, nfreed, nallocated, next_vid, nblocks)));
	}
}

/*
 * RvTamOpenForReport: opens table relid for a report on its stores
 * (AccessShareLock, returned open).  Raises ERRCODE_WRONG_OBJECT_TYPE for
 * a table that is not a ruvector table, ERRCODE_INSUFFICIENT_PRIVILEGE
 * without SELECT on it.
 */
Relation
RvTamOpenForReport(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);

	if (!RvRelIsRuvector(rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a ruvector table", RelationGetRelationName(rel)),
				 errhint("Use ALTER TABLE ... SET ACCESS METHOD ruvector.")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", RelationGetRelationName(rel))));
	return rel;
}

PG_FUNCTION_INFO_V1(ruvector_storage_report);

/*
 * ruvector_storage_report(regclass) -> setof (store, column_name, dims,
 * tier, live_vectors, dead_vectors, free_slots, pages, bytes, relation,
 * resident_bytes): one row per store and tier; relation is the store
 * relation holding it; resident_bytes what searches keep touching (code
 * and directory pages, RvStoreResidentBytes).  live = vids referenced by a
 * row visible to the current snapshot (each once); dead = allocated but
 * not live (deleted, updated or
 * rolled-back rows awaiting VACUUM, in-flight inserts); free = reusable
 * slots below the high-water mark.  Needs SELECT on the table.  Called
 * by the table's owner, drains VACUUM's pending audit events first
 * (RvAuditDrain), unless another transaction holds the audit lock.
 */
Datum
ruvector_storage_report(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	RvMarkStore *ms;
	int			n;
	uint64		ndead;

	InitMaterializedSRF(fcinfo, 0);
	rel = RvTamOpenForReport(relid);
	/*
	 * VACUUM's pending audit events, for the table's owner (who may log
	 * events anyway: ruvector_compact), not for every role with SELECT,
	 * which could then hold the audit lock for a whole transaction; not in
	 * a read-only transaction; not waiting for the audit lock: a report
	 * does not block on the log
	 */
	if (pg_class_ownercheck(relid, GetUserId()))
		RvAuditDrain(true);

	ms = RvMarkReferenced(rel, GetActiveSnapshot(), NULL, &n, &ndead);
	for (int i = 0; i < n; i++)
	{
		uint64		next_vid;
		uint64		nallocated;
		BlockNumber nblocks;
		char	   *attname = get_attname(relid, ms[i].ref.attnum, true);
		RvStore    *store = ms[i].store;
		int64		live[RV_NTIERS] = {0};
		int64		alloc[RV_NTIERS] = {0};
		int64		resident[RV_NTIERS] = {0};
		int64		nsealed[RV_NTIERS] = {0};
		bool		v4 = store->meta_version >= RV_STORE_META_V4;

		RvStoreCounts(store, &next_vid, &nallocated, &nblocks);
		live[RV_TIER_HOT] = (int64) ms[i].nrefs;
		alloc[RV_TIER_HOT] = (int64) nallocated;
		resident[RV_TIER_HOT] = (int64) RvStoreResidentBytes(store, next_vid, nblocks);
		if (v4)
		{
			uint64		nsegs = RvDirNumSegments(store);

			/* per tier: the referenced vids, allocations and search bytes of its segments */
			for (uint64 segno = 0; segno < nsegs; segno++)
			{
				const RvSegLoc *loc = RvStoreSegLoc(store, segno);
				int			t = loc->tier;
				int64		refs = 0;
				RvStore    *where;
				Buffer		buf;

				if (t == RV_TIER_HOT || t == RV_TIER_NONE)
					continue;
				for (uint64 v = segno * RV_SEG_VIDS; v < Min((segno + 1) * RV_SEG_VIDS, ms[i].nvids); v++)
					if (ms[i].referenced[v / 8] & (1 << (v % 8)))
						refs++;
				resident[t] += (int64) RvSealedResidentBytes(loc->run);
				nsealed[t]++;
				where = RvStoreTier(store, t, false, NULL);
				buf = ReadBufferExtended(where->rel, MAIN_FORKNUM, loc->blkno, RBM_NORMAL, NULL);
				LockBuffer(buf, BUFFER_LOCK_SHARE);
				alloc[t] += ((RvSegmentHeader *) (BufferGetPage(buf) + RV_PAGE_PAYLOAD_START))->nallocated;
				UnlockReleaseBuffer(buf);
				live[t] += refs;
				live[RV_TIER_HOT] -= refs;
			}
			for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
				alloc[RV_TIER_HOT] -= alloc[t];
		}
		for (int t = RV_TIER_HOT; t < (v4 ? RV_NTIERS : 1); t++)
		{
			Datum		values[11];
			bool		nulls[11] = {0};
			RvStore    *where = t == RV_TIER_HOT ? store : RvStoreTier(store, t, false, NULL);
			BlockNumber pages;

			if (where == NULL)
				continue;
			pages = t == RV_TIER_HOT ? nblocks : RelationGetNumberOfBlocks(where->rel);
			/* a tier relation holding no segment (just its first page) is not listed */
			if (t != RV_TIER_HOT && nsealed[t] == 0 && pages <= 1)
				continue;
			values[0] = Int32GetDatum(ms[i].ref.storeno);
			if (attname)
				values[1] = CStringGetTextDatum(attname);
			else
				nulls[1] = true;
			values[2] = Int32GetDatum(ms[i].ref.dims);
			values[3] = CStringGetTextDatum(RvTierName(t));
			values[4] = Int64GetDatum(live[t]);
			values[5] = Int64GetDatum(alloc[t] - Min(alloc[t], live[t]));
			/* free slots: reusable hot vids below the high-water mark */
			values[6] = Int64GetDatum(t == RV_TIER_HOT ? (int64) (next_vid - nallocated) : 0);
			values[7] = Int64GetDatum((int64) pages);
			values[8] = Int64GetDatum((int64) pages * BLCKSZ);
			values[9] = ObjectIdGetDatum(where->relid);
			values[10] = Int64GetDatum(resident[t]);
			/* a 0.2.0 definition of the function (before ALTER EXTENSION UPDATE) has 10 columns */
			Assert(rsinfo->setDesc->natts == 10 || rsinfo->setDesc->natts == 11);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	table_close(rel, AccessShareLock);
	return (Datum) 0;
}
