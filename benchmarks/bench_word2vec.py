"""embedlab Word2Vec vs gensim 4.4 (and word2vec.c): wall-clock training time and quality, same hyperparameters.

    .venv/bin/python benchmarks/bench_word2vec.py --corpus bench-data/corpus.txt --seeds 1 2 3 --repeats 3
    .venv/bin/python benchmarks/bench_word2vec.py --corpus bench-data/corpus.txt --gensim-mode corpus_file \
        --word2vec-c /path/to/word2vec --per-pair --seeds 1 2 3 --repeats 1

``--word2vec-c`` adds Mikolov's word2vec.c (a binary built with its makefile's flags: ``gcc word2vec.c -o word2vec
-lm -pthread -O3 -march=native -Wall -funroll-loops -Wno-unused-result``), run with the same settings and
``-threads`` = workers (its final learning rate is alpha * 1e-4, not ``--min-alpha``); ``--per-pair`` adds
embedlab with ``batch_size=1`` (word2vec.c's per-pair negative sampling, the kernel before minibatching) as
"embedlab-per-pair". Every row gives words/s (corpus tokens x epochs / seconds, the whole run) and words/s per
thread.

Every run is a fresh child process (same thread settings for both libraries) timing construction + vocabulary
+ training (what a user waits for), then scoring the vectors with embedlab's shared evaluation functions
(Google analogies restricted to the 30k most frequent words, case-insensitive; WordSim-353 and SimLex-999
Spearman). Runs are interleaved (gensim, embedlab, gensim, ...) with the first library rotating every seed so load
drifts hit all sides; times are medians, quality is mean ± sd over seeds. gensim runs in whichever of its two
input modes (``corpus_file=`` or a streamed ``LineSentence``) was faster in a one-off CBOW probe, or in both
(``--gensim-mode both``: one table row per mode).

``--min-alpha`` sets the final learning rate of both libraries. It exists to show a gensim quirk: in
``corpus_file`` mode each of the W workers reads 1/W of the file but measures its progress against the whole
corpus, so the rate never falls below about alpha * (1 - (epochs - 1 + 1/W) / epochs) (alpha/6 for 3 epochs and
2 workers), whatever ``min_alpha`` says. Training with that floor reproduces that mode's quality.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def child(lib: str, arch: str, seed: int, a: argparse.Namespace) -> dict:
    """Train once and score; runs inside a fresh process."""
    import numpy as np

    from embedlab import Vectors

    alpha = a.alpha if a.alpha is not None else (0.025 if arch == "skipgram" else 0.05)
    t0 = time.perf_counter()
    if lib.startswith("embedlab"):
        from embedlab.train import Word2Vec

        batch = 1 if lib == "embedlab-per-pair" else a.batch_size
        m = Word2Vec(arch=arch, dim=a.dim, window=a.window, negative=a.negative, sample=a.sample, min_count=a.min_count,
                     epochs=a.epochs, workers=a.workers, seed=seed, alpha=alpha, min_alpha=a.min_alpha,
                     progress=False, batch_size=batch).fit(a.corpus)
        vectors = m.wv
    elif lib == "word2vec.c":
        import tempfile

        from embedlab.io import load_word2vec

        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "vectors.bin")
            cmd = [a.word2vec_c, "-train", a.corpus, "-output", out, "-cbow", str(int(arch == "cbow")), "-size",
                   str(a.dim), "-window", str(a.window), "-negative", str(a.negative), "-hs", "0", "-sample",
                   str(a.sample), "-min-count", str(a.min_count), "-iter", str(a.epochs), "-threads", str(a.workers),
                   "-alpha", str(alpha), "-binary", "1", "-debug", "0"]
            # word2vec.c seeds its generator from the thread id only: the seed cannot be set, runs differ by timing
            subprocess.run(cmd, check=True, capture_output=True)
            seconds = time.perf_counter() - t0
            vectors = load_word2vec(out, binary=True)
        return score(lib, arch, seed, seconds, vectors)
    else:
        from gensim.models import Word2Vec
        from gensim.models.word2vec import LineSentence

        src = {"corpus_file": a.corpus} if lib == "gensim-corpus_file" else {"sentences": LineSentence(a.corpus)}
        m = Word2Vec(**src, sg=int(arch == "skipgram"), vector_size=a.dim, window=a.window, negative=a.negative, hs=0,
                     sample=a.sample, min_count=a.min_count, epochs=a.epochs, workers=a.workers, seed=seed, alpha=alpha,
                     min_alpha=a.min_alpha)
        vectors = Vectors(m.wv.index_to_key, np.asarray(m.wv.vectors, dtype=np.float32))
    seconds = time.perf_counter() - t0
    return score(lib, arch, seed, seconds, vectors)


def score(lib: str, arch: str, seed: int, seconds: float, vectors) -> dict:
    from embedlab.evaluate import evaluate_analogies, evaluate_word_pairs

    an = evaluate_analogies(vectors, restrict_vocab=30000, case_insensitive=True)
    ws = evaluate_word_pairs(vectors, "wordsim353")
    sl = evaluate_word_pairs(vectors, "simlex999")
    return {"lib": lib, "arch": arch, "seed": seed, "seconds": seconds, "vocab": len(vectors), "analogy": an.accuracy,
            "analogy_coverage": an.coverage, "wordsim353": ws.spearman, "simlex999": sl.spearman, "load": os.getloadavg()[0]}


def spawn(lib: str, arch: str, seed: int, argv: list[str]) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), *argv, "--child", lib, arch, str(seed)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"child {lib} {arch} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"  {lib:20s} {arch:8s} seed {seed}: {out['seconds']:7.1f} s  analogy {out['analogy']:.4f}  "
          f"ws353 {out['wordsim353']:.4f}  simlex {out['simlex999']:.4f}  (load {out['load']:.1f})", flush=True)
    return out


def mean_sd(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.4f} ± {statistics.stdev(xs) if len(xs) > 1 else 0.0:.4f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--archs", nargs="+", default=["cbow", "skipgram"])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--repeats", type=int, default=3, help="timing repeats per seed")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--alpha", type=float, default=None, help="default: 0.025 skipgram, 0.05 cbow (both libraries)")
    p.add_argument("--min-alpha", type=float, default=1e-4, help="final learning rate (both libraries)")
    p.add_argument("--gensim-mode", choices=["auto", "corpus_file", "iterable", "both"], default="auto")
    p.add_argument("--batch-size", type=int, default=None, help="embedlab's batch_size (default: its own default)")
    p.add_argument("--per-pair", action="store_true", help="also run embedlab with batch_size=1 (embedlab-per-pair)")
    p.add_argument("--word2vec-c", default=None, help="path of a compiled word2vec.c binary: also run it")
    p.add_argument("--warmup", action="store_true", help="one untimed embedlab run first (fills numba's cache)")
    p.add_argument("--markdown", default=None, help="also write the result table to this file")
    p.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], int(a.child[2]), a)))
        return
    argv = [x for x in sys.argv[1:]]
    import numba

    import embedlab  # noqa: F401  (applies thread defaults, as in the children)

    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}
    print(f"cores {os.cpu_count()}, workers {a.workers}, numba {numba.__version__}, env {threads}, "
          f"load {os.getloadavg()}", flush=True)
    if a.warmup:  # fill numba's on-disk cache once, untimed: every kernel the runs will use
        from embedlab.train import Word2Vec

        tiny = [["a", "b", "c", "d"]] * 20
        for arch in a.archs:
            for batch in (1, a.batch_size):
                Word2Vec(arch=arch, min_count=1, epochs=1, workers=1, progress=False, batch_size=batch).fit(tiny)
    rows, lines = [], []
    both = ["gensim-corpus_file", "gensim-iterable"]
    glibs = {"corpus_file": both[:1], "iterable": both[1:], "both": both}.get(a.gensim_mode)
    if glibs is None:  # one probe of both input modes with CBOW (the cheaper arch), used for every arch
        probe = {m: spawn(m, "cbow", a.seeds[0], argv)["seconds"] for m in both}
        glibs = [min(probe, key=probe.get)]
        print(f"  gensim mode: {glibs[0]} ({', '.join(f'{k} {v:.1f} s' for k, v in probe.items())})", flush=True)

    def q(rs, key):  # quality over seeds: first run of each seed
        return [next(r[key] for r in rs if r["seed"] == s) for s in a.seeds]

    refs = [*glibs, *(["embedlab-per-pair"] if a.per_pair else []), *(["word2vec.c"] if a.word2vec_c else [])]
    with open(a.corpus, encoding="utf-8") as f:
        tokens = sum(len(line.split()) for line in f)
    speed = []
    for arch in a.archs:
        order = [*refs, "embedlab"]
        runs = {lib: [] for lib in order}
        i = 0
        for _ in range(a.repeats):
            for seed in a.seeds:
                for lib in order[i % len(order):] + order[:i % len(order)]:  # rotate who goes first
                    runs[lib].append(spawn(lib, arch, seed, argv))
                i += 1
        e = runs["embedlab"]
        te = statistics.median(r["seconds"] for r in e)
        for lib in order:
            t = statistics.median(r["seconds"] for r in runs[lib])
            wps = tokens * a.epochs / t
            loads = [r["load"] for r in runs[lib]]
            speed.append(f"| {arch} | {lib} | {t:.1f} | {wps:,.0f} | {wps / a.workers:,.0f} | {t / te:.2f} | "
                         f"{min(loads):.1f}-{max(loads):.1f} |")
        for glib in refs:
            g = runs[glib]
            tg = statistics.median(r["seconds"] for r in g)
            row = {"arch": arch, "gensim_mode": glib, "gensim_s": tg, "embedlab_s": te, "ratio": tg / te}
            for key in ("analogy", "wordsim353", "simlex999"):
                row[key] = (q(g, key), q(e, key))
            rows.append(row)
            name = glib.split("-", 1)[1] if glib.startswith("gensim-") else glib
            lines.append(f"| {arch} | {name} | {tg:.1f} | {te:.1f} | **{tg / te:.2f}** | "
                         + " | ".join(f"{mean_sd(row[k][0])} | {mean_sd(row[k][1])}" for k in ("analogy", "wordsim353", "simlex999"))
                         + " |")
    head = ("| arch | reference | reference s (median) | embedlab s (median) | reference/embedlab | analogy reference | "
            "analogy embedlab | WS-353 reference | WS-353 embedlab | SimLex reference | SimLex embedlab |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    table = head + "\n" + "\n".join(lines)
    table += (f"\n\n{tokens:,} tokens x {a.epochs} epochs, {a.workers} workers/threads each\n\n"
              "| arch | run | s (median) | words/s | words/s/thread | s / embedlab s | load (1 min) |\n"
              "|---|---|---|---|---|---|---|\n" + "\n".join(speed))
    print("\n" + table)
    for row in rows:
        for key in ("analogy", "wordsim353"):
            gs, es = row[key]
            ok = statistics.mean(es) >= statistics.mean(gs) - (statistics.stdev(gs) if len(gs) > 1 else 0.0)
            print(f"{row['arch']} vs {row['gensim_mode']} {key}: embedlab mean >= reference mean - 1 sd: {ok}")
    print(f"load at end {os.getloadavg()}")
    if a.markdown:
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
