/*-------------------------------------------------------------------------
 *
 * store_int.h
 *	  Private to src/tam/store: page access the scorer (store_score.c)
 *	  shares with the page code (store.c).  Nothing outside the store layer
 *	  includes this header; the index and the scans reach vectors through
 *	  the scorer API (rv_score.h) only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_STORE_INT_H
#define RV_STORE_INT_H

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
