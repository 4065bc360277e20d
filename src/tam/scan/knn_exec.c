/*-------------------------------------------------------------------------
 *
 * knn_exec.c
 *	  Execution of the exact k-NN scan (rv_knn.h).  On the first row
 *	  requested it ranks the table: one pass of heap's own sequential scan
 *	  under the query's snapshot reads each visible row's vref without
 *	  resolving the row, evaluates the WHERE clauses on the raw tuple, and
 *	  gathers the rows of one store into chunks of RV_KNN_CHUNK (vid, TID)
 *	  pairs.  A chunk is ranked through the store's scorer (rv_score.h):
 *	  lower bounds of the rows' distances from their codes
 *	  (RvStoreScoreLowerBounds: the sign bounds of the 1-bit codes, then
 *	  partial SQ8 sums, judged against the heap's worst key), exact
 *	  distances for the rows those do not rule out, and the best `bound`
 *	  keys (distance, TID) kept in a max-heap.  It then returns those rows
 *	  in key order, each fetched by TID (resolved by the table AM) and
 *	  projected.
 *
 *	  When the plan asks for workers (RV_KNN_PRIV_WORKERS) and the backend
 *	  is not already in parallel mode, a ranking pass is parallel: the
 *	  leader creates a ParallelContext (library "ruvector_tam", entry
 *	  RvKnnParallelMain) whose dynamic shared memory holds heap's parallel
 *	  table scan (with the snapshot), the query's floats, the WHERE clauses
 *	  as a node string and one result area of `bound` keys per worker.
 *	  Every participant (the leader too, unless parallel_leader_participation
 *	  is off and a worker started) takes blocks from the shared scan
 *	  and keeps its own best `bound` keys; the leader waits for the
 *	  workers, merges their keys into its heap, and destroys the context
 *	  before it returns a row.  The pass is complete in itself, so rescans
 *	  and widening passes simply run another one.
 *
 * Invariants:
 *	- a row's distance is computed by RvVectorDistance() on the vector's
 *	  floats as one piece (RvStoreScoreExact).  It is therefore bit-for-bit
 *	  the value the SQL expression computes, and the order equals that of
 *	  Sort over a Seq Scan (ties by TID, which that Sort leaves
 *	  unspecified).  The one shortcut: once a heap is full, a row whose
 *	  codes prove its exact distance above the heap's worst key (a lower
 *	  bound from RvStoreScoreLowerBounds, or RvStoreScoreExceeds, beyond
 *	  it) is skipped without reading its floats, as its exact key is
 *	  greater than every key kept and the worst key only falls (RvKnnFlush,
 *	  RvKnnScoreVid).  The order in which a chunk's rows are offered (in
 *	  bound order while the heap fills, so its worst key falls fast) does
 *	  not change what the heap keeps, the best keys of a total order.  A
 *	  participant's heap holds the best keys of the rows it saw, so the
 *	  merge of all of them holds the best keys of the table: a parallel
 *	  pass keeps exactly the keys a serial one does;
 *	- rows are ranked with the same errors the expression would raise:
 *	  "different vector dimensions A and B" for a row whose vector does not
 *	  match the query's (a worker's error reaches the leader with its
 *	  SQLSTATE and message);
 *	- the scorer keeps the last rows' store pages pinned for the next ones
 *	  and is ended, its last chunk ranked, when the pass ends or the rows
 *	  move to another store: no pin is held across returned rows, and no
 *	  parallel context outlives its pass;
 *	- when the caller wants more rows than were kept (an OFFSET, an
 *	  Incremental Sort on a further key, a join), the table is ranked
 *	  again with four times the bound and the scan continues where it was:
 *	  the key is a total order over an unchanged set of rows, so the first
 *	  rows of the new ranking are those already returned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "optimizer/optimizer.h"
#include "storage/condition_variable.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "simd/rv_simd.h"
#include "tam/store/rv_tier.h"
#include "tam/scan/rv_knn.h"
#include "tam/store/rv_score.h"
#include "tam/rv_tam.h"
#include "toast/rv_vector.h"

/* A ranked row: its key.  NULL distances sort after all others. */
typedef struct RvKnnEntry
{
	double		dist;
	ItemPointerData tid;
	bool		isnull;
} RvKnnEntry;

/*
 * A row waiting in the ranker's chunk: its vector's vid (in the ranker's
 * current store), its TID, and the lower bound of its distance.
 */
typedef struct RvKnnPending
{
	double		lb;
	uint64		vid;
	ItemPointerData tid;
} RvKnnPending;

/* Rows of one store ranked together, in the order of their lower bounds. */
#define RV_KNN_CHUNK 1024

/*
 * One participant's ranking pass: what it scores with and the best keys
 * of the rows it saw (a max-heap of capacity bound).
 */
typedef struct RvKnnRanker
{
	Relation	rel;
	AttrNumber	attnum;
	RvDistanceKind kind;
	bool		queryleft;
	const float *qx;			/* the query's floats, or NULL for a NULL query */
	int			qdim;
	ExprState  *qual;			/* or NULL */
	ExprContext *econtext;		/* per-row memory, the qual's scan tuple */
	MemoryContext cxt;			/* where the scorer lives */
	RvScorer   *scorer;			/* of the query over the last vref's store */
	int16		storeno;		/* its number, or -1 */
	int64		nskipped;		/* rows ruled out on codes */
	int64		nsign;			/* of them, by the sign bound of a bit code */
	int64		nranked;		/* rows that passed the qual */
	RvKnnEntry *entries;
	int64		n;
	int64		bound;
	/* the chunk of rows of the scorer's store not ranked yet */
	RvKnnPending *pend;			/* RV_KNN_CHUNK of them */
	uint64	   *pvids;			/* their vids, in the same order */
	double	   *plb;			/* their lower bounds */
	int			npend;
} RvKnnRanker;

typedef struct RvKnnScanState
{
	CustomScanState css;
	/* from the plan */
	ExprState  *query_expr;
	Expr	   *orderexpr;		/* for EXPLAIN */
	List	   *qual_list;		/* the plan's qual, shipped to workers */
	AttrNumber	attnum;
	RvDistanceKind kind;
	bool		queryleft;
	int64		plan_bound;
	int			plan_workers;	/* workers the plan asks for (0: serial) */
	/* per (re)scan */
	MemoryContext cxt;			/* reset on rescan: query vector, entries */
	bool		query_ready;	/* query evaluated */
	RuVector   *query;			/* NULL when the query value is NULL */
	int64		nskipped;		/* rows of the last pass ruled out on codes */
	int64		nsign;			/* of them, by the sign bound of a bit code */
	bool		ranked;			/* entries[] holds the current ranking */
	int64		bound;			/* capacity of entries[] */
	int64		nentries;
	int64		next;			/* entries[next] is the next row to return */
	int64		nranked;		/* rows ranked in the last pass */
	int			npasses;		/* ranking passes since the (re)scan */
	int			nlaunched;		/* workers launched by the last pass */
	int64		nranked_workers;	/* rows of the last pass its workers ranked */
	RvKnnEntry *entries;
} RvKnnScanState;

/* Shared memory of a parallel ranking pass (keys of its shm_toc). */
#define RV_KNN_KEY_SHARED		UINT64CONST(0xB5E7C0DE00000001)
#define RV_KNN_KEY_QUERY		UINT64CONST(0xB5E7C0DE00000002)
#define RV_KNN_KEY_QUAL			UINT64CONST(0xB5E7C0DE00000003)
#define RV_KNN_KEY_RESULTS		UINT64CONST(0xB5E7C0DE00000004)

/*
 * The most bytes of keys a parallel pass's workers send back; a pass that
 * would need more (a large bound, or one widened many times) is serial.
 */
#define RV_KNN_PAR_MAX_RESULT_BYTES	(16 * 1024 * 1024)

/* What one worker reports back. */
typedef struct RvKnnParWorker
{
	int64		nentries;		/* keys in its result area */
	int64		nranked;
	int64		nskipped;
	int64		nsign;
} RvKnnParWorker;

/*
 * The pass's header; heap's ParallelTableScanDesc follows at pscan_off,
 * then RvKnnParWorker[nworkers] at workers_off.  A participating leader
 * that has finished its share closes the pass: by then every block of the
 * shared scan has been handed out, so it waits only for the workers that
 * started before (they hold the other blocks' keys); a worker starting
 * later does nothing, and one not started yet is terminated.  Workers are
 * slow to start on a busy machine, and this keeps the pass from waiting
 * for ones that would find no block left.
 */
typedef struct RvKnnParShared
{
	Oid			relid;
	AttrNumber	attnum;
	int			kind;
	bool		queryleft;
	int			qdim;
	int64		bound;
	int			nworkers;		/* result areas */
	Size		pscan_off;
	Size		workers_off;
	/* workers that started before the leader closed the pass, and done */
	slock_t		mutex;
	bool		closed;
	int			nstarted;
	int			ndone;
	ConditionVariable done_cv;	/* signalled as ndone grows */
} RvKnnParShared;

/* Three-way key comparison: distance (float8 order), NULL last, then TID. */
static inline int
RvKnnCmp(const RvKnnEntry *a, const RvKnnEntry *b)
{
	if (a->isnull != b->isnull)
		return a->isnull ? 1 : -1;
	if (!a->isnull)
	{
		int			c = float8_cmp_internal(a->dist, b->dist);

		if (c != 0)
			return c;
	}
	return ItemPointerCompare((ItemPointer) &a->tid, (ItemPointer) &b->tid);
}

static int
RvKnnQsortCmp(const void *a, const void *b)
{
	return RvKnnCmp((const RvKnnEntry *) a, (const RvKnnEntry *) b);
}

/* Restores the max-heap property of h[0..n) downwards from i. */
static void
RvKnnSiftDown(RvKnnEntry *h, int64 n, int64 i)
{
	RvKnnEntry	e = h[i];

	for (;;)
	{
		int64		c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && RvKnnCmp(&h[c + 1], &h[c]) > 0)
			c++;
		if (RvKnnCmp(&h[c], &e) <= 0)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = e;
}

/* Adds e to the max-heap h[0..*n) of capacity cap, keeping the cap smallest. */
static inline void
RvKnnOffer(RvKnnEntry *h, int64 *n, int64 cap, const RvKnnEntry *e)
{
	if (*n < cap)
	{
		int64		i = (*n)++;

		/* sift up */
		while (i > 0)
		{
			int64		p = (i - 1) / 2;

			if (RvKnnCmp(&h[p], e) >= 0)
				break;
			h[i] = h[p];
			i = p;
		}
		h[i] = *e;
	}
	else if (RvKnnCmp(e, &h[0]) < 0)
	{
		h[0] = *e;
		RvKnnSiftDown(h, *n, 0);
	}
}

/* The operator's dimension error, with its arguments in the query's order. */
static inline void
RvKnnCheckDims(RvKnnRanker *r, int rowdim)
{
	if (rowdim != r->qdim)
		RvCheckDimCounts(r->queryleft ? r->qdim : rowdim,
						 r->queryleft ? rowdim : r->qdim);
}

/*
 * RvKnnBeyond: true when the heap is full and lb, a lower bound of a
 * row's exact distance, exceeds its worst key's (finite, non-NULL)
 * distance: the row's exact key is greater than every key kept, even on
 * a tie broken by TID.
 */
static inline bool
RvKnnBeyond(const RvKnnRanker *r, double lb)
{
	const RvKnnEntry *top = &r->entries[0];

	return r->n == r->bound && !top->isnull && isfinite(top->dist) && lb > top->dist;
}

/*
 * RvKnnScoreVid: ranks the row p of the current store: skipped when the
 * heap is full and its codes prove its exact distance above the heap's
 * worst key (RvStoreScoreExceeds; then it cannot enter the heap), else
 * offered with its exact distance (RvStoreScoreExact, bit for bit the SQL
 * expression's value).  Raises the store's corruption errors.
 */
static void
RvKnnScoreVid(RvKnnRanker *r, const RvKnnPending *p)
{
	const RvKnnEntry *top = &r->entries[0];
	RvKnnEntry	e;

	if (r->n == r->bound && RvStoreScoreApproximate(r->scorer) && !top->isnull &&
		isfinite(top->dist) && RvStoreScoreExceeds(r->scorer, p->vid, top->dist))
	{
		r->nskipped++;
		return;
	}
	e.dist = RvStoreScoreExact(r->scorer, p->vid);
	e.tid = p->tid;
	e.isnull = false;
	RvKnnOffer(r->entries, &r->n, r->bound, &e);
}

static int
RvKnnPendingCmp(const void *a, const void *b)
{
	const RvKnnPending *x = (const RvKnnPending *) a;
	const RvKnnPending *y = (const RvKnnPending *) b;

	if (x->lb != y->lb)
		return x->lb < y->lb ? -1 : 1;
	return x->vid < y->vid ? -1 : (x->vid > y->vid ? 1 : 0);
}

/*
 * RvKnnFlush: ranks the rows of the chunk and empties it.  Where the
 * scorer gives lower bounds of the distances (RvStoreScoreLowerBounds: the
 * rows' 1-bit codes' sign bounds, then their SQ8 codes), a row whose
 * bound exceeds the heap's worst key is ruled out and the others get
 * their exact distances.  With the heap full, the bounds are judged
 * against its worst key at the time and the rows taken in scan order
 * (which keeps store pages reused).  While it is filling, they are sign
 * bounds alone, and the rows are taken in increasing bound order: the
 * nearest rows come first, so the worst key falls fast, and once a row's
 * bound exceeds it so do those of all rows after it.  The order in which
 * rows are offered does not change what the heap keeps (the best keys of
 * a total order), and a row is dropped only when its exact key is greater
 * than every key kept at that time, which only get smaller.  Without
 * bounds the rows are ranked in scan order (RvKnnScoreVid).
 */
static void
RvKnnFlush(RvKnnRanker *r)
{
	const RvKnnEntry *top = &r->entries[0];
	int			n = r->npend;
	bool		full = r->n == r->bound && !top->isnull && isfinite(top->dist);

	if (n == 0)
		return;
	r->npend = 0;
	if (!RvStoreScoreLowerBounds(r->scorer, r->pvids, n, full ? top->dist : INFINITY, r->plb))
	{
		for (int i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			RvKnnScoreVid(r, &r->pend[i]);
		}
		return;
	}
	if (full)
	{
		/* sign bounds beyond the key count in the scorer's sign count */
		for (int i = 0; i < n; i++)
		{
			RvKnnEntry	e;

			CHECK_FOR_INTERRUPTS();
			if (RvKnnBeyond(r, r->plb[i]))
			{
				r->nskipped++;
				continue;
			}
			e.dist = RvStoreScoreExact(r->scorer, r->pend[i].vid);
			e.tid = r->pend[i].tid;
			e.isnull = false;
			RvKnnOffer(r->entries, &r->n, r->bound, &e);
		}
		return;
	}
	for (int i = 0; i < n; i++)
		r->pend[i].lb = r->plb[i];
	qsort(r->pend, n, sizeof(RvKnnPending), RvKnnPendingCmp);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (RvKnnBeyond(r, r->pend[i].lb))
		{
			r->nskipped += n - i;
			r->nsign += n - i;
			break;
		}
		RvKnnScoreVid(r, &r->pend[i]);
	}
}

/* RvKnnEndStore: ranks the chunk and ends the scorer of the current store. */
static void
RvKnnEndStore(RvKnnRanker *r)
{
	if (r->scorer)
	{
		RvKnnFlush(r);
		r->nsign += RvStoreScoreSignBoundRuledOut(r->scorer);
		RvStoreEndScore(r->scorer);
	}
	r->scorer = NULL;
	r->storeno = -1;
}

/*
 * RvKnnRankRow: ranks the row whose vector datum is d (a vref, or a real
 * value such as an ADD COLUMN default not yet rewritten) and whose TID is
 * tid.  A real value is offered at once with RvVectorDistance's value; a
 * vref joins the chunk of its store (RvKnnFlush ranks it), the chunk of
 * the previous store being ranked first when the store changes.  Raises
 * the operator's dimension error and the store's corruption errors.
 */
static void
RvKnnRankRow(RvKnnRanker *r, Datum d, ItemPointer tid)
{
	int16		storeno;
	uint64		vid;
	RvKnnPending *p;

	if (!RvDatumGetVref(d, &storeno, &vid))
	{
		MemoryContext old = MemoryContextSwitchTo(r->econtext->ecxt_per_tuple_memory);
		RuVector   *v = (RuVector *) PG_DETOAST_DATUM(d);
		RvKnnEntry	e;

		MemoryContextSwitchTo(old);
		RvVectorCheck(v);
		RvKnnCheckDims(r, v->dim);
		e.dist = r->queryleft ?
			RvVectorDistance(r->kind, r->qx, v->x, v->dim) :
			RvVectorDistance(r->kind, v->x, r->qx, v->dim);
		e.tid = *tid;
		e.isnull = false;
		RvKnnOffer(r->entries, &r->n, r->bound, &e);
		return;
	}

	if (storeno != r->storeno)
	{
		RvStore    *store = RvTamOpenStore(r->rel, RV_KEY_STORENO(storeno));
		MemoryContext old;

		RvKnnCheckDims(r, store->dims);
		RvKnnEndStore(r);
		old = MemoryContextSwitchTo(r->cxt);
		r->scorer = RvStoreBeginScore(store, r->kind, r->qx,
									  (RvScoreMode) rv_search_codes, NULL);
		if (!r->queryleft)
			RvStoreScoreQueryOnRight(r->scorer);
		MemoryContextSwitchTo(old);
		r->storeno = storeno;
	}
	p = &r->pend[r->npend];
	p->vid = vid;
	p->tid = *tid;
	p->lb = 0;
	r->pvids[r->npend++] = vid;
	if (r->npend == RV_KNN_CHUNK)
		RvKnnFlush(r);
}

/*
 * RvKnnRankValue: ranks one row that passed the quals: its vector datum
 * (isnull when the value is NULL) and TID.
 */
static inline void
RvKnnRankValue(RvKnnRanker *r, Datum d, bool isnull, ItemPointer tid)
{
	r->nranked++;
	if (isnull || r->qx == NULL)
	{
		RvKnnEntry	e;

		e.tid = *tid;
		e.dist = 0.0;
		e.isnull = true;
		RvKnnOffer(r->entries, &r->n, r->bound, &e);
	}
	else
		RvKnnRankRow(r, d, tid);
}

/*
 * RvKnnRankScan: runs hscan (heap's sequential scan of r->rel, serial or
 * over a shared parallel scan) to its end, offering every row that passes
 * r->qual to r's heap.  hslot is a buffer heap tuple slot of the
 * relation's descriptor.  Ranks the last chunk and ends the scorer (and
 * its pins) before it returns; the caller ends hscan.  Raises the
 * distance's dimension error and the store's corruption errors.
 *
 * Without quals, and when the scan reads a page at a time (an MVCC
 * snapshot), the rows after the one a page's first scan_getnextslot call
 * returned are read straight from the page: the scan has already listed
 * its visible tuples (rs_vistuples) and holds the page's pin (rs_cbuf),
 * so each tuple's vector attribute is taken with heap_getattr, and the
 * scan is moved to the page's last visible tuple (rs_cindex), from where
 * its next call goes on to the next page: the rows seen are exactly those
 * scan_getnextslot would return, without storing each in the slot.
 */
static void
RvKnnRankScan(RvKnnRanker *r, TableScanDesc hscan, TupleTableSlot *hslot)
{
	ExprContext *econtext = r->econtext;
	HeapScanDesc hs = (HeapScanDesc) hscan;
	TupleDesc	tupdesc = RelationGetDescr(r->rel);
	bool		bypage = r->qual == NULL && (hscan->rs_flags & SO_ALLOW_PAGEMODE) != 0;

	r->storeno = -1;
	r->scorer = NULL;
	r->npend = 0;
	r->pend = MemoryContextAlloc(r->cxt, sizeof(RvKnnPending) * RV_KNN_CHUNK);
	r->pvids = MemoryContextAlloc(r->cxt, sizeof(uint64) * RV_KNN_CHUNK);
	r->plb = MemoryContextAlloc(r->cxt, sizeof(double) * RV_KNN_CHUNK);
	while (RvHeap()->scan_getnextslot(hscan, ForwardScanDirection, hslot))
	{
		Datum		d;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		ResetExprContext(econtext);
		if (r->qual != NULL)
		{
			/*
			 * The qual may have been compiled for a virtual slot, which it
			 * reads without deforming: deform the heap tuple first.
			 */
			slot_getallattrs(hslot);
			econtext->ecxt_scantuple = hslot;
			if (!ExecQual(r->qual, econtext))
				continue;
		}
		d = slot_getattr(hslot, r->attnum, &isnull);
		RvKnnRankValue(r, d, isnull, &hslot->tts_tid);
		if (bypage)
		{
			Page		page = BufferGetPage(hs->rs_cbuf);

			for (int li = hs->rs_cindex + 1; li < hs->rs_ntuples; li++)
			{
				OffsetNumber off = hs->rs_vistuples[li];
				ItemId		lp = PageGetItemId(page, off);
				HeapTupleData tup;

				ResetExprContext(econtext);
				tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
				tup.t_len = ItemIdGetLength(lp);
				tup.t_tableOid = RelationGetRelid(r->rel);
				ItemPointerSet(&tup.t_self, hs->rs_cblock, off);
				d = heap_getattr(&tup, r->attnum, tupdesc, &isnull);
				RvKnnRankValue(r, d, isnull, &tup.t_self);
			}
			hs->rs_cindex = Max(hs->rs_ntuples - 1, hs->rs_cindex);
		}
	}
	RvKnnEndStore(r);
	pfree(r->pend);
	pfree(r->pvids);
	pfree(r->plb);
	r->pend = NULL;
	r->pvids = NULL;
	r->plb = NULL;
	ResetExprContext(econtext);
}

/* The flags of the ranking scans: heap's sequential scan, page at a time. */
#define RV_KNN_SCAN_FLAGS	(SO_TYPE_SEQSCAN | SO_ALLOW_STRAT | SO_ALLOW_PAGEMODE)

/*
 * RvKnnRankParallel: one parallel ranking pass into r (the leader's ranker,
 * its heap empty) with up to nworkers workers, under snapshot.  Returns
 * false, having done nothing, when no dynamic shared memory could be had
 * (the caller then ranks serially); else r holds the merged best keys of
 * every row, *nlaunched the number of workers that took part (0 means
 * the leader scanned every block itself) and *nranked_workers the rows
 * they ranked.  Enters and leaves parallel
 * mode; the context is destroyed before returning (or by the transaction's
 * abort on an error, a worker's error being raised here), workers that
 * had not started by the end of the leader's share being terminated.
 */
static bool
RvKnnRankParallel(RvKnnScanState *st, RvKnnRanker *r, Snapshot snapshot, int nworkers,
				  int *nlaunched, int64 *nranked_workers)
{
	ParallelContext *pcxt;
	RvKnnParShared *shared;
	ParallelTableScanDesc pscan;
	RvKnnParWorker *workers;
	RvKnnEntry *results;
	char	   *qualstr = NULL;
	Size		sharedsize,
				pscansize,
				querysize,
				resultsize;
	TableScanDesc hscan;
	TupleTableSlot *hslot;
	bool		all_done;

	EnterParallelMode();
	pcxt = CreateParallelContext("ruvector_tam", "RvKnnParallelMain", nworkers);

	pscansize = table_parallelscan_estimate(r->rel, snapshot);
	sharedsize = add_size(add_size(MAXALIGN(sizeof(RvKnnParShared)), MAXALIGN(pscansize)),
						  mul_size(nworkers, sizeof(RvKnnParWorker)));
	querysize = mul_size(r->qdim, sizeof(float));
	resultsize = mul_size(mul_size(nworkers, r->bound), sizeof(RvKnnEntry));
	shm_toc_estimate_chunk(&pcxt->estimator, sharedsize);
	shm_toc_estimate_chunk(&pcxt->estimator, querysize);
	shm_toc_estimate_chunk(&pcxt->estimator, resultsize);
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	if (st->qual_list != NIL)
	{
		qualstr = nodeToString(st->qual_list);
		shm_toc_estimate_chunk(&pcxt->estimator, strlen(qualstr) + 1);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}

	shared = shm_toc_allocate(pcxt->toc, sharedsize);
	memset(shared, 0, sizeof(RvKnnParShared));
	shared->relid = RelationGetRelid(r->rel);
	shared->attnum = r->attnum;
	shared->kind = (int) r->kind;
	shared->queryleft = r->queryleft;
	shared->qdim = r->qdim;
	shared->bound = r->bound;
	shared->nworkers = nworkers;
	SpinLockInit(&shared->mutex);
	ConditionVariableInit(&shared->done_cv);
	shared->pscan_off = MAXALIGN(sizeof(RvKnnParShared));
	shared->workers_off = shared->pscan_off + MAXALIGN(pscansize);
	pscan = (ParallelTableScanDesc) ((char *) shared + shared->pscan_off);
	workers = (RvKnnParWorker *) ((char *) shared + shared->workers_off);
	memset(workers, 0, sizeof(RvKnnParWorker) * nworkers);
	table_parallelscan_initialize(r->rel, pscan, snapshot);
	shm_toc_insert(pcxt->toc, RV_KNN_KEY_SHARED, shared);
	{
		float	   *q = shm_toc_allocate(pcxt->toc, querysize);

		memcpy(q, r->qx, querysize);
		shm_toc_insert(pcxt->toc, RV_KNN_KEY_QUERY, q);
	}
	results = shm_toc_allocate(pcxt->toc, resultsize);
	shm_toc_insert(pcxt->toc, RV_KNN_KEY_RESULTS, results);
	if (qualstr != NULL)
	{
		char	   *q = shm_toc_allocate(pcxt->toc, strlen(qualstr) + 1);

		strcpy(q, qualstr);
		shm_toc_insert(pcxt->toc, RV_KNN_KEY_QUAL, q);
	}

	LaunchParallelWorkers(pcxt);
	*nlaunched = pcxt->nworkers_launched;

	/*
	 * The leader's share: blocks of the same shared scan (all of them when
	 * no worker started), none under parallel_leader_participation = off.
	 */
	if (parallel_leader_participation || pcxt->nworkers_launched == 0)
	{
		int			nstarted;

		hslot = MakeSingleTupleTableSlot(RelationGetDescr(r->rel), &TTSOpsBufferHeapTuple);
		hscan = RvHeap()->scan_begin(r->rel, snapshot, 0, NULL, pscan,
									 RV_KNN_SCAN_FLAGS | SO_ALLOW_SYNC);
		RvKnnRankScan(r, hscan, hslot);
		RvHeap()->scan_end(hscan);
		ExecDropSingleTupleTableSlot(hslot);

		/* close the pass; wait for the workers that started */
		SpinLockAcquire(&shared->mutex);
		shared->closed = true;
		nstarted = shared->nstarted;
		SpinLockRelease(&shared->mutex);
		ConditionVariablePrepareToSleep(&shared->done_cv);
		for (;;)
		{
			int			ndone;

			SpinLockAcquire(&shared->mutex);
			ndone = shared->ndone;
			SpinLockRelease(&shared->mutex);
			if (ndone >= nstarted)
				break;
			ConditionVariableSleep(&shared->done_cv, WAIT_EVENT_PARALLEL_FINISH);
		}
		ConditionVariableCancelSleep();
		all_done = (nstarted == pcxt->nworkers_launched);
	}
	else
		all_done = true;

	/*
	 * Then every worker that started is done (an error of one is raised
	 * while waiting); when all are, wait for them to exit, else
	 * DestroyParallelContext terminates the rest.
	 */
	if (all_done)
		WaitForParallelWorkersToFinish(pcxt);
	*nranked_workers = 0;
	for (int w = 0; w < pcxt->nworkers_launched; w++)
	{
		const RvKnnEntry *we = results + (int64) w * r->bound;

		for (int64 i = 0; i < workers[w].nentries; i++)
			RvKnnOffer(r->entries, &r->n, r->bound, &we[i]);
		r->nranked += workers[w].nranked;
		r->nskipped += workers[w].nskipped;
		r->nsign += workers[w].nsign;
		*nranked_workers += workers[w].nranked;
	}
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return true;
}

/*
 * RvKnnParallelMain: the entry point of a parallel ranking pass's worker
 * (RvKnnRankParallel).  Opens the table with AccessShareLock (the leader
 * holds it already; the worker is in its lock group), restores the pass's
 * snapshot from the shared scan, ranks the blocks it takes from that scan
 * with the shipped WHERE clauses, and writes its best keys and counts to
 * its result area; does nothing when the leader has closed the pass.
 * Errors reach the leader.
 */
void
RvKnnParallelMain(dsm_segment *seg, shm_toc *toc)
{
	RvKnnParShared *shared = shm_toc_lookup(toc, RV_KNN_KEY_SHARED, false);
	ParallelTableScanDesc pscan = (ParallelTableScanDesc) ((char *) shared + shared->pscan_off);
	RvKnnParWorker *me;
	RvKnnEntry *results = shm_toc_lookup(toc, RV_KNN_KEY_RESULTS, false);
	char	   *qualstr = shm_toc_lookup(toc, RV_KNN_KEY_QUAL, true);
	RvKnnRanker r;
	Snapshot	snapshot;
	uint32		flags = RV_KNN_SCAN_FLAGS | SO_ALLOW_SYNC;
	TableScanDesc hscan;
	TupleTableSlot *hslot;

	Assert(ParallelWorkerNumber >= 0 && ParallelWorkerNumber < shared->nworkers);
	me = (RvKnnParWorker *) ((char *) shared + shared->workers_off) + ParallelWorkerNumber;

	/* a pass the leader has closed has no block left for this worker */
	SpinLockAcquire(&shared->mutex);
	if (shared->closed)
	{
		SpinLockRelease(&shared->mutex);
		return;
	}
	shared->nstarted++;
	SpinLockRelease(&shared->mutex);

	memset(&r, 0, sizeof(r));
	r.rel = table_open(shared->relid, AccessShareLock);
	r.attnum = shared->attnum;
	r.kind = (RvDistanceKind) shared->kind;
	r.queryleft = shared->queryleft;
	r.qx = shm_toc_lookup(toc, RV_KNN_KEY_QUERY, false);
	r.qdim = shared->qdim;
	r.econtext = CreateStandaloneExprContext();
	r.cxt = CurrentMemoryContext;
	r.storeno = -1;
	r.bound = shared->bound;
	r.entries = palloc(sizeof(RvKnnEntry) * r.bound);
	if (qualstr != NULL)
		r.qual = ExecInitQual((List *) stringToNode(qualstr), NULL);

	if (pscan->phs_snapshot_any)
		snapshot = SnapshotAny;
	else
	{
		snapshot = RestoreSnapshot((char *) pscan + pscan->phs_snapshot_off);
		RegisterSnapshot(snapshot);
		flags |= SO_TEMP_SNAPSHOT;
	}
	hslot = MakeSingleTupleTableSlot(RelationGetDescr(r.rel), &TTSOpsBufferHeapTuple);
	hscan = RvHeap()->scan_begin(r.rel, snapshot, 0, NULL, pscan, flags);
	RvKnnRankScan(&r, hscan, hslot);
	RvHeap()->scan_end(hscan);
	ExecDropSingleTupleTableSlot(hslot);

	memcpy(results + (int64) ParallelWorkerNumber * r.bound, r.entries,
		   sizeof(RvKnnEntry) * r.n);
	me->nentries = r.n;
	me->nranked = r.nranked;
	me->nskipped = r.nskipped;
	me->nsign = r.nsign;
	FreeExprContext(r.econtext, true);
	table_close(r.rel, AccessShareLock);

	SpinLockAcquire(&shared->mutex);
	shared->ndone++;
	SpinLockRelease(&shared->mutex);
	ConditionVariableBroadcast(&shared->done_cv);
}

/*
 * RvKnnRank: ranks every visible row passing the scan's quals and leaves
 * the best st->bound keys, sorted, in st->entries.  Reads the table with
 * heap's sequential scan under the executor's snapshot, in parallel
 * (RvKnnRankParallel) when the plan asks for workers, the backend is not
 * in parallel mode already, the query is not NULL and the workers' keys
 * fit RV_KNN_PAR_MAX_RESULT_BYTES; pins store pages
 * only while a row is scored.  The query expression is evaluated on the
 * first pass only (it is constant during the scan).  Raises the
 * distance's dimension error and the store's corruption errors.
 */
static void
RvKnnRank(RvKnnScanState *st)
{
	ScanState  *ss = &st->css.ss;
	EState	   *estate = ss->ps.state;
	ExprContext *econtext = ss->ps.ps_ExprContext;
	Relation	rel = ss->ss_currentRelation;
	RvKnnRanker r;
	MemoryContext old;
	bool		done = false;

	old = MemoryContextSwitchTo(st->cxt);
	if (!st->query_ready)
	{
		bool		qnull;
		Datum		qdatum;

		ResetExprContext(econtext);
		qdatum = ExecEvalExpr(st->query_expr, econtext, &qnull);
		if (!qnull)
		{
			st->query = (RuVector *) PG_DETOAST_DATUM_COPY(qdatum);
			RvVectorCheck(st->query);
		}
		st->query_ready = true;
	}
	if (st->entries == NULL)
		st->entries = palloc(sizeof(RvKnnEntry) * st->bound);
	else
		st->entries = repalloc(st->entries, sizeof(RvKnnEntry) * st->bound);
	MemoryContextSwitchTo(old);

	memset(&r, 0, sizeof(r));
	r.rel = rel;
	r.attnum = st->attnum;
	r.kind = st->kind;
	r.queryleft = st->queryleft;
	r.qx = st->query ? st->query->x : NULL;
	r.qdim = st->query ? st->query->dim : 0;
	r.qual = ss->ps.qual;
	r.econtext = econtext;
	r.cxt = st->cxt;
	r.storeno = -1;
	r.entries = st->entries;
	r.bound = st->bound;

	st->nlaunched = 0;
	st->nranked_workers = 0;
	if (st->plan_workers > 0 && st->query != NULL && !IsInParallelMode() &&
		(double) st->bound * st->plan_workers * sizeof(RvKnnEntry) <= RV_KNN_PAR_MAX_RESULT_BYTES)
		done = RvKnnRankParallel(st, &r, estate->es_snapshot, st->plan_workers,
								 &st->nlaunched, &st->nranked_workers);
	if (!done)
	{
		TupleTableSlot *hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
														 &TTSOpsBufferHeapTuple);
		TableScanDesc hscan = RvHeap()->scan_begin(rel, estate->es_snapshot, 0, NULL, NULL,
												   RV_KNN_SCAN_FLAGS);

		RvKnnRankScan(&r, hscan, hslot);
		RvHeap()->scan_end(hscan);
		ExecDropSingleTupleTableSlot(hslot);
	}

	qsort(st->entries, r.n, sizeof(RvKnnEntry), RvKnnQsortCmp);
	st->nentries = r.n;
	st->nranked = r.nranked;
	st->nskipped = r.nskipped;
	st->nsign = r.nsign;
	st->ranked = true;
	st->npasses++;
}

/*
 * RvKnnNext: ExecScan's access method: the next row in key order, fetched
 * by TID under the snapshot it was ranked with, in the scan slot; or an
 * empty slot at the end.
 */
static TupleTableSlot *
RvKnnNext(ScanState *node)
{
	RvKnnScanState *st = (RvKnnScanState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;
	Relation	rel = node->ss_currentRelation;

	if (!st->ranked)
		RvKnnRank(st);
	for (;;)
	{
		RvKnnEntry *e;

		if (st->next >= st->nentries)
		{
			/* more wanted than kept, and the last pass saw more: widen */
			if (st->nranked <= st->bound)
				return ExecClearTuple(slot);
			st->bound = Min(st->bound * 4, st->nranked);
			RvKnnRank(st);
			continue;
		}
		e = &st->entries[st->next++];
		if (table_tuple_fetch_row_version(rel, &e->tid, node->ps.state->es_snapshot, slot))
			return slot;
		/* a row the snapshot saw while ranking is still visible to it */
		elog(ERROR, "ruvector exact k-NN scan: row (%u,%u) of \"%s\" vanished",
			 ItemPointerGetBlockNumber(&e->tid), ItemPointerGetOffsetNumber(&e->tid),
			 RelationGetRelationName(rel));
	}
}

/* ExecScan's recheck: nothing beyond the quals, which ExecScan evaluates. */
static bool
RvKnnRecheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

static void
RvKnnBegin(CustomScanState *node, EState *estate, int eflags)
{
	RvKnnScanState *st = (RvKnnScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;

	st->query_expr = ExecInitExpr(linitial(cscan->custom_exprs), &node->ss.ps);
	st->orderexpr = lsecond(cscan->custom_exprs);
	st->attnum = intVal(list_nth(cscan->custom_private, RV_KNN_PRIV_ATTNUM));
	st->kind = (RvDistanceKind) intVal(list_nth(cscan->custom_private, RV_KNN_PRIV_KIND));
	st->queryleft = intVal(list_nth(cscan->custom_private, RV_KNN_PRIV_QUERYLEFT)) != 0;
	st->plan_bound = Max(intVal(list_nth(cscan->custom_private, RV_KNN_PRIV_BOUND)), 1);
	st->plan_workers = intVal(list_nth(cscan->custom_private, RV_KNN_PRIV_WORKERS));
	st->qual_list = cscan->scan.plan.qual;
	st->bound = st->plan_bound;
	st->cxt = AllocSetContextCreate(estate->es_query_cxt, "ruvector exact k-NN scan",
									ALLOCSET_DEFAULT_SIZES);
}

static TupleTableSlot *
RvKnnExec(CustomScanState *node)
{
	return ExecScan(&node->ss, RvKnnNext, RvKnnRecheck);
}

static void
RvKnnEnd(CustomScanState *node)
{
	RvKnnScanState *st = (RvKnnScanState *) node;

	if (node->ss.ps.ps_ResultTupleSlot)
		ExecClearTuple(node->ss.ps.ps_ResultTupleSlot);
	ExecClearTuple(node->ss.ss_ScanTupleSlot);
	MemoryContextDelete(st->cxt);
	if (node->ss.ss_currentRelation)
		RvTierHeatFlush(node->ss.ss_currentRelation);
}

static void
RvKnnRescan(CustomScanState *node)
{
	RvKnnScanState *st = (RvKnnScanState *) node;

	MemoryContextReset(st->cxt);
	st->entries = NULL;
	st->query_ready = false;
	st->query = NULL;
	st->ranked = false;
	st->bound = st->plan_bound;
	st->nentries = 0;
	st->next = 0;
	st->nranked = 0;
	st->npasses = 0;
	ExecScanReScan(&node->ss);
}

/*
 * EXPLAIN: the ordering, the bound, the workers planned; with ANALYZE, the
 * workers launched by the last pass and the rows they ranked, rows ranked
 * (by every participant) and ruled out on codes, and passes.
 */
static void
RvKnnExplain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	RvKnnScanState *st = (RvKnnScanState *) node;
	List	   *context = set_deparse_context_plan(es->deparse_cxt, node->ss.ps.plan,
												   ancestors);
	char	   *order = deparse_expression((Node *) st->orderexpr, context,
										   es->verbose || list_length(es->rtable) > 1,
										   false);

	ExplainPropertyText("Order By", order, es);
	ExplainPropertyInteger("Bound", NULL, st->plan_bound, es);
	if (st->plan_workers > 0)
		ExplainPropertyInteger("Workers Planned", NULL, st->plan_workers, es);
	if (es->analyze)
	{
		if (st->plan_workers > 0)
		{
			ExplainPropertyInteger("Workers Launched", NULL, st->nlaunched, es);
			ExplainPropertyInteger("Rows Ranked By Workers", NULL, st->nranked_workers, es);
		}
		ExplainPropertyInteger("Rows Ranked", NULL, st->nranked, es);
		ExplainPropertyInteger("Rows Ruled Out On Codes", NULL, st->nskipped, es);
		ExplainPropertyInteger("Of Them On Sign Bounds", NULL, st->nsign, es);
		ExplainPropertyInteger("Ranking Passes", NULL, st->npasses, es);
	}
}

static const CustomExecMethods rv_knn_exec_methods = {
	.CustomName = RV_KNN_SCAN_NAME,
	.BeginCustomScan = RvKnnBegin,
	.ExecCustomScan = RvKnnExec,
	.EndCustomScan = RvKnnEnd,
	.ReScanCustomScan = RvKnnRescan,
	.ExplainCustomScan = RvKnnExplain,
};

/*
 * RvKnnCreateScanState: the CustomScanState for cscan (the scan node's
 * CreateCustomScanState); BeginCustomScan reads the plan's fields.
 */
Node *
RvKnnCreateScanState(CustomScan *cscan)
{
	RvKnnScanState *st = (RvKnnScanState *) newNode(sizeof(RvKnnScanState),
													T_CustomScanState);

	st->css.methods = &rv_knn_exec_methods;
	return (Node *) st;
}
