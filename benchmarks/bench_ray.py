"""Distributed indexing on Ray vs the single-process path: same output, model built once per actor, items/s.

The same documents (a JSONL file of real English text: lines of the shared corpus, three lines per
document; encoder ``use-multilingual``, the CLI's default) are indexed into a fresh local collection by

- the single-process path (``embedlab index NAME docs.jsonl``: ``passages.index_records``), and
- ``--engine ray`` (``index_records(..., engine=RayEngine(...))``, i.e. ``embedlab.scale.upsert_records``) on a local
  cluster (``ray.init(num_cpus=2)``) with 1 and 2 workers,

each in a fresh Python process (so model loading and Ray start-up are counted, as a user meets them), the
variants interleaved over ``--rounds``. Every Ray run must give the single-process run's ids in the same order
and vectors within 1e-6. The actors build the encoder through a counting factory (the same ``ByName`` the
library uses by default, plus one line per construction in a log), so constructions per actor are counted.

    .venv/bin/python benchmarks/bench_ray.py                  # 3,000 documents, 2 rounds (~3 min)
    .venv/bin/python benchmarks/bench_ray.py --docs 300 --rounds 1
    .venv/bin/python benchmarks/bench_ray.py --cli            # also time the CLI commands end to end
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
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import md_table, print_settings  # noqa: E402
from bench_pgvector import sentence_pool  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
mode, workers, docs, root, out, encoder, batch, log, threads = sys.argv[1:10]
workers, batch = int(workers), int(batch)
options = {"threads": int(threads)} if int(threads) else {}
import numpy as np
from embedlab.encoders import encoder as build
from embedlab.ingest import read_sources
from embedlab.passages import index_records
from embedlab.scale.ray import ByName
from embedlab.store import Collection


class CountingByName(ByName):
    # the library's default actor factory, plus one line per construction: "<pid> <OMP_NUM_THREADS> <cores>"
    def __init__(self, name, log, options):
        super().__init__(name)
        self.log, self.options = log, options

    def __call__(self):
        from embedlab._threads import cpu_count
        with open(self.log, "a") as fh:
            fh.write(f"{os.getpid()} {os.environ.get('OMP_NUM_THREADS')} {cpu_count()}\n")
        if self.options:
            from embedlab.encoders import encoder as build
            return build(self.name, **self.options)
        return super().__call__()


t_import = time.perf_counter() - t0
t = time.perf_counter()
enc = CountingByName(encoder, log, options)()  # the driver's encoder (single-process: the only one)
col = Collection.create("docs", enc, root=root)
records = read_sources([docs], modalities=enc.modalities)
t_prepare = time.perf_counter() - t
t_init = 0.0
if mode == "ray":
    import ray
    from embedlab.scale.ray import init
    t = time.perf_counter()
    # a local cluster of 2 CPUs whatever the worker count, with the library's own settings (one BLAS thread
    # per worker process, no dashboard); init() then reuses it
    ray.init(num_cpus=int(os.environ.get("BENCH_RAY_CPUS", "2")), include_dashboard=False, log_to_driver=False,
             configure_logging=False, runtime_env={"env_vars": {v: "1" for v in (
                 "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}})
    init(None, workers)
    t_init = time.perf_counter() - t
    from embedlab.scale import RayEngine
    opts = dict(engine=RayEngine(workers=workers, batch_size=batch, encoder=CountingByName(encoder, log, options)))
else:
    opts = {}
t = time.perf_counter()
got = index_records(col, records.records, **opts)
t_index = time.perf_counter() - t
v = col.vectors()
np.savez(out, ids=np.array(v.keys), matrix=np.asarray(v.matrix))
col.close()
total = time.perf_counter() - t0
if mode == "ray":
    import ray
    ray.shutdown()
print(json.dumps({"import_s": t_import, "prepare_s": t_prepare, "init_s": t_init, "index_s": t_index,
                  "total_s": total, "counts": {k: got[k] for k in ("added", "updated", "unchanged", "passages")},
                  "driver_pid": os.getpid()}))
"""


def write_docs(path: Path, n: int) -> int:
    pool = sentence_pool()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"doc{i}", "text": " ".join(pool[3 * i:3 * i + 3])}) + "\n")
    return n


def run_child(mode: str, workers: int, threads: int, docs: Path, work: Path, encoder: str, batch: int,
              tag: str) -> dict:
    root = work / f"root-{tag}"
    log = work / f"constructions-{tag}.log"
    out = work / f"vectors-{tag}.npz"
    for p in (root, log, out):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    env = dict(os.environ, EMBEDLAB_HOME=str(work / "home"))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(workers), str(docs), str(root), str(out), encoder,
                           str(batch), str(log), str(threads)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{mode} x{workers} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    lines = [line.split() for line in log.read_text().splitlines()]
    pids = Counter(int(x[0]) for x in lines)
    res["actor_env"] = sorted({f"OMP_NUM_THREADS={x[1]}, cores={x[2]}" for x in lines if int(x[0]) != res["driver_pid"]})
    res["driver_builds"] = pids.pop(res["driver_pid"], 0)
    res["actor_builds"] = sorted(pids.values())
    z = np.load(out)
    res["ids"], res["matrix"] = list(z["ids"]), z["matrix"]
    return res


def run_cli(engine: str, workers: int, docs: Path, work: Path, encoder: str, batch: int) -> tuple[float, str]:
    """``embedlab index`` end to end (its own process, a fresh collection home)."""
    home = work / f"cli-home-{engine}-{workers}"
    shutil.rmtree(home, ignore_errors=True)
    cmd = [str(Path(sys.executable).parent / "embedlab"), "index", "docs", str(docs), "--encoder", encoder, "--json"]
    if engine == "ray":
        cmd += ["--engine", "ray", "--workers", str(workers), "--batch-size", str(batch)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, EMBEDLAB_HOME=str(home)))
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return wall, " ".join(["embedlab", *cmd[1:]]).replace(str(docs), "docs.jsonl")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--encoder", default="use-multilingual",
                    help="default: the CLI's default encoder (batch-independent; minilm-onnx-int8 is not)")
    ap.add_argument("--batch-size", type=int, default=64, help="items per Ray task (the CLI's default)")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--actor-threads", type=int, default=0,
                    help="also run every variant with the encoder built with threads=N (in the driver and each actor)")
    ap.add_argument("--cli", action="store_true", help="also time `embedlab index` (local and --engine ray)")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    info = print_settings("Ray indexing vs single process")
    work = Path(tempfile.mkdtemp(prefix="bench-ray-", dir=args.workdir))
    try:
        docs = work / "docs.jsonl"
        n = write_docs(docs, args.docs)
        variants = [("single", 1, 0)] + [("ray", int(w), 0) for w in args.workers.split(",")]
        if args.actor_threads:
            variants += [("single", 1, args.actor_threads)]
            variants += [("ray", int(w), args.actor_threads) for w in args.workers.split(",")]
        runs: dict[tuple[str, int, int], list[dict]] = {v: [] for v in variants}
        for r in range(args.rounds):
            for mode, w, th in (variants if r % 2 == 0 else variants[::-1]):
                res = run_child(mode, w, th, docs, work, args.encoder, args.batch_size, f"{mode}{w}-{th}")
                runs[(mode, w, th)].append(res)
                print(f"round {r}: {mode} x{w} threads {th or 'default'}: index {res['index_s']:.1f} s, "
                      f"total {res['total_s']:.1f} s, actors {res['actor_env']}", flush=True)
        ref = runs[("single", 1, 0)][0]
        rows, checks = [], []
        single_index = {th: statistics.median(x["index_s"] for x in runs[(m, _, th)])
                        for (m, _, th) in runs if m == "single"}
        single_total = {th: statistics.median(x["wall_s"] for x in runs[(m, _, th)])
                        for (m, _, th) in runs if m == "single"}
        for (mode, w, th), rs in runs.items():
            same_ids = all(x["ids"] == ref["ids"] for x in rs)
            diff = max(float(np.max(np.abs(x["matrix"] - ref["matrix"]))) for x in rs)
            checks.append(same_ids and diff <= 1e-6)
            idx = statistics.median(x["index_s"] for x in rs)
            wall = statistics.median(x["wall_s"] for x in rs)
            init = statistics.median(x["init_s"] for x in rs)
            items = rs[0]["counts"]["passages"]
            builds = rs[0]["actor_builds"]
            rows.append([
                ("single process" if mode == "single" else f"ray, {w} worker{'s' if w > 1 else ''}")
                + (f", encoder threads={th}" if th else ""),
                f"{items / idx:.0f}", f"{idx:.1f}", f"{init:.1f}" if mode == "ray" else "—", f"{wall:.1f}",
                f"{items / wall:.0f}", f"{single_index[th] / idx:.2f}", f"{single_total[th] / wall:.2f}",
                f"{rs[0]['driver_builds']} + " + ("none" if not builds else
                                                  f"{len(builds)} actor(s): {builds}"),
                "yes" if same_ids else "NO", f"{diff:.1e}",
            ])
        out = [f"### Indexing {n:,} documents ({args.encoder}, local backend), medians of {args.rounds} "
               "interleaved rounds, each run a fresh process", "",
               md_table(["path", "items/s (indexing)", "indexing s", "ray.init s", "whole process s",
                         "items/s (whole process)", "speed vs single, same threads (indexing)", "(whole)",
                         "model builds: driver + actors (per actor)", "same ids, same order", "max |Δ vector|"],
                        rows), ""]
        if args.cli:
            cli_rows = []
            for engine, w in [("local", 1)] + [("ray", int(x)) for x in args.workers.split(",")]:
                wall, cmd = run_cli(engine, w, docs, work, args.encoder, args.batch_size)
                cli_rows.append([f"`{cmd}`", f"{wall:.1f}", f"{n / wall:.0f}"])
            out += ["### The CLI end to end (one run each)", "",
                    md_table(["command", "seconds", "items/s"], cli_rows), ""]
        print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (start: {info['loadavg']})")
        print("\n".join(out))
        if not all(checks):
            raise SystemExit("a Ray run differs from the single-process run (see the table)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
