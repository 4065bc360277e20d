/*-------------------------------------------------------------------------
 *
 * hnswscan.c
 *	  ruhnsw index scans: ORDER BY col <op> constant, returning heap TIDs
 *	  in ascending distance order, ruvector.ef_search candidates at a time.
 *
 * A scan searches the graph once (greedy descent through the upper levels,
 * then a level-0 search with ef = ruvector.ef_search, seeded with the
 * descent's last node and the entry point, so that ef at least the number
 * of nodes reaches every live node: VACUUM and the build keep them all
 * reachable over level-0 links from the entry point) holding
 * RUHNSW_SCAN_LOCK in ShareLock, then returns the candidates one by one.
 * Before returning a candidate it re-reads the node (deleted nodes are
 * skipped) and returns each of its heap TIDs (the row versions that share
 * its vid: RuhnswNodeTids) whose heap tuple still refers to that vid (a
 * vid may be reused after VACUUM; docs/design.md); for a TID that is a
 * HOT chain's root, any member of the chain may be the one.  The executor
 * drops the versions its snapshot does not see, so each row comes out
 * once: of a row's versions sharing the vid exactly one is visible.
 *
 * Iterative scans (ruvector.iterative_scan != off): when the executor
 * asks for more tuples than the search produced (a WHERE filter discarded
 * some), the same search continues (hnswsearch.c: it keeps what it found
 * and what it has not expanded yet) for the next ef candidates, which are
 * returned in turn; nothing is searched twice.  strict_order drops
 * candidates closer than the last returned one so the output stays
 * ordered; relaxed_order returns them.  The scan ends when the search is
 * exhausted (every node reachable from the seeds was handed out) or has
 * scored ruvector.max_scan_tuples nodes.
 *
 * Search on codes (ruvector.search_codes = int8, the default): the graph
 * is traversed with distances on the store's SQ8 codes (the scorer API,
 * src/tam/store/rv_score.h), then each batch of ef candidates is reranked
 * on the exact floats lazily: in order of their lower bounds (code
 * estimate minus error bound), a candidate being handed out once its exact
 * distance is no larger than every bound not yet evaluated.  So the order
 * within a batch and every distance the scan acts on are exact, and a
 * LIMIT k query evaluates about k exact distances, not ef.  With off, or
 * a store written before codes existed, traversal is exact and there is
 * nothing to rerank.  With bit, the graph is traversed on the store's
 * 1-bit RaBitQ codes (bit pages only) and the batch is reranked the same
 * way, but its lower bounds are the SQ8 codes' (RvStoreScoreBounds):
 * RaBitQ's bound holds with high probability only, and a bound that failed
 * would hand a candidate out of order; SQ8's always holds.
 *
 * A store with cold segments (scored on 1-bit codes in every code mode)
 * is searched with a candidate list of 1.5 ef_search (RvStoreScoreHasCold).
 *
 * Distances are never rechecked (xs_recheckorderby = false); the L2
 * opclass orders by squared distance, which has the same order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

typedef struct RuhnswScanOpaqueData
{
	bool		first;			/* search not run yet */
	bool		done;			/* nothing more to return */
	RuhnswMetaPageData meta;
	RuhnswGraph g;
	float	   *query;
	RvScorer   *scorer;			/* of query, on codes per ruvector.search_codes */
	bool		lazy;			/* the batch is on codes: rerank lazily */
	RuhnswCand *exact;			/* min-heap of reranked candidates */
	int			nexact;
	int			capexact;
	RuhnswSearch search;		/* the level-0 search, resumed per batch */
	RuhnswCand *results;		/* the current batch */
	int			nbatches;		/* batches computed */
	int			nresults;
	int			pos;
	int			ef;
	RuhnswVidSet returned;
	float		lastdist;
	ItemPointerData *tids;		/* TIDs of the node being handed out */
	int			ntids;
	int			tidpos;			/* next of tids to return */
	uint32		tidvid;			/* its vid */
	float		tiddist;		/* and distance */
	bool		tidreturned;	/* a TID of it was returned */
	MemoryContext cxt;			/* lives until rescan */
	MemoryContext tmpcxt;		/* reset per returned tuple */
} RuhnswScanOpaqueData;

typedef RuhnswScanOpaqueData *RuhnswScanOpaque;

/*
 * ruhnswbeginscan (ambeginscan): allocates the scan state; the search runs
 * at the first amgettuple.
 */
IndexScanDesc
ruhnswbeginscan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	RuhnswScanOpaque so = palloc0(sizeof(RuhnswScanOpaqueData));

	so->first = true;
	so->cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw scan",
									ALLOCSET_DEFAULT_SIZES);
	so->tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw scan tuple",
									   ALLOCSET_DEFAULT_SIZES);
	scan->opaque = so;
	return scan;
}

/*
 * At DEBUG1, what a search cost: nodes scored (each at most once per
 * search) and batches (more than one only for iterative scans).
 */
static void
RuhnswScanReport(IndexScanDesc scan)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;

	if (so->nbatches > 0)
		elog(DEBUG1, "ruhnsw scan of \"%s\": %u nodes scored in %d batches",
			 RelationGetRelationName(scan->indexRelation), so->search.visited.count,
			 so->nbatches);
}

/* Ends the scan's scorer (releasing its store pins) and graph access. */
static void
RuhnswScanRelease(RuhnswScanOpaque so)
{
	if (so->scorer)
		RuhnswQueryEnd(so->scorer);
	so->scorer = NULL;
	RuhnswGraphFree(&so->g);
}

/* ruhnswrescan (amrescan): takes the new ORDER BY argument; resets state. */
void
ruhnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;

	if (!so->first)
	{
		RuhnswScanReport(scan);
		RuhnswScanRelease(so);
	}
	so->first = true;
	so->done = false;
	so->results = NULL;
	so->exact = NULL;
	so->nexact = 0;
	so->capexact = 0;
	so->lazy = false;
	so->nbatches = 0;
	so->nresults = 0;
	so->pos = 0;
	so->tids = NULL;
	so->ntids = 0;
	so->tidpos = 0;
	MemoryContextReset(so->cxt);
	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

/*
 * Prepares the lazy rerank of the current batch (found on codes): each
 * candidate's lower bound (code estimate minus its certain error bound,
 * RvStoreScoreBounds: SQ8's, also after a traversal on bit codes)
 * replaces its distance and the batch is sorted by it; the
 * exact heap starts empty.  RuhnswScanNextCand then evaluates exact
 * distances in lower-bound order only as far as the rows taken need (as
 * VectorChord reranks lazily).
 */
static void
RuhnswScanPrepareRerank(RuhnswScanOpaque so)
{
	uint64	   *vids = palloc(sizeof(uint64) * Max(so->nresults, 1));
	float	   *est = palloc(sizeof(float) * Max(so->nresults, 1));
	float	   *err = palloc(sizeof(float) * Max(so->nresults, 1));

	for (int i = 0; i < so->nresults; i++)
		vids[i] = so->results[i].vid;
	RvStoreScoreBounds(so->scorer, vids, so->nresults, est, err);
	for (int i = 0; i < so->nresults; i++)
		so->results[i].dist = isnan(est[i]) ? -get_float4_infinity() : est[i] - err[i];
	if (so->nresults > 1)
		qsort(so->results, so->nresults, sizeof(RuhnswCand), RuhnswCandCmp);
	pfree(vids);
	pfree(est);
	pfree(err);
	if (so->capexact < so->nresults)
	{
		so->capexact = Max(so->nresults, 64);
		so->exact = so->exact ? repalloc(so->exact, sizeof(RuhnswCand) * so->capexact) :
			MemoryContextAlloc(so->cxt, sizeof(RuhnswCand) * so->capexact);
	}
	so->nexact = 0;
}

/*
 * The current batch's next candidate in exact distance order, into *c
 * (its exact distance; NaN as +Infinity); false when the batch is used up.
 * With codes, the batch is walked in lower-bound order: a candidate is
 * handed out once its exact distance is no larger than every lower bound
 * not evaluated yet, so no later one can be closer.
 */
static bool
RuhnswScanNextCand(RuhnswScanOpaque so, RuhnswCand *c)
{
	if (!so->lazy)
	{
		if (so->pos >= so->nresults)
			return false;
		*c = so->results[so->pos++];
		return true;
	}
	for (;;)
	{
		if (so->nexact > 0 &&
			(so->pos >= so->nresults || so->exact[0].dist <= so->results[so->pos].dist))
		{
			*c = RuhnswHeapPop(so->exact, &so->nexact, false);
			return true;
		}
		if (so->pos >= so->nresults)
			return false;
		{
			RuhnswCand	e = so->results[so->pos++];
			double		d = RvStoreScoreExact(so->scorer, e.vid);

			e.dist = isnan(d) ? get_float4_infinity() : (float) d;
			RuhnswHeapPush(so->exact, &so->nexact, e, false);
		}
	}
}

/*
 * Computes the next batch of so->ef candidates into so->results (the first
 * call starts the search from the current entry point).  Holds
 * RUHNSW_SCAN_LOCK in ShareLock.
 */
static void
RuhnswScanSearch(IndexScanDesc scan, bool start)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;
	RuhnswGraph *g = &so->g;

	LockPage(scan->indexRelation, RUHNSW_SCAN_LOCK, ShareLock);
	if (start)
	{
		RuhnswMetaPageData meta;

		RuhnswReadMeta(scan->indexRelation, &meta);
		g->entry_vid = meta.entry_vid;
		g->entry_level = meta.entry_level;
		if (g->entry_vid == RUHNSW_INVALID_VID)
		{
			so->nresults = 0;
			so->done = true;
			UnlockPage(scan->indexRelation, RUHNSW_SCAN_LOCK, ShareLock);
			return;
		}
		RuhnswSearchBegin(g, &so->search, so->scorer);
	}
	if (so->results)
		pfree(so->results);
	so->lazy = RvStoreScoreApproximate(so->scorer);
	/* a batch on codes is sorted by its lower bounds instead */
	so->nresults = RuhnswSearchNext(g, &so->search, so->scorer, so->ef, !so->lazy,
									&so->results);
	if (so->lazy)
		RuhnswScanPrepareRerank(so);
	so->nbatches++;
	so->pos = 0;
	UnlockPage(scan->indexRelation, RUHNSW_SCAN_LOCK, ShareLock);
}

/* Sets up the graph and query at the first amgettuple; false if no results. */
static bool
RuhnswScanStart(IndexScanDesc scan)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;
	RuVector   *vec;
	RvStore    *store;

	if (scan->numberOfOrderBys == 0 || (scan->orderByData[0].sk_flags & SK_ISNULL))
		return false;
	RuhnswReadMeta(scan->indexRelation, &so->meta);
	if (!OidIsValid(so->meta.store_relid) || so->meta.entry_vid == RUHNSW_INVALID_VID)
		return false;
	vec = RvDatumGetVector(scan->orderByData[0].sk_argument);
	if (vec->dim != so->meta.dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", so->meta.dims, vec->dim)));
	store = RuhnswGetStore(scan->heapRelation, scan->indexRelation, &so->meta);
	if (store == NULL)
		return false;			/* every node is of an aborted store */
	RuhnswGraphInit(&so->g, scan->indexRelation, &so->meta, store);
	so->query = palloc(sizeof(float) * vec->dim);
	memcpy(so->query, vec->x, sizeof(float) * vec->dim);
	/* zero query under cosine: every distance is NaN, nothing to order */
	if (so->g.metric == RUHNSW_COSINE && RuhnswVectorNorm(so->query, vec->dim) == 0)
		return false;
	so->g.mode = (RvScoreMode) rv_search_codes;
	so->scorer = RuhnswQueryBegin(&so->g, so->query);
	so->ef = ruhnsw_ef_search;
	/*
	 * Cold segments are traversed on 1-bit estimates, coarser than SQ8's:
	 * half as many candidates again keep recall where the hot tier has it
	 * (the rerank is lazy, so few more exact distances are computed)
	 */
	if (RvStoreScoreHasCold(so->scorer))
		so->ef = ruhnsw_ef_search + ruhnsw_ef_search / 2;
	RuhnswVidSetInit(&so->returned, 64);
	so->lastdist = -get_float4_infinity();
	RuhnswScanSearch(scan, true);
	return !so->done;
}

/*
 * Loads the TIDs of candidate vid into so->tids when it is a live node
 * (false otherwise).  Allocates in so->cxt.
 */
static bool
RuhnswScanLoadTids(IndexScanDesc scan, uint32 vid, float dist)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) so->g.nodebuf;

	if (!RuhnswReadNodeLevel0(&so->g, vid, so->g.nodebuf) ||
		(hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED)
		return false;
	if (so->tids)
		pfree(so->tids);
	so->ntids = RuhnswNodeTids(&so->g, vid, hdr, &so->tids);
	so->tidpos = 0;
	so->tidvid = vid;
	so->tiddist = dist;
	so->tidreturned = false;
	return true;
}

/* True if the heap tuple at tid (or its HOT chain) refers to vid. */
static bool
RuhnswScanCheck(IndexScanDesc scan, uint32 vid, ItemPointer tid)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;
	bool		ok;
	MemoryContext old;

	old = MemoryContextSwitchTo(so->tmpcxt);
	ok = RvTamTidRefersToVid(scan->heapRelation, tid, so->meta.attnum, so->g.store, vid);
	MemoryContextSwitchTo(old);
	MemoryContextReset(so->tmpcxt);
	return ok;
}

/*
 * ruhnswgettuple (amgettuple): the next heap TID in distance order, in
 * scan->xs_heaptid.  Only forward scans.  Errors when the query vector's
 * dimensions differ from the index's.
 */
bool
ruhnswgettuple(IndexScanDesc scan, ScanDirection dir)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;
	MemoryContext old;

	if (!ScanDirectionIsForward(dir))
		elog(ERROR, "ruhnsw does not support backward scans");
	if (so->done)
		return false;

	old = MemoryContextSwitchTo(so->cxt);
	if (so->first)
	{
		so->first = false;
		if (!RuhnswScanStart(scan))
		{
			so->done = true;
			MemoryContextSwitchTo(old);
			return false;
		}
	}

	for (;;)
	{
		/* the remaining TIDs of the node being handed out, then the next node */
		for (;;)
		{
			RuhnswCand	c;

			while (so->tidpos < so->ntids)
			{
				ItemPointerData tid = so->tids[so->tidpos++];

				CHECK_FOR_INTERRUPTS();
				if (!RuhnswScanCheck(scan, so->tidvid, &tid))
					continue;
				if (!so->tidreturned)
				{
					RuhnswVidSetAdd(&so->returned, so->tidvid);
					so->lastdist = Max(so->lastdist, so->tiddist);
					so->tidreturned = true;
				}
				scan->xs_heaptid = tid;
				scan->xs_recheck = false;
				scan->xs_recheckorderby = false;
				MemoryContextSwitchTo(old);
				return true;
			}
			if (!RuhnswScanNextCand(so, &c))
				break;
			CHECK_FOR_INTERRUPTS();
			if (RuhnswVidSetContains(&so->returned, c.vid))
				continue;
			if (ruhnsw_iterative_scan == RUHNSW_ITERATIVE_STRICT && c.dist < so->lastdist)
				continue;
			(void) RuhnswScanLoadTids(scan, c.vid, c.dist);
		}

		if (ruhnsw_iterative_scan == RUHNSW_ITERATIVE_OFF || so->nresults == 0 ||
			so->search.visited.count >= (uint32) ruhnsw_max_scan_tuples)
			break;
		RuhnswScanSearch(scan, false);
	}
	so->done = true;
	MemoryContextSwitchTo(old);
	return false;
}

/* ruhnswendscan (amendscan): releases the scan's pins and memory. */
void
ruhnswendscan(IndexScanDesc scan)
{
	RuhnswScanOpaque so = (RuhnswScanOpaque) scan->opaque;

	if (!so->first)
	{
		RuhnswScanReport(scan);
		RuhnswScanRelease(so);
	}
	MemoryContextDelete(so->cxt);
	MemoryContextDelete(so->tmpcxt);
	pfree(so);
	scan->opaque = NULL;
}
