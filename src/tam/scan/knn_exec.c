/*-------------------------------------------------------------------------
 *
 * knn_exec.c
 *	  Execution of the exact k-NN scan (rv_knn.h).  On the first row
 *	  requested it ranks the table: one pass of heap's own sequential scan
 *	  under the query's snapshot reads each visible row's vref without
 *	  resolving the row, evaluates the WHERE clauses on the raw tuple,
 *	  scores the row's vector through the store's scorer (rv_score.h), and
 *	  keeps the best `bound` keys (distance, TID) in a max-heap.  It then returns
 *	  those rows in key order, each fetched by TID (resolved by the table
 *	  AM) and projected.
 *
 * Invariants:
 *	- a row's distance is computed by RvVectorDistance() on the vector's
 *	  floats as one piece (RvStoreScoreExact).  It is therefore bit-for-bit
 *	  the value the SQL expression computes, and the order equals that of
 *	  Sort over a Seq Scan (ties by TID, which that Sort leaves
 *	  unspecified).  The one shortcut: once the heap is full, a row whose
 *	  distance on the store's SQ8 codes, less its error bound, exceeds the
 *	  heap's worst key is skipped without reading its floats, as its exact
 *	  distance cannot enter the heap (RvKnnScoreRow);
 *	- rows are ranked with the same errors the expression would raise:
 *	  "different vector dimensions A and B" for a row whose vector does not
 *	  match the query's;
 *	- the scorer keeps the last row's store pages pinned for the next row
 *	  and is ended with its ranking pass: no pin is held across returned
 *	  rows;
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

#include "access/relscan.h"
#include "access/tableam.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "simd/rv_simd.h"
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

typedef struct RvKnnScanState
{
	CustomScanState css;
	/* from the plan */
	ExprState  *query_expr;
	Expr	   *orderexpr;		/* for EXPLAIN */
	AttrNumber	attnum;
	RvDistanceKind kind;
	bool		queryleft;
	int64		plan_bound;
	/* per (re)scan */
	MemoryContext cxt;			/* reset on rescan: query vector, entries */
	bool		query_ready;	/* query evaluated */
	RuVector   *query;			/* NULL when the query value is NULL */
	RvScorer   *scorer;			/* of the query over the last vref's store,
								 * during a ranking pass only */
	int16		storeno;		/* its number, or -1 */
	int64		nskipped;		/* rows of the last pass ruled out on codes */
	bool		ranked;			/* entries[] holds the current ranking */
	int64		bound;			/* capacity of entries[] */
	int64		nentries;
	int64		next;			/* entries[next] is the next row to return */
	int64		nranked;		/* rows ranked in the last pass */
	int			npasses;		/* ranking passes since the (re)scan */
	RvKnnEntry *entries;
} RvKnnScanState;

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
RvKnnCheckDims(RvKnnScanState *st, int rowdim, int querydim)
{
	if (rowdim != querydim)
		RvCheckDimCounts(st->queryleft ? querydim : rowdim,
						 st->queryleft ? rowdim : querydim);
}

/*
 * RvKnnScoreRow: the distance of the row whose vector datum is d (a vref,
 * or a real value such as an ADD COLUMN default not yet rewritten) into
 * *dist.  Returns false, leaving *dist unset, when the row certainly
 * cannot enter the heap: heapfull, and the lower end of its distance on
 * the store's codes (estimate minus error bound, rv_score.h) exceeds the
 * heap's worst key, so its exact distance does too (even a tie on TID is
 * ruled out).  Otherwise the distance is exact: RvStoreScoreExact or
 * RvVectorDistance, bit for bit the SQL expression's value.  Raises the
 * operator's dimension error and the store's corruption errors.
 */
static bool
RvKnnScoreRow(RvKnnScanState *st, Datum d, bool heapfull, double *dist)
{
	Relation	rel = st->css.ss.ss_currentRelation;
	const RvKnnEntry *top = &st->entries[0];
	int16		storeno;
	uint64		vid;

	if (!RvDatumGetVref(d, &storeno, &vid))
	{
		MemoryContext old = MemoryContextSwitchTo(st->css.ss.ps.ps_ExprContext->ecxt_per_tuple_memory);
		RuVector   *v = (RuVector *) PG_DETOAST_DATUM(d);

		MemoryContextSwitchTo(old);
		RvVectorCheck(v);
		RvKnnCheckDims(st, v->dim, st->query->dim);
		*dist = st->queryleft ?
			RvVectorDistance(st->kind, st->query->x, v->x, v->dim) :
			RvVectorDistance(st->kind, v->x, st->query->x, v->dim);
		return true;
	}

	if (storeno != st->storeno)
	{
		RvStore    *store = RvTamOpenStore(rel, RV_KEY_STORENO(storeno));
		MemoryContext old;

		RvKnnCheckDims(st, store->dims, st->query->dim);
		if (st->scorer)
			RvStoreEndScore(st->scorer);
		st->scorer = NULL;
		old = MemoryContextSwitchTo(st->cxt);
		st->scorer = RvStoreBeginScore(store, st->kind, st->query->x,
									   (RvScoreMode) rv_search_codes, NULL);
		if (!st->queryleft)
			RvStoreScoreQueryOnRight(st->scorer);
		MemoryContextSwitchTo(old);
		st->storeno = storeno;
	}

	if (heapfull && RvStoreScoreApproximate(st->scorer) && !top->isnull &&
		isfinite(top->dist) && RvStoreScoreExceeds(st->scorer, vid, top->dist))
	{
		st->nskipped++;
		return false;
	}
	*dist = RvStoreScoreExact(st->scorer, vid);
	return true;
}

/*
 * RvKnnRank: ranks every visible row passing the scan's quals and leaves
 * the best st->bound keys, sorted, in st->entries.  Reads the table with
 * heap's sequential scan under the executor's snapshot; pins store pages
 * only while a row is scored.  The query expression is evaluated on the
 * first pass only (it is constant during the scan).  Raises the distance's
 * dimension error and the store's corruption errors.
 */
static void
RvKnnRank(RvKnnScanState *st)
{
	ScanState  *ss = &st->css.ss;
	EState	   *estate = ss->ps.state;
	ExprContext *econtext = ss->ps.ps_ExprContext;
	ExprState  *qual = ss->ps.qual;
	Relation	rel = ss->ss_currentRelation;
	TableScanDesc hscan;
	TupleTableSlot *hslot;
	MemoryContext old;
	int64		n = 0;

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

	st->storeno = -1;
	st->nskipped = 0;
	hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsBufferHeapTuple);
	hscan = RvHeap()->scan_begin(rel, estate->es_snapshot, 0, NULL, NULL,
								 SO_TYPE_SEQSCAN | SO_ALLOW_STRAT | SO_ALLOW_PAGEMODE);
	st->nranked = 0;
	while (RvHeap()->scan_getnextslot(hscan, ForwardScanDirection, hslot))
	{
		RvKnnEntry	e;
		Datum		d;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		ResetExprContext(econtext);
		if (qual != NULL)
		{
			/*
			 * The qual was compiled for the node's virtual scan slot, which
			 * it reads without deforming: deform the heap tuple first.
			 */
			slot_getallattrs(hslot);
			econtext->ecxt_scantuple = hslot;
			if (!ExecQual(qual, econtext))
				continue;
		}
		st->nranked++;
		e.tid = hslot->tts_tid;
		e.dist = 0.0;
		d = slot_getattr(hslot, st->attnum, &isnull);
		e.isnull = isnull || st->query == NULL;
		if (!e.isnull && !RvKnnScoreRow(st, d, n == st->bound, &e.dist))
			continue;			/* cannot enter the heap */
		RvKnnOffer(st->entries, &n, st->bound, &e);
	}
	if (st->scorer)
		RvStoreEndScore(st->scorer);
	st->scorer = NULL;
	st->storeno = -1;
	RvHeap()->scan_end(hscan);
	ExecDropSingleTupleTableSlot(hslot);
	ResetExprContext(econtext);

	qsort(st->entries, n, sizeof(RvKnnEntry), RvKnnQsortCmp);
	st->nentries = n;
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
	st->bound = st->plan_bound;
	st->storeno = -1;
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
}

static void
RvKnnRescan(CustomScanState *node)
{
	RvKnnScanState *st = (RvKnnScanState *) node;

	MemoryContextReset(st->cxt);
	st->entries = NULL;
	st->query_ready = false;
	st->query = NULL;
	st->scorer = NULL;
	st->ranked = false;
	st->bound = st->plan_bound;
	st->nentries = 0;
	st->next = 0;
	st->nranked = 0;
	st->npasses = 0;
	ExecScanReScan(&node->ss);
}

/* EXPLAIN: the ordering, the bound; with ANALYZE, rows ranked and passes. */
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
	if (es->analyze)
	{
		ExplainPropertyInteger("Rows Ranked", NULL, st->nranked, es);
		ExplainPropertyInteger("Rows Ruled Out On Codes", NULL, st->nskipped, es);
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
