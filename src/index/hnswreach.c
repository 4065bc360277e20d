/*-------------------------------------------------------------------------
 *
 * hnswreach.c
 *	  Keeping every live node of a ruhnsw graph reachable from the entry
 *	  point (run at the end of a build and by every VACUUM).
 *
 * The list repair of ambulkdelete (a node whose in-links all came from
 * deleted nodes gets none back) can leave a live node that no walk from
 * the entry point reaches: no scan can ever return its row.  Inserts never
 * do (hnswinsert.c keeps every node reachable after each of its WAL
 * records), but an index written by an earlier version, whose insert-time
 * pruning could drop the only link to a node, may hold such nodes.  The
 * build runs the repair too, as a safeguard: its graph is made by the same
 * inserts.
 *
 * RuhnswAllReachable only checks, with the same walk, whether a repair is
 * needed: VACUUM runs it beside inserts and takes the exclusive lock for
 * the repair only when a live node is not reached.
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
 * its farthest neighbour that stays reachable without it (see below).  A
 * scan for the node's vector then takes the same path to that neighbour
 * and finds the node.  When no reached node is among the neighbours
 * found, a search from the entry point alone (which meets reached nodes
 * only) supplies them.  The walk then continues from the reconnected
 * node, so everything hanging off it counts as reached too.
 *
 * Invariants:
 *	- links are only added, at level 0, from a reached live node to a live
 *	  node; a link is dropped only to make room for such a link; upper
 *	  levels are left alone (the greedy descent needs no completeness);
 *	- the walk numbers nodes in the order it reaches them (the entry point
 *	  is 1) and counts, for each, its in-links from nodes numbered lower
 *	  ("earlier in-links").  Every reached node but the entry point has at
 *	  least one (the link it was reached by), so by induction on the
 *	  number each one is reachable.  A link n -> x is dropped safely only
 *	  when x keeps an earlier in-link without it, and a reconnected node
 *	  gets the next number and a link from a reached node, so the
 *	  induction keeps holding and the walk's result stays exact;
 *	- only when a full list has no safe link to drop is one dropped anyway;
 *	  then the round is followed by another full walk, at most
 *	  RUHNSW_REACH_MAX_ROUNDS rounds (a LOG reports when they run out);
 *	- every record is read and written whole through RuhnswReadNode and
 *	  RuhnswWriteNode: on pages one GenericXLog record per change, under
 *	  the page's buffer lock, no other index buffer locked; in memory
 *	  (build) a copy.  The caller holds RUHNSW_UPDATE_LOCK in ExclusiveLock
 *	  (or builds alone), so no insert or ambulkdelete changes the graph
 *	  meanwhile; concurrent scans see links appear and change as they do
 *	  during inserts;
 *	- memory: 10 bytes per vid of the index (walk numbers, the walk's
 *	  queue, saturating earlier-in-link counts; a saturated count is never
 *	  decremented, so it can only overstate a node's in-links after 65535
 *	  drops of links to it in one run), in a child of the caller's memory
 *	  context; the walk and the sweep check for interrupts.
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
#define RUHNSW_REACH_COUNT_MAX		PG_UINT16_MAX

typedef struct RuhnswReach
{
	RuhnswGraph *g;
	uint64		nvids;			/* vids with a record slot */
	uint32	   *order;			/* walk number by vid, 0 = not reached */
	uint16	   *earlyin;		/* earlier in-links by vid, saturating */
	uint32	   *queue;			/* walk queue; each vid queued at most once */
	uint64		head;
	uint64		tail;
	char	   *rec;			/* scratch records */
	char	   *nrec;
	int64		nunsafe;		/* links dropped unsafely in this round */
} RuhnswReach;

static inline bool
RuhnswReachVisited(RuhnswReach *r, uint32 vid)
{
	return r->order[vid] != 0;
}

/* Numbers vid and queues it (once). */
static inline void
RuhnswReachPush(RuhnswReach *r, uint32 vid)
{
	if (r->order[vid] != 0)
		return;
	r->queue[r->tail++] = vid;
	r->order[vid] = (uint32) r->tail;
}

/* Counts the level-0 link n -> t among t's earlier in-links if it is one. */
static inline void
RuhnswReachCountLink(RuhnswReach *r, uint32 n, uint32 t)
{
	if (r->earlyin != NULL && r->order[n] < r->order[t] &&
		r->earlyin[t] < RUHNSW_REACH_COUNT_MAX)
		r->earlyin[t]++;
}

static inline bool
RuhnswReachIsLive(const char *rec)
{
	const RuhnswNodeHeader *hdr = (const RuhnswNodeHeader *) rec;

	return (hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) == RUHNSW_NODE_USED;
}

/*
 * Walks from every queued node: numbers and queues the targets of its
 * level-0 links and counts the links among their earlier in-links.
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
			RuhnswReachPush(r, t);
			RuhnswReachCountLink(r, vid, t);
		}
	}
}

/*
 * Tries to add the level-0 link n -> u to the record of n, read into
 * r->nrec; u is not reached yet.  Appends when the list has room.  When it
 * is full, replaces the link to n's farthest neighbour that keeps an
 * earlier in-link without it (any neighbour when force).  Returns false
 * when nothing could be done.
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
	bool		victim_safe = false;
	float		worst = -1;
	RvScorer   *nq;

	for (k = first; k < first + count && slots[k] != RUHNSW_INVALID_VID; k++)
		if (slots[k] == u)
			return true;		/* cannot happen: n is reached, so u would be */
	if (k < first + count)
	{
		slots[k] = u;
		RuhnswWriteNode(g, n, r->nrec);
		return true;
	}

	nq = RuhnswQueryNode(g, n);
	for (k = first; k < first + count; k++)
	{
		uint32		x = slots[k];
		bool		safe;
		float		d;

		if ((uint64) x >= r->nvids || r->order[x] <= 1)
			safe = true;		/* no record, or the entry point (the root) */
		else
			safe = r->earlyin[x] >= (r->order[n] < r->order[x] ? 2 : 1);
		if (!safe && !force)
			continue;
		d = RuhnswDistance(g, nq, x);
		if (victim < 0 || (safe && !victim_safe) || (safe == victim_safe && d > worst))
		{
			worst = d;
			victim = k;
			victim_safe = safe;
		}
	}
	RuhnswQueryEnd(nq);
	if (victim < 0)
		return false;
	if ((uint64) slots[victim] < r->nvids)
	{
		uint32		x = slots[victim];

		if (r->order[n] < r->order[x] && r->earlyin[x] < RUHNSW_REACH_COUNT_MAX)
			r->earlyin[x]--;
	}
	if (!victim_safe)
		r->nunsafe++;
	slots[victim] = u;
	RuhnswWriteNode(g, n, r->nrec);
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

	RvScorer   *q = RuhnswQueryNode(g, u);

	nw = RuhnswSearchGraph(g, q, ef, &w);
	done = RuhnswReachLinkFromCands(r, u, w, nw);
	pfree(w);
	if (!done)
	{
		/* the descent led away from the reached part: search from the entry */
		RuhnswCand	ep;

		ep.vid = g->entry_vid;
		ep.dist = RuhnswDistance(g, q, ep.vid);
		nw = RuhnswSearchLayer(g, q, &ep, 1, ef, 0, &w);
		done = RuhnswReachLinkFromCands(r, u, w, nw);
		pfree(w);
	}
	RuhnswQueryEnd(q);
	if (!done)
		return;					/* no live reached node but u: cannot happen */
	RuhnswReachPush(r, u);
	r->earlyin[u] = 1;			/* the link just added, from a reached node */
	RuhnswReachDrain(r);
}

/* Vids with a record slot: in memory (build) or on the index's pages. */
static uint64
RuhnswReachNumVids(RuhnswGraph *g)
{
	uint64		n;

	if (g->mem != NULL)
		n = g->memvids;
	else
		n = RuhnswNumVids(g->nodes_per_page, g->group_pages,
						  RelationGetNumberOfBlocks(g->index));
	return Min(n, (uint64) RUHNSW_INVALID_VID);
}

/* A fresh walk from the entry point: numbers every node it reaches. */
static void
RuhnswReachWalk(RuhnswReach *r)
{
	memset(r->order, 0, sizeof(uint32) * r->nvids);
	if (r->earlyin)
		memset(r->earlyin, 0, sizeof(uint16) * r->nvids);
	r->head = r->tail = 0;
	RuhnswReachPush(r, r->g->entry_vid);
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
	r.nvids = RuhnswReachNumVids(g);
	if ((uint64) g->entry_vid >= r.nvids)
		return 0;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw reachability",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	r.order = MemoryContextAllocHuge(cxt, sizeof(uint32) * r.nvids);
	r.earlyin = MemoryContextAllocHuge(cxt, sizeof(uint16) * r.nvids);
	r.queue = MemoryContextAllocHuge(cxt, sizeof(uint32) * r.nvids);
	r.rec = palloc(g->nodesize);
	r.nrec = palloc(g->nodesize);

	for (round = 0; round < RUHNSW_REACH_MAX_ROUNDS; round++)
	{
		int64		nthis = 0;

		r.nunsafe = 0;
		RuhnswReachWalk(&r);

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
		if (r.nunsafe == 0)
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

/*
 * RuhnswAllReachable: true when every live node of the index's pages is
 * reached by a breadth-first walk from the entry point over the level-0
 * lists (as RuhnswRepairReachability walks); *nlive gets their count.
 * Changes nothing, and needs only RUHNSW_UPDATE_LOCK in ShareLock: inserts
 * may run meanwhile, as they keep every node reachable after each WAL
 * record, and no ambulkdelete can run beside the caller's VACUUM.  A node
 * an insert writes behind the walk is not reached by it, so the live nodes
 * one walk misses get a second, fresh walk: a node live at the first sweep
 * and reached by either walk was reachable then, and inserts keep it so.
 * So a true answer is true of the graph when it returns; a false one (a
 * node missed twice) sends the caller to the repair.  Memory: 12 bytes
 * per vid at most, freed before returning.
 */
bool
RuhnswAllReachable(RuhnswGraph *g, int64 *nlive)
{
	RuhnswReach r;
	MemoryContext cxt;
	MemoryContext old;
	uint32	   *missed;
	uint64		nmissed = 0;
	bool		all = true;

	*nlive = 0;
	if (g->entry_vid == RUHNSW_INVALID_VID)
		return true;
	memset(&r, 0, sizeof(r));
	r.g = g;
	r.nvids = RuhnswReachNumVids(g);
	if ((uint64) g->entry_vid >= r.nvids)
		return false;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw reachability check",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	r.order = MemoryContextAllocHuge(cxt, sizeof(uint32) * r.nvids);
	r.earlyin = NULL;
	r.queue = MemoryContextAllocHuge(cxt, sizeof(uint32) * r.nvids);
	r.rec = palloc(g->nodesize);
	missed = MemoryContextAllocHuge(cxt, sizeof(uint32) * r.nvids);

	/* first walk: every live node */
	RuhnswReachWalk(&r);
	for (uint64 vid = 0; vid < r.nvids; vid++)
	{
		if ((vid & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!RuhnswReadNode(g, (uint32) vid, r.rec) || !RuhnswReachIsLive(r.rec))
			continue;
		(*nlive)++;
		if (!RuhnswReachVisited(&r, (uint32) vid))
			missed[nmissed++] = (uint32) vid;
	}

	/* second walk: only the nodes the first one missed */
	if (nmissed > 0)
	{
		RuhnswReachWalk(&r);
		for (uint64 i = 0; i < nmissed && all; i++)
			if (!RuhnswReachVisited(&r, missed[i]) &&
				RuhnswReadNode(g, missed[i], r.rec) && RuhnswReachIsLive(r.rec))
				all = false;
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return all;
}
