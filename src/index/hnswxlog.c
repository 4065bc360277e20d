/*-------------------------------------------------------------------------
 *
 * hnswxlog.c
 *	  WAL records of the index's write steps, built from the byte ranges
 *	  the writer names (RuhnswXLog*), in the generic WAL format.
 *
 * Why not GenericXLog itself.  GenericXLogRegisterBuffer copies each page
 * (8 kB) into a 64 kB state, the writer changes the copy, and
 * GenericXLogFinish finds what changed by comparing the two images byte by
 * byte and copies the image back: about 30 kB of copying and comparing per
 * page for a change of a few dozen bytes.  An insert registers some 30
 * index pages (each back-link changes one record of a neighbour), and at
 * 100 dimensions that was 13% of an INSERT's backend CPU.  A writer here
 * names the ranges it rewrites instead (a record, an upper record, the
 * special space), so only those ranges are compared and logged.
 *
 * The records are generic WAL records (resource manager RM_GENERIC_ID), so
 * PostgreSQL's own generic_redo replays them, on a standby too, and
 * pg_waldump shows them as Generic; no custom resource manager (and so no
 * shared_preload_libraries) is needed.  A record has, per registered page,
 * REGBUF_STANDARD and the delta as block data: fragments of (offset,
 * length: OffsetNumber each; that many bytes), applied in order
 * (applyPageRedo in src/backend/access/transam/generic_xlog.c); a new page
 * is logged as a full image (REGBUF_FORCE_IMAGE), as GenericXLog does for
 * GENERIC_XLOG_FULL_IMAGE.  This is the format of PostgreSQL 9.6 to 17.
 * Redo also zeroes the hole between pd_lower and pd_upper; every index
 * page keeps its hole zero (node and upper pages have none: pd_lower is
 * pd_special).
 *
 * Invariants kept:
 *	- pages change only inside the critical section that inserts the WAL
 *	  record describing the change (or, for an unlogged relation, with no
 *	  record), with their buffers exclusively locked by the caller: an
 *	  error before RuhnswXLogFinish leaves every page as it was;
 *	- a page that is all zeros (an extension whose initializing record was
 *	  lost in a crash; RuhnswRegisterPage in hnswutils.c) is initialized in
 *	  the record that first writes into it, as a full image;
 *	- the ranges set on one page do not overlap (the caller's to ensure;
 *	  checked in assert-enabled builds), so every fragment is computed
 *	  against the page as it will be when the fragments before it have
 *	  been applied.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/rmgr.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "index/ruhnsw.h"

/* whether the write changes p's page (a new page always does) */
static inline bool
RuhnswXLogChanged(const RuhnswXLogPage *p)
{
	return p->image != NULL || p->len > 0;
}

/*
 * RuhnswXLogStart: begins a write of index pages (no page registered).
 * logged = false writes the pages with no WAL (an unlogged build, or a
 * relation that needs none: unlogged or temporary).
 */
void
RuhnswXLogStart(RuhnswXLog *x, Relation index, bool logged)
{
	x->logged = logged && RelationNeedsWAL(index);
	x->npages = 0;
}

/*
 * RuhnswXLogRegister: registers buf (an index page the caller holds
 * exclusively locked until after RuhnswXLogFinish) and returns its slot.
 * When the page is all zeros it is initialized in this record
 * (RuhnswInitPage, an upper page when upper) and logged as a full image.
 * At most MAX_GENERIC_XLOG_PAGES pages (more is an internal error).
 */
int
RuhnswXLogRegister(RuhnswXLog *x, Buffer buf, bool upper)
{
	RuhnswXLogPage *p;

	for (int i = 0; i < x->npages; i++)
		if (x->pages[i].buf == buf)
			return i;
	if (x->npages >= MAX_GENERIC_XLOG_PAGES)
		elog(ERROR, "ruhnsw: more than %d pages in one WAL record", MAX_GENERIC_XLOG_PAGES);
	p = &x->pages[x->npages];
	p->buf = buf;
	p->len = 0;
	p->image = NULL;
#ifdef USE_ASSERT_CHECKING
	p->nranges = 0;
#endif
	if (PageIsNew(BufferGetPage(buf)))
	{
		p->image = palloc(BLCKSZ);
		memset(p->image, 0, BLCKSZ);
		RuhnswInitPage((Page) p->image, upper);
	}
	return x->npages++;
}

/*
 * RuhnswXLogImage: the page of slot as it is now (what RuhnswXLogSet
 * compares with): the buffer's page, or the initialized image of a new
 * page.
 */
char *
RuhnswXLogImage(RuhnswXLog *x, int slot)
{
	RuhnswXLogPage *p = &x->pages[slot];

	return p->image ? p->image : (char *) BufferGetPage(p->buf);
}

/*
 * RuhnswXLogSet: the len bytes at byte offset off of slot's page become
 * src (applied by RuhnswXLogFinish).  Only the span from the first to the
 * last byte that differs from the page is logged; nothing when none does.
 * Ranges of one page must not overlap.
 */
void
RuhnswXLogSet(RuhnswXLog *x, int slot, uint32 off, const void *src, uint32 len)
{
	RuhnswXLogPage *p = &x->pages[slot];
	const char *cur = RuhnswXLogImage(x, slot) + off;
	const char *s = src;
	uint32		first = 0,
				last = len;
	OffsetNumber o,
				l;

	Assert(off + len <= BLCKSZ);
#ifdef USE_ASSERT_CHECKING
	for (int i = 0; i < p->nranges; i++)
		Assert(off + len <= p->ranges[i][0] || off >= p->ranges[i][1]);
	if (p->nranges < lengthof(p->ranges))
	{
		p->ranges[p->nranges][0] = off;
		p->ranges[p->nranges][1] = off + len;
		p->nranges++;
	}
#endif
	while (first < len && cur[first] == s[first])
		first++;
	if (first == len)
		return;
	while (cur[last - 1] == s[last - 1])
		last--;
	if (p->image)
	{
		memcpy(p->image + off + first, s + first, last - first);
		return;
	}
	if (p->len + RUHNSW_FRAG_HEADER + (last - first) > sizeof(p->delta))
		elog(ERROR, "ruhnsw: the changes of one page exceed a page");
	o = off + first;
	l = last - first;
	memcpy(p->delta + p->len, &o, sizeof(o));
	memcpy(p->delta + p->len + sizeof(o), &l, sizeof(l));
	memcpy(p->delta + p->len + RUHNSW_FRAG_HEADER, s + first, l);
	p->len += RUHNSW_FRAG_HEADER + l;
}

/*
 * RuhnswXLogFinish: applies the changes to the pages that change and, when
 * logged, writes one generic WAL record of them (inside one critical
 * section), marks their buffers dirty and sets their LSN; pages left as
 * they were are neither dirtied nor logged, and when none changes nothing
 * is written.  Locks and pins stay the caller's.  Returns the record's
 * LSN, or InvalidXLogRecPtr.
 */
XLogRecPtr
RuhnswXLogFinish(RuhnswXLog *x)
{
	XLogRecPtr	lsn = InvalidXLogRecPtr;
	bool		any = false;

	for (int i = 0; i < x->npages; i++)
		any |= RuhnswXLogChanged(&x->pages[i]);
	if (!any)
	{
		x->npages = 0;
		return lsn;
	}

	START_CRIT_SECTION();
	for (int i = 0; i < x->npages; i++)
	{
		RuhnswXLogPage *p = &x->pages[i];
		char	   *page = (char *) BufferGetPage(p->buf);

		if (!RuhnswXLogChanged(p))
			continue;
		if (p->image)
			memcpy(page, p->image, BLCKSZ);
		else
		{
			for (int at = 0; at < p->len;)
			{
				OffsetNumber o,
							l;

				memcpy(&o, p->delta + at, sizeof(o));
				memcpy(&l, p->delta + at + sizeof(o), sizeof(l));
				memcpy(page + o, p->delta + at + RUHNSW_FRAG_HEADER, l);
				at += RUHNSW_FRAG_HEADER + l;
			}
		}
		MarkBufferDirty(p->buf);
	}
	if (x->logged)
	{
		uint8		block_id = 0;

		XLogBeginInsert();
		for (int i = 0; i < x->npages; i++)
		{
			RuhnswXLogPage *p = &x->pages[i];

			if (p->image)
				XLogRegisterBuffer(block_id++, p->buf, REGBUF_FORCE_IMAGE | REGBUF_STANDARD);
			else if (p->len > 0)
			{
				XLogRegisterBuffer(block_id, p->buf, REGBUF_STANDARD);
				XLogRegisterBufData(block_id++, p->delta, p->len);
			}
		}
		lsn = XLogInsert(RM_GENERIC_ID, 0);
		for (int i = 0; i < x->npages; i++)
			if (RuhnswXLogChanged(&x->pages[i]))
				PageSetLSN(BufferGetPage(x->pages[i].buf), lsn);
	}
	END_CRIT_SECTION();
	for (int i = 0; i < x->npages; i++)
		if (x->pages[i].image)
			pfree(x->pages[i].image);
	x->npages = 0;
	return lsn;
}
