/*-------------------------------------------------------------------------
 *
 * rv_score.h
 *	  The scorer API: the one way the index and the scans get distances
 *	  between a query and stored vectors.  No float pointer into a store
 *	  page leaves src/tam/store: callers hand in a query and vids, and get
 *	  distances back.
 *
 * A scorer is opened for one store, one distance kind (RvDistanceKind, the
 * same values as the SQL distance functions) and one query (dims floats,
 * copied), and a mode:
 *	RV_SCORE_EXACT  RvStoreScoreBatch computes distances on the stored f32
 *	                vectors (error bound 0);
 *	RV_SCORE_SQ8    RvStoreScoreBatch computes them on the store's SQ8 codes
 *	                (1 byte per dimension, in code pages apart from the
 *	                floats) where the store has codes and the kind has an SQ8
 *	                kernel (L2, squared L2, inner products, cosine), with a
 *	                per-result error bound err: |exact - approx| <= err.
 *	                Elsewhere (stores written before codes existed, L1) it
 *	                falls back to exact scores with err 0.
 *	RV_SCORE_BIT    RvStoreScoreBatch computes them on the store's 1-bit
 *	                RaBitQ codes (bit pages, apart from the floats and the
 *	                SQ8 codes; rv_simd.h) for the same kinds, the query
 *	                rotated and quantized to 4 bits once by
 *	                RvStoreBeginScore, with RaBitQ's error bound as err,
 *	                which holds with high probability only (about 99.6%
 *	                of pairs at RV_RABITQ_EPS0).  Stores without bit codes
 *	                (versions 1 and 2, dims > RV_BIT_MAX_DIMS, or no
 *	                centroid yet) fall back to SQ8, then exact, and so do
 *	                single vids stored before the centroid was fixed (their
 *	                bit records are absent: rv_store.h).
 * Sealed segments (rv_tier.h) are scored on their tier's code in the code
 * modes: warm on bf16 (a certain bound), cool on SQ8, cold on 1-bit codes;
 * exactly under RV_SCORE_EXACT (decoding the payload).
 * Certain bounds: RvStoreScoreExceeds and RvStoreScoreBounds judge on SQ8
 * codes (or exact floats) in both code modes, never on RaBitQ's estimate
 * and bound, so what they rule out is ruled out for sure (warm vids on
 * their bf16 bound; cold vids, which have no SQ8 codes, on the sign bound
 * of their bit code and, for RvStoreScoreBounds, the interval it and the
 * triangle inequality give, else exactly).  (The sign bound
 * RvStoreScoreExceeds and RvStoreScoreLowerBounds take from a bit code
 * first is a different, certain bound: store_score.c.)
 * RvStoreScoreExact is always exact: the value RvVectorDistance computes on
 * the vector's floats as one piece, i.e. bit for bit what the SQL function
 * returns.
 *
 * SQ8 error bound: every decoded element is within h = scale/2 (+ float
 * rounding and a slack of 256 denormal steps for vectors whose range is
 * denormal, added) of the stored one (rv_simd.h), so the vectors differ by
 * at most e = h * sqrt(dims); then |d - d~| <= e for L2, e (2 d~ + e) for
 * squared L2 (d~ = sqrt of the estimate), |q| e for inner products and
 * 2 e / |x~| for cosine (x~ the decoded vector); a relative margin covers
 * the kernels' float rounding.
 *
 * A scorer keeps the store pages of its last call pinned, for reuse by
 * the next, until RvStoreEndScore, which its user must call (before the
 * resource owner goes away).  Scorers are palloc'd in the current memory
 * context.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_SCORE_H
#define RV_SCORE_H

#include "tam/store/rv_store.h"
#include "toast/rv_vector.h"

typedef enum RvScoreMode
{
	RV_SCORE_EXACT = 0,
	RV_SCORE_SQ8 = 1,
	RV_SCORE_BIT = 2
} RvScoreMode;

/*
 * ruvector.search_codes: what searches score on before they rerank (off =
 * RV_SCORE_EXACT, int8 = RV_SCORE_SQ8, the default, bit = RV_SCORE_BIT);
 * read by ruhnsw scans, the exact k-NN scan (which prunes on SQ8 bounds
 * only) and RvStoreResidentBytes.
 */
extern int	rv_search_codes;
extern bool rv_int8_query;

typedef struct RvScorer RvScorer;
typedef struct RvScoreCache RvScoreCache;

/*
 * RvStoreBeginScore: a scorer of query (store->dims floats) under kind,
 * scoring the vids cache holds from it (cache may be NULL).
 * RvStoreBeginScoreVid: the same with vid's stored vector (exact) as the
 * query.
 * RvStoreBeginScoreVidCode: the same with vid's SQ8 code decoded (x~[i] =
 * offset + scale * code[i], the value its distances stand for) as the
 * query, when the scorer scores SQ8 codes and vid has a SQ8 record (hot,
 * or cool): from cache when it holds the record, else from its code page
 * (kept in an insert cache that fills); otherwise vid's exact vector, as
 * RvStoreBeginScoreVid.  For distances between two stored vectors where
 * both sides may carry the codes' error (an index insert's neighbour
 * lists): it reads no float page.  No pin is held on return.
 */
extern RvScorer *RvStoreBeginScore(RvStore *store, RvDistanceKind kind, const float *query,
								   RvScoreMode mode, RvScoreCache *cache);
extern RvScorer *RvStoreBeginScoreVid(RvStore *store, RvDistanceKind kind, uint64 vid,
									  RvScoreMode mode, RvScoreCache *cache);
extern RvScorer *RvStoreBeginScoreVidCode(RvStore *store, RvDistanceKind kind, uint64 vid,
										  RvScoreMode mode, RvScoreCache *cache);

/*
 * RvStoreScoreBatch: dist[i] = distance of vids[i] (n of them), approximate
 * under RV_SCORE_SQ8 and RV_SCORE_BIT with err[i] its bound (err may be
 * NULL; 0 where exact).  NaN where the kind is undefined (cosine with a
 * zero vector).
 */
extern void RvStoreScoreBatch(RvScorer *s, const uint64 *vids, int n, float *dist, float *err);

/*
 * RvStoreScoreBounds: like RvStoreScoreBatch (err not NULL), but every
 * bound is certain: under RV_SCORE_BIT the estimates and bounds are the
 * SQ8 codes' (exact distances, err 0, where the store has none); in the
 * other modes it is RvStoreScoreBatch.  For reranking candidates found on
 * bit codes in exact order.
 */
extern void RvStoreScoreBounds(RvScorer *s, const uint64 *vids, int n, float *dist, float *err);

/*
 * RvStoreScoreExceeds: true when vid's exact distance is certainly greater
 * than threshold, judged on its codes (false when the scorer is not on
 * codes, or the codes cannot tell).  For L2 and squared L2, where the store
 * has bit codes, first on the sign bound of the vid's 1-bit code (a
 * certain lower bound from its sign bits and norm, store_score.c); then
 * the SQ8 code distance is summed a block of dimensions at a time and the
 * answer given as soon as the partial sum, less the error bound, passes
 * the threshold.
 */
extern bool RvStoreScoreExceeds(RvScorer *s, uint64 vid, double threshold);

/*
 * RvStoreScoreLowerBounds: lb[i] = a certain lower bound of the exact
 * distance of vids[i] (n of them, in the kind's units; 0 where the codes
 * cannot tell), for L2 and squared L2 on a store with 1-bit and SQ8
 * codes: the sign bound of the vid's 1-bit code (bit pages only), and
 * where that does not exceed threshold, the larger of it and the bound of
 * a partial SQ8 code distance, summed until it exceeds threshold or all
 * dimensions are in.  So lb[i] > threshold exactly when the codes prove
 * vids[i] beyond it (what RvStoreScoreExceeds would find); pass an
 * infinite threshold for sign bounds alone.  Returns false, leaving lb
 * unset, when the scorer has no such bounds (another kind, not on codes,
 * no bit codes).  After a call that returned true, RvStoreScoreExceeds no
 * longer tries the sign bound (the caller has).  The vids whose sign
 * bound exceeds threshold count in RvStoreScoreSignBoundRuledOut.  For the
 * exact k-NN scan, which ranks rows a chunk at a time.
 */
extern bool RvStoreScoreLowerBounds(RvScorer *s, const uint64 *vids, int n, double threshold,
									double *lb);

/* How many vids RvStoreScoreExceeds ruled out on the sign bound so far. */
extern uint64 RvStoreScoreSignBoundRuledOut(const RvScorer *s);

/* RvStoreScoreExact: vid's exact distance, as the SQL function computes it. */
extern double RvStoreScoreExact(RvScorer *s, uint64 vid);

/* RvStoreScoreApproximate: true when RvStoreScoreBatch may return estimates. */
extern bool RvStoreScoreApproximate(const RvScorer *s);

/*
 * RvStoreScoreHasCold: true when some vids of the scorer's store lie in
 * cold segments (rv_tier.h), which RvStoreScoreBatch scores on their 1-bit
 * codes in every code mode: estimates coarser than SQ8's, for which a
 * search may widen its candidate list.
 */
extern bool RvStoreScoreHasCold(const RvScorer *s);

/* RvStoreScoreMode: what RvStoreScoreBatch scores on (after fallbacks). */
extern RvScoreMode RvStoreScoreMode(const RvScorer *s);

/*
 * RvStoreScoreQueryOnRight: RvStoreScoreExact computes d(x, query) instead
 * of d(query, x), for an ORDER BY that names the column first.
 */
extern void RvStoreScoreQueryOnRight(RvScorer *s);

/* RvStoreScoreQueryNorm: the L2 norm of the scorer's query. */
extern float RvStoreScoreQueryNorm(RvScorer *s);

extern void RvStoreEndScore(RvScorer *s);

/*
 * A backend-local copy of some vids' search representation (floats for
 * RV_SCORE_EXACT, code records for RV_SCORE_SQ8, bit records for
 * RV_SCORE_BIT), for builds that score
 * the same vectors many times.  RvStoreCacheVectors returns NULL when the
 * copy would exceed budget bytes.  A scorer begun with a cache scores
 * cached vids from it and the rest from the store.
 */
extern RvScoreCache *RvStoreCacheVectors(RvStore *store, const uint64 *vids, int64 n,
										 RvScoreMode mode, Size budget);
extern void RvStoreCacheFree(RvScoreCache *cache);

/*
 * The backend's insert cache of a store (store_icache.c): code records
 * ruhnsw's inserts scored, kept across statements for scorers begun with
 * RV_SCORE_SQ8; NULL when the store has no SQ8 codes or
 * ruvector.insert_code_cache is 0.  RvStoreInsertCacheForget drops a vid
 * handed out again.
 */
extern int	rv_insert_code_cache;
extern RvScoreCache *RvStoreInsertCache(RvStore *store, Oid heap_relid);
extern void RvStoreInsertCacheForget(RvScoreCache *cache, uint64 vid);

/* Bytes per vector search keeps touching in mode (code or float record). */
extern uint32 RvStoreSearchBytes(RvStore *store, RvScoreMode mode);

#endif							/* RV_SCORE_H */
