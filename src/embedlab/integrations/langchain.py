"""LangChain on embedlab: an ``Embeddings`` over a local encoder and a ``VectorStore`` over a Collection.

    >>> from embedlab.integrations.langchain import EmbedlabEmbeddings, EmbedlabVectorStore
    >>> store = EmbedlabVectorStore.from_texts(["A train crosses the country.", "A car has four wheels."],
    ...                                        EmbedlabEmbeddings(), metadatas=[{"kind": "rail"}, {"kind": "road"}],
    ...                                        collection_name="notes")
    >>> store.similarity_search("고속 열차", k=1, filter={"kind": {"$in": ["rail", "sea"]}})[0].page_content
    'A train crosses the country.'

``EmbedlabEmbeddings`` runs an embedlab encoder in this process (no server): documents with the encoder's document
role, queries with its query role (they differ for asymmetric encoders such as ``e5-small-multilingual``).

``EmbedlabVectorStore`` keeps LangChain documents in a Collection on either backend: the page content as the
item's content, the metadata as its JSON metadata (a ``"source"`` in it, as LangChain's document loaders set it,
also as the item's source), the document id as its id. Adding an existing id replaces that document; one whose
text and metadata are unchanged is not written again. A collection bound to an encoder
embeds texts and queries itself (and stays usable from the CLI and the HTTP API); a vectors-only collection
(``Collection.create(name, dim=...)``) stores what any LangChain ``Embeddings`` computes. ``filter=`` takes
embedlab's metadata filter language (``{"year": {"$gte": 2020}}``, ``$and``/``$or``; see ``store/filters.py``);
an unknown operator, a callable filter or an unknown search keyword is an ``InputError`` naming it, never
ignored. ``EmbedlabTranslator`` turns LangChain's structured queries (self-querying retrievers) into such filters.
Scores are the collection's, higher is better (cosine, dot, or the negated L2 distance). The async methods are
LangChain's, running these in its executor.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.structured_query import Comparator, Comparison, Operation, Operator, StructuredQuery, Visitor
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from ..encoders import DEFAULT_ENCODER, Encoder
from ..encoders import encoder as build_encoder
from ..errors import InputError
from ..store import Collection, Hit
from ._shared import negate, same_encoder, text_encoder_of, write_texts

__all__ = ["EmbedlabEmbeddings", "EmbedlabVectorStore", "EmbedlabTranslator"]

_SEARCH_KEYWORDS = ("ef", "nprobe", "rescore")  # embedlab's per-call search settings, passed through


class EmbedlabEmbeddings(Embeddings):
    """LangChain ``Embeddings`` computed by an embedlab encoder in this process.

    Parameters
    ----------
    encoder : str or Encoder
        A registered encoder name (``"use-multilingual"``, the default; ``"e5-small-multilingual"`` ...), a model
        folder, or an Encoder instance.
    batch_size : int
        Texts per model call (memory, not results).
    normalize : bool
        Return unit-length vectors (cosine as a dot product).

    Attributes
    ----------
    encoder : Encoder
        The encoder; calls from several threads (LangChain's async methods) take turns on it.
    """

    def __init__(self, encoder: str | Encoder = DEFAULT_ENCODER, *, batch_size: int = 64,
                 normalize: bool = True) -> None:
        self.encoder = encoder if isinstance(encoder, Encoder) else build_encoder(encoder)
        if "text" not in self.encoder.modalities:
            raise InputError(f"encoder {self.encoder.name!r} embeds {', '.join(self.encoder.modalities)}, not "
                             "text; LangChain embeds texts")
        self.batch_size, self.normalize = batch_size, normalize
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts to be stored and searched in (the encoder's document role).

        Parameters
        ----------
        texts : list of str
            Non-empty texts.

        Returns
        -------
        list of list of float
            One vector per text, in order.

        Raises
        ------
        InputError
            For an empty or non-text item (naming its position).
        """
        if not texts:
            return []
        with self._lock:
            out = self.encoder.encode_documents(list(texts), batch_size=self.batch_size, normalize=self.normalize)
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (the encoder's query role).

        Parameters
        ----------
        text : str
            A non-empty text.

        Returns
        -------
        list of float
            Its vector.
        """
        with self._lock:
            out = self.encoder.encode_queries([text], batch_size=1, normalize=self.normalize)
        return out[0].tolist()


def _where(flt: Any) -> dict[str, Any] | None:
    if flt is None:
        return None
    if callable(flt):
        raise InputError("a callable filter cannot run inside the collection's search (the k best would be lost); "
                         "pass a dict in embedlab's filter language, e.g. {'lang': 'en', 'year': {'$gte': 2020}}")
    if not isinstance(flt, dict):
        raise InputError(f"filter must be a dict in embedlab's filter language, got {type(flt).__name__}")
    return flt or None


def _ids(ids: Sequence[str | None] | None, n: int) -> list[str]:
    """The ids given, with a new UUID where one is missing (None), as LangChain's ``add_documents`` hands them."""
    return [uuid.uuid4().hex if i is None else i for i in (ids if ids is not None else [None] * n)]


def _search_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(kwargs) - set(_SEARCH_KEYWORDS))
    if unknown:
        raise InputError(f"unknown search keyword(s) {unknown} for EmbedlabVectorStore; it takes filter= (embedlab's "
                         f"filter language) and {', '.join(_SEARCH_KEYWORDS)}")
    return {k: v for k, v in kwargs.items() if v is not None}


class EmbedlabVectorStore(VectorStore):
    """A LangChain ``VectorStore`` over an embedlab ``Collection`` (local or PostgreSQL backend).

    Parameters
    ----------
    collection : Collection
        An open collection: bound to a text encoder (it embeds documents and queries itself), or vectors-only
        (``Collection.create(name, dim=...)``), then ``embedding`` is required.
    embedding : Embeddings or None
        The embedding model for a vectors-only collection. For a collection with an encoder: None, or an
        ``EmbedlabEmbeddings`` over that same model (another model is refused: its vectors would not be
        comparable with the collection's).

    Raises
    ------
    InputError
        For a vectors-only collection without ``embedding``, a collection whose encoder does not embed text, or an
        ``embedding`` other than the collection's own encoder.
    """

    def __init__(self, collection: Collection, embedding: Embeddings | None = None) -> None:
        self.collection = collection
        self._embedding: Embeddings | None
        if collection.info()["encoder"].get("name"):  # the collection embeds (and stays usable from the CLI/HTTP)
            if embedding is not None and not (isinstance(embedding, EmbedlabEmbeddings)
                                              and same_encoder(collection, embedding.encoder)):
                raise InputError(f"collection {collection.name!r} embeds with its own encoder; pass no embedding (or "
                                 "EmbedlabEmbeddings of that encoder), or use a vectors-only collection "
                                 "(Collection.create(name, dim=...)) for another embedding model")
            self._embedding = embedding
            self._external = False
        else:
            if embedding is None:
                raise InputError(f"collection {collection.name!r} is vectors-only: pass the embedding model that "
                                 "computes its vectors")
            self._embedding, self._external = embedding, True

    @property
    def embeddings(self) -> Embeddings:
        """The embedding model: the one given, or ``EmbedlabEmbeddings`` over the collection's encoder.

        Returns
        -------
        Embeddings
            What embeds documents and queries for this store.
        """
        if self._embedding is None:
            self._embedding = EmbedlabEmbeddings(text_encoder_of(self.collection))
        return self._embedding

    # ------------------------------------------------------------------ writes
    def add_texts(self, texts: Iterable[str], metadatas: list[dict[str, Any]] | None = None, *,
                  ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        """Embed and upsert texts in one commit: a new id is added, an existing one replaced.

        Parameters
        ----------
        texts : iterable of str
            The texts (page contents).
        metadatas : list of dict or None
            JSON metadata per text (what ``filter`` matches).
        ids : list of (str or None), optional
            Ids per text; a missing one (None) gets a new UUID.
        **kwargs : Any
            ``batch_size`` (texts per encoder call, for a collection with an encoder); nothing else.

        Returns
        -------
        list of str
            The ids, in order.

        Raises
        ------
        InputError
            For mismatched lengths, duplicate ids in one call, metadata that is not JSON, or unknown keywords.
        """
        batch_size = kwargs.pop("batch_size", 64)
        if kwargs:
            raise InputError(f"unknown keyword(s) {sorted(kwargs)} for EmbedlabVectorStore.add_texts")
        return self._add(list(texts), metadatas, ids, None, batch_size)

    def _add(self, texts: list[str], metadatas: list[dict[str, Any]] | None, ids: Sequence[str | None] | None,
             vectors: list[list[float]] | None, batch_size: int = 64) -> list[str]:
        if not texts:
            return []
        if ids is not None and len(ids) != len(texts):
            raise InputError(f"got {len(ids)} ids for {len(texts)} texts; pass one id (or None) per text")
        if metadatas is not None and len(metadatas) != len(texts):
            raise InputError(f"got {len(metadatas)} metadata dicts for {len(texts)} texts; pass one per text")
        out, metas = _ids(ids, len(texts)), [dict(m or {}) for m in (metadatas or [{}] * len(texts))]
        if vectors is None and self._external:
            vectors = self.embeddings.embed_documents(texts)
        sources = [m["source"] if isinstance(m.get("source"), str) else None for m in metas]  # loaders' file
        write_texts(self.collection, out, texts, metas, vectors, sources, batch_size)
        return out

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete documents by id (unknown ids are ignored), by ``filter=``, or all of them.

        Parameters
        ----------
        ids : list of str or None
            The ids to delete; None with no ``filter``: every document (LangChain's convention).
        **kwargs : Any
            ``filter``: delete the documents whose metadata matches it instead.

        Returns
        -------
        bool or None
            True.

        Raises
        ------
        InputError
            For a bad filter, both ``ids`` and ``filter``, or unknown keywords.
        """
        where = _where(kwargs.pop("filter", None))
        if kwargs:
            raise InputError(f"unknown keyword(s) {sorted(kwargs)} for EmbedlabVectorStore.delete")
        if ids is not None and where is not None:
            raise InputError("pass ids or filter= to delete, not both")
        if where is not None:
            self.collection.delete(where=where)
        elif ids is None:
            every = self.collection.ids()
            if every:
                self.collection.delete(every)
        elif ids:
            self.collection.delete(list(dict.fromkeys(ids)))
        return True

    # ------------------------------------------------------------------ reads
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents stored under some ids, in the order asked; unknown ids are left out.

        Parameters
        ----------
        ids : sequence of str
            The ids wanted (repeats are returned once).

        Returns
        -------
        list of Document
            With ``id``, ``page_content`` (the stored content, ``""`` when none) and ``metadata``.
        """
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        return [Document(id=it.id, page_content=it.content or "", metadata=it.metadata)
                for it in self.collection.get(wanted, missing="skip")]

    def _hits(self, query: str | list[float] | np.ndarray, k: int, flt: Any,
              kwargs: dict[str, Any]) -> list[Hit]:
        settings = _search_settings(kwargs)
        where = _where(flt)
        if isinstance(query, str):
            if self._external:
                query = self.embeddings.embed_query(query)
            else:
                text_encoder_of(self.collection)
        return self.collection.search(query, k=k, where=where, **settings)

    def _documents(self, hits: list[Hit]) -> list[tuple[Document, float, np.ndarray]]:
        """The stored documents of some hits, with their scores and vectors (hits deleted meanwhile dropped)."""
        if not hits:
            return []
        items = {it.id: it for it in self.collection.get([h.id for h in hits], missing="skip")}
        return [(Document(id=h.id, page_content=items[h.id].content or "", metadata=items[h.id].metadata),
                 h.score, items[h.id].vector) for h in hits if h.id in items]

    def similarity_search(self, query: str, k: int = 4, filter: dict[str, Any] | None = None,
                          **kwargs: Any) -> list[Document]:
        """The ``k`` documents nearest to a query, best first.

        Parameters
        ----------
        query : str
            The query text.
        k : int
            How many documents (fewer when fewer match).
        filter : dict or None
            A metadata filter in embedlab's language (``{"kind": "rail"}``, ``{"year": {"$gte": 2020}}``).
        **kwargs : Any
            Search settings: ``ef``, ``nprobe``, ``rescore`` (see ``Collection.search``).

        Returns
        -------
        list of Document
            Best first.
        """
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_with_score(self, query: str, k: int = 4,
                                     filter: dict[str, Any] | None = None,
                                     **kwargs: Any) -> list[tuple[Document, float]]:
        """The ``k`` nearest documents with their scores (higher is better), best first.

        Parameters
        ----------
        query : str
            The query text.
        k : int
            How many documents.
        filter : dict or None
            A metadata filter in embedlab's language.
        **kwargs : Any
            Search settings: ``ef``, ``nprobe``, ``rescore``.

        Returns
        -------
        list of (Document, float)
            The collection's scores: cosine, dot, or the negated L2 distance.
        """
        return [(d, s) for d, s, _ in self._documents(self._hits(query, k, filter, kwargs))]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4,
                                    filter: dict[str, Any] | None = None,
                                    **kwargs: Any) -> list[Document]:
        """The ``k`` documents nearest to a query vector, best first.

        Parameters
        ----------
        embedding : list of float
            The query vector (from this store's embedding model).
        k : int
            How many documents.
        filter : dict or None
            A metadata filter in embedlab's language.
        **kwargs : Any
            Search settings: ``ef``, ``nprobe``, ``rescore``.

        Returns
        -------
        list of Document
            Best first.
        """
        return [d for d, _, _ in self._documents(self._hits(list(embedding), k, filter, kwargs))]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Scores to relevance in [0, 1].

        Cosine (and dot of unit vectors) as ``(1 + s) / 2``; L2 as LangChain's ``1 - distance / sqrt(2)``.
        """
        if self.collection.metric == "l2":
            return lambda score: 1.0 + score / math.sqrt(2)  # the score is the negated distance
        return lambda score: (1.0 + score) / 2.0

    def max_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
                                      filter: dict[str, Any] | None = None,
                                      **kwargs: Any) -> list[Document]:
        """Documents near the query and unlike each other (maximal marginal relevance).

        Parameters
        ----------
        query : str
            The query text.
        k : int
            How many documents to return.
        fetch_k : int
            How many nearest documents to choose them from.
        lambda_mult : float
            From 0 (most diverse) to 1 (most relevant).
        filter : dict or None
            A metadata filter in embedlab's language.
        **kwargs : Any
            Search settings: ``ef``, ``nprobe``, ``rescore``.

        Returns
        -------
        list of Document
            In the order MMR chose them.
        """
        if self._external:
            qvec = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        else:
            enc = text_encoder_of(self.collection)
            qvec = enc.encode_queries([query], batch_size=1, normalize=self.collection.metric == "cosine")[0]
        return self.max_marginal_relevance_search_by_vector(qvec.tolist(), k, fetch_k, lambda_mult, filter, **kwargs)

    def max_marginal_relevance_search_by_vector(self, embedding: list[float], k: int = 4, fetch_k: int = 20,
                                                lambda_mult: float = 0.5,
                                                filter: dict[str, Any] | None = None,
                                                **kwargs: Any) -> list[Document]:
        """Maximal marginal relevance from a query vector.

        Parameters
        ----------
        embedding : list of float
            The query vector.
        k : int
            How many documents to return.
        fetch_k : int
            How many nearest documents to choose them from.
        lambda_mult : float
            From 0 (most diverse) to 1 (most relevant).
        filter : dict or None
            A metadata filter in embedlab's language.
        **kwargs : Any
            Search settings: ``ef``, ``nprobe``, ``rescore``.

        Returns
        -------
        list of Document
            In the order MMR chose them.
        """
        found = self._documents(self._hits(list(embedding), max(fetch_k, k), filter, kwargs))
        if not found:
            return []
        q = np.asarray(embedding, dtype=np.float32)[: self.collection.dim]  # a Matryoshka query: the stored prefix
        chosen = maximal_marginal_relevance(q, [v.tolist() for _, _, v in found], lambda_mult=lambda_mult, k=k)
        return [found[i][0] for i in chosen]

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings | None = None,
                   metadatas: list[dict[str, Any]] | None = None, *, ids: list[str] | None = None,
                   collection_name: str = "langchain", backend: str | None = None, root: str | None = None,
                   **kwargs: Any) -> EmbedlabVectorStore:
        """Open (or create) a collection and add texts to it.

        Parameters
        ----------
        texts : list of str
            The texts to add (may be empty).
        embedding : Embeddings or None
            ``EmbedlabEmbeddings`` (or None, the default encoder): a collection bound to that encoder, which
            embeds by itself from then on; any other LangChain ``Embeddings``: a vectors-only collection of its
            width.
        metadatas : list of dict or None
            JSON metadata per text.
        ids : list of (str or None), optional
            Ids per text (new UUIDs where missing).
        collection_name : str
            The collection's name; an existing one is opened and added to.
        backend : str or None
            None (the default backend), ``"local"``, or a ``postgresql://`` URL.
        root : str or None
            The local backend's folder of collections.
        **kwargs : Any
            ``Collection.create`` settings for a new collection (``metric``, ``index``, ``index_params`` ...).

        Returns
        -------
        EmbedlabVectorStore
            Over the collection.
        """
        place: dict[str, Any] = {"backend": backend, "root": root}
        vectors: list[list[float]] | None = None
        if embedding is None or isinstance(embedding, EmbedlabEmbeddings):
            enc = embedding.encoder if embedding is not None else build_encoder(DEFAULT_ENCODER)
            coll = Collection.open_or_create(collection_name, enc, **place, **kwargs)
        else:
            vectors = embedding.embed_documents(list(texts)) if texts else []
            dim = len(vectors[0]) if vectors else len(embedding.embed_query("dimension"))
            coll = Collection.open_or_create(collection_name, dim=dim, **place, **kwargs)
        try:
            store = cls(coll, embedding)
            store._add(list(texts), metadatas, ids, vectors)
        except BaseException:
            coll.close()
            raise
        return store


class EmbedlabTranslator(Visitor):
    """Turns LangChain's structured queries (self-querying retrievers) into embedlab filters.

    ``eq ne gt gte lt lte in nin`` map to the operators of the same name, ``and`` / ``or`` to ``$and`` / ``$or``,
    and ``not`` to the exact opposite filter (``$eq`` / ``$ne`` and ``$in`` / ``$nin`` swap, De Morgan for
    ``and`` / ``or``). ``contain`` and ``like`` (substring tests), and ``not`` over a range test, have no exact
    embedlab equivalent: an ``InputError`` names them.
    """

    def visit_operation(self, operation: Operation) -> dict[str, Any]:
        """An ``and`` / ``or`` / ``not`` of filters.

        Parameters
        ----------
        operation : Operation
            The operation.

        Returns
        -------
        dict
            The embedlab filter.
        """
        args = [arg.accept(self) for arg in operation.arguments]
        if operation.operator == Operator.NOT:
            return negate(args[0] if len(args) == 1 else {"$and": args})
        return {"$and" if operation.operator == Operator.AND else "$or": args}

    def visit_comparison(self, comparison: Comparison) -> dict[str, Any]:
        """One comparison of a metadata field.

        Parameters
        ----------
        comparison : Comparison
            The comparison.

        Returns
        -------
        dict
            The embedlab filter.

        Raises
        ------
        InputError
            For ``contain`` and ``like``, which embedlab's filters cannot express.
        """
        if comparison.comparator in (Comparator.CONTAIN, Comparator.LIKE):
            raise InputError(f"the LangChain comparator {comparison.comparator.value!r} (a substring test on "
                             f"{comparison.attribute!r}) has no embedlab filter: embedlab compares whole values "
                             "(eq ne gt gte lt lte in nin)")
        return {comparison.attribute: {f"${comparison.comparator.value}": comparison.value}}

    def visit_structured_query(self, structured_query: StructuredQuery) -> tuple[str, dict[str, Any]]:
        """The query text and the search keywords (``filter``) for ``EmbedlabVectorStore``.

        Parameters
        ----------
        structured_query : StructuredQuery
            The structured query.

        Returns
        -------
        tuple of (str, dict)
            The query and ``{"filter": ...}`` (empty without a filter).
        """
        if structured_query.filter is None:
            return structured_query.query, {}
        return structured_query.query, {"filter": structured_query.filter.accept(self)}
