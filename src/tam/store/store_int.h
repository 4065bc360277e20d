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

#include "storage/bufpage.h"
#include "tam/store/rv_store.h"

/* the most vids RvStorePinCodeRecords takes at once */
#define RV_CODE_BATCH 64

/* Code pages a scorer keeps pinned: block -> buffer (store.c). */
typedef struct RvCodePins
{
	uint32		mask;
	uint32		n;
	uint32		max;
	BlockNumber *blk;
	Buffer	   *buf;
} RvCodePins;

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

/* store_seal.c: the checks of a sealed page, run when it is read from disk */
extern void RvSealedCheckPage(RvStore *tierstore, Page page, BlockNumber blkno, bool verify);

/* store.c */
extern const char *RvStoreCodeRecord(RvStore *store, uint64 vid, RvPinSet *pins);
extern const char *RvStoreBitRecord(RvStore *store, uint64 vid, RvPinSet *pins);
extern void RvStorePinCodeRecords(RvStore *store, int kind, const uint64 *vids, int n,
								  const char **recs, Buffer *bufs, RvCodePins *keep);
extern void RvCodePinsInit(RvCodePins *cp, uint32 max);
extern Buffer RvCodePinsLookup(RvCodePins *cp, BlockNumber blkno);
extern bool RvCodePinsAdd(RvCodePins *cp, BlockNumber blkno, Buffer buf);
extern void RvCodePinsRelease(RvCodePins *cp);

#endif							/* RV_STORE_INT_H */
