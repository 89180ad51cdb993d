"""What the LangChain and LlamaIndex adapters share: how texts go into a Collection, how the collection's own
encoder is recognised, and the exact negation of a filter (for the frameworks' NOT).

No framework is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..encoders import Encoder
from ..errors import InputError
from ..store import Collection
from ..store.filters import FIELD_OPS

#: Each field operator whose exact complement is another operator (embedlab's ``$ne`` is "not ``$eq``", and so
#: on, items without the key included); the range operators and ``$contains`` have none, since an item whose
#: value is missing or of another type passes neither the test nor its opposite.
_COMPLEMENT = {"$eq": "$ne", "$ne": "$eq", "$in": "$nin", "$nin": "$in"}


def collection_encoder_doc(collection: Collection) -> dict[str, Any]:
    """The collection's recorded encoder (``{"name", "dim", "metric", "fingerprint"}``; ``name`` None for a
    vectors-only collection), read without building the encoder."""
    return dict(collection.info()["encoder"])


def same_encoder(collection: Collection, encoder: Encoder) -> bool:
    """Whether ``encoder`` is the very model the collection was built with (same fingerprint)."""
    doc = collection_encoder_doc(collection)
    return bool(doc.get("name")) and doc.get("fingerprint") == encoder.fingerprint


def text_encoder_of(collection: Collection) -> Encoder:
    """The collection's own encoder, checked to embed text; InputError for a vectors-only collection."""
    enc = collection.encoder
    if enc is None:
        raise InputError(f"collection {collection.name!r} is vectors-only (no encoder of its own): pass an "
                         "embedding model to embed texts and queries with")
    if "text" not in enc.modalities:
        raise InputError(f"collection {collection.name!r} embeds {', '.join(enc.modalities)} with encoder "
                         f"{enc.name!r}, not text; pass an embedding model for texts")
    return enc


def write_texts(collection: Collection, ids: list[str], texts: list[str], metadata: list[dict[str, Any]],
                vectors: Sequence[Sequence[float]] | np.ndarray | None, sources: list[str | None] | None = None,
                batch_size: int = 64) -> None:
    """Upsert texts with their ids, metadata and sources in one commit.

    ``vectors`` None: the collection's encoder embeds the texts. With ``vectors`` (from the framework's embedding
    model) they are stored as given, with the texts as contents. Either way an id whose text is unchanged is
    skipped (metadata and source updated in place), and one whose text changed is rewritten even when its vector
    did not (an embedding model that truncates long texts gives the same vector for different tails).
    """
    sources = sources if sources is not None else [None] * len(ids)  # not the default: the text itself
    if vectors is None:
        text_encoder_of(collection)
        collection.upsert(ids, texts, metadata=metadata, sources=sources, batch_size=batch_size)
        return
    vecs = np.asarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 or len(vecs) != len(ids):
        raise InputError(f"got embeddings of shape {vecs.shape} for {len(ids)} texts; the embedding model must give "
                         "one vector per text")
    if collection_encoder_doc(collection).get("name"):
        text_encoder_of(collection)  # a text encoder: the texts are hashed as texts
        collection.upsert(ids, texts, vectors=vecs, metadata=metadata, sources=sources)
    else:
        # vectors-only: the items (what content hashes are taken of) are {"text": ...}, hashed as JSON; a bare
        # string would be hashed as a file's bytes when it names an existing file
        collection.upsert(ids, [{"text": t} for t in texts], vectors=vecs, metadata=metadata, sources=sources,
                          contents=texts)


def negate(where: dict[str, Any]) -> dict[str, Any]:
    """A filter that holds exactly where ``where`` does not (embedlab's filter language in, and out).

    ``$and`` / ``$or`` swap (De Morgan), and so do ``$eq`` / ``$ne``, ``$in`` / ``$nin`` and ``$exists``
    true / false; a range test (``$gt $gte $lt $lte``) or ``$contains`` has no exact opposite in the language
    (an item whose value is missing or of another type fails both) and is refused with an InputError naming it.
    """
    parts: list[dict[str, Any]] = []
    for key, cond in where.items():
        if key in ("$and", "$or"):
            flipped = "$or" if key == "$and" else "$and"
            parts.append({flipped: [negate(sub) for sub in cond]})
        elif key.startswith("$"):
            raise InputError(f"cannot negate the filter operator {key!r}")
        elif isinstance(cond, dict) and cond and all(isinstance(k, str) and k.startswith("$") for k in cond):
            ops = [{key: {op: value}} for op, value in cond.items()]
            parts.append(_negate_field(key, *next(iter(cond.items()))) if len(ops) == 1
                         else {"$or": [negate(o) for o in ops]})
        else:
            parts.append({key: {"$ne": cond}})
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _negate_field(key: str, op: str, value: Any) -> dict[str, Any]:
    if op == "$exists" and isinstance(value, bool):
        return {key: {"$exists": not value}}
    if op not in _COMPLEMENT:
        known = op in FIELD_OPS
        raise InputError(f"cannot negate {op!r} on {key!r} exactly: " + (
            "an item whose value is missing or of another type fails both the test and its opposite; write the "
            "opposite test itself (e.g. '$lte' for NOT '$gt'), or combine it with '$exists'" if known
            else "it is not an embedlab filter operator"))
    return {key: {_COMPLEMENT[op]: value}}
