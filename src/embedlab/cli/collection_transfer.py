"""Collection commands that move items in and out: `export` (Parquet, word2vec text/binary, npy, safetensors,
projector TSV, an Embedding Atlas table; the format follows the -o extension) and `import` (Parquet, onto the
current backend)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import typer

from ..errors import InputError
from ..io import save_projector, save_vectors
from ..persist import nearest_existing
from ..store.parquet import export_parquet, import_parquet
from .app import app, console, emit_json
from .collections import open_collection, progress_bar

#: ``--format`` → (what it writes, the ``-o`` extensions that imply it).
EXPORT_FORMATS = {
    "parquet": ("everything: ids, vectors bit for bit, metadata, contents, sources; `embedlab import` reads it",
                (".parquet",)),
    "word2vec": ("text, one id + vector per line", (".txt", ".vec", ".w2v")),
    "word2vec-binary": ("binary word2vec", (".bin",)),
    "npy": ("NumPy matrix + a JSON sidecar with the ids (FILE.npy.json)", (".npy",)),
    "safetensors": ("safetensors matrix + a JSON sidecar with the ids", (".safetensors",)),
    "tsv": ("TensorBoard projector folder: vectors.tsv + metadata.tsv", ()),
    "atlas": ("Apple's Embedding Atlas: ids, text, metadata, a 2-D layout and neighbours; opens with the "
              "embedding-atlas command printed", (".parquet",)),
}
_ALIASES = {"binary": "word2vec-binary", "bin": "word2vec-binary", "text": "word2vec", "txt": "word2vec",
            "vec": "word2vec", "projector": "tsv"}
_CHOICES = ("a .parquet, .npy, .safetensors, .txt/.vec/.w2v (word2vec), .bin (binary word2vec) file, or an "
            "existing folder / FOLDER/vectors.tsv (tsv)")


def export_format(out: Path, format: str | None) -> tuple[str, Path]:
    """The format ``embedlab export`` writes and where, from ``-o`` and ``--format``.

    The extension decides when ``--format`` is not given; an explicit ``--format`` must agree with a known
    extension, so that a file never holds another format than its name says.

    Parameters
    ----------
    out : Path
        The ``-o`` path.
    format : str or None
        The ``--format`` value (a name of ``EXPORT_FORMATS`` or an alias such as ``bin`` or ``projector``).

    Returns
    -------
    tuple of (str, Path)
        The format's name, and the file to write (the folder, for ``tsv``).

    Raises
    ------
    InputError
        For an unknown --format, a --format that contradicts the extension, an extension (or none) that names
        no format when --format is not given, or a .tsv file name other than vectors.tsv.
    """
    fmt = None
    if format is not None:
        fmt = _ALIASES.get(format.lower(), format.lower())
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    ext = out.suffix.lower()
    if out.is_dir():
        implied: str | None = "tsv"
    elif ext == ".tsv":
        if out.name != "vectors.tsv":
            raise InputError(f"-o {out}: the tsv (projector) format writes a folder (vectors.tsv, metadata.tsv, "
                             "projector_config.pbtxt); pass -o FOLDER or -o FOLDER/vectors.tsv")
        implied, out = "tsv", out.parent
    else:
        implied = next((name for name, (_, exts) in EXPORT_FORMATS.items() if ext in exts), None)
    if fmt is None:
        if implied is None:
            what = f"its extension {out.suffix!r}" if out.suffix else "a name without an extension"
            raise InputError(f"cannot tell the format of -o {out} from {what}; use {_CHOICES}, or pass --format "
                             f"({', '.join(EXPORT_FORMATS)})")
        return implied, out
    if implied is not None and implied != fmt and ext not in EXPORT_FORMATS[fmt][1]:  # atlas is .parquet too
        given = "an existing folder" if out.is_dir() and implied == "tsv" else f"a {out.suffix} name"
        raise InputError(f"--format {fmt} does not match -o {out}, which is {given} ({implied}); change the "
                         f"extension or leave out --format")
    return fmt, out


@app.command()
def export(
    name: str = typer.Argument(..., help="Collection name."),
    format: str | None = typer.Option(None, "--format", "-f", help="Default: from the -o extension. "
                                      + "; ".join(f"{k} ({v[0]}{': ' + '/'.join(v[1]) if v[1] else ''})"
                                                  for k, v in EXPORT_FORMATS.items())
                                      + ". A --format that contradicts the extension is refused."),
    out: Path = typer.Option(..., "-o", "--out", help="Output file, or folder for tsv. Its extension picks the "
                             "format: .parquet, .npy, .safetensors, .txt/.vec/.w2v (word2vec), .bin (binary "
                             "word2vec), a folder or FOLDER/vectors.tsv (tsv); any other name needs --format."),
    method: str | None = typer.Option(None, "--method", help="atlas only: the 2-D layout, pca (default), umap or "
                                      "tsne; the projector's cached one when `embedlab serve` already made it."),
    neighbors: int | None = typer.Option(None, "--neighbors", help="atlas only: nearest items per row by the "
                                         "collection's own index (default 10; 0 leaves the column out)."),
    as_json: bool = typer.Option(False, "--json", help="Print only a JSON summary."),
) -> None:
    """Write a collection in a format other tools (or another embedlab backend) read; the format follows the
    extension of -o (`embedlab export notes -o notes.parquet` writes Parquet, which `embedlab import` reads;
    `--format atlas -o notes.parquet` writes what Embedding Atlas opens)."""
    fmt, out = export_format(out, format)
    if fmt != "atlas" and (method is not None or neighbors is not None):
        raise InputError(f"--method and --neighbors are for --format atlas; the {fmt} format has no layout or "
                         "neighbours")
    up = nearest_existing(out)
    if not up.is_dir():
        raise InputError(f"{up} is a file, so -o {out} cannot be created in it; choose another -o")
    with open_collection(name, readonly=True) as col:
        out.parent.mkdir(parents=True, exist_ok=True)  # as every -o: missing folders are created
        if fmt == "atlas":
            _export_atlas(col, out, method or "pca", 10 if neighbors is None else neighbors, as_json)
            return
        if fmt == "parquet":
            with progress_bar("exporting", as_json) as step:
                summary = export_parquet(col, out, progress=step)
            summary = {"collection": name, "format": fmt, **summary}
            if as_json:
                emit_json(summary)
            else:
                console.print(f"wrote {summary['count']} items ({summary['dim']}-d) of [bold]{name}[/] to "
                              f"{summary['path']} (parquet, {summary['bytes']:,} bytes)")
            return
        vectors = col.vectors()
        if len(vectors) == 0:
            raise InputError(f"collection {name!r} is empty; index something first")
        if fmt.startswith("word2vec"):
            bad = next((key for key in vectors.keys if not key or any(c.isspace() for c in key)), None)
            if bad is not None:
                raise InputError(f"id {bad!r} contains whitespace, which the word2vec format cannot hold; "
                                 "export with --format tsv, npy or parquet instead (or re-index with ids without "
                                 "spaces)")
            path = save_vectors(vectors, out, format=fmt)
        elif fmt == "tsv":
            items = col.get(vectors.keys)
            keys = sorted({k for it in items for k in it.metadata if k != "key"})
            meta = {k: [_cell(it.metadata.get(k)) for it in items] for k in keys}
            if "text" not in meta:  # each item's text (stored once, as its content) as TensorBoard's label column
                texts = col.texts(vectors.keys)
                if any(t is not None for t in texts):
                    meta["text"] = [_cell(t) for t in texts]
            path = save_projector(vectors, out, metadata=meta)
        else:
            path = save_vectors(vectors, out, format=fmt)
    summary = {"collection": name, "format": fmt, "path": str(path), "count": len(vectors), "dim": vectors.dim}
    if as_json:
        emit_json(summary)
    else:
        console.print(f"wrote {len(vectors)} vectors ({vectors.dim}-d) of [bold]{name}[/] to {path} ({fmt})")


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


def _export_atlas(col: Any, out: Path, method: str, neighbors: int, as_json: bool) -> None:
    from .. import config
    from ..server.atlas_export import export_atlas  # the projector's layout cache lives in the server

    with progress_bar("laying out", as_json) as step:
        summary = export_atlas(col, out, config.home(), method=method, neighbors=neighbors,
                               report=lambda fraction, stage: step(round(100 * fraction), 100))
    summary = {"collection": col.name, "format": "atlas", **summary}
    if as_json:
        emit_json(summary)
        return
    tc = ("" if summary["trustworthiness"] is None else
          f"; trustworthiness {summary['trustworthiness']:.3f}, continuity {summary['continuity']:.3f} (k = 10)")
    console.print(f"wrote {summary['count']} items of [bold]{col.name}[/] to {summary['path']} (Embedding Atlas; "
                  f"layout: {summary['how'].rstrip('.')}{', cached' if summary['cached'] else ''}{tc}); open it "
                  "with:", highlight=False)
    console.print("  " + " ".join(shlex.quote(a) for a in summary["command"]), highlight=False, soft_wrap=True)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return " ".join(s.split())  # TSV cells: no tabs or newlines
