/*-------------------------------------------------------------------------
 *
 * rv_memory.h
 *	  Per-backend accounting of the memory that holds ruvector values built
 *	  by this extension, and of vref resolutions done by the table AM.
 *
 * Every vector the extension allocates goes through RvMemAlloc0() (which
 * InitRuVector() uses) or RvMemAlloc() (unzeroed, for copies that are
 * overwritten at once, such as RvStoreFetch's), so
 * current_bytes/peak_bytes/allocations cover all of them.  Bytes are charged to the memory context they live in and
 * released when that context is reset or deleted (or by RvMemFree()), so
 * current_bytes really goes down when the memory goes away.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_MEMORY_H
#define RV_MEMORY_H

/*
 * Allocates size bytes, zeroed, in CurrentMemoryContext and charges the
 * chunk (its real size, GetMemoryChunkSpace) to that context.  Raises the
 * usual out-of-memory error.
 */
extern void *RvMemAlloc0(Size size);
extern void *RvMemAlloc(Size size);

/*
 * Frees a chunk returned by RvMemAlloc0() and uncharges it.  Must not be
 * given any other pointer.
 */
extern void RvMemFree(void *ptr);

/*
 * Counts one vref resolution by the table AM: zero_copy true when the
 * resolved datum points into a pinned store page, false when it was copied.
 */
extern void RvMemCountResolution(bool zero_copy);

/* A snapshot of this backend's counters. */
typedef struct RvMemStats
{
	int64		current_bytes;	/* bytes of live vector chunks */
	int64		peak_bytes;		/* high-water mark of current_bytes */
	int64		allocations;	/* RvMemAlloc0 calls */
	int64		zero_copy_resolutions;
	int64		copied_resolutions;
} RvMemStats;

extern void RvMemGetStats(RvMemStats *stats);

#endif							/* RV_MEMORY_H */
