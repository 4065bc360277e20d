/*-------------------------------------------------------------------------
 *
 * hnswbuildpar.c
 *	  Parallel ruhnsw index build: the leader and max_parallel_maintenance_
 *	  workers scan the table in parallel and insert each row's node at once
 *	  into one in-memory graph shared in dynamic shared memory.
 *
 * The pattern is PostgreSQL's own for parallel index builds (nbtsort.c):
 * a ParallelContext whose DSM holds the shared state, a parallel table
 * scan (SnapshotAny, or an MVCC snapshot for CREATE INDEX CONCURRENTLY)
 * and the worker entry point RuhnswParallelBuildMain of library
 * "ruvector_tam".  The DSM also holds the graph: one full in-memory node
 * record (RuhnswNodeSize(m) bytes, the layout of an in-memory serial
 * build) per vid below the store's high-water vid, one LWLock per record
 * and, beside each record, the distance and the selection heuristic's
 * "closer" flag of every listed node (RuhnswParAuxSize), so that a full
 * list is pruned as pgvector prunes it: only what the new link can change
 * is recomputed.  When every participant is done, the leader alone repairs
 * reachability (RuhnswRepairReachability) and lays the records out as
 * pages (RuhnswLayoutPages) exactly as the serial in-memory build does,
 * pointing a RuhnswGraph's mem at the shared records.
 *
 * Vectors are never copied into the graph: every participant scores them
 * through the store's scorer API on its own RuhnswGraph (RuhnswQueryNode,
 * RuhnswDistances on the store named by the index's store_relid, found
 * with RuhnswGetStore), exact, reading the store's shared buffers.
 *
 * Row versions sharing a vid: the first one a participant meets is
 * inserted (its TID in the node); each participant lists the further
 * (vid, TID) pairs it meets and hands them over in the build's DSA area,
 * and the leader adds them with RuhnswAddTid once the pages are written,
 * as the serial in-memory build does.
 *
 * Locking (all LWLocks of tranche "RuhnswBuild", in DSM):
 *	- a node's record is read (a list copied out) under its lock in shared
 *	  mode and changed under it in exclusive mode;
 *	- a participant holds at most one node lock at a time: while it holds
 *	  one (to prune a full list) it computes distances only, which touch
 *	  store buffers, never node records;
 *	- the entry point (entry_vid, entry_level) is read under entrylock in
 *	  shared mode; a node whose level exceeds the entry point's is
 *	  inserted whole under entrylock in exclusive mode, taken before any
 *	  node lock, and becomes the entry point before it is released.  No
 *	  one waits for entrylock while holding a node lock, so there is no
 *	  deadlock;
 *	- a node is claimed (its header written, flag RUHNSW_NODE_USED, empty
 *	  lists) under its lock before anything links to it, its lists are
 *	  written before any back-link to it, so every link in the graph
 *	  leads to a claimed record.  A vid met again gets no second node.
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
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/paths.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/dsa.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "index/ruhnsw.h"
#include "tam/rv_tam.h"

/* DSM keys of a parallel ruhnsw build */
#define RUHNSW_KEY_SHARED		UINT64CONST(0xB5A0000000000001)
#define RUHNSW_KEY_NODES		UINT64CONST(0xB5A0000000000002)
#define RUHNSW_KEY_LOCKS		UINT64CONST(0xB5A0000000000003)
#define RUHNSW_KEY_QUERY_TEXT	UINT64CONST(0xB5A0000000000004)
#define RUHNSW_KEY_AUX			UINT64CONST(0xB5A0000000000005)
#define RUHNSW_KEY_DSA			UINT64CONST(0xB5A0000000000006)

/*
 * The shared state of a parallel build, followed (at BUFFERALIGN of its
 * size) by the parallel table scan descriptor.
 */
typedef struct RuhnswParShared
{
	/* set by the leader before the workers start, then read only */
	Oid			heaprelid;
	Oid			indexrelid;
	bool		isconcurrent;
	RuhnswMetaPageData meta;	/* with the store set */
	uint64		memvids;		/* records in the graph */
	int			tranche_id;		/* of the node locks and entrylock */

	/* entry point, under entrylock */
	LWLock		entrylock;
	uint32		entry_vid;
	int			entry_level;

	/* nodes inserted so far by all participants (progress) */
	pg_atomic_uint64 ninserted;

	/* participants' totals, under mutex */
	slock_t		mutex;
	int			nparticipantsdone;
	double		reltuples;
	double		indtuples;
	double		nvrefs;			/* non-null values seen */
	dsa_pointer extras;			/* RuhnswParExtras list: further TIDs */
} RuhnswParShared;

/*
 * A participant's further (vid, TID) pairs of row versions sharing a vid,
 * in the build's DSA area, linked from RuhnswParShared.extras.
 */
typedef struct RuhnswParExtras
{
	dsa_pointer next;
	int64		n;
	uint32		vids[FLEXIBLE_ARRAY_MEMBER];	/* n, then n TIDs */
} RuhnswParExtras;

#define RuhnswParExtraTids(x)	((ItemPointerData *) ((x)->vids + (x)->n))

#define RuhnswParScan(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(RuhnswParShared))))

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
	Relation	heap;
	RuhnswGraph g;				/* this participant's store access and buffers */
	uint32	   *listbuf;		/* a copied list (2 * m vids) */
	int			maxcands;		/* capacity of the selection arrays */
	RuhnswParCand *cands;		/* selection candidates */
	int		   *kept;			/* selection: kept candidates, in order */
	int		   *pruned;			/* selection: candidates not closer */
	int		   *added;			/* selection: closer candidates newly kept */
	RvScorer  **keptq;			/* scorers of kept candidates (2 * m), or NULL */
	uint32	   *ids;			/* a batch of vids to score (2 * m) */
	float	   *dd;				/* their distances */
	dsa_area   *area;			/* the build's DSA area */
	uint32	   *xvids;			/* further TIDs of vids inserted already */
	ItemPointerData *xtids;
	int64		nextra;
	int64		capextra;
	MemoryContext tmpcxt;		/* reset after each row */
	double		indtuples;
	double		nvrefs;
} RuhnswParBuild;

/* backend-local tranche id of the build's LWLocks, 0 until assigned */
static int	ruhnsw_build_tranche_id = 0;

#define RuhnswParNode(pb, vid)	((pb)->nodes + (Size) (vid) * (pb)->g.nodesize)
#define RuhnswParDists(pb, vid)	((float *) ((pb)->aux + (Size) (vid) * (pb)->auxsize))
#define RuhnswParCloser(pb, vid) \
	((bool *) (RuhnswParDists(pb, vid) + (pb)->g.nslots))
#define RuhnswParCloserSet(pb, vid) (RuhnswParCloser(pb, vid) + (pb)->g.nslots)

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
			if (RuhnswVidSetAdd(&g->visited, pb->listbuf[i]))
				pb->ids[k++] = pb->listbuf[i];
		RuhnswDistances(g, q, pb->ids, k, pb->dd);
		for (int i = 0; i < k; i++)
		{
			RuhnswCand	ec;

			ec.vid = pb->ids[i];
			ec.dist = pb->dd[i];
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
 * position pos[...]): each gets a scorer of its own vector once per
 * selection (pb->keptq, ended by RuhnswParSelect).
 */
static bool
RuhnswParCloserThan(RuhnswParBuild *pb, RuhnswParCand *e, const int *set, int n,
					const int *pos)
{
	for (int j = 0; j < n; j++)
	{
		int			p = pos[set[j]];

		if (pb->keptq[p] == NULL)
			pb->keptq[p] = RuhnswQueryNode(&pb->g, pb->cands[set[j]].vid);
		if (RuhnswDistance(&pb->g, pb->keptq[p], e->vid) < e->dist)
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
 * recomputed.  Returns the number kept and in *left the one candidate left
 * out when n == lm + 1 (-1 if none).
 */
static int
RuhnswParSelect(RuhnswParBuild *pb, int n, int lm, bool must, int newc, int *left)
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
			e->closer = RuhnswParCloserThan(pb, e, kept, nkept, pos);
		else if (nadded > 0)
		{
			if (e->closer)
			{
				e->closer = RuhnswParCloserThan(pb, e, added, nadded, pos);
				removed |= !e->closer;
			}
			else if (removed)
			{
				e->closer = RuhnswParCloserThan(pb, e, kept, nkept, pos);
				if (e->closer)
					added[nadded++] = i;
			}
		}
		else if (i == newc)
		{
			e->closer = RuhnswParCloserThan(pb, e, kept, nkept, pos);
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
 * to v.
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
		(void) RuhnswParSelect(pb, count + 1, count, !closerset[level], newc, &left);
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
 * vid was inserted already (by this or another participant).  Allocates
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
		nsel[lc] = RuhnswParSelect(pb, nc, count, true, -1, &left);
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
		for (int i = 0; i < nsel[lc]; i++)
		{
			CHECK_FOR_INTERRUPTS();
			RuhnswParLinkInto(pb, sel[lc][i].vid, vid, sel[lc][i].dist, lc);
		}
	}

	RuhnswQueryEnd(q);

	if (entrylocked)
	{
		shared->entry_vid = vid;
		shared->entry_level = level;
		LWLockRelease(&shared->entrylock);
	}
	return true;
}

/* table_index_build_scan callback of a participant: inserts the row's node. */
static void
RuhnswParCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
				  bool tupleIsAlive, void *state)
{
	RuhnswParBuild *pb = state;
	RuhnswParShared *shared = pb->shared;
	int16		storeno;
	uint64		vid;
	MemoryContext old;

	if (isnull[0])
		return;
	if (!RvDatumGetVref(values[0], &storeno, &vid))
		elog(ERROR, "ruhnsw build received a vector instead of a vector reference");
	if (storeno != shared->meta.storeno)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ruhnsw index \"%s\" covers vectors of %d dimensions only",
						RelationGetRelationName(index), shared->meta.dims),
				 errdetail("The column also holds vectors of %d dimensions.",
						   RvTamOpenStore(pb->heap, RV_KEY_STORENO(storeno))->dims),
				 errhint("Declare the column with its dimensions, such as ruvector(%d).",
						 shared->meta.dims)));
	if (vid >= shared->memvids)
		elog(ERROR, "ruhnsw build found vector id " UINT64_FORMAT
			 " at or beyond the store's high-water mark " UINT64_FORMAT,
			 vid, shared->memvids);
	pb->nvrefs++;

	old = MemoryContextSwitchTo(pb->tmpcxt);
	if (RuhnswVectorIndexable(&pb->g, (uint32) vid))
	{
		uint64		done;

		if (!RuhnswParInsert(pb, (uint32) vid, tid))
		{
			/* another row version of a vid already in: its TID, later */
			if (pb->nextra == pb->capextra)
			{
				pb->capextra *= 2;
				pb->xvids = repalloc_huge(pb->xvids, sizeof(uint32) * pb->capextra);
				pb->xtids = repalloc_huge(pb->xtids, sizeof(ItemPointerData) * pb->capextra);
			}
			pb->xvids[pb->nextra] = (uint32) vid;
			pb->xtids[pb->nextra] = *tid;
			pb->nextra++;
		}
		done = pg_atomic_add_fetch_u64(&shared->ninserted, 1);
		pb->indtuples++;
		if (pb->leader)
			pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) done);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(pb->tmpcxt);
}

/*
 * A participant's whole share of the build: joins the parallel scan of
 * heap and inserts every row it is handed, then adds its totals to the
 * shared state.  The leader (leader true) reports progress.
 */
static void
RuhnswParScanAndInsert(RuhnswParShared *shared, char *nodes, char *aux, LWLock *locks,
					   dsa_area *area, Relation heap, Relation index, bool leader)
{
	RuhnswParBuild pb;
	IndexInfo  *indexInfo;
	TableScanDesc scan;
	RvStore    *store;
	double		reltuples;
	int			count;

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
	pb.heap = heap;
	RuhnswGraphInit(&pb.g, index, &shared->meta, store);
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
	pb.area = area;
	pb.capextra = 64;
	pb.xvids = palloc(sizeof(uint32) * pb.capextra);
	pb.xtids = palloc(sizeof(ItemPointerData) * pb.capextra);
	RuhnswVidSetInitRange(&pb.g.visited, (uint32) shared->memvids, 1024);
	pb.tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "ruhnsw parallel build",
									  ALLOCSET_DEFAULT_SIZES);

	indexInfo = BuildIndexInfo(index);
	indexInfo->ii_Concurrent = shared->isconcurrent;
	scan = table_beginscan_parallel(heap, RuhnswParScan(shared));
	reltuples = table_index_build_scan(heap, index, indexInfo, true, leader,
									   RuhnswParCallback, &pb, scan);
	RuhnswGraphFree(&pb.g);
	MemoryContextDelete(pb.tmpcxt);

	if (pb.nextra > 0)
	{
		Size		size = offsetof(RuhnswParExtras, vids) +
			pb.nextra * (sizeof(uint32) + sizeof(ItemPointerData));
		dsa_pointer dp = dsa_allocate_extended(area, size, DSA_ALLOC_HUGE);
		RuhnswParExtras *x = dsa_get_address(area, dp);

		x->n = pb.nextra;
		memcpy(x->vids, pb.xvids, sizeof(uint32) * pb.nextra);
		memcpy(RuhnswParExtraTids(x), pb.xtids, sizeof(ItemPointerData) * pb.nextra);
		SpinLockAcquire(&shared->mutex);
		x->next = shared->extras;
		shared->extras = dp;
		SpinLockRelease(&shared->mutex);
	}

	SpinLockAcquire(&shared->mutex);
	shared->nparticipantsdone++;
	shared->reltuples += reltuples;
	shared->indtuples += pb.indtuples;
	shared->nvrefs += pb.nvrefs;
	SpinLockRelease(&shared->mutex);

	ereport(DEBUG1,
			(errmsg("ruhnsw parallel build: %s inserted %.0f of the %.0f tuples it scanned",
					leader ? "leader" : "worker", pb.indtuples, reltuples)));
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
	dsa_area   *area;
	Relation	heap;
	Relation	index;
	LOCKMODE	heapLockmode;
	LOCKMODE	indexLockmode;

	debug_query_string = shm_toc_lookup(toc, RUHNSW_KEY_QUERY_TEXT, true);
	pgstat_report_activity(STATE_RUNNING, debug_query_string);

	shared = shm_toc_lookup(toc, RUHNSW_KEY_SHARED, false);
	nodes = shm_toc_lookup(toc, RUHNSW_KEY_NODES, false);
	aux = shm_toc_lookup(toc, RUHNSW_KEY_AUX, false);
	area = dsa_attach_in_place(shm_toc_lookup(toc, RUHNSW_KEY_DSA, false), seg);
	locks = shm_toc_lookup(toc, RUHNSW_KEY_LOCKS, false);
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

	RuhnswParScanAndInsert(shared, nodes, aux, locks, area, heap, index, false);

	dsa_detach(area);
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

/*
 * The only store of the index's column, or NULL when the column has none
 * or several.
 */
static RvStore *
RuhnswColumnStore(Relation heap, int16 attnum)
{
	RvRelCache *cache = RvRelGetCache(heap);
	int16		storeno = -1;

	for (int i = 0; i < cache->nstores; i++)
	{
		if (cache->stores[i].attnum != attnum)
			continue;
		if (storeno >= 0)
			return NULL;
		storeno = cache->stores[i].storeno;
	}
	return storeno >= 0 ? RvTamOpenStore(heap, RV_KEY_STORENO(storeno)) : NULL;
}

/* RuhnswLayoutPages callback: appends the page to the index arg. */
static void
RuhnswParEmitPage(const char *image, void *arg)
{
	RuhnswBuildAppendPage((Relation) arg, image);
}

/*
 * RuhnswBuildParallel: builds the index over heap in parallel when that is
 * possible: the column has exactly one store, workers are wanted
 * (RuhnswParallelWorkers), the graph and its locks fit in
 * maintenance_work_mem, a DSM segment can be had and at least one worker
 * starts.  Then it writes the metapage and node pages without WAL (the
 * caller WAL-logs them), sets *reltuples and *indtuples and returns true;
 * otherwise it returns false having written nothing and scanned nothing,
 * and the caller builds serially.  *meta (from the index options) gets the
 * store and entry point.  Runs with the locks CREATE INDEX holds; errors
 * as ruhnswbuild.
 */
bool
RuhnswBuildParallel(Relation heap, Relation index, IndexInfo *indexInfo,
					RuhnswMetaPageData *meta, double *reltuples, double *indtuples)
{
	RvStore    *store = RuhnswColumnStore(heap, meta->attnum);
	int			nworkers;
	bool		isconcurrent = indexInfo->ii_Concurrent;
	Snapshot	snapshot;
	ParallelContext *pcxt;
	RuhnswParShared *shared;
	char	   *nodes;
	char	   *aux;
	LWLock	   *locks;
	dsa_area   *area = NULL;
	Size		estshared;
	Size		estnodes;
	Size		estaux;
	Size		estlocks;
	Size		querylen = 0;
	uint64		memvids;
	uint64		nallocated;
	BlockNumber nblocks;
	uint32		nodesize = RuhnswNodeSize(meta->m);
	Size		auxsize = RuhnswParAuxSize((nodesize - sizeof(RuhnswNodeHeader)) / sizeof(uint32));
	RuhnswGraph g;
	PGAlignedBlock page;

	if (store == NULL)
		return false;
	nworkers = RuhnswParallelWorkers(heap, index, store);
	if (nworkers <= 0)
		return false;

	EnterParallelMode();
	pcxt = CreateParallelContext("ruvector_tam", "RuhnswParallelBuildMain", nworkers);
	snapshot = isconcurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;

	/*
	 * Every vid the scan can meet was allocated before the snapshot was
	 * taken (CONCURRENTLY), or no one else writes the table (ShareLock), so
	 * it lies below the high-water vid read now.
	 */
	RvStoreCounts(store, &memvids, &nallocated, &nblocks);
	if (memvids == 0 || memvids > RUHNSW_INVALID_VID ||
		(double) memvids * (nodesize + auxsize + sizeof(LWLock)) >
		(double) maintenance_work_mem * 1024.0)
		goto backout;

	estshared = add_size(BUFFERALIGN(sizeof(RuhnswParShared)),
						 table_parallelscan_estimate(heap, snapshot));
	estnodes = mul_size((Size) memvids, nodesize);
	estaux = mul_size((Size) memvids, auxsize);
	estlocks = mul_size((Size) memvids, sizeof(LWLock));
	shm_toc_estimate_chunk(&pcxt->estimator, estshared);
	shm_toc_estimate_chunk(&pcxt->estimator, estnodes);
	shm_toc_estimate_chunk(&pcxt->estimator, estaux);
	shm_toc_estimate_chunk(&pcxt->estimator, estlocks);
	shm_toc_estimate_chunk(&pcxt->estimator, dsa_minimum_size());
	shm_toc_estimate_keys(&pcxt->estimator, 5);
	if (debug_query_string)
	{
		querylen = strlen(debug_query_string);
		shm_toc_estimate_chunk(&pcxt->estimator, querylen + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
		goto backout;

	if (ruhnsw_build_tranche_id == 0)
		ruhnsw_build_tranche_id = LWLockNewTrancheId();
	LWLockRegisterTranche(ruhnsw_build_tranche_id, "RuhnswBuild");

	shared = shm_toc_allocate(pcxt->toc, estshared);
	memset(shared, 0, sizeof(RuhnswParShared));
	shared->heaprelid = RelationGetRelid(heap);
	shared->indexrelid = RelationGetRelid(index);
	shared->isconcurrent = isconcurrent;
	shared->meta = *meta;
	shared->meta.storeno = store->storeno;
	shared->meta.store_relid = store->relid;
	shared->meta.dims = store->dims;
	shared->memvids = memvids;
	shared->tranche_id = ruhnsw_build_tranche_id;
	LWLockInitialize(&shared->entrylock, ruhnsw_build_tranche_id);
	shared->entry_vid = RUHNSW_INVALID_VID;
	shared->entry_level = -1;
	pg_atomic_init_u64(&shared->ninserted, 0);
	SpinLockInit(&shared->mutex);
	table_parallelscan_initialize(heap, RuhnswParScan(shared), snapshot);

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
	{
		void	   *place = shm_toc_allocate(pcxt->toc, dsa_minimum_size());

		shm_toc_insert(pcxt->toc, RUHNSW_KEY_DSA, place);
		area = dsa_create_in_place(place, dsa_minimum_size(), ruhnsw_build_tranche_id,
								   pcxt->seg);
	}
	shared->extras = InvalidDsaPointer;
	shm_toc_insert(pcxt->toc, RUHNSW_KEY_LOCKS, locks);
	if (debug_query_string)
	{
		char	   *query = shm_toc_allocate(pcxt->toc, querylen + 1);

		memcpy(query, debug_query_string, querylen + 1);
		shm_toc_insert(pcxt->toc, RUHNSW_KEY_QUERY_TEXT, query);
	}

	LaunchParallelWorkers(pcxt);
	if (pcxt->nworkers_launched == 0)
	{
		WaitForParallelWorkersToFinish(pcxt);
		dsa_detach(area);
		goto backout;
	}
	ereport(DEBUG1,
			(errmsg("ruhnsw build of \"%s\": using %d parallel workers",
					RelationGetRelationName(index), pcxt->nworkers_launched)));

	/* the store's allocated vids estimate the rows to insert */
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) nallocated);
	RuhnswParScanAndInsert(shared, nodes, aux, locks, area, heap, index, true);
	WaitForParallelWorkersToFinish(pcxt);
	Assert(shared->nparticipantsdone == pcxt->nworkers_launched + 1);
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) shared->indtuples);

	/*
	 * The leader alone now: repair and lay out as a serial in-memory build.
	 * The index covers the store once it has seen one of its vectors.
	 */
	if (shared->nvrefs > 0)
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
	RuhnswGraphFree(&g);
	if (shared->nvrefs > 0)
		RuhnswGraphToMeta(&g, meta);
	RuhnswInitMetaPage(page.data, meta);
	RuhnswBuildAppendPage(index, page.data);
	if (shared->nvrefs > 0)
	{
		RuhnswLayoutPages(&g, RuhnswParEmitPage, index);

		/* the TIDs of further row versions, into the pages just written */
		g.mem = NULL;
		g.unlogged_build = true;
		g.nblocks = RelationGetNumberOfBlocks(index);
		for (dsa_pointer dp = shared->extras; DsaPointerIsValid(dp);)
		{
			RuhnswParExtras *x = dsa_get_address(area, dp);
			ItemPointerData *tids = RuhnswParExtraTids(x);

			for (int64 i = 0; i < x->n; i++)
			{
				CHECK_FOR_INTERRUPTS();
				if (!RuhnswAddTid(&g, heap, x->vids[i], &tids[i]))
					elog(ERROR, "ruhnsw build: vid %u has no node for its further TIDs",
						 x->vids[i]);
			}
			dp = x->next;
		}
	}
	dsa_detach(area);

	*reltuples = shared->reltuples;
	*indtuples = shared->indtuples;
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return true;

backout:
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return false;
}
