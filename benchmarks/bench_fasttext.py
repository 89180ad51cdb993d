"""Subword vectors: embedlab.train.subword.FastText against gensim's FastText, same text, same settings.

Text: ``--lines`` lines drawn with a fixed seed from the benchmark corpus (GCIDE + WordNet glosses + KJV, so
all three sources are mixed). Both: skip-gram, dim 100, window 5, 5 negatives, min_count 5, n-grams 3-6,
2,000,000 buckets, sample 1e-4, 5 epochs, 2 worker threads. Reported: training seconds (median of the
interleaved trainings), words/s, WordSim-353 and SimLex-999 Spearman using each model's vector for every word
(subwords give a vector to all, so coverage is 100%), and typo recovery@5: for 300 vocabulary words of 7+
letters, swap two inner letters and check whether the correct word is among the 5 nearest known words. With
``--seeds 1 2 3`` each library trains once per seed (interleaved) and the quality columns are mean ± standard
deviation over the seeds: one seed's typo recovery moves by ±0.01 from seed to seed.

    python benchmarks/make_corpus.py bench-data/corpus.txt   # once
    .venv/bin/python benchmarks/bench_fasttext.py --seeds 1 2 3 --out benchmarks/results/fasttext.md
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _common import LOAD_NOTE, md_table, print_settings  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

import embedlab  # noqa: E402,F401
from embedlab.evaluate.datasets import test_file  # noqa: E402
from embedlab.evaluate.similarity import read_word_pairs  # noqa: E402
from embedlab.train.subword import FastText  # noqa: E402


def sample_lines(path: Path, n: int, seed: int) -> list[list[str]]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    idx = np.sort(np.random.default_rng(seed).choice(len(lines), min(n, len(lines)), replace=False))
    return [lines[i].split() for i in idx]


def typos(words: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    cands = [w for w in words[:20000] if len(w) >= 7 and w.isalpha()]
    out = []
    for w in rng.choice(cands, min(n, len(cands)), replace=False):
        i = int(rng.integers(1, len(w) - 2))
        t = w[:i] + w[i + 1] + w[i] + w[i + 2:]
        if t != w and t not in set(words):
            out.append((str(w), t))
    return out


def spearman(vec, pairs) -> float:
    gold, pred = [], []
    for a, b, s in pairs:
        va, vb = vec(a.lower()), vec(b.lower())
        na, nb = np.linalg.norm(va), np.linalg.norm(vb)
        gold.append(s)
        pred.append(float(va @ vb / (na * nb)) if na and nb else 0.0)
    return float(spearmanr(gold, pred).correlation)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="bench-data/corpus.txt")
    ap.add_argument("--lines", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="passes over the seeds")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="each library trains once per seed per round")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from gensim.models import FastText as GensimFastText

    info = print_settings("fastText-style subword vectors: embedlab vs gensim")
    sents = sample_lines(Path(args.corpus), args.lines, seed=0)
    n_tok = sum(map(len, sents))
    print(f"# text: {len(sents):,} lines, {n_tok:,} tokens")
    ws = read_word_pairs(test_file("wordsim353"))
    sl = read_word_pairs(test_file("simlex999"))

    def ours(seed):
        t = time.perf_counter()
        m = FastText(dim=100, window=5, negative=5, min_count=5, subwords=(3, 6), buckets=2_000_000,
                     epochs=args.epochs, lr=0.05, sample=1e-4, workers=args.workers, seed=seed,
                     progress=False).fit(sents)
        secs = time.perf_counter() - t
        return secs, m.vocab_.words, m.vector, lambda w: [x for x, _ in m.most_similar(w, 5)]

    def theirs(seed):
        t = time.perf_counter()
        m = GensimFastText(sents, vector_size=100, window=5, negative=5, min_count=5, min_n=3, max_n=6,
                           bucket=2_000_000, epochs=args.epochs, alpha=0.05, sample=1e-4, sg=1,
                           workers=args.workers, seed=seed)
        secs = time.perf_counter() - t
        return secs, list(m.wv.index_to_key), lambda w: m.wv[w], lambda w: [x for x, _ in m.wv.most_similar(w, topn=5)]

    names = ("embedlab", "gensim")
    times: dict[str, list[float]] = {name: [] for name in names}
    scores: dict[str, list[tuple[int, float, float, float]]] = {name: [] for name in names}  # seed, WS, SL, typo
    ty: list[tuple[str, str]] = []
    for r in range(args.rounds):
        for seed in args.seeds:
            for name, fn in (("embedlab", ours), ("gensim", theirs)):
                secs, words, vec, near = fn(seed)  # scored at once, so only one model is held at a time
                if not ty:
                    ty = typos(words, 300, seed=0)  # the same typos for every model: the vocabularies are equal
                rec = float(np.mean([right in near(typo) for right, typo in ty]))
                scores[name].append((seed, spearman(vec, ws), spearman(vec, sl), rec))
                times[name].append(secs)
                print(f"# round {r + 1} seed {seed} {name}: {secs:.1f} s, WordSim {scores[name][-1][1]:.3f}, "
                      f"SimLex {scores[name][-1][2]:.3f}, typo@5 {rec:.3f}", flush=True)

    def mean_sd(xs):
        return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}"

    rows = []
    for name in names:
        med = statistics.median(times[name])
        cols = list(zip(*[s[1:] for s in scores[name]], strict=True))
        rows.append([name, f"{med:.1f}", f"{n_tok * args.epochs / med:,.0f}", *(mean_sd(list(c)) for c in cols)])
    ratio = statistics.median(times["embedlab"]) / statistics.median(times["gensim"])
    table = md_table(["library", "train s (median)", "words/s", "WordSim-353 ρ", "SimLex-999 ρ",
                      f"typo recovery@5 ({len(ty)} typos)"], rows)
    per_seed = md_table(["seed", "library", "WordSim-353 ρ", "SimLex-999 ρ", "typo recovery@5"],
                        [[str(s[0]), name, f"{s[1]:.3f}", f"{s[2]:.3f}", f"{s[3]:.3f}"]
                         for i in range(len(scores["embedlab"])) for name in names for s in [scores[name][i]]])
    n_runs = len(times["embedlab"])
    print(table)
    print(per_seed)
    print(f"# time ratio embedlab/gensim: {ratio:.2f}")
    if args.out:
        cmd = ".venv/bin/python benchmarks/bench_fasttext.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        text = f"""# fastText-style subword vectors: embedlab vs gensim

Same text for both: {len(sents):,} lines ({n_tok:,} tokens) sampled with seed 0 from the benchmark corpus
(`benchmarks/make_corpus.py`). Skip-gram, dim 100, window 5, 5 negatives, min_count 5, n-grams 3-6, 2,000,000 buckets,
sample 1e-4, lr 0.05, {args.epochs} epochs, {args.workers} workers. Spearman ρ uses each model's vector for every
word (subwords cover all). Typo recovery@5: a 7+ letter vocabulary word with two inner letters swapped; is the
right word among the 5 nearest known words? embedlab allocates rows only for buckets that vocabulary n-grams use
(gensim allocates all 2M), so its memory is smaller and an unseen string's vector averages trained n-grams only.
Quality columns: mean ± standard deviation over {n_runs} training(s) per library (seeds {args.seeds}, {args.rounds}
round(s)), each scored on the same typos and word pairs.

Command:

    {cmd}

Threads: {", ".join(f"{k}={v}" for k, v in info.items())}

{table}

Time ratio embedlab / gensim: **{ratio:.2f}** ({n_runs} interleaved training(s) each).

Per seed:

{per_seed}

{LOAD_NOTE}
"""
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"# wrote {args.out}")


if __name__ == "__main__":
    main()
