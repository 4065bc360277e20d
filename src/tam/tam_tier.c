/*-------------------------------------------------------------------------
 *
 * tam_tier.c
 *	  The table AM's side of tiers: ruvector_compact() (moving a table's
 *	  segments between tiers and compacting them, on demand; the pass
 *	  VACUUM runs too, RvTierMoveStore), the tier policy
 *	  (ruvector_set_tiers: ages, tablespaces, lossy cold, heat threshold),
 *	  ruvector_segments(), and writing the access heat scans counted
 *	  (RvTierHeatFlush).  src/tam/store/store_seal.c does the moves,
 *	  store_heat.c keeps the heat; rv_tier.h has the layout.
 *
 * Invariants kept here:
 *	- moves run under ShareUpdateExclusiveLock on the table (they exclude
 *	  each other, VACUUM and DDL; readers and writers go on), after the
 *	  directory's earlier moves are settled; moving a tier relation to
 *	  another tablespace takes AccessExclusiveLock on the table;
 *	- every move ruvector_compact makes is an event of the audit log
 *	  (seal, migrate or compact, by kind), and so is every truncation that
 *	  frees blocks;
 *	  VACUUM's moves and truncations, which have no transaction id to
 *	  write the log with, wait as pending events in the store's metapage
 *	  (RvAuditNoteMoves) until a drain appends them (RvAuditDrain, which
 *	  ruvector_compact runs first, store_audit.c);
 *	- a policy (ruvector_tier_policy, one row per table) only ever moves a
 *	  segment to a colder tier, never to a warmer one, and never one whose
 *	  heat is at or above its heat_threshold.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_tablespace_d.h"
#include "commands/tablespace.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/backend_progress.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "tam/rv_tam.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_tier.h"

/*
 * Progress of moves, shown by the view ruvector_compact_progress (over
 * pg_stat_get_progress_info('VACUUM'), whose command slot the moves use:
 * lazy VACUUM has ended its own by the time the stores are swept): the
 * phase (RV_PROGRESS_PHASE_*, beyond VACUUM's own phase numbers), the
 * segments to look at, those looked at, and the vectors moved.
 */
#define RV_PROGRESS_PHASE			0
#define RV_PROGRESS_SEGMENTS		1
#define RV_PROGRESS_DONE			2
#define RV_PROGRESS_VECTORS			3
#define RV_PROGRESS_PHASE_MOVING	101
#define RV_PROGRESS_PHASE_GAPS		102
#define RV_PROGRESS_PHASE_TRUNCATE	103

/* a sealed segment is compacted once this fraction of its vids was freed */
#define RV_COMPACT_DEAD_FRACTION 0.2
/* a full hot segment is compacted into warm once this fraction is free */
#define RV_COMPACT_HOT_FREE_FRACTION 0.8

/*
 * A table's tier policy (its row of ruvector_tier_policy): the age after
 * which a segment moves to each tier, whether cold keeps codes only, each
 * tier's tablespace (InvalidOid: the table's), and the access heat at or
 * above which a segment stays where it is.
 */
typedef struct RvTierPolicy
{
	bool		have[RV_NTIERS];
	int64		after[RV_NTIERS];	/* microseconds */
	bool		lossy_cold;
	Oid			spc[RV_NTIERS];
	bool		have_heat;
	double		heat_threshold;
	int64		heat_half_life; /* microseconds */
} RvTierPolicy;

/* columns of ruvector_tier_policy */
#define Anum_rv_policy_relid		1
#define Anum_rv_policy_after(t)		(1 + (t))	/* t = RV_TIER_WARM .. RV_TIER_COLD */
#define Anum_rv_policy_lossy_cold	5
#define Anum_rv_policy_spc(t)		(5 + (t))
#define Anum_rv_policy_heat_threshold 9
#define Anum_rv_policy_heat_half_life 10
#define Natts_rv_policy				10

static int64
RvIntervalMicros(const Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY +
		(int64) iv->month * 30 * USECS_PER_DAY;
}

/* OID of the extension's ruvector_tier_policy table, or InvalidOid. */
static Oid
RvTierPolicyRelid(void)
{
	Oid			nsp = RvExtensionSchema(true);

	return OidIsValid(nsp) ? get_relname_relid("ruvector_tier_policy", nsp) : InvalidOid;
}

/*
 * Reads relid's row of ruvector_tier_policy into *p (a scan of the small
 * table, without permission checks: VACUUM reads it for the table's
 * owner).  Leaves *p empty (no tier, no heat threshold, half-life an
 * hour) when there is none.
 */
static void
RvTierReadPolicy(Oid relid, RvTierPolicy *p)
{
	Oid			polrel = RvTierPolicyRelid();
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	memset(p, 0, sizeof(RvTierPolicy));
	p->heat_half_life = USECS_PER_HOUR;
	if (!OidIsValid(polrel))
		return;
	rel = table_open(polrel, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		d;

		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		{
			d = heap_getattr(tup, Anum_rv_policy_after(t), desc, &isnull);
			if (!isnull)
			{
				p->have[t] = true;
				p->after[t] = RvIntervalMicros(DatumGetIntervalP(d));
			}
			d = heap_getattr(tup, Anum_rv_policy_spc(t), desc, &isnull);
			p->spc[t] = isnull ? InvalidOid : DatumGetObjectId(d);
		}
		d = heap_getattr(tup, Anum_rv_policy_lossy_cold, desc, &isnull);
		p->lossy_cold = !isnull && DatumGetBool(d);
		d = heap_getattr(tup, Anum_rv_policy_heat_threshold, desc, &isnull);
		p->have_heat = !isnull;
		p->heat_threshold = isnull ? 0 : DatumGetFloat8(d);
		d = heap_getattr(tup, Anum_rv_policy_heat_half_life, desc, &isnull);
		p->heat_half_life = isnull ? USECS_PER_HOUR : RvIntervalMicros(DatumGetIntervalP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * The move the policy makes of segment segno: the target tier, or -1.
 * First by age (pol): a segment whose last vector was written longer ago
 * than a tier's interval goes to the coldest such tier colder than its
 * own, unless the policy has a heat_threshold and the segment's access
 * heat (store_heat.c) is at or above it.  Else compaction: a sealed
 * segment whose freed fraction passes RV_COMPACT_DEAD_FRACTION is
 * rewritten in its tier; a full hot segment whose free fraction passes
 * RV_COMPACT_HOT_FREE_FRACTION is packed into warm (lossless, so nothing
 * but its search code changes).
 */
static int
RvCompactPolicyTarget(RvStore *store, uint64 segno, uint64 next_vid, const RvTierPolicy *pol)
{
	RvSegInfo	si;
	int			tier;

	if (!RvStoreSegmentInfo(store, segno, pol->heat_half_life, &si) ||
		si.entry.prev_tier != RV_TIER_NONE)
		return -1;
	tier = si.entry.tier;
	if (!pol->have_heat || si.heat < pol->heat_threshold)
	{
		int64		age = GetCurrentTimestamp() - si.changed_at;

		for (int t = RV_NTIERS - 1; t > tier; t--)
			if (pol->have[t] && age >= pol->after[t])
				return t;
	}
	if (tier == RV_TIER_HOT)
	{
		if ((segno + 1) * RV_SEG_VIDS > next_vid)
			return -1;			/* the segment still filling */
		return (double) (RV_SEG_VIDS - si.nallocated) / RV_SEG_VIDS >=
			RV_COMPACT_HOT_FREE_FRACTION ? RV_TIER_WARM : -1;
	}
	{
		RvSealedRun *run = RvSealedReadRun(si.where, si.entry.blkno, segno);
		bool		compact = run->h.nlive > 0 &&
			(double) (run->h.nlive - Min(si.nallocated, run->h.nlive)) / run->h.nlive >=
			RV_COMPACT_DEAD_FRACTION;

		pfree(run);
		return compact ? tier : -1;
	}
}

/*
 * RvTierMoveStore: one pass of moves over a version-4 store of table:
 * settles the directory, moves every segment to tier (tier >= 0) or where
 * the table's policy says (tier < 0: RvCompactPolicyTarget), settles again (releasing
 * what no reader can still need) and truncates the freed tail blocks.
 * flags as for RvStoreSealSegment.  Caller holds
 * ShareUpdateExclusiveLock on the table.  Fills m.
 */
void
RvTierMoveStore(RvStore *store, Oid table, int tier, int flags, RvTierMoves *m)
{
	uint64		nsegs;
	uint64		next_vid;
	uint64		released;
	RvTierPolicy pol;
	bool		own_progress = MyBEEntry != NULL &&
		MyBEEntry->st_progress_command == PROGRESS_COMMAND_INVALID;

	RvTierReadPolicy(table, &pol);
	for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		store->tier_spc[t] = pol.spc[t];

	memset(m, 0, sizeof(RvTierMoves));
	if (own_progress)
		pgstat_progress_start_command(PROGRESS_COMMAND_VACUUM, table);
	RvDirSettle(store, &released);
	m->settled += released;
	nsegs = RvDirNumSegments(store);
	next_vid = RvStoreNextVid(store);
	pgstat_progress_update_param(RV_PROGRESS_PHASE, RV_PROGRESS_PHASE_MOVING);
	pgstat_progress_update_param(RV_PROGRESS_SEGMENTS, (int64) nsegs);
	pgstat_progress_update_param(RV_PROGRESS_DONE, 0);
	pgstat_progress_update_param(RV_PROGRESS_VECTORS, 0);
	for (uint64 segno = 0; segno < nsegs; segno++)
	{
		int			target = tier >= 0 ? tier : RvCompactPolicyTarget(store, segno, next_vid, &pol);
		uint64		nv,
					b0,
					b1;
		RvDirEntry	from;
		RvTierMoveCounts *k;

		CHECK_FOR_INTERRUPTS();
		if (target < 0)
			continue;
		RvDirReadEntry(store, segno, &from);
		k = &m->kind[from.tier == RV_TIER_HOT ? RV_MOVE_SEAL :
					 from.tier == target ? RV_MOVE_COMPACT : RV_MOVE_MIGRATE];
		if (RvStoreSealSegment(store, segno, target,
							   flags | (target == RV_TIER_COLD && pol.lossy_cold ? RV_SEAL_LOSSY : 0),
							   &nv, &b0, &b1))
		{
			k->segments++;
			k->vectors += nv;
			k->bytes_before += b0;
			k->bytes_after += b1;
		}
		pgstat_progress_update_param(RV_PROGRESS_DONE, (int64) segno + 1);
		pgstat_progress_update_param(RV_PROGRESS_VECTORS, (int64) RvTierMovesTotal(m).vectors);
	}
	m->unsettled = RvDirSettle(store, &released);
	m->settled += released;

	/*
	 * New runs went after the old ones; with those released, a run that
	 * fits a gap before it moves down into it, so that the freed blocks
	 * end up at the tail, where truncation takes them
	 */
	if (m->unsettled == 0)
	{
		bool		down = false;

		pgstat_progress_update_param(RV_PROGRESS_PHASE, RV_PROGRESS_PHASE_GAPS);
		for (uint64 segno = 0; segno < nsegs; segno++)
		{
			RvDirEntry	e;
			uint64		nv,
						b0,
						b1;

			CHECK_FOR_INTERRUPTS();
			RvDirReadEntry(store, segno, &e);
			if (e.tier == RV_TIER_NONE || e.tier == RV_TIER_HOT || e.prev_tier != RV_TIER_NONE)
				continue;
			if (RvDirFirstFit(store, e.tier, e.nblocks) >= e.blkno)
				continue;
			if (RvStoreSealSegment(store, segno, e.tier,
								   flags | RV_SEAL_FORCE | RV_SEAL_KEEP_FORM, &nv, &b0, &b1))
				down = true;
		}
		if (down)
		{
			m->unsettled = RvDirSettle(store, &released);
			m->settled += released;
		}
	}
	pgstat_progress_update_param(RV_PROGRESS_PHASE, RV_PROGRESS_PHASE_TRUNCATE);
	RvDirTruncate(store, &m->hot_blocks_freed, &m->tier_blocks_freed);
	if (own_progress)
		pgstat_progress_end_command();
}

/*
 * Opens rel (relid) for moves: ShareUpdateExclusiveLock, a ruvector table
 * the caller owns; returns it with its store numbers (*nstores of them,
 * palloc'd).  Raises ERRCODE_WRONG_OBJECT_TYPE, or the permission error.
 */
static Relation
RvTierOpenTable(Oid relid, int16 **storenos, int *nstores)
{
	Relation	rel = table_open(relid, ShareUpdateExclusiveLock);
	RvRelCache *cache;

	if (!RvRelIsRuvector(rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a ruvector table", RelationGetRelationName(rel))));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, RelationGetRelationName(rel));
	cache = RvRelGetCache(rel);
	*nstores = cache->nstores;
	*storenos = palloc(sizeof(int16) * Max(*nstores, 1));
	for (int i = 0; i < *nstores; i++)
		(*storenos)[i] = cache->stores[i].storeno;
	return rel;
}

/* Store storeno of rel, which must have tiers (format 4): else ERRCODE_FEATURE_NOT_SUPPORTED. */
static RvStore *
RvTierOpenStore(Relation rel, int16 storeno)
{
	RvStore    *store = RvTamOpenStore(rel, RV_KEY_STORENO(storeno));

	if (store->meta_version < RV_STORE_META_V4)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("vector store %d of \"%s\" was written in a format without tiers",
						storeno, RelationGetRelationName(rel)),
				 errhint("VACUUM FULL rewrites the table's stores in the current format.")));
	return store;
}

PG_FUNCTION_INFO_V1(ruvector_compact);

/*
 * ruvector_compact(tbl regclass, tier text DEFAULT NULL) -> setof (store,
 * tier, segments_moved, vectors, bytes_before, bytes_after, seconds): with
 * a tier (warm, cool or cold), seals every segment of every store of tbl
 * that is not there yet into it now (waiting for writers still inserting
 * into a hot segment); without one, applies the table's policy and
 * compacts (RvCompactPolicyTarget).  Then settles the moves no reader can still
 * need and truncates what they freed.  One row per store (tier is the
 * argument, or "policy").  Needs ownership of tbl; takes
 * ShareUpdateExclusiveLock on it.  Raises ERRCODE_FEATURE_NOT_SUPPORTED
 * for a store written by an older format, ERRCODE_INVALID_PARAMETER_VALUE
 * for an unknown tier.
 */
Datum
ruvector_compact(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int			tier = -1;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	int			nstores;
	int16	   *storenos;

	if (!PG_ARGISNULL(1))
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));

		tier = RvTierFromName(name);
		if (tier < RV_TIER_WARM)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid tier \"%s\"", name),
					 errhint("Valid tiers are warm, cool and cold.")));
	}
	InitMaterializedSRF(fcinfo, 0);
	rel = RvTierOpenTable(relid, &storenos, &nstores);
	/* VACUUM's pending events come before this call's */
	RvAuditDrain(false);
	for (int i = 0; i < nstores; i++)
	{
		RvStore    *store = RvTierOpenStore(rel, storenos[i]);
		TimestampTz start = GetCurrentTimestamp();
		RvTierMoves m;
		RvTierMoveCounts total;
		long		secs;
		int			usecs;
		Datum		values[7];
		bool		nulls[7] = {0};

		RvTierMoveStore(store, relid, tier, RV_SEAL_WAIT | RV_SEAL_CREATE, &m);
		for (int k = 0; k < RV_MOVE_KINDS; k++)
			if (m.kind[k].segments > 0)
				RvAuditLog(RvTierMoveName(k), relid,
						   psprintf("store %d: " UINT64_FORMAT " segments, " UINT64_FORMAT " vectors to %s, "
									UINT64_FORMAT " bytes before, " UINT64_FORMAT " after",
									storenos[i], m.kind[k].segments, m.kind[k].vectors,
									tier >= 0 ? RvTierName(tier) : "their tiers",
									m.kind[k].bytes_before, m.kind[k].bytes_after));
		if (m.hot_blocks_freed + m.tier_blocks_freed > 0)
			RvAuditLog("truncate", relid,
					   psprintf("store %d: " UINT64_FORMAT " hot and " UINT64_FORMAT " tier blocks freed",
								storenos[i], m.hot_blocks_freed, m.tier_blocks_freed));
		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		total = RvTierMovesTotal(&m);
		values[0] = Int32GetDatum(storenos[i]);
		values[1] = CStringGetTextDatum(tier >= 0 ? RvTierName(tier) : "policy");
		values[2] = Int64GetDatum((int64) total.segments);
		values[3] = Int64GetDatum((int64) total.vectors);
		values[4] = Int64GetDatum((int64) total.bytes_before);
		values[5] = Int64GetDatum((int64) total.bytes_after);
		values[6] = Float8GetDatum(secs + usecs / 1e6);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	table_close(rel, NoLock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ruvector_segments);

/*
 * ruvector_segments(tbl regclass) -> setof (store, segno, tier, relation,
 * blocks, vectors, changed_at, heat): one row per segment of every
 * version-4 store of tbl: where it lives (tier, relation, its blocks
 * there), the vids allocated in it, when a vid was last allocated in it
 * or it was sealed, and its access heat now (decayed with the policy's
 * half-life, an hour without one).  Needs SELECT on tbl; takes
 * AccessShareLock.  Stores of older formats have no rows.
 */
Datum
ruvector_segments(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	RvRelCache *cache;
	RvTierPolicy pol;
	int			nstores;
	int16	   *storenos;

	InitMaterializedSRF(fcinfo, 0);
	rel = RvTamOpenForReport(relid);
	RvTierReadPolicy(relid, &pol);
	/* copied first: opening a store may rebuild the relcache entry's cache */
	cache = RvRelGetCache(rel);
	nstores = cache->nstores;
	storenos = palloc(sizeof(int16) * Max(nstores, 1));
	for (int i = 0; i < nstores; i++)
		storenos[i] = cache->stores[i].storeno;
	for (int i = 0; i < nstores; i++)
	{
		RvStore    *store = RvTamOpenStore(rel, RV_KEY_STORENO(storenos[i]));
		uint64		nsegs;

		if (store->meta_version < RV_STORE_META_V4)
			continue;
		nsegs = RvDirNumSegments(store);
		for (uint64 segno = 0; segno < nsegs; segno++)
		{
			RvSegInfo	si;
			Datum		values[8];
			bool		nulls[8] = {0};

			CHECK_FOR_INTERRUPTS();
			if (!RvStoreSegmentInfo(store, segno, pol.heat_half_life, &si))
				continue;
			values[0] = Int32GetDatum(storenos[i]);
			values[1] = Int64GetDatum((int64) segno);
			values[2] = CStringGetTextDatum(RvTierName(si.entry.tier));
			values[3] = ObjectIdGetDatum(si.where->relid);
			values[4] = Int32GetDatum((int32) si.entry.nblocks);
			values[5] = Int64GetDatum((int64) si.nallocated);
			values[6] = TimestampTzGetDatum(si.changed_at);
			nulls[6] = si.changed_at == 0;
			values[7] = Float8GetDatum(si.heat);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	table_close(rel, AccessShareLock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ruvector_set_tiers);

/*
 * The tablespace a tier's relations go to, named by the argument (NULL:
 * InvalidOid, the table's).  Raises ERRCODE_UNDEFINED_OBJECT for an
 * unknown one, ERRCODE_INVALID_PARAMETER_VALUE for pg_global, the
 * permission error without CREATE on it (as CREATE TABLE ... TABLESPACE).
 */
static Oid
RvTierTablespaceArg(FunctionCallInfo fcinfo, int argno)
{
	char	   *name;
	Oid			spc;

	if (PG_ARGISNULL(argno))
		return InvalidOid;
	name = NameStr(*PG_GETARG_NAME(argno));
	spc = get_tablespace_oid(name, false);
	if (spc == GLOBALTABLESPACE_OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("only shared relations can be placed in pg_global tablespace")));
	if (spc != MyDatabaseTableSpace)
	{
		AclResult	aclresult = pg_tablespace_aclcheck(spc, GetUserId(), ACL_CREATE);

		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, OBJECT_TABLESPACE, name);
	}
	return spc;
}

/*
 * ruvector_set_tiers(tbl regclass, warm_after interval, cool_after
 * interval, cold_after interval, lossy_cold bool, warm_tablespace name,
 * cool_tablespace name, cold_tablespace name, heat_threshold float8,
 * heat_half_life interval): sets tbl's tier policy (an interval NULL: the
 * tier is not moved to by age; nothing but defaults: no policy), creates
 * the tier relations it names and the warm one (VACUUM packs sparse hot
 * segments there) for every store of tbl, each in its tier's tablespace,
 * so that VACUUM can move segments into them, and moves a tier relation
 * that exists already into its tier's tablespace (copying its file under
 * AccessExclusiveLock on tbl, as ALTER TABLE SET TABLESPACE does).
 * Intervals must be non-negative and, where given, not shorter for a
 * colder tier; heat_threshold positive and finite, heat_half_life
 * positive.  Needs ownership of tbl (and CREATE on the tablespaces).
 * Raises ERRCODE_INVALID_PARAMETER_VALUE on a bad argument.
 */
Datum
ruvector_set_tiers(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	Datum		vals[RV_NTIERS];
	bool		isnull[RV_NTIERS];
	Oid			spc[RV_NTIERS] = {0};
	bool		lossy_cold = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	bool		have_heat = !PG_ARGISNULL(8);
	double		heat_threshold = have_heat ? PG_GETARG_FLOAT8(8) : 0;
	Interval	default_half_life = {USECS_PER_HOUR, 0, 0};
	Interval   *half_life = PG_ARGISNULL(9) ? &default_half_life : PG_GETARG_INTERVAL_P(9);
	int64		prev = -1;
	bool		any = lossy_cold || have_heat;
	bool		move_lock = false;
	int			nstores;
	int16	   *storenos;
	RvStore   **stores;

	rel = RvTierOpenTable(relid, &storenos, &nstores);
	for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
	{
		isnull[t] = PG_ARGISNULL(t);
		vals[t] = isnull[t] ? (Datum) 0 : PG_GETARG_DATUM(t);
		if (!isnull[t])
		{
			int64		us = RvIntervalMicros(DatumGetIntervalP(vals[t]));

			if (us < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s_after must not be negative", RvTierName(t))));
			if (us < prev)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s_after must not be shorter than a warmer tier's interval",
								RvTierName(t))));
			prev = us;
			any = true;
		}
		spc[t] = RvTierTablespaceArg(fcinfo, 4 + t);
		if (OidIsValid(spc[t]))
			any = true;
	}
	if (have_heat && (!(heat_threshold > 0) || isinf(heat_threshold)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("heat_threshold must be a positive number of reads")));
	if (RvIntervalMicros(half_life) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("heat_half_life must be positive")));

	/*
	 * the policy row, written directly (the table is revoked from PUBLIC;
	 * the caller owns tbl): the old one deleted, the new one inserted with
	 * its index entries
	 */
	RvTierForgetPolicy(relid);
	if (any)
	{
		Relation	polrel = table_open(RvTierPolicyRelid(), RowExclusiveLock);
		Datum		values[Natts_rv_policy];
		bool		nulls[Natts_rv_policy] = {0};
		HeapTuple	tup;

		values[Anum_rv_policy_relid - 1] = ObjectIdGetDatum(relid);
		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		{
			values[Anum_rv_policy_after(t) - 1] = vals[t];
			nulls[Anum_rv_policy_after(t) - 1] = isnull[t];
			values[Anum_rv_policy_spc(t) - 1] = ObjectIdGetDatum(spc[t]);
			nulls[Anum_rv_policy_spc(t) - 1] = !OidIsValid(spc[t]);
		}
		values[Anum_rv_policy_lossy_cold - 1] = BoolGetDatum(lossy_cold);
		values[Anum_rv_policy_heat_threshold - 1] = Float8GetDatum(heat_threshold);
		nulls[Anum_rv_policy_heat_threshold - 1] = !have_heat;
		values[Anum_rv_policy_heat_half_life - 1] = IntervalPGetDatum(half_life);
		if (RelationGetDescr(polrel)->natts != Natts_rv_policy)
			elog(ERROR, "ruvector_tier_policy has %d columns, not %d",
				 RelationGetDescr(polrel)->natts, Natts_rv_policy);
		tup = heap_form_tuple(RelationGetDescr(polrel), values, nulls);
		CatalogTupleInsert(polrel, tup);
		heap_freetuple(tup);
		table_close(polrel, RowExclusiveLock);
	}
	CommandCounterIncrement();

	/*
	 * the tier relations VACUUM will need, where the policy puts them;
	 * those in another tablespace are moved, which needs the table to
	 * itself
	 */
	stores = palloc(sizeof(RvStore *) * Max(nstores, 1));
	for (int i = 0; i < nstores; i++)
	{
		stores[i] = RvTierOpenStore(rel, storenos[i]);
		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		{
			RvStore    *ts = RvStoreTier(stores[i], t, false, NULL);
			Oid			want = OidIsValid(spc[t]) ? spc[t] : rel->rd_node.spcNode;

			stores[i]->tier_spc[t] = spc[t];
			if (ts != NULL && ts->rel->rd_node.spcNode != want)
				move_lock = true;
		}
	}
	if (move_lock)
		LockRelationOid(relid, AccessExclusiveLock);
	for (int i = 0; i < nstores; i++)
		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		{
			if (RvStoreTier(stores[i], t, false, NULL) != NULL)
				RvStoreTierSetTablespace(stores[i], t, spc[t]);
			else if (t == RV_TIER_WARM || !isnull[t] || OidIsValid(spc[t]))
				RvStoreTier(stores[i], t, true, NULL);
		}
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* RvTierMoveName: the audit event of a kind of move (RV_MOVE_*). */
const char *
RvTierMoveName(int kind)
{
	switch (kind)
	{
		case RV_MOVE_SEAL:
			return "seal";
		case RV_MOVE_MIGRATE:
			return "migrate";
		case RV_MOVE_COMPACT:
			return "compact";
	}
	return "move";
}

/*
 * RvTierHeatFlush: at the end of a scan of rel, writes the access heat its
 * stores counted (store_heat.c) once ruvector.heat_flush_interval has
 * passed, decayed with the policy's half-life; drops the counts of a
 * table whose policy has no heat_threshold.  Caller holds a lock on rel
 * and no buffer lock.
 */
void
RvTierHeatFlush(Relation rel)
{
	RvRelCache *cache;
	RvTierPolicy pol;
	bool		read = false;
	int			nstores;
	int16	   *storenos;

	if (!RvStoreHeatAnyPending())
		return;					/* the common case: nothing counted */

	/*
	 * The store numbers are copied first: opening a store or reading the
	 * policy accepts invalidation messages, which may rebuild the relcache
	 * entry and free the cache (rd_amcache) under the loop
	 */
	cache = RvRelGetCache(rel);
	nstores = cache->nstores;
	storenos = palloc(sizeof(int16) * Max(nstores, 1));
	for (int i = 0; i < nstores; i++)
		storenos[i] = cache->stores[i].storeno;
	for (int i = 0; i < nstores; i++)
	{
		RvStore    *store = RvTamOpenStore(rel, RV_KEY_STORENO(storenos[i]));

		if (!RvStoreHeatDue(store))
			continue;
		if (!read)
		{
			RvTierReadPolicy(RelationGetRelid(rel), &pol);
			read = true;
		}
		RvStoreHeatFlush(store, pol.heat_half_life, pol.have_heat);
	}
	pfree(storenos);
}

/*
 * RvTierPolicyTablespaces: fills spc[RV_NTIERS] with the tablespace of
 * each tier of table relid's policy (InvalidOid: the table's; hot is
 * always the table's).
 */
void
RvTierPolicyTablespaces(Oid relid, Oid *spc)
{
	RvTierPolicy pol;

	RvTierReadPolicy(relid, &pol);
	for (int t = 0; t < RV_NTIERS; t++)
		spc[t] = t == RV_TIER_HOT ? InvalidOid : pol.spc[t];
}

/*
 * RvTierForgetPolicy: deletes table relid's row of ruvector_tier_policy
 * (DROP TABLE, through the object-access hook, so that a new table that
 * gets the OID does not inherit it; ruvector_set_tiers, before it writes
 * the new row), without permission checks.  No-op without the extension's
 * table.
 */
void
RvTierForgetPolicy(Oid relid)
{
	Oid			polrel = RvTierPolicyRelid();
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	if (!OidIsValid(polrel))
		return;
	rel = table_open(polrel, RowExclusiveLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		simple_heap_delete(rel, &tup->t_self);
	systable_endscan(scan);
	table_close(rel, RowExclusiveLock);
}
