/*-------------------------------------------------------------------------
 *
 * hnswreach.c
 *	  Keeping every live node of a ruhnsw graph reachable from the entry
 *	  point (run at the end of a build and by every VACUUM).
 *
 * Neighbour-list pruning on insert (a full list keeps the best of its old
 * links plus the new one, and may drop the only link to a node) and the
 * list repair of ambulkdelete (a node whose in-links all came from deleted
 * nodes gets none back) can leave a live node that no walk from the entry
 * point reaches: no scan can ever return its row.
 *
 * RuhnswRepairReachability walks the graph breadth-first from the entry
 * point over the level-0 lists (through deleted nodes too, as scans do),
 * then sweeps the vids in order.  Level 0 because that is the graph a
 * scan searches (RuhnswSearchGraph seeds it with the entry point); being
 * reached there implies being reached over all levels, which is what
 * ruvector_verify checks.  Each live node not reached is reconnected: its
 * nearest neighbours are searched as a scan for its own vector does, and
 * the nearest reached live one that can take a level-0 link to it gets
 * one: appended when its list has room, otherwise replacing the link to
 * its farthest neighbour that has another in-link.  A scan for the node's
 * vector then takes the same path to that neighbour and finds the node.
 * When no reached node is among the neighbours found, a search from the
 * entry point alone (which meets reached nodes only) supplies them.  The
 * walk then continues from the reconnected node, so everything hanging
 * off it counts as reached too.
 *
 * Invariants:
 *	- links are only added, at level 0, from a reached live node to a live
 *	  node; a link is dropped only to make room for such a link; upper
 *	  levels are left alone (the greedy descent needs no completeness);
 *	- when a round drops no link, the walk saw exactly the final graph, so
 *	  every live node is reachable when it returns.  A dropped link may
 *	  strand its target after all (its other in-link may hang off it), so
 *	  a round that dropped one is followed by another full walk; rounds are
 *	  bounded by RUHNSW_REACH_MAX_ROUNDS (a LOG reports leftovers, never
 *	  seen in practice: each round strands at most the targets it dropped);
 *	- every record is read and written whole through RuhnswReadNode and
 *	  RuhnswWriteNode: on pages one GenericXLog record per change, under
 *	  the page's buffer lock, no other index buffer locked; in memory
 *	  (build) a copy.  The caller holds RUHNSW_UPDATE_LOCK in ExclusiveLock
 *	  (or builds alone), so no insert or ambulkdelete changes the graph
 *	  meanwhile; concurrent scans see links appear and change as they do
 *	  during inserts;
 *	- memory: one bit, one byte and one uint32 per vid of the index (the
 *	  visited bitmap, saturating in-degrees and the walk's queue), in the
 *	  caller's memory context; the walk checks for interrupts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"

#define RUHNSW_REACH_MAX_ROUNDS		8
#define RUHNSW_REACH_INDEG_MAX		255

typedef struct RuhnswReach
{
	RuhnswGraph *g;
	uint64		nvids;			/* vids with a record slot */
	uint8	   *visited;		/* bitmap over vids */
	uint8	   *indeg;			/* in-links from reached nodes, saturating */
	uint32	   *queue;			/* walk queue; each vid queued at most once */
	uint64		head;
	uint64		tail;
	char	   *rec;			/* scratch records */
	char	   *nrec;
	float	   *vec;			/* scratch vectors (dims floats) */
	float	   *nvec;
	int64		ndropped;		/* links dropped in this round */
} RuhnswReach;

static inline bool
RuhnswReachVisited(RuhnswReach *r, uint32 vid)
{
	return (r->visited[vid / 8] & (1 << (vid % 8))) != 0;
}

/* Marks vid reached and queues it (once). */
static inline void
RuhnswReachPush(RuhnswReach *r, uint32 vid)
{
	if (RuhnswReachVisited(r, vid))
		return;
	r->visited[vid / 8] |= 1 << (vid % 8);
	r->queue[r->tail++] = vid;
}

static inline bool
RuhnswReachIsLive(const char *rec)
{
	const RuhnswNodeHeader *hdr = (const RuhnswNodeHeader *) rec;

	return (hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) == RUHNSW_NODE_USED;
}

/*
 * Walks from every queued node: queues the targets of its level-0 links
 * and counts their in-links.
 */
static void
RuhnswReachDrain(RuhnswReach *r)
{
	RuhnswGraph *g = r->g;
	uint32	   *slots = RuhnswNodeSlots(r->rec);
	int			count;
	int			first = RuhnswLevelSlots(g, 0, &count);

	while (r->head < r->tail)
	{
		uint32		vid = r->queue[r->head++];
		RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) r->rec;

		if ((r->head & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!RuhnswReadNode(g, vid, r->rec) || !(hdr->flags & RUHNSW_NODE_USED))
			continue;
		for (int i = first; i < first + count; i++)
		{
			uint32		t = slots[i];

			if (t == RUHNSW_INVALID_VID)
				break;
			if ((uint64) t >= r->nvids)
				continue;
			if (r->indeg[t] < RUHNSW_REACH_INDEG_MAX)
				r->indeg[t]++;
			RuhnswReachPush(r, t);
		}
	}
}

/*
 * Tries to add the level-0 link n -> u (dist: their distance) to the
 * record of n, read into r->nrec.  Appends when the list has room.  When
 * it is full, replaces the link to n's farthest neighbour that has another
 * in-link (any when force).  Returns false when nothing could be done.
 */
static bool
RuhnswReachLink(RuhnswReach *r, uint32 n, uint32 u, bool force)
{
	RuhnswGraph *g = r->g;
	uint32	   *slots = RuhnswNodeSlots(r->nrec);
	int			count;
	int			first = RuhnswLevelSlots(g, 0, &count);
	int			k;
	int			victim = -1;
	float		worst = -1;

	for (k = first; k < first + count && slots[k] != RUHNSW_INVALID_VID; k++)
		if (slots[k] == u)
			return true;		/* already linked (stale walk state) */
	if (k < first + count)
	{
		slots[k] = u;
		RuhnswWriteNode(g, n, r->nrec);
		return true;
	}

	RuhnswReadVector(g, n, r->nvec);
	for (k = first; k < first + count; k++)
	{
		uint32		x = slots[k];
		float		d;

		if (!force && (uint64) x < r->nvids && r->indeg[x] < 2)
			continue;
		d = RuhnswDistance(g, r->nvec, x);
		if (d > worst || victim < 0)
		{
			worst = d;
			victim = k;
		}
	}
	if (victim < 0)
		return false;
	if ((uint64) slots[victim] < r->nvids &&
		r->indeg[slots[victim]] < RUHNSW_REACH_INDEG_MAX)
		r->indeg[slots[victim]]--;
	slots[victim] = u;
	RuhnswWriteNode(g, n, r->nrec);
	r->ndropped++;
	return true;
}

/*
 * Links u from the nearest reached live node among the candidates w (nw,
 * nearest first): first one that has room or a link it can drop safely,
 * then (force) any.  Returns true once linked.
 */
static bool
RuhnswReachLinkFromCands(RuhnswReach *r, uint32 u, RuhnswCand *w, int nw)
{
	RuhnswGraph *g = r->g;

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < nw; i++)
		{
			uint32		n = w[i].vid;

			if (n == u || (uint64) n >= r->nvids || !RuhnswReachVisited(r, n))
				continue;
			if (!RuhnswReadNode(g, n, r->nrec) || !RuhnswReachIsLive(r->nrec))
				continue;
			if (RuhnswReachLink(r, n, u, pass == 1))
				return true;
		}
	}
	return false;
}

/*
 * Reconnects the live, unreached node u (see the file header) and walks
 * on from it.
 */
static void
RuhnswReachReconnect(RuhnswReach *r, uint32 u)
{
	RuhnswGraph *g = r->g;
	int			ef = Max(g->ef_construction, 2 * g->m);
	RuhnswCand *w;
	int			nw;
	bool		done;

	RuhnswReadVector(g, u, r->vec);
	nw = RuhnswSearchGraph(g, r->vec, ef, &w);
	done = RuhnswReachLinkFromCands(r, u, w, nw);
	pfree(w);
	if (!done)
	{
		/* the descent led away from the reached part: search from the entry */
		RuhnswCand	ep;

		ep.vid = g->entry_vid;
		ep.dist = RuhnswDistance(g, r->vec, ep.vid);
		nw = RuhnswSearchLayer(g, r->vec, &ep, 1, ef, 0, &w);
		done = RuhnswReachLinkFromCands(r, u, w, nw);
		pfree(w);
	}
	if (!done)
		return;					/* no live reached node but u: cannot happen */
	if (r->indeg[u] < RUHNSW_REACH_INDEG_MAX)
		r->indeg[u]++;
	RuhnswReachPush(r, u);
	RuhnswReachDrain(r);
}

/*
 * RuhnswRepairReachability: makes every live node of g reachable from the
 * entry point (see the file header).  g is an in-memory build graph or
 * the index's pages; the caller holds RUHNSW_UPDATE_LOCK in ExclusiveLock
 * or builds alone.  Returns the number of nodes reconnected (a node
 * reconnected in two rounds counts twice).
 */
int64
RuhnswRepairReachability(RuhnswGraph *g)
{
	RuhnswReach r;
	int64		nreconnected = 0;
	MemoryContext cxt;
	MemoryContext old;
	int			round;

	if (g->entry_vid == RUHNSW_INVALID_VID)
		return 0;
	memset(&r, 0, sizeof(r));
	r.g = g;
	if (g->mem != NULL)
		r.nvids = g->memvids;
	else
	{
		BlockNumber nblocks = RelationGetNumberOfBlocks(g->index);

		r.nvids = nblocks > 1 ? (uint64) (nblocks - 1) * g->nodes_per_page : 0;
	}
	r.nvids = Min(r.nvids, (uint64) RUHNSW_INVALID_VID);
	if ((uint64) g->entry_vid >= r.nvids)
		return 0;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw reachability",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	r.visited = MemoryContextAllocHuge(cxt, (r.nvids + 7) / 8);
	r.indeg = MemoryContextAllocHuge(cxt, r.nvids);
	r.queue = MemoryContextAllocHuge(cxt, sizeof(uint32) * r.nvids);
	r.rec = palloc(g->nodesize);
	r.nrec = palloc(g->nodesize);
	r.vec = palloc(sizeof(float) * g->dims);
	r.nvec = palloc(sizeof(float) * g->dims);

	for (round = 0; round < RUHNSW_REACH_MAX_ROUNDS; round++)
	{
		int64		nthis = 0;

		memset(r.visited, 0, (r.nvids + 7) / 8);
		memset(r.indeg, 0, r.nvids);
		r.head = r.tail = 0;
		r.ndropped = 0;
		RuhnswReachPush(&r, g->entry_vid);
		RuhnswReachDrain(&r);

		for (uint64 vid = 0; vid < r.nvids; vid++)
		{
			if ((vid & 255) == 0)
				CHECK_FOR_INTERRUPTS();
			if (RuhnswReachVisited(&r, (uint32) vid))
				continue;
			if (!RuhnswReadNode(g, (uint32) vid, r.rec) || !RuhnswReachIsLive(r.rec))
				continue;
			RuhnswReachReconnect(&r, (uint32) vid);
			nthis++;
		}
		nreconnected += nthis;
		if (r.ndropped == 0)
			break;
	}
	if (round == RUHNSW_REACH_MAX_ROUNDS)
		ereport(LOG,
				(errmsg("ruhnsw index \"%s\": nodes may remain unreachable after %d repair rounds",
						RelationGetRelationName(g->index), RUHNSW_REACH_MAX_ROUNDS)));

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return nreconnected;
}
