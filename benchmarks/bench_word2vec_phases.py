"""Where Word2Vec's wall-clock time goes on a short run (the fixed cost beside the training), per phase.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_word2vec_phases.py --corpus bench-data/corpus.txt

Each repeat is a fresh child process that stamps, in wall-clock and CPU seconds: the import of ``embedlab.train``'s
Word2Vec (``embedlab`` itself is imported first, as in ``bench_word2vec.py``, whose clock starts after it); a
one-line corpus through ``EncodedCorpus.write_ranked`` (numba's first call: its compiler's start-up and the cached
kernels' load); the corpus read, encoded, counted, ranked and renumbered (``write_ranked`` alone); and a whole
``Word2Vec(...).fit`` (1 epoch by default), split into its training (``train_seconds_``) and the rest. The last two
overlap (``fit`` encodes again): the encoding row says what ``fit``'s fixed cost is made of. Medians over repeats,
load average beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def child(a: argparse.Namespace) -> dict[str, float]:
    """One run: wall / CPU seconds of each phase."""
    import tempfile

    from embedlab import Vectors  # noqa: F401  (before the clock, as in bench_word2vec.py)

    out: dict[str, float] = {}
    w, c = time.perf_counter(), time.process_time()

    def stamp(name: str) -> None:
        nonlocal w, c
        out[f"{name} wall"], out[f"{name} cpu"] = time.perf_counter() - w, time.process_time() - c
        w, c = time.perf_counter(), time.process_time()

    from embedlab.train import LineCorpus, Word2Vec
    from embedlab.train.corpus import EncodedCorpus

    stamp("import Word2Vec")
    with tempfile.TemporaryDirectory() as tmp:
        one = os.path.join(tmp, "one.txt")
        with open(one, "w", encoding="utf-8") as f:
            f.write("a b a b\n")
        EncodedCorpus.write_ranked(LineCorpus(one), os.path.join(tmp, "one"))
        stamp("numba start-up + kernel load")
        enc, vocab = EncodedCorpus.write_ranked(LineCorpus(a.corpus), os.path.join(tmp, "enc"), a.min_count)
        stamp("read + encode + count + rank + renumber")
    alpha = 0.025 if a.arch == "skipgram" else 0.05
    m = Word2Vec(arch=a.arch, dim=a.dim, min_count=a.min_count, epochs=a.epochs, workers=a.workers, seed=1,
                 alpha=alpha, progress=False).fit(a.corpus)
    stamp("fit")
    out["fit training wall"] = m.train_seconds_
    out["fit rest wall"] = out["fit wall"] - m.train_seconds_
    out["tokens"] = float(enc.n_tokens)
    out["load"] = os.getloadavg()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--archs", nargs="+", default=["cbow", "skipgram"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--arch", default=None, help=argparse.SUPPRESS)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(child(a)))
        return
    runs: dict[str, list[dict[str, float]]] = {arch: [] for arch in a.archs}
    for _ in range(a.repeats):
        for arch in a.archs:  # interleaved, so load drifts hit every arch
            argv = [a for a in sys.argv[1:] if a != "--child"]
            res = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--arch", arch, "--child"],
                                 capture_output=True, text=True, check=True)
            runs[arch].append(json.loads(res.stdout.strip().splitlines()[-1]))
    print("| arch | phase | wall s (median) | CPU s (median) | load (1 min) |\n|---|---|---|---|---|")
    for arch, rs in runs.items():
        loads = f"{min(r['load'] for r in rs):.1f}-{max(r['load'] for r in rs):.1f}"
        for key in [k[:-5] for k in rs[0] if k.endswith(" wall")]:
            wall = statistics.median(r[f"{key} wall"] for r in rs)
            cpu = statistics.median(r[f"{key} cpu"] for r in rs) if f"{key} cpu" in rs[0] else None
            print(f"| {arch} | {key} | {wall:.2f} | {'' if cpu is None else f'{cpu:.2f}'} | {loads} |")
    print(f"\n{int(runs[a.archs[0]][0]['tokens']):,} tokens after min_count, {a.epochs} epoch(s), {a.workers} workers")


if __name__ == "__main__":
    main()
