/*
 * test_codec.c: the lossless payload codecs of src/toast/codec.c
 * (rv_codec.h), outside the server.  Prints a TAP stream:
 *	- the half split joins back bit for bit, and its top halves are the
 *	  bf16 codes (truncation) for every special pattern and random bits;
 *	- shuffled LZ4 blocks unpack bit for bit: special values (-0.0, NaNs
 *	  with payloads, infinities, denormals, FLT_MAX), random bit patterns
 *	  (incompressible), constant, integer-valued and unit-normalized data,
 *	  n = 1 .. 5000, at LZ4 HC levels 1, 9 and 12;
 *	- a block one byte too short and a wrong float count are refused (-1);
 *	  how many single-byte flips LZ4 itself refuses is printed (most pass
 *	  as other bytes: the checksum of a sealed segment must catch them);
 *	- the block never exceeds RvCodecPackBound, and RvCodecPack reports 0
 *	  when cap is too small;
 *	- with argv[1] = Fashion-MNIST's train-images-idx3-ubyte.gz (pixels
 *	  0..255 as floats), blocks of 16 images compress to at most 0.5 of
 *	  their raw bytes; the ratio is printed as a "# codec" line.
 * Exit status 0 when every point passes.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toast/rv_codec.h"

static int	npoints = 0;
static int	nfailed = 0;

static void
point(int ok, const char *fmt,...)
	__attribute__((format(printf, 2, 3)));

static void
point(int ok, const char *fmt,...)
{
	va_list		ap;

	npoints++;
	if (!ok)
		nfailed++;
	printf("%sok %d - ", ok ? "" : "not ", npoints);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
next32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t) (rng >> 16);
}

static float
from_bits(uint32_t u)
{
	float		f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

/* Packs and unpacks x[0..n) at level; 1 when the bits come back. */
static int
roundtrip(const float *x, size_t n, int level, size_t *packed)
{
	size_t		cap = RvCodecPackBound(n);
	char	   *dst = malloc(cap);
	char	   *scratch = malloc(4 * n + 1);
	float	   *back = malloc(sizeof(float) * n + 1);
	int			ok;

	*packed = RvCodecPack(x, n, dst, cap, scratch, level);
	ok = *packed > 0 && *packed <= cap &&
		RvCodecUnpack(dst, *packed, back, n, scratch) == 0 &&
		memcmp(x, back, sizeof(float) * n) == 0;
	free(dst);
	free(scratch);
	free(back);
	return ok;
}

/* The same through format-2 blocks; *method gets the block's method byte. */
static int
roundtrip2(const float *x, size_t n, int level, size_t *packed, int *method)
{
	size_t		cap = RvCodecBlockBound(n);
	char	   *dst = malloc(cap);
	char	   *scratch = malloc(RvCodecScratchBytes(n));
	float	   *back = malloc(sizeof(float) * n + 1);
	int			ok;

	*packed = RvCodecPackBlock(x, n, dst, cap, scratch, level);
	*method = *packed > 0 ? (unsigned char) dst[0] : 0;
	ok = *packed > 0 && *packed <= cap &&
		RvCodecUnpackBlock(dst, *packed, back, n, scratch) == 0 &&
		memcmp(x, back, sizeof(float) * n) == 0;
	free(dst);
	free(scratch);
	free(back);
	return ok;
}

/* The special patterns every test set starts with. */
static const uint32_t specials[] = {
	0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001,
	0x7f800001, 0x7fbfffff, 0x00000001, 0x807fffff, 0x7f7fffff, 0x3f800000,
	0xbf800000, 0x3f7fffff, 0x00800000, 0x0000ffff, 0xffff0000, 0x12345678
};

static void
test_halves(void)
{
	size_t		n = 4096;
	float	   *x = malloc(sizeof(float) * n);
	float	   *back = malloc(sizeof(float) * n);
	uint16_t   *hi = malloc(2 * n);
	uint16_t   *lo = malloc(2 * n);
	int			top_ok = 1;

	for (size_t i = 0; i < n; i++)
		x[i] = from_bits(i < sizeof(specials) / sizeof(specials[0]) ? specials[i] : next32());
	RvCodecSplitHalves(x, n, hi, lo);
	RvCodecJoinHalves(hi, lo, n, back);
	point(memcmp(x, back, sizeof(float) * n) == 0,
		  "half split of %zu floats (specials, random bits) joins back bit for bit", n);
	for (size_t i = 0; i < n; i++)
	{
		uint32_t	u;

		memcpy(&u, &x[i], sizeof(u));
		if (hi[i] != (uint16_t) (u >> 16) || lo[i] != (uint16_t) u)
			top_ok = 0;
	}
	point(top_ok, "top halves are the truncated bf16 codes, low halves the rest");
	free(x);
	free(back);
	free(hi);
	free(lo);
}

enum
{
	SET_SPECIAL, SET_RANDOM, SET_CONSTANT, SET_INTEGER, SET_UNIT, SET_GAUSS, NSETS
};
static const char *setname[] = {"special values", "random bits", "constant", "integers 0..255",
"unit-normalized", "embedding-like (normal, sigma 0.05)"};

static void
fill(float *x, size_t n, int set)
{
	double		norm = 0;

	for (size_t i = 0; i < n; i++)
	{
		switch (set)
		{
			case SET_SPECIAL:
				x[i] = from_bits(specials[next32() % (sizeof(specials) / sizeof(specials[0]))]);
				break;
			case SET_RANDOM:
				x[i] = from_bits(next32());
				break;
			case SET_CONSTANT:
				x[i] = 0.25f;
				break;
			case SET_INTEGER:
				x[i] = (float) (next32() % 4 == 0 ? next32() % 256 : 0);
				break;
			case SET_GAUSS:
				{
					double		u1 = (next32() + 1.0) / 4294967297.0;
					double		u2 = next32() / 4294967296.0;

					x[i] = (float) (0.05 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
				}
				break;
			default:
				x[i] = (float) ((next32() % 2000001) / 1e6 - 1.0);
				norm += (double) x[i] * x[i];
				break;
		}
	}
	if (set == SET_UNIT && norm > 0)
		for (size_t i = 0; i < n; i++)
			x[i] = (float) (x[i] / sqrt(norm));
}

static void
test_roundtrips(void)
{
	static const size_t sizes[] = {1, 2, 3, 7, 64, 100, 784, 1000, 5000};
	static const int levels[] = {1, 9, 12};

	for (int set = 0; set < NSETS; set++)
		for (int li = 0; li < 3; li++)
		{
			int			ok = 1;
			size_t		raw = 0,
						packed = 0;

			for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
			{
				size_t		n = sizes[si];
				float	   *x = malloc(sizeof(float) * n);
				size_t		len;

				fill(x, n, set);
				if (!roundtrip(x, n, levels[li], &len))
					ok = 0;
				raw += 4 * n;
				packed += len;
				free(x);
			}
			point(ok, "%s, n = 1 .. 5000, level %d: bit-exact (%.3f of raw)",
				  setname[set], levels[li], (double) packed / raw);
		}
}

/*
 * Format-2 blocks: every set and size round-trips at every level; the
 * embedding-like set takes the PFOR method and packs smaller than format
 * 1, pixels and random bits keep the shuffle method.
 */
static void
test_blocks(void)
{
	static const size_t sizes[] = {1, 2, 3, 7, 64, 100, 784, 1000, 1600, 5000};
	static const int levels[] = {1, 9};

	for (int set = 0; set < NSETS; set++)
	{
		int			ok = 1;
		size_t		raw = 0,
					packed = 0,
					packed1 = 0;
		int			pfor = 0,
					big = 0,
					blocks = 0;

		for (int li = 0; li < 2; li++)
			for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
			{
				size_t		n = sizes[si];
				float	   *x = malloc(sizeof(float) * n);
				size_t		len,
							len1;
				int			method;

				fill(x, n, set);
				if (!roundtrip2(x, n, levels[li], &len, &method) || !roundtrip(x, n, levels[li], &len1))
					ok = 0;
				if (method == 2 && n >= 64)
					pfor++;
				if (n >= 64)
					big++;
				blocks++;
				raw += 4 * n;
				packed += len;
				packed1 += len1;
				free(x);
			}
		printf("# codec format 2, %s: %.3f of raw (format 1: %.3f), %d of %d blocks of 64 floats or more by PFOR\n",
			   setname[set], (double) packed / raw, (double) packed1 / raw, pfor, big);
		point(ok, "format 2, %s, n = 1 .. 5000, levels 1 and 9: bit-exact", setname[set]);
		if (set == SET_GAUSS)
			point(pfor == big && (double) packed / raw <= 0.92 && packed < packed1,
				  "format 2, embedding-like floats: PFOR packs them to %.3f of raw (format 1: %.3f)",
				  (double) packed / raw, (double) packed1 / raw);
		if (set == SET_INTEGER)
			point(packed <= packed1 + (size_t) blocks,
				  "format 2, integers: no larger than format 1 plus a byte a block");
	}
}

/* Damaged and mismatched format-2 blocks are refused. */
static void
test_block_damage(void)
{
	size_t		n = 1600;
	float	   *x = malloc(sizeof(float) * n);
	float	   *back = malloc(sizeof(float) * n);
	size_t		cap = RvCodecBlockBound(n);
	char	   *dst = malloc(cap);
	char	   *scratch = malloc(RvCodecScratchBytes(n));
	size_t		len;
	int			refused = 0,
				tried = 0;

	fill(x, n, SET_GAUSS);
	len = RvCodecPackBlock(x, n, dst, cap, scratch, 9);
	point(len > 1 && (unsigned char) dst[0] == 2, "an embedding-like block of %zu floats is a PFOR block", n);
	point(RvCodecUnpackBlock(dst, len - 1, back, n, scratch) == -1, "a PFOR block one byte short is refused");
	point(RvCodecUnpackBlock(dst, len, back, n - 1, scratch) == -1 &&
		  RvCodecUnpackBlock(dst, len, back, n + 1, scratch) == -1,
		  "a PFOR block with a wrong float count is refused");
	dst[0] = 3;
	point(RvCodecUnpackBlock(dst, len, back, n, scratch) == -1, "an unknown method byte is refused");
	dst[0] = 2;
	for (size_t i = 1; i < len; i++)
	{
		char		save = dst[i];

		dst[i] ^= 0x5a;
		tried++;
		if (RvCodecUnpackBlock(dst, len, back, n, scratch) == -1)
			refused++;
		dst[i] = save;
	}
	printf("# codec format 2 damage: %d of %d single-byte flips refused by the block checks\n",
		   refused, tried);
	point(RvCodecUnpackBlock(dst, len, back, n, scratch) == 0 && memcmp(x, back, sizeof(float) * n) == 0,
		  "the undamaged PFOR block still decodes bit for bit");
	point(RvCodecPackBlock(x, n, dst, 8, scratch, 9) == 0, "RvCodecPackBlock reports 0 when cap is too small");
	free(x);
	free(back);
	free(dst);
	free(scratch);
}

static void
test_damage(void)
{
	size_t		n = 784;
	float	   *x = malloc(sizeof(float) * n);
	float	   *back = malloc(sizeof(float) * n);
	size_t		cap = RvCodecPackBound(n);
	char	   *dst = malloc(cap);
	char	   *scratch = malloc(4 * n + 64);
	size_t		len;
	int			refused = 0,
				tried = 0;

	fill(x, n, SET_UNIT);
	len = RvCodecPack(x, n, dst, cap, scratch, 9);
	point(len > 0 && len <= cap, "a 784-float block packs into %zu of at most %zu bytes", len, cap);
	point(RvCodecUnpack(dst, len - 1, back, n, scratch) == -1,
		  "a block one byte short is refused");
	point(RvCodecUnpack(dst, len, back, n - 1, scratch) == -1 &&
		  RvCodecUnpack(dst, len, back, n + 1, scratch) == -1,
		  "a wrong float count (n - 1, n + 1) is refused");
	/* flip each byte in turn: count what LZ4 refuses by itself */
	for (size_t i = 0; i < len; i++)
	{
		char		save = dst[i];
		int			rc;

		dst[i] ^= 0x5a;
		rc = RvCodecUnpack(dst, len, back, n, scratch);
		tried++;
		if (rc == -1)
			refused++;
		dst[i] = save;
	}
	printf("# codec damage: %d of %d single-byte flips refused by LZ4 itself\n", refused, tried);
	point(RvCodecUnpack(dst, len, back, n, scratch) == 0 &&
		  memcmp(x, back, sizeof(float) * n) == 0,
		  "the undamaged block still decodes bit for bit after the flips");
	point(RvCodecPack(x, n, dst, 8, scratch, 9) == 0, "RvCodecPack reports 0 when cap is too small");
	point(RvCodecPackBound((size_t) 1 << 40) == 0, "RvCodecPackBound refuses blocks LZ4 cannot take");
	free(x);
	free(back);
	free(dst);
	free(scratch);
}

/* Fashion-MNIST, blocks of 16 images (12,544 floats, 50 KB raw). */
static void
test_fmnist(const char *path)
{
	char		cmd[4096];
	FILE	   *f;
	unsigned char hdr[16];
	size_t		n = 16 * 784;
	unsigned char *pix = malloc(n);
	float	   *x = malloc(sizeof(float) * n);
	size_t		cap = RvCodecPackBound(n);
	char	   *dst = malloc(cap);
	char	   *scratch = malloc(4 * n);
	size_t		raw = 0,
				packed = 0,
				packed2 = 0;
	int			blocks = 0,
				exact = 1;

	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	f = popen(cmd, "r");
	if (f == NULL || fread(hdr, 1, 16, f) != 16)
	{
		point(0, "read Fashion-MNIST from %s", path);
		return;
	}
	while (blocks < 1000 && fread(pix, 1, n, f) == n)
	{
		size_t		len,
					len2;
		int			method;

		for (size_t i = 0; i < n; i++)
			x[i] = (float) pix[i];
		if (!roundtrip(x, n, 9, &len) || !roundtrip2(x, n, 9, &len2, &method))
			exact = 0;
		raw += 4 * n;
		packed += len;
		packed2 += len2;
		blocks++;
	}
	pclose(f);
	printf("# codec fashion-mnist: %d blocks of 16 images, %zu raw bytes -> %zu packed, ratio %.3f "
		   "(format 2: %.3f)\n", blocks, raw, packed, (double) packed / raw, (double) packed2 / raw);
	point(blocks == 1000 && exact, "Fashion-MNIST: %d blocks of 16 images unpack bit for bit (formats 1 and 2)",
		  blocks);
	point(raw > 0 && (double) packed / raw <= 0.5,
		  "Fashion-MNIST pixels pack to %.3f of raw (at most 0.5)", raw ? (double) packed / raw : 0);
	free(pix);
	free(x);
	free(dst);
	free(scratch);
}

int
main(int argc, char **argv)
{
	printf("1..%d\n", 2 + NSETS * 3 + 6 + NSETS + 2 + 6 + (argc > 1 ? 2 : 0));
	test_halves();
	test_roundtrips();
	test_damage();
	test_blocks();
	test_block_damage();
	if (argc > 1)
		test_fmnist(argv[1]);
	return nfailed == 0 ? 0 : 1;
}
