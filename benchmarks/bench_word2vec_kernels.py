"""Word2Vec's kernels alone: words per second of thread CPU time, one thread, on a sample of the corpus.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_word2vec_kernels.py --corpus bench-data/corpus.txt \
        cbow:1 cbow:16 skipgram:1 skipgram:16

Each ``ARCH:BATCH`` trains one pass over ``--lines`` random lines (min_count 5, dim 100, window 5, negative 5,
sample 1e-3) from the same initial matrices, best of ``--repeats``; batch 1 is the per-pair kernel
(``_kernels.train_chunk``), larger batches the minibatched one (``_batch_kernels.train_chunk_batched``). Thread
CPU time is the figure least affected by other work on the machine (whole runs: bench_word2vec.py).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from embedlab.train import Vocab
from embedlab.train import _batch_kernels as B
from embedlab.train import _kernels as K


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--lines", type=int, default=60_000, help="random lines of the corpus to train on")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("runs", nargs="+", help="ARCH:BATCH, ARCH skipgram or cbow")
    a = p.parse_args()
    with open(a.corpus, encoding="utf-8") as f:
        lines = f.read().splitlines()
    rng = np.random.default_rng(0)
    sel = [lines[i].split() for i in rng.choice(len(lines), min(a.lines, len(lines)), replace=False)]
    counts = Counter(w for s in sel for w in s)
    words = [w for w, n in sorted(counts.items(), key=lambda x: -x[1]) if n >= 5]
    index = {w: i for i, w in enumerate(words)}
    sents = [t for t in ([index[w] for w in s if w in index] for s in sel) if t]
    tokens = np.array([w for t in sents for w in t], np.int32)
    lengths = np.array([len(t) for t in sents], np.int32)
    vocab = Vocab(words, np.array([counts[w] for w in words]))
    keep = vocab.keep_probabilities(1e-3)
    alias_p, alias_i = K.build_alias(vocab.noise_distribution(0.75))
    sig, logsig = K.make_tables()
    codes, points, code_len = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32)
    print(f"{len(words):,} words, {tokens.size:,} tokens, {len(sents):,} sentences", flush=True)
    for spec in a.runs:
        arch, batch = spec.split(":")
        sg, batch = arch == "skipgram", int(batch)
        best = float("inf")
        for rep in range(a.repeats + 1):  # the first call compiles or loads the kernel: untimed
            W = (np.random.default_rng(0).random((len(words), 100), dtype=np.float32) - 0.5) / 100
            args = (tokens, lengths, W, np.zeros_like(W), W[:1].copy(), keep, alias_p, alias_i, codes, points,
                    code_len, sg, 5, False, 5, 0.025 if sg else 0.05, 1e-4, 0.0, float(len(sents)), np.uint64(1),
                    sig, logsig)
            t = time.thread_time()
            if batch == 1:
                K.train_chunk(*args)
            else:
                B.train_chunk_batched(*args, batch)
            if rep > 0:
                best = min(best, time.thread_time() - t)
        print(f"{arch:8s} batch {batch:3d}: {best:.3f} s CPU, {tokens.size / best:,.0f} words/s/thread", flush=True)


if __name__ == "__main__":
    main()
