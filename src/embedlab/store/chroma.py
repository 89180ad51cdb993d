"""Chroma's Collection names on ``Collection``, with Chroma's semantics (a mixin, plus the keyword translation).

Code written for a ``chromadb`` collection runs on an embedlab ``Collection`` after changing how it is made:

    >>> col = Collection.get_or_create("docs", "minilm", metadata={"hnsw:space": "cosine"})
    >>> col.add(ids=["a", "b"], documents=["a cat sits", "stock prices fell"], metadatas=[{"k": 1}, {"k": 2}])
    >>> col.query(query_texts=["kitten"], n_results=1, where={"k": 1})["ids"]
    [['a']]
    >>> col.get(where={"k": 2})["documents"], col.peek(limit=1)["ids"]

``query`` returns Chroma's dict of lists of lists (one list per query) with distances in Chroma's convention
for the collection's metric: ``1 - cosine`` (Chroma's "cosine" space), ``1 - dot`` ("ip"), the squared L2
distance ("l2"). ``get`` and ``peek`` return a ``GetResult``: the list of ``Item`` that ``get`` always
returned, which also answers Chroma's keys (``res["ids"]``, ``res["documents"]``, ``res["metadatas"]``,
``res["embeddings"]``). ``add`` / ``upsert`` take ``documents=``, ``metadatas=`` and ``embeddings=`` as
Chroma's names of ``items``, ``metadata`` and ``vectors`` (``chroma_names``). Filters (``where=``) are already
Chroma's syntax (``$eq $ne $gt $gte $lt $lte $in $nin $and $or``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from ..errors import InputError
from ._inputs import check_k
from .records import Hit, Item

__all__ = ["ChromaMethods", "GetResult", "chroma_names", "select_ids", "INCLUDE_GET", "INCLUDE_QUERY"]

#: What Chroma's ``include=`` may name for ``get`` / ``peek``, and its default there.
INCLUDE_GET = ("documents", "metadatas", "embeddings", "uris", "data")
#: What ``include=`` may name for ``query`` (``get``'s and ``distances``).
INCLUDE_QUERY = (*INCLUDE_GET, "distances")
_DEFAULT_GET = ("metadatas", "documents")
_DEFAULT_QUERY = ("metadatas", "documents", "distances")
# Chroma's "hnsw:space" names of the metrics
_SPACES = {"cosine": "cosine", "ip": "dot", "l2": "l2"}


def chroma_names(items: Any, vectors: Any, metadata: Any, documents: Any, embeddings: Any,
                 metadatas: Any) -> tuple[Any, Any, Any]:
    """``(items, vectors, metadata)`` from a write's own and Chroma's keywords (``add`` / ``upsert``).

    Parameters
    ----------
    items, vectors, metadata : object
        What the caller gave under embedlab's names (None when not given).
    documents, embeddings, metadatas : object
        What the caller gave under Chroma's names (None when not given).

    Returns
    -------
    tuple
        ``(items, vectors, metadata)``.

    Raises
    ------
    TypeError
        For one argument given under both names (``items`` and ``documents`` ...).
    """
    out = []
    for ours, theirs, own, chroma in ((items, documents, "items", "documents"), (vectors, embeddings, "vectors",
                                      "embeddings"), (metadata, metadatas, "metadata", "metadatas")):
        if ours is not None and theirs is not None:
            raise TypeError(f"got both {own}= and Chroma's {chroma}= (the same argument); pass one")
        out.append(theirs if ours is None else ours)
    return out[0], out[1], out[2]


def check_include(include: Iterable[str] | None, allowed: tuple[str, ...], default: tuple[str, ...]) -> list[str]:
    """Chroma's ``include=``: what a result fills in (the rest is None).

    Parameters
    ----------
    include : iterable of str or None
        The names; None: ``default``.
    allowed : tuple of str
        The names this method takes.
    default : tuple of str
        What None means.

    Returns
    -------
    list of str
        The names, in the order given.

    Raises
    ------
    InputError
        For a name not in ``allowed`` (naming them), or a single string instead of a list.
    """
    if include is None:
        return list(default)
    if isinstance(include, str):
        raise InputError(f"include must be a list of names, e.g. [{include!r}]")
    names = list(include)
    bad = [n for n in names if n not in allowed]
    if bad:
        raise InputError(f"include={bad[0]!r} is not one of {', '.join(allowed)}")
    return names


class _Reads(Protocol):
    """What ``select_ids`` reads of a collection (``Collection`` has it)."""

    def ids(self, where: dict[str, Any] | None = None) -> list[str]:  # numpydoc ignore=GL08
        ...


def select_ids(col: _Reads, ids: Sequence[str] | None, where: dict[str, Any] | None, limit: int | None,
               offset: int | None) -> list[str] | None:
    """The ids a Chroma-style ``get`` reads: ``ids`` (or all) that match ``where``, then ``offset`` and ``limit``.

    Parameters
    ----------
    col : Collection
        The collection (its ``ids``).
    ids : sequence of str or None
        The ids asked for, in order; None: every item, in write order.
    where : dict or None
        A metadata filter.
    limit : int or None
        At most this many (>= 1).
    offset : int or None
        Skip this many first (>= 0).

    Returns
    -------
    list of str or None
        The ids, in order; None when ``ids`` is given and nothing else (``get``'s own path, missing ids raise).

    Raises
    ------
    InputError
        For a bad ``limit``, ``offset`` or filter.
    """
    lim = None if limit is None else check_k(limit, "limit")
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0):
        raise InputError(f"offset must be an integer >= 0, got {offset!r}")
    if ids is not None and where is None and lim is None and not offset:
        return None
    chosen = col.ids(where) if ids is None else list(ids)
    if ids is not None and where is not None:
        matching = set(col.ids(where))
        chosen = [i for i in chosen if i in matching]
    start = int(offset or 0)
    return chosen[start:] if lim is None else chosen[start:start + lim]


class GetResult(list[Item]):
    """What ``Collection.get`` returns: a list of ``Item`` that also answers Chroma's ``get`` keys.

    ``res[0]`` is an ``Item``; ``res["ids"]`` is the list of ids, ``res["documents"]`` the contents,
    ``res["metadatas"]`` the metadata dicts (None for an item without metadata, as Chroma), ``res["embeddings"]``
    an ``(n, dim)`` float32 array; a key ``include`` left out (and ``"uris"``, ``"data"``) is None.

    Parameters
    ----------
    items : iterable of Item
        The items, in order.
    include : sequence of str, optional
        What Chroma's keys fill in (default Chroma's: metadatas and documents).
    dim : int, default 0
        The vectors' width (the shape of ``res["embeddings"]`` when there are no items).
    """

    def __init__(self, items: Iterable[Item] = (), include: Sequence[str] = _DEFAULT_GET, dim: int = 0) -> None:
        super().__init__(items)
        self.included, self.dim = list(include), dim

    def __getitem__(self, key: Any) -> Any:
        """An item (int), items (slice), or a Chroma column (str).

        Parameters
        ----------
        key : int, slice or str
            A position, a slice, or one of ``keys()``.

        Returns
        -------
        Item, list of Item, list or numpy.ndarray or None
            As described in the class docstring.

        Raises
        ------
        KeyError
            For a string that is not one of ``keys()``.
        """
        if not isinstance(key, str):
            return super().__getitem__(key)
        if key == "ids":
            return [it.id for it in self]
        if key == "included":
            return list(self.included)
        if key not in INCLUDE_GET:
            raise KeyError(f"{key!r}: a get result has {', '.join(self.keys())}")
        if key not in self.included or key in ("uris", "data"):
            return None
        if key == "documents":
            return [it.content for it in self]
        if key == "metadatas":
            return [it.metadata or None for it in self]
        return np.stack([it.vector for it in self]) if len(self) else np.empty((0, self.dim), np.float32)

    def keys(self) -> list[str]:
        """Chroma's keys of a get result.

        Returns
        -------
        list of str
            ``ids``, ``embeddings``, ``documents``, ``uris``, ``data``, ``metadatas``, ``included``.
        """
        return ["ids", "embeddings", "documents", "uris", "data", "metadatas", "included"]

    def to_dict(self) -> dict[str, Any]:
        """The result as Chroma's plain dict.

        Returns
        -------
        dict
            ``{key: self[key]}`` for every key of ``keys()``.
        """
        return {k: self[k] for k in self.keys()}


class _Searchable(Protocol):
    """What ``ChromaMethods`` reads of a collection (``Collection`` has all of it)."""

    metric: str

    def search_many(self, queries: Sequence[Any] | np.ndarray, k: int = 10, where: dict[str, Any] | None = None,
                    ef: int | None = None, batch_size: int = 64, nprobe: int | None = None,
                    rescore: int | None = None) -> list[list[Hit]]:  # numpydoc ignore=GL08
        ...

    def contents(self, ids: Sequence[str]) -> list[str | None]:  # numpydoc ignore=GL08
        ...

    def get(self, ids: Sequence[str] | None = None, missing: str = "error", *, where: dict[str, Any] | None = None,
            limit: int | None = None, offset: int | None = None,
            include: Sequence[str] | None = None) -> GetResult:  # numpydoc ignore=GL08
        ...


O = TypeVar("O", bound="_Opens")


class _Opens(Protocol):
    """What ``get_or_create`` calls (``Collection.open_or_create``) and reads of what it opened."""

    name: str
    metric: str

    @classmethod
    def open_or_create(cls: type[O], name: str, encoder: Any = None, **kw: Any) -> O:  # numpydoc ignore=GL08
        ...

    def close(self) -> None:  # numpydoc ignore=GL08
        ...


class _Updates(Protocol):
    """What ``update`` and ``modify`` read and write (``Collection`` has all of it)."""

    name: str
    metric: str

    def get(self, ids: Sequence[str] | None = None, missing: str = "error", *, where: dict[str, Any] | None = None,
            limit: int | None = None, offset: int | None = None,
            include: Sequence[str] | None = None) -> GetResult:  # numpydoc ignore=GL08
        ...

    def upsert(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: Any = None,
               metadata: Sequence[dict[str, Any]] | None = None, sources: Sequence[str | None] | None = None,
               contents: Sequence[str | None] | None = None) -> dict[str, int]:  # numpydoc ignore=GL08
        ...


def _space_of(metric: str) -> str:
    return {v: k for k, v in _SPACES.items()}[metric]


def _same_space(col: _Opens | _Updates, space: str, how: str) -> None:
    """Refuse another space than ``col``'s own: Chroma does not change an existing collection's distance function.

    Raises
    ------
    InputError
        When ``space`` is not the collection's metric.
    """
    if _SPACES[space] != col.metric:
        raise InputError(f"collection {col.name!r} exists with hnsw:space {_space_of(col.metric)!r} (metric "
                         f"{col.metric}), not {space!r}: {how} cannot change the distance function of an existing "
                         "collection (nor can Chroma); leave hnsw:space out, or drop the collection and create it "
                         "again")


class ChromaMethods:
    """Chroma's ``query``, ``peek``, ``update``, ``modify`` and ``get_or_create`` (a base of ``Collection``).

    See the module docstring.
    """

    @classmethod
    def get_or_create(cls: type[O], name: str, encoder: Any = None, *, metadata: dict[str, Any] | None = None,
                      **kw: Any) -> O:
        """Chroma's ``get_or_create_collection``: ``Collection.open_or_create`` with Chroma's ``metadata``.

        Parameters
        ----------
        name : str
            The collection's name.
        encoder : str, Encoder or None
            As for ``open_or_create`` (Chroma's embedding function).
        metadata : dict or None
            Chroma's collection metadata; ``{"hnsw:space": "cosine" | "ip" | "l2"}`` sets the metric of a new
            collection (cosine, dot, l2). None: the encoder's metric (cosine for the built-in text encoders; Chroma's
            own default is l2).
        **kw : Any
            ``open_or_create``'s keywords (``root``, ``backend``, ``index`` ...).

        Returns
        -------
        Collection
            The existing collection, or the new, empty one.

        Raises
        ------
        InputError
            For another key of ``metadata`` or an unknown space, and as ``open_or_create`` raises.
        TypeError
            For a space given both as ``metadata`` and as ``metric=``.
        """
        if metadata:
            bad = [k for k in metadata if k != "hnsw:space"]
            if bad:
                raise InputError(f"collection metadata {bad[0]!r} is not kept; only 'hnsw:space' (the metric) is "
                                 "taken, and item metadata goes with add(metadatas=...)")
            space = metadata["hnsw:space"]
            if space not in _SPACES:
                raise InputError(f"hnsw:space must be one of {', '.join(_SPACES)}, got {space!r}")
            if "metric" in kw:
                raise TypeError("got both metric= and metadata={'hnsw:space': ...}; pass one")
            kw["metric"] = _SPACES[space]
        col = cls.open_or_create(name, encoder, **kw)
        if metadata:
            try:
                _same_space(col, metadata["hnsw:space"], "get_or_create")
            except InputError:
                col.close()
                raise
        return col

    def modify(self: _Updates, name: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        """Chroma's ``Collection.modify``: only what leaves the collection as it is is taken.

        Parameters
        ----------
        name : str or None
            A new name: refused (export the collection and import it under the new name).
        metadata : dict or None
            Chroma's collection metadata: ``{"hnsw:space": ...}`` equal to the collection's own is accepted (as
            Chroma, a change of the distance function is refused); other keys are not kept, so refused.

        Raises
        ------
        InputError
            For a new name, another space, or another metadata key.
        """
        if name is not None and name != self.name:
            raise InputError(f"collections are not renamed in place: export {self.name!r} and import it under "
                             f"{name!r} (embedlab export / embedlab import), then drop the old one")
        for key, value in (metadata or {}).items():
            if key != "hnsw:space":
                raise InputError(f"collection metadata {key!r} is not kept; only 'hnsw:space' (the metric) is")
            if value not in _SPACES:
                raise InputError(f"hnsw:space must be one of {', '.join(_SPACES)}, got {value!r}")
            _same_space(self, value, "modify")

    def update(self: _Updates, ids: Sequence[str], embeddings: Any = None,
               metadatas: Sequence[dict[str, Any] | None] | None = None,
               documents: Sequence[Any] | None = None) -> None:
        """Chroma's ``Collection.update``: change stored items; what is not given stays.

        ``documents`` are re-encoded (their vectors replaced, unless ``embeddings`` are given too); ``embeddings``
        replace the vectors; ``metadatas`` are merged into each item's metadata as Chroma merges them (a key given
        as None is removed). Unlike Chroma, which logs and skips ids it does not hold, an unknown id is an error
        and nothing is written.

        Parameters
        ----------
        ids : sequence of str
            Ids of stored items.
        embeddings : array_like or None
            ``(n, dim)`` new vectors.
        metadatas : sequence of (dict or None) or None
            Per item, the keys to set (None: leave that item's metadata as it is).
        documents : sequence or None
            New items for the encoder (texts).

        Raises
        ------
        InputError
            For nothing to update, or lists of another length than ``ids``, and as ``upsert`` raises.
        UnknownKeyError
            For ids the collection does not hold (nothing is written).
        """
        ids = list(ids)
        if embeddings is None and metadatas is None and documents is None:
            raise InputError("update takes embeddings, metadatas or documents (what to change)")
        for what, given in (("metadatas", metadatas), ("documents", documents)):
            if given is not None and len(given) != len(ids):
                raise InputError(f"{len(given)} {what} for {len(ids)} ids; pass one per id")
        stored = self.get(ids, include=["metadatas", "documents", "embeddings"])  # UnknownKeyError, nothing written
        merged = None
        if metadatas is not None:
            merged = []
            for item, new in zip(stored, metadatas, strict=True):
                meta = dict(item.metadata or {})
                for key, value in (new or {}).items():
                    if value is None:
                        meta.pop(key, None)
                    else:
                        meta[key] = value
                merged.append(meta)
        if documents is not None:
            self.upsert(ids, list(documents), vectors=embeddings, metadata=merged)
        elif embeddings is not None:
            self.upsert(ids, vectors=embeddings, metadata=merged, contents=[it.content for it in stored])
        else:  # metadata alone: the stored vectors, so nothing is re-encoded
            self.upsert(ids, vectors=np.stack([it.vector for it in stored]), metadata=merged,
                        contents=[it.content for it in stored])

    def query(self: _Searchable, query_texts: str | Sequence[Any] | None = None,
              query_embeddings: Any = None, n_results: int = 10, where: dict[str, Any] | None = None,
              include: Sequence[str] | None = None) -> dict[str, Any]:
        """Chroma's ``query``: the ``n_results`` nearest items of each query, with Chroma's result dict.

        Parameters
        ----------
        query_texts : str or sequence or None
            Texts (or other items) for the collection's encoder; one string is one query.
        query_embeddings : array_like or None
            Vectors instead: ``(m, dim)`` or one ``(dim,)`` vector.
        n_results : int, default 10
            Hits per query (>= 1); fewer when fewer items match.
        where : dict or None
            A metadata filter (see ``search``).
        include : sequence of str or None
            What to fill in besides ids: of ``documents``, ``metadatas``, ``distances``, ``embeddings``
            (default Chroma's: metadatas, documents, distances).

        Returns
        -------
        dict
            ``ids``, ``documents``, ``metadatas``, ``distances`` (and ``embeddings``): one list per query, each
            nearest first; a key not included (and ``uris``, ``data``) is None. Distances are lower-is-closer in
            Chroma's convention: ``1 - cosine``, ``1 - dot``, or the squared L2 distance.

        Raises
        ------
        InputError
            For neither or both of ``query_texts`` and ``query_embeddings``, a bad ``n_results``, ``include`` or
            filter, and as ``search_many`` raises.
        DimensionError
            For vectors of the wrong width.
        """
        fields = check_include(include, INCLUDE_QUERY, _DEFAULT_QUERY)
        if (query_texts is None) == (query_embeddings is None):
            raise InputError("query takes query_texts or query_embeddings (one of them)")
        if query_texts is not None:
            queries: Any = [query_texts] if isinstance(query_texts, str) else list(query_texts)
        else:
            queries = np.asarray(query_embeddings, dtype=np.float32)
            queries = queries[None, :] if queries.ndim == 1 else queries
        hits = self.search_many(queries, k=check_k(n_results, "n_results"), where=where)
        ids = [[h.id for h in row] for row in hits]
        flat = list(dict.fromkeys(i for row in ids for i in row))
        docs = dict(zip(flat, self.contents(flat), strict=True)) if flat and "documents" in fields else {}
        vecs = {it.id: it.vector for it in self.get(flat)} if flat and "embeddings" in fields else {}
        return {
            "ids": ids,
            "embeddings": [[vecs[i] for i in row] for row in ids] if "embeddings" in fields else None,
            "documents": [[docs[i] for i in row] for row in ids] if "documents" in fields else None,
            "uris": None,
            "data": None,
            "metadatas": [[h.metadata or None for h in row] for row in hits] if "metadatas" in fields else None,
            "distances": ([[_distance(h.score, self.metric) for h in row] for row in hits]
                          if "distances" in fields else None),
            "included": fields,
        }

    def peek(self: _Searchable, limit: int = 10) -> GetResult:
        """Chroma's ``peek``: the first ``limit`` items, with their vectors, documents and metadata.

        Parameters
        ----------
        limit : int, default 10
            At most this many (>= 1), in write order.

        Returns
        -------
        GetResult
            As ``get`` returns it, with ``embeddings`` included.

        Raises
        ------
        InputError
            For a bad ``limit``.
        """
        return self.get(limit=limit, include=["embeddings", "documents", "metadatas"])


def _distance(score: float, metric: str) -> float:
    """Chroma's distance for an embedlab score (higher-is-better) in ``metric``."""
    if metric == "l2":
        return float(score) ** 2  # the score is the negated L2 distance; Chroma's l2 space is squared
    return 1.0 - float(score)  # cosine and ip (dot) spaces
