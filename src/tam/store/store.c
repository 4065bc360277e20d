/*-------------------------------------------------------------------------
 *
 * store.c
 *	  Vector store pages: layout arithmetic, vid allocation, writing and
 *	  reading vectors, and freeing vids VACUUM found unreferenced.  The file
 *	  layout and its invariants are described in rv_store.h.
 *
 * Invariants kept here:
 *	- every page has a standard header, an RvPageOpaque special space and
 *	  its payload below pd_lower (GenericXLog zeroes the hole);
 *	- every change is WAL-logged through GenericXLog with at most
 *	  MAX_GENERIC_XLOG_PAGES buffers per record, buffers locked in block
 *	  order (metapage first, then ascending), so writers cannot deadlock;
 *	- a vid's payload is written before the vid's heap tuple exists (the
 *	  caller inserts the heap tuple afterwards), so any vref a reader can
 *	  see points at written bytes;
 *	- a vid's payload never changes while any heap tuple references it;
 *	- a version-3 store's centroid is set once, in the metapage, before any
 *	  bit code is written (by the RvStoreInsert that brings the running mean
 *	  to RV_CENTROID_VECTORS vectors: their mean; or by RvStoreRewrite: the
 *	  mean of the allocated vectors it copies) and never changes afterwards,
 *	  so every bit code of the file is of x - c for the same c; vids written
 *	  before it have absent (all-zero) bit records, never filled in later.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "access/transam.h"
#include "access/xact.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "simd/rv_simd.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_score.h"
#include "tam/store/rv_store.h"
#include "tam/store/store_int.h"
#include "tam/store/rv_tier.h"
#include "toast/rv_memory.h"

/* ruvector.store_format: the metapage version of new store files */
int			rv_store_version = RV_STORE_META_V5;

StaticAssertDecl(sizeof(RvStoreMeta) <= RV_META_CENTROID_OFF,
				 "the metapage's centroid must follow RvStoreMeta");
StaticAssertDecl(sizeof(RvBitFactors) == RV_BIT_HEADER,
				 "bit factors must fit the bit record header");

#define RV_ROUNDUP(x, a) ((((x) + (a) - 1) / (a)) * (a))

typedef struct RvPiece
{
	BlockNumber blkno;
	uint32		pageoff;		/* byte offset within the page */
	uint32		nbytes;
	uint32		segno;			/* the segment of the vid written */
	const char *src;
} RvPiece;


void
RvPageInit(Page page, uint16 kind, uint32 segno)
{
	RvPageOpaque *op;

	PageInit(page, BLCKSZ, RV_PAGE_SPECIAL);
	op = RvPageGetOpaque(page);
	op->magic = RV_STORE_MAGIC;
	op->version = RV_STORE_VERSION;
	op->kind = kind;
	op->segno = segno;
	((PageHeader) page)->pd_lower = RV_PAGE_PAYLOAD_START;
}

/* Raises ERRCODE_DATA_CORRUPTED unless page is an initialized store page of kind. */
void
RvPageCheck(RvStore *store, Page page, BlockNumber blkno, uint16 kind)
{
	RvPageOpaque *op;

	if (PageIsNew(page) || PageGetSpecialSize(page) != RV_PAGE_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store %u: block %u is not an initialized store page",
						store->node.relNode, blkno)));
	op = RvPageGetOpaque(page);
	if (op->magic != RV_STORE_MAGIC || op->version != RV_STORE_VERSION || op->kind != kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store %u: block %u has a bad magic, version or kind",
						store->node.relNode, blkno)));
}


/*
 * RvStoreComputeLayout: slot geometry for vectors of dims dimensions.
 * Returns the layout (RV_LAYOUT_*), the slot stride and stream base in
 * bytes, and the number of blocks per segment (meta page included).
 */
void
RvStoreComputeLayout(int dims, int32 *layout, uint32 *stride, uint32 *base,
					 uint32 *seg_blocks)
{
	uint32		fbytes = (uint32) dims * sizeof(float);
	uint32		with_header = RV_ROUNDUP(fbytes + 8, RV_LINE);
	uint64		stream;

	if ((uint64) with_header * 100 <= (uint64) fbytes * 105)
	{
		*layout = RV_LAYOUT_HEADER;
		*stride = with_header;
		*base = RV_LINE - 8;	/* floats of slot 0 start at stream offset 64 */
	}
	else
	{
		*layout = RV_LAYOUT_DENSE;
		*stride = RV_ROUNDUP(fbytes, RV_LINE);
		*base = 0;
	}
	stream = (uint64) *base + (uint64) RV_SEG_VIDS * *stride;
	*seg_blocks = 1 + (uint32) ((stream + RV_PAGE_PAYLOAD - 1) / RV_PAGE_PAYLOAD);
}

/*
 * RvStoreComputeGeometry: the full geometry of a store file for vectors of
 * dims dimensions whose metapage has version meta_version.  Version 1
 * files hold floats only; version 2 files follow each segment's payload
 * blocks with code blocks holding one SQ8 code record per vid (code_stride
 * bytes: RvSq8Params (RV_CODE_HEADER bytes), dims code bytes, padding
 * to 4), code_per_page records per page, none straddling a page.  Dims
 * whose record would not fit a page keep no codes.  Version 3 files also
 * have bit blocks holding one bit record per vid (bit_stride bytes:
 * RvBitFactors, then P/64 words, P = RvRabitqPaddedDim(dims)),
 * bit_per_page a page, for dims <= RV_BIT_MAX_DIMS.  Version 5 files
 * (else as version 4's) make each segment's SQ8 records one stream over
 * its code blocks, record k at k*code_stride, so records may straddle
 * two code blocks, where that takes fewer code blocks (code_straddle).
 */
void
RvStoreComputeGeometry(int dims, uint32 meta_version, RvStoreGeometry *geo)
{
	uint64		stream;
	uint32		seg_blocks;

	memset(geo, 0, sizeof(RvStoreGeometry));
	RvStoreComputeLayout(dims, &geo->layout, &geo->stride, &geo->base, &seg_blocks);
	stream = (uint64) geo->base + (uint64) RV_SEG_VIDS * geo->stride;
	geo->float_blocks = (uint32) ((stream + RV_PAGE_PAYLOAD - 1) / RV_PAGE_PAYLOAD);
	geo->codes = RV_CODES_NONE;
	geo->bits = RV_CODES_NONE;
	if (meta_version >= RV_STORE_META_V2 &&
		RV_ROUNDUP(RV_CODE_HEADER + (uint32) dims, 4) <= RV_PAGE_PAYLOAD)
	{
		uint32		whole;

		geo->codes = RV_CODES_SQ8;
		geo->code_stride = RV_ROUNDUP(RV_CODE_HEADER + (uint32) dims, 4);
		geo->code_per_page = RV_PAGE_PAYLOAD / geo->code_stride;
		geo->code_blocks = (RV_SEG_VIDS + geo->code_per_page - 1) / geo->code_per_page;

		/*
		 * Version 5: the records of a segment form one byte stream over its
		 * code pages where that takes fewer pages than whole records a page.
		 * Elsewhere (at 100 dims 72 records of 112 bytes fill a page
		 * exactly) they stay whole, as in version 4: a straddler is read
		 * through a copy, which would buy nothing there.
		 */
		whole = (uint32) (((uint64) RV_SEG_VIDS * geo->code_stride + RV_PAGE_PAYLOAD - 1) /
						  RV_PAGE_PAYLOAD);
		if (meta_version >= RV_STORE_META_V5 && whole < geo->code_blocks)
		{
			geo->code_straddle = true;
			geo->code_blocks = whole;
		}
	}
	if (meta_version >= RV_STORE_META_V3 && dims <= RV_BIT_MAX_DIMS)
	{
		geo->bits = RV_CODES_BIT;
		geo->bit_words = (uint32) RvRabitqPaddedDim(dims) / 64;
		geo->bit_stride = RV_BIT_HEADER + geo->bit_words * sizeof(uint64);
		geo->bit_per_page = RV_PAGE_PAYLOAD / geo->bit_stride;
		geo->bit_blocks = (RV_SEG_VIDS + geo->bit_per_page - 1) / geo->bit_per_page;
	}
	geo->seg_blocks = 1 + geo->float_blocks + geo->code_blocks + geo->bit_blocks;
}

/*
 * Where blocks lie within a segment (positions count from the segment's
 * meta page, 0).  Each code stream (SQ8 pages, bit pages) has a key per
 * page: the payload block where the slot of the first vid that needs the
 * page (whose record starts there, or, for a straddling SQ8 stream,
 * continues there) starts.  Blocks are ordered by key, and at equal keys
 * bit pages come first, then the code page, then the payload block
 * itself; so a code page lies just before the payload block holding the
 * start of the first slot that needs it, and the file grows with the vids
 * written (a code page always covers more than one payload block: records
 * are smaller than slots).
 */

/* The first slot needing page k of a stream (codes: SQ8, else bit pages). */
static inline uint64
RvGeoFirstSlot(const RvStoreGeometry *geo, bool codes, uint32 k)
{
	if (codes && geo->code_straddle)
		return (uint64) k * RV_PAGE_PAYLOAD / geo->code_stride;
	return (uint64) k * (codes ? geo->code_per_page : geo->bit_per_page);
}

/* Payload block where the slot of the first vid needing page k of a stream starts. */
static inline uint64
RvGeoKey(const RvStoreGeometry *geo, bool codes, uint32 k)
{
	return ((uint64) geo->base + RvGeoFirstSlot(geo, codes, k) * geo->stride) / RV_PAGE_PAYLOAD;
}

/* How many of a stream's pages have key <= fb. */
static inline uint64
RvGeoCountKeys(const RvStoreGeometry *geo, bool codes, uint64 fb)
{
	uint32		npages = codes ? geo->code_blocks : geo->bit_blocks;
	uint64		last;			/* the last slot starting in blocks <= fb */
	uint64		n;

	if (npages == 0)
		return 0;
	last = ((fb + 1) * RV_PAGE_PAYLOAD - 1 - geo->base) / geo->stride;
	if (codes && geo->code_straddle)
		n = ((last + 1) * geo->code_stride - 1) / RV_PAGE_PAYLOAD + 1;
	else
		n = last / (codes ? geo->code_per_page : geo->bit_per_page) + 1;
	return Min(n, (uint64) npages);
}

/* How many have key < fb. */
static inline uint64
RvGeoCountKeysBefore(const RvStoreGeometry *geo, bool codes, uint64 fb)
{
	return fb == 0 ? 0 : RvGeoCountKeys(geo, codes, fb - 1);
}

/* Position of SQ8 code page k. */
uint32
RvStoreGeoCodePos(const RvStoreGeometry *geo, uint32 k)
{
	uint64		fb = RvGeoKey(geo, true, k);

	return (uint32) (1 + fb + k + RvGeoCountKeys(geo, false, fb));
}

/* Position of bit page j. */
uint32
RvStoreGeoBitPos(const RvStoreGeometry *geo, uint32 j)
{
	uint64		fb = RvGeoKey(geo, false, j);

	return (uint32) (1 + fb + j + RvGeoCountKeysBefore(geo, true, fb));
}

/* Position of payload block fb (0-based in the payload stream). */
uint32
RvStoreGeoFloatPos(const RvStoreGeometry *geo, uint32 fb)
{
	return (uint32) (1 + fb + RvGeoCountKeys(geo, true, fb) + RvGeoCountKeys(geo, false, fb));
}

/* Binary search of pos among npages increasing positions of a stream. */
static bool
RvGeoFind(const RvStoreGeometry *geo, bool bits, uint32 npages, uint32 pos, uint32 *k)
{
	uint32		lo = 0,
				hi = npages;

	while (lo < hi)
	{
		uint32		mid = lo + (hi - lo) / 2;
		uint32		p = bits ? RvStoreGeoBitPos(geo, mid) : RvStoreGeoCodePos(geo, mid);

		if (p == pos)
		{
			if (k)
				*k = mid;
			return true;
		}
		if (p < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/*
 * The page kind of position pos (> 0) in a segment: RV_PAGE_CODES or
 * RV_PAGE_BITS when a code page of that stream lies there (*k gets its
 * number in the stream), else RV_PAGE_DATA.
 */
uint16
RvStoreGeoKind(const RvStoreGeometry *geo, uint32 pos, uint32 *k)
{
	if (RvGeoFind(geo, false, geo->code_blocks, pos, k))
		return RV_PAGE_CODES;
	if (RvGeoFind(geo, true, geo->bit_blocks, pos, k))
		return RV_PAGE_BITS;
	return RV_PAGE_DATA;
}

/*
 * RvStoreSetGeometry: sets store's geometry (dims set) for meta_version,
 * with the table of its code pages' positions in a segment (code_pos, in
 * TopMemoryContext), which spares the per-record arithmetic of
 * RvStoreGeoCodePos on the searches' paths.
 */
void
RvStoreSetGeometry(RvStore *store, uint32 meta_version)
{
	RvStoreComputeGeometry(store->dims, meta_version, &store->geo);
	store->meta_version = meta_version;
	if (store->code_pos)
		pfree(store->code_pos);
	store->code_pos = NULL;
	if (store->geo.codes != RV_CODES_NONE)
	{
		store->code_pos = MemoryContextAlloc(TopMemoryContext,
											 sizeof(uint32) * store->geo.code_blocks);
		for (uint32 j = 0; j < store->geo.code_blocks; j++)
			store->code_pos[j] = RvStoreGeoCodePos(&store->geo, j);
	}
}

/*
 * RvStoreReadGeometry: sets store's geometry from its file's metapage
 * version: a file written in an older version (1 to 4) keeps its
 * geometry; an empty file gets the one ruvector.store_format names
 * (version 5 unless a test says otherwise), which RvStoreInitFile then
 * writes.  Raises ERRCODE_DATA_CORRUPTED on a bad
 * metapage.
 */
void
RvStoreReadGeometry(RvStore *store)
{
	Buffer		buf;
	Page		page;
	const RvStoreMeta *meta;
	uint32		version;

	RvStoreSetGeometry(store, (uint32) rv_store_version);
	if (RelationGetNumberOfBlocks(store->rel) == 0)
		return;
	buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, 0, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	RvPageCheck(store, page, 0, RV_PAGE_META);
	meta = (const RvStoreMeta *) RvPagePayload(page);
	version = meta->version;
	UnlockReleaseBuffer(buf);
	if (version != RV_STORE_META_V1 && version != RV_STORE_META_V2 &&
		version != RV_STORE_META_V3 && version != RV_STORE_META_V4 &&
		version != RV_STORE_META_V5)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store %u: unknown metapage version %u",
						store->node.relNode, version)));
	if (version != store->meta_version)
		RvStoreSetGeometry(store, version);
}

/*
 * The first block of hot segment segno (its meta page): arithmetic before
 * version 4, else the hot extent the directory names.  Raises
 * ERRCODE_DATA_CORRUPTED when the segment is not hot (callers check).
 */
static inline BlockNumber
RvSegMetaBlock(RvStore *store, uint64 segno)
{
	const RvSegLoc *loc;

	if (store->meta_version < RV_STORE_META_V4)
		return (BlockNumber) (1 + segno * store->geo.seg_blocks);
	loc = RvStoreSegLocFast(store, segno);
	if (loc->tier != RV_TIER_HOT)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store %u: segment " UINT64_FORMAT " is not in the hot tier",
						store->node.relNode, segno)));
	return loc->blkno;
}

/*
 * Where vid's segment is, from one directory lookup: the first block of
 * its hot extent, with *sealed NULL; or, for a sealed segment (version 4),
 * InvalidBlockNumber with *sealed its location.  Raises
 * ERRCODE_DATA_CORRUPTED when no segment holds vid.
 */
static inline BlockNumber
RvVidSegment(RvStore *store, uint64 vid, const RvSegLoc **sealed)
{
	const RvSegLoc *loc;

	*sealed = NULL;
	if (store->meta_version < RV_STORE_META_V4)
		return (BlockNumber) (1 + (vid / RV_SEG_VIDS) * store->geo.seg_blocks);
	loc = RvStoreSegLocFast(store, vid / RV_SEG_VIDS);
	if (loc->tier == RV_TIER_HOT)
		return loc->blkno;
	if (loc->tier == RV_TIER_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store %u: vid " UINT64_FORMAT " lies in no segment",
						store->node.relNode, vid)));
	*sealed = loc;
	return InvalidBlockNumber;
}

/* Stream offset of the first byte written for vid (header or floats). */
static inline uint64
RvSlotOffset(RvStore *store, uint64 vid)
{
	return store->geo.base + (vid % RV_SEG_VIDS) * (uint64) store->geo.stride;
}

static inline uint32
RvSlotBytes(RvStore *store)
{
	uint32		fbytes = (uint32) store->dims * sizeof(float);

	return store->geo.layout == RV_LAYOUT_HEADER ? fbytes + 8 : fbytes;
}

/*
 * Blocks within a hot segment whose first block (meta page) is seg: the
 * one holding stream offset off, and those holding vid's code and bit
 * records (with the record's in-page byte offset; for the code record
 * also the bytes of it in that block, and the block holding the rest of a
 * straddling one, else InvalidBlockNumber).
 */
static inline BlockNumber
RvStreamBlock(RvStore *store, BlockNumber seg, uint64 off)
{
	return seg + RvStoreGeoFloatPos(&store->geo, (uint32) (off / RV_PAGE_PAYLOAD));
}

static inline BlockNumber
RvCodeBlock(RvStore *store, BlockNumber seg, uint64 vid, uint32 *pageoff, uint32 *first,
			BlockNumber *next)
{
	uint32		slot = (uint32) (vid % RV_SEG_VIDS);
	uint32		inpage;
	uint32		j = RvStoreGeoCodeLoc(&store->geo, slot, &inpage, first);

	*pageoff = RV_PAGE_PAYLOAD_START + inpage;
	if (likely(store->code_pos != NULL))
	{
		*next = *first < store->geo.code_stride ? seg + store->code_pos[j + 1] :
			InvalidBlockNumber;
		return seg + store->code_pos[j];
	}
	*next = *first < store->geo.code_stride ?
		seg + RvStoreGeoCodePos(&store->geo, j + 1) : InvalidBlockNumber;
	return seg + RvStoreGeoCodePos(&store->geo, j);
}

static inline BlockNumber
RvBitBlock(RvStore *store, BlockNumber seg, uint64 vid, uint32 *pageoff)
{
	uint32		slot = (uint32) (vid % RV_SEG_VIDS);

	*pageoff = RV_PAGE_PAYLOAD_START + (slot % store->geo.bit_per_page) * store->geo.bit_stride;
	return seg + RvStoreGeoBitPos(&store->geo, slot / store->geo.bit_per_page);
}

/* The page kind block blkno (> 0) has in store's geometry. */
static inline uint16
RvBlockKind(RvStore *store, BlockNumber blkno)
{
	uint32		inseg = store->meta_version >= RV_STORE_META_V4 ?
		(blkno - 2) % store->geo.seg_blocks : (blkno - 1) % store->geo.seg_blocks;

	if (inseg == 0)
		return RV_PAGE_SEGMENT;
	return RvStoreGeoKind(&store->geo, inseg, NULL);
}

/*
 * Returns blkno pinned (not locked), extending the file with zeroed pages
 * when blkno is at or past its end.  Extension takes the relation
 * extension lock; the new pages are initialized by whoever writes first.
 */
Buffer
RvReadBufferExtend(RvStore *store, BlockNumber blkno)
{
	Relation	rel = store->rel;

	if (blkno >= RelationGetNumberOfBlocks(rel))
	{
		LockRelationForExtension(rel, ExclusiveLock);
		while (RelationGetNumberOfBlocks(rel) <= blkno)
		{
			Buffer		buf = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);

			if (BufferGetBlockNumber(buf) >= blkno)
			{
				Assert(BufferGetBlockNumber(buf) == blkno);
				UnlockRelationForExtension(rel, ExclusiveLock);
				return buf;
			}
			ReleaseBuffer(buf);
		}
		UnlockRelationForExtension(rel, ExclusiveLock);
	}
	return ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
}

/*
 * RvStoreInitFile: writes the metapage of a freshly created (empty) store
 * file.  store's geometry fields must be set.  WAL-logged as a full image.
 */
void
RvStoreInitFile(RvStore *store)
{
	GenericXLogState *state;
	Buffer		buf;
	Buffer		dirbuf = InvalidBuffer;
	Page		page;
	RvStoreMeta *meta;

	buf = RvReadBufferExtend(store, 0);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (store->meta_version >= RV_STORE_META_V4)
	{
		dirbuf = RvReadBufferExtend(store, 1);
		LockBuffer(dirbuf, BUFFER_LOCK_EXCLUSIVE);
	}
	state = GenericXLogStart(store->rel);
	page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
	RvPageInit(page, RV_PAGE_META, 0);
	meta = (RvStoreMeta *) RvPagePayload(page);
	meta->magic = RV_STORE_MAGIC;
	meta->version = store->meta_version;
	meta->dims = store->dims;
	meta->layout = store->geo.layout;
	meta->stride = store->geo.stride;
	meta->base = store->geo.base;
	meta->seg_vids = RV_SEG_VIDS;
	meta->seg_blocks = store->geo.seg_blocks;
	meta->next_vid = 0;
	meta->free_hint = 0;
	meta->nallocated = 0;
	((PageHeader) page)->pd_lower = RV_PAGE_PAYLOAD_START + RV_STORE_META_V1_SIZE;
	if (store->meta_version >= RV_STORE_META_V2)
	{
		meta->codes = store->geo.codes;
		meta->code_stride = store->geo.code_stride;
		meta->code_per_page = store->geo.code_per_page;
		meta->float_blocks = store->geo.float_blocks;
		((PageHeader) page)->pd_lower = RV_PAGE_PAYLOAD_START + RV_STORE_META_V2_SIZE;
	}
	if (store->meta_version >= RV_STORE_META_V3)
	{
		meta->bits = store->geo.bits;
		meta->bit_stride = store->geo.bit_stride;
		meta->bit_per_page = store->geo.bit_per_page;
		meta->centroid_set = 0;
		meta->centroid_count = 0;
		meta->bit_seed = RV_BIT_SEED;
		/* the centroid's floats (zero until set) lie below pd_lower */
		((PageHeader) page)->pd_lower = RV_PAGE_PAYLOAD_START +
			(store->geo.bits == RV_CODES_BIT ?
			 RV_META_CENTROID_OFF + (uint32) store->dims * sizeof(float) :
			 (store->meta_version >= RV_STORE_META_V4 ? sizeof(RvStoreMeta) :
			  RV_STORE_META_V3_SIZE));
	}
	if (BufferIsValid(dirbuf))
	{
		meta->ndirpages = 1;
		meta->nsealed = 0;
		RvDirInitFile(store, GenericXLogRegisterBuffer(state, dirbuf, GENERIC_XLOG_FULL_IMAGE));
	}
	GenericXLogFinish(state);
	if (BufferIsValid(dirbuf))
		UnlockReleaseBuffer(dirbuf);
	UnlockReleaseBuffer(buf);
}

/* Reads and checks the metapage; returns it locked in mode (pinned). */
Buffer
RvMetaLock(RvStore *store, int mode, RvStoreMeta **meta)
{
	Buffer		buf;
	Page		page;

	/* an unlogged store reset by crash recovery is empty: re-create its metapage */
	if (RelationGetNumberOfBlocks(store->rel) == 0)
	{
		LockRelationForExtension(store->rel, ExclusiveLock);
		if (RelationGetNumberOfBlocks(store->rel) == 0)
			RvStoreInitFile(store);
		UnlockRelationForExtension(store->rel, ExclusiveLock);
	}
	buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, 0, RBM_NORMAL, NULL);

	LockBuffer(buf, mode);
	page = BufferGetPage(buf);
	RvPageCheck(store, page, 0, RV_PAGE_META);
	*meta = (RvStoreMeta *) RvPagePayload(page);
	if ((*meta)->dims != store->dims || (*meta)->stride != store->geo.stride ||
		(*meta)->version != store->meta_version ||
		(*meta)->seg_blocks != store->geo.seg_blocks)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store %u: metapage geometry does not match its catalog entry",
						store->node.relNode)));
	return buf;
}

/* The centroid's floats in a (version-3) metapage. */
static inline float *
RvMetaCentroid(Page metapage)
{
	return (float *) (RvPagePayload(metapage) + RV_META_CENTROID_OFF);
}

/*
 * RvStoreReadCentroid: copies store's centroid (dims floats) into
 * centroid and returns true when the store has bit codes and its centroid
 * is fixed; false otherwise (centroid untouched).  Share-locks the
 * metapage briefly.
 */
bool
RvStoreReadCentroid(RvStore *store, float *centroid)
{
	RvStoreMeta *meta;
	Buffer		buf;
	bool		set;

	if (store->geo.bits != RV_CODES_BIT)
		return false;
	buf = RvMetaLock(store, BUFFER_LOCK_SHARE, &meta);
	set = meta->centroid_set != 0;
	if (set)
		memcpy(centroid, RvMetaCentroid(BufferGetPage(buf)), sizeof(float) * store->dims);
	UnlockReleaseBuffer(buf);
	return set;
}

/*
 * Fixes store's centroid to c (dims floats, the mean of count vectors)
 * unless one is fixed already; either way leaves the store's centroid in
 * c.  One WAL record (the metapage).
 */
static void
RvStoreFixCentroid(RvStore *store, float *c, uint64 count)
{
	RvStoreMeta *meta;
	Buffer		buf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);

	if (meta->centroid_set)
		memcpy(c, RvMetaCentroid(BufferGetPage(buf)), sizeof(float) * store->dims);
	else
	{
		GenericXLogState *state = GenericXLogStart(store->rel);
		Page		page = GenericXLogRegisterBuffer(state, buf, 0);

		memcpy(RvMetaCentroid(page), c, sizeof(float) * store->dims);
		meta = (RvStoreMeta *) RvPagePayload(page);
		meta->centroid_set = 1;
		meta->centroid_count = (uint32) Min(count, (uint64) PG_UINT32_MAX);
		GenericXLogFinish(state);
	}
	UnlockReleaseBuffer(buf);
}

/*
 * The centroid an insert of vecs[0..n) encodes against, into c; returns
 * false when the store has none yet (the insert then writes absent bit
 * records).  Without one, the batch is added to the metapage's running
 * mean under its exclusive lock (one WAL record), and when that then
 * covers RV_CENTROID_VECTORS vectors or more it becomes the centroid, in
 * the same record: concurrent inserts agree on one centroid,
 * and no code is written before it exists.  An aborted insert's vectors
 * stay in the sum (any fixed centroid is correct; the mean is merely a
 * good one).
 */
static bool
RvStoreInsertCentroid(RvStore *store, RuVector **vecs, int n, float *c)
{
	RvStoreMeta *meta;
	Buffer		buf;
	GenericXLogState *state;
	Page		page;
	float	   *mean;
	bool		set;

	if (RvStoreReadCentroid(store, c))
		return true;
	buf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
	if (meta->centroid_set)
	{
		memcpy(c, RvMetaCentroid(BufferGetPage(buf)), sizeof(float) * store->dims);
		UnlockReleaseBuffer(buf);
		return true;
	}
	state = GenericXLogStart(store->rel);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	meta = (RvStoreMeta *) RvPagePayload(page);
	mean = RvMetaCentroid(page);
	/* the running mean, updated in double: it stays within the inputs' range */
	for (int i = 0; i < n; i++)
	{
		double		k = (double) meta->centroid_count + i + 1;

		for (int d = 0; d < store->dims; d++)
			mean[d] = (float) (mean[d] + ((double) vecs[i]->x[d] - mean[d]) / k);
	}
	meta->centroid_count += (uint32) n;
	set = meta->centroid_count >= RV_CENTROID_VECTORS;
	if (set)
	{
		meta->centroid_set = 1;
		memcpy(c, mean, sizeof(float) * store->dims);
	}
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	return set;
}

/*
 * Writes vid x's bit record (bit_stride bytes) against centroid c into
 * rec; an absent record (all zero) when a factor is not finite (elements
 * near FLT_MAX overflow the rotation or the norms), so such a vid is
 * scored on its SQ8 code.
 */
void
RvBitEncode(RvStore *store, const float *x, const float *c, float *scratch, char *rec)
{
	RvRabitqFactors f;
	RvBitFactors bf;

	RvRabitqEncode(x, c, store->dims, RV_BIT_SEED, scratch,
				   (uint64_t *) (rec + RV_BIT_HEADER), &f);
	bf.dist_c = f.dist_c;
	bf.ip_oo = f.ip_oo;
	bf.o_dot_c = f.o_dot_c;
	bf.o_norm = f.o_norm;
	if (!isfinite(bf.dist_c) || !isfinite(bf.ip_oo) || !isfinite(bf.o_dot_c) ||
		!isfinite(bf.o_norm) || !(bf.ip_oo > 0))
	{
		memset(rec, 0, store->geo.bit_stride);
		return;
	}
	memcpy(rec, &bf, sizeof(bf));
}

/*
 * Allocates up to n vids in one WAL record (metapage + one segment meta
 * page), reusing free vids from free_hint on or appending at next_vid.
 * Returns how many were allocated into vids (0 is possible when the free
 * hint was stale; the caller loops).
 */
static int
RvAllocateChunk(RvStore *store, int n, uint64 *vids, TransactionId xid)
{
	GenericXLogState *state;
	Buffer		metabuf;
	Buffer		segbuf;
	Page		metapage;
	Page		segpage;
	RvStoreMeta *meta;
	RvSegmentHeader *seg;
	TransactionId *xids;
	uint64		segno;
	int			got = 0;
	bool		newseg = false;
	bool		v4 = store->meta_version >= RV_STORE_META_V4;
	Buffer		dirbuf = InvalidBuffer;
	BlockNumber segblk = InvalidBlockNumber;

	metabuf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
	if (meta->free_hint < meta->next_vid)
		segno = meta->free_hint / RV_SEG_VIDS;
	else
	{
		segno = meta->next_vid / RV_SEG_VIDS;
		newseg = (meta->next_vid % RV_SEG_VIDS) == 0;
	}

	if (v4 && !newseg)
	{
		RvDirEntry	e;

		/* version 4: only a settled hot segment open to new vids takes them */
		RvDirReadEntry(store, segno, &e);
		if (e.tier != RV_TIER_HOT || (e.flags & RV_DIR_CLOSED) || e.prev_tier != RV_TIER_NONE)
		{
			state = GenericXLogStart(store->rel);
			meta = (RvStoreMeta *) RvPagePayload(GenericXLogRegisterBuffer(state, metabuf, 0));
			if (meta->free_hint < meta->next_vid)
				meta->free_hint = Min((segno + 1) * RV_SEG_VIDS, meta->next_vid);
			else
				meta->next_vid = (segno + 1) * RV_SEG_VIDS;	/* the rest of a closed tail */
			GenericXLogFinish(state);
			UnlockReleaseBuffer(metabuf);
			return 0;
		}
		segblk = e.blkno;
	}
	else if (v4)
	{
		RvDirEnsurePage(store, metabuf, segno);
		meta = (RvStoreMeta *) RvPagePayload(BufferGetPage(metabuf));
	}
	else
		segblk = RvSegMetaBlock(store, segno);

	state = GenericXLogStart(store->rel);
	if (v4 && newseg)
		segblk = RvDirNewSegment(store, segno, state, &dirbuf);
	segbuf = RvReadBufferExtend(store, segblk);
	LockBuffer(segbuf, BUFFER_LOCK_EXCLUSIVE);

	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	meta = (RvStoreMeta *) RvPagePayload(metapage);
	if (newseg)
	{
		segpage = GenericXLogRegisterBuffer(state, segbuf, GENERIC_XLOG_FULL_IMAGE);
		RvPageInit(segpage, RV_PAGE_SEGMENT, (uint32) segno);
		seg = (RvSegmentHeader *) RvPagePayload(segpage);
		memset(RvPagePayload(segpage), 0, RV_PAGE_PAYLOAD);
		seg->segno = (uint32) segno;
		seg->tier = RV_TIER_HOT;
		seg->format = store->geo.layout;
		((PageHeader) segpage)->pd_lower = RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD;
	}
	else
	{
		segpage = GenericXLogRegisterBuffer(state, segbuf, 0);
		RvPageCheck(store, segpage, segblk, RV_PAGE_SEGMENT);
		seg = (RvSegmentHeader *) RvPagePayload(segpage);
	}
	xids = (TransactionId *) (RvPagePayload(segpage) + RV_SEG_HEADER_SIZE);
	if (v4)
		seg->changed_at = GetCurrentTransactionStartTimestamp();

	if (meta->free_hint < meta->next_vid)
	{
		/* reuse free vids of this segment, in vid order */
		uint64		first = segno * RV_SEG_VIDS;
		uint64		end = Min(first + RV_SEG_VIDS, meta->next_vid);
		uint64		v;

		for (v = meta->free_hint; v < end && got < n; v++)
		{
			if (xids[v - first] == InvalidTransactionId)
			{
				xids[v - first] = xid;
				vids[got++] = v;
			}
		}
		meta->free_hint = v;
	}
	else
	{
		/* append within this segment */
		uint64		first = segno * RV_SEG_VIDS;

		while (got < n && meta->next_vid < first + RV_SEG_VIDS)
		{
			xids[meta->next_vid - first] = xid;
			vids[got++] = meta->next_vid++;
		}
		meta->free_hint = meta->next_vid;
	}
	seg->nallocated += got;
	meta->nallocated += got;

	GenericXLogFinish(state);
	UnlockReleaseBuffer(segbuf);
	if (BufferIsValid(dirbuf))
		UnlockReleaseBuffer(dirbuf);
	UnlockReleaseBuffer(metabuf);
	return got;
}

static int
RvPieceCmp(const void *a, const void *b)
{
	const RvPiece *pa = a;
	const RvPiece *pb = b;

	if (pa->blkno != pb->blkno)
		return pa->blkno < pb->blkno ? -1 : 1;
	if (pa->pageoff != pb->pageoff)
		return pa->pageoff < pb->pageoff ? -1 : 1;
	return 0;
}

/* Splits the bytes written for vid into per-page pieces; returns the count. */
static int
RvSlotPieces(RvStore *store, uint64 vid, const char *src, RvPiece *out)
{
	uint64		segno = vid / RV_SEG_VIDS;
	BlockNumber seg = RvSegMetaBlock(store, segno);
	uint64		off = RvSlotOffset(store, vid);
	uint32		left = RvSlotBytes(store);
	int			n = 0;

	while (left > 0)
	{
		uint32		inpage = (uint32) (off % RV_PAGE_PAYLOAD);
		uint32		chunk = Min(left, RV_PAGE_PAYLOAD - inpage);

		out[n].blkno = RvStreamBlock(store, seg, off);
		out[n].segno = (uint32) segno;
		out[n].pageoff = RV_PAGE_PAYLOAD_START + inpage;
		out[n].nbytes = chunk;
		out[n].src = src;
		n++;
		src += chunk;
		off += chunk;
		left -= chunk;
	}
	return n;
}

/*
 * The pieces of vid's SQ8 code record rec (code_stride bytes): one, or two
 * for a record that straddles into the next code page (version 5).
 * Returns the count, written to out.
 */
static int
RvCodePieces(RvStore *store, uint64 vid, const char *rec, RvPiece *out)
{
	uint32		first;
	BlockNumber next;

	out[0].blkno = RvCodeBlock(store, RvSegMetaBlock(store, vid / RV_SEG_VIDS), vid,
							   &out[0].pageoff, &first, &next);
	out[0].segno = (uint32) (vid / RV_SEG_VIDS);
	out[0].nbytes = first;
	out[0].src = rec;
	if (next == InvalidBlockNumber)
		return 1;
	out[1].blkno = next;
	out[1].segno = out[0].segno;
	out[1].pageoff = RV_PAGE_PAYLOAD_START;
	out[1].nbytes = store->geo.code_stride - first;
	out[1].src = rec + first;
	return 2;
}

/* Writes pieces (sorted by block) with at most 4 buffers per WAL record. */
static void
RvWritePieces(RvStore *store, RvPiece *pieces, int npieces)
{
	int			i = 0;

	while (i < npieces)
	{
		GenericXLogState *state = GenericXLogStart(store->rel);
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		Page		pages[MAX_GENERIC_XLOG_PAGES];
		int			nbufs = 0;

		while (i < npieces)
		{
			RvPiece    *p = &pieces[i];
			Page		page;
			uint32		segno;
			uint16		kind;

			if (nbufs == 0 || BufferGetBlockNumber(bufs[nbufs - 1]) != p->blkno)
			{
				Buffer		buf;

				if (nbufs == MAX_GENERIC_XLOG_PAGES)
					break;
				buf = RvReadBufferExtend(store, p->blkno);
				LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
				kind = RvBlockKind(store, p->blkno);
				/*
				 * A new page, or (version 4) one left by the segment that
				 * held this extent before: formatted for this segment
				 */
				if (PageIsNew(BufferGetPage(buf)) ||
					(store->meta_version >= RV_STORE_META_V4 &&
					 RvPageGetOpaque(BufferGetPage(buf))->segno != p->segno))
				{
					segno = p->segno;
					page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
					RvPageInit(page, kind, segno);
				}
				else
				{
					page = GenericXLogRegisterBuffer(state, buf, 0);
					RvPageCheck(store, page, p->blkno, kind);
				}
				bufs[nbufs] = buf;
				pages[nbufs] = page;
				nbufs++;
			}
			page = pages[nbufs - 1];
			memcpy((char *) page + p->pageoff, p->src, p->nbytes);
			if (((PageHeader) page)->pd_lower < p->pageoff + p->nbytes)
				((PageHeader) page)->pd_lower = p->pageoff + p->nbytes;
			i++;
		}
		GenericXLogFinish(state);
		for (int b = 0; b < nbufs; b++)
			UnlockReleaseBuffer(bufs[b]);
	}
}

/*
 * RvStoreInsert: stores n vectors (detoasted, dims == store->dims each,
 * already validated) and returns their vids.  Allocation is recorded with
 * the current (sub)transaction's xid.  No locks are held on return.
 */
void
RvStoreInsert(RvStore *store, RuVector **vecs, int n, uint64 *vids)
{
	TransactionId xid = GetCurrentTransactionId();
	int			done = 0;
	int			maxpieces;
	RvPiece    *pieces;
	int			npieces = 0;
	char	   *codes = NULL;
	char	   *bits = NULL;
	float	   *centroid = NULL;
	float	   *scratch = NULL;
	bool		have_centroid = false;

	if (n <= 0)
		return;
	/* the centroid first: it is fixed before any bit code is written */
	if (store->geo.bits == RV_CODES_BIT)
	{
		centroid = palloc(sizeof(float) * store->dims);
		scratch = palloc(sizeof(float) * store->geo.bit_words * 64);
		have_centroid = RvStoreInsertCentroid(store, vecs, n, centroid);
	}
	while (done < n)
		done += RvAllocateChunk(store, n - done, vids + done, xid);

	/* per vid: the slot's pieces, two of the code record, one bit record */
	maxpieces = n * (RvSlotBytes(store) / RV_PAGE_PAYLOAD + 5);
	pieces = palloc(sizeof(RvPiece) * maxpieces);
	if (store->geo.codes == RV_CODES_SQ8)
		codes = palloc0((Size) n * store->geo.code_stride);
	if (centroid)
		bits = palloc0((Size) n * store->geo.bit_stride);
	for (int i = 0; i < n; i++)
	{
		const char *src = store->geo.layout == RV_LAYOUT_HEADER ?
			(const char *) vecs[i] : (const char *) vecs[i]->x;

		Assert(vecs[i]->dim == store->dims);
		npieces += RvSlotPieces(store, vids[i], src, pieces + npieces);
		if (codes)
		{
			char	   *rec = codes + (Size) i * store->geo.code_stride;

			RvSq8Encode(vecs[i]->x, store->dims, (uint8_t *) (rec + RV_CODE_HEADER),
						(RvSq8Params *) rec);
			npieces += RvCodePieces(store, vids[i], rec, pieces + npieces);
		}
		if (bits)
		{
			char	   *rec = bits + (Size) i * store->geo.bit_stride;
			RvPiece    *p = &pieces[npieces++];

			/* without a centroid the record stays absent: all zero */
			if (have_centroid)
				RvBitEncode(store, vecs[i]->x, centroid, scratch, rec);
			p->blkno = RvBitBlock(store, RvSegMetaBlock(store, vids[i] / RV_SEG_VIDS), vids[i],
								  &p->pageoff);
			p->segno = (uint32) (vids[i] / RV_SEG_VIDS);
			p->nbytes = store->geo.bit_stride;
			p->src = rec;
		}
	}
	qsort(pieces, npieces, sizeof(RvPiece), RvPieceCmp);
	RvWritePieces(store, pieces, npieces);
	pfree(pieces);
	if (codes)
		pfree(codes);
	if (bits)
	{
		pfree(bits);
		pfree(centroid);
		pfree(scratch);
	}
}

/*
 * RvStoreCopySegState: copies segment segno's meta page (version 4: its
 * state page, wherever the segment lives; the old location of a move not
 * settled) into page (BLCKSZ bytes), read under a share lock.  Returns
 * false when the segment does not exist; raises ERRCODE_DATA_CORRUPTED
 * when the block is not a segment page.
 */
bool
RvStoreCopySegState(RvStore *store, uint64 segno, char *page)
{
	RvStore    *where = store;
	BlockNumber blkno;
	Buffer		buf;

	if (store->meta_version >= RV_STORE_META_V4)
	{
		RvDirEntry	e;
		uint16		tier;

		RvDirReadEntry(store, segno, &e);
		if (e.tier == RV_TIER_NONE)
			return false;
		tier = e.tier;
		blkno = e.blkno;
		if (e.prev_tier != RV_TIER_NONE)
		{
			/* a move not settled: its old place, complete for sure */
			tier = e.prev_tier;
			blkno = e.prev_blkno;
		}
		if (tier != RV_TIER_HOT)
			where = RvStoreTier(store, tier, false, NULL);
	}
	else
		blkno = RvSegMetaBlock(store, segno);
	buf = ReadBufferExtended(where->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	RvPageCheck(where, BufferGetPage(buf), blkno, RV_PAGE_SEGMENT);
	memcpy(page, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);
	return true;
}

/*
 * RvStoreRewrite: fills dst, an empty store of the same dims whose file
 * has only its metapage (RvStoreInitFile), with src's contents in dst's
 * geometry: every segment's allocation xids and header, every allocated
 * vid's vector at the same vid (with its code records when dst has codes),
 * and the metapage counters and ring of pending audit events
 * (RvAuditCopyRing).  When dst has bit codes, its centroid is
 * fixed first as the mean of src's allocated vectors (a first pass).  Vids do not change, so vrefs copied
 * verbatim stay valid.  Used when a rewrite (VACUUM FULL, CLUSTER) copies
 * a store whose format differs from the current one; a copy of a store
 * of the current format is a plain block copy.  WAL-logged through
 * GenericXLog like ordinary writes; no other backend can see dst yet.
 */
void
RvStoreRewrite(RvStore *src, RvStore *dst)
{
	RvStoreMeta *smeta;
	Buffer		sbuf = RvMetaLock(src, BUFFER_LOCK_SHARE, &smeta);
	uint64		next_vid = smeta->next_vid;
	uint64		free_hint = smeta->free_hint;
	uint64		nallocated = smeta->nallocated;
	uint64		nsegs = (next_vid + RV_SEG_VIDS - 1) / RV_SEG_VIDS;
	RuVector   *vec = palloc(RUVECTOR_SIZE(src->dims));
	char	   *code = dst->geo.codes == RV_CODES_SQ8 ? palloc0(dst->geo.code_stride) : NULL;
	char	   *bitrec = dst->geo.bits == RV_CODES_BIT ? palloc0(dst->geo.bit_stride) : NULL;
	float	   *centroid = NULL;
	float	   *scratch = NULL;
	RvPiece		pieces[RV_PINSET_MAX];
	GenericXLogState *state;
	Buffer		dbuf;
	Page		dpage;
	RvStoreMeta *dmeta;

	UnlockReleaseBuffer(sbuf);
	Assert(src->dims == dst->dims);
	SET_VARSIZE(vec, RUVECTOR_SIZE(src->dims));
	vec->dim = src->dims;
	vec->unused = 0;

	if (bitrec)
	{
		/* the centroid: the mean of the allocated vectors */
		double	   *sum = palloc0(sizeof(double) * src->dims);
		uint64		count = 0;
		char	   *segcopy = palloc(BLCKSZ);

		centroid = palloc0(sizeof(float) * src->dims);
		scratch = palloc(sizeof(float) * dst->geo.bit_words * 64);

		for (uint64 segno = 0; segno < nsegs; segno++)
		{
			TransactionId *xids = palloc(sizeof(TransactionId) * RV_SEG_VIDS);

			CHECK_FOR_INTERRUPTS();
			if (!RvStoreCopySegState(src, segno, segcopy))
			{
				pfree(xids);
				continue;
			}
			memcpy(xids, RvPagePayload(segcopy) + RV_SEG_HEADER_SIZE,
				   sizeof(TransactionId) * RV_SEG_VIDS);
			for (uint64 v = segno * RV_SEG_VIDS; v < Min((segno + 1) * RV_SEG_VIDS, next_vid); v++)
			{
				if (xids[v % RV_SEG_VIDS] == InvalidTransactionId)
					continue;
				if ((v & 255) == 0)
					CHECK_FOR_INTERRUPTS();
				RvStoreReadFloats(src, v, vec->x);
				for (int d = 0; d < src->dims; d++)
					sum[d] += vec->x[d];
				count++;
			}
			pfree(xids);
		}
		pfree(segcopy);
		if (count > 0)
		{
			for (int d = 0; d < src->dims; d++)
				centroid[d] = (float) (sum[d] / count);
			RvStoreFixCentroid(dst, centroid, count);
		}
		pfree(sum);
	}

	for (uint64 segno = 0; segno < nsegs; segno++)
	{
		Page		segcopy = palloc(BLCKSZ);
		const TransactionId *xids;

		CHECK_FOR_INTERRUPTS();
		if (!RvStoreCopySegState(src, segno, segcopy))
		{
			/* a segment number a version-4 store never used: all free */
			RvPageInit(segcopy, RV_PAGE_SEGMENT, (uint32) segno);
			memset(RvPagePayload(segcopy), 0, RV_PAGE_PAYLOAD);
			((RvSegmentHeader *) RvPagePayload(segcopy))->segno = (uint32) segno;
			((PageHeader) segcopy)->pd_lower = RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD;
		}
		/* everything comes back hot, in dst's layout */
		((RvSegmentHeader *) RvPagePayload(segcopy))->format = dst->geo.layout;
		((RvSegmentHeader *) RvPagePayload(segcopy))->tier = RV_TIER_HOT;
		{
			const TransactionId *sx = (const TransactionId *) (RvPagePayload(segcopy) + RV_SEG_HEADER_SIZE);

			for (uint32 k = 0; k < RV_SEG_VIDS && segno * RV_SEG_VIDS + k < next_vid; k++)
				if (sx[k] == InvalidTransactionId && segno * RV_SEG_VIDS + k < free_hint)
					free_hint = segno * RV_SEG_VIDS + k;
		}

		/* the segment's meta page, as a full image (version 4: with its entry) */
		if (dst->meta_version >= RV_STORE_META_V4)
		{
			Buffer		mbuf = RvMetaLock(dst, BUFFER_LOCK_EXCLUSIVE, &dmeta);
			Buffer		dirbuf;
			BlockNumber blk;

			RvDirEnsurePage(dst, mbuf, segno);
			state = GenericXLogStart(dst->rel);
			GenericXLogRegisterBuffer(state, mbuf, 0);
			blk = RvDirNewSegment(dst, segno, state, &dirbuf);
			dbuf = RvReadBufferExtend(dst, blk);
			LockBuffer(dbuf, BUFFER_LOCK_EXCLUSIVE);
			memcpy(GenericXLogRegisterBuffer(state, dbuf, GENERIC_XLOG_FULL_IMAGE), segcopy, BLCKSZ);
			GenericXLogFinish(state);
			UnlockReleaseBuffer(dbuf);
			UnlockReleaseBuffer(dirbuf);
			UnlockReleaseBuffer(mbuf);
		}
		else
		{
			dbuf = RvReadBufferExtend(dst, RvSegMetaBlock(dst, segno));
			LockBuffer(dbuf, BUFFER_LOCK_EXCLUSIVE);
			state = GenericXLogStart(dst->rel);
			memcpy(GenericXLogRegisterBuffer(state, dbuf, GENERIC_XLOG_FULL_IMAGE), segcopy, BLCKSZ);
			GenericXLogFinish(state);
			UnlockReleaseBuffer(dbuf);
		}

		xids = (const TransactionId *) (RvPagePayload(segcopy) + RV_SEG_HEADER_SIZE);
		for (uint64 v = segno * RV_SEG_VIDS; v < Min((segno + 1) * RV_SEG_VIDS, next_vid); v++)
		{
			int			npieces;
			const char *slot;

			if (xids[v % RV_SEG_VIDS] == InvalidTransactionId)
				continue;
			if ((v & 255) == 0)
				CHECK_FOR_INTERRUPTS();
			RvStoreReadFloats(src, v, vec->x);
			slot = dst->geo.layout == RV_LAYOUT_HEADER ? (const char *) vec : (const char *) vec->x;
			npieces = RvSlotPieces(dst, v, slot, pieces);
			if (code)
			{
				RvSq8Encode(vec->x, dst->dims, (uint8_t *) (code + RV_CODE_HEADER),
							(RvSq8Params *) code);
				npieces += RvCodePieces(dst, v, code, pieces + npieces);
			}
			if (bitrec)
			{
				RvPiece    *p = &pieces[npieces++];

				RvBitEncode(dst, vec->x, centroid, scratch, bitrec);	/* count > 0 here */
				p->blkno = RvBitBlock(dst, RvSegMetaBlock(dst, segno), v, &p->pageoff);
				p->segno = (uint32) (v / RV_SEG_VIDS);
				p->nbytes = dst->geo.bit_stride;
				p->src = bitrec;
			}
			qsort(pieces, npieces, sizeof(RvPiece), RvPieceCmp);
			RvWritePieces(dst, pieces, npieces);
		}
		pfree(segcopy);
	}

	/* the counters, and the ring of pending audit events (rv_store.h) */
	dbuf = RvMetaLock(dst, BUFFER_LOCK_EXCLUSIVE, &dmeta);
	state = GenericXLogStart(dst->rel);
	dpage = GenericXLogRegisterBuffer(state, dbuf, 0);
	dmeta = (RvStoreMeta *) RvPagePayload(dpage);
	dmeta->next_vid = next_vid;
	dmeta->free_hint = free_hint;
	dmeta->nallocated = nallocated;
	RvAuditCopyRing(src, (char *) dpage);
	GenericXLogFinish(state);
	UnlockReleaseBuffer(dbuf);
	pfree(vec);
	if (code)
		pfree(code);
	if (bitrec)
	{
		pfree(bitrec);
		pfree(centroid);
		pfree(scratch);
	}
}

/* One entry of RvStore.recent. */
typedef struct RvRecentBuf
{
	BlockNumber blkno;
	Buffer		buf;
} RvRecentBuf;

#define RV_RECENT_MIN	1024
#define RV_RECENT_MAX	65536	/* 512 kB a store handle: 512 MB of store */

/*
 * RvRecentInit: allocates store's recent-buffer map, sized to the store's
 * current length (a power of two between RV_RECENT_MIN and RV_RECENT_MAX).
 */
static void
RvRecentInit(RvStore *store)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(store->rel);
	uint32		n = RV_RECENT_MIN;

	while (n < nblocks && n < RV_RECENT_MAX)
		n <<= 1;
	store->recent = MemoryContextAlloc(TopMemoryContext, sizeof(RvRecentBuf) * n);
	for (uint32 i = 0; i < n; i++)
	{
		store->recent[i].blkno = InvalidBlockNumber;
		store->recent[i].buf = InvalidBuffer;
	}
	store->recent_mask = n - 1;
}

/*
 * RvPinPage: the payload or code page blkno of store, pinned and checked
 * to be of the kind its position gives (RvBlockKind).  With pins, the pin is kept in pins (reusing one the set
 * already holds for the block); without, *tmp receives the buffer, which
 * the caller releases.  The page is returned unlocked: the bytes of a
 * written vid never change while a heap tuple references it.
 */
static Page
RvPinPage(RvStore *store, BlockNumber blkno, RvPinSet *pins, Buffer *tmp)
{
	Buffer		buf;
	Page		page;
	RvRecentBuf *recent;

	if (pins)
	{
		for (int i = pins->n - 1; i >= 0; i--)
			if (pins->cur[i].blkno == blkno && pins->cur[i].store == store)
				return BufferGetPage(pins->cur[i].buf);
		for (int i = 0; i < pins->nprev; i++)
		{
			if (pins->prev[i].blkno == blkno && pins->prev[i].store == store)
			{
				RvPin		pin = pins->prev[i];

				pins->prev[i] = pins->prev[--pins->nprev];
				if (pins->n == RV_PINSET_MAX)
					elog(ERROR, "too many ruvector store pages pinned for one row");
				pins->cur[pins->n++] = pin;
				return BufferGetPage(pin.buf);
			}
		}
	}
	if (store->recent == NULL)
		RvRecentInit(store);
	recent = &store->recent[blkno & store->recent_mask];
	if (recent->blkno == blkno &&
		ReadRecentBuffer(store->rel->rd_node, MAIN_FORKNUM, blkno, recent->buf))
	{
		/* checked when it entered the map; a block's kind never changes */
		buf = recent->buf;
		page = BufferGetPage(buf);
	}
	else
	{
		int64		reads = pgBufferUsage.shared_blks_read + pgBufferUsage.local_blks_read;

		buf = ReadBufferExtended(store->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		/* on error, abort cleanup releases the content lock and the pin */
		if (store->tier != RV_TIER_HOT)
		{
			/* a sealed page: its CRC is checked when it came from disk */
			RvSealedCheckPage(store, page, blkno,
							  pgBufferUsage.shared_blks_read + pgBufferUsage.local_blks_read != reads);
		}
		else
			RvPageCheck(store, page, blkno, RvBlockKind(store, blkno));
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		recent->blkno = blkno;
		recent->buf = buf;
	}
	if (pins)
	{
		if (pins->n == RV_PINSET_MAX)
		{
			ReleaseBuffer(buf);
			elog(ERROR, "too many ruvector store pages pinned for one row");
		}
		pins->cur[pins->n].buf = buf;
		pins->cur[pins->n].store = store;
		pins->cur[pins->n].blkno = blkno;
		pins->n++;
	}
	else
		*tmp = buf;
	return page;
}

/* RvPinPageExt: RvPinPage for store_seal.c (tier relations' pages). */
Page
RvPinPageExt(RvStore *store, BlockNumber blkno, RvPinSet *pins, Buffer *tmp)
{
	return RvPinPage(store, blkno, pins, tmp);
}

/* RvPinSetReleaseAll: releases every pin in pins and empties it. */
void
RvPinSetReleaseAll(RvPinSet *pins)
{
	for (int i = 0; i < pins->n; i++)
		ReleaseBuffer(pins->cur[i].buf);
	for (int i = 0; i < pins->nprev; i++)
		ReleaseBuffer(pins->prev[i].buf);
	pins->n = 0;
	pins->nprev = 0;
}

/*
 * RvPinSetBeginRow: the current row's values are no longer used; keep its
 * pins aside for reuse by the next row.  Pair with RvPinSetEndRow once the
 * next row is resolved.
 */
void
RvPinSetBeginRow(RvPinSet *pins)
{
	for (int i = 0; i < pins->nprev; i++)
		ReleaseBuffer(pins->prev[i].buf);
	memcpy(pins->prev, pins->cur, sizeof(RvPin) * pins->n);
	pins->nprev = pins->n;
	pins->n = 0;
}

/* RvPinSetEndRow: releases the previous row's pins the new row did not reuse. */
void
RvPinSetEndRow(RvPinSet *pins)
{
	for (int i = 0; i < pins->nprev; i++)
		ReleaseBuffer(pins->prev[i].buf);
	pins->nprev = 0;
}

/* Copies nbytes of the stream of the hot segment at seg from offset off into dst. */
static void
RvCopyStream(RvStore *store, BlockNumber seg, uint64 off, uint32 nbytes, char *dst,
			 RvPinSet *pins)
{
	while (nbytes > 0)
	{
		uint32		inpage = (uint32) (off % RV_PAGE_PAYLOAD);
		uint32		chunk = Min(nbytes, RV_PAGE_PAYLOAD - inpage);
		Buffer		tmp = InvalidBuffer;
		Page		page = RvPinPage(store, RvStreamBlock(store, seg, off), pins, &tmp);

		memcpy(dst, RvPagePayload(page) + inpage, chunk);
		if (BufferIsValid(tmp))
			ReleaseBuffer(tmp);
		dst += chunk;
		off += chunk;
		nbytes -= chunk;
	}
}

/*
 * RvStoreFetch: the vector stored under vid, as a ruvector datum.  When the
 * slot lies in one page and the store has headers, the result points into
 * that page and the buffer's pin is added to pins (the caller releases it
 * with RvPinSetReleaseAll once the value is no longer used); otherwise the
 * result is palloc'd in the current memory context.  Raises
 * ERRCODE_DATA_CORRUPTED on pages that are not store pages or on a header
 * that does not match the store.
 */
RuVector *
RvStoreFetch(RvStore *store, uint64 vid, RvPinSet *pins)
{
	uint64		off = RvSlotOffset(store, vid);
	uint32		inpage = (uint32) (off % RV_PAGE_PAYLOAD);
	RuVector   *result;
	const RvSegLoc *sealed;
	BlockNumber seg = RvVidSegment(store, vid, &sealed);

	if (sealed)
	{
		result = (RuVector *) RvMemAlloc(RUVECTOR_SIZE(store->dims));
		SET_VARSIZE(result, RUVECTOR_SIZE(store->dims));
		result->dim = store->dims;
		result->unused = 0;
		RvSealedReadFloats(store, sealed, vid, result->x);
		RvMemCountResolution(false);
		return result;
	}
	if (store->geo.layout == RV_LAYOUT_HEADER &&
		inpage + RvSlotBytes(store) <= RV_PAGE_PAYLOAD && pins != NULL)
	{
		Page		page = RvPinPage(store, RvStreamBlock(store, seg, off), pins, NULL);

		result = (RuVector *) (RvPagePayload(page) + inpage);
		if (VARSIZE(result) != RUVECTOR_SIZE(store->dims) || result->dim != store->dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ruvector store %u: vid " UINT64_FORMAT " has a bad header",
							store->node.relNode, vid)));
		RvMemCountResolution(true);
		return result;
	}

	/* every byte is written below: skip InitRuVector's zeroing */
	result = (RuVector *) RvMemAlloc(RUVECTOR_SIZE(store->dims));
	SET_VARSIZE(result, RUVECTOR_SIZE(store->dims));
	result->dim = store->dims;
	result->unused = 0;
	if (store->geo.layout == RV_LAYOUT_HEADER)
		RvCopyStream(store, seg, off + 8, store->dims * sizeof(float), (char *) result->x,
					 pins);
	else
		RvCopyStream(store, seg, off, store->dims * sizeof(float), (char *) result->x, pins);
	RvMemCountResolution(false);
	return result;
}

/* RvStoreReadFloats: copies vid's dims floats into dst (dims * 4 bytes). */
void
RvStoreReadFloats(RvStore *store, uint64 vid, float *dst)
{
	uint64		off = RvSlotOffset(store, vid) + (store->geo.layout == RV_LAYOUT_HEADER ? 8 : 0);
	const RvSegLoc *sealed;
	BlockNumber seg = RvVidSegment(store, vid, &sealed);

	if (sealed)
	{
		RvSealedReadFloats(store, sealed, vid, dst);
		return;
	}
	RvCopyStream(store, seg, off, store->dims * sizeof(float), (char *) dst, NULL);
}

/*
 * RvStoreGetPieces: zero-copy access to vid's floats for the distance
 * kernels: *p0[0..*n0) followed by *p1[0..*n1) (floats), pinned in pins.
 * Returns the number of pieces (1 or 2), or 0 when the floats span more
 * than two pages (the caller then uses RvStoreReadFloats).  pins must not
 * be NULL: the pointers stay valid until the caller releases them.
 */
int
RvStoreGetPieces(RvStore *store, uint64 vid, RvPinSet *pins,
				 const float **p0, int *n0, const float **p1, int *n1)
{
	uint64		off = RvSlotOffset(store, vid) + (store->geo.layout == RV_LAYOUT_HEADER ? 8 : 0);
	uint32		fbytes = store->dims * sizeof(float);
	uint32		inpage = (uint32) (off % RV_PAGE_PAYLOAD);
	uint32		first = Min(fbytes, RV_PAGE_PAYLOAD - inpage);
	int			npieces = (first == fbytes) ? 1 : 2;

	const RvSegLoc *sealed;
	BlockNumber seg = RvVidSegment(store, vid, &sealed);

	Assert(pins != NULL);
	if (sealed)
		return 0;				/* sealed: RvStoreReadFloats decodes it */

	if (npieces == 2 && fbytes - first > RV_PAGE_PAYLOAD)
		return 0;
	for (int i = 0; i < npieces; i++)
	{
		Page		page = RvPinPage(store, RvStreamBlock(store, seg, off), pins, NULL);

		if (i == 0)
		{
			*p0 = (const float *) (RvPagePayload(page) + inpage);
			*n0 = first / sizeof(float);
			*p1 = NULL;
			*n1 = 0;
		}
		else
		{
			*p1 = (const float *) RvPagePayload(page);
			*n1 = (fbytes - first) / sizeof(float);
		}
		off += first;
	}
	return npieces;
}

/*
 * Assembles the code record that starts at pageoff of page, first bytes
 * there and the rest at the start of the payload of page next, into dst
 * (code_stride bytes); returns dst.
 */
static inline const char *
RvCodeAssemble(RvStore *store, Page page, uint32 pageoff, uint32 first, Page next, char *dst)
{
	memcpy(dst, (const char *) page + pageoff, first);
	memcpy(dst + first, RvPagePayload(next), store->geo.code_stride - first);
	return dst;
}

/*
 * RvStoreCodeRecord: vid's code record (code_stride bytes: RvSq8Params,
 * then dims SQ8 codes at RV_CODE_HEADER): in place in its code page, whose
 * pin is added to pins (the caller releases it); or, for a record that
 * straddles two code pages (version 5) or two sealed pages (cool), a copy
 * in store's scratch memory, valid until the next RvStoreCodeRecord call
 * on store (both pages' pins are added to pins).  NULL for a sealed vid
 * without SQ8 codes (warm, cold) or not in its run.  The store must have
 * codes (store->geo.codes != RV_CODES_NONE).  Raises
 * ERRCODE_DATA_CORRUPTED when a block is not a code page.
 */
const char *
RvStoreCodeRecord(RvStore *store, uint64 vid, RvPinSet *pins)
{
	uint32		pageoff;
	uint32		first;
	BlockNumber blkno;
	BlockNumber next;
	Page		page;
	const RvSegLoc *sealed;
	BlockNumber seg = RvVidSegment(store, vid, &sealed);

	if (sealed)
		return sealed->tier == RV_TIER_COOL ? RvStoreSealedRecord(store, sealed, vid, pins) : NULL;
	blkno = RvCodeBlock(store, seg, vid, &pageoff, &first, &next);
	Assert(store->geo.codes != RV_CODES_NONE && pins != NULL);
	page = RvPinPage(store, blkno, pins, NULL);
	if (likely(next == InvalidBlockNumber))
		return (const char *) page + pageoff;
	if (store->code_scratch == NULL)
		store->code_scratch = MemoryContextAlloc(TopMemoryContext, store->geo.code_stride);
	return RvCodeAssemble(store, page, pageoff, first, RvPinPage(store, next, pins, NULL),
						  store->code_scratch);
}

/*
 * RvStoreBitRecord: vid's bit record (bit_stride bytes: RvBitFactors, then
 * bit_words words), in place in its bit page, whose pin is added to pins.
 * The store must have bit codes.  Raises ERRCODE_DATA_CORRUPTED when the
 * block is not a bit page.
 */
const char *
RvStoreBitRecord(RvStore *store, uint64 vid, RvPinSet *pins)
{
	uint32		pageoff;
	BlockNumber blkno;
	Page		page;
	const RvSegLoc *sealed;
	BlockNumber seg = RvVidSegment(store, vid, &sealed);

	if (sealed)
		return sealed->tier == RV_TIER_COLD ? RvStoreSealedRecord(store, sealed, vid, pins) : NULL;
	blkno = RvBitBlock(store, seg, vid, &pageoff);
	Assert(store->geo.bits == RV_CODES_BIT && pins != NULL);
	page = RvPinPage(store, blkno, pins, NULL);
	return (const char *) page + pageoff;
}

/*
 * RvStorePinCodeRecords: the code records of vids[0..n) (n <=
 * RV_CODE_BATCH), in place in their code pages, into recs[], each page's
 * pin in bufs[] (the caller releases all n with ReleaseBuffer; a page
 * shared by several vids is pinned once per vid).  The search is bound by
 * memory latency (each vid's recent-map entry, buffer descriptor and
 * record are cache misses), so the batch is walked in passes: first the
 * recent-map entries are prefetched, then each block's buffer descriptor
 * and record lines, then the pages are pinned, so the misses overlap.
 * kind says which records: RV_CODES_SQ8 (code pages) or RV_CODES_BIT (bit
 * pages); the store must have them.  An SQ8 record that straddles two
 * code pages (version 5) is copied into scratch, the batch's straddlers
 * one after another (scratch: room for n records of code_stride bytes,
 * which the caller keeps as long as it uses recs[]; may be NULL for bit
 * records), and neither page stays pinned for it (bufs[i] =
 * InvalidBuffer).  A sealed vid (version 4) gets its
 * tier's record of that kind, pinned in bufs[i], when it has one in one
 * page (cool's SQ8, cold's bit record), else recs[i] = NULL: the caller
 * scores it on its tier's own record.  Raises ERRCODE_DATA_CORRUPTED for
 * a block that is not a page of that kind.
 */
void
RvStorePinCodeRecords(RvStore *store, int kind, const uint64 *vids, int n, const char **recs,
					  Buffer *bufs, char *scratch)
{
	BlockNumber blk[RV_CODE_BATCH];
	BlockNumber next[RV_CODE_BATCH];
	uint32		off[RV_CODE_BATCH];
	uint32		first[RV_CODE_BATCH];
	bool		have[RV_CODE_BATCH];
	int			ncopied = 0;

	Assert(n <= RV_CODE_BATCH);
	Assert(kind == RV_CODES_BIT ? store->geo.bits == RV_CODES_BIT :
		   store->geo.codes != RV_CODES_NONE);
	if (store->recent == NULL)
		RvRecentInit(store);
	for (int i = 0; i < n; i++)
	{
		const RvSegLoc *sealed;
		BlockNumber seg = RvVidSegment(store, vids[i], &sealed);

		if (sealed)
		{
			/*
			 * A sealed vid: a record of the kind asked for (cool's SQ8,
			 * cold's bit record) that lies in one page is pinned here like
			 * a hot one; otherwise the caller scores it on its tier's
			 * record (NULL)
			 */
			recs[i] = NULL;
			bufs[i] = InvalidBuffer;
			have[i] = true;
			if (sealed->tier == (kind == RV_CODES_BIT ? RV_TIER_COLD : RV_TIER_COOL))
			{
				int			pos = RvSealedPos(sealed->run, (uint32) (vids[i] % RV_SEG_VIDS));
				uint32		stride = sealed->run->h.rec_stride;
				uint64		o = (uint64) Max(pos, 0) * stride;

				if (pos >= 0 && (o % RV_PAGE_PAYLOAD) + stride <= RV_PAGE_PAYLOAD)
				{
					RvStore    *ts = RvStoreTier(store, sealed->tier, false, NULL);
					Page		page = RvPinPage(ts, sealed->blkno + 2 + (BlockNumber) (o / RV_PAGE_PAYLOAD),
												 NULL, &bufs[i]);

					recs[i] = (const char *) page + RV_PAGE_PAYLOAD_START + o % RV_PAGE_PAYLOAD;
				}
			}
			continue;
		}
		if (kind == RV_CODES_BIT)
		{
			blk[i] = RvBitBlock(store, seg, vids[i], &off[i]);
			next[i] = InvalidBlockNumber;
		}
		else
			blk[i] = RvCodeBlock(store, seg, vids[i], &off[i], &first[i], &next[i]);
		have[i] = false;
		__builtin_prefetch(&store->recent[blk[i] & store->recent_mask]);
		if (next[i] != InvalidBlockNumber)
			__builtin_prefetch(&store->recent[next[i] & store->recent_mask]);
	}
	for (int i = 0; i < n; i++)
	{
		RvRecentBuf *r = &store->recent[blk[i] & store->recent_mask];

		if (have[i])
			continue;
		if (r->blkno == blk[i] && r->buf > 0)
		{
			const char *rec = (const char *) BufferGetBlock(r->buf) + off[i];

			__builtin_prefetch(GetBufferDescriptor(r->buf - 1));
			__builtin_prefetch(rec);
			__builtin_prefetch(rec + 64);
			__builtin_prefetch(rec + 128);
		}
		if (next[i] != InvalidBlockNumber)
		{
			/* a straddler: its second part's page too */
			r = &store->recent[next[i] & store->recent_mask];
			if (r->blkno == next[i] && r->buf > 0)
			{
				__builtin_prefetch(GetBufferDescriptor(r->buf - 1));
				__builtin_prefetch(RvPagePayload(BufferGetBlock(r->buf)));
			}
		}
	}
	for (int i = 0; i < n; i++)
	{
		Page		page;

		if (have[i])
			continue;
		if (unlikely(next[i] != InvalidBlockNumber))
		{
			/* a straddler: its two parts copied together */
			Page		pages[2];
			Buffer		tmp[2];
			BlockNumber b[2] = {blk[i], next[i]};

			Assert(scratch != NULL);
			for (int h = 0; h < 2; h++)
				pages[h] = RvPinPage(store, b[h], NULL, &tmp[h]);
			recs[i] = RvCodeAssemble(store, pages[0], off[i], first[i], pages[1],
									 scratch + (Size) ncopied++ * store->geo.code_stride);
			for (int h = 0; h < 2; h++)
				ReleaseBuffer(tmp[h]);
			bufs[i] = InvalidBuffer;
			continue;
		}
		page = RvPinPage(store, blk[i], NULL, &bufs[i]);
		recs[i] = (const char *) page + off[i];
	}
}

/*
 * RvStoreCounts: high-water vid, allocated vids and file blocks, read
 * under a share lock on the metapage.
 */
void
RvStoreCounts(RvStore *store, uint64 *next_vid, uint64 *nallocated, BlockNumber *nblocks)
{
	RvStoreMeta *meta;
	Buffer		buf = RvMetaLock(store, BUFFER_LOCK_SHARE, &meta);

	*next_vid = meta->next_vid;
	*nallocated = meta->nallocated;
	UnlockReleaseBuffer(buf);
	*nblocks = RelationGetNumberOfBlocks(store->rel);
}

/*
 * Pages of a stream of per_page records a page and npages pages a
 * segment that the first next_vid vids (nsegs segments) occupy.
 */
static uint64
RvStreamPages(uint64 next_vid, uint64 nsegs, uint32 per_page, uint32 npages)
{
	uint64		last;

	if (nsegs == 0)
		return 0;
	last = next_vid - (nsegs - 1) * RV_SEG_VIDS;
	return (nsegs - 1) * npages + Min((last + per_page - 1) / per_page, (uint64) npages);
}

/*
 * RvStoreResidentBytes: the bytes of store's file that searches keep
 * touching under the current ruvector.search_codes, for next_vid vids and
 * nblocks file blocks: the directory (the metapage and the segment meta
 * pages) plus, for bit, the bit pages; for int8, the SQ8 code pages; for
 * off, the payload pages.  A store without the codes the setting names
 * falls back as the scorer does (bit -> int8 -> floats).
 */
uint64
RvStoreResidentBytes(RvStore *store, uint64 next_vid, BlockNumber nblocks)
{
	uint64		nsegs = (next_vid + RV_SEG_VIDS - 1) / RV_SEG_VIDS;
	uint64		pages = 1 + nsegs;
	int			mode = rv_search_codes;

	if (mode == RV_SCORE_BIT && store->geo.bits != RV_CODES_BIT)
		mode = RV_SCORE_SQ8;
	if (mode == RV_SCORE_SQ8 && store->geo.codes != RV_CODES_SQ8)
		mode = RV_SCORE_EXACT;
	if (store->meta_version >= RV_STORE_META_V4)
	{
		RvStoreMeta *meta;
		Buffer		buf = RvMetaLock(store, BUFFER_LOCK_SHARE, &meta);

		/* the metapage, the directory, and each hot segment by its vids */
		pages = 1 + meta->ndirpages;
		UnlockReleaseBuffer(buf);
		for (uint64 segno = 0; segno < nsegs; segno++)
		{
			uint64		nv = Min((uint64) RV_SEG_VIDS, next_vid - segno * RV_SEG_VIDS);

			if (RvStoreSegLoc(store, segno)->tier != RV_TIER_HOT)
				continue;
			pages += 1;
			if (mode == RV_SCORE_BIT)
				pages += RvStreamPages(nv, 1, store->geo.bit_per_page, store->geo.bit_blocks);
			else if (mode == RV_SCORE_SQ8)
				pages += Min(RvStoreGeoCodePages(&store->geo, nv), store->geo.code_blocks);
			else
				pages += Min((store->geo.base + nv * (uint64) store->geo.stride +
							  RV_PAGE_PAYLOAD - 1) / RV_PAGE_PAYLOAD,
							 (uint64) store->geo.float_blocks);
		}
		return Min(pages, (uint64) nblocks) * BLCKSZ;
	}
	if (mode == RV_SCORE_BIT)
		pages += RvStreamPages(next_vid, nsegs, store->geo.bit_per_page, store->geo.bit_blocks);
	else if (mode == RV_SCORE_SQ8)
		pages += RvStreamPages(next_vid, nsegs, store->geo.code_per_page,
							   store->geo.code_blocks);
	else if (nsegs > 0)
	{
		uint64		last = next_vid - (nsegs - 1) * RV_SEG_VIDS;
		uint64		end = store->geo.base + last * (uint64) store->geo.stride;

		pages += (nsegs - 1) * store->geo.float_blocks +
			Min((end + RV_PAGE_PAYLOAD - 1) / RV_PAGE_PAYLOAD, (uint64) store->geo.float_blocks);
	}
	return Min(pages, (uint64) nblocks) * BLCKSZ;
}

/* RvStoreNextVid: the high-water vid (vids >= it were never allocated). */
uint64
RvStoreNextVid(RvStore *store)
{
	RvStoreMeta *meta;
	Buffer		buf = RvMetaLock(store, BUFFER_LOCK_SHARE, &meta);
	uint64		next_vid = meta->next_vid;

	UnlockReleaseBuffer(buf);
	return next_vid;
}

/*
 * RvStoreFreeUnreferenced: the sweep of VACUUM's mark-and-sweep.
 * referenced is a bitmap of the vids below nvids that some heap tuple
 * (live or dead, still on its page) references; horizon is the oldest xid
 * that may still be running (computed before the heap was scanned).  A vid
 * is freed when it is unreferenced and its allocating transaction precedes
 * the horizon (so no in-flight insert can still be about to reference it)
 * and may_free is set; referenced vids older than the horizon are frozen,
 * and so are old unreferenced ones when !may_free (the caller cannot rule
 * out that an index still returns them; frozen, they keep no xid from
 * wraparound and are freed by a later sweep that may).  Each segment is swept
 * under the metapage's and its meta page's exclusive locks (in allocation's
 * lock order) and logged with the metapage counters in one WAL record, so
 * a crash never leaves the counters out of step with the xids.
 * Returns the number freed and the number left allocated (below nvids).
 */
void
RvStoreFreeUnreferenced(RvStore *store, const uint8 *referenced, uint64 nvids,
						TransactionId horizon, bool may_free, uint64 *nfreed, uint64 *nlive)
{
	uint64		nsegs = (nvids + RV_SEG_VIDS - 1) / RV_SEG_VIDS;
	uint64		freed = 0;
	uint64		live = 0;

	for (uint64 segno = 0; segno < nsegs; segno++)
	{
		BlockNumber blkno;
		RvStore    *where = store;
		bool		sealed = false;
		RvStoreMeta *meta;
		Buffer		metabuf;
		Buffer		buf;
		GenericXLogState *state;
		Page		metapage;
		Page		page;
		RvSegmentHeader *seg;
		TransactionId *xids;
		uint64		first = segno * RV_SEG_VIDS;
		uint64		end = Min(first + RV_SEG_VIDS, nvids);
		uint64		lowest_freed = PG_UINT64_MAX;
		uint32		segfreed = 0;
		bool		changed = false;

		CHECK_FOR_INTERRUPTS();
		if (store->meta_version >= RV_STORE_META_V4)
		{
			RvDirEntry	e;

			/*
			 * The state page where the segment lives (moves are settled or
			 * excluded: the caller holds VACUUM's lock); a segment still
			 * moving keeps its vids as they are.
			 */
			RvDirReadEntry(store, segno, &e);
			if (e.tier == RV_TIER_NONE || e.prev_tier != RV_TIER_NONE)
				continue;
			sealed = e.tier != RV_TIER_HOT;
			if (sealed)
				where = RvStoreTier(store, e.tier, false, NULL);
			blkno = e.blkno;
		}
		else
			blkno = RvSegMetaBlock(store, segno);
		metabuf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
		buf = ReadBufferExtended(where->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(store->rel);
		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
		meta = (RvStoreMeta *) RvPagePayload(metapage);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		RvPageCheck(where, page, blkno, RV_PAGE_SEGMENT);
		seg = (RvSegmentHeader *) RvPagePayload(page);
		xids = (TransactionId *) (RvPagePayload(page) + RV_SEG_HEADER_SIZE);
		for (uint64 v = first; v < end; v++)
		{
			TransactionId x = xids[v - first];
			bool		ref = (referenced[v / 8] & (1 << (v % 8))) != 0;
			bool		old;

			if (x == InvalidTransactionId)
				continue;
			old = (x == FrozenTransactionId) || TransactionIdPrecedes(x, horizon);
			if (ref || (old && !may_free))
			{
				live++;
				if (old && x != FrozenTransactionId)
				{
					xids[v - first] = FrozenTransactionId;
					changed = true;
				}
			}
			else if (old)
			{
				xids[v - first] = InvalidTransactionId;
				segfreed++;
				changed = true;
				if (v < lowest_freed)
					lowest_freed = v;
			}
			else
				live++;
		}
		if (segfreed > 0)
		{
			seg->nallocated -= segfreed;
			meta->nallocated -= segfreed;
			/* a sealed segment's vids are not reused: only hot ones are free */
			if (!sealed && lowest_freed < meta->free_hint)
				meta->free_hint = lowest_freed;
		}
		freed += segfreed;
		if (changed)
			GenericXLogFinish(state);
		else
			GenericXLogAbort(state);
		UnlockReleaseBuffer(buf);
		UnlockReleaseBuffer(metabuf);
	}
	/*
	 * freed vids may be handed out again: other backends' insert caches
	 * (store_icache.c) drop their copies when this commits.  The new
	 * storage a VACUUM FULL or CLUSTER sweeps may have no pg_class row
	 * yet; the rewrite invalidates the table, which empties them too.
	 */
	if (freed > 0 && SearchSysCacheExists1(RELOID, ObjectIdGetDatum(store->relid)))
		CacheInvalidateRelcacheByRelid(store->relid);
	*nfreed = freed;
	*nlive = live;
}
