/*-------------------------------------------------------------------------
 *
 * store_heat.c
 *	  Access heat of a version-4 store's segments: how often their vectors
 *	  are read, counted by each backend and written now and then into the
 *	  segment headers, so that the tier policy (tam_tier.c) keeps a segment
 *	  that is read often where it is.
 *
 * A read is a row fetched through an index (the table AM's index fetch
 * and bitmap scan count the vectors they resolve, RvResolveTuple: an
 * index scan's results, a lookup by key) or a vector scored exactly
 * (RvStoreScoreExact: the rerank of a search, an exact scan's candidate).  Sequential scans are not counted:
 * a scan of everything (pg_dump, a report) says nothing about which
 * segments are in demand.  Neither are a parallel worker's reads (its
 * leader's share of a parallel scan is).
 * A segment's heat is an exponentially decayed count of reads: the
 * header's heat is the count as of heat_at, and at a later time t it is
 * heat * 2^-((t - heat_at) / H) for the policy's half-life H.
 *
 * Invariants kept here:
 *	- heat is a hint: counts a backend has not written yet are lost when it
 *	  exits, and a flush that cannot get a header's buffer lock at once
 *	  keeps them for the next one; nothing but the tier policy reads it;
 *	- a flush changes only heat and heat_at of a header, under the page's
 *	  exclusive lock, in one GenericXLog record per header (so standbys
 *	  and wal_consistency_checking see the same bytes), from a backend
 *	  that holds no other buffer lock (scan end), and never in recovery;
 *	- a header is written only if it still belongs to the segment counted
 *	  (its page kind and segment number are checked), so a location that
 *	  was released and reused by another segment is left alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "access/parallel.h"
#include "access/xlog.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "tam/store/rv_store.h"
#include "tam/store/rv_tier.h"
#include "tam/store/store_int.h"

/* ruvector.heat_flush_interval: milliseconds between a backend's flushes */
int			rv_heat_flush_interval = 1000;

/*
 * Reads counted by this backend and not yet written or dropped, all
 * stores: a hint for scan ends, never below the true sum (a store handle
 * replaced with counts in it leaves them here, and scan ends then look at
 * their stores' own counts).
 */
static uint64 rv_heat_pending_total = 0;

/*
 * RvStoreHeatCount: counts one read of vid's vector in store (a hot store
 * of version 4; others are not counted, nor reads in a parallel worker:
 * a worker lives for one query, and looking up its table's policy to
 * write them would cost the query more than the reads are worth).
 * Memory only.
 */
void
RvStoreHeatCount(RvStore *store, uint64 vid)
{
	uint64		segno = vid / RV_SEG_VIDS;

	if (store->meta_version < RV_STORE_META_V4 || store->tier != RV_TIER_HOT ||
		segno >= PG_UINT32_MAX || IsParallelWorker())
		return;
	if (segno >= store->heat_nsegs)
	{
		uint32		n = Max(16, store->heat_nsegs);

		while (n <= segno)
			n *= 2;
		if (store->heat_hits == NULL)
			store->heat_hits = MemoryContextAllocZero(TopMemoryContext, sizeof(uint32) * n);
		else
		{
			store->heat_hits = repalloc(store->heat_hits, sizeof(uint32) * n);
			memset(store->heat_hits + store->heat_nsegs, 0,
				   sizeof(uint32) * (n - store->heat_nsegs));
		}
		store->heat_nsegs = n;
	}
	if (store->heat_hits[segno] < PG_UINT32_MAX)
	{
		store->heat_hits[segno]++;
		store->heat_pending++;
		rv_heat_pending_total++;
	}
}

/* RvStoreHeatAnyPending: whether this backend holds counts of any store. */
bool
RvStoreHeatAnyPending(void)
{
	return rv_heat_pending_total > 0;
}

/*
 * RvStoreHeatDue: whether store has counts to write and the last flush is
 * at least ruvector.heat_flush_interval ago.
 */
bool
RvStoreHeatDue(const RvStore *store)
{
	return store->heat_pending > 0 &&
		GetCurrentTimestamp() - store->heat_flushed_at >= (int64) rv_heat_flush_interval * 1000;
}

/*
 * RvHeatDecayed: a heat of heat reads as of heat_at, decayed to now with
 * half-life half_life (microseconds, > 0).
 */
double
RvHeatDecayed(double heat, int64 heat_at, int64 now, int64 half_life)
{
	if (heat <= 0 || heat_at <= 0 || now <= heat_at)
		return Max(heat, 0);
	return heat * exp2(-(double) (now - heat_at) / (double) half_life);
}

/*
 * RvStoreHeatFlush: writes the counts store holds into its segments'
 * headers, each decayed with half_life (microseconds, > 0) and then
 * incremented by the new reads; with !keep (no policy reads heat, or in
 * recovery) the counts are dropped instead.  Takes each header's buffer
 * lock conditionally (a busy one keeps its count).  Caller holds no buffer
 * lock.
 */
void
RvStoreHeatFlush(RvStore *store, int64 half_life, bool keep)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		nsegs;

	if (store->heat_pending == 0)
		return;
	store->heat_flushed_at = now;
	if (!keep || RecoveryInProgress() || half_life <= 0)
	{
		memset(store->heat_hits, 0, sizeof(uint32) * store->heat_nsegs);
		rv_heat_pending_total -= store->heat_pending;
		store->heat_pending = 0;
		return;
	}
	nsegs = Min(RvDirNumSegments(store), store->heat_nsegs);
	for (uint64 segno = 0; segno < nsegs; segno++)
	{
		uint32		hits = store->heat_hits[segno];
		RvDirEntry	e;
		RvStore    *where;
		Buffer		buf;
		GenericXLogState *state;
		Page		page;
		RvSegmentHeader *sh;

		if (hits == 0)
			continue;
		/* a current entry's location cannot be released or truncated under us */
		RvDirReadEntry(store, segno, &e);
		where = e.tier == RV_TIER_NONE ? NULL : RvStoreTier(store, e.tier, false, NULL);
		if (where == NULL)
		{
			store->heat_pending -= hits;
			rv_heat_pending_total -= hits;
			store->heat_hits[segno] = 0;
			continue;
		}
		buf = ReadBufferExtended(where->rel, MAIN_FORKNUM, e.blkno, RBM_NORMAL, NULL);
		if (!ConditionalLockBuffer(buf))
		{
			ReleaseBuffer(buf);
			continue;
		}
		page = BufferGetPage(buf);
		sh = (RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START);
		if (!PageIsNew(page) && RvPageGetOpaque(page)->kind == RV_PAGE_SEGMENT &&
			sh->segno == (uint32) segno)
		{
			state = GenericXLogStart(where->rel);
			page = GenericXLogRegisterBuffer(state, buf, 0);
			sh = (RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START);
			sh->heat = (float) (RvHeatDecayed(sh->heat, sh->heat_at, now, half_life) + hits);
			sh->heat_at = now;
			GenericXLogFinish(state);
		}
		UnlockReleaseBuffer(buf);
		store->heat_pending -= hits;
		rv_heat_pending_total -= hits;
		store->heat_hits[segno] = 0;
	}
}

/*
 * RvStoreSegmentInfo: what segment segno's header says now (one read of
 * its page under a share lock): its directory entry, the relation holding
 * it, its vids allocated, when it was last written or sealed, and its heat
 * (the header's, decayed with half_life microseconds, plus the reads this
 * backend has not written).  Returns false, *info unset, when the segment
 * does not exist or its tier relation is missing.
 */
bool
RvStoreSegmentInfo(RvStore *store, uint64 segno, int64 half_life, RvSegInfo *info)
{
	Buffer		buf;
	const RvSegmentHeader *sh;

	RvDirReadEntry(store, segno, &info->entry);
	if (info->entry.tier == RV_TIER_NONE)
		return false;
	info->where = RvStoreTier(store, info->entry.tier, false, NULL);
	if (info->where == NULL)
		return false;
	buf = ReadBufferExtended(info->where->rel, MAIN_FORKNUM, info->entry.blkno, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	sh = (const RvSegmentHeader *) (BufferGetPage(buf) + RV_PAGE_PAYLOAD_START);
	info->nallocated = sh->nallocated;
	info->changed_at = sh->changed_at;
	info->heat = RvHeatDecayed(sh->heat, sh->heat_at, GetCurrentTimestamp(), half_life);
	UnlockReleaseBuffer(buf);
	if (segno < store->heat_nsegs)
		info->heat += store->heat_hits[segno];
	return true;
}
