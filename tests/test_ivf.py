"""The IVF index: recall against exact search, nprobe saved and per query, training (and too few rows), PQ, inverted
lists mapped from disk, parts spilled while building, compaction, and IVF collections."""

from __future__ import annotations

import json

import numpy as np
import pytest

import embedlab.index.ivf as ivf_mod
from embedlab.errors import InputError
from embedlab.index import ExactIndex, IVFIndex, load_index, make_index, recall_at_k
from embedlab.index.kernels import faiss
from embedlab.store import Collection


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    centers = rng.standard_normal((64, 12))
    lat = centers[rng.integers(0, 64, 12_200)] + 0.25 * rng.standard_normal((12_200, 12))
    x = (lat @ rng.standard_normal((12, 32)) + 0.05 * rng.standard_normal((12_200, 32))).astype(np.float32)
    return x[:12_000], x[12_000:]


def exact_of(x, metric, ids=None):
    e = ExactIndex(x.shape[1], metric)
    e.add(np.arange(len(x)) if ids is None else ids, x)
    return e


@pytest.mark.parametrize("metric", ["cosine", "dot", "l2"])
def test_recall_grows_with_nprobe_and_nprobe_is_per_query(data, metric):
    x, q = data
    idx = IVFIndex(32, metric, nlist=64, nprobe=4)
    idx.train(x)
    idx.add(np.arange(len(x)), x)
    e = exact_of(x, metric)
    low, high = recall_at_k(idx, e, q, 10, nprobe=1), recall_at_k(idx, e, q, 10, nprobe=32)
    assert low < high and high >= 0.97
    assert recall_at_k(idx, e, q, 10, nprobe=64) == pytest.approx(1.0)  # every list: exact
    got, sc = idx.search(q, 10, nprobe=64)
    ref, ref_sc = e.search(q, 10)
    np.testing.assert_allclose(sc, ref_sc, rtol=1e-5, atol=1e-4)
    with pytest.raises(InputError, match="nprobe must be >= 1"):
        idx.search(q, 10, nprobe=0)
    with pytest.raises(InputError, match="it takes nprobe"):
        idx.search(q, 10, ef=5)


def test_training_needs_nlist_rows_and_waits_for_enough(data):
    x, q = data
    idx = IVFIndex(32, "cosine", nlist=100)
    with pytest.raises(InputError, match=r"needs at least 100 training vectors .*3900 or more recommended.*got 50"):
        idx.train(x[:50])
    pq = IVFIndex(32, "cosine", nlist=16, m=8)
    with pytest.raises(InputError, match="needs at least 256 training vectors"):
        pq.train(x[:100])
    # rows added before training are kept as float32 and searched exactly; 39 x nlist rows train it
    idx.add(np.arange(3000), x[:3000])
    assert not idx.trained and len(idx) == 3000
    e = exact_of(x[:3000], "cosine")
    np.testing.assert_array_equal(idx.search(q, 5)[0], e.search(q, 5)[0])
    idx.add(np.arange(3000, 4000), x[3000:4000])
    assert idx.trained and len(idx) == 4000 and idx._codes.ntotal == 4000


def test_bad_ivf_parameters():
    with pytest.raises(InputError, match="must divide the dimension 32"):
        IVFIndex(32, nlist=8, m=5)
    with pytest.raises(InputError, match="not binary"):
        make_index("ivf", 32, precision="binary")
    with pytest.raises(InputError, match="leave precision at float32"):
        make_index("ivf", 32, precision="int8", m=8)
    with pytest.raises(InputError, match="nlist must be an integer >= 1"):
        make_index("ivf", 32, nlist=0)
    with pytest.raises(InputError, match="rescore must be an integer >= 1"):
        make_index("ivf", 32, m=8, rescore=0)
    with pytest.raises(InputError, match="nprobe=5 exceeds nlist=2"):
        make_index("ivf", 32, nlist=2, nprobe=5)
    assert make_index("ivf", 32, nlist=4).params["nprobe"] == 4  # the default 16 lists, at most nlist
    assert make_index("ivf", 32, nlist=64).params["nprobe"] == 16
    with pytest.raises(InputError, match="nprobe=9 exceeds nlist=8"):
        make_index("ivf", 32, nlist=8).search(np.ones((1, 32), np.float32), 1, nprobe=9)


@pytest.mark.parametrize("variant", [{}, {"m": 8}, {"precision": "int8"}, {"precision": "float16"}])
def test_saved_lists_are_mapped_from_disk_and_nprobe_is_saved(tmp_path, data, variant):
    x, q = data
    idx = make_index("ivf", 32, "cosine", nlist=32, nprobe=6, **variant)
    idx.train(x)
    idx.add(np.arange(len(x)) + 100, x)
    idx.remove(np.arange(100, 400))
    before = idx.search(q, 10)
    idx.save(tmp_path / "ivf")
    doc = json.loads((tmp_path / "ivf" / "index.json").read_text())
    assert doc["params"]["nprobe"] == 6 and doc["parts"] == ["ivf-part-0.faiss"]
    back = load_index(tmp_path / "ivf")
    assert isinstance(back, IVFIndex) and back.params == idx.params
    part = back._codes.sealed[0][0]
    assert isinstance(faiss.downcast_InvertedLists(part.invlists), faiss.OnDiskInvertedLists)  # on disk
    np.testing.assert_array_equal(back.search(q, 10)[0], before[0])
    back.add([5], x[:1])  # a mapped index grows in memory and saves both parts
    back.save(tmp_path / "again")
    again = load_index(tmp_path / "again")
    assert len(again._codes.sealed) == 2 and 5 in again.ids() and len(again) == len(x) - 299
    inram = IVFIndex.load(tmp_path / "ivf", mmap=False)
    assert not inram._codes.sealed and inram._codes.index.ntotal == len(x)
    np.testing.assert_array_equal(inram.search(q, 10)[0], before[0])


def test_parts_spill_to_disk_while_building_and_answers_do_not_change(tmp_path, data, monkeypatch):
    x, q = data
    plain = IVFIndex(32, "l2", nlist=32, nprobe=8)
    plain.train(x)
    plain.add(np.arange(len(x)), x)
    monkeypatch.setattr(ivf_mod, "SEAL_BYTES", 200_000)  # ~1,500 rows of 128 bytes per part
    spilled = IVFIndex(32, "l2", nlist=32, nprobe=8, spill_dir=tmp_path / "spill")
    spilled.train(x)
    for s in range(0, len(x), 1000):
        spilled.add(np.arange(s, s + 1000), x[s : s + 1000])
    assert len(spilled._codes.sealed) >= 5 and len(list((tmp_path / "spill").iterdir())) == len(spilled._codes.sealed)
    np.testing.assert_array_equal(spilled.search(q, 10)[0], plain.search(q, 10)[0])
    spilled.save(tmp_path / "saved")  # spilled parts are hard-linked, not rewritten
    linked = tmp_path / "saved" / "ivf-part-0.faiss"
    assert linked.stat().st_nlink == 2
    back = load_index(tmp_path / "saved")
    np.testing.assert_array_equal(back.search(q, 10)[0], plain.search(q, 10)[0])


def test_compaction_without_float_rows_renumbers_in_place(data, tmp_path):
    x, q = data
    idx = IVFIndex(32, "dot", nlist=16, nprobe=16)
    idx.train(x)
    idx.add(np.arange(len(x)) * 2, x)
    idx.save(tmp_path / "i")
    mapped = load_index(tmp_path / "i")  # read-only lists: compaction copies, never modifies them
    for index in (idx, mapped):
        gone = np.arange(0, 2 * 7000, 2)
        index.remove(gone)
        assert index._map.n_dead == 0 and index._codes.ntotal == len(x) - 7000
        ref = exact_of(x[7000:], "dot", ids=np.arange(7000, len(x)) * 2)
        np.testing.assert_array_equal(index.search(q, 10)[0], ref.search(q, 10)[0])


def test_filters_on_ivf(data):
    x, q = data
    idx = IVFIndex(32, "cosine", nlist=32, nprobe=4)
    idx.set_vector_source(lambda ids: x[ids] / np.linalg.norm(x[ids], axis=1, keepdims=True))
    idx.train(x)
    idx.add(np.arange(len(x)), x)
    narrow = np.arange(0, len(x), 40)  # 300 rows: answered exactly over their float32 rows
    got = idx.search(q, 5, filter=narrow)[0]
    ref = exact_of(x[narrow], "cosine", ids=narrow).search(q, 5)[0]
    np.testing.assert_array_equal(got, ref)
    broad = np.arange(0, len(x), 2)
    got = idx.search(q, 5, filter=broad)[0]
    assert np.isin(got, broad).all()


def test_ivf_collection_trains_when_it_can_and_survives_reopen_and_compaction(data):
    x, q = data
    c = Collection.create("iv", dim=32, index="ivf", index_params={"nlist": 16, "nprobe": 16})
    ref = Collection.create("ref", dim=32)
    c.add([f"r{i}" for i in range(300)], vectors=x[:300])  # too few to train: exact
    assert not c._table.index.index.trained and c.search(x[7], k=1)[0].id == "r7"
    c.add([f"r{i}" for i in range(300, len(x))], vectors=x[300:])
    ref.add([f"r{i}" for i in range(len(x))], vectors=x)
    assert c._table.index.index.trained
    hits, truth = c.search_many(q, k=10), ref.search_many(q, k=10)
    assert all([h.id for h in a] == [h.id for h in b] for a, b in zip(hits, truth, strict=True))  # nprobe = nlist
    low = c.search_many(q, k=10, nprobe=1)
    assert low != hits
    c.delete([f"r{i}" for i in range(5000)])
    c.close()
    c = Collection.open("iv")
    sealed = c._table.index.index._codes.sealed
    assert sealed and isinstance(faiss.downcast_InvertedLists(sealed[0][0].invlists), faiss.OnDiskInvertedLists)
    assert all(int(h.id[1:]) >= 5000 for a in c.search_many(q, k=10) for h in a)
    c.compact()
    assert c.search(x[9000], k=1)[0].id == "r9000" and len(c._table.index.index) == len(x) - 5000
    c.close()
    ref.close()


def test_cli_says_when_an_ivf_collection_is_too_small_to_train(tmp_path, capsys):
    from embedlab.cli import main

    for i in range(20):
        (tmp_path / f"n{i}.txt").write_text(f"note number {i} about topic {i % 5}")
    with pytest.raises(SystemExit) as stop:
        main(["index", "small-ivf", str(tmp_path), "--index", "ivf", "--nlist", "4", "--json"])
    assert stop.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == 20 and "trains itself once the collection holds 156 items" in out["note"]
    with pytest.raises(SystemExit) as stop:
        main(["reindex", "small-ivf", "--nlist", "2"])
    text = " ".join(capsys.readouterr().out.split())
    assert stop.value.code == 0 and "holds 78 items; until then its 20 item(s) are searched exactly" in text
    with pytest.raises(SystemExit) as stop:
        main(["reindex", "small-ivf", "--index", "exact"])
    assert stop.value.code == 0 and "note:" not in capsys.readouterr().out
