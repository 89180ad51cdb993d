"""TensorBoard Embedding Projector files: ``vectors.tsv`` (one row of tab-separated values per key) and
``metadata.tsv`` (one line per row; a header row only when there is more than one column, TensorBoard's rule).

Load them in TensorBoard or on https://projector.tensorflow.org ("Load" → the two files). A
``projector_config.pbtxt`` is written too, so ``tensorboard --logdir FOLDER`` finds them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InputError
from ..vectors import Vectors

__all__ = ["save_projector", "load_projector"]

VECTORS_TSV = "vectors.tsv"
METADATA_TSV = "metadata.tsv"
CONFIG = "projector_config.pbtxt"


def _cell(value, what: str) -> str:
    text = str(value)
    if any(c in text for c in "\t\n\r"):
        raise InputError(f"{what} {text!r} contains a tab or newline, which TSV cannot hold; replace them first")
    return text


def save_projector(vectors: Vectors, folder: str | Path, metadata: dict[str, list] | None = None) -> Path:
    """Write ``vectors.tsv`` and ``metadata.tsv`` into ``folder`` (created if needed).

    Without ``metadata`` the metadata file is the keys alone (one column, no header). With it, the columns
    are ``key`` followed by each metadata column (header row, since there are several columns).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(vectors)
    columns: dict[str, list] = {"key": list(vectors.keys)}
    for name, values in (metadata or {}).items():
        values = list(values)
        if len(values) != n:
            raise InputError(f"metadata column {name!r} has {len(values)} values for {n} vectors; give one per row")
        if name == "key":
            raise InputError("metadata column 'key' is reserved for the vector keys; rename it")
        columns[_cell(name, "metadata column name")] = values
    with open(folder / VECTORS_TSV, "w", encoding="utf-8", newline="\n") as f:
        for start in range(0, n, 20000):
            block = np.asarray(vectors.matrix[start : start + 20000], dtype=np.float32)
            f.write("".join("\t".join(map(str, row)) + "\n" for row in block))
    with open(folder / METADATA_TSV, "w", encoding="utf-8", newline="\n") as f:
        names = list(columns)
        if len(names) > 1:
            f.write("\t".join(names) + "\n")
        cols = [[_cell(v, f"value of column {name!r}") for v in columns[name]] for name in names]
        f.write("".join("\t".join(row) + "\n" for row in zip(*cols)))
    (folder / CONFIG).write_text(
        f'embeddings {{\n  tensor_path: "{VECTORS_TSV}"\n  metadata_path: "{METADATA_TSV}"\n}}\n', encoding="utf-8"
    )
    return folder


def load_projector(folder: str | Path, with_metadata: bool = False):
    """Read a projector folder back into Vectors (keys from the ``key`` column, else the first column).

    With ``with_metadata=True`` returns ``(vectors, {column: values})``. Rows without metadata get keys
    ``"0"``, ``"1"``, ...
    """
    folder = Path(folder)
    vpath = folder / VECTORS_TSV
    if not vpath.is_file():
        raise FileNotFoundError(f"no {VECTORS_TSV} in {folder}; is it a projector folder?")
    lines = vpath.read_text(encoding="utf-8").splitlines()
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise CorruptFileError(f"{vpath} is empty")
    d = len(lines[0].split("\t"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.fromstring(" ".join(ln.replace("\t", " ") for ln in lines), dtype=np.float32, sep=" ")
    if values.size != len(lines) * d:
        for i, ln in enumerate(lines):
            if len(ln.split("\t")) != d:
                raise CorruptFileError(f"{vpath}: line {i + 1} has {len(ln.split(chr(9)))} values, expected {d}")
        raise CorruptFileError(f"{vpath} contains values that are not numbers")
    matrix = values.reshape(len(lines), d)
    meta: dict[str, list] = {}
    mpath = folder / METADATA_TSV
    if mpath.is_file():
        mlines = mpath.read_text(encoding="utf-8").split("\n")
        if mlines and mlines[-1] == "":
            mlines.pop()
        first = mlines[0].split("\t") if mlines else [""]
        if len(first) > 1:  # header row exists exactly when there are several columns
            rows = [ln.split("\t") for ln in mlines[1:]]
            meta = {name: [r[j] if j < len(r) else "" for r in rows] for j, name in enumerate(first)}
        else:
            meta = {"key" if len(set(mlines)) == len(mlines) else "label": mlines}
        count = len(next(iter(meta.values()))) if meta else 0
        if count != len(lines):
            raise CorruptFileError(f"{mpath} has {count} rows but {vpath} has {len(lines)}; they must match")
    keys = meta.pop("key", None)
    if keys is None:
        if meta and len(set(meta[next(iter(meta))])) == len(lines):
            keys = meta[next(iter(meta))]
        else:
            keys = [str(i) for i in range(len(lines))]
    vectors = Vectors(keys, matrix)
    return (vectors, meta) if with_metadata else vectors
