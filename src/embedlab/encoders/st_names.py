"""sentence-transformers' names on every Encoder, with sentence-transformers' semantics.

Code written for ``SentenceTransformer`` runs on an embedlab encoder after changing how the model is built:

    >>> enc = embedlab.encoder("all-MiniLM-L6-v2")           # the registry's "minilm"
    >>> enc.encode("one", normalize_embeddings=True).shape     # (384,): a str in, one row out, as in ST
    >>> enc.similarity(enc.encode(["a"]), enc.encode(["b", "c"]))   # (1, 2) cosine matrix
    >>> enc.max_seq_length, enc.get_sentence_embedding_dimension()

``encode`` takes sentence-transformers' keywords (``normalize_embeddings``, ``show_progress_bar``,
``convert_to_numpy``, ``convert_to_tensor``) besides its own (``normalize``, ``progress``). A call that uses any
of them follows sentence-transformers throughout: normalisation only when asked (its default is False), one
string gives a ``(dim,)`` row, ``convert_to_tensor=True`` a torch tensor and ``convert_to_numpy=False`` a list of
1-D tensors. A call with embedlab's keywords only keeps embedlab's contract (``(n, dim)`` float32 always, unit
rows by default). ``Encoder`` wraps every subclass's ``encode`` with ``sentence_transformers_keywords``, so the
keywords work on each encoder whatever its own ``encode`` does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

import numpy as np

from ..errors import DimensionError, MissingDependencyError
from ..metrics import scores

__all__ = ["ST_KEYWORDS", "SentenceTransformersNames", "sentence_transformers_keywords"]

#: sentence-transformers' keywords of ``encode`` that embedlab's ``encode`` also takes.
ST_KEYWORDS = ("normalize_embeddings", "show_progress_bar", "convert_to_numpy", "convert_to_tensor")
# embedlab's keyword that each one would clash with, when both are given
_SAME_AS = {"normalize_embeddings": "normalize", "show_progress_bar": "progress"}

F = TypeVar("F", bound=Callable[..., Any])


def sentence_transformers_keywords(encode: F) -> F:
    """Let an ``encode`` method take sentence-transformers' keywords too, with their semantics (module docstring).

    Parameters
    ----------
    encode : callable
        An ``encode(self, items, batch_size, progress, normalize)`` method; left as it is for calls without
        sentence-transformers' keywords.

    Returns
    -------
    callable
        The wrapped method; it raises ``TypeError`` for a keyword neither takes (naming the accepted ones), or for
        a keyword given under both names (``normalize`` and ``normalize_embeddings``).
    """
    if getattr(encode, "__st_keywords__", False):  # already wrapped (a subclass that reuses its base's method)
        return encode
    own = [p.name for p in inspect.signature(encode).parameters.values()
           if p.name not in ("self", "items") and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    @functools.wraps(encode)
    def wrapped(self: Any, items: Any, *args: Any, **kw: Any) -> Any:  # numpydoc ignore=GL08
        unknown = [k for k in kw if k not in own and k not in ST_KEYWORDS]
        if unknown:
            raise TypeError(f"{type(self).__name__}.encode() got an unexpected keyword argument {unknown[0]!r}; it "
                            f"takes {', '.join(own)} and sentence-transformers' {', '.join(ST_KEYWORDS)}")
        st = {k: kw.pop(k) for k in ST_KEYWORDS if k in kw}
        if not st:
            return encode(self, items, *args, **kw)

        def given(ours: str) -> bool:  # numpydoc ignore=GL08
            # by keyword or by position
            return ours in kw or (ours in own and own.index(ours) < len(args))

        for theirs, ours in _SAME_AS.items():
            if theirs in st and given(ours):
                raise TypeError(f"encode() got both {ours}= and sentence-transformers' {theirs}=; pass one")
        if "normalize_embeddings" in st:
            kw["normalize"] = bool(st["normalize_embeddings"])
        elif not given("normalize"):
            kw["normalize"] = False  # sentence-transformers' default
        if "show_progress_bar" in st:
            kw["progress"] = bool(st["show_progress_bar"])
        tensor, numpy_out = bool(st.get("convert_to_tensor", False)), bool(st.get("convert_to_numpy", True))
        if tensor or not numpy_out:
            _torch()  # before encoding anything
        return _convert(encode(self, items, *args, **kw), isinstance(items, str), numpy_out, tensor)

    wrapped.__st_keywords__ = True  # type: ignore[attr-defined]
    return cast(F, wrapped)


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("convert_to_tensor=True / convert_to_numpy=False return torch tensors and need "
                                     "torch: pip install 'embedlab[text]' (or leave them out for numpy arrays)") \
            from exc
    return torch


class _Encodes(Protocol):
    """What the sentence-transformers names read of an encoder (``Encoder`` has all of it)."""

    dim: int
    max_length: int | None
    metric: str

    def encode_queries(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                       normalize: bool = True) -> np.ndarray:  # numpydoc ignore=GL08
        ...

    def encode_documents(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                         normalize: bool = True) -> np.ndarray:  # numpydoc ignore=GL08
        ...


class SentenceTransformersNames:
    """sentence-transformers' ``SentenceTransformer`` names (a base of ``Encoder``; see the module docstring)."""

    @property
    def max_seq_length(self: _Encodes) -> int | None:
        """sentence-transformers' name of ``max_length``: the input limit in tokens (read-only here).

        Returns
        -------
        int or None
            Longer inputs are truncated (and reported in a ``TruncationWarning``); None: no limit.
        """
        return self.max_length

    @property
    def similarity_fn_name(self: _Encodes) -> str:
        """sentence-transformers' name of the function ``similarity`` uses, from the encoder's ``metric``.

        ``"cosine"``, ``"dot"`` or ``"euclidean"`` (negated, so higher is more similar).

        Returns
        -------
        str
            One of the three names.
        """
        return {"cosine": "cosine", "dot": "dot", "l2": "euclidean"}[self.metric]

    def get_sentence_embedding_dimension(self: _Encodes) -> int:
        """sentence-transformers' name of ``dim``.

        Returns
        -------
        int
            The width of the vectors.
        """
        return int(self.dim)

    def get_embedding_dimension(self: _Encodes) -> int:
        """sentence-transformers' newer name of ``dim`` (and of ``get_sentence_embedding_dimension``).

        Returns
        -------
        int
            The width of the vectors.
        """
        return int(self.dim)

    def similarity(self: _Encodes, a: Any, b: Any) -> np.ndarray:
        """The similarity matrix of two sets of vectors in the encoder's metric, as ``SentenceTransformer.similarity``.

        Cosine for cosine encoders, the dot product for dot encoders, the negated Euclidean distance for l2 ones
        (sentence-transformers' ``similarity_fn_name`` "cosine", "dot", "euclidean"); higher is more similar.

        Parameters
        ----------
        a : array_like of shape (n, dim) or (dim,)
            Vectors (numpy arrays, lists, or CPU torch tensors); one row may be given as a 1-D vector.
        b : array_like of shape (m, dim) or (dim,)
            Vectors, as ``a``.

        Returns
        -------
        numpy.ndarray of shape (n, m)
            float32; a 1-D input counts as one row, as in sentence-transformers (which returns a torch tensor).

        Raises
        ------
        DimensionError
            When ``a`` or ``b`` is not 1-D or 2-D, or their widths differ.
        """
        x, y = _rows(a, "a"), _rows(b, "b")
        if x.shape[1] != y.shape[1]:
            raise DimensionError(f"similarity of {x.shape[1]}-d and {y.shape[1]}-d vectors; both must have the same "
                                 f"width (this encoder's is {self.dim})")
        out = scores(x, y, self.metric)
        return np.asarray(out, dtype=np.float32).reshape(len(x), len(y))

    def encode_query(self: _Encodes, items: Sequence[Any] | str, batch_size: int = 64, *,
                     normalize_embeddings: bool = False, show_progress_bar: bool = False,
                     convert_to_numpy: bool = True, convert_to_tensor: bool = False) -> Any:
        """sentence-transformers' name of ``encode_queries``, with its keywords and return types.

        Parameters
        ----------
        items : sequence or str
            The queries; one string gives one ``(dim,)`` row.
        batch_size : int, default 64
            Items per model call.
        normalize_embeddings : bool, default False
            Return unit-length rows.
        show_progress_bar : bool, default False
            Show a progress bar.
        convert_to_numpy : bool, default True
            False: a list of 1-D torch tensors.
        convert_to_tensor : bool, default False
            Return one torch tensor (wins over ``convert_to_numpy``).

        Returns
        -------
        numpy.ndarray, torch.Tensor or list of torch.Tensor
            float32 ``(n, dim)`` (``(dim,)`` for one string).

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item the encoder cannot take.
        MissingDependencyError
            When a tensor is asked for and torch is not installed.
        """
        return _as_st(self.encode_queries, items, batch_size, normalize_embeddings, show_progress_bar,
                      convert_to_numpy, convert_to_tensor)

    def encode_document(self: _Encodes, items: Sequence[Any] | str, batch_size: int = 64, *,
                        normalize_embeddings: bool = False, show_progress_bar: bool = False,
                        convert_to_numpy: bool = True, convert_to_tensor: bool = False) -> Any:
        """sentence-transformers' name of ``encode_documents``, with its keywords and return types.

        Parameters
        ----------
        items : sequence or str
            The documents; one string gives one ``(dim,)`` row.
        batch_size : int, default 64
            Items per model call.
        normalize_embeddings : bool, default False
            Return unit-length rows.
        show_progress_bar : bool, default False
            Show a progress bar.
        convert_to_numpy : bool, default True
            False: a list of 1-D torch tensors.
        convert_to_tensor : bool, default False
            Return one torch tensor (wins over ``convert_to_numpy``).

        Returns
        -------
        numpy.ndarray, torch.Tensor or list of torch.Tensor
            float32 ``(n, dim)`` (``(dim,)`` for one string).

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item the encoder cannot take.
        MissingDependencyError
            When a tensor is asked for and torch is not installed.
        """
        return _as_st(self.encode_documents, items, batch_size, normalize_embeddings, show_progress_bar,
                      convert_to_numpy, convert_to_tensor)


def _as_st(method: Callable[..., np.ndarray], items: Sequence[Any] | str, batch_size: int, normalize: bool,
           progress: bool, numpy_out: bool, tensor: bool) -> Any:
    if tensor or not numpy_out:
        _torch()  # before encoding anything
    out = method(items, batch_size=batch_size, progress=progress, normalize=normalize)
    return _convert(out, isinstance(items, str), numpy_out, tensor)


def _convert(out: np.ndarray, single: bool, numpy_out: bool, tensor: bool) -> Any:
    """sentence-transformers' return types: one row for one string; a tensor (``convert_to_tensor`` wins).

    Else a list of 1-D tensors (``convert_to_numpy=False``) or the array.
    """
    result: Any = out
    if tensor:
        result = _torch().from_numpy(out)
    elif not numpy_out:
        result = list(_torch().from_numpy(out))
    return result[0] if single else result


def _rows(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise DimensionError(f"similarity takes 1-D or 2-D vectors; {name} has shape {arr.shape}")
    return arr
