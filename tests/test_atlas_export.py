"""`embedlab export NAME --format atlas`: the Parquet table Apple's Embedding Atlas opens (ids, text, metadata
columns, the projector's layout, neighbours by the collection's index), the projector's layout cache shared both
ways, every bad input, and the file opened by the real ``embedding-atlas`` command (its own loader and server,
queried over HTTP; skipped where the package is not installed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.errors import CorruptFileError, InputError
from embedlab.formats import atlas
from embedlab.store import Collection

N = 30


def _collection(home, name: str = "pts", n: int = N, metric: str = "cosine") -> Collection:
    rng = np.random.default_rng(0)
    col = Collection.create(name, dim=8, metric=metric, root=home / "collections")
    if n:
        col.add([f"p{i}" for i in range(n)], vectors=rng.standard_normal((n, 8)).astype(np.float32),
                sources=[f"doc{i}.txt" for i in range(n)],
                metadata=[{"cat": ["red", "green"][i % 2], "n": i, "w": i / 2, "ok": i % 3 == 0,
                           "mixed": [1, "one"][i % 2], "id": f"clash{i}", **({"rare": "x"} if i == 4 else {})}
                          for i in range(n)])
    return col


def _run(capsys, home, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_export_writes_ids_text_metadata_layout_and_neighbours(tmp_path, capsys):
    home = tmp_path / "home"
    _collection(home).close()
    out = tmp_path / "pts.parquet"
    code, text, err = _run(capsys, home, "export", "pts", "--format", "atlas", "-o", str(out), "--json")
    assert code == 0, err
    summary = json.loads(text)
    assert {k: summary[k] for k in ("collection", "format", "path", "count", "dim", "metric", "method", "cached",
                                    "neighbors")} == {
        "collection": "pts", "format": "atlas", "path": str(out), "count": N, "dim": 8, "metric": "cosine",
        "method": "pca", "cached": False, "neighbors": 10}
    assert summary["how"] == f"PCA of all {N} rows (exact)."
    assert summary["command"] == ["embedding-atlas", str(out), "--text", "text", "--x", "projection_x", "--y",
                                  "projection_y", "--neighbors", "neighbors"]
    doc, table = atlas.read(out)
    assert table.column_names == ["id", "text", "source", "cat", "metadata_id", "mixed", "n", "ok", "w", "rare",
                                  "projection_x", "projection_y", "neighbors"]  # fields in the stored order
    assert {k: doc[k] for k in ("format", "format_version", "count", "collection", "metric", "method", "seed")} == {
        "format": "embedlab-atlas", "format_version": 1, "count": N, "collection": "pts", "metric": "cosine",
        "method": "pca", "seed": 0}
    assert doc["trustworthiness"] == summary["trustworthiness"] and 0 < doc["trustworthiness"] <= 1
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(N)]
    assert rows[3] | {"projection_x": None, "projection_y": None, "neighbors": None} == {
        "id": "p3", "text": "doc3.txt", "source": "doc3.txt", "cat": "green", "n": 3, "w": 1.5, "ok": True,
        "mixed": '"one"', "metadata_id": "clash3", "rare": None, "projection_x": None, "projection_y": None,
        "neighbors": None}
    assert rows[4]["rare"] == "x" and rows[2]["mixed"] == "1"
    assert str(table.schema.field("n").type) == "int64" and str(table.schema.field("w").type) == "double"
    assert str(table.schema.field("ok").type) == "bool"
    # the coordinates are the projector's layout, which `embedlab serve` on the same home now reads from its cache
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    (folder,) = (home / "projector").iterdir()  # the export cached its layout where the server looks
    meta = json.loads((folder / "layout" / "layout.json").read_text(encoding="utf-8"))
    (folder / "layout" / "layout.json").write_text(json.dumps({**meta, "how": "the export's"}), encoding="utf-8")
    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:
        assert c.get("/api/projector/collection/pts/layout?method=pca").json()["how"] == "the export's"
        xy = np.frombuffer(c.get("/api/projector/collection/pts/coords?method=pca").content, "<f4").reshape(N, 2)
        near = c.post("/api/projector/collection/pts/neighbors", json={"row": 7, "k": 10}).json()["hits"]
    assert np.array_equal(np.array([[r["projection_x"], r["projection_y"]] for r in rows], np.float32), xy)
    # neighbours: zero-based rows of this file, the collection's own order and metric (distance = 1 - cosine)
    assert rows[7]["neighbors"]["ids"] == [h["row"] for h in near]
    assert rows[7]["neighbors"]["distances"] == pytest.approx([1 - h["score"] for h in near], abs=1e-6)


def test_a_cached_layout_is_reused_and_tsne_without_neighbours(tmp_path, capsys):
    home = tmp_path / "home"
    _collection(home).close()
    first, again = tmp_path / "a.parquet", tmp_path / "b.parquet"
    for out, cached in ((first, False), (again, True)):
        code, text, err = _run(capsys, home, "export", "pts", "--format", "atlas", "--method", "tsne",
                               "--neighbors", "0", "-o", str(out), "--json")
        assert code == 0, err
        summary = json.loads(text)
        assert summary["cached"] is cached and summary["method"] == "tsne" and summary["neighbors"] == 0
        assert "--neighbors" not in summary["command"]
    a, b = atlas.read(first)[1], atlas.read(again)[1]
    assert "neighbors" not in a.column_names and a.column("projection_x") == b.column("projection_x")
    code, text, err = _run(capsys, home, "export", "pts", "--format", "atlas", "-o", str(tmp_path / "c.parquet"))
    assert code == 0, err
    assert "open it with:" in text and "embedding-atlas" in text and "--neighbors neighbors" in text


def test_l2_distances_and_a_write_into_the_collection_makes_a_new_layout(tmp_path, capsys):
    home = tmp_path / "home"
    col = _collection(home, metric="l2")
    col.close()
    out = tmp_path / "l2.parquet"
    code, _, err = _run(capsys, home, "export", "pts", "--format", "atlas", "-o", str(out), "--neighbors", "3")
    assert code == 0, err
    with Collection.open("pts", root=home / "collections") as col:
        hits = col.search(col.vectors().matrix[5], k=4)
        col.add(["new"], vectors=np.ones((1, 8), np.float32))
    rows = atlas.read(out)[1].to_pylist()
    assert rows[5]["neighbors"]["ids"] == [int(h.id[1:]) for h in hits if h.id != "p5"][:3]
    assert rows[5]["neighbors"]["distances"] == pytest.approx([-h.score for h in hits if h.id != "p5"][:3], abs=1e-5)
    code, text, err = _run(capsys, home, "export", "pts", "--format", "atlas", "-o", str(out), "--json")
    assert code == 0, err
    assert json.loads(text)["cached"] is False and json.loads(text)["count"] == N + 1


def test_bad_inputs(tmp_path, capsys):
    home = tmp_path / "home"
    _collection(home).close()
    _collection(home, "empty", n=0).close()
    _collection(home, "three", n=3).close()
    cases = [
        (["export", "nope", "--format", "atlas", "-o", str(tmp_path / "x.parquet")], "no collection named 'nope'"),
        (["export", "empty", "--format", "atlas", "-o", str(tmp_path / "x.parquet")],
         "collection 'empty' is empty; index something first"),
        (["export", "three", "--format", "atlas", "--method", "tsne", "-o", str(tmp_path / "x.parquet")],
         "t-SNE needs at least 4 points; 'three' has 3"),
        (["export", "pts", "--format", "atlas", "--method", "mds", "-o", str(tmp_path / "x.parquet")],
         "unknown layout method 'mds'; choose one of pca, tsne, umap"),
        (["export", "pts", "--format", "atlas", "--neighbors", "-1", "-o", str(tmp_path / "x.parquet")],
         "--neighbors must be 0 (no column) or more, got -1"),
        (["export", "pts", "--format", "atlas", "-o", str(tmp_path / "x.npy")],
         "--format atlas does not match -o"),
        (["export", "pts", "--method", "umap", "-o", str(tmp_path / "x.parquet")],
         "--method and --neighbors are for --format atlas; the parquet format has no layout or neighbours"),
        (["export", "pts", "--format", "npy", "--neighbors", "3", "-o", str(tmp_path / "x.npy")],
         "--method and --neighbors are for --format atlas"),
    ]
    codes = []
    for args, message in cases:
        code, out, err = _run(capsys, home, *args)
        codes.append(code)
        assert message in " ".join((out + err).split()), (args, out + err)
        assert "Traceback" not in err
    assert codes == [2] * len(cases)  # every one a usage error, one line, nothing written
    assert not (tmp_path / "x.parquet").exists()


def test_format_writer_and_reader_refuse_bad_input(tmp_path):
    xy = np.zeros((2, 2), np.float32)
    with pytest.raises(InputError, match=r"one text and one \(x, y\) per id: 2 ids, 1 texts"):
        atlas.write(tmp_path / "a.parquet", ["a", "b"], ["t"], xy)
    with pytest.raises(InputError, match="NaN or infinite coordinates"):
        atlas.write(tmp_path / "a.parquet", ["a", "b"], ["s", "t"], np.array([[0, np.nan], [0, 0]], np.float32))
    with pytest.raises(InputError, match="neighbour rows must be integers from 0 to 1"):
        atlas.write(tmp_path / "a.parquet", ["a", "b"], ["s", "t"], xy, neighbors=np.array([[1], [2]]),
                    distances=np.zeros((2, 1)))
    with pytest.raises(InputError, match="neighbors need their distances"):
        atlas.write(tmp_path / "a.parquet", ["a", "b"], ["s", "t"], xy, neighbors=np.array([[1], [0]]))
    with pytest.raises(InputError, match="distances were given without neighbors"):
        atlas.write(tmp_path / "a.parquet", ["a", "b"], ["s", "t"], xy, distances=np.zeros((2, 1)))
    with pytest.raises(InputError, match="2 ids but 1 metadata rows"):
        atlas.write(tmp_path / "a.parquet", ["a", "b"], ["s", "t"], xy, metadata=[{}])
    assert not (tmp_path / "a.parquet").exists()
    path = atlas.write(tmp_path / "a.parquet", ["a", "b"], ["s", "t"], xy, neighbors=np.array([[1, -1], [0, -1]]),
                       distances=np.array([[0.5, np.inf], [0.5, np.inf]]))
    assert [r["neighbors"] for r in atlas.read(path)[1].to_pylist()] == [{"ids": [1], "distances": [0.5]},
                                                                       {"ids": [0], "distances": [0.5]}]
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(CorruptFileError, match="is not a readable Parquet file"):
        atlas.read(tmp_path / "junk.parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"]}), str(tmp_path / "plain.parquet"))
    with pytest.raises(CorruptFileError, match="holds no embedlab Atlas description"):
        atlas.read(tmp_path / "plain.parquet")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedding_atlas_opens_the_export(tmp_path, capsys):
    """The real ``embedding-atlas`` command (its loader, its DuckDB-backed server) opens our file with the flags we
    print; its /data/metadata.json names our columns and SQL over its table gives back our rows."""
    pytest.importorskip("embedding_atlas.cli", reason="Embedding Atlas (pip install embedding-atlas; its CLI also "
                        "needs inquirer and duckdb) is not installed; it is no test dependency of embedlab")
    httpx = pytest.importorskip("httpx")
    home = tmp_path / "home"
    _collection(home).close()
    out = tmp_path / "pts.parquet"
    code, text, err = _run(capsys, home, "export", "pts", "--format", "atlas", "-o", str(out), "--json")
    assert code == 0, err
    command = json.loads(text)["command"]
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-m", "embedding_atlas.cli", *command[1:], "--host", "127.0.0.1",
                             "--port", str(port), "--no-auto-port", "--duckdb", "server"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        meta = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                meta = httpx.get(url + "/data/metadata.json", timeout=2).json()
                break
            except httpx.TransportError:
                time.sleep(0.2)  # the server is still starting: poll again
        assert meta is not None, proc.communicate(timeout=10)[0] if proc.poll() is not None else "no answer"
        assert meta["props"]["data"] == {"id": "__row_index__", "projection": {"x": "projection_x", "y": "projection_y"},
                                         "text": "text", "neighbors": "neighbors"}
        sql = ('SELECT "__row_index__" AS row, id, text, cat, n, projection_x, projection_y, neighbors '
               'FROM dataset ORDER BY row')
        got = httpx.post(url + "/data/query", content=json.dumps({"sql": sql, "type": "json"}), timeout=30).json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    rows = atlas.read(out)[1].to_pylist()
    assert [g["row"] for g in got] == list(range(N))
    assert [(g["id"], g["text"], g["cat"], g["n"]) for g in got] == [(r["id"], r["text"], r["cat"], r["n"])
                                                                     for r in rows]
    assert [g["projection_x"] for g in got] == pytest.approx([r["projection_x"] for r in rows], abs=1e-6)
    assert [g["projection_y"] for g in got] == pytest.approx([r["projection_y"] for r in rows], abs=1e-6)
    assert [g["neighbors"]["ids"] for g in got] == [r["neighbors"]["ids"] for r in rows]
