"""embedlab GloVe: quality beside Word2Vec and gensim on the shared corpus, and speed/loss against reference GloVe
implementations on the same co-occurrence counts.

    .venv/bin/python benchmarks/bench_glove.py corpus --corpus bench-data/corpus.txt --seeds 1 2
    .venv/bin/python benchmarks/bench_glove.py refs --corpus bench-data/corpus.txt --ref-python /tmp/refvenv/bin/python

``corpus``: every run is a fresh child process timing what a user waits for (vocabulary, counting, training), then
scoring the vectors with embedlab's shared evaluator (Google analogies among the 30k most frequent words,
case-insensitive; WordSim-353 and SimLex-999 Spearman). Rows: embedlab GloVe (W + W̃), embedlab Word2Vec and gensim
Word2Vec (streamed iterable) with bench_word2vec.py's settings.

``refs``: the corpus is counted once by embedlab (window 10, 1/d weighting, the ``--ref-vocab`` most frequent words)
and saved; each implementation then fits the same counts in a child process (the references in the scratch venv
named by ``--ref-python``: ``pip install mittens bicleaner-ai-glove numpy scipy``). One function (embedlab's
float64 ``loss_sum``) scores every result: J / terms, J = sum over both orientations of each cell of
f(x) (w_i . w̃_j + b_i + b̃_j - log x)^2. mittens (Dingwall & Potts 2018; its NumPy GloVe) does full-batch AdaGrad
on the dense V x V matrix; glove-python (the ``bicleaner-ai-glove`` fork: the original ``glove-python`` and
``glove_python_binary`` do not build or install on Python 3.11) does Cython/OpenMP SGD with one vector set tied for
words and contexts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# --- children (fresh processes) ---------------------------------------------------------------------------------
def scores(vectors, restrict: int = 30000) -> dict:
    from embedlab.evaluate import evaluate_analogies, evaluate_word_pairs

    an = evaluate_analogies(vectors, restrict_vocab=restrict, case_insensitive=True)
    return {"analogy": an.accuracy, "analogy_coverage": an.coverage,
            "wordsim353": evaluate_word_pairs(vectors, "wordsim353").spearman,
            "simlex999": evaluate_word_pairs(vectors, "simlex999").spearman}


def corpus_child(lib: str, seed: int, a: argparse.Namespace) -> dict:
    """Train one model on the corpus and score it."""
    import numpy as np

    from embedlab import Vectors

    t0 = time.perf_counter()
    extra: dict = {}
    if lib == "embedlab-glove":
        from embedlab.train import GloVe

        m = GloVe(dim=a.dim, window=a.window, min_count=a.min_count, x_max=a.x_max, epochs=a.epochs,
                  workers=a.workers, seed=seed, progress=False).fit(a.corpus)
        vectors = m.wv
        extra = {"train_seconds": m.train_seconds_, "cells": m.cooccurrence_nnz_, "loss_last": m.loss_history_[-1]}
    elif lib.startswith("embedlab-"):
        from embedlab.train import Word2Vec

        arch = lib.split("-")[1]
        m = Word2Vec(arch=arch, dim=a.dim, window=5, negative=5, sample=1e-3, min_count=a.min_count, epochs=3,
                     workers=a.workers, seed=seed, progress=False).fit(a.corpus)
        vectors = m.wv
    else:
        from gensim.models import Word2Vec
        from gensim.models.word2vec import LineSentence

        arch = lib.split("-")[1]
        m = Word2Vec(LineSentence(a.corpus), sg=int(arch == "skipgram"), vector_size=a.dim, window=5, negative=5,
                     hs=0, sample=1e-3, min_count=a.min_count, epochs=3, workers=a.workers, seed=seed,
                     alpha=0.025 if arch == "skipgram" else 0.05, min_alpha=1e-4)
        vectors = Vectors(m.wv.index_to_key, np.asarray(m.wv.vectors, dtype=np.float32))
    seconds = time.perf_counter() - t0
    return {"lib": lib, "seed": seed, "seconds": seconds, "vocab": len(vectors), **extra, **scores(vectors),
            "load": os.getloadavg()[0]}


def embedlab_refs_child(counts: str, epochs: int, a: argparse.Namespace) -> dict:
    """embedlab on saved counts: train ``epochs`` epochs, save the parameters for the parent to score."""
    import numpy as np

    from embedlab.train import GloVe
    from embedlab.train.cooccurrence import Cooccurrence

    c = Cooccurrence.load(counts, mmap=False)
    tiny = Cooccurrence(c.vocab, c.rows[:10].copy(), c.cols[:10].copy(), c.values[:10].copy(), c.window)
    GloVe(dim=a.dim, epochs=1, workers=1, progress=False).fit_cooccurrence(tiny)  # load the compiled kernels (~3 s, once)
    t0 = time.perf_counter()
    m = GloVe(dim=a.dim, x_max=a.x_max, epochs=epochs, workers=a.workers, seed=a.seeds[0], progress=False)
    m.fit_cooccurrence(c)
    seconds = time.perf_counter() - t0
    out = os.path.join(a.scratch, f"embedlab-{epochs}")
    os.makedirs(out, exist_ok=True)
    for name, arr in (("W", m.W_), ("C", m.W_ctx_), ("b", m.b_), ("bc", m.b_ctx_)):
        np.save(os.path.join(out, f"{name}.npy"), arr)
    return {"lib": "embedlab", "epochs": epochs, "seconds": seconds, "params": out}


def reference_child(lib: str, counts: str, steps: int, a: argparse.Namespace) -> dict:
    """A reference implementation on saved counts (runs in the reference venv: numpy + scipy + the library)."""
    import numpy as np
    from scipy import sparse

    rows, cols, vals = (np.load(os.path.join(counts, f"{n}.npy")) for n in ("rows", "cols", "values"))
    v = int(max(rows.max(), cols.max())) + 1
    off = rows != cols
    r = np.concatenate([rows, cols[off]])
    c = np.concatenate([cols, rows[off]])
    x = np.concatenate([vals, vals[off]]).astype(np.float64)
    out = os.path.join(a.scratch, f"{lib}-{steps}")
    os.makedirs(out, exist_ok=True)
    extra: dict = {}
    if lib == "mittens":
        from mittens import GloVe

        dense = sparse.coo_matrix((x, (r, c)), shape=(v, v)).toarray()
        np.random.seed(a.seeds[0])
        t0 = time.perf_counter()
        g = GloVe(n=a.dim, xmax=a.x_max, alpha=0.75, max_iter=steps, learning_rate=0.05, display_progress=0)
        g.fit(dense)
        seconds = time.perf_counter() - t0
        params = (g.W, g.C, g.bw.ravel(), g.bc.ravel())
        extra["errors"] = [float(e) for e in g.errors]
    else:  # glove-python (bicleaner-ai-glove): one vector set shared by words and contexts
        from glove import Glove

        matrix = sparse.coo_matrix((x, (r, c)), shape=(v, v))
        t0 = time.perf_counter()
        g = Glove(no_components=a.dim, learning_rate=0.05, alpha=0.75, max_count=a.x_max, random_state=a.seeds[0])
        g.fit(matrix, epochs=steps, no_threads=a.workers)
        seconds = time.perf_counter() - t0
        params = (g.word_vectors, g.word_vectors, g.word_biases, g.word_biases)
    for name, arr in zip(("W", "C", "b", "bc"), params, strict=True):
        np.save(os.path.join(out, f"{name}.npy"), np.asarray(arr, dtype=np.float32))
    return {"lib": lib, "epochs": steps, "seconds": seconds, "params": out, **extra}


# --- parent -----------------------------------------------------------------------------------------------------
def spawn(mode: list[str], argv: list[str], python: str = sys.executable, env: dict | None = None) -> dict:
    cmd = [python, os.path.abspath(__file__), *argv, "--child", *mode]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"child {mode} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items() if k not in ("errors", "params")}
    print(f"  {shown}", flush=True)
    return out


def mean_sd(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs) if len(xs) > 1 else 0.0:.4f}"


def run_corpus(a: argparse.Namespace, argv: list[str]) -> str:
    libs = ["embedlab-glove", "embedlab-cbow", "gensim-cbow", "embedlab-skipgram", "gensim-skipgram"]
    runs: dict[str, list[dict]] = {lib: [] for lib in libs}
    for i, seed in enumerate(a.seeds):
        for lib in libs[i % len(libs):] + libs[:i % len(libs)]:  # rotate who goes first
            runs[lib].append(spawn(["corpus", lib, str(seed)], argv))
    lines = ["| model | seconds (median) | analogy | WS-353 | SimLex-999 |", "|---|---:|---|---|---|"]
    for lib in libs:
        rs = runs[lib]
        lines.append(f"| {lib} | {statistics.median(r['seconds'] for r in rs):.1f} | "
                     + " | ".join(mean_sd([r[k] for r in rs]) for k in ("analogy", "wordsim353", "simlex999")) + " |")
    g = runs["embedlab-glove"]
    lines.append(f"\nGloVe: {g[0]['vocab']:,} words, {g[0]['cells']:,} co-occurrence cells; training alone "
                 f"{statistics.median(r['train_seconds'] for r in g):.1f} s of the total (median); last-epoch loss "
                 f"{mean_sd([r['loss_last'] for r in g])}; analogy coverage {g[0]['analogy_coverage']:.3f}.")
    return "\n".join(lines)


def run_refs(a: argparse.Namespace, argv: list[str]) -> str:
    import numpy as np

    from embedlab import Vectors
    from embedlab.train import _glove_kernels as K
    from embedlab.train.cooccurrence import Cooccurrence, count_cooccurrences

    counts = os.path.join(a.scratch, "counts")
    if not os.path.isdir(counts):
        t0 = time.perf_counter()
        count_cooccurrences(a.corpus, window=a.window, min_count=a.min_count, max_vocab_size=a.ref_vocab,
                            workers=a.workers, seed=a.seeds[0], progress=False).save(counts)
        print(f"counted in {time.perf_counter() - t0:.1f} s -> {counts}", flush=True)
    cooc = Cooccurrence.load(counts, mmap=False)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    results = []
    for e in a.epochs_list:
        results.append(spawn(["embedlab-refs", "embedlab", str(e)], argv))
    if "glove-python" in a.refs:
        for e in a.glove_python_epochs:
            results.append(spawn(["reference", "glove-python", str(e)], argv, a.ref_python, env))
    if "mittens" in a.refs:
        results.append(spawn(["reference", "mittens", str(a.mittens_iters)], argv, a.ref_python, env))
    if a.recheck_epochs:  # embedlab again after the references: how much the load drifted meanwhile
        results.append(spawn(["embedlab-refs", "embedlab", str(a.recheck_epochs)], argv))

    def load(path: str):
        return [np.ascontiguousarray(np.load(os.path.join(path, f"{n}.npy")), dtype=np.float32)
                for n in ("W", "C", "b", "bc")]

    lines = ["| implementation | epochs / iterations | seconds | loss J/terms (same function) | analogy (top "
             f"{len(cooc.vocab):,} words) | WS-353 | SimLex-999 |", "|---|---:|---:|---:|---:|---:|---:|"]
    terms = 2 * cooc.nnz - int((cooc.rows == cooc.cols).sum())
    for r in results:
        if "errors" in r:  # mittens' own trace (0.5 J before each full-batch step): earlier checkpoints, time pro rata
            n = len(r["errors"])
            for k in sorted({n // 10, n // 4, n // 2}):
                lines.append(f"| {r['lib']} (own error trace) | {k} | {r['seconds'] * k / n:.1f} | "
                             f"{2 * r['errors'][k] / terms:.4f} | | | |")
        W, C, b, bc = load(r["params"])
        total, terms = K.loss_sum(cooc.rows, cooc.cols, cooc.values, W, C, b, bc, float(a.x_max), 0.75)
        r["loss"] = total / terms
        q = scores(Vectors(cooc.vocab.words, W + C), restrict=len(cooc.vocab))
        r.update(q)
        lines.append(f"| {r['lib']} | {r['epochs']} | {r['seconds']:.1f} | {r['loss']:.4f} | {q['analogy']:.4f} | "
                     f"{q['wordsim353']:.4f} | {q['simlex999']:.4f} |")
    return (f"Counts: {len(cooc.vocab):,} words, {cooc.nnz:,} cells (upper triangle), window {a.window}, x_max "
            f"{a.x_max}, dim {a.dim}, {a.workers} threads.\n\n" + "\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=["corpus", "refs"])
    p.add_argument("--corpus", required=True)
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=10, help="GloVe window (Word2Vec rows use 5, as bench_word2vec)")
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--x-max", type=float, default=10.0)
    p.add_argument("--epochs", type=int, default=25, help="GloVe epochs in the corpus part")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ref-vocab", type=int, default=3000, help="refs: the most frequent words kept (mittens is dense)")
    p.add_argument("--epochs-list", nargs="+", type=int, default=[1, 2, 5, 10, 25, 50], help="refs: embedlab epochs")
    p.add_argument("--glove-python-epochs", nargs="+", type=int, default=[5, 25], help="refs: glove-python epochs")
    p.add_argument("--mittens-iters", type=int, default=200, help="refs: mittens iterations (one run; its error trace "
                                                                  "gives earlier checkpoints)")
    p.add_argument("--refs", nargs="+", default=["mittens", "glove-python"])
    p.add_argument("--recheck-epochs", type=int, default=25, help="refs: embedlab once more at the end (0: no)")
    p.add_argument("--ref-python", default="/tmp/refvenv/bin/python")
    p.add_argument("--scratch", default=None, help="folder for counts and parameters (default: a temp folder)")
    p.add_argument("--markdown", default=None, help="also write the table to this file")
    p.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        kind = a.child[0]
        if kind == "corpus":
            out = corpus_child(a.child[1], int(a.child[2]), a)
        elif kind == "embedlab-refs":
            out = embedlab_refs_child(os.path.join(a.scratch, "counts"), int(a.child[2]), a)
        else:
            out = reference_child(a.child[1], os.path.join(a.scratch, "counts"), int(a.child[2]), a)
        print(json.dumps(out))
        return
    import embedlab  # noqa: F401  (applies thread defaults, as in the children)

    scratch = a.scratch or tempfile.mkdtemp(prefix="bench-glove-")
    argv = [x for x in sys.argv[1:] if x != "--scratch" and x != a.scratch] + ["--scratch", scratch]
    a.scratch = scratch
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}
    print(f"cores {os.cpu_count()}, workers {a.workers}, env {threads}, load {os.getloadavg()}", flush=True)
    table = run_corpus(a, argv) if a.part == "corpus" else run_refs(a, argv)
    print("\n" + table + f"\n\nload at end {os.getloadavg()}")
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
