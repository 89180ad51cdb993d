"""Hard negatives mined with the base encoder: texts that look like a query's answer but are not.

For each training pair, the corpus (the training positives themselves, a list of texts, or any ``TextSource`` such
as an open Collection: its stored contents) is ranked by the base encoder; candidates between ``min_rank`` and ``max_rank`` (1-based, the pair's own
positives skipped) are taken in order, unless they score within ``margin`` of the positive — those are likely
unlabelled true positives and are rejected (counted). Each pair gets up to ``n`` negatives.

    >>> pairs, report = mine_hard_negatives(train, enc, n=1)      # report: {"mined": ..., "rejected_by_margin": ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ...errors import InputError
from .cache import base_vectors
from .pairs import Pair

__all__ = ["TextSource", "corpus_texts", "mine_hard_negatives"]


@runtime_checkable
class TextSource(Protocol):
    """Where stored texts come from: ``ids()`` and ``contents(ids)`` (an open ``embedlab.Collection`` is one)."""

    def ids(self) -> list[str]: ...

    def contents(self, ids: Sequence[str]) -> list[str | None]: ...


def corpus_texts(corpus: Any, pairs: Sequence[Pair]) -> list[str]:
    """Candidate texts, each once.

    Parameters
    ----------
    corpus : None, TextSource or iterable of str
        None: the pairs' positives; a ``TextSource`` (an open Collection): its stored contents; else the texts.
    pairs : sequence of Pair

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        For a corpus with no text, or a bare string (pass ``Collection.open(name)`` or a list of texts).
    """
    if corpus is None:
        return list(dict.fromkeys(p.positive for p in pairs))
    if isinstance(corpus, str):
        raise InputError(f"the mining corpus {corpus!r} is a string; pass a list of texts or an open collection "
                         f"(embedlab.Collection.open({corpus!r}))")
    if isinstance(corpus, TextSource):
        ids = corpus.ids()
        texts = [t for t in corpus.contents(ids) if t] if ids else []
        if not texts:
            raise InputError("the collection holds no text contents to mine negatives from")
        return list(dict.fromkeys(texts))
    texts = [t for t in corpus if isinstance(t, str) and t.strip()]
    if not texts:
        raise InputError("the corpus to mine negatives from is empty")
    return list(dict.fromkeys(texts))


def mine_hard_negatives(pairs: Sequence[Pair], encoder: Any, n: int = 1, *, corpus: Any = None, min_rank: int = 3,
                        max_rank: int = 30, margin: float = 0.05, batch_size: int = 64, progress: bool = False
                        ) -> tuple[list[Pair], dict[str, int]]:
    """``pairs`` with up to ``n`` mined negatives appended to each, and the counts ``{"mined",
    "rejected_by_margin", "pairs_with_negatives", "pairs_without"}`` (see the module docstring)."""
    if n < 1:
        raise InputError(f"hard negatives per pair must be >= 1, got {n}")
    if not 1 <= min_rank <= max_rank:
        raise InputError(f"need 1 <= min_rank <= max_rank, got {min_rank}, {max_rank}")
    texts = corpus_texts(corpus, pairs)
    queries = list(dict.fromkeys(p.query for p in pairs))
    qv = base_vectors(encoder, queries, "query", batch_size=batch_size, progress=progress)
    dv = base_vectors(encoder, texts, "document", batch_size=batch_size, progress=progress)
    q_row = {q: i for i, q in enumerate(queries)}
    positives: dict[str, set[str]] = {}
    for p in pairs:
        positives.setdefault(p.query, set()).add(p.positive)
    pos_vecs = base_vectors(encoder, [p.positive for p in pairs], "document", batch_size=batch_size)
    depth = min(len(texts), max_rank + len(max(positives.values(), key=len)) + 1)
    out: list[Pair] = []
    mined = rejected = without = 0
    for i, p in enumerate(pairs):
        qvec = qv[q_row[p.query]]
        sims = dv @ qvec
        top = np.argpartition(-sims, depth - 1)[:depth] if depth < len(texts) else np.arange(len(texts))
        top = top[np.argsort(-sims[top], kind="stable")]
        pos_score = float(pos_vecs[i] @ qvec)
        skip = positives[p.query] | {p.query} | set(p.negatives)
        got: list[str] = []
        rank = 0
        for j in top:
            text = texts[j]
            if text in skip:
                continue
            rank += 1
            if rank < min_rank:
                continue
            if rank > max_rank or len(got) >= n:
                break
            if float(sims[j]) > pos_score - margin:
                rejected += 1
                continue
            got.append(text)
        mined += len(got)
        without += not got
        out.append(replace(p, negatives=tuple(p.negatives) + tuple(got)))
    return out, {"mined": mined, "rejected_by_margin": rejected, "pairs_with_negatives": len(pairs) - without,
                 "pairs_without": without}
