/*-------------------------------------------------------------------------
 *
 * hnswvacuum.c
 *	  ruhnsw VACUUM: ambulkdelete removes the nodes whose heap tuples are
 *	  dead and repairs the graph around them; amvacuumcleanup reconnects
 *	  every live node that the entry point no longer reaches, and reports.
 *
 * ambulkdelete holds RUHNSW_UPDATE_LOCK (ExclusiveLock) for its whole run,
 * so it never races an insert (inserts wait).  It:
 *	1. drops the TIDs the callback reports dead from every live node and
 *	   marks RUHNSW_NODE_DELETED the nodes left with none: a node of one
 *	   TID in one GenericXLog record per page, a node with a TID tail (row
 *	   versions sharing its vid) in one record of its level-0 and upper
 *	   page (RuhnswVacuumTids), so a node is deleted only when its last
 *	   TID is dead;
 *	2. takes RUHNSW_SCAN_LOCK in ExclusiveLock once, so every search that
 *	   may still hold those TIDs has finished;
 *	3. repairs every live node's list that links to a deleted node: the
 *	   candidates are its live neighbours plus the live neighbours of its
 *	   deleted neighbours (same level); the closest ef_construction of them
 *	   go through the selection heuristic;
 *	4. moves the entry point to a live node of the highest level if it was
 *	   deleted.
 * After it, no live node links to a deleted node, so the store may hand
 * the deleted vids out again (a re-inserted vid overwrites its record).
 *
 * amvacuumcleanup (every VACUUM that does index cleanup, whether or not
 * ambulkdelete ran) first walks the graph under RUHNSW_UPDATE_LOCK in
 * ShareLock, beside running inserts (RuhnswAllReachable); only when a live
 * node is not reached does it take the lock in ExclusiveLock and run
 * RuhnswRepairReachability (hnswreach.c): step 3 can strand a node whose
 * in-links all came from deleted nodes (inserts strand none, but those of
 * an earlier release could); after it every live node is reachable from
 * the entry point again.  Only level-0 links are added (or replace another);
 * each record change is one GenericXLog record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

static int
RuhnswCandDistCmp(const void *a, const void *b)
{
	const RuhnswCand *x = a;
	const RuhnswCand *y = b;

	return (x->dist > y->dist) - (x->dist < y->dist);
}

/*
 * Pass 1: drops dead TIDs and marks nodes without a live TID deleted;
 * collects every deleted vid (also those of earlier vacuums) into deleted,
 * counts live TIDs (*nlive), nodes deleted now (*ndeleted) and TIDs
 * dropped (*ntids_removed), and finds the live node of the highest level.
 * tg gives the layout for the nodes with TID tails.
 */
static void
RuhnswMarkDeleted(IndexVacuumInfo *info, const RuhnswMetaPageData *meta, RuhnswGraph *tg,
				  IndexBulkDeleteCallback callback, void *callback_state,
				  RuhnswVidSet *deleted, double *nlive, double *ndeleted,
				  double *ntids_removed, uint32 *best_vid, int *best_level)
{
	Relation	index = info->index;
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);
	int		   *todelete = palloc(sizeof(int) * meta->nodes_per_page);
	uint32	   *multi = palloc(sizeof(uint32) * meta->nodes_per_page);
	int		   *multilevel = palloc(sizeof(int) * meta->nodes_per_page);

	for (BlockNumber blkno = 1; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		int			ndel = 0;
		int			nmulti = 0;

		uint64		first;

		vacuum_delay_point();
		if (RuhnswBlockIsUpper(meta->group_pages, blkno))
			continue;
		first = RuhnswBlockFirstVid(meta->nodes_per_page, meta->group_pages, blkno);
		buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buf);
		for (uint32 i = 0; i < meta->nodes_per_page; i++)
		{
			RuhnswNodeHeader *hdr = (RuhnswNodeHeader *)
			(PageGetContents(page) + (Size) i * meta->nodesize);
			uint32		vid = (uint32) (first + i);

			if (!(hdr->flags & RUHNSW_NODE_USED))
				continue;
			if (hdr->flags & RUHNSW_NODE_DELETED)
				RuhnswVidSetAdd(deleted, vid);
			else if (hdr->flags & RUHNSW_NODE_TIDS)
			{
				/* several TIDs: after this page is released */
				multilevel[nmulti] = hdr->level;
				multi[nmulti++] = vid;
			}
			else if (callback(&hdr->tid, callback_state))
			{
				todelete[ndel++] = i;
				RuhnswVidSetAdd(deleted, vid);
			}
			else
			{
				*nlive += 1;
				if ((int) hdr->level > *best_level)
				{
					*best_level = hdr->level;
					*best_vid = vid;
				}
			}
		}
		if (ndel > 0)
		{
			GenericXLogState *state = GenericXLogStart(index);

			page = GenericXLogRegisterBuffer(state, buf, 0);
			for (int k = 0; k < ndel; k++)
			{
				RuhnswNodeHeader *hdr = (RuhnswNodeHeader *)
				(PageGetContents(page) + (Size) todelete[k] * meta->nodesize);

				hdr->flags |= RUHNSW_NODE_DELETED;
			}
			GenericXLogFinish(state);
			*ndeleted += ndel;
			*ntids_removed += ndel;
		}
		UnlockReleaseBuffer(buf);

		for (int k = 0; k < nmulti; k++)
		{
			int			left = RuhnswVacuumTids(tg, multi[k], callback, callback_state,
											   info->strategy, ntids_removed);

			if (left == 0)
			{
				RuhnswVidSetAdd(deleted, multi[k]);
				*ndeleted += 1;
				continue;
			}
			*nlive += left;
			if (multilevel[k] > *best_level)
			{
				*best_level = multilevel[k];
				*best_vid = multi[k];
			}
		}
	}
	pfree(todelete);
	pfree(multi);
	pfree(multilevel);
}

/*
 * Repairs level lc of the record rec (of node vid) if it links to deleted
 * nodes.  Returns true if the record changed.
 */
static bool
RuhnswRepairLevel(RuhnswGraph *g, uint32 vid, char *rec, int lc, RuhnswVidSet *deleted,
				  RvScorer **vq, char *nbrrec)
{
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			count;
	int			first = RuhnswLevelSlots(g, lc, &count);
	bool		any = false;
	RuhnswVidSet seen;
	RuhnswCand *cands;
	int			ncands = 0;
	int			capcands;
	RuhnswCand *sel;
	int			nsel;

	for (int i = first; i < first + count && slots[i] != RUHNSW_INVALID_VID; i++)
		if (RuhnswVidSetContains(deleted, slots[i]))
			any = true;
	if (!any)
		return false;

	if (*vq == NULL)
		*vq = RuhnswQueryNode(g, vid);
	RuhnswVidSetInit(&seen, 4 * count * count);
	RuhnswVidSetAdd(&seen, vid);
	capcands = count * (count + 1);
	cands = palloc(sizeof(RuhnswCand) * capcands);
	for (int i = first; i < first + count && slots[i] != RUHNSW_INVALID_VID; i++)
	{
		uint32		n = slots[i];

		if (!RuhnswVidSetAdd(&seen, n))
			continue;
		if (!RuhnswVidSetContains(deleted, n))
		{
			cands[ncands].vid = n;
			cands[ncands].dist = RuhnswDistance(g, *vq, n);
			ncands++;
			continue;
		}
		/* a deleted neighbour: take its live neighbours instead */
		if (!RuhnswReadNode(g, n, nbrrec))
			continue;
		{
			uint32	   *nslots = RuhnswNodeSlots(nbrrec);

			for (int j = first; j < first + count && nslots[j] != RUHNSW_INVALID_VID; j++)
			{
				uint32		e = nslots[j];

				if (RuhnswVidSetContains(deleted, e) || !RuhnswVidSetAdd(&seen, e))
					continue;
				if (ncands >= capcands)
					break;
				cands[ncands].vid = e;
				cands[ncands].dist = RuhnswDistance(g, *vq, e);
				ncands++;
			}
		}
	}
	qsort(cands, ncands, sizeof(RuhnswCand), RuhnswCandDistCmp);
	ncands = Min(ncands, Max(g->ef_construction, count));
	sel = palloc(sizeof(RuhnswCand) * count);
	nsel = RuhnswSelectNeighbors(g, cands, ncands, count, vid, sel, NULL);
	for (int i = 0; i < count; i++)
		slots[first + i] = i < nsel ? sel[i].vid : RUHNSW_INVALID_VID;
	pfree(sel);
	pfree(cands);
	pfree(seen.slots);
	return true;
}

/*
 * ruhnswbulkdelete (ambulkdelete): see the file header.  Calls callback
 * once for every heap TID of every live node (CREATE INDEX CONCURRENTLY
 * relies on that to learn what the index holds).  Returns stats with
 * tuples_removed (TIDs dropped) and num_index_tuples (TIDs left)
 * updated.
 */
IndexBulkDeleteResult *
ruhnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				 IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	RuhnswMetaPageData meta;
	RuhnswVidSet deleted;
	double		nlive = 0;
	double		nremoved = 0;
	double		ntids_removed = 0;
	RuhnswGraph tg;
	uint32		best_vid = RUHNSW_INVALID_VID;
	int			best_level = -1;
	MemoryContext cxt;
	MemoryContext old;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw vacuum",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	LockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	RuhnswReadMeta(index, &meta);
	RuhnswVidSetInit(&deleted, 1024);
	RuhnswGraphInit(&tg, index, &meta, NULL);
	RuhnswMarkDeleted(info, &meta, &tg, callback, callback_state, &deleted, &nlive, &nremoved,
					  &ntids_removed, &best_vid, &best_level);

	if (OidIsValid(meta.store_relid) && RuhnswGetStore(NULL, index, &meta) == NULL)
		RuhnswResetGraph(index, &meta);
	if (nremoved > 0 && OidIsValid(meta.store_relid))
	{
		RuhnswGraph g;
		BlockNumber nblocks = RelationGetNumberOfBlocks(index);
		uint32		nvids = (uint32) Min(RuhnswNumVids(meta.nodes_per_page, meta.group_pages,
														   nblocks),
										 (uint64) RUHNSW_INVALID_VID);
		char	   *rec;
		char	   *nbrrec;
		MemoryContext nodecxt;

		/* no search may still hold the TIDs of the nodes just deleted */
		LockPage(index, RUHNSW_SCAN_LOCK, ExclusiveLock);
		UnlockPage(index, RUHNSW_SCAN_LOCK, ExclusiveLock);

		RuhnswGraphInit(&g, index, &meta, RuhnswGetStore(NULL, index, &meta));
		rec = palloc(g.nodesize);
		nbrrec = palloc(g.nodesize);
		nodecxt = AllocSetContextCreate(cxt, "ruhnsw vacuum node", ALLOCSET_DEFAULT_SIZES);
		for (uint32 vid = 0; vid < nvids; vid++)
		{
			RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
			RvScorer   *vq = NULL;	/* vid's vector, read when needed */
			bool		changed = false;

			if (vid % 64 == 0)
				vacuum_delay_point();
			if (!RuhnswReadNode(&g, vid, rec) ||
				(hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED)
				continue;
			MemoryContextSwitchTo(nodecxt);
			for (int lc = 0; lc <= hdr->level; lc++)
				if (RuhnswRepairLevel(&g, vid, rec, lc, &deleted, &vq, nbrrec))
					changed = true;
			if (changed)
				RuhnswWriteNode(&g, vid, rec);
			if (vq)
				RuhnswQueryEnd(vq);
			MemoryContextSwitchTo(cxt);
			MemoryContextReset(nodecxt);
		}
		RuhnswGraphFree(&g);

		if (meta.entry_vid != RUHNSW_INVALID_VID &&
			RuhnswVidSetContains(&deleted, meta.entry_vid))
		{
			meta.entry_vid = best_vid;
			meta.entry_level = best_level;
			RuhnswWriteMeta(index, &meta);
		}
	}
	else if (meta.entry_vid != RUHNSW_INVALID_VID &&
			 RuhnswVidSetContains(&deleted, meta.entry_vid))
	{
		meta.entry_vid = best_vid;
		meta.entry_level = best_level;
		RuhnswWriteMeta(index, &meta);
	}
	UnlockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	stats->tuples_removed += ntids_removed;
	stats->num_index_tuples = nlive;
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

/*
 * Reconnects live nodes not reachable from the entry point (see the file
 * header).  First checks, under RUHNSW_UPDATE_LOCK in ShareLock only (so
 * inserts go on), whether every live node is reachable
 * (RuhnswAllReachable); only when one is not does it take the lock in
 * ExclusiveLock and repair.  Reports how many it reconnected at the
 * VACUUM's message level (INFO for VACUUM VERBOSE).
 */
static void
RuhnswVacuumReconnect(IndexVacuumInfo *info)
{
	Relation	index = info->index;
	RuhnswMetaPageData meta;
	int64		nreconnected = 0;
	MemoryContext cxt;
	MemoryContext old;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw vacuum cleanup",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/* the common case: nothing to repair, no barrier for inserts */
	LockPage(index, RUHNSW_UPDATE_LOCK, ShareLock);
	RuhnswReadMeta(index, &meta);
	if (OidIsValid(meta.store_relid) && meta.entry_vid != RUHNSW_INVALID_VID &&
		RuhnswGetStore(NULL, index, &meta) != NULL)
	{
		RuhnswGraph g;
		int64		nlive;
		bool		all;

		RuhnswGraphInit(&g, index, &meta, RuhnswGetStore(NULL, index, &meta));
		all = RuhnswAllReachable(&g, &nlive);
		RuhnswGraphFree(&g);
		if (all)
		{
			UnlockPage(index, RUHNSW_UPDATE_LOCK, ShareLock);
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			elog(DEBUG1, "index \"%s\": all " INT64_FORMAT
				 " live nodes reachable from the entry point, no repair",
				 RelationGetRelationName(index), nlive);
			return;
		}
	}
	UnlockPage(index, RUHNSW_UPDATE_LOCK, ShareLock);

	LockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	RuhnswReadMeta(index, &meta);
	if (OidIsValid(meta.store_relid) && RuhnswGetStore(NULL, index, &meta) == NULL)
		RuhnswResetGraph(index, &meta);
	if (OidIsValid(meta.store_relid) && meta.entry_vid != RUHNSW_INVALID_VID)
	{
		RuhnswGraph g;

		RuhnswGraphInit(&g, index, &meta, RuhnswGetStore(NULL, index, &meta));
		nreconnected = RuhnswRepairReachability(&g);
		RuhnswGraphFree(&g);
	}
	UnlockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (nreconnected > 0)
		ereport(info->message_level,
				(errmsg("index \"%s\": reconnected " INT64_FORMAT
						" nodes not reachable from the entry point",
						RelationGetRelationName(index), nreconnected)));
}

/*
 * ruhnswvacuumcleanup (amvacuumcleanup): reconnects unreachable live
 * nodes (RuhnswVacuumReconnect), then fills in stats (counting live nodes
 * when ambulkdelete did not run).  Holds RUHNSW_UPDATE_LOCK in
 * ExclusiveLock only while reconnecting, which it does only when a live
 * node is unreachable; inserts wait meanwhile.
 */
IndexBulkDeleteResult *
ruhnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;

	if (info->analyze_only)
		return stats;
	RuhnswVacuumReconnect(info);
	if (stats == NULL)
	{
		RuhnswMetaPageData meta;
		BlockNumber nblocks = RelationGetNumberOfBlocks(index);

		stats = palloc0(sizeof(IndexBulkDeleteResult));
		RuhnswReadMeta(index, &meta);
		for (BlockNumber blkno = 1; blkno < nblocks; blkno++)
		{
			Buffer		buf;
			Page		page;

			vacuum_delay_point();
			if (RuhnswBlockIsUpper(meta.group_pages, blkno))
				continue;
			buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, info->strategy);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			page = BufferGetPage(buf);
			for (uint32 i = 0; i < meta.nodes_per_page; i++)
			{
				RuhnswNodeHeader *hdr = (RuhnswNodeHeader *)
				(PageGetContents(page) + (Size) i * meta.nodesize);

				if ((hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) == RUHNSW_NODE_USED)
					stats->num_index_tuples += 1;
			}
			UnlockReleaseBuffer(buf);
		}
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}
