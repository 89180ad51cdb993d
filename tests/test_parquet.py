"""Portable collections: Parquet export/import round trips between backends, bit for bit, and bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.errors import CorruptFileError, InputError
from embedlab.store import Collection
from embedlab.store.parquet import export_parquet, import_parquet

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _fill(c, n=1200, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 24)).astype(np.float32)
    c.add([f"i{i}" for i in range(n)], vectors=v,
          metadata=[{"n": i, "tags": ["a", "b"][: i % 3], "x": 0.1 * i, "ok": bool(i % 2)} for i in range(n)],
          contents=[f"text number {i}" if i % 4 else None for i in range(n)],
          sources=[None if i % 5 == 0 else f"doc{i}.txt" for i in range(n)])
    c.delete([f"i{i}" for i in range(0, n, 7)])
    c.upsert(["i1"], vectors=v[2:3])  # moved last in write order
    return v


def _snapshot(c):
    items = c.get(c.ids())
    return ([it.id for it in items], np.stack([it.vector for it in items]),
            [it.metadata for it in items], [it.content for it in items], [it.source for it in items])


def _same(a, b):
    assert a[0] == b[0]
    assert a[1].tobytes() == b[1].tobytes()  # bit for bit
    assert a[2:] == b[2:]


def test_round_trip_local_postgresql_local_is_exact(tmp_path, pg_url):
    for name in Collection.names(backend=pg_url):
        Collection.drop(name, backend=pg_url)
    src = Collection.create("src", dim=24, index="hnsw", index_params={"M": 8})
    _fill(src)
    first = export_parquet(src, tmp_path / "a.parquet", batch_size=500)
    assert first["count"] == len(src) == 1200 - 172
    assert import_parquet(tmp_path / "a.parquet", "pg", backend=pg_url, batch_size=300)["count"] == first["count"]
    with Collection.open("pg", backend=pg_url) as pg:
        assert pg.index_kind == "hnsw" and pg.index_params == {"M": 8}
        export_parquet(pg, tmp_path / "b.parquet")
    import_parquet(tmp_path / "b.parquet", "back")
    with Collection.open("back") as back:
        _same(_snapshot(src), _snapshot(back))
        assert back.search(src.get(["i9"])[0].vector, k=1)[0].id == "i9"
        assert back.upsert(["i3"], vectors=src.get(["i3"])[0].vector[None]) == {"added": 0, "updated": 0,
                                                                               "unchanged": 1}


def test_local_round_trip_and_file_layout(tmp_path, use_encoder):
    src = Collection.create("docs", use_encoder)
    src.add(["t", "c"], ["A fast train.", "A slow car."], metadata=[{"kind": "rail"}, {"kind": "road"}])
    export_parquet(src, tmp_path / "d.parquet")
    table = pq.read_table(tmp_path / "d.parquet")
    assert table.column_names == ["id", "vector", "metadata", "content", "source", "hash"]
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 512)
    meta = json.loads(table.schema.metadata[b"embedlab"])
    assert meta["encoder"]["name"] == "use-multilingual" and meta["count"] == 2 and meta["format_version"] == 2
    import_parquet(tmp_path / "d.parquet", "copy")
    with Collection.open("copy") as copy:  # bound to the same encoder: text queries work, content kept
        assert copy.search("고속 열차", k=1)[0].id == "t" and copy.contents(["c"]) == ["A slow car."]
        assert copy.upsert(["t"], ["A fast train."]) == {"added": 0, "updated": 0, "unchanged": 1}  # hash kept


def _write(path, columns, metadata=None):
    table = pa.table(columns)
    if metadata is not None:
        table = table.replace_schema_metadata({b"embedlab": json.dumps(metadata).encode()})
    pq.write_table(table, path)
    return path


def test_bad_files_are_clear_errors_and_leave_no_collection(tmp_path):
    vec = pa.FixedSizeListArray.from_arrays(pa.array(np.ones(6, np.float32)), 3)
    cases = [
        (_write(tmp_path / "noid.parquet", {"vector": vec}), "lacks the column\\(s\\) \\['id'\\]"),
        (_write(tmp_path / "novec.parquet", {"id": ["a", "b"]}), "lacks the column\\(s\\) \\['vector'\\]"),
        (_write(tmp_path / "width.parquet", {"id": ["a", "b"], "vector": vec},
                {"encoder": {"name": None, "dim": 4, "metric": "cosine"}}), "have 3 values.*says.*4-d"),
        (_write(tmp_path / "ragged.parquet", {"id": ["a", "b"], "vector": pa.array([[1.0, 2.0], [1.0]])}),
         "row 1 has a vector of 1 values, expected 2"),
        (_write(tmp_path / "meta.parquet", {"id": ["a", "b"], "vector": vec, "metadata": ["{}", "[1]"]}),
         "row 1's metadata is list"),
        (_write(tmp_path / "strvec.parquet", {"id": ["a"], "vector": ["x"]}), "column 'vector' is string"),
    ]
    for path, msg in cases:
        with pytest.raises(CorruptFileError, match=msg):
            import_parquet(path, "bad")
        assert Collection.names() == []
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(CorruptFileError, match="not a readable Parquet file"):
        import_parquet(tmp_path / "junk.parquet", "bad")
    with pytest.raises(InputError, match="does not exist"):
        import_parquet(tmp_path / "missing.parquet", "bad")
    dup = _write(tmp_path / "dup.parquet", {"id": ["a", "a"], "vector": vec})
    with pytest.raises(InputError, match="duplicate ids"):
        import_parquet(dup, "bad")
    assert Collection.names() == []


def test_foreign_parquet_imports_as_vectors_only(tmp_path):
    rng = np.random.default_rng(3)
    v = rng.normal(size=(50, 8)).astype(np.float32)
    path = _write(tmp_path / "other.parquet", {"id": [f"p{i}" for i in range(50)], "vector": list(v)})
    assert import_parquet(path, "other", metric="l2")["count"] == 50
    with Collection.open("other") as c:
        assert c.metric == "l2" and c.encoder is None and c.search(v[4], k=1)[0].id == "p4"
        np.testing.assert_array_equal(c.get(["p4"])[0].vector, v[4])


def test_cli_export_import(tmp_path, capsys):
    from embedlab.cli import main

    c = Collection.create("cli", dim=4)
    c.add(["a", "b"], vectors=np.eye(4, dtype=np.float32)[:2], metadata=[{"k": 1}, {}])
    c.close()
    for args in (["export", "cli", "--format", "parquet", "-o", str(tmp_path / "c.parquet"), "--json"],
                 ["import", str(tmp_path / "c.parquet"), "--name", "cli2", "--json"]):
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 0
    out = capsys.readouterr().out
    assert '"count": 2' in out
    with Collection.open("cli2") as c2:
        assert c2.ids() == ["a", "b"] and c2.get(["a"])[0].metadata == {"k": 1}


def _pages(path):
    """Byte ranges of the data pages of every column chunk (from the file's own metadata)."""
    md = pq.ParquetFile(str(path)).metadata
    out = []
    for g in range(md.num_row_groups):
        for c in range(md.num_columns):
            col = md.row_group(g).column(c)
            start = col.dictionary_page_offset or col.data_page_offset
            out.append((col.path_in_schema, start, start + col.total_compressed_size))
    return out


def test_damaged_exports_are_corrupt_file_errors_never_changed_rows(tmp_path):
    """Damage (a truncated file, a zeroed block, a bit flipped inside any column chunk or in the description) is a
    CorruptFileError naming the file, never a raw pyarrow error and never an import with a changed row: pages carry
    CRC32s and the description its SHA-256 (a flip inside a data page once imported with rc 0 and a different
    vector). A flip in a page header's statistics changes no value; such a file may import, identical."""
    src = Collection.create("src", dim=24)
    _fill(src, n=600)
    good = tmp_path / "good.parquet"
    export_parquet(src, good, batch_size=200)
    assert pq.ParquetFile(str(good)).metadata.num_row_groups == 3
    data = good.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "empty-tail": data[:-9], "zeroed": data[:4] + bytes(512) + data[516:]}
    rng = np.random.default_rng(7)
    for path_in_schema, start, end in _pages(good):  # a flipped bit inside every column chunk of the file
        pos = int(rng.integers(start + 40, end - 8))  # past the page header: inside the (compressed) values
        b = bytearray(data)
        b[pos] ^= 1 << int(rng.integers(8))
        cases[f"flip-{path_in_schema}-{start}"] = bytes(b)
    table = pq.read_table(good)  # the description edited ("use-multilingual" is not what made these vectors)
    meta = json.loads(table.schema.metadata[b"embedlab"])
    meta["encoder"]["name"] = "use-multilingual"
    edited = tmp_path / "edited.parquet"
    pq.write_table(table.replace_schema_metadata({b"embedlab": json.dumps(meta).encode()}), edited)
    cases["edited-description"] = edited.read_bytes()
    imported = []
    for name, blob in cases.items():
        bad = tmp_path / f"{name}.parquet"
        bad.write_bytes(blob)
        try:
            import_parquet(bad, "copy")
        except CorruptFileError as exc:
            assert bad.name in str(exc), exc
            assert "copy" not in Collection.names()  # nothing half-imported is left behind
            continue
        with Collection.open("copy") as copy:  # no error: then nothing may differ
            _same(_snapshot(src), _snapshot(copy))
        Collection.drop("copy")
        imported.append(name)
    assert not [n for n in imported if "vector" in n or not n.startswith("flip-")], imported
    assert len(imported) <= 2, imported  # at most a couple of harmless header flips out of 21 cases
    with pytest.raises(CorruptFileError, match="does not match its checksum"):
        import_parquet(edited, "copy")
    import_parquet(good, "copy")  # the undamaged file still imports, bit for bit
    with Collection.open("copy") as copy:
        _same(_snapshot(src), _snapshot(copy))


def test_a_parquet_file_without_checksums_still_imports(tmp_path):
    """Files from other tools (no page CRCs, no description checksum) are read as before."""
    t = pa.table({"id": ["a", "b"], "vector": pa.FixedSizeListArray.from_arrays(pa.array([1.0, 0, 0, 1], pa.float32()), 2)})
    pq.write_table(t, tmp_path / "plain.parquet")
    assert import_parquet(tmp_path / "plain.parquet", "plain")["count"] == 2



def test_export_to_a_folder_or_into_a_missing_folder_is_refused_before_anything_is_written(tmp_path):
    # a folder as the target used to write the whole file and then fail in the rename with a raw
    # IsADirectoryError naming a temp file beside the folder; a missing folder, pyarrow's FileNotFoundError
    src = Collection.create("src", dim=4, root=tmp_path / "cols")
    src.add(["a", "b"], vectors=np.eye(2, 4, dtype=np.float32))
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [(out, f"{out} is a folder; name the Parquet file to write, e.g. {out / 'export.parquet'}"),
             (tmp_path / "nope" / "x.parquet", f"cannot write {tmp_path / 'nope' / 'x.parquet'}: the folder "
                                               f"{tmp_path / 'nope'} does not exist; create the folder or choose "
                                               "another path"),
             (tmp_path / "afile" / "x.parquet", f"the folder {tmp_path / 'afile'} is a file;")]
    for target, message in cases:
        with pytest.raises(InputError) as err:
            export_parquet(src, target)
        assert message in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "cols", "out"] and not list(out.iterdir())
    assert export_parquet(src, out / "x.parquet")["count"] == 2
