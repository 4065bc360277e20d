/*-------------------------------------------------------------------------
 *
 * hnswutils.c
 *	  ruhnsw building blocks: metapage and node-record access (in memory or
 *	  on pages), distances read in place from the vector store, the layer
 *	  search and the neighbour-selection heuristic of HNSW.
 *
 * Invariants kept here: a node's level-0 record and its upper record (see
 * ruhnsw.h for the layout) are each read and written whole, under the
 * buffer lock of their page; callers see full in-memory records.  Readers
 * lock one index buffer at a time; a writer (RuhnswWriteNodes) locks the
 * level-0 and upper pages of the records it writes together, at most
 * RUHNSW_MAX_WRITE records and 4 pages, in ascending block order, and only
 * writers that hold the metapage's buffer lock (an insert's write step,
 * block 0 locked first) or RUHNSW_UPDATE_LOCK in ExclusiveLock (or build
 * alone) do, so there is no deadlock and no two writers allocate the same
 * upper record.  An upper record is allocated by the RuhnswWriteNodes call
 * that first writes its node, in that call's WAL record.  On-page writes
 * outside a build go through GenericXLog, one record per RuhnswWriteNodes
 * call, registering only the pages whose bytes change.  A graph handle
 * caches the index size (g->nblocks): an index never shrinks, so the cache
 * is a lower bound, refreshed only when a block beyond it is needed.
 * Distances come from scorers (RuhnswQueryBegin/QueryNode), which hold
 * their store pins until RuhnswQueryEnd.  A node's heap TIDs (the inline
 * one and its TID tail, ruhnsw.h) are read by RuhnswNodeTids and changed
 * by RuhnswAddTid and RuhnswVacuumTids, which lock the level-0 page and
 * the tail's upper page together, in ascending block order, and never
 * move a live TID between the inline slot and the tail in place;
 * RuhnswAddTid runs as an insert's write step (metapage buffer lock held,
 * under the shared RUHNSW_UPDATE_LOCK) or under RUHNSW_UPDATE_LOCK in
 * ExclusiveLock, and RuhnswVacuumTids under RUHNSW_UPDATE_LOCK in
 * ExclusiveLock, so neither races another writer of the same node.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "access/relation.h"
#include "catalog/index.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "simd/rv_simd.h"
#include "tam/rv_tam.h"

/*
 * RuhnswGetMetric: the metric of the index's only column, from the name of
 * its opclass's support function 1.  Errors on an unknown function.
 */
RuhnswMetric
RuhnswGetMetric(Relation index)
{
	Oid			procid = index_getprocid(index, 1, 1);
	char	   *name = get_func_name(procid);

	if (name == NULL)
		elog(ERROR, "ruhnsw: support function 1 not found");
	if (strcmp(name, "vector_l2_squared_distance") == 0)
		return RUHNSW_L2;
	if (strcmp(name, "vector_negative_inner_product") == 0)
		return RUHNSW_IP;
	if (strcmp(name, "cosine_distance") == 0)
		return RUHNSW_COSINE;
	if (strcmp(name, "l1_distance") == 0)
		return RUHNSW_L1;
	elog(ERROR, "ruhnsw: unsupported distance function \"%s\"", name);
	return RUHNSW_L2;			/* keep compiler quiet */
}

/*
 * RuhnswNodeSize: bytes of an in-memory node record for m: the header and
 * the lists of every level (see ruhnsw.h).
 */
uint32
RuhnswNodeSize(int m)
{
	return sizeof(RuhnswNodeHeader) + sizeof(uint32) * (2 * m + RUHNSW_MAX_LEVEL * m);
}

/* RuhnswRecordSize: bytes of a level-0 record on a page for m. */
uint32
RuhnswRecordSize(int m)
{
	return sizeof(RuhnswNodeHeader) + sizeof(uint32) * 2 * m;
}

/* RuhnswNodesPerPage: level-0 records of recsize bytes that fit on one page. */
uint32
RuhnswNodesPerPage(uint32 recsize)
{
	return RUHNSW_PAGE_CONTENTS / recsize;
}

/*
 * RuhnswGroupPages: level-0 pages per upper page for m, chosen so that the
 * upper records of a group's nodes are expected to fill about two thirds
 * of the upper page: a node has level >= L with probability m^-L (L <=
 * RUHNSW_MAX_LEVEL) and m slots per upper level.  At least 1.
 */
uint32
RuhnswGroupPages(int m, uint32 nodes_per_page)
{
	double		slots = 0;
	double		p = 1;
	double		perpage;
	double		g;

	for (int l = 1; l <= RUHNSW_MAX_LEVEL; l++)
	{
		p /= m;
		slots += p * m;
	}
	perpage = nodes_per_page * slots * sizeof(uint32);
	g = floor(RUHNSW_PAGE_CONTENTS * 2.0 / 3.0 / perpage);
	return (uint32) Max(1.0, Min(g, 4096.0));
}

/* RuhnswUpperBlock: the block of upper page u. */
BlockNumber
RuhnswUpperBlock(uint32 group_pages, uint32 u)
{
	return 1 + (BlockNumber) u * (group_pages + 1);
}

/* RuhnswVidGroup: the group of vid's level-0 page. */
uint32
RuhnswVidGroup(uint32 nodes_per_page, uint32 group_pages, uint32 vid)
{
	return (vid / nodes_per_page) / group_pages;
}

/* RuhnswNodeBlock: the block holding vid's level-0 record. */
BlockNumber
RuhnswNodeBlock(uint32 nodes_per_page, uint32 group_pages, uint32 vid)
{
	uint32		p = vid / nodes_per_page;

	return 1 + (BlockNumber) (p / group_pages) * (group_pages + 1) + 1 + p % group_pages;
}

/* RuhnswBlockIsUpper: true if blkno (>= 1) is an upper page. */
bool
RuhnswBlockIsUpper(uint32 group_pages, BlockNumber blkno)
{
	return blkno >= 1 && (blkno - 1) % (group_pages + 1) == 0;
}

/* RuhnswBlockFirstVid: the vid of slot 0 of level-0 page blkno. */
uint64
RuhnswBlockFirstVid(uint32 nodes_per_page, uint32 group_pages, BlockNumber blkno)
{
	uint64		grp = (blkno - 1) / (group_pages + 1);
	uint64		r = (blkno - 1) % (group_pages + 1);

	Assert(r >= 1);
	return (grp * group_pages + r - 1) * nodes_per_page;
}

/*
 * RuhnswNumVids: the vids that have a level-0 slot in an index of nblocks
 * blocks.
 */
uint64
RuhnswNumVids(uint32 nodes_per_page, uint32 group_pages, BlockNumber nblocks)
{
	uint64		nb,
				pages;

	if (nblocks <= 1)
		return 0;
	nb = nblocks - 1;
	pages = (nb / (group_pages + 1)) * group_pages;
	if (nb % (group_pages + 1) > 0)
		pages += nb % (group_pages + 1) - 1;
	return pages * nodes_per_page;
}

/*
 * RuhnswInitPage: initializes a node page, an upper page when upper:
 * zeroed contents (flags 0 = not used; no upper record yet) covering the
 * whole page below pd_lower.
 */
void
RuhnswInitPage(Page page, bool upper)
{
	RuhnswPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(RuhnswPageOpaqueData));
	opaque = (RuhnswPageOpaque) PageGetSpecialPointer(page);
	opaque->page_id = RUHNSW_PAGE_ID;
	opaque->flags = upper ? RUHNSW_PAGE_UPPER : 0;
	opaque->upper_used = 0;
	((PageHeader) page)->pd_lower = ((PageHeader) page)->pd_special;
}

/*
 * RuhnswRegisterPage: GenericXLogRegisterBuffer(state, buf, 0) for node or
 * upper page buf of g's index (exclusively locked by the caller); when the
 * page is all zeros it is registered as a full image and initialized in
 * that record.  The index grows by blocks that RuhnswExtendTo initializes
 * in a WAL record of their own, but the extension itself (ReadBuffer(P_NEW)
 * writing a zeroed block to the file) is not WAL-logged: a crash can lose
 * the initializing record and keep the block, and no later extension
 * initializes it again since it is no longer past the end.  So every
 * writer treats a zeroed page as a new, empty one here (or in
 * RuhnswXLogRegister, hnswxlog.c, the node writer's twin of this rule),
 * before writing into it by offset.  Returns the page copy to modify
 * (GenericXLog's).
 */
Page
RuhnswRegisterPage(RuhnswGraph *g, GenericXLogState *state, Buffer buf)
{
	bool		isnew = PageIsNew(BufferGetPage(buf));
	Page		page = GenericXLogRegisterBuffer(state, buf,
												 isnew ? GENERIC_XLOG_FULL_IMAGE : 0);

	if (isnew)
		RuhnswInitPage(page, RuhnswBlockIsUpper(g->group_pages, BufferGetBlockNumber(buf)));
	return page;
}

/* RuhnswInitMetaPage: initializes page as the metapage holding *meta. */
void
RuhnswInitMetaPage(Page page, RuhnswMetaPageData *meta)
{
	RuhnswPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(RuhnswPageOpaqueData));
	opaque = (RuhnswPageOpaque) PageGetSpecialPointer(page);
	opaque->page_id = RUHNSW_PAGE_ID;
	memcpy(PageGetContents(page), meta, sizeof(RuhnswMetaPageData));
	((PageHeader) page)->pd_lower =
		((char *) PageGetContents(page) + sizeof(RuhnswMetaPageData)) - (char *) page;
}

/*
 * RuhnswReadMeta: copies the metapage into *meta (share lock held while
 * copying).  Raises ERRCODE_INDEX_CORRUPTED on a bad magic and
 * ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, with a hint to REINDEX, on a
 * format outside RUHNSW_MIN_VERSION..RUHNSW_VERSION (format 3 is format 4
 * without TID tails, so it is read and written as it is).
 */
void
RuhnswReadMeta(Relation index, RuhnswMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, RUHNSW_METAPAGE_BLKNO);

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(meta, PageGetContents(BufferGetPage(buf)), sizeof(RuhnswMetaPageData));
	UnlockReleaseBuffer(buf);
	if (meta->magic != RUHNSW_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a valid ruhnsw index",
						RelationGetRelationName(index))));
	if (meta->version < RUHNSW_MIN_VERSION || meta->version > RUHNSW_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("ruhnsw index \"%s\" has on-disk format %u, which this version does not read",
						RelationGetRelationName(index), meta->version),
				 errdetail("This version reads ruhnsw formats %d to %d.",
						   RUHNSW_MIN_VERSION, RUHNSW_VERSION),
				 errhint("REINDEX INDEX %s;",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(index)),
													RelationGetRelationName(index)))));
}

/*
 * RuhnswWriteMeta: overwrites the metapage contents with *meta in one
 * GenericXLog record.  Caller holds RUHNSW_UPDATE_LOCK in ExclusiveLock.
 */
void
RuhnswWriteMeta(Relation index, const RuhnswMetaPageData *meta)
{
	Buffer		buf = ReadBuffer(index, RUHNSW_METAPAGE_BLKNO);
	GenericXLogState *state;
	Page		page;

	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	memcpy(PageGetContents(page), meta, sizeof(RuhnswMetaPageData));
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
}

/*
 * RuhnswGraphInit: sets up graph access for index over store with the
 * parameters of *meta (pages mode; callers set mem for an in-memory build).
 */
void
RuhnswGraphInit(RuhnswGraph *g, Relation index, const RuhnswMetaPageData *meta, RvStore *store)
{
	memset(g, 0, sizeof(RuhnswGraph));
	g->index = index;
	g->store = store;
	g->metric = (RuhnswMetric) meta->metric;
	g->m = meta->m;
	g->ef_construction = meta->ef_construction;
	g->dims = meta->dims;
	g->storeno = meta->storeno;
	g->attnum = meta->attnum;
	g->nodesize = RuhnswNodeSize(g->m);
	g->recsize = meta->nodesize;
	g->nodes_per_page = meta->nodes_per_page;
	g->group_pages = meta->group_pages;
	g->nslots = (g->nodesize - sizeof(RuhnswNodeHeader)) / sizeof(uint32);
	g->entry_vid = meta->entry_vid;
	g->entry_level = meta->entry_level;
	g->kind = RuhnswMetricKind(g->metric);
	g->mode = RV_SCORE_EXACT;
	g->cache = NULL;
	g->nodebuf = palloc(g->nodesize);
	RuhnswVidSetInit(&g->visited, 1024);
	g->heapcap = 256;
	g->heapbuf = palloc(sizeof(RuhnswCand) * g->heapcap);
	g->wcap = 256;
	g->wbuf = palloc(sizeof(RuhnswCand) * g->wcap);
}

/*
 * RuhnswGraphRefresh: brings a graph handle kept across inserts (set up by
 * RuhnswGraphInit for the same index and store) up to date with *meta:
 * the entry point.  The cached index size stays: an index never shrinks.
 */
void
RuhnswGraphRefresh(RuhnswGraph *g, const RuhnswMetaPageData *meta)
{
	Assert(g->mem == NULL && g->dims == meta->dims && g->m == (int) meta->m);
	g->entry_vid = meta->entry_vid;
	g->entry_level = meta->entry_level;
}

/* RuhnswGraphToMeta: copies the graph's entry point and store into *meta. */
void
RuhnswGraphToMeta(RuhnswGraph *g, RuhnswMetaPageData *meta)
{
	meta->entry_vid = g->entry_vid;
	meta->entry_level = g->entry_level;
	meta->storeno = g->storeno;
	meta->dims = g->dims;
}

/*
 * RuhnswGraphFree: releases what g holds outside its memory context (the
 * build's vector cache); store pins belong to scorers, ended by their
 * users.
 */
void
RuhnswGraphFree(RuhnswGraph *g)
{
	RvStoreCacheFree(g->cache);
	g->cache = NULL;
}

/*
 * Backend-local maps of recently read index pages, one per index file (a
 * few, reused round robin), kept for the life of the backend: each scan
 * sets up a graph of its own, and a map per graph would start cold every
 * query.  Entries are hints: ReadRecentBuffer checks the buffer still
 * holds the block, so a stale entry (the page was evicted, or the index
 * rewritten under a new relfilenode) only costs the lookup it would save.
 */
#define RUHNSW_RECENT_MAPS		4
#define RUHNSW_RECENT_MIN		1024
#define RUHNSW_RECENT_MAX		65536

typedef struct RuhnswRecentMap
{
	RelFileNode node;
	uint32		mask;			/* entries - 1 (a power of two) */
	RuhnswRecentBuf *entries;
} RuhnswRecentMap;

static RuhnswRecentMap ruhnsw_recent_maps[RUHNSW_RECENT_MAPS];
static int	ruhnsw_recent_next = 0;

/* The recent-page map of g's index, found or set up (in TopMemoryContext). */
static RuhnswRecentMap *
RuhnswRecentMapFor(RuhnswGraph *g)
{
	RuhnswRecentMap *m;
	uint32		n = RUHNSW_RECENT_MIN;
	BlockNumber nblocks = RelationGetNumberOfBlocks(g->index);

	for (int i = 0; i < RUHNSW_RECENT_MAPS; i++)
		if (ruhnsw_recent_maps[i].entries &&
			RelFileNodeEquals(ruhnsw_recent_maps[i].node, g->index->rd_node))
			return &ruhnsw_recent_maps[i];
	m = &ruhnsw_recent_maps[ruhnsw_recent_next];
	ruhnsw_recent_next = (ruhnsw_recent_next + 1) % RUHNSW_RECENT_MAPS;
	while (n < nblocks && n < RUHNSW_RECENT_MAX)
		n <<= 1;
	if (m->entries == NULL || m->mask + 1 != n)
	{
		if (m->entries)
			pfree(m->entries);
		m->entries = MemoryContextAlloc(TopMemoryContext, sizeof(RuhnswRecentBuf) * n);
		m->mask = n - 1;
	}
	for (uint32 i = 0; i < n; i++)
	{
		m->entries[i].blkno = InvalidBlockNumber;
		m->entries[i].buf = InvalidBuffer;
	}
	m->node = g->index->rd_node;
	return m;
}

/*
 * RuhnswReadBufferRecent: block blkno of g's index, pinned (not locked),
 * like ReadBuffer; a block this backend read recently is re-pinned with
 * ReadRecentBuffer (which checks the buffer still holds it), saving the
 * buffer-mapping lookup that dominates a scan's node reads.
 */
Buffer
RuhnswReadBufferRecent(RuhnswGraph *g, BlockNumber blkno)
{
	RuhnswRecentBuf *r;
	Buffer		buf;

	if (g->recent == NULL || !RelFileNodeEquals(g->recent->node, g->index->rd_node))
		g->recent = RuhnswRecentMapFor(g);
	r = &g->recent->entries[blkno & g->recent->mask];
	if (r->blkno == blkno &&
		ReadRecentBuffer(g->index->rd_node, MAIN_FORKNUM, blkno, r->buf))
		return r->buf;
	buf = ReadBuffer(g->index, blkno);
	r->blkno = blkno;
	r->buf = buf;
	return buf;
}

/*
 * RuhnswPrefetchNode: a hint that vid's level-0 record will be read soon:
 * when its page is in the backend's recent-buffer map (RuhnswReadBufferRecent),
 * the record's cache lines are prefetched.  Takes no pin or lock and reads
 * nothing from the page: a stale map entry only prefetches other memory of
 * the buffer pool.  No-op for an in-memory build graph.
 */
void
RuhnswPrefetchNode(RuhnswGraph *g, uint32 vid)
{
	BlockNumber blkno;
	RuhnswRecentBuf *r;
	const char *rec;

	if (g->mem != NULL || g->recent == NULL ||
		!RelFileNodeEquals(g->recent->node, g->index->rd_node))
		return;
	blkno = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
	r = &g->recent->entries[blkno & g->recent->mask];
	if (r->blkno != blkno || r->buf <= 0)
		return;
	rec = PageGetContents(BufferGetBlock(r->buf)) + (Size) (vid % g->nodes_per_page) * g->recsize;
	for (uint32 off = 0; off < g->recsize; off += 64)
		__builtin_prefetch(rec + off);
	__builtin_prefetch(rec + g->recsize - 1);
}

/*
 * Locates the upper record of the node whose level-0 record hdr (of vid)
 * is: its block, byte offset in the page contents and length.  Returns
 * false when the node has none (level 0, or no upper record yet).  Raises
 * ERRCODE_INDEX_CORRUPTED when the reference lies outside a page.
 */
static bool
RuhnswUpperLocation(RuhnswGraph *g, uint32 vid, const RuhnswNodeHeader *hdr,
					BlockNumber *blkno, uint32 *off, uint32 *len)
{
	int			level = Min(hdr->level, RUHNSW_MAX_LEVEL);

	if (level < 1 || !(hdr->flags & RUHNSW_NODE_UPPER))
		return false;
	*blkno = RuhnswUpperBlock(g->group_pages,
							  RuhnswVidGroup(g->nodes_per_page, g->group_pages, vid) +
							  RuhnswUpperDelta(hdr->upper));
	*off = RuhnswUpperOff(hdr->upper);
	*len = sizeof(uint32) * g->m * level;
	if (*off + *len > RUHNSW_PAGE_CONTENTS || *off % sizeof(uint32) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ruhnsw index \"%s\" has an invalid upper record reference for vid %u",
						RelationGetRelationName(g->index), vid)));
	return true;
}

/*
 * Copies vid's record into dst (nodesize bytes): the level-0 record, and
 * the upper record when upper (else the upper lists are left empty).
 * Returns false (dst zeroed) when the record does not exist yet.  Locks
 * the level-0 page, then the upper page, one at a time in share mode.
 */
static bool
RuhnswReadNodeParts(RuhnswGraph *g, uint32 vid, char *dst, bool upper)
{
	BlockNumber blkno;
	Buffer		buf;
	Page		page;
	uint32		off,
				len;

	if (g->mem != NULL)
	{
		if (vid >= g->memvids)
		{
			memset(dst, 0, g->nodesize);
			return false;
		}
		memcpy(dst, g->mem + (Size) vid * g->nodesize, g->nodesize);
		return true;
	}
	blkno = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
	if (blkno >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (blkno >= g->nblocks)
	{
		memset(dst, 0, g->nodesize);
		return false;
	}
	buf = RuhnswReadBufferRecent(g, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	memcpy(dst, PageGetContents(page) + (Size) (vid % g->nodes_per_page) * g->recsize,
		   g->recsize);
	UnlockReleaseBuffer(buf);
	memset(dst + g->recsize, 0xFF, g->nodesize - g->recsize);
	if (upper && RuhnswUpperLocation(g, vid, (RuhnswNodeHeader *) dst, &blkno, &off, &len))
	{
		if (blkno >= g->nblocks)
			g->nblocks = RelationGetNumberOfBlocks(g->index);
		if (blkno >= g->nblocks)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("ruhnsw index \"%s\" has an upper record reference beyond its end for vid %u",
							RelationGetRelationName(g->index), vid)));
		buf = RuhnswReadBufferRecent(g, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		memcpy(dst + g->recsize, PageGetContents(BufferGetPage(buf)) + off, len);
		UnlockReleaseBuffer(buf);
	}
	return true;
}

/*
 * RuhnswReadNode: copies vid's whole record (every level) into dst
 * (nodesize bytes).  Returns false (dst zeroed) when the record does not
 * exist yet (beyond the end of the index).  Takes and releases the share
 * lock of its level-0 page, then of its upper page.
 */
bool
RuhnswReadNode(RuhnswGraph *g, uint32 vid, char *dst)
{
	return RuhnswReadNodeParts(g, vid, dst, true);
}

/*
 * RuhnswReadNodeLevel0: RuhnswReadNode without the upper lists (left
 * empty in dst on pages; present in an in-memory build); one page lock.
 */
bool
RuhnswReadNodeLevel0(RuhnswGraph *g, uint32 vid, char *dst)
{
	return RuhnswReadNodeParts(g, vid, dst, false);
}

/*
 * Extends the index so that block blkno exists, initializing new node
 * pages, under the relation extension lock.  Caller holds the metapage's
 * buffer lock (an insert's write step) or RUHNSW_UPDATE_LOCK in
 * ExclusiveLock (or builds the index alone).
 */
static void
RuhnswExtendTo(RuhnswGraph *g, BlockNumber blkno)
{
	LockRelationForExtension(g->index, ExclusiveLock);
	while (RelationGetNumberOfBlocks(g->index) <= blkno)
	{
		Buffer		buf = ReadBuffer(g->index, P_NEW);

		bool		upper = RuhnswBlockIsUpper(g->group_pages, BufferGetBlockNumber(buf));

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (g->unlogged_build)
		{
			RuhnswInitPage(BufferGetPage(buf), upper);
			MarkBufferDirty(buf);
		}
		else
		{
			GenericXLogState *state = GenericXLogStart(g->index);
			Page		page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);

			RuhnswInitPage(page, upper);
			GenericXLogFinish(state);
		}
		UnlockReleaseBuffer(buf);
	}
	UnlockRelationForExtension(g->index, ExclusiveLock);
}

/*
 * RuhnswWriteNode: overwrites vid's record with src; RuhnswWriteNodes for
 * one record.
 */
void
RuhnswWriteNode(RuhnswGraph *g, uint32 vid, const char *src)
{
	RuhnswWriteNodes(g, 1, &vid, &src);
}

/* bytes in use of upper page blkno (0 when it does not exist yet) */
static uint32
RuhnswUpperUsed(RuhnswGraph *g, BlockNumber blkno)
{
	Buffer		buf;
	uint32		used;

	if (blkno >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (blkno >= g->nblocks)
		return 0;
	buf = ReadBuffer(g->index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	used = ((RuhnswPageOpaque) PageGetSpecialPointer(BufferGetPage(buf)))->upper_used;
	UnlockReleaseBuffer(buf);
	return used;
}

/* the upper reference vid's record on its page holds, or false if none */
static bool
RuhnswStoredUpper(RuhnswGraph *g, uint32 vid, int level, uint32 *ref)
{
	BlockNumber blkno = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
	Buffer		buf;
	RuhnswNodeHeader hdr;

	if (blkno >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (blkno >= g->nblocks)
		return false;
	buf = ReadBuffer(g->index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(&hdr, PageGetContents(BufferGetPage(buf)) +
		   (Size) (vid % g->nodes_per_page) * g->recsize, sizeof(hdr));
	UnlockReleaseBuffer(buf);
	if (!(hdr.flags & RUHNSW_NODE_UPPER) || hdr.level < level)
		return false;
	*ref = hdr.upper;
	return true;
}

/* adds blkno to the ascending set blknos (*n entries) if absent */
static void
RuhnswAddBlock(BlockNumber *blknos, int *n, BlockNumber blkno)
{
	int			j;

	for (j = 0; j < *n && blknos[j] < blkno; j++)
		;
	if (j < *n && blknos[j] == blkno)
		return;
	memmove(blknos + j + 1, blknos + j, sizeof(BlockNumber) * (*n - j));
	blknos[j] = blkno;
	(*n)++;
}

/*
 * RuhnswWriteNodes: overwrites the records of the n (1..RUHNSW_MAX_WRITE)
 * distinct vids with srcs[i] (full in-memory records), all or none: in
 * memory copies; on pages one generic WAL record (hnswxlog.c: the bytes
 * that change within each record) covering those of their level-0 and
 * upper pages (at most 4: more is an internal error) whose bytes change,
 * none when nothing changes (or plain dirty pages in an unlogged build),
 * so crash
 * recovery replays every change or none of them.  A node of
 * level >= 1 keeps the upper record its header or its stored record names;
 * one that has none yet gets one allocated here, in the same WAL record:
 * at the front of the free space of the first upper page, from its
 * group's on, with room.  Extends the index first when needed.  Locks the
 * pages in ascending block order and holds all of their exclusive locks
 * until the changes are applied, so a reader that has seen one of them
 * (say a new link) and then reads another of the records (the linked
 * node) sees its change too.  Caller holds the metapage's buffer lock (an
 * insert's write step) or RUHNSW_UPDATE_LOCK in ExclusiveLock (or builds
 * alone), so the upper space it allocates is its own.  Raises ERRCODE_PROGRAM_LIMIT_EXCEEDED when no upper page within
 * RUHNSW_UPPER_MAX_DELTA groups has room.
 */
void
RuhnswWriteNodes(RuhnswGraph *g, int n, const uint32 *vids, const char *const *srcs)
{
	BlockNumber blknos[2 * RUHNSW_MAX_WRITE];
	Buffer		bufs[2 * RUHNSW_MAX_WRITE];
	BlockNumber l0blk[RUHNSW_MAX_WRITE];
	BlockNumber ublk[RUHNSW_MAX_WRITE];
	uint32		uref[RUHNSW_MAX_WRITE];
	uint32		ulen[RUHNSW_MAX_WRITE];
	bool		unew[RUHNSW_MAX_WRITE];
	int			npages = 0;
	BlockNumber maxblk = 0;
	int			slot[2 * RUHNSW_MAX_WRITE];
	uint32		newused[2 * RUHNSW_MAX_WRITE] = {0};
	RuhnswXLog	x;

	Assert(n >= 1 && n <= RUHNSW_MAX_WRITE);
	if (g->mem != NULL)
	{
		for (int i = 0; i < n; i++)
		{
			Assert(vids[i] < g->memvids);
			memcpy(g->mem + (Size) vids[i] * g->nodesize, srcs[i], g->nodesize);
		}
		return;
	}

	/* the level-0 and upper pages, allocating upper records */
	for (int i = 0; i < n; i++)
	{
		const RuhnswNodeHeader *hdr = (const RuhnswNodeHeader *) srcs[i];
		int			level = Min(hdr->level, RUHNSW_MAX_LEVEL);
		uint32		grp = RuhnswVidGroup(g->nodes_per_page, g->group_pages, vids[i]);

		l0blk[i] = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vids[i]);
		RuhnswAddBlock(blknos, &npages, l0blk[i]);
		maxblk = Max(maxblk, l0blk[i]);
		ublk[i] = InvalidBlockNumber;
		unew[i] = false;
		if (level < 1)
			continue;
		ulen[i] = sizeof(uint32) * g->m * level;
		if (hdr->flags & RUHNSW_NODE_UPPER)
			uref[i] = hdr->upper;
		else if (!RuhnswStoredUpper(g, vids[i], level, &uref[i]))
		{
			for (uint32 d = 0;; d++)
			{
				BlockNumber blk = RuhnswUpperBlock(g->group_pages, grp + d);
				uint32		used = RuhnswUpperUsed(g, blk);

				CHECK_FOR_INTERRUPTS();
				for (int j = 0; j < i; j++)
					if (unew[j] && ublk[j] == blk)
						used = Max(used, RuhnswUpperOff(uref[j]) + ulen[j]);
				if (used + ulen[i] <= RUHNSW_PAGE_CONTENTS)
				{
					uref[i] = RuhnswUpperRef(d, used);
					unew[i] = true;
					break;
				}
				if (d >= RUHNSW_UPPER_MAX_DELTA)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("ruhnsw index \"%s\" has no room for the upper record of vid %u",
									RelationGetRelationName(g->index), vids[i])));
			}
		}
		ublk[i] = RuhnswUpperBlock(g->group_pages, grp + RuhnswUpperDelta(uref[i]));
		RuhnswAddBlock(blknos, &npages, ublk[i]);
		maxblk = Max(maxblk, ublk[i]);
	}
	if (npages > MAX_GENERIC_XLOG_PAGES)
		elog(ERROR, "ruhnsw: %d records on %d pages cannot be written in one WAL record",
			 n, npages);

	if (maxblk >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (maxblk >= g->nblocks)
	{
		RuhnswExtendTo(g, maxblk);
		g->nblocks = maxblk + 1;
	}

	for (int j = 0; j < npages; j++)
	{
		bufs[j] = ReadBuffer(g->index, blknos[j]);
		LockBuffer(bufs[j], BUFFER_LOCK_EXCLUSIVE);
	}

	/* only the pages whose bytes change are written and logged (hnswxlog.c) */
	RuhnswXLogStart(&x, g->index, !g->unlogged_build);
	for (int j = 0; j < npages; j++)
		slot[j] = RuhnswXLogRegister(&x, bufs[j], RuhnswBlockIsUpper(g->group_pages, blknos[j]));
	for (int i = 0; i < n; i++)
	{
		char		tmp[sizeof(RuhnswNodeHeader) + sizeof(uint32) * 2 * RUHNSW_MAX_M];
		RuhnswNodeHeader *th = (RuhnswNodeHeader *) tmp;
		int			j;

		Assert(g->recsize <= sizeof(tmp));
		for (j = 0; blknos[j] != l0blk[i]; j++)
			;
		memcpy(tmp, srcs[i], g->recsize);
		if (ublk[i] != InvalidBlockNumber)
		{
			th->flags |= RUHNSW_NODE_UPPER;
			th->upper = uref[i];
		}
		RuhnswXLogSet(&x, slot[j], RUHNSW_CONTENTS_OFF +
					  (vids[i] % g->nodes_per_page) * g->recsize, tmp, g->recsize);
		if (ublk[i] == InvalidBlockNumber)
			continue;
		for (j = 0; blknos[j] != ublk[i]; j++)
			;
		RuhnswXLogSet(&x, slot[j], RUHNSW_CONTENTS_OFF + RuhnswUpperOff(uref[i]),
					  srcs[i] + g->recsize, ulen[i]);
		if (unew[i])
			newused[j] = Max(newused[j], RuhnswUpperOff(uref[i]) + ulen[i]);
	}
	/* the upper pages' bytes in use, once per page (ranges must not overlap) */
	for (int j = 0; j < npages; j++)
	{
		char	   *page;
		RuhnswPageOpaqueData op;

		if (newused[j] == 0)
			continue;
		page = RuhnswXLogImage(&x, slot[j]);
		memcpy(&op, PageGetSpecialPointer((Page) page), sizeof(op));
		op.upper_used = Max(op.upper_used, newused[j]);
		RuhnswXLogSet(&x, slot[j], ((PageHeader) page)->pd_special, &op, sizeof(op));
	}
	RuhnswXLogFinish(&x);
	for (int j = 0; j < npages; j++)
		UnlockReleaseBuffer(bufs[j]);
}

/* ---- heap TIDs of a node (ruhnsw.h: the inline TID and the TID tail) ---- */

/* bytes of the upper lists of a node of level */
static uint32
RuhnswListsLen(int m, int level)
{
	return sizeof(uint32) * m * Min(Max(level, 0), RUHNSW_MAX_LEVEL);
}

/*
 * RuhnswMaxTids: the most TIDs a node of level (of an index with m) holds:
 * the inline one plus the largest tail (a power of two TIDs, at most
 * RUHNSW_TAIL_MAX_CAP) that fits in an upper page after its lists.
 */
uint32
RuhnswMaxTids(int m, int level)
{
	uint32		cap = RUHNSW_TAIL_MAX_CAP;

	while (cap > 1 && RuhnswListsLen(m, level) + RuhnswTailSize(cap) > RUHNSW_PAGE_CONTENTS)
		cap /= 2;
	return 1 + cap;
}

/*
 * The block and byte offset (in the page contents) of the TID tail of
 * vid's node whose header is hdr (RUHNSW_NODE_TIDS set).  Raises
 * ERRCODE_INDEX_CORRUPTED when the reference cannot hold a tail.
 */
static void
RuhnswTailLocation(RuhnswGraph *g, uint32 vid, const RuhnswNodeHeader *hdr,
				   BlockNumber *blkno, uint32 *off)
{
	*blkno = RuhnswUpperBlock(g->group_pages,
							  RuhnswVidGroup(g->nodes_per_page, g->group_pages, vid) +
							  RuhnswUpperDelta(hdr->upper));
	*off = RuhnswUpperOff(hdr->upper) + RuhnswListsLen(g->m, hdr->level);
	if (!(hdr->flags & RUHNSW_NODE_UPPER) || *off % sizeof(uint32) != 0 ||
		*off + RuhnswTailSize(0) > RUHNSW_PAGE_CONTENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ruhnsw index \"%s\" has an invalid TID tail reference for vid %u",
						RelationGetRelationName(g->index), vid)));
}

/* Checks the tail at off of page contents; raises ERRCODE_INDEX_CORRUPTED. */
static void
RuhnswTailCheck(RuhnswGraph *g, uint32 vid, const RuhnswTidTail *tail, uint32 off)
{
	if (RuhnswTailLog2Cap(tail) > RUHNSW_TAIL_MAX_LOG2CAP ||
		RuhnswTailCount(tail) > RuhnswTailCap(tail) ||
		off + RuhnswTailSize(RuhnswTailCap(tail)) > RUHNSW_PAGE_CONTENTS)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ruhnsw index \"%s\" has an invalid TID tail for vid %u (%u of %u TIDs)",
						RelationGetRelationName(g->index), vid, RuhnswTailCount(tail),
						RuhnswTailCap(tail))));
}

/* the header of vid's level-0 record on its page (share lock while copying) */
static bool
RuhnswReadHeader(RuhnswGraph *g, uint32 vid, RuhnswNodeHeader *hdr,
				 BufferAccessStrategy strategy)
{
	BlockNumber blkno = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
	Buffer		buf;

	if (blkno >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (blkno >= g->nblocks)
		return false;
	buf = ReadBufferExtended(g->index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(hdr, PageGetContents(BufferGetPage(buf)) +
		   (Size) (vid % g->nodes_per_page) * g->recsize, sizeof(RuhnswNodeHeader));
	UnlockReleaseBuffer(buf);
	return true;
}

/*
 * RuhnswNodeTids: the heap TIDs of vid's node, whose level-0 record
 * (header hdr) the caller read: the inline TID (unless it is invalid,
 * which only a node with a tail may have), then those of the TID tail,
 * read under its upper page's share lock after the level-0 page was
 * released.  That is safe because writers never move a live TID between
 * the inline slot and the tail in place (RuhnswAddTid,
 * RuhnswVacuumTids): whichever of the two states of each part a reader
 * combines, it has every TID live in both.  *tids gets a palloc'd array
 * (current context); returns their number (>= 1 for a live node).  In
 * memory (a build) nodes have no tails.  Raises ERRCODE_INDEX_CORRUPTED
 * on a bad tail.
 */
int
RuhnswNodeTids(RuhnswGraph *g, uint32 vid, const RuhnswNodeHeader *hdr, ItemPointerData **tids)
{
	BlockNumber blkno;
	uint32		off;
	Buffer		buf;
	const RuhnswTidTail *tail;
	int			n;

	if (g->mem != NULL || !(hdr->flags & RUHNSW_NODE_TIDS))
	{
		*tids = palloc(sizeof(ItemPointerData));
		(*tids)[0] = hdr->tid;
		return 1;
	}
	n = ItemPointerIsValid(&hdr->tid) ? 1 : 0;
	RuhnswTailLocation(g, vid, hdr, &blkno, &off);
	if (blkno >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (blkno >= g->nblocks)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ruhnsw index \"%s\" has a TID tail reference beyond its end for vid %u",
						RelationGetRelationName(g->index), vid)));
	buf = ReadBuffer(g->index, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	tail = (const RuhnswTidTail *) (PageGetContents(BufferGetPage(buf)) + off);
	RuhnswTailCheck(g, vid, tail, off);
	*tids = palloc(sizeof(ItemPointerData) * (n + RuhnswTailCount(tail) + 1));
	if (n > 0)
		(*tids)[0] = hdr->tid;
	memcpy(*tids + n, tail->tids, sizeof(ItemPointerData) * RuhnswTailCount(tail));
	n += RuhnswTailCount(tail);
	UnlockReleaseBuffer(buf);
	return n;
}

/*
 * Locks (exclusive) vid's level-0 page and the upper page the header's
 * tail lives in, in ascending block order, and returns them with the
 * header and tail pointers into the pages (registered with state when it
 * is not NULL: the pointers are then into its copies).  When the node's
 * header no longer matches *expect (flags, upper, tid), unlocks and
 * returns false.
 */
static bool
RuhnswLockTidPages(RuhnswGraph *g, uint32 vid, const RuhnswNodeHeader *expect,
				   BufferAccessStrategy strategy, Buffer *l0buf, Buffer *ubuf,
				   GenericXLogState *state, RuhnswNodeHeader **hdr, RuhnswTidTail **tail)
{
	BlockNumber l0blk = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
	BlockNumber ublk;
	uint32		off;
	Page		l0page,
				upage;

	RuhnswTailLocation(g, vid, expect, &ublk, &off);
	if (ublk >= g->nblocks)
		g->nblocks = RelationGetNumberOfBlocks(g->index);
	if (ublk >= g->nblocks)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ruhnsw index \"%s\" has a TID tail reference beyond its end for vid %u",
						RelationGetRelationName(g->index), vid)));
	*l0buf = ReadBufferExtended(g->index, MAIN_FORKNUM, l0blk, RBM_NORMAL, strategy);
	*ubuf = ReadBufferExtended(g->index, MAIN_FORKNUM, ublk, RBM_NORMAL, strategy);
	if (ublk < l0blk)
	{
		LockBuffer(*ubuf, BUFFER_LOCK_EXCLUSIVE);
		LockBuffer(*l0buf, BUFFER_LOCK_EXCLUSIVE);
	}
	else
	{
		LockBuffer(*l0buf, BUFFER_LOCK_EXCLUSIVE);
		LockBuffer(*ubuf, BUFFER_LOCK_EXCLUSIVE);
	}
	l0page = BufferGetPage(*l0buf);
	*hdr = (RuhnswNodeHeader *) (PageGetContents(l0page) +
								 (Size) (vid % g->nodes_per_page) * g->recsize);
	if ((*hdr)->flags != expect->flags || (*hdr)->upper != expect->upper ||
		!ItemPointerEquals(&(*hdr)->tid, (ItemPointer) &expect->tid))
	{
		UnlockReleaseBuffer(*ubuf);
		UnlockReleaseBuffer(*l0buf);
		return false;
	}
	if (state)
	{
		l0page = RuhnswRegisterPage(g, state, *l0buf);
		upage = RuhnswRegisterPage(g, state, *ubuf);
		*hdr = (RuhnswNodeHeader *) (PageGetContents(l0page) +
									 (Size) (vid % g->nodes_per_page) * g->recsize);
	}
	else
		upage = BufferGetPage(*ubuf);
	*tail = (RuhnswTidTail *) (PageGetContents(upage) + off);
	RuhnswTailCheck(g, vid, *tail, off);
	return true;
}

/*
 * Locks (exclusive) the level-0 page of vid and upper page ublk (if
 * valid) in ascending block order.
 */
static void
RuhnswLockTwo(RuhnswGraph *g, BlockNumber l0blk, BlockNumber ublk, Buffer *l0buf, Buffer *ubuf)
{
	*l0buf = ReadBuffer(g->index, l0blk);
	*ubuf = BlockNumberIsValid(ublk) ? ReadBuffer(g->index, ublk) : InvalidBuffer;
	if (BufferIsValid(*ubuf) && ublk < l0blk)
		LockBuffer(*ubuf, BUFFER_LOCK_EXCLUSIVE);
	LockBuffer(*l0buf, BUFFER_LOCK_EXCLUSIVE);
	if (BufferIsValid(*ubuf) && ublk > l0blk)
		LockBuffer(*ubuf, BUFFER_LOCK_EXCLUSIVE);
}

static void
RuhnswUnlockTwo(Buffer l0buf, Buffer ubuf)
{
	if (BufferIsValid(ubuf))
		UnlockReleaseBuffer(ubuf);
	UnlockReleaseBuffer(l0buf);
}

/*
 * RuhnswAddTid: records heap TID tid in vid's node, the row version of an
 * UPDATE that kept the vector (no graph change).  Returns false, changing
 * nothing, when vid has no live node (the caller inserts one); true when
 * the TID is recorded (or was already).  When the node has no room for
 * one more (its inline TID only, or a full tail) and heap is given, TIDs
 * whose HOT chain no longer refers to vid (pruned, aborted or reused line
 * pointers: RvTamTidRefersToVid; no scan would return them) are dropped
 * first.  The TIDs are then rewritten in place when they fit (one WAL
 * record of the level-0 page and, with a tail, its upper page); else the
 * node gets a new upper record (its lists copied, then a tail of twice the
 * capacity, 1 the first time) at the front of the free space of the first
 * upper page from its group's on with room, and its header names it, in
 * one WAL record of the two pages (plain dirty pages in an unlogged
 * build).  Heap pages are read before the node's pages are locked (an
 * insert's write step holds the metapage's buffer lock meanwhile); index
 * pages are locked as by RuhnswWriteNodes (together, ascending, after
 * block 0 when the caller holds it).  Caller holds RUHNSW_UPDATE_LOCK in
 * ExclusiveLock, or in ShareLock with the metapage's buffer lock held in
 * exclusive mode (an insert's write step, hnswinsert.c), so no other
 * writer rewrites the node's record meanwhile (or builds alone).  Raises
 * ERRCODE_PROGRAM_LIMIT_EXCEEDED when the node would hold more than
 * RuhnswMaxTids TIDs or no upper page within RUHNSW_UPPER_MAX_DELTA groups
 * has room.
 */
bool
RuhnswAddTid(RuhnswGraph *g, Relation heap, uint32 vid, ItemPointer tid)
{
	Assert(g->mem == NULL);
	for (;;)
	{
		RuhnswNodeHeader cur;
		int			level;
		uint32		listslen;
		bool		inl;
		ItemPointerData newtid;
		ItemPointerData *ttids;
		uint32		ntail = 0;
		uint32		ntail0 = 0;	/* the tail's count as read */
		uint32		cap = 0;
		uint32		maxtids;
		uint32		newcap;
		uint32		newlog2;
		uint32		newlen;
		uint32		grp = RuhnswVidGroup(g->nodes_per_page, g->group_pages, vid);
		char	   *lists;
		BlockNumber l0blk = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, vid);
		BlockNumber ublk = InvalidBlockNumber;
		uint32		uoff = 0;
		uint32		used = 0;
		uint32		d;
		Buffer		l0buf,
					ubuf;
		GenericXLogState *state = NULL;
		Page		l0page,
					upage = NULL;
		RuhnswNodeHeader *hdr;
		RuhnswTidTail *tail;

		CHECK_FOR_INTERRUPTS();
		if (!RuhnswReadHeader(g, vid, &cur, NULL) ||
			(cur.flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED)
			return false;
		level = Min(cur.level, RUHNSW_MAX_LEVEL);
		listslen = RuhnswListsLen(g->m, level);
		maxtids = RuhnswMaxTids(g->m, level);
		inl = ItemPointerIsValid(&cur.tid);
		if (inl && ItemPointerEquals(&cur.tid, tid))
			return true;
		if (cur.flags & RUHNSW_NODE_TIDS)
		{
			/* the tail: capacity and TIDs */
			RuhnswTidTail *t;

			RuhnswTailLocation(g, vid, &cur, &ublk, &uoff);
			if (ublk >= g->nblocks)
				g->nblocks = RelationGetNumberOfBlocks(g->index);
			if (ublk >= g->nblocks)
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("ruhnsw index \"%s\" has a TID tail reference beyond its end for vid %u",
								RelationGetRelationName(g->index), vid)));
			ubuf = ReadBuffer(g->index, ublk);
			LockBuffer(ubuf, BUFFER_LOCK_SHARE);
			t = (RuhnswTidTail *) (PageGetContents(BufferGetPage(ubuf)) + uoff);
			RuhnswTailCheck(g, vid, t, uoff);
			cap = RuhnswTailCap(t);
			ntail = RuhnswTailCount(t);
			ntail0 = ntail;
			ttids = palloc(sizeof(ItemPointerData) * (cap + 1));
			memcpy(ttids, t->tids, sizeof(ItemPointerData) * ntail);
			UnlockReleaseBuffer(ubuf);
		}
		else
			ttids = palloc(sizeof(ItemPointerData));
		for (uint32 i = 0; i < ntail; i++)
			if (ItemPointerEquals(&ttids[i], tid))
				return true;

		/* no room: drop the TIDs no scan would return any more */
		if (inl && ntail >= cap && heap != NULL)
		{
			uint32		nkeep = 0;

			inl = RvTamTidRefersToVid(heap, &cur.tid, g->attnum, g->store, vid);
			for (uint32 i = 0; i < ntail; i++)
			{
				CHECK_FOR_INTERRUPTS();
				if (RvTamTidRefersToVid(heap, &ttids[i], g->attnum, g->store, vid))
					ttids[nkeep++] = ttids[i];
			}
			ntail = nkeep;
		}

		/*
		 * Where tid goes: the inline slot when free, else the tail.  A TID
		 * kept stays where it is (see RuhnswNodeTids).
		 */
		newtid = cur.tid;
		if (!inl)
			newtid = *tid;
		else
		{
			ttids = repalloc(ttids, sizeof(ItemPointerData) * (ntail + 1));
			ttids[ntail++] = *tid;
		}

		if (ntail <= cap)
		{
			/* in place: the inline TID and the tail (if any) */
			RuhnswLockTwo(g, l0blk, ublk, &l0buf, &ubuf);
			hdr = (RuhnswNodeHeader *) (PageGetContents(BufferGetPage(l0buf)) +
										(Size) (vid % g->nodes_per_page) * g->recsize);
			if (hdr->flags != cur.flags || hdr->upper != cur.upper ||
				!ItemPointerEquals(&hdr->tid, &cur.tid) ||
				(BufferIsValid(ubuf) &&
				 RuhnswTailCount((RuhnswTidTail *) (PageGetContents(BufferGetPage(ubuf)) + uoff)) != ntail0))
			{
				RuhnswUnlockTwo(l0buf, ubuf);
				continue;		/* changed since read: again */
			}
			if (!g->unlogged_build)
			{
				state = GenericXLogStart(g->index);
				l0page = RuhnswRegisterPage(g, state, l0buf);
				if (BufferIsValid(ubuf))
					upage = RuhnswRegisterPage(g, state, ubuf);
			}
			else
			{
				l0page = BufferGetPage(l0buf);
				if (BufferIsValid(ubuf))
					upage = BufferGetPage(ubuf);
			}
			hdr = (RuhnswNodeHeader *) (PageGetContents(l0page) +
										(Size) (vid % g->nodes_per_page) * g->recsize);
			hdr->tid = newtid;
			if (upage != NULL)
			{
				tail = (RuhnswTidTail *) (PageGetContents(upage) + uoff);
				RuhnswTailCheck(g, vid, tail, uoff);
				RuhnswTailSetCount(tail, ntail);
				memcpy(tail->tids, ttids, sizeof(ItemPointerData) * ntail);
			}
			if (state)
				GenericXLogFinish(state);
			else
			{
				MarkBufferDirty(l0buf);
				if (BufferIsValid(ubuf))
					MarkBufferDirty(ubuf);
			}
			RuhnswUnlockTwo(l0buf, ubuf);
			return true;
		}

		/* a new upper record: the lists, then a tail of twice the room */
		if (1 + ntail > maxtids)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("ruhnsw index \"%s\" cannot hold more than %u row versions of vector id %u",
							RelationGetRelationName(g->index), maxtids, vid),
					 errhint("VACUUM the table to remove dead row versions.")));
		for (newlog2 = 0; (1U << newlog2) <= cap || (1U << newlog2) < ntail; newlog2++)
			;
		newcap = 1U << newlog2;
		Assert(newcap <= maxtids - 1);
		newlen = listslen + RuhnswTailSize(newcap);
		lists = palloc(Max(listslen, 1));
		memset(lists, 0xFF, Max(listslen, 1));
		if (level >= 1 && (cur.flags & RUHNSW_NODE_UPPER))
		{
			char	   *full = palloc(g->nodesize);

			if (!RuhnswReadNode(g, vid, full))
				continue;
			memcpy(lists, full + g->recsize, listslen);
			pfree(full);
		}
		for (d = 0;; d++)
		{
			ublk = RuhnswUpperBlock(g->group_pages, grp + d);
			used = RuhnswUpperUsed(g, ublk);
			if (used + newlen <= RUHNSW_PAGE_CONTENTS)
				break;
			if (d >= RUHNSW_UPPER_MAX_DELTA)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("ruhnsw index \"%s\" has no room for the upper record of vid %u",
								RelationGetRelationName(g->index), vid)));
			CHECK_FOR_INTERRUPTS();
		}
		if (ublk >= g->nblocks)
			g->nblocks = RelationGetNumberOfBlocks(g->index);
		if (ublk >= g->nblocks)
		{
			RuhnswExtendTo(g, ublk);
			g->nblocks = ublk + 1;
		}

		RuhnswLockTwo(g, l0blk, ublk, &l0buf, &ubuf);
		hdr = (RuhnswNodeHeader *) (PageGetContents(BufferGetPage(l0buf)) +
									(Size) (vid % g->nodes_per_page) * g->recsize);
		if (hdr->flags != cur.flags || hdr->upper != cur.upper ||
			!ItemPointerEquals(&hdr->tid, &cur.tid) ||
			((RuhnswPageOpaque) PageGetSpecialPointer(BufferGetPage(ubuf)))->upper_used != used)
		{
			RuhnswUnlockTwo(l0buf, ubuf);
			continue;			/* changed since read: again */
		}
		if (!g->unlogged_build)
		{
			state = GenericXLogStart(g->index);
			l0page = RuhnswRegisterPage(g, state, l0buf);
			upage = RuhnswRegisterPage(g, state, ubuf);
		}
		else
		{
			l0page = BufferGetPage(l0buf);
			upage = BufferGetPage(ubuf);
		}
		hdr = (RuhnswNodeHeader *) (PageGetContents(l0page) +
									(Size) (vid % g->nodes_per_page) * g->recsize);
		memcpy(PageGetContents(upage) + used, lists, listslen);
		tail = (RuhnswTidTail *) (PageGetContents(upage) + used + listslen);
		memset(tail, 0, RuhnswTailSize(newcap));
		tail->info = (uint16) (newlog2 << 12);
		RuhnswTailSetCount(tail, ntail);
		memcpy(tail->tids, ttids, sizeof(ItemPointerData) * ntail);
		((RuhnswPageOpaque) PageGetSpecialPointer(upage))->upper_used = used + newlen;
		hdr->tid = newtid;
		hdr->flags |= RUHNSW_NODE_UPPER | RUHNSW_NODE_TIDS;
		hdr->upper = RuhnswUpperRef(d, used);
		if (state)
			GenericXLogFinish(state);
		else
		{
			MarkBufferDirty(l0buf);
			MarkBufferDirty(ubuf);
		}
		RuhnswUnlockTwo(l0buf, ubuf);
		pfree(lists);
		return true;
	}
}

/*
 * RuhnswVacuumTids: ambulkdelete's pass over the TIDs of vid's live node
 * with a TID tail: calls callback once for each TID and drops those it
 * reports dead: a dead inline TID is made invalid, the tail compacted (no
 * live TID moves between them: see RuhnswNodeTids).  When none is left
 * the node is marked RUHNSW_NODE_DELETED (tail emptied).  One WAL record of
 * the level-0 and upper page when anything changed.  Adds the TIDs
 * dropped to *nremoved; returns the number left (0: deleted).  Pages are
 * read through strategy.  Caller holds RUHNSW_UPDATE_LOCK in
 * ExclusiveLock.
 */
int
RuhnswVacuumTids(RuhnswGraph *g, uint32 vid, IndexBulkDeleteCallback callback,
				 void *callback_state, BufferAccessStrategy strategy, double *nremoved)
{
	for (;;)
	{
		RuhnswNodeHeader cur;
		Buffer		l0buf,
					ubuf;
		RuhnswNodeHeader *hdr;
		RuhnswTidTail *tail;
		ItemPointerData *live;
		int			nlive = 0;
		int			n;
		bool		inl;
		GenericXLogState *state;

		if (!RuhnswReadHeader(g, vid, &cur, strategy) ||
			(cur.flags & (RUHNSW_NODE_USED | RUHNSW_NODE_DELETED)) != RUHNSW_NODE_USED)
			return 0;
		if (!(cur.flags & RUHNSW_NODE_TIDS))
			elog(ERROR, "ruhnsw: RuhnswVacuumTids called for vid %u, which has no TID tail", vid);
		if (!RuhnswLockTidPages(g, vid, &cur, strategy, &l0buf, &ubuf, NULL, &hdr, &tail))
			continue;
		/* the inline TID (if valid) is live[0] when it stays, tail's after it */
		inl = ItemPointerIsValid(&hdr->tid);
		n = (inl ? 1 : 0) + RuhnswTailCount(tail);
		live = palloc(sizeof(ItemPointerData) * (n + 1));
		if (inl)
		{
			inl = !callback(&hdr->tid, callback_state);
			if (inl)
				live[nlive++] = hdr->tid;
		}
		for (uint32 i = 0; i < RuhnswTailCount(tail); i++)
		{
			ItemPointerData t = tail->tids[i];

			if (!callback(&t, callback_state))
				live[nlive++] = t;
		}
		if (nlive == n)
		{
			UnlockReleaseBuffer(ubuf);
			UnlockReleaseBuffer(l0buf);
			pfree(live);
			return n;
		}
		state = GenericXLogStart(g->index);
		hdr = (RuhnswNodeHeader *) (PageGetContents(RuhnswRegisterPage(g, state, l0buf)) +
									(Size) (vid % g->nodes_per_page) * g->recsize);
		tail = (RuhnswTidTail *) ((char *) RuhnswRegisterPage(g, state, ubuf) +
								  ((char *) tail - (char *) BufferGetPage(ubuf)));
		if (nlive == 0)
		{
			hdr->flags |= RUHNSW_NODE_DELETED;
			RuhnswTailSetCount(tail, 0);
		}
		else
		{
			/* no live TID moves between the inline slot and the tail */
			if (!inl)
				ItemPointerSetInvalid(&hdr->tid);
			RuhnswTailSetCount(tail, nlive - (inl ? 1 : 0));
			memcpy(tail->tids, live + (inl ? 1 : 0), sizeof(ItemPointerData) * (nlive - (inl ? 1 : 0)));
		}
		GenericXLogFinish(state);
		UnlockReleaseBuffer(ubuf);
		UnlockReleaseBuffer(l0buf);
		*nremoved += n - nlive;
		pfree(live);
		return nlive;
	}
}

/*
 * RuhnswLevelSlots: index of the first slot of level's list in a record,
 * and its capacity in *count.
 */
int
RuhnswLevelSlots(RuhnswGraph *g, int level, int *count)
{
	if (level == 0)
	{
		*count = 2 * g->m;
		return 0;
	}
	*count = g->m;
	return 2 * g->m + (level - 1) * g->m;
}

/*
 * RuhnswRandomLevel: vid's level, floor(-ln(u) / ln(m)) capped at
 * RUHNSW_MAX_LEVEL, with u in (0, 1] derived from a hash of vid.
 */
int
RuhnswRandomLevel(uint32 vid, int m)
{
	uint32		h = hash_bytes_uint32(vid ^ 0x9e3779b9);
	double		u = ((double) h + 1.0) / 4294967296.0;
	int			level = (int) floor(-log(u) / log((double) m));

	return Min(level, RUHNSW_MAX_LEVEL);
}

/*
 * RuhnswMetricKind: the store distance kind whose order is metric's (the
 * squared L2 distance for L2, the negative inner product for IP).
 */
RvDistanceKind
RuhnswMetricKind(RuhnswMetric metric)
{
	switch (metric)
	{
		case RUHNSW_L2:
			return RV_DIST_L2_SQUARED;
		case RUHNSW_IP:
			return RV_DIST_NEG_INNER_PRODUCT;
		case RUHNSW_COSINE:
			return RV_DIST_COSINE;
		case RUHNSW_L1:
			return RV_DIST_L1;
	}
	elog(ERROR, "unknown ruhnsw metric %d", (int) metric);
	return RV_DIST_NONE;		/* keep compiler quiet */
}

/*
 * RuhnswQueryBegin: a scorer of q (g->dims floats) over g's store under
 * the index metric and g->mode, using g->cache when set.  Free it with
 * RuhnswQueryEnd.
 */
RvScorer *
RuhnswQueryBegin(RuhnswGraph *g, const float *q)
{
	return RvStoreBeginScore(g->store, g->kind, q, g->mode, g->cache);
}

/* RuhnswQueryNode: the same with vid's stored vector as the query. */
RvScorer *
RuhnswQueryNode(RuhnswGraph *g, uint32 vid)
{
	return RvStoreBeginScoreVid(g->store, g->kind, vid, g->mode, g->cache);
}

/*
 * RuhnswQueryNeighbour: a scorer of a stored neighbour's vector for its
 * distances to other stored vectors (neighbour selection, list updates):
 * with g->code_queries (aminsert) its SQ8 code decoded when it has one
 * (RvStoreBeginScoreVidCode), so no float page is read; else exactly as
 * RuhnswQueryNode.  Free it with RuhnswQueryEnd.
 */
RvScorer *
RuhnswQueryNeighbour(RuhnswGraph *g, uint32 vid)
{
	if (g->code_queries)
		return RvStoreBeginScoreVidCode(g->store, g->kind, vid, g->mode, g->cache);
	return RuhnswQueryNode(g, vid);
}

/* RuhnswQueryEnd: frees a scorer of RuhnswQueryBegin/RuhnswQueryNode. */
void
RuhnswQueryEnd(RvScorer *q)
{
	RvStoreEndScore(q);
}

/*
 * RuhnswDistances: out[i] = the index metric between query q and vids[i]
 * (n of them), through the store's scorer (on codes when g->mode says so,
 * else exact).  For L2 the value is the squared distance (same order);
 * NaN (cosine with a zero vector) becomes +Infinity.
 */
void
RuhnswDistances(RuhnswGraph *g, RvScorer *q, const uint32 *vids, int n, float *out)
{
	uint64		buf[64];

	while (n > 0)
	{
		int			k = Min(n, 64);

		for (int i = 0; i < k; i++)
			buf[i] = vids[i];
		RvStoreScoreBatch(q, buf, k, out, NULL);
		for (int i = 0; i < k; i++)
			if (isnan(out[i]))
				out[i] = get_float4_infinity();
		vids += k;
		out += k;
		n -= k;
	}
}

/*
 * RuhnswScoreUnvisited: of the neighbour list list[0..count) (ending early
 * at RUHNSW_INVALID_VID), adds the vids not yet in visited to it and
 * scores them against q in one batch: their vids into newvids and
 * distances into newdists (room for count each).  Returns their number.
 */
int
RuhnswScoreUnvisited(RuhnswGraph *g, RvScorer *q, RuhnswVidSet *visited, const uint32 *list,
					 int count, uint32 *newvids, float *newdists)
{
	int			nnew = 0;

	for (int i = 0; i < count; i++)
	{
		uint32		e = list[i];

		if (e == RUHNSW_INVALID_VID)
			break;
		if (RuhnswVidSetAdd(visited, e))
			newvids[nnew++] = e;
	}
	RuhnswDistances(g, q, newvids, nnew, newdists);
	return nnew;
}

/* RuhnswDistance: RuhnswDistances for one vid. */
float
RuhnswDistance(RuhnswGraph *g, RvScorer *q, uint32 vid)
{
	float		d;

	RuhnswDistances(g, q, &vid, 1, &d);
	return d;
}

/* RuhnswVectorNorm: the L2 norm of v. */
float
RuhnswVectorNorm(const float *v, int dims)
{
	double		s = 0;

	for (int i = 0; i < dims; i++)
		s += (double) v[i] * v[i];
	return (float) sqrt(s);
}

/* ---- vid sets ---- */

/* RuhnswVidSetInit: an empty set with room for about capacity/2 vids. */
void
RuhnswVidSetInit(RuhnswVidSet *set, uint32 capacity)
{
	uint32		size = 64;

	while (size < capacity)
		size <<= 1;
	set->slots = palloc(sizeof(uint32) * size);
	memset(set->slots, 0xFF, sizeof(uint32) * size);
	set->mask = size - 1;
	set->count = 0;
	set->nhash = 0;
	set->bits = NULL;
	set->range = 0;
}

/*
 * RuhnswVidSetInitRange: an empty set whose vids below range live in a
 * bitmap (range / 8 bytes, zeroed here: for a scan's visited set, cheaper
 * than hashing every vid it scores), the rest in a hash set of about
 * capacity / 2.
 */
void
RuhnswVidSetInitRange(RuhnswVidSet *set, uint32 range, uint32 capacity)
{
	RuhnswVidSetInit(set, capacity);
	set->range = range;
	set->bits = palloc0(sizeof(uint64) * ((range + 63) / 64 + 1));
}

/* RuhnswVidSetClear: empties the set. */
void
RuhnswVidSetClear(RuhnswVidSet *set)
{
	if (set->nhash > 0)
		memset(set->slots, 0xFF, sizeof(uint32) * (set->mask + 1));
	if (set->count > set->nhash)
		memset(set->bits, 0, sizeof(uint64) * ((set->range + 63) / 64 + 1));
	set->count = 0;
	set->nhash = 0;
}

static inline uint32
RuhnswVidHash(uint32 vid)
{
	return vid * 0x9E3779B1U;
}

static void
RuhnswVidSetGrow(RuhnswVidSet *set)
{
	uint32	   *old = set->slots;
	uint32		oldsize = set->mask + 1;
	uint32		size = oldsize * 2;

	/* stay in the set's own context: callers reset shorter-lived ones */
	set->slots = MemoryContextAlloc(GetMemoryChunkContext(old), sizeof(uint32) * size);
	memset(set->slots, 0xFF, sizeof(uint32) * size);
	set->mask = size - 1;
	for (uint32 i = 0; i < oldsize; i++)
	{
		uint32		j;

		if (old[i] == RUHNSW_INVALID_VID)
			continue;
		j = RuhnswVidHash(old[i]) & set->mask;
		while (set->slots[j] != RUHNSW_INVALID_VID)
			j = (j + 1) & set->mask;
		set->slots[j] = old[i];
	}
	pfree(old);
}

/* RuhnswVidSetAdd: adds vid; returns false if it was already present. */
bool
RuhnswVidSetAdd(RuhnswVidSet *set, uint32 vid)
{
	uint32		i;

	if (vid < set->range)
	{
		uint64		bit = UINT64CONST(1) << (vid % 64);

		if (set->bits[vid / 64] & bit)
			return false;
		set->bits[vid / 64] |= bit;
		set->count++;
		return true;
	}
	if ((set->nhash + 1) * 2 > set->mask + 1)
		RuhnswVidSetGrow(set);
	i = RuhnswVidHash(vid) & set->mask;
	while (set->slots[i] != RUHNSW_INVALID_VID)
	{
		if (set->slots[i] == vid)
			return false;
		i = (i + 1) & set->mask;
	}
	set->slots[i] = vid;
	set->count++;
	set->nhash++;
	return true;
}

/* RuhnswVidSetContains: true if vid is in the set. */
bool
RuhnswVidSetContains(RuhnswVidSet *set, uint32 vid)
{
	uint32		i;

	if (vid < set->range)
		return (set->bits[vid / 64] & (UINT64CONST(1) << (vid % 64))) != 0;
	i = RuhnswVidHash(vid) & set->mask;
	while (set->slots[i] != RUHNSW_INVALID_VID)
	{
		if (set->slots[i] == vid)
			return true;
		i = (i + 1) & set->mask;
	}
	return false;
}

/*
 * ---- distance maps: vid -> distance to one query (open addressing) ----
 */

/* RuhnswDistMapInit: an empty map with room for about capacity/2 vids. */
void
RuhnswDistMapInit(RuhnswDistMap *map, uint32 capacity)
{
	uint32		size = 64;

	while (size < capacity)
		size <<= 1;
	map->vids = palloc(sizeof(uint32) * size);
	map->dists = palloc(sizeof(float) * size);
	memset(map->vids, 0xFF, sizeof(uint32) * size);
	map->mask = size - 1;
	map->count = 0;
}

/* RuhnswDistMapClear: empties the map. */
void
RuhnswDistMapClear(RuhnswDistMap *map)
{
	if (map->count > 0)
		memset(map->vids, 0xFF, sizeof(uint32) * (map->mask + 1));
	map->count = 0;
}

static void
RuhnswDistMapGrow(RuhnswDistMap *map)
{
	uint32	   *oldvids = map->vids;
	float	   *olddists = map->dists;
	uint32		oldsize = map->mask + 1;
	MemoryContext cxt = GetMemoryChunkContext(oldvids);

	map->vids = MemoryContextAlloc(cxt, sizeof(uint32) * oldsize * 2);
	map->dists = MemoryContextAlloc(cxt, sizeof(float) * oldsize * 2);
	memset(map->vids, 0xFF, sizeof(uint32) * oldsize * 2);
	map->mask = oldsize * 2 - 1;
	map->count = 0;
	for (uint32 i = 0; i < oldsize; i++)
		if (oldvids[i] != RUHNSW_INVALID_VID)
			RuhnswDistMapPut(map, oldvids[i], olddists[i]);
	pfree(oldvids);
	pfree(olddists);
}

/* RuhnswDistMapPut: records dist for vid (replacing an earlier value). */
void
RuhnswDistMapPut(RuhnswDistMap *map, uint32 vid, float dist)
{
	uint32		i;

	if ((map->count + 1) * 2 > map->mask + 1)
		RuhnswDistMapGrow(map);
	i = (vid * 0x9E3779B1U) & map->mask;
	while (map->vids[i] != RUHNSW_INVALID_VID && map->vids[i] != vid)
		i = (i + 1) & map->mask;
	if (map->vids[i] == RUHNSW_INVALID_VID)
	{
		map->vids[i] = vid;
		map->count++;
	}
	map->dists[i] = dist;
}

/* RuhnswDistMapGet: true, with *dist, if the map holds vid. */
bool
RuhnswDistMapGet(const RuhnswDistMap *map, uint32 vid, float *dist)
{
	uint32		i = (vid * 0x9E3779B1U) & map->mask;

	while (map->vids[i] != RUHNSW_INVALID_VID)
	{
		if (map->vids[i] == vid)
		{
			*dist = map->dists[i];
			return true;
		}
		i = (i + 1) & map->mask;
	}
	return false;
}

/*
 * ---- binary heaps of candidates ----
 *
 * RuhnswHeapPush / RuhnswHeapPop: h holds *n candidates as a min-heap by
 * distance (max false) or a max-heap (max true); the caller keeps room for
 * one more before a push.  RuhnswCandCmp orders candidates by ascending
 * distance, then vid (for qsort).
 */

/* min-heap when max is false, max-heap when true */
static inline bool
RuhnswHeapBefore(const RuhnswCand *a, const RuhnswCand *b, bool max)
{
	return max ? a->dist > b->dist : a->dist < b->dist;
}

void
RuhnswHeapPush(RuhnswCand *h, int *n, RuhnswCand c, bool max)
{
	int			i = (*n)++;

	while (i > 0)
	{
		int			parent = (i - 1) / 2;

		if (!RuhnswHeapBefore(&c, &h[parent], max))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = c;
}

RuhnswCand
RuhnswHeapPop(RuhnswCand *h, int *n, bool max)
{
	RuhnswCand	top = h[0];
	RuhnswCand	last = h[--(*n)];
	int			i = 0;

	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= *n)
			break;
		if (child + 1 < *n && RuhnswHeapBefore(&h[child + 1], &h[child], max))
			child++;
		if (!RuhnswHeapBefore(&h[child], &last, max))
			break;
		h[i] = h[child];
		i = child;
	}
	if (*n > 0)
		h[i] = last;
	return top;
}

int
RuhnswCandCmp(const void *a, const void *b)
{
	const RuhnswCand *x = a;
	const RuhnswCand *y = b;

	if (x->dist < y->dist)
		return -1;
	if (x->dist > y->dist)
		return 1;
	return (x->vid > y->vid) - (x->vid < y->vid);
}

/*
 * RuhnswLayerOffer: SEARCH-LAYER's step for a newly scored node ec: when
 * the result heap g->wbuf (max-heap, *nw entries) has fewer than ef or ec
 * is closer than its farthest, ec joins it (the farthest then leaves if
 * there are more than ef) and the candidate heap g->heapbuf (min-heap, *nc
 * entries, grown as needed).  g->wbuf must have room for ef + 1.
 */
void
RuhnswLayerOffer(RuhnswGraph *g, int *nc, int *nw, int ef, RuhnswCand ec)
{
	if (*nw < ef || ec.dist < g->wbuf[0].dist)
	{
		if (*nc >= g->heapcap)
		{
			g->heapcap *= 2;
			g->heapbuf = repalloc(g->heapbuf, sizeof(RuhnswCand) * g->heapcap);
		}
		RuhnswHeapPush(g->heapbuf, nc, ec, false);
		RuhnswHeapPush(g->wbuf, nw, ec, true);
		if (*nw > ef)
			RuhnswHeapPop(g->wbuf, nw, true);
	}
}

/*
 * RuhnswLayerResult: the nw nodes of g->wbuf, sorted by ascending distance,
 * in *result (palloc'd in the current context); returns nw.
 */
int
RuhnswLayerResult(RuhnswGraph *g, int nw, RuhnswCand **result)
{
	RuhnswCand *out = palloc(sizeof(RuhnswCand) * Max(nw, 1));

	memcpy(out, g->wbuf, sizeof(RuhnswCand) * nw);
	qsort(out, nw, sizeof(RuhnswCand), RuhnswCandCmp);
	*result = out;
	return nw;
}

/*
 * RuhnswSearchLayer: HNSW's SEARCH-LAYER.  Starting from the neps entry
 * candidates eps (with their distances to q), finds up to ef nearest
 * nodes to q at level.  *result (palloc'd in the current context) gets
 * them sorted by ascending distance; returns their number.  Deleted nodes
 * are traversed and included: callers filter them.  Reads node records
 * (share locks, one at a time); CHECK_FOR_INTERRUPTS once per expansion.
 */
int
RuhnswSearchLayer(RuhnswGraph *g, RvScorer *q, RuhnswCand *eps, int neps,
				  int ef, int level, RuhnswCand **result)
{
	int			nc = 0;
	int			nw = 0;
	int			first,
				count;
	uint32	   *slots;
	uint32		newvids[RUHNSW_MAX_SLOTS];
	float		newdists[RUHNSW_MAX_SLOTS];
	int			nnew;

	RuhnswVidSetClear(&g->visited);
	if (g->wcap < ef + 1)
	{
		g->wcap = ef + 1;
		g->wbuf = repalloc(g->wbuf, sizeof(RuhnswCand) * g->wcap);
	}
	for (int i = 0; i < neps; i++)
	{
		if (!RuhnswVidSetAdd(&g->visited, eps[i].vid))
			continue;
		if (nc >= g->heapcap)
		{
			g->heapcap *= 2;
			g->heapbuf = repalloc(g->heapbuf, sizeof(RuhnswCand) * g->heapcap);
		}
		RuhnswHeapPush(g->heapbuf, &nc, eps[i], false);
		RuhnswHeapPush(g->wbuf, &nw, eps[i], true);
		if (nw > ef)
			RuhnswHeapPop(g->wbuf, &nw, true);
	}

	first = RuhnswLevelSlots(g, level, &count);
	slots = RuhnswNodeSlots(g->nodebuf);
	while (nc > 0)
	{
		RuhnswCand	c = RuhnswHeapPop(g->heapbuf, &nc, false);

		CHECK_FOR_INTERRUPTS();
		if (nw >= ef && c.dist > g->wbuf[0].dist)
			break;
		if (!(level > 0 ? RuhnswReadNode(g, c.vid, g->nodebuf) :
			  RuhnswReadNodeLevel0(g, c.vid, g->nodebuf)))
			continue;
		if (!(((RuhnswNodeHeader *) g->nodebuf)->flags & RUHNSW_NODE_USED))
			continue;
		nnew = RuhnswScoreUnvisited(g, q, &g->visited, slots + first, count, newvids, newdists);
		for (int i = 0; i < nnew; i++)
		{
			RuhnswCand	ec;

			ec.vid = newvids[i];
			ec.dist = newdists[i];
			if (g->distmap != NULL)
				RuhnswDistMapPut(g->distmap, ec.vid, ec.dist);
			RuhnswLayerOffer(g, &nc, &nw, ef, ec);
		}
	}

	return RuhnswLayerResult(g, nw, result);
}

/*
 * RuhnswSearchGraph: the search of a scan for q over g (whose entry point
 * is set and valid): greedy descent (ef 1) from the entry point through
 * the upper levels, then the level-0 search with ef seeded with both the
 * node the descent reached and the entry point.  The second seed costs one
 * distance and is expanded only while it is among the ef nearest found,
 * so it changes nothing for ordinary searches; but it makes a search with
 * ef at least the number of nodes visit the whole level-0 graph reachable
 * from the entry point, which RuhnswRepairReachability keeps covering every
 * live node.  *result and the return value as RuhnswSearchLayer.
 */
int
RuhnswSearchGraph(RuhnswGraph *g, RvScorer *q, int ef, RuhnswCand **result)
{
	RuhnswCand	eps[2];
	int			neps = 1;

	RuhnswDescend(g, q, eps);
	if (eps[0].vid != eps[1].vid)
		neps = 2;
	return RuhnswSearchLayer(g, q, eps, neps, ef, 0, result);
}

/*
 * RuhnswDescend: HNSW's greedy descent (ef 1) from g's entry point (set
 * and valid) through the upper levels to level 1: eps[0] gets the node it
 * reached, eps[1] the entry point, each with its distance to q (they may
 * be the same node).  Reads node records under share locks one at a time.
 */
void
RuhnswDescend(RuhnswGraph *g, RvScorer *q, RuhnswCand eps[2])
{
	eps[0].vid = g->entry_vid;
	eps[0].dist = RuhnswDistance(g, q, g->entry_vid);
	eps[1] = eps[0];
	for (int lc = g->entry_level; lc > 0; lc--)
	{
		RuhnswCand *w;
		int			nw = RuhnswSearchLayer(g, q, &eps[0], 1, 1, lc, &w);

		if (nw > 0)
			eps[0] = w[0];
		pfree(w);
	}
}

/* a selected candidate and the scorer of its vector (NULL until needed) */
typedef struct RuhnswSelCand
{
	RuhnswCand	c;
	RvScorer   *q;
} RuhnswSelCand;

static int
RuhnswSelCandCmp(const void *a, const void *b)
{
	return RuhnswCandCmp(&((const RuhnswSelCand *) a)->c, &((const RuhnswSelCand *) b)->c);
}

/*
 * RuhnswSelectNeighbors: HNSW's neighbour-selection heuristic (Malkov and
 * Yashunin, "Efficient and robust approximate nearest neighbor search using
 * Hierarchical Navigable Small World graphs", 2016, Algorithm 4 with
 * keepPrunedConnections).  cands (sorted by ascending distance to the base
 * node) are taken in order; a candidate is kept when it is closer to the
 * base than to every kept one; when fewer than max are kept, the pruned
 * ones fill up the rest.  The vid exclude (the base itself) is skipped.
 * Writes at most max candidates to out (sorted) and returns their number.
 *
 * The distance from a candidate to a kept one is scored with the kept
 * one's vector as the query (a scorer per kept candidate, made when first
 * needed), so a selection prepares at most max queries rather than one
 * per candidate, as pgvector's and our parallel build's selections do.
 * When outq is not NULL, outq[i] gets the scorer of out[i]'s vector made
 * here, or NULL (a fill-up, or one no test needed): the caller ends those
 * (RuhnswQueryEnd); otherwise they are ended here.
 */
int
RuhnswSelectNeighbors(RuhnswGraph *g, RuhnswCand *cands, int ncands, int max,
					  uint32 exclude, RuhnswCand *out, RvScorer **outq)
{
	int			nout = 0;
	int			npruned = 0;
	RuhnswSelCand *sel = palloc(sizeof(RuhnswSelCand) * Max(max, 1));
	RuhnswCand *pruned = palloc(sizeof(RuhnswCand) * Max(ncands, 1));

	for (int i = 0; i < ncands && nout < max; i++)
	{
		bool		good = true;

		if (cands[i].vid == exclude)
			continue;
		for (int j = 0; j < nout; j++)
		{
			if (sel[j].q == NULL)
				sel[j].q = RuhnswQueryNeighbour(g, sel[j].c.vid);
			if (RuhnswDistance(g, sel[j].q, cands[i].vid) < cands[i].dist)
			{
				good = false;
				break;
			}
		}
		if (good)
		{
			sel[nout].c = cands[i];
			sel[nout++].q = NULL;
		}
		else
			pruned[npruned++] = cands[i];
	}
	for (int i = 0; i < npruned && nout < max; i++)
	{
		sel[nout].c = pruned[i];
		sel[nout++].q = NULL;
	}
	if (nout > 1)
		qsort(sel, nout, sizeof(RuhnswSelCand), RuhnswSelCandCmp);
	for (int i = 0; i < nout; i++)
	{
		out[i] = sel[i].c;
		if (outq != NULL)
			outq[i] = sel[i].q;
		else if (sel[i].q != NULL)
			RuhnswQueryEnd(sel[i].q);
	}
	pfree(pruned);
	pfree(sel);
	return nout;
}

/*
 * RuhnswGetStore: the store the index covers, per *meta (store_relid
 * valid), of the index's table; NULL when the table has no store with that
 * relation any more (see the invariants in ruhnsw.h).  When heapRel is NULL
 * the table is opened (NoLock: the caller's command holds a lock on it) and
 * closed again; the store handle is cached per backend.  Raises
 * ERRCODE_INDEX_CORRUPTED when the store's dims differ from the index's.
 */
RvStore *
RuhnswGetStore(Relation heapRel, Relation index, const RuhnswMetaPageData *meta)
{
	RvStore    *store;
	Relation	rel = heapRel ? heapRel : relation_open(index->rd_index->indrelid, NoLock);

	Assert(OidIsValid(meta->store_relid));
	store = RvTamOpenStore(rel, RV_KEY_RELID(meta->store_relid));
	if (heapRel == NULL)
		relation_close(rel, NoLock);
	if (store != NULL && store->dims != meta->dims)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("ruhnsw index \"%s\" covers vectors of %d dimensions, but its store has %d",
						RelationGetRelationName(index), meta->dims, store->dims)));
	return store;
}

/*
 * RuhnswResetGraph: empties the index whose store is gone (see ruhnsw.h):
 * every node page is reinitialized (one GenericXLog record per page) and
 * *meta is reset to cover no store, then written.  Caller holds
 * RUHNSW_UPDATE_LOCK in ExclusiveLock.
 */
void
RuhnswResetGraph(Relation index, RuhnswMetaPageData *meta)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blkno = RUHNSW_METAPAGE_BLKNO + 1; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(index, blkno);
		GenericXLogState *state;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(index);
		RuhnswInitPage(GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE),
					   RuhnswBlockIsUpper(meta->group_pages, blkno));
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
	meta->store_relid = InvalidOid;
	meta->storeno = -1;
	meta->dims = 0;
	meta->entry_vid = RUHNSW_INVALID_VID;
	meta->entry_level = -1;
	RuhnswWriteMeta(index, meta);
}

/*
 * RuhnswLayoutPages: lays the in-memory graph g (g->mem, full records) out
 * as the index's node pages and hands each page image, in block order
 * from block 1 on, to emit.  Upper records are assigned in vid order, each
 * at the front of the free space of its group's upper page or, when that
 * is full, of the next one (the upper references in g->mem are set).
 * Raises ERRCODE_PROGRAM_LIMIT_EXCEEDED when a reference cannot be
 * encoded.  CHECK_FOR_INTERRUPTS once per page.
 */
void
RuhnswLayoutPages(RuhnswGraph *g, void (*emit) (const char *page, void *arg), void *arg)
{
	PGAlignedBlock page;
	uint32		cur = 0;
	uint32		curfill = 0;
	bool		anyupper = false;
	uint64		vptr = 0;
	BlockNumber maxblk;

	Assert(g->mem != NULL);
	if (g->memvids == 0)
		return;
	for (uint64 vid = 0; vid < g->memvids; vid++)
	{
		RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) (g->mem + vid * g->nodesize);
		int			level = Min(hdr->level, RUHNSW_MAX_LEVEL);
		uint32		grp = RuhnswVidGroup(g->nodes_per_page, g->group_pages, (uint32) vid);
		uint32		len = sizeof(uint32) * g->m * level;

		hdr->flags &= ~RUHNSW_NODE_UPPER;
		hdr->upper = 0;
		if (!(hdr->flags & RUHNSW_NODE_USED) || level < 1)
			continue;
		if (!anyupper || grp > cur)
		{
			cur = grp;
			curfill = 0;
		}
		anyupper = true;
		if (curfill + len > RUHNSW_PAGE_CONTENTS)
		{
			cur++;
			curfill = 0;
		}
		if (cur - grp > RUHNSW_UPPER_MAX_DELTA)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("ruhnsw index \"%s\" has no room for the upper record of vid %u",
							RelationGetRelationName(g->index), (uint32) vid)));
		hdr->upper = RuhnswUpperRef(cur - grp, curfill);
		hdr->flags |= RUHNSW_NODE_UPPER;
		curfill += len;
	}

	maxblk = RuhnswNodeBlock(g->nodes_per_page, g->group_pages, (uint32) (g->memvids - 1));
	if (anyupper)
		maxblk = Max(maxblk, RuhnswUpperBlock(g->group_pages, cur));
	for (BlockNumber blkno = 1; blkno <= maxblk; blkno++)
	{
		CHECK_FOR_INTERRUPTS();
		if (RuhnswBlockIsUpper(g->group_pages, blkno))
		{
			uint32		u = (blkno - 1) / (g->group_pages + 1);
			uint32		used = 0;

			RuhnswInitPage(page.data, true);
			for (; vptr < g->memvids; vptr++)
			{
				const char *rec = g->mem + vptr * g->nodesize;
				const RuhnswNodeHeader *hdr = (const RuhnswNodeHeader *) rec;
				uint32		len;

				if (!(hdr->flags & RUHNSW_NODE_UPPER))
					continue;
				if (RuhnswVidGroup(g->nodes_per_page, g->group_pages, (uint32) vptr) +
					RuhnswUpperDelta(hdr->upper) != u)
					break;
				len = sizeof(uint32) * g->m * Min(hdr->level, RUHNSW_MAX_LEVEL);
				memcpy(PageGetContents(page.data) + RuhnswUpperOff(hdr->upper),
					   rec + g->recsize, len);
				used = RuhnswUpperOff(hdr->upper) + len;
			}
			((RuhnswPageOpaque) PageGetSpecialPointer(page.data))->upper_used = used;
		}
		else
		{
			uint64		first = RuhnswBlockFirstVid(g->nodes_per_page, g->group_pages, blkno);

			RuhnswInitPage(page.data, false);
			for (uint64 i = 0; i < g->nodes_per_page && first + i < g->memvids; i++)
				memcpy(PageGetContents(page.data) + i * g->recsize,
					   g->mem + (first + i) * g->nodesize, g->recsize);
		}
		emit(page.data, arg);
	}
}
