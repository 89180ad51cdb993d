"""Collection commands: `index`, `search`, `info`, `check`, `export`, `import` (thin layers over embedlab.store and embedlab.ingest)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import CollectionNotFoundError, EmbedlabError, EncoderMismatchError, InputError
from .app import app, console, emit_json


def parse_where(pairs: list[str] | None) -> dict[str, Any] | None:
    """``--where`` values → one Collection ``where`` dict (checked by the same parser as Python and HTTP).

    Each value is either a JSON filter object (``'{"year": {"$gte": 2020}}'``, any operator of
    ``embedlab.store.filters``) or ``key=value``. In ``key=value`` a value that reads as a JSON number, bool or
    null also matches metadata stored with that type (CSV cells are strings, JSONL keeps types), so
    ``year=2020`` finds both ``"2020"`` and ``2020``; repeating a key means OR. All values must hold (AND).
    """
    if not pairs:
        return None
    values: dict[str, list] = {}
    objects: list[dict[str, Any]] = []
    for pair in pairs:
        if pair.lstrip().startswith("{"):
            try:
                obj = json.loads(pair)
            except ValueError as exc:
                raise InputError(f"--where {pair!r} is not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise InputError(f"--where {pair!r} must be a JSON object")
            objects.append(obj)
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--where takes key=value or a JSON filter, got {pair!r} (e.g. --where lang=ko or "
                             """--where '{"year": {"$gte": 2020}}')""")
        alts: list[Any] = [value]
        try:
            typed = json.loads(value)
        except ValueError:
            typed = value
        if typed is None or isinstance(typed, (bool, int, float)):
            alts.append(typed)
        values.setdefault(key.strip(), []).extend(alts)
    from ..store.filters import parse

    plain = {k: (v[0] if len(v) == 1 else {"$in": v}) for k, v in values.items()}
    parts = ([plain] if plain else []) + objects
    where = parts[0] if len(parts) == 1 else {"$and": parts}
    parse(where)  # checked now, so a bad filter fails before any model loads
    return where


def _open(name: str, readonly: bool = False):
    from ..store import Collection

    try:
        return Collection.open(name, readonly=readonly)
    except CollectionNotFoundError as exc:
        have = Collection.list()
        raise CollectionNotFoundError(
            f"no collection named {name!r} (existing: {', '.join(have) if have else 'none yet'}); "
            f"make it with: embedlab index {name} PATH..."
        ) from exc


@app.command()
def index(
    name: str = typer.Argument(..., help="Collection name (created if it does not exist)."),
    paths: list[Path] = typer.Argument(..., help="Text files, folders, CSV/TSV or JSONL files."),
    encoder: str | None = typer.Option(None, "--encoder", "-e", help="Encoder for a new collection (default: use-multilingual)."),
    text_column: str | None = typer.Option(None, "--text-column", help="CSV/JSONL column to embed (default: text)."),
    id_column: str | None = typer.Option(None, "--id-column", help="CSV/JSONL column with ids (default: id, else row numbers)."),
    index_kind: str = typer.Option("exact", "--index", help="Index of a new collection: exact or hnsw."),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Split texts longer than this into passages (default: the encoder's limit)."),
    overlap: int | None = typer.Option(None, "--overlap", help="Tokens shared by consecutive passages (default: 15%)."),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of the input files (e.g. cp949)."),
    encoding_errors: str = typer.Option("strict", "--encoding-errors", help="strict, or replace to substitute undecodable bytes."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first file that cannot be read (default: skip "
                                "it, list it with the reason, and index the rest)."),
    engine: str = typer.Option("local", "--engine", help="local (encode in this process) or ray (encode on a Ray "
                               "cluster: pip install 'embedlab[scale]')."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (e.g. auto or "
                                          "ray://head:10001); default: start a local one."),
    workers: int = typer.Option(2, "--workers", help="Ray actors, each with its own copy of the encoder."),
    batch_size: int = typer.Option(64, "--batch-size", help="Items per Ray task."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary."),
) -> None:
    """Read files into a collection: new items are added, changed ones updated, unchanged ones skipped."""
    from ..encoders.registry import spec
    from ..ingest import read_sources
    from ..passages import index_records
    from ..store import Collection

    if index_kind not in ("exact", "hnsw"):
        raise InputError(f"--index must be exact or hnsw, got {index_kind!r}")
    if engine not in ("local", "ray"):
        raise InputError(f"--engine must be local or ray, got {engine!r}")
    if engine == "ray":
        from ..errors import require

        require("ray", "scale", "--engine ray")  # before any model loads
    options = {"engine": engine, "engine_options": {"address": address, "workers": workers,
                                                    "batch_size": batch_size} if engine == "ray" else None}
    try:
        col = Collection.open(name)
        built_with = col.info()["encoder"].get("name")
        if encoder is not None and spec(encoder).name != built_with:  # checked before loading any model
            raise EncoderMismatchError(
                f"collection {name!r} was built with encoder {built_with!r}, not {spec(encoder).name!r}; leave out "
                "--encoder to add to it, or index into a new collection name"
            )
        if index_kind != "exact" and col.index_kind != index_kind:
            raise InputError(f"collection {name!r} already uses the {col.index_kind!r} index; --index applies only "
                             "when creating a collection (pick a new name to build another)")
    except CollectionNotFoundError:
        col = None
    from ..encoders import encoder as build_encoder

    enc = col.encoder if col is not None else build_encoder(encoder or "use-multilingual")
    records = read_sources(paths, modalities=enc.modalities, text_column=text_column, id_column=id_column,
                           encoding=encoding, errors=encoding_errors, strict=strict)
    created = col is None
    if created:
        col = Collection.create(name, enc, index=index_kind)
    try:
        with col, _bar("indexing", as_json) as step:
            result = index_records(col, records.records, max_tokens=max_tokens, overlap=overlap, progress=step,
                                   **options)
            result.update(collection=name, count=col.count(), skipped=records.skipped)
    except BaseException:
        if created:  # do not leave an empty collection behind a failed first run
            with Collection.open(name) as again:
                empty = again.count() == 0
            if empty:
                Collection.drop(name)
        raise
    if as_json:
        emit_json(result)
        return
    split = (f"; {result['split']} long document(s) split into passages of at most {result['max_tokens']} "
             f"{result['unit']} (overlap {result['overlap']}): {result['passages']} item(s)") if result["split"] else ""
    console.print(f"[bold]{name}[/]: {result['documents']} document(s) read{split}")
    console.print(
        f"  [green]{result['added']} added[/], [yellow]{result['updated']} updated[/], {result['unchanged']} unchanged"
        + (f", {result['removed']} stale passage(s) removed" if result["removed"] else "")
        + f"; the collection now holds {result['count']} item(s)"
    )
    if records.skipped:
        console.print(f"[yellow]warning:[/] {len(records.skipped)} source(s) skipped (--strict makes this an error):",
                      highlight=False)
    for s in records.skipped:
        console.print(f"  [yellow]skipped:[/] {escape(s)}", highlight=False)


@app.command()
def search(
    name: str = typer.Argument(..., help="Collection name."),
    query: str = typer.Argument(..., help="What to look for (any language the encoder reads)."),
    k: int = typer.Option(5, "-k", "--k", help="How many documents to return."),
    where: list[str] | None = typer.Option(None, "--where", help="Metadata filter key=value (repeatable)."),
    mode: str = typer.Option("vector", "--mode", help="vector, keyword (BM25, Korean-aware) or hybrid (both, "
                             "fused by reciprocal rank)."),
    as_json: bool = typer.Option(False, "--json", help='Print only a JSON list of {"id", "score", "metadata"}.'),
) -> None:
    """Search a collection; long documents split into passages are reported once, by their best passage."""
    from ..passages import group_hits, search_documents
    from ..search import hybrid_search

    with _open(name) as col:
        if mode == "vector":
            hits = search_documents(col, query, k=k, where=parse_where(where))
        elif k < 1:
            raise InputError(f"-k must be >= 1, got {k}")
        else:  # passages of one document share its text: fetch extra hits, then keep each document's best
            hits = group_hits(hybrid_search(col, query, k=max(4 * k, k + 10), where=parse_where(where), mode=mode), k)
    if as_json:
        emit_json([{"id": h.id, "score": h.score, "metadata": h.metadata} for h in hits])
        return
    if not hits:
        console.print("[yellow]no results[/]" + (" (nothing matches the --where filter)" if where else ""))
        return
    table = Table(title=f"{name}: {query}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("id", style="bold")
    table.add_column("score", justify="right")
    table.add_column("metadata", overflow="fold")
    table.add_column("source", style="dim", overflow="ellipsis", no_wrap=True, max_width=40)
    for i, h in enumerate(hits, 1):
        meta = ", ".join(f"{key}={val}" for key, val in h.metadata.items())
        table.add_row(str(i), h.id, f"{h.score:.3f}", meta, " ".join(str(h.source or "").split()))
    console.print(table)


@app.command()
def info(
    name: str | None = typer.Argument(None, help="Collection name (none: list all collections)."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Describe one collection, or list all collections with their sizes."""
    from .. import config
    from ..store import Collection

    if name is not None:
        with _open(name) as col:
            data = col.info()
        if as_json:
            emit_json(data)
            return
        table = Table(title=f"collection {name}", show_header=False, title_justify="left")
        for key, val in data.items():
            if isinstance(val, dict):
                val = ", ".join(f"{k}={v}" for k, v in val.items() if v not in (None, {}))
            table.add_row(key, str(val))
        console.print(table)
        return
    rows = []
    for n in Collection.list():
        try:
            with Collection.open(n, readonly=True) as col:
                data = col.info()
        except EmbedlabError as exc:  # one damaged collection does not hide the others
            rows.append({"name": n, "status": "damaged", "error": f"{type(exc).__name__}: {exc}", "count": None,
                         "encoder": None, "index": "", "dim": None})
            continue
        rows.append({"name": n, "status": "ok", "count": data["count"], "encoder": data["encoder"].get("name"),
                     "index": data["index"]["kind"], "dim": data["dim"]})
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print(f"no collections in {config.collections_dir()} yet; make one with: embedlab index NAME PATH...")
        return
    table = Table(title=f"collections in {config.collections_dir()}", title_justify="left")
    for col_name in ("name", "count", "encoder", "index", "dim"):
        table.add_column(col_name, justify="right" if col_name in ("count", "dim") else "left")
    for r in rows:
        if r["status"] != "ok":
            table.add_row(r["name"], "", "[red]damaged[/]", "", "")
            continue
        table.add_row(r["name"], str(r["count"]), str(r["encoder"]), r["index"], str(r["dim"]))
    console.print(table)
    for r in rows:
        if r["status"] != "ok":
            console.print(f"[red]{escape(r['name'])}[/]: {escape(r['error'])} (run: embedlab check {r['name']})",
                          highlight=False)


@app.command()
def check(
    name: str = typer.Argument(..., help="Collection name."),
    quick: bool = typer.Option(False, "--quick", help="Skip reading every vector (sizes, headers and edge "
                               "checksums are still checked)."),
    as_json: bool = typer.Option(False, "--json", help="Print only JSON."),
) -> None:
    """Verify a collection: the catalogue's integrity, every segment's checksum, the manifest against the
    catalogue's copy. Exit status 1 when a problem is found."""
    with _open(name, readonly=True) as col:
        report = col.check(deep=not quick)
    report = {"collection": name, **report}
    if as_json:
        emit_json(report)
    elif report["ok"]:
        console.print(f"[green]ok[/]: {name}: {report['items']} item(s) in {report['segments']} segment(s)"
                      + ("" if report["deep"] else " (quick: full checksums skipped)"))
    else:
        console.print(f"[red]{len(report['problems'])} problem(s)[/] in {name}:")
        for p in report["problems"]:
            console.print(f"  {escape(p)}", highlight=False)
        console.print("restore the collection folder from a backup, or drop it and index the items again")
    if not report["ok"]:
        raise typer.Exit(1)


@app.command()
def export(
    name: str = typer.Argument(..., help="Collection name."),
    format: str = typer.Option("word2vec", "--format", "-f", help="parquet (everything: ids, vectors bit for bit, "
                               "metadata, contents, sources; `embedlab import` reads it), word2vec (text, one id + "
                               "vector per line) or tsv (TensorBoard projector folder: vectors.tsv + metadata.tsv)."),
    out: Path = typer.Option(..., "-o", "--out", help="Output file (parquet, word2vec) or folder (tsv)."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary."),
) -> None:
    """Write a collection in a format other tools (or another embedlab backend) read."""
    from ..io import save_projector, save_word2vec

    if format not in ("parquet", "word2vec", "tsv"):
        raise InputError(f"--format must be parquet, word2vec or tsv, got {format!r}")
    with _open(name, readonly=True) as col:
        if format == "parquet":
            from ..store.parquet import export_parquet

            with _bar("exporting", as_json) as step:
                summary = export_parquet(col, out, progress=step)
            summary = {"collection": name, "format": format, **summary}
            if as_json:
                emit_json(summary)
            else:
                console.print(f"wrote {summary['count']} items ({summary['dim']}-d) of [bold]{name}[/] to "
                              f"{summary['path']} (parquet, {summary['bytes']:,} bytes)")
            return
        vectors = col.vectors()
        if len(vectors) == 0:
            raise InputError(f"collection {name!r} is empty; index something first")
        if format == "word2vec":
            bad = next((key for key in vectors.keys if not key or any(c.isspace() for c in key)), None)
            if bad is not None:
                raise InputError(f"id {bad!r} contains whitespace, which the word2vec format cannot hold; "
                                 "export with --format tsv instead (or re-index with ids without spaces)")
            path = save_word2vec(vectors, out)
        else:
            items = col.get(vectors.keys)
            keys = sorted({k for it in items for k in it.metadata if k != "key"})
            meta = {k: [_cell(it.metadata.get(k)) for it in items] for k in keys}
            path = save_projector(vectors, out, metadata=meta)
    summary = {"collection": name, "format": format, "path": str(path), "count": len(vectors), "dim": vectors.dim}
    if as_json:
        emit_json(summary)
    else:
        console.print(f"wrote {len(vectors)} vectors ({vectors.dim}-d) of [bold]{name}[/] to {path} ({format})")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A Parquet file written by `embedlab export --format parquet` (or any "
                                "Parquet file with an id and a vector column)."),
    name: str = typer.Option(..., "--name", "-n", help="Name of the new collection."),
    metric: str | None = typer.Option(None, "--metric", help="Metric for a file without embedlab metadata "
                                         "(default cosine)."),
    index_kind: str | None = typer.Option(None, "--index", help="exact or hnsw (default: the exported one)."),
    batch_size: int = typer.Option(10_000, "--batch-size", help="Rows read and written per transaction."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary."),
) -> None:
    """Create a collection from a Parquet file, on the current backend (see --backend); streamed in batches."""
    from ..store.parquet import import_parquet

    with _bar("importing", as_json) as step:
        summary = import_parquet(file, name, metric=metric, index=index_kind, batch_size=batch_size, progress=step)
    if as_json:
        emit_json(summary)
    else:
        console.print(f"imported {summary['count']} items ({summary['dim']}-d) into [bold]{name}[/] "
                      f"({summary['backend']} backend)")


@contextmanager
def _bar(what: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar with items/s and an estimate; yields ``step(done, total)``."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeRemainingColumn())
    start = time.monotonic()
    with Progress(*columns, console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task(what, total=None, rate="")

        def step(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - start, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} items/s")

        yield step


def _cell(v: Any) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return " ".join(s.split())  # TSV cells: no tabs or newlines
