"""Store benchmark: embedlab's local Collection (exact, HNSW) beside embedded Chroma and LanceDB (flat, IVF-PQ).

Data: real sentences of the shared corpus (cut as in ``sentence_vectors.py``), encoded once with
``use-multilingual`` (512-d, unit rows) and cached under ``bench-data/sentences-use-multilingual/`` in parts of
10,000 (resumable: a stopped encode carries on where it stopped). The first ``--n`` rows are the base, the next
``--queries`` the held-out queries. Metadata by a seeded rule (``--seed``): ``lang`` one of 5 values (a filter on
one keeps 20 % of the rows), ``tag`` one of 100 (1 %), ``year`` 1990-2024.

Measured per engine, each phase in its own subprocess (so its peak RSS is its own), engines interleaved round by
round, medians over ``--repeats`` rounds:

- build: rows/s adding the base in batches of ``--batch`` (1,000) through the engine's add call, the index build
  included (LanceDB IVF-PQ: ``create_index`` after the adds), then close; also the process's CPU seconds (all
  threads), which a loaded machine moves less than wall time;
- open: reopen + first query (ms), in a fresh process, after importing the package (import time reported apart);
- query: p50 / p99 single-query latency (median over 3 passes) and recall@10 against the exact top 10 —
  unfiltered, ``tag == x`` (1 %) and ``lang == y`` (20 %);
- delete: delete 10 % of the rows (batches of 1,000 ids), compact (embedlab ``compact()``, LanceDB
  ``optimize(cleanup_older_than=0)``; Chroma has no compaction call), disk bytes before and after;
- peak RSS (VmHWM) of each phase's process.

Peers: ``pip install -e '.[bench-stores]'`` (``chromadb==1.5.9``, ``lancedb==0.40.*``; neither downgrades numpy or
scipy, chromadb pins ``opentelemetry-api==1.45.2``), or any folder on ``PYTHONPATH`` that holds them; an engine
whose package is missing is skipped with a note.

    python benchmarks/make_corpus.py bench-data/corpus.txt     # or --corpus /path/to/corpus.txt
    PYTHONPATH=/tmp/peers .venv/bin/python benchmarks/bench_stores.py --out benchmarks/results/stores.md
    PYTHONPATH=/tmp/peers .venv/bin/python benchmarks/bench_stores.py --n 20000 --repeats 1 --engines "hnsw chroma"
    .venv/bin/python benchmarks/bench_stores.py --encode-only                 # just fill the vector cache
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import LOAD_NOTE, md_table, print_settings  # noqa: E402
from sentence_vectors import sentences  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "bench-data" / "corpus.txt"
CACHE = ROOT / "bench-data" / "sentences-use-multilingual"
ENCODER = "use-multilingual"
DIM = 512
PART = 10_000
LANGS = ("en", "de", "fr", "es", "ko")
ENGINES = ("exact", "hnsw", "chroma", "lance-flat", "lance-ivfpq")
PHASES = ("build", "open", "query", "delete")
FILTERS = {"none": None, "tag 1%": ("tag", "t07"), "lang 20%": ("lang", "de")}
K = 10
PASSES = 3


# ---------------------------------------------------------------------------------------------- data
def encode_cache(total: int, corpus: Path, batch_size: int = 128) -> None:
    """Encode sentences until ``total`` vectors are cached (parts of PART rows; resumable)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    done = len(sorted(CACHE.glob("part-*.npy")))
    if done * PART >= total:
        return
    import embedlab

    enc = embedlab.encoder(ENCODER)
    (CACHE / "meta.json").write_text(json.dumps({"encoder": enc.name, "fingerprint": enc.fingerprint,
                                                 "corpus": str(corpus), "part": PART}))
    buf: list[str] = []
    part, t0 = 0, time.time()
    for text in sentences(corpus):
        buf.append(text)
        if len(buf) < PART:
            continue
        if part >= done:
            if part * PART >= total:
                break
            vecs = enc.encode(buf, batch_size=batch_size, normalize=True).astype(np.float32)
            tmp = CACHE / f".part-{part:05d}.npy"
            np.save(tmp, vecs)
            os.replace(tmp, CACHE / f"part-{part:05d}.npy")
            rate = (part + 1 - done) * PART / (time.time() - t0)
            print(f"part {part}: {(part + 1) * PART:,} vectors cached ({rate:,.0f}/s)", flush=True)
        part += 1
        buf = []
    have = len(sorted(CACHE.glob("part-*.npy"))) * PART
    if have < total:
        raise SystemExit(f"the corpus yields only {have:,} sentences, {total:,} wanted")


def blocks(lo: int, hi: int) -> Iterator[tuple[int, np.ndarray]]:
    """Rows ``lo .. hi - 1`` of the cache as (first row, block), one part read at a time."""
    for p in range(lo // PART, (hi - 1) // PART + 1):
        a = max(lo, p * PART)
        b = min(hi, (p + 1) * PART)
        part = np.load(CACHE / f"part-{p:05d}.npy", mmap_mode="r")
        yield a, np.array(part[a - p * PART:b - p * PART], np.float32)


def rows(lo: int, hi: int) -> np.ndarray:
    return np.concatenate([b for _, b in blocks(lo, hi)]) if hi > lo else np.empty((0, DIM), np.float32)


def metadata(n: int, seed: int) -> dict[str, np.ndarray]:
    """The seeded metadata columns: lang (5 values), tag (100), year (1990-2024)."""
    rng = np.random.default_rng(seed)
    return {"lang": np.array(LANGS)[rng.integers(0, len(LANGS), n)],
            "tag": np.array([f"t{i:02d}" for i in range(100)])[rng.integers(0, 100, n)],
            "year": 1990 + rng.integers(0, 35, n)}


def meta_rows(meta: dict[str, np.ndarray], a: int, b: int) -> list[dict[str, Any]]:
    return [{"lang": str(meta["lang"][i]), "tag": str(meta["tag"][i]), "year": int(meta["year"][i])}
            for i in range(a, b)]


def truth(n: int, nq: int, seed: int) -> dict[str, Any]:
    """Exact top-K row numbers of each query, unfiltered and under each filter."""
    q = rows(n, n + nq)
    meta = metadata(n, seed)
    scores = np.concatenate([blk @ q.T for _, blk in blocks(0, n)])  # (n, nq)
    out: dict[str, Any] = {}
    for name, f in FILTERS.items():
        s = scores if f is None else np.where((meta[f[0]] == f[1])[:, None], scores, -np.inf)
        top = np.argsort(-s, axis=0, kind="stable")[:K].T
        out[name] = top.tolist()
        if f is not None:
            out[f"share {name}"] = float(np.mean(meta[f[0]] == f[1]))
    return out


# ---------------------------------------------------------------------------------------------- engines
class Engine:
    """One store under test, driven by the child process; ``params``: embedlab index settings from the engine
    name (``hnsw:ef_construction=200,M=16``)."""

    def __init__(self, kind: str, folder: Path, params: dict[str, int]) -> None:
        self.kind, self.folder, self.params = kind, folder, params

    # each engine: imports / create / add / finish (index build) / close / reopen / search / delete / compact
    def imports(self) -> None: ...
    def create(self) -> None: ...
    def add(self, ids: list[str], vecs: np.ndarray, metas: list[dict[str, Any]]) -> None: ...
    def finish(self) -> None: ...
    def close(self) -> None: ...
    def reopen(self) -> None: ...
    def search(self, q: np.ndarray, where: tuple[str, str] | None) -> list[str]: ...
    def delete(self, ids: list[str]) -> None: ...
    def compact(self) -> None: ...


class Embedlab(Engine):
    def imports(self) -> None:
        import embedlab.store  # noqa: F401

    def create(self) -> None:
        from embedlab.store import Collection

        self.c = Collection.create("bench", dim=DIM, index="hnsw" if self.kind == "hnsw" else "exact",
                                   index_params=self.params or None, root=self.folder)

    def add(self, ids, vecs, metas) -> None:
        self.c.add(ids, vectors=vecs, metadata=metas)

    def close(self) -> None:
        self.c.close()

    def reopen(self) -> None:
        from embedlab.store import Collection

        self.c = Collection.open("bench", root=self.folder)

    def search(self, q, where) -> list[str]:
        return [h.id for h in self.c.search(q, k=K, where=None if where is None else {where[0]: where[1]})]

    def delete(self, ids) -> None:
        self.c.delete(ids)

    def compact(self) -> None:
        self.c.compact()


class Chroma(Engine):
    def imports(self) -> None:
        import chromadb  # noqa: F401

    def create(self) -> None:
        import chromadb

        self.client = chromadb.PersistentClient(path=str(self.folder))
        self.c = self.client.create_collection("bench", metadata={"hnsw:space": "cosine"}, embedding_function=None)

    def add(self, ids, vecs, metas) -> None:
        self.c.add(ids=ids, embeddings=vecs, metadatas=metas)

    def close(self) -> None:
        self.c = self.client = None

    def reopen(self) -> None:
        import chromadb

        self.client = chromadb.PersistentClient(path=str(self.folder))
        self.c = self.client.get_collection("bench", embedding_function=None)

    def search(self, q, where) -> list[str]:
        r = self.c.query(query_embeddings=q[None], n_results=K, where=None if where is None else {where[0]: where[1]},
                         include=[])
        return list(r["ids"][0])

    def delete(self, ids) -> None:
        self.c.delete(ids=ids)


class Lance(Engine):
    def imports(self) -> None:
        import lancedb  # noqa: F401

    def create(self) -> None:
        import lancedb

        self.db = lancedb.connect(str(self.folder))
        self.t = None

    def add(self, ids, vecs, metas) -> None:
        import pyarrow as pa

        batch = pa.table({"id": ids, "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), DIM),
                          "lang": [m["lang"] for m in metas], "tag": [m["tag"] for m in metas],
                          "year": [m["year"] for m in metas]})
        if self.t is None:
            self.t = self.db.create_table("bench", data=batch)
        else:
            self.t.add(batch)

    def finish(self) -> None:
        if self.kind == "lance-ivfpq":
            self.t.create_index(metric="cosine", index_type="IVF_PQ")

    def close(self) -> None:
        self.t = self.db = None

    def reopen(self) -> None:
        import lancedb

        self.db = lancedb.connect(str(self.folder))
        self.t = self.db.open_table("bench")

    def search(self, q, where) -> list[str]:
        s = self.t.search(q).distance_type("cosine").limit(K).select(["id"])
        if where is not None:
            s = s.where(f"{where[0]} = '{where[1]}'", prefilter=True)
        return [r["id"] for r in s.to_list()]

    def delete(self, ids) -> None:
        self.t.delete("id IN (" + ",".join(f"'{i}'" for i in ids) + ")")

    def compact(self) -> None:
        from datetime import timedelta

        self.t.optimize(cleanup_older_than=timedelta(0))


def parse_engine(spec: str) -> tuple[str, dict[str, int]]:
    """``kind`` or ``kind:key=value,...`` (integer index settings, embedlab engines only) -> (kind, settings)."""
    kind, _, rest = spec.partition(":")
    if kind not in ENGINES or (rest and kind not in ("exact", "hnsw")):
        raise SystemExit(f"bad engine {spec!r}: one of {', '.join(ENGINES)}; settings (hnsw:key=value,...) only "
                         "for exact / hnsw")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if not value.lstrip("-").isdigit():
            raise SystemExit(f"bad setting {item!r} in engine {spec!r}: key=integer")
        params[key] = int(value)
    return kind, params


def engine(spec: str, folder: Path) -> Engine:
    kind, params = parse_engine(spec)
    cls = {"exact": Embedlab, "hnsw": Embedlab, "chroma": Chroma, "lance-flat": Lance, "lance-ivfpq": Lance}[kind]
    return cls(kind, folder, params)


def peak_rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0  # pragma: no cover


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def child(kind: str, phase: str, folder: Path, work: Path, n: int, batch: int, seed: int) -> dict[str, Any]:
    """One phase of one engine (run in its own process)."""
    e = engine(kind, folder)
    out: dict[str, Any] = {}
    if phase == "build":
        meta = metadata(n, seed)
        e.create()
        spent = 0.0
        for a, blk in blocks(0, n):
            for s in range(0, len(blk), batch):
                lo = a + s
                hi = lo + len(blk[s:s + batch])
                ids, metas = [f"s{i}" for i in range(lo, hi)], meta_rows(meta, lo, hi)
                spent += timed(lambda: e.add(ids, blk[s:s + batch], metas))  # noqa: B023
        spent += timed(e.finish)
        spent += timed(e.close)
        ru = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process: the load-independent figure
        out.update(build_rows_s=n / spent, build_s=spent, build_cpu_s=ru.ru_utime + ru.ru_stime,
                   disk=disk_bytes(folder))
    elif phase == "open":
        q = np.load(work / "queries.npy")[0]
        out["import_ms"] = timed(e.imports) * 1e3
        t = time.perf_counter()
        e.reopen()
        e.search(q, None)
        out["open_ms"] = (time.perf_counter() - t) * 1e3
    elif phase == "query":
        q = np.load(work / "queries.npy")
        tr = json.loads((work / "truth.json").read_text())
        e.reopen()
        for i in range(min(5, len(q))):  # warm up
            e.search(q[i], None)
        for name, f in FILTERS.items():
            lat: list[list[float]] = []
            found: list[list[str]] = []
            for p in range(PASSES):
                ts = []
                for qi in q:
                    t = time.perf_counter()
                    ids = e.search(qi, f)
                    ts.append((time.perf_counter() - t) * 1e3)
                    if p == 0:
                        found.append(ids)
                lat.append(ts)
            want = [{f"s{j}" for j in row} for row in tr[name]]
            out[f"{name} p50"] = statistics.median(float(np.percentile(ts, 50)) for ts in lat)
            out[f"{name} p99"] = statistics.median(float(np.percentile(ts, 99)) for ts in lat)
            out[f"{name} recall"] = float(np.mean([len(w & set(g)) / K for w, g in zip(want, found, strict=True)]))
    elif phase == "delete":
        e.reopen()
        before = disk_bytes(folder)
        gone = [f"s{i}" for i in range(0, n, 10)]
        t = time.perf_counter()
        for s in range(0, len(gone), batch):
            e.delete(gone[s:s + batch])
        e.compact()
        e.close()
        out.update(delete_s=time.perf_counter() - t, disk_before=before, disk_after=disk_bytes(folder))
    out["rss"] = peak_rss()
    return out


def run_child(kind: str, phase: str, folder: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--phase", phase, "--dir", str(folder), "--work", str(work),
           "--n", str(args.n), "--batch", str(args.batch), "--seed", str(args.seed)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{kind} {phase} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def available(spec: str) -> bool:
    kind = parse_engine(spec)[0]
    mod = {"chroma": "chromadb", "lance-flat": "lancedb", "lance-ivfpq": "lancedb"}.get(kind)
    if mod is None:
        return True
    import importlib.util

    return importlib.util.find_spec(mod) is not None


def fmt_mb(b: float) -> str:
    return f"{b / 2**20:,.0f}"


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, settings: dict[str, str],
           load: list[str], shares: dict[str, float]) -> str:
    def med(kind: str, key: str) -> float:
        vals = [r[key] for r in results[kind] if key in r]
        return statistics.median(vals) if vals else float("nan")

    lines = ["# Stores: embedlab local vs Chroma and LanceDB, " + f"{args.n:,} x {DIM} sentence vectors", "",
             "Command: `" + " ".join(shlex.quote(a) for a in sys.argv) + "`", "",
             "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), "",
             f"Load average at each round's start: {'; '.join(load)}", "",
             f"Medians of {len(load)} interleaved round(s) of {args.repeats}; latencies are medians of {PASSES} passes over "
             f"{args.queries} held-out queries. Filter shares: "
             + ", ".join(f"{k} = {v:.2%}" for k, v in shares.items()) + ".", ""]
    kinds = list(results)
    if "build" in args.phases:
        rows_ = [[k, f"{med(k, 'build_rows_s'):,.0f}", f"{med(k, 'build_s'):.1f}", f"{med(k, 'build_cpu_s'):.1f}",
                  f"{args.n / med(k, 'build_cpu_s'):,.0f}", fmt_mb(med(k, 'disk'))] for k in kinds]
        lines += ["## Build", "", md_table(["engine", "rows/s (wall)", "seconds", "CPU seconds (process, all threads)",
                                            "rows per CPU second", "disk MiB"], rows_),
                  "", "CPU seconds include the process's start-up, imports and reading the vectors (the same "
                  "for every engine); on a loaded machine they are the steadier figure.", ""]
    if "open" in args.phases:
        lines += ["## Reopen + first query (in a fresh process, after the package's import)", "",
                  md_table(["engine", "import ms", "reopen + first query ms"],
                           [[k, f"{med(k, 'import_ms'):.0f}", f"{med(k, 'open_ms'):.0f}"] for k in kinds]), ""]
    if "query" in args.phases:
        hdr = ["engine"] + [f"{f} {m}" for f in FILTERS for m in ("p50 ms", "p99 ms", "recall@10")]
        rows_ = [[k] + [x for f in FILTERS for x in (f"{med(k, f + ' p50'):.2f}", f"{med(k, f + ' p99'):.2f}",
                                                       f"{med(k, f + ' recall'):.3f}")] for k in kinds]
        lines += ["## Single queries", "", md_table(hdr, rows_), ""]
    if "delete" in args.phases:
        rows_ = [[k, f"{med(k, 'delete_s'):.1f}", fmt_mb(med(k, 'disk_before')), fmt_mb(med(k, 'disk_after'))]
                 for k in kinds]
        lines += ["## Delete 10 % + compaction", "", md_table(["engine", "seconds", "disk MiB before",
                                                               "disk MiB after"], rows_),
                  "", "Chroma has no compaction call; its row is after the deletes alone.", ""]
    lines += ["## Peak RSS (MiB, the phase's own process)", "",
              md_table(["engine"] + list(args.phases),
                       [[k] + [fmt_mb(statistics.median(r[f"{p} rss"] for r in results[k] if f"{p} rss" in r))
                               for p in args.phases] for k in kinds]), "", LOAD_NOTE, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="base rows")
    ap.add_argument("--queries", type=int, default=200, help="held-out queries (the rows after the base)")
    ap.add_argument("--engines", default=" ".join(ENGINES), help="space-separated: " + ", ".join(ENGINES)
                    + "; embedlab ones may carry index settings: 'hnsw:ef_construction=200,M=32'")
    ap.add_argument("--measure", default=",".join(PHASES), help="comma-separated phases: " + ", ".join(PHASES)
                    + " (open, query and delete need a build in the same run)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (medians reported)")
    ap.add_argument("--batch", type=int, default=1000, help="rows per add call")
    ap.add_argument("--seed", type=int, default=0, help="seeds the metadata rule")
    ap.add_argument("--corpus", type=Path, default=None, help="corpus text (default bench-data/corpus.txt, else "
                    "/tmp/benchdata/corpus.txt)")
    ap.add_argument("--encode-only", action="store_true", help="fill the vector cache and stop")
    ap.add_argument("--tmp", type=Path, default=None, help="where the stores are built (default: system temp)")
    ap.add_argument("--out", type=Path, default=None, help="also write the markdown report here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dir", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.phase, args.dir, args.work, args.n, args.batch, args.seed)))
        return
    engines = args.engines.split()
    args.phases = [p for p in PHASES if p in args.measure.split(",")]
    for e in engines:
        parse_engine(e)
    bad = [p for p in args.measure.split(",") if p not in PHASES]
    if bad or args.n < 1000 or args.queries < 1 or args.repeats < 1 or args.batch < 1:
        raise SystemExit(f"bad arguments: {bad or 'n >= 1000, queries, repeats and batch >= 1'}")
    if args.phases and args.phases[0] != "build":
        raise SystemExit("--measure needs build (the other phases use the store it builds)")
    corpus = args.corpus or (CORPUS if CORPUS.is_file() else Path("/tmp/benchdata/corpus.txt"))
    encode_cache(args.n + args.queries, corpus)
    if args.encode_only:
        return
    for e in list(engines):
        if not available(e):
            print(f"# {e}: package not importable, skipped (install the bench extra or set PYTHONPATH)")
            engines.remove(e)
    settings = print_settings("stores")
    base = Path(tempfile.mkdtemp(prefix="bench-stores-", dir=args.tmp))
    try:
        work = base / "work"
        work.mkdir()
        np.save(work / "queries.npy", rows(args.n, args.n + args.queries))
        tr = truth(args.n, args.queries, args.seed)
        (work / "truth.json").write_text(json.dumps(tr))
        shares = {k: tr[f"share {k}"] for k in FILTERS if FILTERS[k] is not None}
        results: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
        load = []
        for r in range(args.repeats):
            load.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
            for e in engines:
                folder = base / f"{e.replace(':', '_').replace(',', '_').replace('=', '')}-{r}"
                folder.mkdir()
                got: dict[str, Any] = {}
                for p in args.phases:
                    res = run_child(e, p, folder, work, args)
                    res[f"{p} rss"] = res.pop("rss")
                    got.update(res)
                results[e].append(got)
                print(f"# round {r} {e} (done {time.strftime('%H:%M:%S')}, load {os.getloadavg()[0]:.1f}): "
                      + json.dumps({k: round(v, 4) for k, v in got.items()}), flush=True)
                shutil.rmtree(folder, ignore_errors=True)
            # the report of the rounds finished so far, so a run stopped part-way keeps them
            text = report(results, args, settings, load, shares)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(text)
        print(text)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
