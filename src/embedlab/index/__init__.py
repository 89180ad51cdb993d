"""Indexes: exact and approximate nearest-neighbour search behind one interface.

``make_index(kind, dim, metric, **params)`` builds one (``kind``: exact, hnsw or ivf; ``precision=`` float32,
float16, int8 or binary codes with ``rescore=``), ``load_index(folder)`` reopens any saved kind, and
``recall_at_k`` measures an approximate index against the exact one. ``plan`` estimates what an index will
cost before it is built; ``tune`` measures every setting on your own vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from . import codec
from .base import Index, RowSource, SearchParams
from .exact import ExactIndex
from .quantize import PRECISIONS, Calibration
from .recall import recall_at_k

_KINDS: dict[str, type[Index]] = {"exact": ExactIndex}

try:  # the FAISS-backed kinds live in their own modules; keep exact search usable even if they fail to import
    from .compressed import CompressedExactIndex
    from .hnsw import HNSWIndex
    from .ivf import IVFIndex

    _KINDS["hnsw"] = HNSWIndex
    _KINDS["ivf"] = IVFIndex
except ImportError:  # pragma: no cover
    HNSWIndex = None  # type: ignore[assignment,misc]
    IVFIndex = None  # type: ignore[assignment,misc]
    CompressedExactIndex = None  # type: ignore[assignment,misc]

KINDS = ("exact", "hnsw", "ivf")


def index_class(kind: str, precision: str = "float32") -> type[Index]:
    """The class that implements ``kind`` at ``precision``.

    Exact search over compressed codes is its own class (``CompressedExactIndex``); HNSW and IVF use one class
    for every precision.

    Parameters
    ----------
    kind : str
        ``"exact"``, ``"hnsw"`` or ``"ivf"``.
    precision : str
        ``"float32"`` (default), ``"float16"``, ``"int8"`` or ``"binary"``; only ``exact`` changes class with it
        (the name is checked by the class's constructor, not here).

    Returns
    -------
    type[Index]
        ``ExactIndex`` (exact, float32), ``CompressedExactIndex`` (exact, other precisions), ``HNSWIndex`` or
        ``IVFIndex``.

    Raises
    ------
    InputError
        An unknown kind (hnsw and ivf count as unknown when the FAISS-backed modules failed to import).
    """
    cls = _KINDS.get(kind)
    if cls is None:
        raise InputError(f"unknown index kind {kind!r}; choose one of {', '.join(sorted(_KINDS))}")
    if kind == "exact" and precision != "float32":
        return CompressedExactIndex
    return cls


def make_index(kind: str, dim: int, metric: str = "cosine", **params: Any) -> Index:
    """A new empty index of ``kind``.

    Parameters
    ----------
    kind : str
        ``"exact"`` (brute force: ``ExactIndex``, or ``CompressedExactIndex`` for compressed precisions),
        ``"hnsw"`` (``HNSWIndex``: a FAISS HNSW graph, Malkov & Yashunin 2018) or ``"ivf"`` (``IVFIndex``: FAISS
        IVF-Flat / IVF-SQ / IVF-PQ, Jégou et al. 2011).
    dim : int
        Dimension of the vectors (>= 1).
    metric : str
        ``"cosine"`` (default), ``"dot"`` or ``"l2"``.
    **params
        The kind's constructor keywords, e.g. ``M=32``, ``precision="int8"``, ``rescore=4``, ``nlist=1024`` (see
        each kind's class).

    Returns
    -------
    Index
        Empty, ready for ``add`` (an int8 or IVF index trains itself once it holds ``train_min()`` rows).

    Raises
    ------
    InputError
        An unknown kind, a parameter the kind does not take or one out of range (named), or ``rescore`` for a
        float32 exact index (it already scores with the float32 vectors).
    """
    precision = params.get("precision", "float32")
    cls = index_class(kind, precision if isinstance(precision, str) else "float32")
    if cls is ExactIndex:
        params = dict(params)
        if params.pop("precision", "float32") != "float32":  # pragma: no cover - routed above
            raise InputError("ExactIndex holds float32 rows")
        if params.get("rescore") is not None:
            raise InputError(f"rescore applies to compressed codes (precision float16, int8 or binary); a float32 "
                             f"exact index already scores with the float32 vectors (got rescore={params['rescore']!r})")
        params.pop("rescore", None)
    try:
        return cls(dim, metric, **params)
    except TypeError as exc:
        raise InputError(f"bad parameters for a {kind} index: {exc}") from None


def load_index(folder: str | Path, **kw: Any) -> Index:
    """Open an index saved with ``save``, whatever its kind and precision.

    The kind and precision are read from the folder's ``index.json``; the class implementing them
    (``index_class``) reads the rest.

    Parameters
    ----------
    folder : str or Path
        The index folder.
    **kw
        Passed to that class's ``load``: ``mmap=`` maps the saved float32 vectors (IVF: the inverted lists)
        read-only instead of reading them.

    Returns
    -------
    Index
        ``ExactIndex``, ``CompressedExactIndex``, ``HNSWIndex`` or ``IVFIndex``, with its saved parameters.

    Raises
    ------
    InputError
        No index folder at ``folder``.
    CorruptFileError
        A missing, truncated or damaged file (named), or an unknown kind in ``index.json``.
    FormatVersionError
        Written by a newer embedlab.
    """  # noqa: DOC501 - codec.corrupt() returns the CorruptFileError raised
    folder = Path(folder)
    doc = codec.read_manifest(folder)
    if doc["kind"] not in _KINDS:
        raise codec.corrupt(folder, f"unknown index kind {doc['kind']!r}")
    cls = index_class(doc["kind"], codec.precision_block(folder, doc)["name"])
    return cls.load(folder, **kw)


__all__ = ["Index", "RowSource", "SearchParams", "ExactIndex", "HNSWIndex", "IVFIndex", "CompressedExactIndex", "Calibration", "PRECISIONS",
           "KINDS", "make_index", "load_index", "index_class", "recall_at_k"]
