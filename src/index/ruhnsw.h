/*-------------------------------------------------------------------------
 *
 * ruhnsw.h
 *	  The ruhnsw index access method: a graph-only HNSW index over the
 *	  vector store of one ruvector column of a ruvector table.  Internal
 *	  interface shared by the files of src/index.
 *
 * The index holds no vectors.  Node id = vid (the store-local vector id),
 * neighbour lists are vid arrays, and every distance comes from the
 * store's scorer API (tam/store/rv_score.h: on SQ8 codes or the exact
 * floats, read in place); no vector is copied into the index.
 *
 * Page layout (BLCKSZ pages, standard PageHeaderData, special space
 * RuhnswPageOpaqueData; all data lies below pd_lower so that generic WAL
 * redo, which zeroes the hole between pd_lower and pd_upper, keeps it).
 * After the metapage (block 0) the blocks form groups of 1 + group_pages
 * blocks: an upper page, then group_pages level-0 pages:
 *
 *	block 0                       metapage (RuhnswMetaPageData)
 *	block 1 + u * (group_pages + 1) upper page u (RUHNSW_PAGE_UPPER)
 *	the level-0 page p = vid / nodes_per_page is block
 *	  1 + (p / group_pages) * (group_pages + 1) + 1 + p % group_pages,
 *	  vid's level-0 record at slot vid % nodes_per_page (RuhnswNodeBlock)
 *
 * A level-0 record (metapage nodesize bytes on the page) is RuhnswNodeHeader (heap
 * TID, level, flags, upper reference) followed by the level-0 list of 2*m
 * uint32 vids.
 *
 * Heap TIDs (format 4).  A node stands for every row version that shares
 * its vid (an UPDATE that leaves the vector unchanged keeps the vid): the
 * header holds one TID inline; a node with more has RUHNSW_NODE_TIDS set,
 * and then its upper record (RUHNSW_NODE_UPPER set, for a level-0 node
 * too: its upper record has no lists) is followed by a TID tail,
 * RuhnswTidTail: capacity, count, and that many further TIDs (8 bytes for
 * one).  When a tail is full, the node gets a new upper record of twice the capacity
 * (lists and TIDs copied; the old record is abandoned, like every upper
 * record never freed), all in one WAL record with the header change.
 * A node's TIDs are the inline one plus the tail's.  In place, a live TID
 * never moves between the inline slot and the tail (readers read the two
 * under separate locks): VACUUM makes a dead inline TID invalid (only a
 * node with a tail has an invalid one) and compacts the tail; a node
 * whose every TID is dead is marked deleted (its tail emptied).  An
 * insert that finds no room first drops the TIDs whose heap tuples no
 * longer refer to the vid (pruned, aborted, reused).  Format 3 (no TID tails)
 * is read and written as it is; the metapage says 4 from the first tail
 * on (aminsert upgrades it before adding a TID).  Older formats are
 * refused with a hint to REINDEX.
 *
 * A node of level L >= 1 also has an upper record of L*m
 * vids, its lists of levels 1..L (m each), in an upper page: the one of
 * its level-0 page's group, or of a later group when that one is full;
 * the header's upper field (RUHNSW_NODE_UPPER set) names it by its
 * distance in groups and its byte offset in the page's contents.  Upper
 * records are allocated from the front of an upper page (upper_used of
 * its special space is the bytes in use), WAL-logged in the record that
 * first writes the node, and never freed: a level is a function of the
 * vid, so a deleted node's vid, when the store hands it out again, gets
 * its old upper record back.  group_pages is chosen from m so that an
 * upper page is expected to be about half full (RuhnswGroupPages).
 * Lists are packed at their front; unused entries are RUHNSW_INVALID_VID.
 * In memory (RuhnswReadNode's copies, an in-memory build) a record is
 * the full RuhnswNodeSize(m) bytes: the header, the level-0 list, then
 * RUHNSW_MAX_LEVEL lists of m, whatever the node's level.
 * Levels are capped at RUHNSW_MAX_LEVEL (a node's level is drawn from
 * the usual geometric distribution with ml = 1/ln(m), derived from a hash
 * of its vid so builds are reproducible).  vids must fit in 32 bits.
 *
 * Invariants:
 *	- a node record with RUHNSW_NODE_USED set has a valid level and a
 *	  valid inline TID (or a TID tail with at least one TID); its TIDs
 *	  (inline and tail) are distinct, each names a row
 *	  version whose column refers to the node's vid (or, for a HOT chain's
 *	  root, a member of the chain does);
 *	  RUHNSW_NODE_DELETED marks nodes whose heap tuples VACUUM removed; such
 *	  nodes are never returned by scans and, after ambulkdelete, no live
 *	  node links to them.  A deleted node's record is reused when the store
 *	  hands out its vid again.
 *	- the entry point is a live node of the highest level, or
 *	  RUHNSW_INVALID_VID when the index holds no live node.
 *	- every live node is reachable from the entry point over level-0 links
 *	  (walking through deleted nodes, as scans do) after a build, after a
 *	  VACUUM (hnswreach.c) and after every WAL record of an insert
 *	  (hnswinsert.c: a node is written with its first in-link in one
 *	  record, and a link an insert drops while pruning a list is one whose
 *	  target stays linked); so also after crash recovery and under any mix
 *	  of inserts.  Only within a VACUUM, between ambulkdelete's list repair
 *	  and amvacuumcleanup's reachability repair, can a node be stranded
 *	  (a crash there leaves it to the next VACUUM), and an index written by
 *	  an earlier version may hold stranded nodes until its next VACUUM.
 *	- the index covers one store, named in the metapage by its store
 *	  relation's OID (store_relid, InvalidOid until the first vector is
 *	  indexed) and checked against dims, never by a reusable number; a
 *	  store relation OID the table no longer has means the store was
 *	  created by a transaction that aborted, so every node refers to a
 *	  row that never committed: the next insert or VACUUM empties the
 *	  graph (RuhnswResetGraph) before using it, and scans return nothing.
 *
 * Locking: inserts (aminsert) hold the heavyweight page lock
 * RUHNSW_UPDATE_LOCK in ShareLock, so they run concurrently, and hold the
 * metapage's buffer lock in exclusive mode around each write step only
 * (one WAL record and the reads that decide it: their searches overlap,
 * their write steps are serialized and interleave: hnswinsert.c); adding
 * a TID to a live node (RuhnswAddTid) is such a write step too, so it
 * never races a write of the same node's record.  An insert that may
 * change the metapage (first vector, stale store binding, a format-3
 * index to upgrade, a node above the entry point's level) holds
 * RUHNSW_UPDATE_LOCK in ExclusiveLock instead.  ambulkdelete,
 * amvacuumcleanup and verify hold RUHNSW_UPDATE_LOCK in ExclusiveLock, so
 * they never overlap an insert; a scan holds RUHNSW_SCAN_LOCK in
 * ShareLock while it searches, and ambulkdelete takes it in ExclusiveLock
 * once after marking nodes deleted so that no search still holds their
 * TIDs.  Buffer locks: readers lock one index buffer at a time (node
 * records are copied out: a node's level-0 record and its upper record
 * are each read whole under their page's lock, one after the other, and
 * so are its level-0 record and TID tail); a writer locks the pages of
 * the (at most RUHNSW_MAX_WRITE) records it writes in one WAL record
 * together (their level-0 and upper pages, at most 4), in ascending block
 * order, as do RuhnswAddTid and RuhnswVacuumTids (a node's level-0 page
 * and its tail's upper page), and only a writer holding the metapage's
 * buffer lock (block 0, taken first) or RUHNSW_UPDATE_LOCK in
 * ExclusiveLock ever holds two, so index buffer locks cannot deadlock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUHNSW_H
#define RUHNSW_H

#include "access/amapi.h"
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "lib/ilist.h"
#include "nodes/execnodes.h"
#include "storage/bufpage.h"
#include "storage/dsm.h"
#include "storage/itemptr.h"
#include "storage/shm_toc.h"
#include "utils/relcache.h"

#include "tam/store/rv_score.h"
#include "tam/store/rv_store.h"

#define RUHNSW_MAGIC			0x52484E53	/* "RHNS" */
#define RUHNSW_VERSION			4
#define RUHNSW_MIN_VERSION		3	/* oldest format read (no TID tails) */
#define RUHNSW_PAGE_ID			0xFF91

#define RUHNSW_METAPAGE_BLKNO	0
#define RUHNSW_UPDATE_LOCK		0	/* heavyweight page-lock tags */
#define RUHNSW_SCAN_LOCK		1

#define RUHNSW_DEFAULT_M		16
#define RUHNSW_MIN_M			2
#define RUHNSW_MAX_M			100
/* the longest neighbour list of one level (level 0 has 2m slots) */
#define RUHNSW_MAX_SLOTS		(2 * RUHNSW_MAX_M)
#define RUHNSW_DEFAULT_EF_CONSTRUCTION	64
#define RUHNSW_MIN_EF_CONSTRUCTION	4
#define RUHNSW_MAX_EF_CONSTRUCTION	1000
#define RUHNSW_DEFAULT_EF_SEARCH	40
#define RUHNSW_MIN_EF_SEARCH	1
#define RUHNSW_MAX_EF_SEARCH	1000
#define RUHNSW_MAX_LEVEL		3

#define RUHNSW_INVALID_VID		((uint32) 0xFFFFFFFF)

/*
 * records RuhnswWriteNodes writes in one WAL record; their level-0 and
 * upper pages together must be at most MAX_GENERIC_XLOG_PAGES (4)
 */
#define RUHNSW_MAX_WRITE		4

/* node flags */
#define RUHNSW_NODE_USED		0x01
#define RUHNSW_NODE_DELETED		0x02
#define RUHNSW_NODE_UPPER		0x04	/* header's upper field is valid */
#define RUHNSW_NODE_TIDS		0x08	/* the upper record has a TID tail */

/* page flags (RuhnswPageOpaqueData.flags) */
#define RUHNSW_PAGE_UPPER		0x01	/* an upper page */

/*
 * The upper field of a node header: the distance, in groups, from the
 * node's group to its upper page (bits 13..31) and the byte offset of its
 * upper record in the page's contents (bits 0..12).
 */
#define RUHNSW_UPPER_OFF_BITS	13
#define RUHNSW_UPPER_MAX_DELTA	((uint32) 0x7FFFF)
#define RuhnswUpperRef(delta, off)	(((uint32) (delta) << RUHNSW_UPPER_OFF_BITS) | (uint32) (off))
#define RuhnswUpperDelta(ref)	((uint32) (ref) >> RUHNSW_UPPER_OFF_BITS)
#define RuhnswUpperOff(ref)		((uint32) (ref) & ((1U << RUHNSW_UPPER_OFF_BITS) - 1))

/* byte offset of a page's contents (PageGetContents) in the page */
#define RUHNSW_CONTENTS_OFF		MAXALIGN(SizeOfPageHeaderData)

/* bytes of page contents (between the page header and the special space) */
#define RUHNSW_PAGE_CONTENTS	(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - \
								 MAXALIGN(sizeof(RuhnswPageOpaqueData)))

/* build phase for pg_stat_progress_create_index */
#define PROGRESS_RUHNSW_PHASE_LOAD	2

/* distance metrics, chosen by the opclass's support function 1 */
typedef enum RuhnswMetric
{
	RUHNSW_L2,
	RUHNSW_IP,
	RUHNSW_COSINE,
	RUHNSW_L1
} RuhnswMetric;

/* ruvector.iterative_scan */
typedef enum RuhnswIterativeScan
{
	RUHNSW_ITERATIVE_OFF,
	RUHNSW_ITERATIVE_RELAXED,
	RUHNSW_ITERATIVE_STRICT
} RuhnswIterativeScan;

typedef struct RuhnswOptions
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int			m;
	int			ef_construction;
} RuhnswOptions;

typedef struct RuhnswPageOpaqueData
{
	uint16		flags;			/* RUHNSW_PAGE_UPPER or 0 */
	uint16		page_id;		/* RUHNSW_PAGE_ID, for pg_filedump */
	uint16		upper_used;		/* upper page: bytes of contents in use */
	uint16		unused;
} RuhnswPageOpaqueData;

typedef RuhnswPageOpaqueData *RuhnswPageOpaque;

typedef struct RuhnswMetaPageData
{
	uint32		magic;
	uint32		version;
	uint32		m;
	uint32		ef_construction;
	int32		dims;			/* of the covered store, 0 until known */
	int16		storeno;		/* covered store's number in vrefs, -1 until known */
	int16		attnum;			/* heap column */
	uint32		entry_vid;		/* RUHNSW_INVALID_VID when empty */
	int32		entry_level;
	uint32		nodesize;		/* bytes per level-0 record on a page */
	uint32		nodes_per_page;	/* level-0 records per level-0 page */
	uint32		max_level;		/* RUHNSW_MAX_LEVEL at creation */
	uint32		metric;			/* RuhnswMetric */
	Oid			store_relid;	/* covered store relation, InvalidOid until known */
	uint32		group_pages;	/* level-0 pages per group (one upper page each) */
} RuhnswMetaPageData;

typedef struct RuhnswNodeHeader
{
	ItemPointerData tid;		/* heap TID */
	uint8		level;
	uint8		flags;			/* RUHNSW_NODE_* */
	uint32		upper;			/* RuhnswUpperRef, valid with RUHNSW_NODE_UPPER */
} RuhnswNodeHeader;

/*
 * The TID tail after a node's upper lists (RUHNSW_NODE_TIDS): room for
 * cap TIDs (a power of two, at most RUHNSW_TAIL_MAX_CAP), the first count
 * in use; info holds log2(cap) in its top 4 bits and count in the others.
 * RuhnswTailSize(cap) bytes, a multiple of 4 so that upper records stay
 * 4-byte aligned: 8 for one TID.
 */
typedef struct RuhnswTidTail
{
	uint16		info;			/* log2(cap) << 12 | count */
	ItemPointerData tids[FLEXIBLE_ARRAY_MEMBER];
} RuhnswTidTail;

#define RUHNSW_TAIL_COUNT_MASK	0x0FFF
#define RUHNSW_TAIL_MAX_LOG2CAP	10
#define RUHNSW_TAIL_MAX_CAP		(1U << RUHNSW_TAIL_MAX_LOG2CAP)
#define RuhnswTailLog2Cap(t)	((uint32) ((t)->info >> 12))
#define RuhnswTailCap(t)		(1U << RuhnswTailLog2Cap(t))
#define RuhnswTailCount(t)		((uint32) ((t)->info & RUHNSW_TAIL_COUNT_MASK))
#define RuhnswTailSetCount(t, n) \
	((t)->info = (uint16) (((t)->info & ~RUHNSW_TAIL_COUNT_MASK) | (uint32) (n)))
#define RuhnswTailSize(cap)	TYPEALIGN(sizeof(uint32), offsetof(RuhnswTidTail, tids) + \
									  sizeof(ItemPointerData) * (cap))

#define RuhnswNodeSlots(node)	((uint32 *) ((char *) (node) + sizeof(RuhnswNodeHeader)))

/* a candidate: a vid and its distance to the query */
typedef struct RuhnswCand
{
	float		dist;
	uint32		vid;
} RuhnswCand;

/*
 * a set of vids: open addressing, or (RuhnswVidSetInitRange) a bitmap over
 * [0, range) with a hash set for vids beyond it
 */
typedef struct RuhnswVidSet
{
	uint32	   *slots;
	uint32		mask;
	uint32		count;			/* vids in the set */
	uint32		nhash;			/* of them in slots */
	uint64	   *bits;			/* bitmap mode: range bits, else NULL */
	uint32		range;
} RuhnswVidSet;

/* distances of vids to one query (open addressing; hnswutils.c) */
typedef struct RuhnswDistMap
{
	uint32	   *vids;			/* RUHNSW_INVALID_VID: empty slot */
	float	   *dists;
	uint32		mask;
	uint32		count;
} RuhnswDistMap;

/* One entry of a recent-page map: a block and the buffer it was read into. */
typedef struct RuhnswRecentBuf
{
	BlockNumber blkno;
	Buffer		buf;
} RuhnswRecentBuf;

/*
 * Graph access: either an in-memory array of node records indexed by vid
 * (index build) or the index's pages.  Writes to pages are WAL-logged as
 * generic WAL records (node records through hnswxlog.c, the rest through
 * GenericXLog) unless "unlogged_build" is set (build fallback: the caller
 * WAL-logs all pages with log_newpage_range at the end).
 */
typedef struct RuhnswGraph
{
	Relation	index;
	RvStore    *store;
	RuhnswMetric metric;
	int			m;
	int			ef_construction;
	int			dims;
	int16		storeno;
	int16		attnum;
	uint32		nodesize;		/* bytes of an in-memory record (RuhnswNodeSize) */
	uint32		recsize;		/* bytes of a level-0 record on a page */
	uint32		nodes_per_page;
	uint32		group_pages;
	int			nslots;			/* slots of an in-memory record */
	uint32		entry_vid;
	int			entry_level;

	char	   *mem;			/* in-memory records, or NULL */
	uint64		memvids;		/* records in mem */
	bool		unlogged_build;
	BlockNumber nblocks;		/* cached index size (grows only) */

	RvDistanceKind kind;		/* the metric as a store distance kind */
	RvScoreMode mode;			/* what distances are computed on */
	RvScoreCache *cache;		/* vectors or codes by vid: a build's when
								 * they fit in maintenance_work_mem, aminsert's
								 * insert cache (store_icache.c), else NULL */
	struct RuhnswRecentMap *recent; /* RuhnswReadBufferRecent's map, or NULL */
	char	   *nodebuf;		/* nodesize bytes */
	RuhnswVidSet visited;
	RuhnswCand *heapbuf;		/* candidate heap storage */
	int			heapcap;
	RuhnswCand *wbuf;			/* result heap storage */
	int			wcap;
	RuhnswDistMap *distmap;		/* when set, RuhnswSearchLayer records every
								 * distance it computes in it, and an insert
								 * updates full neighbour lists from the
								 * distances it knows (hnswinsert.c) */
	bool		write_lock;		/* RuhnswInsertNode serializes its write
								 * steps on the metapage's buffer lock
								 * (aminsert under the shared
								 * RUHNSW_UPDATE_LOCK) */
	Buffer		metabuf;		/* the metapage, locked during a write step */
	struct RuhnswListCache *lists;	/* aminsert: the backend's distances from
									 * nodes to their listed neighbours
									 * (hnswinsert.c), else NULL */
	bool		code_queries;	/* aminsert: a neighbour's distances are
								 * scored with its SQ8 code as the query
								 * (RuhnswQueryNeighbour) */
	struct RuhnswKeptQueries *keptq;	/* during RuhnswInsertNode's links: the
										 * scorers of the new node's selected
										 * neighbours (hnswinsert.c), else NULL */
} RuhnswGraph;

/*
 * A scan's resumable level-0 search (hnswsearch.c): what it has found but
 * not handed out yet, and what it has found but not expanded, kept across
 * batches so that an iterative scan continues where it stopped instead of
 * searching again with a larger ef.
 */
typedef struct RuhnswSearch
{
	RuhnswVidSet visited;		/* every vid whose distance was computed */
	RuhnswCand *expand;			/* min-heap: found, neighbours not read */
	int			nexpand;
	int			capexpand;
	RuhnswCand *pending;		/* found, not handed out (min-heap) */
	int			npending;
	int			cappending;
	RuhnswCand *batch;			/* max-heap of the current batch */
	int			nbatch;
	int			capbatch;
	RuhnswCand *deferred;		/* found, in neither heap yet (unordered) */
	int			ndeferred;
	int			capdeferred;
} RuhnswSearch;

/* index_init.c */
extern int	ruhnsw_ef_search;
extern int	ruhnsw_iterative_scan;
extern int	ruhnsw_max_scan_tuples;
extern relopt_kind ruhnsw_relopt_kind;

/* hnsw.c */
extern int	RuhnswGetM(Relation index);
extern int	RuhnswGetEfConstruction(Relation index);

/* hnswutils.c */
extern RuhnswMetric RuhnswGetMetric(Relation index);
extern RvDistanceKind RuhnswMetricKind(RuhnswMetric metric);
extern uint32 RuhnswNodeSize(int m);
extern uint32 RuhnswRecordSize(int m);
extern uint32 RuhnswNodesPerPage(uint32 recsize);
extern uint32 RuhnswGroupPages(int m, uint32 nodes_per_page);
extern BlockNumber RuhnswUpperBlock(uint32 group_pages, uint32 u);
extern uint32 RuhnswVidGroup(uint32 nodes_per_page, uint32 group_pages, uint32 vid);
extern bool RuhnswBlockIsUpper(uint32 group_pages, BlockNumber blkno);
extern uint64 RuhnswBlockFirstVid(uint32 nodes_per_page, uint32 group_pages,
								  BlockNumber blkno);
extern uint64 RuhnswNumVids(uint32 nodes_per_page, uint32 group_pages, BlockNumber nblocks);
extern void RuhnswInitPage(Page page, bool upper);
extern Page RuhnswRegisterPage(RuhnswGraph *g, GenericXLogState *state, Buffer buf);
extern void RuhnswInitMetaPage(Page page, RuhnswMetaPageData *meta);
extern void RuhnswReadMeta(Relation index, RuhnswMetaPageData *meta);
extern void RuhnswWriteMeta(Relation index, const RuhnswMetaPageData *meta);
extern void RuhnswGraphInit(RuhnswGraph *g, Relation index, const RuhnswMetaPageData *meta,
							RvStore *store);
extern void RuhnswGraphRefresh(RuhnswGraph *g, const RuhnswMetaPageData *meta);
extern void RuhnswGraphToMeta(RuhnswGraph *g, RuhnswMetaPageData *meta);
extern void RuhnswGraphFree(RuhnswGraph *g);
extern BlockNumber RuhnswNodeBlock(uint32 nodes_per_page, uint32 group_pages, uint32 vid);
extern bool RuhnswReadNode(RuhnswGraph *g, uint32 vid, char *dst);
extern bool RuhnswReadNodeLevel0(RuhnswGraph *g, uint32 vid, char *dst);
extern void RuhnswPrefetchNode(RuhnswGraph *g, uint32 vid);
extern Buffer RuhnswReadBufferRecent(RuhnswGraph *g, BlockNumber blkno);
extern void RuhnswWriteNode(RuhnswGraph *g, uint32 vid, const char *src);
extern void RuhnswWriteNodes(RuhnswGraph *g, int n, const uint32 *vids,
							 const char *const *srcs);
extern int	RuhnswNodeTids(RuhnswGraph *g, uint32 vid, const RuhnswNodeHeader *hdr,
						   ItemPointerData **tids);
extern bool RuhnswAddTid(RuhnswGraph *g, Relation heap, uint32 vid, ItemPointer tid);
extern int	RuhnswVacuumTids(RuhnswGraph *g, uint32 vid, IndexBulkDeleteCallback callback,
							 void *callback_state, BufferAccessStrategy strategy,
							 double *nremoved);
extern uint32 RuhnswMaxTids(int m, int level);
extern int	RuhnswLevelSlots(RuhnswGraph *g, int level, int *count);
extern int	RuhnswRandomLevel(uint32 vid, int m);
extern RvScorer *RuhnswQueryBegin(RuhnswGraph *g, const float *q);
extern RvScorer *RuhnswQueryNode(RuhnswGraph *g, uint32 vid);
extern void RuhnswQueryEnd(RvScorer *q);
extern float RuhnswDistance(RuhnswGraph *g, RvScorer *q, uint32 vid);
extern void RuhnswDistances(RuhnswGraph *g, RvScorer *q, const uint32 *vids, int n, float *out);
extern int	RuhnswScoreUnvisited(RuhnswGraph *g, RvScorer *q, RuhnswVidSet *visited,
								 const uint32 *list, int count, uint32 *newvids, float *newdists);
extern float RuhnswVectorNorm(const float *v, int dims);
extern void RuhnswDistMapInit(RuhnswDistMap *map, uint32 capacity);
extern void RuhnswDistMapClear(RuhnswDistMap *map);
extern void RuhnswDistMapPut(RuhnswDistMap *map, uint32 vid, float dist);
extern bool RuhnswDistMapGet(const RuhnswDistMap *map, uint32 vid, float *dist);
extern int	RuhnswSearchLayer(RuhnswGraph *g, RvScorer *q, RuhnswCand *eps, int neps,
							  int ef, int level, RuhnswCand **result);
extern int	RuhnswSearchGraph(RuhnswGraph *g, RvScorer *q, int ef, RuhnswCand **result);
extern void RuhnswDescend(RuhnswGraph *g, RvScorer *q, RuhnswCand eps[2]);
extern void RuhnswLayerOffer(RuhnswGraph *g, int *nc, int *nw, int ef, RuhnswCand ec);
extern int	RuhnswLayerResult(RuhnswGraph *g, int nw, RuhnswCand **result);
extern RvScorer *RuhnswQueryNeighbour(RuhnswGraph *g, uint32 vid);
extern int	RuhnswSelectNeighbors(RuhnswGraph *g, RuhnswCand *cands, int ncands, int max,
								  uint32 exclude, RuhnswCand *out, RvScorer **outq);
extern void RuhnswHeapPush(RuhnswCand *h, int *n, RuhnswCand c, bool max);
extern RuhnswCand RuhnswHeapPop(RuhnswCand *h, int *n, bool max);
extern int	RuhnswCandCmp(const void *a, const void *b);
extern void RuhnswVidSetInit(RuhnswVidSet *set, uint32 capacity);
extern void RuhnswVidSetInitRange(RuhnswVidSet *set, uint32 range, uint32 capacity);
extern void RuhnswVidSetClear(RuhnswVidSet *set);
extern bool RuhnswVidSetAdd(RuhnswVidSet *set, uint32 vid);
extern bool RuhnswVidSetContains(RuhnswVidSet *set, uint32 vid);
extern RvStore *RuhnswGetStore(Relation heapRel, Relation index,
							   const RuhnswMetaPageData *meta);
extern void RuhnswResetGraph(Relation index, RuhnswMetaPageData *meta);
extern void RuhnswLayoutPages(RuhnswGraph *g, void (*emit) (const char *page, void *arg),
							  void *arg);

/* hnswinsert.c */
extern bool RuhnswInsertNode(RuhnswGraph *g, uint32 vid, ItemPointer tid);
extern bool RuhnswVectorIndexable(RuhnswGraph *g, uint32 vid);
extern bool ruhnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid,
						 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
						 struct IndexInfo *indexInfo);

/*
 * hnswxlog.c: one write of at most MAX_GENERIC_XLOG_PAGES index pages, as
 * one generic WAL record of the byte ranges set (RuhnswXLogSet).
 */
/* the generic WAL format's fragment header: offset and length */
#define RUHNSW_FRAG_HEADER	(2 * sizeof(OffsetNumber))

typedef struct RuhnswXLogPage
{
	Buffer		buf;
	char	   *image;			/* a new page: its image, logged whole; else
								 * NULL */
	int			len;			/* bytes of delta in use */
	char		delta[BLCKSZ + RUHNSW_FRAG_HEADER * (2 * RUHNSW_MAX_WRITE + 1)];
#ifdef USE_ASSERT_CHECKING
	int			nranges;
	uint32		ranges[2 * RUHNSW_MAX_WRITE + 1][2];
#endif
} RuhnswXLogPage;

typedef struct RuhnswXLog
{
	bool		logged;
	int			npages;
	RuhnswXLogPage pages[MAX_GENERIC_XLOG_PAGES];
} RuhnswXLog;

extern void RuhnswXLogStart(RuhnswXLog *x, Relation index, bool logged);
extern int	RuhnswXLogRegister(RuhnswXLog *x, Buffer buf, bool upper);
extern char *RuhnswXLogImage(RuhnswXLog *x, int slot);
extern void RuhnswXLogSet(RuhnswXLog *x, int slot, uint32 off, const void *src, uint32 len);
extern XLogRecPtr RuhnswXLogFinish(RuhnswXLog *x);

/* hnswreach.c */
extern int64 RuhnswRepairReachability(RuhnswGraph *g);
extern bool RuhnswAllReachable(RuhnswGraph *g, int64 *nlive);

/* hnswbuild.c */
extern IndexBuildResult *ruhnswbuild(Relation heap, Relation index, struct IndexInfo *indexInfo);
extern void ruhnswbuildempty(Relation index);
extern void RuhnswBuildAppendPage(Relation index, const char *image);

/* hnswbuildpar.c */
extern bool RuhnswBuildParallel(Relation heap, Relation index, struct IndexInfo *indexInfo,
								RuhnswMetaPageData *meta, RvStore *store, const uint32 *vids,
								const ItemPointerData *tids, int64 n, uint32 maxvid,
								double *indtuples);
extern PGDLLEXPORT void RuhnswParallelBuildMain(dsm_segment *seg, shm_toc *toc);

/* hnswsearch.c */
extern void RuhnswSearchBegin(RuhnswGraph *g, RuhnswSearch *s, RvScorer *q);
extern int	RuhnswSearchNext(RuhnswGraph *g, RuhnswSearch *s, RvScorer *q, int ef,
							 bool sorted, RuhnswCand **result);

/* hnswscan.c */
extern IndexScanDesc ruhnswbeginscan(Relation index, int nkeys, int norderbys);
extern void ruhnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
						 int norderbys);
extern bool ruhnswgettuple(IndexScanDesc scan, ScanDirection dir);
extern void ruhnswendscan(IndexScanDesc scan);

/* hnswvacuum.c */
extern IndexBulkDeleteResult *ruhnswbulkdelete(IndexVacuumInfo *info,
											   IndexBulkDeleteResult *stats,
											   IndexBulkDeleteCallback callback,
											   void *callback_state);
extern IndexBulkDeleteResult *ruhnswvacuumcleanup(IndexVacuumInfo *info,
												  IndexBulkDeleteResult *stats);

#endif							/* RUHNSW_H */
