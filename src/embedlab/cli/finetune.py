"""`embedlab finetune PAIRS --encoder NAME|PATH -o DIR` (adapt an encoder to a domain with labelled pairs) and the
re-embedding half of `embedlab reindex NAME --encoder PATH`; thin layers over embedlab.train.finetuning and
embedlab.reembed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..errors import InputError
from ..reembed import reembed
from ..train.finetuning import finetune as run
from .app import app, console, emit_json, print_table, threads_option


@app.command()
def finetune(
    pairs: Path = typer.Argument(..., help="Pairs: JSONL ({\"query\", \"positive\"[, \"negative(s)\", \"score\"]}), "
                                 "CSV/TSV with those columns, or a queries text file with POSITIVES beside it."),
    positives: Path | None = typer.Argument(None, help="With a queries text file: the aligned positives file."),
    encoder: str = typer.Option("use-multilingual", "--encoder", "-e", help="Base encoder: a name or a model "
                                "folder path."),
    method: str = typer.Option("adapter", "--method", help="adapter (a linear map on frozen vectors, any text "
                               "encoder, seconds) or full (all weights, torch sentence encoders)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder (new or empty): loads with --encoder OUT."),
    epochs: int | None = typer.Option(None, "--epochs", help="Passes over the pairs (adapter 10, full 1)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Pairs per step (adapter 64, full 32)."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate (adapter 1e-3, full 2e-5)."),
    hard_negatives: int = typer.Option(0, "--hard-negatives", help="Mine N hard negatives per pair with the base."),
    matryoshka: str | None = typer.Option(None, "--matryoshka", help="Widths to train as prefixes, e.g. "
                                          "384,256,128,64 (then `--dim 128` works on collections)."),
    val_fraction: float = typer.Option(0.1, "--val-fraction", help="Share of pairs held out for validation."),
    seed: int = typer.Option(0, "--seed", help="Random seed (split, batches, weights)."),
    loss: str = typer.Option("auto", "--loss", help="full: auto, mnrl, cached-mnrl or cosent."),
    adapter: str = typer.Option("residual", "--adapter", help="adapter: residual or linear."),
    rank: int | None = typer.Option(None, "--rank", help="adapter: low-rank residual of this rank."),
    apply_to: str = typer.Option("both", "--apply-to", help="adapter: both (queries and documents) or queries "
                                 "(documents keep their vectors: no re-indexing)."),
    reg: str = typer.Option("0.01", "--reg", help="adapter: pull toward the identity; a comma list tries each."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON (the metrics)."),
) -> None:
    """Fine-tune an encoder on query/positive pairs, evaluate it before and after (validation + general-domain
    sets) and save it as a folder that loads anywhere an encoder name does."""
    try:
        regs = [float(x) for x in reg.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--reg takes numbers separated by commas, got {reg!r}") from None
    enc = run(pairs, encoder, method=method, output=out, positives=positives, epochs=epochs, batch_size=batch_size,
              lr=lr, hard_negatives=hard_negatives, matryoshka=matryoshka, val_fraction=val_fraction, seed=seed,
              loss=loss, adapter=adapter, rank=rank, apply_to=apply_to, reg=regs if len(regs) > 1 else regs[0],
              overwrite=overwrite, progress=not as_json)
    m = enc.manifest
    summary = {"out": enc.name, "method": m["method"], "base": m["base"]["name"], "data": m["data"],
               "metrics": m["metrics"], "matryoshka_dims": m.get("matryoshka_dims", []), "seconds": m.get("seconds")}
    if as_json:
        emit_json(summary)
        return
    _print_metrics(m["metrics"])
    if m["data"].get("duplicates_dropped"):
        console.print(f"{m['data']['duplicates_dropped']} duplicate pair(s) dropped")
    if "hard_negatives" in m["data"]:
        h = m["data"]["hard_negatives"]
        console.print(f"hard negatives: {h['mined']} mined, {h['rejected_by_margin']} rejected by the margin")
    console.print(f"saved: {enc.name} (loss curve: loss.png); use it with --encoder {enc.name}")


def _print_metrics(metrics: dict[str, Any]) -> None:
    keys = ("recall@1", "recall@10", "mrr", "ndcg@10")
    rows = []
    sets = [("validation", metrics["before"]["validation"], metrics["after"]["validation"])]
    sets += [(f"general: {n}", b, metrics["after"]["general"][n]) for n, b in metrics["before"]["general"].items()]
    for label, before, after in sets:
        rows.append([label, "base", *(f"{before[k]:.3f}" for k in keys)])
        rows.append(["", "fine-tuned", *(f"{after[k]:.3f}" for k in keys)])
        for dim, row in (after.get("per_dim") or {}).items():
            rows.append(["", f"fine-tuned, {dim}-d", *(f"{row[k]:.3f}" for k in keys)])
    print_table("before / after", ["set", "encoder", *keys], rows, right=keys)


def reindex_with_encoder(name: str, encoder: str, as_json: bool) -> None:
    """`embedlab reindex NAME --encoder PATH`: re-embed the stored contents with ``encoder`` (see reembed)."""
    result = reembed(name, encoder, progress=not as_json)
    if as_json:
        emit_json(result)
        return
    console.print(f"[bold]{name}[/]: {result['count']} item(s) re-embedded with {result['encoder']}")
