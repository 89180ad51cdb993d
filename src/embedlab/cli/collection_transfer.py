"""Collection commands that move items in and out: `export` (Parquet, word2vec, projector TSV) and `import`
(Parquet, onto the current backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..errors import InputError
from ..io import save_projector, save_word2vec
from ..store.parquet import export_parquet, import_parquet
from .app import app, console, emit_json
from .collections import open_collection, progress_bar


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
    if format not in ("parquet", "word2vec", "tsv"):
        raise InputError(f"--format must be parquet, word2vec or tsv, got {format!r}")
    with open_collection(name, readonly=True) as col:
        if format == "parquet":
            with progress_bar("exporting", as_json) as step:
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
    resume: bool = typer.Option(False, "--resume", help="Finish an import of FILE into NAME that was interrupted "
                                "(killed, or cut off by a server stop; `embedlab list` shows it as incomplete): "
                                "ids already stored are checked against the file and skipped."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary."),
) -> None:
    """Create a collection from a Parquet file, on the current backend (see --backend); streamed in batches. Until
    the import completes the collection is listed as incomplete; --resume finishes an interrupted one."""
    with progress_bar("importing", as_json) as step:
        summary = import_parquet(file, name, metric=metric, index=index_kind, batch_size=batch_size, progress=step,
                                 resume=resume)
    if as_json:
        emit_json(summary)
    elif "resumed" in summary:
        console.print(f"resumed the import into [bold]{name}[/]: {summary['resumed']} of {summary['count']} items "
                      f"({summary['dim']}-d) were already there and match the file, the rest were added "
                      f"({summary['backend']} backend)")
    else:
        console.print(f"imported {summary['count']} items ({summary['dim']}-d) into [bold]{name}[/] "
                      f"({summary['backend']} backend)")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return " ".join(s.split())  # TSV cells: no tabs or newlines
