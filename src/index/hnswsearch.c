/*-------------------------------------------------------------------------
 *
 * hnswsearch.c
 *	  The resumable level-0 search of ruhnsw scans.  HNSW's search layer
 *	  (Malkov & Yashunin, "Efficient and robust approximate nearest
 *	  neighbor search using Hierarchical Navigable Small World graphs",
 *	  TPAMI 2018, algorithm 2) stops when the nearest unexpanded candidate
 *	  is farther than the ef-th nearest found; an iterative scan that needs
 *	  more rows continues that same search rather than running a new one
 *	  with a larger ef (as pgvector's iterative scans do).
 *
 * State (RuhnswSearch, ruhnsw.h), kept by the scan between batches:
 *	visited  every vid whose distance was computed; each vid is scored and
 *	         read at most once per scan;
 *	expand   min-heap of found candidates whose neighbours were not read
 *	         yet; every candidate found goes here (or to deferred), so that
 *	         a later batch can expand what the first one left alone;
 *	pending  min-heap of found candidates not handed out yet;
 *	batch    max-heap of the batch being built (at most ef);
 *	deferred found candidates that belong in both expand and pending but
 *	         were found while the batch was full and farther than its
 *	         farthest, in no order: the batch they were found in can
 *	         neither take nor expand them (see below), so they join the two
 *	         heaps when the next batch starts, and a scan that needs one
 *	         batch (LIMIT k within ef) never pays the heap pushes for them.
 *
 * A batch starts with the previous batch's deferred candidates pushed
 * onto both heaps and the ef nearest pending candidates taken, and expands
 * candidates while the nearest unexpanded one is no farther than the
 * batch's farthest (or the batch is not full), exactly as the search
 * layer does; what falls out of the batch goes back to pending.  The first
 * batch is therefore the ordinary HNSW search with ef.  Deferring is
 * exact: once the batch is full it stays full and its farthest only comes
 * nearer, so a candidate farther than the farthest when found is never
 * taken nor expanded by that batch (a tie with the farthest goes onto the
 * heaps at once, as it may be expanded).  Each batch hands out candidates
 * no earlier batch handed out (sorted by distance when the caller asks; a
 * scan on codes sorts them by lower bounds itself); the search is
 * exhausted when expand, pending and deferred are all empty, i.e. every
 * node reachable over level-0 links from the seeds was handed out.
 *
 * Invariants: visited, expand, pending and deferred only grow by vids
 * found through level-0 links of used records (or the seeds); the caller
 * holds RUHNSW_SCAN_LOCK in ShareLock during each call, and re-checks
 * every candidate before returning it (a node may be deleted, or its vid
 * reused, between batches: the distance kept for it is then stale, which
 * can only misplace that candidate in the order, never return a wrong
 * row).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "index/ruhnsw.h"

/* Makes room in the array *h (capacity *cap) for one more than n entries. */
static inline void
RuhnswRoom(RuhnswCand **h, int n, int *cap)
{
	if (n >= *cap)
	{
		*cap = Max(64, *cap * 2);
		*h = *h ? repalloc(*h, sizeof(RuhnswCand) * *cap) : palloc(sizeof(RuhnswCand) * *cap);
	}
}

/* Pushes c onto the heap *h (capacity *cap, *n used), growing it. */
static void
RuhnswPush(RuhnswCand **h, int *n, int *cap, RuhnswCand c, bool max)
{
	RuhnswRoom(h, *n, cap);
	RuhnswHeapPush(*h, n, c, max);
}

/*
 * RuhnswSearchBegin: starts the search of q over g (entry point set and
 * valid): the greedy descent (ef 1) through the upper levels, then seeds
 * the level-0 search with the node the descent reached and the entry
 * point (see RuhnswSearchGraph for why both).  Allocates in the current
 * memory context.
 */
void
RuhnswSearchBegin(RuhnswGraph *g, RuhnswSearch *s, RvScorer *q)
{
	RuhnswCand	eps[2];
	uint64		nvids;

	memset(s, 0, sizeof(RuhnswSearch));

	/*
	 * The visited set: a bitmap over the index's vids when it is at most
	 * 2 MB (16M vids), else a hash set.
	 */
	if (g->nblocks == 0)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	nvids = RuhnswNumVids(g->nodes_per_page, g->group_pages, g->nblocks);
	if (nvids <= (UINT64CONST(1) << 24))
		RuhnswVidSetInitRange(&s->visited, (uint32) nvids, 1024);
	else
		RuhnswVidSetInit(&s->visited, 1024);
	RuhnswDescend(g, q, eps);
	for (int i = 0; i < 2; i++)
	{
		if (!RuhnswVidSetAdd(&s->visited, eps[i].vid))
			continue;
		RuhnswPush(&s->expand, &s->nexpand, &s->capexpand, eps[i], false);
		RuhnswPush(&s->pending, &s->npending, &s->cappending, eps[i], false);
	}
}

/*
 * RuhnswSearchNext: the next batch of at most ef candidates, none handed
 * out before, in *result (palloc'd; in ascending distance when sorted,
 * else in no particular order, for a caller that orders them by something
 * else); returns their number, 0 when the search is exhausted.  Caller
 * holds RUHNSW_SCAN_LOCK in ShareLock.
 */
int
RuhnswSearchNext(RuhnswGraph *g, RuhnswSearch *s, RvScorer *q, int ef, bool sorted,
				 RuhnswCand **result)
{
	int			first,
				count;
	uint32	   *slots = RuhnswNodeSlots(g->nodebuf);
	RuhnswCand *out;
	int			nout;
	uint32		newvids[RUHNSW_MAX_SLOTS];
	float		newdists[RUHNSW_MAX_SLOTS];
	int			nnew;

	s->nbatch = 0;
	/* the previous batch's deferred candidates join both heaps */
	for (int i = 0; i < s->ndeferred; i++)
	{
		RuhnswPush(&s->expand, &s->nexpand, &s->capexpand, s->deferred[i], false);
		RuhnswPush(&s->pending, &s->npending, &s->cappending, s->deferred[i], false);
	}
	s->ndeferred = 0;
	while (s->npending > 0 && s->nbatch < ef)
		RuhnswPush(&s->batch, &s->nbatch, &s->capbatch,
				   RuhnswHeapPop(s->pending, &s->npending, false), true);

	first = RuhnswLevelSlots(g, 0, &count);
	while (s->nexpand > 0)
	{
		RuhnswCand	c = s->expand[0];

		CHECK_FOR_INTERRUPTS();
		if (s->nbatch >= ef && c.dist > s->batch[0].dist)
			break;
		(void) RuhnswHeapPop(s->expand, &s->nexpand, false);
		/* the likely next one to expand: its record comes in meanwhile */
		if (s->nexpand > 0)
			RuhnswPrefetchNode(g, s->expand[0].vid);
		if (!RuhnswReadNodeLevel0(g, c.vid, g->nodebuf) ||
			!(((RuhnswNodeHeader *) g->nodebuf)->flags & RUHNSW_NODE_USED))
			continue;
		nnew = RuhnswScoreUnvisited(g, q, &s->visited, slots + first, count, newvids, newdists);
		for (int i = 0; i < nnew; i++)
		{
			RuhnswCand	ec;

			ec.vid = newvids[i];
			ec.dist = newdists[i];
			if (s->nbatch >= ef && ec.dist > s->batch[0].dist)
			{
				/* neither taken nor expanded by this batch: deferred */
				RuhnswRoom(&s->deferred, s->ndeferred, &s->capdeferred);
				s->deferred[s->ndeferred++] = ec;
				continue;
			}
			/* a tie with the farthest may still be expanded by this batch */
			RuhnswPush(&s->expand, &s->nexpand, &s->capexpand, ec, false);
			if (s->nbatch < ef || ec.dist < s->batch[0].dist)
			{
				RuhnswPush(&s->batch, &s->nbatch, &s->capbatch, ec, true);
				if (s->nbatch > ef)
					RuhnswPush(&s->pending, &s->npending, &s->cappending,
							   RuhnswHeapPop(s->batch, &s->nbatch, true), false);
			}
			else
				RuhnswPush(&s->pending, &s->npending, &s->cappending, ec, false);
		}
	}

	nout = s->nbatch;
	out = palloc(sizeof(RuhnswCand) * Max(nout, 1));
	if (nout > 0)
		memcpy(out, s->batch, sizeof(RuhnswCand) * nout);
	if (sorted)
		qsort(out, nout, sizeof(RuhnswCand), RuhnswCandCmp);
	s->nbatch = 0;
	*result = out;
	return nout;
}
