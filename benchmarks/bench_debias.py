"""Debiasing beyond one direction on GloVe 6B-50d: hard debias vs INLP vs an adversarial projection (R-LACE).

For the original vectors and each debiaser (fitted with its defaults and seed 0):
  * WEAT effect size and permutation p-value of all ten WEAT tests WEFE ships (Caliskan et al. 2017, word sets
    from ``wefe.datasets.load_weat``, lower-cased for GloVe), each cross-checked against WEFE's own WEAT;
  * Google analogy accuracy (top 30k words, gensim's protocol);
  * gender leakage: held-out accuracy of a fresh logistic regression (and a nonlinear MLP) predicting he/she-side
    from the debiased vectors of the 2 x 2,500 most gendered words (Ravfogel et al. 2020's labelled set);
  * direct bias of the 14 profession words along the hard-debias direction; directions removed; fit seconds.

Targets (issue 12): WEAT career/family (6) and science/arts (8) at most half of the original, analogy within
2 points, linear gender accuracy near chance (0.5).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_debias.py --out benchmarks/results/debias.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _common import LOAD_NOTE, md_table, print_settings  # noqa: E402

import embedlab  # noqa: E402
from embedlab.analysis import bias  # noqa: E402
from embedlab.analysis.debias import INLP, AdversarialProjection, attribute_accuracy, gendered_words  # noqa: E402
from embedlab.evaluate import evaluate_analogies  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402

# The ten WEAT tests of Caliskan et al. (2017) as WEFE names its word sets: (targets X, Y, attributes A, B).
WEFE_WEAT = {
    "1 flowers/insects ~ pleasant": ("flowers", "insects", "pleasant_5", "unpleasant_5a"),
    "2 instruments/weapons ~ pleasant": ("instruments", "weapons", "pleasant_5", "unpleasant_5a"),
    "3 EA/AA names ~ pleasant": ("european_american_names_5", "african_american_names_5", "pleasant_5",
                                 "unpleasant_5b"),
    "4 EA/AA names (B&M) ~ pleasant": ("european_american_names_7", "african_american_names_7", "pleasant_5",
                                       "unpleasant_5b"),
    "5 EA/AA names ~ pleasant (short)": ("european_american_names_7", "african_american_names_7", "pleasant_9",
                                         "unpleasant_9"),
    "6 male/female names ~ career/family": ("male_names", "female_names", "career", "family"),
    "7 math/arts ~ male/female terms": ("math", "arts", "male_terms", "female_terms"),
    "8 science/arts ~ male/female terms": ("science", "arts_2", "male_terms_2", "female_terms_2"),
    "9 mental/physical disease ~ temporary": ("mental_disease", "physical_disease", "temporary", "permanent"),
    "10 young/old names ~ pleasant": ("young_people_names", "old_people_names", "pleasant_9", "unpleasant_9"),
}


def weat_sets() -> dict[str, tuple[list[str], ...]]:
    from wefe.datasets import load_weat

    sets = load_weat()
    return {name: tuple([w.lower() for w in sets[k]] for k in keys) for name, keys in WEFE_WEAT.items()}


def wefe_effects(vectors: Vectors, tests: dict) -> dict[str, float]:
    """WEFE's WEAT effect sizes on a KeyedVectors copy of ``vectors`` (restricted to the words the tests use)."""
    from gensim.models import KeyedVectors
    from wefe.metrics import WEAT
    from wefe.query import Query
    from wefe.word_embedding_model import WordEmbeddingModel

    words = sorted({w for sets in tests.values() for s in sets for w in s if w in vectors})
    kv = KeyedVectors(vector_size=vectors.dim)
    kv.add_vectors(words, np.asarray(vectors.matrix[[vectors.key_to_index[w] for w in words]]))
    model = WordEmbeddingModel(kv, "bench")
    out = {}
    for name, (x, y, a, b) in tests.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = WEAT().run_query(Query([x, y], [a, b]), model, return_effect_size=True)
        out[name] = float(r["effect_size"])
    return out


def measure(name: str, vectors: Vectors, tests: dict, labelled: tuple[list[str], np.ndarray], direction: np.ndarray,
            permutations: int, restrict: int, mlp: bool) -> dict:
    res: dict = {"name": name, "weat": {}, "p": {}}
    for t, (x, y, a, b) in tests.items():
        r = bias.weat(vectors, [x, y], [a, b], permutations=permutations, seed=0)
        res["weat"][t], res["p"][t] = r.effect_size, r.p_value
    theirs = wefe_effects(vectors, tests)
    res["wefe_max_diff"] = max(abs(res["weat"][t] - theirs[t]) for t in tests)
    res["analogy"] = float(evaluate_analogies(vectors, restrict_vocab=restrict).accuracy)
    words, labels = labelled
    x = np.asarray(vectors.matrix[[vectors.key_to_index[w] for w in words]])
    res["gender_linear"] = attribute_accuracy(x, labels, seed=1)
    res["gender_mlp"] = attribute_accuracy(x, labels, seed=1, kind="mlp") if mlp else None
    professions, _ = bias.find_words(vectors, bias.load_word_lists()["professions"])
    res["direct_bias"] = bias.direct_bias(vectors, direction, professions)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--permutations", type=int, default=10_000)
    ap.add_argument("--restrict", type=int, default=30_000, help="analogy candidates: the N most frequent words")
    ap.add_argument("--no-mlp", action="store_true", help="skip the nonlinear leakage probe")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    info = print_settings("debias: hard debias vs INLP vs R-LACE on GloVe 6B-50d")
    glove = embedlab.glove()
    tests = weat_sets()
    labelled = gendered_words(glove)  # from the original vectors; the same words are probed after debiasing
    direction = bias.HardDebias().fit(glove).direction_
    methods = {
        "original": None,
        "hard debias (1 direction)": bias.HardDebias(),
        "INLP, paper's SVM C=0.1": INLP(C=0.1),
        "INLP (defaults: SVM C=0.001)": INLP(),
        "R-LACE rank 1 (defaults)": AdversarialProjection(rank=1),
        "R-LACE rank 2": AdversarialProjection(rank=2),
    }
    rows = []
    for name, est in methods.items():
        t0 = time.perf_counter()
        out = glove if est is None else est.fit(glove).transform(glove)
        fit_s = time.perf_counter() - t0
        r = measure(name, out, tests, labelled, direction, args.permutations, args.restrict, not args.no_mlp)
        r["seconds"] = fit_s if est is not None else 0.0
        r["directions"] = 0 if est is None else (1 if isinstance(est, bias.HardDebias) else len(est.components_))
        rows.append(r)
        print(f"{name}: WEAT6 {r['weat'][list(tests)[5]]:+.3f}, WEAT8 {r['weat'][list(tests)[7]]:+.3f}, analogy "
              f"{r['analogy']:.4f}, gender acc {r['gender_linear']:.3f} (mlp {r['gender_mlp']}), "
              f"WEFE max diff {r['wefe_max_diff']:.1e}, {r['directions']} dir, {fit_s:.1f} s", flush=True)
    base = rows[0]
    summary = md_table(
        ["method", "directions", "WEAT 6 career/family", "WEAT 8 science/arts", "WEAT 7 math/arts",
         "analogy (30k)", "Δ analogy", "gender acc. linear", "gender acc. MLP", "direct bias", "fit s"],
        [[r["name"], r["directions"]] + [f"{r['weat'][list(tests)[i]]:+.3f} ({r['weat'][list(tests)[i]] / base['weat'][list(tests)[i]]:.2f}×)"
                                          for i in (5, 7, 6)]
         + [f"{r['analogy']:.4f}", f"{100 * (r['analogy'] - base['analogy']):+.2f} pt", f"{r['gender_linear']:.3f}",
            "—" if r["gender_mlp"] is None else f"{r['gender_mlp']:.3f}", f"{r['direct_bias']:.3f}",
            f"{r['seconds']:.1f}"] for r in rows])
    weat_rows = md_table(
        ["WEAT test (WEFE word sets)"] + [r["name"] for r in rows],
        [[t] + [f"{r['weat'][t]:+.3f} (p {r['p'][t]:.3g})" for r in rows] for t in tests]
        + [["max abs diff vs WEFE's WEAT"] + [f"{r['wefe_max_diff']:.1e}" for r in rows]])
    cmd = "OMP_NUM_THREADS=2 .venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv)
    report = "\n\n".join([
        "# Debiasing beyond one direction (GloVe 6B-50d, 400k words)",
        f"Command: `{cmd}`  \nDate: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; settings: "
        + ", ".join(f"{k}={v}" for k, v in info.items()) + f". {LOAD_NOTE}",
        "Every debiaser is fitted on the whole table with its defaults (seed 0) and transforms all 400k rows; WEAT "
        f"p-values from {args.permutations:,} seeded permutations; gender accuracy is held-out (30 %) accuracy of a "
        "fresh classifier on the 2 × 2,500 most he/she-projected words of the 50k most frequent (chance 0.5).",
        summary, "All ten WEAT tests WEFE ships (effect size, p):", weat_rows])
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
