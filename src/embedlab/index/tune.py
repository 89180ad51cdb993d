"""An advisor on your own vectors: the cheapest index setting that reaches a target recall.

It measures recall@k and queries/s of every index kind, precision and search setting against exact float32
search, and picks the cheapest setting that reaches the target.

``tune(rows, metric, target_recall=0.95)`` samples query rows (seeded), finds their exact neighbours (the query
row itself left out), builds each index once over ``rows`` and sweeps its search parameters (``rescore``,
``ef``, ``nprobe``) without rebuilding. *Cheapest* means the least resident memory predicted at the full
collection size (``plan.estimate``); among settings within 5% of that memory, the fastest. ``plot`` draws recall
against queries/s.

    >>> report = tune(vectors, "cosine", target_recall=0.95)          # doctest: +SKIP
    >>> report.best.kind, report.best.build, report.best.search        # doctest: +SKIP
    ('hnsw', {'precision': 'int8', 'M': 16}, {'ef': 64, 'rescore': 4})
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import make_index
from .base import Index
from .exact import ExactIndex
from .plan import Constants, estimate

#: what is swept per index: (kind, build parameters, list of search parameter sets)
Grid = list[tuple[str, dict[str, Any], list[dict[str, Any]]]]


@dataclass
class Trial:
    """One measured setting."""

    kind: str
    build: dict[str, Any]  # construction parameters (precision, M, nlist, m, ...)
    search: dict[str, Any]  # per-query parameters (ef, nprobe, rescore)
    recall: float
    qps: float  # one query at a time
    batch_qps: float  # all sampled queries in one call
    resident_bytes: int  # predicted at the full collection size
    build_s: float  # measured on the rows tuned on

    def settings(self) -> dict[str, Any]:
        """Index parameters that make ``search`` the saved default (what ``--apply`` builds).

        Returns
        -------
        dict
            ``build`` plus ``ef_search`` (from ``ef``), ``nprobe`` and ``rescore`` where the trial set them: keywords
            for ``make_index``.
        """
        out = dict(self.build)
        if "ef" in self.search:
            out["ef_search"] = self.search["ef"]
        if "nprobe" in self.search:
            out["nprobe"] = self.search["nprobe"]
        if "rescore" in self.search:
            out["rescore"] = self.search["rescore"]
        return out

    def label(self) -> str:
        """The index and precision, as ``plot`` names its lines.

        Returns
        -------
        str
            ``"<kind> <precision>"``, plus ``" pq<m>"`` for IVF-PQ.
        """
        prec = self.build.get("precision", "float32")
        pq = f" pq{self.build['m']}" if self.build.get("m") else ""
        return f"{self.kind} {prec}{pq}"


@dataclass
class TuneReport:
    """What ``tune`` measured, and its recommendation.

    Attributes
    ----------
    target : float
        The target recall@k, in (0, 1].
    k : int
        Results per query the recall is measured at.
    rows : int
        Rows tuned on.
    count : int
        Collection size the memory is predicted for.
    queries : int
        Query rows sampled.
    trials : list of Trial
        Every setting measured, in grid order.
    best : Trial or None
        ``recommend``'s pick; None when no setting reaches the target.
    """

    target: float
    k: int
    rows: int  # rows tuned on
    count: int  # collection size the memory is predicted for
    queries: int
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as plain values (for JSON).

        Returns
        -------
        dict
            Field name -> value; ``best`` also carries its ``settings()``.
        """
        out = asdict(self)
        out["best"] = None if self.best is None else {**asdict(self.best), "settings": self.best.settings()}
        return out


def default_grid(n: int, dim: int, metric: str) -> Grid:
    """The settings ``tune`` tries, each with a sweep of its search parameters.

    Exact over every precision, HNSW (M=16) over float32 / int8 / binary, IVF-Flat and IVF-PQ with
    nlist ≈ 4·sqrt(n) (a power of two, at least 8). Binary codes are left out for l2; IVF when there are fewer
    than 39 rows a list, PQ when fewer than 39 × 256 rows or no sub-vector count divides ``dim``.

    Parameters
    ----------
    n : int
        Rows tuned on.
    dim : int
        Their dimension.
    metric : str
        ``cosine``, ``dot`` or ``l2``.

    Returns
    -------
    Grid
        ``(kind, build parameters, list of search parameter sets)`` per index to build.
    """
    efs = [16, 32, 64, 128, 256]
    grid: Grid = [
        ("exact", {}, [{}]),
        ("exact", {"precision": "float16"}, [{"rescore": 1}]),
        ("exact", {"precision": "int8"}, [{"rescore": r} for r in (1, 2, 4)]),
        ("hnsw", {"M": 16, "ef_construction": 100}, [{"ef": e} for e in efs]),
        ("hnsw", {"precision": "int8", "M": 16, "ef_construction": 100}, [{"ef": e, "rescore": 2} for e in efs]),
    ]
    if metric != "l2":
        grid.insert(3, ("exact", {"precision": "binary"}, [{"rescore": r} for r in (2, 4, 8, 16, 32)]))
        grid.append(("hnsw", {"precision": "binary", "M": 16, "ef_construction": 100},
                     [{"ef": e, "rescore": r} for e in (64, 128, 256) for r in (4, 16)]))
    nlist = max(8, 2 ** round(math.log2(max(8.0, 4 * math.sqrt(n)))))
    if n >= 39 * nlist:
        probes = [p for p in (1, 2, 4, 8, 16, 32, 64, 128) if p <= nlist]
        grid.append(("ivf", {"nlist": nlist}, [{"nprobe": p} for p in probes]))
        m = next((m for m in (dim // 8, dim // 4, dim // 2) if m and dim % m == 0 and n >= 39 * 256), 0)
        if m:
            grid.append(("ivf", {"nlist": nlist, "m": m}, [{"nprobe": p, "rescore": 4} for p in probes]))
    return grid


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(np.intersect1d(a[a >= 0], t[t >= 0])) for a, t in zip(found, truth, strict=True))
    return hits / max(1, int((truth >= 0).sum()))


def _without_self(ids: np.ndarray, self_ids: np.ndarray, k: int) -> np.ndarray:
    out = np.full((len(ids), k), -1, np.int64)
    for i, (row, me) in enumerate(zip(ids, self_ids, strict=True)):
        kept = row[row != me][:k]
        out[i, : len(kept)] = kept
    return out


def tune(rows: np.ndarray, metric: str, target_recall: float = 0.95, k: int = 10, queries: int = 200,
         seed: int = 0, count: int | None = None, grid: Grid | None = None, consts: Constants | None = None,
         progress: Callable[[str], None] | None = None) -> TuneReport:
    """Measure every setting of ``grid`` on ``rows`` and recommend the cheapest that reaches ``target_recall``.

    Parameters
    ----------
    rows : np.ndarray
        ``(n, dim)`` float32 rows as the collection stores them (unit length for cosine), n >= 2.
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    target_recall : float
        Recall@k a setting must reach, in (0, 1].
    k : int
        Results per query recall is measured at.
    queries : int
        Query rows sampled from ``rows`` (at most n); each query's own row is left out of its neighbours.
    seed : int
        Seeds the query sample and the training samples.
    count : int, optional
        The collection size memory is predicted for (default: len(rows)).
    grid : Grid, optional
        The settings to measure (default: ``default_grid``).
    consts : Constants, optional
        ``plan`` constants for the memory predictions (None: ``plan.constants()``).
    progress : callable, optional
        Called with a line of text as each index starts building.

    Returns
    -------
    TuneReport
        Every trial (recall, queries/s one at a time and batched, predicted resident bytes, build seconds) and
        the recommendation.

    Raises
    ------
    InputError
        ``target_recall`` outside (0, 1], fewer than 2 rows, or a grid setting an index refuses.
    """
    if not 0 < target_recall <= 1:
        raise InputError(f"target recall must be in (0, 1], got {target_recall}")
    n, dim = rows.shape
    if n < 2:
        raise InputError(f"tuning needs at least 2 vectors, the collection has {n}")
    nq = min(int(queries), n)
    rng = np.random.default_rng(seed)
    qi = np.sort(rng.choice(n, nq, replace=False))
    q = np.ascontiguousarray(rows[qi], dtype=np.float32)
    ids = np.arange(n, dtype=np.int64)
    exact = ExactIndex.from_matrix(ids, rows, metric, prepared=True)
    truth = _without_self(exact.search(q, k + 1)[0], qi, k)
    report = TuneReport(target=float(target_recall), k=k, rows=n, count=int(count or n), queries=nq)

    def fetch(sel: np.ndarray) -> np.ndarray:
        """The vector source of the compressed indexes: rows by id (ids are row numbers).

        Parameters
        ----------
        sel : np.ndarray
            ``(m,)`` int64 sorted ids.

        Returns
        -------
        np.ndarray
            ``(m, dim)`` float32.
        """
        return np.asarray(rows[sel], dtype=np.float32)

    for kind, build, sweeps in grid or default_grid(n, dim, metric):
        if progress:
            progress(f"{kind} {build.get('precision', 'float32')}: building over {n:,} rows")
        t0 = time.perf_counter()
        if kind == "exact" and not build:
            index: Index = exact
        else:
            index = make_index(kind, dim, metric, **build, **({"rescore": sweeps[0]["rescore"]}
                                                              if "rescore" in sweeps[0] else {}))
            index.set_vector_source(fetch)
            if kind == "ivf" or build.get("precision") == "int8":
                index.train(rows[np.sort(rng.choice(n, min(n, 100_000), replace=False))])
            for s in range(0, n, 65_536):
                index.add(ids[s : s + 65_536], rows[s : s + 65_536])
        build_s = time.perf_counter() - t0
        for params in sweeps:
            got = _without_self(index.search(q, k + 1, **params)[0], qi, k)
            recall = _recall(got, truth)
            t1 = min(nq, 100)
            start = time.perf_counter()
            for i in range(t1):
                index.search(q[i : i + 1], k + 1, **params)
            qps = t1 / max(time.perf_counter() - start, 1e-9)
            start = time.perf_counter()
            index.search(q, k + 1, **params)
            batch_qps = nq / max(time.perf_counter() - start, 1e-9)
            est = estimate(report.count, dim, kind, metric=metric, consts=consts, k=k,
                           **{**build, **{key: v for key, v in params.items() if key == "rescore"},
                              **({"ef_search": params["ef"]} if "ef" in params else {}),
                              **({"nprobe": params["nprobe"]} if "nprobe" in params else {})})
            report.trials.append(Trial(kind, dict(build), dict(params), recall, qps, batch_qps,
                                       est.resident_bytes, build_s))
    report.best = recommend(report.trials, target_recall)
    return report


def recommend(trials: list[Trial], target: float) -> Trial | None:
    """The cheapest trial reaching ``target``: least predicted resident memory, then (within 5% of it) fastest.

    Parameters
    ----------
    trials : list of Trial
        Measured settings.
    target : float
        The recall they must reach.

    Returns
    -------
    Trial or None
        The highest queries/s (one at a time) among those within 5% of the least memory; None when no trial
        reaches ``target``.
    """
    ok = [t for t in trials if t.recall >= target]
    if not ok:
        return None
    least = min(t.resident_bytes for t in ok)
    near = [t for t in ok if t.resident_bytes <= 1.05 * least]
    return max(near, key=lambda t: t.qps)


def plot(report: TuneReport, path: str | Path) -> Path:
    """Recall@k against queries/s (one at a time, log scale), one line per index and precision.

    The target and the recommendation are marked. Writes a PNG (matplotlib, Agg backend).

    Parameters
    ----------
    report : TuneReport
        What ``tune`` returned.
    path : str or Path
        The image file to write.

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    groups: dict[str, list[Trial]] = {}
    for t in report.trials:
        groups.setdefault(t.label(), []).append(t)
    for label, ts in groups.items():
        ts = sorted(ts, key=lambda t: t.recall)
        ax.plot([t.recall for t in ts], [t.qps for t in ts], marker="o", label=label)
    ax.axvline(report.target, color="grey", linestyle="--", linewidth=1, label=f"target {report.target:g}")
    if report.best is not None:
        ax.scatter([report.best.recall], [report.best.qps], s=160, facecolors="none", edgecolors="red",
                   linewidths=2, label="recommended", zorder=5)
    ax.set_xlabel(f"recall@{report.k} (vs exact float32)")
    ax.set_ylabel("queries/s, one at a time")
    ax.set_yscale("log")
    ax.set_title(f"{report.rows:,} rows, {report.queries} sampled queries")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
