/*-------------------------------------------------------------------------
 *
 * rv_tier.h
 *	  Tiers of a vector store: the segment directory of a version-4 store
 *	  (store_dir.c) and sealed segments in the warm, cool and cold tier
 *	  relations (store_seal.c).  docs/design.md section 14 describes both.
 *
 * A version-4 store file (the hot relation):
 *	block 0            metapage (RvStoreMeta, version 4)
 *	block 1            directory page 0: RV_DIR_PER_PAGE RvDirEntry, one
 *	                   per segment; further directory pages (for segments
 *	                   beyond the first RV_DIR_PER_PAGE) each take the
 *	                   first block of a hot extent, chained by next
 *	blocks 2 + e*B ..  hot extent e (B = seg_blocks): a hot segment's meta
 *	                   page and its payload, code and bit pages, laid out
 *	                   as in version 3; which segment an extent holds (if
 *	                   any) only the directory says
 * A tier relation (one per store and tier, created when first needed):
 *	block 0            RvTierMeta
 *	runs               one sealed segment each (RvSealedHeader): a state
 *	                   page (RvSegmentHeader and the per-vid xids, the
 *	                   only mutable page of a run), a header page (live
 *	                   bitmap, chunk table, checksums), the code stream
 *	                   pages and the payload stream pages
 *
 * Directory entries: tier and blkno say where a segment lives now;
 * prev_tier and prev_blkno where it lived before its last move, until the
 * move is settled.  Readers use the new location once the move is
 * complete (RV_DIR_WRITING clear) and its transaction, when it created the
 * target relation (xid), committed; else the old one.  Both hold the same
 * vectors.  The old location is released (its blocks become reusable and
 * truncatable) only when no snapshot older than the move can remain: no
 * backend advertises an xmin at or before horizon, the next xid when the
 * move completed (RvDirSettle).  A backend's copy of the directory is
 * therefore valid while its advertised xmin stays the same (store_dir.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_TIER_H
#define RV_TIER_H

#include "access/generic_xlog.h"
#include "tam/store/rv_store.h"

/* RvDirEntry.flags */
#define RV_DIR_CLOSED			0x0001	/* no new vids (sealed, or being sealed) */
#define RV_DIR_WRITING			0x0002	/* the new location is being written */

typedef struct RvDirEntry
{
	uint16		tier;			/* RV_TIER_*, RV_TIER_NONE: no such segment */
	uint16		prev_tier;		/* RV_TIER_NONE when settled */
	uint32		flags;			/* RV_DIR_* */
	BlockNumber blkno;			/* hot: extent's first block; sealed: run's state page */
	BlockNumber prev_blkno;
	uint32		nblocks;		/* blocks of the location */
	uint32		prev_nblocks;
	TransactionId xid;			/* valid: the move waits for this xact's commit */
	TransactionId horizon;		/* next xid when the move completed */
} RvDirEntry;

#define RV_DIR_HEADER			64
#define RV_DIR_PER_PAGE			((RV_PAGE_PAYLOAD - RV_DIR_HEADER) / (int) sizeof(RvDirEntry))

/* the first 64 bytes of a directory page */
typedef struct RvDirPageHeader
{
	uint32		pageno;			/* k: entries of segments [k*RV_DIR_PER_PAGE, ...) */
	BlockNumber next;			/* the next directory page, or InvalidBlockNumber */
} RvDirPageHeader;

/* block 0 of a tier relation */
typedef struct RvTierMeta
{
	uint32		magic;			/* RV_STORE_MAGIC */
	uint32		tier;
	int32		dims;
	Oid			store;			/* the hot store relation */
} RvTierMeta;

/*
 * A sealed run's header page: RvSealedHeader, then the live bitmap
 * (RV_SEG_VIDS bits, vid slot k live when bit k is set; live vids are
 * packed in slot order, so a vid's position is the rank of its bit), then
 * for cool and cold the chunk table: nchunks + 1 uint32 offsets into the
 * payload stream (chunk c holds positions [c*RV_SEAL_CHUNK, ...)).
 *
 * A chunk of the payload stream is, for cool and lossless cold, the exact
 * floats of its vectors byte-shuffled and LZ4 HC-compressed (rv_codec.h:
 * a format-2 block, whose method byte says whether the top byte of each
 * float was first packed by frame of reference, when flags has
 * RV_SEAL_F_BLOCK2, as in every run sealed now; else a format-1 block);
 * for a lossy cold run (flags has RV_SEAL_F_LOSSY) it is their SQ8 records
 * (RvSealLossyStride bytes each: RvSq8Params, then dims codes, zero
 * padded to 4 bytes), laid end to end and LZ4 HC-compressed as they are
 * (1-byte codes have no byte planes to shuffle).  A lossy run's vectors
 * are those records' reconstructions (offset + scale * code, each
 * component within scale / 2 of the vector sealed), and its bit records
 * are of the reconstructions.
 */
#define RV_SEAL_MAGIC			0x52565345	/* "RVSE" */
#define RV_SEAL_CHUNK			16
#define RV_SEAL_BITMAP_WORDS	((RV_SEG_VIDS + 63) / 64)

/* RvSealedHeader.flags */
#define RV_SEAL_F_LOSSY			0x01	/* cold only: the payload is SQ8 records */
#define RV_SEAL_F_BLOCK2		0x02	/* float chunks are format-2 blocks (rv_codec.h) */
#define RV_SEAL_F_ALL			(RV_SEAL_F_LOSSY | RV_SEAL_F_BLOCK2)

/* bytes of a lossy run's payload record of dims dimensions */
#define RvSealLossyStride(dims)	((RV_CODE_HEADER + (uint32) (dims) + 3) & ~(uint32) 3)

typedef struct RvSealedHeader
{
	uint32		magic;			/* RV_SEAL_MAGIC */
	uint32		segno;
	uint16		tier;
	uint8		lz4_level;		/* of the payload chunks; 0 for warm */
	uint8		flags;			/* RV_SEAL_F_* */
	uint32		nlive;			/* vids sealed (live when sealed) */
	uint32		nblocks;		/* of the run, state page included */
	uint32		rec_stride;		/* bytes per search code record */
	uint32		code_pages;		/* pages of the code stream */
	uint32		data_pages;		/* pages of the payload stream */
	uint64		data_bytes;		/* payload stream length */
	int64		sealed_at;		/* TimestampTz */
	uint8		checksum[32];	/* BLAKE2b-256 of the run's immutable bytes */
} RvSealedHeader;

#define RV_SEAL_BITMAP_OFF		MAXALIGN(sizeof(RvSealedHeader))
#define RV_SEAL_CHUNKS_OFF		(RV_SEAL_BITMAP_OFF + RV_SEAL_BITMAP_WORDS * 8)

/* The backend's copy of a sealed run's header page (immutable per run). */
typedef struct RvSealedRun
{
	RvSealedHeader h;
	uint64		bitmap[RV_SEAL_BITMAP_WORDS];
	uint16		rank[RV_SEAL_BITMAP_WORDS];	/* live bits before each word */
	uint32	   *chunks;			/* nchunks + 1 offsets (cool, cold), or NULL */
} RvSealedRun;

/* Where a segment's vectors are now (RvStoreSegLoc). */
typedef struct RvSegLoc
{
	uint16		tier;			/* RV_TIER_*, or RV_TIER_NONE: no such segment */
	uint16		flags;			/* the entry's RV_DIR_CLOSED */
	BlockNumber blkno;			/* hot: extent's first block; sealed: state page */
	RvSealedRun *run;			/* sealed: read on first use */
} RvSegLoc;

/* store_dir.c */
extern const RvSegLoc *RvStoreSegLoc(RvStore *store, uint64 segno);

extern void RvDirForget(RvStore *store);
extern void RvDirInitFile(RvStore *store, Page dirpage);
extern BlockNumber RvDirNewSegment(RvStore *store, uint64 segno, GenericXLogState *state,
								   Buffer *dirbuf);
extern void RvDirEnsurePage(RvStore *store, Buffer metabuf, uint64 segno);
extern void RvDirReadEntry(RvStore *store, uint64 segno, RvDirEntry *entry);
extern int	RvDirSettle(RvStore *store, uint64 *released);
extern BlockNumber RvDirTruncate(RvStore *store, uint64 *hot_blocks_freed, uint64 *tier_blocks_freed);
extern uint64 RvDirNumSegments(RvStore *store);
extern bool RvStoreHasTier(RvStore *store, int tier);
extern BlockNumber RvDirFirstFit(RvStore *store, int tier, uint32 nblocks);
extern RvStore *RvStoreTier(RvStore *store, int tier, bool create, TransactionId *create_xid);
extern bool RvStoreTierSetTablespace(RvStore *store, int tier, Oid spc);
extern BlockNumber RvDirReserveRun(RvStore *store, uint64 segno, int tier, uint32 nblocks,
								   TransactionId xid);
extern void RvDirCompleteMove(RvStore *store, uint64 segno);
extern bool RvDirCloseSegment(RvStore *store, uint64 segno, bool close);

/* store_seal.c */
/*
 * ruvector.debug_seal_crash: a PANIC at a point of the next move (1 after
 * the new location is reserved, 2 halfway through writing it, 3 after
 * the switch), so that tests crash sealing for real and recover.
 */
extern int	rv_debug_seal_crash;
extern RvSealedRun *RvSealedReadRun(RvStore *tierstore, BlockNumber blkno, uint64 segno);
extern int	RvSealedPos(const RvSealedRun *run, uint32 slot);
extern void RvSealedReadFloats(RvStore *store, const RvSegLoc *loc, uint64 vid, float *dst);
extern const char *RvStoreSealedRecord(RvStore *store, const RvSegLoc *loc, uint64 vid,
									   RvPinSet *pins);
extern uint32 RvSealedRecordStride(RvStore *store, int tier);
/* RvStoreSealSegment flags */
#define RV_SEAL_WAIT			0x01	/* wait for writers of a hot segment */
#define RV_SEAL_CREATE			0x02	/* create the tier relation when missing */
#define RV_SEAL_FORCE			0x04	/* rewrite a segment already in the tier */
#define RV_SEAL_LOSSY			0x08	/* cold: codes only (SQ8 payload), no exact floats */
#define RV_SEAL_KEEP_FORM		0x10	/* a rewrite in the tier keeps the run lossless or lossy */

extern bool RvStoreSealSegment(RvStore *store, uint64 segno, int tier, int flags,
							   uint64 *nvectors, uint64 *bytes_before, uint64 *bytes_after);

/*
 * The kinds of move (RvTierMoves.kind): a hot segment sealed into a tier,
 * a sealed segment migrated to another tier, one compacted (rewritten in
 * its own tier).
 */
#define RV_MOVE_SEAL			0
#define RV_MOVE_MIGRATE			1
#define RV_MOVE_COMPACT			2
#define RV_MOVE_KINDS			3

typedef struct RvTierMoveCounts
{
	uint64		segments;
	uint64		vectors;
	uint64		bytes_before;
	uint64		bytes_after;
} RvTierMoveCounts;

/* What one pass of moves over a store did (RvTierMoveStore). */
typedef struct RvTierMoves
{
	RvTierMoveCounts kind[RV_MOVE_KINDS];	/* segments moved, by RV_MOVE_* */
	uint64		settled;		/* old locations released or moves undone */
	uint64		unsettled;		/* moves whose old location must stay for now */
	uint64		hot_blocks_freed;
	uint64		tier_blocks_freed;
} RvTierMoves;

/* What a segment's header says (RvStoreSegmentInfo, store_heat.c). */
typedef struct RvSegInfo
{
	RvDirEntry	entry;			/* its directory entry */
	RvStore    *where;			/* the store or tier relation holding it */
	uint32		nallocated;
	int64		changed_at;		/* TimestampTz: last vid allocated, or sealed */
	double		heat;			/* decayed reads now */
} RvSegInfo;

extern bool RvStoreSegmentInfo(RvStore *store, uint64 segno, int64 half_life, RvSegInfo *info);

/* store_seal.c */
extern bool RvSealedVerify(RvStore *store, const RvSegLoc *loc, uint64 segno, char **problem);
extern uint64 RvSealedResidentBytes(const RvSealedRun *run);
extern const char *RvTierName(int tier);
extern int	RvTierFromName(const char *name);

/* The moves of every kind of m, added up. */
static inline RvTierMoveCounts
RvTierMovesTotal(const RvTierMoves *m)
{
	RvTierMoveCounts t = {0};

	for (int k = 0; k < RV_MOVE_KINDS; k++)
	{
		t.segments += m->kind[k].segments;
		t.vectors += m->kind[k].vectors;
		t.bytes_before += m->kind[k].bytes_before;
		t.bytes_after += m->kind[k].bytes_after;
	}
	return t;
}

/* tam_tier.c (the table AM's part: policy, moves, heat flushes) */
extern void RvTierMoveStore(RvStore *store, Oid table, int tier, int flags, RvTierMoves *m);
extern void RvTierForgetPolicy(Oid relid);
extern void RvTierPolicyTablespaces(Oid relid, Oid *spc);
extern void RvTierHeatFlush(Relation rel);
extern const char *RvTierMoveName(int kind);

#endif							/* RV_TIER_H */
