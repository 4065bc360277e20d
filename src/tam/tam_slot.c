/*-------------------------------------------------------------------------
 *
 * tam_slot.c
 *	  Between heap tuples, which hold vrefs, and the executor's slots, which
 *	  hold real ruvector values: storing the vectors of a row being written
 *	  and forming its heap tuple; resolving the vrefs of a heap tuple read.
 *
 * Invariants:
 *	- a vref never reaches the executor: every slot this AM hands out is a
 *	  virtual slot whose ruvector columns hold resolved values;
 *	- a resolved value either points into a store buffer pinned in the
 *	  caller's RvPinSet (zero-copy) or is palloc'd in the caller's context;
 *	  with materialize the slot owns copies of everything and no pin is
 *	  needed;
 *	- a value written is validated (RvVectorCheck) before it is stored, so
 *	  vref bytes from anywhere are refused rather than stored;
 *	- the new version of an updated row keeps the old version's vref for
 *	  a vector column whose value is bit for bit the old version's own
 *	  vector (RvFormUpdatedTuple): several row versions of one row then
 *	  share a vid, and no store write happens.  A vid is only ever shared
 *	  by versions of one row: the vref kept is the old version's own,
 *	  never another row's, even when the new value equals another row's
 *	  vector (SET v = other.v), which gets a new vid.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "tam/rv_tam.h"

/*
 * RvMakeVref: a vref datum (RV_VREF_SIZE bytes, palloc'd) for vid of
 * store storeno.
 */
Datum
RvMakeVref(int16 storeno, uint64 vid)
{
	struct varlena *v = palloc(RV_VREF_SIZE);
	RvVref		ref;

	SET_VARSIZE(v, RV_VREF_SIZE);
	ref.marker = RV_VREF_MARKER;
	ref.attnum = storeno;
	ref.vid_lo = (uint32) vid;
	ref.vid_hi = (uint32) (vid >> 32);
	memcpy(VARDATA(v), &ref, sizeof(RvVref));
	return PointerGetDatum(v);
}

/*
 * RvDatumGetVref: if d (a raw attribute of a ruvector table's heap tuple)
 * is a vref, returns true with its store number and vid.
 */
bool
RvDatumGetVref(Datum d, int16 *storeno, uint64 *vid)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	RvVref		ref;

	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v) || !RvIsVref(v))
		return false;
	memcpy(&ref, VARDATA_ANY(v), sizeof(RvVref));
	*storeno = ref.attnum;
	*vid = ((uint64) ref.vid_hi << 32) | ref.vid_lo;
	return true;
}

/*
 * RvResolveTuple: copies the row in src (a slot of heap's, holding vrefs)
 * into dst (a virtual slot) with every vref replaced by its vector.
 * Zero-copy values are pinned in pins unless materialize, in which case
 * dst is materialized and owns all its values.  With count_reads, each
 * vector is counted as a read for its segment's access heat (store_heat.c:
 * rows an index picked).  Allocations go to the current memory context.
 * Raises ERRCODE_DATA_CORRUPTED on a vref whose store or vid does not
 * exist.
 */
void
RvResolveTuple(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
			   RvPinSet *pins, bool materialize, bool count_reads)
{
	RvResolveTupleSome(rel, src, dst, pins, materialize, NULL, count_reads);
}

/*
 * RvResolveTupleSome: RvResolveTuple for the vector columns whose
 * resolve[attnum - 1] is true (all when resolve is NULL); every other
 * vector column of dst is set to NULL, so no vref reaches dst.  For scans
 * whose plan never reads those columns (colscan.c).
 */
void
RvResolveTupleSome(Relation rel, TupleTableSlot *src, TupleTableSlot *dst,
				   RvPinSet *pins, bool materialize, const bool *resolve, bool count_reads)
{
	RvRelCache *cache = RvRelGetCache(rel);
	TupleDesc	desc = src->tts_tupleDescriptor;
	int			natts = desc->natts;

	slot_getallattrs(src);
	ExecClearTuple(dst);
	memcpy(dst->tts_values, src->tts_values, natts * sizeof(Datum));
	memcpy(dst->tts_isnull, src->tts_isnull, natts * sizeof(bool));

	/*
	 * The vector columns are those of src's descriptor, the one the tuple
	 * was read with, not necessarily rel's current one (ALTER COLUMN TYPE
	 * reads the old rows with the old descriptor).
	 */
	for (int att = 0; att < natts; att++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, att);
		int16		storeno;
		uint64		vid;

		if (attr->attisdropped || attr->atttypid != cache->typoid || dst->tts_isnull[att])
			continue;
		if (resolve != NULL && !resolve[att])
		{
			dst->tts_values[att] = (Datum) 0;
			dst->tts_isnull[att] = true;
			continue;
		}
		if (RvDatumGetVref(dst->tts_values[att], &storeno, &vid))
		{
			RvStore    *store = RvTamOpenStore(rel, RV_KEY_STORENO(storeno));

			if (count_reads)
				RvStoreHeatCount(store, vid);
			dst->tts_values[att] =
				PointerGetDatum(RvStoreFetch(store, vid, materialize ? NULL : pins));
		}
	}
	ExecStoreVirtualTuple(dst);
	dst->tts_tid = src->tts_tid;
	dst->tts_tableOid = RelationGetRelid(rel);
	if (materialize)
		ExecMaterializeSlot(dst);
}

/*
 * True if vec (detoasted, of store's dims or not) is bit for bit the vector
 * stored at vid of store: same dims, same floats, unused field zero.
 * Pins store pages only for the comparison.
 */
static bool
RvVectorEqualsStored(RuVector *vec, RvStore *store, uint64 vid)
{
	RvPinSet	pins;
	const float *p0,
			   *p1;
	int			n0,
				n1;
	bool		equal;

	if (VARSIZE(vec) != RUVECTOR_SIZE(store->dims) || vec->dim != store->dims ||
		vec->unused != 0)
		return false;
	memset(&pins, 0, sizeof(pins));
	if (RvStoreGetPieces(store, vid, &pins, &p0, &n0, &p1, &n1) == 0)
	{
		float	   *buf = palloc(sizeof(float) * store->dims);

		RvStoreReadFloats(store, vid, buf);
		equal = memcmp(buf, vec->x, sizeof(float) * store->dims) == 0;
		pfree(buf);
	}
	else
		equal = memcmp(p0, vec->x, sizeof(float) * n0) == 0 &&
			(n1 == 0 || memcmp(p1, vec->x + n0, sizeof(float) * n1) == 0);
	RvPinSetReleaseAll(&pins);
	return equal;
}

/*
 * Forms the heap tuples of n slots (see RvFormStoredTuples).  With oldslot
 * (only for n == 1: a heap slot holding the current version of the row
 * being updated, its raw vrefs), a vector column whose new value is bit
 * for bit the vector the old version's vref names keeps that vref instead
 * of storing the value again.
 */
static void
RvFormTuples(Relation rel, TupleTableSlot **slots, int n, HeapTuple *out,
			 TupleTableSlot *oldslot)
{
	RvRelCache *cache = RvRelGetCache(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	int			nvec = cache->nvecatts;
	int16	   *vecatts = palloc(sizeof(int16) * Max(nvec, 1));
	Datum	  **values = palloc(sizeof(Datum *) * n);
	bool	  **isnull = palloc(sizeof(bool *) * n);
	RuVector  **vecs = palloc(sizeof(RuVector *) * n);
	int		   *rows = palloc(sizeof(int) * n);
	uint64	   *vids = palloc(sizeof(uint64) * n);

	Assert(oldslot == NULL || n == 1);
	/* the cache may be rebuilt when a store is created: keep our own copy */
	memcpy(vecatts, cache->vecatts, sizeof(int16) * nvec);
	for (int r = 0; r < n; r++)
	{
		slot_getallattrs(slots[r]);
		values[r] = palloc(sizeof(Datum) * desc->natts);
		isnull[r] = palloc(sizeof(bool) * desc->natts);
		memcpy(values[r], slots[r]->tts_values, sizeof(Datum) * desc->natts);
		memcpy(isnull[r], slots[r]->tts_isnull, sizeof(bool) * desc->natts);
	}

	for (int i = 0; i < nvec; i++)
	{
		int			att = vecatts[i] - 1;
		int			pending = 0;

		for (int r = 0; r < n; r++)
		{
			RuVector   *vec;

			if (isnull[r][att])
				continue;
			vec = (RuVector *) PG_DETOAST_DATUM(values[r][att]);
			if (oldslot != NULL)
			{
				bool		oldnull;
				Datum		old = slot_getattr(oldslot, att + 1, &oldnull);
				int16		storeno;
				uint64		vid;

				if (!oldnull && RvDatumGetVref(old, &storeno, &vid) &&
					RvVectorEqualsStored(vec, RvTamOpenStore(rel, RV_KEY_STORENO(storeno)), vid))
				{
					/* unchanged: the old version's own vref (copied by heap_form_tuple) */
					values[r][att] = old;
					continue;
				}
			}
			RvVectorCheck(vec);
			vecs[pending] = vec;
			rows[pending++] = r;
		}
		/* batch runs of equal dims into one store insert */
		for (int start = 0; start < pending;)
		{
			int			dims = vecs[start]->dim;
			int			end = start + 1;
			RvStore    *store;

			while (end < pending && vecs[end]->dim == dims)
				end++;
			store = RvTamOpenStore(rel, RV_KEY_COLUMN(att + 1, dims, true));
			RvStoreInsert(store, vecs + start, end - start, vids + start);
			for (int k = start; k < end; k++)
				values[rows[k]][att] = RvMakeVref(store->storeno, vids[k]);
			start = end;
		}
	}

	for (int r = 0; r < n; r++)
	{
		out[r] = heap_form_tuple(desc, values[r], isnull[r]);
		out[r]->t_tableOid = RelationGetRelid(rel);
	}
}

/*
 * RvFormStoredTuples: for n slots about to be inserted into rel, stores
 * every non-null ruvector value in its column's store (one batch per
 * store) and forms heap tuples holding vrefs instead (palloc'd, in out).
 * Raises the type's errors on invalid values.
 */
void
RvFormStoredTuples(Relation rel, TupleTableSlot **slots, int n, HeapTuple *out)
{
	RvFormTuples(rel, slots, n, out, NULL);
}

/*
 * RvFormUpdatedTuple: the heap tuple (palloc'd) of slot, the new version
 * of the row whose current version oldslot holds (a heap slot of rel's
 * descriptor, raw vrefs, buffer pinned).  Each vector column whose new
 * value is bit for bit the vector of the old version's vref keeps that
 * vref (same store, same vid: no store write, and heap sees the column
 * unchanged, so the update may be HOT); every other non-null value is
 * stored as by RvFormStoredTuple.  Whatever produced the new value (SET v
 * = v, a trigger, ON CONFLICT DO UPDATE, a copy of another row's equal
 * vector) only the bytes count, and only the old version's own vref is
 * ever kept.  Raises the type's errors on invalid values.
 */
HeapTuple
RvFormUpdatedTuple(Relation rel, TupleTableSlot *slot, TupleTableSlot *oldslot)
{
	HeapTuple	tuple;

	RvFormTuples(rel, &slot, 1, &tuple, oldslot);
	return tuple;
}

/* RvFormStoredTuple: RvFormStoredTuples for one slot. */
HeapTuple
RvFormStoredTuple(Relation rel, TupleTableSlot *slot)
{
	HeapTuple	tuple;

	RvFormStoredTuples(rel, &slot, 1, &tuple);
	return tuple;
}

/*
 * RvTamGetVid (index API): the store and vid that column attnum of the
 * heap tuple at tid refers to.  Reads the tuple with SnapshotAny (the
 * caller knows the TID is one it was handed, e.g. by aminsert).  Returns
 * false when the tuple is gone or the column is null.
 */
bool
RvTamGetVid(Relation rel, ItemPointer tid, int16 attnum, RvStore **store, uint64 *vid)
{
	TupleTableSlot *hslot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
													 &TTSOpsBufferHeapTuple);
	bool		found = false;

	if (RvHeap()->tuple_fetch_row_version(rel, tid, SnapshotAny, hslot))
	{
		bool		isnull;
		Datum		d = slot_getattr(hslot, attnum, &isnull);
		int16		storeno;

		if (!isnull && RvDatumGetVref(d, &storeno, vid))
		{
			*store = RvTamOpenStore(rel, RV_KEY_STORENO(storeno));
			found = true;
		}
	}
	ExecDropSingleTupleTableSlot(hslot);
	return found;
}

/*
 * RvTamTidRefersToVid (index API): true if column attnum of a heap tuple
 * in the HOT chain that starts at tid (the TID an index entry holds: the
 * chain's root) refers to vid of store.  An index built over HOT chains
 * holds each chain's root TID with the vid of the member that was live
 * then, which need not be the root's own (VACUUM FULL-free tables whose
 * rows were updated before CREATE INDEX); a member whose insert aborted is
 * skipped.  Takes a share lock on the heap page for the walk.
 */
bool
RvTamTidRefersToVid(Relation rel, ItemPointer tid, int16 attnum, RvStore *store, uint64 vid)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber offnum = ItemPointerGetOffsetNumber(tid);
	TupleDesc	desc = RelationGetDescr(rel);
	TransactionId prev_xmax = InvalidTransactionId;
	bool		found = false;
	Buffer		buf;
	Page		page;

	if (blkno >= RelationGetNumberOfBlocks(rel))
		return false;
	buf = ReadBuffer(rel, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	for (int hops = 0; hops <= MaxHeapTuplesPerPage; hops++)
	{
		ItemId		lp;
		HeapTupleData tup;
		bool		isnull;
		Datum		d;
		int16		storeno;
		uint64		tvid;

		if (offnum < FirstOffsetNumber || offnum > PageGetMaxOffsetNumber(page))
			break;
		lp = PageGetItemId(page, offnum);
		if (ItemIdIsRedirected(lp))
		{
			offnum = ItemIdGetRedirect(lp);
			continue;
		}
		if (!ItemIdIsNormal(lp))
			break;
		tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
		tup.t_len = ItemIdGetLength(lp);
		tup.t_tableOid = RelationGetRelid(rel);
		ItemPointerSet(&tup.t_self, blkno, offnum);
		/* a broken chain: the slot was reused by an unrelated tuple */
		if (TransactionIdIsValid(prev_xmax) &&
			!TransactionIdEquals(prev_xmax, HeapTupleHeaderGetXmin(tup.t_data)))
			break;
		if (!RvTupleInsertAborted(tup.t_data))
		{
			d = heap_getattr(&tup, attnum, desc, &isnull);
			if (!isnull && RvDatumGetVref(d, &storeno, &tvid) &&
				storeno == store->storeno && tvid == vid)
			{
				found = true;
				break;
			}
		}
		if (!HeapTupleIsHotUpdated(&tup))
			break;
		offnum = ItemPointerGetOffsetNumber(&tup.t_data->t_ctid);
		prev_xmax = HeapTupleHeaderGetUpdateXid(tup.t_data);
	}
	UnlockReleaseBuffer(buf);
	return found;
}

/*
 * RvSlotInsertAborted: true if the heap tuple in slot (a BufferHeapTuple
 * slot from heap's SnapshotAny scan, buffer pinned) was inserted by a
 * transaction that aborted or crashed.  Such a tuple was never visible;
 * its vrefs may name a store whose creation aborted with it (so its store
 * number may have been given to another store since), and nothing needs
 * its vectors.
 */
bool
RvSlotInsertAborted(TupleTableSlot *slot)
{
	return RvTupleInsertAborted(((BufferHeapTupleTableSlot *) slot)->base.tuple->t_data);
}

/*
 * RvTupleInsertAborted: true if heap tuple header t (on a pinned buffer)
 * was inserted by a transaction that aborted or crashed.
 */
bool
RvTupleInsertAborted(HeapTupleHeader t)
{
	TransactionId xmin;

	if (HeapTupleHeaderXminCommitted(t))
		return false;
	if (HeapTupleHeaderXminInvalid(t))
		return true;
	xmin = HeapTupleHeaderGetRawXmin(t);
	if (TransactionIdIsCurrentTransactionId(xmin) || TransactionIdIsInProgress(xmin))
		return false;
	return !TransactionIdDidCommit(xmin);
}
