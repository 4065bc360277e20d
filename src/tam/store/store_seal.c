/*-------------------------------------------------------------------------
 *
 * store_seal.c
 *	  Sealed segments: writing a segment's live vectors as a run in a tier
 *	  relation (RvStoreSealSegment), reading them back (exact floats,
 *	  search code records), and checking them (page CRCs, the run's
 *	  BLAKE2b-256 checksum).  Run layout in rv_tier.h.
 *
 * What each tier keeps (d = dims; records lie end to end in the code
 * stream and may straddle pages):
 *	warm  code: the top 16 bits of each float (bf16, 2d bytes); payload:
 *	      the low 16 bits (2d bytes): code and payload together are the
 *	      exact floats, held once (rv_codec.h's half split);
 *	cool  code: the SQ8 record of the hot code pages (RvSq8Params, d
 *	      bytes); payload: chunks of RV_SEAL_CHUNK vectors, byte-shuffled
 *	      and LZ4-compressed (rv_codec.h), located by the chunk table;
 *	cold  code: the 1-bit RaBitQ record of the hot bit pages (against the
 *	      store's centroid); payload as cool, or, for a lossy run
 *	      (RV_SEAL_F_LOSSY: the table's policy has lossy_cold), chunks of
 *	      RV_SEAL_CHUNK SQ8 records (RvSq8Params and d codes, as the cool
 *	      tier's records) LZ4-compressed without shuffling, and bit
 *	      records of the vectors those SQ8 records reconstruct.
 *
 * Which form a run gets (RvStoreSealSegment): lossy only in cold, when the
 * caller asks (RV_SEAL_LOSSY) or the run it rewrites is lossy already (a
 * lossy run stays lossy in cold, whatever the flags: its exact floats are
 * gone); RV_SEAL_KEEP_FORM keeps the source's form.  A lossy run moved to
 * warm or cool stores its reconstructions there as exact floats.
 *
 * Invariants kept here:
 *	- a run is written completely (every page WAL-logged as a full image)
 *	  before its directory entry may be used (RvDirCompleteMove), and is
 *	  never changed afterwards except its state page (vid xids, which
 *	  VACUUM frees and freezes);
 *	- every immutable page of a run carries the CRC-32C of its payload in
 *	  its special space, checked whenever the page is read from disk and,
 *	  for header and payload pages, whenever it is read at all; the run's
 *	  header holds a BLAKE2b-256 of all its immutable payload bytes,
 *	  checked by ruvector_verify;
 *	- the floats returned are bit for bit those sealed (lossless), except
 *	  in a lossy cold run, which returns the reconstruction of each
 *	  vector's SQ8 record (offset + scale * code, each component within
 *	  scale / 2 of the vector sealed, scale = (max - min) / 255 of that
 *	  vector); rewriting a lossy run in cold copies its records, so the
 *	  reconstruction never drifts, and every reader (SELECT, the scorer's
 *	  exact distances, moves to other tiers) sees that same vector.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <lz4.h>
#include <lz4hc.h>
#include <sodium.h>

#include "access/generic_xlog.h"
#include "access/transam.h"
#include "access/xact.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "port/pg_crc32c.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "simd/rv_simd.h"
#include "tam/store/rv_audit.h"
#include "tam/store/rv_tier.h"
#include "tam/store/store_int.h"
#include "toast/rv_codec.h"

#define RV_SEAL_LZ4_LEVEL 9

/*
 * A tier relation's last decoded chunk (RvStore.chunk): the floats of
 * RV_SEAL_CHUNK vectors (exact, or a lossy run's reconstructions, whose
 * SQ8 records recs then holds), named by the run (its state block,
 * segment and sealing time, which a later run in the same blocks does not
 * share) and the chunk number.  Scans read vectors in vid order, so most
 * reads of a cool or cold vector decode nothing.
 */
typedef struct RvChunkCache
{
	BlockNumber blkno;
	uint32		segno;
	int64		sealed_at;
	uint32		chunk;
	float	   *floats;
	char	   *recs;			/* lossy runs' chunks only; allocated on first use */
	char	   *scratch;		/* the codec's (RvCodecScratchBytes of a chunk) */
} RvChunkCache;

int			rv_debug_seal_crash = 0;

/* the crash points of ruvector.debug_seal_crash */
static void
RvSealCrashPoint(int point)
{
	if (rv_debug_seal_crash == point)
		elog(PANIC, "ruvector.debug_seal_crash: crashing at point %d of a segment move", point);
}

/* RvTierName: "hot", "warm", "cool" or "cold" for tier (a static string). */
const char *
RvTierName(int tier)
{
	switch (tier)
	{
		case RV_TIER_HOT:
			return "hot";
		case RV_TIER_WARM:
			return "warm";
		case RV_TIER_COOL:
			return "cool";
		case RV_TIER_COLD:
			return "cold";
	}
	return "none";
}

/* The tier named name, or -1. */
int
RvTierFromName(const char *name)
{
	for (int t = RV_TIER_HOT; t < RV_NTIERS; t++)
		if (pg_strcasecmp(name, RvTierName(t)) == 0)
			return t;
	return -1;
}

/* Bytes of a search code record of tier in store. */
uint32
RvSealedRecordStride(RvStore *store, int tier)
{
	switch (tier)
	{
		case RV_TIER_WARM:
			return (uint32) store->dims * 2;
		case RV_TIER_COOL:
			return store->geo.code_stride;
		case RV_TIER_COLD:
			return store->geo.bit_stride;
	}
	return 0;
}

static inline pg_crc32c
RvPayloadCrc(Page page)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, RvPagePayload(page), RV_PAGE_PAYLOAD);
	FIN_CRC32C(crc);
	return crc;
}

/* the CRC slot of a sealed page's special space */
static inline pg_crc32c *
RvPageCrcSlot(Page page)
{
	return (pg_crc32c *) RvPageGetOpaque(page)->reserved;
}

/*
 * RvSealedCheckPage: raises ERRCODE_DATA_CORRUPTED, naming the relation
 * and block, unless page (block blkno of a tier relation) is an
 * initialized sealed page and, with verify, its payload matches its CRC.
 */
void
RvSealedCheckPage(RvStore *ts, Page page, BlockNumber blkno, bool verify)
{
	RvPageOpaque *op;

	if (PageIsNew(page) || PageGetSpecialSize(page) != RV_PAGE_SPECIAL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: block %u is not an initialized page",
						RvTierName(ts->tier), ts->relid, blkno)));
	op = RvPageGetOpaque(page);
	if (op->magic != RV_STORE_MAGIC ||
		(op->kind != RV_PAGE_SEALHDR && op->kind != RV_PAGE_SEALCODE &&
		 op->kind != RV_PAGE_SEALDATA))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: block %u is not a sealed page",
						RvTierName(ts->tier), ts->relid, blkno)));
	if (verify && *RvPageCrcSlot(page) != RvPayloadCrc(page))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: block %u fails its checksum",
						RvTierName(ts->tier), ts->relid, blkno),
				 errhint("Restore the table from a backup, or run ruvector_verify to see what else is damaged.")));
}

/* A sealed page of ts read and checked (CRC always), pinned and unlocked. */
static Buffer
RvSealedReadPage(RvStore *ts, BlockNumber blkno)
{
	Buffer		buf = ReadBufferExtended(ts->rel, MAIN_FORKNUM, blkno, RBM_NORMAL, NULL);

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	RvSealedCheckPage(ts, BufferGetPage(buf), blkno, true);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	return buf;
}

/*
 * RvSealedReadRun: the header of the run whose state page is block blkno
 * of tier relation ts, for segment segno, in the current memory context.
 * Raises ERRCODE_DATA_CORRUPTED on a damaged or foreign header.
 */
RvSealedRun *
RvSealedReadRun(RvStore *ts, BlockNumber blkno, uint64 segno)
{
	RvSealedRun *run = palloc0(sizeof(RvSealedRun));
	Buffer		buf;
	Page		page;
	uint16		rank = 0;

	if (ts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector store: segment " UINT64_FORMAT " lies in a tier relation that does not exist",
						segno)));
	buf = RvSealedReadPage(ts, blkno + 1);
	page = BufferGetPage(buf);
	memcpy(&run->h, RvPagePayload(page), sizeof(RvSealedHeader));
	if (run->h.magic != RV_SEAL_MAGIC || run->h.segno != (uint32) segno ||
		run->h.tier != ts->tier)
	{
		ReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: block %u is not the header of segment " UINT64_FORMAT,
						RvTierName(ts->tier), ts->relid, blkno + 1, segno)));
	}
	if ((run->h.flags & ~RV_SEAL_F_ALL) != 0 ||
		((run->h.flags & RV_SEAL_F_LOSSY) && run->h.tier != RV_TIER_COLD))
	{
		ReleaseBuffer(buf);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: the header of segment " UINT64_FORMAT " has bad flags 0x%x",
						RvTierName(ts->tier), ts->relid, segno, run->h.flags)));
	}
	memcpy(run->bitmap, RvPagePayload(page) + RV_SEAL_BITMAP_OFF, sizeof(run->bitmap));
	for (int w = 0; w < RV_SEAL_BITMAP_WORDS; w++)
	{
		run->rank[w] = rank;
		rank += (uint16) pg_popcount64(run->bitmap[w]);
	}
	if (run->h.tier != RV_TIER_WARM)
	{
		uint32		nchunks = (run->h.nlive + RV_SEAL_CHUNK - 1) / RV_SEAL_CHUNK;

		run->chunks = palloc(sizeof(uint32) * (nchunks + 1));
		memcpy(run->chunks, RvPagePayload(page) + RV_SEAL_CHUNKS_OFF,
			   sizeof(uint32) * (nchunks + 1));
	}
	ReleaseBuffer(buf);
	return run;
}

/* vid slot's position among the run's live vids, or -1 when not in it. */
int
RvSealedPos(const RvSealedRun *run, uint32 slot)
{
	uint32		w = slot / 64;
	uint64		bit = UINT64CONST(1) << (slot % 64);

	if (slot >= RV_SEG_VIDS || !(run->bitmap[w] & bit))
		return -1;
	return run->rank[w] + pg_popcount64(run->bitmap[w] & (bit - 1));
}

/*
 * Copies n bytes from offset off of a stream whose first page is block
 * first of ts into dst, reading (and checking) page by page.
 */
static void
RvSealedCopy(RvStore *ts, BlockNumber first, uint64 off, uint32 n, char *dst)
{
	while (n > 0)
	{
		uint32		inpage = (uint32) (off % RV_PAGE_PAYLOAD);
		uint32		chunk = Min(n, RV_PAGE_PAYLOAD - inpage);
		Buffer		buf = RvSealedReadPage(ts, first + (BlockNumber) (off / RV_PAGE_PAYLOAD));

		memcpy(dst, RvPagePayload(BufferGetPage(buf)) + inpage, chunk);
		ReleaseBuffer(buf);
		dst += chunk;
		off += chunk;
		n -= chunk;
	}
}

/*
 * RvStoreSealedRecord: the search code record of vid in the sealed
 * segment at loc (its tier's kind: bf16, SQ8 or bit record), in place in
 * its pinned page (pin added to pins) or, when it straddles two pages, in
 * store's scratch copy (valid until the next call).  NULL when vid is not
 * in the run (freed before sealing).
 */
const char *
RvStoreSealedRecord(RvStore *store, const RvSegLoc *loc, uint64 vid, RvPinSet *pins)
{
	RvStore    *ts = RvStoreTier(store, loc->tier, false, NULL);
	const RvSealedRun *run = loc->run;
	int			pos = RvSealedPos(run, (uint32) (vid % RV_SEG_VIDS));
	uint32		stride = run->h.rec_stride;
	uint64		off;
	uint32		inpage;
	BlockNumber first = loc->blkno + 2;

	if (pos < 0)
		return NULL;
	off = (uint64) pos * stride;
	inpage = (uint32) (off % RV_PAGE_PAYLOAD);
	if (inpage + stride <= RV_PAGE_PAYLOAD)
	{
		Page		page = RvPinPageExt(ts, first + (BlockNumber) (off / RV_PAGE_PAYLOAD), pins,
										NULL);

		return RvPagePayload(page) + inpage;
	}
	if (store->rec_scratch == NULL)
		store->rec_scratch = MemoryContextAlloc(TopMemoryContext,
												Max((uint32) store->dims * 4, 64) + 64);
	for (uint32 done = 0; done < stride;)
	{
		uint32		ip = (uint32) ((off + done) % RV_PAGE_PAYLOAD);
		uint32		chunk = Min(stride - done, RV_PAGE_PAYLOAD - ip);
		Page		page = RvPinPageExt(ts, first + (BlockNumber) ((off + done) / RV_PAGE_PAYLOAD),
										pins, NULL);

		memcpy(store->rec_scratch + done, RvPagePayload(page) + ip, chunk);
		done += chunk;
	}
	return store->rec_scratch;
}

/*
 * RvSealLossyDecode: the vector a lossy run's SQ8 record rec (RvSq8Params,
 * then d codes) stands for, into dst: offset + scale * code, computed in
 * double and rounded once to float, as RvSq8Encode computes the decoded
 * vector's norm2.  Each component is within scale / 2 (and float
 * rounding) of the one encoded.
 */
static void
RvSealLossyDecode(const char *rec, uint32 d, float *dst)
{
	RvSq8Params p;
	const uint8 *c = (const uint8 *) (rec + RV_CODE_HEADER);

	memcpy(&p, rec, sizeof(p));
	for (uint32 i = 0; i < d; i++)
		dst[i] = (float) ((double) p.offset + (double) p.scale * c[i]);
}

/*
 * RvSealedChunk: ts's chunk cache holding chunk c of the cool or cold run
 * at loc (decoded now unless it already holds it): the chunk's floats
 * and, for a lossy run, its SQ8 records.  Raises ERRCODE_DATA_CORRUPTED
 * on a bad chunk table, a damaged page or a chunk that does not decode.
 */
static RvChunkCache *
RvSealedChunk(RvStore *store, RvStore *ts, const RvSegLoc *loc, uint32 c)
{
	const RvSealedRun *run = loc->run;
	BlockNumber data = loc->blkno + 2 + run->h.code_pages;
	uint32		d = (uint32) store->dims;
	uint32		n = Min((uint32) RV_SEAL_CHUNK, run->h.nlive - c * RV_SEAL_CHUNK);
	bool		lossy = (run->h.flags & RV_SEAL_F_LOSSY) != 0;
	uint32		lstride = RvSealLossyStride(d);
	RvChunkCache *cc = ts->chunk;
	uint32		len;
	char	   *block;

	if (cc == NULL)
	{
		cc = MemoryContextAllocZero(TopMemoryContext, sizeof(RvChunkCache));
		cc->floats = MemoryContextAlloc(TopMemoryContext, sizeof(float) * d * RV_SEAL_CHUNK);
		cc->scratch = MemoryContextAlloc(TopMemoryContext,
										 Max(RvCodecScratchBytes((size_t) d * RV_SEAL_CHUNK),
											 sizeof(float) * d * RV_SEAL_CHUNK));
		cc->blkno = InvalidBlockNumber;
		ts->chunk = cc;
	}
	if (cc->blkno == loc->blkno && cc->segno == run->h.segno &&
		cc->sealed_at == run->h.sealed_at && cc->chunk == c)
		return cc;

	if (run->chunks[c + 1] < run->chunks[c] || run->chunks[c + 1] > run->h.data_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: segment %u has a bad chunk table",
						RvTierName(ts->tier), ts->relid, run->h.segno)));
	len = run->chunks[c + 1] - run->chunks[c];
	block = palloc(Max(len, 1));
	cc->blkno = InvalidBlockNumber;
	RvSealedCopy(ts, data, run->chunks[c], len, block);
	if (lossy)
	{
		int			want = (int) (lstride * n);

		if (cc->recs == NULL)
			cc->recs = MemoryContextAlloc(TopMemoryContext, (Size) lstride * RV_SEAL_CHUNK);
		if (LZ4_decompress_safe(block, cc->recs, (int) len, want) != want)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ruvector %s tier relation %u: chunk %u of segment %u does not decode",
							RvTierName(ts->tier), ts->relid, c, run->h.segno)));
		for (uint32 i = 0; i < n; i++)
			RvSealLossyDecode(cc->recs + (Size) i * lstride, d, cc->floats + (Size) i * d);
	}
	else
	{
		bool		block2 = (run->h.flags & RV_SEAL_F_BLOCK2) != 0;

		if ((block2 ? RvCodecUnpackBlock(block, len, cc->floats, (size_t) d * n, cc->scratch) :
			 RvCodecUnpack(block, len, cc->floats, (size_t) d * n, cc->scratch)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("ruvector %s tier relation %u: chunk %u of segment %u does not decode",
							RvTierName(ts->tier), ts->relid, c, run->h.segno)));
	}
	pfree(block);
	cc->blkno = loc->blkno;
	cc->segno = run->h.segno;
	cc->sealed_at = run->h.sealed_at;
	cc->chunk = c;
	return cc;
}

/*
 * vid's floats (dims of them) from the sealed segment at loc into dst and,
 * when lrec is not NULL and the run is lossy, vid's SQ8 record
 * (RvSealLossyStride bytes) into lrec.  Returns whether lrec was filled.
 * Raises ERRCODE_DATA_CORRUPTED as RvSealedReadFloats.
 */
static bool
RvSealedRead(RvStore *store, const RvSegLoc *loc, uint64 vid, float *dst, char *lrec)
{
	RvStore    *ts = RvStoreTier(store, loc->tier, false, NULL);
	const RvSealedRun *run = loc->run;
	int			pos = RvSealedPos(run, (uint32) (vid % RV_SEG_VIDS));
	uint32		d = (uint32) store->dims;
	RvChunkCache *cc;

	if (pos < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ruvector %s tier relation %u: vid " UINT64_FORMAT " is not in its sealed segment",
						RvTierName(ts->tier), ts->relid, vid)));
	if (run->h.tier == RV_TIER_WARM)
	{
		BlockNumber codes = loc->blkno + 2;
		uint16	   *hi = palloc(sizeof(uint16) * d * 2);
		uint16	   *lo = hi + d;

		RvSealedCopy(ts, codes, (uint64) pos * d * 2, d * 2, (char *) hi);
		RvSealedCopy(ts, codes + run->h.code_pages, (uint64) pos * d * 2, d * 2, (char *) lo);
		RvCodecJoinHalves(hi, lo, d, dst);
		pfree(hi);
		return false;
	}
	cc = RvSealedChunk(store, ts, loc, (uint32) pos / RV_SEAL_CHUNK);
	memcpy(dst, cc->floats + (size_t) (pos % RV_SEAL_CHUNK) * d, sizeof(float) * d);
	if (lrec == NULL || !(run->h.flags & RV_SEAL_F_LOSSY))
		return false;
	memcpy(lrec, cc->recs + (size_t) (pos % RV_SEAL_CHUNK) * RvSealLossyStride(d),
		   RvSealLossyStride(d));
	return true;
}

/*
 * RvSealedReadFloats: vid's floats (dims of them) from the sealed segment
 * at loc into dst: the exact floats sealed, or for a lossy cold run the
 * reconstruction of vid's SQ8 record (rv_tier.h), the vector the store
 * holds from then on.  Raises ERRCODE_DATA_CORRUPTED when vid is not in
 * the run, a page fails its checks or a chunk does not decode.
 */
void
RvSealedReadFloats(RvStore *store, const RvSegLoc *loc, uint64 vid, float *dst)
{
	RvSealedRead(store, loc, vid, dst, NULL);
}

/* Appends n bytes to a growing stream of page payloads. */
typedef struct RvStream
{
	char	   *buf;
	uint64		len;
	uint64		cap;
} RvStream;

static void
RvStreamAppend(RvStream *s, const void *src, uint64 n)
{
	if (s->len + n > s->cap)
	{
		uint64		ncap = Max(s->cap * 2, s->len + n + RV_PAGE_PAYLOAD);

		s->buf = s->buf ? repalloc_huge(s->buf, ncap) : palloc_extended(ncap, MCXT_ALLOC_HUGE);
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, src, n);
	s->len += n;
}

static inline uint32
RvStreamPagesOf(uint64 len)
{
	return (uint32) ((len + RV_PAGE_PAYLOAD - 1) / RV_PAGE_PAYLOAD);
}

/*
 * Formats page as sealed page kind of segment segno holding bytes
 * [off, off + RV_PAGE_PAYLOAD) of stream s (zero beyond its end), with its
 * CRC; feeds the payload to the run's hash.
 */
static void
RvSealedFormat(Page page, uint16 kind, uint32 segno, const char *src, uint64 len,
			   crypto_generichash_state *hash)
{
	RvPageInit(page, kind, segno);
	memset(RvPagePayload(page), 0, RV_PAGE_PAYLOAD);
	if (len > 0)
		memcpy(RvPagePayload(page), src, Min(len, (uint64) RV_PAGE_PAYLOAD));
	((PageHeader) page)->pd_lower = RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD;
	*RvPageCrcSlot(page) = RvPayloadCrc(page);
	if (hash)
		crypto_generichash_update(hash, (const unsigned char *) RvPagePayload(page),
								  RV_PAGE_PAYLOAD);
}

/* Writes full page images imgs[0..n) to blocks first.. of ts, 4 per record. */
static void
RvSealedWritePages(RvStore *ts, BlockNumber first, char *imgs, uint32 n)
{
	for (uint32 i = 0; i < n; i += MAX_GENERIC_XLOG_PAGES)
	{
		uint32		k = Min(n - i, (uint32) MAX_GENERIC_XLOG_PAGES);
		Buffer		bufs[MAX_GENERIC_XLOG_PAGES];
		GenericXLogState *state;

		CHECK_FOR_INTERRUPTS();
		for (uint32 j = 0; j < k; j++)
		{
			bufs[j] = RvReadBufferExtend(ts, first + i + j);
			LockBuffer(bufs[j], BUFFER_LOCK_EXCLUSIVE);
		}
		state = GenericXLogStart(ts->rel);
		for (uint32 j = 0; j < k; j++)
			memcpy(GenericXLogRegisterBuffer(state, bufs[j], GENERIC_XLOG_FULL_IMAGE),
				   imgs + (Size) (i + j) * BLCKSZ, BLCKSZ);
		GenericXLogFinish(state);
		for (uint32 j = 0; j < k; j++)
			UnlockReleaseBuffer(bufs[j]);
	}
}

/*
 * The floats of vid from the location e names (not the reader's view)
 * into dst and, from a lossy run with lrec not NULL, its SQ8 record into
 * lrec; returns whether lrec was filled.
 */
static bool
RvSealReadVector(RvStore *store, const RvDirEntry *e, RvSealedRun *run, uint64 vid, float *dst,
				 char *lrec)
{
	RvSegLoc	loc;

	if (e->tier == RV_TIER_HOT)
	{
		RvStoreReadFloats(store, vid, dst);
		return false;
	}
	loc.tier = e->tier;
	loc.flags = 0;
	loc.blkno = e->blkno;
	loc.run = run;
	return RvSealedRead(store, &loc, vid, dst, lrec);
}

/*
 * RvStoreSealSegment: moves segment segno of store (a version-4 store) to
 * tier: its live vids (nonzero xid) are written as a run in the tier's
 * relation (created when missing) and the directory switched to it; the
 * old location is released by a later settle.  A segment already in tier
 * is rewritten only if some of its sealed vids were freed since
 * (compaction), flags has RV_SEAL_FORCE (to move it into a gap) or the
 * run's form changes (a lossless cold run under RV_SEAL_LOSSY).  The new
 * run is lossy (codes only, rv_tier.h) when tier is cold and either flags
 * has RV_SEAL_LOSSY without RV_SEAL_KEEP_FORM or the segment is in a
 * lossy run already; RV_SEAL_LOSSY means nothing for other tiers.  A
 * lossy run's SQ8 records are encoded from the vectors read (exact, or
 * another tier's reconstruction) or copied from the lossy run rewritten,
 * and its bit records encode their reconstructions.  Caller holds
 * ShareUpdateExclusiveLock on the table and settled the directory first.  A hot segment is closed to new vids
 * first; if some vid of it belongs to a transaction still in progress,
 * the segment is reopened and skipped (or, with RV_SEAL_WAIT, waited for).
 * Without RV_SEAL_CREATE, a tier whose relation does not exist yet is skipped
 * (VACUUM has no transaction id to create one with).  Returns whether the
 * segment moved, with the vectors it holds and the bytes of its old and
 * new locations.  Raises
 * ERRCODE_FEATURE_NOT_SUPPORTED for a tier the store cannot hold (cool
 * without SQ8 codes, cold without bit codes or a centroid).
 */
bool
RvStoreSealSegment(RvStore *store, uint64 segno, int tier, int flags,
				   uint64 *nvectors, uint64 *bytes_before, uint64 *bytes_after)
{
	bool		wait = (flags & RV_SEAL_WAIT) != 0;
	bool		create = (flags & RV_SEAL_CREATE) != 0;
	RvDirEntry	e;
	char	   *state = palloc(BLCKSZ);
	TransactionId *xids;
	RvSealedRun *srcrun = NULL;
	uint32		d = (uint32) store->dims;
	uint32		stride;
	RvStream	codes = {0};
	RvStream	data = {0};
	uint32	   *chunks;
	uint64		bitmap[RV_SEAL_BITMAP_WORDS] = {0};
	uint32		nlive = 0;
	float	   *vec;
	float	   *chunkbuf;
	char	   *rec;
	char	   *scratch;
	char	   *lrec;
	char	   *lchunk;
	uint32		lstride = RvSealLossyStride(d);
	bool		src_lossy;
	bool		lossy;
	float	   *centroid = NULL;
	float	   *rot = NULL;
	uint32		code_pages,
				data_pages,
				nblocks;
	char	   *imgs;
	crypto_generichash_state hash;
	RvSealedHeader *h;
	TransactionId create_xid = InvalidTransactionId;
	RvStore    *ts;
	BlockNumber blkno;
	bool		closed_here = false;
	uint32		nfreed_since = 0;

	*nvectors = 0;
	*bytes_before = 0;
	*bytes_after = 0;
	if (store->meta_version < RV_STORE_META_V4)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("vector store %u was written by an older release and has no tiers", store->relid),
				 errhint("VACUUM FULL the table to rewrite its stores in the current format.")));
	if (tier == RV_TIER_HOT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("sealed segments cannot be moved back to the hot tier"),
				 errhint("Move them to warm, which keeps the exact floats with bf16 search codes.")));
	if (tier == RV_TIER_COOL && store->geo.codes != RV_CODES_SQ8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("vectors of %d dimensions cannot be sealed into the cool tier", store->dims),
				 errdetail("Their SQ8 code records would not fit a page.")));
	if (tier == RV_TIER_COLD)
	{
		if (store->geo.bits != RV_CODES_BIT)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("vectors of %d dimensions cannot be sealed into the cold tier", store->dims),
					 errdetail("1-bit codes exist up to %d dimensions.", (int) RV_BIT_MAX_DIMS)));
		centroid = palloc(sizeof(float) * d);
		if (!RvStoreReadCentroid(store, centroid))
		{
			pfree(centroid);
			pfree(state);
			return false;		/* no centroid yet: fewer than 64 vectors */
		}
		rot = palloc(sizeof(float) * store->geo.bit_words * 64);
	}

	if (!create && RvStoreTier(store, tier, false, NULL) == NULL)
	{
		pfree(state);
		return false;			/* no tier relation, and none may be created */
	}
	RvDirReadEntry(store, segno, &e);
	if (e.tier == RV_TIER_NONE || e.prev_tier != RV_TIER_NONE)
	{
		pfree(state);
		return false;			/* absent, or still moving */
	}
	if (e.tier == RV_TIER_HOT)
	{
		closed_here = RvDirCloseSegment(store, segno, true);
		RvDirReadEntry(store, segno, &e);
	}
	else
	{
		RvStore    *src = RvStoreTier(store, e.tier, false, NULL);

		srcrun = RvSealedReadRun(src, e.blkno, segno);
	}

	/* the vids, and whether their writers are done */
	if (!RvStoreCopySegState(store, segno, state))
		elog(ERROR, "ruvector store %u: segment " UINT64_FORMAT " vanished", store->relid, segno);
	xids = (TransactionId *) (RvPagePayload(state) + RV_SEG_HEADER_SIZE);
	for (uint32 k = 0; k < RV_SEG_VIDS; k++)
	{
		TransactionId x = xids[k];

		if (x == InvalidTransactionId || !TransactionIdIsNormal(x) ||
			TransactionIdIsCurrentTransactionId(x))
			continue;
		if (TransactionIdIsInProgress(x))
		{
			if (wait)
			{
				XactLockTableWait(x, NULL, NULL, XLTW_None);
				continue;
			}
			if (closed_here)
				RvDirCloseSegment(store, segno, false);
			pfree(state);
			return false;
		}
	}
	for (uint32 k = 0; k < RV_SEG_VIDS; k++)
		if (xids[k] != InvalidTransactionId)
		{
			bitmap[k / 64] |= UINT64CONST(1) << (k % 64);
			nlive++;
		}
	if (srcrun)
		nfreed_since = srcrun->h.nlive - nlive;
	src_lossy = srcrun != NULL && (srcrun->h.flags & RV_SEAL_F_LOSSY) != 0;
	lossy = tier == RV_TIER_COLD &&
		(src_lossy || ((flags & RV_SEAL_LOSSY) && !(flags & RV_SEAL_KEEP_FORM)));
	if (e.tier == tier && nfreed_since == 0 && !(flags & RV_SEAL_FORCE) && lossy == src_lossy)
	{
		pfree(state);
		return false;			/* already there in its form, nothing to compact */
	}
	*bytes_before = (uint64) e.nblocks * BLCKSZ;

	/* the streams */
	stride = RvSealedRecordStride(store, tier);
	vec = palloc(sizeof(float) * d);
	chunkbuf = palloc(sizeof(float) * d * RV_SEAL_CHUNK);
	rec = palloc0(stride + 64);
	lrec = palloc0(lstride);
	lchunk = lossy ? palloc0((Size) lstride * RV_SEAL_CHUNK) : NULL;
	scratch = palloc(Max(sizeof(float) * d * RV_SEAL_CHUNK,
						 RvCodecScratchBytes((size_t) d * RV_SEAL_CHUNK)));
	chunks = palloc0(sizeof(uint32) * ((nlive + RV_SEAL_CHUNK - 1) / RV_SEAL_CHUNK + 1));
	{
		uint32		pos = 0;
		uint32		inchunk = 0;
		uint32		c = 0;
		size_t		cap = Max(RvCodecBlockBound((size_t) d * RV_SEAL_CHUNK),
							  (size_t) LZ4_compressBound((int) (lstride * RV_SEAL_CHUNK)));
		char	   *packed = palloc(cap);

		for (uint32 k = 0; k < RV_SEG_VIDS; k++)
		{
			uint64		vid = segno * RV_SEG_VIDS + k;

			if (xids[k] == InvalidTransactionId)
				continue;
			if ((pos & 63) == 0)
				CHECK_FOR_INTERRUPTS();
			if (!lossy)
				RvSealReadVector(store, &e, srcrun, vid, vec, NULL);
			else
			{
				/* the SQ8 record (copied from a lossy run), then what it stands for */
				if (!RvSealReadVector(store, &e, srcrun, vid, vec, lrec))
				{
					memset(lrec, 0, lstride);
					RvSq8Encode(vec, (int) d, (uint8_t *) (lrec + RV_CODE_HEADER),
								(RvSq8Params *) lrec);
				}
				RvSealLossyDecode(lrec, d, vec);
				memcpy(lchunk + (Size) inchunk * lstride, lrec, lstride);
			}
			switch (tier)
			{
				case RV_TIER_WARM:
					{
						uint16	   *hi = (uint16 *) scratch;
						uint16	   *lo = hi + d;

						RvCodecSplitHalves(vec, d, hi, lo);
						RvStreamAppend(&codes, hi, (uint64) d * 2);
						RvStreamAppend(&data, lo, (uint64) d * 2);
						break;
					}
				case RV_TIER_COOL:
					memset(rec, 0, stride);
					RvSq8Encode(vec, (int) d, (uint8_t *) (rec + RV_CODE_HEADER), (RvSq8Params *) rec);
					RvStreamAppend(&codes, rec, stride);
					break;
				case RV_TIER_COLD:
					memset(rec, 0, stride);
					RvBitEncode(store, vec, centroid, rot, rec);
					RvStreamAppend(&codes, rec, stride);
					break;
			}
			if (tier != RV_TIER_WARM)
			{
				if (!lossy)
					memcpy(chunkbuf + (size_t) inchunk * d, vec, sizeof(float) * d);
				if (++inchunk == RV_SEAL_CHUNK || pos + 1 == nlive)
				{
					/* a lossy chunk: its SQ8 records, LZ4 HC as they are */
					size_t		len = lossy ?
						(size_t) Max(LZ4_compress_HC(lchunk, packed, (int) (lstride * inchunk),
													 (int) cap, RV_SEAL_LZ4_LEVEL), 0) :
						RvCodecPackBlock(chunkbuf, (size_t) inchunk * d, packed, cap,
										 scratch, RV_SEAL_LZ4_LEVEL);

					if (len == 0)
						elog(ERROR, "could not compress a chunk of segment " UINT64_FORMAT, segno);
					chunks[c++] = (uint32) data.len;
					RvStreamAppend(&data, packed, len);
					inchunk = 0;
				}
			}
			pos++;
		}
		chunks[c] = (uint32) data.len;
		pfree(packed);
	}

	/* the page images: state, header, codes, data */
	code_pages = RvStreamPagesOf(codes.len);
	data_pages = RvStreamPagesOf(data.len);
	nblocks = 2 + code_pages + data_pages;
	imgs = palloc_extended((Size) nblocks * BLCKSZ, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	crypto_generichash_init(&hash, NULL, 0, 32);
	for (uint32 i = 0; i < code_pages; i++)
		RvSealedFormat(imgs + (Size) (2 + i) * BLCKSZ, RV_PAGE_SEALCODE, (uint32) segno,
					   codes.buf + (uint64) i * RV_PAGE_PAYLOAD,
					   codes.len - (uint64) i * RV_PAGE_PAYLOAD, &hash);
	for (uint32 i = 0; i < data_pages; i++)
		RvSealedFormat(imgs + (Size) (2 + code_pages + i) * BLCKSZ, RV_PAGE_SEALDATA,
					   (uint32) segno, data.buf + (uint64) i * RV_PAGE_PAYLOAD,
					   data.len - (uint64) i * RV_PAGE_PAYLOAD, &hash);
	{
		char		hdr[RV_PAGE_PAYLOAD];
		Size		chunkbytes = tier == RV_TIER_WARM ? 0 :
			sizeof(uint32) * ((nlive + RV_SEAL_CHUNK - 1) / RV_SEAL_CHUNK + 1);

		if (RV_SEAL_CHUNKS_OFF + chunkbytes > RV_PAGE_PAYLOAD)
			elog(ERROR, "sealed header overflow");
		memset(hdr, 0, sizeof(hdr));
		h = (RvSealedHeader *) hdr;
		h->magic = RV_SEAL_MAGIC;
		h->segno = (uint32) segno;
		h->tier = (uint16) tier;
		h->lz4_level = tier == RV_TIER_WARM ? 0 : RV_SEAL_LZ4_LEVEL;
		h->flags = lossy ? RV_SEAL_F_LOSSY : tier == RV_TIER_WARM ? 0 : RV_SEAL_F_BLOCK2;
		h->nlive = nlive;
		h->nblocks = nblocks;
		h->rec_stride = stride;
		h->code_pages = code_pages;
		h->data_pages = data_pages;
		h->data_bytes = data.len;
		h->sealed_at = GetCurrentTimestamp();
		memcpy(hdr + RV_SEAL_BITMAP_OFF, bitmap, sizeof(bitmap));
		if (chunkbytes)
			memcpy(hdr + RV_SEAL_CHUNKS_OFF, chunks, chunkbytes);
		/* the checksum covers the header with its checksum field zero */
		crypto_generichash_update(&hash, (const unsigned char *) hdr, RV_PAGE_PAYLOAD);
		crypto_generichash_final(&hash, h->checksum, 32);
		RvSealedFormat(imgs + BLCKSZ, RV_PAGE_SEALHDR, (uint32) segno, hdr, RV_PAGE_PAYLOAD,
					   NULL);
	}
	{
		RvSegmentHeader *sh;

		RvPageInit(imgs, RV_PAGE_SEGMENT, (uint32) segno);
		memcpy(RvPagePayload(imgs), RvPagePayload(state), RV_PAGE_PAYLOAD);
		((PageHeader) imgs)->pd_lower = RV_PAGE_PAYLOAD_START + RV_PAGE_PAYLOAD;
		sh = (RvSegmentHeader *) RvPagePayload(imgs);
		sh->tier = (uint16) tier;
		sh->nallocated = nlive;
	}

	/* where it goes, then the pages, then the switch */
	ts = RvStoreTier(store, tier, true, &create_xid);
	blkno = RvDirReserveRun(store, segno, tier, nblocks, create_xid);
	RvSealCrashPoint(1);
	RvSealedWritePages(ts, blkno, imgs, nblocks / 2);
	RvSealCrashPoint(2);
	RvSealedWritePages(ts, blkno + nblocks / 2, imgs + (Size) (nblocks / 2) * BLCKSZ,
					   nblocks - nblocks / 2);
	RvDirCompleteMove(store, segno);
	RvSealCrashPoint(3);

	*nvectors = nlive;
	*bytes_after = (uint64) nblocks * BLCKSZ;
	pfree(imgs);
	if (codes.buf)
		pfree(codes.buf);
	if (data.buf)
		pfree(data.buf);
	pfree(vec);
	pfree(chunkbuf);
	pfree(rec);
	pfree(lrec);
	if (lchunk)
		pfree(lchunk);
	pfree(scratch);
	pfree(chunks);
	pfree(state);
	if (centroid)
		pfree(centroid);
	if (rot)
		pfree(rot);
	return true;
}

/*
 * RvSealedVerify: checks the run at loc of segment segno: every page's
 * CRC, the run's BLAKE2b-256 and its header's flags (known ones; lossy
 * only in cold).  A lossy run is checked like any other.  Returns false with *problem set (a
 * palloc'd description) when something does not match; page read errors
 * are caught and reported as problems.
 */
bool
RvSealedVerify(RvStore *store, const RvSegLoc *loc, uint64 segno, char **problem)
{
	RvStore    *ts = RvStoreTier(store, loc->tier, false, NULL);
	crypto_generichash_state hash;
	unsigned char sum[32];
	char		hdr[RV_PAGE_PAYLOAD];
	RvSealedHeader *h = (RvSealedHeader *) hdr;
	uint32		npages;

	*problem = NULL;
	if (ts == NULL)
	{
		*problem = psprintf("segment " UINT64_FORMAT " lies in a missing %s tier relation", segno,
							RvTierName(loc->tier));
		return false;
	}
	crypto_generichash_init(&hash, NULL, 0, 32);
	{
		Buffer		buf = ReadBufferExtended(ts->rel, MAIN_FORKNUM, loc->blkno + 1, RBM_NORMAL, NULL);
		Page		page = BufferGetPage(buf);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		if (PageIsNew(page) || *RvPageCrcSlot(page) != RvPayloadCrc(page))
		{
			UnlockReleaseBuffer(buf);
			*problem = psprintf("segment " UINT64_FORMAT ": header block %u of %s tier relation %u fails its checksum",
								segno, loc->blkno + 1, RvTierName(loc->tier), ts->relid);
			return false;
		}
		memcpy(hdr, RvPagePayload(page), RV_PAGE_PAYLOAD);
		UnlockReleaseBuffer(buf);
	}
	if (h->magic != RV_SEAL_MAGIC || h->segno != (uint32) segno || h->tier != loc->tier)
	{
		*problem = psprintf("segment " UINT64_FORMAT ": block %u of %s tier relation %u is not its header",
							segno, loc->blkno + 1, RvTierName(loc->tier), ts->relid);
		return false;
	}
	npages = h->code_pages + h->data_pages;
	for (uint32 i = 0; i < npages; i++)
	{
		BlockNumber b = loc->blkno + 2 + i;
		Buffer		buf;
		Page		page;

		CHECK_FOR_INTERRUPTS();
		if (b >= RelationGetNumberOfBlocks(ts->rel))
		{
			*problem = psprintf("segment " UINT64_FORMAT ": block %u of %s tier relation %u is missing",
								segno, b, RvTierName(loc->tier), ts->relid);
			return false;
		}
		buf = ReadBufferExtended(ts->rel, MAIN_FORKNUM, b, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (PageIsNew(page) || *RvPageCrcSlot(page) != RvPayloadCrc(page))
		{
			UnlockReleaseBuffer(buf);
			*problem = psprintf("segment " UINT64_FORMAT ": block %u of %s tier relation %u fails its checksum",
								segno, b, RvTierName(loc->tier), ts->relid);
			return false;
		}
		crypto_generichash_update(&hash, (const unsigned char *) RvPagePayload(page), RV_PAGE_PAYLOAD);
		UnlockReleaseBuffer(buf);
	}
	{
		uint8		want[32];

		memcpy(want, h->checksum, 32);
		memset(h->checksum, 0, 32);
		crypto_generichash_update(&hash, (const unsigned char *) hdr, RV_PAGE_PAYLOAD);
		crypto_generichash_final(&hash, sum, 32);
		if (memcmp(sum, want, 32) != 0)
		{
			*problem = psprintf("segment " UINT64_FORMAT " in %s tier relation %u does not match its BLAKE2b-256 checksum",
								segno, RvTierName(loc->tier), ts->relid);
			return false;
		}
	}
	if ((h->flags & ~RV_SEAL_F_ALL) != 0 ||
		((h->flags & RV_SEAL_F_LOSSY) && h->tier != RV_TIER_COLD))
	{
		*problem = psprintf("segment " UINT64_FORMAT ": its header in %s tier relation %u has bad flags 0x%x",
							segno, RvTierName(loc->tier), ts->relid, h->flags);
		return false;
	}
	return true;
}

/* RvSealedResidentBytes: what a search of the run keeps touching (header and codes). */
uint64
RvSealedResidentBytes(const RvSealedRun *run)
{
	return (uint64) (1 + run->h.code_pages) * BLCKSZ;
}
