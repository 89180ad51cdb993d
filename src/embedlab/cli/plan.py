"""Cost and tuning commands: `plan` (what an index will cost, before building it), `tune` (measure every setting on
a collection's own vectors and recommend one) and `reindex` (rebuild a collection's index with other settings);
thin layers over embedlab.index.plan, embedlab.index.tune and Collection.reindex."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

from ..errors import InputError
from ..index.plan import check_plan, constants, estimate_all
from ..index.tune import plot
from ..index.tune import tune as run_tune
from .app import app, console, emit_json, print_table, threads_option
from .collections import index_options, open_collection, print_estimate, untrained_note
from .finetune import reindex_with_encoder


def _mib(b: float) -> str:
    return f"{b / 2**20:,.1f}"


def _secs(s: float) -> str:
    return f"{s:,.1f}" if s >= 1 else f"{s:,.2f}"


@app.command()
def plan(
    count: int = typer.Option(..., "--count", "-n", help="How many vectors."),
    dim: int = typer.Option(..., "--dim", "-d", help="Their dimension."),
    index_kind: str | None = typer.Option(None, "--index", help="exact, hnsw or ivf (default: all three)."),
    precision: str | None = typer.Option(None, "--precision", help="float32, float16, int8 or binary (default: all)."),
    metric: str = typer.Option("cosine", "--metric", help="cosine, dot or l2."),
    rescore: int | None = typer.Option(None, "--rescore", help="Candidates re-ranked per result (compressed codes)."),
    M: int | None = typer.Option(None, "--M", help="HNSW links per node (default 32)."),
    ef_construction: int | None = typer.Option(None, "--ef-construction", help="HNSW build beam (default 100)."),
    ef_search: int | None = typer.Option(None, "--ef-search", help="HNSW search beam (default 128)."),
    nlist: int | None = typer.Option(None, "--nlist", help="IVF lists (default 1024)."),
    nprobe: int | None = typer.Option(None, "--nprobe", help="IVF lists scanned per query (default 16)."),
    pq: int | None = typer.Option(None, "--pq", help="IVF-PQ sub-quantizers (default: none)."),
    recalibrate: bool = typer.Option(False, "--recalibrate", help="Measure this machine's constants again."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Predict memory (resident and on disk), build time and query time before building an index, from constants
    measured once on this machine (a short micro-benchmark, cached in the embedlab home)."""
    kinds = (index_kind,) if index_kind else None  # None: all three, leaving out what cannot exist
    precisions = (precision,) if precision else None
    params = {k: v for k, v in {"M": M, "ef_construction": ef_construction, "ef_search": ef_search,
                                "nlist": nlist, "nprobe": nprobe, "m": pq, "rescore": rescore}.items()
              if v is not None}
    combos = check_plan(count, dim, kinds, precisions, metric, **params)  # refused: before measuring the machine
    if not as_json and recalibrate:
        console.print("[dim]measuring this machine (about 20 s)…[/]")
    consts = constants(recalibrate=recalibrate)
    rows = estimate_all(count, dim, combos, metric, consts)
    if as_json:
        emit_json({"count": count, "dim": dim, "machine": consts.machine, "estimates": [e.as_dict() for e in rows]})
        return
    print_table(
        f"plan: {count:,} x {dim}-d vectors ({metric}) on {consts.machine.split('|')[0]}",
        ["index", "codes", "settings", "RAM MiB", "disk MiB", "build s", "ms/query", "q/s"],
        [[e.kind, e.precision, _short(e.params), _mib(e.resident_bytes), _mib(e.disk_bytes), _secs(e.build_s),
          f"{1000 * e.query_s:,.2f}", f"{1 / e.query_s:,.0f}"] for e in rows],
        right=("RAM MiB", "disk MiB", "build s", "ms/query", "q/s"))
    console.print("[dim]RAM: what the index keeps resident (float32 exact: the vectors it scans); disk: the float32 "
                  "segments plus the saved index; ms/query and q/s one query at a time. Estimates from this "
                  "machine's measured constants (checked within 2x for time, 1.25x for memory).[/]")


@app.command()
def tune(
    name: str = typer.Argument(..., help="Collection name."),
    target_recall: float = typer.Option(0.95, "--target-recall", help="Recall@k the recommendation must reach."),
    k: int = typer.Option(10, "--top-k", "-k", help="Neighbours per query."),
    queries: int = typer.Option(200, "--queries", help="Query rows sampled from the collection."),
    sample: int = typer.Option(100_000, "--sample", help="Tune on at most this many rows (sampled, seeded)."),
    seed: int = typer.Option(0, "--seed"),
    plot_path: Path | None = typer.Option(None, "--plot", help="Write the recall-vs-q/s plot here (PNG; default "
                                          "NAME-tune.png)."),
    apply: bool = typer.Option(False, "--apply", help="Rebuild the collection's index with the recommendation."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Measure recall@k and queries/s of every index, precision and search setting on the collection's own vectors
    (against exact float32 search), print the table, plot it, and recommend the cheapest setting that reaches the
    target (least memory, then fastest); --apply rebuilds the index with it."""
    with open_collection(name, readonly=not apply) as col:
        vecs = col.vectors()
        total = len(vecs.keys)
        mat = vecs.matrix
        if total > sample:
            rows = np.sort(np.random.default_rng(seed).choice(total, sample, replace=False))
            mat = np.ascontiguousarray(mat[rows])
        say = None if as_json else (lambda msg: console.print(f"[dim]{msg}[/]", highlight=False))
        report = run_tune(np.asarray(mat, dtype=np.float32), col.metric, target_recall, k=k, queries=queries,
                          seed=seed, count=total, progress=say)
        png = plot(report, plot_path or Path(f"{name}-tune.png"))
        applied = None
        if apply:
            if report.best is None:
                raise InputError(f"no setting reached recall {target_recall}; nothing applied (lower "
                                 "--target-recall, or keep the exact float32 index)")
            settings = report.best.settings()
            print_estimate(report.best.kind, settings, col.dim, col.metric, total, as_json)
            applied = col.reindex(report.best.kind, settings)
    if as_json:
        emit_json({**report.as_dict(), "plot": str(png), "applied": applied})
        return
    best = report.best
    print_table(
        f"tune {name}: recall@{k}, {report.queries} sampled queries, {report.rows:,} of {total:,} rows",
        ["index", "codes", "settings", f"recall@{k}", "q/s", "q/s batch", "RAM MiB", "build s", ""],
        [[t.kind, t.build.get("precision", "float32") + (" pq" if t.build.get("m") else ""),
          _short({**{a: b for a, b in t.build.items() if a != "precision"}, **t.search}), f"{t.recall:.4f}",
          f"{t.qps:,.0f}", f"{t.batch_qps:,.0f}", _mib(t.resident_bytes), _secs(t.build_s), "best" if t is best
          else ""] for t in report.trials],
        right=(f"recall@{k}", "q/s", "q/s batch", "RAM MiB", "build s"))
    console.print(f"[dim]q/s: one query at a time; RAM: predicted resident memory at {total:,} rows; build s: "
                  f"measured on the {report.rows:,} rows tuned on.[/]")
    if best is None:
        console.print(f"[yellow]no setting reached recall@{k} >= {target_recall}[/]; keep exact float32 search")
    else:
        flags = " ".join(f"--{_flag(a)} {b}" for a, b in best.settings().items() if _flag(a))
        console.print(f"recommended: [bold]{best.kind}[/] {best.label().split(' ', 1)[1]} ({flags}): recall "
                      f"{best.recall:.3f}, {best.qps:,.0f} q/s, ~{_mib(best.resident_bytes)} MiB resident"
                      + ("; applied" if applied else f" (embedlab tune {name} --apply rebuilds with it)"))
    console.print(f"plot: {png}")


_SHORT = {"ef_construction": "efC", "ef_search": "ef", "rescore": "r", "nprobe": "nprobe", "nlist": "nlist",
          "train_size": "train", "precision": "", "m": "pq"}


def _short(params: dict[str, Any]) -> str:
    """Settings in a narrow column: ``M16 efC100 ef64 r4``."""
    out = []
    for key, v in params.items():
        if v is None or key in ("precision", "seed", "nbits") or (key == "m" and not v):
            continue
        out.append(f"{_SHORT.get(key, key)}{v}" if key in _SHORT else f"{key}{v}")
    return " ".join(out) or "-"


def _flag(param: str) -> str:
    return {"precision": "precision", "rescore": "rescore", "M": "M", "ef_search": "ef-search", "nlist": "nlist",
            "nprobe": "nprobe", "m": "pq"}.get(param, "")


@app.command()
def reindex(
    name: str = typer.Argument(..., help="Collection name."),
    index_kind: str | None = typer.Option(None, "--index", help="exact, hnsw or ivf (default: keep)."),
    precision: str | None = typer.Option(None, "--precision", help="float32, float16, int8 or binary."),
    rescore: int | None = typer.Option(None, "--rescore", help="Candidates re-ranked per result."),
    nlist: int | None = typer.Option(None, "--nlist", help="IVF lists."),
    nprobe: int | None = typer.Option(None, "--nprobe", help="IVF lists scanned per query."),
    pq: int | None = typer.Option(None, "--pq", help="IVF-PQ sub-quantizers."),
    M: int | None = typer.Option(None, "--M", help="HNSW links per node."),
    ef_search: int | None = typer.Option(None, "--ef-search", help="HNSW search beam."),
    encoder: str | None = typer.Option(None, "--encoder", "-e", help="Re-embed the stored contents with this "
                                       "encoder (a name or a fine-tuned folder); no source files needed."),
    threads: int = threads_option(),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Rebuild a collection's index with other settings (the vectors stay as they are); prints the plan estimate
    first when the build will take more than a few seconds. With --encoder: re-embed every item's stored text with
    that encoder instead (e.g. after `embedlab finetune`), keeping ids, metadata and index settings."""
    if encoder is not None:
        given = [(flag, v) for flag, v in (("--index", index_kind), ("--precision", precision),
                                           ("--rescore", rescore), ("--nlist", nlist), ("--nprobe", nprobe),
                                           ("--pq", pq), ("--M", M), ("--ef-search", ef_search)) if v is not None]
        if given:
            raise InputError(f"{', '.join(flag for flag, _ in given)} cannot be combined with --encoder: "
                             f"re-embedding keeps the collection's index settings; run `embedlab reindex {name} "
                             f"--encoder {encoder}` first, then `embedlab reindex {name} "
                             f"{' '.join(f'{flag} {v}' for flag, v in given)}` to change the index")
        return reindex_with_encoder(name, encoder, as_json)
    with open_collection(name) as col:
        kind = index_kind or col.index_kind
        settings: dict[str, Any] = index_options(kind, None, rescore, nlist=nlist, nprobe=nprobe, m=pq, M=M,
                                                 ef_search=ef_search)
        if precision is not None:
            settings["precision"] = precision
        if kind == col.index_kind:
            settings = {**col.index_params, **settings}
        if settings.get("precision") == "float32":
            settings.pop("precision")
            if rescore is None:
                settings.pop("rescore", None)
        count = col.count()
        print_estimate(kind, settings, col.dim, col.metric, count, as_json)
        new = col.reindex(kind, settings)
        untrained = untrained_note(new["kind"], new["params"], col.dim, col.metric, count)
    if as_json:
        emit_json({"collection": name, "index": new, "count": count})
        return
    shown = " ".join(f"{k}={v}" for k, v in new["params"].items())
    console.print(f"[bold]{name}[/]: index rebuilt as {new['kind']}" + (f" ({shown})" if shown else ""))
    if untrained:
        console.print(f"[yellow]note:[/] {untrained}", highlight=False)
