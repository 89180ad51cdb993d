"""Why negative sampling exists: the textbook full-softmax Word2Vec against the fast negative-sampling trainer.

Same text for both: the first ``--tokens`` tokens of the benchmark corpus, restricted to its ``--vocab`` most
frequent words (so V is exactly that), dim 100, window 5, no subsampling. Timed per epoch:
  * textbook, plain SGD (one example per step, as derived: O(V·d) per example for the softmax and W' update);
  * textbook, mini-batches of 64 (the same math vectorised into BLAS matrix products: the best numpy can do);
  * embedlab.train.word2vec.Word2Vec, negative sampling (5 noise words: O(6·d) per pair), numba, 1 worker.
Both sides run single-threaded (BLAS and numba) so the ratio compares algorithms, not thread counts. Rounds
are interleaved (textbook, batched, word2vec, ...); medians of the rounds are reported.

    python benchmarks/make_corpus.py bench-data/corpus.txt   # once
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_textbook.py \
        --out benchmarks/results/textbook.md
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
from collections import Counter
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LOAD_NOTE, md_table, print_settings  # noqa: E402

import embedlab  # noqa: E402,F401
from embedlab.train.textbook import TextbookWord2Vec  # noqa: E402
from embedlab.train.word2vec import Word2Vec  # noqa: E402


def load_text(path: Path, tokens: int, vocab: int) -> list[list[str]]:
    sents, n = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            toks = line.split()
            sents.append(toks)
            n += len(toks)
            if n >= tokens:
                break
    keep = {w for w, _ in Counter(w for s in sents for w in s).most_common(vocab)}
    out = [[w for w in s if w in keep] for s in sents]
    return [s for s in out if len(s) >= 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="bench-data/corpus.txt")
    ap.add_argument("--tokens", type=int, default=100_000)
    ap.add_argument("--vocab", type=int, default=5000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median is reported)")
    ap.add_argument("--sgd-rounds", type=int, default=1, help="rounds of the slow one-example-per-step textbook run")
    ap.add_argument("--archs", default="cbow,skipgram")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    info = print_settings("textbook full softmax vs negative sampling")
    sents = load_text(Path(args.corpus), args.tokens, args.vocab)
    n_tok = sum(map(len, sents))
    V = len({w for s in sents for w in s})
    print(f"# text: {n_tok:,} tokens, {len(sents):,} sentences, V = {V:,}, d = {args.dim}, window = {args.window}")

    rows = []
    for arch in args.archs.split(","):
        def textbook(bs: int, arch: str = arch) -> float:
            m = TextbookWord2Vec(arch, dim=args.dim, window=args.window, lr=0.05 if bs == 1 else 0.5, epochs=1,
                                 batch_size=bs, seed=0).fit(sents)
            return m.epoch_seconds_[0]

        def w2v(arch: str = arch) -> float:
            m = Word2Vec(dim=args.dim, window=args.window, arch=arch, negative=5, sample=0, min_count=1, epochs=3,
                         workers=1, seed=1, progress=False).fit(sents)
            assert len(m.vocab_) == V
            return m.train_seconds_ / 3

        w2v()  # warm-up: numba compile / cache load
        times: dict[str, list[float]] = {"sgd": [], "batch": [], "w2v": []}
        for r in range(max(args.rounds, args.sgd_rounds)):
            if r < args.sgd_rounds:
                times["sgd"].append(textbook(1))
            if r < args.rounds:
                times["batch"].append(textbook(64))
                times["w2v"].append(w2v())
            print(f"# {arch} round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items() if v),
                  flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        for key, label in (("sgd", "textbook full softmax, SGD (1 example/step)"),
                           ("batch", "textbook full softmax, mini-batch 64 (BLAS)"),
                           ("w2v", "Word2Vec negative sampling (numba, 1 worker)")):
            rows.append([arch, label, f"{med[key]:.3f}", f"{n_tok / med[key]:,.0f}",
                         f"{med[key] / med['w2v']:,.0f}×", len(times[key])])
        print(f"# {arch}: SGD {med['sgd']:.2f}s, batch64 {med['batch']:.2f}s, word2vec {med['w2v']:.3f}s per epoch; "
              f"ratios {med['sgd'] / med['w2v']:.0f}× and {med['batch'] / med['w2v']:.0f}×")

    table = md_table(["arch", "trainer", "s / epoch (median)", "tokens / s", "time vs negative sampling", "rounds"],
                     rows)
    print(table)
    if args.out:
        cmd = "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_textbook.py " + " ".join(
            shlex.quote(a) for a in sys.argv[1:])
        text = f"""# Textbook full-softmax Word2Vec vs negative sampling

Why negative sampling exists: every step of the textbook model computes a softmax over all V words and
updates all of W' (d x V), so an epoch costs O(tokens · V · d); negative sampling touches 1 + k output rows
(k = 5), O(tokens · window · (k + 1) · d) per epoch, independent of V.

Text: the first {args.tokens:,} tokens of the benchmark corpus (`benchmarks/make_corpus.py`: GCIDE, WordNet glosses, KJV),
restricted to its {args.vocab:,} most frequent words: {n_tok:,} tokens, V = {V:,}; d = {args.dim},
window = {args.window}, no subsampling, min_count 1. Word2Vec (embedlab.train.word2vec, negative = 5) time is
its `train_seconds_ / epochs` over 3 epochs (corpus reading excluded); the textbook time is the epoch loop.
The textbook model uses the full window for every word, Word2Vec the usual random window shrink (about half
the pairs for skip-gram), which accounts for up to ~2× of the ratio; the rest is O(V) vs O(k).

Command:

    {cmd}

Threads: {", ".join(f"{k}={v}" for k, v in info.items())}

{table}

{LOAD_NOTE}
"""
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"# wrote {args.out}")


if __name__ == "__main__":
    main()
