"""`embedlab project`: PCA / t-SNE / UMAP of a collection, a vectors file or the seed's word picture."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import typer

from .._params import check_int
from .._progress import working
from ..analysis.plots import plot_format, save_scatter
from ..analysis.reduce import check_projection, cluster_separation
from ..analysis.reduce import project as reduce
from ..encoders import encoder
from ..errors import InputError
from ..store import Collection
from .app import app, console, emit_json
from .words import VECTORS_HELP, open_vectors


def seed_words() -> tuple[list[str], list[str]]:
    """The fruits / animals / vehicles words (English and Korean) and their group names."""
    data = json.loads(resources.files("embedlab.data").joinpath("seed_words.json").read_text("utf-8"))
    words, groups = [], []
    for group in ("fruit", "animal", "vehicle"):
        words += data[group]
        groups += [group] * len(data[group])
    return words, groups


def _load(collection: str | None, vectors: Path | None, words: str | None, color_by: str | None,
          limit: int) -> tuple[np.ndarray, list[str], list[str] | None, str]:
    """(matrix, labels, groups, title) from the chosen source."""
    if collection:
        with Collection.open(collection) as c:
            v = c.vectors()
            ids = v.keys[:limit]
            items = {it.id: it for it in c.get(ids)}
        labels = [(items[i].source or i)[:40] for i in ids]
        groups = [str(items[i].metadata.get(color_by, "")) for i in ids] if color_by else None
        return np.asarray(v.matrix[: len(ids)]), labels, groups, f"collection {collection}"
    if vectors:
        v, _ = open_vectors(vectors)
        keys = [w.strip() for w in words.split(",")] if words else v.keys[:limit]
        missing = [k for k in keys if k not in v]
        if missing:
            console.print(f"skipping {len(missing)} unknown word(s): {', '.join(missing[:10])}")
        keys = [k for k in keys if k in v]
        return np.asarray(v.matrix[[v.index(k) for k in keys]]), keys, None, vectors.name
    labels, groups = seed_words()
    return encoder().encode(labels), labels, groups, "fruits, animals and vehicles (multilingual sentence encoder)"


@app.command()
def project(
    out: Path = typer.Option(..., "--out", "-o", help="plot file: .png or .html (interactive)"),
    method: str = typer.Option("pca", "--method", help="pca, tsne or umap"),
    collection: str | None = typer.Option(None, "--collection", help="project this collection"),
    vectors: Path | None = typer.Option(None, "--vectors", "-v", help="project these vectors: a " + VECTORS_HELP),
    words: str | None = typer.Option(None, "--words", help="comma-separated keys of --vectors to show"),
    color_by: str | None = typer.Option(None, "--color-by", help="metadata field that colours points"),
    dim: int = typer.Option(2, "--dim", help="2 or 3 (3 needs .html)"),
    limit: int = typer.Option(2000, help="at most this many points"),
    seed: int = typer.Option(0),
    perplexity: float | None = typer.Option(None, "--perplexity", help="t-SNE perplexity, below the number "
                                               "of points (default: min(30, (points - 1) / 3))"),
    neighbors: int | None = typer.Option(None, "--neighbors", help="UMAP neighbours, 2 to points - 1 "
                                            "(default: min(15, points - 1))"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Project vectors to 2-D/3-D and plot them (default: the seed's fruits/animals/vehicles picture)."""
    if collection and vectors:
        raise InputError("give --collection or --vectors, not both")
    check_projection(method, dim, seed)  # before anything is loaded or encoded
    plot_format(out, dim)
    check_int(limit, "limit", low=1)
    with working("loading the points", not as_json):
        matrix, labels, groups, title = _load(collection, vectors, words, color_by, limit)
    coords = reduce(matrix, method, dim=dim, seed=seed, perplexity=perplexity, n_neighbors=neighbors,
                    progress=not as_json)
    silhouette = None
    if groups and 1 < len(set(groups)) < len(groups):
        silhouette = {"embedding": cluster_separation(matrix, groups),
                      "projection": cluster_separation(coords, groups, metric="l2")}
    save_scatter(coords, labels, out, groups, f"{title} — {method.upper()}")
    result = {"out": str(out), "method": method, "points": len(labels), "silhouette": silhouette}
    if as_json:
        emit_json(result)
        return
    console.print(f"wrote {out} ({len(labels)} points, {method})")
    if silhouette:
        console.print(f"silhouette by group: {silhouette['embedding']:.3f} in the embedding space, "
                      f"{silhouette['projection']:.3f} in the {dim}-D projection")
