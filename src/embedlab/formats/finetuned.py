"""The folder ``embedlab finetune`` (``FineTuner``) writes, and reading it back.

    finetune.json        format "embedlab.finetune" + format_version; method (adapter | full); the base encoder's
                         name, fingerprint, dim and languages (its ISO 639-1 codes when it reads only those, else
                         null; absent in folders written before it was recorded); the adapter's shape; training parameters; data counts; metrics
                         before and after; the seed; matryoshka_dims
    adapter.safetensors  (adapter) the matrix M (base dim × dim, float32), size and CRC32 recorded in the JSON
    model.safetensors …  (full) a complete sentence-transformers folder (modules.json, config.json, tokenizer …)
    loss.png             the loss curve (plus the validation score per epoch for the adapter)

Only light imports here (numpy, safetensors), so listing encoders stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import check_record, file_record, read_versioned, sniff_manifest, versioned, write_json_atomic

MANIFEST = "finetune.json"
FORMAT = "embedlab.finetune"
VERSION = 1
WEIGHTS = "adapter.safetensors"
FIX = "train it again with `embedlab finetune`"

__all__ = ["MANIFEST", "FORMAT", "VERSION", "WEIGHTS", "recognises", "read_manifest", "write_manifest",
           "save_matrix", "load_matrix", "base_languages"]


def recognises(path: str | Path) -> bool:
    """True when ``path`` is a folder with a ``finetune.json`` of this format (cheap: no weights are read)."""
    return sniff_manifest(Path(path) / MANIFEST, FORMAT) is not None


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The checked manifest of a fine-tune folder (CorruptFileError / FormatVersionError otherwise)."""
    path = Path(folder) / MANIFEST
    doc = read_versioned(path, FORMAT, VERSION, "fine-tuned encoder", FIX)
    base = doc.get("base")
    if doc.get("method") not in ("adapter", "full") or not isinstance(base, dict) or not base.get("name"):
        raise CorruptFileError(f"{path} lacks a valid 'method' or 'base' encoder; {FIX}")
    return doc


def base_languages(manifest: dict[str, Any]) -> tuple[str, ...] | None:
    """The languages of the base encoder a fine-tune folder records: the fine-tuned model reads what its base read.

    Parameters
    ----------
    manifest : dict
        A manifest from ``read_manifest``.

    Returns
    -------
    tuple of str or None
        ISO 639-1 codes (e.g. ``("en",)``) when the base reads only those; None when it reads many or unknown
        languages, or the folder predates the record.
    """
    langs = manifest["base"].get("languages")
    if isinstance(langs, list) and langs and all(isinstance(x, str) for x in langs):
        return tuple(langs)
    return None


def write_manifest(folder: Path, **fields: Any) -> None:
    """Write ``finetune.json`` (format and version added) atomically."""
    write_json_atomic(folder / MANIFEST, versioned(FORMAT, VERSION, **fields))


def save_matrix(folder: Path, matrix: np.ndarray) -> dict[str, int]:
    """Write the adapter matrix; returns its file record (bytes + CRC32) for the manifest."""
    from safetensors.numpy import save_file

    path = folder / WEIGHTS
    save_file({"matrix": np.ascontiguousarray(matrix, dtype=np.float32)}, str(path))
    return file_record(path)


def load_matrix(folder: Path, manifest: dict[str, Any]) -> np.ndarray:
    """The adapter matrix, checked against the recorded size and CRC32 and the declared shape."""
    path = folder / WEIGHTS
    if not path.is_file():
        raise CorruptFileError(f"{path} is missing: the adapter's weights are gone; {FIX}")
    check_record(path, manifest.get("weights"), True, FIX)
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        matrix = load_file(str(path))["matrix"]
    except (SafetensorError, KeyError, OSError, ValueError) as exc:
        raise CorruptFileError(f"{path} is not a readable adapter weights file ({exc}); {FIX}") from None
    want = (int(manifest["base"]["dim"]), int(manifest["dim"]))
    if matrix.shape != want or matrix.dtype != np.float32 or not np.isfinite(matrix).all():
        raise CorruptFileError(f"{path} holds a {matrix.shape} {matrix.dtype} matrix, expected {want} float32 "
                               f"finite values; {FIX}")
    return matrix
