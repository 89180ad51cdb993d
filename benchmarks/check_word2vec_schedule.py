"""Where embedlab's Skip-gram differed from gensim's: a diagnostic, one worker, negative sampling.

    .venv/bin/python benchmarks/check_word2vec_schedule.py --corpus bench-data/corpus.txt --lines 20000

1. Replica: gensim 4.4's Skip-gram step re-written in numba with gensim's own random streams (the 48-bit LCG for
   subsampling and negatives, numpy's RandomState for windows and job seeds), its job batching (10,000 raw words)
   and its per-job learning rate, started from gensim's initial matrices. On the first ``--lines`` lines its
   vectors must equal gensim's up to float rounding; with the sigmoid table read at scale 1000/6/2 = 83.33
   instead of C's integer 83 they do not. This shows we read gensim's algorithm right.
2. Schedule: embedlab's own kernel (its RNG, alias sampling) driven with gensim's vocabulary, initial matrices
   and jobs over the whole corpus, for one epoch, once with gensim's learning rate per job (decay by the share of
   sentences) and once decaying by the share of words (word2vec.c's rule). Mean vector norms per frequency band
   are printed beside gensim's: the first matches, the second does not.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from numba import njit

MOD = np.uint64(2**48 - 1)
LCG = np.uint64(25214903917)


@njit(cache=True)
def _subsample(ids, sample_int, rnd):
    kept = np.empty(ids.shape[0], np.int64)
    n = 0
    for w in ids:
        r = (rnd >> np.uint64(16)) & np.uint64(0xFFFFFFFF)
        rnd = (rnd * LCG + np.uint64(11)) & MOD
        if np.uint64(sample_int[w]) >= r:
            kept[n] = w
            n += 1
    return kept[:n], rnd


@njit(cache=True)
def _train_job(ind, bounds, reduced, W, Wn, cum, alpha, window, negative, rnd, sig, scale):
    dim = W.shape[1]
    work = np.zeros(dim, np.float32)
    top = cum[cum.shape[0] - 1]
    for s in range(bounds.shape[0] - 1):
        a, b = bounds[s], bounds[s + 1]
        for i in range(a, b):
            for j in range(max(a, i - window + reduced[i]), min(b, i + window + 1 - reduced[i])):
                if j == i:
                    continue
                centre, ctx = ind[i], ind[j]
                work[:] = 0.0
                for d in range(negative + 1):
                    if d == 0:
                        t, label = centre, np.float32(1.0)
                    else:
                        t = np.searchsorted(cum, (rnd >> np.uint64(16)) % np.uint64(top), side="left")
                        rnd = (rnd * LCG + np.uint64(11)) & MOD
                        if t == centre:
                            continue
                        label = np.float32(0.0)
                    f = 0.0
                    for k in range(dim):
                        f += np.float64(W[ctx, k]) * np.float64(Wn[t, k])
                    f = np.float32(f)
                    if f <= -6.0 or f >= 6.0:
                        continue
                    g = np.float32((label - sig[int((f + 6.0) * scale)]) * alpha)
                    for k in range(dim):
                        work[k] += g * Wn[t, k]
                    for k in range(dim):
                        Wn[t, k] += g * W[ctx, k]
                for k in range(dim):
                    W[ctx, k] += work[k]
    return rnd


def _jobs(sentences, batch_words=10_000):
    """gensim's _job_producer: whole sentences, at most batch_words raw words per job."""
    job, size = [], 0
    for s in sentences:
        if size + len(s) <= batch_words:
            job.append(s)
            size += len(s)
        else:
            yield job
            job, size = [s], len(s)
    if job:
        yield job


def _gensim(sentences, dim, seed):
    """A one-epoch gensim Skip-gram (1 worker): (model before training as copies, trained model, random state)."""
    from gensim.models import Word2Vec

    g = Word2Vec(sg=1, vector_size=dim, window=5, negative=5, hs=0, sample=1e-3, min_count=5, epochs=1, workers=1,
                 seed=seed, alpha=0.025, min_alpha=1e-4)
    g.build_vocab(sentences)
    W0, Wn0 = g.wv.vectors.copy(), g.syn1neg.copy()
    state = g.random.get_state()
    g.train(sentences, total_examples=g.corpus_count, epochs=1)
    return g, W0, Wn0, state


def replica(sentences, seed: int, dim: int) -> None:
    from embedlab.train._kernels import make_tables

    g, W0, Wn0, state = _gensim(sentences, dim, seed)
    sig, _ = make_tables()
    k2i = g.wv.key_to_index
    sample_int = np.array([g.wv.get_vecattr(w, "sample_int") for w in g.wv.index_to_key], np.uint64)
    cum = g.cum_table.astype(np.uint64)
    for scale in (1000 // 6 // 2, 1000 / 6 / 2):
        W, Wn = W0.copy(), Wn0.copy()
        rs = np.random.RandomState()
        rs.set_state(state)
        alpha, pushed = 0.025, 0
        for job in _jobs(sentences):
            rnd = np.uint64(2**24 * rs.randint(0, 2**24) + rs.randint(0, 2**24))
            ind, bounds = [], [0]
            for s in job:
                kept, rnd = _subsample(np.array([k2i[w] for w in s if w in k2i], np.int64), sample_int, rnd)
                ind.extend(kept.tolist())
                bounds.append(len(ind))
            reduced = rs.randint(0, 5, len(ind)).astype(np.int64)
            rnd = _train_job(np.array(ind, np.int64), np.array(bounds, np.int64), reduced, W, Wn, cum,
                             np.float32(alpha), 5, 5, rnd, sig, scale)
            pushed += len(job)
            alpha = max(1e-4, 0.025 - (0.025 - 1e-4) * pushed / g.corpus_count)
        print(f"replica, table scale {scale:.2f}: max |W - gensim| {np.abs(W - g.wv.vectors).max():.1e}, "
              f"max |W_out - gensim| {np.abs(Wn - g.syn1neg).max():.1e}")


def schedules(sentences, seed: int, dim: int) -> None:
    from embedlab.train import _kernels as K

    g, W0, Wn0, _ = _gensim(sentences, dim, seed)
    k2i = g.wv.key_to_index
    keep = (np.array([g.wv.get_vecattr(w, "sample_int") for w in g.wv.index_to_key], np.float64) / 2**32)
    counts = np.array([g.wv.get_vecattr(w, "count") for w in g.wv.index_to_key], np.float64) ** 0.75
    alias_p, alias_i = K.build_alias(counts / counts.sum())
    sig, logsig = K.make_tables()
    none = (np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32))
    total_words = sum(len(s) for s in sentences)
    bands = [(0, 10), (10, 100), (100, 1000), (1000, 5000), (5000, 20000), (20000, len(k2i))]
    norms = {"gensim": g.wv.vectors}
    for rule in ("sentences", "words"):
        W, Wn = W0.copy(), Wn0.copy()
        alpha, done_sent, done_words = 0.025, 0, 0
        for c, job in enumerate(_jobs(sentences)):
            ids = [x for x in ([k2i[w] for w in s if w in k2i] for s in job) if x]
            if ids:
                toks = np.fromiter(itertools.chain.from_iterable(ids), np.int32)
                K.train_chunk(toks, np.array([len(x) for x in ids], np.int32), W, Wn, Wn[:1], keep.astype(np.float32),
                              alias_p, alias_i, *none, True, 5, False, 5, alpha, alpha, 0.0, 1.0,
                              np.uint64((seed * 0x9E3779B97F4A7C15 + c * 0x8CB92BA72F3D8DD7) % 2**64), sig, logsig)
            done_sent += len(job)
            done_words += sum(len(s) for s in job)
            share = done_sent / len(sentences) if rule == "sentences" else done_words / total_words
            alpha = max(1e-4, 0.025 - (0.025 - 1e-4) * share)
        norms[f"embedlab kernel, decay by {rule}"] = W
    print("mean vector norm per frequency band (rank ranges):")
    print(f"{'':38s}" + "".join(f"{f'{lo}-{hi}':>12s}" for lo, hi in bands))
    for name, M in norms.items():
        print(f"{name:38s}" + "".join(f"{np.linalg.norm(M[lo:hi], axis=1).mean():12.4f}" for lo, hi in bands))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--lines", type=int, default=20000, help="lines for the replica check")
    p.add_argument("--seed", type=int, default=2)
    a = p.parse_args()
    from gensim.models.word2vec import LineSentence

    sentences = list(LineSentence(a.corpus))
    replica(sentences[: a.lines], a.seed, 50)
    schedules(sentences, a.seed, 100)


if __name__ == "__main__":
    main()
