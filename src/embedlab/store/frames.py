"""Collections as Arrow record batches and pandas DataFrames, and DataFrames loaded into new collections.

    >>> reader = docs.to_arrow(batch_size=10_000)           # a pyarrow.RecordBatchReader, streamed
    >>> df = docs.to_pandas()                               # id, vector, content, source, one column per key
    >>> Collection.from_pandas(df, "copy", text="content", vector="vector", metadata=["lang"])

The ``Collection`` methods (``to_arrow``, ``to_pandas``, ``from_pandas``) document the layouts; this module holds
their work. Arrow batches have the columns of the Parquet export (``store/parquet.py`` writes these very batches):
``id`` (string), ``vector`` (fixed-size list of float32, bit for bit as stored), ``metadata`` (JSON text: any
metadata fits, whatever keys and types the items carry), ``content``, ``source``, ``hash`` (strings, null where
absent). Both exports read ``Collection.export_rows``: one snapshot, in write order.

pandas is an optional dependency (the ``eval`` extra): it is imported inside the functions that need it, and its
absence is a ``MissingDependencyError`` naming the extra. pyarrow is in the core.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._progress import progress_bar
from ..errors import DimensionError, EmbedlabError, InputError, NonFiniteError, require
from ..metrics import normalize, norms
from . import _inputs
from .binding import resolve_encoder
from .records import Rows

if TYPE_CHECKING:  # annotations only: collection.py imports this module
    from ..encoders import Encoder
    from .collection import Collection

COLUMNS = ("id", "vector", "metadata", "content", "source", "hash")
#: to_pandas's own columns; a metadata key with one of these names gets the column ``metadata.<key>``
FRAME_COLUMNS = ("id", "vector", "content", "source")
#: a cosine collection stores rows whose length is within this of 1 as given (bit for bit), normalises the rest
UNIT_TOLERANCE = 1e-5
#: to_pandas reads the collection this many rows at a time
READ_ROWS = 10_000
#: from_pandas writes at most this many rows per commit (and at least 512, about a twentieth of the frame)
MAX_WRITE_ROWS = 10_000
#: what a from_pandas load that stopped says about resuming it
RESUME_FRAME = "remove it and call Collection.from_pandas again (a DataFrame load starts over)"


def _pa() -> Any:
    import pyarrow as pa

    return pa


def _pandas(what: str) -> Any:
    # pandas is an optional heavy dependency (the [eval] extra): imported here, never at module level
    return require("pandas", "eval", what)


# ---------------------------------------------------------------------------------------------------- Arrow
def arrow_schema(dim: int, metadata: dict[bytes, bytes] | None = None) -> Any:
    """The Arrow schema of a collection's rows: ``COLUMNS``, vectors as ``dim`` float32 each."""
    pa = _pa()
    fields = [pa.field("id", pa.string(), nullable=False),
              pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
              pa.field("metadata", pa.string()), pa.field("content", pa.string()),
              pa.field("source", pa.string()), pa.field("hash", pa.string())]
    return pa.schema(fields, metadata=metadata)


def record_batch(rows: Rows, schema: Any) -> Any:
    """One ``Rows`` batch as an Arrow record batch of ``schema`` (``arrow_schema``); the vectors are not copied
    when they are C-contiguous float32."""
    pa = _pa()
    dim = schema.field("vector").type.list_size
    flat = pa.array(np.ascontiguousarray(rows.vectors, np.float32).reshape(-1), pa.float32())
    return pa.RecordBatch.from_arrays(
        [pa.array(rows.ids, pa.string()), pa.FixedSizeListArray.from_arrays(flat, dim),
         pa.array(rows.metadata, pa.string()), pa.array(rows.contents, pa.string()),
         pa.array(rows.sources, pa.string()), pa.array(rows.hashes, pa.string())], schema=schema)


def to_arrow(collection: Collection, batch_size: int) -> Any:
    """``Collection.to_arrow``: a RecordBatchReader over ``export_rows`` (its own read-only handle; see there)."""
    pa = _pa()
    batch_size = _inputs.check_k(batch_size, "batch_size")
    schema = arrow_schema(collection.dim)
    rows = collection.export_rows(batch_size)
    first = next(rows, None)  # the snapshot starts now; a closed or dropped collection fails here
    return pa.RecordBatchReader.from_batches(schema, _batches(first, rows, schema))


def _batches(first: Rows | None, rest: Iterator[Rows], schema: Any) -> Iterator[Any]:
    """The reader's batches; ``export_rows``'s handle is closed when they run out (or the reader is collected)."""
    try:
        if first is not None:
            yield record_batch(first, schema)
            for rows in rest:
                yield record_batch(rows, schema)
    finally:
        getattr(rest, "close", lambda: None)()  # export_rows is a generator: its snapshot and handle end here


# ---------------------------------------------------------------------------------------------------- to pandas
def to_pandas(collection: Collection, vectors: bool, metadata: str) -> Any:
    """``Collection.to_pandas`` (see there)."""
    if metadata not in ("columns", "json"):
        raise InputError(f"metadata must be 'columns' (one column per key) or 'json' (one column of JSON "
                         f"texts), got {metadata!r}")
    pd = _pandas("Collection.to_pandas")
    ids: list[str] = []
    metas: list[str] = []
    contents: list[str | None] = []
    sources: list[str | None] = []
    blocks: list[np.ndarray] = []
    for rows in collection.export_rows(READ_ROWS):
        ids += rows.ids
        metas += rows.metadata
        contents += rows.contents
        sources += rows.sources
        if vectors:
            blocks.append(np.asarray(rows.vectors, np.float32))
    columns: dict[str, Any] = {"id": pd.Series(ids)}
    if vectors:
        block = np.concatenate(blocks) if blocks else np.empty((0, collection.dim), np.float32)
        cells = np.empty(len(block), dtype=object)
        for i, row in enumerate(block):  # each cell a (dim,) view of one block: no per-row allocation
            cells[i] = row
        columns["vector"] = pd.Series(cells, dtype=object, copy=False)
    columns["content"] = pd.Series(contents)
    columns["source"] = pd.Series(sources)
    if metadata == "json":
        columns["metadata"] = pd.Series(metas)
    else:
        columns.update(_metadata_columns(pd, metas))
    return pd.DataFrame(columns)


def _metadata_columns(pd: Any, texts: list[str]) -> dict[str, Any]:
    """One column per top-level metadata key, in order of first appearance; missing keys are missing values."""
    parsed = [{} if t == "{}" else json.loads(t) for t in texts]
    keys: dict[str, None] = {}
    for m in parsed:
        for k in m:
            keys.setdefault(k, None)
    out: dict[str, Any] = {}
    for key in keys:
        name = f"metadata.{key}" if key in FRAME_COLUMNS else key
        if name in out or name in FRAME_COLUMNS or (name != key and name in keys):
            raise InputError(f"metadata key {key!r} cannot have a column of its own (its name is taken); use "
                             f"to_pandas(metadata='json')")
        out[name] = _column(pd, [m.get(key) for m in parsed])
    return out


def _column(pd: Any, values: list[Any]) -> Any:
    """A column of JSON values: integers or booleans with gaps keep their type (pandas' nullable Int64 /
    boolean); anything else as pandas infers it (floats, strings, objects for lists, dicts and mixed types)."""
    present = [v for v in values if v is not None]
    if present and len(present) < len(values):
        if all(type(v) is int for v in present):
            return pd.array(values, dtype="Int64")
        if all(type(v) is bool for v in present):
            return pd.array(values, dtype="boolean")
    return pd.Series(values, dtype=object if not present else None)


# ---------------------------------------------------------------------------------------------------- from pandas
def from_pandas(cls: type[Collection], df: Any, name: str, *, text: str | None, id: str | None,
                metadata: str | Sequence[str] | dict[str, str] | None, vector: str | None, source: str | None,
                encoder: str | Encoder | None, metric: str | None, index: str,
                index_params: dict[str, Any] | None, backend: str | None, root: Any, batch_size: int,
                progress: bool) -> Collection:
    """``Collection.from_pandas`` (see there): everything is checked before the collection is created."""
    pd = _pandas("Collection.from_pandas")
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"from_pandas takes a pandas DataFrame, got {type(df).__name__}")
    if text is None and vector is None:
        raise InputError("pass text= (a column of texts to encode), vector= (a column of vectors), or both")
    batch_size = _inputs.check_k(batch_size, "batch_size")
    meta_cols = _metadata_spec(metadata)
    wanted = [c for c in (id, text, vector, source) if c is not None] + (
        [metadata] if isinstance(metadata, str) else list(meta_cols))
    _check_columns(df, wanted)
    n = len(df)
    ids = _ids(df, id)
    texts = None if text is None else _texts(df, text, ids, required=vector is None)
    sources = None if source is None else [_present_or_none(v) for v in df[source].tolist()]
    metas = _metadata(pd, df, ids, metadata, meta_cols)
    mat = None if vector is None else _vectors(df, vector, ids)
    enc: Encoder | None = None
    if encoder is not None or vector is None:
        enc = resolve_encoder(encoder)
        if mat is not None and mat.shape[1] != enc.dim:
            raise DimensionError(f"column {vector!r} holds {mat.shape[1]}-d vectors, but encoder {enc.name!r} makes "
                                 f"{enc.dim}-d ones; pass the encoder those vectors came from, or leave encoder= "
                                 f"out for a vectors-only collection")
    elif mat is not None and n == 0:
        raise InputError(f"the DataFrame has no rows: the vector width of column {vector!r} is unknown; pass "
                         f"encoder= to create an empty collection")
    _inputs.check_sources(sources, n)
    col = cls.create(name, enc, dim=None if enc is not None or mat is None else mat.shape[1], metric=metric,
                     index=index, index_params=index_params, backend=backend, root=root,
                     loading={"resume": RESUME_FRAME, "what": f"a DataFrame load ({n:,} rows)"})
    try:
        with col.bulk(resume=RESUME_FRAME):  # adopts the mark of the creating commit; completes it at the end
            _load(col, ids, texts, mat, metas, sources, batch_size, progress)
    except BaseException:
        col.close()
        try:
            cls.drop(name, root=root, backend=backend)
        except EmbedlabError:  # the backend cannot be reached: it stays, listed as incomplete with how to remove it
            pass
        raise
    return col


def _load(col: Collection, ids: list[str], texts: list[Any] | None, mat: np.ndarray | None,
          metas: list[dict[str, Any]] | None, sources: list[str | None] | None, batch_size: int,
          progress: bool) -> None:
    """Write the checked rows in commits of a twentieth of them (512 to ``MAX_WRITE_ROWS``), with a bar."""
    n = len(ids)
    step = min(MAX_WRITE_ROWS, max(512, -(-n // 20)))
    if mat is not None and col.metric == "cosine":  # unit rows as given (bit for bit), the others normalised
        lengths = norms(mat)
        off = (np.abs(lengths - 1.0) > UNIT_TOLERANCE) & (lengths > 0)
        if off.any():
            mat[off] = normalize(mat[off])
    # texts become items (encoded, or hashed beside given vectors) when the collection has an encoder and every
    # row has one; otherwise they are only stored as contents
    as_items = texts is not None and col.encoder is not None and all(t is not None for t in texts)
    with progress_bar(n, f"loading {col.name}", "rows", enabled=progress) as bar:
        for start in range(0, n, step):
            part = slice(start, start + step)
            col.add(ids[part], texts[part] if as_items and texts is not None else None,
                    vectors=None if mat is None else mat[part],
                    metadata=None if metas is None else metas[part],
                    sources=None if sources is None else sources[part],
                    contents=texts[part] if texts is not None and not as_items else None,
                    prepared=mat is not None, batch_size=batch_size)
            bar.update(len(ids[part]))


def _metadata_spec(metadata: Any) -> dict[str, str]:
    """Metadata columns → keys: a list names columns kept under their own names, a dict renames them; a string
    (one column holding whole metadata objects) gives none here."""
    if metadata is None or isinstance(metadata, str):
        return {}
    if isinstance(metadata, dict):
        pairs = list(metadata.items())
    elif isinstance(metadata, Iterable):
        pairs = [(c, c) for c in metadata]
    else:
        raise InputError("metadata must be a list of column names, a dict of column → key, or the name of one "
                         f"column of dicts / JSON texts; got {type(metadata).__name__}")
    for column, key in pairs:
        if not isinstance(column, str) or not isinstance(key, str):
            raise InputError(f"metadata columns and keys must be strings, got {column!r} → {key!r}")
    keys = [k for _, k in pairs]
    if len(set(keys)) != len(keys):
        raise InputError(f"two metadata columns map to one key: {sorted({k for k in keys if keys.count(k) > 1})}")
    return dict(pairs)


def _check_columns(df: Any, wanted: list[str]) -> None:
    missing = [c for c in dict.fromkeys(wanted) if c not in df.columns]
    if missing:
        have = ", ".join(map(repr, list(df.columns)[:30])) or "none"
        hint = "; id=None takes the ids from the index" if "id" in missing else ""
        raise InputError(f"the DataFrame has no column(s) {missing}; its columns are: {have}{hint}")
    doubled = [c for c in dict.fromkeys(wanted) if int((df.columns == c).sum()) > 1]
    if doubled:
        raise InputError(f"the DataFrame has several columns named {doubled}; rename them first")


def _is_missing(v: Any) -> bool:
    """pandas' missing markers in a cell: None, NaN, NA, NaT (scalars only; a list or array cell is present)."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(v != v)
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return type(v).__name__ in ("NAType", "NaTType")


def _present_or_none(v: Any) -> Any:
    return None if _is_missing(v) else v


def _where(i: int, ids: list[str] | None) -> str:
    return f"row {i}" + (f" (id {ids[i]!r})" if ids is not None and i < len(ids) else "")


def _ids(df: Any, column: str | None) -> list[str]:
    values = df.index.tolist() if column is None else df[column].tolist()
    what = "the index" if column is None else f"column {column!r}"
    out: list[str] = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            out.append(str(int(v)))
        elif _is_missing(v):
            raise InputError(f"{what} has no id in row {i}; every row needs one (drop or fill it: "
                             f"df.dropna(subset=[{column!r}]))" if column is not None else
                             f"the index has a missing value in row {i}; every row needs an id")
        else:
            raise InputError(f"{what} holds {type(v).__name__} {v!r} in row {i}; ids must be strings or integers "
                             f"(convert them first, e.g. df[{column!r}].astype(str))")
    seen: dict[str, int] = {}
    dup: list[str] = []
    for i, s in enumerate(out):
        if s in seen and s not in dup:
            dup.append(s)
        seen.setdefault(s, i)
    if dup:
        raise InputError(f"{what} holds duplicate ids, e.g. {dup[:5]}; each id may appear once (e.g. "
                         f"df.drop_duplicates(subset=[{column!r}]))" if column is not None else
                         f"{what} holds duplicate ids, e.g. {dup[:5]}; each id may appear once")
    if out:
        _inputs.check_ids(out)  # empty ids, NUL, lone surrogates
    return out


def _texts(df: Any, column: str, ids: list[str], required: bool) -> list[Any]:
    values = [_present_or_none(v) for v in df[column].tolist()]
    missing = [i for i, v in enumerate(values) if v is None]
    if missing and required:
        raise InputError(f"column {column!r} has no text in {len(missing)} row(s), e.g. {_where(missing[0], ids)}; "
                         f"every row to encode needs one (drop or fill them: df.dropna(subset=[{column!r}]))")
    bad = next((i for i, v in enumerate(values) if v is not None and not isinstance(v, str)), None)
    if bad is not None and not required:
        raise InputError(f"column {column!r} holds {type(values[bad]).__name__} in {_where(bad, ids)}; with vector= "
                         f"its cells are stored as contents and must be strings")
    _inputs.check_contents([v if isinstance(v, str) else None for v in values], len(values))
    return values


def _vectors(df: Any, column: str, ids: list[str]) -> np.ndarray:
    """The vector column as an ``(n, d)`` float32 block (a new array), checked row by row."""
    cells = df[column].tolist()
    rows: list[np.ndarray] = []
    width = None
    for i, c in enumerate(cells):
        if c is None or (not isinstance(c, (list, tuple, np.ndarray)) and _is_missing(c)):
            raise InputError(f"column {column!r} has no vector in {_where(i, ids)}; every row needs one")
        try:
            v = np.asarray(c, dtype=np.float32)
        except (TypeError, ValueError):
            raise InputError(f"column {column!r} holds {type(c).__name__} in {_where(i, ids)}, not a list or "
                             f"array of numbers") from None
        if v.ndim != 1 or (width is not None and len(v) != width) or len(v) == 0:
            shape = "a scalar" if v.ndim == 0 else f"shape {v.shape}"
            want = f"{width} values like row 0" if width is not None else "one non-empty 1-D vector"
            raise DimensionError(f"column {column!r} holds {shape} in {_where(i, ids)}; expected {want}")
        width = len(v)
        rows.append(v)
    mat = np.stack(rows) if rows else np.empty((0, 0), np.float32)
    if mat.size and not np.isfinite(mat).all():
        bad = np.flatnonzero(~np.isfinite(mat).all(axis=1))
        raise NonFiniteError(f"column {column!r} holds NaN or infinity in {len(bad)} row(s), e.g. "
                             f"{_where(int(bad[0]), ids)}; clean or drop them first")
    return mat


def _metadata(pd: Any, df: Any, ids: list[str], metadata: Any, columns: dict[str, str]
              ) -> list[dict[str, Any]] | None:
    """One JSON-ready dict per row, checked as ``add`` checks metadata (InputError naming the row)."""
    if metadata is None:
        return None
    n = len(ids)
    if isinstance(metadata, str):
        out = [_whole(pd, v, metadata, i, ids) for i, v in enumerate(df[metadata].tolist())]
    else:
        out = [{} for _ in range(n)]
        for column, key in columns.items():
            for i, v in enumerate(df[column].tolist()):
                if _is_missing(v):  # a gap in the column: the key is left out of that row
                    continue
                try:
                    out[i][key] = _json_value(pd, v)
                except TypeError as exc:
                    raise InputError(f"column {column!r} holds {exc} in {_where(i, ids)}, which metadata cannot "
                                     f"hold (JSON values: strings, numbers, booleans, lists, dicts; dates and "
                                     f"times become ISO 8601 text); convert it first, e.g. "
                                     f"df[{column!r}].astype(str)") from None
    try:
        _inputs.check_metadata(out, n)
    except InputError:
        for i, m in enumerate(out):  # the first bad row, named by its id
            try:
                _inputs.check_metadata([m], 1)
            except InputError as exc:
                raise InputError(f"the metadata of {_where(i, ids)}: {str(exc).split(' at position 0 ', 1)[-1]}"
                                 ) from None
        raise
    return out


def _whole(pd: Any, v: Any, column: str, i: int, ids: list[str]) -> dict[str, Any]:
    """A cell of a column holding whole metadata objects: a dict, a JSON object text, or missing ({})."""
    if not isinstance(v, dict) and _is_missing(v):
        return {}
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError as exc:
            raise InputError(f"column {column!r} holds text that is not JSON in {_where(i, ids)} ({exc})") from None
    if not isinstance(v, dict):
        raise InputError(f"column {column!r} holds {type(v).__name__} in {_where(i, ids)}; each cell must be a dict "
                         f"or a JSON object text")
    try:
        return {k: _json_value(pd, x) for k, x in v.items()}
    except TypeError as exc:
        raise InputError(f"column {column!r} holds {exc} in {_where(i, ids)}, which metadata cannot hold") from None


def _json_value(pd: Any, v: Any) -> Any:
    """A cell as a JSON value: numpy scalars and arrays become Python numbers and lists, dates and times ISO 8601
    text, pandas' NA inside a list null. TypeError (naming the type) for anything else."""
    t = type(v)
    if v is None or t in (str, int, float, bool):
        return v
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).isoformat()
    if isinstance(v, np.timedelta64) or isinstance(v, _dt.timedelta):
        raise TypeError(f"a time span ({t.__name__})")
    if isinstance(v, np.generic):  # numpy bool, integer, float, str scalars
        return _json_value(pd, v.item())
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):  # pandas' Timestamp is a datetime
        return None if _is_missing(v) else v.isoformat()
    for plain in (bool, int, float, str):  # subclasses (an IntEnum is an int): their plain value
        if isinstance(v, plain):
            return plain(v)
    if isinstance(v, dict):
        return {k: _json_value(pd, x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_json_value(pd, x) for x in (list(v) if isinstance(v, np.ndarray) else v)]
    if _is_missing(v):
        return None
    raise TypeError(f"a value of type {t.__name__}")
