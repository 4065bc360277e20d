/*-------------------------------------------------------------------------
 *
 * hnswbuildpar.c
 *	  Parallel ruhnsw index build: the leader and max_parallel_maintenance_
 *	  workers insert the rows' nodes into one in-memory graph shared in
 *	  dynamic shared memory.
 *
 * The pattern is PostgreSQL's own for parallel index builds (nbtsort.c):
 * a ParallelContext whose DSM holds the shared state and the worker entry
 * point RuhnswParallelBuildMain of library "ruvector_tam".  The table is
 * scanned once, by the leader, before any worker starts (ruhnswbuild
 * collects the (vid, heap TID) pairs: the heap rows hold only vector
 * references, so the scan is a small part of the work); the leader keeps
 * the first pair of each vid as a work item and the further ones (row
 * versions sharing a vid: an UPDATE kept the vector) aside.  The DSM holds
 * the work items, claimed one at a time through an atomic counter by every
 * participant, the leader included, and the graph: one full in-memory node
 * record (RuhnswNodeSize(m) bytes, the layout of an in-memory serial
 * build) per vid up to the highest one met, one LWLock per record and,
 * beside each record, the distance and the selection heuristic's "closer"
 * flag of every listed node (RuhnswParAuxSize), so that a full list is
 * pruned as pgvector prunes it: only what the new link can change is
 * recomputed.  When every participant is done, the leader alone repairs
 * reachability (RuhnswRepairReachability), lays the records out as pages
 * (RuhnswLayoutPages) exactly as the serial in-memory build does, pointing
 * a RuhnswGraph's mem at the shared records, and adds the further TIDs
 * with RuhnswAddTid.
 *
 * Distances: vectors are never copied into the graph; every participant
 * scores them through the store's scorer API (rv_score.h) on its own
 * RuhnswGraph, in RV_SCORE_SQ8 mode (the store's SQ8 codes where it has
 * them, else exact floats): each participant copies the work items' code
 * records into a backend-local RvScoreCache when that fits its share of
 * maintenance_work_mem (what the shared graph leaves, split between the
 * participants), else reads them from the store's shared buffers.  The
 * query side of every scorer is the node's exact vector.  The build's
 * searches, the neighbour-selection heuristic and the distances kept
 * beside the lists all use these scores; nothing of them is stored in the
 * index, whose scans rerank exactly.
 *
 * Locking (all LWLocks of tranche "RuhnswBuild", in DSM):
 *	- a node's record is read (a list copied out) under its lock in shared
 *	  mode and changed under it in exclusive mode;
 *	- a participant holds at most one node lock at a time: while it holds
 *	  one (to prune a full list) it computes distances only, which touch
 *	  its cache or store buffers, never node records;
 *	- the entry point (entry_vid, entry_level) is read under entrylock in
 *	  shared mode; a node whose level exceeds the entry point's is
 *	  inserted whole under entrylock in exclusive mode, taken before any
 *	  node lock, and becomes the entry point before it is released.  No
 *	  one waits for entrylock while holding a node lock, so there is no
 *	  deadlock;
 *	- a node is claimed (its header written, flag RUHNSW_NODE_USED, empty
 *	  lists) under its lock before anything links to it, its lists are
 *	  written before any back-link to it, so every link in the graph
 *	  leads to a claimed record.  Work items have distinct vids, so each
 *	  record is claimed once.
 *
 * Invariants: every list is packed at its front (unused entries
 * RUHNSW_INVALID_VID) and sorted by ascending distance from its node, then
 * vid, with its distances and flags beside it; unclaimed records stay
 * zeroed.  So when the participants finish, the shared records form the
 * same kind of graph a serial in-memory build makes, except that links
 * pruned from full lists may leave nodes unreached, which the repair
 * reconnects before any page is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/paths.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/lwlock.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

/* DSM keys of a parallel ruhnsw build */
#define RUHNSW_KEY_SHARED		UINT64CONST(0xB5A0000000000001)
#define RUHNSW_KEY_NODES		UINT64CONST(0xB5A0000000000002)
#define RUHNSW_KEY_LOCKS		UINT64CONST(0xB5A0000000000003)
#define RUHNSW_KEY_QUERY_TEXT	UINT64CONST(0xB5A0000000000004)
#define RUHNSW_KEY_AUX			UINT64CONST(0xB5A0000000000005)
#define RUHNSW_KEY_WORK			UINT64CONST(0xB5A0000000000006)

/* The shared state of a parallel build. */
typedef struct RuhnswParShared
{
	/* set by the leader before the workers start, then read only */
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	RuhnswMetaPageData meta;	/* with the store set */
	uint64		memvids;		/* records in the graph */
	int64		nwork;			/* work items (distinct vids) */
	Size		cachebudget;	/* bytes of a participant's score cache */
	int			tranche_id;		/* of the node locks and entrylock */

	/* entry point, under entrylock */
	LWLock		entrylock;
	uint32		entry_vid;
	int			entry_level;

	pg_atomic_uint64 next;		/* the next work item to claim */
	pg_atomic_uint64 ninserted; /* nodes inserted so far (progress) */

	/* participants' totals, under mutex */
	slock_t		mutex;
	int			nparticipantsdone;
	double		indtuples;
} RuhnswParShared;

/*
 * What the build keeps beside each shared record (not laid out on pages):
 * for every slot of its lists the distance from the node to the listed
 * one and its closer flag (below), and per level whether the flags are
 * valid (closerset).  Accessed under the record's lock.
 */
#define RuhnswParAuxSize(nslots) \
	MAXALIGN((nslots) * (sizeof(float) + sizeof(bool)) + RUHNSW_MAX_LEVEL + 1)

/*
 * A candidate of the neighbour-selection heuristic: closer is true when
 * the heuristic kept it for being nearer to the base node than to every
 * nearer candidate kept before it; slot is its index in the base node's
 * list (-1 for the link being added).
 */
typedef struct RuhnswParCand
{
	float		dist;
	uint32		vid;
	bool		closer;
	int			slot;
} RuhnswParCand;

/* One participant's view of the build. */
typedef struct RuhnswParBuild
{
	RuhnswParShared *shared;
	char	   *nodes;			/* shared records */
	char	   *aux;			/* shared per-record distances and flags */
	LWLock	   *locks;			/* one per record */
	Size		auxsize;		/* bytes per record in aux */
	bool		leader;			/* reports progress */
	RuhnswGraph g;				/* this participant's store access and buffers */
	uint32	   *listbuf;		/* a copied list (2 * m vids) */
	int			maxcands;		/* capacity of the selection arrays */
	RuhnswParCand *cands;		/* selection candidates */
	int		   *kept;			/* selection: kept candidates, in order */
	int		   *pruned;			/* selection: candidates not closer */
	int		   *added;			/* selection: closer candidates newly kept */
	RvScorer  **keptq;			/* scorers of kept candidates (2 * m), or NULL */
	RvScorer   *qnew;			/* scorer of the node being inserted */
	uint32	   *ids;			/* a batch of vids to score (2 * m) */
	float	   *dd;				/* their distances */
	MemoryContext tmpcxt;		/* reset after each row */
	double		indtuples;
} RuhnswParBuild;

/* backend-local tranche id of the build's LWLocks, 0 until assigned */
static int	ruhnsw_build_tranche_id = 0;

#define RuhnswParNode(pb, vid)	((pb)->nodes + (Size) (vid) * (pb)->g.nodesize)
#define RuhnswParDists(pb, vid)	((float *) ((pb)->aux + (Size) (vid) * (pb)->auxsize))
#define RuhnswParCloser(pb, vid) \
	((bool *) (RuhnswParDists(pb, vid) + (pb)->g.nslots))
#define RuhnswParCloserSet(pb, vid) (RuhnswParCloser(pb, vid) + (pb)->g.nslots)
#define RuhnswParWorkTids(vids, nwork)	((ItemPointerData *) ((vids) + (nwork)))

/* asks the CPU to fetch len bytes at p into its caches, one line at a time */
static inline void
RuhnswParPrefetch(const void *p, Size len)
{
	const char *c = (const char *) p;

	for (Size off = 0; off < len; off += 64)
		__builtin_prefetch(c + off);
	__builtin_prefetch(c + len - 1);
}

/*
 * Prefetches what reading (aux false) or linking into (aux true) vid's
 * list of level touches: its lock, header and slots, and with aux their
 * distances and flags.  Records and their locks and aux lie in separate
 * arrays, each visit a cache miss otherwise.
 */
static inline void
RuhnswParPrefetchNode(RuhnswParBuild *pb, uint32 vid, int level, bool aux)
{
	int			count;
	int			first = RuhnswLevelSlots(&pb->g, level, &count);
	char	   *rec = RuhnswParNode(pb, vid);

	__builtin_prefetch(&pb->locks[vid], 1);	/* to be written: its state */
	__builtin_prefetch(rec);
	RuhnswParPrefetch(RuhnswNodeSlots(rec) + first, sizeof(uint32) * count);
	if (aux)
	{
		RuhnswParPrefetch(RuhnswParDists(pb, vid) + first, sizeof(float) * count);
		RuhnswParPrefetch(RuhnswParCloser(pb, vid) + first, count);
	}
}

/*
 * Copies the list of level of vid's record into dst; returns its length,
 * 0 when the record is not a claimed node of that level.  Takes the
 * node's lock in shared mode.
 */
static int
RuhnswParReadList(RuhnswParBuild *pb, uint32 vid, int level, uint32 *dst)
{
	char	   *rec = RuhnswParNode(pb, vid);
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	const uint32 *slots = RuhnswNodeSlots(rec);
	int			count;
	int			first = RuhnswLevelSlots(&pb->g, level, &count);
	int			n = 0;

	LWLockAcquire(&pb->locks[vid], LW_SHARED);
	if ((hdr->flags & RUHNSW_NODE_USED) && hdr->level >= level)
	{
		for (; n < count && slots[first + n] != RUHNSW_INVALID_VID; n++)
			dst[n] = slots[first + n];
	}
	LWLockRelease(&pb->locks[vid]);
	return n;
}

/*
 * RuhnswVidSetAdd for a set made by RuhnswVidSetInitRange over every vid
 * of the graph (vid below its range), inlined: the search tests each vid
 * of every list it reads.
 */
static inline bool
RuhnswParVisit(RuhnswVidSet *set, uint32 vid)
{
	uint64	   *word = &set->bits[vid / 64];
	uint64		bit = UINT64CONST(1) << (vid % 64);

	Assert(vid < set->range);
	if (*word & bit)
		return false;
	*word |= bit;
	set->count++;
	return true;
}

/*
 * HNSW's SEARCH-LAYER over the shared graph (RuhnswSearchLayer's
 * algorithm, reading each list under its node's lock and scoring its
 * unvisited vids in one batch): the up to ef nearest nodes to the query
 * of scorer q at level from the neps entry candidates eps, sorted,
 * into *result (palloc'd); returns their number.
 */
static int
RuhnswParSearchLayer(RuhnswParBuild *pb, RvScorer *q, RuhnswCand *eps, int neps,
					 int ef, int level, RuhnswCand **result)
{
	RuhnswGraph *g = &pb->g;
	int			nc = 0;
	int			nw = 0;

	RuhnswVidSetClear(&g->visited);
	if (g->wcap < ef + 1)
	{
		g->wcap = ef + 1;
		g->wbuf = repalloc(g->wbuf, sizeof(RuhnswCand) * g->wcap);
	}
	for (int i = 0; i < neps; i++)
	{
		if (!RuhnswVidSetAdd(&g->visited, eps[i].vid))
			continue;
		if (nc >= g->heapcap)
		{
			g->heapcap *= 2;
			g->heapbuf = repalloc(g->heapbuf, sizeof(RuhnswCand) * g->heapcap);
		}
		RuhnswHeapPush(g->heapbuf, &nc, eps[i], false);
		RuhnswHeapPush(g->wbuf, &nw, eps[i], true);
		if (nw > ef)
			RuhnswHeapPop(g->wbuf, &nw, true);
	}

	while (nc > 0)
	{
		RuhnswCand	c = RuhnswHeapPop(g->heapbuf, &nc, false);
		int			n;
		int			k;

		CHECK_FOR_INTERRUPTS();
		if (nw >= ef && c.dist > g->wbuf[0].dist)
			break;
		n = RuhnswParReadList(pb, c.vid, level, pb->listbuf);
		k = 0;
		for (int i = 0; i < n; i++)
			if (RuhnswParVisit(&g->visited, pb->listbuf[i]))
				pb->ids[k++] = pb->listbuf[i];
		RuhnswDistances(g, q, pb->ids, k, pb->dd);
		for (int i = 0; i < k; i++)
		{
			RuhnswCand	ec;

			ec.vid = pb->ids[i];
			ec.dist = pb->dd[i];
			/* a candidate kept is likely to be expanded: fetch its list */
			if (nw < ef || ec.dist < g->wbuf[0].dist)
				RuhnswParPrefetchNode(pb, ec.vid, level, false);
			RuhnswLayerOffer(g, &nc, &nw, ef, ec);
		}
	}

	return RuhnswLayerResult(g, nw, result);
}

/* orders selection candidates by ascending distance, then vid */
static int
RuhnswParCandCmp(const void *a, const void *b)
{
	const RuhnswParCand *x = a;
	const RuhnswParCand *y = b;

	if (x->dist < y->dist)
		return -1;
	if (x->dist > y->dist)
		return 1;
	return (x->vid > y->vid) - (x->vid < y->vid);
}

/*
 * True when candidate e is nearer to the base node than to each of the
 * candidates set[0..n) (indexes into pb->cands, each kept, at kept
 * position pos[...]), nearest first.  With eq, a scorer of e's own vector,
 * the distances are scored from e; otherwise each kept candidate gets a
 * scorer of its own vector once per selection (pb->keptq, ended by
 * RuhnswParSelect).  Stops at the first kept candidate nearer to e.
 */
static bool
RuhnswParCloserThan(RuhnswParBuild *pb, RuhnswParCand *e, const int *set, int n,
					const int *pos, RvScorer *eq)
{
	for (int j = 0; j < n; j++)
	{
		int			p = pos[set[j]];
		float		d;

		if (eq != NULL)
			d = RuhnswDistance(&pb->g, eq, pb->cands[set[j]].vid);
		else
		{
			if (pb->keptq[p] == NULL)
				pb->keptq[p] = RuhnswQueryNode(&pb->g, pb->cands[set[j]].vid);
			d = RuhnswDistance(&pb->g, pb->keptq[p], e->vid);
		}
		if (d < e->dist)
			return false;
	}
	return true;
}

/*
 * HNSW's neighbour-selection heuristic (RuhnswSelectNeighbors' rule: a
 * candidate is kept when it is nearer to the base than to every kept one;
 * the pruned ones fill up the rest) over pb->cands[0..n), sorted by
 * RuhnswParCandCmp, keeping at most lm; kept[] gets their indexes.  With
 * must, every closer flag is computed; otherwise the flags are those of the
 * previous selection over the same list and only candidate newc is new,
 * so, as pgvector does, only what the new candidate can change is
 * recomputed; newq, when not NULL, is a scorer of newc's vector, which
 * scores newc's test in one pass.  Returns the number kept and in *left the one candidate left
 * out when n == lm + 1 (-1 if none).
 */
static int
RuhnswParSelect(RuhnswParBuild *pb, int n, int lm, bool must, int newc, RvScorer *newq,
				int *left)
{
	RuhnswParCand *c = pb->cands;
	int		   *kept = pb->kept;
	int		   *pruned = pb->pruned;
	int		   *added = pb->added;
	int		   *pos = pb->added + pb->maxcands;
	int			nkept = 0;
	int			npruned = 0;
	int			nadded = 0;
	int			used = 0;
	bool		removed = false;
	int			i;

	Assert(n <= pb->maxcands && lm <= 2 * pb->g.m);
	for (i = 0; i < lm; i++)
		pb->keptq[i] = NULL;
	for (i = 0; i < n && nkept < lm; i++)
	{
		RuhnswParCand *e = &c[i];

		if (must)
			e->closer = RuhnswParCloserThan(pb, e, kept, nkept, pos,
											i == newc ? newq : NULL);
		else if (nadded > 0)
		{
			if (e->closer)
			{
				e->closer = RuhnswParCloserThan(pb, e, added, nadded, pos, NULL);
				removed |= !e->closer;
			}
			else if (removed)
			{
				e->closer = RuhnswParCloserThan(pb, e, kept, nkept, pos, NULL);
				if (e->closer)
					added[nadded++] = i;
			}
		}
		else if (i == newc)
		{
			e->closer = RuhnswParCloserThan(pb, e, kept, nkept, pos, newq);
			if (e->closer)
				added[nadded++] = i;
		}
		if (e->closer)
		{
			pos[i] = nkept;
			kept[nkept++] = i;
		}
		else
			pruned[npruned++] = i;
	}
	for (i = 0; i < lm; i++)
		if (pb->keptq[i] != NULL)
			RuhnswQueryEnd(pb->keptq[i]);
	while (used < npruned && nkept < lm)
		kept[nkept++] = pruned[used++];
	*left = -1;
	if (n == lm + 1)
		*left = used < npruned ? pruned[used] : n - 1;
	return nkept;
}

/*
 * Adds the link n -> v (distance dist) to n's list at level, under n's
 * lock in exclusive mode.  Lists are kept sorted as RuhnswParCandCmp
 * sorts.  A full list keeps what the selection heuristic chooses from its
 * links plus v (RuhnswParSelect on the distances and flags kept beside
 * the list: the one candidate left out, v or an old link, is dropped).
 * Nothing happens when n is not a node of that level or already links
 * to v.  pb->qnew is a scorer of v's vector.
 */
static void
RuhnswParLinkInto(RuhnswParBuild *pb, uint32 n, uint32 v, float dist, int level)
{
	RuhnswGraph *g = &pb->g;
	char	   *rec = RuhnswParNode(pb, n);
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots;
	float	   *dists;
	bool	   *closer;
	bool	   *closerset = RuhnswParCloserSet(pb, n);
	RuhnswParCand *c = pb->cands;
	RuhnswParCand nc;
	int			count;
	int			first = RuhnswLevelSlots(g, level, &count);
	int			len;
	int			newc = -1;
	int			left = -1;
	int			j = 0;

	slots = RuhnswNodeSlots(rec) + first;
	dists = RuhnswParDists(pb, n) + first;
	closer = RuhnswParCloser(pb, n) + first;
	nc.vid = v;
	nc.dist = dist;
	nc.closer = false;
	nc.slot = -1;

	LWLockAcquire(&pb->locks[n], LW_EXCLUSIVE);
	if (!(hdr->flags & RUHNSW_NODE_USED) || hdr->level < level)
	{
		LWLockRelease(&pb->locks[n]);
		return;
	}

	/* the list merged with v, in order */
	for (len = 0; len < count && slots[len] != RUHNSW_INVALID_VID; len++)
	{
		if (slots[len] == v)
		{
			LWLockRelease(&pb->locks[n]);
			return;
		}
		c[j].vid = slots[len];
		c[j].dist = dists[len];
		c[j].closer = closer[len];
		c[j].slot = len;
		if (newc < 0 && RuhnswParCandCmp(&nc, &c[j]) < 0)
		{
			c[j + 1] = c[j];
			c[j] = nc;
			newc = j++;
		}
		j++;
	}
	if (newc < 0)
	{
		c[j] = nc;
		newc = j;
	}

	if (len == count)
	{
		(void) RuhnswParSelect(pb, count + 1, count, !closerset[level], newc, pb->qnew,
							   &left);
		closerset[level] = true;
	}
	else
		closerset[level] = false;
	if (left != newc)
	{
		int			k = 0;

		for (int i = 0; i <= len; i++)
		{
			if (i == left)
				continue;
			slots[k] = c[i].vid;
			dists[k] = c[i].dist;
			closer[k] = c[i].closer;
			k++;
		}
	}
	else
	{
		/* v left out: the old links keep their places, with new flags */
		for (int i = 0; i <= len; i++)
			if (c[i].slot >= 0)
				closer[c[i].slot] = c[i].closer;
	}
	LWLockRelease(&pb->locks[n]);
}

/*
 * Inserts vid (heap TID tid) into the shared graph.  Returns false when
 * vid's record was claimed already.  Allocates
 * in the current memory context; the scorers it begins are ended before
 * it returns.
 */
static bool
RuhnswParInsert(RuhnswParBuild *pb, uint32 vid, ItemPointer tid)
{
	RuhnswParShared *shared = pb->shared;
	RuhnswGraph *g = &pb->g;
	char	   *rec = RuhnswParNode(pb, vid);
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32	   *slots = RuhnswNodeSlots(rec);
	int			level = RuhnswRandomLevel(vid, g->m);
	uint32		ep;
	int			eplevel;
	bool		entrylocked = false;
	RvScorer   *q;
	RuhnswCand	cur;
	RuhnswCand *eps;
	int			neps;
	RuhnswParCand *sel[RUHNSW_MAX_LEVEL + 1];
	int			nsel[RUHNSW_MAX_LEVEL + 1];
	int			top;
	float	   *dists = RuhnswParDists(pb, vid);
	bool	   *closer = RuhnswParCloser(pb, vid);
	bool	   *closerset = RuhnswParCloserSet(pb, vid);

	/* claim the record: a node with empty lists that nothing links to yet */
	LWLockAcquire(&pb->locks[vid], LW_EXCLUSIVE);
	if (hdr->flags & RUHNSW_NODE_USED)
	{
		LWLockRelease(&pb->locks[vid]);
		return false;
	}
	hdr->tid = *tid;
	hdr->level = level;
	hdr->flags = RUHNSW_NODE_USED;
	hdr->upper = 0;
	for (int i = 0; i < g->nslots; i++)
		slots[i] = RUHNSW_INVALID_VID;
	LWLockRelease(&pb->locks[vid]);

	LWLockAcquire(&shared->entrylock, LW_SHARED);
	ep = shared->entry_vid;
	eplevel = shared->entry_level;
	LWLockRelease(&shared->entrylock);
	if (ep == RUHNSW_INVALID_VID || level > eplevel)
	{
		LWLockAcquire(&shared->entrylock, LW_EXCLUSIVE);
		ep = shared->entry_vid;
		eplevel = shared->entry_level;
		if (ep == RUHNSW_INVALID_VID)
		{
			shared->entry_vid = vid;
			shared->entry_level = level;
			LWLockRelease(&shared->entrylock);
			return true;
		}
		if (level > eplevel)
			entrylocked = true;
		else
			LWLockRelease(&shared->entrylock);
	}

	q = RuhnswQueryNode(g, vid);
	pb->qnew = q;
	cur.vid = ep;
	cur.dist = RuhnswDistance(g, q, ep);
	for (int lc = eplevel; lc > level; lc--)
	{
		RuhnswCand *w;
		int			nw = RuhnswParSearchLayer(pb, q, &cur, 1, 1, lc, &w);

		if (nw > 0)
			cur = w[0];
		pfree(w);
	}
	eps = &cur;
	neps = 1;
	top = Min(level, eplevel);
	for (int lc = top; lc >= 0; lc--)
	{
		RuhnswCand *w;
		int			nw = RuhnswParSearchLayer(pb, q, eps, neps, g->ef_construction, lc, &w);
		int			count;
		int			nc = 0;
		int			left;

		/* w is sorted as RuhnswParCandCmp sorts */
		(void) RuhnswLevelSlots(g, lc, &count);
		for (int i = 0; i < nw && nc < pb->maxcands; i++)
		{
			if (w[i].vid == vid)
				continue;
			pb->cands[nc].vid = w[i].vid;
			pb->cands[nc].dist = w[i].dist;
			pb->cands[nc].closer = false;
			pb->cands[nc].slot = -1;
			nc++;
		}
		nsel[lc] = RuhnswParSelect(pb, nc, count, true, -1, NULL, &left);
		sel[lc] = palloc(sizeof(RuhnswParCand) * Max(nsel[lc], 1));
		for (int i = 0; i < nsel[lc]; i++)
			sel[lc][i] = pb->cands[pb->kept[i]];
		if (nw > 0)
		{
			eps = w;
			neps = nw;
		}
	}

	/* the node's own lists, then the links to it */
	LWLockAcquire(&pb->locks[vid], LW_EXCLUSIVE);
	for (int lc = top; lc >= 0; lc--)
	{
		int			count;
		int			first = RuhnswLevelSlots(g, lc, &count);

		for (int i = 0; i < nsel[lc]; i++)
		{
			slots[first + i] = sel[lc][i].vid;
			dists[first + i] = sel[lc][i].dist;
			closer[first + i] = sel[lc][i].closer;
		}
		closerset[lc] = true;
	}
	LWLockRelease(&pb->locks[vid]);
	for (int lc = top; lc >= 0; lc--)
	{
		if (nsel[lc] > 0)
			RuhnswParPrefetchNode(pb, sel[lc][0].vid, lc, true);
		for (int i = 0; i < nsel[lc]; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (i + 1 < nsel[lc])
				RuhnswParPrefetchNode(pb, sel[lc][i + 1].vid, lc, true);
			RuhnswParLinkInto(pb, sel[lc][i].vid, vid, sel[lc][i].dist, lc);
		}
	}

	RuhnswQueryEnd(q);
	pb->qnew = NULL;

	if (entrylocked)
	{
		shared->entry_vid = vid;
		shared->entry_level = level;
		LWLockRelease(&shared->entrylock);
	}
	return true;
}

/*
 * A participant's whole share of the build: claims work items (the
 * vids[nwork] and then TIDs in the DSM) one at a time until none is
 * left and inserts each, then adds its total to the shared state.  The
 * leader (leader true) reports progress.  Scores on a backend-local copy
 * of the work items' code records when it fits shared->cachebudget.
 * Returns the number of nodes it inserted.
 */
static double
RuhnswParInsertShare(RuhnswParShared *shared, char *nodes, char *aux, LWLock *locks,
					 uint32 *vids, Relation heap, Relation index, bool leader)
{
	ItemPointerData *tids = RuhnswParWorkTids(vids, shared->nwork);
	RuhnswParBuild pb;
	RvStore    *store;
	int			count;
	bool		cached;
	MemoryContext old;

	store = RuhnswGetStore(heap, index, &shared->meta);
	if (store == NULL)
		elog(ERROR, "ruhnsw build: store relation %u of table \"%s\" not found",
			 shared->meta.store_relid, RelationGetRelationName(heap));

	memset(&pb, 0, sizeof(pb));
	pb.shared = shared;
	pb.nodes = nodes;
	pb.aux = aux;
	pb.locks = locks;
	pb.leader = leader;
	RuhnswGraphInit(&pb.g, index, &shared->meta, store);
	pb.g.mode = RV_SCORE_SQ8;
	(void) RuhnswLevelSlots(&pb.g, 0, &count);
	pb.auxsize = RuhnswParAuxSize(pb.g.nslots);
	pb.listbuf = palloc(sizeof(uint32) * count);
	pb.maxcands = Max(pb.g.ef_construction, count + 1);
	pb.cands = palloc(sizeof(RuhnswParCand) * pb.maxcands);
	pb.kept = palloc(sizeof(int) * pb.maxcands);
	pb.pruned = palloc(sizeof(int) * pb.maxcands);
	pb.added = palloc(sizeof(int) * 2 * pb.maxcands);
	pb.keptq = palloc(sizeof(RvScorer *) * count);
	pb.ids = palloc(sizeof(uint32) * count);
	pb.dd = palloc(sizeof(float) * count);
	RuhnswVidSetInitRange(&pb.g.visited, (uint32) shared->memvids, 1024);
	pb.tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw parallel build",
									  ALLOCSET_DEFAULT_SIZES);

	/* the code records of every work item, when they fit this share */
	if (shared->cachebudget > 0)
	{
		uint64	   *vids64 = palloc_extended(sizeof(uint64) * shared->nwork,
											 MCXT_ALLOC_HUGE);

		for (int64 i = 0; i < shared->nwork; i++)
			vids64[i] = vids[i];
		pb.g.cache = RvStoreCacheVectors(store, vids64, shared->nwork, pb.g.mode,
										 shared->cachebudget);
		pfree(vids64);
	}
	cached = pb.g.cache != NULL;

	for (;;)
	{
		uint64		i = pg_atomic_fetch_add_u64(&shared->next, 1);
		uint32		vid;

		if (i >= (uint64) shared->nwork)
			break;
		CHECK_FOR_INTERRUPTS();
		vid = vids[i];
		old = MemoryContextSwitchTo(pb.tmpcxt);
		if (RuhnswVectorIndexable(&pb.g, vid))
		{
			uint64		done;

			if (!RuhnswParInsert(&pb, vid, &tids[i]))
				elog(ERROR, "ruhnsw build: vid %u is inserted twice", vid);
			done = pg_atomic_add_fetch_u64(&shared->ninserted, 1);
			pb.indtuples++;
			if (leader)
				pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(pb.tmpcxt);
	}
	RuhnswGraphFree(&pb.g);
	MemoryContextDelete(pb.tmpcxt);

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->indtuples += pb.indtuples;
	SpinLockRelease(&shared->mutex);

	ereport(DEBUG1,
			(errmsg("ruhnsw parallel build: %s scored %s",
					leader ? "leader" : "worker",
					cached ? "on a copy of its own" : "in the store's buffers")));
	if (!leader)
		ereport(DEBUG1,
				(errmsg("ruhnsw parallel build: worker inserted %.0f of the " INT64_FORMAT " rows",
						pb.indtuples, shared->nwork)));
	return pb.indtuples;
}

/*
 * RuhnswParallelBuildMain: the entry point of a parallel build's worker
 * (CreateParallelContext with library "ruvector_tam").  Opens the table
 * and the index with the locks CREATE INDEX (CONCURRENTLY) holds in the
 * leader and takes its share of the build.
 */
void
RuhnswParallelBuildMain(dsm_segment *seg, shm_toc *toc)
{
	RuhnswParShared *shared;
	char	   *nodes;
	char	   *aux;
	LWLock	   *locks;
	uint32	   *vids;
	Relation	heap;
	Relation	index;
	LOCKMODE	heapLockmode;
	LOCKMODE	indexLockmode;

	debug_query_string = shm_toc_lookup(toc, RUHNSW_KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);

	shared = shm_toc_lookup(toc, RUHNSW_KEY_SHARED, false);
	nodes = shm_toc_lookup(toc, RUHNSW_KEY_NODES, false);
	aux = shm_toc_lookup(toc, RUHNSW_KEY_AUX, false);
	locks = shm_toc_lookup(toc, RUHNSW_KEY_LOCKS, false);
	vids = shm_toc_lookup(toc, RUHNSW_KEY_WORK, false);
	LWLockRegisterTranche(shared->tranche_id, "RuhnswBuild");

	if (!shared->isconcurrent)
	{
		heapLockmode = ShareLock;
		indexLockmode = AccessExclusiveLock;
	}
	else
	{
		heapLockmode = ShareUpdateExclusiveLock;
		indexLockmode = RowExclusiveLock;
	}
	heap = table_open(shared->heaprelid, heapLockmode);
	index = index_open(shared->indexrelid, indexLockmode);

	RuhnswParInsertShare(shared, nodes, aux, locks, vids, heap, index, false);

	index_close(index, indexLockmode);
	table_close(heap, heapLockmode);
}

/*
 * How many workers to ask for: none when parallel maintenance is off, in
 * single-user mode, for temporary tables and when the index predicate is
 * not parallel safe (the conditions of plan_create_index_workers);
 * otherwise the table's parallel_workers storage parameter when set, else
 * max_parallel_maintenance_workers when the store (where the work of the
 * build lies: the heap rows hold only vector references) has at least
 * min_parallel_table_scan_size, else none.
 */
static int
RuhnswParallelWorkers(Relation heap, Relation index, RvStore *store)
{
	List	   *pred;
	int			nworkers;

	if (!IsUnderPostmaster || max_parallel_maintenance_workers == 0 ||
		heap->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		return 0;
	pred = RelationGetIndexPredicate(index);
	if (pred != NIL || RelationGetIndexExpressions(index) != NIL)
	{
		PlannerGlobal *glob = makeNode(PlannerGlobal);
		PlannerInfo *root = makeNode(PlannerInfo);

		root->glob = glob;
		if (!is_parallel_safe(root, (Node *) pred) ||
			!is_parallel_safe(root, (Node *) RelationGetIndexExpressions(index)))
			return 0;
	}
	nworkers = RelationGetParallelWorkers(heap, -1);
	if (nworkers != -1)
		return Min(nworkers, max_parallel_maintenance_workers);
	if (RelationGetNumberOfBlocks(store->rel) < (BlockNumber) min_parallel_table_scan_size)
		return 0;
	return max_parallel_maintenance_workers;
}

/* RuhnswLayoutPages callback: appends the page to the index arg. */
static void
RuhnswParEmitPage(const char *image, void *arg)
{
	RuhnswBuildAppendPage((Relation) arg, image);
}

/*
 * RuhnswBuildParallel: builds the index over heap in parallel from the n
 * (vid, heap TID) pairs ruhnswbuild collected (vids[i], tids[i]; maxvid
 * the highest vid, every vector of store) when that is possible: workers
 * are wanted (RuhnswParallelWorkers), the graph, its locks and the work
 * items fit in maintenance_work_mem and a DSM segment can be had.  Then
 * it writes the metapage and node pages without WAL (the caller WAL-logs
 * them), sets *indtuples (the pairs indexed) and returns true; otherwise
 * it returns false having written nothing, and the caller builds serially.
 * When no worker starts, the leader inserts every node itself.  *meta
 * (from the index options) gets the store and entry point.  Runs with the
 * locks CREATE INDEX holds; errors as ruhnswbuild.
 */
bool
RuhnswBuildParallel(Relation heap, Relation index, IndexInfo *indexInfo,
					RuhnswMetaPageData *meta, RvStore *store, const uint32 *vids,
					const ItemPointerData *tids, int64 n, uint32 maxvid, double *indtuples)
{
	int			nworkers;
	ParallelContext *pcxt;
	RuhnswParShared *shared;
	char	   *nodes;
	char	   *aux;
	LWLock	   *locks;
	uint32	   *work;
	ItemPointerData *worktids;
	Size		estnodes;
	Size		estaux;
	Size		estlocks;
	Size		estwork;
	Size		querylen = 0;
	uint64		memvids = (uint64) maxvid + 1;
	uint32		nodesize = RuhnswNodeSize(meta->m);
	Size		auxsize = RuhnswParAuxSize((nodesize - sizeof(RuhnswNodeHeader)) / sizeof(uint32));
	double		sharedbytes;
	double		budget;
	double		leaderdone;
	uint64	   *seen;
	int64		nwork = 0;
	int64		nextra = 0;
	uint32	   *xvids;
	ItemPointerData *xtids;
	RuhnswGraph g;
	PGAlignedBlock page;
	instr_time	t0,
				t1,
				t2,
				t3;

	nworkers = RuhnswParallelWorkers(heap, index, store);
	if (nworkers <= 0 || n == 0)
		return false;
	estnodes = mul_size((Size) memvids, nodesize);
	estaux = mul_size((Size) memvids, auxsize);
	estlocks = mul_size((Size) memvids, sizeof(LWLock));
	estwork = mul_size((Size) n, sizeof(uint32) + sizeof(ItemPointerData));
	sharedbytes = (double) estnodes + estaux + estlocks + estwork;
	if (sharedbytes > (double) maintenance_work_mem * 1024.0)
		return false;

	/*
	 * The work items: the first pair of each vid, in scan order; the further
	 * ones get their TIDs after the layout.
	 */
	seen = palloc_extended(sizeof(uint64) * (memvids / 64 + 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	xvids = palloc_extended(sizeof(uint32) * n, MCXT_ALLOC_HUGE);
	xtids = palloc_extended(sizeof(ItemPointerData) * n, MCXT_ALLOC_HUGE);

	EnterParallelMode();
	pcxt = CreateParallelContext("ruvector_tam", "RuhnswParallelBuildMain", nworkers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(RuhnswParShared));
	shm_toc_estimate_chunk(&pcxt->estimator, estnodes);
	shm_toc_estimate_chunk(&pcxt->estimator, estaux);
	shm_toc_estimate_chunk(&pcxt->estimator, estlocks);
	shm_toc_estimate_chunk(&pcxt->estimator, estwork);
	shm_toc_estimate_keys(&pcxt->estimator, 5);
	if (debug_query_string)
	{
		querylen = strlen(debug_query_string);
		shm_toc_estimate_chunk(&pcxt->estimator, querylen + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		pfree(seen);
		pfree(xvids);
		pfree(xtids);
		return false;
	}

	if (ruhnsw_build_tranche_id == 0)
		ruhnsw_build_tranche_id = LWLockNewTrancheId();
	LWLockRegisterTranche(ruhnsw_build_tranche_id, "RuhnswBuild");

	work = shm_toc_allocate(pcxt->toc, estwork);
	worktids = (ItemPointerData *) (work + n);
	for (int64 i = 0; i < n; i++)
	{
		uint32		vid = vids[i];
		uint64		bit = UINT64CONST(1) << (vid % 64);

		if (seen[vid / 64] & bit)
		{
			xvids[nextra] = vid;
			xtids[nextra] = tids[i];
			nextra++;
			continue;
		}
		seen[vid / 64] |= bit;
		work[nwork] = vid;
		worktids[nwork] = tids[i];
		nwork++;
	}
	pfree(seen);
	/* the TIDs follow the nwork vids */
	if (nwork < n)
		memmove(work + nwork, worktids, sizeof(ItemPointerData) * nwork);

	/*
	 * Each participant may copy the code records of the work items: what
	 * the shared graph leaves of maintenance_work_mem, split between them.
	 */
	budget = ((double) maintenance_work_mem * 1024.0 - sharedbytes) / (nworkers + 1);

	shared = shm_toc_allocate(pcxt->toc, sizeof(RuhnswParShared));
	memset(shared, 0, sizeof(RuhnswParShared));
	shared->heaprelid = RelationGetRelid(heap);
	shared->indexrelid = RelationGetRelid(index);
	shared->isconcurrent = indexInfo->ii_Concurrent;
	shared->meta = *meta;
	shared->meta.storeno = store->storeno;
	shared->meta.store_relid = store->relid;
	shared->meta.dims = store->dims;
	shared->memvids = memvids;
	shared->nwork = nwork;
	shared->cachebudget = budget > 0 ? (Size) Min(budget, (double) MaxAllocHugeSize) : 0;
	shared->tranche_id = ruhnsw_build_tranche_id;
	LWLockInitialize(&shared->entrylock, ruhnsw_build_tranche_id);
	shared->entry_vid = RUHNSW_INVALID_VID;
	shared->entry_level = -1;
	pg_atomic_init_u64(&shared->next, 0);
	pg_atomic_init_u64(&shared->ninserted, 0);
	SpinLockInit(&shared->mutex);

	nodes = shm_toc_allocate(pcxt->toc, estnodes);
	memset(nodes, 0, estnodes);
	aux = shm_toc_allocate(pcxt->toc, estaux);
	memset(aux, 0, estaux);
	locks = shm_toc_allocate(pcxt->toc, estlocks);
	for (uint64 i = 0; i < memvids; i++)
		LWLockInitialize(&locks[i], ruhnsw_build_tranche_id);

	shm_toc_insert(pcxt->toc, RUHNSW_KEY_SHARED, shared);
	shm_toc_insert(pcxt->toc, RUHNSW_KEY_NODES, nodes);
	shm_toc_insert(pcxt->toc, RUHNSW_KEY_AUX, aux);
	shm_toc_insert(pcxt->toc, RUHNSW_KEY_LOCKS, locks);
	shm_toc_insert(pcxt->toc, RUHNSW_KEY_WORK, work);
	if (debug_query_string)
	{
		char	   *query = shm_toc_allocate(pcxt->toc, querylen + 1);

		memcpy(query, debug_query_string, querylen + 1);
		shm_toc_insert(pcxt->toc, RUHNSW_KEY_QUERY_TEXT, query);
	}

	INSTR_TIME_SET_CURRENT(t0);
	LaunchParallelWorkers(pcxt);
	ereport(DEBUG1,
			(errmsg("ruhnsw build of \"%s\": using %d parallel workers",
					RelationGetRelationName(index), pcxt->nworkers_launched)));

	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, n);
	leaderdone = RuhnswParInsertShare(shared, nodes, aux, locks, work, heap, index, true);
	WaitForParallelWorkersToFinish(pcxt);
	Assert(shared->nparticipantsdone == pcxt->nworkers_launched + 1);
	INSTR_TIME_SET_CURRENT(t1);

	/* the leader alone now: repair and lay out as a serial in-memory build */
	*meta = shared->meta;
	RuhnswGraphInit(&g, index, meta, store);
	g.mem = nodes;
	g.memvids = memvids;
	g.entry_vid = shared->entry_vid;
	g.entry_level = shared->entry_level;
	if (g.entry_vid != RUHNSW_INVALID_VID)
	{
		int64		nrepaired = RuhnswRepairReachability(&g);

		ereport(DEBUG1,
				(errmsg("ruhnsw parallel build: reconnected " INT64_FORMAT " of %.0f nodes",
						nrepaired, shared->indtuples)));
	}
	INSTR_TIME_SET_CURRENT(t2);
	RuhnswGraphFree(&g);
	RuhnswGraphToMeta(&g, meta);
	RuhnswInitMetaPage(page.data, meta);
	RuhnswBuildAppendPage(index, page.data);
	RuhnswLayoutPages(&g, RuhnswParEmitPage, index);

	/* the TIDs of further row versions, into the pages just written */
	g.mem = NULL;
	g.unlogged_build = true;
	g.nblocks = RelationGetNumberOfBlocks(index);
	for (int64 i = 0; i < nextra; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!RuhnswAddTid(&g, heap, xvids[i], &xtids[i]))
			elog(ERROR, "ruhnsw build: vid %u has no node for its further TIDs", xvids[i]);
	}
	INSTR_TIME_SET_CURRENT(t3);
	INSTR_TIME_SUBTRACT(t3, t2);
	INSTR_TIME_SUBTRACT(t2, t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	ereport(DEBUG1,
			(errmsg("ruhnsw parallel build: inserts %.3f s, reachability repair %.3f s, page layout %.3f s",
					INSTR_TIME_GET_DOUBLE(t1), INSTR_TIME_GET_DOUBLE(t2),
					INSTR_TIME_GET_DOUBLE(t3))));

	/* the further TIDs count as the leader's */
	ereport(DEBUG1,
			(errmsg("ruhnsw parallel build: leader inserted %.0f of the " INT64_FORMAT " rows",
					leaderdone + nextra, nwork)));
	*indtuples = shared->indtuples + nextra;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) *indtuples);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	pfree(xvids);
	pfree(xtids);
	return true;
}
