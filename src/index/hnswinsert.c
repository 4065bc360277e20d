/*-------------------------------------------------------------------------
 *
 * hnswinsert.c
 *	  Inserting a node into a ruhnsw graph (shared by the build and
 *	  aminsert), and aminsert itself.
 *
 * Invariants: inserts are serialized by the heavyweight lock
 * RUHNSW_UPDATE_LOCK (ExclusiveLock), so a record can be read, modified
 * and written back without racing another writer; readers (scans) see
 * every record whole because it is copied under its page's buffer lock.
 * A node's own record is written before any neighbour links to it, and
 * the entry point is moved last, so a concurrent scan never follows a
 * link to an uninitialized record.  Each record write is its own
 * GenericXLog record (one buffer); a crash between them leaves a node
 * less well connected, never a dangling link.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

/*
 * Adds the link n -> v (distance dist) at level, pruning n's list with the
 * selection heuristic when it is full (the heuristic may keep a farther v
 * for diversity, which is what keeps new nodes reachable).  Skips nodes
 * that are not live.
 */
static void
RuhnswAddConnection(RuhnswGraph *g, uint32 n, uint32 v, float dist, int level)
{
	char	   *rec = palloc(g->nodesize);
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			count;
	int			first = RuhnswLevelSlots(g, level, &count);
	int			k;
	RuhnswCand *cands;
	RuhnswCand *sel;
	int			nsel;
	float	   *nvec;

	if (!RuhnswReadNode(g, n, rec) ||
		(hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED ||
		hdr->level < level)
	{
		pfree(rec);
		return;
	}
	for (k = 0; k < count && slots[first + k] != RUHNSW_INVALID_VID; k++)
	{
		if (slots[first + k] == v)
		{
			pfree(rec);
			return;
		}
	}
	if (k < count)
	{
		slots[first + k] = v;
		RuhnswWriteNode(g, n, rec);
		pfree(rec);
		return;
	}

	/* full: keep the best count of the old list plus v */
	nvec = palloc(sizeof(float) * g->dims);
	RuhnswReadVector(g, n, nvec);
	cands = palloc(sizeof(RuhnswCand) * (count + 1));
	for (int i = 0; i < count; i++)
	{
		cands[i].vid = slots[first + i];
		cands[i].dist = RuhnswDistance(g, nvec, cands[i].vid);
	}
	cands[count].vid = v;
	cands[count].dist = dist;

	/* sort ascending: insertion sort, count is small */
	for (int i = 1; i <= count; i++)
	{
		RuhnswCand	c = cands[i];
		int			j = i - 1;

		while (j >= 0 && cands[j].dist > c.dist)
		{
			cands[j + 1] = cands[j];
			j--;
		}
		cands[j + 1] = c;
	}
	sel = palloc(sizeof(RuhnswCand) * count);
	nsel = RuhnswSelectNeighbors(g, cands, count + 1, count, n, sel);
	for (int i = 0; i < count; i++)
		slots[first + i] = i < nsel ? sel[i].vid : RUHNSW_INVALID_VID;
	RuhnswWriteNode(g, n, rec);
	pfree(sel);
	pfree(cands);
	pfree(nvec);
	pfree(rec);
}

/*
 * RuhnswInsertNode: inserts vid (heap TID tid) into the graph g, whose
 * entry point g->entry_vid/entry_level is current.  Returns true when the
 * entry point changed (the caller then writes the metapage).  A record
 * already present for vid (a deleted node whose vid the store handed out
 * again, or a stale one) is overwritten.  Caller holds RUHNSW_UPDATE_LOCK
 * or builds alone; allocates in the current memory context.
 */
bool
RuhnswInsertNode(RuhnswGraph *g, uint32 vid, ItemPointer tid)
{
	char	   *rec = palloc0(g->nodesize);
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			level = RuhnswRandomLevel(vid, g->m);
	float	   *q;
	RuhnswCand	ep;
	RuhnswCand *eps;
	int			neps;
	RuhnswCand *sel[RUHNSW_MAX_LEVEL + 1];
	int			nsel[RUHNSW_MAX_LEVEL + 1];
	int			top;

	if (g->entry_vid == vid)
	{
		/* the entry point itself again: keep its links, renew its TID */
		RuhnswReadNode(g, vid, rec);
		hdr->tid = *tid;
		hdr->flags = RUHNSW_NODE_USED;
		RuhnswWriteNode(g, vid, rec);
		return false;
	}

	hdr->tid = *tid;
	hdr->level = level;
	hdr->flags = RUHNSW_NODE_USED;
	for (int i = 0; i < g->nslots; i++)
		slots[i] = RUHNSW_INVALID_VID;

	if (g->entry_vid == RUHNSW_INVALID_VID)
	{
		RuhnswWriteNode(g, vid, rec);
		g->entry_vid = vid;
		g->entry_level = level;
		return true;
	}

	q = palloc(sizeof(float) * g->dims);
	RuhnswReadVector(g, vid, q);
	ep.vid = g->entry_vid;
	ep.dist = RuhnswDistance(g, q, ep.vid);
	eps = &ep;
	neps = 1;
	for (int lc = g->entry_level; lc > level; lc--)
	{
		RuhnswCand *w;
		int			nw = RuhnswSearchLayer(g, q, eps, neps, 1, lc, &w);

		if (nw > 0)
			ep = w[0];
		eps = &ep;
		neps = 1;
	}

	top = Min(level, g->entry_level);
	for (int lc = top; lc >= 0; lc--)
	{
		RuhnswCand *w;
		int			nw = RuhnswSearchLayer(g, q, eps, neps, g->ef_construction, lc, &w);
		int			count;
		int			first = RuhnswLevelSlots(g, lc, &count);

		sel[lc] = palloc(sizeof(RuhnswCand) * count);
		nsel[lc] = RuhnswSelectNeighbors(g, w, nw, count, vid, sel[lc]);
		for (int i = 0; i < nsel[lc]; i++)
			slots[first + i] = sel[lc][i].vid;
		if (nw > 0)
		{
			eps = w;
			neps = nw;
		}
	}

	/* the node first, then the links to it */
	RuhnswWriteNode(g, vid, rec);
	for (int lc = top; lc >= 0; lc--)
	{
		for (int i = 0; i < nsel[lc]; i++)
		{
			CHECK_FOR_INTERRUPTS();
			RuhnswAddConnection(g, sel[lc][i].vid, vid, sel[lc][i].dist, lc);
		}
	}

	if (level > g->entry_level)
	{
		g->entry_vid = vid;
		g->entry_level = level;
		return true;
	}
	return false;
}

/*
 * RuhnswVectorIndexable: false for vectors the metric cannot order: zero
 * vectors under cosine distance (their distance is NaN), as pgvector.
 */
bool
RuhnswVectorIndexable(RuhnswGraph *g, uint32 vid)
{
	if (g->metric != RUHNSW_COSINE)
		return true;
	RuhnswReadVector(g, vid, g->vecbuf);
	return RuhnswVectorNorm(g->vecbuf, g->dims) > 0;
}

/* Raises the error for a vector of another store than the index's. */
static void
RuhnswWrongStore(Relation index, int dims, int newdims)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("ruhnsw index \"%s\" covers vectors of %d dimensions only",
					RelationGetRelationName(index), dims),
			 errdetail("The vector to index has %d dimensions.", newdims),
			 errhint("Declare the column with its dimensions, such as ruvector(%d).", dims)));
}

/*
 * ruhnswinsert (aminsert): indexes the heap tuple at heap_tid.  values[0]
 * is the resolved vector (executor) or a vref (CREATE INDEX CONCURRENTLY's
 * validate scan); the vid comes from the vref or, for a resolved value,
 * from the heap tuple itself.  NULLs, and zero vectors under cosine, are
 * not indexed.  Takes RUHNSW_UPDATE_LOCK in ExclusiveLock for the whole
 * insert.  Errors: vectors of another dimension than the indexed store;
 * vids beyond 2^32 - 2.  Always returns false (no unique checks).
 */
bool
ruhnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
			 IndexInfo *indexInfo)
{
	MemoryContext cxt;
	MemoryContext old;
	int16		storeno;
	uint64		vid;
	RvStore    *store;
	RuhnswMetaPageData meta;
	RuhnswGraph g;
	bool		changed = false;

	if (isnull[0])
		return false;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw insert",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	if (!RvDatumGetVref(values[0], &storeno, &vid))
	{
		if (!RvTamGetVid(heap, heap_tid, index->rd_index->indkey.values[0], &store, &vid))
		{
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			return false;
		}
	}
	else
		store = RvTamGetStoreByNo(heap, storeno);
	if (vid >= RUHNSW_INVALID_VID)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ruhnsw index \"%s\" cannot index vector id " UINT64_FORMAT,
						RelationGetRelationName(index), vid)));

	LockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	RuhnswReadMeta(index, &meta);
	if (OidIsValid(meta.store_relid) && meta.store_relid != store->relid)
	{
		if (RuhnswGetStore(heap, index, &meta) != NULL)
			RuhnswWrongStore(index, meta.dims, store->dims);
		/* the covered store was created by an aborted transaction */
		RuhnswResetGraph(index, &meta);
	}
	if (!OidIsValid(meta.store_relid))
	{
		meta.store_relid = store->relid;
		meta.storeno = store->storeno;
		meta.dims = store->dims;
		changed = true;
	}
	RuhnswGraphInit(&g, index, &meta, store);
	if (RuhnswVectorIndexable(&g, (uint32) vid) &&
		RuhnswInsertNode(&g, (uint32) vid, heap_tid))
		changed = true;
	RuhnswGraphFree(&g);
	if (changed)
	{
		RuhnswGraphToMeta(&g, &meta);
		RuhnswWriteMeta(index, &meta);
	}
	UnlockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return false;
}
