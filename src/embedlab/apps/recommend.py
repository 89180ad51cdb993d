"""Recommendation with embeddings: collaborative (ALS), content-based (encoded item text), hybrid, popularity.

A fixed evaluation protocol makes numbers comparable: positives are ratings >= 4; for each user the last 20 %
of their positives by timestamp (at least one) are the test set; everything else the user rated is known
history and is never recommended; recall@10 (hits / test items) and nDCG@10 (binary gains) are averaged over
users with a test set. Collaborative models can learn from the training positives only or from every rating
outside the test set (``signal="ratings"``: a watched film is implicit feedback whatever its rating), which
on MovieLens 100k matters more than any hyperparameter.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from typing import Any, Protocol, overload

import numpy as np
import numpy.typing as npt
from scipy import sparse

from .._params import check_float, check_int, check_k
from .._progress import progress_bar
from .._threads import cpu_count
from ..encoders import Encoder
from ..encoders import encoder as get_encoder
from ..errors import DimensionError, InputError, MissingDependencyError, NonFiniteError, UnknownKeyError
from ..metrics import as_matrix, normalize
from ..train.factorization import ImplicitALS
from .ratings import (  # noqa: F401 - API
    SIGNALS,
    Ratings,
    Split,
    check_signal,
    load_movielens,
    movielens_path,
    temporal_split,
    validation_split,
)


# ----------------------------------------------------------- recommenders
class Recommender(Protocol):
    name: str

    def fit(self, split: Split) -> Recommender: ...

    def scores(self, users: np.ndarray) -> np.ndarray: ...


class Popularity:
    """Items ranked by how many users liked them in training (the baseline every method must beat)."""

    name = "popularity"

    def fit(self, split: Split) -> Popularity:
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
        self.model.check_params()
        self.signal = check_signal(signal)
        self.name = "als" if signal == "positives" else f"als[{signal}]"

    def fit(self, split: Split) -> ALSRecommender:
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
        self.item_vectors = normalize(as_matrix(item_vectors, name="item vectors"))

    @classmethod
    def from_ratings(cls, data: Ratings, encoder: Encoder | None = None, progress: bool = False) -> ContentRecommender:
        enc = encoder if encoder is not None else get_encoder()
        texts = [data.item_text(k) for k in data.items]
        return cls(enc.encode(texts, batch_size=128, progress=progress))

    def fit(self, split: Split) -> ContentRecommender:
        if len(self.item_vectors) != split.shape[1]:
            raise DimensionError(f"{len(self.item_vectors)} item vectors for {split.shape[1]} items; "
                                 "encode one vector per item, in the split's item order")
        liked = split.train @ self.item_vectors
        self.user_vectors_ = normalize(np.asarray(liked, dtype=np.float32))
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_vectors_[users] @ self.item_vectors.T


class HybridRecommender:
    """Weighted sum of per-user standardised scores of two recommenders (collaborative + content)."""

    def __init__(self, first: Recommender, second: Recommender, weight: float = 0.3) -> None:
        self.first, self.second = first, second
        check_float(weight, "weight", 0, 1, hint="the second recommender's share of the score")
        self.weight = float(weight)
        self.name = f"hybrid({first.name}+{second.name})"

    def fit(self, split: Split) -> HybridRecommender:
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
        ImplicitALS(factors, regularization, alpha, iterations, seed).check_params()
        self.signal = check_signal(signal)
        self.params = dict(factors=factors, regularization=regularization, alpha=alpha, iterations=iterations,
                           random_state=seed)
        self.name = "implicit-als" if signal == "positives" else f"implicit-als[{signal}]"

    def fit(self, split: Split) -> ImplicitALSReference:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        self.model = AlternatingLeastSquares(num_threads=cpu_count(), **self.params)
        with threadpool_limits(1, "blas"):  # implicit's own advice: its threads, not BLAS's, do the work
            self.model.fit(split.interactions(self.signal), show_progress=False)
        return self

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self.model.user_factors[users] @ self.model.item_factors.T


# ------------------------------------------------------------- evaluation
def top_k(scores: np.ndarray, known: sparse.csr_matrix, users: np.ndarray, k: int) -> np.ndarray:
    """The k best items per user, never one the user already rated (ties broken by item index).

    Returns (len(users), min(k, n_items)) item indexes, best first. A user with fewer than k unrated items gets
    all of them and the rest of the row is -1, so a k as large as the catalogue never returns a rated item.
    """
    k = check_k(k)
    n_users, n_items = known.shape
    if n_items == 0:
        raise InputError("there are no items to recommend (the catalogue is empty)")
    users = _user_rows(users, n_users)
    s = np.array(scores, dtype=np.float64, copy=True)
    if s.shape != (len(users), n_items):
        raise DimensionError(f"scores have shape {s.shape}; expected one row per user and one column per item, "
                             f"({len(users)}, {n_items})")
    if np.isnan(s).any():
        raise NonFiniteError("scores contain NaN; the recommender's factors or vectors are broken (refit it)")
    big = np.finfo(np.float64).max
    np.clip(s, -big, big, out=s)                  # an infinite score still ranks, and always above a rated item
    rows = known[users]
    s[np.repeat(np.arange(len(users)), np.diff(rows.indptr)), rows.indices] = -np.inf
    kk = min(k, n_items)
    # The kk-th best score of each row, then exactly kk items: all better ones and the lowest-index ties.
    kth = -np.partition(-s, kk - 1, axis=1)[:, kk - 1:kk]
    above = s > kth
    ties = s == kth
    take = above | (ties & (np.cumsum(ties, axis=1) <= kk - above.sum(1, keepdims=True)))
    part = np.nonzero(take)[1].reshape(len(users), kk)
    part_scores = np.take_along_axis(s, part, 1)
    order = np.lexsort((part, -part_scores), axis=1)
    top = np.take_along_axis(part, order, 1)
    top[np.take_along_axis(part_scores, order, 1) == -np.inf] = -1   # rated items: padding, never recommended
    return top


def _user_rows(users: npt.ArrayLike, n_users: int) -> np.ndarray:
    u = np.asarray(users)
    if u.ndim != 1 or (u.size and not np.issubdtype(u.dtype, np.integer)):
        raise InputError(f"users must be a 1-D array of user indexes, got {users!r:.60}")
    if u.size and (u.min() < 0 or u.max() >= n_users):
        raise UnknownKeyError(f"user indexes must lie in [0, {n_users - 1}], got {int(u.min())}..{int(u.max())}")
    return u


def ranking_metrics(recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int = 10) -> dict[str, float]:
    """Mean recall@k (hits / relevant items) and nDCG@k with binary gains over users (-1 pads short lists)."""
    k = check_k(k)
    if len(recommended) != len(relevant):
        raise InputError(f"{len(recommended)} recommendation lists but {len(relevant)} relevant sets")
    if len(relevant) == 0 or any(len(rel) == 0 for rel in relevant):
        raise InputError("every user needs at least one relevant item (and there must be one user)")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recall, ndcg = [], []
    for rec, rel in zip(recommended, relevant, strict=True):
        hit = np.isin(rec[:k], rel)
        recall.append(hit.sum() / len(rel))
        ideal = discounts[: min(len(rel), k)].sum()
        ndcg.append(float((hit * discounts[: len(hit)]).sum() / ideal))
    return {f"recall@{k}": float(np.mean(recall)), f"ndcg@{k}": float(np.mean(ndcg)), "users": len(recall)}


def evaluate(model: Recommender, split: Split, k: int = 10, batch: int = 512) -> dict[str, str | float]:
    """Fit ``model`` on ``split`` and score it with the protocol's metrics: ``{"method": name, **metrics}``."""
    return {"method": model.name, **_fit_and_score(model, split, k, batch)}


def _fit_and_score(model: Recommender, split: Split, k: int, batch: int) -> dict[str, float]:
    """``ranking_metrics`` of ``model`` fitted on ``split``, scoring ``batch`` users at a time."""
    k = check_k(k)
    check_int(batch, "batch", low=1)
    model.fit(split)
    users = np.array(sorted(split.test), dtype=np.int32)
    recs = np.concatenate([top_k(model.scores(users[i:i + batch]), split.known, users[i:i + batch], k)
                           for i in range(0, len(users), batch)])
    return ranking_metrics(recs, [split.test[int(u)] for u in users], k)


# -------------------------------------------------------- using the model
@dataclass
class Recommendations(SequenceABC[tuple[str, float]]):
    """(item key, score) pairs for one user, best first; a list to read, with where the ranking came from.

    ``fallback`` is None for the model's own ranking, or ``"popularity"`` when the user has no interactions
    the model learned from (it would rank at random): then the most popular unrated items are given instead.
    Fewer than k pairs come back when the user has rated all but a few items."""

    user: str
    items: list[tuple[str, float]]
    fallback: str | None = None

    @overload
    def __getitem__(self, i: int) -> tuple[str, float]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[str, float]]: ...

    def __getitem__(self, i: int | slice) -> tuple[str, float] | list[tuple[str, float]]:
        return self.items[i]

    def __len__(self) -> int:
        return len(self.items)


def history(model: Recommender, split: Split) -> sparse.csr_matrix:
    """The user x item interactions ``model`` learns from: those of its ``signal`` (positives when it has none);
    a hybrid's, those of either part. A user whose row is empty gets nothing personal from the model."""
    if isinstance(model, HybridRecommender):
        return history(model.first, split).maximum(history(model.second, split)).tocsr()
    return split.interactions(getattr(model, "signal", "positives"))


def recommend_for(model: Recommender, split: Split, data: Ratings, user: str, k: int = 10) -> Recommendations:
    """Top-k unseen items for one user, as (item key, score); popularity, flagged, for a user with no history."""
    k = check_k(k)
    u = user_index(data, split, user)
    users = np.array([u])
    if history(model, split)[u].nnz == 0:
        s, fallback = Popularity().fit(split).scores(users), "popularity"
    else:
        s, fallback = model.scores(users), None
    top = top_k(s, split.known, users, k)[0]
    return Recommendations(user, [(data.items[i], float(s[0, i])) for i in top if i >= 0], fallback)


def similar_items(item_vectors: np.ndarray, data: Ratings, item: str, k: int = 10,
                  interactions: sparse.spmatrix | None = None) -> list[tuple[str, float]]:
    """"Users who liked X also liked": nearest items by cosine of their vectors (never X itself).

    With ``interactions`` (the users x items matrix the vectors were learned from), an item nobody interacted
    with is refused: its vector is noise, and so would its neighbours be."""
    k = check_k(k)
    vecs = _item_table(item_vectors, data)
    i = item_index(data, item)
    if interactions is not None and sparse.csc_matrix(interactions)[:, i].nnz == 0:
        raise InputError(f"item {item!r} has no interactions in the training data, so its vector says nothing "
                         "about it; pick an item that users rated")
    sims = normalize(vecs) @ normalize(vecs[i])[0]
    order = np.argsort(-sims, kind="stable")
    top = order[order != i][:k]
    return [(data.items[j], float(sims[j])) for j in top]


def explain(item_vectors: np.ndarray, split: Split, data: Ratings, user: str, item: str, k: int = 3
            ) -> list[tuple[str, float]]:
    """Why ``item`` for ``user``: the user's liked items closest to it (none for a user who liked nothing)."""
    k = check_k(k)
    u = user_index(data, split, user)
    v = normalize(_item_table(item_vectors, data))
    target = item_index(data, item)
    liked = split.train[u].indices
    if len(liked) == 0:
        return []
    sims = v[liked] @ v[target]
    order = np.argsort(-sims, kind="stable")[:k]
    return [(data.items[liked[j]], float(sims[j])) for j in order]


def user_index(data: Ratings, split: Split, user: str) -> int:
    """Row of ``user`` in ``split``; UnknownKeyError for a user the ratings do not have."""
    if split.shape != (len(data.users), len(data.items)):
        raise DimensionError(f"the split is {split.shape[0]} users x {split.shape[1]} items but the ratings have "
                             f"{len(data.users)} x {len(data.items)}; split these ratings with temporal_split")
    try:
        return data.users.index(user)
    except ValueError:
        first_last = f"{data.users[0]}..{data.users[-1]}" if data.users else "none"
        raise UnknownKeyError(f"unknown user {user!r}; users are {first_last}") from None


def _item_table(item_vectors: np.ndarray, data: Ratings) -> np.ndarray:
    vecs = as_matrix(item_vectors, name="item vectors")
    if len(vecs) != len(data.items):
        raise DimensionError(f"{len(vecs)} item vectors for {len(data.items)} items; give one row per item")
    return vecs


def item_index(data: Ratings, item: str) -> int:
    """Column of ``item`` (an id or an exact title, with or without the year); UnknownKeyError otherwise."""
    if item in data.items:
        return data.items.index(item)
    wanted = str(item).strip().lower()
    matches = [k for k, info in data.item_info.items()
               if wanted in (info.get("title", "").lower(), f"{info.get('title', '')} ({info.get('year', '')})".lower())]
    if not matches:
        raise UnknownKeyError(f"unknown item {item!r}: give an item id or an exact title such as 'Toy Story' "
                              "or 'Toy Story (1995)'")
    return data.items.index(matches[0])


# ---------------------------------------------------------------- tuning
# Keyword arguments of a recommender's constructor (ints and floats by parameter; the constructor checks them).
Params = dict[str, Any]

ALS_GRID: dict[str, Sequence[float]] = {"factors": (32, 64), "regularization": (0.1, 1.0), "alpha": (1.0, 4.0)}
HYBRID_WEIGHTS = (0.05, 0.1, 0.2, 0.3)


def tune(factory: Callable[..., Recommender], data: Ratings, split: Split,
         grid: dict[str, Sequence[float]] | None = None, k: int = 10,
         on_step: Callable[[], None] | None = None) -> tuple[Params, float]:
    """Grid search on a validation split carved from the training data (the test set is never seen).

    ``factory(**params)`` builds a recommender; every side gets the same grid, i.e. the same search budget.
    Returns the best params and their validation nDCG@k; ``on_step()`` is called after each grid point.
    """
    points = grid_points(ALS_GRID if grid is None else grid)
    k = check_k(k)
    val = validation_split(split, data)
    best: Params = {}
    best_score = -1.0
    for params in points:
        score = _fit_and_score(factory(**params), val, k, 512)[f"ndcg@{k}"]
        if score > best_score:
            best, best_score = params, score
        if on_step is not None:
            on_step()
    return best, best_score


def grid_points(grid: dict[str, Sequence[float]]) -> list[Params]:
    """Every combination of a parameter grid, as keyword dicts; InputError for a value list that is empty."""
    import itertools

    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, SequenceABC) or len(values) == 0:
            raise InputError(f"the grid's values for {name!r} must be a non-empty list, got {values!r}")
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def evaluate_all(data: Ratings | None = None, k: int = 10, tune_grid: dict[str, Sequence[float]] | None = None,
                 encoder: Encoder | None = None, include_reference: bool = True, signals: Sequence[str] = SIGNALS,
                 progress: bool = False) -> list[dict[str, object]]:
    """The comparison table: popularity, ALS (per training signal), content, hybrid and implicit's ALS.

    Every ALS, ours and the reference, is tuned with the same grid on the same validation split for each signal;
    the reference's alpha is shifted by one because implicit uses confidence alpha*r where Hu et al. (and
    embedlab) use 1 + alpha*r. The hybrid combines content with the ALS that validated best, its content weight
    tuned on the same validation split. ``progress`` shows a bar over every fit, with the time left.
    """
    signals = [check_signal(s) for s in signals]  # before any work: every parameter the table will use
    if not signals:
        raise InputError("give at least one training signal: positives and/or ratings")
    k = check_k(k)
    points = grid_points(ALS_GRID if tune_grid is None else tune_grid)
    for params in points:
        try:
            ALSRecommender(**params)
        except TypeError as exc:
            raise InputError(f"tune_grid names a parameter ALS does not have: {exc}") from None
    reference_too = include_reference and importlib.util.find_spec("implicit") is not None
    per_signal = (len(points) + 1) * len(signals)
    fits = 1 + per_signal + 1 + len(HYBRID_WEIGHTS) + 1 + (per_signal if reference_too else 0)
    with progress_bar(fits, "recommenders", "fit", progress) as bar:
        def step(what: str) -> Callable[[], None]:
            bar.set_postfix_str(what, refresh=False)
            return lambda: bar.update(1)

        data = data or load_movielens()
        split = temporal_split(data)
        rows: list[dict[str, object]] = [{**evaluate(Popularity(), split, k)}]
        step("popularity")()
        best: tuple[float, Params] = (-1.0, {})
        for signal in signals:
            done = step(f"ALS ({signal})")
            params, score = tune(lambda s=signal, **p: ALSRecommender(**p, signal=s), data, split, tune_grid, k, done)
            rows.append({**evaluate(ALSRecommender(**params, signal=signal), split, k), "params": params})
            done()
            if score > best[0]:
                best = (score, {**params, "signal": signal})
        done = step("content")
        content = ContentRecommender.from_ratings(data, encoder, progress=progress)
        rows.append({**evaluate(content, split, k)})
        done()
        done = step("hybrid")
        weight = tune(lambda weight: HybridRecommender(ALSRecommender(**best[1]), content, weight=weight), data,
                      split, {"weight": HYBRID_WEIGHTS}, k, done)[0]["weight"]
        hybrid = HybridRecommender(ALSRecommender(**best[1]), content, weight=weight)
        rows.append({**evaluate(hybrid, split, k), "params": {**best[1], "content_weight": weight}})
        done()
        if reference_too:
            for signal in signals:
                def reference(signal: str = signal, **p: Any) -> ImplicitALSReference:
                    return ImplicitALSReference(**{**p, "alpha": p["alpha"] + 1.0}, signal=signal)

                done = step(f"implicit ALS ({signal})")
                ref_params, _ = tune(reference, data, split, tune_grid, k, done)
                rows.append({**evaluate(reference(**ref_params), split, k),
                             "params": {**ref_params, "alpha": ref_params["alpha"] + 1.0}})
                done()
    return rows
