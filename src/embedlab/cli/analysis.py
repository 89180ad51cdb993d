"""`embedlab bias` and `embedlab dims`: bias before/after hard debias, and distance concentration."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .._params import check_int
from .._progress import working
from ..analysis import dimensionality as dm
from ..vectors import Vectors
from .app import app, console, emit_json
from .words import VECTORS_HELP, open_vectors


def _vectors(path: Path | None) -> tuple[Vectors, str]:
    return open_vectors(path)


@app.command()
def bias(
    vectors: Path | None = typer.Option(None, "--vectors", "-v", help="a " + VECTORS_HELP + ", or "
                                           "'wefe-googlenews' for the GoogleNews word2vec subset in wefe "
                                           "(default: GloVe 6B-50d)"),
    test: list[str] = typer.Option([], "--test", help="WEAT test(s): career_family, math_arts, science_arts"),
    permutations: int = typer.Option(10_000, help="permutations for the WEAT p-value"),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Measure gender bias (WEAT, direct bias, projections, analogy accuracy) before and after hard debias."""
    from ..analysis.bias import bias_report, check_report  # here, not at the top: loads scikit-learn and scipy

    check_report(test or None, permutations=permutations, seed=seed)  # before the vectors load
    with working("loading vectors", not as_json):
        vecs, name = _vectors(vectors)
    with working(f"WEAT ({permutations:,} permutations), direct bias and analogies, before and after hard debias",
                 not as_json):
        report = bias_report(vecs, tests=test or None, permutations=permutations, seed=seed)
    report["vectors"] = name
    if as_json:
        emit_json(report)
        return
    t = Table(title=f"Hard debias on {name} (WEAT p-values from {permutations} permutations)")
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
    console.print(t)
    console.print("positive projection = towards 'woman' in the definitional pairs")


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
