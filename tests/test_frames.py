"""Collections as pandas DataFrames and Arrow streams (store/frames.py), on both backends: layouts, round trips
(to_pandas -> from_pandas: the same items, vectors bit for bit), bounded streaming, and refused input."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import tracemalloc

import numpy as np
import pytest

from embedlab.errors import DimensionError, InputError, MissingDependencyError, NonFiniteError
from embedlab.store import Collection
from embedlab.store.parquet import export_parquet
from embedlab.vectors import Vectors

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _fill(c, n=300, dim=8, seed=0):
    """Items with every kind of field: typed metadata with gaps and nulls, missing contents and sources, deleted
    and upserted rows (write order is not id order)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    meta = []
    for i in range(n):
        m = {"n": i, "x": 0.5 * i, "lang": ["ko", "en"][i % 2], "tags": ["a", "b"][: i % 3],
             "nested": {"k": i % 4}}
        if i % 3 == 0:
            m["year"] = 2000 + i  # an integer key with gaps
        if i % 5 == 0:
            m["ok"] = bool(i % 2)  # a boolean key with gaps
        meta.append(m)
    c.add([f"i{i}" for i in range(n)], vectors=v, metadata=meta,
          contents=[f"text {i}" if i % 4 else None for i in range(n)],
          sources=[None if i % 5 == 0 else f"doc{i}.txt" for i in range(n)])
    c.delete([f"i{i}" for i in range(0, n, 7)])
    c.upsert(["i1"], vectors=v[2:3])  # moved last in write order
    return v


def _items(c):
    items = c.get(c.ids())
    return ([it.id for it in items], np.stack([it.vector for it in items]), [it.metadata for it in items],
            [it.content for it in items], [it.source for it in items])


def _same(a, b):
    assert a[0] == b[0]
    assert a[1].tobytes() == b[1].tobytes()  # bit for bit
    assert a[2:] == b[2:]


META_COLUMNS = {k: k for k in ("n", "x", "lang", "tags", "nested", "year", "ok")}


# ------------------------------------------------------------------------------------------------ to_pandas
def test_to_pandas_layout(backend):
    c = Collection.create("docs", dim=8, **backend)
    _fill(c)
    df = c.to_pandas()
    ids, vecs, metas, contents, sources = _items(c)
    assert list(df.columns[:4]) == ["id", "vector", "content", "source"]
    assert set(df.columns[4:]) == set(META_COLUMNS)
    assert df["id"].tolist() == ids and isinstance(df.index, pd.RangeIndex)
    cells = df["vector"].tolist()
    assert all(isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (8,) for x in cells)
    assert np.stack(cells).tobytes() == vecs.tobytes()
    assert cells[0].base is not None and np.shares_memory(cells[0], cells[-1].base)  # views of one block
    assert [None if pd.isna(x) else x for x in df["content"]] == contents
    assert [None if pd.isna(x) else x for x in df["source"]] == sources
    assert str(df["n"].dtype) == "int64" and str(df["x"].dtype) == "float64"
    assert str(df["year"].dtype) == "Int64" and str(df["ok"].dtype) == "boolean"  # gaps keep the type
    assert df["year"].isna().sum() == sum("year" not in m for m in metas)
    assert df["tags"].tolist() == [m["tags"] for m in metas] and df["nested"].tolist()[0] == metas[0]["nested"]
    assert df.loc[df["id"] == "i3", "lang"].item() == "en"

    js = c.to_pandas(vectors=False, metadata="json")
    assert list(js.columns) == ["id", "content", "source", "metadata"]
    assert [json.loads(t) for t in js["metadata"]] == metas


def test_to_pandas_renames_metadata_keys_named_like_its_columns_and_keeps_null_in_json():
    c = Collection.create("x", dim=2)
    c.add(["a", "b"], vectors=np.eye(2), metadata=[{"id": "row-1", "source": "csv", "k": None}, {"k": 1}])
    df = c.to_pandas()
    assert list(df.columns) == ["id", "vector", "content", "source", "metadata.id", "k", "metadata.source"]
    assert df["id"].tolist() == ["a", "b"] and df["metadata.id"].tolist()[0] == "row-1"
    assert df["k"].isna().tolist() == [True, False]  # null and missing alike in columns ...
    assert json.loads(c.to_pandas(metadata="json")["metadata"][0])["k"] is None  # ... told apart in JSON
    back = Collection.from_pandas(df, "y", vector="vector", metadata={"metadata.id": "id", "metadata.source":
                                                                       "source", "k": "k"})
    assert back.get(["a"])[0].metadata == {"id": "row-1", "source": "csv"}  # the null left out
    with pytest.raises(InputError, match="'columns'.*'json'"):
        c.to_pandas(metadata="dict")


def test_to_pandas_of_an_empty_collection():
    c = Collection.create("empty", dim=3)
    for layout in ("columns", "json"):
        df = c.to_pandas(metadata=layout)
        assert len(df) == 0 and list(df.columns[:4]) == ["id", "vector", "content", "source"]


# ------------------------------------------------------------------------------------------------ round trips
def test_round_trip_through_pandas_is_exact(backend):
    src = Collection.create("src", dim=8, **backend)
    _fill(src)
    df = src.to_pandas()
    back = Collection.from_pandas(df, "back", vector="vector", text="content", source="source",
                                  metadata=list(META_COLUMNS), index="hnsw", progress=False, **backend)
    assert back.backend == src.backend and back.index_kind == "hnsw" and back.incomplete is None
    _same(_items(src), _items(back))
    assert back.search(src.get(["i9"])[0].vector, k=1)[0].id == "i9"
    # the JSON layout too, and a third generation from the second
    again = Collection.from_pandas(back.to_pandas(metadata="json"), "again", vector="vector", text="content",
                                   source="source", metadata="metadata", **backend)
    _same(_items(src), _items(again))


def test_round_trip_of_an_encoded_collection_keeps_vectors_and_hashes(use_encoder, backend):
    texts = ["A high-speed train crosses the country.", "A car has four wheels.", "고속 열차", "Bread and butter."]
    src = Collection.create("enc", use_encoder, **backend)
    src.add(["t", "c", "k", "b"], texts, metadata=[{"kind": "rail"}, {"kind": "road"}, {"kind": "rail"}, {}])
    df = src.to_pandas()
    back = Collection.from_pandas(df, "back", text="content", vector="vector", metadata=["kind"],
                                  encoder=use_encoder, **backend)
    a, b = _items(src), _items(back)
    assert a[0] == b[0] and a[1].tobytes() == b[1].tobytes() and a[2:4] == b[2:4]
    assert back.upsert(["t"], [texts[0]]) == {"added": 0, "updated": 0, "unchanged": 1}  # its hash came along
    # texts alone are encoded as add() encodes them: the same vectors, bit for bit
    fresh = Collection.from_pandas(df[["id", "content"]], "fresh", text="content", encoder=use_encoder,
                                   **backend)
    assert _items(fresh)[1].tobytes() == a[1].tobytes()
    assert fresh.search("four wheels", k=1)[0].id == "c"


def test_from_pandas_normalises_only_what_is_not_unit_length():
    v = np.array([[3.0, 4.0], [0.6, 0.8], [0.0, 0.0]], np.float32)
    df = pd.DataFrame({"id": ["a", "b", "z"], "v": list(v)})
    c = Collection.from_pandas(df, "cos", vector="v")
    got = np.stack([it.vector for it in c.get(["a", "b", "z"])])
    assert np.allclose(got[0], [0.6, 0.8]) and got[1].tobytes() == v[1].tobytes() and not got[2].any()
    d = Collection.from_pandas(df, "dot", vector="v", metric="dot")  # other metrics store what is given
    assert np.stack([it.vector for it in d.get(["a", "b", "z"])]).tobytes() == v.tobytes()


def test_from_pandas_takes_the_index_lists_and_numpy_values_and_converts_dates():
    df = pd.DataFrame({
        "vec": [[1.0, 2.0], np.array([3.0, 4.0])],
        "count": np.array([1, 2], np.int64),
        "score": np.array([0.5, np.nan]),  # a gap: the key is left out
        "flag": np.array([True, False]),
        "when": [pd.Timestamp("2024-05-01 12:30", tz="UTC"), pd.NaT],
        "day": [dt.date(2024, 5, 1), None],
        "stamp": np.array(["2024-05-01", "2024-05-02"], "datetime64[ns]"),
        "arr": [np.array([1, 2], np.int32), [np.float32(0.5)]],
    }, index=pd.Index([10, 11]))
    c = Collection.from_pandas(df, "conv", id=None, vector="vec", metric="l2",
                               metadata=["count", "score", "flag", "when", "day", "stamp", "arr"])
    a, b = c.get(["10", "11"])
    assert a.metadata == {"count": 1, "score": 0.5, "flag": True, "when": "2024-05-01T12:30:00+00:00",
                          "day": "2024-05-01", "stamp": "2024-05-01T00:00:00", "arr": [1, 2]}
    assert b.metadata == {"count": 2, "flag": False, "stamp": "2024-05-02T00:00:00", "arr": [0.5]}
    assert all(type(x) in (int, float, bool, str, list) for x in a.metadata.values())
    assert c.ids(where={"stamp": {"$gte": "2024-05-02"}}) == ["11"]  # ISO text compares in time order


def test_from_pandas_writes_in_several_commits_with_one_bulk(monkeypatch):
    calls = []
    real = Collection.add

    def add(self, ids, *a, **kw):
        calls.append(len(ids))
        return real(self, ids, *a, **kw)

    monkeypatch.setattr(Collection, "add", add)
    n = 1300
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)],
                       "v": list(np.random.default_rng(1).normal(size=(n, 4)).astype(np.float32))})
    c = Collection.from_pandas(df, "big", vector="v")
    assert calls == [512, 512, 276] and c.count() == n and c.ids() == df["id"].tolist()


def test_an_error_while_loading_removes_the_new_collection(monkeypatch, backend):
    real, seen = Collection.add, []

    def add(self, ids, *a, **kw):
        seen.append(len(ids))
        if len(seen) == 2:
            raise KeyboardInterrupt  # e.g. Ctrl-C in the middle
        return real(self, ids, *a, **kw)

    monkeypatch.setattr(Collection, "add", add)
    df = pd.DataFrame({"id": [f"r{i}" for i in range(1100)], "v": list(np.ones((1100, 3), np.float32))})
    with pytest.raises(KeyboardInterrupt):
        Collection.from_pandas(df, "gone", vector="v", **backend)
    assert "gone" not in Collection.names(**backend)


# ------------------------------------------------------------------------------------------------ refused input
def _refused(df, exc=InputError, match=None, **kw):
    kw.setdefault("vector", "v")
    with pytest.raises(exc, match=match):
        Collection.from_pandas(df, "bad", **kw)
    assert "bad" not in Collection.names()  # checked before anything was created


def test_from_pandas_refuses_bad_frames_before_creating_anything():
    ok = {"id": ["a", "b"], "v": [np.ones(2), np.zeros(2)]}
    _refused({"id": ["a"], "v": [np.ones(2)]}, match="DataFrame, got dict")
    _refused(pd.DataFrame(ok), match="text=.*vector=", vector=None)
    _refused(pd.DataFrame(ok), match=r"no column\(s\) \['vec'\].*'id', 'v'", vector="vec")
    _refused(pd.DataFrame(ok), match=r"no column\(s\) \['lang'\]", metadata=["lang"])
    _refused(pd.DataFrame({**ok, "id": ["a", "a"]}), match=r"duplicate ids.*\['a'\].*drop_duplicates")
    _refused(pd.DataFrame({**ok, "id": ["a", None]}), match="no id in row 1")
    _refused(pd.DataFrame({**ok, "id": [1.0, 2.0]}), match="float 1.0 in row 0.*astype")
    _refused(pd.DataFrame({**ok, "id": ["a", " "]}), match="empty")
    _refused(pd.DataFrame(ok, index=[1, 1]), match="the index holds duplicate ids", id=None)
    doubled = pd.DataFrame([["a", np.ones(2), "x"]], columns=["id", "v", "id"])
    _refused(doubled, match="several columns named")
    _refused(pd.DataFrame({**ok, "v": [np.ones(2), None]}), match=r"no vector in row 1 \(id 'b'\)")
    _refused(pd.DataFrame({**ok, "v": [np.ones(2), np.ones(3)]}), DimensionError, match="row 1.*2 values")
    _refused(pd.DataFrame({**ok, "v": [np.ones((1, 2)), np.ones(2)]}), DimensionError, match=r"shape \(1, 2\)")
    _refused(pd.DataFrame({**ok, "v": [np.ones(2), "ab"]}), match="str in row 1")
    _refused(pd.DataFrame({**ok, "v": [np.ones(2), np.array([1, np.nan])]}), NonFiniteError,
             match=r"1 row\(s\), e.g. row 1 \(id 'b'\)")
    _refused(pd.DataFrame({**ok, "v": [np.ones(2), np.array([np.inf, 1])]}), NonFiniteError)


def test_from_pandas_refuses_metadata_json_cannot_hold():
    base = {"id": ["a", "b"], "v": [np.ones(2), np.zeros(2)]}
    for value, what in ((decimal.Decimal("1.5"), "Decimal"), (b"raw", "bytes"), ({1, 2}, "set"),
                        (pd.Timedelta("1D"), "time span"), (dt.timedelta(1), "time span"),
                        (np.timedelta64(1, "D"), "time span")):
        _refused(pd.DataFrame({**base, "m": ["ok", value]}), match=rf"column 'm' holds .*{what}.*row 1 \(id 'b'\)",
                 metadata=["m"])
    _refused(pd.DataFrame({**base, "m": [[1.0, np.nan], [1.0]]}), match=r"row 0 \(id 'a'\).*JSON",
             metadata=["m"])  # NaN inside a list is not a gap
    _refused(pd.DataFrame({**base, "m": [2**64, 1]}, dtype=object), match=r"row 0 \(id 'a'\).*64", metadata=["m"])
    _refused(pd.DataFrame({**base, "m": ['{"a": 1}', "{oops"]}), match="not JSON in row 1", metadata="m")
    _refused(pd.DataFrame({**base, "m": ['{"a": 1}', "[1]"]}), match="list in row 1", metadata="m")
    _refused(pd.DataFrame({**base, "m": [1, 2]}), match="one key", metadata={"m": "k", "id": "k"})
    _refused(pd.DataFrame(base), match="metadata must be", metadata=3)


def test_from_pandas_refuses_missing_texts_to_encode_and_a_taken_name(use_encoder):
    df = pd.DataFrame({"id": ["a", "b"], "text": ["a cat", None]})
    _refused(df, match=r"no text in 1 row\(s\), e.g. row 1 \(id 'b'\).*dropna", vector=None, text="text",
             encoder=use_encoder)
    _refused(pd.DataFrame({"id": ["a"], "v": [np.ones(3)]}), DimensionError, match="3-d.*512-d",
             encoder=use_encoder)
    _refused(pd.DataFrame({"id": [], "v": []}), match="no rows")
    taken = Collection.create("bad", dim=2)
    taken.add(["x"], vectors=np.ones((1, 2)))
    with pytest.raises(InputError, match="exists|taken"):
        Collection.from_pandas(pd.DataFrame({"id": ["a"], "v": [np.ones(2)]}), "bad", vector="v")
    assert Collection.open("bad").ids() == ["x"]  # the existing collection is untouched
    # with vectors given, missing texts are contents that are absent
    c = Collection.from_pandas(pd.DataFrame({"id": ["a", "b"], "t": ["x", None], "v": [np.ones(2)] * 2}), "ok",
                               text="t", vector="v")
    assert [it.content for it in c.get(["a", "b"])] == ["x", None]


# ------------------------------------------------------------------------------------------------ to_arrow
def test_to_arrow_streams_batches_of_the_requested_size_with_the_parquet_columns(backend, tmp_path):
    c = Collection.create("docs", dim=8, **backend)
    _fill(c, n=2600)
    ids, vecs, metas, contents, sources = _items(c)
    reader = c.to_arrow(batch_size=1000)
    assert isinstance(reader, pa.RecordBatchReader)
    batches = list(reader)
    assert [b.num_rows for b in batches] == [1000, 1000, len(ids) - 2000]
    export_parquet(c, tmp_path / "c.parquet")
    assert reader.schema.equals(pq.read_schema(tmp_path / "c.parquet"), check_metadata=False)
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == ids
    assert table.column("vector").combine_chunks().flatten().to_numpy().tobytes() == vecs.tobytes()
    assert [json.loads(t) for t in table.column("metadata").to_pylist()] == metas
    assert table.column("content").to_pylist() == contents and table.column("source").to_pylist() == sources
    with pytest.raises(InputError, match="batch_size"):
        c.to_arrow(batch_size=0)


def test_to_arrow_reads_one_snapshot_through_its_own_handle(backend):
    c = Collection.create("docs", dim=4, **backend)
    c.add([f"i{i}" for i in range(50)], vectors=np.random.default_rng(0).normal(size=(50, 4)))
    reader = c.to_arrow(batch_size=10)
    first = reader.read_next_batch()
    # the handle stays free: reads and writes go on while the stream is half read
    c.add(["new"], vectors=np.ones((1, 4)))
    c.delete(["i49"])
    c.compact()  # local: rewrites the segments the stream reads (their old files are gone)
    assert c.count() == 50 and c.search(np.ones(4), k=1)[0].id == "new"
    rest = [b for b in reader]
    got = first.column("id").to_pylist() + [i for b in rest for i in b.column("id").to_pylist()]
    assert got == [f"i{i}" for i in range(50)]  # the snapshot of the call: without "new", with "i49"
    del reader, first, rest
    c.close()
    Collection.drop("docs", **backend)  # nothing holds the collection any more (PostgreSQL would wait)
    assert "docs" not in Collection.names(**backend)


def test_an_unfinished_export_rows_leaves_its_handle_free(backend):
    """export_rows (Parquet export, reembed, to_pandas read it) streams through a handle of its own: while its
    generator is half read, the same handle counts, searches, adds and deletes (it used to report the catalogue
    as damaged on the local backend), and the batches keep the snapshot of their first one."""
    c = Collection.create("docs", dim=4, **backend)
    c.add([f"i{i}" for i in range(30)], vectors=np.random.default_rng(1).normal(size=(30, 4)))
    rows = c.export_rows(batch_size=7)
    first = next(rows)
    assert first.ids == [f"i{i}" for i in range(7)]
    c.add(["new"], vectors=np.ones((1, 4)))
    c.delete(["i29"])
    assert c.count() == 30 and c.search(np.ones(4), k=1)[0].id == "new"
    assert [i for r in rows for i in r.ids] == [f"i{i}" for i in range(7, 30)]  # without "new", with "i29"
    abandoned = c.export_rows(batch_size=5)
    next(abandoned)
    abandoned.close()  # closing a half-read generator releases its handle
    c.close()
    Collection.drop("docs", **backend)  # nothing holds the collection any more (PostgreSQL would wait)
    assert "docs" not in Collection.names(**backend)


def test_to_arrow_through_a_handle_built_without_its_store():
    """A Collection built from a Table directly (not by create/open) streams through its own snapshot."""
    from embedlab.store.backend import connect

    Collection.create("x", dim=2).add(["a", "b"], vectors=np.eye(2))
    with Collection(connect().open("x", readonly=True), None) as c:
        assert c.to_arrow(batch_size=1).read_all().column("id").to_pylist() == ["a", "b"]


def test_to_arrow_of_an_empty_collection_and_a_closed_one():
    c = Collection.create("e", dim=3)
    reader = c.to_arrow()
    assert reader.read_all().num_rows == 0 and reader.schema.field("vector").type.list_size == 3
    c.close()
    with pytest.raises(InputError, match="closed"):
        c.to_arrow()


def test_to_arrow_memory_is_bounded_by_the_batch(tmp_path):
    """100k rows x 64 float32 (25.6 MB of vectors, more with ids and metadata), streamed 1,000 at a time: the
    Python heap and Arrow's memory pool each peak below 1/8 of the vectors alone."""
    n, dim = 100_000, 64
    c = Collection.create("big", dim=dim, metric="dot")
    rng = np.random.default_rng(0)
    for start in range(0, n, 25_000):
        c.add([f"item-{i:06d}" for i in range(start, start + 25_000)],
              vectors=rng.normal(size=(25_000, dim)).astype(np.float32),
              metadata=[{"n": i, "group": f"g{i % 17}"} for i in range(start, start + 25_000)])
    total = n * dim * 4
    reader = c.to_arrow(batch_size=1000)
    tracemalloc.start()
    try:
        arrow_peak, rows, sizes = 0, 0, set()
        for batch in reader:
            rows += batch.num_rows
            sizes.add(batch.num_rows)
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
            del batch
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == n and sizes == {1000}
    assert python_peak < total / 8, python_peak
    assert arrow_peak < total / 8, arrow_peak


# ------------------------------------------------------------------------------------------------ Vectors
def test_vectors_to_pandas_is_the_matrix_indexed_by_key(tmp_path):
    v = Vectors(["king", "queen", "man"], np.arange(12, dtype=np.float32).reshape(3, 4))
    df = v.to_pandas()
    assert df.shape == (3, 4) and df.index.name == "key" and df.index.tolist() == v.keys
    assert list(df.columns) == [0, 1, 2, 3] and set(df.dtypes) == {np.dtype(np.float32)}
    assert df.to_numpy().tobytes() == v.matrix.tobytes() and df.loc["queen"].tolist() == [4, 5, 6, 7]
    assert not np.shares_memory(df.to_numpy(), v.matrix)
    assert np.shares_memory(v.to_pandas(copy=False).to_numpy(), v.matrix)
    v.save(tmp_path / "v.npy")
    mapped = Vectors.load(tmp_path / "v.npy", mmap=True)
    assert mapped.to_pandas(copy=False).loc["man"].tolist() == [8, 9, 10, 11]
    assert Vectors(["a"], np.ones((1, 2))).to_pandas().shape == (1, 2)


def test_without_pandas_the_error_names_the_extra(monkeypatch):
    import sys

    c = Collection.create("x", dim=2)
    c.add(["a"], vectors=np.ones((1, 2)))
    df = c.to_pandas()
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    for call in (c.to_pandas, lambda: Collection.from_pandas(df, "y", vector="vector"),
                 lambda: Vectors(["a"], np.ones((1, 2))).to_pandas()):
        with pytest.raises(MissingDependencyError, match=r"embedlab\[eval\]"):
            call()
    assert c.to_arrow().read_all().num_rows == 1  # pyarrow is in the core
