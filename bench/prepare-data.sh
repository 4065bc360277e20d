#!/usr/bin/env bash
# prepare-data.sh OUTDIR [DATASET]: writes a benchmark data set as COPY text
# files OUTDIR/train.copy and OUTDIR/test.copy, rows
# "id <TAB> label <TAB> [x1,...,xd]", ids from 1 in each.  Idempotent.
#   fmnist (default): Debian's Fashion-MNIST (dataset-fashion-mnist),
#     60,000 training and 10,000 test rows of 784 pixels (0..255).
#   text: LSA text embeddings of Debian's WordNet 3.0 (wordnet-base) by
#     bench/textembed.py (python3-numpy): 107,226 training rows and 10,000
#     held-out query rows of 100 dimensions, unit vectors (cosine), plus
#     OUTDIR/truth.txt (exact top-10 training ids per query, rvbench truth's
#     format), the .npy files `textembed.py check` reads, and OUTDIR/info.txt.
#     Making it takes about 2 minutes on 2 cores, so it is cached in
#     RV_DATA_CACHE (default /var/tmp/ruvector_tam-data) under the checksum of
#     textembed.py and of the WordNet files, and copied from there; delete
#     that directory to make it anew.
set -euo pipefail
out=$1
dataset=${2:-fmnist}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
case "$dataset" in
fmnist)
	src=/usr/share/datasets/fashion-mnist
	cc -O2 -Wall -Wextra -Werror -o "$out/fmnist2copy" "$here/fmnist2copy.c"
	[ -s "$out/train.copy" ] || "$out/fmnist2copy" $src/train-images-idx3-ubyte.gz $src/train-labels-idx1-ubyte.gz 1 > "$out/train.copy"
	[ -s "$out/test.copy" ] || "$out/fmnist2copy" $src/t10k-images-idx3-ubyte.gz $src/t10k-labels-idx1-ubyte.gz 1 > "$out/test.copy"
	;;
text)
	wn=/usr/share/wordnet
	key=$(cat "$here/textembed.py" $wn/data.noun $wn/data.verb $wn/data.adj $wn/data.adv | sha256sum | cut -c1-16)
	cache=${RV_DATA_CACHE:-/var/tmp/ruvector_tam-data}/text-$key
	if [ ! -s "$cache/info.txt" ]; then
		echo "prepare-data: making the WordNet LSA embeddings into $cache"
		rm -rf "$cache.tmp"
		/usr/bin/python3 "$here/textembed.py" make "$cache.tmp" $wn
		rm -rf "$cache"
		mv "$cache.tmp" "$cache"
	else
		echo "prepare-data: WordNet LSA embeddings from $cache"
		cat "$cache/info.txt"
	fi
	cp "$cache"/* "$out"/
	;;
*)
	echo "prepare-data: unknown data set \"$dataset\" (fmnist or text)" >&2
	exit 2
	;;
esac
chmod 755 "$out"; chmod 644 "$out"/*.copy
