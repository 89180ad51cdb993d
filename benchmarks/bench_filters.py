"""Filtered search on the local backend with and without the metadata index, interleaved in one run.

Builds a collection of ``--rows`` seeded random unit vectors (``--dim``; this repository ships no real vector set
for it) with metadata ``lang`` (5 values, 20 % each), ``year`` (1990-2024) and ``tag`` (100 values, 1 % each),
then opens it twice: once as shipped and once with ``EMBEDLAB_META_INDEX=0`` (every filter evaluated over each
row's JSON metadata in SQLite, as before the metadata index). For each query shape it times single queries on both
handles in turn and reports p50/p99 latency (the median over ``--rounds`` rounds) and recall@10 against the exact
answer over the rows the filter keeps (numpy over the vectors):

    .venv/bin/python benchmarks/bench_filters.py                       # 100,000 x 384, HNSW
    .venv/bin/python benchmarks/bench_filters.py --rows 20000 --index exact
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_settings  # noqa: E402

from embedlab.store import Collection  # noqa: E402

LANGS = ["en", "de", "fr", "ko", "ja"]


def _cases(rng: np.random.Generator, q: int) -> dict[str, list[dict | None]]:
    tags = rng.integers(0, 100, size=q)
    langs = rng.integers(0, 5, size=q)
    years = rng.integers(1990, 2018, size=q)
    return {
        "unfiltered": [None] * q,
        "tag == x (1 %)": [{"tag": f"t{t}"} for t in tags],
        "lang == y (20 %)": [{"lang": LANGS[x]} for x in langs],
        "year in [y, y+7) (20 %)": [{"year": {"$gte": int(y), "$lt": int(y) + 7}} for y in years],
        "tag $in 10 tags (10 %)": [{"tag": {"$in": [f"t{(t + j * 7) % 100}" for j in range(10)]}} for t in tags],
    }


def _truth(v: np.ndarray, meta: dict[str, np.ndarray], q: np.ndarray, where: dict | None, k: int) -> set[int]:
    keep = np.ones(len(v), bool)
    if where is not None:
        key, cond = next(iter(where.items()))
        col = meta[key]
        if isinstance(cond, dict) and "$in" in cond:
            keep = np.isin(col, cond["$in"])
        elif isinstance(cond, dict):
            keep = (col >= cond["$gte"]) & (col < cond["$lt"])
        else:
            keep = col == cond
    rows = np.flatnonzero(keep)
    scores = v[rows] @ q
    return set(rows[np.argsort(-scores, kind="stable")[:k]].tolist())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=100, help="queries per shape and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--index", default="hnsw", choices=["hnsw", "exact"])
    ap.add_argument("--batch", type=int, default=10_000, help="rows per add")
    ap.add_argument("--M", type=int, default=32, help="HNSW links per node")
    ap.add_argument("--ef-construction", type=int, default=200, help="HNSW build beam")
    args = ap.parse_args()
    print_settings(f"filtered search, local backend: {args.rows} x {args.dim} seeded random unit vectors, {args.index}"
                   + (f" M={args.M} efC={args.ef_construction}" if args.index == "hnsw" else ""))
    rng = np.random.default_rng(0)
    n, k = args.rows, 10
    v = rng.standard_normal((n, args.dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    meta = {"lang": np.array(LANGS)[rng.integers(0, 5, n)], "year": rng.integers(1990, 2025, n),
            "tag": np.array([f"t{i}" for i in range(100)])[rng.integers(0, 100, n)]}
    root = tempfile.mkdtemp(prefix="bench-filters-")
    try:
        params = {"M": args.M, "ef_construction": args.ef_construction} if args.index == "hnsw" else None
        c = Collection.create("f", dim=args.dim, index=args.index, index_params=params, root=root)
        t = time.perf_counter()
        for s in range(0, n, args.batch):
            e = min(n, s + args.batch)
            c.add([f"i{i}" for i in range(s, e)], vectors=v[s:e],
                  metadata=[{"lang": str(meta["lang"][i]), "year": int(meta["year"][i]), "tag": str(meta["tag"][i])}
                            for i in range(s, e)])
        print(f"# built in {time.perf_counter() - t:.1f} s (batches of {args.batch})")
        c.close()
        os.environ["EMBEDLAB_META_INDEX"] = "0"
        before = Collection.open("f", root=root, readonly=True)
        del os.environ["EMBEDLAB_META_INDEX"]
        after = Collection.open("f", root=root)
        q0 = rng.standard_normal(args.dim).astype(np.float32)
        t = time.perf_counter()
        after.search(q0, k=k, where={"tag": "t0"})
        print(f"# first filtered query after open, index built from the catalogue: {(time.perf_counter() - t) * 1e3:.0f} ms")
        after.close()
        after = Collection.open("f", root=root)
        t = time.perf_counter()
        after.search(q0, k=k, where={"tag": "t0"})
        print(f"# first filtered query after reopen, index parts loaded: {(time.perf_counter() - t) * 1e3:.0f} ms")
        before.search(q0, k=k)
        queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        cases = _cases(rng, args.queries)
        print("| query | before p50 ms | before p99 ms | after p50 ms | after p99 ms | speed-up (p50) | recall@10 "
              "before | recall@10 after |")
        print("|---|---|---|---|---|---|---|---|")
        for name, wheres in cases.items():
            truth = [_truth(v, meta, queries[i], wheres[i], k) for i in range(args.queries)]
            p50s: dict[str, list[float]] = {"before": [], "after": []}
            p99s: dict[str, list[float]] = {"before": [], "after": []}
            recall: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                times: dict[str, list[float]] = {"before": [], "after": []}
                for i in range(args.queries):
                    for label, col in (("before", before), ("after", after)):
                        t = time.perf_counter()
                        hits = col.search(queries[i], k=k, where=wheres[i])
                        times[label].append(time.perf_counter() - t)
                        got = {int(h.id[1:]) for h in hits}
                        recall[label].append(len(got & truth[i]) / max(1, len(truth[i])))
                for label in times:
                    p50s[label].append(float(np.percentile(times[label], 50)) * 1e3)
                    p99s[label].append(float(np.percentile(times[label], 99)) * 1e3)
            b50, a50 = statistics.median(p50s["before"]), statistics.median(p50s["after"])
            print(f"| {name} | {b50:.2f} | {statistics.median(p99s['before']):.2f} | {a50:.2f} | "
                  f"{statistics.median(p99s['after']):.2f} | {b50 / a50:.1f}x | {np.mean(recall['before']):.3f} | "
                  f"{np.mean(recall['after']):.3f} |", flush=True)
        print(f"# load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        before.close()
        after.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
