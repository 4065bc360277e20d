/*-------------------------------------------------------------------------
 *
 * hnswverify.c
 *	  RuhnswVerify: the amcheck-style structural check of one ruhnsw index,
 *	  called by ruvector_verify (src/tam/tam_verify.c) through
 *	  ruhnsw_verify.h.  Problems are handed to the caller's callback, one
 *	  call per problem; a healthy index yields none.
 *
 * What is checked (kinds in parentheses):
 *	- page headers and special space of the metapage and of every node
 *	  page; an all-zero node page counts as a page of unused records; an
 *	  upper page is flagged so and uses at most its contents, a level-0
 *	  page is not flagged (ruhnsw_page);
 *	- the metapage: magic and version, m, ef_construction, max_level,
 *	  nodesize, nodes_per_page and group_pages consistent with m, the metric matching
 *	  the opclass, the column matching the index's, the covered store
 *	  belonging to that column with the metapage's dims (ruhnsw_meta);
 *	- the entry point: a live (USED, not DELETED) node whose level is the
 *	  metapage's entry level, or none exactly when no node is live
 *	  (ruhnsw_entry);
 *	- every used record: known flags only, vid below the store's next vid,
 *	  level <= RUHNSW_MAX_LEVEL and, for live nodes, <= the entry level,
 *	  no links in lists above its level; a node of level >= 1 names an
 *	  upper record inside the used part of a sound upper page of its group
 *	  or a later one, overlapping no other node's (ruhnsw_node);
 *	- every link of every used record: below the store's next vid and to a
 *	  used record; a live node's level-L link reaches a node of level >= L
 *	  (ruhnsw_link).  Links to DELETED nodes are legal between VACUUMs and
 *	  are not reported;
 *	- every live node is reachable from the entry point over level-0
 *	  links, walking through deleted nodes as scans do (ruhnsw_unreachable):
 *	  the invariant of ruhnsw.h, which scans rely on (their level-0 search
 *	  starts from the entry point and the node the upper levels led to, so
 *	  a node reachable only over upper-level links can be missed);
 *	- a node with a TID tail (RUHNSW_NODE_TIDS) names an upper record,
 *	  also at level 0, whose tail (after the node's lists) has at most cap
 *	  TIDs in use and lies inside the used part of its upper page,
 *	  overlapping no other record (ruhnsw_node);
 *	- every heap TID of every live node (inline and tail) is a valid TID
 *	  within the heap, no TID appears twice in a node and, if it still
 *	  holds a tuple, that tuple's column refers to this node's vid in the
 *	  covered store (ruhnsw_heap_tid).  A TID whose tuple is gone is
 *	  fine: VACUUM has not reached it yet.
 *
 * Invariants of this file:
 *	- it never writes; pages are copied under a share lock and examined on
 *	  the copy, and every value read from a page is range-checked before it
 *	  is used as an offset, a count or an array index; every loop is bounded
 *	  by the index size, and long loops check for interrupts;
 *	- it holds RUHNSW_UPDATE_LOCK in ExclusiveLock for the whole check
 *	  (inserts hold it in ShareLock), so no insert or ambulkdelete changes
 *	  the graph or a node's TIDs meanwhile (they wait); scans are not
 *	  blocked.  Together with the caller's ShareUpdateExclusiveLock on the
 *	  table this makes the metapage, the records and the store's next vid
 *	  one consistent state, so concurrent activity causes no false
 *	  reports;
 *	- errors it cannot turn into a report (e.g. an unreadable block) are
 *	  raised; the caller runs it in a subtransaction and reports them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"
#include "index/ruhnsw_verify.h"
#include "tam/rv_tam.h"

/* per-vid state, low bits of RuhnswVerifyState.node */
#define RVV_UNUSED		0		/* no record, or a record without USED */
#define RVV_LIVE		1
#define RVV_DELETED		2
#define RVV_BAD			3		/* on a damaged page: unknown */
#define RVV_STATE_MASK	0x03
#define RVV_LEVEL_SHIFT	2		/* level (clamped to RUHNSW_MAX_LEVEL) above */
#define RVV_LEVEL_MASK	0x03
#define RVV_UPPER_OK	0x10	/* its upper record reference is valid */
#define RVV_LEVEL(st)	(((st) >> RVV_LEVEL_SHIFT) & RVV_LEVEL_MASK)

#define RVV_NODE_OPAQUE_SIZE	MAXALIGN(sizeof(RuhnswPageOpaqueData))

typedef struct RuhnswVerifyState
{
	Relation	heap;
	Relation	index;
	RuhnswVerifyReport report;
	void	   *arg;
	int			store;			/* covered store for reports, -1 if none */
	RvStore    *storep;			/* the covered store, or NULL */
	BufferAccessStrategy strategy;
	char	   *page;			/* BLCKSZ copy of the page being examined */
	BlockNumber cached_blkno;	/* block held in page, InvalidBlockNumber if none */
	RuhnswMetaPageData meta;
	BlockNumber nblocks;		/* index blocks */
	BlockNumber heap_nblocks;
	uint64		next_vid;		/* the store's high-water mark */
	uint64		nvids;			/* vids that have a record slot in the index */
	int16		attnum;			/* the index's heap column */
	uint8	   *node;			/* nvids entries: state | level << shift | UPPER_OK */
	int			nslots;			/* slots of a whole record (RuhnswNodeSize) */
	uint32		nupper;			/* upper pages within the index */
	uint16	   *upper_used;		/* per upper page: bytes in use, or 0xFFFF if bad */
	uint8	   *upper_map;		/* per upper page: bitmap of the 4-byte units claimed */
} RuhnswVerifyState;

#define RVV_UPPER_BAD		0xFFFF
#define RVV_UNITS			(RUHNSW_PAGE_CONTENTS / sizeof(uint32))
#define RVV_MAP_BYTES		((RVV_UNITS + 7) / 8)

static void
RvvReport(RuhnswVerifyState *vs, const char *kind, int64 blkno, int64 vid,
		  const char *fmt,...)
	pg_attribute_printf(5, 6);

/* Formats a detail, prefixed with the index name, and hands it to the caller. */
static void
RvvReport(RuhnswVerifyState *vs, const char *kind, int64 blkno, int64 vid,
		  const char *fmt,...)
{
	StringInfoData buf;
	va_list		args;

	initStringInfo(&buf);
	appendStringInfo(&buf, "index \"%s\": ", RelationGetRelationName(vs->index));
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
	vs->report(vs->arg, kind, vs->store, blkno, vid, buf.data);
	pfree(buf.data);
}

/* Copies block blkno into vs->page (share lock held only while copying). */
static void
RvvReadPage(RuhnswVerifyState *vs, BlockNumber blkno)
{
	Buffer		buf;

	if (vs->cached_blkno == blkno)
		return;
	CHECK_FOR_INTERRUPTS();
	vs->cached_blkno = InvalidBlockNumber;
	buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blkno, RBM_NORMAL, vs->strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	memcpy(vs->page, BufferGetPage(buf), BLCKSZ);
	UnlockReleaseBuffer(buf);
	vs->cached_blkno = blkno;
}

static bool
RvvPageIsZero(const char *page)
{
	for (int i = 0; i < BLCKSZ; i++)
		if (page[i] != 0)
			return false;
	return true;
}

/*
 * Checks the header and special space of the page copy at blkno; minlower
 * is the pd_lower its contents need.  Returns true when the contents may be
 * examined.  *isnew is set for an all-zero page (reported only if
 * !allow_new).
 */
static bool
RvvCheckPage(RuhnswVerifyState *vs, BlockNumber blkno, Size minlower, bool allow_new,
			 bool *isnew)
{
	PageHeader	ph = (PageHeader) vs->page;
	const RuhnswPageOpaqueData *op;

	*isnew = false;
	if (ph->pd_upper == 0)
	{
		if (!RvvPageIsZero(vs->page))
			RvvReport(vs, "ruhnsw_page", blkno, -1, "pd_upper is 0 but the page is not all zeros");
		else
		{
			*isnew = true;
			if (!allow_new)
				RvvReport(vs, "ruhnsw_page", blkno, -1, "page is all zeros");
		}
		return false;
	}
	if (PageGetPageSize((Page) vs->page) != BLCKSZ ||
		PageGetPageLayoutVersion((Page) vs->page) != PG_PAGE_LAYOUT_VERSION ||
		(ph->pd_flags & ~PD_VALID_FLAG_BITS) != 0 ||
		ph->pd_lower < SizeOfPageHeaderData || ph->pd_lower > ph->pd_upper ||
		ph->pd_upper > ph->pd_special ||
		ph->pd_special != BLCKSZ - RVV_NODE_OPAQUE_SIZE)
	{
		RvvReport(vs, "ruhnsw_page", blkno, -1,
				  "bad page header: pd_lower %u, pd_upper %u, pd_special %u, pd_flags 0x%x, "
				  "size/version 0x%x",
				  ph->pd_lower, ph->pd_upper, ph->pd_special, ph->pd_flags,
				  ph->pd_pagesize_version);
		return false;
	}
	op = (const RuhnswPageOpaqueData *) (vs->page + ph->pd_special);
	if (op->page_id != RUHNSW_PAGE_ID)
	{
		RvvReport(vs, "ruhnsw_page", blkno, -1, "page id 0x%04x, expected 0x%04x",
				  op->page_id, RUHNSW_PAGE_ID);
		return false;
	}
	if (ph->pd_lower < minlower)
	{
		RvvReport(vs, "ruhnsw_page", blkno, -1, "pd_lower %u is below the end of the contents (%u)",
				  ph->pd_lower, (unsigned) minlower);
		return false;
	}
	return true;
}

/*
 * Reads and checks the metapage into vs->meta; fills next_vid from the
 * covered store.  Returns false when the node records cannot be located
 * (nothing more can be checked).
 */
static bool
RvvCheckMeta(RuhnswVerifyState *vs)
{
	RuhnswMetaPageData *meta = &vs->meta;
	Size		contents = (char *) PageGetContents(vs->page) - vs->page;
	bool		isnew;
	RuhnswMetric metric;

	RvvReadPage(vs, RUHNSW_METAPAGE_BLKNO);
	if (!RvvCheckPage(vs, RUHNSW_METAPAGE_BLKNO, contents + sizeof(RuhnswMetaPageData), false,
					  &isnew))
		return false;
	memcpy(meta, vs->page + contents, sizeof(RuhnswMetaPageData));
	if (meta->magic != RUHNSW_MAGIC || meta->version < RUHNSW_MIN_VERSION ||
		meta->version > RUHNSW_VERSION)
	{
		RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
				  "magic 0x%08x version %u, expected 0x%08x version %d to %d",
				  meta->magic, meta->version, RUHNSW_MAGIC, RUHNSW_MIN_VERSION, RUHNSW_VERSION);
		return false;
	}
	if (meta->m < RUHNSW_MIN_M || meta->m > RUHNSW_MAX_M ||
		meta->ef_construction < RUHNSW_MIN_EF_CONSTRUCTION ||
		meta->ef_construction > RUHNSW_MAX_EF_CONSTRUCTION ||
		meta->max_level != RUHNSW_MAX_LEVEL ||
		meta->nodesize != RuhnswRecordSize(meta->m) ||
		meta->nodes_per_page != RuhnswNodesPerPage(meta->nodesize) ||
		meta->nodes_per_page == 0 ||
		meta->group_pages != RuhnswGroupPages(meta->m, meta->nodes_per_page) ||
		meta->metric > RUHNSW_L1)
	{
		RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
				  "m %u ef_construction %u max_level %u nodesize %u nodes_per_page %u "
				  "group_pages %u metric %u "
				  "are inconsistent (m in [%d, %d], ef_construction in [%d, %d], max_level %d)",
				  meta->m, meta->ef_construction, meta->max_level, meta->nodesize,
				  meta->nodes_per_page, meta->group_pages, meta->metric, RUHNSW_MIN_M,
				  RUHNSW_MAX_M, RUHNSW_MIN_EF_CONSTRUCTION, RUHNSW_MAX_EF_CONSTRUCTION,
				  RUHNSW_MAX_LEVEL);
		return false;
	}
	vs->nslots = (RuhnswNodeSize(meta->m) - sizeof(RuhnswNodeHeader)) / sizeof(uint32);

	metric = RuhnswGetMetric(vs->index);
	if (meta->metric != (uint32) metric)
		RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
				  "metric %u, but the opclass's is %d", meta->metric, (int) metric);
	if (vs->attnum < 1 || vs->attnum > RelationGetNumberOfAttributes(vs->heap))
		RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
				  "the index is not on a plain column (attribute %d); heap TIDs are not checked",
				  vs->attnum);
	else if (meta->attnum != vs->attnum)
		RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
				  "column %d, but the index is on column %d", meta->attnum, vs->attnum);
	if (meta->entry_vid != RUHNSW_INVALID_VID &&
		(meta->entry_level < 0 || meta->entry_level > RUHNSW_MAX_LEVEL))
		RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
				  "entry level %d out of range [0, %d]", meta->entry_level, RUHNSW_MAX_LEVEL);

	if (!OidIsValid(meta->store_relid))
	{
		/* nothing indexed yet: no store, every record unused (checked later) */
		if (meta->storeno != -1 || meta->dims != 0 || meta->entry_vid != RUHNSW_INVALID_VID)
			RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
					  "no store covered (storeno %d) but dims %d entry vid %u",
					  meta->storeno, meta->dims, meta->entry_vid);
		vs->next_vid = 0;
	}
	else
	{
		RvStore    *store = RuhnswGetStore(vs->heap, vs->index, meta);

		if (store == NULL)
		{
			/*
			 * The covered store was created by an aborted transaction: the
			 * nodes are of rows that never committed, and the next insert
			 * or VACUUM empties the graph.  Nothing to check.
			 */
			return false;
		}
		vs->store = store->storeno;
		vs->storep = store;
		if (store->attnum != vs->attnum || store->dims != meta->dims)
			RvvReport(vs, "ruhnsw_meta", RUHNSW_METAPAGE_BLKNO, -1,
					  "covers store %d with dims %d, but that store is of column %d with dims %d",
					  meta->storeno, meta->dims, store->attnum, store->dims);
		vs->next_vid = RvStoreNextVid(store);
	}
	return true;
}

/*
 * The upper page and offset the reference ref of vid's record names, and
 * the record's length for level; false if the page lies beyond the index.
 */
static bool
RvvUpperLocation(RuhnswVerifyState *vs, uint32 vid, uint32 ref, int level, uint32 *u,
				 uint32 *off, uint32 *len)
{
	uint64		uu = (uint64) RuhnswVidGroup(vs->meta.nodes_per_page, vs->meta.group_pages, vid) +
		RuhnswUpperDelta(ref);

	*off = RuhnswUpperOff(ref);
	*len = sizeof(uint32) * vs->meta.m * level;
	if (uu >= vs->nupper)
		return false;
	*u = (uint32) uu;
	return true;
}

/*
 * Copies vid's whole record into rec (RuhnswNodeSize bytes: the level-0
 * record, then its upper lists when its reference was found valid in
 * pass 1, else empty upper lists), reading pages into vs->page as needed.
 * Returns false when the record is not on a usable page (state RVV_BAD or
 * beyond the index).
 */
static bool
RvvReadRecord(RuhnswVerifyState *vs, uint32 vid, char *rec)
{
	BlockNumber blkno;
	uint32		recsize = vs->meta.nodesize;
	RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
	uint32		u,
				off,
				len;

	if (vid >= vs->nvids || (vs->node[vid] & RVV_STATE_MASK) == RVV_BAD)
		return false;
	blkno = RuhnswNodeBlock(vs->meta.nodes_per_page, vs->meta.group_pages, vid);
	RvvReadPage(vs, blkno);
	memcpy(rec, PageGetContents(vs->page) +
		   (Size) (vid % vs->meta.nodes_per_page) * recsize, recsize);
	memset(rec + recsize, 0xFF, sizeof(uint32) * vs->nslots + sizeof(RuhnswNodeHeader) - recsize);
	if ((vs->node[vid] & RVV_UPPER_OK) &&
		RvvUpperLocation(vs, vid, hdr->upper, RVV_LEVEL(vs->node[vid]), &u, &off, &len))
	{
		RvvReadPage(vs, RuhnswUpperBlock(vs->meta.group_pages, u));
		memcpy(rec + recsize, PageGetContents(vs->page) + off, len);
	}
	return true;
}

/*
 * Pass 0: the upper pages: page header, flag, bytes in use.  Fills
 * upper_used (RVV_UPPER_BAD for a page whose records cannot be used).
 */
static void
RvvScanUpperPages(RuhnswVerifyState *vs)
{
	Size		minlower = ((char *) PageGetContents(vs->page) - vs->page) + RUHNSW_PAGE_CONTENTS;

	for (uint32 u = 0; u < vs->nupper; u++)
	{
		BlockNumber blkno = RuhnswUpperBlock(vs->meta.group_pages, u);
		bool		isnew;
		const RuhnswPageOpaqueData *op;

		RvvReadPage(vs, blkno);
		if (!RvvCheckPage(vs, blkno, minlower, true, &isnew))
		{
			vs->upper_used[u] = isnew ? 0 : RVV_UPPER_BAD;
			continue;
		}
		op = (const RuhnswPageOpaqueData *) PageGetSpecialPointer((Page) vs->page);
		if (op->flags != RUHNSW_PAGE_UPPER ||
			op->upper_used > RUHNSW_PAGE_CONTENTS || op->upper_used % sizeof(uint32) != 0)
		{
			RvvReport(vs, "ruhnsw_page", blkno, -1,
					  "upper page with flags 0x%04x and %u bytes in use (expected flags 0x%04x, "
					  "at most %u bytes, a multiple of 4)",
					  op->flags, op->upper_used, RUHNSW_PAGE_UPPER,
					  (unsigned) RUHNSW_PAGE_CONTENTS);
			vs->upper_used[u] = RVV_UPPER_BAD;
			continue;
		}
		vs->upper_used[u] = op->upper_used;
	}
}

/*
 * Checks the upper reference of vid's used record hdr (level >= 1) against
 * pass 0's upper_used and claims its units in upper_map (reads no page);
 * returns true when the upper record can be read.
 */
static bool
RvvCheckUpper(RuhnswVerifyState *vs, BlockNumber blkno, uint32 vid, const RuhnswNodeHeader *hdr,
			  int level)
{
	uint32		u,
				off,
				len;
	uint8	   *map;

	if (!(hdr->flags & RUHNSW_NODE_UPPER))
	{
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "node of level %d%s has no upper record", level,
				  (hdr->flags & RUHNSW_NODE_TIDS) ? " with a TID tail" : "");
		return false;
	}
	if (!RvvUpperLocation(vs, vid, hdr->upper, level, &u, &off, &len))
	{
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "upper record reference 0x%08x names an upper page beyond the index",
				  hdr->upper);
		return false;
	}
	if (vs->upper_used[u] == RVV_UPPER_BAD)
		return false;			/* the page was reported */
	if (off % sizeof(uint32) != 0 || off + len > vs->upper_used[u])
	{
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "upper record at offset %u (%u bytes) of block %u lies outside its %u bytes in use",
				  off, len, RuhnswUpperBlock(vs->meta.group_pages, u), vs->upper_used[u]);
		return false;
	}
	map = vs->upper_map + (Size) u * RVV_MAP_BYTES;
	for (uint32 k = off / sizeof(uint32); k < (off + len) / sizeof(uint32); k++)
	{
		if (map[k / 8] & (1 << (k % 8)))
		{
			RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
					  "upper record at offset %u of block %u overlaps another node's",
					  off, RuhnswUpperBlock(vs->meta.group_pages, u));
			return false;
		}
	}
	for (uint32 k = off / sizeof(uint32); k < (off + len) / sizeof(uint32); k++)
		map[k / 8] |= 1 << (k % 8);
	return true;
}

/*
 * Pass 1: the state and level of every record slot; checks each used
 * record's header.  Returns the number of live nodes.
 */
static uint64
RvvScanRecords(RuhnswVerifyState *vs)
{
	uint32		npp = vs->meta.nodes_per_page;
	uint32		grp = vs->meta.group_pages;
	Size		minlower = ((char *) PageGetContents(vs->page) - vs->page) +
		(Size) npp * vs->meta.nodesize;
	uint64		nlive = 0;

	for (BlockNumber blkno = 1; blkno < vs->nblocks; blkno++)
	{
		uint64		first;
		bool		isnew;
		bool		ok;

		if (RuhnswBlockIsUpper(grp, blkno))
			continue;
		first = RuhnswBlockFirstVid(npp, grp, blkno);
		if (first >= vs->nvids)
			break;
		RvvReadPage(vs, blkno);
		ok = RvvCheckPage(vs, blkno, minlower, true, &isnew);
		if (ok && ((const RuhnswPageOpaqueData *) PageGetSpecialPointer((Page) vs->page))->flags != 0)
		{
			RvvReport(vs, "ruhnsw_page", blkno, -1, "level-0 page with flags 0x%04x",
					  ((const RuhnswPageOpaqueData *) PageGetSpecialPointer((Page) vs->page))->flags);
			ok = false;
		}
		for (uint32 i = 0; i < npp && first + i < vs->nvids; i++)
		{
			uint64		vid = first + i;
			RuhnswNodeHeader hdr;
			int			level;
			uint8		st;
			bool		upper_ok = false;

			if (!ok)
			{
				vs->node[vid] = isnew ? RVV_UNUSED : RVV_BAD;
				continue;
			}
			memcpy(&hdr, PageGetContents(vs->page) + (Size) i * vs->meta.nodesize, sizeof(hdr));
			if (!(hdr.flags & RUHNSW_NODE_USED))
			{
				vs->node[vid] = RVV_UNUSED;
				continue;
			}
			st = (hdr.flags & RUHNSW_NODE_DELETED) ? RVV_DELETED : RVV_LIVE;
			level = hdr.level;
			if (hdr.flags & ~(RUHNSW_NODE_USED | RUHNSW_NODE_DELETED | RUHNSW_NODE_UPPER |
							  RUHNSW_NODE_TIDS))
				RvvReport(vs, "ruhnsw_node", blkno, (int64) vid, "unknown flags 0x%02x",
						  hdr.flags);
			if (vid >= vs->next_vid)
				RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
						  "used record at or beyond the store's next vid " UINT64_FORMAT,
						  vs->next_vid);
			if (level > RUHNSW_MAX_LEVEL)
			{
				RvvReport(vs, "ruhnsw_node", blkno, (int64) vid, "level %d exceeds %d",
						  level, RUHNSW_MAX_LEVEL);
				level = RUHNSW_MAX_LEVEL;
			}
			else if (st == RVV_LIVE && vs->meta.entry_vid != RUHNSW_INVALID_VID &&
					 level > vs->meta.entry_level)
				RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
						  "live node of level %d above the entry level %d",
						  level, vs->meta.entry_level);
			if (level >= 1 || (hdr.flags & RUHNSW_NODE_TIDS))
				upper_ok = RvvCheckUpper(vs, blkno, (uint32) vid, &hdr, level);
			if (st == RVV_LIVE)
				nlive++;
			vs->node[vid] = st | (uint8) (level << RVV_LEVEL_SHIFT) |
				(upper_ok ? RVV_UPPER_OK : 0);
		}
	}
	return nlive;
}

/*
 * The heap TIDs of live node vid whose level-0 record rec (header hdr)
 * is: the inline one (unless invalid, which a node with a tail may
 * have), then those of its TID tail, which is checked (and
 * its units claimed in upper_map) when its upper reference was found
 * valid in pass 1.  Returns their number in *tids (palloc'd, room for
 * RuhnswMaxTids).  Reads pages into vs->page.
 */
static int
RvvNodeTids(RuhnswVerifyState *vs, BlockNumber blkno, uint32 vid,
			const RuhnswNodeHeader *hdr, ItemPointerData **tids)
{
	int			level = RVV_LEVEL(vs->node[vid]);
	uint32		u,
				off,
				len;
	const RuhnswTidTail *tail;
	uint32		toff,
				tlen;
	uint8	   *map;
	int			n = 1;

	*tids = palloc(sizeof(ItemPointerData) * RuhnswMaxTids(vs->meta.m, 0));
	(*tids)[0] = hdr->tid;
	if (!(hdr->flags & RUHNSW_NODE_TIDS) || !(vs->node[vid] & RVV_UPPER_OK) ||
		!RvvUpperLocation(vs, vid, hdr->upper, level, &u, &off, &len))
		return n;
	/* with a tail, the inline slot may be empty (its TID died) */
	if (!ItemPointerIsValid(&hdr->tid))
		n = 0;
	toff = off + len;
	if (toff + RuhnswTailSize(0) > vs->upper_used[u])
	{
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "TID tail at offset %u of block %u lies outside its %u bytes in use",
				  toff, RuhnswUpperBlock(vs->meta.group_pages, u), vs->upper_used[u]);
		return n;
	}
	RvvReadPage(vs, RuhnswUpperBlock(vs->meta.group_pages, u));
	tail = (const RuhnswTidTail *) (PageGetContents(vs->page) + toff);
	if (RuhnswTailLog2Cap(tail) > RUHNSW_TAIL_MAX_LOG2CAP)
	{
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "TID tail at offset %u of block %u has a capacity of 2^%u TIDs (at most 2^%d)",
				  toff, RuhnswUpperBlock(vs->meta.group_pages, u), RuhnswTailLog2Cap(tail),
				  RUHNSW_TAIL_MAX_LOG2CAP);
		return n;
	}
	tlen = RuhnswTailSize(RuhnswTailCap(tail));
	if (RuhnswTailCount(tail) > RuhnswTailCap(tail) || toff + tlen > vs->upper_used[u])
	{
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "TID tail at offset %u of block %u has %u of %u TIDs in use, "
				  "%u bytes of which lie outside its %u bytes in use",
				  toff, RuhnswUpperBlock(vs->meta.group_pages, u), RuhnswTailCount(tail),
				  RuhnswTailCap(tail),
				  tlen, vs->upper_used[u]);
		return n;
	}
	map = vs->upper_map + (Size) u * RVV_MAP_BYTES;
	for (uint32 k = toff / sizeof(uint32); k < (toff + tlen) / sizeof(uint32); k++)
	{
		if (map[k / 8] & (1 << (k % 8)))
		{
			RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
					  "TID tail at offset %u of block %u overlaps another node's record",
					  toff, RuhnswUpperBlock(vs->meta.group_pages, u));
			return n;
		}
	}
	for (uint32 k = toff / sizeof(uint32); k < (toff + tlen) / sizeof(uint32); k++)
		map[k / 8] |= 1 << (k % 8);
	memcpy(*tids + n, tail->tids, sizeof(ItemPointerData) * RuhnswTailCount(tail));
	if (n + RuhnswTailCount(tail) == 0)
		RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
				  "live node has no heap TID (an invalid inline TID and an empty tail)");
	return n + RuhnswTailCount(tail);
}

/*
 * Pass 2: the links of every used record, and each live node's heap TIDs.
 * Needs the states of pass 1 (a link may point forward).
 */
static void
RvvCheckLinks(RuhnswVerifyState *vs, char *rec)
{
	uint32		npp = vs->meta.nodes_per_page;
	int			m = (int) vs->meta.m;

	for (uint64 vid = 0; vid < vs->nvids; vid++)
	{
		uint8		st = vs->node[vid] & RVV_STATE_MASK;
		int			level = RVV_LEVEL(vs->node[vid]);
		BlockNumber blkno = RuhnswNodeBlock(npp, vs->meta.group_pages, (uint32) vid);
		RuhnswNodeHeader *hdr = (RuhnswNodeHeader *) rec;
		const uint32 *slots = RuhnswNodeSlots(rec);

		if (st != RVV_LIVE && st != RVV_DELETED)
			continue;
		if (!RvvReadRecord(vs, (uint32) vid, rec))
			continue;
		for (int lc = 0; lc <= RUHNSW_MAX_LEVEL; lc++)
		{
			int			start = lc == 0 ? 0 : 2 * m + (lc - 1) * m;
			int			count = lc == 0 ? 2 * m : m;

			for (int k = start; k < start + count && k < vs->nslots; k++)
			{
				uint32		t = slots[k];
				uint8		tst;

				if (t == RUHNSW_INVALID_VID)
					continue;
				if (lc > level)
				{
					RvvReport(vs, "ruhnsw_node", blkno, (int64) vid,
							  "link to vid %u in the list of level %d, above the node's level %d",
							  t, lc, level);
					continue;
				}
				if ((uint64) t >= vs->next_vid)
				{
					RvvReport(vs, "ruhnsw_link", blkno, (int64) vid,
							  "level %d link to vid %u, at or beyond the store's next vid "
							  UINT64_FORMAT, lc, t, vs->next_vid);
					continue;
				}
				tst = (uint64) t < vs->nvids ? (vs->node[t] & RVV_STATE_MASK) : RVV_UNUSED;
				if (tst == RVV_UNUSED)
					RvvReport(vs, "ruhnsw_link", blkno, (int64) vid,
							  "level %d link to vid %u, which has no used record", lc, t);
				else if (tst == RVV_LIVE && st == RVV_LIVE &&
						 RVV_LEVEL(vs->node[t]) < lc)
					RvvReport(vs, "ruhnsw_link", blkno, (int64) vid,
							  "level %d link to vid %u of level %d", lc, t,
							  RVV_LEVEL(vs->node[t]));
			}
		}

		/* the heap tuples of a live node (only for an index on a plain column) */
		if (st == RVV_LIVE && vs->attnum >= 1 &&
			vs->attnum <= RelationGetNumberOfAttributes(vs->heap))
		{
			ItemPointerData *tids;
			int			ntids = RvvNodeTids(vs, blkno, (uint32) vid, hdr, &tids);

			for (int t = 0; t < ntids; t++)
			{
				ItemPointerData tid = tids[t];
				BlockNumber hblk = ItemPointerGetBlockNumberNoCheck(&tid);
				OffsetNumber hoff = ItemPointerGetOffsetNumberNoCheck(&tid);
				RvStore    *store;
				uint64		hvid;
				bool		dup = false;

				for (int p = 0; p < t && !dup; p++)
					dup = ItemPointerEquals(&tids[p], &tid);
				if (dup)
					RvvReport(vs, "ruhnsw_heap_tid", blkno, (int64) vid,
							  "heap TID (%u,%u) appears twice in the node", hblk, hoff);
				else if (hblk >= vs->heap_nblocks || hoff < FirstOffsetNumber ||
						 hoff > MaxHeapTuplesPerPage)
					RvvReport(vs, "ruhnsw_heap_tid", blkno, (int64) vid,
							  "heap TID (%u,%u) is not a valid TID of the table (%u blocks)",
							  hblk, hoff, vs->heap_nblocks);
				else if (RvTamGetVid(vs->heap, &tid, vs->attnum, &store, &hvid) &&
						 (store->relid != vs->meta.store_relid || hvid != vid) &&
						 !RvTamTidRefersToVid(vs->heap, &tid, vs->attnum, vs->storep, vid))
					RvvReport(vs, "ruhnsw_heap_tid", blkno, (int64) vid,
							  "heap tuple (%u,%u) refers to store %d vid " UINT64_FORMAT
							  ", not to this node",
							  hblk, hoff, store->storeno, hvid);
			}
			pfree(tids);
		}
	}
}

/*
 * Pass 3: breadth-first walk from the entry point over level-0 lists
 * (through deleted nodes too); every live node left unvisited is
 * reported.  Each vid is queued at most once, so the walk is bounded by
 * nvids.
 */
static void
RvvCheckReachable(RuhnswVerifyState *vs, char *rec)
{
	uint32		npp = vs->meta.nodes_per_page;
	uint32		entry = vs->meta.entry_vid;
	int			m = (int) vs->meta.m;
	uint8	   *visited;
	uint32	   *queue;
	uint64		head = 0,
				tail = 0;

	if (entry == RUHNSW_INVALID_VID || (uint64) entry >= vs->nvids ||
		(vs->node[entry] & RVV_STATE_MASK) != RVV_LIVE)
		return;					/* reported by the entry check */
	visited = MemoryContextAllocHuge(CurrentMemoryContext, (vs->nvids + 7) / 8);
	memset(visited, 0, (vs->nvids + 7) / 8);
	queue = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * vs->nvids);
	visited[entry / 8] |= 1 << (entry % 8);
	queue[tail++] = entry;
	while (head < tail)
	{
		uint32		vid = queue[head++];
		const uint32 *slots = RuhnswNodeSlots(rec);

		if ((head & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (!RvvReadRecord(vs, vid, rec))
			continue;
		/* level 0's list: the first 2 * m slots */
		for (int k = 0; k < 2 * m && k < vs->nslots; k++)
		{
			uint32		t = slots[k];
			uint8		tst;

			if (t == RUHNSW_INVALID_VID || (uint64) t >= vs->nvids)
				continue;
			tst = vs->node[t] & RVV_STATE_MASK;
			if ((tst != RVV_LIVE && tst != RVV_DELETED) ||
				(visited[t / 8] & (1 << (t % 8))))
				continue;
			visited[t / 8] |= 1 << (t % 8);
			queue[tail++] = t;
		}
	}
	for (uint64 vid = 0; vid < vs->nvids; vid++)
		if ((vs->node[vid] & RVV_STATE_MASK) == RVV_LIVE &&
			!(visited[vid / 8] & (1 << (vid % 8))))
			RvvReport(vs, "ruhnsw_unreachable", RuhnswNodeBlock(npp, vs->meta.group_pages, (uint32) vid),
					  (int64) vid,
					  "live node is not reachable from the entry point %u", entry);
	pfree(visited);
	pfree(queue);
}

/*
 * RuhnswVerify: checks the ruhnsw index "index" of the ruvector table
 * "heap" (see the file header) and calls report once per problem found.
 * The caller holds at least ShareUpdateExclusiveLock on heap and
 * AccessShareLock on index.  Raises an error when a page cannot be read or
 * the metapage names a store the table does not have; the caller runs it
 * in a subtransaction.  Allocates in the current memory context.
 */
void
RuhnswVerify(Relation heap, Relation index, RuhnswVerifyReport report, void *arg)
{
	RuhnswVerifyState vs;
	uint64		nlive;
	char	   *rec;

	memset(&vs, 0, sizeof(vs));
	vs.heap = heap;
	vs.index = index;
	vs.report = report;
	vs.arg = arg;
	vs.store = -1;
	vs.strategy = GetAccessStrategy(BAS_BULKREAD);
	vs.page = palloc(BLCKSZ);
	vs.cached_blkno = InvalidBlockNumber;
	vs.attnum = index->rd_index->indkey.values[0];

	LockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	vs.nblocks = RelationGetNumberOfBlocks(index);
	vs.heap_nblocks = RelationGetNumberOfBlocks(heap);
	if (vs.nblocks == 0)
	{
		/* an unlogged index reset by crash recovery keeps its init fork's metapage */
		RvvReport(&vs, "ruhnsw_page", RUHNSW_METAPAGE_BLKNO, -1, "index file is empty: no metapage");
		goto done;
	}
	if (!RvvCheckMeta(&vs))
		goto done;

	vs.nvids = Min(RuhnswNumVids(vs.meta.nodes_per_page, vs.meta.group_pages, vs.nblocks),
				   (uint64) RUHNSW_INVALID_VID);
	vs.node = MemoryContextAllocHuge(CurrentMemoryContext, Max(vs.nvids, 1));
	vs.nupper = vs.nblocks > 1 ? (vs.nblocks - 2) / (vs.meta.group_pages + 1) + 1 : 0;
	vs.upper_used = MemoryContextAllocHuge(CurrentMemoryContext,
										   sizeof(uint16) * Max(vs.nupper, 1));
	vs.upper_map = MemoryContextAllocHuge(CurrentMemoryContext,
										  (Size) RVV_MAP_BYTES * Max(vs.nupper, 1));
	memset(vs.upper_map, 0, (Size) RVV_MAP_BYTES * Max(vs.nupper, 1));
	rec = palloc(RuhnswNodeSize(vs.meta.m));

	RvvScanUpperPages(&vs);
	nlive = RvvScanRecords(&vs);

	/* the entry point */
	if (vs.meta.entry_vid == RUHNSW_INVALID_VID)
	{
		if (nlive > 0)
			RvvReport(&vs, "ruhnsw_entry", RUHNSW_METAPAGE_BLKNO, -1,
					  "no entry point, but " UINT64_FORMAT " nodes are live", nlive);
	}
	else if ((uint64) vs.meta.entry_vid >= vs.nvids ||
			 (vs.node[vs.meta.entry_vid] & RVV_STATE_MASK) != RVV_LIVE)
		RvvReport(&vs, "ruhnsw_entry", RUHNSW_METAPAGE_BLKNO, vs.meta.entry_vid,
				  "entry point %u is not a live node", vs.meta.entry_vid);
	else if (RVV_LEVEL(vs.node[vs.meta.entry_vid]) != vs.meta.entry_level)
		RvvReport(&vs, "ruhnsw_entry", RUHNSW_METAPAGE_BLKNO, vs.meta.entry_vid,
				  "entry point %u has level %d, the metapage says %d", vs.meta.entry_vid,
				  RVV_LEVEL(vs.node[vs.meta.entry_vid]), vs.meta.entry_level);

	RvvCheckLinks(&vs, rec);
	RvvCheckReachable(&vs, rec);
	pfree(rec);
	pfree(vs.node);
	pfree(vs.upper_used);
	pfree(vs.upper_map);

done:
	UnlockPage(index, RUHNSW_UPDATE_LOCK, ExclusiveLock);
	FreeAccessStrategy(vs.strategy);
	pfree(vs.page);
}
