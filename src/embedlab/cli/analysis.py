"""`embedlab bias` and `embedlab dims`: bias before/after debiasing (hard, INLP or R-LACE), and distance
concentration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from .._params import check_int
from .._progress import working
from ..analysis import dimensionality as dm
from ..errors import InputError
from ..vectors import Vectors
from .app import app, console, emit_json
from .words import VECTORS_HELP, open_vectors


def _vectors(path: Path | None) -> tuple[Vectors, str]:
    return open_vectors(path)


_METHOD_TITLES = {"hard": "Hard debias", "inlp": "INLP", "rlace": "R-LACE"}


@app.command()
def bias(
    vectors: Path | None = typer.Option(None, "--vectors", "-v", help="a " + VECTORS_HELP + ", or "
                                           "'wefe-googlenews' for the GoogleNews word2vec subset in wefe "
                                           "(default: GloVe 6B-50d)"),
    test: list[str] = typer.Option([], "--test", help="WEAT test(s): career_family, math_arts, science_arts"),
    method: str = typer.Option("hard", "--method", help="hard: remove the gender direction of definitional pairs "
                               "(Bolukbasi et al. 2016); inlp: iterative nullspace projection (Ravfogel et al. "
                               "2020); rlace: adversarial rank-k projection (R-LACE, Ravfogel et al. 2022). inlp and "
                               "rlace learn from the 2,500 most he-like and she-like of the 50,000 most frequent "
                               "words, seeded by --seed"),
    rank: int | None = typer.Option(None, "--rank", help="--method rlace: directions to remove (default 1)"),
    iterations: int | None = typer.Option(None, "--iterations", help="--method inlp: at most this many "
                                          "classifiers, each removing its directions (default 10)"),
    permutations: int = typer.Option(10_000, help="permutations for the WEAT p-value"),
    seed: int = typer.Option(0, help="seeds the WEAT permutations and the inlp/rlace split and classifiers"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Measure gender bias (WEAT, direct bias, projections, analogy accuracy) before and after debiasing with
    --method hard (default), inlp or rlace; every method is measured the same way."""
    from ..analysis.bias import bias_report, check_report  # here, not at the top: loads scikit-learn and scipy

    options = _method_options(method, rank, iterations)
    check_report(test or None, permutations=permutations, seed=seed, method=method, options=options)  # before the vectors load
    with working("loading vectors", not as_json):
        vecs, name = _vectors(vectors)
    if rank is not None and rank >= vecs.dim:
        raise InputError(f"--rank must be below the dimension of the vectors ({vecs.dim}), got {rank}")
    if method != "hard":  # what INLP / R-LACE learn from, in the command's terms (defaults of analysis.debias)
        lacking = [w for w in ("he", "she") if w not in vecs]
        if lacking:
            raise InputError(f"--method {method} learns from the words closest to 'he' and to 'she', and {name} "
                             f"lacks {' and '.join(map(repr, lacking))}; use --method hard")
        if min(len(vecs), 50_000) < 5_000:
            raise InputError(f"--method {method} learns from the 2,500 most he-like and she-like words, so it needs "
                             f"at least 5,000 words; {name} has {len(vecs):,}; use --method hard")
    with working(f"WEAT ({permutations:,} permutations), direct bias and analogies, before and after "
                 f"{_METHOD_TITLES.get(method, method)}", not as_json):
        report = bias_report(vecs, tests=test or None, permutations=permutations, seed=seed, method=method,
                             options=options)
    report["vectors"] = name
    if as_json:
        emit_json(report)
        return
    learned = report["debias"]
    title = _METHOD_TITLES[method] + (f" (rank {learned['directions_removed']})" if method == "rlace" else "")
    t = Table(title=f"{title} on {name} (WEAT p-values from {permutations} permutations)")
    t.add_column("measure")
    t.add_column("before", justify="right")
    t.add_column("after", justify="right")
    b, a = report["before"], report["after"]
    for test_name in b["weat"]:
        t.add_row(f"WEAT {test_name} effect size (p)",
                  f"{b['weat'][test_name]['effect_size']:.3f} ({b['weat'][test_name]['p_value']:.3g})",
                  f"{a['weat'][test_name]['effect_size']:.3f} ({a['weat'][test_name]['p_value']:.3g})")
    t.add_row("direct bias (professions)", f"{b['direct_bias']:.4f}", f"{a['direct_bias']:.4f}")
    for word, p in b["projections"].items():
        t.add_row(f"projection of '{word}' on the gender direction", f"{p:+.3f}", f"{a['projections'][word]:+.3f}")
    acc = [x["analogy_accuracy"] for x in (b, a)]
    t.add_row("analogy accuracy (Google, 30k)", *("n/a" if x is None else f"{x:.3f}" for x in acc))
    if method != "hard":
        t.add_row(f"he/she word classifier, held-out accuracy (chance {learned['chance']:.3f})",
                  f"{learned['attribute_accuracy_before']:.3f}", f"{learned['attribute_accuracy_after']:.3f}")
    console.print(t)
    if method == "inlp":
        console.print(f"INLP removed {learned['directions_removed']} direction(s) in {learned['iterations']} "
                      "iteration(s)")
    console.print("positive projection = towards 'woman' in the definitional pairs")


def _method_options(method: str, rank: int | None, iterations: int | None) -> dict[str, Any]:
    """The estimator options of ``--method`` from its own flags; a flag of another method is refused."""
    if method not in _METHOD_TITLES:
        raise InputError(f"--method must be {', '.join(list(_METHOD_TITLES)[:-1])} or {list(_METHOD_TITLES)[-1]}, "
                         f"got {method!r}")
    given = {"--rank": (rank, "rlace", "rank"), "--iterations": (iterations, "inlp", "n_iterations")}
    options: dict[str, Any] = {}
    for flag, (value, owner, param) in given.items():
        if value is None:
            continue
        if method != owner:
            raise InputError(f"{flag} applies to --method {owner} only, not --method {method}")
        if value < 1:
            raise InputError(f"{flag} must be a positive integer, got {value}")
        options[param] = value
    return options


@app.command()
def dims(
    vectors: Path | None = typer.Option(None, "--vectors", "-v", help="a " + VECTORS_HELP + " (default: GloVe 6B-50d)"),
    sample: int = typer.Option(5000, help="rows of the real vectors to sample"),
    plot: Path | None = typer.Option(None, "--plot", help="write a PNG plot here"),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Distance concentration vs dimension: random data, and real embeddings before/after PCA."""
    dm.check_sample_size(sample, "sample")  # before the vectors load
    check_int(seed, "seed", low=0)
    with working("loading vectors", not as_json):
        vecs, name = _vectors(vectors)
    full = vecs.dim
    pca_dims = sorted({d for d in (2, 5, 10, 20, 50, 100, 200) if d < full} | {full})
    with working("distance statistics of random data and of PCA projections", not as_json):
        rows = (dm.random_table(n=2000, seed=seed)
                + dm.pca_table(vecs.matrix, pca_dims, n=sample, source=name, seed=seed))
    if plot:
        dm.plot(rows, plot)
    if as_json:
        emit_json([r.as_dict() for r in rows])
        return
    t = Table(title="Distance concentration: relative contrast (max-min)/min of L2 distances")
    for col in ("data", "dim", "relative contrast", "cosine mean", "cosine std"):
        t.add_column(col, justify="right" if col != "data" else "left")
    for r in rows:
        t.add_row(r.source, str(r.dim), f"{r.relative_contrast:.3f}", f"{r.cosine_mean:+.4f}", f"{r.cosine_std:.4f}")
    console.print(t)
    if plot:
        console.print(f"plot written to {plot}")
