/*-------------------------------------------------------------------------
 *
 * tam_vidcache.c
 *	  The backend-local map from the rows this backend has just inserted
 *	  to their vectors' vids: (table, heap TID, column) -> (store number,
 *	  vid).  The table AM fills it right after each heap insert
 *	  (tuple_insert, its speculative form, multi_insert); an index access
 *	  method's aminsert, which the executor calls for the same rows right
 *	  after, looks the vid up here instead of reading the heap tuple again
 *	  (RvTamGetVid stays the fallback).
 *
 * Invariants:
 *	- the map holds the rows of the latest insert call of this backend
 *	  only: each call empties it first, so it never grows beyond one
 *	  multi_insert batch;
 *	- an entry answers only inside the (sub)transaction and command that
 *	  inserted its row: a heap TID can be given to another row only after
 *	  the first row is dead to everyone, which a row inserted by a running
 *	  transaction is not, unless its subtransaction aborted (then the
 *	  current transaction id differs) or a later command reuses the TID
 *	  after pruning (then the command id differs);
 *	- it holds numbers only (no pointers into buffers or relcache entries),
 *	  in memory of its own under TopMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "tam/rv_tam.h"

typedef struct RvVidCacheEntry
{
	ItemPointerData tid;
	int16		attnum;
	int16		storeno;
	uint64		vid;
} RvVidCacheEntry;

static struct
{
	Oid			relid;			/* table of the entries */
	TransactionId xid;			/* inserting (sub)transaction */
	CommandId	cid;			/* inserting command */
	RvVidCacheEntry *entries;
	int			n;
	int			cap;
	int			next;			/* where the next lookup starts */
} rv_vidcache;

/*
 * RvVidCacheReset: empties the map and binds it to rel and command cid of
 * the current (sub)transaction, before an insert call adds its rows.
 */
void
RvVidCacheReset(Relation rel, CommandId cid)
{
	rv_vidcache.relid = RelationGetRelid(rel);
	rv_vidcache.xid = InvalidTransactionId;
	rv_vidcache.cid = cid;
	rv_vidcache.n = 0;
	rv_vidcache.next = 0;
}

/*
 * RvVidCacheAdd: records the vrefs of tuple (as formed for rel's heap,
 * holding vrefs), just inserted at tid, one entry per non-null vector
 * column.  Call after the heap insert, which has assigned the transaction
 * id.  Allocates in TopMemoryContext; raises out-of-memory errors only.
 */
void
RvVidCacheAdd(Relation rel, ItemPointer tid, HeapTuple tuple)
{
	RvRelCache *cache = RvRelGetCache(rel);
	TupleDesc	desc = RelationGetDescr(rel);

	rv_vidcache.xid = GetCurrentTransactionIdIfAny();
	for (int i = 0; i < cache->nvecatts; i++)
	{
		int16		attnum = cache->vecatts[i];
		bool		isnull;
		Datum		d = heap_getattr(tuple, attnum, desc, &isnull);
		int16		storeno;
		uint64		vid;
		RvVidCacheEntry *e;

		if (isnull || !RvDatumGetVref(d, &storeno, &vid))
			continue;
		if (rv_vidcache.n >= rv_vidcache.cap)
		{
			int			cap = Max(64, rv_vidcache.cap * 2);

			if (rv_vidcache.entries == NULL)
				rv_vidcache.entries = MemoryContextAlloc(TopMemoryContext,
														 sizeof(RvVidCacheEntry) * cap);
			else
				rv_vidcache.entries = repalloc(rv_vidcache.entries,
											   sizeof(RvVidCacheEntry) * cap);
			rv_vidcache.cap = cap;
		}
		e = &rv_vidcache.entries[rv_vidcache.n++];
		e->tid = *tid;
		e->attnum = attnum;
		e->storeno = storeno;
		e->vid = vid;
	}
}

/*
 * RvVidCacheLookup (index API): the store number and vid that column
 * attnum of rel's row at tid refers to, if this backend's latest insert
 * call inserted that row in the current (sub)transaction and command.
 * Returns false when the map does not know (the caller then reads the
 * heap: RvTamGetVid).  Rows are looked up in the order they were added
 * (the executor inserts index entries in that order), so a batch costs
 * O(1) per row; any other order costs at most one pass over the batch.
 */
bool
RvVidCacheLookup(Relation rel, ItemPointer tid, int16 attnum, int16 *storeno, uint64 *vid)
{
	int			n = rv_vidcache.n;

	if (n == 0 || rv_vidcache.relid != RelationGetRelid(rel) ||
		!TransactionIdIsValid(rv_vidcache.xid) ||
		rv_vidcache.xid != GetCurrentTransactionIdIfAny() ||
		rv_vidcache.cid != GetCurrentCommandId(false))
		return false;
	for (int k = 0; k < n; k++)
	{
		int			i = (rv_vidcache.next + k) % n;
		RvVidCacheEntry *e = &rv_vidcache.entries[i];

		if (e->attnum == attnum && ItemPointerEquals(&e->tid, tid))
		{
			*storeno = e->storeno;
			*vid = e->vid;
			rv_vidcache.next = (i + 1) % n;
			return true;
		}
	}
	return false;
}
