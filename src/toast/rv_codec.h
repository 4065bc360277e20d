/*-------------------------------------------------------------------------
 *
 * rv_codec.h
 *	  Lossless payload codecs for the exact floats of sealed segments
 *	  (codec.c):
 *	- the half split of the warm tier: each float's top 16 bits (exactly
 *	  the bf16 search code of src/simd, which truncates) and its low 16
 *	  bits (the payload); joined again they are the float's 32 bits, so
 *	  code and payload together hold the vector once, without duplication;
 *	- the shuffled LZ4 block of the cool and cold tiers: n floats
 *	  byte-shuffled into four planes (byte 0 of every float, then byte 1,
 *	  ...; Blosc's "shuffle" filter) and compressed with liblz4 (LZ4 HC).
 *	  Planes of the exponent and the high mantissa bytes are what
 *	  compresses: integer-valued data such as pixels has zero low mantissa
 *	  bytes, while learned embeddings' mantissas are close to noise.
 *
 * Every function is bit-exact: unpacking returns the very bit patterns
 * packed (NaN payloads, -0.0, denormals included).  Pure C on the C
 * library and liblz4: no PostgreSQL, so the codecs are tested standalone
 * (test/kernels/test_codec.c).  Callers keep the lengths: a block does not
 * record its float count.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_CODEC_H
#define RV_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* hi[i] = top 16 bits of x[i], lo[i] = low 16 bits, for i < n. */
extern void RvCodecSplitHalves(const float *x, size_t n, uint16_t *hi, uint16_t *lo);

/* x[i] = the float whose top and low 16 bits are hi[i] and lo[i]. */
extern void RvCodecJoinHalves(const uint16_t *hi, const uint16_t *lo, size_t n, float *x);

/*
 * RvCodecPackBound: the largest block RvCodecPack can write for n floats
 * (0 when n floats exceed what LZ4 takes in one block, about 500 MB).
 */
extern size_t RvCodecPackBound(size_t n);

/*
 * RvCodecPack: compresses x[0..n) into dst (cap bytes, at least
 * RvCodecPackBound(n) to be sure it fits); scratch holds 4 * n bytes (the
 * shuffled planes).  level is an LZ4 HC level (1..12; 9 is LZ4's default).
 * Returns the block's length in bytes, or 0 if it did not fit in cap.
 */
extern size_t RvCodecPack(const float *x, size_t n, void *dst, size_t cap, void *scratch,
						  int level);

/*
 * RvCodecUnpack: decompresses a block of srclen bytes holding exactly n
 * floats into x; scratch holds 4 * n bytes.  Returns 0 on success, -1 when
 * liblz4 finds the block malformed or it does not decode to exactly 4 * n
 * bytes (x is then undefined).  LZ4 has no checksum of its own and lets
 * most damage through as other bytes (test_codec: about 7% of single-byte
 * flips are refused), so a caller must check the block's checksum before
 * trusting what it decodes to.
 */
extern int	RvCodecUnpack(const void *src, size_t srclen, float *x, size_t n, void *scratch);

/*
 * Blocks of format 2: a method byte (1: RvCodecPack's block follows; 2:
 * the top byte of each float, its sign and high exponent bits, packed by
 * patched frame-of-reference coding before LZ4, codec.c), chosen per block
 * by size.  Learned embeddings, whose exponents take few values, pack to
 * about 0.87 of raw instead of 0.95 (WordNet LSA, 100 dims); everything else packs as in format 1,
 * plus a byte.
 *
 * RvCodecBlockBound: the largest block RvCodecPackBlock writes for n
 * floats (0 when n is too large for one LZ4 block).
 * RvCodecScratchBytes: the scratch RvCodecPackBlock and RvCodecUnpackBlock
 * need for n floats.
 * RvCodecPackBlock: as RvCodecPack, into a format-2 block (n >= 1).
 * RvCodecUnpackBlock: as RvCodecUnpack, from a format-2 block; refuses
 * (-1) an unknown method byte and any block whose parts do not add up to
 * exactly n floats.
 */
extern size_t RvCodecBlockBound(size_t n);
extern size_t RvCodecScratchBytes(size_t n);
extern size_t RvCodecPackBlock(const float *x, size_t n, void *dst, size_t cap, void *scratch,
							   int level);
extern int	RvCodecUnpackBlock(const void *src, size_t srclen, float *x, size_t n, void *scratch);

#endif							/* RV_CODEC_H */
