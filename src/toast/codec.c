/*-------------------------------------------------------------------------
 *
 * codec.c
 *	  Lossless payload codecs of sealed segments (rv_codec.h): the warm
 *	  tier's half split and the cool and cold tiers' shuffled LZ4 block.
 *
 * Invariants: every function moves bit patterns only (floats are read and
 * written through uint32_t with memcpy, never through float arithmetic),
 * so unpacking is bit-exact for every input, NaNs included; a block that
 * liblz4 refuses, or that decodes to any length other than 4 * n bytes,
 * is reported (-1).  Damage LZ4 does not notice is the checksum's to catch
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
