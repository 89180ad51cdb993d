"""TensorBoard Embedding Projector files: ``vectors.tsv`` (one row of tab-separated values per key) and
``metadata.tsv`` (one line per row; a header row only when there is more than one column, TensorBoard's rule).

Load them in TensorBoard or on https://projector.tensorflow.org ("Load" → the two files). A
``projector_config.pbtxt`` is written too, so ``tensorboard --logdir FOLDER`` finds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from ..errors import CorruptFileError, InputError
from ..persist import atomic_file, read_text
from .keyed import Keyed, KeyedArrays, keyed, parse_rows

__all__ = ["read", "write"]

VECTORS_TSV = "vectors.tsv"
METADATA_TSV = "metadata.tsv"
CONFIG = "projector_config.pbtxt"
_FIX = "export the folder again, or repair the named line"


def _cell(value: object, what: str) -> str:
    text = str(value)
    if any(c in text for c in "\t\n\r"):
        raise InputError(f"{what} {text!r} contains a tab or newline, which TSV cannot hold; replace them first")
    return text


def write(vectors: Keyed, folder: str | Path, metadata: dict[str, list[Any]] | None = None) -> Path:
    """Write ``vectors.tsv`` and ``metadata.tsv`` into ``folder`` (created if needed).

    Without ``metadata`` the metadata file is the keys alone (one column, no header). With it, the columns
    are ``key`` followed by each metadata column (header row, since there are several columns).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(vectors.keys)
    columns: dict[str, list[Any]] = {"key": list(vectors.keys)}
    for name, values in (metadata or {}).items():
        values = list(values)
        if len(values) != n:
            raise InputError(f"metadata column {name!r} has {len(values)} values for {n} vectors; give one per row")
        if name == "key":
            raise InputError("metadata column 'key' is reserved for the vector keys; rename it")
        columns[_cell(name, "metadata column name")] = values
    with atomic_file(folder / VECTORS_TSV) as f:
        for start in range(0, n, 20000):
            block = np.asarray(vectors.matrix[start : start + 20000], dtype=np.float32)
            f.write("".join("\t".join(map(str, row)) + "\n" for row in block).encode("utf-8"))
    names = list(columns)
    cols = [[_cell(v, f"value of column {name!r}") for v in columns[name]] for name in names]
    with atomic_file(folder / METADATA_TSV) as f:
        if len(names) > 1:
            f.write(("\t".join(names) + "\n").encode("utf-8"))
        f.write("".join("\t".join(row) + "\n" for row in zip(*cols, strict=True)).encode("utf-8"))
    with atomic_file(folder / CONFIG) as f:
        f.write(f'embeddings {{\n  tensor_path: "{VECTORS_TSV}"\n  metadata_path: "{METADATA_TSV}"\n}}\n'.encode())
    return folder


@overload
def read(folder: str | Path, with_metadata: Literal[False] = False) -> KeyedArrays: ...  # numpydoc ignore=GL08


@overload
def read(folder: str | Path,  # numpydoc ignore=GL08
         with_metadata: Literal[True]) -> tuple[KeyedArrays, dict[str, list[str]]]: ...


@overload
def read(folder: str | Path, with_metadata: bool = False  # numpydoc ignore=GL08
         ) -> KeyedArrays | tuple[KeyedArrays, dict[str, list[str]]]: ...


def read(folder: str | Path, with_metadata: bool = False) -> KeyedArrays | tuple[KeyedArrays, dict[str, list[str]]]:
    """Read a projector folder back as KeyedArrays (keys from the ``key`` column, else the first column if its
    values are unique, else ``"0"``, ``"1"``, ...); float32 ``(n, d)`` with ``d`` from the first row.

    With ``with_metadata=True`` returns ``(vectors, {column: values})``. CorruptFileError names the file and
    line of a row with the wrong number of values, a value that is not a number, text that is not UTF-8, a
    metadata row with the wrong number of columns, or metadata and vectors of different lengths.
    """
    folder = Path(folder)
    vpath = folder / VECTORS_TSV
    if not vpath.is_file():
        raise FileNotFoundError(f"no {VECTORS_TSV} in {folder}; is it a projector folder?")
    numbered = [(i + 1, ln.rstrip("\r")) for i, ln in enumerate(read_text(vpath, _FIX).split("\n"))]
    numbered = [(no, ln) for no, ln in numbered if ln.strip()]
    if not numbered:
        raise CorruptFileError(f"{vpath} is empty; {_FIX}")
    lines = [ln for _, ln in numbered]
    d = lines[0].count("\t") + 1
    matrix = parse_rows(lines, d, "\t", lambda j: f"{vpath}: line {numbered[j][0]}", _FIX)
    meta: dict[str, list[str]] = {}
    mpath = folder / METADATA_TSV
    if mpath.is_file():
        meta = _read_metadata(mpath)
        count = len(next(iter(meta.values()))) if meta else 0
        if count != len(lines):
            raise CorruptFileError(f"{mpath} has {count} rows but {vpath} has {len(lines)}; they must match")
    keys = meta.pop("key", None)
    if keys is None:
        if meta and len(set(meta[next(iter(meta))])) == len(lines):
            keys = meta[next(iter(meta))]
        else:
            keys = [str(i) for i in range(len(lines))]
    vectors = keyed(keys, matrix, vpath, "row", 1, keys_path=mpath)
    return (vectors, meta) if with_metadata else vectors


def _read_metadata(mpath: Path) -> dict[str, list[str]]:
    """Columns of ``metadata.tsv``: a header row exactly when there are several columns (TensorBoard's rule)."""
    mlines = [ln.rstrip("\r") for ln in read_text(mpath, _FIX).split("\n")]
    if mlines and mlines[-1] == "":
        mlines.pop()
    first = mlines[0].split("\t") if mlines else [""]
    if len(first) == 1:
        return {"key" if len(set(mlines)) == len(mlines) else "label": mlines}
    if len(set(first)) != len(first):
        raise CorruptFileError(f"{mpath}: line 1 (the header row) repeats a column name; {_FIX}")
    rows = [ln.split("\t") for ln in mlines[1:]]
    for i, r in enumerate(rows):
        if len(r) != len(first):
            raise CorruptFileError(f"{mpath}: line {i + 2} has {len(r)} columns, the header row {len(first)}; {_FIX}")
    return {name: [r[j] for r in rows] for j, name in enumerate(first)}
