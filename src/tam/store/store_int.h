/*-------------------------------------------------------------------------
 *
 * store_int.h
 *	  Private to src/tam/store: page access the scorer (store_score.c), the
 *	  directory (store_dir.c), sealed segments (store_seal.c) and the
 *	  catalog (store_catalog.c) share with the page code (store.c).
 *	  Nothing outside the store layer includes this header; the index and
 *	  the scans reach vectors through the scorer API (rv_score.h) only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_STORE_INT_H
#define RV_STORE_INT_H

#include "access/xact.h"
#include "storage/bufpage.h"
#include "storage/proc.h"
#include "tam/store/rv_score.h"
#include "tam/store/rv_store.h"
#include "tam/store/rv_tier.h"

/* the most vids RvStorePinCodeRecords takes at once */
#define RV_CODE_BATCH 64

/*
 * How many code records a scorer pins at once (RvStoreScoreBatch and
 * RvStoreScoreBounds pin a batch in groups of this many, each group
 * released before the next is pinned).  bufmgr keeps a backend's first 8
 * pins in an array (REFCOUNT_ARRAY_ENTRIES) and the rest in a hash table;
 * with more than 8 held, every pin and unpin of another buffer becomes a
 * hash operation.  Groups of 6 leave room for the pins a search or an
 * insert holds meanwhile (the scorer's pin set, an index page), and they
 * measured faster than pinning a whole neighbour list, or keeping every
 * code page pinned for the search: 20 to 27% less backend CPU per search
 * on Fashion-MNIST and the 100-d text set, about 9% per insert.
 */
#define RV_PIN_GROUP 6

static inline RvPageOpaque *
RvPageGetOpaque(Page page)
{
	return (RvPageOpaque *) PageGetSpecialPointer(page);
}

static inline char *
RvPagePayload(Page page)
{
	return (char *) page + RV_PAGE_PAYLOAD_START;
}

/* store.c: page access shared with store_dir.c and store_seal.c */
extern void RvPageInit(Page page, uint16 kind, uint32 segno);
extern void RvPageCheck(RvStore *store, Page page, BlockNumber blkno, uint16 kind);
extern Buffer RvReadBufferExtend(RvStore *store, BlockNumber blkno);
extern Buffer RvMetaLock(RvStore *store, int mode, RvStoreMeta **meta);
extern void RvBitEncode(RvStore *store, const float *x, const float *c, float *scratch, char *rec);
extern Page RvPinPageExt(RvStore *store, BlockNumber blkno, RvPinSet *pins, Buffer *tmp);
extern bool RvStoreCopySegState(RvStore *store, uint64 segno, char *page);

/* store_seal.c: the checks of a sealed page, run when it is read from disk */
extern void RvSealedCheckPage(RvStore *tierstore, Page page, BlockNumber blkno, bool verify);

/*
 * A backend's copy of a version-4 store's directory (store_dir.c): the
 * effective location of each segment, valid while the key it was read
 * under holds (rv_tier.h).
 */
typedef struct RvDirCache
{
	TransactionId xmin;			/* MyProc->xmin when read */
	LocalTransactionId lxid;	/* MyProc->lxid when read */
	TimestampTz stmt;			/* the statement's start when read */
	uint64		nsegs;			/* loc[] entries */
	struct RvSegLoc *loc;
	MemoryContext cxt;			/* loc and the runs */
} RvDirCache;

static inline bool
RvDirCacheValid(const RvDirCache *dc)
{
	return TransactionIdIsValid(MyProc->xmin) && dc->xmin == MyProc->xmin &&
		dc->lxid == MyProc->lxid && dc->stmt == GetCurrentStatementStartTimestamp();
}

/*
 * RvStoreSegLocFast: RvStoreSegLoc (rv_tier.h), without a call when the
 * backend's copy of the directory is valid and holds segno's location
 * ready (a hot one, or a sealed one whose run was read): for the per-vid
 * paths of searches.
 */
static inline const RvSegLoc *
RvStoreSegLocFast(RvStore *store, uint64 segno)
{
	const RvDirCache *dc = store->dir;

	if (dc != NULL && segno < dc->nsegs && RvDirCacheValid(dc) &&
		(dc->loc[segno].tier == RV_TIER_HOT || dc->loc[segno].run != NULL))
		return &dc->loc[segno];
	return RvStoreSegLoc(store, segno);
}

/*
 * A backend-local copy of some vids' search records (rv_score.h): a build's
 * (RvStoreCacheVectors, filled up front, freed by RvStoreCacheFree) or an
 * insert cache (store_icache.c: fill set, filled by the scorer as it
 * misses, kept for the backend's life, emptied on invalidation).
 */
struct RvScoreCache
{
	RvScoreMode mode;
	uint32		recbytes;		/* bytes per cached vid */
	uint64		nvids;			/* vids below this may be cached */
	uint8	   *present;		/* bitmap over [0, nvids) */
	char	   *data;			/* nvids * recbytes, indexed by vid */
	bool		fill;			/* an insert cache */
	uint64		capvids;		/* insert cache: vids below this may be kept */
};

/* store_icache.c */
extern void RvScoreCacheKeep(RvScoreCache *cache, uint64 vid, const char *rec);

/* store.c */
extern const char *RvStoreCodeRecord(RvStore *store, uint64 vid, RvPinSet *pins);
extern const char *RvStoreBitRecord(RvStore *store, uint64 vid, RvPinSet *pins);
extern void RvStorePinCodeRecords(RvStore *store, int kind, const uint64 *vids, int n,
								  const char **recs, Buffer *bufs,
								  char *scratch);

#endif							/* RV_STORE_INT_H */
