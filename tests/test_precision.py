"""Precision (float16 / int8 / binary codes) for the exact and HNSW indexes: rescoring exactness, int8 calibration,
persistence, the Collection (resident codes, rescoring from the segments, compaction, crash recovery, reindex),
Matryoshka truncation, the CLI and HTTP options, and every bad input of issue 15."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from embedlab import metrics
from embedlab.encoders import Encoder
from embedlab.errors import CorruptFileError, DimensionError, FormatVersionError, InputError
from embedlab.index import Calibration, CompressedExactIndex, ExactIndex, load_index, make_index
from embedlab.index.plan import hnsw_graph_bytes
from embedlab.store import Collection

COMPRESSED = ["float16", "int8", "binary"]


@pytest.fixture(scope="module")
def clustered():
    """Realistic data: 8-d latent clusters lifted to 48-d plus noise."""
    rng = np.random.default_rng(3)
    centers = rng.standard_normal((40, 8))
    lat = centers[rng.integers(0, 40, 3200)] + 0.3 * rng.standard_normal((3200, 8))
    x = (lat @ rng.standard_normal((8, 48)) + 0.05 * rng.standard_normal((3200, 48))).astype(np.float32)
    return x[:3000], x[3000:]


def brute(q, x, ids, k, metric):
    s = metrics.scores(q, x, metric)
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return ids[order], np.take_along_axis(s, order, axis=1)


# ----------------------------------------------------------------------------- rescoring exactness
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
@pytest.mark.parametrize("precision", COMPRESSED)
def test_rescore_over_every_row_equals_exact(clustered, metric, precision):
    """rescore x k >= n re-ranks every row with its float32 vector: the answer is exact search's."""
    if precision == "binary" and metric == "l2":
        pytest.skip("binary has no l2 (tested below)")
    x, q = clustered
    x = x[:400]
    ids = np.arange(len(x)) * 5 + 2
    idx = make_index("exact", 48, metric, precision=precision, rescore=len(x))
    idx.add(ids, x)
    got_ids, got_sc = idx.search(q, 10)
    ref_ids, ref_sc = ExactIndex(48, metric), None
    ref_ids.add(ids, x)
    ref_ids, ref_sc = ref_ids.search(q, 10)
    np.testing.assert_array_equal(got_ids, ref_ids)
    np.testing.assert_allclose(got_sc, ref_sc, rtol=1e-5, atol=1e-4)
    one = idx.search(q[0], 10)  # the single-query path agrees
    np.testing.assert_array_equal(one[0], ref_ids[:1])


@pytest.mark.parametrize("precision", COMPRESSED)
def test_hnsw_rescore_with_a_beam_over_every_row_is_exact(clustered, precision):
    x, q = clustered
    x = x[:300]
    idx = make_index("hnsw", 48, "cosine", precision=precision, rescore=30, M=8, ef_construction=64)
    idx.add(np.arange(300), x)
    got, sc = idx.search(q, 10, ef=300)
    ref, ref_sc = brute(q, x, np.arange(300), 10, "cosine")
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(sc, ref_sc, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_int8_recall_and_rescore_per_call(clustered, kind):
    x, q = clustered
    e = ExactIndex(48, "cosine")
    e.add(np.arange(len(x)), x)
    idx = make_index(kind, 48, "cosine", precision="int8", rescore=4)
    idx.add(np.arange(len(x)), x)
    truth = e.search(q, 10)[0]
    got = idx.search(q, 10)[0]
    assert np.mean([len(np.intersect1d(a, t)) for a, t in zip(got, truth, strict=True)]) / 10 >= 0.98
    s1 = idx.search(q, 10, rescore=1)[1]  # rescore per call: the k found, re-scored exactly
    np.testing.assert_allclose(s1, metrics.scores(q, x, "cosine")[np.arange(len(q))[:, None],
                                                                   idx.search(q, 10, rescore=1)[0]], atol=1e-4)


# ----------------------------------------------------------------------------- int8 calibration
def test_calibration_is_per_dimension_from_the_data_and_matches_faiss(clustered):
    x, _ = clustered
    cal = Calibration.fit(x)
    np.testing.assert_array_equal(cal.lo, x.min(axis=0))
    np.testing.assert_array_equal(cal.hi, x.max(axis=0))
    idx = CompressedExactIndex(48, "dot", precision="int8")
    idx.train(x)
    idx.add(np.arange(len(x)), x)
    np.testing.assert_array_equal(idx.codes(), cal.encode(x))
    assert idx.codes().dtype == np.uint8 and idx.codes().shape == (len(x), 48)
    # a dimension constant in the data keeps a usable range; values beyond the range clip
    y = x.copy()
    y[:, 5] = 0.25
    c2 = Calibration.fit(y)
    assert c2.lo[5] == c2.hi[5] == np.float32(0.25)
    assert (c2.encode(y)[:, 5] == 0).all() and (c2.encode(y * 10)[:, :5] <= 255).all()


def test_calibration_of_an_empty_or_constant_set_is_refused():
    with pytest.raises(InputError, match="empty set"):
        Calibration.fit(np.empty((0, 4), np.float32))
    with pytest.raises(InputError, match="all identical"):
        Calibration.fit(np.ones((50, 4), np.float32))
    idx = CompressedExactIndex(4, "dot", precision="int8")
    with pytest.raises(InputError, match="all identical"):
        idx.train(np.ones((10, 4)))
    # an index fed only identical rows keeps them as float32 (searched exactly) instead of failing
    idx.add(np.arange(1500), np.ones((1500, 4)))
    assert not idx.trained and len(idx) == 1500
    assert idx.search(np.ones(4), 3)[0].shape == (1, 3)
    idx.add([5000, 5001], [[2, 0, 0, 1], [0, 3, 1, 0]])  # varied rows arrive: it calibrates and codes everything
    assert idx.trained and len(idx) == 1502 and idx.search([[0, 3, 1, 0]], 1)[0][0, 0] == 5001


def test_calibration_of_an_empty_or_constant_set_is_refused_by_every_int8_kind(clustered):
    x, _ = clustered
    for kind in ("hnsw", "ivf"):
        params = {"nlist": 4} if kind == "ivf" else {}
        idx = make_index(kind, 48, precision="int8", **params)
        with pytest.raises(InputError, match="empty set" if kind == "hnsw" else "needs at least 4 training vectors"):
            idx.train(np.empty((0, 48), np.float32))
        with pytest.raises(InputError, match="all identical"):
            idx.train(np.tile(x[:1], (200, 1)))
        assert not idx.trained and len(idx) == 0


@pytest.mark.parametrize("kind", ["exact", "hnsw", "ivf"])
@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_one_query_takes_the_short_path_with_the_batch_answers(clustered, kind, metric):
    """A single float32 query row skips the general checks: same ids and scores as the batch path, for every layout
    of that row, and the same refusals of NaN/inf."""
    x, q = clustered
    params = {"nlist": 16, "nprobe": 16} if kind == "ivf" else {}
    precision = "binary" if kind == "hnsw" and metric != "l2" else "int8"
    idx = make_index(kind, 48, metric, precision=precision, rescore=4, **params)
    idx.add(np.arange(len(x)), x)
    want_ids, want_sc = idx.search(q[:5].astype(np.float64), 10)  # float64: the general path
    wide = np.zeros((5, 96), np.float32)
    wide[:, ::2] = q[:5]
    for i in range(5):
        layouts = [q[i], q[i : i + 1], q[i].copy(), wide[i, ::2], q[i].astype(">f4"), q[i].tolist()]
        for row in layouts:
            got_ids, got_sc = idx.search(row, 10)
            assert got_ids.shape == (1, 10)
            np.testing.assert_array_equal(got_ids[0], want_ids[i])
            np.testing.assert_allclose(got_sc[0], want_sc[i], rtol=1e-5, atol=1e-5)
    before = q[0].copy()
    idx.search(q[0], 3)
    np.testing.assert_array_equal(q[0], before)  # the caller's row is never normalised in place
    assert idx.search(np.zeros(48, np.float32), 3)[0].shape == (1, 3)
    for bad in (np.nan, np.inf):
        row = q[0].copy()
        row[7] = bad
        with pytest.raises(InputError, match="NaN or infinity"):
            idx.search(row, 3)


def test_calibration_is_saved_and_recalibrated_on_compaction(tmp_path, clustered):
    x, q = clustered
    idx = make_index("hnsw", 48, "l2", precision="int8", M=8)
    idx.train(x)
    idx.add(np.arange(len(x)), x)
    before = idx.calibration.as_array().copy()
    idx.save(tmp_path / "ix")
    doc = json.loads((tmp_path / "ix" / "index.json").read_text())
    assert doc["precision"] == {"format": 1, "name": "int8", "rescore": 4, "calibration": "calibration.npy",
                                "vectors": "vectors.npy"}
    back = load_index(tmp_path / "ix")
    np.testing.assert_array_equal(back.calibration.as_array(), before)
    np.testing.assert_array_equal(back.search(q, 10)[0], idx.search(q, 10)[0])
    # remove the rows holding each dimension's extremes: compaction recalibrates on what is left
    extremes = np.unique(np.concatenate([x.argmin(axis=0), x.argmax(axis=0)]))
    gone = np.union1d(extremes, np.arange(1000))  # > a quarter: compacts
    idx.remove(gone)
    live = np.setdiff1d(np.arange(len(x)), gone)
    np.testing.assert_array_equal(idx.calibration.lo, x[live].min(axis=0))
    np.testing.assert_array_equal(idx.calibration.hi, x[live].max(axis=0))
    assert not np.isin(idx.search(q, 20)[0], gone).any()


# ----------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("kind", ["exact", "hnsw"])
@pytest.mark.parametrize("precision", COMPRESSED)
def test_round_trip_keeps_precision_codes_and_answers(tmp_path, clustered, kind, precision):
    x, q = clustered
    params = {"M": 8, "ef_search": 48} if kind == "hnsw" else {}
    idx = make_index(kind, 48, "cosine", precision=precision, rescore=3, **params)
    idx.add(np.arange(len(x)) + 10, x)
    idx.remove(np.arange(10, 60))
    before = idx.search(q, 10)
    idx.save(tmp_path / "ix")
    back = load_index(tmp_path / "ix")
    assert type(back) is type(idx) and back.precision == precision and back.rescore == 3
    assert back.params == idx.params and len(back) == len(idx)
    np.testing.assert_array_equal(back.search(q, 10)[0], before[0])
    mapped = type(idx).load(tmp_path / "ix", mmap=True)  # float32 rows for rescoring stay on disk
    assert isinstance(mapped._floats, np.memmap)
    np.testing.assert_array_equal(mapped.search(q, 10)[0], before[0])
    mapped.add([1], x[:1])  # a mapped index still grows
    assert mapped.search(x[0], 1)[0][0, 0] in (1, 10)


def test_saved_index_whose_precision_block_is_missing_damaged_or_newer(tmp_path, clustered):
    x, _ = clustered
    idx = make_index("exact", 48, precision="int8")
    idx.add(np.arange(len(x)), x)
    folder = tmp_path / "ix"
    idx.save(folder)
    doc = json.loads((folder / "index.json").read_text())
    write = (folder / "index.json").write_text
    write(json.dumps({k: v for k, v in doc.items() if k != "precision"}))
    with pytest.raises(CorruptFileError, match="lacks its 'precision' block"):
        load_index(folder)
    write(json.dumps({**doc, "precision": {**doc["precision"], "format": 7}}))
    with pytest.raises(FormatVersionError, match="precision in format 7, newer"):
        load_index(folder)
    write(json.dumps({**doc, "precision": {**doc["precision"], "format": "one"}}))
    with pytest.raises(CorruptFileError, match="no valid format"):
        load_index(folder)
    write(json.dumps({**doc, "precision": {**doc["precision"], "name": "int4"}}))
    with pytest.raises(CorruptFileError, match="unknown precision 'int4'"):
        load_index(folder)
    write(json.dumps({**doc, "precision": {**doc["precision"], "calibration": None}}))
    with pytest.raises(CorruptFileError, match="no calibration"):
        load_index(folder)
    write(json.dumps({**doc, "format_version": 3}))
    with pytest.raises(FormatVersionError, match="newer"):
        load_index(folder)
    write(json.dumps(doc))
    with pytest.raises(InputError, match="int8 codes, not float32"):
        ExactIndex.load(folder)
    assert len(load_index(folder)) == len(x)


def test_format_1_indexes_still_load_as_float32(tmp_path, clustered):
    x, q = clustered
    for kind in ("exact", "hnsw"):
        idx = make_index(kind, 48)
        idx.add(np.arange(len(x)), x)
        idx.save(tmp_path / kind)
        doc = json.loads((tmp_path / kind / "index.json").read_text())
        doc.pop("precision")
        (tmp_path / kind / "index.json").write_text(json.dumps({**doc, "format_version": 1}))
        back = load_index(tmp_path / kind)
        np.testing.assert_array_equal(back.search(q, 5)[0], idx.search(q, 5)[0])


# ----------------------------------------------------------------------------- bad input
def test_bad_precision_and_rescore_inputs():
    with pytest.raises(InputError, match="works with the cosine or dot metric, not l2"):
        make_index("exact", 8, "l2", precision="binary")
    with pytest.raises(InputError, match="not l2"):
        make_index("hnsw", 8, "l2", precision="binary")
    with pytest.raises(InputError, match="unknown precision 'int4'"):
        make_index("exact", 8, precision="int4")
    for bad in (0, -3, 1.5, True, "4"):
        with pytest.raises(InputError, match="rescore must be an integer >= 1"):
            make_index("hnsw", 8, precision="int8", rescore=bad)
    with pytest.raises(InputError, match="rescore applies to compressed codes"):
        make_index("exact", 8, rescore=4)
    with pytest.raises(InputError, match="rescore applies to compressed codes"):
        make_index("hnsw", 8, rescore=2)
    idx = make_index("exact", 8, precision="binary")
    idx.add(np.arange(20), np.random.default_rng(0).standard_normal((20, 8)))
    with pytest.raises(InputError, match="rescore must be an integer >= 1"):
        idx.search(np.ones(8), 3, rescore=0)
    with pytest.raises(InputError, match="unknown search parameter"):
        idx.search(np.ones(8), 3, nprobe=4)
    with pytest.raises(InputError, match="not l2"):
        Collection.create("b", dim=8, metric="l2", precision="binary")
    with pytest.raises(InputError, match="rescore must be an integer >= 1"):
        Collection.create("b", dim=8, precision="int8", rescore=0)
    assert Collection.names() == []


# ----------------------------------------------------------------------------- the Collection
@pytest.mark.parametrize("kind", ["exact", "hnsw"])
@pytest.mark.parametrize("precision", ["int8", "binary"])
def test_collection_keeps_codes_rescores_from_segments_and_survives_reopen_and_compaction(clustered, kind,
                                                                                         precision):
    x, q = clustered
    ids = [f"r{i}" for i in range(len(x))]
    c = Collection.create("p", dim=48, index=kind, precision=precision, rescore=8,
                          index_params={"M": 12} if kind == "hnsw" else None)
    ref = Collection.create("ref", dim=48)
    c.add(ids, vectors=x)
    ref.add(ids, vectors=x)
    index = c._table.index.index
    assert index.precision == precision and index.has_vector_source and index._floats is None
    graph = 1.05 * hnsw_graph_bytes(12) * len(x) if kind == "hnsw" else 0  # memory_bytes counts the HNSW links too
    assert index.memory_bytes() < 0.45 * x.nbytes + graph  # codes, not floats, are resident
    hits = c.search_many(q, k=10)
    truth = ref.search_many(q, k=10)
    recall = np.mean([len({h.id for h in a} & {h.id for h in b}) / 10 for a, b in zip(hits, truth, strict=True)])
    assert recall >= (0.97 if precision == "int8" else 0.75)
    for qi, a in enumerate(hits):  # rescored: exact float32 scores
        rows = [int(h.id[1:]) for h in a]
        np.testing.assert_allclose([h.score for h in a], metrics.cosine(q[qi : qi + 1], x[rows])[0], atol=1e-5)
    top = c.search(q[0], k=3, rescore=50)
    exact_top = ref.search(q[0], k=3)
    assert [h.id for h in top] == [h.id for h in exact_top]
    np.testing.assert_allclose([h.score for h in top], [h.score for h in exact_top], atol=1e-5)
    c.delete(ids[:1200])
    c.close()
    c = Collection.open("p")
    assert c.info()["index"] == {"kind": kind, "params": {"precision": precision, "rescore": 8,
                                                          **({"M": 12} if kind == "hnsw" else {})}}
    assert c._table.index.index.precision == precision
    assert all(int(h.id[1:]) >= 1200 for a in c.search_many(q, k=10) for h in a)
    c.compact()
    index = c._table.index.index
    assert index.precision == precision and len(index) == len(x) - 1200
    if precision == "int8":  # recalibrated on the rows that are left
        np.testing.assert_allclose(index.calibration.lo, metrics.normalize(x[1200:]).min(axis=0), atol=1e-6)
    assert c.search(x[2000], k=1)[0].id == "r2000"
    c.close()
    ref.close()


def test_collection_with_few_int8_rows_answers_exactly_until_it_can_calibrate(clustered):
    x, q = clustered
    c = Collection.create("few", dim=48, precision="int8")
    c.add(["a", "b", "c"], vectors=x[:3])
    assert [h.id for h in c.search(x[1], k=1)] == ["b"]
    c.add([f"r{i}" for i in range(3, 2000)], vectors=x[3:2000])
    assert c._table.index.index.trained
    assert c.search(x[1500], k=1)[0].id == "r1500"
    c.close()


def test_damaged_cache_is_rebuilt_and_a_killed_writer_loses_nothing_acknowledged(tmp_path, clustered):
    x, _ = clustered
    root = tmp_path / "cols"
    c = Collection.create("crash", dim=48, index="hnsw", precision="int8", index_params={"M": 8}, root=root)
    c.add([f"r{i}" for i in range(1500)], vectors=x[:1500])
    c.close()
    for p in (root / "crash" / "index-cache").iterdir():
        (p / "calibration.npy").write_bytes(b"garbage")
    c = Collection.open("crash", root=root)
    assert c.search(x[77], k=1)[0].id == "r77" and c._table.index.index.precision == "int8"
    c.close()
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from embedlab.store import Collection
        x = np.load({str(tmp_path / 'x.npy')!r})
        c = Collection.open("crash", root={str(root)!r})
        for s in range(1500, 3000, 100):
            c.add([f"r{{i}}" for i in range(s, s + 100)], vectors=x[s:s + 100])
            print(s + 100, flush=True)
        import time; time.sleep(60)
    """)
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acked = 1500
    for line in proc.stdout:
        acked = int(line)
        if acked >= 2200:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    c = Collection.open("crash", root=root)
    assert len(c) >= acked and c._table.index.index.precision == "int8"
    assert c.search(x[2100], k=1)[0].id == "r2100"
    c.close()


def test_reindex_changes_precision_and_survives_an_interrupted_manifest_write(clustered):
    x, q = clustered
    c = Collection.create("re", dim=48, index="hnsw", index_params={"M": 8})
    c.add([f"r{i}" for i in range(len(x))], vectors=x)
    new = c.reindex(precision="int8", rescore=2)
    assert new == {"kind": "hnsw", "params": {"M": 8, "precision": "int8", "rescore": 2}}
    assert c._table.index.index.precision == "int8" and c.search(x[9], k=1)[0].id == "r9"
    new = c.reindex("exact", precision="binary", rescore=16)
    assert new == {"kind": "exact", "params": {"precision": "binary", "rescore": 16}}
    assert isinstance(c._table.index.index, CompressedExactIndex)
    c.reindex(precision="float32")
    assert c.info()["index"] == {"kind": "exact", "params": {}}
    path = c.path
    c.reindex("hnsw", {"M": 8, "precision": "float16"})
    c.close()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["index"]["params"] == {"M": 8, "precision": "float16"} and manifest["index"]["rev"] == 4
    # as if the process died after the catalogue committed the new settings but before manifest.json followed
    (path / "manifest.json").write_text(json.dumps({**manifest, "index": {"kind": "exact", "params": {},
                                                                          "rev": 3}}))
    c = Collection.open("re")
    assert c.info()["index"]["kind"] == "hnsw" and json.loads((path / "manifest.json").read_text()) == manifest
    assert c.search(x[5], k=1)[0].id == "r5"
    c.close()
    # an edited manifest (same revision, other settings) is still damage
    (path / "manifest.json").write_text(json.dumps({**manifest, "index": {**manifest["index"], "kind": "exact"}}))
    with pytest.raises(CorruptFileError, match="was changed after the collection was created"):
        Collection.open("re")


def test_postgresql_refuses_compressed_precisions(pg_url):
    with pytest.raises(InputError, match="local-backend feature"):
        Collection.create("pq", dim=8, precision="int8", backend=pg_url)
    with pytest.raises(InputError, match="local-backend feature"):
        Collection.create("pq", dim=8, index="ivf", backend=pg_url)
    c = Collection.create("pq", dim=8, backend=pg_url)
    try:
        with pytest.raises(InputError, match="takes no nprobe"):
            c.search(np.ones(8), k=1, nprobe=3)
        with pytest.raises(InputError, match="cannot change a collection's index"):
            c.reindex(precision="int8")
    finally:
        c.close()
        Collection.drop("pq", backend=pg_url)


# ----------------------------------------------------------------------------- Matryoshka
class Nested(Encoder):
    """A deterministic toy encoder (bag of hashed letters), 32-d, optionally 'trained' for Matryoshka widths."""

    name = "nested-toy"
    dim = 32

    def __init__(self, dims: tuple[int, ...] | None) -> None:
        self.matryoshka_dims = dims

    def _encode_batch(self, items):
        out = np.zeros((len(items), self.dim), np.float32)
        for i, text in enumerate(items):
            for j, ch in enumerate(text):
                out[i, (ord(ch) * 7 + j) % self.dim] += 1.0 + (ord(ch) % 5)
        return out


def test_matryoshka_dim_truncates_renormalises_and_is_refused_without_training():
    enc = Nested((8, 16))
    c = Collection.create("m", enc, dim=16)
    assert c.dim == 16 and c.source_dim == 32 and c.info()["encoder"]["source_dim"] == 32
    c.add(["a", "b"], ["a cat sits on the mat", "stock prices fell sharply"])
    full = enc.encode(["a cat sits on the mat"])
    stored = c.get(["a"])[0].vector
    np.testing.assert_allclose(stored, metrics.normalize(full[:, :16])[0], atol=1e-6)
    assert abs(np.linalg.norm(stored) - 1) < 1e-5
    assert c.search("a cat sits on the mat", k=1)[0].id == "a"
    assert c.search(full[0], k=1)[0].id == "a"  # a full-width query vector is cut the same way
    c.add(["c"], vectors=enc.encode(["stock prices rose"]))  # so are full-width vectors given to add
    assert c.get(["c"])[0].vector.shape == (16,)
    c.close()
    c = Collection.open("m", enc)  # the encoder's own width still matches
    assert c.search("stock prices fell sharply", k=1)[0].id == "b"
    c.close()
    with pytest.raises(InputError, match="trained for Matryoshka widths 8, 16, not 12"):
        Collection.create("m2", enc, dim=12)
    assert Collection.create("m2", enc, dim=12, force=True).dim == 12
    with pytest.raises(InputError, match="not trained for Matryoshka truncation.*force=True"):
        Collection.create("m3", Nested(None), dim=16)
    assert Collection.create("m3", Nested(None), dim=16, force=True).dim == 16
    with pytest.raises(DimensionError, match="larger than encoder 'nested-toy'"):
        Collection.create("m4", enc, dim=64, force=True)
    assert sorted(Collection.names()) == ["m", "m2", "m3"]


# ----------------------------------------------------------------------------- CLI and HTTP
def run_cli(capsys, *args):
    from embedlab.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def test_cli_index_precision_options_and_reindex(capsys, tmp_path, use_encoder):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(["Cats purr and sleep.", "Trains run fast.", "Stocks fell today.", "Rain is wet."]):
        (docs / f"d{i}.txt").write_text(text, "utf-8")
    code, out, err = run_cli(capsys, "index", "notes", docs, "--precision", "int8", "--rescore", "2", "--json")
    assert code == 0, err
    code, out, err = run_cli(capsys, "info", "notes", "--json")
    assert json.loads(out)["index"] == {"kind": "exact", "params": {"precision": "int8", "rescore": 2}}
    code, out, err = run_cli(capsys, "search", "notes", "kittens purring", "-k", "1", "--json")
    assert json.loads(out)[0]["id"].startswith("d0")
    code, out, err = run_cli(capsys, "index", "notes", docs, "--precision", "binary")
    assert code == 2 and "already exists with other settings" in err and "embedlab reindex notes" in err
    code, out, err = run_cli(capsys, "index", "other", docs, "--nlist", "8")
    assert code == 2 and "--nlist do(es) not apply to a exact index" in err
    code, out, err = run_cli(capsys, "index", "bin", docs, "--precision", "binary", "--rescore", "0")
    assert code == 2 and "rescore must be an integer >= 1" in err
    code, out, err = run_cli(capsys, "index", "wide", docs, "--dim", "1024")
    assert code == 2 and "larger than encoder" in err
    code, out, err = run_cli(capsys, "index", "narrow", docs, "--dim", "128")
    assert code == 2 and "--force" in err
    code, out, err = run_cli(capsys, "reindex", "notes", "--index", "hnsw", "--precision", "float16", "--M", "8",
                             "--json")
    assert code == 0, err
    assert json.loads(out)["index"] == {"kind": "hnsw", "params": {"M": 8, "precision": "float16"}}


def test_http_create_with_precision_search_params_and_reindex(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 8)).astype(np.float32)
    with TestClient(create_app(tmp_path, vectors_sets={}), base_url="http://localhost") as c:
        r = c.post("/api/collections", json={"name": "v", "dim": 8, "index": "hnsw", "precision": "int8",
                                             "rescore": 3, "index_params": {"M": 8}})
        assert r.status_code == 201, r.text
        assert r.json()["index"] == {"kind": "hnsw", "params": {"M": 8, "precision": "int8", "rescore": 3}}
        for s in range(0, 300, 100):
            items = [{"id": f"r{i}", "vector": x[i].tolist()} for i in range(s, s + 100)]
            assert c.post("/api/collections/v/items", json={"items": items}).status_code == 200
        r = c.post("/api/collections/v/search", json={"vector": x[7].tolist(), "k": 1, "rescore": 20, "ef": 64})
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == "r7"
        r = c.post("/api/collections/v/search", json={"vector": x[7].tolist(), "k": 1, "nprobe": 4})
        assert r.status_code == 400 and "nprobe" in r.text
        r = c.post("/api/collections", json={"name": "w", "dim": 8, "metric": "l2", "precision": "binary"})
        assert r.status_code == 400 and "not l2" in r.text
        r = c.post("/api/collections", json={"name": "w", "dim": 8, "precision": "int8", "rescore": 0})
        assert r.status_code == 400 and "rescore" in r.text
        r = c.post("/api/collections/v/reindex", json={"index": "ivf", "index_params": {"nlist": 4, "nprobe": 4}})
        assert r.status_code == 200, r.text
        assert r.json()["index"] == {"kind": "ivf", "params": {"nlist": 4, "nprobe": 4}}
        r = c.post("/api/collections/v/search", json={"vector": x[9].tolist(), "k": 1, "nprobe": 4})
        assert r.json()["hits"][0]["id"] == "r9"
