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

/* store.c */
extern const char *RvStoreCodeRecord(RvStore *store, uint64 vid, RvPinSet *pins);

#endif							/* RV_STORE_INT_H */
