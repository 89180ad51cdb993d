"""Aligning vector spaces: P@1 / P@10 of held-out words, before and after orthogonal Procrustes, nearest
neighbour vs CSLS (embedlab.align).

    .venv/bin/python benchmarks/bench_align.py --corpus bench-data/corpus.txt --cache bench-data/align

(a) keep vectors comparable across re-training: Word2Vec (CBOW, dim 100, window 5, 3 epochs) trained with seed 1
    and with seed 2 on the shared corpus, and on two random halves of its lines; the second space is mapped onto
    the first. (b) map one model's space onto another's: that seed-1 Word2Vec (100-d) onto GloVe 6B-50d
    (``embedlab.glove()``, 400k words), a semi-orthogonal 100 -> 50 map.
Dictionary = shared words. Test words: ``--test`` source words drawn at random (``--seed``) from the
``--test-from`` most frequent shared words; every other shared word is a seed pair (or, with ``--seed-pairs N``, the N most frequent of them). Candidates: every target word
(GloVe: its ``--restrict`` most frequent). A query is right when its own word is among the top k.
Trained models are cached as word2vec files under ``--cache``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def trained(cache: str, name: str, corpus: str, seed: int):
    """A CBOW Word2Vec's vectors, trained once and cached as word2vec text."""
    from embedlab.io import load_vectors, save_word2vec
    from embedlab.train import Word2Vec

    path = os.path.join(cache, f"{name}.txt")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        m = Word2Vec(arch="cbow", dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=3, workers=2,
                     seed=seed, progress=False).fit(corpus)
        save_word2vec(m.wv, path)
        print(f"  trained {name} in {time.perf_counter() - t0:.1f} s", flush=True)
    return load_vectors(path)


def halves(corpus: str, cache: str, seed: int) -> tuple[str, str]:
    """The corpus's lines split at random into two files (each line in exactly one)."""
    paths = (os.path.join(cache, "half-a.txt"), os.path.join(cache, "half-b.txt"))
    if not all(os.path.exists(p) for p in paths):
        rng = np.random.default_rng(seed)
        with open(corpus, encoding="utf-8") as f, open(paths[0], "w", encoding="utf-8") as fa, \
                open(paths[1], "w", encoding="utf-8") as fb:
            for line in f:
                (fa if rng.random() < 0.5 else fb).write(line)
    return paths


def split(src, tgt, a: argparse.Namespace):
    """(seed pairs, test pairs): test words from the most frequent shared words, no word in both."""
    from embedlab.align import shared_words

    pairs = shared_words(src, tgt)
    rng = np.random.default_rng(a.seed)
    test_idx = set(rng.choice(min(a.test_from, len(pairs)), a.test, replace=False).tolist())
    train = [p for i, p in enumerate(pairs) if i not in test_idx]
    return train[:a.seed_pairs] if a.seed_pairs else train, [p for i, p in enumerate(pairs) if i in test_idx], len(pairs)


def evaluate_case(title: str, src, tgt, a: argparse.Namespace, restrict: int | None, variants) -> list[str]:
    from embedlab.align import Alignment

    train, test, shared = split(src, tgt, a)
    print(f"{title}: {shared:,} shared words, {len(train):,} seed pairs, {len(test):,} test words", flush=True)
    rows = []
    for i, (label, params) in enumerate(variants):
        t0 = time.perf_counter()
        al = Alignment(**params).fit(src, tgt, train)
        fit_s = time.perf_counter() - t0
        ev = al.evaluate(src, tgt, test, restrict=restrict, before=(i == 0))
        if i == 0 and "before_nn" in ev:
            rows.append(f"| {title} | no map | — | {ev['before_nn']['p@1']:.3f} / {ev['before_nn']['p@10']:.3f} | "
                        f"{ev['before_csls']['p@1']:.3f} / {ev['before_csls']['p@10']:.3f} |")
        rows.append(f"| {title} | {label} | {fit_s:.1f} | {ev['nn']['p@1']:.3f} / {ev['nn']['p@10']:.3f} | "
                    f"{ev['csls']['p@1']:.3f} / {ev['csls']['p@10']:.3f} |")
        print("\n".join("  " + r for r in rows[-2 if i == 0 and "before_nn" in ev else -1:]), flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--cache", default="bench-data/align")
    p.add_argument("--test", type=int, default=1500, help="held-out test words")
    p.add_argument("--test-from", type=int, default=10000, help="test words come from this many most frequent")
    p.add_argument("--restrict", type=int, default=100000, help="GloVe candidates: its N most frequent words")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seed-pairs", type=int, default=None, help="fit on only the N most frequent seed pairs")
    p.add_argument("--cases", nargs="+", default=["seeds", "halves", "glove"])
    p.add_argument("--variants", nargs="+", default=["unit", "center", "refine"], choices=["unit", "center", "refine"],
                   help="maps to fit (the first also reports 'no map' when the dimensions agree)")
    p.add_argument("--markdown", default=None, help="also write the table to this file")
    a = p.parse_args()
    import embedlab

    os.makedirs(a.cache, exist_ok=True)
    print(f"load {os.getloadavg()}", flush=True)
    known = {"unit": ("Procrustes (unit)", dict(normalize="unit")),
             "center": ("Procrustes (center)", dict(normalize="center")),
             "refine": ("Procrustes (unit) + 1 refinement", dict(normalize="unit", refine=1))}
    variants = [known[v] for v in a.variants]
    rows = []
    w1 = trained(a.cache, "w2v-seed1", a.corpus, 1)
    if "seeds" in a.cases:
        w2 = trained(a.cache, "w2v-seed2", a.corpus, 2)
        rows += evaluate_case("(a) W2V seed 2 -> seed 1", w2, w1, a, None, variants)
    if "halves" in a.cases:
        ha, hb = halves(a.corpus, a.cache, a.seed)
        va, vb = trained(a.cache, "w2v-half-a", ha, 1), trained(a.cache, "w2v-half-b", hb, 1)
        rows += evaluate_case("(a) W2V half B -> half A", vb, va, a, None, variants)
    if "glove" in a.cases:
        rows += evaluate_case("(b) W2V 100-d -> GloVe 6B-50d", w1, embedlab.glove(), a, a.restrict, variants)
    head = ("| spaces | map | fit s | nearest neighbour P@1 / P@10 | CSLS P@1 / P@10 |\n"
            "|---|---|---:|---|---|")
    table = head + "\n" + "\n".join(rows)
    print("\n" + table + f"\n\nload at end {os.getloadavg()}")
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
