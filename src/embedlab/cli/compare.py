"""`embedlab compare-encoders PAIRS [--encoders a,b,...]`: choose an encoder on your own data; a thin layer over
embedlab.analysis.compare."""

from __future__ import annotations

from pathlib import Path

import typer

from ..analysis.compare import METRICS, plot_comparison
from ..analysis.compare import compare_encoders as run
from ..errors import InputError
from .app import app, console, emit_json, print_table, threads_option


@app.command("compare-encoders")
def compare_encoders(
    pairs: Path = typer.Argument(..., help="Query/positive pairs (JSONL, CSV/TSV with query, positive; or a queries "
                                 "file with POSITIVES beside it) or a labelled CSV (text, label)."),
    positives: Path | None = typer.Argument(None, help="With a queries text file: the aligned positives file."),
    encoders: str | None = typer.Option(None, "--encoders", "-e", help="Comma-separated encoder names (a+b fuses, "
                                        "int8:PATH, folders); default: the installed multilingual defaults."),
    limit: int = typer.Option(5000, "--limit", help="At most this many queries (seeded sample); 0 = all."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the quality-vs-speed plot (PNG) here."),
    metric: str = typer.Option("mrr", "--metric", help="The plot's quality axis: recall@1, recall@10, mrr, ndcg@10."),
    batch_size: int = typer.Option(64, "--batch-size", help="Texts per model call."),
    in_process: bool = typer.Option(False, "--in-process", help="Run every encoder in this process (faster to "
                                    "start; peak memory is then not measured)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the query sample."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Retrieval quality (recall@1/@10, MRR, nDCG@10), sentences/s, peak memory and width of each encoder on your
    pairs, with the Pareto front and a recommendation."""
    names = [n.strip() for n in encoders.split(",") if n.strip()] if encoders else None
    if encoders is not None and not names:
        raise InputError("--encoders is empty; give names separated by commas")
    if names is not None and len(set(names)) < len(names):
        raise InputError(f"--encoders names one encoder twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    if metric not in METRICS:
        raise InputError(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if plot is not None:  # checked before the work; its folder created as every -o's is
        folder = plot.expanduser().absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise InputError(f"--plot {plot}: a file stands where its folder should be")
        plot.expanduser().absolute().parent.mkdir(parents=True, exist_ok=True)
    result = run(pairs, names, positives=positives, limit=limit or None, batch_size=batch_size,
                 isolate=not in_process, seed=seed, progress=not as_json)
    if plot is not None:
        plot_comparison(result, plot, metric=metric)
    if as_json:
        emit_json({**result.to_dict(), "plot": str(plot) if plot else None})
        return
    cols = ["encoder", "dim", "recall@1", "recall@10", "mrr", "ndcg@10", "sent/s", "load s", "peak MiB", "pareto"]
    rows = []
    for r in result.results:
        if r.error is not None:
            rows.append([r.encoder, "-", "-", "-", "-", "-", "-", "-", "-", f"error: {r.error[:60]}"])
            continue
        m = r.metrics
        rows.append([r.encoder, str(r.dim), *(f"{m[k]:.3f}" for k in ("recall@1", "recall@10", "mrr", "ndcg@10")),
                     f"{r.sentences_per_s:,.0f}", f"{r.load_s:.1f}", "-" if r.peak_mb is None else f"{r.peak_mb:,.0f}",
                     "*" if r.pareto else ""])
    print_table(f"{result.queries} queries, {result.documents} documents", cols, rows,
                right=("dim", "recall@1", "recall@10", "mrr", "ndcg@10", "sent/s", "load s", "peak MiB"))
    console.print(f"recommended: {result.reason}")
    if plot is not None:
        console.print(f"plot: {plot}")
