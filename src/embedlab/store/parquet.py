"""Portable collections: export to Apache Parquet and import from it, on any backend (pyarrow).

    >>> export_parquet(Collection.open("docs"), "docs.parquet")
    >>> import_parquet("docs.parquet", "docs", backend="postgresql://me@db/search")

The file has one row per item — ``id`` (string), ``vector`` (fixed-size list of float32: the stored vector, bit
for bit), ``metadata`` (JSON text), ``content``, ``source``, ``hash`` (strings, null where absent) — in write
order, and the collection's description (``name``, ``encoder``, ``index``, ``count``, ``format_version``) as
JSON under the key ``embedlab`` of the file's metadata. Export reads one snapshot; import streams the file in
batches (memory bounded by the batch size) and writes each batch in one transaction. Files from other tools
import too: ``id`` and ``vector`` are required, the other columns optional; without ``embedlab`` metadata the
collection is vectors-only (cosine unless ``metric=`` says otherwise).

Damage is detected, never imported: every data page carries a CRC32 (Parquet's page checksum, written on export
and verified on import), and the description carries the SHA-256 of itself (``description_sha256``), so a flipped
bit in a vector, an id or the encoder's name is a ``CorruptFileError`` naming the file and where reading stopped —
as is any other damage pyarrow meets (a truncated file, a bad compressed stream). Files written without checksums
(other tools, older exports) import as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, InputError
from ..persist import atomic_path
from .collection import Collection
from .manifest import FORMAT_VERSION

META_KEY = b"embedlab"
COLUMNS = ("id", "vector", "metadata", "content", "source", "hash")
_FIX = "export the collection again (embedlab export NAME --format parquet)"


def _description_sha256(description: dict[str, Any]) -> str:
    """SHA-256 of the description's canonical JSON, the checksum field itself left out."""
    body = {k: v for k, v in description.items() if k != "description_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _pa() -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def _schema(dim: int, description: dict[str, Any]) -> Any:
    pa, _ = _pa()
    fields = [pa.field("id", pa.string(), nullable=False),
              pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
              pa.field("metadata", pa.string()), pa.field("content", pa.string()),
              pa.field("source", pa.string()), pa.field("hash", pa.string())]
    return pa.schema(fields, metadata={META_KEY: json.dumps(description, ensure_ascii=False).encode()})


def export_parquet(collection: Collection, path: str | os.PathLike[str], batch_size: int = 10_000,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write every live item of ``collection`` to the Parquet file ``path`` (atomically: a temp file renamed into
    place). ``progress(done, total)`` is called after each batch. Returns a summary: path, count, dim, bytes."""
    pa, pq = _pa()
    info = collection.info()
    description = {"name": info["name"], "encoder": info["encoder"], "index": info["index"],
                   "count": info["count"], "format_version": FORMAT_VERSION, "created": info.get("created"),
                   "checksums": "page-crc32"}
    description["description_sha256"] = _description_sha256(description)
    schema = _schema(collection.dim, description)
    done = 0
    target = Path(path)
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(str(tmp), schema, compression="zstd", write_page_checksum=True) as writer:
            for rows in collection.export_rows(batch_size):
                flat = pa.array(np.ascontiguousarray(rows.vectors, np.float32).reshape(-1), pa.float32())
                table = pa.Table.from_arrays(
                    [pa.array(rows.ids, pa.string()), pa.FixedSizeListArray.from_arrays(flat, collection.dim),
                     pa.array(rows.metadata, pa.string()), pa.array(rows.contents, pa.string()),
                     pa.array(rows.sources, pa.string()), pa.array(rows.hashes, pa.string())], schema=schema)
                writer.write_table(table)
                done += len(rows)
                if progress is not None:
                    progress(done, info["count"])
    return {"path": str(target), "count": done, "dim": collection.dim, "bytes": target.stat().st_size}


def read_description(path: str | os.PathLike[str]) -> tuple[dict[str, Any] | None, int, int]:
    """(the embedlab description or None, vector width, rows) of a Parquet file, checked; CorruptFileError for a
    file that is not Parquet or lacks the ``id``/``vector`` columns, or whose vectors disagree with it."""
    pa, pq = _pa()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist; pass a Parquet file written by `embedlab export --format parquet`")
    try:
        pf = pq.ParquetFile(str(path), pre_buffer=False, page_checksum_verification=True)
    except (OSError, pa.ArrowException) as exc:
        raise CorruptFileError(f"{path} is not a readable Parquet file ({exc}); {_FIX}") from None
    schema = pf.schema_arrow
    missing = [c for c in ("id", "vector") if c not in schema.names]
    if missing:
        raise CorruptFileError(f"{path} lacks the column(s) {missing}; an embedlab Parquet file has "
                               f"{', '.join(COLUMNS)} (only id and vector are required)")
    vt = schema.field("vector").type
    if not (pa.types.is_fixed_size_list(vt) or pa.types.is_list(vt) or pa.types.is_large_list(vt)) or not (
            pa.types.is_floating(vt.value_type)):
        raise CorruptFileError(f"{path}: column 'vector' is {vt}, expected a (fixed-size) list of floats")
    if not pa.types.is_string(schema.field("id").type) and not pa.types.is_large_string(schema.field("id").type):
        raise CorruptFileError(f"{path}: column 'id' is {schema.field('id').type}, expected strings")
    for col in ("metadata", "content", "source", "hash"):
        if col in schema.names and not pa.types.is_string(schema.field(col).type):
            raise CorruptFileError(f"{path}: column {col!r} is {schema.field(col).type}, expected strings")
    description = None
    raw = (schema.metadata or {}).get(META_KEY)
    if raw is not None:
        try:
            description = json.loads(raw)
        except ValueError as exc:
            raise CorruptFileError(f"{path}: its embedlab metadata is not JSON ({exc})") from None
        if not isinstance(description, dict) or not isinstance(description.get("encoder"), dict):
            raise CorruptFileError(f"{path}: its embedlab metadata lacks the encoder description")
        want_sha = description.get("description_sha256")
        if want_sha is not None and want_sha != _description_sha256(description):
            raise CorruptFileError(f"{path}: its embedlab metadata does not match its checksum (description_sha256); "
                                   f"the file is damaged: {_FIX}")
    if pa.types.is_fixed_size_list(vt):
        width = vt.list_size
    else:
        try:
            first = next(pf.iter_batches(batch_size=1, columns=["vector"]), None)
        except (OSError, pa.ArrowException) as exc:
            raise CorruptFileError(f"{path}: the first vector cannot be read ({exc}); {_FIX}") from None
        width = len(first.column(0)[0].as_py()) if first is not None and first.num_rows else 0
    want = description["encoder"].get("dim") if description else None
    if want is not None and want != width:
        raise CorruptFileError(f"{path}: its vectors have {width} values, but its embedlab metadata says the "
                               f"encoder makes {want}-d vectors; the file is damaged or was edited")
    return description, width, pf.metadata.num_rows


def import_parquet(path: str | os.PathLike[str], name: str, *, backend: str | None = None, root: Any = None,
                   metric: str | None = None, index: str | None = None, batch_size: int = 10_000,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Create collection ``name`` from a Parquet file (see the module docstring) on ``backend``. Streams the file
    ``batch_size`` rows at a time; on any error the new collection is dropped again. Returns a summary."""
    pa, pq = _pa()
    description, width, total = read_description(path)
    if width <= 0:
        raise CorruptFileError(f"{path} holds no vectors to import")
    enc = dict(description["encoder"]) if description else {"name": None, "dim": width, "fingerprint": None}
    idx = description.get("index", {}) if description else {}
    kind = index or idx.get("kind", "exact")
    params = idx.get("params", {}) if kind == idx.get("kind") else {}
    prepared = description is not None and metric in (None, enc.get("metric"))
    col = Collection.create(name, enc, metric=metric, index=kind, index_params=params, backend=backend, root=root)
    done = 0
    try:
        with col.bulk():
            done = _load(col, path, width, prepared, batch_size, progress, total)
    except BaseException:
        col.close()
        Collection.drop(name, root=root, backend=backend)
        raise
    col.close()
    return {"collection": name, "count": done, "dim": width, "backend": col.backend}


def _load(col: Collection, path: Any, width: int, prepared: bool, batch_size: int,
          progress: Callable[[int, int], None] | None, total: int) -> int:
    """Stream the file into ``col`` batch by batch (one transaction each); how many rows were written."""
    pa, pq = _pa()
    done = 0
    pf = pq.ParquetFile(str(path), pre_buffer=False, page_checksum_verification=True)
    cols = [c for c in COLUMNS if c in pf.schema_arrow.names]
    batches = pf.iter_batches(batch_size=batch_size, columns=cols)
    while True:
        try:  # pyarrow reads (and checks the page CRC32s of) the next batch here
            batch = next(batches, None)
        except (OSError, pa.ArrowException) as exc:
            raise CorruptFileError(f"{path} is damaged after row {done} of {total}: {exc}; {_FIX}") from None
        if batch is None:
            break
        data = {c: batch.column(i) for i, c in enumerate(cols)}
        n = batch.num_rows
        vec = data["vector"]
        if pa.types.is_fixed_size_list(vec.type):
            flat = vec.flatten().to_numpy(zero_copy_only=False)
            vectors = flat.astype(np.float32, copy=False).reshape(n, width)
        else:
            rows = vec.to_pylist()
            bad = next((i for i, r in enumerate(rows) if r is None or len(r) != width), None)
            if bad is not None:
                raise CorruptFileError(f"{path}: row {done + bad} has a vector of "
                                       f"{0 if rows[bad] is None else len(rows[bad])} values, expected {width}")
            vectors = np.asarray(rows, np.float32)
        if vec.null_count:
            raise CorruptFileError(f"{path}: {vec.null_count} row(s) near row {done} have no vector")
        ids = data["id"].to_pylist()
        metas = [_metadata(m, path, done + i) for i, m in enumerate(data["metadata"].to_pylist())] \
            if "metadata" in data else None
        col.add(ids, vectors=vectors, metadata=metas,
                contents=data["content"].to_pylist() if "content" in data else None,
                sources=data["source"].to_pylist() if "source" in data else None,
                hashes=data["hash"].to_pylist() if "hash" in data else None, prepared=prepared)
        done += n
        if progress is not None:
            progress(done, total)
    return done


def _metadata(text: str | None, path: Any, row: int) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        m = json.loads(text)
    except ValueError as exc:
        raise CorruptFileError(f"{path}: row {row}'s metadata is not JSON ({exc})") from None
    if not isinstance(m, dict):
        raise CorruptFileError(f"{path}: row {row}'s metadata is {type(m).__name__}, expected a JSON object")
    return m
