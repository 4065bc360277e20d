/*-------------------------------------------------------------------------
 *
 * rv_store.h
 *	  The vector store: one per (table storage, ruvector column, dims).
 *	  A store is a catalogued relation (access method ruvector_store, in
 *	  schema ruvector_internal) holding vectors in 64-byte lines, addressed
 *	  by a dense, store-local vid, each with search codes (SQ8, and from
 *	  version 3 1-bit RaBitQ) kept on code pages apart from the floats.
 *	  Only src/tam/store touches store pages; the index and the scans get
 *	  distances through the scorer API (rv_score.h).
 *
 * File layout (BLCKSZ pages, standard PageHeaderData, special space of
 * RV_PAGE_SPECIAL bytes holding RvPageOpaque; payload between byte
 * RV_PAGE_PAYLOAD_START and pd_special, always below pd_lower):
 *
 *	block 0                    store metapage (RvStoreMeta; in version 4
 *	                           also the ring of VACUUM's pending audit
 *	                           events, RvAuditRingHeader below)
 *	block 1 + s*B              segment s's meta page: RvSegmentHeader and
 *	                           the per-vid allocation xids of its RV_SEG_VIDS vids
 *	blocks 2 + s*B .. (s+1)*B  segment s's payload and code pages, B - 1
 *	                           of them: the payload is a byte stream of
 *	                           RV_PAGE_PAYLOAD bytes per page in which vector
 *	                           slot k starts at base + k*stride; code page j
 *	                           holds the code records (RV_CODE_HEADER bytes
 *	                           of RvSq8Params, then dims bytes) of slots
 *	                           [j*P, (j+1)*P), P = code_per_page, none
 *	                           straddling a page; in version 5, where that
 *	                           takes fewer code pages (code_straddle), the
 *	                           records form one stream instead, record k
 *	                           at k*code_stride, code page j holding stream
 *	                           bytes [j*RV_PAGE_PAYLOAD, (j+1)*RV_PAGE_PAYLOAD),
 *	                           so a record may straddle into code page
 *	                           j + 1 (RvStoreGeoCodeLoc); code page j lies
 *	                           just before the payload page where the slot
 *	                           of the first vid needing it starts
 *	                           (RvStoreGeoCodePos), so the file grows with
 *	                           the slots written; from version 3, bit
 *	                           page j likewise holds the 1-bit RaBitQ
 *	                           records (RV_BIT_HEADER bytes of factors,
 *	                           then P/64 words of sign bits) of slots
 *	                           [j*Q, (j+1)*Q), Q = bit_per_page, and lies
 *	                           just before the code page (or, with none
 *	                           there, the payload page) where slot j*Q
 *	                           starts (RvStoreGeoBitPos)
 *
 * Metapage version 1 (release 0.2.0's stores) has no code pages: B - 1
 * payload pages; such stores are read, written and searched exactly.
 * Version 2 has SQ8 code pages unless a record would not fit a page (dims
 * > 8052).  Version 3 (what new stores get) adds the bit pages and the
 * store's RaBitQ centroid (in the metapage, RV_META_CENTROID_OFF bytes
 * into its payload) unless the centroid would not fit the metapage (dims >
 * RV_BIT_MAX_DIMS: such stores keep SQ8 codes only).  Version 4 adds the
 * segment directory and tiers (below).  Version 5 (what new stores get) is
 * version 4 whose hot segments' SQ8 code records straddle code pages where
 * that saves code pages (at 784 dims 198 code pages a segment instead of
 * 200); a straddling record is read through a copy (RvStoreCodeRecord,
 * RvStorePinCodeRecords).  VACUUM FULL / CLUSTER rewrite stores of older
 * versions (and every store that gets bit codes) in the newest version.
 *
 * The centroid (RaBitQ codes are of x - c): fixed once and never changed
 * afterwards, so no written code goes stale.  Inserts into a store without
 * one add their vectors to a running mean kept in the centroid's place
 * (centroid_count of them); the insert that brings the count to
 * RV_CENTROID_VECTORS fixes the centroid to that mean and encodes its own
 * vectors against it.  The vectors stored before it keep an absent bit
 * record (all zero bytes; <o_bar, o> = 0 marks it), and so do vectors
 * whose factors overflow (elements near FLT_MAX); the scorer scores them
 * on their SQ8 codes.  RvStoreRewrite fixes the centroid to the mean
 * of the allocated vectors it copies, before it writes any record; VACUUM
 * FULL and CLUSTER rewrite every store that gets bit codes that way.
 *
 * vid -> (segment, slot) is arithmetic: s = vid / RV_SEG_VIDS; where
 * segment s lies is arithmetic too before version 4 (block 1 + s*B), and
 * from version 4 the segment directory's business
 * (rv_tier.h): a hot extent at block 2 + e*B laid out as above, or a
 * sealed run in a tier relation.  A slot may
 * straddle into the next payload page.  With the "header" layout each
 * slot is an 8-byte varlena header followed by the floats, which start on
 * a 64-byte boundary, so a vector within one page is handed out as a datum
 * pointing into the pinned buffer (zero-copy).  Dims where that header
 * would cost more than 5% (e.g. 128) use the dense layout: floats only,
 * 64-byte aligned, copied when resolved.
 *
 * Allocation state per vid is its allocating xid: 0 = free, else the
 * (sub)transaction that wrote it, or FrozenTransactionId once VACUUM has
 * seen it referenced by a heap tuple older than the horizon.  Whether a
 * vid is still needed is decided by VACUUM's mark-and-sweep over the heap.
 *
 * A vid's code records (SQ8 and bit; a straddling SQ8 record as two
 * pieces) are written by the same RvStoreInsert as its floats (GenericXLog
 * records of at most 4 buffers each), before its heap tuple exists, and
 * never change while the vid is allocated.
 *
 * WAL: every change goes through GenericXLog (<= 4 buffers per record);
 * store copies (rewrites) go through RelationCopyStorage, which logs each
 * page it copies, or RvStoreRewrite for an older format or a store with
 * sealed segments.  A segment's header names its tier (rv_tier.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_STORE_H
#define RV_STORE_H

#include "storage/bufmgr.h"
#include "storage/relfilenode.h"
#include "nodes/pg_list.h"
#include "storage/backendid.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "toast/rv_vector.h"

#define RV_STORE_MAGIC			0x52565354	/* "RVST" */
#define RV_STORE_VERSION		1
#define RV_LINE					64
#define RV_PAGE_SPECIAL			64
#define RV_PAGE_PAYLOAD_START	64
#define RV_PAGE_PAYLOAD			(BLCKSZ - RV_PAGE_SPECIAL - RV_PAGE_PAYLOAD_START)
#define RV_SEG_HEADER_SIZE		64
#define RV_SEG_VIDS				((RV_PAGE_PAYLOAD - RV_SEG_HEADER_SIZE) / sizeof(TransactionId))

/* page kinds, in RvPageOpaque.kind */
#define RV_PAGE_META			1
#define RV_PAGE_SEGMENT			2
#define RV_PAGE_DATA			3
#define RV_PAGE_CODES			4	/* SQ8 search codes of a segment's vids */
#define RV_PAGE_BITS			5	/* 1-bit RaBitQ codes of a segment's vids */
#define RV_PAGE_DIR				6	/* version 4: segment directory (store_dir.c) */
#define RV_PAGE_SEALHDR			7	/* sealed run: header, live bitmap, chunk table */
#define RV_PAGE_SEALCODE		8	/* sealed run: search code stream */
#define RV_PAGE_SEALDATA		9	/* sealed run: exact payload stream */
#define RV_PAGE_TIERMETA		10	/* block 0 of a tier relation */

/* tiers (segment headers, directory entries, catalog rows: rv_tier.h) */
#define RV_TIER_HOT				0
#define RV_TIER_WARM			1
#define RV_TIER_COOL			2
#define RV_TIER_COLD			3
#define RV_NTIERS				4
#define RV_TIER_NONE			0xFFFF	/* directory: no such location */

/* search codes kept beside the floats (RvStoreMeta.codes) */
#define RV_CODES_NONE			0	/* version-1 stores, and dims too large */
#define RV_CODES_SQ8			1	/* SQ8, one scale and offset per vector */
#define RV_CODES_BIT			2	/* RaBitQ 1-bit codes (RvStoreGeometry.bits) */

/*
 * metapage versions: 1 = floats only; 2 = floats and SQ8 code pages; 3 =
 * floats, SQ8 code pages, bit pages and the centroid; 4 = version 3 with
 * the segment directory and tiers; 5 = version 4 whose SQ8 code records
 * may straddle two code pages (RvStoreGeometry.code_straddle)
 */
#define RV_STORE_META_V1		1
#define RV_STORE_META_V2		2
#define RV_STORE_META_V3		3
#define RV_STORE_META_V4		4
#define RV_STORE_META_V5		5

/* the rotation seed of version-3 stores (kept in the metapage) */
#define RV_BIT_SEED				UINT64CONST(0x5256424954533031)

/* slot layouts */
#define RV_LAYOUT_HEADER		1	/* 8-byte varlena header + aligned floats */
#define RV_LAYOUT_DENSE			2	/* aligned floats only */

typedef struct RvPageOpaque
{
	uint32		magic;			/* RV_STORE_MAGIC */
	uint16		version;		/* RV_STORE_VERSION */
	uint16		kind;			/* RV_PAGE_* */
	uint32		segno;			/* segment of a segment/data page */
	char		reserved[RV_PAGE_SPECIAL - 12];
} RvPageOpaque;

typedef struct RvStoreMeta
{
	uint32		magic;
	uint32		version;
	int32		dims;
	int32		layout;			/* RV_LAYOUT_* */
	uint32		stride;			/* bytes per slot, multiple of RV_LINE */
	uint32		base;			/* stream offset of slot 0 */
	uint32		seg_vids;		/* RV_SEG_VIDS */
	uint32		seg_blocks;		/* B: blocks per segment incl. its meta page */
	uint64		next_vid;		/* high-water mark: vids >= this never used */
	uint64		free_hint;		/* no free vid below this */
	uint64		nallocated;		/* vids with a nonzero xid */
	/* version 2 only (a version-1 metapage ends above): */
	uint32		codes;			/* RV_CODES_* */
	uint32		code_stride;	/* bytes per code record, multiple of 4 */
	uint32		code_per_page;	/* code records per code page */
	uint32		float_blocks;	/* payload blocks per segment */
	/* version 3 only (a version-2 metapage ends above): */
	uint32		bits;			/* RV_CODES_BIT, or RV_CODES_NONE */
	uint32		bit_stride;		/* bytes per bit record, multiple of 8 */
	uint32		bit_per_page;	/* bit records per bit page */
	uint32		centroid_set;	/* 1 once the centroid is fixed */
	uint64		bit_seed;		/* rotation seed (RV_BIT_SEED) */
	uint32		centroid_count; /* vectors in the running mean (centroid area) */
	/* version 4 only (a version-3 metapage ends above): */
	uint32		ndirpages;		/* directory pages (the first is block 1) */
	uint32		nsealed;		/* segments not in the hot tier, or moving */
} RvStoreMeta;

/* Size of a version-1 metapage's RvStoreMeta (the fields up to nallocated). */
#define RV_STORE_META_V1_SIZE	offsetof(RvStoreMeta, codes)
/* Size of a version-2 metapage's RvStoreMeta (the fields up to float_blocks). */
#define RV_STORE_META_V2_SIZE	offsetof(RvStoreMeta, bits)
/*
 * Size of a version-3 metapage's RvStoreMeta (the fields up to
 * centroid_count); versions 4 and 5 have all of it.
 */
#define RV_STORE_META_V3_SIZE	offsetof(RvStoreMeta, ndirpages)

/*
 * Version 3: the centroid's dims floats start RV_META_CENTROID_OFF bytes
 * into the metapage payload (after RvStoreMeta); stores of more than
 * RV_BIT_MAX_DIMS dims have no bit codes.
 */
#define RV_META_CENTROID_OFF	128
#define RV_BIT_MAX_DIMS			((RV_PAGE_PAYLOAD - RV_META_CENTROID_OFF) / (int) sizeof(float))

/*
 * Version 4: the ring of VACUUM's pending audit events (store_audit.c,
 * docs/design.md 10.1).  Space no format uses: RvAuditRingHeader in the 16
 * bytes between the end of RvStoreMeta (112 bytes) and
 * RV_META_CENTROID_OFF, and RvAuditPending slots from
 * RvAuditRingOffset(), the first 8-byte boundary after the metapage's
 * contents (the centroid when the store has bit codes, else the ring
 * header), to the end of the payload: RvAuditRingCapacity() slots (89
 * at 16 dims, 55 at 768), zero when the centroid leaves less than a slot
 * (1963 to RV_BIT_MAX_DIMS dims).  Only VACUUM's RvAuditNoteMoves writes
 * a ring, under the metapage's exclusive lock, in a GenericXLog record
 * that raises pd_lower over it, and RvStoreRewrite copies one into the
 * store it rewrites (RvAuditCopyRing); a header of zeros has noted
 * nothing yet.  Slot (seq - 1) % capacity holds event seq, so the ring
 * keeps the newest capacity events; older ones were overwritten.
 * Versions 1 to 3 do not use these bytes; store_audit.c asserts that
 * RvStoreMeta ends before the header (a field added to it must move the
 * header).
 */
#define RV_AUDIT_RING_HDR_OFF	112
#define RV_AUDIT_MAC_BYTES		16

typedef struct RvAuditRingHeader
{
	uint64		ring_id;		/* random, nonzero once an event was noted */
	uint64		last_seq;		/* the newest event's seq (from 1), 0 for none */
} RvAuditRingHeader;

/* One pending event: what a VACUUM pass over the store did. */
typedef struct RvAuditPending
{
	uint64		seq;			/* store-local, monotonic, never reused */
	int64		at;				/* when VACUUM noted it (TimestampTz) */
	Oid			table;			/* the ruvector table */
	uint16		event;			/* RV_AUDIT_EV_* */
	int16		storeno;
	uint64		segments;
	uint64		vectors;
	uint64		bytes_before;
	uint64		bytes_after;
	uint64		hot_blocks_freed;
	uint64		tier_blocks_freed;
	uint8		mac[RV_AUDIT_MAC_BYTES];	/* keyed BLAKE2b of the above and the ring id */
} RvAuditPending;

/* RvAuditPending.event: named as ruvector_compact names its events */
#define RV_AUDIT_EV_SEAL		1
#define RV_AUDIT_EV_COMPACT		2
#define RV_AUDIT_EV_TRUNCATE	3
#define RV_AUDIT_EV_MIGRATE		4

/* The ring's slots start this many bytes into the metapage payload of meta. */
static inline uint32
RvAuditRingOffset(const RvStoreMeta *meta)
{
	uint32		end = RV_AUDIT_RING_HDR_OFF + sizeof(RvAuditRingHeader);

	if (meta->bits == RV_CODES_BIT)
		end = Max(end, RV_META_CENTROID_OFF + (uint32) meta->dims * sizeof(float));
	return TYPEALIGN(8, end);
}

/* Slots of the ring of a version-4 metapage meta (may be 0). */
static inline uint32
RvAuditRingCapacity(const RvStoreMeta *meta)
{
	uint32		off = RvAuditRingOffset(meta);

	return off >= RV_PAGE_PAYLOAD ? 0 : (RV_PAGE_PAYLOAD - off) / sizeof(RvAuditPending);
}

/* vectors whose mean becomes the centroid of a store filled by inserts */
#define RV_CENTROID_VECTORS		64

/*
 * A bit record: four floats (RvBitFactors: ||x - c||, <o_bar, o>, <x, c>,
 * ||x||, see rv_simd.h) then P/64 words of sign bits, P =
 * RvRabitqPaddedDim(dims).
 */
typedef struct RvBitFactors
{
	float		dist_c;
	float		ip_oo;
	float		o_dot_c;
	float		o_norm;
} RvBitFactors;

#define RV_BIT_HEADER			16

typedef struct RvSegmentHeader
{
	uint32		segno;
	uint16		tier;			/* RV_TIER_* */
	uint16		format;			/* RV_LAYOUT_* of this segment */
	uint32		nallocated;		/* vids with nonzero xid in this segment */
	float		heat;			/* version 4: decayed vector reads as of heat_at (store_heat.c) */
	/* version 4: */
	int64		changed_at;		/* when a vid was last allocated or the segment sealed (TimestampTz) */
	int64		heat_at;		/* when heat was last brought up to date (TimestampTz; 0: never) */
	char		reserved[RV_SEG_HEADER_SIZE - 32];
} RvSegmentHeader;

/* The whole geometry of a store file of dims dimensions and a metapage version. */
typedef struct RvStoreGeometry
{
	int32		layout;
	uint32		stride;
	uint32		base;
	uint32		seg_blocks;		/* 1 + float_blocks + code_blocks + bit_blocks */
	uint32		float_blocks;
	int32		codes;
	uint32		code_stride;
	uint32		code_per_page;	/* records wholly in a page (P / code_stride) */
	uint32		code_blocks;
	bool		code_straddle;	/* version 5: records form one stream per segment */
	int32		bits;			/* RV_CODES_BIT or RV_CODES_NONE */
	uint32		bit_words;		/* P / 64 */
	uint32		bit_stride;
	uint32		bit_per_page;
	uint32		bit_blocks;
} RvStoreGeometry;

/*
 * An open store: the backend-local handle, kept in the store cache for the
 * life of the backend (or until the store is dropped).
 */
typedef struct RvStore
{
	Oid			relid;			/* the store relation (pg_class OID) */
	RelFileNode node;			/* its relfilenode when the handle was opened */
	Relation	rel;			/* fake relcache entry for buffer/WAL access */
	char		persistence;	/* the table's relpersistence */
	int16		storeno;		/* number in the table's vrefs */
	int16		attnum;			/* column */
	int32		dims;
	uint32		meta_version;	/* RV_STORE_META_V* of the file */
	RvStoreGeometry geo;		/* its geometry (RvStoreComputeGeometry) */

	/*
	 * Recently pinned buffers of data pages, direct-mapped by block number
	 * (allocated on first use, in TopMemoryContext): a hit is re-pinned
	 * with ReadRecentBuffer, which checks the buffer still holds the block,
	 * instead of a buffer-mapping lookup.
	 */
	struct RvRecentBuf *recent;
	uint32		recent_mask;	/* entries - 1 (a power of two) */

	/*
	 * Version 4 (store_dir.c): the backend's copy of the segment directory
	 * (or NULL), valid while the key it was read under holds; the tier
	 * relations' handles, found through the catalog (or NULL); for a tier
	 * relation's own handle, its tier (RV_TIER_HOT for a store).
	 */
	struct RvDirCache *dir;
	struct RvStore *tiers[RV_NTIERS];
	uint64		tiers_generation;	/* RvStoreGeneration() tiers[] were found in */
	Oid			tier_spc[RV_NTIERS];	/* where RvStoreTier creates a tier
										 * relation: InvalidOid = the table's
										 * tablespace (set by tam_tier.c) */
	uint16		tier;
	char	   *rec_scratch;	/* a straddling sealed record's copy (RvStoreSealedRecord) */
	char	   *code_scratch;	/* a straddling hot SQ8 record's copy (RvStoreCodeRecord) */
	uint32	   *code_pos;		/* RvStoreGeoCodePos of each code page, or NULL */
	struct RvChunkCache *chunk;	/* a tier relation's last decoded chunk (store_seal.c) */

	/*
	 * Access heat counted by this backend and not yet written to the
	 * segment headers (store_heat.c): reads per segment number.
	 */
	uint32	   *heat_hits;
	uint32		heat_nsegs;		/* entries of heat_hits */
	uint64		heat_pending;	/* sum of heat_hits */
	int64		heat_flushed_at;	/* TimestampTz of the last flush */
} RvStore;

/* A resolved vector: a datum and whether it points into a pinned buffer. */
typedef struct RvResolved
{
	RuVector   *vec;
	Buffer		pinned;			/* InvalidBuffer when vec is palloc'd */
} RvResolved;

/*
 * Store pages pinned for the values of the current row, plus the previous
 * row's pins kept between RvPinSetBeginRow and RvPinSetEndRow so that a
 * page shared by consecutive rows is pinned and checked only once.
 * Zero-initialize before first use.
 */
#define RV_PINSET_MAX 32
typedef struct RvPin
{
	Buffer		buf;
	RvStore    *store;
	BlockNumber blkno;
} RvPin;

typedef struct RvPinSet
{
	int			n;
	int			nprev;
	RvPin		cur[RV_PINSET_MAX];
	RvPin		prev[RV_PINSET_MAX];
} RvPinSet;

/* store.c */
extern int	rv_store_version;
extern void RvStoreComputeLayout(int dims, int32 *layout, uint32 *stride, uint32 *base,
								 uint32 *seg_blocks);

/*
 * Bytes before the codes in a code record: RvSq8Params (scale, offset,
 * norm2: three floats).  Records are code_stride = RV_CODE_HEADER + dims
 * rounded up to 4 bytes, so the floats stay 4-byte aligned.
 */
#define RV_CODE_HEADER			12

extern void RvStoreComputeGeometry(int dims, uint32 meta_version, RvStoreGeometry *geo);

/*
 * RvStoreGeoCodeLoc: where the SQ8 code record of slot (0 <= slot <
 * RV_SEG_VIDS) lies among its segment's code pages: returns the code page
 * (0-based in the segment's code stream) holding its first byte, with
 * *inpage its payload offset there and *first the bytes of the record in
 * that page (code_stride, or less for a record that straddles into the
 * next code page, which holds the other code_stride - *first bytes from
 * its payload offset 0).  The geometry must have codes.
 */
static inline uint32
RvStoreGeoCodeLoc(const RvStoreGeometry *geo, uint32 slot, uint32 *inpage, uint32 *first)
{
	if (geo->code_straddle)
	{
		uint32		off = slot * geo->code_stride;	/* < 2^32: RV_SEG_VIDS * 8064 */
		uint32		j = off / RV_PAGE_PAYLOAD;

		*inpage = off - j * RV_PAGE_PAYLOAD;
		*first = Min(geo->code_stride, RV_PAGE_PAYLOAD - *inpage);
		return j;
	}
	*inpage = (slot % geo->code_per_page) * geo->code_stride;
	*first = geo->code_stride;
	return slot / geo->code_per_page;
}

/*
 * RvStoreGeoCodePages: how many code pages (the segment's first ones) the
 * records of a segment's first nslots slots (at most RV_SEG_VIDS) occupy.
 */
static inline uint32
RvStoreGeoCodePages(const RvStoreGeometry *geo, uint64 nslots)
{
	if (nslots == 0)
		return 0;
	if (geo->code_straddle)
		return (uint32) ((nslots * geo->code_stride + RV_PAGE_PAYLOAD - 1) / RV_PAGE_PAYLOAD);
	return (uint32) ((nslots + geo->code_per_page - 1) / geo->code_per_page);
}

extern uint32 RvStoreGeoCodePos(const RvStoreGeometry *geo, uint32 k);
extern uint32 RvStoreGeoBitPos(const RvStoreGeometry *geo, uint32 j);
extern uint32 RvStoreGeoFloatPos(const RvStoreGeometry *geo, uint32 fb);
extern uint16 RvStoreGeoKind(const RvStoreGeometry *geo, uint32 pos, uint32 *k);
extern void RvStoreSetGeometry(RvStore *store, uint32 meta_version);
extern void RvStoreReadGeometry(RvStore *store);
extern void RvStoreInitFile(RvStore *store);
extern void RvStoreInsert(RvStore *store, RuVector **vecs, int n, uint64 *vids);
extern RuVector *RvStoreFetch(RvStore *store, uint64 vid, RvPinSet *pins);
extern void RvStoreReadFloats(RvStore *store, uint64 vid, float *dst);

/* store_heat.c */
extern int	rv_heat_flush_interval;
extern void RvStoreHeatCount(RvStore *store, uint64 vid);
extern bool RvStoreHeatAnyPending(void);
extern bool RvStoreHeatDue(const RvStore *store);
extern void RvStoreHeatFlush(RvStore *store, int64 half_life, bool keep);
extern double RvHeatDecayed(double heat, int64 heat_at, int64 now, int64 half_life);
extern int	RvStoreGetPieces(RvStore *store, uint64 vid, RvPinSet *pins,
							 const float **p0, int *n0, const float **p1, int *n1);
extern uint64 RvStoreNextVid(RvStore *store);
extern void RvStoreRewrite(RvStore *src, RvStore *dst);
extern uint64 RvStoreResidentBytes(RvStore *store, uint64 next_vid, BlockNumber nblocks);
extern bool RvStoreReadCentroid(RvStore *store, float *centroid);
extern void RvStoreFreeUnreferenced(RvStore *store, const uint8 *referenced,
									uint64 nvids, TransactionId horizon, bool may_free,
									uint64 *nfreed, uint64 *nlive);
extern void RvStoreCounts(RvStore *store, uint64 *next_vid, uint64 *nallocated,
						  BlockNumber *nblocks);
extern void RvPinSetReleaseAll(RvPinSet *pins);
extern void RvPinSetBeginRow(RvPinSet *pins);
extern void RvPinSetEndRow(RvPinSet *pins);

/* store_catalog.c: which stores a table's storage has, and their lifecycle */
#define RV_STORE_CATALOG		"ruvector_store"
#define RV_STORE_AM_NAME		"ruvector_store"
#define RV_INTERNAL_SCHEMA		"ruvector_internal"

/* One store of a table's current storage, as cached in rd_amcache. */
typedef struct RvStoreRef
{
	int16		storeno;
	int16		attnum;
	int32		dims;
	Oid			relid;			/* the store relation */
	RvStore    *handle;			/* opened on first use, or NULL */
} RvStoreRef;

/*
 * The relation's cache, a single palloc chunk in CacheMemoryContext hung
 * on rel->rd_amcache (freed by the relcache on invalidation).  Built for
 * the storage rel->rd_node; rebuilt when that changes.
 */
typedef struct RvRelCache
{
	RelFileNode storage;		/* rd_node this was built for */
	uint64		generation;		/* RvStoreGeneration() it was built in */
	Oid			typoid;			/* the ruvector type's OID */
	int			nvecatts;		/* ruvector columns (not dropped) */
	int			nstores;
	int			maxstores;		/* capacity of stores[] */
	int16	   *vecatts;		/* points into this chunk: attnums */
	RvStoreRef *stores;			/* points into this chunk */
} RvRelCache;

/* store_catalog.c */
extern RvRelCache *RvRelGetCache(Relation rel);
extern Oid	RvTypeOid(bool missing_ok);
extern void RvTamDropStores(RelFileNode storage, int16 attnum, bool keep_relations);
extern void RvTamCopyStores(Relation rel, RelFileNode newstorage, char persistence,
							const Oid *tier_spc);
extern void RvTamMoveStores(Relation rel, RelFileNode newstorage, const Oid *tier_spc);
extern void RvStoreLockOwner(Oid storeoid);
extern List *RvCatalogListStores(RelFileNode *storage, bool mvcc);
extern Oid	RvCatalogRelid(bool missing_ok);
extern Oid	RvExtensionSchema(bool missing_ok);

/* Catalog row, as listed by RvCatalogListStores. */
typedef struct RvCatalogStore
{
	RelFileNode storage;
	int16		storeno;
	int16		attnum;
	int32		dims;
	int16		tier;
	Oid			relid;			/* the store relation */
	ItemPointerData tid;		/* of the catalog row */
} RvCatalogStore;

/* How RvTamOpenStore finds a store; the fields its kind names are used. */
typedef enum RvStoreKeyKind
{
	RV_STORE_BY_NO,				/* storeno */
	RV_STORE_BY_RELID,			/* relid */
	RV_STORE_BY_COLUMN,			/* attnum, dims, create */
	RV_STORE_BY_ROW				/* row */
} RvStoreKeyKind;

typedef struct RvStoreKey
{
	RvStoreKeyKind by;
	int16		storeno;
	Oid			relid;
	int16		attnum;
	int32		dims;
	bool		create;
	const RvCatalogStore *row;
} RvStoreKey;

extern RvStore *RvTamOpenStore(Relation rel, const RvStoreKey *key);

/* Shorthands for the usual keys. */
#define RV_KEY_STORENO(no)		(&(RvStoreKey) {.by = RV_STORE_BY_NO, .storeno = (no)})
#define RV_KEY_RELID(oid)		(&(RvStoreKey) {.by = RV_STORE_BY_RELID, .relid = (oid)})
#define RV_KEY_COLUMN(att, d, c) \
	(&(RvStoreKey) {.by = RV_STORE_BY_COLUMN, .attnum = (att), .dims = (d), .create = (c)})
#define RV_KEY_ROW(cs)			(&(RvStoreKey) {.by = RV_STORE_BY_ROW, .row = (cs)})
extern bool RvStoreRelFileNode(Oid relid, RelFileNode *node);
extern void RvTamDropStoreRow(const RvCatalogStore *cs);
extern void RvTamDropStoreRelation(Oid relid);
extern uint64 RvStoreGeneration(void);
extern Oid	RvStorageSpcKey(Oid spcNode);


#endif							/* RV_STORE_H */
