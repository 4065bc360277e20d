/*-------------------------------------------------------------------------
 *
 * tam_tier.c
 *	  ruvector_compact(): moving a table's segments between tiers and
 *	  compacting them, on demand (src/tam/store/store_seal.c does the
 *	  work; rv_tier.h the layout).
 *
 * Invariants kept here:
 *	- moves run under ShareUpdateExclusiveLock on the table (they exclude
 *	  each other, VACUUM and DDL; readers and writers go on), after the
 *	  directory's earlier moves are settled;
 *	- every move ruvector_compact makes is an event of the audit log
 *	  (seal, compact), and so is every truncation that frees blocks;
 *	  VACUUM's moves and truncations, which have no transaction id to
 *	  write the log with, wait as pending events in the store's metapage
 *	  (RvAuditNoteMoves) until a drain appends them (RvAuditDrain, which
 *	  ruvector_compact runs first, store_audit.c);
 *	- a policy (ruvector_tier_policy, one row per table) only ever moves a
 *	  segment to a colder tier, never to a warmer one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
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

/* A table's tier policy: the age after which a segment moves to each tier. */
typedef struct RvTierPolicy
{
	bool		have[RV_NTIERS];
	int64		after[RV_NTIERS];	/* microseconds */
} RvTierPolicy;

static int64
RvIntervalMicros(const Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY +
		(int64) iv->month * 30 * USECS_PER_DAY;
}

/*
 * Reads relid's row of ruvector_tier_policy (a scan of the small table,
 * without permission checks: VACUUM reads it for the table's owner).
 * Leaves *p empty when there is none.
 */
/* OID of the extension's ruvector_tier_policy table, or InvalidOid. */
static Oid
RvTierPolicyRelid(void)
{
	Oid			nsp = RvExtensionSchema(true);

	return OidIsValid(nsp) ? get_relname_relid("ruvector_tier_policy", nsp) : InvalidOid;
}

static void
RvTierReadPolicy(Oid relid, RvTierPolicy *p)
{
	Oid			polrel = RvTierPolicyRelid();
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	memset(p, 0, sizeof(RvTierPolicy));
	if (!OidIsValid(polrel))
		return;
	rel = table_open(polrel, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		{
			bool		isnull;
			Datum		d = heap_getattr(tup, 1 + t, RelationGetDescr(rel), &isnull);

			if (!isnull)
			{
				p->have[t] = true;
				p->after[t] = RvIntervalMicros(DatumGetIntervalP(d));
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

/*
 * The move the policy makes of segment segno: the target tier, or -1.
 * First by age (pol): a segment whose last vector was written longer ago
 * than a tier's interval goes to the coldest such tier colder than its
 * own.  Else compaction: a sealed segment whose freed fraction passes
 * RV_COMPACT_DEAD_FRACTION is rewritten in its tier; a full hot segment
 * whose free fraction passes RV_COMPACT_HOT_FREE_FRACTION is packed into
 * warm (lossless, so nothing but its search code changes).
 */
static int
RvCompactPolicyTarget(RvStore *store, uint64 segno, uint64 next_vid, const RvTierPolicy *pol)
{
	RvDirEntry	e;
	RvStore    *where;
	Buffer		buf;
	uint32		nalloc;
	TimestampTz changed;
	int			age_target = -1;

	RvDirReadEntry(store, segno, &e);
	if (e.tier == RV_TIER_NONE || e.prev_tier != RV_TIER_NONE)
		return -1;
	where = e.tier == RV_TIER_HOT ? store : RvStoreTier(store, e.tier, false, NULL);
	if (where == NULL)
		return -1;
	buf = ReadBufferExtended(where->rel, MAIN_FORKNUM, e.blkno, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	nalloc = ((RvSegmentHeader *) (BufferGetPage(buf) + RV_PAGE_PAYLOAD_START))->nallocated;
	changed = ((RvSegmentHeader *) (BufferGetPage(buf) + RV_PAGE_PAYLOAD_START))->changed_at;
	UnlockReleaseBuffer(buf);
	if (pol)
	{
		int64		age = GetCurrentTimestamp() - changed;

		for (int t = RV_NTIERS - 1; t > e.tier; t--)
			if (pol->have[t] && age >= pol->after[t])
			{
				age_target = t;
				break;
			}
		if (age_target >= 0)
			return age_target;
	}
	if (e.tier == RV_TIER_HOT)
	{
		if ((segno + 1) * RV_SEG_VIDS > next_vid)
			return -1;			/* the segment still filling */
		return (double) (RV_SEG_VIDS - nalloc) / RV_SEG_VIDS >= RV_COMPACT_HOT_FREE_FRACTION ?
			RV_TIER_WARM : -1;
	}
	{
		RvSealedRun *run = RvSealedReadRun(where, e.blkno, segno);
		bool		compact = run->h.nlive > 0 &&
			(double) (run->h.nlive - Min(nalloc, run->h.nlive)) / run->h.nlive >=
			RV_COMPACT_DEAD_FRACTION;
		int			tier = run->h.tier;

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

	if (tier < 0)
		RvTierReadPolicy(table, &pol);

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

		CHECK_FOR_INTERRUPTS();
		if (target < 0)
			continue;
		if (RvStoreSealSegment(store, segno, target, flags, &nv, &b0, &b1))
		{
			m->moved++;
			m->vectors += nv;
			m->bytes_before += b0;
			m->bytes_after += b1;
		}
		pgstat_progress_update_param(RV_PROGRESS_DONE, (int64) segno + 1);
		pgstat_progress_update_param(RV_PROGRESS_VECTORS, (int64) m->vectors);
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
			if (RvStoreSealSegment(store, segno, e.tier, flags | RV_SEAL_FORCE, &nv, &b0, &b1))
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
		long		secs;
		int			usecs;
		Datum		values[7];
		bool		nulls[7] = {0};

		RvTierMoveStore(store, relid, tier, RV_SEAL_WAIT | RV_SEAL_CREATE, &m);
		if (m.moved > 0)
			RvAuditLog(tier >= 0 ? "seal" : "compact", relid,
					   psprintf("store %d: " UINT64_FORMAT " segments, " UINT64_FORMAT " vectors to %s, "
								UINT64_FORMAT " bytes before, " UINT64_FORMAT " after",
								storenos[i], m.moved, m.vectors,
								tier >= 0 ? RvTierName(tier) : "their tiers",
								m.bytes_before, m.bytes_after));
		if (m.hot_blocks_freed + m.tier_blocks_freed > 0)
			RvAuditLog("truncate", relid,
					   psprintf("store %d: " UINT64_FORMAT " hot and " UINT64_FORMAT " tier blocks freed",
								storenos[i], m.hot_blocks_freed, m.tier_blocks_freed));
		TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
		values[0] = Int32GetDatum(storenos[i]);
		values[1] = CStringGetTextDatum(tier >= 0 ? RvTierName(tier) : "policy");
		values[2] = Int64GetDatum((int64) m.moved);
		values[3] = Int64GetDatum((int64) m.vectors);
		values[4] = Int64GetDatum((int64) m.bytes_before);
		values[5] = Int64GetDatum((int64) m.bytes_after);
		values[6] = Float8GetDatum(secs + usecs / 1e6);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	table_close(rel, NoLock);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(ruvector_set_tiers);

/*
 * ruvector_set_tiers(tbl regclass, warm_after interval, cool_after
 * interval, cold_after interval): sets tbl's tier policy (NULL: the tier
 * is not used; all NULL: no policy) and creates the tier relations it
 * names, and the warm one (VACUUM packs sparse hot segments there), for
 * every store of tbl, so that VACUUM can move segments into them.
 * Intervals must be non-negative and, where given, not shorter for a
 * colder tier.  Needs ownership of tbl.  Raises
 * ERRCODE_INVALID_PARAMETER_VALUE on a bad interval.
 */
Datum
ruvector_set_tiers(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	Datum		vals[RV_NTIERS];
	bool		isnull[RV_NTIERS];
	int64		prev = -1;
	bool		any = false;
	int			nstores;
	int16	   *storenos;
	int			ret;
	Oid			argtypes[4] = {OIDOID, INTERVALOID, INTERVALOID, INTERVALOID};
	Datum		args[4];
	char		nulls[5] = "    ";

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
	}

	/* the policy row (as the extension's owner would: the table is revoked) */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(relid);
	for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
	{
		args[t] = vals[t];
		nulls[t] = isnull[t] ? 'n' : ' ';
	}
	ret = SPI_execute_with_args(psprintf("DELETE FROM %s.ruvector_tier_policy WHERE relid = $1",
										 quote_identifier(get_namespace_name(RvExtensionSchema(false)))),
								1, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "could not update ruvector_tier_policy");
	if (any)
	{
		ret = SPI_execute_with_args(psprintf("INSERT INTO %s.ruvector_tier_policy VALUES ($1, $2, $3, $4)",
											 quote_identifier(get_namespace_name(RvExtensionSchema(false)))),
									4, argtypes, args, nulls, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not update ruvector_tier_policy");
	}
	SPI_finish();

	/* the tier relations VACUUM will need */
	for (int i = 0; i < nstores; i++)
	{
		RvStore    *store = RvTierOpenStore(rel, storenos[i]);

		for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
			if (t == RV_TIER_WARM || !isnull[t])
				RvStoreTier(store, t, true, NULL);
	}
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * RvTierForgetPolicy: deletes table relid's row of ruvector_tier_policy
 * (DROP TABLE, through the object-access hook), so that a new table that
 * gets the OID does not inherit it.  No-op without the extension's table.
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
