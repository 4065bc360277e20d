/*-------------------------------------------------------------------------
 *
 * rv_memory.c
 *	  The single allocator for ruvector values and this backend's memory
 *	  counters, exposed as ruvector_memory_detailed() and
 *	  ruvector_reset_peak_memory().
 *
 * Accounting: a small hash in TopMemoryContext maps a MemoryContext pointer
 * to the bytes of vector chunks allocated in it.  The first allocation in a
 * context registers a reset callback on that context; when the context is
 * reset or deleted the callback subtracts the context's bytes from
 * current_bytes and disarms the entry (the callback list of a context is
 * emptied by a reset, so the next allocation arms it again).  The entry
 * used last is cached because consecutive vectors almost always land in the
 * same context, typically a per-tuple context reset after every row.
 *
 * Invariants: current_bytes equals the sum of the entries' bytes;
 * peak_bytes >= current_bytes; an entry whose context does not carry our
 * callback (disarmed) has zero bytes, and only the cached entry may be
 * disarmed, so the hash holds no more than one stale entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "toast/rv_memory.h"

typedef struct RvMemCtxEntry
{
	MemoryContext cxt;			/* hash key */
	int64		bytes;			/* vector chunk bytes charged to cxt */
	bool		registered;		/* our callback is armed on cxt */
} RvMemCtxEntry;

static HTAB *rv_mem_contexts = NULL;
static RvMemCtxEntry *rv_mem_last = NULL;	/* cache of the last entry used */
static RvMemStats rv_mem_stats;

/*
 * RvMemContextGone: reset/delete callback of a context we charged; arg is
 * the context pointer.  Uncharges everything allocated in it.  The cached
 * entry stays (disarmed, zero bytes) so that the next allocation in a
 * per-tuple context that is reset row by row costs no hash operation; it
 * is removed when the cache moves on (RvMemEntryFor).
 */
static void
RvMemContextGone(void *arg)
{
	MemoryContext cxt = (MemoryContext) arg;
	RvMemCtxEntry *entry;

	if (rv_mem_last != NULL && rv_mem_last->cxt == cxt)
		entry = rv_mem_last;
	else
		entry = (RvMemCtxEntry *) hash_search(rv_mem_contexts, &cxt,
											  HASH_FIND, NULL);
	if (entry == NULL)
		return;

	rv_mem_stats.current_bytes -= entry->bytes;
	entry->bytes = 0;
	entry->registered = false;
	if (entry != rv_mem_last)
		hash_search(rv_mem_contexts, &cxt, HASH_REMOVE, NULL);
}

/*
 * RvMemEntryFor: the accounting entry of cxt, created on first use, with
 * our reset callback armed on cxt.
 */
static RvMemCtxEntry *
RvMemEntryFor(MemoryContext cxt)
{
	RvMemCtxEntry *entry = rv_mem_last;

	if (entry == NULL || entry->cxt != cxt)
	{
		bool		found;

		/* Leaving the cached entry: drop it if its context is gone. */
		rv_mem_last = NULL;
		if (entry != NULL && !entry->registered)
			hash_search(rv_mem_contexts, &entry->cxt, HASH_REMOVE, NULL);

		if (rv_mem_contexts == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = sizeof(MemoryContext);
			ctl.entrysize = sizeof(RvMemCtxEntry);
			ctl.hcxt = TopMemoryContext;
			rv_mem_contexts = hash_create("ruvector memory accounting",
										  32, &ctl,
										  HASH_ELEM | HASH_BLOBS |
										  HASH_CONTEXT);
		}

		entry = (RvMemCtxEntry *) hash_search(rv_mem_contexts, &cxt,
											  HASH_ENTER, &found);
		if (!found)
		{
			entry->bytes = 0;
			entry->registered = false;
		}
		rv_mem_last = entry;
	}

	if (!entry->registered)
	{
		MemoryContextCallback *cb;

		/*
		 * The callback struct lives in the context itself, so it goes away
		 * with it.  If this allocation fails the entry stays disarmed with
		 * zero bytes, which is harmless.
		 */
		cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));
		cb->func = RvMemContextGone;
		cb->arg = (void *) cxt;
		MemoryContextRegisterResetCallback(cxt, cb);
		entry->registered = true;
	}
	return entry;
}

/* Charges a chunk just allocated in CurrentMemoryContext. */
static void *
RvMemCharge(void *ptr)
{
	RvMemCtxEntry *entry = RvMemEntryFor(CurrentMemoryContext);
	int64		bytes = (int64) GetMemoryChunkSpace(ptr);

	entry->bytes += bytes;
	rv_mem_stats.current_bytes += bytes;
	if (rv_mem_stats.current_bytes > rv_mem_stats.peak_bytes)
		rv_mem_stats.peak_bytes = rv_mem_stats.current_bytes;
	rv_mem_stats.allocations++;
	return ptr;
}

/*
 * RvMemAlloc0: size bytes, zeroed, in CurrentMemoryContext; charged to it.
 */
void *
RvMemAlloc0(Size size)
{
	return RvMemCharge(palloc0(size));
}

/*
 * RvMemAlloc: like RvMemAlloc0 but not zeroed, for callers that fill every
 * byte (e.g. a vector copied out of a store).
 */
void *
RvMemAlloc(Size size)
{
	return RvMemCharge(palloc(size));
}

/*
 * RvMemFree: frees a chunk from RvMemAlloc0() and uncharges it from the
 * context that holds it.
 */
void
RvMemFree(void *ptr)
{
	MemoryContext cxt = GetMemoryChunkContext(ptr);
	RvMemCtxEntry *entry;

	if (rv_mem_last != NULL && rv_mem_last->cxt == cxt)
		entry = rv_mem_last;
	else if (rv_mem_contexts != NULL)
		entry = (RvMemCtxEntry *) hash_search(rv_mem_contexts, &cxt,
											  HASH_FIND, NULL);
	else
		entry = NULL;

	if (entry != NULL)
	{
		int64		bytes = Min((int64) GetMemoryChunkSpace(ptr), entry->bytes);

		entry->bytes -= bytes;
		rv_mem_stats.current_bytes -= bytes;
	}
	pfree(ptr);
}

/*
 * RvMemCountResolution: bumps the zero-copy or the copied resolution count.
 */
void
RvMemCountResolution(bool zero_copy)
{
	if (zero_copy)
		rv_mem_stats.zero_copy_resolutions++;
	else
		rv_mem_stats.copied_resolutions++;
}

/*
 * RvMemGetStats: copies this backend's counters into *stats.
 */
void
RvMemGetStats(RvMemStats *stats)
{
	*stats = rv_mem_stats;
}

PG_FUNCTION_INFO_V1(ruvector_memory_detailed);

/*
 * ruvector_memory_detailed() -> jsonb: this backend's counters as
 * {"current_bytes", "peak_bytes", "allocations", "zero_copy_resolutions",
 * "copied_resolutions"}, all integers (bytes or counts).
 */
Datum
ruvector_memory_detailed(PG_FUNCTION_ARGS)
{
	char	   *json;

	json = psprintf("{\"current_bytes\": " INT64_FORMAT
					", \"peak_bytes\": " INT64_FORMAT
					", \"allocations\": " INT64_FORMAT
					", \"zero_copy_resolutions\": " INT64_FORMAT
					", \"copied_resolutions\": " INT64_FORMAT "}",
					rv_mem_stats.current_bytes,
					rv_mem_stats.peak_bytes,
					rv_mem_stats.allocations,
					rv_mem_stats.zero_copy_resolutions,
					rv_mem_stats.copied_resolutions);

	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

PG_FUNCTION_INFO_V1(ruvector_reset_peak_memory);

/*
 * ruvector_reset_peak_memory() -> void: sets peak_bytes to current_bytes.
 */
Datum
ruvector_reset_peak_memory(PG_FUNCTION_ARGS)
{
	rv_mem_stats.peak_bytes = rv_mem_stats.current_bytes;
	PG_RETURN_VOID();
}
