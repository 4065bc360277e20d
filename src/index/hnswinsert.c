/*-------------------------------------------------------------------------
 *
 * hnswinsert.c
 *	  Inserting a node into a ruhnsw graph (shared by the build and
 *	  aminsert), and aminsert itself.
 *
 * Concurrency.  aminsert holds RUHNSW_UPDATE_LOCK in ShareLock, so inserts
 * of many sessions run at once (ExclusiveLock only when the metapage may
 * change: see ruhnswinsert); VACUUM and verify take it in ExclusiveLock and
 * so never overlap an insert.  An insert's search (greedy descent, the
 * ef_construction searches, the selection of its own neighbours) reads
 * records one at a time under their page's buffer lock, as scans do.
 * Each of its write steps (step 1 below, or a few back-links of steps 2
 * and 3 written in one WAL record, with the reads and checks that decide
 * them) runs under the metapage's buffer lock
 * in exclusive mode (g->write_lock; RuhnswBeginWrites), so the step reads,
 * modifies and writes back records, and its reachability check reads other
 * nodes' records, without racing another writer: write steps are
 * serialized, those of concurrent inserts interleave, and each starts from
 * a graph in which every live node is in R (below), whatever the search
 * saw.  Because steps of other inserts run between ours, each step
 * re-reads v's record (they may have changed v's lists) and proves its
 * drop from the graph as it is at that moment, and once v is written
 * (visible) its links may be what another insert relied on to drop a link
 * of its own: so the adoption in step 2 replaces an unpinned link v -> y
 * only when another live node of v's list links to y.  Adding a TID to a
 * live node (RuhnswAddTid, aminsert for a row version sharing a vid) is a
 * write step too: a step of another insert copies a neighbour's whole
 * record (header with its TID, flags and upper reference) and writes it
 * back, so a TID added in between would be lost.  Two inserts of the same
 * vid may both find no live node and search; step 1 checks again in its
 * write step and, when the other one wrote the node first, adds the TID to
 * it instead of writing a second record.  Readers (scans, searches) see
 * every record whole because it is copied under its page's buffer lock.
 *
 * Planned links.  With concurrent inserts (g->write_lock) the work of a
 * link n -> v that needs no lock of its own, reading n's record and
 * computing its new list (for a full list, a batch of n's distances to its
 * neighbours and the selection), is done before the write step, on a copy
 * read under the page's share lock (RuhnswPlanLink).  The write step
 * re-reads n's record and keeps the plan only when the record is byte for
 * byte the copy the plan started from, else computes the link again on
 * the record as it is (RuhnswConfirmLink); so what a write step writes is
 * always computed from the graph as it is inside that step.  A plan that
 * would not change n's record (n not live, already linking to v, or
 * keeping its full list without v) ends there, without a write step: it
 * writes nothing, so it cannot affect R.
 *
 * Collected writes.  The back-links of steps 2 and 3 are all planned
 * first, then confirmed and written in few write steps
 * (RuhnswLinkAllPlanned): their new records, v's own among them when it
 * adopts, are collected (RuhnswPending) and written together, up to
 * RUHNSW_MAX_WRITE records on at most MAX_GENERIC_XLOG_PAGES pages in one
 * WAL record and one write step.  Every read that decides a later change
 * of the step (the confirmation's re-read, the reachability check of a
 * dropped link, RuhnswBackedVictim) sees the collected records as written
 * (RuhnswPendingRead), so each change is decided on the graph as the
 * changes before it left it, and their WAL records come first or are the
 * same one: after every WAL record the graph is one that a sequence of
 * single changes, each keeping R (below), reaches.  A 100-d INSERT writes
 * 12 WAL records (heap, btree and commit included) where it wrote 23.
 *
 * The list cache.  A full list's update needs n's distances to its
 * neighbours; RuhnswListCache keeps those this backend has computed (see
 * there), so mostly only a list's new members are scored.  Its lists also
 * tell the reachability check of a dropped link n -> x which of n's
 * neighbours to read (RuhnswLinkedFromList): those whose cached list
 * holds x or that it does not know.  The check believes only what it
 * reads, and a "not linked" answer only makes v adopt x (or n keep its
 * list), so a stale entry costs an adoption, never reachability.
 *
 * Distances.  Every distance goes through a scorer (rv_score.h), on the
 * store's SQ8 codes (RV_SCORE_SQ8, as builds score; exact floats for L1 or
 * a store without codes): with the new vector's exact floats as the query
 * (RuhnswQueryNode(g, v)) for distances to it, with a neighbour's decoded
 * code (below) for that neighbour's list.  The search records
 * every distance to the new vector it computes (g->distmap); a full
 * neighbour list is updated from those (RuhnswLinkIntoKnown: one batch of
 * the neighbour's distances to its list, the rest known or scored through
 * the new vector's scorer) instead of the pairwise distances between the
 * neighbour's neighbours that the full heuristic (RuhnswLinkIntoFull, used
 * by builds) needs.  The selection of v's neighbours scores a candidate's
 * distances to the kept ones with each kept one's vector as the query
 * (RuhnswSelectNeighbors), and those scorers stay with the insert
 * (g->keptq, RuhnswNodeQuery) for the neighbour's list update: a vector
 * is prepared as a query at most once per insert.  A neighbour's query is
 * its SQ8 code decoded (g->code_queries, RuhnswQueryNeighbour), so those
 * distances are on codes on both sides and no float page is read but v's.
 *
 * Reachability.  Call R the set of nodes reachable from the entry point
 * over level-0 links (walking through deleted nodes too, as scans do).
 * An insert of v keeps every node of R in R and adds v, and it does so
 * after each of its WAL records, so neither a crash nor the write steps of
 * other sessions' inserts (which run before or after each of ours, never
 * inside one) can leave a node unreachable.  The steps (RuhnswWriteNodes;
 * step 1 is one WAL record, steps 2 and 3 are collected as above, the
 * change of one link n -> v, with v's adoption, the unit of the proof):
 *	1. v's record together with its first in-link: the level-0 link
 *	   n0 -> v from the nearest live node n0 the search found (the entry
 *	   point if it found none), a node of R; v's upper record, when its
 *	   level is >= 1, is allocated in this record too.  A crash before
 *	   this record leaves no trace of v; from it on v is in R.  When n0's
 *	   list is full it drops its farthest link to make room, handled as in
 *	   step 2.
 *	2. each further level-0 back-link n -> v.  When n's list is full the
 *	   selection heuristic keeps the best of its old links plus v; if it
 *	   keeps v it drops one link n -> x, and x stays reachable: either
 *	   some live node c that n still links to (v included) links to x, so
 *	   a walk can go n -> c -> x; or v adopts x: v's level-0 list gets a
 *	   link to x (appended, or replacing v's farthest link that is not an
 *	   adopted one) in the same WAL record as n's change, or (collected
 *	   writes) in an earlier one: the adoption alone keeps R, as the
 *	   link it replaces is an unpinned one, see below.  A link of v that is adopted,
 *	   or checked as v -> x here, is pinned: this insert never drops it.
 *	   When every link of v is pinned (or, with concurrent inserts, the
 *	   farthest unpinned one v -> y is not backed by another link to y
 *	   from v's list), n keeps its list and gets no link to v.  Why this is
 *	   exact: a simple path from the entry point to n uses none of n's own
 *	   links, so n stays in R, and so does every node whose walk used
 *	   n -> x (it now goes n -> c -> x or n -> v -> x); alone, walks use
 *	   only v's pinned links, so dropping an unpinned one to adopt loses
 *	   nothing; with other inserts in between, a walk through v -> y now
 *	   goes v -> c -> y.
 *	3. back-links of the upper levels; pruning there cannot affect R (R
 *	   and the search of a scan that reaches every node are level 0).
 *	4. when v's level exceeds the entry point's, v becomes the entry point
 *	   (the caller writes the metapage last); v's level-0 list holds a
 *	   pinned link to the old entry point from step 1 on, so R from v
 *	   contains R from the old entry point.
 * A new node's record is written before or with any link to it, so a
 * concurrent scan never follows a link to an uninitialized record.
 *
 * Cost, against dropping links unchecked (5,000 random 32-d vectors,
 * m = 16, two runs): about 20 drops per insert, 16% of them to a
 * node v links to, 66% to a node another neighbour links to, 19% adopted;
 * the check reads about 220 records per insert (no distances); build and
 * insert time +4% and +8%; recall@10 at ef_search 40 0.969-0.970 against
 * 0.972, at ef_search 100 0.999 either way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "common/hashfn.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

/* what RuhnswLinkInto did to a neighbour's list (in memory) */
typedef enum RuhnswLinkResult
{
	RUHNSW_LINK_NOT_LIVE,		/* not a live node of that level: unchanged */
	RUHNSW_LINK_PRESENT,		/* it links to v already: unchanged */
	RUHNSW_LINK_KEPT,			/* full, and the heuristic kept its list */
	RUHNSW_LINK_ADDED,			/* v appended */
	RUHNSW_LINK_REPLACED		/* v replaced the link to *dropped */
} RuhnswLinkResult;

/* what RuhnswKeepReachable did for a dropped link's target */
typedef enum RuhnswKeepResult
{
	RUHNSW_KEEP_LINKED,			/* linked from v or from another neighbour */
	RUHNSW_KEEP_ADOPTED,		/* added to v's level-0 list */
	RUHNSW_KEEP_FAILED			/* every link of v is pinned: not kept */
} RuhnswKeepResult;

/*
 * The node being inserted: its record, vector and level-0 list (slots in
 * rec), the distance to each listed node and which links are pinned.
 */
typedef struct RuhnswNewNode
{
	uint32		vid;
	char	   *rec;
	RvScorer   *q;				/* the node's vector, as a query */
	uint32	   *slots;
	int			count;			/* capacity of the list, 2 * m */
	float	   *dist;
	bool	   *pinned;
	RuhnswVidSet pinset;		/* the pinned vids */
	bool		visible;		/* written (step 1): other inserts may link to
								 * it, change its lists, rely on its links */
	char	   *scratch;		/* a record buffer */
	struct RuhnswPending *pend; /* the write step's records not written
								 * yet (RuhnswLinkAllPlanned), or NULL */
} RuhnswNewNode;

/*
 * The scorers of the new node's selected neighbours' vectors
 * (g->keptq, RuhnswInsertNode only): the selection made some of them
 * (RuhnswSelectNeighbors' outq), and a neighbour's list update that must
 * score that neighbour's distances (a full list the list cache does not
 * know) takes its scorer from here instead of preparing the same query
 * again.  Each vid once, whatever levels it was selected at; ended
 * together by RuhnswKeptQueriesEnd.
 */
typedef struct RuhnswKeptQueries
{
	int			n;
	int			max;
	uint32	   *vids;
	RvScorer  **q;				/* NULL until made */
} RuhnswKeptQueries;

/* Adds vid (and its scorer q, or NULL) to kq unless it is there. */
static void
RuhnswKeptQueriesAdd(RuhnswKeptQueries *kq, uint32 vid, RvScorer *q)
{
	for (int i = 0; i < kq->n; i++)
	{
		if (kq->vids[i] == vid)
		{
			if (kq->q[i] == NULL)
				kq->q[i] = q;
			else if (q != NULL)
				RuhnswQueryEnd(q);
			return;
		}
	}
	Assert(kq->n < kq->max);
	kq->vids[kq->n] = vid;
	kq->q[kq->n++] = q;
}

/* Ends the scorers of kq and empties it. */
static void
RuhnswKeptQueriesEnd(RuhnswKeptQueries *kq)
{
	for (int i = 0; i < kq->n; i++)
		if (kq->q[i] != NULL)
			RuhnswQueryEnd(kq->q[i]);
	kq->n = 0;
}

/*
 * A scorer of n's vector: g->keptq's when n is there (made on first use,
 * *owned false: not the caller's to end), else a new one (*owned true).
 */
static RvScorer *
RuhnswNodeQuery(RuhnswGraph *g, uint32 n, bool *owned)
{
	RuhnswKeptQueries *kq = g->keptq;

	if (kq != NULL)
	{
		for (int i = 0; i < kq->n; i++)
		{
			if (kq->vids[i] == n)
			{
				if (kq->q[i] == NULL)
					kq->q[i] = RuhnswQueryNeighbour(g, n);
				*owned = false;
				return kq->q[i];
			}
		}
	}
	*owned = true;
	return RuhnswQueryNeighbour(g, n);
}

/*
 * Adds the link n -> v (distance dist) to n's list at level in rec, which
 * holds n's record as read (found: RuhnswReadNode's result), in rec only
 * (the caller writes it).  When the list is
 * full, the selection heuristic chooses from the old links plus v (it may
 * keep a farther v for diversity, which is what keeps new nodes well
 * connected); if it leaves v out, the list is kept, unless force: then v
 * replaces the farthest old link.  *dropped gets the vid whose link was
 * replaced.
 */
static RuhnswLinkResult
RuhnswLinkIntoFull(RuhnswGraph *g, uint32 n, char *rec, bool found, uint32 v, float dist,
				   int level, bool force, uint32 *dropped)
{
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			count;
	int			first = RuhnswLevelSlots(g, level, &count);
	int			k;
	RuhnswCand *cands;
	RuhnswCand *sel;
	int			nsel;
	bool		vkept = false;
	RvScorer   *nq;
	bool		owned;
	uint32		oldvids[RUHNSW_MAX_SLOTS];
	float		olddists[RUHNSW_MAX_SLOTS];
	int			farthest = -1;

	if (!found ||
		(hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED ||
		hdr->level < level)
		return RUHNSW_LINK_NOT_LIVE;
	for (k = 0; k < count && slots[first + k] != RUHNSW_INVALID_VID; k++)
	{
		if (slots[first + k] == v)
			return RUHNSW_LINK_PRESENT;
	}
	if (k < count)
	{
		slots[first + k] = v;
		return RUHNSW_LINK_ADDED;
	}

	/* full: the best count of the old list plus v */
	nq = RuhnswNodeQuery(g, n, &owned);
	for (int i = 0; i < count; i++)
		oldvids[i] = slots[first + i];
	RuhnswDistances(g, nq, oldvids, count, olddists);
	if (owned)
		RuhnswQueryEnd(nq);
	cands = palloc(sizeof(RuhnswCand) * (count + 1));
	for (int i = 0; i < count; i++)
	{
		cands[i].vid = oldvids[i];
		cands[i].dist = olddists[i];
		if (farthest < 0 || cands[i].dist > cands[farthest].dist)
			farthest = i;
	}
	cands[count].vid = v;
	cands[count].dist = dist;
	*dropped = cands[farthest].vid;

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
	nsel = RuhnswSelectNeighbors(g, cands, count + 1, count, n, sel, NULL);
	for (int i = 0; i < nsel; i++)
		vkept |= sel[i].vid == v;
	if (vkept)
	{
		/* the old link the heuristic left out */
		for (int i = 0; i < count; i++)
		{
			bool		kept = false;

			for (int j = 0; j < nsel && !kept; j++)
				kept = sel[j].vid == slots[first + i];
			if (!kept)
			{
				*dropped = slots[first + i];
				break;
			}
		}
		for (int i = 0; i < count; i++)
			slots[first + i] = i < nsel ? sel[i].vid : RUHNSW_INVALID_VID;
	}
	else if (force)
		slots[first + farthest] = v;
	pfree(sel);
	pfree(cands);
	if (!vkept && !force)
		return RUHNSW_LINK_KEPT;
	return RUHNSW_LINK_REPLACED;
}

/*
 * The list-distance cache (aminsert only, g->lists set): backend-local,
 * one per index file (by relfilenode, a few at a time), the distances from a node n
 * to the vids of one of its lists (n, level) as this backend last read,
 * computed or wrote that list.  A full list's update needs n's distance to
 * each of its neighbours (RuhnswLinkIntoKnown); inserts touch the same
 * nodes again and again (a COPY, a session's INSERTs), and most of a list
 * is what it was, so those distances are looked up here instead of
 * scored again.  Entries are direct-mapped by (n, level): a new entry
 * replaces whatever held its slot.  Each entry holds the list's vids and
 * their distances, NaN where not known yet.
 *
 * What an entry says is a fact about two vectors, not about the graph:
 * d(n, c) stays true while neither vid is handed out again, so an entry
 * needs no invalidation when lists change (a vid no longer listed is just
 * not found).  A vid is reused only after VACUUM freed it (DESIGN: the
 * vid rule); an entry is keyed with n's inline heap TID too, so a reused
 * n misses.  A reused neighbour c could be given its old vector's
 * distance: the selection heuristic then prunes on a wrong distance, a
 * matter of graph quality only, as reachability (step 2 of the header)
 * never looks at distances.
 */
#define RUHNSW_LCACHE_MAPS		4	/* indexes with a cache at once */
#define RUHNSW_LCACHE_MIN		1024
#define RUHNSW_LCACHE_BYTES		(8 * 1024 * 1024)	/* at most, each */

typedef struct RuhnswListCache
{
	RelFileNode node;			/* the index file the entries are of */
	int			stride;			/* list entries an entry holds: 2 * m */
	uint32		mask;			/* entries - 1 (a power of two) */
	uint32	   *keys;			/* n, or RUHNSW_INVALID_VID: empty */
	uint8	   *levels;
	uint8	   *counts;			/* vids in the entry's list */
	ItemPointerData *tids;		/* n's inline TID when the entry was made */
	uint32	   *vids;			/* stride per entry */
	float	   *dists;			/* stride per entry, NaN: not known */
} RuhnswListCache;

static RuhnswListCache ruhnsw_lcaches[RUHNSW_LCACHE_MAPS];
static int	ruhnsw_lcache_next = 0;

/*
 * RuhnswListCacheFor: the list-distance cache of g's index: found among
 * the backend's RUHNSW_LCACHE_MAPS caches, else the next one round robin,
 * emptied and sized for it (in TopMemoryContext; one entry per expected
 * list, within RUHNSW_LCACHE_BYTES).  Returns it; aminsert sets g->lists
 * to it.  Reads the index size only when it sets a cache up.
 */
static RuhnswListCache *
RuhnswListCacheFor(RuhnswGraph *g)
{
	RuhnswListCache *c;
	int			stride = 2 * g->m;
	Size		entbytes = sizeof(uint32) + 2 + sizeof(ItemPointerData) +
		(sizeof(uint32) + sizeof(float)) * stride;
	uint64		want;
	uint32		n = RUHNSW_LCACHE_MIN;

	for (int i = 0; i < RUHNSW_LCACHE_MAPS; i++)
	{
		c = &ruhnsw_lcaches[i];
		if (c->keys != NULL && RelFileNodeEquals(c->node, g->index->rd_node) &&
			c->stride == stride)
			return c;
	}
	c = &ruhnsw_lcaches[ruhnsw_lcache_next];
	ruhnsw_lcache_next = (ruhnsw_lcache_next + 1) % RUHNSW_LCACHE_MAPS;
	want = 2 * RuhnswNumVids(g->nodes_per_page, g->group_pages,
							 RelationGetNumberOfBlocks(g->index));
	while (n < want && (Size) n * 2 * entbytes <= RUHNSW_LCACHE_BYTES)
		n <<= 1;
	if (c->keys == NULL || c->mask + 1 != n || c->stride != stride)
	{
		if (c->keys != NULL)
		{
			pfree(c->keys);
			pfree(c->levels);
			pfree(c->counts);
			pfree(c->tids);
			pfree(c->vids);
			pfree(c->dists);
		}
		c->keys = MemoryContextAlloc(TopMemoryContext, sizeof(uint32) * n);
		c->levels = MemoryContextAlloc(TopMemoryContext, n);
		c->counts = MemoryContextAlloc(TopMemoryContext, n);
		c->tids = MemoryContextAlloc(TopMemoryContext, sizeof(ItemPointerData) * n);
		c->vids = MemoryContextAlloc(TopMemoryContext, sizeof(uint32) * n * stride);
		c->dists = MemoryContextAlloc(TopMemoryContext, sizeof(float) * n * stride);
		c->mask = n - 1;
		c->stride = stride;
	}
	for (uint32 i = 0; i < n; i++)
		c->keys[i] = RUHNSW_INVALID_VID;
	c->node = g->index->rd_node;
	return c;
}

/* the slot of (n, level) in c */
static inline uint32
RuhnswListCacheSlot(RuhnswListCache *c, uint32 n, int level)
{
	return murmurhash32(n * (RUHNSW_MAX_LEVEL + 1) + level) & c->mask;
}

/*
 * Fills dists[0..count) with n's distances to vids[0..count) (its list at
 * level; tid is n's inline TID) that the cache knows, NaN for the others.
 * Returns how many it knew.
 */
static int
RuhnswListCacheGet(RuhnswGraph *g, uint32 n, int level, const ItemPointerData *tid,
				   const uint32 *vids, int count, float *dists)
{
	RuhnswListCache *c = g->lists;
	uint32		e;
	const uint32 *evids;
	const float *edists;
	int			ecount;
	int			known = 0;

	for (int i = 0; i < count; i++)
		dists[i] = get_float4_nan();
	if (c == NULL)
		return 0;
	e = RuhnswListCacheSlot(c, n, level);
	if (c->keys[e] != n || c->levels[e] != level || !ItemPointerEquals(&c->tids[e], unconstify(ItemPointerData *, tid)))
		return 0;
	evids = c->vids + (Size) e * c->stride;
	edists = c->dists + (Size) e * c->stride;
	ecount = c->counts[e];
	for (int i = 0; i < count; i++)
	{
		/* lists mostly keep their order: try the same place first */
		if (i < ecount && evids[i] == vids[i])
		{
			dists[i] = edists[i];
		}
		else
		{
			for (int j = 0; j < ecount; j++)
			{
				if (evids[j] == vids[i])
				{
					dists[i] = edists[j];
					break;
				}
			}
		}
		if (!isnan(dists[i]))
			known++;
	}
	return known;
}

/*
 * Records n's list at level (count vids, their distances from n, NaN where
 * unknown; tid is n's inline TID) in the cache, replacing the entry that
 * held its slot.
 */
static void
RuhnswListCachePut(RuhnswGraph *g, uint32 n, int level, const ItemPointerData *tid,
				   const uint32 *vids, const float *dists, int count)
{
	RuhnswListCache *c = g->lists;
	uint32		e;

	if (c == NULL)
		return;
	Assert(count <= c->stride);
	e = RuhnswListCacheSlot(c, n, level);
	c->keys[e] = n;
	c->levels[e] = (uint8) level;
	c->counts[e] = (uint8) count;
	c->tids[e] = *tid;
	memcpy(c->vids + (Size) e * c->stride, vids, sizeof(uint32) * count);
	memcpy(c->dists + (Size) e * c->stride, dists, sizeof(float) * count);
}

/*
 * The distance from the inserted vector (scorer q) to vid: the one the
 * insert's search computed (g->distmap), else computed now through q and
 * remembered.
 */
static float
RuhnswKnownDistance(RuhnswGraph *g, RvScorer *q, uint32 vid)
{
	float		d;

	if (g->distmap == NULL)
		return RuhnswDistance(g, q, vid);
	if (!RuhnswDistMapGet(g->distmap, vid, &d))
	{
		d = RuhnswDistance(g, q, vid);
		RuhnswDistMapPut(g->distmap, vid, d);
	}
	return d;
}

/*
 * RuhnswLinkInto for aminsert (g->distmap set): the same contract, but a
 * full list is updated incrementally.  The selection heuristic run on the
 * old list plus v needs the distances between the old neighbours, count^2
 * / 2 of them; this takes the old list as the heuristic's own output
 * (every old neighbour kept against the others, which is what a list the
 * heuristic pruned is) and so needs only the distances that involve v,
 * i.e. q, which the insert's search has mostly computed already, and the
 * count distances from n to its neighbours.  With c_1..c_count the old
 * neighbours by ascending distance to n:
 *	- v is kept unless some c_i nearer to n than v is nearer to v than n is;
 *	- a kept v prunes every c_i farther from n than v that is nearer to v
 *	  than to n; the list then loses the farthest pruned neighbour (the
 *	  heuristic refills from the pruned ones in distance order), or the
 *	  farthest one when v prunes none and is not itself the farthest;
 *	- otherwise the list is kept (v left out), unless force.
 * The new list is written in ascending order of distance to n.
 */
static RuhnswLinkResult
RuhnswLinkIntoKnown(RuhnswGraph *g, uint32 n, char *rec, bool found, uint32 v, RvScorer *q,
					float dist, int level, bool force, uint32 *dropped)
{
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			count;
	int			first = RuhnswLevelSlots(g, level, &count);
	int			k;
	RuhnswCand *cands;
	RvScorer   *nq;
	bool		owned;
	uint32		oldvids[RUHNSW_MAX_SLOTS];
	float		olddists[RUHNSW_MAX_SLOTS];
	bool		vkept = true;
	int			drop = -1;
	int			out = 0;
	bool		vplaced = false;

	if (!found ||
		(hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED ||
		hdr->level < level)
		return RUHNSW_LINK_NOT_LIVE;
	for (k = 0; k < count && slots[first + k] != RUHNSW_INVALID_VID; k++)
	{
		if (slots[first + k] == v)
			return RUHNSW_LINK_PRESENT;
	}
	if (k < count)
	{
		/* the cache learns d(n, v), keeping what it knew of the rest */
		if (g->lists != NULL)
		{
			(void) RuhnswListCacheGet(g, n, level, &hdr->tid, slots + first, k, olddists);
			olddists[k] = dist;
		}
		slots[first + k] = v;
		if (g->lists != NULL)
			RuhnswListCachePut(g, n, level, &hdr->tid, slots + first, olddists, k + 1);
		return RUHNSW_LINK_ADDED;
	}

	/*
	 * n's distances to its neighbours: those the list cache knows, the
	 * others in one batch
	 */
	for (int i = 0; i < count; i++)
		oldvids[i] = slots[first + i];
	if (RuhnswListCacheGet(g, n, level, &hdr->tid, oldvids, count, olddists) < count)
	{
		uint32		missvids[RUHNSW_MAX_SLOTS];
		float		missdists[RUHNSW_MAX_SLOTS];
		int			nmiss = 0;

		for (int i = 0; i < count; i++)
			if (isnan(olddists[i]))
				missvids[nmiss++] = oldvids[i];
		nq = RuhnswNodeQuery(g, n, &owned);
		RuhnswDistances(g, nq, missvids, nmiss, missdists);
		if (owned)
			RuhnswQueryEnd(nq);
		nmiss = 0;
		for (int i = 0; i < count; i++)
			if (isnan(olddists[i]))
				olddists[i] = missdists[nmiss++];
	}
	cands = palloc(sizeof(RuhnswCand) * count);
	for (int i = 0; i < count; i++)
	{
		cands[i].vid = oldvids[i];
		cands[i].dist = olddists[i];
	}
	/* ascending: insertion sort, count is small */
	for (int i = 1; i < count; i++)
	{
		RuhnswCand	c = cands[i];
		int			j = i - 1;

		while (j >= 0 && RuhnswCandCmp(&cands[j], &c) > 0)
		{
			cands[j + 1] = cands[j];
			j--;
		}
		cands[j + 1] = c;
	}

	for (int i = 0; i < count && cands[i].dist < dist; i++)
	{
		if (RuhnswKnownDistance(g, q, cands[i].vid) < dist)
		{
			vkept = false;
			break;
		}
	}
	if (vkept)
	{
		for (int i = count - 1; i >= 0 && cands[i].dist > dist; i--)
		{
			if (RuhnswKnownDistance(g, q, cands[i].vid) < cands[i].dist)
			{
				drop = i;
				break;
			}
		}
		if (drop < 0 && cands[count - 1].dist > dist)
			drop = count - 1;
		if (drop < 0)
			vkept = false;		/* v is the farthest and prunes nothing */
	}
	if (!vkept)
	{
		if (!force)
		{
			RuhnswListCachePut(g, n, level, &hdr->tid, oldvids, olddists, count);
			pfree(cands);
			return RUHNSW_LINK_KEPT;
		}
		drop = count - 1;
	}
	*dropped = cands[drop].vid;

	/* the kept old neighbours and v, by ascending distance */
	for (int i = 0; i < count; i++)
	{
		if (i == drop)
			continue;
		if (!vplaced && cands[i].dist > dist)
		{
			olddists[out] = dist;
			slots[first + out++] = v;
			vplaced = true;
		}
		olddists[out] = cands[i].dist;
		slots[first + out++] = cands[i].vid;
	}
	if (!vplaced)
	{
		olddists[out] = dist;
		slots[first + out++] = v;
	}
	Assert(out == count);
	RuhnswListCachePut(g, n, level, &hdr->tid, slots + first, olddists, count);
	pfree(cands);
	return RUHNSW_LINK_REPLACED;
}

/*
 * RuhnswLinkIntoRec: RuhnswLinkIntoFull for a build, RuhnswLinkIntoKnown
 * for aminsert (g->distmap set; q is v's vector as a query), on n's record
 * in rec as read (found).
 */
static RuhnswLinkResult
RuhnswLinkIntoRec(RuhnswGraph *g, uint32 n, char *rec, bool found, uint32 v, RvScorer *q,
				  float dist, int level, bool force, uint32 *dropped)
{
	if (g->distmap != NULL)
		return RuhnswLinkIntoKnown(g, n, rec, found, v, q, dist, level, force, dropped);
	return RuhnswLinkIntoFull(g, n, rec, found, v, dist, level, force, dropped);
}

/* RuhnswLinkInto: reads n's record into rec, then RuhnswLinkIntoRec. */
static RuhnswLinkResult
RuhnswLinkInto(RuhnswGraph *g, uint32 n, char *rec, uint32 v, RvScorer *q, float dist,
			   int level, bool force, uint32 *dropped)
{
	bool		found = RuhnswReadNode(g, n, rec);

	return RuhnswLinkIntoRec(g, n, rec, found, v, q, dist, level, force, dropped);
}

/*
 * A link n -> v planned outside the write steps (aminsert with
 * g->write_lock): the outcome of RuhnswLinkIntoRec on the copy orig of n's
 * record read without the write lock, the new record in rec.
 */
typedef struct RuhnswLinkPlan
{
	uint32		n;
	char	   *orig;			/* n's record as the plan read it */
	char	   *rec;			/* the planned record (RuhnswLinkIntoRec) */
	bool		found;
	RuhnswLinkResult r;
	uint32		dropped;
} RuhnswLinkPlan;

/*
 * Plans the link n -> v at level (distance dist) outside a write step:
 * reads n's record (page share locks, one at a time) and computes n's new
 * list, distances included, into p->rec.  p->orig and p->rec are nodesize
 * buffers of the caller's.  Returns the planned outcome (also p->r).
 */
static RuhnswLinkResult
RuhnswPlanLink(RuhnswGraph *g, RuhnswLinkPlan *p, uint32 n, uint32 v, RvScorer *q, float dist,
			   int level, bool force)
{
	p->n = n;
	p->found = RuhnswReadNode(g, n, p->orig);
	memcpy(p->rec, p->orig, g->nodesize);
	p->dropped = RUHNSW_INVALID_VID;
	p->r = RuhnswLinkIntoRec(g, n, p->rec, p->found, v, q, dist, level, force, &p->dropped);
	return p->r;
}

/*
 * Inside a write step: re-reads n's record and keeps the plan when the
 * record is byte for byte the one the plan started from (so the plan's
 * outcome is what RuhnswLinkInto would compute now), else computes the
 * link again from the record as it is now.  Leaves n's new record in
 * p->rec and returns the outcome, with *dropped for
 * RUHNSW_LINK_REPLACED.  scratch is a nodesize buffer.  A link computed
 * again is reported at DEBUG2 (t/044 counts them).
 */
static RuhnswLinkResult
RuhnswConfirmLink(RuhnswGraph *g, RuhnswLinkPlan *p, char *scratch, uint32 v, RvScorer *q,
				  float dist, int level, bool force, uint32 *dropped)
{
	bool		found = RuhnswReadNode(g, p->n, scratch);

	if (found == p->found && memcmp(scratch, p->orig, g->nodesize) == 0)
	{
		*dropped = p->dropped;
		return p->r;
	}
	elog(DEBUG2, "ruhnsw: record of vid %u changed after the link from it to vid %u was planned: computed again",
		 p->n, v);
	memcpy(p->rec, scratch, g->nodesize);
	return RuhnswLinkIntoRec(g, p->n, p->rec, found, v, q, dist, level, force, dropped);
}

/*
 * Records that a write step collects to write together (write_lock
 * path): at most RUHNSW_MAX_WRITE of them, on at most
 * MAX_GENERIC_XLOG_PAGES level-0 and upper pages, in the order they were
 * computed; written in one WAL record, later in the same write step.
 * Every read that decides a later change of that step goes through
 * RuhnswPendingRead, so it sees them as if written: each change is
 * computed on the graph as it is after the ones before it, whose WAL
 * records come first or are the same, so after every WAL record the
 * graph is one that a sequence of single changes, each keeping every
 * node in R (file header), reaches.
 */
typedef struct RuhnswPending
{
	int			n;
	uint32		vids[RUHNSW_MAX_WRITE];
	char	   *recs[RUHNSW_MAX_WRITE]; /* nodesize buffers */
	int			nblks;
	BlockNumber blks[MAX_GENERIC_XLOG_PAGES];
} RuhnswPending;

/* Writes the pending records, if any, in one WAL record. */
static void
RuhnswPendingFlush(RuhnswGraph *g, RuhnswPending *p)
{
	if (p->n > 0)
		RuhnswWriteNodes(g, p->n, p->vids, (const char *const *) p->recs);
	p->n = 0;
	p->nblks = 0;
}

/*
 * vid's record into dst as a reader of the write step sees it: the
 * pending one when vid has one, else RuhnswReadNode's (level0: only the
 * level-0 part is needed).  p may be NULL.
 */
static bool
RuhnswPendingRead(RuhnswGraph *g, RuhnswPending *p, uint32 vid, char *dst, bool level0)
{
	for (int i = 0; p != NULL && i < p->n; i++)
	{
		if (p->vids[i] == vid)
		{
			memcpy(dst, p->recs[i], g->nodesize);
			return true;
		}
	}
	return level0 ? RuhnswReadNodeLevel0(g, vid, dst) : RuhnswReadNode(g, vid, dst);
}

/* Writes the pending records first if vid is one of them. */
static void
RuhnswPendingFlushIf(RuhnswGraph *g, RuhnswPending *p, uint32 vid)
{
	for (int i = 0; i < p->n; i++)
	{
		if (p->vids[i] == vid)
		{
			RuhnswPendingFlush(g, p);
			return;
		}
	}
}

/*
 * Adds vid's new record rec (a full record of an existing node) to the
 * pending records, or replaces vid's pending one (a record computed from
 * it: v's, adopting again), writing them first when it would not fit: too
 * many records, or more than MAX_GENERIC_XLOG_PAGES pages.  A record of
 * level >= 1 without an upper record yet is written alone
 * (RuhnswWriteNodes allocates the upper record then).
 */
static void
RuhnswPendingAdd(RuhnswGraph *g, RuhnswPending *p, uint32 vid, const char *rec)
{
	const RuhnswNodeHeader *hdr = (const RuhnswNodeHeader *) rec;
	BlockNumber blk[2] = {InvalidBlockNumber, InvalidBlockNumber};
	int			nb = 0;
	int			add = 0;

	for (int i = 0; i < p->n; i++)
	{
		if (p->vids[i] == vid)
		{
			memcpy(p->recs[i], rec, g->nodesize);
			return;
		}
	}
	blk[nb++] = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
	if (hdr->level >= 1)
	{
		if (!(hdr->flags & RUHNSW_NODE_UPPER))
		{
			RuhnswPendingFlush(g, p);
			RuhnswWriteNode(g, vid, rec);
			return;
		}
		blk[nb++] = RuhnswUpperBlock(g->group_pages,
									 RuhnswVidGroup(g->nodes_per_page, g->group_pages, vid) +
									 RuhnswUpperDelta(hdr->upper));
	}
	for (int k = 0; k < nb; k++)
	{
		bool		have = false;

		for (int j = 0; j < p->nblks && !have; j++)
			have = p->blks[j] == blk[k];
		for (int j = 0; j < k && !have; j++)
			have = blk[j] == blk[k];
		if (!have)
			add++;
	}
	if (p->n >= RUHNSW_MAX_WRITE || p->nblks + add > MAX_GENERIC_XLOG_PAGES)
		RuhnswPendingFlush(g, p);
	for (int k = 0; k < nb; k++)
	{
		bool		have = false;

		for (int j = 0; j < p->nblks && !have; j++)
			have = p->blks[j] == blk[k];
		if (!have)
			p->blks[p->nblks++] = blk[k];
	}
	memcpy(p->recs[p->n], rec, g->nodesize);
	p->vids[p->n++] = vid;
}

/*
 * What the list cache (g->lists) says of c's level-0 list: -1 nothing
 * (no entry), else whether it holds x.  A hint only: an entry is the list
 * as this backend last saw it.
 */
static int
RuhnswListCacheHolds(RuhnswGraph *g, uint32 c, uint32 x)
{
	RuhnswListCache *lc = g->lists;
	uint32		e;
	const uint32 *evids;

	if (lc == NULL)
		return -1;
	e = RuhnswListCacheSlot(lc, c, 0);
	if (lc->keys[e] != c || lc->levels[e] != 0)
		return -1;
	evids = lc->vids + (Size) e * lc->stride;
	for (int j = 0; j < lc->counts[e]; j++)
		if (evids[j] == x)
			return 1;
	return 0;
}

/*
 * True if a live node c of the level-0 list of nrec (c neither v nor x)
 * links to x at level 0, as read (each c into scratch, the pending record
 * when pend, which may be NULL, holds one).  With the list cache, only the
 * c whose cached list holds x, or that have no entry, are read: the rest
 * are taken not to link to x.  A false answer is always safe (the caller
 * then has v adopt x, or n keep its list), so a stale entry costs at most
 * an adoption; a true one is always read from the record.
 */
static bool
RuhnswLinkedFromList(RuhnswGraph *g, const char *nrec, uint32 x, uint32 v, char *scratch,
					 RuhnswPending *pend)
{
	const uint32 *nslots = RuhnswNodeSlots(nrec);
	const uint32 *cslots = RuhnswNodeSlots(scratch);
	RuhnswNodeHeader *chdr = (RuhnswNodeHeader *) scratch;
	int			count;
	int			first = RuhnswLevelSlots(g, 0, &count);

	for (int i = first; i < first + count && nslots[i] != RUHNSW_INVALID_VID; i++)
	{
		uint32		c = nslots[i];

		if (c == v || c == x || RuhnswListCacheHolds(g, c, x) == 0)
			continue;
		if (!RuhnswPendingRead(g, pend, c, scratch, true) ||
			(chdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED)
			continue;
		for (int k = first; k < first + count && cslots[k] != RUHNSW_INVALID_VID; k++)
		{
			if (cslots[k] == x)
				return true;
		}
	}
	return false;
}

/* unpinned links of a visible new node an adoption checks, farthest first */
#define RUHNSW_ADOPT_TRIES	4

/*
 * For RuhnswAdopt on a visible v: of the RUHNSW_ADOPT_TRIES farthest
 * unpinned links v -> y, the farthest one that another live node c of v's
 * level-0 list (c neither v nor y) links to at level 0; its slot, or -1.
 * Reads each such c once.
 */
static int
RuhnswBackedVictim(RuhnswGraph *g, RuhnswNewNode *v)
{
	int			cand[RUHNSW_ADOPT_TRIES];
	bool		backed[RUHNSW_ADOPT_TRIES];
	int			ncand = 0;
	const uint32 *cslots = RuhnswNodeSlots(v->scratch);
	RuhnswNodeHeader *chdr = (RuhnswNodeHeader *) v->scratch;
	int			count;
	int			first = RuhnswLevelSlots(g, 0, &count);
	int			left;

	/* the candidates, farthest first */
	while (ncand < RUHNSW_ADOPT_TRIES)
	{
		int			best = -1;

		for (int k = 0; k < v->count && v->slots[k] != RUHNSW_INVALID_VID; k++)
		{
			bool		taken = false;

			for (int i = 0; i < ncand && !taken; i++)
				taken = cand[i] == k;
			if (!v->pinned[k] && !taken && (best < 0 || v->dist[k] > v->dist[best]))
				best = k;
		}
		if (best < 0)
			break;
		backed[ncand] = false;
		cand[ncand++] = best;
	}
	left = ncand;
	for (int k = 0; k < v->count && v->slots[k] != RUHNSW_INVALID_VID && left > 0; k++)
	{
		uint32		c = v->slots[k];

		if (c == v->vid || !RuhnswPendingRead(g, v->pend, c, v->scratch, true) ||
			(chdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED)
			continue;
		for (int j = first; j < first + count && cslots[j] != RUHNSW_INVALID_VID; j++)
		{
			for (int i = 0; i < ncand; i++)
			{
				if (!backed[i] && cslots[j] == v->slots[cand[i]] && c != cslots[j])
				{
					backed[i] = true;
					left--;
				}
			}
		}
		/* the farthest candidate is backed: no need to look further */
		if (ncand > 0 && backed[0])
			break;
	}
	for (int i = 0; i < ncand; i++)
		if (backed[i])
			return cand[i];
	return -1;
}

/* Marks v's link at slot k pinned. */
static void
RuhnswPin(RuhnswNewNode *v, int k)
{
	v->pinned[k] = true;
	RuhnswVidSetAdd(&v->pinset, v->slots[k]);
}

/*
 * Makes v's level-0 list hold a pinned link to x (distance dist from v, or
 * < 0 when not computed yet): appended, or replacing the farthest unpinned
 * link.  Once v is visible to other inserts (g->write_lock and
 * v->visible), one of them may have dropped a link n' -> y because v -> y
 * kept y reachable, so an unpinned link v -> y is replaced only when
 * another live node of v's list links to y: the farthest such one among
 * the RUHNSW_ADOPT_TRIES farthest unpinned links.  Returns false when no
 * link is replaced.  In memory only.
 */
static bool
RuhnswAdopt(RuhnswGraph *g, RuhnswNewNode *v, uint32 x, float dist)
{
	int			k;
	int			victim = -1;

	for (k = 0; k < v->count && v->slots[k] != RUHNSW_INVALID_VID; k++)
	{
		if (v->slots[k] == x)
		{
			RuhnswPin(v, k);
			return true;
		}
		if (!v->pinned[k] && (victim < 0 || v->dist[k] > v->dist[victim]))
			victim = k;
	}
	if (k < v->count)
		victim = k;
	else if (victim >= 0 && g->write_lock && v->visible)
		victim = RuhnswBackedVictim(g, v);
	if (victim < 0)
		return false;
	v->slots[victim] = x;
	v->dist[victim] = dist >= 0 ? dist : RuhnswKnownDistance(g, v->q, x);
	RuhnswPin(v, victim);
	return true;
}

/*
 * Re-reads the record of v, visible to other inserts since step 1 (they may
 * have added or replaced links in its lists since), and rebuilds the
 * distances and pins of its level-0 list by vid.
 */
static void
RuhnswRefreshNew(RuhnswGraph *g, RuhnswNewNode *v)
{
	RuhnswReadNode(g, v->vid, v->rec);
	for (int k = 0; k < v->count && v->slots[k] != RUHNSW_INVALID_VID; k++)
	{
		v->dist[k] = RuhnswKnownDistance(g, v->q, v->slots[k]);
		v->pinned[k] = RuhnswVidSetContains(&v->pinset, v->slots[k]);
	}
}

/*
 * Keeps x reachable after the link n -> x was dropped from n's level-0
 * list (the new list in nrec): step 2 of the file header.  May change v's
 * list in memory (RUHNSW_KEEP_ADOPTED: the caller writes v's record with
 * n's).  pend (may be NULL) holds the write step's records not written
 * yet: the check, and the choice of the link v gives up to adopt
 * (RuhnswBackedVictim, through v->pend), read them as written.
 */
static RuhnswKeepResult
RuhnswKeepReachable(RuhnswGraph *g, RuhnswNewNode *v, const char *nrec, uint32 x,
					RuhnswPending *pend)
{
	for (int k = 0; k < v->count && v->slots[k] != RUHNSW_INVALID_VID; k++)
	{
		if (v->slots[k] == x)
		{
			RuhnswPin(v, k);
			return RUHNSW_KEEP_LINKED;
		}
	}
	if (RuhnswLinkedFromList(g, nrec, x, v->vid, v->scratch, pend))
		return RUHNSW_KEEP_LINKED;
	return RuhnswAdopt(g, v, x, -1) ? RUHNSW_KEEP_ADOPTED : RUHNSW_KEEP_FAILED;
}

/* Writes the records of a and b (distinct vids) in one WAL record. */
static void
RuhnswWriteTwo(RuhnswGraph *g, uint32 a, const char *arec, uint32 b, const char *brec)
{
	uint32		vids[2];
	const char *recs[2];

	vids[0] = a;
	recs[0] = arec;
	vids[1] = b;
	recs[1] = brec;
	RuhnswWriteNodes(g, 2, vids, recs);
}

/*
 * Step 1 of the file header: writes v's record together with the level-0
 * link to v from the nearest live node among sel (nsel, nearest first),
 * or else from the entry point (distance entry_dist).  plan, when not
 * NULL, is that link planned for one of those nodes outside the write
 * step (RuhnswPlanLink, force); it is confirmed (RuhnswConfirmLink)
 * instead of computed again.  Returns that node, or RUHNSW_INVALID_VID
 * when none is live (then v's record is written alone: cannot happen
 * while the entry point is live).
 */
static uint32
RuhnswFirstLink(RuhnswGraph *g, RuhnswNewNode *v, RuhnswCand *sel, int nsel, float entry_dist,
				RuhnswLinkPlan *plan)
{
	char	   *nrec = palloc(g->nodesize);

	for (int i = 0; i <= nsel; i++)
	{
		uint32		n = i < nsel ? sel[i].vid : g->entry_vid;
		float		dist = i < nsel ? sel[i].dist : entry_dist;
		uint32		dropped;
		RuhnswLinkResult r;

		if (n == v->vid || n == RUHNSW_INVALID_VID)
			continue;
		CHECK_FOR_INTERRUPTS();
		if (plan != NULL && plan->n == n)
		{
			r = RuhnswConfirmLink(g, plan, nrec, v->vid, v->q, dist, 0, true, &dropped);
			memcpy(nrec, plan->rec, g->nodesize);
		}
		else
			r = RuhnswLinkInto(g, n, nrec, v->vid, v->q, dist, 0, true, &dropped);
		if (r == RUHNSW_LINK_NOT_LIVE)
			continue;
		/* only the old entry point is pinned yet, so adopting succeeds */
		if (r == RUHNSW_LINK_REPLACED &&
			RuhnswKeepReachable(g, v, nrec, dropped, NULL) == RUHNSW_KEEP_FAILED)
			continue;
		RuhnswWriteTwo(g, v->vid, v->rec, n, nrec);
		pfree(nrec);
		return n;
	}
	RuhnswWriteNode(g, v->vid, v->rec);
	pfree(nrec);
	return RUHNSW_INVALID_VID;
}

/*
 * Begins / ends one write step of an insert (file header): with
 * g->write_lock, holds the metapage's buffer lock in exclusive mode in
 * between, the lock that serializes the write steps of concurrent inserts
 * (block 0 comes first in the ascending order of index buffer locks).
 */
static void
RuhnswBeginWrites(RuhnswGraph *g)
{
	if (!g->write_lock)
		return;
	Assert(g->metabuf == InvalidBuffer);
	g->metabuf = ReadBuffer(g->index, RUHNSW_METAPAGE_BLKNO);
	LockBuffer(g->metabuf, BUFFER_LOCK_EXCLUSIVE);
}

static void
RuhnswEndWrites(RuhnswGraph *g)
{
	if (!g->write_lock)
		return;
	UnlockReleaseBuffer(g->metabuf);
	g->metabuf = InvalidBuffer;
}

/*
 * Steps 3 and 2 of the file header without concurrent inserts (the build,
 * or aminsert under RUHNSW_UPDATE_LOCK in ExclusiveLock): each back-link
 * of v (sel[lc], nsel[lc] at each level lc <= top; n0 has its link from
 * step 1) computed and written in turn, one WAL record each.  nrec is a
 * nodesize buffer.
 */
static void
RuhnswLinkAll(RuhnswGraph *g, RuhnswNewNode *v, RuhnswCand **sel, int *nsel, int top,
			  uint32 n0, char *nrec)
{
	uint32		vid = v->vid;
	RvScorer   *q = v->q;

	/* step 3 */
	for (int lc = top; lc >= 1; lc--)
	{
		for (int i = 0; i < nsel[lc]; i++)
		{
			uint32		n = sel[lc][i].vid;
			uint32		dropped;
			RuhnswLinkResult r;

			CHECK_FOR_INTERRUPTS();
			r = RuhnswLinkInto(g, n, nrec, vid, q, sel[lc][i].dist, lc, false, &dropped);
			if (r == RUHNSW_LINK_ADDED || r == RUHNSW_LINK_REPLACED)
				RuhnswWriteNode(g, n, nrec);
		}
	}

	/* step 2 */
	for (int i = 0; i < nsel[0]; i++)
	{
		uint32		n = sel[0][i].vid;
		uint32		dropped;
		RuhnswLinkResult r;

		if (n == n0)
			continue;
		CHECK_FOR_INTERRUPTS();
		r = RuhnswLinkInto(g, n, nrec, vid, q, sel[0][i].dist, 0, false, &dropped);
		switch (r)
		{
			case RUHNSW_LINK_NOT_LIVE:
			case RUHNSW_LINK_PRESENT:
			case RUHNSW_LINK_KEPT:
				break;
			case RUHNSW_LINK_ADDED:
				RuhnswWriteNode(g, n, nrec);
				break;
			case RUHNSW_LINK_REPLACED:
				switch (RuhnswKeepReachable(g, v, nrec, dropped, NULL))
				{
					case RUHNSW_KEEP_LINKED:
						RuhnswWriteNode(g, n, nrec);
						break;
					case RUHNSW_KEEP_ADOPTED:
						RuhnswWriteTwo(g, vid, v->rec, n, nrec);
						break;
					case RUHNSW_KEEP_FAILED:
						break;	/* n keeps its list */
				}
				break;
		}
	}
}

/*
 * Steps 3 and 2 of the file header beside concurrent inserts
 * (g->write_lock): every back-link of v (sel[lc], nsel[lc] at each level
 * lc <= top; n0 has its link from step 1) is planned first, outside any
 * write step (RuhnswPlanLink: n's record read under share locks and its
 * new list computed), and the links that would change a record are then
 * confirmed (RuhnswConfirmLink) and written in as few write steps and
 * WAL records as they allow: links that only add to n's list, or prune an
 * upper list, are collected (RuhnswPending) and written together, one WAL
 * record and one write step for up to RUHNSW_MAX_WRITE of them (upper
 * levels and level 0 in separate records); a level-0 link that replaces
 * one (step 2's pruning) is handled as in the file header after the
 * collected records are written, so that its reachability check reads
 * the graph as it is, and is written at once (with v's record when v
 * adopts), ending its write step.  Every record is written, and no write
 * step is open, when this returns.  nrec is a nodesize buffer.
 */
static void
RuhnswLinkAllPlanned(RuhnswGraph *g, RuhnswNewNode *v, RuhnswCand **sel, int *nsel, int top,
					 uint32 n0, char *nrec)
{
	uint32		vid = v->vid;
	RvScorer   *q = v->q;
	int			maxplans = 0;
	int			nplans = 0;
	RuhnswLinkPlan *plans;
	int		   *plevel;
	float	   *pdist;
	RuhnswPending pend;
	bool		inside = false; /* in a write step */
	bool		fresh = false;	/* v's lists re-read in this write step */

	for (int lc = top; lc >= 0; lc--)
		maxplans += nsel[lc];
	if (maxplans == 0)
		return;
	plans = palloc(sizeof(RuhnswLinkPlan) * maxplans);
	plevel = palloc(sizeof(int) * maxplans);
	pdist = palloc(sizeof(float) * maxplans);

	/* the plans, upper levels (step 3) first, then level 0 (step 2) */
	for (int lc = top; lc >= 0; lc--)
	{
		for (int i = 0; i < nsel[lc]; i++)
		{
			RuhnswLinkPlan *p = &plans[nplans];
			uint32		n = sel[lc][i].vid;
			RuhnswLinkResult r;

			if (lc == 0 && n == n0)
				continue;
			CHECK_FOR_INTERRUPTS();
			p->orig = palloc(g->nodesize);
			p->rec = palloc(g->nodesize);
			r = RuhnswPlanLink(g, p, n, vid, q, sel[lc][i].dist, lc, false);
			if (r != RUHNSW_LINK_ADDED && r != RUHNSW_LINK_REPLACED)
			{
				pfree(p->orig);
				pfree(p->rec);
				continue;
			}
			plevel[nplans] = lc;
			pdist[nplans] = sel[lc][i].dist;
			nplans++;
		}
	}
	if (nplans == 0)
		return;

	pend.n = 0;
	pend.nblks = 0;
	for (int i = 0; i < RUHNSW_MAX_WRITE; i++)
		pend.recs[i] = palloc(g->nodesize);
	v->pend = &pend;

	for (int i = 0; i < nplans; i++)
	{
		RuhnswLinkPlan *p = &plans[i];
		int			lc = plevel[i];
		uint32		n = p->n;
		uint32		dropped;
		RuhnswLinkResult r;

		if (!inside)
		{
			RuhnswBeginWrites(g);
			inside = true;
			fresh = false;
		}
		/* a record of n pending from an upper level: the page first */
		RuhnswPendingFlushIf(g, &pend, n);
		r = RuhnswConfirmLink(g, p, nrec, vid, q, pdist[i], lc, false, &dropped);
		memcpy(nrec, p->rec, g->nodesize);
		if (r == RUHNSW_LINK_ADDED || (r == RUHNSW_LINK_REPLACED && lc > 0))
			RuhnswPendingAdd(g, &pend, n, nrec);
		else if (r == RUHNSW_LINK_REPLACED)
		{
			/* step 2's pruning, on the graph with the pending records */
			if (!fresh)
				RuhnswRefreshNew(g, v);
			fresh = true;
			switch (RuhnswKeepReachable(g, v, nrec, dropped, &pend))
			{
				case RUHNSW_KEEP_LINKED:
					RuhnswPendingAdd(g, &pend, n, nrec);
					break;
				case RUHNSW_KEEP_ADOPTED:
					/* v's new list first (alone it keeps R), then n's */
					RuhnswPendingAdd(g, &pend, vid, v->rec);
					RuhnswPendingAdd(g, &pend, n, nrec);
					break;
				case RUHNSW_KEEP_FAILED:
					break;		/* n keeps its list */
			}
		}

		/*
		 * A step ends with a full WAL record (or the last plan, or the
		 * last upper-level one), so that no step holds the lock long.
		 */
		if (pend.n >= RUHNSW_MAX_WRITE || pend.nblks >= MAX_GENERIC_XLOG_PAGES ||
			i + 1 == nplans || (lc > 0 && plevel[i + 1] == 0))
		{
			RuhnswPendingFlush(g, &pend);
			RuhnswEndWrites(g);
			inside = false;
		}
	}
	Assert(!inside && pend.n == 0);
	v->pend = NULL;
}

/*
 * RuhnswInsertNode: inserts vid (heap TID tid) into the graph g, whose
 * entry point g->entry_vid/entry_level is current, keeping every node
 * reachable (file header).  Returns true when the entry point changed
 * (the caller then writes the metapage).  A record already present for
 * vid (a deleted node whose vid the store handed out again, or a stale
 * one) is overwritten.  Caller holds RUHNSW_UPDATE_LOCK (in ShareLock,
 * with g->write_lock set: each write step then holds the metapage's buffer
 * lock; in ExclusiveLock when the entry point may change) or builds alone.
 * With g->write_lock, when step 1 finds that another insert has written a
 * live node for vid meanwhile, tid is added to that node (RuhnswAddTid,
 * without pruning) and nothing else is written.  Allocates in the current
 * memory context.
 */
bool
RuhnswInsertNode(RuhnswGraph *g, uint32 vid, ItemPointer tid)
{
	char	   *rec = palloc0(g->nodesize);
	char	   *nrec;
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			level = RuhnswRandomLevel(vid, g->m);
	RvScorer   *q;
	RuhnswCand	ep;
	float		entry_dist;
	RuhnswCand *eps;
	int			neps;
	RuhnswCand *sel[RUHNSW_MAX_LEVEL + 1];
	int			nsel[RUHNSW_MAX_LEVEL + 1];
	int			top;
	RuhnswNewNode v;
	uint32		n0;
	RuhnswLinkPlan plan;
	RuhnswLinkPlan *firstplan = NULL;
	RuhnswKeptQueries kq;
	RvScorer  **selq;

	g->keptq = NULL;
	if (g->entry_vid == vid)
	{
		/* the entry point itself again: keep its links, renew its TID */
		RuhnswBeginWrites(g);
		RuhnswReadNode(g, vid, rec);
		hdr->tid = *tid;
		hdr->flags = RUHNSW_NODE_USED;
		RuhnswWriteNode(g, vid, rec);
		RuhnswEndWrites(g);
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

	q = RuhnswQueryNode(g, vid);
	if (g->distmap != NULL)
		RuhnswDistMapClear(g->distmap);
	ep.vid = g->entry_vid;
	ep.dist = RuhnswKnownDistance(g, q, ep.vid);
	entry_dist = ep.dist;
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
	kq.n = 0;
	kq.max = 2 * g->m * (top + 1);
	kq.vids = palloc(sizeof(uint32) * kq.max);
	kq.q = palloc(sizeof(RvScorer *) * kq.max);
	selq = palloc(sizeof(RvScorer *) * 2 * g->m);
	for (int lc = top; lc >= 0; lc--)
	{
		RuhnswCand *w;
		int			nw = RuhnswSearchLayer(g, q, eps, neps, g->ef_construction, lc, &w);
		int			count;
		int			first = RuhnswLevelSlots(g, lc, &count);

		sel[lc] = palloc(sizeof(RuhnswCand) * count);
		nsel[lc] = RuhnswSelectNeighbors(g, w, nw, count, vid, sel[lc], selq);
		for (int i = 0; i < nsel[lc]; i++)
		{
			slots[first + i] = sel[lc][i].vid;
			RuhnswKeptQueriesAdd(&kq, sel[lc][i].vid, selq[i]);
		}
		if (nw > 0)
		{
			eps = w;
			neps = nw;
		}
	}

	v.vid = vid;
	v.rec = rec;
	v.q = q;
	v.slots = slots + RuhnswLevelSlots(g, 0, &v.count);
	v.dist = palloc(sizeof(float) * v.count);
	v.pinned = palloc0(sizeof(bool) * v.count);
	RuhnswVidSetInit(&v.pinset, 4 * v.count);
	v.visible = false;
	v.scratch = palloc(g->nodesize);
	v.pend = NULL;
	for (int i = 0; i < nsel[0]; i++)
		v.dist[i] = sel[0][i].dist;
	/* step 4, prepared: a pinned link to the entry point v replaces */
	if (level > g->entry_level)
		(void) RuhnswAdopt(g, &v, g->entry_vid, entry_dist);

	/* the links below score each neighbour's list with kq's scorers */
	g->keptq = &kq;

	/*
	 * With concurrent inserts, each link is planned outside the write
	 * steps (its record read and its new list computed: the distances of a
	 * full list) and only confirmed inside (RuhnswConfirmLink).
	 */
	plan.orig = palloc(g->nodesize);
	plan.rec = palloc(g->nodesize);
	if (g->write_lock && nsel[0] > 0 && sel[0][0].vid != vid)
	{
		(void) RuhnswPlanLink(g, &plan, sel[0][0].vid, vid, q, sel[0][0].dist, 0, true);
		firstplan = &plan;
	}

	/* step 1 */
	RuhnswBeginWrites(g);
	if (g->write_lock && RuhnswAddTid(g, NULL, vid, tid))
	{
		/*
		 * Another insert of the same vid (a row version sharing it) wrote
		 * its node while we searched: the TID joins that node instead.
		 */
		RuhnswEndWrites(g);
		g->keptq = NULL;
		RuhnswKeptQueriesEnd(&kq);
		RuhnswQueryEnd(q);
		return false;
	}
	n0 = RuhnswFirstLink(g, &v, sel[0], nsel[0], entry_dist, firstplan);
	RuhnswEndWrites(g);
	v.visible = true;

	nrec = palloc(g->nodesize);
	if (g->write_lock)
		RuhnswLinkAllPlanned(g, &v, sel, nsel, top, n0, nrec);
	else
		RuhnswLinkAll(g, &v, sel, nsel, top, n0, nrec);

	g->keptq = NULL;
	RuhnswKeptQueriesEnd(&kq);
	RuhnswQueryEnd(q);

	/* step 4: the caller writes the metapage */
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
	RvScorer   *q;
	bool		nonzero;

	if (g->metric != RUHNSW_COSINE)
		return true;
	q = RuhnswQueryNode(g, vid);
	nonzero = RvStoreScoreQueryNorm(q) > 0;
	RuhnswQueryEnd(q);
	return nonzero;
}

/*
 * True if vid has a live node (used, not deleted) in g's index, as a read
 * of its level-0 record under its page's share lock sees it.
 */
static bool
RuhnswNodeIsLive(RuhnswGraph *g, uint32 vid)
{
	char	   *rec = palloc(g->nodesize);
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	bool		live;

	live = RuhnswReadNodeLevel0(g, vid, rec) &&
		(hdr->flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) == RUHNSW_NODE_USED;
	pfree(rec);
	return live;
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
 * What aminsert keeps for the rest of the statement in indexInfo's
 * ii_AmCache (in ii_Context): the graph handle, with its buffers and the
 * cached index size, for the store it was set up for.
 */
typedef struct RuhnswInsertCache
{
	MemoryContext cxt;			/* the handle's memory */
	MemoryContext tmp;			/* one insert's, reset after it */
	Oid			store_relid;	/* the handle's store, InvalidOid: none yet */
	RuhnswGraph g;
	RuhnswDistMap distmap;
} RuhnswInsertCache;

/*
 * ruhnswinsert (aminsert): indexes the heap tuple at heap_tid.  values[0]
 * is the resolved vector (executor) or a vref (CREATE INDEX CONCURRENTLY's
 * validate scan); the vid comes from the vref, else from the table AM's
 * map of the rows it has just inserted (RvVidCacheLookup), else from the
 * heap tuple itself (RvTamGetVid).  When vid already has a live node (a
 * row version of an UPDATE that kept the vector, or CREATE INDEX
 * CONCURRENTLY adding a version the build missed), the TID is added to
 * that node (RuhnswAddTid, as one write step) and the graph is not
 * touched.  NULLs, and zero vectors under cosine, are not indexed.
 * Locks: RUHNSW_UPDATE_LOCK in ShareLock, so that inserts run
 * concurrently (their write steps, the TID addition among them,
 * serialized on the metapage's buffer lock: file header); in
 * ExclusiveLock instead, taken after releasing the shared one and
 * rechecked after the metapage is read again, when the metapage may
 * change: the first vector (store binding, entry point), a stale store
 * binding, a format-3 index (upgraded to format 4 here), or a node whose
 * level exceeds the entry point's.  Errors: vectors of another dimension
 * than the indexed store; vids beyond 2^32 - 2; a node past the most TIDs
 * it can hold (RuhnswAddTid).  Always returns false (no unique checks).
 */
bool
ruhnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
			 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
			 IndexInfo *indexInfo)
{
	RuhnswInsertCache *cache;
	MemoryContext old;
	int16		attnum = index->rd_index->indkey.values[0];
	int16		storeno;
	uint64		vid;
	RvStore    *store;
	RuhnswMetaPageData meta;
	RuhnswGraph *g;
	LOCKMODE	lockmode = ShareLock;
	bool		added;
	bool		changed = false;

	if (isnull[0])
		return false;
	cache = (RuhnswInsertCache *) indexInfo->ii_AmCache;
	if (cache == NULL)
	{
		MemoryContext cxt = AllocSetContextCreate(indexInfo->ii_Context, "ruhnsw insert",
												  ALLOCSET_DEFAULT_SIZES);

		cache = MemoryContextAllocZero(cxt, sizeof(RuhnswInsertCache));
		cache->cxt = cxt;
		/* a keeper block large enough for one insert: no malloc per row */
		cache->tmp = AllocSetContextCreate(cxt, "ruhnsw insert tuple",
										   256 * 1024, 256 * 1024,
										   ALLOCSET_DEFAULT_MAXSIZE);
		cache->store_relid = InvalidOid;
		indexInfo->ii_AmCache = cache;
	}
	old = MemoryContextSwitchTo(cache->tmp);

	if (RvDatumGetVref(values[0], &storeno, &vid) ||
		RvVidCacheLookup(heap, heap_tid, attnum, &storeno, &vid))
		store = RvTamOpenStore(heap, RV_KEY_STORENO(storeno));
	else if (!RvTamGetVid(heap, heap_tid, attnum, &store, &vid))
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(cache->tmp);
		return false;
	}
	if (vid >= RUHNSW_INVALID_VID)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("ruhnsw index \"%s\" cannot index vector id " UINT64_FORMAT,
						RelationGetRelationName(index), vid)));

	LockPage(index, RUHNSW_UPDATE_LOCK, lockmode);
	RuhnswReadMeta(index, &meta);
	if (meta.store_relid != store->relid || meta.entry_vid == RUHNSW_INVALID_VID ||
		meta.version < RUHNSW_VERSION ||
		RuhnswRandomLevel((uint32) vid, meta.m) > meta.entry_level)
	{
		UnlockPage(index, RUHNSW_UPDATE_LOCK, lockmode);
		lockmode = ExclusiveLock;
		LockPage(index, RUHNSW_UPDATE_LOCK, lockmode);
		RuhnswReadMeta(index, &meta);
	}
	if (OidIsValid(meta.store_relid) && meta.store_relid != store->relid)
	{
		Assert(lockmode == ExclusiveLock);
		if (RuhnswGetStore(heap, index, &meta) != NULL)
			RuhnswWrongStore(index, meta.dims, store->dims);
		/* the covered store was created by an aborted transaction */
		RuhnswResetGraph(index, &meta);
	}
	if (!OidIsValid(meta.store_relid))
	{
		Assert(lockmode == ExclusiveLock);
		meta.store_relid = store->relid;
		meta.storeno = store->storeno;
		meta.dims = store->dims;
		changed = true;
	}
	if (meta.version < RUHNSW_VERSION)
	{
		/* a format-3 index takes TID tails from now on (ruhnsw.h) */
		Assert(lockmode == ExclusiveLock);
		meta.version = RUHNSW_VERSION;
		RuhnswWriteMeta(index, &meta);
	}

	g = &cache->g;
	if (cache->store_relid != meta.store_relid)
	{
		/* a new handle (the old one's memory stays until the statement ends) */
		MemoryContextSwitchTo(cache->cxt);
		RuhnswGraphInit(g, index, &meta, store);
		RuhnswDistMapInit(&cache->distmap, 4096);
		g->distmap = &cache->distmap;
		cache->store_relid = meta.store_relid;
		MemoryContextSwitchTo(cache->tmp);
	}
	else
		RuhnswGraphRefresh(g, &meta);
	g->store = store;
	/* on SQ8 codes, as the parallel build scores (see the file header) */
	g->mode = RV_SCORE_SQ8;
	g->cache = RvStoreInsertCache(store, RelationGetRelid(heap));
	RvStoreInsertCacheForget(g->cache, vid);
	g->write_lock = lockmode == ShareLock;
	g->lists = RuhnswListCacheFor(g);
	/* neighbours' distances on their codes, both sides (see the header) */
	g->code_queries = true;

	/*
	 * A row version sharing a live node's vid: record its TID, no graph
	 * insert.  A write step, so that no other insert's write step rewrites
	 * the node's record from a copy read before the TID was added.  Most
	 * vids are new: when a read of vid's level-0 record (its page's share
	 * lock) finds no live node, there is no write step here; an insert of
	 * the same vid that writes its node meanwhile is one step 1 of
	 * RuhnswInsertNode finds, in its write step.
	 */
	added = false;
	if (RuhnswNodeIsLive(g, (uint32) vid))
	{
		RuhnswBeginWrites(g);
		added = RuhnswAddTid(g, heap, (uint32) vid, heap_tid);
		RuhnswEndWrites(g);
	}
	if (!added &&
		RuhnswVectorIndexable(g, (uint32) vid) &&
		RuhnswInsertNode(g, (uint32) vid, heap_tid))
		changed = true;
	RuhnswGraphFree(g);
	if (changed)
	{
		Assert(lockmode == ExclusiveLock);
		RuhnswGraphToMeta(g, &meta);
		RuhnswWriteMeta(index, &meta);
	}
	UnlockPage(index, RUHNSW_UPDATE_LOCK, lockmode);

	MemoryContextSwitchTo(old);
	MemoryContextReset(cache->tmp);
	return false;
}
