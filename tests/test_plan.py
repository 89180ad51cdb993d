"""`plan` estimates against what indexes actually hold (memory within 1.25x), its time model computed exactly from
given constants, a loose sanity check of measured times, the cached per-machine constants, and the `plan` / `tune`
commands. How close the time estimates come to real builds and queries (the 2x target) depends on the machine's
load between calibration and use, so it is measured by benchmarks/bench_precision.py (BENCHMARKS.md), not asserted
by a timed unit test."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import numpy as np
import pytest

from embedlab.index import make_index
from embedlab.index import plan as plan_mod
from embedlab.index.plan import Constants, calibrate, constants, estimate, index_memory_bytes
from embedlab.store import Collection

FAKE = Constants(machine="", scan_byte_s=1e-10, f32_dim_s=1e-10, fp16_dim_s=2e-10,
                 sq8_dim_s=2e-10, bin_byte_s=1e-10, bin_row_s=1e-9, gemm_s=1e-11, sq_encode_dim_s=1e-9, hnsw_node_s=1e-7,
                 coded_build_dim_s=2e-9, binary_build_dim_s=1e-9,
                 hnsw_query_beta=1.5, hnsw_build_a=1.0, hnsw_build_b=0.05, hnsw_build_node_s=1e-7,
                 rescore_row_s=1e-9, ivf_row_dim_s=1e-10, pq_code_s=1e-9, kmeans_s=1e-11, call_s=1e-5, coded_call_s=3e-5,
                 write_byte_s=1e-9)


@pytest.fixture
def fake_constants(monkeypatch):
    """Cached constants for this machine, so commands never run the micro-benchmark in tests."""
    c = Constants(**{**asdict(FAKE), "machine": plan_mod.machine_key()})
    path = plan_mod.constants_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(c)))
    monkeypatch.setattr(plan_mod, "calibrate", lambda *a, **k: pytest.fail("must use the cached constants"))
    return c


def clustered(n, d, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((50, 8))
    lat = centers[rng.integers(0, 50, n)] + 0.3 * rng.standard_normal((n, 8))
    return (lat @ rng.standard_normal((8, d)) + 0.05 * rng.standard_normal((n, d))).astype(np.float32)


# ----------------------------------------------------------------------------- memory: within 1.25x
@pytest.mark.parametrize("kind,params", [
    ("exact", {"precision": "float16"}), ("exact", {"precision": "int8"}), ("exact", {"precision": "binary"}),
    ("hnsw", {"M": 16}), ("hnsw", {"M": 8, "precision": "int8"}), ("hnsw", {"M": 32, "precision": "binary"}),
    ("ivf", {"nlist": 64}), ("ivf", {"nlist": 64, "m": 16}),
])
def test_memory_estimate_is_within_a_quarter_of_what_the_index_holds(tmp_path, kind, params):
    n, d = 20_000, 64
    x = clustered(n, d)
    idx = make_index(kind, d, "cosine", **params)
    idx.set_vector_source(lambda ids: x[ids])  # as in a collection: the float32 rows stay in the segments
    if kind == "ivf":
        idx.train(x)
    idx.add(np.arange(n), x)
    if kind == "ivf":  # searched as a collection opens it: lists mapped from disk
        idx.save(tmp_path / "ivf")
        from embedlab.index import load_index

        idx = load_index(tmp_path / "ivf")
    actual = index_memory_bytes(idx)
    est = estimate(n, d, kind, consts=FAKE, **params).resident_bytes
    assert 1 / 1.25 <= est / actual <= 1.25, (est, actual)


def test_exact_float32_memory_is_its_scanned_rows():
    from embedlab.index import ExactIndex

    x = clustered(10_000, 32)
    idx = ExactIndex.from_matrix(np.arange(10_000), x, "dot")
    est = estimate(10_000, 32, "exact", consts=FAKE).resident_bytes
    assert 1 / 1.25 <= est / index_memory_bytes(idx) <= 1.25


# ----------------------------------------------------------------------------- time
def _timed(fn, repeats=3):
    """The fastest of ``repeats`` calls, as ``plan.calibrate`` times its constants: other processes only ever add
    time, so on a loaded machine the minimum of both sides is what stays comparable (a median here against a
    minimum there failed at load ~24)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.min(times))


def test_time_model_from_given_constants():
    """The estimate is the documented cost model, evaluated exactly: per-call overhead + bytes or rows scanned."""
    c, n, d = FAKE, 100_000, 128
    e = estimate(n, d, "exact", "float32", "dot", consts=c)
    assert e.query_s == pytest.approx(c.call_s + max(n * d * 4 * c.scan_byte_s, n * d * c.f32_dim_s), rel=1e-12)
    assert e.build_s == pytest.approx(0.0, abs=1e-12)  # a float32 exact index copies rows: no build work
    e2 = estimate(2 * n, d, "exact", "float32", "dot", consts=c)
    assert e2.query_s - c.call_s == pytest.approx(2 * (e.query_s - c.call_s), rel=1e-12)  # linear in n
    # HNSW: build per insertion grows with ln n; a query does not depend on n
    h1 = estimate(n, d, "hnsw", "float32", "dot", consts=c, M=16, ef_construction=64, ef_search=64)
    h2 = estimate(4 * n, d, "hnsw", "float32", "dot", consts=c, M=16, ef_construction=64, ef_search=64)
    assert h2.query_s == pytest.approx(h1.query_s, rel=1e-12)
    per_insert = [(c.hnsw_build_a + c.hnsw_build_b * np.log(m)) for m in (n, 4 * n)]
    build_ratio = (h2.build_s - h2.resident_bytes * c.write_byte_s) / (h1.build_s - h1.resident_bytes * c.write_byte_s)
    assert build_ratio == pytest.approx(4 * per_insert[1] / per_insert[0], rel=1e-9)
    # compressed codes: the rescoring of r * k candidates is added to the scan
    i8 = estimate(n, d, "exact", "int8", "dot", rescore=4, consts=c)
    i8_r1 = estimate(n, d, "exact", "int8", "dot", rescore=1, consts=c)
    assert i8.query_s - i8_r1.query_s == pytest.approx(3 * 10 * d * c.rescore_row_s, rel=1e-9)
    # building codes through our layer: per row and dimension, plus writing the index
    assert i8.build_s == pytest.approx(n * d * c.coded_build_dim_s + i8.resident_bytes * c.write_byte_s, rel=1e-12)
    b1 = estimate(n, d, "exact", "binary", "dot", consts=c)
    assert b1.build_s == pytest.approx(n * d * c.binary_build_dim_s + b1.resident_bytes * c.write_byte_s, rel=1e-12)


@pytest.mark.slow
def test_measured_times_are_the_right_order_of_magnitude():
    """Constants measured now, then real builds and queries of other sizes than the calibration used: each estimate
    within 10x of the measured time (a unit slip, a missing factor of d or n, would be 100x off). The 2x target is
    measured under controlled conditions by the benchmark; a machine's load between the two measurements moves
    wall-clock times by several times, so a miss here is retried with fresh constants."""
    both = plan_mod.realistic(np.random.default_rng(5), 40_256, 96)  # embedding-like rows
    x, q = both[:40_000], both[40_000:]
    nq = len(q)
    ratios: dict[str, float] = {}
    for _attempt in range(3):
        c = calibrate(quick=True)
        ratios = {}
        for prec in ("float32", "int8"):
            params = {"M": 12, "ef_construction": 48}
            n = 12_000
            holder = {}

            def build(prec=prec, params=params, n=n, holder=holder):
                idx = make_index("hnsw", 96, "dot", precision=prec, **params) if prec != "float32" else \
                    make_index("hnsw", 96, "dot", **params)
                if prec == "int8":
                    idx.set_vector_source(lambda ids: x[ids])
                    idx.train(x[:n])
                idx.add(np.arange(n), x[:n])
                holder["idx"] = idx

            ratios[f"hnsw {prec} build"] = estimate(n, 96, "hnsw", prec, "dot", consts=c, **params).build_s / \
                _timed(build, repeats=2)
            idx = holder["idx"]
            per_query = _timed(lambda idx=idx: [idx.search(q[i], 10, ef=64) for i in range(nq)], 5) / nq
            ratios[f"hnsw {prec} query"] = estimate(n, 96, "hnsw", prec, "dot", consts=c, ef_search=64,
                                                    **params).query_s / per_query
        for prec in ("int8", "binary"):
            idx = make_index("exact", 96, "dot", precision=prec, rescore=2)
            idx.set_vector_source(lambda ids: x[ids])
            idx.add(np.arange(len(x)), x)
            per_query = _timed(lambda idx=idx: [idx.search(q[i], 10) for i in range(32)], 5) / 32
            ratios[f"exact {prec} query"] = estimate(len(x), 96, "exact", prec, "dot", rescore=2,
                                                     consts=c).query_s / per_query
        ivf = make_index("ivf", 96, "dot", nlist=64, nprobe=8)
        build_s = _timed(lambda ivf=ivf: (ivf.train(x), ivf.add(np.arange(len(x)), x)), repeats=1)
        ratios["ivf build"] = estimate(len(x), 96, "ivf", "float32", "dot", nlist=64, nprobe=8,
                                       consts=c).build_s / build_s
        per_query = _timed(lambda ivf=ivf: [ivf.search(q[i], 10) for i in range(nq)], 5) / nq
        ratios["ivf query"] = estimate(len(x), 96, "ivf", "float32", "dot", nlist=64, nprobe=8,
                                       consts=c).query_s / per_query
        if all(0.1 <= r <= 10.0 for r in ratios.values()):
            break
    assert all(0.1 <= r <= 10.0 for r in ratios.values()), json.dumps(ratios)


def test_constants_are_measured_once_and_cached_per_machine(monkeypatch):
    calls = []

    def fake(*a, **k):
        calls.append(1)
        return Constants(**{**asdict(FAKE), "machine": plan_mod.machine_key()})

    monkeypatch.setattr(plan_mod, "calibrate", fake)
    first = constants()
    second = constants()
    assert calls == [1] and first == second and plan_mod.constants_path().is_file()
    monkeypatch.setattr(plan_mod, "machine_key", lambda: "another machine")
    constants()  # another machine (or FAISS, or thread count): measured again
    assert calls == [1, 1]
    constants(recalibrate=True)
    assert len(calls) == 3


def test_estimate_bad_input():
    from embedlab.errors import InputError

    with pytest.raises(InputError, match="count must be a positive integer"):
        estimate(0, 8, consts=FAKE)
    with pytest.raises(InputError, match="unknown index kind"):
        estimate(10, 8, "annoy", consts=FAKE)
    with pytest.raises(InputError, match="not l2"):
        estimate(10, 8, "exact", "binary", "l2", consts=FAKE)


def run_cli(capsys, *args):
    from embedlab.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def test_plan_command_prints_every_setting(capsys, fake_constants):
    code, out, err = run_cli(capsys, "plan", "--count", "1000000", "--dim", "384", "--json")
    assert code == 0, err
    doc = json.loads(out)
    got = {(e["kind"], e["precision"]) for e in doc["estimates"]}
    assert got == {(k, p) for k in ("exact", "hnsw", "ivf") for p in ("float32", "float16", "int8", "binary")} - {
        ("ivf", "binary")}
    int8 = next(e for e in doc["estimates"] if (e["kind"], e["precision"]) == ("exact", "int8"))
    f32 = next(e for e in doc["estimates"] if (e["kind"], e["precision"]) == ("exact", "float32"))
    assert int8["resident_bytes"] == 1_000_000 * (384 + 25) and int8["resident_bytes"] < 0.3 * f32["resident_bytes"]
    assert int8["disk_bytes"] > 1_000_000 * 384 * 4
    code, out, err = run_cli(capsys, "plan", "-n", "50000", "-d", "128", "--index", "hnsw", "--precision", "int8",
                             "--M", "16")
    assert code == 0 and "hnsw" in out and "M16" in out and "RAM MiB" in out


def test_tune_command_recommends_plots_and_applies(capsys, tmp_path, fake_constants):
    x = clustered(4000, 32, seed=2)
    with Collection.create("t", dim=32) as c:
        c.add([f"r{i}" for i in range(len(x))], vectors=x)
    png = tmp_path / "t.png"
    code, out, err = run_cli(capsys, "tune", "t", "--target-recall", "0.9", "--queries", "40", "--plot", png,
                             "--apply", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = doc["best"]
    assert best["recall"] >= 0.9 and doc["applied"]["kind"] == best["kind"]
    kinds = {(t["kind"], t["build"].get("precision", "float32")) for t in doc["trials"]}
    assert {("exact", "float32"), ("exact", "int8"), ("exact", "binary"), ("hnsw", "int8")} <= kinds
    ok = [t for t in doc["trials"] if t["recall"] >= 0.9]
    assert best["resident_bytes"] <= min(t["resident_bytes"] for t in ok) * 1.05  # the cheapest
    with Collection.open("t") as c:
        assert c.info()["index"] == doc["applied"] and c.search(x[3], k=1)[0].id == "r3"
    code, out, err = run_cli(capsys, "tune", "t", "--queries", "20", "--plot", tmp_path / "u.png")
    assert code == 0 and "recommended:" in out and "recall@10" in out
