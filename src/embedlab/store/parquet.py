"""Portable collections: export to Apache Parquet and import from it, on any backend (pyarrow).

    >>> export_parquet(Collection.open("docs"), "docs.parquet")
    >>> import_parquet("docs.parquet", "docs", backend="postgresql://me@db/search")

The file has one row per item — ``id`` (string), ``vector`` (fixed-size list of float32: the stored vector, bit
for bit), ``metadata`` (JSON text), ``content``, ``source``, ``hash`` (strings, null where absent) — in write
order (the batches of ``Collection.to_arrow``, built by ``store/frames.py``), and the collection's description
(``name``, ``encoder``, ``index``, ``count``, ``format_version``) as JSON under the key ``embedlab`` of the
file's metadata. Export reads one snapshot; import streams the file in
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
import shlex
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, EmbedlabError, IncompleteCollectionWarning, InputError
from ..metrics import normalize
from ..persist import atomic_path
from . import frames, loads
from .collection import Collection
from .manifest import FORMAT_VERSION

META_KEY = b"embedlab"
COLUMNS = frames.COLUMNS
_FIX = "export the collection again (embedlab export NAME --format parquet)"


def _description_sha256(description: dict[str, Any]) -> str:
    """SHA-256 of the description's canonical JSON, the checksum field itself left out."""
    body = {k: v for k, v in description.items() if k != "description_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _pa() -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def export_parquet(collection: Collection, path: str | os.PathLike[str], batch_size: int = 10_000,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Write every live item of ``collection`` to the Parquet file ``path`` (atomically: a temp file renamed into
    place).

    Parameters
    ----------
    collection : Collection
        The collection; one read snapshot of it is written.
    path : str or path
        The file to write (replaced if it exists); its folder must exist.
    batch_size : int
        Rows per record batch.
    progress : callable or None
        ``progress(done, total)``, called after each batch.

    Returns
    -------
    dict
        ``path``, ``count`` (rows written), ``dim`` and ``bytes`` (the file's size).

    Raises
    ------
    InputError
        Before anything is read, when ``path`` is a folder or its folder does not exist.
    StorageFullError, ReadOnlyStorageError
        When the file cannot be written (nothing is left behind).
    """
    _, pq = _pa()
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target} is a folder; name the Parquet file to write, e.g. {target / 'export.parquet'}")
    if not target.parent.is_dir():
        what = "is a file" if target.parent.exists() else "does not exist"
        raise InputError(f"cannot write {target}: the folder {target.parent} {what}; create the folder or choose "
                         "another path")
    info = collection.info()
    description = {"name": info["name"], "encoder": info["encoder"], "index": info["index"],
                   "count": info["count"], "format_version": FORMAT_VERSION, "created": info.get("created"),
                   "checksums": "page-crc32"}
    description["description_sha256"] = _description_sha256(description)
    schema = frames.arrow_schema(collection.dim, {META_KEY: json.dumps(description, ensure_ascii=False).encode()})
    done = 0
    with atomic_path(target) as tmp:
        with pq.ParquetWriter(str(tmp), schema, compression="zstd", write_page_checksum=True) as writer:
            for rows in collection.export_rows(batch_size):  # the columns of Collection.to_arrow
                writer.write_batch(frames.record_batch(rows, schema))
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
                   progress: Callable[[int, int], None] | None = None, resume: bool = False) -> dict[str, Any]:
    """Create collection ``name`` from a Parquet file (see the module docstring) on ``backend``.

    Streams the file ``batch_size`` rows at a time, one commit each. The collection is created marked incomplete
    (in the transaction that creates it) and completed in one commit at the end (PostgreSQL builds its HNSW index
    there), so an import that is killed or cut off is never listed as complete: ``list`` says ``incomplete``,
    ``check`` fails it, and ``resume=True`` finishes it. On an error the new collection is dropped again (when
    the backend can still be reached; a resumed import keeps what it has).

    Parameters
    ----------
    path : str or path
        The Parquet file.
    name : str
        The new collection's name.
    backend, root : optional
        As for ``Collection.create``.
    metric : str or None
        For a file without embedlab metadata (default cosine).
    index : str or None
        ``"exact"`` or ``"hnsw"`` (default: the exported one).
    batch_size : int
        Rows read and written per commit.
    progress : callable or None
        ``progress(done, total)`` after each batch.
    resume : bool
        Finish an interrupted import of this file into ``name``: ids already stored are skipped, after checking
        that they hold what the file holds; without an interrupted import of that name, a plain import.

    Returns
    -------
    dict
        ``{"collection", "count", "dim", "backend"}``: rows in the file, vector width and backend kind; a resumed
        import adds ``"resumed"``: how many rows it found already stored.

    Raises
    ------
    InputError
        When ``name`` exists (an interrupted import of it names the commands that resume it or remove it), or
        ``resume`` meets a collection that is complete, is being imported by another process, was loaded from
        another file, or holds an id with other contents than the file.
    CorruptFileError
        For a damaged file, or one that is not an embedlab (or id + vector) Parquet file.
    """
    pa, pq = _pa()
    description, width, total = read_description(path)
    if width <= 0:
        raise CorruptFileError(f"{path} holds no vectors to import")
    enc = dict(description["encoder"]) if description else {"name": None, "dim": width, "fingerprint": None}
    idx = description.get("index", {}) if description else {}
    kind = index or idx.get("kind", "exact")
    params = idx.get("params", {}) if kind == idx.get("kind") else {}
    prepared = description is not None and metric in (None, enc.get("metric"))
    fingerprint = {"rows": total, "description_sha256": _description_sha256(description) if description else None}
    if name in Collection.names(root=root, backend=backend):
        col, mark = _existing(path, name, backend, root, resume, fingerprint, width)
        try:
            with col.bulk(resume=mark["resume"]):  # the interrupted import, resumed: completed when this ends
                found = _load(col, path, width, prepared, batch_size, progress, total, verify=True)
        finally:
            col.close()
        return {"collection": name, "count": total, "dim": width, "backend": col.backend, "resumed": found}
    file = str(Path(path).resolve())
    command = loads.cli_command(f"import {shlex.quote(file)} --name {name} --resume", backend, root)
    mark = {"resume": command, "what": f"an import of {file} ({total:,} rows)", "file": file, **fingerprint}
    col = Collection.create(name, enc, metric=metric, index=kind, index_params=params, backend=backend, root=root,
                            loading=mark)
    try:
        with col.bulk(resume=command):  # adopts the mark of the creating commit; completes it when this ends
            _load(col, path, width, prepared, batch_size, progress, total)
    except BaseException:
        col.close()
        try:
            Collection.drop(name, root=root, backend=backend)
        except EmbedlabError:  # the backend cannot be reached (a server stop): it stays, listed as incomplete
            pass
        raise
    col.close()
    return {"collection": name, "count": total, "dim": width, "backend": col.backend}


def _existing(path: Any, name: str, backend: str | None, root: Any, resume: bool, fingerprint: dict[str, Any],
              width: int) -> tuple[Collection, dict[str, Any]]:
    """The interrupted import of ``path`` into ``name``, opened to resume it, with its mark; InputError (saying
    what to do) for anything else."""
    with warnings.catch_warnings():  # its incomplete state is this function's business
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        col = Collection.open(name, backend=backend, root=root)
    try:
        mark = col.incomplete
        remove = loads.cli_command(f"drop {name} --yes", backend, root)
        if mark is None:
            what = ("is complete (it is not an interrupted import): nothing to resume" if resume else
                    "already exists")
            raise InputError(f"collection {name!r} {what}; import into a new name (--name), or drop it first: "
                             f"{remove}")
        if mark.get("running"):
            raise InputError(loads.describe(name, mark, col.count()) + "; wait for it to finish")
        if not resume:
            raise InputError(loads.describe(name, mark, col.count()))
        same = {k: mark.get(k) for k in fingerprint} == fingerprint and "file" in mark and col.dim == width
        if not same:
            raise InputError(f"collection {name!r} is an interrupted load of {mark.get('what') or 'something else'}, "
                             f"not of {path} ({fingerprint['rows']:,} rows); resume it with {mark.get('resume')}, or "
                             f"remove it: {remove}")
    except BaseException:
        col.close()
        raise
    return col, mark


def _load(col: Collection, path: Any, width: int, prepared: bool, batch_size: int,
          progress: Callable[[int, int], None] | None, total: int, verify: bool = False) -> int:
    """Stream the file into ``col`` batch by batch (one transaction each). ``verify``: ids already stored are
    skipped after checking that they hold what the file holds (a resumed import). How many were already stored."""
    pa, pq = _pa()
    done = found = 0
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
        contents = data["content"].to_pylist() if "content" in data else None
        sources = data["source"].to_pylist() if "source" in data else None
        hashes = data["hash"].to_pylist() if "hash" in data else None
        keep = list(range(n))
        if verify:
            stored = {it.id: it for it in col.get(ids, missing="skip")} if ids else {}
            if stored:
                _check_stored(col, path, done, ids, vectors, metas, contents, sources, stored, prepared)
                keep = [i for i, id_ in enumerate(ids) if id_ not in stored]
                found += n - len(keep)
        if len(keep) == n:
            col.add(ids, vectors=vectors, metadata=metas, contents=contents, sources=sources, hashes=hashes,
                    prepared=prepared)
        elif keep:
            col.add([ids[i] for i in keep], vectors=vectors[keep], metadata=_pick(metas, keep),
                    contents=_pick(contents, keep), sources=_pick(sources, keep), hashes=_pick(hashes, keep),
                    prepared=prepared)
        done += n
        if progress is not None:
            progress(done, total)
    return found


def _pick(values: list[Any] | None, keep: list[int]) -> list[Any] | None:
    return None if values is None else [values[i] for i in keep]


def _check_stored(col: Collection, path: Any, start: int, ids: list[str], vectors: np.ndarray,
                  metas: list[dict[str, Any]] | None, contents: list[str | None] | None,
                  sources: list[str | None] | None, stored: dict[str, Any], prepared: bool) -> None:
    """InputError when an id a resumed import finds stored holds something other than the file's row."""
    want = vectors if prepared or col.metric != "cosine" else normalize(vectors)
    for i, id_ in enumerate(ids):
        item = stored.get(id_)
        if item is None:
            continue
        differs = [name for name, same in (
            ("vector", item.vector.tobytes() == np.ascontiguousarray(want[i], np.float32).tobytes()),
            ("metadata", item.metadata == (metas[i] if metas is not None else {})),
            ("content", item.content == (contents[i] if contents is not None else None)),
            ("source", item.source == (sources[i] if sources is not None else None))) if not same]
        if differs:
            remove = loads.cli_command(f"drop {col.name} --yes", col.location.split("#")[0]
                                       if col.backend != "local" else "local",
                                       col.path.parent if col.path is not None else None)
            raise InputError(f"collection {col.name!r} holds id {id_!r} with another {' and '.join(differs)} than "
                             f"row {start + i} of {path}: it was changed after the import stopped, or was imported "
                             f"from another file; the resume stopped there. Remove it ({remove}) and import again")


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
