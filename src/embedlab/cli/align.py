"""`embedlab align SRC TGT --dictionary PAIRS -o ALIGNED`: map one vector space onto another (orthogonal
Procrustes, optional refinement, CSLS evaluation); see ``embedlab.align``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .._params import check_float
from ..align import Alignment, read_dictionary, resolve_dictionary, split_dictionary
from ..errors import InputError
from ..io import NAMED_VECTORS, save_vectors
from ..vectors import Vectors
from .app import app, console, emit_json, print_table
from .words import open_vectors

SPACE_HELP = ("a vectors file (word2vec .txt/.bin, .npy, .safetensors, projector), the -o folder of `embedlab train`, "
              "'glove-6b-50d' or 'wefe-googlenews'")


def open_space(spec: str) -> Vectors:
    """Vectors named on the command line: GloVe 6B-50d, the wefe subset, a training folder or a vectors file."""
    if spec in NAMED_VECTORS:
        return open_vectors(Path(spec))[0]
    path = Path(spec)
    if path.is_dir():
        for name in ("vectors.txt", "vectors.bin"):
            if (path / name).is_file():
                return open_vectors(path / name)[0]
    return open_vectors(path)[0]


@app.command()
def align(
    src: str = typer.Argument(..., help="source space: " + SPACE_HELP),
    tgt: str = typer.Argument(..., help="target space: " + SPACE_HELP),
    out: Path = typer.Option(..., "-o", "--out", help="file (or projector folder) for the source vectors mapped onto TGT"),
    dictionary: str = typer.Option("shared", "--dictionary", "-d",
                                   help="seed pairs: a file of 'source target' lines, or 'shared' (identical words)"),
    fmt: str | None = typer.Option(None, "--format", help="word2vec, word2vec-binary, npy, safetensors or projector "
                                                          "(default: from OUT's extension)"),
    normalize: str = typer.Option("unit", help="preprocessing before fitting: unit, center (unit + mean-centred) or none"),
    refine: int = typer.Option(0, help="rounds of refinement with mutual CSLS neighbours (Conneau et al. 2018)"),
    refine_vocab: int = typer.Option(20000, help="most frequent words searched while refining"),
    csls_k: int = typer.Option(10, help="neighbours in CSLS's hubness penalty"),
    holdout: float = typer.Option(0.0, help="hold out this share of the dictionary's source words and report P@1/P@10 "
                                            "on them (0: fit on every pair)"),
    test: Path | None = typer.Option(None, help="a pairs file to report P@1/P@10 on (instead of --holdout)"),
    restrict: int | None = typer.Option(None, help="evaluation: candidates are the first N target words"),
    seed: int = typer.Option(0, help="random seed of the --holdout split"),
    target_out: Path | None = typer.Option(None, "--target-out", help="also write TGT as the map sees it (needed with "
                                                                      "--normalize center to compare cosines)"),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace OUT if it exists"),
    as_json: bool = typer.Option(False, "--json", help="print JSON only"),
) -> None:
    """Map SRC's vectors onto TGT's space with an orthogonal map learnt from seed pairs; write the mapped SRC."""
    a = Alignment(normalize=normalize, refine=refine, refine_vocab=refine_vocab, csls_k=csls_k,
                  progress=not as_json)  # a bar per refinement / evaluation stage, on a terminal
    a.check_params()  # bad options fail before any file is read
    check_float(holdout, "--holdout", low=0, high=1, high_open=True, hint="a share of the source words, e.g. 0.2")
    if holdout and test is not None:
        raise InputError("give --holdout or --test, not both")
    for path in (out, target_out):
        if path is not None and path.exists() and not overwrite:
            raise InputError(f"{path} already exists; pass --overwrite to replace it or choose another path")
    test_pairs = read_dictionary(test) if test is not None else None
    if dictionary != "shared":
        read_dictionary(dictionary)  # a bad file fails before the vectors load
    source, target = open_space(src), open_space(tgt)
    pairs, given = resolve_dictionary(source, target, dictionary)
    if holdout:
        pairs, test_pairs = split_dictionary(pairs, float(holdout), seed)
    a.fit(source, target, pairs)
    mapped = a.transform(source)
    save_vectors(mapped, out, format=fmt)
    if target_out is not None:
        save_vectors(a.target(target), target_out, format=fmt)
    summary: dict[str, Any] = {
        "out": str(out), "source": src, "target": tgt, "source_dim": source.dim, "target_dim": target.dim,
        "pairs_given": given, "pairs_found": len(a.pairs_) + (len(test_pairs or []) if holdout else 0),
        "pairs_fitted": len(a.pairs_), "pairs_after_refinement": a.refined_pairs_, "normalize": normalize,
        "refine": refine}
    if test_pairs is not None:
        summary["evaluation"] = a.evaluate(source, target, test_pairs, restrict=restrict, before=True)
    if as_json:
        emit_json(summary)
        return
    kind = "orthogonal" if source.dim == target.dim else "semi-orthogonal (a projection between dimensions)"
    console.print(f"mapped {len(source):,} source vectors ({source.dim}-d) onto {tgt} ({target.dim}-d) with a {kind} "
                  f"map from {summary['pairs_fitted']:,} pairs ({given:,} given"
                  + (f", {summary['pairs_after_refinement']:,} after refinement" if refine else "") + f") -> {out}")
    if "evaluation" in summary:
        ev = summary["evaluation"]
        rows = [[name, str(r["queries"]), f"{r['p@1']:.3f}", f"{r['p@10']:.3f}"] for name, r in
                (("no map, nearest neighbour", ev.get("before_nn")), ("no map, CSLS", ev.get("before_csls")),
                 ("nearest neighbour", ev["nn"]), ("CSLS", ev["csls"])) if r is not None]
        print_table("held-out word translation", ["retrieval", "queries", "P@1", "P@10"], rows,
                    right=("queries", "P@1", "P@10"))
