/*-------------------------------------------------------------------------
 *
 * tam_verify.c
 *	  ruvector_verify(regclass): an amcheck-style consistency check of a
 *	  ruvector table's vector stores and of the heap's references into
 *	  them.  Returns one row (kind, store, blkno, vid, detail) per problem
 *	  found and nothing when the table is healthy.
 *
 * What is checked (kinds in parentheses):
 *	- catalog rows of the table's storage: column is a ruvector column,
 *	  dims in range, tier hot, the store file exists (catalog_*, store_missing);
 *	- every store page: standard header bounds, special size
 *	  RV_PAGE_SPECIAL, magic and version, page kind and segment number
 *	  matching the block's role (page_header, page_special, page_magic,
 *	  page_kind, page_uninitialized); a page the buffer manager refuses to
 *	  read is reported as read_error;
 *	- the metapage against the catalog and the segments: geometry, free
 *	  hint, nallocated == sum of the segment headers' == nonzero xids
 *	  (meta_geometry, meta_counts, meta_file_size);
 *	- segment headers: segno, tier, format, nallocated (segment_header,
 *	  segment_count); vid states: 0, frozen or a normal xid that is not in
 *	  the future, nothing allocated at or beyond next_vid (vid_state);
 *	- payload of every vid some heap tuple references or VACUUM froze:
 *	  its bytes lie below pd_lower of initialized data pages and, with the
 *	  header layout, its in-page varlena header matches the store
 *	  (vid_payload, vid_header);
 *	- code pages (stores with codes): each is an initialized code page of
 *	  its segment, and the code record of every vid whose allocating
 *	  transaction is frozen or committed lies below pd_lower, has a finite
 *	  scale and offset, and decodes to within its error bound (scale / 2
 *	  per element) of the vid's floats (vid_codes);
 *	- bit pages and the centroid (version-3 stores): the metapage's bit
 *	  geometry and seed, a finite centroid (or running mean), fixed once
 *	  RV_CENTROID_VECTORS vectors were summed (meta_centroid); each bit page
 *	  an initialized bit page of its segment, and the bit record of every
 *	  such vid below pd_lower and either absent (all zero bytes) or, with a
 *	  fixed centroid, with finite factors, <o_bar, o> in (0, 1], ||x - c||
 *	  and ||x|| matching the vid's floats and every sign bit matching the
 *	  rotated residual R(x - c) (elements within float rounding of 0
 *	  excepted) (vid_bits);
 *	- heap <-> store: every tuple on the heap (seen with SnapshotAny, the
 *	  same pass as VACUUM's mark) holds a vref in each non-null ruvector
 *	  column, to an existing store of that column with the column's dims,
 *	  to an allocated vid (heap_not_vref, heap_vref_store, heap_vref_column,
 *	  heap_vref_dims, heap_vref_unallocated).  Several tuples may refer to
 *	  one vid (the versions of a row whose UPDATEs kept the vector); each
 *	  is checked, and the vid's payload once.  A vid allocated but no
 *	  longer referenced (its rows deleted, updated or pruned) is not a
 *	  problem: it is space awaiting VACUUM, counted by
 *	  ruvector_storage_report as a dead vector, never reported here.
 *	- indexes: every index of the table whose access method registered a
 *	  check (RvRegisterIndexVerifier; ruhnsw registers RuhnswVerify, whose
 *	  checks and kinds, all named ruhnsw_*, src/index/hnswverify.c lists);
 *	  an index that cannot be read gives an "<am>_error" row.
 *
 * Invariants of this file:
 *	- it never writes: pages are read with ReadBufferExtended, share-locked
 *	  only long enough to copy them, and every check works on the copy, so
 *	  no check dereferences shared memory or holds a lock;
 *	- reads that can fail (damaged page headers, missing files, checksum
 *	  failures) run in an internal subtransaction and their error becomes a
 *	  row, so damage is reported instead of aborting the check; query
 *	  cancel and other operator-intervention errors are re-thrown;
 *	- the table is locked with ShareUpdateExclusiveLock (like VACUUM), so
 *	  no VACUUM, rewrite or store creation races with the check; concurrent
 *	  INSERT/UPDATE/DELETE are allowed and cannot cause false reports:
 *	  the heap pass runs before the stores' high-water marks are read, and
 *	  new vids are never frozen.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/procarray.h"
#include "storage/smgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "simd/rv_simd.h"
#include "tam/rv_tam.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_tier.h"

#define RV_MAX_DIMS 16000

/* One heap reference into a store: a vid and the tuple holding it. */
typedef struct RvVerifyRef
{
	uint64		vid;
	ItemPointerData tid;
} RvVerifyRef;

/* Per-store state. */
typedef struct RvVerifyStore
{
	RvCatalogStore cs;
	RvStore    *store;			/* NULL if not checkable (bad catalog row) */
	RvVerifyRef *refs;			/* heap references, sorted by vid later */
	int64		nrefs;
	int64		maxrefs;
} RvVerifyStore;

typedef struct RvVerifyState
{
	Relation	rel;
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
	BufferAccessStrategy strategy;
	int			nstores;
	RvVerifyStore *stores;
	bool		heap_ok;		/* the heap pass completed */
	int64		nproblems;		/* rows reported */
	char	   *first_problem;	/* kind and detail of the first one */
	char	   *page;			/* BLCKSZ scratch copy of the page being checked */
	char	   *segpage;		/* BLCKSZ copy of the current segment page */
	bool		v4;				/* the store being checked has a directory */
} RvVerifyState;

/* Appends one problem row; store, blkno, vid < 0 mean NULL. */
static void
RvReport(RvVerifyState *vs, const char *kind, int store, int64 blkno, int64 vid,
		 const char *fmt,...)
	pg_attribute_printf(6, 7);

static void
RvReport(RvVerifyState *vs, const char *kind, int store, int64 blkno, int64 vid,
		 const char *fmt,...)
{
	Datum		values[5];
	bool		nulls[5] = {0};
	StringInfoData buf;
	va_list		args;

	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	values[0] = CStringGetTextDatum(kind);
	values[1] = Int32GetDatum(store);
	nulls[1] = store < 0;
	values[2] = Int64GetDatum(blkno);
	nulls[2] = blkno < 0;
	values[3] = Int64GetDatum(vid);
	nulls[3] = vid < 0;
	values[4] = CStringGetTextDatum(buf.data);
	tuplestore_putvalues(vs->tupstore, vs->tupdesc, values, nulls);
	if (vs->nproblems++ == 0)
		vs->first_problem = psprintf("%s: %s", kind, buf.data);
	pfree(buf.data);
}

/*
 * Error categories that must abort the check rather than become a row:
 * cancel, shutdown, out of memory and the like.
 */
static bool
RvErrorIsFatalForVerify(int sqlerrcode)
{
	int			cat = ERRCODE_TO_CATEGORY(sqlerrcode);

	return cat == ERRCODE_TO_CATEGORY(ERRCODE_OPERATOR_INTERVENTION) ||
		cat == ERRCODE_TO_CATEGORY(ERRCODE_INSUFFICIENT_RESOURCES) ||
		cat == ERRCODE_TO_CATEGORY(ERRCODE_PROGRAM_LIMIT_EXCEEDED);
}

typedef void (*RvVerifyFn) (RvVerifyState *vs, void *arg);

/*
 * Runs fn(vs, arg) in an internal subtransaction.  On error, rolls the
 * subtransaction back (releasing buffer pins and aborting buffer I/O),
 * reports a row of kind with the error's message and returns false.
 */
static bool
RvVerifyTry(RvVerifyState *vs, RvVerifyFn fn, void *arg, const char *kind, int store,
			int64 blkno)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(vs, arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (RvErrorIsFatalForVerify(edata->sqlerrcode))
			ReThrowError(edata);
		RvReport(vs, kind, store, blkno, -1, "%s", edata->message);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

typedef struct RvReadArg
{
	RvStore    *store;
	BlockNumber blkno;
	char	   *dst;
	BlockNumber nblocks;		/* for RvNblocksFn */
} RvReadArg;

static void
RvReadPageFn(RvVerifyState *vs, void *arg)
{
	RvReadArg  *ra = arg;
	Buffer		buf;

	buf = ReadBufferExtended(ra->store->rel, MAIN_FORKNUM, ra->blkno, RBM_NORMAL, vs->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(ra->dst, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);
}

/* Copies block blkno of store into dst; false (with a row) if unreadable. */
static bool
RvReadPage(RvVerifyState *vs, RvVerifyStore *vst, BlockNumber blkno, char *dst)
{
	RvReadArg	ra;

	CHECK_FOR_INTERRUPTS();
	ra.store = vst->store;
	ra.blkno = blkno;
	ra.dst = dst;
	return RvVerifyTry(vs, RvReadPageFn, &ra, "read_error", vst->cs.storeno, blkno);
}

static void
RvNblocksFn(RvVerifyState *vs, void *arg)
{
	RvReadArg  *ra = arg;

	ra->nblocks = RelationGetNumberOfBlocks(ra->store->rel);
}

/* True when bytes p[0..n) are all zero. */
static bool
RvPageIsZeroRange(const char *p, Size n)
{
	for (Size i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static bool
RvPageIsZero(const char *page)
{
	return RvPageIsZeroRange(page, BLCKSZ);
}

/*
 * Checks the header and special space of the page copy at blkno against
 * its role (kind, segno).  An all-zero page is reported unless allow_new.
 * Returns true when the page is an initialized store page of that role
 * whose contents may be examined.
 */
static bool
RvCheckPage(RvVerifyState *vs, RvVerifyStore *vst, BlockNumber blkno, const char *page,
			uint16 kind, uint32 segno, bool allow_new)
{
	PageHeader	ph = (PageHeader) page;
	const RvPageOpaque *op;
	int			st = vst->cs.storeno;
	static const char *const kinds[] = {"?", "meta", "segment", "data", "code", "bit"};

	if (ph->pd_upper == 0)
	{
		if (!RvPageIsZero(page))
			RvReport(vs, "page_header", st, blkno, -1,
					 "pd_upper is 0 but the page is not all zeros");
		else if (!allow_new)
			RvReport(vs, "page_uninitialized", st, blkno, -1,
					 "%s page is all zeros", kinds[kind]);
		return false;
	}
	if (PageGetPageSize((Page) page) != BLCKSZ ||
		PageGetPageLayoutVersion((Page) page) != PG_PAGE_LAYOUT_VERSION ||
		(ph->pd_flags & ~PD_VALID_FLAG_BITS) != 0 ||
		ph->pd_lower < RV_PAGE_PAYLOAD_START || ph->pd_lower > ph->pd_upper ||
		ph->pd_upper != ph->pd_special || ph->pd_special > BLCKSZ ||
		ph->pd_special != MAXALIGN(ph->pd_special))
	{
		RvReport(vs, "page_header", st, blkno, -1,
				 "bad page header: pd_lower %u, pd_upper %u, pd_special %u, pd_flags 0x%x, "
				 "size/version 0x%x",
				 ph->pd_lower, ph->pd_upper, ph->pd_special, ph->pd_flags,
				 ph->pd_pagesize_version);
		return false;
	}
	if (BLCKSZ - ph->pd_special != RV_PAGE_SPECIAL)
	{
		RvReport(vs, "page_special", st, blkno, -1, "special space is %d bytes, expected %d",
				 (int) (BLCKSZ - ph->pd_special), RV_PAGE_SPECIAL);
		return false;
	}
	op = (const RvPageOpaque *) (page + ph->pd_special);
	if (op->magic != RV_STORE_MAGIC || op->version != RV_STORE_VERSION)
	{
		RvReport(vs, "page_magic", st, blkno, -1, "magic 0x%08x version %u, expected 0x%08x version %u",
				 op->magic, op->version, RV_STORE_MAGIC, RV_STORE_VERSION);
		return false;
	}
	if (op->kind == kind && op->segno != segno && vs->v4 && kind != RV_PAGE_SEGMENT)
	{
		/*
		 * version 4: a page the segment that held this extent before left,
		 * which this segment has not written yet
		 */
		return false;
	}
	if (op->kind != kind || op->segno != segno)
	{
		RvReport(vs, "page_kind", st, blkno, -1, "page kind %u segment %u, expected %s page of segment %u",
				 op->kind, op->segno, kinds[kind], segno);
		return false;
	}
	return true;
}

/* Geometry the metapage is checked against (or used when it is unreadable). */
typedef struct RvGeometry
{
	uint32		meta_version;
	RvStoreGeometry geo;		/* layout, strides, blocks of that version */
	uint32		slotbytes;		/* bytes written per vid */
	uint64		next_vid;
	uint64		nallocated;
	bool		meta_ok;
	float	   *centroid;		/* version 3 with bits: dims floats, or NULL */
} RvGeometry;

/* Checks the metapage copy; fills g (next_vid guessed from nblocks if bad). */
static void
RvCheckMeta(RvVerifyState *vs, RvVerifyStore *vst, const char *page, bool readable,
			BlockNumber nblocks, RvGeometry *g)
{
	int			st = vst->cs.storeno;
	int32		dims = vst->cs.dims;
	const RvStoreMeta *meta = (const RvStoreMeta *) (page + RV_PAGE_PAYLOAD_START);

	RvStoreGeometry geo;
	uint32		version = RV_STORE_META_V3;
	Size		metasize;

	/* a readable metapage of version 1, 2, 4 or 5 was written in that format */
	if (readable && meta->magic == RV_STORE_MAGIC &&
		(meta->version == RV_STORE_META_V1 || meta->version == RV_STORE_META_V2 ||
		 meta->version == RV_STORE_META_V4 || meta->version == RV_STORE_META_V5))
		version = meta->version;
	RvStoreComputeGeometry(dims, version, &geo);
	if (version == RV_STORE_META_V1)
		metasize = RV_STORE_META_V1_SIZE;
	else if (version == RV_STORE_META_V2)
		metasize = RV_STORE_META_V2_SIZE;
	else if (geo.bits == RV_CODES_BIT)
		metasize = RV_META_CENTROID_OFF + (Size) dims * sizeof(float);
	else if (version >= RV_STORE_META_V4)
		metasize = sizeof(RvStoreMeta);
	else
		metasize = RV_STORE_META_V3_SIZE;
	g->centroid = NULL;
	g->meta_version = version;
	g->geo = geo;
	g->slotbytes = dims * sizeof(float) + (g->geo.layout == RV_LAYOUT_HEADER ? 8 : 0);
	g->meta_ok = false;
	g->nallocated = 0;
	/* without a usable metapage, check every segment the file holds */
	g->next_vid = (uint64) (nblocks > 1 ? (nblocks - 1 + g->geo.seg_blocks - 1) / g->geo.seg_blocks : 0) *
		RV_SEG_VIDS;

	if (!readable || !RvCheckPage(vs, vst, 0, page, RV_PAGE_META, 0, false))
		return;
	if (((PageHeader) page)->pd_lower < RV_PAGE_PAYLOAD_START + metasize)
	{
		RvReport(vs, "page_header", st, 0, -1, "metapage pd_lower %u is below the end of its contents",
				 ((PageHeader) page)->pd_lower);
		return;
	}
	if (meta->magic != RV_STORE_MAGIC || meta->version != version ||
		meta->dims != dims || meta->layout != g->geo.layout || meta->stride != g->geo.stride ||
		meta->base != g->geo.base || meta->seg_vids != RV_SEG_VIDS ||
		meta->seg_blocks != g->geo.seg_blocks ||
		(version >= RV_STORE_META_V2 &&
		 (meta->codes != (uint32) g->geo.codes || meta->code_stride != g->geo.code_stride ||
		  meta->code_per_page != g->geo.code_per_page || meta->float_blocks != g->geo.float_blocks)) ||
		(version >= RV_STORE_META_V3 &&
		 (meta->bits != (uint32) g->geo.bits || meta->bit_stride != g->geo.bit_stride ||
		  meta->bit_per_page != g->geo.bit_per_page || meta->bit_seed != RV_BIT_SEED ||
		  meta->centroid_set > 1)))
	{
		RvReport(vs, "meta_geometry", st, 0, -1,
				 "metapage magic 0x%08x version %u dims %d layout %d stride %u base %u "
				 "seg_vids %u seg_blocks %u; catalog dims %d need layout %d stride %u base %u "
				 "seg_vids %u seg_blocks %u",
				 meta->magic, meta->version, meta->dims, meta->layout, meta->stride,
				 meta->base, meta->seg_vids, meta->seg_blocks, dims, g->geo.layout, g->geo.stride,
				 g->geo.base, (uint32) RV_SEG_VIDS, g->geo.seg_blocks);
		return;
	}
	if (meta->free_hint > meta->next_vid || meta->nallocated > meta->next_vid)
		RvReport(vs, "meta_counts", st, 0, -1,
				 "free_hint " UINT64_FORMAT ", nallocated " UINT64_FORMAT
				 " exceed next_vid " UINT64_FORMAT,
				 meta->free_hint, meta->nallocated, meta->next_vid);
	if (meta->next_vid > 0 && version < RV_STORE_META_V4)
	{
		uint64		nsegs = (meta->next_vid + RV_SEG_VIDS - 1) / RV_SEG_VIDS;

		if ((uint64) nblocks < 1 + (nsegs - 1) * g->geo.seg_blocks + 1)
		{
			RvReport(vs, "meta_file_size", st, 0, -1,
					 "next_vid " UINT64_FORMAT " needs %llu segments but the file has %u blocks",
					 meta->next_vid, (unsigned long long) nsegs, nblocks);
			return;
		}
	}
	g->next_vid = meta->next_vid;
	g->nallocated = meta->nallocated;
	g->meta_ok = true;
	if (g->geo.bits == RV_CODES_BIT)
	{
		const float *c = (const float *) (page + RV_PAGE_PAYLOAD_START + RV_META_CENTROID_OFF);
		bool		finite = true;

		for (int i = 0; i < dims; i++)
			finite = finite && isfinite(c[i]);
		if (!finite)
			RvReport(vs, "meta_centroid", st, 0, -1, "the centroid (or its running mean) has a non-finite element");
		else if (!meta->centroid_set && meta->centroid_count >= RV_CENTROID_VECTORS)
			RvReport(vs, "meta_centroid", st, 0, -1,
					 "%u vectors summed but no centroid is fixed", meta->centroid_count);
		else if (meta->centroid_set)
		{
			g->centroid = palloc(sizeof(float) * dims);
			memcpy(g->centroid, c, sizeof(float) * dims);
		}
	}
}

/*
 * Checks the bytes of vid that lie on data page blkno (copy in page, or
 * pageok false when it is not a usable data page): below pd_lower and,
 * when its header starts there, a header matching the store.
 */
static void
RvCheckVidOnPage(RvVerifyState *vs, RvVerifyStore *vst, const RvGeometry *g, uint64 vid,
				 BlockNumber blkno, const char *page, bool pageok, uint64 pstart)
{
	int			st = vst->cs.storeno;
	uint64		off = g->geo.base + (vid % RV_SEG_VIDS) * (uint64) g->geo.stride;
	uint64		end = off + g->slotbytes;
	uint64		pend = pstart + RV_PAGE_PAYLOAD;
	uint64		last = Min(end, pend) - pstart + RV_PAGE_PAYLOAD_START;

	if (!pageok)
	{
		RvReport(vs, "vid_payload", st, blkno, (int64) vid,
				 "payload lies on a page that is not an initialized data page");
		return;
	}
	if (last > ((PageHeader) page)->pd_lower)
	{
		RvReport(vs, "vid_payload", st, blkno, (int64) vid,
				 "payload ends at page offset " UINT64_FORMAT ", beyond pd_lower %u",
				 last, ((PageHeader) page)->pd_lower);
		return;
	}
	if (g->geo.layout == RV_LAYOUT_HEADER && off >= pstart && off < pend)
	{
		const char *hdr = page + RV_PAGE_PAYLOAD_START + (off - pstart);
		uint32		vl;
		int16		dim;

		/* the 8-byte header never straddles: off % 64 == 56, pages hold whole lines */
		memcpy(&vl, hdr, sizeof(uint32));
		memcpy(&dim, hdr + sizeof(uint32), sizeof(int16));
		if (VARSIZE(hdr) != RUVECTOR_SIZE(vst->cs.dims) || VARATT_IS_1B(hdr) ||
			dim != vst->cs.dims)
			RvReport(vs, "vid_header", st, blkno, (int64) vid,
					 "in-page header: length word 0x%08x dim %d, expected size %d dim %d",
					 vl, dim, (int) RUVECTOR_SIZE(vst->cs.dims), vst->cs.dims);
	}
}

/*
 * Whether the allocating xid x of a vid guarantees its floats and code
 * record were written: frozen, or a transaction that committed (it wrote
 * both before its heap tuple existed).  A vid of an insert still in
 * progress may have its slot allocated but not yet written, and one of an
 * aborted insert may never be: their code records are not checked.
 */
static bool
RvVidWritten(TransactionId x)
{
	if (x == FrozenTransactionId)
		return true;
	if (!TransactionIdIsNormal(x) || TransactionIdIsInProgress(x))
		return false;
	return TransactionIdDidCommit(x);
}

/*
 * Per-segment copies of the code pages, read before the segment's payload
 * pages so that each vid's code record can be checked against its floats
 * as they are read (RvVerifyVidCode).
 */
typedef struct RvCodeCopies
{
	uint32		npages;
	char	   *pages;			/* npages * BLCKSZ */
	bool	   *ok;				/* page i is a usable code page */
	float	   *floats;			/* dims floats: a vid's vector, assembled */
	char	   *prevpage;		/* BLCKSZ: the previous payload page */
	bool		prevok;
	/* bit pages (version 3), likewise */
	uint32		nbpages;
	char	   *bpages;			/* nbpages * BLCKSZ */
	bool	   *bok;
	float	   *resid;			/* P floats: x - c, then R(x - c) */
	float	   *rotated;		/* P floats */
} RvCodeCopies;

/*
 * Reads and checks the code pages of segment segno into cc (reporting
 * page damage), and checks that the code record of every allocated vid
 * lies in the written part of its page with sane parameters.  xids is the
 * segment's allocation array, or NULL when its meta page is unusable
 * (records are then not checked).
 */
static void
RvVerifyReadCodes(RvVerifyState *vs, RvVerifyStore *vst, const RvGeometry *g, uint64 segno,
				  BlockNumber segblk, BlockNumber nblocks, const TransactionId *xids,
				  RvCodeCopies *cc)
{
	int			st = vst->cs.storeno;
	uint64		first = segno * RV_SEG_VIDS;

	for (uint32 cb = 0; cb < cc->npages; cb++)
	{
		BlockNumber b = segblk + RvStoreGeoCodePos(&g->geo, cb);
		char	   *page = cc->pages + (Size) cb * BLCKSZ;

		cc->ok[cb] = false;
		if (b >= nblocks)
			continue;
		cc->ok[cb] = RvReadPage(vs, vst, b, page) &&
			RvCheckPage(vs, vst, b, page, RV_PAGE_CODES, (uint32) segno, true);
	}
	/* each allocated vid's record (both parts of one that straddles two pages) */
	for (uint32 k = 0; xids != NULL && k < RV_SEG_VIDS && first + k < g->next_vid; k++)
	{
		uint64		vid = first + k;
		uint32		inpage,
					part;
		uint32		cb = RvStoreGeoCodeLoc(&g->geo, k, &inpage, &part);
		uint32		pageoff = RV_PAGE_PAYLOAD_START + inpage;
		RvSq8Params p;

		if (cb >= cc->npages)
			break;
		if (!RvVidWritten(xids[k]))
			continue;
		if (!cc->ok[cb] ||
			pageoff + part > ((PageHeader) (cc->pages + (Size) cb * BLCKSZ))->pd_lower)
		{
			RvReport(vs, "vid_codes", st, segblk + RvStoreGeoCodePos(&g->geo, cb), (int64) vid,
					 "code record at page offset %u lies beyond the written part of the page",
					 pageoff);
			cc->ok[cb] = false;
			continue;
		}
		if (part < g->geo.code_stride)
		{
			/* its second part: from the start of the next code page */
			uint32		rest = g->geo.code_stride - part;

			if (cb + 1 >= cc->npages || !cc->ok[cb + 1] ||
				RV_PAGE_PAYLOAD_START + rest >
				((PageHeader) (cc->pages + (Size) (cb + 1) * BLCKSZ))->pd_lower)
			{
				RvReport(vs, "vid_codes", st, segblk + RvStoreGeoCodePos(&g->geo, cb + 1),
						 (int64) vid,
						 "second part of a code record straddling pages (%u bytes) lies beyond "
						 "the written part of the page", rest);
				cc->ok[cb + 1] = false;
				continue;
			}
		}
		memcpy(&p, cc->pages + (Size) cb * BLCKSZ + pageoff, sizeof(RvSq8Params));
		if (!isfinite(p.scale) || !isfinite(p.offset) || p.scale < 0)
			RvReport(vs, "vid_codes", st, segblk + RvStoreGeoCodePos(&g->geo, cb), (int64) vid,
					 "code record has scale %g offset %g", p.scale, p.offset);
	}

	for (uint32 bb = 0; bb < cc->nbpages; bb++)
	{
		BlockNumber b = segblk + RvStoreGeoBitPos(&g->geo, bb);
		char	   *page = cc->bpages + (Size) bb * BLCKSZ;

		cc->bok[bb] = false;
		if (b >= nblocks)
			continue;
		cc->bok[bb] = RvReadPage(vs, vst, b, page) &&
			RvCheckPage(vs, vst, b, page, RV_PAGE_BITS, (uint32) segno, true);
		if (xids == NULL)
			continue;
		for (uint32 r = 0; r < g->geo.bit_per_page; r++)
		{
			uint32		k = bb * g->geo.bit_per_page + r;
			uint64		vid = first + k;
			uint32		pageoff = RV_PAGE_PAYLOAD_START + r * g->geo.bit_stride;
			RvBitFactors f;

			if (k >= RV_SEG_VIDS || vid >= g->next_vid)
				break;
			if (!RvVidWritten(xids[k]))
				continue;
			if (!cc->bok[bb] || pageoff + g->geo.bit_stride > ((PageHeader) page)->pd_lower)
			{
				RvReport(vs, "vid_bits", st, b, (int64) vid,
						 "bit record at page offset %u lies beyond the written part of the page",
						 pageoff);
				cc->bok[bb] = false;
				continue;
			}
			memcpy(&f, page + pageoff, sizeof(f));
			if (f.ip_oo == 0)
			{
				/* absent (written before the centroid): every byte zero */
				if (!RvPageIsZeroRange(page + pageoff, g->geo.bit_stride))
					RvReport(vs, "vid_bits", st, b, (int64) vid,
							 "absent bit record (<o_bar, o> 0) has nonzero bytes");
			}
			else if (g->centroid == NULL)
				RvReport(vs, "vid_bits", st, b, (int64) vid,
						 "bit record present but the store has no centroid");
			else if (!isfinite(f.dist_c) || !isfinite(f.o_dot_c) || !isfinite(f.o_norm) ||
					 !(f.ip_oo > 0 && f.ip_oo <= 1.0f + 1e-5f) || f.dist_c < 0 || f.o_norm < 0)
				RvReport(vs, "vid_bits", st, b, (int64) vid,
						 "bit record has factors ||x - c|| %g, <o_bar, o> %g, <x, c> %g, ||x|| %g",
						 f.dist_c, f.ip_oo, f.o_dot_c, f.o_norm);
		}
	}
}

/*
 * Checks vid's bit record (in cc) against its floats x and the centroid:
 * ||x - c|| and ||x|| as recorded, and each sign bit that of R(x - c),
 * except for elements within float rounding of zero.
 */
static void
RvVerifyVidBits(RvVerifyState *vs, RvVerifyStore *vst, const RvGeometry *g,
				BlockNumber segblk, uint64 vid, const float *x, RvCodeCopies *cc)
{
	uint32		k = (uint32) (vid % RV_SEG_VIDS);
	uint32		bb;
	int			dims = vst->cs.dims;
	int			p = (int) g->geo.bit_words * 64;
	const char *rec;
	const uint64 *code;
	RvBitFactors f;
	double		yy = 0,
				xx = 0,
				tol;
	int			wrong = 0;

	if (g->centroid == NULL)
		return;					/* no bit codes, or no centroid (reported) */
	bb = k / g->geo.bit_per_page;
	if (bb >= cc->nbpages || !cc->bok[bb])
		return;
	rec = cc->bpages + (Size) bb * BLCKSZ + RV_PAGE_PAYLOAD_START +
		(k % g->geo.bit_per_page) * g->geo.bit_stride;
	memcpy(&f, rec, sizeof(f));
	if (!isfinite(f.dist_c) || !isfinite(f.o_dot_c) || !isfinite(f.o_norm) ||
		!(f.ip_oo > 0 && f.ip_oo <= 1.0f + 1e-5f) || f.dist_c < 0 || f.o_norm < 0)
		return;					/* absent, or reported by RvVerifyReadCodes */
	code = (const uint64 *) (rec + RV_BIT_HEADER);
	for (int i = 0; i < dims; i++)
	{
		cc->resid[i] = x[i] - g->centroid[i];
		xx += (double) x[i] * x[i];
	}
	RvRabitqRotate(cc->resid, dims, RV_BIT_SEED, cc->rotated);
	for (int i = 0; i < p; i++)
		yy += (double) cc->rotated[i] * cc->rotated[i];
	/* the rotation's float rounding: a few ulps of the largest terms */
	tol = 1e-5 * sqrt(yy);
	for (int i = 0; i < p; i++)
	{
		bool		bit = (code[i / 64] >> (i % 64)) & 1;
		double		y = cc->rotated[i];

		if ((y > tol && !bit) || (y < -tol && bit))
			wrong++;
	}
	if (wrong > 0 || fabs(f.dist_c - sqrt(yy)) > 1e-4 * sqrt(yy) + 1e-30 ||
		fabs(f.o_norm - sqrt(xx)) > 1e-4 * sqrt(xx) + 1e-30)
		RvReport(vs, "vid_bits", vst->cs.storeno, segblk + RvStoreGeoBitPos(&g->geo, bb),
				 (int64) vid,
				 "bit record does not match the vector: %d of %d sign bits differ, "
				 "||x - c|| %g (recorded %g), ||x|| %g (recorded %g)",
				 wrong, p, sqrt(yy), f.dist_c, sqrt(xx), f.o_norm);
}

/*
 * Checks vid's code record (in cc) against its floats x: every element
 * decodes to within its error bound, scale / 2 plus float rounding.
 */
static void
RvVerifyVidCode(RvVerifyState *vs, RvVerifyStore *vst, const RvGeometry *g,
				BlockNumber segblk, uint64 vid, const float *x, RvCodeCopies *cc)
{
	uint32		k = (uint32) (vid % RV_SEG_VIDS);
	uint32		inpage,
				part;
	uint32		cb = RvStoreGeoCodeLoc(&g->geo, k, &inpage, &part);
	const char *rec;
	char		copy[RV_PAGE_PAYLOAD];
	RvSq8Params p;
	const uint8 *c;
	double		worst = 0;
	int			worst_at = 0;
	uint32		worst_cb;

	if (cb >= cc->npages || !cc->ok[cb])
		return;
	rec = cc->pages + (Size) cb * BLCKSZ + RV_PAGE_PAYLOAD_START + inpage;
	if (part < g->geo.code_stride)
	{
		/* straddling two code pages: both parts, assembled */
		if (cb + 1 >= cc->npages || !cc->ok[cb + 1])
			return;
		memcpy(copy, rec, part);
		memcpy(copy + part, cc->pages + (Size) (cb + 1) * BLCKSZ + RV_PAGE_PAYLOAD_START,
			   g->geo.code_stride - part);
		rec = copy;
	}
	memcpy(&p, rec, sizeof(RvSq8Params));
	if (!isfinite(p.scale) || !isfinite(p.offset) || p.scale < 0)
		return;					/* reported by RvVerifyReadCodes */
	c = (const uint8 *) (rec + RV_CODE_HEADER);
	for (int i = 0; i < vst->cs.dims; i++)
	{
		double		e = fabs((double) x[i] - ((double) p.offset + (double) p.scale * c[i]));

		if (e > worst)
		{
			worst = e;
			worst_at = i;
		}
	}
	/* reported on the page holding the worst element */
	worst_cb = RV_CODE_HEADER + (uint32) worst_at < part ? cb : cb + 1;
	/* as the scorer's bound: half a step, float rounding, denormal slack */
	if (worst > 0.5 * p.scale * (1 + 1e-5) + 1e-6 * (fabs(p.offset) + 255.0 * p.scale) +
		256.0 * FLT_TRUE_MIN)
		RvReport(vs, "vid_codes", vst->cs.storeno, segblk + RvStoreGeoCodePos(&g->geo, worst_cb),
				 (int64) vid,
				 "code record decodes %g away from the vector (scale %g allows %g)",
				 worst, p.scale, 0.5 * p.scale);
}

/*
 * After payload page fb (copy in page, usable when pageok) was checked:
 * checks the code record of every allocated vid whose floats end on this
 * page, assembling floats that start on the previous page from its copy.
 */
static void
RvVerifyPageCodes(RvVerifyState *vs, RvVerifyStore *vst, const RvGeometry *g,
				  uint64 segno, BlockNumber segblk, uint32 fb, const char *page, bool pageok,
				  const TransactionId *xids, RvCodeCopies *cc)
{
	uint64		pstart = (uint64) fb * RV_PAGE_PAYLOAD;
	uint64		pend = pstart + RV_PAGE_PAYLOAD;
	uint32		hdr = g->geo.layout == RV_LAYOUT_HEADER ? 8 : 0;
	uint32		fbytes = vst->cs.dims * sizeof(float);
	uint64		first = segno * RV_SEG_VIDS;

	if (xids != NULL && pageok)
	{
		uint64		lead = g->geo.base + hdr + fbytes;
		uint64		k0 = pstart + 1 > lead ? (pstart + 1 - lead + g->geo.stride - 1) / g->geo.stride : 0;

		for (uint64 k = k0; k < RV_SEG_VIDS; k++)
		{
			uint64		fstart = g->geo.base + k * g->geo.stride + hdr;
			uint64		fend = fstart + fbytes;
			uint64		vid = first + k;

			if (fend <= pstart)
				continue;
			if (fend > pend || vid >= g->next_vid)
				break;
			if (!RvVidWritten(xids[k]))
				continue;
			if (fstart >= pstart)
				memcpy(cc->floats, page + RV_PAGE_PAYLOAD_START + (fstart - pstart), fbytes);
			else if (fstart >= pstart - RV_PAGE_PAYLOAD && cc->prevok)
			{
				uint32		head = (uint32) (pstart - fstart);

				memcpy(cc->floats, cc->prevpage + RV_PAGE_PAYLOAD_START + (RV_PAGE_PAYLOAD - head),
					   head);
				memcpy((char *) cc->floats + head, page + RV_PAGE_PAYLOAD_START, fbytes - head);
			}
			else
				continue;		/* spans more than two pages, or a bad one */
			RvVerifyVidCode(vs, vst, g, segblk, vid, cc->floats, cc);
			RvVerifyVidBits(vs, vst, g, segblk, vid, cc->floats, cc);
		}
	}
	memcpy(cc->prevpage, page, BLCKSZ);
	cc->prevok = pageok;
}

static int
RvRefCmp(const void *a, const void *b)
{
	const RvVerifyRef *ra = a;
	const RvVerifyRef *rb = b;

	if (ra->vid != rb->vid)
		return ra->vid < rb->vid ? -1 : 1;
	return ItemPointerCompare((ItemPointer) &ra->tid, (ItemPointer) &rb->tid);
}

/* The store pass: every page of one store, plus its vids against refs. */
/*
 * Checks sealed segment segno of a version-4 store, at the location e
 * names (a run in a tier relation): its state page, the run's page CRCs and
 * BLAKE2b-256 (RvSealedVerify), and the heap refs into it from *ri on
 * (each must be allocated in the state page and held by the run).  Adds
 * the state page's allocated count to *nxids and its nallocated to
 * *segcount.
 */
static void
RvVerifySealedSegment(RvVerifyState *vs, RvVerifyStore *vst, uint64 segno,
					  const RvDirEntry *e, int64 *ri, uint64 *nxids, uint64 *segcount)
{
	RvStore    *store = vst->store;
	int			st = vst->cs.storeno;
	RvStore    *where = RvStoreTier(store, e->tier, false, NULL);
	char	   *page = vs->segpage;
	const TransactionId *xids = NULL;
	RvSealedRun *run = NULL;
	Buffer		buf;
	bool		ok = true;
	uint64		end = (segno + 1) * RV_SEG_VIDS;

	if (where == NULL || e->blkno >= RelationGetNumberOfBlocks(where->rel))
	{
		RvReport(vs, "tier_missing", st, -1, -1,
				 "segment " UINT64_FORMAT " lies in a missing %s tier relation or past its end",
				 segno, RvTierName(e->tier));
		ok = false;
	}
	if (ok)
	{
		buf = ReadBufferExtended(where->rel, MAIN_FORKNUM, e->blkno, RBM_NORMAL, vs->strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(page, BufferGetPage(buf), BLCKSZ);
		UnlockReleaseBuffer(buf);
		if (PageIsNew(page) ||
			((RvPageOpaque *) PageGetSpecialPointer(page))->kind != RV_PAGE_SEGMENT ||
			((RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START))->segno != (uint32) segno ||
			((RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START))->tier != e->tier)
		{
			RvReport(vs, "segment_header", st, e->blkno, -1,
					 "block %u of the %s tier relation is not the state page of segment " UINT64_FORMAT,
					 e->blkno, RvTierName(e->tier), segno);
			ok = false;
		}
	}
	if (ok)
	{
		RvSegLoc	loc;
		char	   *problem;
		uint32		n = 0;

		loc.tier = e->tier;
		loc.flags = 0;
		loc.blkno = e->blkno;
		loc.run = NULL;
		if (!RvSealedVerify(store, &loc, segno, &problem))
		{
			RvReport(vs, "sealed_checksum", st, e->blkno, -1, "%s", problem);
			ok = false;
		}
		else
			run = RvSealedReadRun(where, e->blkno, segno);
		xids = (const TransactionId *) (page + RV_PAGE_PAYLOAD_START + RV_SEG_HEADER_SIZE);
		for (uint32 k = 0; k < RV_SEG_VIDS; k++)
			if (xids[k] != InvalidTransactionId)
			{
				n++;
				if (run && RvSealedPos(run, k) < 0)
					RvReport(vs, "sealed_vid_missing", st, e->blkno, (int64) (segno * RV_SEG_VIDS + k),
							 "an allocated vid is not in its sealed segment");
			}
		*nxids += n;
		*segcount += ((RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START))->nallocated;
		if (((RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START))->nallocated != n)
			RvReport(vs, "segment_count", st, e->blkno, -1,
					 "state page nallocated %u, but %u vids have a nonzero xid",
					 ((RvSegmentHeader *) (page + RV_PAGE_PAYLOAD_START))->nallocated, n);
	}
	for (; *ri < vst->nrefs && vst->refs[*ri].vid < end; (*ri)++)
	{
		uint32		k = (uint32) (vst->refs[*ri].vid % RV_SEG_VIDS);

		if (vst->refs[*ri].vid < segno * RV_SEG_VIDS || !ok)
			continue;
		if (xids[k] == InvalidTransactionId)
			RvReport(vs, "heap_vref_unallocated", st, -1, (int64) vst->refs[*ri].vid,
					 "tuple (%u,%u) references a free vid",
					 ItemPointerGetBlockNumberNoCheck(&vst->refs[*ri].tid),
					 ItemPointerGetOffsetNumberNoCheck(&vst->refs[*ri].tid));
	}
}

static void
RvVerifyOneStore(RvVerifyState *vs, RvVerifyStore *vst)
{
	int			st = vst->cs.storeno;
	RvReadArg	ra;
	BlockNumber nblocks;
	RvGeometry	g;
	RvCodeCopies cc;
	bool		metaok;
	uint64		nsegs_file;
	uint64		sum_seg = 0;
	uint64		count_xids = 0;
	bool		counts_ok = true;
	int64		ri = 0;			/* next ref (sorted by vid) */
	TransactionId nextxid = XidFromFullTransactionId(ReadNextFullTransactionId());

	if (!smgrexists(RelationGetSmgr(vst->store->rel), MAIN_FORKNUM))
	{
		/* an unlogged store is never missing: crash recovery copies its init fork */
		RvReport(vs, "store_missing", st, -1, -1, "file %u of store relation %u does not exist",
				 vst->store->node.relNode, vst->cs.relid);
		return;
	}
	ra.store = vst->store;
	if (!RvVerifyTry(vs, RvNblocksFn, &ra, "read_error", st, -1))
		return;
	nblocks = ra.nblocks;
	if (vst->nrefs > 0)
		qsort(vst->refs, vst->nrefs, sizeof(RvVerifyRef), RvRefCmp);

	if (nblocks == 0)
	{
		/* an unlogged store reset by crash recovery gets its metapage lazily */
		if (vs->rel->rd_rel->relpersistence != RELPERSISTENCE_UNLOGGED)
			RvReport(vs, "page_uninitialized", st, 0, -1, "store file is empty: no metapage");
		for (; ri < vst->nrefs; ri++)
			RvReport(vs, "heap_vref_unallocated", st, -1, (int64) vst->refs[ri].vid,
					 "tuple (%u,%u) references a vid of an empty store",
					 ItemPointerGetBlockNumberNoCheck(&vst->refs[ri].tid),
					 ItemPointerGetOffsetNumberNoCheck(&vst->refs[ri].tid));
		return;
	}

	vs->v4 = vst->store->meta_version >= RV_STORE_META_V4;
	metaok = RvReadPage(vs, vst, 0, vs->page);
	RvCheckMeta(vs, vst, vs->page, metaok, nblocks, &g);
	memset(&cc, 0, sizeof(cc));
	if (g.geo.codes != RV_CODES_NONE)
	{
		cc.npages = g.geo.code_blocks;
		cc.pages = palloc((Size) cc.npages * BLCKSZ);
		cc.ok = palloc0(sizeof(bool) * cc.npages);
		cc.floats = palloc(sizeof(float) * vst->cs.dims);
		cc.prevpage = palloc(BLCKSZ);
	}
	if (g.geo.bits == RV_CODES_BIT)
	{
		cc.nbpages = g.geo.bit_blocks;
		cc.bpages = palloc((Size) cc.nbpages * BLCKSZ);
		cc.bok = palloc0(sizeof(bool) * cc.nbpages);
		cc.resid = palloc(sizeof(float) * g.geo.bit_words * 64);
		cc.rotated = palloc(sizeof(float) * g.geo.bit_words * 64);
	}
	nsegs_file = (nblocks - 1 + g.geo.seg_blocks - 1) / g.geo.seg_blocks;
	if (vs->v4)
		nsegs_file = Max(RvDirNumSegments(vst->store),
						 (g.next_vid + RV_SEG_VIDS - 1) / RV_SEG_VIDS);

	for (uint64 segno = 0; segno < nsegs_file; segno++)
	{
		BlockNumber segblk = (BlockNumber) (1 + segno * g.geo.seg_blocks);
		uint64		first = segno * RV_SEG_VIDS;
		bool		inuse = first < g.next_vid;
		bool		segok;
		const TransactionId *xids = NULL;
		uint32		nxids = 0;

		if (vs->v4)
		{
			RvDirEntry	e;

			/* version 4: where the directory puts the segment */
			RvDirReadEntry(vst->store, segno, &e);
			if (e.prev_tier != RV_TIER_NONE)
			{
				/* still moving: its old location is complete */
				e.tier = e.prev_tier;
				e.blkno = e.prev_blkno;
			}
			if (e.tier == RV_TIER_NONE)
			{
				if (inuse)
					RvReport(vs, "dir_entry", st, -1, -1,
							 "segment " UINT64_FORMAT " below next_vid has no directory entry", segno);
				continue;
			}
			if (e.tier != RV_TIER_HOT)
			{
				RvVerifySealedSegment(vs, vst, segno, &e, &ri, &count_xids, &sum_seg);
				continue;
			}
			segblk = e.blkno;
		}

		segok = RvReadPage(vs, vst, segblk, vs->segpage) &&
			RvCheckPage(vs, vst, segblk, vs->segpage, RV_PAGE_SEGMENT, (uint32) segno, !inuse);
		if (segok && ((PageHeader) vs->segpage)->pd_lower != RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD)
		{
			RvReport(vs, "page_header", st, segblk, -1, "segment page pd_lower %u, expected %d",
					 ((PageHeader) vs->segpage)->pd_lower, RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD);
			segok = false;
		}
		if (segok)
		{
			const RvSegmentHeader *seg = (const RvSegmentHeader *)
			(vs->segpage + RV_PAGE_PAYLOAD_START);

			xids = (const TransactionId *) (vs->segpage + RV_PAGE_PAYLOAD_START + RV_SEG_HEADER_SIZE);
			if (seg->segno != segno || seg->tier != RV_TIER_HOT || seg->format != g.geo.layout)
				RvReport(vs, "segment_header", st, segblk, -1,
						 "segment header segno %u tier %u format %u, expected segno %u tier %d format %d",
						 seg->segno, seg->tier, seg->format, (uint32) segno, RV_TIER_HOT, g.geo.layout);
			for (uint32 k = 0; k < RV_SEG_VIDS; k++)
			{
				TransactionId x = xids[k];
				uint64		vid = first + k;

				if (x == InvalidTransactionId)
					continue;
				nxids++;
				if (vid >= g.next_vid)
					RvReport(vs, "vid_state", st, segblk, (int64) vid,
							 "vid at or beyond next_vid " UINT64_FORMAT " is allocated (xid %u)",
							 g.next_vid, x);
				else if (x == BootstrapTransactionId ||
						 (TransactionIdIsNormal(x) && !TransactionIdPrecedes(x, nextxid)))
					RvReport(vs, "vid_state", st, segblk, (int64) vid,
							 "allocating xid %u is not a valid past transaction (next xid %u)",
							 x, nextxid);
			}
			if (seg->nallocated != nxids)
				RvReport(vs, "segment_count", st, segblk, -1,
						 "segment header nallocated %u, but %u vids have a nonzero xid",
						 seg->nallocated, nxids);
			sum_seg += seg->nallocated;
			count_xids += nxids;
		}
		else if (inuse)
			counts_ok = false;

		if (g.geo.codes != RV_CODES_NONE)
		{
			cc.prevok = false;
			RvVerifyReadCodes(vs, vst, &g, segno, segblk, nblocks, xids, &cc);
		}

		/*
		 * The segment's vids against the heap refs, and their payload on
		 * the data pages, page by page in stream order (with each vid's
		 * code record against its floats).
		 */
		for (uint32 fb = 0; fb < g.geo.float_blocks; fb++)
		{
			BlockNumber b = segblk + RvStoreGeoFloatPos(&g.geo, fb);
			uint64		pstart = (uint64) fb * RV_PAGE_PAYLOAD;
			uint64		pend = pstart + RV_PAGE_PAYLOAD;
			bool		pageok;
			uint64		k0,
						k1;

			if (b >= nblocks)
				break;
			pageok = RvReadPage(vs, vst, b, vs->page) &&
				RvCheckPage(vs, vst, b, vs->page, RV_PAGE_DATA, (uint32) segno, true);

			/* slots overlapping [pstart, pend): base + k*stride < pend, + slotbytes > pstart */
			k0 = pstart + 1 > g.geo.base + g.slotbytes ?
				(pstart + 1 - g.geo.base - g.slotbytes + g.geo.stride - 1) / g.geo.stride : 0;
			k1 = pend > g.geo.base ? (pend - g.geo.base + g.geo.stride - 1) / g.geo.stride : 0;
			k1 = Min(k1, RV_SEG_VIDS);
			for (uint64 k = k0; k < k1; k++)
			{
				uint64		vid = first + k;
				bool		referenced = false;
				bool		frozen;
				bool		starts_here = g.geo.base + k * g.geo.stride >= pstart;

				if (vid >= g.next_vid)
					break;
				/* refs of vids before this one were handled on their first page */
				while (ri < vst->nrefs && vst->refs[ri].vid < vid)
					ri++;
				referenced = ri < vst->nrefs && vst->refs[ri].vid == vid;
				frozen = xids != NULL && xids[k] == FrozenTransactionId;
				if (starts_here && referenced && xids != NULL && xids[k] == InvalidTransactionId)
					RvReport(vs, "heap_vref_unallocated", st, segblk, (int64) vid,
							 "tuple (%u,%u) references a free vid",
							 ItemPointerGetBlockNumberNoCheck(&vst->refs[ri].tid),
							 ItemPointerGetOffsetNumberNoCheck(&vst->refs[ri].tid));
				if (referenced || frozen)
					RvCheckVidOnPage(vs, vst, &g, vid, b, vs->page, pageok, pstart);
			}
			if (g.geo.codes != RV_CODES_NONE)
				RvVerifyPageCodes(vs, vst, &g, segno, segblk, fb, vs->page, pageok, xids, &cc);
		}
		/* refs into the part of this segment with no data page in the file */
		while (ri < vst->nrefs && vst->refs[ri].vid < Min(first + RV_SEG_VIDS, g.next_vid))
		{
			uint64		end = g.geo.base + (vst->refs[ri].vid % RV_SEG_VIDS) * (uint64) g.geo.stride +
			g.slotbytes;

			if (segblk + RvStoreGeoFloatPos(&g.geo, (uint32) ((end - 1) / RV_PAGE_PAYLOAD)) >= nblocks)
				RvReport(vs, "vid_payload", st, -1, (int64) vst->refs[ri].vid,
						 "payload lies beyond the end of the store file (%u blocks)", nblocks);
			ri++;
		}
	}

	/* refs to vids never allocated */
	for (; ri < vst->nrefs; ri++)
		if (vst->refs[ri].vid >= g.next_vid)
			RvReport(vs, "heap_vref_unallocated", st, -1, (int64) vst->refs[ri].vid,
					 "tuple (%u,%u) references a vid at or beyond next_vid " UINT64_FORMAT,
					 ItemPointerGetBlockNumberNoCheck(&vst->refs[ri].tid),
					 ItemPointerGetOffsetNumberNoCheck(&vst->refs[ri].tid), g.next_vid);

	if (g.meta_ok && counts_ok && (g.nallocated != sum_seg || sum_seg != count_xids))
		RvReport(vs, "meta_counts", st, 0, -1,
				 "metapage nallocated " UINT64_FORMAT ", segment headers sum " UINT64_FORMAT
				 ", vids with a nonzero xid " UINT64_FORMAT,
				 g.nallocated, sum_seg, count_xids);
}

/*
 * The heap pass: every tuple still on the heap (SnapshotAny, like
 * VACUUM's mark), each ruvector column's raw value checked and its vref
 * recorded in its store's refs.
 */
static void
RvVerifyHeapFn(RvVerifyState *vs, void *arg)
{
	Relation	rel = vs->rel;
	RvRelCache *cache = RvRelGetCache(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	int			nvec = cache->nvecatts;
	int16	   *vecatts = palloc(sizeof(int16) * Max(nvec, 1));
	TableScanDesc scan;
	TupleTableSlot *slot;

	memcpy(vecatts, cache->vecatts, sizeof(int16) * nvec);
	if (nvec == 0)
		return;
	scan = RvHeap()->scan_begin(rel, SnapshotAny, 0, NULL, NULL,
								SO_TYPE_SEQSCAN | SO_ALLOW_PAGEMODE);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsBufferHeapTuple);
	while (RvHeap()->scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		/* never visible: its vrefs may name a store that aborted with it */
		if (RvSlotInsertAborted(slot))
			continue;
		for (int a = 0; a < nvec; a++)
		{
			bool		isnull;
			Datum		d = slot_getattr(slot, vecatts[a], &isnull);
			int32		typmod = TupleDescAttr(desc, vecatts[a] - 1)->atttypmod;
			int16		storeno;
			uint64		vid;
			RvVerifyStore *vst = NULL;

			if (isnull)
				continue;
			if (!RvDatumGetVref(d, &storeno, &vid))
			{
				RvReport(vs, "heap_not_vref", -1, ItemPointerGetBlockNumber(&slot->tts_tid), -1,
						 "tuple (%u,%u) column %d holds a value that is not a vref",
						 ItemPointerGetBlockNumber(&slot->tts_tid),
						 ItemPointerGetOffsetNumber(&slot->tts_tid), vecatts[a]);
				continue;
			}
			for (int i = 0; i < vs->nstores; i++)
				if (vs->stores[i].cs.storeno == storeno)
					vst = &vs->stores[i];
			if (vst == NULL)
			{
				RvReport(vs, "heap_vref_store", storeno, ItemPointerGetBlockNumber(&slot->tts_tid),
						 (int64) vid, "tuple (%u,%u) column %d references store %d, which does not exist",
						 ItemPointerGetBlockNumber(&slot->tts_tid),
						 ItemPointerGetOffsetNumber(&slot->tts_tid), vecatts[a], storeno);
				continue;
			}
			if (vst->cs.attnum != vecatts[a])
				RvReport(vs, "heap_vref_column", storeno, ItemPointerGetBlockNumber(&slot->tts_tid),
						 (int64) vid, "tuple (%u,%u) column %d references store %d of column %d",
						 ItemPointerGetBlockNumber(&slot->tts_tid),
						 ItemPointerGetOffsetNumber(&slot->tts_tid), vecatts[a], storeno,
						 vst->cs.attnum);
			if (typmod >= 0 && typmod != vst->cs.dims)
				RvReport(vs, "heap_vref_dims", storeno, ItemPointerGetBlockNumber(&slot->tts_tid),
						 (int64) vid, "tuple (%u,%u) column %d of type ruvector(%d) references a store of %d dims",
						 ItemPointerGetBlockNumber(&slot->tts_tid),
						 ItemPointerGetOffsetNumber(&slot->tts_tid), vecatts[a], typmod,
						 vst->cs.dims);
			if (vst->nrefs == vst->maxrefs)
			{
				vst->maxrefs = Max(1024, vst->maxrefs * 2);
				if (vst->refs == NULL)
					vst->refs = MemoryContextAllocHuge(CurrentMemoryContext,
													   sizeof(RvVerifyRef) * vst->maxrefs);
				else
					vst->refs = repalloc_huge(vst->refs, sizeof(RvVerifyRef) * vst->maxrefs);
			}
			vst->refs[vst->nrefs].vid = vid;
			vst->refs[vst->nrefs].tid = slot->tts_tid;
			vst->nrefs++;
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	RvHeap()->scan_end(scan);
}

/* Index checks registered by the index layers (see rv_tam.h). */
#define RV_MAX_INDEX_VERIFIERS 4
static struct
{
	char		amname[NAMEDATALEN];
	RvIndexVerifyFn fn;
}			rv_index_verifiers[RV_MAX_INDEX_VERIFIERS];
static int	rv_nindex_verifiers = 0;

/*
 * RvRegisterIndexVerifier: makes ruvector_verify run fn on every index of
 * access method amname (called once per backend by that layer's init).
 */
void
RvRegisterIndexVerifier(const char *amname, RvIndexVerifyFn fn)
{
	if (rv_nindex_verifiers >= RV_MAX_INDEX_VERIFIERS)
		elog(ERROR, "too many index verifiers");
	strlcpy(rv_index_verifiers[rv_nindex_verifiers].amname, amname, NAMEDATALEN);
	rv_index_verifiers[rv_nindex_verifiers].fn = fn;
	rv_nindex_verifiers++;
}

/* RvIndexVerifyReport callback: one problem row. */
static void
RvIndexReport(void *arg, const char *kind, int store, int64 blkno, int64 vid, const char *detail)
{
	RvReport((RvVerifyState *) arg, kind, store, blkno, vid, "%s", detail);
}

typedef struct RvVerifyIndexArg
{
	Oid			indexoid;
	RvIndexVerifyFn fn;
} RvVerifyIndexArg;

/* RvVerifyFn running the index's registered check. */
static void
RvVerifyIndexFn(RvVerifyState *vs, void *arg)
{
	RvVerifyIndexArg *ia = arg;
	Relation	index = index_open(ia->indexoid, AccessShareLock);

	ia->fn(vs->rel, index, RvIndexReport, vs);
	index_close(index, AccessShareLock);
}

/*
 * RvVerifyIndexes: the table's indexes whose access method registered a
 * check (ruhnsw: src/index/hnswverify.c, which alone knows its page
 * layout), each in its own subtransaction, so an error reading one index
 * becomes an "<am>_error" row (ruhnsw_error) and the others are still
 * checked.  Indexes of other access methods are skipped.
 */
static void
RvVerifyIndexes(RvVerifyState *vs)
{
	List	   *indexes = RelationGetIndexList(vs->rel);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	classtup;
		Oid			amoid;
		char	   *amname;

		CHECK_FOR_INTERRUPTS();
		classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(classtup))
			continue;			/* dropped meanwhile */
		amoid = ((Form_pg_class) GETSTRUCT(classtup))->relam;
		ReleaseSysCache(classtup);
		amname = get_am_name(amoid);
		if (amname == NULL)
			continue;
		for (int i = 0; i < rv_nindex_verifiers; i++)
		{
			RvVerifyIndexArg ia;

			if (strcmp(amname, rv_index_verifiers[i].amname) != 0)
				continue;
			ia.indexoid = indexoid;
			ia.fn = rv_index_verifiers[i].fn;
			RvVerifyTry(vs, RvVerifyIndexFn, &ia, psprintf("%s_error", amname), -1, -1);
		}
	}
	list_free(indexes);
}

PG_FUNCTION_INFO_V1(ruvector_verify);

/*
 * ruvector_verify(regclass) -> setof (kind text, store int4, blkno int8,
 * vid int8, detail text): one row per problem found in the ruvector
 * table's stores and heap references (see the file header), none when
 * healthy.  When it finds problems it appends a verify_failure event
 * (their count and the first one) to the audit log (RvAuditLog).  Takes
 * ShareUpdateExclusiveLock on the table.  Execution is
 * revoked from PUBLIC by the extension script.
 */
Datum
ruvector_verify(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RvVerifyState vs;
	TupleDesc	desc;
	Oid			typoid;
	List	   *rows;
	ListCell   *lc;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	memset(&vs, 0, sizeof(vs));
	vs.tupstore = rsinfo->setResult;
	vs.tupdesc = rsinfo->setDesc;
	vs.rel = table_open(relid, ShareUpdateExclusiveLock);
	if (!RvRelIsRuvector(vs.rel))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a ruvector table", RelationGetRelationName(vs.rel))));
	if (RELATION_IS_OTHER_TEMP(vs.rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot verify temporary tables of other sessions")));
	vs.strategy = GetAccessStrategy(BAS_BULKREAD);
	vs.page = palloc(BLCKSZ);
	vs.segpage = palloc(BLCKSZ);
	desc = RelationGetDescr(vs.rel);
	typoid = RvTypeOid(false);

	/* the catalog rows of the table's current storage */
	rows = RvCatalogListStores(&vs.rel->rd_node, true);
	vs.stores = palloc0(sizeof(RvVerifyStore) * Max(list_length(rows), 1));
	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		RvVerifyStore *vst = &vs.stores[vs.nstores++];
		Form_pg_attribute att = (cs->attnum >= 1 && cs->attnum <= desc->natts) ?
		TupleDescAttr(desc, cs->attnum - 1) : NULL;

		vst->cs = *cs;
		if (att == NULL || att->attisdropped || att->atttypid != typoid)
			RvReport(&vs, "catalog_column", cs->storeno, -1, -1,
					 "store %d belongs to column %d, which is not a ruvector column",
					 cs->storeno, cs->attnum);
		else if (cs->dims < 1 || cs->dims > RV_MAX_DIMS)
			RvReport(&vs, "catalog_dims", cs->storeno, -1, -1, "store %d has %d dims",
					 cs->storeno, cs->dims);
		else if (cs->tier < RV_TIER_HOT || cs->tier >= RV_NTIERS)
			RvReport(&vs, "catalog_tier", cs->storeno, -1, -1, "store %d has tier %d",
					 cs->storeno, cs->tier);
		else if (cs->tier != RV_TIER_HOT)
			vs.nstores--;		/* a tier relation: checked through its store */
		else
		{
			RelFileNode node;

			if (RvStoreRelFileNode(cs->relid, &node))
				vst->store = RvTamOpenStore(vs.rel, RV_KEY_ROW(cs));
			else
				RvReport(&vs, "store_missing", cs->storeno, -1, -1,
						 "store relation %u of store %d is not in pg_class", cs->relid,
						 cs->storeno);
		}
	}

	/* heap first: vids it references were allocated before the stores are read */
	vs.heap_ok = RvVerifyTry(&vs, RvVerifyHeapFn, NULL, "heap_read_error", -1, -1);
	for (i = 0; i < vs.nstores; i++)
		if (vs.stores[i].store != NULL)
			RvVerifyOneStore(&vs, &vs.stores[i]);
	RvVerifyIndexes(&vs);

	/* VACUUM's pending audit events, then damage found, are events of the log */
	RvAuditDrain(false);
	if (vs.nproblems > 0)
		RvAuditLog("verify_failure", relid,
				   psprintf(INT64_FORMAT " problem%s; first: %s", vs.nproblems,
							vs.nproblems == 1 ? "" : "s", vs.first_problem));

	FreeAccessStrategy(vs.strategy);
	table_close(vs.rel, NoLock);
	return (Datum) 0;
}
