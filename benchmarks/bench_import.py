"""Parquet import into the local backend: does it stream? Peak memory against the batch size and the file size.

Writes Parquet files in embedlab's export layout (``store/parquet.py``: ``id``, ``vector`` as a fixed-size list
of float32, ``metadata`` JSON, ``content``, ``source``, ``hash``, the collection description under the file
metadata key ``embedlab``, one row group per 10,000 rows as ``export_parquet`` writes them) with seeded random
unit 384-d vectors, then measures, each in a fresh Python process, interleaved over ``--rounds``:

- ``embedlab.store.parquet.import_parquet(path, name, root=tmp, batch_size=B)`` into the local backend, as
  shipped, and with pyarrow's ``ParquetFile`` patched to ``pre_buffer=False`` in that process (a diagnosis:
  pyarrow >= 26 pre-buffers every row group an ``iter_batches`` will read, so memory grows with the file),
- the reference ``pyarrow.parquet.read_table(path)`` (the whole file in memory), and
- ``ParquetFile.iter_batches(batch_size=B)`` with the vectors turned into one float32 array per batch, with
  pyarrow's default ``pre_buffer=True`` and with ``pre_buffer=False`` (the streaming floor),

reporting peak RSS (VmHWM) and its anonymous / file-backed parts (sampled every 20 ms), seconds and rows/s.

    .venv/bin/python benchmarks/bench_import.py                        # 1M rows (~1.4 GB file), ~5 min
    .venv/bin/python benchmarks/bench_import.py --rows 200000 --sizes 50000,100000,200000
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import md_table, print_settings  # noqa: E402

CHILD = r"""
import json, sys, threading, time
kind, path, batch, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def status():
    out = {}
    for line in open("/proc/self/status"):
        key, _, val = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(val.split()[0]) * 1024
    return out

peak = {"RssAnon": 0, "RssFile": 0}
stop = False
def sample():
    while not stop:
        s = status()
        for k in peak:
            peak[k] = max(peak[k], s[k])
        time.sleep(0.02)

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
if kind.endswith("_nopb"):  # diagnosis: pyarrow's ParquetFile without pre-buffering (its default is pre_buffer=True)
    import functools
    pq.ParquetFile.__init__ = functools.partialmethod(pq.ParquetFile.__init__, pre_buffer=False)
if kind.startswith("embedlab"):
    from embedlab.store.parquet import import_parquet
base = status()["VmRSS"]
th = threading.Thread(target=sample, daemon=True)
th.start()
t = time.perf_counter()
if kind.startswith("embedlab"):
    rows = import_parquet(path, "imported", root=root, batch_size=batch)["count"]
elif kind == "read_table":
    table = pq.read_table(path)
    rows = table.num_rows
else:  # iter_batches: stream, one float32 matrix per batch
    rows = 0
    for b in pq.ParquetFile(path).iter_batches(batch_size=batch):
        vec = b.column(b.schema.get_field_index("vector"))
        m = vec.flatten().to_numpy(zero_copy_only=False).reshape(b.num_rows, -1)
        rows += b.num_rows
secs = time.perf_counter() - t
stop = True
th.join()
s = status()
for k in peak:
    peak[k] = max(peak[k], s[k])
print(json.dumps({"rows": rows, "secs": secs, "hwm": s["VmHWM"], "base": base, **{"peak_" + k: v for k, v in peak.items()}}))
"""


def write_file(path: Path, rows: int, dim: int, seed: int = 0, group: int = 10_000) -> int:
    """A Parquet file in embedlab's export layout (see the module docstring), written one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from embedlab.store.manifest import FORMAT_VERSION

    description = {"name": "random", "encoder": {"name": None, "dim": dim, "metric": "cosine", "fingerprint": None},
                   "index": {"kind": "exact", "params": {}}, "count": rows, "format_version": FORMAT_VERSION}
    schema = pa.schema([pa.field("id", pa.string(), nullable=False),
                        pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
                        pa.field("metadata", pa.string()), pa.field("content", pa.string()),
                        pa.field("source", pa.string()), pa.field("hash", pa.string())],
                       metadata={b"embedlab": json.dumps(description).encode()})
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(str(path), schema, compression="zstd") as w:
        for s in range(0, rows, group):
            n = min(group, rows - s)
            v = rng.standard_normal((n, dim), dtype=np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            nulls = pa.nulls(n, pa.string())
            w.write_table(pa.Table.from_arrays(
                [pa.array([f"r{i}" for i in range(s, s + n)], pa.string()),
                 pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), pa.float32()), dim),
                 pa.array([f'{{"n": {i}}}' for i in range(s, s + n)], pa.string()), nulls, nulls, nulls],
                schema=schema))
    return path.stat().st_size


def child(kind: str, path: Path, batch: int, work: Path) -> dict:
    root = work / "import-root"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), str(batch), str(root)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {path.name} batch {batch} failed:\n{proc.stderr[-3000:]}")
    shutil.rmtree(root, ignore_errors=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the big file")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--batches", default="10000,100000", help="import batch sizes on the big file")
    ap.add_argument("--sizes", default="250000,500000", help="smaller files, imported with the first batch size")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--workdir", default=None, help="where the files go (default: a temp dir, removed at the end)")
    args = ap.parse_args()
    info = print_settings("Parquet import: peak memory")
    work = Path(tempfile.mkdtemp(prefix="bench-import-", dir=args.workdir))
    batches = [int(x) for x in args.batches.split(",")]
    sizes = sorted({int(x) for x in args.sizes.split(",") if x} | {args.rows})
    try:
        files = {}
        for n in sizes:
            p = work / f"vectors-{n}.parquet"
            t = time.perf_counter()
            files[n] = (p, write_file(p, n, args.dim))
            print(f"wrote {p.name}: {files[n][1] / 2**20:,.0f} MiB in {time.perf_counter() - t:.1f} s", flush=True)
        big = files[args.rows][0]
        kinds = ("embedlab", "embedlab_nopb", "iter_batches", "iter_batches_nopb")
        cases = [(kind, args.rows, b) for kind in kinds for b in batches]
        cases += [("read_table", args.rows, 0)]
        cases += [(kind, n, 0 if kind == "read_table" else batches[0]) for n in sizes if n != args.rows
                  for kind in ("embedlab", "embedlab_nopb", "iter_batches_nopb", "read_table")]
        res: dict[tuple, list[dict]] = {c: [] for c in cases}
        for r in range(args.rounds):
            for c in (cases if r % 2 == 0 else cases[::-1]):
                kind, n, b = c
                got = child(kind, files[n][0] if n != args.rows else big, b, work)
                assert got["rows"] == n, got
                res[c].append(got)
                print(f"round {r}: {kind} {n:,} rows batch {b:,}: {got['secs']:.1f} s, peak {got['hwm'] / 2**20:,.0f} "
                      f"MiB (anon {got['peak_RssAnon'] / 2**20:,.0f})", flush=True)
        mib = 2 ** 20
        raw = {n: n * args.dim * 4 for n in sizes}

        def row(c: tuple) -> list:
            kind, n, b = c
            rs = res[c]
            hwm = statistics.median(x["hwm"] for x in rs)
            anon = statistics.median(x["peak_RssAnon"] for x in rs)
            fil = statistics.median(x["peak_RssFile"] for x in rs)
            base = statistics.median(x["base"] for x in rs)
            secs = statistics.median(x["secs"] for x in rs)
            label = {"embedlab": "embedlab `import_parquet` (local backend)",
                     "embedlab_nopb": "same, pyarrow `ParquetFile(pre_buffer=False)` patched in (proposed fix)",
                     "read_table": "pyarrow `read_table` (reference)",
                     "iter_batches": "pyarrow `ParquetFile(path).iter_batches` + float32 matrix (default pre_buffer)",
                     "iter_batches_nopb": "pyarrow `ParquetFile(path, pre_buffer=False).iter_batches` + float32 "
                                          "matrix"}[kind]
            return [label, f"{n:,}", f"{files[n][1] / mib:,.0f}", f"{b:,}" if b else "whole file",
                    f"{hwm / mib:,.0f}", f"{(hwm - base) / mib:,.0f}", f"{anon / mib:,.0f}", f"{fil / mib:,.0f}",
                    f"{hwm / raw[n]:.2f}", f"{secs:.1f}", f"{n / secs:,.0f}"]

        head = ["reader", "rows", "file MiB", "batch", "peak RSS MiB", "peak − start MiB", "peak anon MiB",
                "peak file-backed MiB", "peak RSS / raw vectors", "seconds", "rows/s"]
        out = [f"### Import of {args.rows:,} x {args.dim} float32 (raw vectors {raw[args.rows] / mib:,.0f} MiB), "
               f"medians of {args.rounds} rounds, fresh process each", "",
               md_table(head, [row(c) for c in cases if c[1] == args.rows]), "",
               f"### Peak memory against the file size (batch {batches[0]:,})", "",
               md_table(head, [row(c) for c in sorted(res, key=lambda c: (kinds.index(c[0]) if c[0] in kinds else 9,
                                                                       c[1]))
                               if c[2] in (batches[0], 0) and c[0] != "iter_batches"]), ""]
        print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (start: {info['loadavg']})")
        print("\n".join(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
