/*-------------------------------------------------------------------------
 *
 * hnswbuild.c
 *	  ruhnsw index build (ambuild) and the init fork of unlogged indexes
 *	  (ambuildempty).
 *
 * The build first collects (vid, heap TID) pairs through
 * table_index_build_scan (the ruvector table AM hands a ruhnsw index
 * vrefs, not vectors).  It then inserts them in parallel when it can
 * (RuhnswBuildParallel, hnswbuildpar.c: the leader and workers insert
 * into one graph in DSM, scoring on SQ8 codes); otherwise serially, as
 * follows.  The serial build inserts the nodes into a graph; a vid seen
 * again (row versions that share it: an UPDATE kept the vector) gets the
 * further TID instead (RuhnswAddTid; for an in-memory graph after its
 * pages are laid out).  When the node records (only ints,
 * RuhnswNodeSize(m) bytes per vid below the highest vid: every level's
 * list) fit in maintenance_work_mem, the graph is built in an in-memory
 * array indexed by vid and then laid out as pages (RuhnswLayoutPages:
 * level-0 records sized to level 0, upper lists in upper pages), scoring
 * exactly on a backend-local copy of the vectors when that fits too (else
 * in place in the store); otherwise a NOTICE is raised and the nodes are
 * inserted straight into the index's pages.  Either way the pages are
 * written without WAL and WAL-logged at the end with log_newpage_range.
 * Before the pages are written, RuhnswRepairReachability (hnswreach.c)
 * reconnects every node that neighbour-list pruning left without a path
 * from the entry point.
 *
 * Invariants: the index covers a single store; the build errors out when
 * the column has vectors of several dimensions (several stores).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

typedef struct RuhnswBuildState
{
	Relation	heap;
	Relation	index;
	int16		storeno;		/* -1 until the first vector */
	uint32	   *vids;
	ItemPointerData *tids;
	int64		n;
	int64		cap;
	uint32		maxvid;
	double		indtuples;
} RuhnswBuildState;

/* Fills *meta for index with no nodes and no store yet. */
static void
RuhnswBuildMeta(Relation index, RuhnswMetaPageData *meta)
{
	int			m = RuhnswGetM(index);
	int			efc = RuhnswGetEfConstruction(index);

	if (efc < 2 * m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ef_construction must be greater than or equal to 2 * m")));
	memset(meta, 0, sizeof(RuhnswMetaPageData));
	meta->magic = RUHNSW_MAGIC;
	meta->version = RUHNSW_VERSION;
	meta->m = m;
	meta->ef_construction = efc;
	meta->dims = 0;
	meta->storeno = -1;
	meta->store_relid = InvalidOid;
	meta->attnum = index->rd_index->indkey.values[0];
	meta->entry_vid = RUHNSW_INVALID_VID;
	meta->entry_level = -1;
	meta->nodesize = RuhnswRecordSize(m);
	meta->nodes_per_page = RuhnswNodesPerPage(meta->nodesize);
	meta->group_pages = RuhnswGroupPages(m, meta->nodes_per_page);
	meta->max_level = RUHNSW_MAX_LEVEL;
	meta->metric = RuhnswGetMetric(index);
}

/* table_index_build_scan callback: collects (vid, TID) pairs. */
static void
RuhnswBuildCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
					bool tupleIsAlive, void *state)
{
	RuhnswBuildState *bs = state;
	int16		storeno;
	uint64		vid;

	if (isnull[0])
		return;
	if (!RvDatumGetVref(values[0], &storeno, &vid))
		elog(ERROR, "ruhnsw build received a vector instead of a vector reference");
	if (bs->storeno < 0)
		bs->storeno = storeno;
	else if (storeno != bs->storeno)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ruhnsw index \"%s\" covers vectors of %d dimensions only",
						RelationGetRelationName(index),
						RvTamOpenStore(bs->heap, RV_KEY_STORENO(bs->storeno))->dims),
				 errdetail("The column also holds vectors of %d dimensions.",
						   RvTamOpenStore(bs->heap, RV_KEY_STORENO(storeno))->dims),
				 errhint("Declare the column with its dimensions, such as ruvector(%d).",
						 RvTamOpenStore(bs->heap, RV_KEY_STORENO(bs->storeno))->dims)));
	if (vid >= RUHNSW_INVALID_VID)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ruhnsw index \"%s\" cannot index vector id " UINT64_FORMAT,
						RelationGetRelationName(index), vid)));
	if (bs->n == bs->cap)
	{
		bs->cap *= 2;
		bs->vids = repalloc_huge(bs->vids, sizeof(uint32) * bs->cap);
		bs->tids = repalloc_huge(bs->tids, sizeof(ItemPointerData) * bs->cap);
	}
	bs->vids[bs->n] = (uint32) vid;
	bs->tids[bs->n] = *tid;
	bs->n++;
	bs->maxvid = Max(bs->maxvid, (uint32) vid);
}

/*
 * RuhnswBuildAppendPage: writes image as a new page at the end of the
 * index's main fork, without WAL (the build WAL-logs every page at the
 * end).  Takes and releases the new buffer's exclusive lock.
 */
void
RuhnswBuildAppendPage(Relation index, const char *image)
{
	Buffer		buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	memcpy(BufferGetPage(buf), image, BLCKSZ);
	MarkBufferDirty(buf);
	UnlockReleaseBuffer(buf);
}

/* RuhnswLayoutPages callback: appends the page to the index arg. */
static void
RuhnswEmitPage(const char *image, void *arg)
{
	RuhnswBuildAppendPage((Relation) arg, image);
}

/*
 * ruhnswbuild (ambuild): builds the index over heap, in parallel when
 * RuhnswBuildParallel can, else serially.  Errors:
 * ERRCODE_FEATURE_NOT_SUPPORTED when heap is not a ruvector table or the
 * column holds vectors of several dimensions; ERRCODE_INVALID_PARAMETER_VALUE
 * when ef_construction < 2 * m.  Runs with the lock CREATE INDEX holds.
 */
IndexBuildResult *
ruhnswbuild(Relation heap, Relation index, IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	RuhnswBuildState bs;
	RuhnswMetaPageData meta;
	RuhnswGraph g;
	double		reltuples;
	double		parindtuples;
	PGAlignedBlock page;
	MemoryContext tmpcxt;
	MemoryContext old;
	bool		inmem = true;
	int64		done = 0;
	int64		nextra = 0;		/* TIDs of vids already in, at the front of bs */

	if (!RvRelIsRuvector(heap))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ruhnsw indexes are supported only on ruvector tables"),
				 errdetail("Table \"%s\" does not use the ruvector access method.",
						   RelationGetRelationName(heap)),
				 errhint("Run ALTER TABLE ... SET ACCESS METHOD ruvector first.")));
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	RuhnswBuildMeta(index, &meta);
	memset(&g, 0, sizeof(g));

	pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_RUHNSW_PHASE_LOAD);
	memset(&bs, 0, sizeof(bs));
	bs.heap = heap;
	bs.index = index;
	bs.storeno = -1;
	bs.cap = 1024;
	bs.vids = palloc(sizeof(uint32) * bs.cap);
	bs.tids = palloc(sizeof(ItemPointerData) * bs.cap);
	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   RuhnswBuildCallback, &bs, NULL);

	if (bs.n > 0 &&
		RuhnswBuildParallel(heap, index, indexInfo, &meta,
							RvTamOpenStore(heap, RV_KEY_STORENO(bs.storeno)),
							bs.vids, bs.tids, bs.n, bs.maxvid, &parindtuples))
	{
		if (RelationNeedsWAL(index))
			log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
		result = palloc(sizeof(IndexBuildResult));
		result->heap_tuples = reltuples;
		result->index_tuples = parindtuples;
		return result;
	}

	if (bs.n > 0)
	{
		RvStore    *store = RvTamOpenStore(heap, RV_KEY_STORENO(bs.storeno));

		meta.storeno = bs.storeno;
		meta.store_relid = store->relid;
		meta.dims = store->dims;
		RuhnswGraphInit(&g, index, &meta, store);
		if ((double) (bs.maxvid + 1) * g.nodesize > (double) maintenance_work_mem * 1024.0)
		{
			ereport(NOTICE,
					(errmsg("ruhnsw graph does not fit into maintenance_work_mem"),
					 errdetail("Building the graph directly on the index pages, which is slower."),
					 errhint("Increase maintenance_work_mem to speed up builds.")));
			inmem = false;
			g.unlogged_build = true;
			RuhnswInitMetaPage(page.data, &meta);
			RuhnswBuildAppendPage(index, page.data);
		}
		else
		{
			uint64	   *vids64;
			double		budget;

			g.memvids = (uint64) bs.maxvid + 1;
			g.mem = palloc_extended(g.memvids * g.nodesize, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

			/*
			 * When the vectors fit too, the store copies each once into
			 * memory: the build computes ~m * ef_construction distances per
			 * node, and pinning a store page for each costs more than the
			 * distance itself.  This is transient build memory; the index
			 * stores no vectors.
			 */
			budget = (double) maintenance_work_mem * 1024.0 - (double) g.memvids * g.nodesize;
			vids64 = palloc_extended(sizeof(uint64) * bs.n, MCXT_ALLOC_HUGE);
			for (int64 i = 0; i < bs.n; i++)
				vids64[i] = bs.vids[i];
			if (budget > 0)
				g.cache = RvStoreCacheVectors(store, vids64, bs.n, g.mode, (Size) budget);
			pfree(vids64);
		}

		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, bs.n);
		tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw build",
									   ALLOCSET_DEFAULT_SIZES);
		for (int64 i = 0; i < bs.n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(tmpcxt);
			if (g.mem != NULL && bs.vids[i] < g.memvids &&
				(((RuhnswNodeHeader *) (g.mem + (Size) bs.vids[i] * g.nodesize))->flags &
				 RUHNSW_NODE_USED))
			{
				/* another row version of a vid already in: its TID, after the layout */
				bs.vids[nextra] = bs.vids[i];
				bs.tids[nextra] = bs.tids[i];
				nextra++;
				bs.indtuples++;
			}
			else if (g.mem == NULL && RuhnswAddTid(&g, heap, bs.vids[i], &bs.tids[i]))
				bs.indtuples++;
			else if (RuhnswVectorIndexable(&g, bs.vids[i]))
			{
				RuhnswInsertNode(&g, bs.vids[i], &bs.tids[i]);
				bs.indtuples++;
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(tmpcxt);
			if (++done % 64 == 0 || done == bs.n)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, done);
		}
		MemoryContextDelete(tmpcxt);

		/* pruning may have dropped some node's last in-link: reconnect it */
		RuhnswRepairReachability(&g);
		RuhnswGraphFree(&g);
		RuhnswGraphToMeta(&g, &meta);
	}

	if (inmem)
	{
		RuhnswInitMetaPage(page.data, &meta);
		RuhnswBuildAppendPage(index, page.data);
		if (g.mem != NULL)
		{
			RuhnswLayoutPages(&g, RuhnswEmitPage, index);
			/* the TIDs of further row versions, into the pages just written */
			g.mem = NULL;
			g.unlogged_build = true;
			g.nblocks = RelationGetNumberOfBlocks(index);
			for (int64 i = 0; i < nextra; i++)
			{
				CHECK_FOR_INTERRUPTS();
				if (!RuhnswAddTid(&g, heap, bs.vids[i], &bs.tids[i]))
					elog(ERROR, "ruhnsw build: vid %u has no node for its further TIDs",
						 bs.vids[i]);
			}
		}
	}
	else
	{
		Buffer		buf = ReadBuffer(index, RUHNSW_METAPAGE_BLKNO);

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		memcpy(PageGetContents(BufferGetPage(buf)), &meta, sizeof(RuhnswMetaPageData));
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);

	result = palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.indtuples;
	return result;
}

/*
 * ruhnswbuildempty (ambuildempty): writes the metapage of an empty index
 * into the init fork, WAL-logged.
 */
void
ruhnswbuildempty(Relation index)
{
	RuhnswMetaPageData meta;
	Buffer		buf;
	GenericXLogState *state;
	Page		page;

	RuhnswBuildMeta(index, &meta);
	buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	RuhnswInitMetaPage(page, &meta);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}
