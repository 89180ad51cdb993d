"""`embedlab explore SOURCE` and `embedlab.explore(obj)`: every kind of source opens in the projector (a collection
name, a vectors file, a TensorBoard folder, a Parquet export, a Collection, a Vectors), and a missing one is a
clear error."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

import embedlab  # noqa: E402
from embedlab.errors import InputError  # noqa: E402
from embedlab.io import save_vectors  # noqa: E402
from embedlab.server.background import free_port  # noqa: E402
from embedlab.server.explore import prepare  # noqa: E402
from embedlab.store import Collection  # noqa: E402
from embedlab.store.parquet import export_parquet  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402

RNG = np.random.default_rng(5)
VECS = RNG.standard_normal((12, 6)).astype(np.float32)


def _home(tmp_path):
    with Collection.create("docs", dim=6, root=tmp_path / "home" / "collections") as col:
        col.add([f"d{i}" for i in range(12)], vectors=VECS, metadata=[{"kind": "ab"[i % 2]} for i in range(12)])
    return tmp_path / "home"


def _layout(url: str, kind: str, name: str) -> dict:
    base = url.split("/projector")[0]
    r = httpx.get(f"{base}/api/projector/{kind}/{name}/layout", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_collection_name_and_a_missing_one(tmp_path):
    home = _home(tmp_path)
    assert prepare("docs", home).source == "collection:docs"
    with pytest.raises(InputError, match=r"no collection, file or folder named 'nope'; collections in .*: docs \(a "
                                         r"vectors file"):
        prepare("nope", home)
    view = embedlab.explore("docs", home=home)
    try:
        assert view.url.endswith("/projector#source=collection%3Adocs")
        assert view._repr_html_().startswith(f'<iframe src="{view.url}" width="100%" height="650"')
        meta = _layout(view.url, "collection", "docs")
        assert meta["n"] == 12 and meta["fields"] == ["kind"]
        assert httpx.get(view.url.split("#")[0], timeout=30).text.count("regl-scatterplot.min.js") == 1
    finally:
        view.stop()


def test_a_vectors_file_a_tensorboard_folder_and_a_parquet_export(tmp_path):
    keys = [f"w{i}" for i in range(12)]
    path = save_vectors(Vectors(keys, VECS), tmp_path / "words.npy")
    view = embedlab.explore(path)
    try:
        assert view.prepared.source == "vectors:words" and _layout(view.url, "vectors", "words")["n"] == 12
    finally:
        view.stop()
    assert not view.prepared.home.exists()  # the temporary home is gone
    tb = tmp_path / "tb"
    tb.mkdir()
    (tb / "tensors.tsv").write_text("".join("\t".join(map(str, row)) + "\n" for row in VECS.tolist()))
    (tb / "metadata.tsv").write_text("word\tscore\tlang\n" + "".join(f"{k}\t{i / 2}\t{'ko' if i % 2 else 'en'}\n"
                                                                      for i, k in enumerate(keys)))
    view = embedlab.explore(tb / "tensors.tsv")
    try:
        assert view.prepared.source == "collection:tb"
        assert _layout(view.url, "collection", "tb")["fields"] == ["lang", "score", "word"]
        base = view.url.split("/projector")[0]
        col = httpx.get(f"{base}/api/projector/collection/tb/column/score", timeout=30).json()
        assert col["type"] == "number" and col["values"][:3] == [0.0, 0.5, 1.0]  # numbers in TSV become numbers
        assert httpx.get(f"{base}/api/projector/collection/tb/point/2", timeout=30).json()["id"] == "w2"
    finally:
        view.stop()
    with Collection.open("docs", root=_home(tmp_path) / "collections") as col:
        export_parquet(col, tmp_path / "docs-export.parquet")
    view = embedlab.explore(tmp_path / "docs-export.parquet")
    try:
        assert view.prepared.source == "collection:docs-export"
        assert _layout(view.url, "collection", "docs-export")["fields"] == ["kind"]
    finally:
        view.stop()


def test_python_objects(tmp_path):
    view = embedlab.explore(Vectors([f"k{i}" for i in range(12)], VECS))
    try:
        assert _layout(view.url, "vectors", "vectors")["n"] == 12
    finally:
        view.stop()
    with Collection.open("docs", root=_home(tmp_path) / "collections") as col:
        view = embedlab.explore(col)
        try:
            assert _layout(view.url, "collection", "docs")["n"] == 12
        finally:
            view.stop()


def test_the_command_prints_the_address_without_a_browser(tmp_path):
    home = _home(tmp_path)
    env = {**os.environ, "EMBEDLAB_HOME": str(home)}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "embedlab", "explore", "docs", "--no-browser", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == f"embedlab projector: http://127.0.0.1:{port}/projector#source=collection%3Adocs"
        deadline = time.monotonic() + 60
        while True:  # the line is printed just before uvicorn binds: retry until it answers
            try:
                meta = _layout(line.split(": ", 1)[1], "collection", "docs")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.05)
        assert meta["n"] == 12
    finally:
        proc.terminate()
        proc.wait(30)
    bad = subprocess.run([sys.executable, "-m", "embedlab", "explore", "nope", "--no-browser"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no collection, file or folder named 'nope'" in bad.stderr
