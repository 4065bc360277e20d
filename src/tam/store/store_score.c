/*-------------------------------------------------------------------------
 *
 * store_score.c
 *	  The scorer API (rv_score.h): distances from a query to stored
 *	  vectors, exact on the f32 payload or approximate on the SQ8 code
 *	  pages or the 1-bit RaBitQ bit pages (and, for sealed segments, the
 *	  tier's bf16, SQ8 or bit records) with an error bound, and
 *	  backend-local vector caches for builds.
 *
 * Invariants:
 *	- no pointer into a store page is returned; a scorer keeps the pages of
 *	  its last call pinned (for reuse by the next), never more than
 *	  RV_PINSET_MAX, until RvStoreEndScore; a batch's code records are
 *	  pinned RV_PIN_GROUP at a time, each group released before the next;
 *	- RvStoreScoreExact computes RvVectorDistance on the floats as one
 *	  contiguous piece (in place, or a copy for a vector straddling pages),
 *	  so it equals the SQL function's value bit for bit;
 *	- an SQ8 distance's bound holds for every code record that verify
 *	  accepts (each element within scale/2 of the float), and so does a
 *	  warm (bf16) record's; a bit code's RaBitQ bound holds with high
 *	  probability only, so whatever must be certain (RvStoreScoreExceeds,
 *	  RvStoreScoreLowerBounds, RvStoreScoreBounds) is judged on SQ8 or
 *	  bf16 codes, on the sign bound of a bit code (which holds for every
 *	  vector) or on exact floats, never on RaBitQ's estimate;
 *	- a sealed vid (rv_tier.h) is scored on its tier's record, found
 *	  through the directory (RvStoreSegLoc), pinned in the scorer's pin
 *	  set like any other page.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"
#include "utils/float.h"
#include "utils/memutils.h"

#include "simd/rv_simd.h"
#include "tam/store/rv_score.h"
#include "tam/store/rv_tier.h"
#include "tam/store/store_int.h"

int			rv_search_codes = RV_SCORE_SQ8;
bool		rv_int8_query = true;

StaticAssertDecl(sizeof(RvBitFactors) == RV_BIT_HEADER,
				 "bit factors must fit the bit record header");

/*
 * Absolute slack per element in SQ8 bounds: a vector whose range is
 * denormal may get a scale that underflows to 0 or keeps few bits, leaving
 * an element up to 255 denormal steps from its code's value.
 */
#define RV_SQ8_ABS_SLACK (256.0 * FLT_TRUE_MIN)

StaticAssertDecl(sizeof(RvSq8Params) == RV_CODE_HEADER,
				 "SQ8 parameters must fit the code record header");

struct RvScorer
{
	RvStore    *store;
	RvDistanceKind kind;
	RvScoreMode mode;			/* RV_SCORE_SQ8 only when usable */
	int			dims;
	float	   *q;				/* dims floats */
	float		qnorm;			/* |q| */
	double		sqrt_dims;		/* sqrt(dims), for the SQ8 bound */
	RvSq8Query	sq8;			/* points at q; prepared when sq8_ok */
	int8_t	   *sq8_qi;			/* its int8 form's dims bytes, or NULL */
	int			sq8_int_wait;	/* estimates until the int8 form is due; -1 never
								 * or made */
	bool		sq8_ok;			/* SQ8 codes usable for certain bounds */
	RvRabitqQuery bq;			/* the prepared query, under RV_SCORE_BIT */
	uint64_t   *planes;			/* its 4 * bit_words words */
	float	   *scratch;		/* dims floats, for copies */
	char	   *code_scratch;	/* RV_CODE_BATCH SQ8 records: straddlers' copies */
	RvScoreCache *cache;		/* or NULL */
	bool		query_right;	/* RvStoreScoreExact computes d(x, q) */
	RvPinSet	pins;			/* of the last call, kept for reuse */
	/* the sign bound of RvStoreScoreExceeds (RvScorerSignBoundPrepare) */
	bool		sb_tried;		/* prepared, or found unusable */
	bool		sb_ok;			/* usable: the store has bit codes, L2 kinds */
	int			sb_words;		/* P / 64 */
	double		sb_m;			/* |q - c| */
	double		sb_delta;		/* weight step: u_i * delta >= q'_i^2 */
	uint64_t   *sb_sign;		/* sign bits of q' = R(q - c) */
	uint64_t   *sb_planes;		/* 8 bit planes of u, 2^j at j * sb_pwords */
	int			sb_pwords;		/* planes' stride: sb_words rounded up to 8 */
	int			sb_nblocks;		/* SQ8 blocks of RV_LB_SQ8_BLOCK dimensions */
	int		   *sb_order;		/* the order RvStoreScoreLowerBounds sums them in */
	uint64		sb_ruled_out;	/* of them, ruled out */
	bool		sb_external;	/* RvStoreScoreLowerBounds gave them: not retried */
};

/* Whether kind has an SQ8 kernel. */
static bool
RvKindHasSq8(RvDistanceKind kind)
{
	return kind == RV_DIST_L2 || kind == RV_DIST_L2_SQUARED ||
		kind == RV_DIST_INNER_PRODUCT || kind == RV_DIST_NEG_INNER_PRODUCT ||
		kind == RV_DIST_COSINE;
}

static RvScorer *
RvScorerCreate(RvStore *store, RvDistanceKind kind, RvScoreMode mode, RvScoreCache *cache)
{
	RvScorer   *s = palloc(sizeof(RvScorer));

	/* no palloc0: the pin arrays are large and only n/nprev need zeroing */
	s->cache = cache;
	s->query_right = false;
	s->pins.n = 0;
	s->pins.nprev = 0;
	s->store = store;
	s->kind = kind;
	s->dims = store->dims;
	s->sq8_ok = mode != RV_SCORE_EXACT && store->geo.codes == RV_CODES_SQ8 &&
		RvKindHasSq8(kind);
	/* the bit kernels cover the same kinds as SQ8's */
	if (mode == RV_SCORE_BIT && store->geo.bits == RV_CODES_BIT && RvKindHasSq8(kind))
		s->mode = RV_SCORE_BIT;
	else
		s->mode = s->sq8_ok ? RV_SCORE_SQ8 : RV_SCORE_EXACT;
	s->q = palloc(sizeof(float) * s->dims);
	s->sq8_qi = NULL;
	s->sq8_int_wait = -1;
	s->scratch = NULL;
	s->code_scratch = NULL;
	s->planes = NULL;
	s->sb_tried = false;
	s->sb_ok = false;
	s->sb_ruled_out = 0;
	s->sb_external = false;
	return s;
}

/* estimates on the float query before a scorer makes its int8 query */
#define RV_INT_QUERY_AFTER 24

/*
 * dims below which the int8 query does not pay: its kernel's two
 * reductions and masked tail cost what it saves (on the 100-d text set,
 * ef_search 700: 656 and 627 QPS with it against 669 and 675 without; on
 * Fashion-MNIST's 784 dims its searches were 12% faster)
 */
#define RV_INT_QUERY_MIN_DIMS 256

/* the seed of the bit query's randomized rounding (fixed: answers repeat) */
#define RV_BIT_ROUND_SEED UINT64CONST(0x2545F4914F6CDD1D)

/*
 * The SQ8 query terms and |q| (when SQ8 codes are usable), and under
 * RV_SCORE_BIT the rotated, 4-bit-quantized query against the store's
 * centroid; a store whose centroid is not fixed yet (it has no vectors)
 * is scored on SQ8 codes instead.
 */
static void
RvScorerPrepare(RvScorer *s)
{
	s->qnorm = -1;				/* computed on demand */
	s->sqrt_dims = sqrt((double) s->dims);
	if (s->sq8_ok)
	{
		RvSq8PrepareQuery(s->q, s->dims, &s->sq8);
		s->qnorm = sqrtf(Max(s->sq8.norm2, 0.0f));
		/*
		 * The int8 query, for estimates alone, where the CPU makes it pay:
		 * made by the first batch after RV_INT_QUERY_AFTER estimates
		 * (RvScorerIntQueryDue), since making it costs about as much as
		 * that many estimates, and a scorer of one neighbour list never
		 * gets there
		 */
		s->sq8_int_wait = rv_int8_query && s->dims >= RV_INT_QUERY_MIN_DIMS &&
			s->dims <= 65535 && rv_kernels->int_query_max() > 0 ? RV_INT_QUERY_AFTER : -1;
	}
	if (s->mode == RV_SCORE_BIT)
	{
		MemoryContext cxt = GetMemoryChunkContext(s);
		uint32		words = s->store->geo.bit_words;
		float	   *c = MemoryContextAlloc(cxt, sizeof(float) * s->dims);
		float	   *scratch;

		if (!RvStoreReadCentroid(s->store, c))
		{
			pfree(c);
			s->mode = s->sq8_ok ? RV_SCORE_SQ8 : RV_SCORE_EXACT;
			return;
		}
		scratch = MemoryContextAlloc(cxt, sizeof(float) * words * 64);
		s->planes = MemoryContextAlloc(cxt, sizeof(uint64_t) * RV_RABITQ_QUERY_BITS * words);
		RvRabitqPrepareQuery(s->q, c, s->dims, RV_BIT_SEED, RV_BIT_ROUND_SEED, scratch,
							 s->planes, &s->bq);
		pfree(scratch);
		pfree(c);
	}
}

/*
 * s->code_scratch, allocated on first use: room for RV_CODE_BATCH SQ8
 * records, where RvStorePinCodeRecords copies the records that straddle
 * two code pages; NULL when the store's records never straddle.
 */
static inline char *
RvScorerCodeScratch(RvScorer *s)
{
	if (!s->store->geo.code_straddle)
		return NULL;
	if (s->code_scratch == NULL)
		s->code_scratch = MemoryContextAlloc(GetMemoryChunkContext(s),
											 (Size) RV_CODE_BATCH * s->store->geo.code_stride);
	return s->code_scratch;
}

/* s->scratch, allocated on first use (dims floats). */
static inline float *
RvScorerScratch(RvScorer *s)
{
	if (s->scratch == NULL)
		s->scratch = MemoryContextAlloc(GetMemoryChunkContext(s), sizeof(float) * s->dims);
	return s->scratch;
}

RvScorer *
RvStoreBeginScore(RvStore *store, RvDistanceKind kind, const float *query, RvScoreMode mode,
				  RvScoreCache *cache)
{
	RvScorer   *s = RvScorerCreate(store, kind, mode, cache);

	memcpy(s->q, query, sizeof(float) * s->dims);
	RvScorerPrepare(s);
	return s;
}

/* s->q = vid's exact vector: from s->cache when it holds floats for vid. */
static void
RvScorerLoadFloats(RvScorer *s, uint64 vid)
{
	RvScoreCache *cache = s->cache;

	if (cache && cache->mode == RV_SCORE_EXACT && vid < cache->nvids &&
		(cache->present[vid / 8] & (1 << (vid % 8))))
		memcpy(s->q, cache->data + vid * cache->recbytes, sizeof(float) * s->dims);
	else
		RvStoreReadFloats(s->store, vid, s->q);
}

RvScorer *
RvStoreBeginScoreVid(RvStore *store, RvDistanceKind kind, uint64 vid, RvScoreMode mode,
					 RvScoreCache *cache)
{
	RvScorer   *s = RvScorerCreate(store, kind, mode, cache);

	RvScorerLoadFloats(s, vid);
	RvScorerPrepare(s);
	return s;
}

bool
RvStoreScoreApproximate(const RvScorer *s)
{
	return s->mode != RV_SCORE_EXACT;
}

bool
RvStoreScoreHasCold(const RvScorer *s)
{
	return s->mode != RV_SCORE_EXACT && RvStoreHasTier(s->store, RV_TIER_COLD);
}

RvScoreMode
RvStoreScoreMode(const RvScorer *s)
{
	return s->mode;
}

void
RvStoreScoreQueryOnRight(RvScorer *s)
{
	s->query_right = true;
}

float
RvStoreScoreQueryNorm(RvScorer *s)
{
	if (s->qnorm < 0)
		s->qnorm = sqrtf(rv_kernels->dot(s->q, s->q, s->dims));
	return s->qnorm;
}

void
RvStoreEndScore(RvScorer *s)
{
	RvPinSetReleaseAll(&s->pins);
	pfree(s->q);
	if (s->scratch)
		pfree(s->scratch);
	if (s->code_scratch)
		pfree(s->code_scratch);
	if (s->planes)
		pfree(s->planes);
	pfree(s);
}

/* kind's distance from the query to floats p0[0..n0) ++ p1[0..n1). */
static float
RvScorePieces(RvScorer *s, const float *p0, int n0, const float *p1, int n1)
{
	switch (s->kind)
	{
		case RV_DIST_L2:
			return sqrtf(RvL2SquaredDistance(s->q, p0, n0, p1, n1));
		case RV_DIST_L2_SQUARED:
			return RvL2SquaredDistance(s->q, p0, n0, p1, n1);
		case RV_DIST_INNER_PRODUCT:
			return RvInnerProduct(s->q, p0, n0, p1, n1);
		case RV_DIST_NEG_INNER_PRODUCT:
			return -RvInnerProduct(s->q, p0, n0, p1, n1);
		case RV_DIST_COSINE:
			return RvCosineDistance(s->q, p0, n0, p1, n1);
		case RV_DIST_L1:
			return RvL1Distance(s->q, p0, n0, p1, n1);
		case RV_DIST_NONE:
			break;
	}
	elog(ERROR, "unknown ruvector distance kind %d", (int) s->kind);
	return 0;					/* keep compiler quiet */
}

/*
 * Makes room in s->pins for the (at most two) pages of one more vid: a
 * batch touching more pages than the set holds lets go of the oldest.
 */
static inline void
RvScorerRoom(RvScorer *s)
{
	if (s->pins.n + s->pins.nprev > RV_PINSET_MAX - 2)
		RvPinSetReleaseAll(&s->pins);
}

/*
 * Pins of the previous call are kept for reuse by this one (consecutive
 * calls often touch the same page: an exact scan scores vids in heap
 * order); those this call does not reuse are released at its end.
 */
static inline void
RvScorerCallBegin(RvScorer *s)
{
	RvPinSetBeginRow(&s->pins);
}

static inline void
RvScorerCallEnd(RvScorer *s)
{
	RvPinSetEndRow(&s->pins);
}

RvScorer *
RvStoreBeginScoreVidCode(RvStore *store, RvDistanceKind kind, uint64 vid, RvScoreMode mode,
						 RvScoreCache *cache)
{
	RvScorer   *s = RvScorerCreate(store, kind, mode, cache);
	const char *rec = NULL;

	if (s->mode == RV_SCORE_SQ8)
	{
		if (cache && cache->mode == RV_SCORE_SQ8 && vid < cache->nvids &&
			(cache->present[vid / 8] & (1 << (vid % 8))))
			rec = cache->data + vid * cache->recbytes;
		else
		{
			rec = RvStoreCodeRecord(store, vid, &s->pins);
			if (rec && cache && cache->fill && cache->mode == RV_SCORE_SQ8)
				RvScoreCacheKeep(cache, vid, rec);
		}
	}
	if (rec != NULL)
	{
		RvSq8Params p;
		const uint8_t *c = (const uint8_t *) (rec + RV_CODE_HEADER);

		/* x~, as RvSq8Encode decodes it */
		memcpy(&p, rec, sizeof(RvSq8Params));
		for (int i = 0; i < s->dims; i++)
			s->q[i] = p.offset + p.scale * (float) c[i];
		RvPinSetReleaseAll(&s->pins);
	}
	else
		RvScorerLoadFloats(s, vid);
	RvScorerPrepare(s);
	return s;
}

/* Exact distance of vid on the floats, two pieces in place where possible. */
static float
RvScoreFloats(RvScorer *s, uint64 vid)
{
	const float *p0,
			   *p1;
	int			n0,
				n1;
	float		d;

	if (s->cache && s->cache->mode == RV_SCORE_EXACT && vid < s->cache->nvids &&
		(s->cache->present[vid / 8] & (1 << (vid % 8))))
		return RvScorePieces(s, (const float *) (s->cache->data + vid * s->cache->recbytes),
							 s->dims, NULL, 0);
	RvScorerRoom(s);
	if (RvStoreGetPieces(s->store, vid, &s->pins, &p0, &n0, &p1, &n1) == 0)
	{
		float	   *x = RvScorerScratch(s);

		RvStoreReadFloats(s->store, vid, x);
		d = RvScorePieces(s, x, s->dims, NULL, 0);
	}
	else
		d = RvScorePieces(s, p0, n0, p1, n1);
	return d;
}

/*
 * The certain bound of an estimate est of kind's distance from a code
 * whose decoded vector x~ is within e (L2) of the stored one, with |q| =
 * qn and |x~| = xn (rv_score.h): e for L2, e (2 d~ + e) for squared L2,
 * |q| e for inner products, 2 e / |x~| for cosine, each with a relative
 * margin for the kernels' float rounding.
 */
static double
RvDeviationBound(const RvScorer *s, double e, double est, double qn, double xn)
{
	switch (s->kind)
	{
		case RV_DIST_L2:
			return e + 1e-4 * est;
		case RV_DIST_L2_SQUARED:
			return e * (2.0 * sqrt(Max(est, 0.0)) + e) + 1e-4 * est;
		case RV_DIST_INNER_PRODUCT:
		case RV_DIST_NEG_INNER_PRODUCT:
			return qn * e + 1e-4 * qn * xn;
		case RV_DIST_COSINE:
			return xn > 0 ? Min(2.0, 2.0 * e / xn + 1e-4) : 2.0;
		default:
			break;
	}
	elog(ERROR, "no code bound for ruvector distance kind %d", (int) s->kind);
	return 0;					/* keep compiler quiet */
}

/*
 * How many records ahead the batch scorer prefetches, and the prefetch of
 * a record's lines past the first RV_PIN_PREFETCH_BYTES (which
 * RvStorePinCodeRecords prefetched): rec may be NULL (a sealed vid).
 */
#define RV_SCORE_AHEAD 4
#define RV_PIN_PREFETCH_BYTES 192

static inline void
RvPrefetchTail(const char *rec, uint32 stride)
{
	if (rec == NULL)
		return;
	for (uint32 off = RV_PIN_PREFETCH_BYTES; off < stride; off += 64)
		__builtin_prefetch(rec + off);
	/* records need not start on a line: the last line may be one more */
	if (stride > RV_PIN_PREFETCH_BYTES)
		__builtin_prefetch(rec + stride - 1);
}

/* Approximate distance of the query to one SQ8 code record, and its bound. */
static float
RvScoreCodeRecord(RvScorer *s, const char *rec, float *err)
{
	RvSq8Params p;
	const uint8_t *c = (const uint8_t *) (rec + RV_CODE_HEADER);
	double		h,
				e,
				est,
				bound;

	memcpy(&p, rec, sizeof(RvSq8Params));
	if (err == NULL)
	{
		/* the estimate alone (graph traversal) */
		if (s->sq8_int_wait > 0)
			s->sq8_int_wait--;	/* RvScorerIntQueryDue makes it at 0 */
		/*
		 * Squared L2 as |q|^2 - 2 <q, x~> + |x~|^2: the inner-product kernel
		 * does less per element than decoding and subtracting, and the
		 * cancellation it risks (relative to |q|^2 + |x~|^2, about 1e-6) is
		 * far below the codes' own error.  Estimates with a bound use the
		 * direct form, whose rounding the bound's margin covers.
		 */
		if (s->kind == RV_DIST_COSINE)
			return s->sq8.qi != NULL ? RvSq8CosineDistanceInt(&s->sq8, c, &p) :
				RvSq8CosineDistance(&s->sq8, c, &p);
		if (RvKindHasSq8(s->kind))
		{
			/* on the int8 query once it is made (RvSq8PrepareIntQuery) */
			float		ip = s->sq8.qi != NULL ? RvSq8InnerProductInt(&s->sq8, c, &p) :
				RvSq8InnerProduct(&s->sq8, c, &p);

			switch (s->kind)
			{
				case RV_DIST_L2_SQUARED:
					return s->sq8.norm2 + p.norm2 - 2.0f * ip;
				case RV_DIST_L2:
					return sqrtf(Max(s->sq8.norm2 + p.norm2 - 2.0f * ip, 0.0f));
				case RV_DIST_INNER_PRODUCT:
					return ip;
				case RV_DIST_NEG_INNER_PRODUCT:
					return -ip;
				default:
					break;
			}
		}
	}
	/* per-element deviation: half a step, plus the decode's float rounding */
	h = 0.5 * p.scale + 1e-6 * (fabs(p.offset) + 255.0 * p.scale) + RV_SQ8_ABS_SLACK;
	e = h * s->sqrt_dims;
	switch (s->kind)
	{
		case RV_DIST_L2:
		case RV_DIST_L2_SQUARED:
			{
				double		d2 = RvSq8L2SquaredDistance(&s->sq8, c, &p);

				est = s->kind == RV_DIST_L2 ? sqrt(Max(d2, 0.0)) : d2;
				break;
			}
		case RV_DIST_INNER_PRODUCT:
		case RV_DIST_NEG_INNER_PRODUCT:
			est = RvSq8InnerProduct(&s->sq8, c, &p);
			if (s->kind == RV_DIST_NEG_INNER_PRODUCT)
				est = -est;
			break;
		case RV_DIST_COSINE:
			est = RvSq8CosineDistance(&s->sq8, c, &p);
			break;
		default:
			elog(ERROR, "no SQ8 kernel for ruvector distance kind %d", (int) s->kind);
			return 0;			/* keep compiler quiet */
	}
	bound = RvDeviationBound(s, e, est, s->qnorm, sqrt(Max(p.norm2, 0.0f)));
	if (err)
		*err = (float) (bound * (1.0 + 1e-3));
	return (float) est;
}

/*
 * vid scored on its SQ8 record (pinned in s->pins), or exactly when the
 * store has no SQ8 codes (err 0): for vids whose bit record is absent.
 */
static float
RvScoreSq8Vid(RvScorer *s, uint64 vid, float *err)
{
	const char *rec;

	RvScorerRoom(s);
	if (s->sq8_ok && (rec = RvStoreCodeRecord(s->store, vid, &s->pins)) != NULL)
		return RvScoreCodeRecord(s, rec, err);
	/* no SQ8 codes, or a sealed vid without them (warm, cold): exact */
	if (err)
		*err = 0;
	return RvScoreFloats(s, vid);
}

/*
 * The distance of the query to a warm (bf16) record c and, err not NULL,
 * a certain bound: each element's code is the float truncated to 8
 * significant bits, so |x_i - x~_i| < 2^-7 |x~_i| (plus a denormal step)
 * and |x - x~| <= e = 2^-7 |x~| (1 + 1e-6) + sqrt(dims) 2^-133; then as
 * for SQ8 (rv_score.h): e for L2, e (2 d~ + e) for squared L2, |q| e for
 * inner products, 2 e / |x~| for cosine, with a relative margin for the
 * kernels' rounding.
 */
static float
RvScoreBf16Record(RvScorer *s, const uint16 *c, float *err)
{
	float		dot,
				qq,
				xx;
	double		est,
				e,
				bound,
				xn,
				qn;

	if (err == NULL)
	{
		/* the estimate alone (graph traversal): one kernel pass */
		switch (s->kind)
		{
			case RV_DIST_L2_SQUARED:
				return rv_kernels->l2sq_bf16(s->q, c, s->dims);
			case RV_DIST_L2:
				return sqrtf(Max(rv_kernels->l2sq_bf16(s->q, c, s->dims), 0.0f));
			case RV_DIST_INNER_PRODUCT:
				return rv_kernels->dot_bf16(s->q, c, s->dims);
			case RV_DIST_NEG_INNER_PRODUCT:
				return -rv_kernels->dot_bf16(s->q, c, s->dims);
			default:
				break;
		}
	}
	rv_kernels->dot_norms_bf16(s->q, c, s->dims, &dot, &qq, &xx);
	xn = sqrt(Max((double) xx, 0.0));
	e = xn * (1.0 / 128.0) * (1.0 + 1e-6) + s->sqrt_dims * ldexp(1.0, -133);
	qn = sqrt(Max((double) qq, 0.0));
	switch (s->kind)
	{
		case RV_DIST_L2:
		case RV_DIST_L2_SQUARED:
			{
				double		d2 = rv_kernels->l2sq_bf16(s->q, c, s->dims);

				est = s->kind == RV_DIST_L2 ? sqrt(Max(d2, 0.0)) : d2;
				break;
			}
		case RV_DIST_INNER_PRODUCT:
		case RV_DIST_NEG_INNER_PRODUCT:
			est = s->kind == RV_DIST_INNER_PRODUCT ? dot : -dot;
			break;
		case RV_DIST_COSINE:
			if (qn == 0 || xn == 0)
			{
				if (err)
					*err = 0;
				return get_float4_nan();
			}
			est = Max(0.0, Min(2.0, 1.0 - (double) dot / (qn * xn)));
			break;
		default:
			elog(ERROR, "no bf16 kernel for ruvector distance kind %d", (int) s->kind);
			return 0;			/* keep compiler quiet */
	}
	bound = RvDeviationBound(s, e, est, qn, xn);
	if (err)
		*err = (float) (bound * (1.0 + 1e-3));
	return (float) est;
}

/* Prepares the rotated query for cold records when the scorer is not on bits. */
static bool
RvScorerBitQuery(RvScorer *s)
{
	MemoryContext cxt;
	uint32		words;
	float	   *c;
	float	   *scratch;

	if (s->planes)
		return true;
	if (s->store->geo.bits != RV_CODES_BIT || !RvKindHasSq8(s->kind))
		return false;
	cxt = GetMemoryChunkContext(s);
	words = s->store->geo.bit_words;
	c = MemoryContextAlloc(cxt, sizeof(float) * s->dims);
	if (!RvStoreReadCentroid(s->store, c))
	{
		pfree(c);
		return false;
	}
	scratch = MemoryContextAlloc(cxt, sizeof(float) * words * 64);
	s->planes = MemoryContextAlloc(cxt, sizeof(uint64_t) * RV_RABITQ_QUERY_BITS * words);
	RvRabitqPrepareQuery(s->q, c, s->dims, RV_BIT_SEED, RV_BIT_ROUND_SEED, scratch,
						 s->planes, &s->bq);
	pfree(scratch);
	pfree(c);
	return true;
}

static float RvScoreBitRecord(RvScorer *s, const char *rec, uint64 vid, float *err);
static void RvScorerSignBoundPrepare(RvScorer *s);
static bool RvScorerSignBoundInterval(RvScorer *s, uint64 vid, double *lo2, double *hi);

/*
 * vid of a sealed segment scored on its tier's code (warm bf16, cool SQ8,
 * cold 1-bit), with err its bound; with certain, a cold vid (whose bound
 * is not certain) is scored exactly.  A vid not in its segment's run (it
 * was freed before sealing: only a deleted graph node can name it) gets
 * +Infinity.  Exact (err 0) under RV_SCORE_EXACT, for L1, and where the
 * tier's code cannot be used.
 */
static float
RvScoreSealedVid(RvScorer *s, uint64 vid, float *err, bool certain)
{
	const RvSegLoc *loc = RvStoreSegLocFast(s->store, vid / RV_SEG_VIDS);
	const char *rec;

	if (certain && loc->tier == RV_TIER_COLD && err &&
		(s->kind == RV_DIST_L2 || s->kind == RV_DIST_L2_SQUARED) && s->mode != RV_SCORE_EXACT)
	{
		double		lo2,
					hi;

		/*
		 * A cold vid's certain interval without decoding it: the sign
		 * bound below, the triangle inequality |o - q| <= |o - c| + |q - c|
		 * above
		 */
		if (!s->sb_tried)
			RvScorerSignBoundPrepare(s);
		RvScorerRoom(s);
		if (s->sb_ok && RvScorerSignBoundInterval(s, vid, &lo2, &hi))
		{
			double		lo = sqrt(Max(lo2, 0.0));

			if (s->kind == RV_DIST_L2_SQUARED)
			{
				lo = Max(lo2, 0.0);
				hi = hi * hi;
			}
			hi = hi * (1.0 + 1e-4) + 1e-30;
			*err = (float) ((hi - lo) / 2.0 * (1.0 + 1e-6));
			return (float) ((hi + lo) / 2.0);
		}
	}
	if (s->mode == RV_SCORE_EXACT || !RvKindHasSq8(s->kind) || loc->tier == RV_TIER_HOT ||
		loc->tier == RV_TIER_NONE || (certain && loc->tier == RV_TIER_COLD))
	{
		if (err)
			*err = 0;
		return RvScoreFloats(s, vid);
	}
	RvScorerRoom(s);
	rec = RvStoreSealedRecord(s->store, loc, vid, &s->pins);
	if (rec == NULL)
	{
		if (err)
			*err = 0;
		return get_float4_infinity();
	}
	switch (loc->tier)
	{
		case RV_TIER_WARM:
			return RvScoreBf16Record(s, (const uint16 *) rec, err);
		case RV_TIER_COOL:
			if (!s->sq8_ok)
				break;
			return RvScoreCodeRecord(s, rec, err);
		case RV_TIER_COLD:
			{
				RvBitFactors bf;

				memcpy(&bf, rec, sizeof(bf));
				if (bf.ip_oo == 0 || !RvScorerBitQuery(s))
					break;
				return RvScoreBitRecord(s, rec, vid, err);
			}
	}
	if (err)
		*err = 0;
	return RvScoreFloats(s, vid);
}

/*
 * Estimated distance of the query to vid's bit record rec and (err not
 * NULL) its RaBitQ bound at RV_RABITQ_EPS0, which holds with high
 * probability (rv_simd.h).  For L2 the bound of the squared estimate d2 +-
 * b becomes the larger of sqrt(d2) - sqrt(d2 - b) and sqrt(d2 + b) -
 * sqrt(d2).  An absent record (written before the store had a centroid)
 * is scored on SQ8 instead.
 */
static float
RvScoreBitRecord(RvScorer *s, const char *rec, uint64 vid, float *err)
{
	RvBitFactors bf;
	RvRabitqFactors f;
	const uint64_t *code = (const uint64_t *) (rec + RV_BIT_HEADER);
	float		b = 0;
	float		est;

	memcpy(&bf, rec, sizeof(bf));
	if (bf.ip_oo == 0)
		return RvScoreSq8Vid(s, vid, err);
	RvRabitqFactorsFrom(bf.dist_c, bf.ip_oo, bf.o_dot_c, bf.o_norm, code, s->bq.nwords, &f);
	switch (s->kind)
	{
		case RV_DIST_L2_SQUARED:
			est = RvRabitqL2Squared(&s->bq, code, &f, RV_RABITQ_EPS0, err ? &b : NULL);
			break;
		case RV_DIST_L2:
			{
				float		d2 = RvRabitqL2Squared(&s->bq, code, &f, RV_RABITQ_EPS0,
												   err ? &b : NULL);
				double		d = sqrt(Max(d2, 0.0f));

				est = (float) d;
				if (err)
					b = (float) Max(d - sqrt(Max((double) d2 - b, 0.0)),
									sqrt(Max((double) d2 + b, 0.0)) - d);
				break;
			}
		case RV_DIST_INNER_PRODUCT:
			est = RvRabitqInnerProduct(&s->bq, code, &f, RV_RABITQ_EPS0, err ? &b : NULL);
			break;
		case RV_DIST_NEG_INNER_PRODUCT:
			est = -RvRabitqInnerProduct(&s->bq, code, &f, RV_RABITQ_EPS0, err ? &b : NULL);
			break;
		case RV_DIST_COSINE:
			est = RvRabitqCosineDistance(&s->bq, code, &f, RV_RABITQ_EPS0, err ? &b : NULL);
			break;
		default:
			elog(ERROR, "no bit-code kernel for ruvector distance kind %d", (int) s->kind);
			return 0;			/* keep compiler quiet */
	}
	if (err)
		*err = b * (1.0f + 1e-3f);
	return est;
}

/* vid's record rec of the scorer's code kind (SQ8 or bit). */
static inline float
RvScoreRecord(RvScorer *s, const char *rec, uint64 vid, float *err)
{
	return s->mode == RV_SCORE_BIT ? RvScoreBitRecord(s, rec, vid, err) :
		RvScoreCodeRecord(s, rec, err);
}

/* vid's record of the scorer's code kind, pinned in s->pins. */
static inline const char *
RvScorerRecord(RvScorer *s, uint64 vid)
{
	return s->mode == RV_SCORE_BIT ? RvStoreBitRecord(s->store, vid, &s->pins) :
		RvStoreCodeRecord(s->store, vid, &s->pins);
}

/*
 * Makes the scorer's int8 query once RV_INT_QUERY_AFTER estimates were made
 * in earlier calls: never in a scorer's first batch, so that a scorer of a
 * node's neighbour list (one batch of up to 2m, in neighbour selection and
 * an insert's list updates) never pays for it.
 */
static inline void
RvScorerIntQueryDue(RvScorer *s)
{
	if (s->sq8_int_wait != 0)
		return;
	if (s->sq8_qi == NULL)
		s->sq8_qi = MemoryContextAlloc(GetMemoryChunkContext(s), s->dims);
	RvSq8PrepareIntQuery(&s->sq8, s->sq8_qi, rv_kernels->int_query_max());
	s->sq8_int_wait = -1;
}

void
RvStoreScoreBatch(RvScorer *s, const uint64 *vids, int n, float *dist, float *err)
{
	RvScorerIntQueryDue(s);
	RvScorerCallBegin(s);
	if (s->mode == RV_SCORE_EXACT)
	{
		for (int i = 0; i < n; i++)
		{
			dist[i] = RvScoreFloats(s, vids[i]);
			if (err)
				err[i] = 0;
		}
		RvScorerCallEnd(s);
		return;
	}
	if (s->cache && s->cache->mode == s->mode)
	{
		RvScoreCache *cache = s->cache;

		/* the cached records are scattered: ask for each two ahead */
		for (int i = 0; i < Min(n, 2); i++)
			if (vids[i] < cache->nvids)
				__builtin_prefetch(cache->data + vids[i] * cache->recbytes);
		for (int i = 0; i < n; i++)
		{
			uint64		vid = vids[i];

			if (i + 2 < n && vids[i + 2] < cache->nvids)
			{
				const char *next = cache->data + vids[i + 2] * cache->recbytes;

				for (uint32 off = 0; off < cache->recbytes; off += 64)
					__builtin_prefetch(next + off);
			}
			if (vid < cache->nvids && (cache->present[vid / 8] & (1 << (vid % 8))))
				dist[i] = RvScoreRecord(s, cache->data + vid * cache->recbytes, vid,
										err ? &err[i] : NULL);
			else
			{
				const char *rec;

				RvScorerRoom(s);
				rec = RvScorerRecord(s, vid);
				dist[i] = rec ? RvScoreRecord(s, rec, vid, err ? &err[i] : NULL) :
					RvScoreSealedVid(s, vid, err ? &err[i] : NULL, false);
				/* an insert cache keeps what it missed (store_icache.c) */
				if (rec && cache->fill)
					RvScoreCacheKeep(cache, vid, rec);
			}
		}
		RvScorerCallEnd(s);
		return;
	}
	RvScorerCallEnd(s);
	if (n == 1)
	{
		/* one vid (the exact scan, row by row): keep its page pinned for the next */
		const char *rec;

		RvScorerCallBegin(s);
		RvScorerRoom(s);
		rec = RvScorerRecord(s, vids[0]);
		dist[0] = rec ? RvScoreRecord(s, rec, vids[0], err ? &err[0] : NULL) :
			RvScoreSealedVid(s, vids[0], err ? &err[0] : NULL, false);
		RvScorerCallEnd(s);
		return;
	}
	/* a batch (a node's neighbours): RV_PIN_GROUP pinned at a time, prefetched */
	for (int start = 0; start < n; start += RV_PIN_GROUP)
	{
		int			k = Min(n - start, RV_PIN_GROUP);
		const char *recs[RV_PIN_GROUP];
		Buffer		bufs[RV_PIN_GROUP];
		uint32		stride = s->mode == RV_SCORE_BIT ? s->store->geo.bit_stride :
			s->store->geo.code_stride;

		RvStorePinCodeRecords(s->store, s->mode == RV_SCORE_BIT ? RV_CODES_BIT : RV_CODES_SQ8,
							  vids + start, k, recs, bufs,
							  s->mode == RV_SCORE_BIT ? NULL : RvScorerCodeScratch(s));

		/*
		 * RvStorePinCodeRecords prefetched each record's first lines; the
		 * rest of record i + RV_SCORE_AHEAD is prefetched while record i
		 * is scored, so the kernel finds its lines in cache
		 */
		for (int i = 0; i < Min(k, RV_SCORE_AHEAD); i++)
			RvPrefetchTail(recs[i], stride);
		for (int i = 0; i < k; i++)
		{
			if (i + RV_SCORE_AHEAD < k)
				RvPrefetchTail(recs[i + RV_SCORE_AHEAD], stride);
			if (recs[i] == NULL)
			{
				/* sealed: its tier's record, pinned in s->pins */
				dist[start + i] = RvScoreSealedVid(s, vids[start + i],
												   err ? &err[start + i] : NULL, false);
			}
			else
				dist[start + i] = RvScoreRecord(s, recs[i], vids[start + i],
												err ? &err[start + i] : NULL);
		}
		for (int i = 0; i < k; i++)
			if (BufferIsValid(bufs[i]))
				ReleaseBuffer(bufs[i]);
	}
}

void
RvStoreScoreBounds(RvScorer *s, const uint64 *vids, int n, float *dist, float *err)
{
	if (s->mode != RV_SCORE_BIT)
	{
		RvStoreScoreBatch(s, vids, n, dist, err);
		return;
	}
	if (!s->sq8_ok)
	{
		RvScorerCallBegin(s);
		for (int i = 0; i < n; i++)
		{
			dist[i] = RvScoreFloats(s, vids[i]);
			err[i] = 0;
		}
		RvScorerCallEnd(s);
		return;
	}
	for (int start = 0; start < n; start += RV_PIN_GROUP)
	{
		int			k = Min(n - start, RV_PIN_GROUP);
		const char *recs[RV_PIN_GROUP];
		Buffer		bufs[RV_PIN_GROUP];

		RvStorePinCodeRecords(s->store, RV_CODES_SQ8, vids + start, k, recs, bufs,
							  RvScorerCodeScratch(s));
		for (int i = 0; i < k; i++)
		{
			if (recs[i] == NULL)
			{
				RvScorerCallBegin(s);
				dist[start + i] = RvScoreSealedVid(s, vids[start + i], &err[start + i], true);
				RvScorerCallEnd(s);
			}
			else
				dist[start + i] = RvScoreCodeRecord(s, recs[i], &err[start + i]);
		}
		for (int i = 0; i < k; i++)
			if (BufferIsValid(bufs[i]))
				ReleaseBuffer(bufs[i]);
	}
}

/*
 * The sign bound: a certain lower bound of the L2 distance from a vector's
 * 1-bit code, for RvStoreScoreExceeds.  With c the store's centroid, R its
 * rotation, y = R(o - c) (whose sign bits s_i the bit code holds, and
 * whose norm N = |o - c| its factors) and q' = R(q - c), M = |q - c|:
 *
 *	 |o - q|^2 = N^2 + M^2 - 2 <y, q'>,  and
 *	 <y, q'> = sum |y_i| s_i q'_i <= N |a+|,  a+_i = max(s_i q'_i, 0),
 *
 * by Cauchy-Schwarz over the dimensions where s_i q'_i > 0, since |y| = N.
 * |a+|^2 is the sum of q'_i^2 over the dimensions whose code bit agrees
 * with the sign of q'_i: weights q'_i^2 rounded up to 8-bit multiples u_i
 * of delta, summed by the RaBitQ kernel over the agreeing bits (two groups
 * of four bit planes), so the sum is never below |a+|^2.  A relative slack
 * EPS covers the float rounding of the rotation, of N and of M, which move
 * y and q' by far less.  Unlike RaBitQ's estimator bound, this one holds
 * for every vector, so the exact scan may rule rows out on it.  It is
 * strong where it matters: on Fashion-MNIST it rules out about 85% of the
 * rows against the final k = 10 threshold, reading 120 code bytes a row
 * instead of 796.
 */
#define RV_SIGN_BOUND_EPS 1e-4

/* vids whose bit records RvStoreScoreLowerBounds pins at a time */
#define RV_LB_BATCH 16

/*
 * vids whose SQ8 records it pins at a time (two groups at once, a pin a
 * vid): few, as a backend holding more than 8 pins has its private
 * reference counts spill into a hash table that every pin and unpin then
 * searches (4 measured about 4% faster than 16 on Fashion-MNIST)
 */
#define RV_LB_SQ8_GROUP 4
StaticAssertDecl(2 * RV_LB_SQ8_GROUP <= RV_CODE_BATCH,
				 "two groups' straddlers must fit a scorer's code scratch");

/* SQ8 blocks it prefetches a group ahead (in sb_order) */
#define RV_LB_SQ8_PREFETCH 5

/* dimensions of one SQ8 block of RvStoreScoreLowerBounds (one cache line) */
#define RV_LB_SQ8_BLOCK 64

static void
RvScorerSignBoundPrepare(RvScorer *s)
{
	MemoryContext cxt = GetMemoryChunkContext(s);
	int			words = s->store->geo.bit_words;
	int			pwords = TYPEALIGN(8, Max(words, 1));
	int			pdim = words * 64;
	int			nblocks = (s->dims + RV_LB_SQ8_BLOCK - 1) / RV_LB_SQ8_BLOCK;
	float	   *c;
	float	   *x;
	float	   *qr;
	double	   *energy;
	double		wmax = 0,
				m2 = 0;

	s->sb_tried = true;
	if (s->store->geo.bits != RV_CODES_BIT || words <= 0 ||
		(s->kind != RV_DIST_L2 && s->kind != RV_DIST_L2_SQUARED))
		return;
	c = palloc(sizeof(float) * s->dims);
	if (!RvStoreReadCentroid(s->store, c))
	{
		pfree(c);
		return;
	}
	x = palloc(sizeof(float) * s->dims);
	qr = palloc(sizeof(float) * pdim);
	for (int i = 0; i < s->dims; i++)
	{
		double		d = (double) s->q[i] - (double) c[i];

		x[i] = (float) d;
		m2 += d * d;
	}
	RvRabitqRotate(x, s->dims, RV_BIT_SEED, qr);
	s->sb_sign = MemoryContextAllocZero(cxt, sizeof(uint64_t) * pwords);
	s->sb_planes = MemoryContextAllocZero(cxt, sizeof(uint64_t) * 8 * pwords);
	for (int i = 0; i < pdim; i++)
		wmax = Max(wmax, (double) qr[i] * qr[i]);
	if (!isfinite(wmax) || !isfinite(m2) || wmax <= 0)
	{
		pfree(c);
		pfree(x);
		pfree(qr);
		return;
	}
	s->sb_delta = wmax / 255.0;
	for (int i = 0; i < pdim; i++)
	{
		double		w = (double) qr[i] * qr[i];
		int			u = (int) ceil(w / s->sb_delta);

		/* rounding of the division: make sure u * delta >= w */
		while (u < 255 && (double) u * s->sb_delta < w)
			u++;
		u = Min(u, 255);
		if (qr[i] > 0)
			s->sb_sign[i / 64] |= UINT64CONST(1) << (i % 64);
		for (int j = 0; j < 8; j++)
			if (u & (1 << j))
				s->sb_planes[(size_t) j * pwords + i / 64] |= UINT64CONST(1) << (i % 64);
	}

	/*
	 * The order in which RvStoreScoreLowerBounds sums SQ8 blocks: most
	 * energy of q - c first, where rows tend to differ most from the query,
	 * so the partial sum passes the limit after fewer blocks (any subset of
	 * the squared terms is a lower bound, so the order is free).
	 */
	s->sb_nblocks = nblocks;
	s->sb_order = MemoryContextAlloc(cxt, sizeof(int) * nblocks);
	energy = palloc0(sizeof(double) * nblocks);
	for (int i = 0; i < s->dims; i++)
		energy[i / RV_LB_SQ8_BLOCK] += (double) x[i] * x[i];
	for (int b = 0; b < nblocks; b++)
	{
		int			j = b;

		/* insertion sort, decreasing energy (a dozen blocks) */
		while (j > 0 && energy[s->sb_order[j - 1]] < energy[b])
		{
			s->sb_order[j] = s->sb_order[j - 1];
			j--;
		}
		s->sb_order[j] = b;
	}
	pfree(energy);
	s->sb_words = words;
	s->sb_pwords = pwords;
	s->sb_m = sqrt(m2);
	s->sb_ok = true;
	pfree(c);
	pfree(x);
	pfree(qr);
}

/*
 * The sign bound from the bit record rec's factors and the weighted count
 * of its agreeing bits (sum of u_i over them, see above): a certain lower
 * bound of the squared L2 distance from the query to the record's vector,
 * or -1 when the record cannot tell (absent, or factors not to trust).
 */
static inline double
RvScorerSignBoundFrom(const RvScorer *s, const char *rec, uint32 agree_u)
{
	RvBitFactors bf;
	double		agree,
				n,
				ip;

	memcpy(&bf, rec, sizeof(bf));
	if (bf.ip_oo == 0 || !isfinite(bf.dist_c) || bf.dist_c < 0)
		return -1;				/* an absent record, or one not to trust */
	agree = s->sb_delta * agree_u * (1.0 + RV_SIGN_BOUND_EPS);
	n = bf.dist_c;
	ip = n * (1.0 + RV_SIGN_BOUND_EPS) * sqrt(agree) +
		RV_SIGN_BOUND_EPS * n * s->sb_m;
	return n * n * (1.0 - 2 * RV_SIGN_BOUND_EPS) +
		s->sb_m * s->sb_m * (1.0 - 2 * RV_SIGN_BOUND_EPS) - 2.0 * ip;
}

/*
 * The weighted count of the bits of rec's code that agree with the signs
 * of q' (sum of u_i over them).
 */
static inline uint32
RvScorerSignBoundAgree(const RvScorer *s, const char *rec)
{
	return rv_kernels->rabitq_agree8((const uint64_t *) (rec + RV_BIT_HEADER), s->sb_sign,
									 s->sb_planes, s->sb_words, s->sb_pwords);
}

/*
 * True when vid's bit code proves its squared L2 distance above limit2
 * (see above); false when it cannot tell or vid has no bit code.  Pins the
 * bit page in s->pins (room for it made by the caller).
 */
static bool
RvScorerSignBoundExceeds(RvScorer *s, uint64 vid, double limit2)
{
	double		lo2,
				hi;

	return RvScorerSignBoundInterval(s, vid, &lo2, &hi) && lo2 > limit2;
}

/*
 * vid's certain squared-L2 lower bound lo2 (the sign bound above) and L2
 * upper bound hi = N + M (triangle inequality through the centroid, with
 * the same slack), from its bit record; false when it cannot tell (no or
 * an absent bit record).  Pins the bit page in s->pins.
 */
static bool
RvScorerSignBoundInterval(RvScorer *s, uint64 vid, double *lo2, double *hi)
{
	const char *rec = RvStoreBitRecord(s->store, vid, &s->pins);
	double		b2;

	if (rec == NULL)
		return false;			/* a sealed vid of a tier without bit codes */
	b2 = RvScorerSignBoundFrom(s, rec, RvScorerSignBoundAgree(s, rec));
	if (b2 < 0)
		return false;
	*lo2 = b2;
	{
		RvBitFactors bf;

		memcpy(&bf, rec, sizeof(bf));
		*hi = ((double) bf.dist_c + s->sb_m) * (1.0 + RV_SIGN_BOUND_EPS);
	}
	return true;
}

/*
 * RvStoreScoreLowerBounds: see rv_score.h.  First the sign bounds, the bit
 * records pinned RV_LB_BATCH at a time (at most that many new pages, the
 * previous batch's kept in s->pins for reuse) and prefetched: each b2 is
 * turned into lb = b2 (1 - 2e-4) - 1e-30 (squared L2) or sqrt(lb) (L2), a
 * little below what RvStoreScoreExceeds compares a threshold with (t^2 (1
 * + 1e-4) + 1e-30).  Then the rows whose lb does not exceed a finite
 * threshold are summed on their SQ8 records RV_LB_SQ8_BLOCK dimensions at
 * a time in sb_order, as in RvStoreScoreExceeds: the exact L2 distance is
 * at least sqrt(S / (1 + 1e-4)) - e for any partial sum S of the code
 * distance's squared terms (e the SQ8 error bound, the margin covering
 * the float sums), which replaces lb where larger; a sum stops once it
 * proves lb > threshold.  The vids the sign bound puts beyond threshold
 * count in RvStoreScoreSignBoundRuledOut.  Pins: s->pins keeps the last
 * batch's bit pages; the SQ8 groups' pins are released before returning
 * (on an error, by the resource owner).
 */
bool
RvStoreScoreLowerBounds(RvScorer *s, const uint64 *vids, int n, double threshold, double *lb)
{
	double		t;
	double		big = -1;		/* B below, or -1: no finite threshold */
	double		above = nextafter(threshold, INFINITY);	/* lb of a row ruled out */
	double		m2;
	const double ipf = 1.0 + RV_SIGN_BOUND_EPS;
	uint32		stride = s->store->geo.bit_stride;
	uint32		per_page = s->store->geo.bit_per_page;
	uint64		per_seg;
	int		   *cand;
	int			ncand = 0;
	int			ngroups;
	const char *grecs[2][RV_LB_SQ8_GROUP];
	Buffer		gbufs[2][RV_LB_SQ8_GROUP];

	if (s->mode == RV_SCORE_EXACT || !s->sq8_ok ||
		(s->kind != RV_DIST_L2 && s->kind != RV_DIST_L2_SQUARED))
		return false;
	if (!s->sb_tried)
		RvScorerSignBoundPrepare(s);
	if (!s->sb_ok)
		return false;
	s->sb_external = true;
	/* the threshold as an L2 distance; NaN or below 0 leaves SQ8 unread */
	t = s->kind == RV_DIST_L2 ? threshold : (threshold >= 0 ? sqrt(threshold) : threshold);
	cand = palloc(sizeof(int) * Max(n, 1));
	m2 = s->sb_m * s->sb_m;
	per_seg = (RV_SEG_VIDS + per_page - 1) / per_page;	/* page keys apart per segment */

	/*
	 * Against a finite threshold the sign stage only decides: b2 > B, B =
	 * (t^2 + 1e-30) / (1 - 2e-4), is X > 2 n (1 + EPS) sqrt(agree) with X
	 * the rest of b2's terms less B, i.e. X > 0 and X^2 > 4 n^2 (1 + EPS)^2
	 * agree: no square root.  A row so ruled out gets lb = the double just
	 * above threshold, which its lb would be at least; a row left gets the
	 * SQ8 stage's lb.
	 */
	if (isfinite(t) && t >= 0)
		big = (t * t + 1e-30) / (1.0 - 2e-4);

	/* sign bounds, RV_LB_BATCH bit records at a time */
	for (int start = 0; start < n; start += RV_LB_BATCH)
	{
		int			k = Min(n - start, RV_LB_BATCH);
		const char *recs[RV_LB_BATCH];
		uint32		agree[RV_LB_BATCH];
		bool		sealed[RV_LB_BATCH];
		bool		anysealed = false;
		uint64		pageno = 0;
		uint32		slot0 = 0;
		bool		havepage = false;
		const char *lastrec = NULL;

		StaticAssertStmt(RV_LB_BATCH < RV_PINSET_MAX, "a batch's bit pages must fit a pin set");
		RvScorerCallEnd(s);
		RvScorerCallBegin(s);
		for (int i = 0; i < k; i++)
		{
			uint64		vid = vids[start + i];
			uint32		slot = (uint32) (vid % RV_SEG_VIDS);
			uint64		pg = (vid / RV_SEG_VIDS) * per_seg + slot / per_page;

			/* a sealed vid (rv_tier.h) is bounded after the batch's hot ones */
			sealed[i] = s->store->meta_version >= RV_STORE_META_V4 &&
				RvStoreSegLocFast(s->store, vid / RV_SEG_VIDS)->tier != RV_TIER_HOT;
			if (sealed[i])
			{
				anysealed = true;
				recs[i] = NULL;
				continue;
			}

			/*
			 * A slot on the bit page of the batch's last lookup lies at its
			 * offset from that one (rv_store.h: a bit page of a hot segment
			 * holds the records of consecutive slots); the page is pinned
			 * in s->pins.
			 */
			if (havepage && pg == pageno)
				recs[i] = lastrec + ((int64) slot - (int64) slot0) * stride;
			else
			{
				recs[i] = RvStoreBitRecord(s->store, vid, &s->pins);
				pageno = pg;
				havepage = true;
			}
			lastrec = recs[i];
			slot0 = slot;
			for (uint32 off = 0; off < stride; off += 64)
				__builtin_prefetch(recs[i] + off);
			__builtin_prefetch(recs[i] + stride - 1);
		}
		for (int i = 0; i < k; i++)
			if (!sealed[i])
				agree[i] = RvScorerSignBoundAgree(s, recs[i]);
		for (int i = 0; i < k; i++)
		{
			RvBitFactors bf;
			double		nn,
						x;

			if (sealed[i])
				continue;
			memcpy(&bf, recs[i], sizeof(bf));
			if (big < 0)
			{
				/* the bound's value, for ordering */
				double		b2 = RvScorerSignBoundFrom(s, recs[i], agree[i]);
				double		l = 0;

				if (b2 > 0)
				{
					l = Max(b2 * (1.0 - 2e-4) - 1e-30, 0.0);
					if (s->kind == RV_DIST_L2)
						l = sqrt(l);
				}
				lb[start + i] = l;
				continue;
			}
			lb[start + i] = 0;
			if (bf.ip_oo == 0 || !isfinite(bf.dist_c) || bf.dist_c < 0)
			{
				cand[ncand++] = start + i;	/* no sign bound */
				continue;
			}
			nn = bf.dist_c;
			x = (nn * nn + m2) * (1.0 - 2 * RV_SIGN_BOUND_EPS) -
				2.0 * RV_SIGN_BOUND_EPS * nn * s->sb_m - big;
			if (x > 0 && x * x > 4.0 * nn * nn * ipf * ipf *
				(s->sb_delta * agree[i] * (1.0 + RV_SIGN_BOUND_EPS)))
			{
				lb[start + i] = above;
				s->sb_ruled_out++;
			}
			else
				cand[ncand++] = start + i;
		}

		/*
		 * Sealed vids, one at a time (their records are found through the
		 * directory): a cold one on its bit code's sign bound, a warm one
		 * on its bf16 bound, a cool one on its SQ8 record below
		 */
		for (int i = 0; anysealed && i < k; i++)
		{
			uint64		vid = vids[start + i];
			int			tier;
			double		lo2,
						hi,
						l = 0;

			if (!sealed[i])
				continue;
			tier = RvStoreSegLocFast(s->store, vid / RV_SEG_VIDS)->tier;
			RvScorerRoom(s);
			if (tier == RV_TIER_COLD && RvScorerSignBoundInterval(s, vid, &lo2, &hi))
			{
				l = Max(lo2 * (1.0 - 2e-4) - 1e-30, 0.0);
				if (s->kind == RV_DIST_L2)
					l = sqrt(l);
			}
			else if (tier == RV_TIER_WARM)
			{
				float		err;
				float		est = RvScoreSealedVid(s, vid, &err, true);

				l = Max((double) est - (double) err, 0.0);
			}
			else if (tier == RV_TIER_COOL)
			{
				lb[start + i] = 0;
				cand[ncand++] = start + i;
				continue;
			}
			if (big >= 0 && l > threshold)
			{
				lb[start + i] = above;
				s->sb_ruled_out += tier == RV_TIER_COLD;
			}
			else
				lb[start + i] = l;
		}
	}

	/*
	 * SQ8 partial sums of the rows left, RV_LB_SQ8_GROUP at a time, each
	 * group pinned (RvStorePinCodeRecords, which prefetches the records'
	 * first lines) and its first blocks in sb_order prefetched while the
	 * group before it is summed.
	 */
	ngroups = (ncand + RV_LB_SQ8_GROUP - 1) / RV_LB_SQ8_GROUP;
	for (int g = 0; g <= ngroups; g++)
	{
		/* pin and prefetch group g, then sum group g - 1 and release it */
		if (g < ngroups)
		{
			int			first = g * RV_LB_SQ8_GROUP;
			int			k = Min(ncand - first, RV_LB_SQ8_GROUP);
			uint64		gv[RV_LB_SQ8_GROUP];
			const char **recs = grecs[g & 1];
			char	   *scratch = RvScorerCodeScratch(s);

			for (int j = 0; j < k; j++)
				gv[j] = vids[cand[first + j]];
			/* the two groups' straddlers: in the two halves of the scratch */
			RvStorePinCodeRecords(s->store, RV_CODES_SQ8, gv, k, recs, gbufs[g & 1],
								  scratch ? scratch + (Size) (g & 1) * RV_LB_SQ8_GROUP *
								  s->store->geo.code_stride : NULL);
			for (int j = 0; j < k; j++)
			{
				const char *c0;

				if (recs[j] == NULL)
					continue;
				c0 = recs[j] + RV_CODE_HEADER;

				for (int b = 0; b < Min(s->sb_nblocks, RV_LB_SQ8_PREFETCH); b++)
				{
					__builtin_prefetch(c0 + s->sb_order[b] * RV_LB_SQ8_BLOCK);
					__builtin_prefetch(c0 + s->sb_order[b] * RV_LB_SQ8_BLOCK + RV_LB_SQ8_BLOCK - 1);
				}
			}
		}
		if (g > 0)
		{
			int			first = (g - 1) * RV_LB_SQ8_GROUP;
			int			k = Min(ncand - first, RV_LB_SQ8_GROUP);
			const char **recs = grecs[(g - 1) & 1];
			Buffer	   *bufs = gbufs[(g - 1) & 1];

			for (int j = 0; j < k; j++)
			{
				double	   *out = &lb[cand[first + j]];
				RvSq8Params p;
				const char *rec = recs[j];
				const uint8_t *c;
				double		h,
							e,
							limit,
							l;
				float		partial = 0;

				if (rec == NULL)
				{
					/*
					 * a sealed cool record straddling two pages: its copy
					 * (used before the next record is read)
					 */
					RvScorerRoom(s);
					rec = RvStoreCodeRecord(s->store, vids[cand[first + j]], &s->pins);
					if (rec == NULL)
						continue;
				}
				c = (const uint8_t *) (rec + RV_CODE_HEADER);
				memcpy(&p, rec, sizeof(RvSq8Params));
				if (!isfinite(p.scale) || !isfinite(p.offset))
					continue;
				h = 0.5 * p.scale + 1e-6 * (fabs(p.offset) + 255.0 * p.scale) + RV_SQ8_ABS_SLACK;
				e = h * s->sqrt_dims;
				limit = (t + e) * (t + e) * (1.0 + 1e-4) + 1e-30;
				for (int b = 0; b < s->sb_nblocks; b++)
				{
					int			off = s->sb_order[b] * RV_LB_SQ8_BLOCK;
					int			len = Min(RV_LB_SQ8_BLOCK, s->dims - off);

					partial += rv_kernels->l2sq_sq8(s->q + off, c + off, len, p.scale, p.offset);
					if ((double) partial > limit)
						break;
				}
				if ((double) partial > limit)
				{
					/* its lb, sqrt(S / (1 + 1e-4)) - e, is above threshold */
					*out = above;
					continue;
				}
				l = sqrt(Max(((double) partial - 1e-30) / (1.0 + 1e-4), 0.0)) - e;
				if (l > 0)
				{
					if (s->kind == RV_DIST_L2_SQUARED)
						l = l * l;
					*out = Max(*out, l);
				}
			}
			for (int j = 0; j < k; j++)
				if (BufferIsValid(bufs[j]))
					ReleaseBuffer(bufs[j]);
		}
	}
	pfree(cand);
	return true;
}

/* dimensions summed between two checks of RvStoreScoreExceeds */
#define RV_EXCEEDS_BLOCK 128

bool
RvStoreScoreExceeds(RvScorer *s, uint64 vid, double threshold)
{
	const char *rec;
	RvSq8Params p;
	const uint8_t *c;
	double		h,
				e,
				t,
				limit;
	float		partial = 0;
	bool		exceeds = false;

	/* on SQ8 codes only: a bit code's bound is not certain */
	if (!s->sq8_ok || isnan(threshold))
		return false;
	if (s->kind != RV_DIST_L2 && s->kind != RV_DIST_L2_SQUARED)
	{
		float		est,
					err;

		const char *r;

		RvScorerCallBegin(s);
		RvScorerRoom(s);
		r = RvStoreCodeRecord(s->store, vid, &s->pins);
		if (r)
			est = RvScoreCodeRecord(s, r, &err);
		else
		{
			/* sealed without SQ8 codes: warm's bf16 bound is certain */
			const RvSegLoc *loc = RvStoreSegLocFast(s->store, vid / RV_SEG_VIDS);

			if (loc->tier != RV_TIER_WARM)
			{
				RvScorerCallEnd(s);
				return false;
			}
			est = RvScoreSealedVid(s, vid, &err, true);
		}
		RvScorerCallEnd(s);
		return (double) est - (double) err > threshold;
	}
	if (threshold < 0)
		return true;			/* a distance is never negative */

	RvScorerCallBegin(s);
	RvScorerRoom(s);
	/* first the 1-bit code's certain bound, on far fewer bytes */
	if (!s->sb_tried)
		RvScorerSignBoundPrepare(s);
	if (s->sb_ok && !s->sb_external)
	{
		double		t1 = s->kind == RV_DIST_L2 ? threshold : sqrt(threshold);

		if (RvScorerSignBoundExceeds(s, vid, t1 * t1 * (1.0 + 1e-4) + 1e-30))
		{
			s->sb_ruled_out++;
			RvScorerCallEnd(s);
			return true;
		}
	}
	rec = RvStoreCodeRecord(s->store, vid, &s->pins);
	if (rec == NULL)
	{
		/* sealed without SQ8 codes: warm's bf16 bound is certain, cold has none */
		const RvSegLoc *loc = RvStoreSegLocFast(s->store, vid / RV_SEG_VIDS);
		float		est,
					err;

		if (loc->tier == RV_TIER_WARM)
		{
			est = RvScoreSealedVid(s, vid, &err, true);
			exceeds = (double) est - (double) err > threshold;
		}
		RvScorerCallEnd(s);
		return exceeds;
	}
	memcpy(&p, rec, sizeof(RvSq8Params));
	c = (const uint8_t *) (rec + RV_CODE_HEADER);
	if (!isfinite(p.scale) || !isfinite(p.offset))
	{
		RvScorerCallEnd(s);
		return false;
	}

	/*
	 * The vectors differ by at most e (rv_score.h), so the exact L2 distance
	 * is at least |q - x~| - e: it exceeds t once |q - x~|^2 > (t + e)^2,
	 * and every partial sum of the code distance's squared terms is a lower
	 * bound of |q - x~|^2.  The margin covers the sums' float rounding.
	 */
	h = 0.5 * p.scale + 1e-6 * (fabs(p.offset) + 255.0 * p.scale) + RV_SQ8_ABS_SLACK;
	e = h * s->sqrt_dims;
	t = s->kind == RV_DIST_L2 ? threshold : sqrt(threshold);
	limit = (t + e) * (t + e) * (1.0 + 1e-4) + 1e-30;
	for (int i = 0; i < s->dims; i += RV_EXCEEDS_BLOCK)
	{
		int			len = Min(RV_EXCEEDS_BLOCK, s->dims - i);

		partial += rv_kernels->l2sq_sq8(s->q + i, c + i, len, p.scale, p.offset);
		if ((double) partial > limit)
		{
			exceeds = true;
			break;
		}
	}
	RvScorerCallEnd(s);
	return exceeds;
}

uint64
RvStoreScoreSignBoundRuledOut(const RvScorer *s)
{
	return s->sb_ruled_out;
}

double
RvStoreScoreExact(RvScorer *s, uint64 vid)
{
	const float *p0,
			   *p1;
	int			n0,
				n1;
	const float *x;
	double		d;

	RvScorerCallBegin(s);
	RvScorerRoom(s);
	RvStoreHeatCount(s->store, vid);
	switch (RvStoreGetPieces(s->store, vid, &s->pins, &p0, &n0, &p1, &n1))
	{
		case 1:
			x = p0;
			break;
		case 2:
			x = RvScorerScratch(s);
			memcpy((float *) x, p0, sizeof(float) * n0);
			memcpy((float *) x + n0, p1, sizeof(float) * n1);
			break;
		default:
			x = RvScorerScratch(s);
			RvStoreReadFloats(s->store, vid, (float *) x);
			break;
	}
	d = s->query_right ? RvVectorDistance(s->kind, x, s->q, s->dims) :
		RvVectorDistance(s->kind, s->q, x, s->dims);
	RvScorerCallEnd(s);
	return d;
}

uint32
RvStoreSearchBytes(RvStore *store, RvScoreMode mode)
{
	if (mode == RV_SCORE_BIT && store->geo.bits == RV_CODES_BIT)
		return store->geo.bit_stride;
	if (mode != RV_SCORE_EXACT && store->geo.codes == RV_CODES_SQ8)
		return store->geo.code_stride;
	return (uint32) store->dims * sizeof(float);
}

RvScoreCache *
RvStoreCacheVectors(RvStore *store, const uint64 *vids, int64 n, RvScoreMode mode, Size budget)
{
	RvScoreCache *cache;
	uint64		maxvid = 0;
	RvPinSet	pins;
	double		bytes;

	if (mode == RV_SCORE_BIT && store->geo.bits != RV_CODES_BIT)
		mode = RV_SCORE_SQ8;
	if (mode == RV_SCORE_SQ8 && store->geo.codes != RV_CODES_SQ8)
		mode = RV_SCORE_EXACT;
	for (int64 i = 0; i < n; i++)
		maxvid = Max(maxvid, vids[i] + 1);
	bytes = (double) maxvid * RvStoreSearchBytes(store, mode) + maxvid / 8.0 + 1;
	if (n == 0 || bytes > (double) budget || bytes > (double) MaxAllocHugeSize)
		return NULL;
	cache = palloc0(sizeof(RvScoreCache));
	cache->mode = mode;
	cache->recbytes = RvStoreSearchBytes(store, mode);
	cache->nvids = maxvid;
	cache->present = palloc0(maxvid / 8 + 1);
	cache->data = palloc_extended((Size) maxvid * cache->recbytes, MCXT_ALLOC_HUGE);
	memset(&pins, 0, sizeof(pins));
	for (int64 i = 0; i < n; i++)
	{
		uint64		vid = vids[i];
		char	   *dst = cache->data + vid * cache->recbytes;

		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (mode == RV_SCORE_SQ8 || mode == RV_SCORE_BIT)
		{
			const char *rec = mode == RV_SCORE_SQ8 ? RvStoreCodeRecord(store, vid, &pins) :
				RvStoreBitRecord(store, vid, &pins);

			/* a sealed vid of another tier's codes: scored from the store */
			if (rec)
				memcpy(dst, rec, cache->recbytes);
			RvPinSetReleaseAll(&pins);
			if (rec == NULL)
				continue;
		}
		else
			RvStoreReadFloats(store, vid, (float *) dst);
		cache->present[vid / 8] |= 1 << (vid % 8);
	}
	return cache;
}

void
RvStoreCacheFree(RvScoreCache *cache)
{
	if (cache == NULL || cache->fill)
		return;					/* an insert cache lives with the backend */
	pfree(cache->present);
	pfree(cache->data);
	pfree(cache);
}
