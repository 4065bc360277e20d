/*-------------------------------------------------------------------------
 *
 * store_dir.c
 *	  The segment directory of a version-4 store (layout in rv_tier.h):
 *	  where each segment lives (a hot extent, or a run in a tier relation),
 *	  the backend's cached copy of it, hot extent allocation, the moves of
 *	  segments between locations, their settling, and truncation of the
 *	  blocks no segment uses any more.
 *
 * Invariants kept here:
 *	- every change of the directory is made under the store metapage's
 *	  exclusive buffer lock (so allocation, moves and settling are
 *	  serialized), each in one GenericXLog record with the pages it
 *	  describes;
 *	- a location is reused or truncated only once no entry names it, as
 *	  its current or its previous place;
 *	- a previous location is released only when no other backend
 *	  advertises an xmin at or before the move's horizon (the next xid when
 *	  the move completed; VACUUM processes are not counted: the only one
 *	  that could read this store is the caller), and no standby reports
 *	  one (hot_standby_feedback: a replication slot's xmin, or a
 *	  walsender's); a backend's cached copy is therefore used only while
 *	  its advertised xmin, transaction and statement are those it was read
 *	  under, so no location it holds can have been released meanwhile.  A
 *	  standby without hot_standby_feedback does not report its snapshots,
 *	  so its queries may see a released location: they then read another
 *	  segment's pages and fail their checks, or read stale bytes, as with a
 *	  vid freed under them (and as heap's own pruning would conflict).
 *	- versions 1 to 3 have no directory: segment s is the arithmetic
 *	  extent at block 1 + s*B, always hot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/storage.h"
#include "miscadmin.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "tam/store/rv_tier.h"
#include "tam/store/store_int.h"


/* the block of hot extent e */
static inline BlockNumber
RvExtentBlock(RvStore *store, uint64 e)
{
	return (BlockNumber) (2 + e * store->geo.seg_blocks);
}

/* RvDirInitFile: formats dirpage as directory page 0 (no segments). */
void
RvDirInitFile(RvStore *store, Page dirpage)
{
	RvDirPageHeader *h;
	RvDirEntry *e;

	RvPageInit(dirpage, RV_PAGE_DIR, 0);
	memset(RvPagePayload(dirpage), 0, RV_PAGE_PAYLOAD);
	h = (RvDirPageHeader *) RvPagePayload(dirpage);
	h->pageno = 0;
	h->next = InvalidBlockNumber;
	e = (RvDirEntry *) (RvPagePayload(dirpage) + RV_DIR_HEADER);
	for (int i = 0; i < RV_DIR_PER_PAGE; i++)
	{
		e[i].tier = RV_TIER_NONE;
		e[i].prev_tier = RV_TIER_NONE;
	}
	((PageHeader) dirpage)->pd_lower = RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD;
}

static inline RvDirEntry *
RvDirEntries(Page page)
{
	return (RvDirEntry *) (RvPagePayload(page) + RV_DIR_HEADER);
}

/*
 * The effective location of entry e for a reader: the new one when the
 * move is complete and its transaction (if it created the target)
 * committed or is the reader's own, else the previous one.
 */
static void
RvDirEffective(const RvDirEntry *e, uint16 *tier, BlockNumber *blkno)
{
	*tier = e->tier;
	*blkno = e->blkno;
	if (e->prev_tier != RV_TIER_NONE &&
		((e->flags & RV_DIR_WRITING) ||
		 (TransactionIdIsValid(e->xid) && !TransactionIdIsCurrentTransactionId(e->xid) &&
		  !TransactionIdDidCommit(e->xid))))
	{
		*tier = e->prev_tier;
		*blkno = e->prev_blkno;
	}
}

/* RvDirForget: drops the backend's copy of store's directory. */
void
RvDirForget(RvStore *store)
{
	if (store->dir)
	{
		MemoryContextDelete(store->dir->cxt);
		store->dir = NULL;
	}
}


/* Reads the directory pages of store into a new cache. */
static RvDirCache *
RvDirLoad(RvStore *store)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "ruvector directory",
											  ALLOCSET_SMALL_SIZES);
	RvDirCache *dc = MemoryContextAllocZero(cxt, sizeof(RvDirCache));
	BlockNumber blkno = 1;
	uint64		cap = RV_DIR_PER_PAGE;

	dc->cxt = cxt;
	dc->xmin = MyProc->xmin;
	dc->lxid = MyProc->lxid;
	dc->stmt = GetCurrentStatementStartTimestamp();
	dc->loc = MemoryContextAllocZero(cxt, sizeof(RvSegLoc) * cap);
	while (blkno != InvalidBlockNumber)
	{
		Buffer		buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		Page		page;
		RvDirPageHeader *h;
		RvDirEntry *e;
		uint64		first;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		RvPageCheck(store, page, blkno, RV_PAGE_DIR);
		h = (RvDirPageHeader *) RvPagePayload(page);
		first = (uint64) h->pageno * RV_DIR_PER_PAGE;
		if (first + RV_DIR_PER_PAGE > cap)
		{
			uint64		ncap = first + RV_DIR_PER_PAGE;

			dc->loc = repalloc(dc->loc, sizeof(RvSegLoc) * ncap);
			memset(dc->loc + cap, 0, sizeof(RvSegLoc) * (ncap - cap));
			cap = ncap;
		}
		e = RvDirEntries(page);
		for (int i = 0; i < RV_DIR_PER_PAGE; i++)
		{
			RvSegLoc   *l = &dc->loc[first + i];

			RvDirEffective(&e[i], &l->tier, &l->blkno);
			l->flags = (uint16) (e[i].flags & RV_DIR_CLOSED);
			l->run = NULL;
			if (l->tier != RV_TIER_NONE)
				dc->nsegs = Max(dc->nsegs, first + i + 1);
		}
		blkno = h->next;
		UnlockReleaseBuffer(buf);
	}
	return dc;
}

/*
 * RvStoreSegLoc: where segment segno of store lives for this backend now
 * (tier RV_TIER_NONE when it does not exist).  The result stays valid
 * until the next call with a later statement or snapshot; its run (of a
 * sealed segment) is read on first use by the caller (RvSealedReadRun).
 * Versions 1 to 3: the arithmetic hot extent.
 */
const RvSegLoc *
RvStoreSegLoc(RvStore *store, uint64 segno)
{
	static RvSegLoc arith;

	if (store->meta_version < RV_STORE_META_V4)
	{
		arith.tier = RV_TIER_HOT;
		arith.flags = 0;
		arith.blkno = (BlockNumber) (1 + segno * store->geo.seg_blocks);
		arith.run = NULL;
		return &arith;
	}
	if (store->dir == NULL || !RvDirCacheValid(store->dir) || segno >= store->dir->nsegs)
	{
		RvDirForget(store);
		store->dir = RvDirLoad(store);
		/* without an advertised xmin the copy is good for this lookup only */
	}
	if (segno >= store->dir->nsegs)
	{
		arith.tier = RV_TIER_NONE;
		arith.flags = 0;
		arith.blkno = InvalidBlockNumber;
		arith.run = NULL;
		return &arith;
	}
	if (store->dir->loc[segno].tier != RV_TIER_HOT && store->dir->loc[segno].run == NULL &&
		store->dir->loc[segno].tier != RV_TIER_NONE)
	{
		RvStore    *ts = RvStoreTier(store, store->dir->loc[segno].tier, false, NULL);
		MemoryContext old = MemoryContextSwitchTo(store->dir->cxt);

		store->dir->loc[segno].run = RvSealedReadRun(ts, store->dir->loc[segno].blkno, segno);
		MemoryContextSwitchTo(old);
	}
	return &store->dir->loc[segno];
}

/*
 * Directory page k of store, pinned and locked in mode; InvalidBuffer when
 * it does not exist.  Caller holds the metapage lock when mode is
 * exclusive.
 */
static Buffer
RvDirPage(RvStore *store, uint32 k, int mode)
{
	BlockNumber blkno = 1;

	for (;;)
	{
		Buffer		buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		RvDirPageHeader *h;

		LockBuffer(buf, mode);
		RvPageCheck(store, BufferGetPage(buf), blkno, RV_PAGE_DIR);
		h = (RvDirPageHeader *) RvPagePayload(BufferGetPage(buf));
		if (h->pageno == k)
			return buf;
		blkno = h->next;
		UnlockReleaseBuffer(buf);
		if (blkno == InvalidBlockNumber)
			return InvalidBuffer;
	}
}

/* RvDirReadEntry: a copy of segment segno's entry (tier NONE if absent). */
void
RvDirReadEntry(RvStore *store, uint64 segno, RvDirEntry *entry)
{
	Buffer		buf = RvDirPage(store, (uint32) (segno / RV_DIR_PER_PAGE), BUFFER_LOCK_SHARE);

	if (!BufferIsValid(buf))
	{
		memset(entry, 0, sizeof(RvDirEntry));
		entry->tier = RV_TIER_NONE;
		entry->prev_tier = RV_TIER_NONE;
		return;
	}
	*entry = RvDirEntries(BufferGetPage(buf))[segno % RV_DIR_PER_PAGE];
	UnlockReleaseBuffer(buf);
}

/* Calls fn on every entry of every directory page (pages share-locked). */
typedef void (*RvDirVisit) (void *arg, uint64 segno, const RvDirEntry *e);

static void
RvDirWalk(RvStore *store, RvDirVisit fn, void *arg, List **dirblocks)
{
	BlockNumber blkno = 1;

	while (blkno != InvalidBlockNumber)
	{
		Buffer		buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		Page		page;
		RvDirPageHeader *h;
		RvDirEntry *e;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		RvPageCheck(store, page, blkno, RV_PAGE_DIR);
		h = (RvDirPageHeader *) RvPagePayload(page);
		e = RvDirEntries(page);
		if (dirblocks)
			*dirblocks = lappend_int(*dirblocks, (int) blkno);
		for (int i = 0; i < RV_DIR_PER_PAGE; i++)
			fn(arg, (uint64) h->pageno * RV_DIR_PER_PAGE + i, &e[i]);
		blkno = h->next;
		UnlockReleaseBuffer(buf);
	}
}

/* Used-location collection: a bitmap of hot extents and tier runs. */
typedef struct RvUsed
{
	RvStore    *store;
	uint64		nextents;		/* bits in hot */
	uint8	   *hot;
	List	   *runs[RV_NTIERS];	/* of (blkno, nblocks) pairs, as int pairs */
	uint64		nsegs;			/* entries naming a location */
	uint64		nsealed;		/* entries not settled in the hot tier */
} RvUsed;

static void
RvUsedMarkHot(RvUsed *u, BlockNumber blkno)
{
	uint64		e;

	if (blkno < 2)
		return;
	e = (blkno - 2) / u->store->geo.seg_blocks;
	if (e >= u->nextents)
	{
		uint64		n = Max(e + 1, u->nextents * 2);

		u->hot = repalloc(u->hot, (n + 7) / 8);
		memset(u->hot + (u->nextents + 7) / 8, 0, (n + 7) / 8 - (u->nextents + 7) / 8);
		u->nextents = ((n + 7) / 8) * 8;
	}
	u->hot[e / 8] |= (uint8) (1 << (e % 8));
}

static void
RvUsedMark(RvUsed *u, uint16 tier, BlockNumber blkno, uint32 nblocks)
{
	if (tier == RV_TIER_NONE || blkno == InvalidBlockNumber)
		return;
	if (tier == RV_TIER_HOT)
		RvUsedMarkHot(u, blkno);
	else if (tier < RV_NTIERS)
	{
		u->runs[tier] = lappend_int(u->runs[tier], (int) blkno);
		u->runs[tier] = lappend_int(u->runs[tier], (int) nblocks);
	}
}

static void
RvUsedVisit(void *arg, uint64 segno, const RvDirEntry *e)
{
	RvUsed	   *u = arg;

	RvUsedMark(u, e->tier, e->blkno, e->nblocks);
	RvUsedMark(u, e->prev_tier, e->prev_blkno, e->prev_nblocks);
	if (e->tier != RV_TIER_NONE)
		u->nsegs = Max(u->nsegs, segno + 1);
	if (e->tier != RV_TIER_NONE && (e->tier != RV_TIER_HOT || e->prev_tier != RV_TIER_NONE))
		u->nsealed++;
}

static void
RvUsedCollect(RvStore *store, RvUsed *u)
{
	List	   *dirblocks = NIL;
	ListCell   *lc;

	memset(u, 0, sizeof(RvUsed));
	u->store = store;
	u->nextents = 64;
	u->hot = palloc0(8);
	RvDirWalk(store, RvUsedVisit, u, &dirblocks);
	foreach(lc, dirblocks)
		RvUsedMarkHot(u, (BlockNumber) lfirst_int(lc));
}

static bool
RvUsedHot(RvUsed *u, uint64 e)
{
	return e < u->nextents && (u->hot[e / 8] & (1 << (e % 8))) != 0;
}

/* The lowest hot extent no entry or directory page uses. */
static uint64
RvUsedFreeExtent(RvUsed *u)
{
	uint64		e = 0;

	while (RvUsedHot(u, e))
		e++;
	return e;
}

/* The first gap of nblocks blocks (after block 0) among tier's runs. */
static BlockNumber
RvUsedFreeRun(RvUsed *u, int tier, uint32 nblocks)
{
	BlockNumber cand = 1;
	bool		moved = true;

	while (moved)
	{
		ListCell   *lc;

		moved = false;
		for (lc = list_head(u->runs[tier]); lc; lc = lnext(u->runs[tier], lc))
		{
			BlockNumber b = (BlockNumber) lfirst_int(lc);
			uint32		n;

			lc = lnext(u->runs[tier], lc);
			n = (uint32) lfirst_int(lc);
			if (b < cand + nblocks && cand < b + n)
			{
				cand = b + n;
				moved = true;
			}
		}
	}
	return cand;
}

/* The end of tier's last run (1 when it has none: the tier metapage). */
static BlockNumber
RvUsedRunsEnd(RvUsed *u, int tier)
{
	BlockNumber end = 1;
	ListCell   *lc;

	for (lc = list_head(u->runs[tier]); lc; lc = lnext(u->runs[tier], lc))
	{
		BlockNumber b = (BlockNumber) lfirst_int(lc);

		lc = lnext(u->runs[tier], lc);
		end = Max(end, b + (uint32) lfirst_int(lc));
	}
	return end;
}

static void
RvUsedFree(RvUsed *u)
{
	pfree(u->hot);
	for (int t = 0; t < RV_NTIERS; t++)
		list_free(u->runs[t]);
}

/*
 * Adds directory page k (for segments from k * RV_DIR_PER_PAGE) in the
 * first block of a free hot extent, linked from page k - 1.  Caller holds
 * the metapage exclusively (metabuf).  One WAL record: metapage, page k -
 * 1 and the new page.
 */
static void
RvDirAddPage(RvStore *store, Buffer metabuf, uint32 k)
{
	RvUsed		u;
	BlockNumber blkno;
	Buffer		prevbuf;
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	RvDirPageHeader *h;

	RvUsedCollect(store, &u);
	blkno = RvExtentBlock(store, RvUsedFreeExtent(&u));
	RvUsedFree(&u);
	prevbuf = RvDirPage(store, k - 1, BUFFER_LOCK_EXCLUSIVE);
	if (!BufferIsValid(prevbuf))
		elog(ERROR, "ruvector store %u: directory page %u is missing", store->node.relNode,
			 k - 1);
	buf = RvReadBufferExtend(store, blkno);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(store->rel);
	{
		Page		mp = GenericXLogRegisterBuffer(state, metabuf, 0);

		((RvStoreMeta *) RvPagePayload(mp))->ndirpages = k + 1;
	}
	page = GenericXLogRegisterBuffer(state, prevbuf, 0);
	((RvDirPageHeader *) RvPagePayload(page))->next = blkno;
	page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	RvDirInitFile(store, page);
	h = (RvDirPageHeader *) RvPagePayload(page);
	h->pageno = k;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	UnlockReleaseBuffer(prevbuf);
}

/*
 * RvDirNewSegment: the first block of a free hot extent for new segment
 * segno, with the segment's directory entry written into state (the
 * caller's GenericXLog record, which also holds the metapage and will hold
 * the new segment's meta page).  *dirbuf receives the directory page,
 * locked exclusively; the caller releases it after GenericXLogFinish.
 * Caller holds the metapage exclusively (metabuf registered in state or
 * not: the directory page for segno is created first, in its own record,
 * when missing).
 */
BlockNumber
RvDirNewSegment(RvStore *store, uint64 segno, GenericXLogState *state, Buffer *dirbuf)
{
	uint32		k = (uint32) (segno / RV_DIR_PER_PAGE);
	RvUsed		u;
	BlockNumber blkno;
	Page		page;
	RvDirEntry *e;

	RvUsedCollect(store, &u);
	blkno = RvExtentBlock(store, RvUsedFreeExtent(&u));
	RvUsedFree(&u);
	*dirbuf = RvDirPage(store, k, BUFFER_LOCK_EXCLUSIVE);
	Assert(BufferIsValid(*dirbuf));
	page = GenericXLogRegisterBuffer(state, *dirbuf, 0);
	e = &RvDirEntries(page)[segno % RV_DIR_PER_PAGE];
	memset(e, 0, sizeof(RvDirEntry));
	e->tier = RV_TIER_HOT;
	e->prev_tier = RV_TIER_NONE;
	e->blkno = blkno;
	e->nblocks = store->geo.seg_blocks;
	RvDirForget(store);
	return blkno;
}

/*
 * RvDirEnsurePage: makes sure the directory page for segno exists (caller
 * holds the metapage exclusively as metabuf, outside any record).
 */
void
RvDirEnsurePage(RvStore *store, Buffer metabuf, uint64 segno)
{
	uint32		k = (uint32) (segno / RV_DIR_PER_PAGE);
	uint32		have = ((RvStoreMeta *) RvPagePayload(BufferGetPage(metabuf)))->ndirpages;

	while (have <= k)
		RvDirAddPage(store, metabuf, have++);
}

/*
 * Runs fn on segno's entry in one WAL record with the metapage, both
 * locked exclusively; prep (may be NULL) runs first, under the metapage
 * lock but before the entry's page is locked (it may read the directory).
 * Returns whether fn changed anything (no record otherwise).
 */
typedef bool (*RvDirEdit) (RvStore *store, RvStoreMeta *meta, RvDirEntry *e, void *arg);
typedef void (*RvDirPrep) (RvStore *store, void *arg);

static bool
RvDirChange(RvStore *store, uint64 segno, RvDirPrep prep, RvDirEdit fn, void *arg)
{
	RvStoreMeta *meta;
	Buffer		metabuf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	Page		mp;
	bool		changed;

	if (prep)
		prep(store, arg);
	buf = RvDirPage(store, (uint32) (segno / RV_DIR_PER_PAGE), BUFFER_LOCK_EXCLUSIVE);
	if (!BufferIsValid(buf))
	{
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	state = GenericXLogStart(store->rel);
	mp = GenericXLogRegisterBuffer(state, metabuf, 0);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	changed = fn(store, (RvStoreMeta *) RvPagePayload(mp),
				 &RvDirEntries(page)[segno % RV_DIR_PER_PAGE], arg);
	if (changed)
		GenericXLogFinish(state);
	else
		GenericXLogAbort(state);
	UnlockReleaseBuffer(buf);
	UnlockReleaseBuffer(metabuf);
	RvDirForget(store);
	return changed;
}

static bool
RvDirEditClose(RvStore *store, RvStoreMeta *meta, RvDirEntry *e, void *arg)
{
	bool		close = *(bool *) arg;

	if (e->tier == RV_TIER_NONE)
		return false;
	if (close == ((e->flags & RV_DIR_CLOSED) != 0))
		return false;
	if (close)
		e->flags |= RV_DIR_CLOSED;
	else
		e->flags &= ~RV_DIR_CLOSED;
	return true;
}

/*
 * RvDirCloseSegment: sets (close) or clears segment segno's RV_DIR_CLOSED
 * flag, which keeps allocation out of it.  Returns whether it changed.
 */
bool
RvDirCloseSegment(RvStore *store, uint64 segno, bool close)
{
	return RvDirChange(store, segno, NULL, RvDirEditClose, &close);
}

typedef struct RvReserveArg
{
	int			tier;
	uint32		nblocks;
	TransactionId xid;
	BlockNumber result;
} RvReserveArg;

/* where the new location goes: from the entries, before the entry's page is locked */
static void
RvDirPrepReserve(RvStore *store, void *arg)
{
	RvReserveArg *a = arg;
	RvUsed		u;

	RvUsedCollect(store, &u);
	a->result = a->tier == RV_TIER_HOT ? RvExtentBlock(store, RvUsedFreeExtent(&u)) :
		RvUsedFreeRun(&u, a->tier, a->nblocks);
	RvUsedFree(&u);
}

static bool
RvDirEditReserve(RvStore *store, RvStoreMeta *meta, RvDirEntry *e, void *arg)
{
	RvReserveArg *a = arg;

	if (e->tier == RV_TIER_NONE || e->prev_tier != RV_TIER_NONE)
		elog(ERROR, "ruvector store %u: a segment to move is not settled", store->node.relNode);
	if (e->tier == RV_TIER_HOT)
		meta->nsealed++;
	e->prev_tier = e->tier;
	e->prev_blkno = e->blkno;
	e->prev_nblocks = e->nblocks;
	e->tier = (uint16) a->tier;
	e->blkno = a->result;
	e->nblocks = a->nblocks;
	e->xid = a->xid;
	e->horizon = InvalidTransactionId;
	e->flags |= RV_DIR_WRITING | RV_DIR_CLOSED;
	return true;
}

/*
 * RvDirReserveRun: starts moving settled segment segno to tier: chooses
 * where its new location of nblocks blocks goes (a free hot extent, or the
 * first gap in the tier relation), records it with RV_DIR_WRITING (readers
 * keep to the old location) and xid (the transaction that created the
 * tier relation, or InvalidTransactionId), and returns its first block.
 * Caller holds ShareUpdateExclusiveLock on the table (moves are
 * serialized) and writes the new location next, then RvDirCompleteMove.
 */
BlockNumber
RvDirReserveRun(RvStore *store, uint64 segno, int tier, uint32 nblocks, TransactionId xid)
{
	RvReserveArg a;

	a.tier = tier;
	a.nblocks = nblocks;
	a.xid = xid;
	a.result = InvalidBlockNumber;
	if (!RvDirChange(store, segno, RvDirPrepReserve, RvDirEditReserve, &a))
		elog(ERROR, "ruvector store %u: segment " UINT64_FORMAT " has no directory entry",
			 store->node.relNode, segno);
	return a.result;
}

static bool
RvDirEditComplete(RvStore *store, RvStoreMeta *meta, RvDirEntry *e, void *arg)
{
	if (!(e->flags & RV_DIR_WRITING))
		return false;
	e->flags &= ~RV_DIR_WRITING;
	e->horizon = ReadNextTransactionId();
	return true;
}

/*
 * RvDirCompleteMove: the new location of segno is written (and WAL-logged):
 * readers may use it from now on (once its xid commits).  The old one is
 * released by a later RvDirSettle.
 */
void
RvDirCompleteMove(RvStore *store, uint64 segno)
{
	RvDirChange(store, segno, NULL, RvDirEditComplete, NULL);
}

/*
 * No other backend of this database, and no standby that reports its
 * snapshots (hot_standby_feedback, through its walsender or a replication
 * slot), may still read a location older than horizon.
 */
static bool
RvDirHorizonPassed(TransactionId horizon)
{
	VirtualTransactionId *vxids;
	int			n;
	TransactionId slot_xmin;
	TransactionId slot_catalog_xmin;

	if (!TransactionIdIsValid(horizon))
		return false;
	vxids = GetCurrentVirtualXIDs(horizon, true, false, PROC_IN_VACUUM, &n);
	pfree(vxids);
	if (n > 0)
		return false;

	/* a replication slot's xmin: a standby's feedback through the slot */
	ProcArrayGetReplicationSlotXmin(&slot_xmin, &slot_catalog_xmin);
	if (TransactionIdIsValid(slot_xmin) && TransactionIdPrecedesOrEquals(slot_xmin, horizon))
		return false;

	/* a walsender's xmin: a standby's feedback without a slot */
	if (WalSndCtl != NULL)
		for (int i = 0; i < max_wal_senders; i++)
		{
			WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
			pid_t		pid;
			PGPROC	   *proc;
			TransactionId xmin;

			SpinLockAcquire(&walsnd->mutex);
			pid = walsnd->pid;
			SpinLockRelease(&walsnd->mutex);
			if (pid == 0 || (proc = BackendPidGetProc(pid)) == NULL)
				continue;
			xmin = *(volatile TransactionId *) &proc->xmin;
			if (TransactionIdIsValid(xmin) && TransactionIdPrecedesOrEquals(xmin, horizon))
				return false;
		}
	return true;
}

/*
 * RvDirSettle: settles every unsettled move of store: a move whose writing
 * never completed (its backend failed or crashed) or whose transaction
 * aborted returns to the old location (the new one is freed); a completed
 * and committed one releases the old location once no backend can still
 * read it, locally or on a standby that sends feedback
 * (RvDirHorizonPassed).  Caller holds ShareUpdateExclusiveLock on
 * the table and is not itself moving a segment.  Returns the number of
 * moves still unsettled; *released gets the number settled either way.
 */
int
RvDirSettle(RvStore *store, uint64 *released)
{
	RvStoreMeta *meta;
	Buffer		metabuf;
	BlockNumber blkno = 1;
	int			pending = 0;
	uint64		done = 0;

	*released = 0;
	if (store->meta_version < RV_STORE_META_V4)
		return 0;
	metabuf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
	while (blkno != InvalidBlockNumber)
	{
		Buffer		buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		GenericXLogState *state;
		Page		page;
		Page		mp;
		RvDirEntry *e;
		bool		changed = false;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		RvPageCheck(store, BufferGetPage(buf), blkno, RV_PAGE_DIR);
		state = GenericXLogStart(store->rel);
		mp = GenericXLogRegisterBuffer(state, metabuf, 0);
		meta = (RvStoreMeta *) RvPagePayload(mp);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		e = RvDirEntries(page);
		for (int i = 0; i < RV_DIR_PER_PAGE; i++)
		{
			bool		revert = false;
			bool		release = false;

			if (e[i].prev_tier == RV_TIER_NONE)
				continue;
			if (e[i].flags & RV_DIR_WRITING)
				revert = true;
			else if (TransactionIdIsValid(e[i].xid) && TransactionIdIsCurrentTransactionId(e[i].xid))
				;				/* ours, not committed yet */
			else if (TransactionIdIsValid(e[i].xid) && TransactionIdIsInProgress(e[i].xid))
				;
			else if (TransactionIdIsValid(e[i].xid) && !TransactionIdDidCommit(e[i].xid))
				revert = true;
			else if (RvDirHorizonPassed(e[i].horizon))
				release = true;
			if (revert)
			{
				e[i].tier = e[i].prev_tier;
				e[i].blkno = e[i].prev_blkno;
				e[i].nblocks = e[i].prev_nblocks;
			}
			if (revert || release)
			{
				e[i].prev_tier = RV_TIER_NONE;
				e[i].prev_blkno = InvalidBlockNumber;
				e[i].prev_nblocks = 0;
				e[i].xid = InvalidTransactionId;
				e[i].horizon = InvalidTransactionId;
				e[i].flags &= ~RV_DIR_WRITING;
				/* a hot segment takes new vids again once settled */
				if (e[i].tier == RV_TIER_HOT)
				{
					e[i].flags &= ~RV_DIR_CLOSED;
					if (meta->nsealed > 0)
						meta->nsealed--;
				}
				changed = true;
				done++;
			}
			else
				pending++;
		}
		blkno = ((RvDirPageHeader *) RvPagePayload(page))->next;
		if (changed)
			GenericXLogFinish(state);
		else
			GenericXLogAbort(state);
		UnlockReleaseBuffer(buf);
	}
	UnlockReleaseBuffer(metabuf);
	RvDirForget(store);
	*released = done;
	return pending;
}

/*
 * RvDirTruncate: truncates the store file after its last used hot extent
 * and each tier relation after its last used run.  Caller holds
 * ShareUpdateExclusiveLock on the table.  Returns the hot file's new
 * length; *hot_blocks_freed and *tier_blocks_freed get the blocks cut.
 */
BlockNumber
RvDirTruncate(RvStore *store, uint64 *hot_blocks_freed, uint64 *tier_blocks_freed)
{
	RvStoreMeta *meta;
	Buffer		metabuf;
	RvUsed		u;
	uint64		last = 0;
	bool		any = false;
	BlockNumber nblocks;
	BlockNumber want;

	RvStore    *tiers[RV_NTIERS] = {0};

	*hot_blocks_freed = 0;
	*tier_blocks_freed = 0;
	if (store->meta_version < RV_STORE_META_V4)
		return RelationGetNumberOfBlocks(store->rel);
	for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
		tiers[t] = RvStoreTier(store, t, false, NULL);
	metabuf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
	LockRelationForExtension(store->rel, ExclusiveLock);
	RvUsedCollect(store, &u);
	for (uint64 e = 0; e < u.nextents; e++)
		if (RvUsedHot(&u, e))
		{
			last = e;
			any = true;
		}
	want = any ? RvExtentBlock(store, last + 1) : 2;
	nblocks = RelationGetNumberOfBlocks(store->rel);
	if (nblocks > want)
	{
		RelationTruncate(store->rel, want);
		*hot_blocks_freed = nblocks - want;
		nblocks = want;
	}
	UnlockRelationForExtension(store->rel, ExclusiveLock);
	for (int t = RV_TIER_WARM; t < RV_NTIERS; t++)
	{
		RvStore    *ts = tiers[t];
		BlockNumber tn;
		BlockNumber tw;

		if (ts == NULL)
			continue;
		LockRelationForExtension(ts->rel, ExclusiveLock);
		tn = RelationGetNumberOfBlocks(ts->rel);
		tw = RvUsedRunsEnd(&u, t);
		if (tn > tw)
		{
			RelationTruncate(ts->rel, tw);
			*tier_blocks_freed += tn - tw;
		}
		UnlockRelationForExtension(ts->rel, ExclusiveLock);
	}
	RvUsedFree(&u);
	UnlockReleaseBuffer(metabuf);
	return nblocks;
}

/* RvDirNumSegments: 1 + the highest segment number the directory names. */
uint64
RvDirNumSegments(RvStore *store)
{
	RvUsed		u;
	uint64		n;

	if (store->meta_version < RV_STORE_META_V4)
	{
		uint64		next_vid = RvStoreNextVid(store);

		return (next_vid + RV_SEG_VIDS - 1) / RV_SEG_VIDS;
	}
	RvUsedCollect(store, &u);
	n = u.nsegs;
	RvUsedFree(&u);
	return n;
}

/*
 * RvDirFirstFit: the first block of the first gap of nblocks blocks among
 * tier's runs (after the tier relation's first page), where a move into
 * tier would put a run of that length now.
 */
BlockNumber
RvDirFirstFit(RvStore *store, int tier, uint32 nblocks)
{
	RvStoreMeta *meta;
	Buffer		metabuf = RvMetaLock(store, BUFFER_LOCK_SHARE, &meta);
	RvUsed		u;
	BlockNumber b;

	RvUsedCollect(store, &u);
	b = RvUsedFreeRun(&u, tier, nblocks);
	RvUsedFree(&u);
	UnlockReleaseBuffer(metabuf);
	return b;
}

/*
 * RvStoreHasTier: whether any segment of store is in tier for this
 * backend now (through its copy of the directory; false before version 4
 * for any tier but hot).
 */
bool
RvStoreHasTier(RvStore *store, int tier)
{
	uint64		nsegs;

	if (store->meta_version < RV_STORE_META_V4)
		return tier == RV_TIER_HOT;
	(void) RvStoreSegLoc(store, 0);
	nsegs = store->dir ? store->dir->nsegs : 0;
	for (uint64 segno = 0; segno < nsegs; segno++)
		if (store->dir->loc[segno].tier == tier)
			return true;
	return false;
}
