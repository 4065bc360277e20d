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

/* store.c */
extern const char *RvStoreCodeRecord(RvStore *store, uint64 vid, RvPinSet *pins);
extern void RvStorePinCodeRecords(RvStore *store, const uint64 *vids, int n,
								  const char **recs, Buffer *bufs);

#endif							/* RV_STORE_INT_H */
