"""Vectors benchmark: embedlab against gensim KeyedVectors on GloVe 6B-50d, side by side in one run.

Measures (interleaved ours/gensim, medians of ``--repeats``): word2vec text and binary read/write
(first ``--w2v-rows`` GloVe words), single-query ``most_similar`` over all 400k words, and Google analogy
evaluation (restrict_vocab=30000) on every ``--stride``-th question — answers checked identical.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_vectors.py --out benchmarks/results/vectors.md
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _common import LOAD_NOTE, interleaved, md_table, print_settings  # noqa: E402
from gensim.models import KeyedVectors  # noqa: E402

import embedlab  # noqa: E402  (thread defaults before numpy)
from embedlab.evaluate import evaluate_analogies, test_file  # noqa: E402
from embedlab.evaluate.analogy import read_analogies  # noqa: E402
from embedlab.io import load_word2vec, save_word2vec  # noqa: E402

logging.disable(logging.WARNING)  # gensim logs every section


def ratio(ours: float, theirs: float) -> str:
    return f"{theirs / ours:.2f}x"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--w2v-rows", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--stride", type=int, default=8)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    settings = print_settings("embedlab Vectors vs gensim KeyedVectors")

    glove = embedlab.glove()
    kv = KeyedVectors(glove.dim)
    kv.add_vectors(glove.keys, np.asarray(glove.matrix))
    kv.fill_norms()
    glove.unit_matrix()
    rows: list[list[object]] = []

    with tempfile.TemporaryDirectory() as tmp:
        part = glove.subset(glove.keys[: args.w2v_rows])
        kv_part = KeyedVectors(glove.dim)
        kv_part.add_vectors(part.keys, part.matrix)
        for binary in (False, True):
            kind = "binary" if binary else "text"
            ours_p, theirs_p = Path(tmp) / f"ours.{kind}", Path(tmp) / f"theirs.{kind}"
            t = interleaved({
                "ours": lambda ours_p=ours_p, binary=binary: save_word2vec(part, ours_p, binary=binary),
                "gensim": lambda theirs_p=theirs_p, binary=binary: kv_part.save_word2vec_format(str(theirs_p),
                                                                                                  binary=binary),
            }, repeats=args.repeats, warmup=0)
            rows.append([f"write word2vec {kind} ({args.w2v_rows:,} × 50)", f"{t['ours']:.3f} s",
                         f"{t['gensim']:.3f} s", ratio(t["ours"], t["gensim"])])
            t = interleaved({
                "ours": lambda theirs_p=theirs_p, binary=binary: load_word2vec(theirs_p, binary=binary),
                "gensim": lambda ours_p=ours_p, binary=binary: KeyedVectors.load_word2vec_format(str(ours_p),
                                                                                                 binary=binary),
            }, repeats=args.repeats, warmup=0)
            rows.append([f"read word2vec {kind} ({args.w2v_rows:,} × 50)", f"{t['ours']:.3f} s",
                         f"{t['gensim']:.3f} s", ratio(t["ours"], t["gensim"])])

    rng = np.random.default_rng(0)
    words = [glove.keys[i] for i in rng.choice(20000, args.queries, replace=False)]
    same = all([k for k, _ in glove.most_similar(w, topn=10)] == [k for k, _ in kv.most_similar(w, topn=10)]
               for w in words[:20])
    t = interleaved({
        "ours": lambda: [glove.most_similar(w, topn=10) for w in words],
        "gensim": lambda: [kv.most_similar(w, topn=10) for w in words],
    }, repeats=args.repeats)
    rows.append([f"most_similar, 400k words ({args.queries} queries, per query)",
                 f"{1000 * t['ours'] / args.queries:.2f} ms", f"{1000 * t['gensim'] / args.queries:.2f} ms",
                 ratio(t["ours"], t["gensim"])])

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.txt"
        lines = []
        for name, qs in read_analogies(test_file("questions-words")):
            lines += [f": {name}"] + [" ".join(q) for q in qs[:: args.stride]]
        sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
        n_q = sum(len(qs) for _, qs in read_analogies(sample))
        ours_r = evaluate_analogies(glove, sample, restrict_vocab=30000)
        g_score, g_sections = kv.evaluate_word_analogies(str(sample), restrict_vocab=30000)
        identical = ours_r.accuracy == g_score and all(
            ours_r.sections[s["section"]].correct == len(s["correct"]) for s in g_sections[:-1])
        t = interleaved({
            "ours": lambda: evaluate_analogies(glove, sample, restrict_vocab=30000),
            "gensim": lambda: kv.evaluate_word_analogies(str(sample), restrict_vocab=30000),
        }, repeats=args.repeats, warmup=0)
        rows.append([f"Google analogies, restrict 30k ({n_q:,} questions)", f"{t['ours']:.2f} s",
                     f"{t['gensim']:.2f} s", ratio(t["ours"], t["gensim"])])

    full = evaluate_analogies(glove)
    headers = ["task", "embedlab", "gensim 4.4", "speed-up (gensim time / ours)"]
    table = md_table(headers, rows)
    print(table)
    notes = [
        f"most_similar top-10 identical to gensim on 20 checked queries: {same}",
        f"analogy answers identical to gensim (accuracy and every section): {identical} "
        f"(accuracy {ours_r.accuracy:.4f})",
        f"full Google set with embedlab: accuracy {full.accuracy:.4f} ({full.correct}/{full.evaluated}), "
        f"coverage {full.coverage:.4f}; semantic {full.semantic.accuracy:.4f}, syntactic {full.syntactic.accuracy:.4f}",
    ]
    print("\n".join(notes))
    if args.out:
        cmd = "OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_vectors.py " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        body = [
            "# Vectors: embedlab vs gensim KeyedVectors (GloVe 6B-50d)", "",
            f"Command: `{cmd}`", "",
            "Threads: " + ", ".join(f"{k}={v}" for k, v in settings.items()), "",
            table, "", *[f"- {n}" for n in notes], "", LOAD_NOTE, "",
        ]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(body), encoding="utf-8")


if __name__ == "__main__":
    main()
