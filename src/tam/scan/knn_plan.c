/*-------------------------------------------------------------------------
 *
 * knn_plan.c
 *	  Planning of the exact k-NN scan (rv_knn.h): a set_rel_pathlist hook
 *	  that, for a query over a single ruvector table ordered by a distance
 *	  between one of its ruvector columns and a query vector and limited to
 *	  a known number of rows, offers a CustomPath already sorted by that
 *	  distance; and the plan it turns into.
 *
 * The path is offered only when every condition below holds, so that the
 * scan can produce exactly the rows, in exactly the order, that a Sort
 * over a sequential scan would:
 *	- the relation is a plain ruvector table and the only base relation of
 *	  its query level (or a ruvector partition of it: a Merge Append then
 *	  merges the partitions' ordered scans), with no FOR UPDATE/SHARE;
 *	- the query's sort order starts with `distance ASC NULLS LAST` (float8's
 *	  btree order), the distance being one of the type's distance functions
 *	  (operator or function form) between a ruvector column of the table
 *	  and an expression with no Vars, no volatile functions and no
 *	  subplans (a constant, a parameter, an init-plan result...);
 *	- a LIMIT (+ OFFSET) of at most RV_KNN_MAX_BOUND rows is known at plan
 *	  time (for prepared statements: in custom plans);
 *	- no WHERE clause reads a vector value (IS [NOT] NULL on a column is
 *	  allowed) or calls a volatile function.
 * Anything else is left to the planner's usual paths, as is any query when
 * ruvector.enable_exact_scan is off, and any query a usable ruhnsw index
 * can order (unless enable_indexscan is off): the index was built to
 * answer it.  The path is costed from the Seq Scan it reads like, so
 * enable_seqscan = off discourages it as it does a Seq Scan.  The path is costed as one
 * sequential pass with one distance per row and no sort, so it beats Sort
 * over Seq Scan and loses to an ruhnsw index scan, which does far less.
 *
 * The plan also says how many parallel workers a ranking pass asks for
 * (and the path's cost then divides the CPU work among the participants)
 * (knn_exec.c runs the pass with its own ParallelContext, under no Gather):
 * compute_parallel_worker's answer for the pages a pass reads, the heap's
 * plus the store's (estimated from the column's average width, a quarter of
 * it when searches score on SQ8 codes), so the table's parallel_workers,
 * max_parallel_workers_per_gather and min_parallel_table_scan_size rule as
 * they do a Parallel Seq Scan, and parallel_setup_cost / parallel_tuple_cost
 * weigh the workers' cost against the work they take off the leader as
 * for a Gather (RvKnnWorkers); none when the query cannot run in parallel
 * mode (PlannerGlobal.parallelModeOK), the relation cannot be scanned in
 * parallel (RelOptInfo.consider_parallel: temporary tables, parallel-unsafe
 * clauses) or a WHERE clause holds a Param (workers get the clauses as a
 * node string, without the executor's parameters).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/sysattr.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_class.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "tam/store/rv_score.h"
#include "tam/scan/rv_colscan.h"
#include "tam/scan/rv_knn.h"
#include "tam/scan/rv_scanpath.h"
#include "tam/rv_tam.h"

/* float8's btree operator family (pg_opfamily.dat: float_ops) */
#define RV_FLOAT_BTREE_FAM_OID	1970

bool		rv_enable_exact_scan = true;

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

/* A matched ORDER BY distance: which column, which distance, the query. */
typedef struct RvKnnMatch
{
	Expr	   *orderexpr;		/* the whole distance expression */
	Expr	   *query;			/* the argument that is not the column */
	AttrNumber	attnum;
	RvDistanceKind kind;
	bool		queryleft;		/* query is the first argument */
} RvKnnMatch;

/*
 * RvKnnFunctionKind: the distance kind of function funcid if it is one of
 * this library's distance functions (C language, our probin, a known
 * symbol), else RV_DIST_NONE.
 */
static RvDistanceKind
RvKnnFunctionKind(Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	RvDistanceKind kind = RV_DIST_NONE;

	if (!HeapTupleIsValid(tup))
		return RV_DIST_NONE;
	if (((Form_pg_proc) GETSTRUCT(tup))->prolang == ClanguageId)
	{
		bool		isnull;
		Datum		bin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);

		if (!isnull)
		{
			char	   *probin = TextDatumGetCString(bin);
			size_t		len = strlen(probin);
			const char *suffix = "ruvector_tam";

			if (len >= strlen(suffix) && strcmp(probin + len - strlen(suffix), suffix) == 0)
			{
				Datum		src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc,
												  &isnull);

				if (!isnull)
					kind = RvDistanceKindFromSymbol(TextDatumGetCString(src));
			}
		}
	}
	ReleaseSysCache(tup);
	return kind;
}

/*
 * RvKnnMatchDistance: true if expr is a distance between a ruvector column
 * of rel (typoid: the ruvector type) and a query expression the scan can
 * evaluate once; fills m.
 */
static bool
RvKnnMatchDistance(Expr *expr, RelOptInfo *rel, Oid typoid, RvKnnMatch *m)
{
	Oid			funcid;
	List	   *args;

	if (IsA(expr, OpExpr))
	{
		funcid = get_opcode(((OpExpr *) expr)->opno);
		args = ((OpExpr *) expr)->args;
	}
	else if (IsA(expr, FuncExpr))
	{
		funcid = ((FuncExpr *) expr)->funcid;
		args = ((FuncExpr *) expr)->args;
	}
	else
		return false;
	if (list_length(args) != 2 || exprType((Node *) expr) != FLOAT8OID)
		return false;
	m->kind = RvKnnFunctionKind(funcid);
	if (m->kind == RV_DIST_NONE)
		return false;

	for (int side = 0; side < 2; side++)
	{
		Node	   *col = list_nth(args, side);
		Node	   *query = list_nth(args, 1 - side);
		Var		   *var;

		if (!IsA(col, Var))
			continue;
		var = (Var *) col;
		if (var->varno != rel->relid || var->varlevelsup != 0 || var->varattno <= 0 ||
			var->vartype != typoid)
			continue;
		if (exprType(query) != typoid || contain_var_clause(query) ||
			contain_volatile_functions(query) || contain_subplans(query))
			continue;
		m->orderexpr = expr;
		m->query = (Expr *) query;
		m->attnum = var->varattno;
		m->queryleft = (side == 1);
		return true;
	}
	return false;
}

/*
 * RvKnnQualsAllowed: true if no restriction clause of rel reads a vector
 * value (an IS [NOT] NULL test of a column reads none), refers to the
 * whole row, or calls a volatile function (the scan evaluates clauses
 * once while ranking and again on the rows it returns).
 */
static bool
RvKnnQualsAllowed(RelOptInfo *rel, Oid relid, Oid typoid)
{
	ListCell   *lc;

	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Node	   *clause = (Node *) ri->clause;
		Bitmapset  *attrs = NULL;
		int			k = -1;

		if (contain_volatile_functions(clause))
			return false;
		if (IsA(clause, NullTest) && IsA(((NullTest *) clause)->arg, Var))
			continue;
		pull_varattnos(clause, rel->relid, &attrs);
		while ((k = bms_next_member(attrs, k)) >= 0)
		{
			AttrNumber	attno = k + FirstLowInvalidHeapAttributeNumber;

			if (attno == InvalidAttrNumber)
				return false;	/* whole-row reference */
			if (attno > 0 && get_atttype(relid, attno) == typoid)
				return false;
		}
	}
	return true;
}

/*
 * RvKnnIndexCanOrder: true if rel has a usable ruhnsw index on column
 * attnum that can return rows in the order of expr (an operator of the
 * index's operator family).  Such a query is the index's: an ANN index was
 * created to answer it, and the exact scan does not compete with it.
 */
static bool
RvKnnIndexCanOrder(RelOptInfo *rel, AttrNumber attnum, Expr *expr)
{
	Oid			amoid = get_index_am_oid("ruhnsw", true);
	ListCell   *lc;

	if (!OidIsValid(amoid) || !IsA(expr, OpExpr))
		return false;
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);

		if (index->relam != amoid || index->nkeycolumns < 1 ||
			index->indexkeys[0] != attnum || (index->indpred != NIL && !index->predOK))
			continue;
		if (SearchSysCacheExists3(AMOPOPID, ObjectIdGetDatum(((OpExpr *) expr)->opno),
								  CharGetDatum(AMOP_ORDER),
								  ObjectIdGetDatum(index->opfamily[0])))
			return true;
	}
	return false;
}

/* RvKnnIsRuvectorTable: true if relid's table access method is ruvector. */
static bool
RvKnnIsRuvectorTable(Oid relid)
{
	Oid			amoid = get_table_am_oid(RV_TAM_NAME, true);
	HeapTuple	tup;
	bool		result = false;

	if (!OidIsValid(amoid))
		return false;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_class) GETSTRUCT(tup))->relam == amoid;
		ReleaseSysCache(tup);
	}
	return result;
}

/* expression_tree_walker callback: true at the first Param */
static bool
RvKnnContainsParam(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param))
		return true;
	return expression_tree_walker(node, RvKnnContainsParam, context);
}

/*
 * RvKnnWorkers: the parallel workers a ranking pass over rel keeping bound
 * keys should ask for (see the file header), 0 for a serial pass; when
 * not 0, *divisorp is the share of the work the leader keeps, inverted.  As the
 * planner weighs a Gather, workers are asked for only when the share of
 * the pass's CPU work they take off the leader (a tuple and a distance per
 * row, divided as cost_seqscan divides it) saves more than
 * parallel_setup_cost and parallel_tuple_cost for each key they send back.
 */
static int
RvKnnWorkers(PlannerInfo *root, RelOptInfo *rel, Oid relid, AttrNumber attnum, double bound,
			 double *divisorp)
{
	ListCell   *lc;
	int32		width;
	double		pages,
				work,
				divisor,
				leader;
	int			workers;

	if (!root->glob->parallelModeOK || !rel->consider_parallel ||
		max_parallel_workers_per_gather <= 0)
		return 0;
	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		if (RvKnnContainsParam((Node *) ri->clause, NULL))
			return 0;
	}
	width = get_attavgwidth(relid, attnum);
	if (width <= 0)
	{
		Oid			typid;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
		width = get_typavgwidth(typid, typmod);
	}
	if (rv_search_codes != RV_SCORE_EXACT)
		width = width / 4 + 16;
	pages = (double) rel->pages + ceil(rel->tuples * width / (double) BLCKSZ);
	workers = compute_parallel_worker(rel, pages, -1, max_parallel_workers_per_gather);
	if (workers <= 0)
		return 0;

	/* get_parallel_divisor's arithmetic (costsize.c) */
	divisor = workers;
	leader = 1.0 - 0.3 * workers;
	if (parallel_leader_participation && leader > 0)
		divisor += leader;
	/* the CPU part only: cost_seqscan does not divide the pages read */
	work = (cpu_tuple_cost + cpu_operator_cost) * rel->tuples;
	if (work - work / divisor <= parallel_setup_cost + parallel_tuple_cost * bound * workers)
		return 0;
	*divisorp = divisor;
	return workers;
}

static Plan *RvKnnPlanPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
						   List *tlist, List *clauses, List *custom_plans);

static const CustomPathMethods rv_knn_path_methods = {
	.CustomName = RV_KNN_SCAN_NAME,
	.PlanCustomPath = RvKnnPlanPath,
};

static const CustomScanMethods rv_knn_scan_methods = {
	.CustomName = RV_KNN_SCAN_NAME,
	.CreateCustomScanState = RvKnnCreateScanState,
};

/*
 * RvKnnSetRelPathlist: the set_rel_pathlist hook of the extension.  For a
 * ruvector table, adds the column scan (colscan.c) when it applies, and
 * the exact k-NN path when the conditions in the file header hold.
 */
static void
RvKnnSetRelPathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	PathKey    *pathkey;
	Oid			typoid;
	RvKnnMatch	match;
	bool		found = false;
	ListCell   *lc;
	CustomPath *path;
	Path	   *seq;
	double		bound;
	double		divisor = 1.0;
	int			workers;
	Cost		startup_cost;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (!IS_SIMPLE_REL(rel) || rte->rtekind != RTE_RELATION ||
		rte->relkind != RELKIND_RELATION || rte->inh)
		return;
	if (!RvKnnIsRuvectorTable(rte->relid))
		return;
	typoid = RvTypeOid(true);
	if (!OidIsValid(typoid))
		return;

	/*
	 * Both custom scans are costed from the Seq Scan they replace (which
	 * carries enable_seqscan's disable_cost); cost it once here, as the
	 * planner's own Seq Scan path may already have been dominated.
	 */
	seq = create_seqscan_path(root, rel, NULL, 0);

	/* any scan of the table: the column scan, if it reads fewer vectors */
	RvColScanAddPath(root, rel, rte, typoid, seq);

	if (!rv_enable_exact_scan)
		return;
	if (root->query_pathkeys == NIL || root->query_pathkeys != root->sort_pathkeys ||
		root->parse->rowMarks != NIL || root->limit_tuples < 1.0 ||
		root->limit_tuples > RV_KNN_MAX_BOUND ||
		bms_membership(root->all_baserels) != BMS_SINGLETON ||
		!bms_is_empty(rel->lateral_relids))
		return;

	pathkey = linitial_node(PathKey, root->query_pathkeys);
	if (pathkey->pk_strategy != BTLessStrategyNumber || pathkey->pk_nulls_first ||
		pathkey->pk_opfamily != RV_FLOAT_BTREE_FAM_OID)
		return;
	foreach(lc, pathkey->pk_eclass->ec_members)
	{
		EquivalenceMember *em = lfirst_node(EquivalenceMember, lc);

		if (RvKnnMatchDistance(em->em_expr, rel, typoid, &match))
		{
			found = true;
			break;
		}
	}
	if (!found || !RvKnnQualsAllowed(rel, rte->relid, typoid))
		return;
	if (enable_indexscan && RvKnnIndexCanOrder(rel, match.attnum, match.orderexpr))
		return;

	bound = root->limit_tuples;
	/* the whole Seq Scan plus one distance per qualifying row, no sort */
	startup_cost = seq->total_cost + cpu_operator_cost * rel->rows;
	workers = RvKnnWorkers(root, rel, rte->relid, match.attnum, bound, &divisor);
	if (workers > 0)
	{
		/*
		 * A parallel pass: as cost_seqscan and cost_gather_merge would
		 * have it, the CPU work divided among the participants, the pages
		 * read once, the workers' setup and the keys they send back.
		 */
		Cost		disk = seq_page_cost * rel->pages;

		startup_cost = disk + (startup_cost - disk) / divisor + parallel_setup_cost +
			parallel_tuple_cost * bound * workers;
	}
	/* then a fetch by TID per row returned */
	path = RvScanPathCreate(rel, &rv_knn_path_methods, startup_cost,
							startup_cost + cpu_tuple_cost * Min(bound, rel->rows),
							list_make1(pathkey),
							list_make2(list_make2(match.query, match.orderexpr),
									   list_make5(makeInteger(match.attnum),
												  makeInteger((int) match.kind),
												  makeInteger(match.queryleft ? 1 : 0),
												  makeInteger((int) bound),
												  makeInteger(workers))));
	add_path(rel, &path->path);
}

/*
 * RvKnnPlanPath: the CustomScan for a path made above: the restriction
 * clauses become its qual (shown by EXPLAIN as Filter, rechecked by
 * EvalPlanQual), the rest goes to custom_exprs / custom_private.
 */
static Plan *
RvKnnPlanPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
			  List *tlist, List *clauses, List *custom_plans)
{
	return RvScanPlanCreate(rel, best_path, tlist, clauses, &rv_knn_scan_methods,
							linitial(best_path->custom_private),
							lsecond(best_path->custom_private));
}

/*
 * RvKnnInit: installs the planner hook, registers the scan's methods (so
 * that plans can be read back) and defines ruvector.enable_exact_scan.
 * Called once per backend from the table AM layer's init.
 */
void
RvKnnInit(void)
{
	DefineCustomBoolVariable("ruvector.enable_exact_scan",
							 "Enables the exact k-NN scan of ruvector tables for ORDER BY distance LIMIT k.",
							 "When off, such queries sort a sequential scan's rows.",
							 &rv_enable_exact_scan, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	RegisterCustomScanMethods(&rv_knn_scan_methods);
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = RvKnnSetRelPathlist;
}
