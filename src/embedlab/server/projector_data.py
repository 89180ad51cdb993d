"""The projector's view of one source: every row's id, vector, label and metadata, read once per data generation,
and what the page asks of it by row number: a metadata field as a column, rows matching a filter or a regex, the
nearest rows in the original space, and a selection exported as CSV, JSONL or Parquet.

Rows are numbered in the source's own order (a collection's write order, a vectors set's key order); the page
holds only coordinates (float32) and asks for the rest by row number.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..analysis.clusters import cluster_items
from ..errors import InputError, UnknownKeyError
from ..store import Collection
from ..vectors import Vectors

LABEL_CHARS = 200
MAX_CATEGORIES = 20  # colours in a legend; rarer values share "(other)"
EXPORT_FORMATS = ("csv", "jsonl", "parquet")


@dataclass
class SourceTable:
    """One source as the projector sees it.

    Attributes
    ----------
    kind : str
        ``"collection"`` or ``"vectors"``.
    name : str
        The collection's or vectors set's name.
    keys : list of str
        Row ids, in the source's order.
    matrix : numpy.ndarray
        ``(n, dim)`` float32 vectors (unit rows for a cosine collection).
    labels : list of str
        The text shown for each row (source, content or id).
    metadata : list of dict
        Each row's metadata (empty dicts for a vectors set).
    metric : str
        The source's metric (``cosine``, ``dot`` or ``l2``).
    """

    kind: str
    name: str
    keys: list[str]
    matrix: np.ndarray
    labels: list[str]
    metadata: list[dict[str, Any]]
    metric: str

    @cached_property
    def rows(self) -> dict[str, int]:
        """Id -> row number (built on first use)."""
        return {k: i for i, k in enumerate(self.keys)}

    @cached_property
    def _fields(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.metadata:
            for key, value in m.items():
                if value is None or isinstance(value, (str, int, float, bool)):
                    seen.setdefault(key)
        return list(seen)

    def fields(self) -> list[str]:
        """Metadata fields holding scalars somewhere (the page colours and filters by these), first seen first."""
        return list(self._fields)

    def point(self, row: int) -> dict[str, Any]:
        """Row ``row``'s id, label and metadata (the hover tooltip); UnknownKeyError past the end."""
        if not 0 <= row < len(self.keys):
            raise UnknownKeyError(f"no row {row} in {self.name!r}: it has {len(self.keys)} rows (0 to "
                                  f"{len(self.keys) - 1})")
        return {"row": row, "id": self.keys[row], "label": self.labels[row], "metadata": self.metadata[row]}


def from_collection(col: Collection) -> SourceTable:
    """Read every row of a collection (one snapshot).

    Parameters
    ----------
    col : Collection
        An open collection.

    Returns
    -------
    SourceTable
        Its ids, vectors, labels (content, else source, else id: a passage's text, an image's path) and metadata, in write order.
    """
    keys: list[str] = []
    mats: list[np.ndarray] = []
    labels: list[str] = []
    metas: list[dict[str, Any]] = []
    for rows in col.export_rows():
        keys.extend(rows.ids)
        mats.append(np.asarray(rows.vectors, np.float32))
        for i, key in enumerate(rows.ids):
            text = rows.contents[i] or rows.sources[i] or key
            labels.append(text[:LABEL_CHARS])
            metas.append(json.loads(rows.metadata[i]) if rows.metadata[i] else {})
    matrix = np.concatenate(mats) if mats else np.zeros((0, col.dim), np.float32)
    return SourceTable("collection", col.name, keys, matrix, labels, metas, col.metric)


def from_vectors(name: str, vectors: Vectors, limit: int) -> SourceTable:
    """The first ``limit`` keys of a vectors set (keys are frequency-ordered), labelled by themselves.

    Parameters
    ----------
    name : str
        The vectors set's name.
    vectors : Vectors
        The set.
    limit : int
        How many rows at most (>= 1).

    Returns
    -------
    SourceTable
        Cosine metric, no metadata.
    """
    n = min(int(limit), len(vectors))
    keys = list(vectors.keys[:n])
    empty: dict[str, Any] = {}  # one shared (never changed) empty dict: a million rows need no million dicts
    return SourceTable("vectors", name, keys, np.asarray(vectors.matrix[:n], np.float32), keys, [empty] * n,
                       "cosine")


def column(table: SourceTable, name: str) -> dict[str, Any]:
    """One metadata field for colouring: categories with codes, or numbers.

    Parameters
    ----------
    table : SourceTable
        The source.
    name : str
        A field from ``table.fields()``.

    Returns
    -------
    dict
        ``{"field", "type": "number", "values": [float | None] * n, "min", "max"}`` when every present value is a
        number (booleans are categories), else ``{"field", "type": "category", "categories": [str], "codes":
        [int] * n, "counts": [int], "mixed": bool}``: the ``MAX_CATEGORIES - 1`` commonest values (as text) plus
        ``"(other)"`` and ``"(missing)"`` when needed; ``mixed`` is true when the field holds values of more than
        one type (numbers and texts are then all shown as text).

    Raises
    ------
    UnknownKeyError
        When no row has a scalar value under ``name`` (the message lists the fields).
    """
    if name not in table.fields():
        raise UnknownKeyError(f"no metadata field {name!r} in {table.name!r}; fields: "
                              f"{', '.join(table.fields()) or 'none'}")
    raw = [m.get(name) for m in table.metadata]
    raw = [v if v is None or isinstance(v, (str, int, float, bool)) else None for v in raw]
    kinds = {type(v).__name__ for v in raw if v is not None}
    kinds = {"number" if k in ("int", "float") else k for k in kinds}
    if kinds == {"number"}:
        nums = [float(v) if v is not None else None for v in raw]
        present = [v for v in nums if v is not None and np.isfinite(v)]
        return {"field": name, "type": "number", "values": [v if v is not None and np.isfinite(v) else None
                                                            for v in nums],
                "min": min(present) if present else None, "max": max(present) if present else None}
    texts = ["(missing)" if v is None else json.dumps(v) if isinstance(v, bool) else str(v) for v in raw]
    counts: dict[str, int] = {}
    for t in texts:
        counts[t] = counts.get(t, 0) + 1
    ranked = sorted((t for t in counts if t != "(missing)"), key=lambda t: (-counts[t], t))
    keep = ranked[: MAX_CATEGORIES - 1] if len(ranked) > MAX_CATEGORIES else ranked
    cats = list(keep)
    if len(ranked) > len(keep):
        cats.append("(other)")
    if "(missing)" in counts:
        cats.append("(missing)")
    code = {c: i for i, c in enumerate(cats)}
    other = code.get("(other)", -1)
    codes = [code.get(t, other) for t in texts]
    sizes = [0] * len(cats)
    for c in codes:
        sizes[c] += 1
    return {"field": name, "type": "category", "categories": cats, "codes": codes, "counts": sizes,
            "mixed": len(kinds) > 1}


def cluster_column(table: SourceTable, algorithm: str, n_clusters: int | None, stop_words: list[str],
                   seed: int = 0) -> dict[str, Any]:
    """Cluster the rows on their original vectors and name each cluster by c-TF-IDF over the rows' texts.

    Parameters
    ----------
    table : SourceTable
        The source (its labels are the texts: Korean ones are split into morphemes).
    algorithm : str
        ``"kmeans"`` or ``"hdbscan"``.
    n_clusters : int or None
        k-means' number of clusters (capped at the row count; None: 8). HDBSCAN takes none.
    stop_words : list of str
        Words never used in names, on top of the built-in English and Korean ones.
    seed : int
        Seed of k-means.

    Returns
    -------
    dict
        A category column as ``column`` returns it (``field`` ``"cluster"``, categories = the clusters' names, plus
        ``"(noise)"`` for rows HDBSCAN left out), with ``algorithm`` and each cluster's ``terms``.

    Raises
    ------
    InputError
        For an unknown algorithm, a bad number of clusters or stop word (see ``cluster_items``).
    """
    if algorithm == "kmeans":
        k = min(8 if n_clusters is None else n_clusters, max(1, len(table.keys)))
        found = cluster_items(table.matrix, table.labels, "kmeans", n_clusters=k, stop_words=stop_words, seed=seed)
    else:
        if n_clusters is not None:
            raise InputError("HDBSCAN finds the number of clusters itself; leave n_clusters out")
        found = cluster_items(table.matrix, table.labels, algorithm, stop_words=stop_words, seed=seed)
    labels = found.labels.astype(np.int64)
    names = [f"{i + 1}. {name or '(no words)'}" for i, name in enumerate(found.names)]
    noise = bool((labels < 0).any())
    cats = names + (["(noise)"] if noise else [])
    codes = np.where(labels < 0, len(names), labels)
    counts = [int(x) for x in np.bincount(codes, minlength=len(cats))]
    return {"field": "cluster", "type": "category", "categories": cats, "codes": codes.tolist(), "counts": counts,
            "mixed": False, "algorithm": algorithm, "terms": [[[t, float(w)] for t, w in ts] for ts in found.terms]}


def regex_rows(table: SourceTable, pattern: str) -> list[int]:
    """Rows whose id or label matches a regular expression (Python ``re.search``, case-insensitive).

    Parameters
    ----------
    table : SourceTable
        The source.
    pattern : str
        The expression.

    Returns
    -------
    list of int
        Matching rows, ascending.

    Raises
    ------
    InputError
        For an expression that does not compile (the message quotes ``re``'s reason).
    """
    try:
        rx = re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InputError(f"the regular expression {pattern!r} does not compile: {exc}") from None
    return [i for i, (k, t) in enumerate(zip(table.keys, table.labels, strict=True)) if rx.search(k) or rx.search(t)]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value if isinstance(value, (str, int, float)) else json.dumps(value, ensure_ascii=False)


def export(table: SourceTable, rows: list[int], coords: np.ndarray, fmt: str,
           texts: list[str | None] | None = None) -> bytes:
    """The rows ``rows`` with id, label, (text,) x, y (z for a 3-D layout) and metadata, as a file.

    Parameters
    ----------
    table : SourceTable
        The source.
    rows : list of int
        Row numbers (each in ``0..n-1``).
    coords : numpy.ndarray
        ``(n, 2)`` or ``(n, 3)`` float32 layout coordinates of every row (a third column is written as ``z``).
    fmt : str
        ``"csv"`` (metadata fields as columns, values as JSON text when not scalars), ``"jsonl"`` (one object per
        line, metadata nested) or ``"parquet"`` (metadata as a JSON text column).
    texts : list of (str or None) or None
        One text per row of ``rows`` (a collection's ``Collection.texts``), written as a ``text`` column after
        ``label`` (empty / null where None); None writes no such column (a vectors set).

    Returns
    -------
    bytes
        The file's contents.

    Raises
    ------
    InputError
        For an unknown format, a row out of range, or ``texts`` not one per row.
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    bad = [r for r in rows if not 0 <= r < len(table.keys)]
    if bad:
        raise InputError(f"rows out of range 0..{len(table.keys) - 1}: {bad[:5]}")
    if texts is not None and len(texts) != len(rows):
        raise InputError(f"{len(texts)} texts for {len(rows)} rows; give one text (or None) per row")
    text_of = {} if texts is None else {"text": texts}
    axes = "xyz"[: coords.shape[1]]
    recs = [{"id": table.keys[r], "label": table.labels[r], **{k: v[j] for k, v in text_of.items()},
             **{a: float(coords[r, i]) for i, a in enumerate(axes)}, "metadata": table.metadata[r]}
            for j, r in enumerate(rows)]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode("utf-8")
    if fmt == "csv":
        fields = table.fields()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["id", "label", *text_of, *axes, *fields])
        for j, r in enumerate(rows):
            meta = table.metadata[r]
            w.writerow([table.keys[r], table.labels[r], *(_cell(v[j]) for v in text_of.values()),
                        *(float(v) for v in coords[r]), *(_cell(meta.get(f)) for f in fields)])
        return buf.getvalue().encode("utf-8")
    import pyarrow as pa
    import pyarrow.parquet as pq

    tbl = pa.table({"id": [r["id"] for r in recs], "label": [r["label"] for r in recs],
                    **{k: pa.array(v, pa.string()) for k, v in text_of.items()},
                    **{a: pa.array([r[a] for r in recs], pa.float32()) for a in axes},
                    "metadata": [json.dumps(r["metadata"], ensure_ascii=False) for r in recs]})
    out = io.BytesIO()
    pq.write_table(tbl, out)
    return out.getvalue()
