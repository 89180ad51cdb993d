"""LlamaIndex on embedlab: a ``BaseEmbedding`` over a local encoder and a vector store over a Collection.

    >>> from llama_index.core import Document, StorageContext, VectorStoreIndex
    >>> from embedlab import Collection
    >>> from embedlab.integrations.llamaindex import EmbedlabEmbedding, EmbedlabVectorStore
    >>> embed = EmbedlabEmbedding("use-multilingual")
    >>> store = EmbedlabVectorStore(Collection.open_or_create("li-notes", embed.encoder))
    >>> index = VectorStoreIndex.from_documents([Document(text="A train crosses the country.")], embed_model=embed,
    ...                                         storage_context=StorageContext.from_defaults(vector_store=store))
    >>> index.as_retriever(similarity_top_k=1).retrieve("고속 열차")[0].node.get_content()
    'A train crosses the country.'

``EmbedlabVectorStore`` stores each node as one collection item: the node id as the item's id, its text as the
content, its vector, and LlamaIndex's node metadata (the node's own metadata keys at the top level, where filters
see them, plus ``ref_doc_id`` and the serialised node) as the item's JSON metadata. A collection filled by
embedlab itself (``embedlab index``, ``Collection.add``) reads back as plain text nodes.

``MetadataFilters`` become embedlab filters (``store/filters.py``): ``==  !=  >  >=  <  <=  in  nin`` map to
``$eq $ne $gt $gte $lt $lte $in $nin``; ``contains`` to ``$contains`` (a list holds the value), ``any`` / ``all``
to ``$or`` / ``$and`` of ``$contains``, ``is_empty`` to "missing, null, ``""`` or ``[]``"; the conditions ``and``
/ ``or`` to ``$and`` / ``$or`` and ``not`` ("none of them holds") to the exact opposite filter. ``text_match`` and
``text_match_insensitive`` (substring tests), and ``not`` over a range or ``contains`` test, have no exact
equivalent and are refused with an ``InputError`` naming them, never ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from ..encoders import DEFAULT_ENCODER, Encoder
from ..encoders import encoder as build_encoder
from ..errors import InputError
from ..store import Collection, Item
from ..store import filters as embedlab_filters
from ._shared import collection_encoder_doc, negate, text_encoder_of, write_texts

__all__ = ["EmbedlabEmbedding", "EmbedlabVectorStore", "to_where"]

_QUERY_KEYWORDS = ("mmr_threshold", "mmr_prefetch_k", "mmr_prefetch_factor", "ef", "nprobe", "rescore")
_SIMPLE = {FilterOperator.EQ: "$eq", FilterOperator.NE: "$ne", FilterOperator.GT: "$gt",
           FilterOperator.GTE: "$gte", FilterOperator.LT: "$lt", FilterOperator.LTE: "$lte",
           FilterOperator.IN: "$in", FilterOperator.NIN: "$nin", FilterOperator.CONTAINS: "$contains"}


class EmbedlabEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model computed by an embedlab encoder in this process (no server).

    Texts are embedded with the encoder's document role and queries with its query role (they differ for
    asymmetric encoders such as ``e5-small-multilingual``).

    Parameters
    ----------
    encoder : str or Encoder
        A registered encoder name (default ``"use-multilingual"``), a model folder, or an Encoder instance.
    embed_batch_size : int
        Texts per model call (LlamaIndex batches by it too).
    normalize : bool
        Return unit-length vectors.
    **kwargs : Any
        ``BaseEmbedding``'s other settings (``callback_manager``, ``num_workers`` ...).
    """

    normalize: bool = True
    _encoder: Encoder = PrivateAttr()
    _lock: threading.Lock = PrivateAttr()

    def __init__(self, encoder: str | Encoder = DEFAULT_ENCODER, *, embed_batch_size: int = 64,
                 normalize: bool = True, **kwargs: Any) -> None:
        enc = encoder if isinstance(encoder, Encoder) else build_encoder(encoder)
        if "text" not in enc.modalities:
            raise InputError(f"encoder {enc.name!r} embeds {', '.join(enc.modalities)}, not text")
        super().__init__(model_name=enc.name, embed_batch_size=embed_batch_size, **kwargs)
        self.normalize = normalize
        self._encoder = enc
        self._lock = threading.Lock()

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under.

        Returns
        -------
        str
            ``"EmbedlabEmbedding"``.
        """
        return "EmbedlabEmbedding"

    @property
    def encoder(self) -> Encoder:
        """The embedlab encoder.

        Returns
        -------
        Encoder
            The encoder this model runs.
        """
        return self._encoder

    def _embed(self, texts: list[str], query: bool) -> list[list[float]]:
        with self._lock:  # LlamaIndex's async calls run in threads; model runtimes are not all re-entrant
            fn = self._encoder.encode_queries if query else self._encoder.encode_documents
            out = fn(texts, batch_size=max(1, min(len(texts), self.embed_batch_size)), normalize=self.normalize)
        return out.tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query], True)[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text], False)[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), False) if texts else []


def to_where(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """LlamaIndex ``MetadataFilters`` as an embedlab filter (``where``), or None when there are none.

    Parameters
    ----------
    filters : MetadataFilters or None
        Filters, possibly nested, with conditions ``and`` / ``or`` / ``not``.

    Returns
    -------
    dict or None
        The embedlab filter.

    Raises
    ------
    InputError
        For ``text_match`` / ``text_match_insensitive``, ``not`` over a test with no exact opposite, or a value
        an operator cannot take (an empty ``in`` list, a non-list ``any``/``all``).
    """
    if filters is None or not filters.filters:
        return None
    parts = [to_where(f) if isinstance(f, MetadataFilters) else _one(f) for f in filters.filters]
    subs = [p for p in parts if p is not None]
    if not subs:
        return None
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.NOT:  # LlamaIndex: none of the filters holds
        return negate(subs[0] if len(subs) == 1 else {"$or": subs})
    if len(subs) == 1:
        return subs[0]
    return {"$or" if condition == FilterCondition.OR else "$and": subs}


def _one(f: MetadataFilter) -> dict[str, Any]:
    op, key, value = f.operator, f.key, f.value
    if op in (FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE):
        raise InputError(f"the LlamaIndex filter operator {op.value!r} (FilterOperator.{op.name}, a substring "
                         f"match on {key!r}) has no embedlab equivalent: embedlab filters compare whole values")
    if op == FilterOperator.IS_EMPTY:
        return {"$or": [{key: {"$eq": None}}, {key: {"$eq": ""}}, {key: {"$eq": []}}]}
    if op in (FilterOperator.IN, FilterOperator.NIN, FilterOperator.ANY, FilterOperator.ALL):
        if not isinstance(value, list) or not value:
            raise InputError(f"the LlamaIndex filter operator {op.value!r} on {key!r} needs a non-empty list of "
                             f"values, got {value!r}")
    if op == FilterOperator.ANY:
        return {"$or": [{key: {"$contains": v}} for v in value]}  # type: ignore[union-attr]
    if op == FilterOperator.ALL:
        return {"$and": [{key: {"$contains": v}} for v in value]}  # type: ignore[union-attr]
    if op not in _SIMPLE:  # an operator added to LlamaIndex after this was written
        raise InputError(f"the LlamaIndex filter operator {op.value!r} (FilterOperator.{op.name}) is not supported "
                         "by embedlab")
    return {key: {_SIMPLE[op]: value}}


def _settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(kwargs) - set(_QUERY_KEYWORDS))
    if unknown:
        raise InputError(f"unknown query keyword(s) {unknown} for EmbedlabVectorStore; it takes "
                         f"{', '.join(_QUERY_KEYWORDS)}")
    return kwargs


def _and(*parts: dict[str, Any] | None) -> dict[str, Any] | None:
    subs = [p for p in parts if p is not None]
    return None if not subs else subs[0] if len(subs) == 1 else {"$and": subs}


class EmbedlabVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store over an embedlab ``Collection`` (local or PostgreSQL backend).

    Parameters
    ----------
    collection : Collection
        An open collection. Nodes arrive with the vectors of the index's embedding model (use
        ``EmbedlabEmbedding`` of the collection's encoder, or a vectors-only collection of that model's width);
        a node without a vector is embedded by the collection's own encoder.
    **kwargs : Any
        ``BasePydanticVectorStore``'s fields.
    """

    stores_text: bool = True
    flat_metadata: bool = False
    _collection: Collection = PrivateAttr()

    def __init__(self, collection: Collection, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._collection = collection

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under.

        Returns
        -------
        str
            ``"EmbedlabVectorStore"``.
        """
        return "EmbedlabVectorStore"

    @property
    def client(self) -> Collection:
        """The collection.

        Returns
        -------
        Collection
            The collection this store reads and writes.
        """
        return self._collection

    # ------------------------------------------------------------------ writes
    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upsert nodes in one commit (an existing node id is replaced).

        Parameters
        ----------
        nodes : sequence of BaseNode
            Nodes, with their embeddings (or all without, for a collection with an encoder).
        **add_kwargs : Any
            Nothing is taken.

        Returns
        -------
        list of str
            The node ids, in order.

        Raises
        ------
        InputError
            For nodes some with and some without embeddings, nodes without embeddings for a vectors-only collection,
            metadata that is not JSON, or keywords.
        """
        if add_kwargs:
            raise InputError(f"unknown keyword(s) {sorted(add_kwargs)} for EmbedlabVectorStore.add")
        if not nodes:
            return []
        ids = [n.node_id for n in nodes]
        texts = [n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes]
        metas = [node_to_metadata_dict(n, remove_text=True, flat_metadata=self.flat_metadata) for n in nodes]
        sources = [n.metadata.get("file_path") if isinstance(n.metadata.get("file_path"), str) else None
                   for n in nodes]  # what LlamaIndex's readers name a node's file
        with_vectors = [n.embedding is not None for n in nodes]
        if all(with_vectors):
            vectors = [n.embedding for n in nodes if n.embedding is not None]
            write_texts(self._collection, ids, texts, metas, vectors, sources)
        elif not any(with_vectors):
            write_texts(self._collection, ids, texts, metas, None, sources)
        else:
            raise InputError("some nodes carry embeddings and some do not; embed all of them (or none, for a "
                             "collection with an encoder)")
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of one source document.

        Parameters
        ----------
        ref_doc_id : str
            The document's id (``node.ref_doc_id``).
        **delete_kwargs : Any
            Nothing is taken.

        Raises
        ------
        InputError
            For keywords.
        """
        if delete_kwargs:
            raise InputError(f"unknown keyword(s) {sorted(delete_kwargs)} for EmbedlabVectorStore.delete")
        self._collection.delete(where={"ref_doc_id": ref_doc_id})

    def delete_nodes(self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None,
                     **delete_kwargs: Any) -> None:
        """Delete nodes by id and/or filter (both: the listed nodes that match); neither deletes every node.

        Parameters
        ----------
        node_ids : list of str or None
            Node ids (unknown ones are ignored).
        filters : MetadataFilters or None
            Metadata filters.
        **delete_kwargs : Any
            Nothing is taken.

        Raises
        ------
        InputError
            For a filter embedlab cannot honour, or keywords.
        """
        if delete_kwargs:
            raise InputError(f"unknown keyword(s) {sorted(delete_kwargs)} for EmbedlabVectorStore.delete_nodes")
        where = to_where(filters)
        if node_ids is None:
            if where is not None:
                self._collection.delete(where=where)
            else:
                self.clear()
            return
        ids = [it.id for it in self._items(node_ids, where)]
        if ids:
            self._collection.delete(ids)

    def clear(self) -> None:
        """Delete every node."""
        ids = self._collection.ids()
        if ids:
            self._collection.delete(ids)

    # ------------------------------------------------------------------ reads
    def _items(self, node_ids: list[str], where: dict[str, Any] | None) -> list[Item]:
        wanted = list(dict.fromkeys(node_ids))
        items = self._collection.get(wanted, missing="skip") if wanted else []
        if where is None:
            return items
        flt = embedlab_filters.parse(where)
        return [it for it in items if embedlab_filters.matches(flt, it.metadata)]

    def get_nodes(self, node_ids: list[str] | None = None,
                  filters: MetadataFilters | None = None) -> list[BaseNode]:
        """Nodes by id and/or filter (both: the listed nodes that match; neither: every node).

        Parameters
        ----------
        node_ids : list of str or None
            Node ids (unknown ones are left out).
        filters : MetadataFilters or None
            Metadata filters.

        Returns
        -------
        list of BaseNode
            In the order asked (by filter alone: in write order), with their text, metadata and embedding.
        """
        where = to_where(filters)
        if node_ids is None:
            node_ids = self._collection.ids(where)
            where = None
        return [_node(it) for it in self._items(node_ids, where)]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The nodes nearest to a query vector (or text), best first.

        Parameters
        ----------
        query : VectorStoreQuery
            ``query_embedding`` (or ``query_str`` for a collection with an encoder), ``similarity_top_k``,
            ``filters``, ``doc_ids`` (only nodes of these documents), ``node_ids`` (only these nodes, scored
            exactly; an empty list, as ``VectorStoreIndex.as_retriever`` passes it for stores that keep the text,
            restricts nothing), ``mode`` ``default`` or ``mmr`` (``mmr_threshold``).
        **kwargs : Any
            ``mmr_threshold``, ``mmr_prefetch_k`` / ``mmr_prefetch_factor`` (candidates for MMR; default 4 x
            top-k), and embedlab's ``ef``, ``nprobe``, ``rescore``.

        Returns
        -------
        VectorStoreQueryResult
            ``nodes``, ``similarities`` (the collection's scores, higher is better) and ``ids``.

        Raises
        ------
        InputError
            For another query mode (named), a filter embedlab cannot honour, no query vector for a vectors-only
            collection, or unknown keywords.
        """
        settings = dict(_settings(kwargs))
        if query.mode not in (VectorStoreQueryMode.DEFAULT, VectorStoreQueryMode.MMR):
            raise InputError(f"query mode {query.mode.value!r} is not supported by EmbedlabVectorStore; use "
                             "'default' or 'mmr' (keyword and hybrid search: embedlab.hybrid_search)")
        k = query.similarity_top_k
        where = _and(to_where(query.filters),
                     {"ref_doc_id": {"$in": list(query.doc_ids)}} if query.doc_ids else None)
        qvec = self._query_vector(query)
        mmr = query.mode == VectorStoreQueryMode.MMR
        threshold = settings.pop("mmr_threshold", query.mmr_threshold)
        prefetch = settings.pop("mmr_prefetch_k", None) or int(k * settings.pop("mmr_prefetch_factor", 4.0))
        settings.pop("mmr_prefetch_factor", None)
        if query.node_ids:  # [] is what VectorStoreIndex.as_retriever passes for a store that keeps texts: none
            items, scores = self._score(qvec, self._items(query.node_ids, where))
            order = np.argsort(-scores, kind="stable")[: max(k, prefetch) if mmr else k]
            items, sims = [items[i] for i in order], [float(scores[i]) for i in order]
        else:
            hits = self._collection.search(qvec, k=max(k, prefetch) if mmr else k, where=where, **settings)
            found = {it.id: it for it in self._collection.get([h.id for h in hits], missing="skip")} if hits else {}
            items = [found[h.id] for h in hits if h.id in found]
            sims = [h.score for h in hits if h.id in found]
        if mmr and items:
            q = qvec[: self._collection.dim].tolist()
            sims, ids = get_top_k_mmr_embeddings(q, [it.vector.tolist() for it in items], similarity_top_k=k,
                                                 embedding_ids=list(range(len(items))), mmr_threshold=threshold)
            items = [items[i] for i in ids]
        nodes = [_node(it, with_vector=False) for it in items]
        return VectorStoreQueryResult(nodes=nodes, similarities=[float(s) for s in sims],
                                      ids=[it.id for it in items])

    def _query_vector(self, query: VectorStoreQuery) -> np.ndarray:
        if query.query_embedding is not None:
            return np.asarray(query.query_embedding, dtype=np.float32)
        if not query.query_str:
            raise InputError("the query has neither query_embedding nor query_str")
        if not collection_encoder_doc(self._collection).get("name"):
            raise InputError(f"collection {self._collection.name!r} is vectors-only: pass query_embedding")
        enc = text_encoder_of(self._collection)
        return enc.encode_queries([query.query_str], batch_size=1, normalize=self._collection.metric == "cosine")[0]

    def _score(self, qvec: np.ndarray, items: list[Item]) -> tuple[list[Item], np.ndarray]:
        """Exact scores of some items, as the collection computes them (higher is better)."""
        if not items:
            return [], np.empty(0, np.float32)
        q = qvec[: self._collection.dim].astype(np.float32)
        mat = np.stack([it.vector for it in items])
        metric = self._collection.metric
        if metric == "cosine":
            q = q / max(float(np.linalg.norm(q)), 1e-12)
            return items, mat @ q
        if metric == "dot":
            return items, mat @ q
        return items, -np.linalg.norm(mat - q, axis=1)


def _node(item: Item, with_vector: bool = True) -> BaseNode:
    """A stored item as a LlamaIndex node: as it was added through LlamaIndex, else a plain text node."""
    vector = item.vector.tolist() if with_vector else None
    if "_node_content" in item.metadata:
        node = metadata_dict_to_node(item.metadata, text=item.content or "")
        node.embedding = vector
        return node
    return TextNode(id_=item.id, text=item.content or "", metadata=dict(item.metadata), embedding=vector)
