"""Time for a filter of 1,000 / 10,000 `$in` values (and the same values as an `$or`) on a 20k-item collection,
and whether the top-10 equals the exact answer over the kept rows.

    .venv/bin/python benchmarks/bench_big_filters.py                       # local backend (a temporary folder)
    .venv/bin/python benchmarks/bench_big_filters.py postgresql://...      # PostgreSQL (scripts/postgres.sh start)
"""
import statistics
import sys
import tempfile
import time

import numpy as np

from embedlab.store import Collection

backend = sys.argv[1] if len(sys.argv) > 1 else None
n, dim = 20000, 64
rng = np.random.default_rng(0)
v = rng.normal(size=(n, dim)).astype(np.float32)
kw = {"backend": backend} if backend else {"root": tempfile.mkdtemp()}
name = "filtertime"
if backend and name in Collection.names(backend=backend):
    Collection.drop(name, backend=backend)
c = Collection.create(name, dim=dim, **kw)
c.add([f"i{i}" for i in range(n)], vectors=v, metadata=[{"t": i, "g": f"g{i % 100}"} for i in range(n)])
q = rng.normal(size=dim).astype(np.float32)
for m in (1000, 10000):
    vals = [int(x) for x in rng.choice(n, m, replace=False)]
    for label, where in (("$in", {"t": {"$in": vals}}), ("$or", {"$or": [{"t": x} for x in vals]})):
        ts = []
        for _ in range(5):
            t = time.perf_counter(); hits = c.search(q, k=10, where=where); ts.append(time.perf_counter() - t)
        exact = v[vals] @ q
        best = {f"i{vals[j]}" for j in np.argsort(-exact / np.linalg.norm(v[vals], axis=1))[:10]}
        print(f"{backend or 'local'} {label} {m:>6} values: {statistics.median(ts) * 1000:8.1f} ms  hits {len(hits)}  same top-10 as exact: {best == {h.id for h in hits}}", flush=True)
c.close()
