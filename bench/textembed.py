#!/usr/bin/python3
"""
textembed.py: the benchmarks' text-embedding data set, made from Debian's
WordNet 3.0 (package wordnet-base, /usr/share/wordnet/data.{noun,verb,adj,adv}).

Each synset is one document: its words (underscores as spaces) and its gloss
(definition and examples).  The embeddings are classic latent semantic
analysis (Deerwester et al. 1990):
  - tokens: lower-case runs of letters a-z of 2 or more, minus a fixed list
    of English stop words; documents with the same bag of tokens are kept
    once (the first in file order);
  - 10,100 documents are held out at random (fixed seed); the first 10,000 of
    them, in that random order, that keep a vocabulary term are the queries,
    the others are dropped; the rest are the training documents;
  - vocabulary: the terms in 2 or more training documents; training documents
    with none of them, or with the same vocabulary terms as an earlier one
    (they would be the same vector), are dropped;
  - TF-IDF fitted on the training documents: tf = 1 + ln(count),
    idf = ln((1 + N) / (1 + df)) + 1, each row L2-normalized;
  - truncated SVD of the training matrix X to DIMS = 100 components, by
    randomized SVD (Halko, Martinsson, Tropp 2011: 20 extra columns, 4 power
    iterations with QR re-orthonormalization, Gaussian test matrix from a
    fixed seed), each component's sign fixed so that its largest-magnitude
    term weight is positive;
  - the embedding of a document (training or held out) is its TF-IDF row
    projected on the components (x V_k, the usual U_k S_k for training rows),
    L2-normalized and rounded to float4.
Ids: training rows 1..N in file order (noun, verb, adj, adv), queries 1..10000.
Label: the synset's lexicographer file number (0..44: noun.animal, verb.motion...).

The metric is cosine similarity.  The rows are unit vectors, so ordering by L2
distance (<->, vector_l2_ops) is ordering by cosine (|a - b|^2 = 2 - 2 cos):
the benchmark client, its queries and its indexes run unchanged.

Commands:
  textembed.py make OUTDIR [WORDNET_DIR]
      writes OUTDIR/train.copy and OUTDIR/test.copy (COPY text rows
      "id <TAB> label <TAB> [x1,...,x100]", the format bench/rvbench.c and the
      Fashion-MNIST files use, float4 values printed with 9 significant digits
      so that they read back exactly), OUTDIR/train.npy and OUTDIR/test.npy
      (the same float4 values), OUTDIR/train.txt and OUTDIR/test.txt (each
      row's id, label and document text: words ; gloss), OUTDIR/truth.txt (exact top-10 training ids of
      every query by L2 distance on those values, computed in float8 by brute
      force, nearest first, ties by id; one line of 10 ids per query, the
      format of rvbench truth) with OUTDIR/truth-dist.npy (their distances) and
      OUTDIR/info.txt (counts and the seconds it took, key=value).
  textembed.py check TRUTH OUTDIR
      checks another top-10 file (rvbench truth: the database's exact scan)
      against the brute-force answers: every id of each of its lines must be a
      training row whose distance to the query is at most the brute-force
      10th distance + 1e-5 (float4 kernels round; equal distances may order
      either way), and no id may repeat.  Prints key=value counts; exits 1 on
      a mismatch.

Deterministic: fixed seeds, one BLAS thread (set before numpy loads), so one
machine gives the same files every time.  Needs only python3-numpy.
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
	os.environ[_v] = "1"

import re
import sys
import time

import numpy as np

DIMS = 100
OVERSAMPLE = 20
POWER_ITERS = 4
N_QUERIES = 10000
N_HOLDOUT = 10100
SEED = 20261201
K = 10
TOL = 1e-5

POS_FILES = ("noun", "verb", "adj", "adv")

# A fixed English stop-word list (function words only)
STOP = frozenset("""
a about above after again against all am an and any are as at be because been
before being below between both but by can could did do does doing down during
each few for from further had has have having he her here hers herself him
himself his how if in into is it its itself just me more most my myself no nor
not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself
yourselves etc esp usually often especially something someone one ones
""".split())

TOKEN_RE = re.compile(r"[a-z]{2,}")


def read_wordnet(wndir):
	"""
	read_wordnet: the synsets of WORDNET_DIR/data.{noun,verb,adj,adv} as a
	list of (label, text): label the lexicographer file number, text the
	synset's words and gloss.  Raises ValueError on a line of another form.
	"""
	docs = []
	for pos in POS_FILES:
		with open(os.path.join(wndir, "data." + pos), encoding="latin-1") as f:
			for line in f:
				if line.startswith("  "):
					continue		# the licence header
				head, sep, gloss = line.partition(" | ")
				if not sep:
					raise ValueError("data.%s: no gloss in %r" % (pos, line[:40]))
				fields = head.split()
				lexfile = int(fields[1])
				nwords = int(fields[3], 16)
				words = [re.sub(r"\([a-z]+\)$", "", w).replace("_", " ")
						 for w in fields[4:4 + 2 * nwords:2]]
				docs.append((lexfile, " ".join(words) + " ; " + gloss.strip()))
	return docs


def tokens(text):
	"""tokens: the tokens of TEXT (lower-case letter runs, no stop words)."""
	return [t for t in TOKEN_RE.findall(text.lower()) if t not in STOP]


def csr(docs_tokens, vocab, idf):
	"""
	csr: the L2-normalized TF-IDF rows of DOCS_TOKENS over VOCAB (term ->
	column) as CSR arrays (indptr, indices, data); terms outside VOCAB are
	ignored.  Every row must keep a term (the callers drop the others).
	"""
	indptr = [0]
	indices = []
	data = []
	for toks in docs_tokens:
		counts = {}
		for t in toks:
			j = vocab.get(t)
			if j is not None:
				counts[j] = counts.get(j, 0) + 1
		cols = sorted(counts)
		w = np.array([(1.0 + np.log(counts[j])) * idf[j] for j in cols])
		w /= np.linalg.norm(w)
		indices.extend(cols)
		data.extend(w.tolist())
		indptr.append(len(indices))
	return (np.array(indptr, dtype=np.int64), np.array(indices, dtype=np.int64),
			np.array(data, dtype=np.float64))


def spmm(m, dense, chunk_nnz=1 << 20):
	"""
	spmm: the product of the CSR matrix M = (indptr, indices, data), no empty
	row, with the dense matrix DENSE (its rows indexed by M's columns).
	"""
	indptr, indices, data = m
	nrows = len(indptr) - 1
	out = np.empty((nrows, dense.shape[1]))
	r0 = 0
	while r0 < nrows:
		r1 = int(np.searchsorted(indptr, indptr[r0] + chunk_nnz, side="right")) - 1
		r1 = min(max(r1, r0 + 1), nrows)
		s, e = indptr[r0], indptr[r1]
		g = dense[indices[s:e]] * data[s:e, None]
		out[r0:r1] = np.add.reduceat(g, indptr[r0:r1] - s, axis=0)
		r0 = r1
	return out


def transpose(m, ncols):
	"""transpose: the CSR arrays of the transpose of M (NCOLS columns)."""
	indptr, indices, data = m
	rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
	order = np.argsort(indices, kind="stable")
	tindptr = np.zeros(ncols + 1, dtype=np.int64)
	np.cumsum(np.bincount(indices, minlength=ncols), out=tindptr[1:])
	return tindptr, rows[order], data[order]


def randomized_svd(x, xt, ncols, k, rng):
	"""
	randomized_svd: the top K right singular vectors of the CSR matrix X
	(XT its transpose, NCOLS columns) as an NCOLS x K matrix, and the K
	singular values, by a randomized range finder with power iterations.
	"""
	omega = rng.standard_normal((ncols, k + OVERSAMPLE))
	q, _ = np.linalg.qr(spmm(x, omega))
	for _ in range(POWER_ITERS):
		z, _ = np.linalg.qr(spmm(xt, q))
		q, _ = np.linalg.qr(spmm(x, z))
	bt = spmm(xt, q)				# (Q^T X)^T, NCOLS x (K + OVERSAMPLE)
	_, s, vt = np.linalg.svd(bt.T, full_matrices=False)
	v = vt[:k].T
	signs = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(k)])
	return v * signs, s[:k]


def embed(m, v):
	"""embed: rows of M (CSR) projected on V, L2-normalized, as float4."""
	e = spmm(m, v)
	e /= np.linalg.norm(e, axis=1, keepdims=True)
	return e.astype(np.float32)


def write_copy(path, labels, e):
	"""write_copy: COPY text rows "id <TAB> label <TAB> [..]", ids from 1."""
	with open(path, "w") as f:
		for i in range(e.shape[0]):
			f.write("%d\t%d\t[%s]\n" % (i + 1, labels[i],
										",".join("%.9g" % x for x in e[i].tolist())))


def brute_force(train, test):
	"""
	brute_force: the exact top-K training ids (1-based) of every query and
	their L2 distances, nearest first, ties by id.  Candidates come from a
	float4 product (the K + 40 smallest approximate squared distances); their
	exact distances are computed in float8 from the differences.  A query
	whose K-th exact squared distance is not below the smallest approximate
	one outside the candidates less 1e-4 (the float4 rounding error of
	|t|^2 - 2 q.t + |q|^2 for unit vectors of 100 dimensions is below 2e-5)
	is done again over every training row in float8.
	"""
	ncand = K + 40
	t32 = train
	t64 = train.astype(np.float64)
	tn = np.einsum("ij,ij->i", t32, t32)
	ids = np.empty((test.shape[0], K), dtype=np.int64)
	dist = np.empty((test.shape[0], K))
	redone = 0
	for a in range(0, test.shape[0], 512):
		q = test[a:a + 512]
		d2 = tn[None, :] - 2.0 * (q @ t32.T) + np.einsum("ij,ij->i", q, q)[:, None]
		part = np.argpartition(d2, ncand, axis=1)
		for r in range(q.shape[0]):
			cand = part[r, :ncand]
			bound = d2[r, part[r, ncand]]	# the smallest outside cand
			q64 = q[r].astype(np.float64)
			dd = ((t64[cand] - q64) ** 2).sum(axis=1)
			o = np.lexsort((cand, dd))[:K]
			if dd[o[-1]] >= bound - 1e-4:
				redone += 1
				cand = np.arange(t64.shape[0])
				dd = ((t64 - q64) ** 2).sum(axis=1)
				o = np.lexsort((cand, dd))[:K]
			ids[a + r] = cand[o] + 1
			dist[a + r] = np.sqrt(dd[o])
	return ids, dist, redone


def brute_force_parallel(train, test, jobs=2):
	"""
	brute_force_parallel: brute_force over JOBS forked processes, each taking
	a contiguous slice of the queries; the same answers as one process.
	"""
	import multiprocessing

	bounds = np.linspace(0, test.shape[0], jobs + 1).astype(int)
	with multiprocessing.get_context("fork").Pool(jobs) as pool:
		parts = pool.starmap(brute_force, [(train, test[bounds[j]:bounds[j + 1]])
										   for j in range(jobs)])
	return (np.concatenate([p[0] for p in parts]),
			np.concatenate([p[1] for p in parts]),
			sum(p[2] for p in parts))


def cmd_make(outdir, wndir):
	t0 = time.time()
	docs = read_wordnet(wndir)
	nsynsets = len(docs)
	seen = set()
	uniq = []
	for label, text in docs:
		toks = tokens(text)
		key = tuple(sorted(toks))
		if toks and key not in seen:
			seen.add(key)
			uniq.append((label, toks, text))
	rng = np.random.default_rng(SEED)
	perm = rng.permutation(len(uniq))
	held = perm[:N_HOLDOUT]
	held_set = set(held.tolist())
	train = [uniq[i] for i in range(len(uniq)) if i not in held_set]

	df = {}
	for _, toks, _ in train:
		for t in set(toks):
			df[t] = df.get(t, 0) + 1
	terms = sorted(t for t, c in df.items() if c >= 2)
	vocab = {t: j for j, t in enumerate(terms)}
	ntrain_docs = len(train)
	# rows without a vocabulary term would have no direction; rows whose
	# vocabulary terms are another's (they differ only in rarer terms) would
	# be the same vector: both are dropped, the first of equals kept
	seen = set()
	kept = []
	for doc in train:
		key = tuple(sorted(t for t in doc[1] if t in vocab))
		if key and key not in seen:
			seen.add(key)
			kept.append(doc)
	train = kept
	# idf over the documents the matrix keeps
	df = np.zeros(len(terms))
	for _, toks, _ in train:
		for j in {vocab[t] for t in toks if t in vocab}:
			df[j] += 1
	idf = np.log((1.0 + len(train)) / (1.0 + df)) + 1.0
	queries = [uniq[i] for i in held.tolist() if any(t in vocab for t in uniq[i][1])][:N_QUERIES]
	if len(queries) < N_QUERIES:
		raise SystemExit("textembed: only %d held-out documents keep a term" % len(queries))

	x = csr([d[1] for d in train], vocab, idf)
	xq = csr([d[1] for d in queries], vocab, idf)
	xt = transpose(x, len(terms))
	v, s = randomized_svd(x, xt, len(terms), DIMS, rng)
	etrain = embed(x, v)
	etest = embed(xq, v)
	t_embed = time.time() - t0

	os.makedirs(outdir, exist_ok=True)
	write_copy(os.path.join(outdir, "train.copy"), [d[0] for d in train], etrain)
	write_copy(os.path.join(outdir, "test.copy"), [d[0] for d in queries], etest)
	for name, rows in (("train", train), ("test", queries)):
		with open(os.path.join(outdir, name + ".txt"), "w") as f:
			for i, d in enumerate(rows):
				f.write("%d\t%d\t%s\n" % (i + 1, d[0], d[2].replace("\t", " ")))
	np.save(os.path.join(outdir, "train.npy"), etrain)
	np.save(os.path.join(outdir, "test.npy"), etest)
	t1 = time.time()
	ids, dist, redone = brute_force_parallel(etrain, etest)
	np.savetxt(os.path.join(outdir, "truth.txt"), ids, fmt="%d")
	np.save(os.path.join(outdir, "truth-dist.npy"), dist)
	t_truth = time.time() - t1
	with open(os.path.join(outdir, "info.txt"), "w") as f:
		f.write("corpus=wordnet-3.0 synsets=%d unique_docs=%d vocabulary=%d "
				"train=%d train_dropped=%d queries=%d dims=%d "
				"sigma_1=%.4f sigma_%d=%.4f truth_rows_redone=%d seconds_embed=%.1f seconds_truth=%.1f "
				"seconds=%.1f\n" %
				(nsynsets, len(uniq), len(terms), len(train), ntrain_docs - len(train),
				 len(queries), DIMS, s[0], DIMS, s[-1], redone, t_embed, t_truth,
				 time.time() - t0))
	with open(os.path.join(outdir, "info.txt")) as f:
		sys.stdout.write(f.read())


def cmd_check(truth_path, outdir):
	train = np.load(os.path.join(outdir, "train.npy")).astype(np.float64)
	test = np.load(os.path.join(outdir, "test.npy")).astype(np.float64)
	ref = np.loadtxt(os.path.join(outdir, "truth.txt"), dtype=np.int64, ndmin=2)
	refd = np.load(os.path.join(outdir, "truth-dist.npy"))
	bad = 0
	same = 0
	nq = 0
	with open(truth_path) as f:
		for i, line in enumerate(f):
			got = [int(t) for t in line.split()]
			ok = len(got) == K and len(set(got)) == K and \
				all(1 <= g <= train.shape[0] for g in got)
			if ok:
				d = np.sqrt(((train[np.array(got) - 1] - test[i]) ** 2).sum(axis=1))
				ok = bool(np.all(d <= refd[i, K - 1] + TOL))
			if not ok:
				bad += 1
				if bad <= 5:
					sys.stderr.write("textembed check: query %d: got %s, exact %s\n" %
									 (i + 1, got, ref[i].tolist()))
			same += set(got) == set(ref[i].tolist())
			nq += 1
	print("checked_queries=%d same_id_sets=%d within_tolerance=%d mismatches=%d" %
		  (nq, same, nq - bad, bad))
	if nq == 0 or bad:
		sys.exit(1)


def main(argv):
	if len(argv) >= 2 and argv[0] == "make":
		cmd_make(argv[1], argv[2] if len(argv) > 2 else "/usr/share/wordnet")
	elif len(argv) == 3 and argv[0] == "check":
		cmd_check(argv[1], argv[2])
	else:
		sys.stderr.write("usage: textembed.py make OUTDIR [WORDNET_DIR]\n"
						 "       textembed.py check TRUTH OUTDIR\n")
		sys.exit(2)


if __name__ == "__main__":
	main(sys.argv[1:])
