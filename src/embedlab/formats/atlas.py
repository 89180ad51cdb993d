"""Apple's Embedding Atlas table: one Parquet file that ``embedding-atlas FILE --text text --x projection_x
--y projection_y --neighbors neighbors`` opens without computing anything.

Columns: ``id`` (text), ``text`` (the item's content, else its source, else its id), ``source``, each top-level
metadata field as its own column (one type per column: booleans, integers, numbers or text; a field holding mixed
or nested values is stored as JSON text; a field named like one of ours gets a ``metadata_`` prefix),
``projection_x`` / ``projection_y`` (float32, a 2-D layout) and, optionally, ``neighbors``: for each row the
struct ``{"ids": [row, ...], "distances": [d, ...]}`` that Embedding Atlas's ``--neighbors`` reads, ids being
zero-based row numbers of this file and distances lower-is-closer. The file's key-value metadata holds
``embedlab.atlas``: a versioned JSON description (what it was made from, the layout, the metric).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, InputError
from ..persist import atomic_path, versioned

__all__ = ["COLUMNS", "FORMAT", "VERSION", "command", "read", "write"]

FORMAT = "embedlab-atlas"
VERSION = 1
KEY = b"embedlab.atlas"
#: Our fixed columns: the role Embedding Atlas gives each (its CLI flag) -> the column's name.
COLUMNS = {"id": "id", "text": "text", "source": "source", "x": "projection_x", "y": "projection_y",
           "neighbors": "neighbors"}
_FIX = "write it again with `embedlab export NAME --format atlas -o FILE.parquet`"


def _arrow() -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def _metadata_column(pa: Any, values: list[Any]) -> Any:
    """One metadata field as an Arrow array of one type (JSON text for mixed or nested values)."""
    present = [v for v in values if v is not None]
    if all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.array(values, pa.int64())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if all(isinstance(v, str) for v in present):
        return pa.array(values, pa.string())
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string())


def write(path: str | os.PathLike[str], ids: list[str], texts: list[str], coords: np.ndarray,
          metadata: list[dict[str, Any]] | None = None, sources: list[str | None] | None = None,
          neighbors: np.ndarray | None = None, distances: np.ndarray | None = None,
          description: dict[str, Any] | None = None) -> Path:
    """Write an Embedding Atlas table (atomically: a temp file renamed into place).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.parquet`` file to write (its folder must exist).
    ids : list of str
        Row ids, ``n`` of them.
    texts : list of str
        Each row's text (the ``--text`` column), ``n`` of them.
    coords : numpy.ndarray
        ``(n, 2)`` layout coordinates, stored as float32 ``projection_x`` and ``projection_y``.
    metadata : list of dict or None
        Each row's metadata (``n`` dicts); each top-level field becomes a column.
    sources : list of str or None
        Each row's source (file name, URL), ``None`` where unknown.
    neighbors : numpy.ndarray or None
        ``(n, k)`` integer row numbers of each row's nearest rows, best first; ``-1`` pads a row with fewer.
    distances : numpy.ndarray or None
        ``(n, k)`` float distances (lower is closer) beside ``neighbors``; required with it.
    description : dict or None
        What the file was made from (stored, with the format's name and version, in the key-value metadata).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        When the lengths or shapes disagree, a coordinate is not finite, a neighbour row is out of range, or
        ``neighbors`` comes without ``distances``.
    """
    n = len(ids)
    coords = np.asarray(coords, dtype=np.float32)
    if len(texts) != n or coords.shape != (n, 2):
        raise InputError(f"an Atlas table needs one text and one (x, y) per id: {n} ids, {len(texts)} texts, "
                         f"coordinates of shape {coords.shape}")
    if not np.isfinite(coords).all():
        raise InputError("the layout holds NaN or infinite coordinates; lay the collection out again")
    metadata = metadata if metadata is not None else [{} for _ in range(n)]
    sources = sources if sources is not None else [None] * n
    if len(metadata) != n or len(sources) != n:
        raise InputError(f"{n} ids but {len(metadata)} metadata rows and {len(sources)} sources")
    pa, pq = _arrow()
    columns: dict[str, Any] = {COLUMNS["id"]: pa.array(ids, pa.string()), COLUMNS["text"]: pa.array(texts, pa.string()),
                               COLUMNS["source"]: pa.array(sources, pa.string())}
    fields: dict[str, None] = {}
    for m in metadata:
        fields.update(dict.fromkeys(m))
    taken = set(COLUMNS.values())
    for field in fields:
        name = f"metadata_{field}" if field in taken else field
        columns[name] = _metadata_column(pa, [m.get(field) for m in metadata])
    columns[COLUMNS["x"]] = pa.array(coords[:, 0], pa.float32())
    columns[COLUMNS["y"]] = pa.array(coords[:, 1], pa.float32())
    if neighbors is not None:
        columns[COLUMNS["neighbors"]] = _neighbors_column(pa, neighbors, distances, n)
    elif distances is not None:
        raise InputError("distances were given without neighbors")
    table = pa.table(columns)
    doc = versioned(FORMAT, VERSION, count=n, columns=dict(COLUMNS, neighbors=None if neighbors is None
                                                             else COLUMNS["neighbors"]), **(description or {}))
    table = table.replace_schema_metadata({KEY: json.dumps(doc, ensure_ascii=False).encode("utf-8")})
    target = Path(path)
    with atomic_path(target) as tmp:
        pq.write_table(table, str(tmp), compression="zstd")
    return target


def _neighbors_column(pa: Any, neighbors: np.ndarray, distances: np.ndarray | None, n: int) -> Any:
    idx = np.asarray(neighbors)
    if distances is None:
        raise InputError("neighbors need their distances (lower is closer), one per neighbour")
    dist = np.asarray(distances, dtype=np.float32)
    if idx.ndim != 2 or len(idx) != n or dist.shape != idx.shape:
        raise InputError(f"neighbors must be (n, k) = ({n}, k) row numbers with distances of the same shape; got "
                         f"{idx.shape} and {dist.shape}")
    if not np.issubdtype(idx.dtype, np.integer) or ((idx < -1) | (idx >= n)).any():
        raise InputError(f"neighbour rows must be integers from 0 to {n - 1} (-1 pads a short row)")
    keep = idx >= 0
    rows = [{"ids": idx[i][keep[i]].astype(np.int64).tolist(), "distances": dist[i][keep[i]].tolist()}
            for i in range(n)]
    kind = pa.struct([("ids", pa.list_(pa.int64())), ("distances", pa.list_(pa.float32()))])
    return pa.array(rows, kind)


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Any]:
    """Read an Atlas table written by ``write``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.parquet`` file.

    Returns
    -------
    tuple of (dict, pyarrow.Table)
        The description (``format``, ``format_version``, ``count``, ``columns`` and what ``write`` was given) and the table.

    Raises
    ------
    CorruptFileError
        When the file is not Parquet, lacks the description, or was written by a newer version.
    """
    pa, pq = _arrow()
    try:
        table = pq.read_table(str(path))
    except (OSError, pa.ArrowInvalid) as exc:
        raise CorruptFileError(f"{path} is not a readable Parquet file ({exc}); {_FIX}") from None
    raw = (table.schema.metadata or {}).get(KEY)
    try:
        doc = json.loads(raw.decode("utf-8")) if raw is not None else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptFileError(f"{path} holds no embedlab Atlas description; {_FIX}")
    if not isinstance(doc.get("format_version"), int) or doc["format_version"] > VERSION:
        raise CorruptFileError(f"{path} was written by a newer embedlab (Atlas table version "
                               f"{doc.get('format_version')}, "
                               f"this one reads {VERSION}); upgrade embedlab")
    return doc, table


def command(path: str | os.PathLike[str], with_neighbors: bool) -> list[str]:
    """The ``embedding-atlas`` command line that opens ``path`` with our columns.

    Parameters
    ----------
    path : str or os.PathLike
        The table.
    with_neighbors : bool
        Whether it holds the ``neighbors`` column.

    Returns
    -------
    list of str
        ``["embedding-atlas", PATH, "--text", "text", "--x", "projection_x", "--y", "projection_y", ...]``.
    """
    out = ["embedding-atlas", str(path), "--text", COLUMNS["text"], "--x", COLUMNS["x"], "--y", COLUMNS["y"]]
    return out + (["--neighbors", COLUMNS["neighbors"]] if with_neighbors else [])
