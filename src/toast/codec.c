/*-------------------------------------------------------------------------
 *
 * codec.c
 *	  Lossless payload codecs of sealed segments (rv_codec.h): the warm
 *	  tier's half split and the cool and cold tiers' shuffled LZ4 block,
 *	  in format 1 (the block alone) and format 2 (a method byte, and a
 *	  method that packs the floats' top bytes by frame of reference).
 *
 * Invariants: every function moves bit patterns only (floats are read and
 * written through uint32_t with memcpy, never through float arithmetic),
 * so unpacking is bit-exact for every input, NaNs included; a block that
 * liblz4 refuses, or that decodes to any length other than 4 * n bytes
 * (format 2: whose header, codes and exceptions do not add up to n
 * floats), is reported (-1).  Damage LZ4 does not notice is the checksum's to catch
 * (rv_codec.h).  Needs only the C library and liblz4.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include <lz4.h>
#include <lz4hc.h>

#include "toast/rv_codec.h"

void
RvCodecSplitHalves(const float *x, size_t n, uint16_t *hi, uint16_t *lo)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &x[i], sizeof(u));
		hi[i] = (uint16_t) (u >> 16);
		lo[i] = (uint16_t) u;
	}
}

void
RvCodecJoinHalves(const uint16_t *hi, const uint16_t *lo, size_t n, float *x)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u = ((uint32_t) hi[i] << 16) | lo[i];

		memcpy(&x[i], &u, sizeof(u));
	}
}

size_t
RvCodecPackBound(size_t n)
{
	if (n > (size_t) LZ4_MAX_INPUT_SIZE / 4)
		return 0;
	return (size_t) LZ4_compressBound((int) (4 * n));
}

/*
 * Byte plane b of the shuffled buffer holds byte b (in little-endian order
 * of the float's 32-bit pattern: 0 = lowest mantissa byte, 3 = sign and
 * high exponent bits) of every float, in order.
 */
static void
RvCodecShuffle(const float *x, size_t n, uint8_t *planes)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &x[i], sizeof(u));
		planes[i] = (uint8_t) u;
		planes[n + i] = (uint8_t) (u >> 8);
		planes[2 * n + i] = (uint8_t) (u >> 16);
		planes[3 * n + i] = (uint8_t) (u >> 24);
	}
}

static void
RvCodecUnshuffle(const uint8_t *planes, size_t n, float *x)
{
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u = (uint32_t) planes[i] |
			((uint32_t) planes[n + i] << 8) |
			((uint32_t) planes[2 * n + i] << 16) |
			((uint32_t) planes[3 * n + i] << 24);

		memcpy(&x[i], &u, sizeof(u));
	}
}

size_t
RvCodecPack(const float *x, size_t n, void *dst, size_t cap, void *scratch, int level)
{
	int			len;

	if (RvCodecPackBound(n) == 0 || cap > (size_t) INT32_MAX)
		return 0;
	RvCodecShuffle(x, n, scratch);
	len = LZ4_compress_HC(scratch, dst, (int) (4 * n), (int) cap, level);
	return len > 0 ? (size_t) len : 0;
}

int
RvCodecUnpack(const void *src, size_t srclen, float *x, size_t n, void *scratch)
{
	int			got;

	if (RvCodecPackBound(n) == 0 || srclen > (size_t) INT32_MAX)
		return -1;
	got = LZ4_decompress_safe(src, scratch, (int) srclen, (int) (4 * n));
	if (got < 0 || (size_t) got != 4 * n)
		return -1;
	RvCodecUnshuffle(scratch, n, x);
	return 0;
}

/*
 * Blocks of format 2 (RvCodecPackBlock): a method byte, then an LZ4 block.
 *
 * Method 1 is RvCodecPack's block.  Method 2 splits off the top byte of
 * each float (the sign and the exponent's high 7 bits, e7): signs as a
 * bitmap; e7 by patched frame-of-reference coding (PFOR, Zukowski, Heman,
 * Nes and Boncz, "Super-Scalar RAM-CPU Cache Compression", ICDE 2006): a
 * width b and a base chosen for the block, each value stored as e7 - base
 * in b bits when that is below 2^b - 1, else as 2^b - 1 with e7 itself in
 * the exception list.  The plain buffer, LZ4-compressed as a whole, is
 *
 *	base (1 byte), b (1), exceptions (4, little-endian), signs (ceil(n/8)),
 *	codes (ceil(n*b/8), least significant bit first), exceptions (1 byte
 *	each, in order), then byte planes 0, 1 and 2 as in method 1.
 *
 * Learned embeddings' exponents take few values (most of a block within
 * 8 of each other), so their top byte shrinks from 8 bits to about 4,
 * which LZ4 alone, having no entropy coder, cannot do; integer-valued data
 * (pixels) keeps method 1, whose zero runs LZ4 compresses better.  The
 * packer tries both top-byte encodings with LZ4's fast mode and takes PFOR
 * where it is smaller by 2% of the block's raw bytes at least (it decodes
 * slower: a bit field per float).
 */
#define RV_CODEC_M_SHUFFLE	1
#define RV_CODEC_M_PFOR		2
#define RV_CODEC_PFOR_HDR	6

static size_t
RvCodecPlainMax(size_t n)
{
	return RV_CODEC_PFOR_HDR + (n + 7) / 8 + (7 * n + 7) / 8 + n + 3 * n;
}

size_t
RvCodecBlockBound(size_t n)
{
	if (n > (size_t) LZ4_MAX_INPUT_SIZE / 6)
		return 0;
	return 1 + (size_t) LZ4_compressBound((int) RvCodecPlainMax(n));
}

size_t
RvCodecScratchBytes(size_t n)
{
	if (n > (size_t) LZ4_MAX_INPUT_SIZE / 6)
		return 0;
	return RvCodecPlainMax(n) + 4 * n + 2 * (size_t) LZ4_compressBound((int) (2 * n + 8)) + 64;
}

/*
 * Appends v's low b bits (b <= 7) at bit position *pos of out (zeroed
 * beforehand, with a byte to spare after the last value's).
 */
static inline void
RvCodecPutBits(uint8_t *out, size_t *pos, uint32_t v, int b)
{
	uint32_t	w = v << (*pos & 7);

	out[*pos >> 3] |= (uint8_t) w;
	out[(*pos >> 3) + 1] |= (uint8_t) (w >> 8);
	*pos += (size_t) b;
}

/*
 * Writes method 2's top-byte part (header, signs, codes, exceptions) of
 * the top bytes top[0..n) to out (zeroed, RvCodecPlainMax(n) - 3n bytes);
 * returns its length.
 */
static size_t
RvCodecPforTop(const uint8_t *top, size_t n, uint8_t *out)
{
	size_t		hist[128] = {0};
	size_t		best_cost = SIZE_MAX;
	int			best_b = 7;
	int			best_base = 0;
	size_t		nexc = 0;
	size_t		pos;
	uint8_t    *signs = out + RV_CODEC_PFOR_HDR;
	uint8_t    *codes = signs + (n + 7) / 8;
	uint8_t    *exc;

	for (size_t i = 0; i < n; i++)
		hist[top[i] & 0x7F]++;
	for (int b = 1; b <= 7; b++)
	{
		int			w = (1 << b) - 1;	/* values a code holds; w is the escape */
		size_t		covered = 0;
		size_t		best_cov = 0;
		int			base = 0;

		for (int v = 0; v < w; v++)
			covered += hist[v];
		best_cov = covered;
		for (int lo = 1; lo + w <= 128; lo++)
		{
			covered += hist[lo + w - 1];
			covered -= hist[lo - 1];
			if (covered > best_cov)
			{
				best_cov = covered;
				base = lo;
			}
		}
		if (n * b + (n - best_cov) * 8 < best_cost)
		{
			best_cost = n * b + (n - best_cov) * 8;
			best_b = b;
			best_base = base;
		}
	}
	exc = codes + (n * best_b + 7) / 8;
	pos = 0;
	for (size_t i = 0; i < n; i++)
	{
		int			e7 = top[i] & 0x7F;
		int			w = (1 << best_b) - 1;

		if (top[i] & 0x80)
			signs[i / 8] |= (uint8_t) (1u << (i % 8));
		if (e7 >= best_base && e7 - best_base < w)
			RvCodecPutBits(codes, &pos, (uint32_t) (e7 - best_base), best_b);
		else
		{
			RvCodecPutBits(codes, &pos, (uint32_t) w, best_b);
			exc[nexc++] = (uint8_t) e7;
		}
	}
	out[0] = (uint8_t) best_base;
	out[1] = (uint8_t) best_b;
	out[2] = (uint8_t) nexc;
	out[3] = (uint8_t) (nexc >> 8);
	out[4] = (uint8_t) (nexc >> 16);
	out[5] = (uint8_t) (nexc >> 24);
	return (size_t) (exc + nexc - out);
}

size_t
RvCodecPackBlock(const float *x, size_t n, void *dst, size_t cap, void *scratch, int level)
{
	uint8_t    *planes = scratch;	/* 4n: the shuffled planes */
	uint8_t    *plain = planes + 4 * n; /* RvCodecPlainMax(n) */
	char	   *probe = (char *) plain + RvCodecPlainMax(n);
	int			probe_cap;
	size_t		toplen;
	int			raw_top,
				pfor_top;
	uint8_t    *out = dst;
	int			len;

	if (RvCodecBlockBound(n) == 0 || n == 0 || cap < 2 || cap > (size_t) INT32_MAX)
		return 0;
	probe_cap = LZ4_compressBound((int) (2 * n + 8));
	RvCodecShuffle(x, n, planes);
	memset(plain, 0, RvCodecPlainMax(n) - 3 * n);
	toplen = RvCodecPforTop(planes + 3 * n, n, plain);
	raw_top = LZ4_compress_default((const char *) planes + 3 * n, probe, (int) n, probe_cap);
	pfor_top = LZ4_compress_default((const char *) plain, probe + probe_cap, (int) toplen, probe_cap);
	/* PFOR decodes slower: only where it saves 2% of the raw bytes at least */
	if (raw_top > 0 && pfor_top > 0 && (size_t) pfor_top + (4 * n) / 50 < (size_t) raw_top)
	{
		memcpy(plain + toplen, planes, 3 * n);
		out[0] = RV_CODEC_M_PFOR;
		len = LZ4_compress_HC((const char *) plain, (char *) out + 1, (int) (toplen + 3 * n),
							  (int) cap - 1, level);
	}
	else
	{
		out[0] = RV_CODEC_M_SHUFFLE;
		len = LZ4_compress_HC((const char *) planes, (char *) out + 1, (int) (4 * n),
							  (int) cap - 1, level);
	}
	return len > 0 ? (size_t) len + 1 : 0;
}

int
RvCodecUnpackBlock(const void *src, size_t srclen, float *x, size_t n, void *scratch)
{
	const uint8_t *in = src;
	uint8_t    *plain = scratch;
	size_t		plainmax = RvCodecPlainMax(n);
	int			got;
	int			b,
				base,
				w;
	size_t		nexc,
				need,
				used = 0;
	const uint8_t *signs,
			   *codes,
			   *exc,
			   *p0;

	if (RvCodecBlockBound(n) == 0 || n == 0 || srclen < 2 || srclen > (size_t) INT32_MAX)
		return -1;
	if (in[0] == RV_CODEC_M_SHUFFLE)
		return RvCodecUnpack(in + 1, srclen - 1, x, n, scratch);
	if (in[0] != RV_CODEC_M_PFOR)
		return -1;
	got = LZ4_decompress_safe((const char *) in + 1, (char *) plain, (int) (srclen - 1), (int) plainmax);
	if (got < RV_CODEC_PFOR_HDR)
		return -1;
	base = plain[0];
	b = plain[1];
	nexc = (size_t) plain[2] | (size_t) plain[3] << 8 | (size_t) plain[4] << 16 |
		(size_t) plain[5] << 24;
	if (b < 1 || b > 7 || nexc > n)
		return -1;
	w = (1 << b) - 1;
	if (base + w > 128)
		return -1;
	signs = plain + RV_CODEC_PFOR_HDR;
	codes = signs + (n + 7) / 8;
	exc = codes + (n * b + 7) / 8;
	p0 = exc + nexc;
	need = (size_t) (p0 - plain) + 3 * n;
	if ((size_t) got != need)
		return -1;
	for (size_t g = 0; g < n; g += 8)
	{
		/* 8 values take b bytes, from a byte boundary: one 64-bit word */
		uint64_t	word = 0;
		size_t		m = n - g < 8 ? n - g : 8;

		memcpy(&word, codes + (g / 8) * (size_t) b, (m * (size_t) b + 7) / 8);
		for (size_t j = 0; j < m; j++)
		{
			size_t		i = g + j;
			uint32_t	v = (uint32_t) (word >> (j * (size_t) b)) & (uint32_t) w;
			uint32_t	e7;
			uint32_t	u;

			if ((int) v == w)
			{
				if (used == nexc || exc[used] > 0x7F)
					return -1;
				e7 = exc[used++];
			}
			else
				e7 = (uint32_t) base + v;
			u = (uint32_t) p0[i] | (uint32_t) p0[n + i] << 8 | (uint32_t) p0[2 * n + i] << 16 |
				e7 << 24 | (uint32_t) ((signs[i / 8] >> (i % 8)) & 1) << 31;
			memcpy(&x[i], &u, sizeof(u));
		}
	}
	return used == nexc ? 0 : -1;
}
