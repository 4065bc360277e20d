#!/usr/bin/env bash
# prepare-data.sh OUTDIR: converts Debian's Fashion-MNIST (dataset-fashion-mnist)
# into COPY text files OUTDIR/train.copy (60,000 rows) and OUTDIR/test.copy
# (10,000 rows): "id <TAB> label <TAB> [784 pixels]".  Idempotent.
set -euo pipefail
out=$1
src=/usr/share/datasets/fashion-mnist
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
cc -O2 -Wall -Wextra -Werror -o "$out/fmnist2copy" "$here/fmnist2copy.c"
[ -s "$out/train.copy" ] || "$out/fmnist2copy" $src/train-images-idx3-ubyte.gz $src/train-labels-idx1-ubyte.gz 1 > "$out/train.copy"
[ -s "$out/test.copy" ] || "$out/fmnist2copy" $src/t10k-images-idx3-ubyte.gz $src/t10k-labels-idx1-ubyte.gz 1 > "$out/test.copy"
chmod 755 "$out"; chmod 644 "$out"/*.copy
