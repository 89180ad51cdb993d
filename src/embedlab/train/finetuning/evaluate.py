"""Before/after evaluation of a fine-tune: recall@1/@10, MRR and nDCG@10 (``embedlab.evaluate.retrieval``) on the
validation pairs and on general-domain retention sets, so that a gain in the domain and any forgetting outside it
are both visible.

Each query ranks every distinct positive (and negative) text of its set; the relevant ones are its positives.
General-domain sets are built from what ships offline:

- ``names-ko-en``: Korean → English names of countries, languages, scripts and currencies from the machine's
  ``iso-codes`` gettext catalogues (``iso_*.mo``; general vocabulary, not software messages);
- ``news-en``: the first sentence of each news paragraph → the rest of it (gensim's ``lee_background.cor``, 299
  Australian news stories, when gensim is installed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...data_sources.gettext_pairs import catalogue_files, load_gettext_pairs
from ...errors import EmbedlabError, InputError
from ...evaluate.retrieval import retrieval_scores
from .pairs import Pair

__all__ = ["PairSplit", "index_pairs", "score_vectors", "general_sets", "truncate"]

DEPTH = 100


class PairSplit:
    """Pairs as retrieval: distinct ``queries``, distinct ``docs`` (positives, then negatives) and, per query, the
    rows of its relevant docs."""

    def __init__(self, queries: list[str], docs: list[str], relevant: list[list[int]]) -> None:
        self.queries, self.docs, self.relevant = queries, docs, relevant

    def first_relevant(self) -> np.ndarray:
        return np.asarray([r[0] for r in self.relevant], dtype=np.int64)


def index_pairs(pairs: Sequence[Pair]) -> PairSplit:
    """The retrieval view of ``pairs`` (see ``PairSplit``)."""
    q_row: dict[str, int] = {}
    d_row: dict[str, int] = {}
    relevant: list[list[int]] = []
    for p in pairs:
        d_row.setdefault(p.positive, len(d_row))
    for p in pairs:
        for n in p.negatives:
            d_row.setdefault(n, len(d_row))
    for p in pairs:
        if p.query not in q_row:
            q_row[p.query] = len(q_row)
            relevant.append([])
        rel = relevant[q_row[p.query]]
        if d_row[p.positive] not in rel:
            rel.append(d_row[p.positive])
    return PairSplit(list(q_row), list(d_row), relevant)


def truncate(vecs: np.ndarray, dim: int | None) -> np.ndarray:
    """The first ``dim`` columns, re-normalised (a Matryoshka prefix); all columns when ``dim`` is None."""
    out = vecs if dim is None or dim >= vecs.shape[1] else vecs[:, :dim]
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def score_vectors(query_vecs: np.ndarray, doc_vecs: np.ndarray, relevant: Sequence[Sequence[int]],
                  dim: int | None = None, chunk: int = 512) -> dict[str, float]:
    """``retrieval_scores`` (recall@1/@10, MRR@100, nDCG@1/@10) of exact cosine search of each query among all
    docs; ``dim`` scores a Matryoshka prefix."""
    qv, dv = truncate(np.asarray(query_vecs, np.float32), dim), truncate(np.asarray(doc_vecs, np.float32), dim)
    depth = min(DEPTH, len(dv))
    ranked: list[list[int]] = []
    for start in range(0, len(qv), chunk):
        sims = qv[start:start + chunk] @ dv.T
        top = np.argpartition(-sims, depth - 1, axis=1)[:, :depth] if depth < len(dv) else \
            np.tile(np.arange(len(dv)), (len(sims), 1))
        part = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        ranked.extend(np.take_along_axis(top, order, axis=1).tolist())
    scores = retrieval_scores(ranked, [list(r) for r in relevant], ks=(1, 10))
    return {k: round(float(v), 4) for k, v in scores.items() if k != "ndcg@1"}


def encode_split(split: PairSplit, encode_q: Callable[[list[str]], np.ndarray],
                 encode_d: Callable[[list[str]], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return encode_q(split.queries), encode_d(split.docs)


def _lee_pairs(limit: int) -> list[Pair]:
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data" / "lee_background.cor"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text("utf-8", errors="replace").splitlines():
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", line.strip(), maxsplit=1)
        if len(parts) == 2 and len(parts[0].split()) >= 5 and len(parts[1].split()) >= 10:
            out.append(Pair(parts[0], parts[1][:300]))
    return out[:limit]


def _iso_name_pairs(limit: int, seed: int = 0) -> list[Pair]:
    files = [f for f in catalogue_files("ko") if f.stem.startswith("iso_")]
    if not files:
        return []
    try:
        found, _ = load_gettext_pairs("ko", files=files, min_words=1)
    except EmbedlabError:
        return []
    rng = np.random.default_rng(seed)
    keep = sorted(rng.permutation(len(found))[:limit].tolist())
    return [Pair(found[i].ko, found[i].en) for i in keep]


def general_sets(names: Sequence[str] | None = None, limit: int = 500) -> dict[str, list[Pair]]:
    """The general-domain retention sets available on this machine (``names`` picks some: ``names-ko-en``,
    ``news-en``); sets whose data are not installed are left out."""
    builders = {"names-ko-en": _iso_name_pairs, "news-en": _lee_pairs}
    out = {}
    for name in names if names is not None else builders:
        if name not in builders:
            raise InputError(f"unknown general-domain set {name!r}; known: {', '.join(builders)}")
        pairs = builders[name](limit)
        if len(pairs) >= 10:
            out[name] = pairs
    return out
