"""Projector layouts at 10k / 100k / 1M rows x 384-d on this machine: seconds, trustworthiness and continuity.

Each run lays out one data set with one or more strategies and appends one JSON line per strategy to ``--out``
(so the large runs can be made one at a time), then prints the markdown table of everything in that file:

  * ``pca``                    embedlab PCA, exact over all rows (covariance in one pass);
  * ``tsne-full`` / ``umap-full``     t-SNE (scikit-learn) / UMAP fitted on every row, after PCA to 50 dims;
  * ``tsne-5k``, ``tsne-20k``, ``umap-5k``, ``umap-20k``   fitted on a seeded sample, the rest placed (t-SNE: mean of
    the 10 nearest fitted rows; UMAP: ``transform``), after PCA to 50 dims;
  * ``umap-5k-nopca``          the same without the PCA step;
  * ``opentsne-5k`` / ``opentsne-20k``  openTSNE (FFT-accelerated, ``--peers`` folder) on the same PCA-50 sample,
    the rest placed by openTSNE's own ``transform`` (the reference for "a faster t-SNE library").

Trustworthiness / continuity at k = 10 are measured in the original 384-d space (cosine) on the layout's own
row sample (5,000 rows up to 400-d, both neighbour lists searched within it: see ``analysis.layout``).
``reopen`` is ``Layout.load`` of the saved layout plus reading every coordinate. Data: ``--data mixture`` is a seeded Gaussian mixture (50 clusters, unit
rows; it has cluster structure, enough for timing, not a real embedding space); ``glove`` is GloVe 6B-50d's
50,000 most frequent words; ``tour`` is ``embedlab tour``'s 20 documents encoded with use-multilingual
(k = 9 there: trustworthiness needs k < n / 2). The fits are slow, so each strategy runs once (no medians);
the load average before and after is recorded beside each row, and the CPU seconds of the process (every
thread pool is held to one thread, so on an idle core CPU seconds are close to wall seconds; on a machine
shared with 20 other jobs the wall clock is not the figure to read).

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/bench_projection.py --data mixture --rows 10000 \
        --strategies pca tsne-full tsne-5k umap-full umap-5k opentsne-5k --out benchmarks/results/projection.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _common import md_table, print_settings  # noqa: E402

from embedlab.analysis.layout import Layout, fit_layout  # noqa: E402
from embedlab.analysis.neighbourhood import trustworthiness_continuity  # noqa: E402

STRATEGIES = ["pca", "tsne-full", "tsne-5k", "tsne-20k", "umap-full", "umap-5k", "umap-20k", "umap-5k-nopca",
              "opentsne-5k", "opentsne-20k"]


def mixture(n: int, d: int = 384, clusters: int = 50, seed: int = 0, block: int = 100_000) -> np.ndarray:
    """(n, d) float32 unit rows: cluster centre + noise, written block by block (no float64 copy)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d), dtype=np.float32)
    out = np.empty((n, d), np.float32)
    for i in range(0, n, block):
        b = min(block, n - i)
        out[i:i + b] = centres[rng.integers(0, clusters, b)] * 0.6 + rng.standard_normal((b, d), dtype=np.float32)
        out[i:i + b] /= np.linalg.norm(out[i:i + b], axis=1, keepdims=True)
    return out


def load(data: str, rows: int) -> np.ndarray:
    if data == "mixture":
        return mixture(rows)
    if data == "glove":
        from embedlab.io.glove import load_glove

        return np.asarray(load_glove(limit=rows).matrix, dtype=np.float32)
    from embedlab.cli.tour import tour_documents
    from embedlab.encoders import encoder

    return encoder("use-multilingual").encode([d["text"] for d in tour_documents()])


def opentsne(x: np.ndarray, sample: int, seed: int, peers: str) -> tuple[np.ndarray, str]:
    sys.path.append(peers)
    import openTSNE
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = np.arange(len(x)) if sample >= len(x) else np.sort(rng.choice(len(x), sample, replace=False))
    pca = PCA(50, random_state=seed).fit(x[rows])
    emb = openTSNE.TSNE(n_components=2, random_state=seed, n_jobs=1, initialization="pca").fit(pca.transform(x[rows]))
    coords = np.empty((len(x), 2), np.float32)
    coords[rows] = np.asarray(emb)
    rest = np.setdiff1d(np.arange(len(x)), rows)
    if len(rest):
        coords[rest] = np.asarray(emb.transform(pca.transform(x[rest])))
    return coords, f"openTSNE on {len(rows)} rows after PCA 50; rest by openTSNE transform"


def run(x: np.ndarray, strategy: str, seed: int, peers: str) -> dict[str, object]:
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    reopen = None
    if strategy.startswith("opentsne"):
        coords, how = opentsne(x, 5000 if strategy.endswith("5k") else 20_000, seed, peers)
        seconds = time.perf_counter() - t0
        q = int(min(5000, max(1000, 1e12 // (2 * x.shape[0] * x.shape[1]))))
        t, c = trustworthiness_continuity(x, coords, k=min(10, (len(x) - 1) // 2), sample=q, seed=seed)
        cpu = time.process_time() - c0
    else:
        method = strategy.split("-")[0]
        kw: dict[str, object] = {}
        if method != "pca":
            part = strategy.split("-")[1]
            kw["sample"] = len(x) if part == "full" else {"5k": 5000, "20k": 20_000}[part]
            if strategy.endswith("nopca"):
                kw["pca_dims"] = None
        lay = fit_layout(x, method, seed=seed, **kw)  # type: ignore[arg-type]
        seconds, how, t, c = lay.seconds, lay.how, lay.trustworthiness, lay.continuity
        cpu = time.process_time() - c0
        with tempfile.TemporaryDirectory() as tmp:
            lay.save(Path(tmp) / "lay")
            r0 = time.perf_counter()
            again = Layout.load(Path(tmp) / "lay")
            float(np.asarray(again.coords).sum())
            reopen = time.perf_counter() - r0
    return {"rows": len(x), "dim": x.shape[1], "strategy": strategy, "seconds": round(seconds, 1), "cpu_s": round(cpu, 1),
            "trustworthiness": round(t, 4), "continuity": round(c, 4), "how": how,
            "reopen_s": None if reopen is None else round(reopen, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "load": f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=["mixture", "glove", "tour"], default="mixture")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=["pca", "tsne-5k", "umap-5k"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peers", default="/tmp/peers/otsne", help="folder holding openTSNE (pip install --target)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/projection.jsonl"))
    args = ap.parse_args()
    print_settings(f"projection layouts: {args.data} x {args.rows}")
    x = load(args.data, args.rows)
    print(f"# data {x.shape}, loaded; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB",
          flush=True)
    if any(s.startswith("umap") for s in args.strategies):  # UMAP's numba compile is not part of any fit
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_layout(x[:300], "umap", sample=200, pca_dims=20)
        print(f"# UMAP compile / warm-up: {time.perf_counter() - t0:.0f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for strategy in args.strategies:
        row = {"data": args.data, **run(x, strategy, args.seed, args.peers)}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    rows = [json.loads(line) for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(md_table(["data", "rows", "strategy", "wall s", "CPU s", "trust@10", "cont@10", "reopen s", "peak RSS MB", "load",
                    "how"],
                   [[r["data"], f"{r['rows']:,}", r["strategy"], r["seconds"], r.get("cpu_s"), r["trustworthiness"], r["continuity"],
                     r["reopen_s"], r["peak_rss_mb"], r["load"], r["how"]] for r in rows]))
    print("\nThe machine (2 cores) was shared with other engineers' jobs (see the load column); each strategy ran "
          "once, so absolute seconds are inflated by the load and only roughly comparable between rows.")


if __name__ == "__main__":
    main()
