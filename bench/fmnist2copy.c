/*
 * fmnist2copy.c
 *	  Converts Fashion-MNIST IDX files (as shipped by Debian's
 *	  dataset-fashion-mnist, gzip'd) into COPY text rows for the demo and
 *	  benchmarks: "id <TAB> label <TAB> [p1,...,p784]", pixels as 0..255.
 *
 * Usage: fmnist2copy IMAGES.gz LABELS.gz [FIRST_ID] > rows.copy
 * Reads through `gzip -dc`; validates the IDX magic numbers and counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *
OpenGz(const char *path)
{
	char		cmd[4096];
	FILE	   *f;

	snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	f = popen(cmd, "r");
	if (f == NULL)
	{
		perror(path);
		exit(1);
	}
	return f;
}

static uint32_t
ReadBe32(FILE *f, const char *what)
{
	unsigned char b[4];

	if (fread(b, 1, 4, f) != 4)
	{
		fprintf(stderr, "fmnist2copy: short read in %s header\n", what);
		exit(1);
	}
	return ((uint32_t) b[0] << 24) | ((uint32_t) b[1] << 16) | ((uint32_t) b[2] << 8) | b[3];
}

int
main(int argc, char **argv)
{
	FILE	   *img;
	FILE	   *lab;
	uint32_t	n, rows, cols, nlab;
	long		first = 1;
	unsigned char *pix;

	if (argc < 3)
	{
		fprintf(stderr, "usage: fmnist2copy IMAGES.gz LABELS.gz [FIRST_ID]\n");
		return 2;
	}
	if (argc > 3)
		first = atol(argv[3]);
	img = OpenGz(argv[1]);
	lab = OpenGz(argv[2]);
	if (ReadBe32(img, "images") != 0x00000803 || ReadBe32(lab, "labels") != 0x00000801)
	{
		fprintf(stderr, "fmnist2copy: bad IDX magic\n");
		return 1;
	}
	n = ReadBe32(img, "images");
	rows = ReadBe32(img, "images");
	cols = ReadBe32(img, "images");
	nlab = ReadBe32(lab, "labels");
	if (n != nlab)
	{
		fprintf(stderr, "fmnist2copy: %u images but %u labels\n", n, nlab);
		return 1;
	}
	pix = malloc((size_t) rows * cols);
	for (uint32_t i = 0; i < n; i++)
	{
		int			label = fgetc(lab);

		if (label == EOF || fread(pix, 1, (size_t) rows * cols, img) != (size_t) rows * cols)
		{
			fprintf(stderr, "fmnist2copy: truncated input at row %u\n", i);
			return 1;
		}
		printf("%ld\t%d\t[", first + i, label);
		for (uint32_t k = 0; k < rows * cols; k++)
			printf(k ? ",%u" : "%u", pix[k]);
		fputs("]\n", stdout);
	}
	free(pix);
	pclose(img);
	pclose(lab);
	return 0;
}
