"""Choose an encoder on your own data: retrieval quality, speed, memory and width of several encoders, side by side.

``compare_encoders(PAIRS, encoders=[...])`` embeds the queries (query role) and the distinct positives (document
role) of query/positive pairs (the files ``embedlab finetune`` reads: JSONL, CSV/TSV, two aligned text files) or
of a labelled CSV (columns ``text`` and ``label``: each text's relevant texts are the others with its label), ranks
every document for every query by cosine, and reports for each encoder recall@1, recall@10, MRR and nDCG@10
(``embedlab.evaluate.retrieval``), sentences per second (queries + documents over the encoding time, model loading
excluded and reported apart), peak memory and the vectors' width. Each encoder runs in a fresh process by
default, so its peak resident memory is its own (``isolate=False`` measures in this process instead).

It marks the Pareto front of quality (MRR) against speed and recommends one encoder: the best MRR, unless an
encoder at least twice as fast is within ``tolerance`` of it (then the fastest such), and says why.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress_bar
from ..encoders import Encoder
from ..encoders import encoder as build
from ..encoders.registry import spec
from ..errors import EmbedlabError, InputError, MissingDependencyError
from ..evaluate.retrieval import retrieval_scores
from ..train.finetuning.evaluate import index_pairs, score_vectors
from ..train.finetuning.pairs import Pair, read_pairs

__all__ = ["Comparison", "EncoderResult", "compare_encoders", "load_eval_set", "plot_comparison"]

DEFAULT_ENCODERS = ("use-multilingual", "use-multilingual-static", "e5-small-multilingual",
                    "use-multilingual+e5-small-multilingual", "minilm-onnx-int8")
METRICS = ("recall@1", "recall@10", "mrr", "ndcg@10")


@dataclass
class EncoderResult:
    """One encoder's row of a comparison.

    Attributes
    ----------
    encoder : str
        The name as given.
    dim : int
        The vectors' width.
    metrics : dict
        ``recall@1``, ``recall@10``, ``mrr``, ``ndcg@10``.
    sentences_per_s : float
        Queries + documents encoded per second (loading excluded).
    load_s : float
        Seconds to build the encoder (a static encoder's first use includes its distillation).
    peak_mb : float or None
        Peak resident memory of the process that ran it, MiB (None where it cannot be measured).
    pareto : bool
        On the quality-vs-speed Pareto front.
    error : str or None
        Why it could not run (then the other fields are empty).
    """

    encoder: str
    dim: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    sentences_per_s: float = 0.0
    load_s: float = 0.0
    peak_mb: float | None = None
    pareto: bool = False
    error: str | None = None


@dataclass
class Comparison:
    """The result of ``compare_encoders``.

    Attributes
    ----------
    results : list of EncoderResult
        One per encoder, in the order given.
    queries, documents : int
        The evaluation set's size.
    recommended : str or None
        The recommended encoder (None when none ran).
    reason : str
        Why.
    """

    results: list[EncoderResult]
    queries: int
    documents: int
    recommended: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON-ready data.

        Returns
        -------
        dict
            ``queries``, ``documents``, ``recommended``, ``reason`` and ``results`` (a list of dicts).
        """
        return {"queries": self.queries, "documents": self.documents, "recommended": self.recommended,
                "reason": self.reason, "results": [asdict(r) for r in self.results]}


@dataclass
class EvalSet:
    """Queries, documents and, per query, the rows of its relevant documents (and a row to exclude: itself)."""

    queries: list[str]
    docs: list[str]
    relevant: list[list[int]]
    self_rows: list[int] | None = None


def load_eval_set(path: str | os.PathLike[str], positives: str | os.PathLike[str] | None = None,
                  limit: int | None = 5000, seed: int = 0) -> EvalSet:
    """Read query/positive pairs or a labelled CSV as a retrieval set.

    Parameters
    ----------
    path : path-like
        Pairs (JSONL, CSV/TSV with ``query``/``positive``, or a queries file with ``positives``) or a CSV/TSV with
        ``text`` and ``label`` columns.
    positives : path-like, optional
        The aligned positives file (with a queries text file).
    limit : int or None, default 5000
        At most this many queries (a seeded sample); None for all.
    seed : int, default 0
        The sample's seed.

    Returns
    -------
    EvalSet

    Raises
    ------
    InputError
        For an unreadable file, no valid pairs, or a labelled CSV in which no label has two texts.
    """
    p = Path(path).expanduser()
    if positives is None and p.suffix.lower() in (".csv", ".tsv") and _has_columns(p, ("text", "label")):
        return _labelled(p, limit, seed)
    found = read_pairs(p, None if positives is None else Path(positives))
    pairs: list[Pair] = found.pairs
    if not pairs:
        raise InputError(f"{p} holds no valid pairs")
    if limit is not None and len(pairs) > limit:
        keep = np.sort(np.random.default_rng(seed).permutation(len(pairs))[:limit])
        pairs = [pairs[i] for i in keep]
    split = index_pairs(pairs)
    return EvalSet(split.queries, split.docs, split.relevant)


def _has_columns(path: Path, cols: tuple[str, ...]) -> bool:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","), [])
    except (OSError, UnicodeDecodeError):
        return False
    names = {h.strip().lower() for h in header}
    return all(c in names for c in cols) and "query" not in names


def _labelled(path: Path, limit: int | None, seed: int) -> EvalSet:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    texts: list[str] = []
    labels: list[str] = []
    for row in rows:
        row = {(k or "").strip().lower(): v for k, v in row.items()}
        t, lab = (row.get("text") or "").strip(), (row.get("label") or "").strip()
        if t and lab:
            texts.append(t)
            labels.append(lab)
    by_label: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    queries = [i for i in range(len(texts)) if len(by_label[labels[i]]) >= 2]
    if not queries:
        raise InputError(f"{path} holds no valid pairs: no label has two or more texts (columns text, label)")
    if limit is not None and len(queries) > limit:
        queries = sorted(np.random.default_rng(seed).permutation(queries)[:limit].tolist())
    relevant = [[j for j in by_label[labels[i]] if j != i] for i in queries]
    return EvalSet([texts[i] for i in queries], texts, relevant, self_rows=queries)


def _measure(name: Any, queries: list[str], docs: list[str], batch_size: int, progress: bool) -> dict[str, Any]:
    """Build one encoder and embed the set; runs in a child process when isolated.

    Raises
    ------
    InputError
        When the encoder does not encode text.
    """
    import resource

    t0 = time.perf_counter()
    enc = name if isinstance(name, Encoder) else build(str(name))
    load = time.perf_counter() - t0
    if "text" not in enc.modalities:
        raise InputError(f"{enc.name} does not encode text (modalities {list(enc.modalities)})")
    t1 = time.perf_counter()
    label = str(name)[-40:] if not isinstance(name, Encoder) else enc.name[-40:]
    with progress_bar(len(queries) + len(docs), f"compare[{label}]", "text", enabled=progress) as bar:
        q = _encode(enc.encode_queries, queries, batch_size, bar)
        d = _encode(enc.encode_documents, docs, batch_size, bar)
    took = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return {"q": q, "d": d, "seconds": took, "load": load, "dim": int(enc.dim), "peak_mb": peak}


def _encode(fn: Any, texts: list[str], batch_size: int, bar: Any) -> np.ndarray:
    out = []
    step = max(batch_size * 8, 256)
    for s in range(0, len(texts), step):
        out.append(np.asarray(fn(texts[s:s + step], batch_size=batch_size), dtype=np.float32))
        bar.update(min(step, len(texts) - s))
    return np.vstack(out)


def _run_isolated(name: str, queries: list[str], docs: list[str], batch_size: int, progress: bool) -> dict[str, Any]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_measure, name, queries, docs, batch_size, progress).result()


def compare_encoders(data: str | os.PathLike[str] | EvalSet, encoders: Sequence[Any] | None = None, *,
                     positives: str | os.PathLike[str] | None = None, limit: int | None = 5000,
                     batch_size: int = 64, isolate: bool = True, tolerance: float = 0.01, seed: int = 0,
                     progress: bool = True) -> Comparison:
    """Compare encoders on query/positive pairs or a labelled CSV (see the module docstring).

    Parameters
    ----------
    data : path-like or EvalSet
        The pairs file (or labelled CSV), or a set from ``load_eval_set``.
    encoders : sequence of str or Encoder, optional
        Names (registered, ``a+b`` fusions, ``int8:PATH``, model folders) or Encoders; default: those of
        ``DEFAULT_ENCODERS`` whose packages are installed.
    positives : path-like, optional
        With a queries text file: the aligned positives file.
    limit : int or None, default 5000
        At most this many queries (seeded sample).
    batch_size : int, default 64
        Texts per model call.
    isolate : bool, default True
        Run each named encoder in a fresh process (its own peak memory; nothing stays loaded).
    tolerance : float, default 0.01
        MRR an encoder at least twice as fast may give up and still be recommended.
    seed : int, default 0
        The sample's seed.
    progress : bool, default True
        A progress bar per encoder.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        For a file with no valid pairs, an empty encoder list, or when no encoder could run (each one's error is
        in the message).
    """
    ev = data if isinstance(data, EvalSet) else load_eval_set(data, positives, limit=limit, seed=seed)
    names = list(encoders) if encoders is not None else _installed_defaults()
    if not names:
        raise InputError("no encoders to compare; pass --encoders a,b,...")
    results: list[EncoderResult] = []
    for name in names:
        label = name.name if isinstance(name, Encoder) else str(name)
        try:
            got = (_run_isolated(str(name), ev.queries, ev.docs, batch_size, progress)
                   if isolate and not isinstance(name, Encoder) else
                   _measure(name, ev.queries, ev.docs, batch_size, progress))
        except EmbedlabError as exc:
            results.append(EncoderResult(label, error=str(exc)))
            continue
        qv, dv = got["q"], got["d"]
        if ev.self_rows is not None:  # a labelled set: a text must not find itself
            scores = _score_excluding_self(qv, dv, ev)
        else:
            scores = score_vectors(qv, dv, ev.relevant)
        n = len(ev.queries) + len(ev.docs)
        results.append(EncoderResult(label, dim=got["dim"], metrics={k: scores[k] for k in METRICS},
                                     sentences_per_s=round(n / max(got["seconds"], 1e-9), 1),
                                     load_s=round(got["load"], 2),
                                     peak_mb=round(got["peak_mb"], 1) if isolate else None))
    ok = [r for r in results if r.error is None]
    if not ok:
        raise InputError("no encoder could run: " + "; ".join(f"{r.encoder}: {r.error}" for r in results))
    _mark_pareto(ok)
    best, reason = _recommend(ok, tolerance)
    return Comparison(results, len(ev.queries), len(ev.docs), best, reason)


def _score_excluding_self(qv: np.ndarray, dv: np.ndarray, ev: EvalSet) -> dict[str, float]:
    assert ev.self_rows is not None
    ranked: list[list[int]] = []
    depth = min(100, len(dv) - 1)
    for s in range(0, len(qv), 512):
        sims = qv[s:s + 512] @ dv.T
        rows = np.arange(s, min(s + 512, len(qv)))
        sims[np.arange(len(rows)), [ev.self_rows[i] for i in rows]] = -np.inf
        top = np.argsort(-sims, axis=1, kind="stable")[:, :depth]
        ranked.extend(top.tolist())
    got = retrieval_scores(ranked, ev.relevant, ks=(1, 10))
    return {k: round(float(v), 4) for k, v in got.items()}


def _installed_defaults() -> list[str]:
    out = []
    for name in DEFAULT_ENCODERS:
        try:
            if spec(name).installed():
                out.append(name)
        except EmbedlabError:
            continue
    return out


def _mark_pareto(results: list[EncoderResult]) -> None:
    for r in results:
        r.pareto = not any(o is not r and o.metrics["mrr"] >= r.metrics["mrr"]
                           and o.sentences_per_s >= r.sentences_per_s
                           and (o.metrics["mrr"] > r.metrics["mrr"] or o.sentences_per_s > r.sentences_per_s)
                           for o in results)


def _recommend(results: list[EncoderResult], tolerance: float) -> tuple[str, str]:
    best = max(results, key=lambda r: (r.metrics["mrr"], r.sentences_per_s))
    close = [r for r in results if r is not best and r.metrics["mrr"] >= best.metrics["mrr"] - tolerance
             and r.sentences_per_s >= 2 * best.sentences_per_s]
    if close:
        fast = max(close, key=lambda r: r.sentences_per_s)
        return fast.encoder, (f"{fast.encoder}: MRR {fast.metrics['mrr']:.3f}, within {tolerance} of the best "
                              f"({best.encoder}, {best.metrics['mrr']:.3f}) at "
                              f"{fast.sentences_per_s / max(best.sentences_per_s, 1e-9):.1f}x its speed "
                              f"({fast.sentences_per_s:,.0f} vs {best.sentences_per_s:,.0f} sentences/s)")
    runner = sorted(results, key=lambda r: -r.metrics["mrr"])
    gap = (f"; next: {runner[1].encoder} at {runner[1].metrics['mrr']:.3f}" if len(runner) > 1 else "")
    return best.encoder, (f"{best.encoder}: the best MRR ({best.metrics['mrr']:.3f}, recall@1 "
                          f"{best.metrics['recall@1']:.3f}){gap}; no encoder twice as fast comes within {tolerance}")


def plot_comparison(comparison: Comparison, path: str | os.PathLike[str], metric: str = "mrr") -> Path:
    """Quality against speed: a PNG (matplotlib, Agg) with the Pareto front joined and the recommendation ringed.

    One point per encoder, speed on a log scale.

    Parameters
    ----------
    comparison : Comparison
        What ``compare_encoders`` returned.
    path : path-like
        The PNG to write.
    metric : str, default "mrr"
        The quality axis: ``recall@1``, ``recall@10``, ``mrr`` or ``ndcg@10``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        For an unknown metric or a comparison with no results.
    MissingDependencyError
        When matplotlib is not installed.
    """
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    ok = [r for r in comparison.results if r.error is None]
    if not ok:
        raise InputError("nothing to plot: no encoder ran")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError("the plot needs matplotlib: pip install 'embedlab[eval]'") from exc
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    xs = [r.sentences_per_s for r in ok]
    ys = [r.metrics[metric] for r in ok]
    ax.scatter(xs, ys, c=["tab:red" if r.pareto else "tab:gray" for r in ok], zorder=3)
    for r, x, y in zip(ok, xs, ys, strict=True):
        short = r.encoder if len(r.encoder) <= 36 else "…" + r.encoder[-35:]
        ax.annotate(f"{short} ({r.dim}-d)", (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
        if r.encoder == comparison.recommended:
            ax.scatter([x], [y], s=220, facecolors="none", edgecolors="tab:green", linewidths=2, zorder=4)
    front = sorted((r for r in ok if r.pareto), key=lambda r: r.sentences_per_s)
    if len(front) > 1:
        ax.plot([r.sentences_per_s for r in front], [r.metrics[metric] for r in front], "--", color="tab:red",
                label="Pareto front", zorder=2)
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("sentences / s (log)")
    ax.set_ylabel(metric)
    ax.set_title(f"quality vs speed on {comparison.queries} queries, {comparison.documents} documents")
    ax.grid(True, which="both", alpha=0.3)
    lo = min(ys)
    ax.set_ylim(max(0.0, lo - 0.05 * max(1e-3, max(ys) - lo) - 0.02), min(1.0, max(ys) + 0.05))
    xr = (min(xs), max(xs))
    ax.set_xlim(xr[0] / 1.6, xr[1] * 2.5 if math.isfinite(xr[1]) else None)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
