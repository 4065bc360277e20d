/*-------------------------------------------------------------------------
 *
 * store_icache.c
 *	  Insert caches: a backend-local copy of the SQ8 code records that
 *	  ruhnsw's inserts score, kept across rows, statements and
 *	  transactions (RvStoreInsertCache).
 *
 * Why.  An insert scores a few thousand code records (the ef_construction
 * search, the selection of its neighbours, their lists), most of them
 * scored by earlier inserts too.  Read from the store, each costs a buffer
 * pin and unpin (ReadRecentBuffer's buffer-header spinlock, shared with
 * every other backend), about 15% of an INSERT's backend CPU, and with
 * several clients those atomics bounce the same buffer headers between
 * CPUs.  From the copy each costs a load.
 *
 * What it holds.  A dense array by vid (recbytes = the store's
 * code_stride bytes each, below capvids = ruvector.insert_code_cache /
 * code_stride) and a bitmap of the vids present; the scorer adds each hot
 * SQ8 record it had to read from the store (RvScoreCacheKeep, from
 * RvStoreScoreBatch), and scores the present ones from the copy.  Sealed
 * vids (other tiers' records) are never kept.  At most
 * RV_ICACHE_STORES stores, replaced in turn.
 *
 * Invariants, and why a stale entry is harmless:
 *	- a code record never changes while its vid stays allocated (a
 *	  vector's code is written once, with its vector); it changes only
 *	  when VACUUM frees the vid (RvStoreFreeUnreferenced) and an insert
 *	  hands it out again;
 *	- so an entry is dropped (1) by the inserting backend, for the vid of
 *	  the row it inserts (RvStoreInsertCacheForget, before the row's node
 *	  is searched for), and (2) whole, when the store's relation or the
 *	  table's gets a relcache invalidation: a sweep that frees vids sends
 *	  one for the store relation at its commit, VACUUM FULL, CLUSTER and
 *	  TRUNCATE for the table.  The invalidation only flags the cache; the
 *	  next RvStoreInsertCache empties it;
 *	- only ruhnsw's inserts use it, and their distances only choose links:
 *	  what a scan returns, and every reachability decision, never depend on
 *	  it.  Between a sweep freeing a vid and its commit, another backend may
 *	  reuse the vid while this one still holds its old record; a distance
 *	  from it can make one choice of neighbours worse, never lose a row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/inval.h"
#include "utils/memutils.h"

#include "tam/store/rv_score.h"
#include "tam/store/store_int.h"

/* stores with an insert cache at once */
#define RV_ICACHE_STORES 4

/* kB; 0 disables (ruvector.insert_code_cache, tam_ddl.c) */
int			rv_insert_code_cache = 64 * 1024;

typedef struct RvInsertCacheSlot
{
	Oid			store_relid;
	Oid			heap_relid;
	bool		invalid;		/* a relcache invalidation came */
	RvScoreCache *cache;
} RvInsertCacheSlot;

static RvInsertCacheSlot rv_icaches[RV_ICACHE_STORES];
static int	rv_icache_next = 0;
static bool rv_icache_registered = false;

/* Relcache invalidation of a relation (InvalidOid: of every relation). */
static void
RvInsertCacheInval(Datum arg, Oid relid)
{
	for (int i = 0; i < RV_ICACHE_STORES; i++)
	{
		RvInsertCacheSlot *slot = &rv_icaches[i];

		if (slot->cache != NULL &&
			(!OidIsValid(relid) || relid == slot->store_relid || relid == slot->heap_relid))
			slot->invalid = true;
	}
}

static void
RvInsertCacheDrop(RvInsertCacheSlot *slot)
{
	if (slot->cache == NULL)
		return;
	if (slot->cache->present)
		pfree(slot->cache->present);
	if (slot->cache->data)
		pfree(slot->cache->data);
	pfree(slot->cache);
	slot->cache = NULL;
}

/*
 * RvStoreInsertCache: the backend's insert cache of store (whose table is
 * heap_relid), for scorers begun with mode RV_SCORE_SQ8; created empty on
 * first use, emptied when an invalidation has come since the last call.
 * NULL when the store has no SQ8 codes or ruvector.insert_code_cache is 0.
 * Allocates in TopMemoryContext.
 */
RvScoreCache *
RvStoreInsertCache(RvStore *store, Oid heap_relid)
{
	RvInsertCacheSlot *slot = NULL;
	RvScoreCache *cache;
	uint64		capvids;

	if (store->geo.codes != RV_CODES_SQ8 || rv_insert_code_cache <= 0)
		return NULL;
	capvids = (uint64) rv_insert_code_cache * 1024 / store->geo.code_stride;
	if (!rv_icache_registered)
	{
		CacheRegisterRelcacheCallback(RvInsertCacheInval, (Datum) 0);
		rv_icache_registered = true;
	}
	for (int i = 0; i < RV_ICACHE_STORES; i++)
		if (rv_icaches[i].cache != NULL && rv_icaches[i].store_relid == store->relid)
			slot = &rv_icaches[i];
	if (slot != NULL && (slot->invalid || slot->cache->recbytes != store->geo.code_stride ||
						 slot->cache->capvids != capvids))
		RvInsertCacheDrop(slot);
	if (slot == NULL || slot->cache == NULL)
	{
		if (slot == NULL)
		{
			slot = &rv_icaches[rv_icache_next];
			rv_icache_next = (rv_icache_next + 1) % RV_ICACHE_STORES;
			RvInsertCacheDrop(slot);
		}
		cache = MemoryContextAllocZero(TopMemoryContext, sizeof(RvScoreCache));
		cache->mode = RV_SCORE_SQ8;
		cache->recbytes = store->geo.code_stride;
		cache->fill = true;
		cache->capvids = capvids;
		slot->cache = cache;
		slot->store_relid = store->relid;
		slot->invalid = false;
	}
	slot->heap_relid = heap_relid;
	return slot->cache;
}

/*
 * RvStoreInsertCacheForget: drops vid from cache (may be NULL): its vid
 * now holds another vector.
 */
void
RvStoreInsertCacheForget(RvScoreCache *cache, uint64 vid)
{
	if (cache != NULL && vid < cache->nvids)
		cache->present[vid / 8] &= ~(1 << (vid % 8));
}

/*
 * RvScoreCacheKeep: copies vid's code record rec (recbytes bytes) into an
 * insert cache, growing its arrays (doubling, up to capvids) to cover vid;
 * vids at or above capvids are not kept.
 */
void
RvScoreCacheKeep(RvScoreCache *cache, uint64 vid, const char *rec)
{
	Assert(cache->fill);
	if (vid >= cache->capvids)
		return;
	if (vid >= cache->nvids)
	{
		uint64		n = Max(Max(vid + 1, cache->nvids * 2), 1024);
		Size		oldmap = cache->nvids / 8 + 1;
		Size		newmap;

		n = Min(n, cache->capvids);
		newmap = n / 8 + 1;
		if (cache->data == NULL)
		{
			cache->data = MemoryContextAllocExtended(TopMemoryContext, n * cache->recbytes,
													 MCXT_ALLOC_HUGE);
			cache->present = MemoryContextAllocZero(TopMemoryContext, newmap);
		}
		else
		{
			cache->data = repalloc_huge(cache->data, n * cache->recbytes);
			cache->present = repalloc(cache->present, newmap);
			memset(cache->present + oldmap, 0, newmap - oldmap);
		}
		cache->nvids = n;
	}
	memcpy(cache->data + vid * cache->recbytes, rec, cache->recbytes);
	cache->present[vid / 8] |= 1 << (vid % 8);
}
