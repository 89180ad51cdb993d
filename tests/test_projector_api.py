"""The projector's HTTP API (server/routes_projector.py): layouts as one float32 array, cached on disk; a row's
point, a metadata column, neighbours by the collection's own index with the 2-D overlap, where/regex selection,
export as CSV/JSONL/Parquet; and each bad input's error."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from embedlab.analysis.layout import fit_layout  # noqa: E402
from embedlab.server import create_app  # noqa: E402
from embedlab.server.spatial_index import index_size, kdbush, normalized  # noqa: E402
from embedlab.store import Collection  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402

N, DIM = 60, 8
RNG = np.random.default_rng(7)
VECS = RNG.standard_normal((N, DIM)).astype(np.float32)
META = [{"cat": ["red", "green", "blue"][i % 3], "num": i * 0.5, "mixed": [1, "one", True][i % 3],
         "lang": "ko" if i % 2 else "en"} for i in range(N)]


def _home(tmp_path):
    with Collection.create("pts", dim=DIM, root=tmp_path / "collections") as col:
        col.add([f"p{i}" for i in range(N)], vectors=VECS, metadata=META,
                sources=[f"text number {i}" for i in range(N)])
    return tmp_path


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(_home(tmp_path), vectors_sets={}), base_url="http://localhost") as c:
        yield c


def _wait(c, job):
    while job["status"] in ("queued", "running"):
        c.app.state.embedlab.jobs.wait(job["id"], timeout=0.5)
        job = c.get(f"/api/jobs/{job['id']}").json()
    return job


def test_layout_and_coordinates_as_one_float32_array(client):
    r = client.get("/api/projector/collection/pts/layout?method=pca")
    assert r.status_code == 200
    meta = r.json()
    assert meta["method"] == "pca" and meta["n"] == N and meta["how"] == f"PCA of all {N} rows (exact)."
    assert 0.5 < meta["trustworthiness"] <= 1 and 0.5 < meta["continuity"] <= 1
    assert meta["fields"] == ["cat", "lang", "mixed", "num"] and meta["metric"] == "cosine"
    r = client.get("/api/projector/collection/pts/coords?method=pca")
    assert r.headers["content-type"] == "application/octet-stream" and len(r.content) == N * 2 * 4
    xy = np.frombuffer(r.content, "<f4").reshape(N, 2)
    col_vectors = client.app.state.embedlab.collection("pts").vectors().matrix
    want = fit_layout(col_vectors, "pca", seed=0, metric="cosine")
    np.testing.assert_array_equal(xy, want.coords)
    assert meta["trustworthiness"] == want.trustworthiness and meta["continuity"] == want.continuity
    assert meta["quality"] == f"trustworthiness and continuity at k = 10 over all {N} rows"


def test_a_layout_is_cached_on_disk_and_reopened(tmp_path):
    home = _home(tmp_path)
    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:
        first = c.get("/api/projector/collection/pts/coords?method=pca").content
    folders = list((home / "projector").iterdir())
    assert len(folders) == 1 and sorted(p.name for p in folders[0].iterdir()) == ["kdbush.bin", "key.json", "layout"]
    (folders[0] / "layout" / "coords.npy").write_bytes(b"")  # a broken cache file is recomputed, never served
    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:
        assert c.get("/api/projector/collection/pts/coords?method=pca").content == first
    meta = json.loads((folders[0] / "layout" / "layout.json").read_text())
    meta["how"] = "read back from disk"
    (folders[0] / "layout" / "layout.json").write_text(json.dumps(meta))
    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:  # a new server reads it
        assert c.get("/api/projector/collection/pts/layout?method=pca").json()["how"] == "read back from disk"
        assert c.get("/api/projector/collection/pts/coords?method=pca").content == first


def test_the_spatial_index_of_the_drawn_points_is_built_with_the_layout_and_cached(tmp_path):
    home = _home(tmp_path)
    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:
        xy = np.frombuffer(c.get("/api/projector/collection/pts/coords?method=pca").content, "<f4").reshape(N, 2)
        r = c.get("/api/projector/collection/pts/spatial-index?method=pca")
        assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
        assert r.content == kdbush(normalized(xy)) and len(r.content) == index_size(N)
    path = next((home / "projector").iterdir()) / "kdbush.bin"
    assert path.read_bytes() == r.content
    path.write_bytes(b"\xdb\x18")  # a damaged index is rebuilt, never served
    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:
        assert c.get("/api/projector/collection/pts/spatial-index?method=pca").content == r.content
    assert path.read_bytes() == r.content


def test_a_3d_layout_has_no_spatial_index(tmp_path):
    from embedlab.errors import InputError
    from embedlab.server.projector_cache import ProjectorCache

    cache = ProjectorCache(tmp_path)
    with pytest.raises(InputError, match="a spatial index is built for 2-D layouts; this one is 3-D"):
        cache.spatial_index(("k",), fit_layout(VECS, "pca", dims=3))
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_pca_over_more_cells_than_the_request_budget_is_a_job(tmp_path, monkeypatch):
    from embedlab.server import routes_projector

    monkeypatch.setattr(routes_projector, "INLINE_CELLS", N * DIM - 1)  # one cell over: a background job
    with TestClient(create_app(_home(tmp_path), vectors_sets={}), base_url="http://localhost") as c:
        r = c.get("/api/projector/collection/pts/layout?method=pca")
        assert r.status_code == 202
        job = _wait(c, r.json())
        assert job["status"] == "done" and job["result"]["how"] == f"PCA of all {N} rows (exact)."
        assert c.get("/api/projector/collection/pts/layout?method=pca").status_code == 200  # cached
    monkeypatch.setattr(routes_projector, "INLINE_CELLS", N * DIM)
    with TestClient(create_app(_home(tmp_path / "b"), vectors_sets={}), base_url="http://localhost") as c:
        assert c.get("/api/projector/collection/pts/layout?method=pca").status_code == 200  # in the request


def test_tsne_is_a_job_then_cached(client):
    r = client.get("/api/projector/collection/pts/layout?method=tsne")
    assert r.status_code == 202
    job = _wait(client, r.json())
    assert job["status"] == "done" and job["result"]["method"] == "tsne" and job["result"]["n"] == N
    again = client.get("/api/projector/collection/pts/layout?method=tsne")
    assert again.status_code == 200 and again.json()["how"] == f"t-SNE fitted on all {N} rows."


def test_a_rows_label_is_its_text_before_its_source_path(tmp_path):
    """Passages of one file share a source path: the label (tooltip, neighbour list, c-TF-IDF text) is each row's
    content, then the source (an image's path), then the id."""
    with Collection.create("docs", dim=DIM, root=tmp_path / "collections") as col:
        col.add(["a.txt#0", "a.txt#1", "img.png", "bare"], vectors=VECS[:4],
                sources=["/data/a.txt", "/data/a.txt", "/data/img.png", None],
                contents=["first passage", "second passage", None, None])
    with TestClient(create_app(tmp_path, vectors_sets={}), base_url="http://localhost") as c:
        got = [c.get(f"/api/projector/collection/docs/point/{r}").json()["label"] for r in range(4)]
    assert got == ["first passage", "second passage", "/data/img.png", "bare"]


def test_point_and_columns(client):
    assert client.get("/api/projector/collection/pts/point/3").json() == {
        "row": 3, "id": "p3", "label": "text number 3", "metadata": META[3]}
    cat = client.get("/api/projector/collection/pts/column/cat").json()
    assert cat["type"] == "category" and cat["categories"] == ["blue", "green", "red"]
    assert cat["counts"] == [20, 20, 20] and cat["codes"][:3] == [2, 1, 0] and cat["mixed"] is False
    num = client.get("/api/projector/collection/pts/column/num").json()
    assert num["type"] == "number" and num["min"] == 0.0 and num["max"] == 29.5 and num["values"][3] == 1.5
    mixed = client.get("/api/projector/collection/pts/column/mixed").json()  # 1, "one", true: shown as text
    assert mixed["type"] == "category" and mixed["mixed"] is True
    assert sorted(mixed["categories"]) == ["1", "one", "true"] and mixed["counts"] == [20, 20, 20]


def test_neighbours_come_from_the_collections_own_index(client):
    client.get("/api/projector/collection/pts/layout")
    r = client.post("/api/projector/collection/pts/neighbors", json={"row": 4, "k": 5})
    body = r.json()
    hits = client.app.state.embedlab.collection("pts").search(VECS[4], k=6)
    want = [h.id for h in hits if h.id != "p4"][:5]
    assert [h["id"] for h in body["hits"]] == want and [h["row"] for h in body["hits"]] == [int(i[1:]) for i in want]
    assert body["k"] == 5 and body["metric"] == "cosine"
    xy = np.frombuffer(client.get("/api/projector/collection/pts/coords").content, "<f4").reshape(N, 2)
    d = ((xy - xy[4]) ** 2).sum(1)
    d[4] = np.inf
    flat = set(np.argsort(d)[:5].tolist())
    assert body["also_2d"] == len(flat & {h["row"] for h in body["hits"]})


def test_select_by_where_and_regex(client):
    r = client.post("/api/projector/collection/pts/select", json={"where": {"cat": "red"}})
    assert r.json() == {"rows": list(range(0, N, 3)), "count": 20}
    r = client.post("/api/projector/collection/pts/select", json={"where": {"num": {"$gte": 28}}, "regex": "^p5"})
    assert r.json()["rows"] == [56, 57, 58, 59]
    r = client.post("/api/projector/collection/pts/select", json={"regex": "NUMBER 1[0-2]$"})
    assert r.json()["rows"] == [10, 11, 12]


def test_export_csv_jsonl_parquet(client):
    client.get("/api/projector/collection/pts/layout")
    xy = np.frombuffer(client.get("/api/projector/collection/pts/coords").content, "<f4").reshape(N, 2)
    r = client.post("/api/projector/collection/pts/export", json={"rows": [2, 5], "format": "csv"})
    assert r.headers["content-disposition"] == 'attachment; filename="pts-selection.csv"'
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "label", "text", "x", "y", "cat", "lang", "mixed", "num"]  # text: none stored here
    assert rows[1][:3] == ["p2", "text number 2", ""] and float(rows[1][3]) == pytest.approx(float(xy[2, 0]))
    assert rows[2][5:] == ["blue", "ko", "True", "2.5"]
    r = client.post("/api/projector/collection/pts/export", json={"rows": [7], "format": "jsonl"})
    assert [json.loads(line) for line in r.text.splitlines()] == [
        {"id": "p7", "label": "text number 7", "text": None, "x": float(xy[7, 0]), "y": float(xy[7, 1]),
         "metadata": META[7]}]
    pq = pytest.importorskip("pyarrow.parquet")
    r = client.post("/api/projector/collection/pts/export", json={"rows": [0, 1], "format": "parquet"})
    table = pq.read_table(io.BytesIO(r.content))
    assert table.column("id").to_pylist() == ["p0", "p1"]
    assert [json.loads(m) for m in table.column("metadata").to_pylist()] == META[:2]


def test_bad_inputs(client, tmp_path):
    r = client.get("/api/projector/collection/nope/layout")
    assert r.status_code == 404 and r.json()["error"]["type"] == "CollectionNotFoundError"
    r = client.get("/api/projector/vectors/nope/layout")
    assert r.status_code == 404 and "no vectors set named 'nope'" in r.json()["error"]["message"]
    r = client.get("/api/projector/collection/pts/layout?method=mds")
    assert r.status_code == 400
    r = client.get("/api/projector/collection/pts/point/60")
    assert r.status_code == 404 and r.json()["error"]["message"] == "no row 60 in 'pts': it has 60 rows (0 to 59)"
    r = client.get("/api/projector/collection/pts/column/nope")
    assert r.status_code == 404 and r.json()["error"]["message"] == (
        "no metadata field 'nope' in 'pts'; fields: cat, lang, mixed, num")
    r = client.post("/api/projector/collection/pts/select", json={"regex": "("})
    assert r.status_code == 400 and "does not compile" in r.json()["error"]["message"]
    r = client.post("/api/projector/collection/pts/select", json={})
    assert r.status_code == 400 and r.json()["error"]["message"] == "give a where filter, a regex, or both"
    r = client.post("/api/projector/collection/pts/export", json={"rows": [99], "format": "csv"})
    assert r.status_code == 400 and r.json()["error"]["message"] == "rows out of range 0..59: [99]"
    r = client.post("/api/projector/collection/pts/export", json={"rows": [1], "format": "xlsx"})
    assert r.status_code == 400
    r = client.get("/api/projector/collection/pts/coords?method=umap")  # not computed yet: a job, not a guess
    assert r.status_code == 400 and "is still being computed" in r.json()["error"]["message"]


def test_too_few_points_nan_rows_and_zero_rows(tmp_path):
    tiny = Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    nan = Vectors([f"w{i}" for i in range(6)], np.ones((6, 3), np.float32))
    nan.matrix[2, 1] = np.nan
    nan.matrix[4, 0] = np.inf
    zero = Vectors([f"z{i}" for i in range(5)], np.vstack([np.zeros((1, 3)), np.eye(3), np.ones((1, 3))]
                                                            ).astype(np.float32))
    with TestClient(create_app(tmp_path, vectors_sets={"tiny": tiny, "nan": nan, "zero": zero}),
                    base_url="http://localhost") as c:
        job = _wait(c, c.get("/api/projector/vectors/tiny/layout?method=tsne").json())
        assert job["status"] == "error" and job["error"] == {
            "type": "InputError", "message": "t-SNE needs at least 4 points; 'tiny' has 3"}
        r = c.get("/api/projector/vectors/nan/layout?method=pca")
        assert r.status_code == 400 and r.json()["error"]["message"] == (
            "2 row(s) of 'nan' hold NaN or infinity (first: 'w2', 'w4'); fix or remove them before projecting")
        r = c.get("/api/projector/vectors/zero/layout?method=pca")  # a zero row is allowed: PCA places it
        assert r.status_code == 200 and r.json()["n"] == 5
        xy = np.frombuffer(c.get("/api/projector/vectors/zero/coords").content, "<f4")
        assert np.isfinite(xy).all() and len(xy) == 10
        r = c.post("/api/projector/vectors/zero/select", json={"where": {"a": 1}})
        assert r.status_code == 400 and "has no metadata" in r.json()["error"]["message"]


def test_a_query_lands_where_the_layout_places_it(tmp_path):
    keys = ["man", "woman", "king", "queen", "apple", "pear"]
    mat = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0, 0.2, 0, 1]], np.float32)
    with TestClient(create_app(_home(tmp_path), vectors_sets={"words": Vectors(keys, mat)}),
                    base_url="http://localhost") as c:
        c.get("/api/projector/vectors/words/layout")
        xy = np.frombuffer(c.get("/api/projector/vectors/words/coords").content, "<f4").reshape(-1, 2)
        body = c.post("/api/projector/vectors/words/query", json={"query": "king - man + woman", "k": 2}).json()
        assert [h["id"] for h in body["hits"]] == ["queen", "pear"] and body["placed_by"] == "exact"
        layout = fit_layout(mat, "pca", seed=0, metric="cosine")  # PCA places a query exactly
        np.testing.assert_array_equal(xy, layout.coords)
        want = layout.place((mat[2] - mat[0] + mat[1])[None, :])[0][0]  # king - man + woman, the raw vectors' sum
        assert body["place"] == pytest.approx(want.tolist(), abs=1e-6)
        job = _wait(c, c.get("/api/projector/vectors/words/layout?method=tsne").json())
        assert job["status"] == "done"
        body = c.post("/api/projector/vectors/words/query", json={"query": "queen", "k": 1, "method": "tsne"}).json()
        assert body["placed_by"] == "nearest-neighbour" and len(body["place"]) == 2
        body = c.post("/api/projector/vectors/words/query", json={"query": "apple", "k": 1}).json()
        assert [h["id"] for h in body["hits"]] == ["pear"]
        r = c.post("/api/projector/vectors/words/query", json={"query": "고양이"})  # not a key of English vectors
        assert r.status_code == 404 and r.json()["error"]["type"] == "UnknownKeyError"
        c.get("/api/projector/collection/pts/layout")
        r = c.post("/api/projector/collection/pts/query", json={"query": "a text"})  # no encoder reads text here
        assert r.status_code == 400 and r.json()["error"]["type"] == "InputError"
        assert r.json()["error"]["message"] == "collection 'pts' is vectors-only (no encoder); search with a 8-d vector"
        r = c.post("/api/projector/collection/pts/query", json={"query": "   "})
        assert r.status_code == 400 and r.json()["error"]["message"].startswith("the query is empty")


def test_clusters_named_by_ctfidf_as_a_colour_column(tmp_path):
    from embedlab.analysis.clusters import cluster_items

    rng = np.random.default_rng(2)
    centres = np.eye(8, dtype=np.float32)[:2] * 5
    vecs = (centres[np.arange(40) % 2] + rng.standard_normal((40, 8)).astype(np.float32) * 0.3).astype(np.float32)
    texts = ["사과와 바나나는 달콤한 과일이다" if i % 2 == 0 else "buses and trains carry passengers" for i in range(40)]
    with Collection.create("mix", dim=8, root=tmp_path / "collections") as col:
        col.add([f"m{i}" for i in range(40)], vectors=vecs, sources=texts)
    with TestClient(create_app(tmp_path, vectors_sets={}), base_url="http://localhost") as c:
        r = c.get("/api/projector/collection/mix/clusters?algorithm=kmeans&n_clusters=2&stop_words=passengers")
        assert r.status_code == 202
        job = _wait(c, r.json())
        assert job["status"] == "done"
        got = job["result"]
        stored = c.app.state.embedlab.collection("mix").vectors().matrix
        want = cluster_items(stored, texts, "kmeans", n_clusters=2, stop_words=["passengers"])
        assert got["codes"] == want.labels.tolist() and got["counts"] == want.sizes
        assert got["categories"] == [f"{i + 1}. {n}" for i, n in enumerate(want.names)]
        assert got["categories"] == ["1. 과일 · 달콤 · 바나나", "2. buses · carry · trains"]  # "passengers": a stop word
        again = c.get("/api/projector/collection/mix/clusters?algorithm=kmeans&n_clusters=2&stop_words=passengers")
        assert again.status_code == 200 and again.json() == got  # cached
        bad = _wait(c, c.get("/api/projector/collection/mix/clusters?algorithm=hdbscan&n_clusters=3").json())
        assert bad["status"] == "error" and bad["error"] == {
            "type": "InputError", "message": "HDBSCAN finds the number of clusters itself; leave n_clusters out"}
        assert c.get("/api/projector/collection/mix/clusters?algorithm=dbscan").status_code == 400


def test_a_vectors_set_changed_under_the_same_name_is_not_served_from_the_old_cache(tmp_path):
    keys = [f"w{i}" for i in range(20)]
    first, second = RNG.standard_normal((2, 20, 6)).astype(np.float32)
    for mat in (first, second):  # two runs of a server over one home, the set changed in between
        with TestClient(create_app(tmp_path, vectors_sets={"w": Vectors(keys, mat)}), base_url="http://localhost") as c:
            xy = np.frombuffer(c.get("/api/projector/vectors/w/coords").content, "<f4").reshape(-1, 2)
            np.testing.assert_array_equal(xy, fit_layout(mat, "pca", seed=0, metric="cosine").coords)
    assert len(list((tmp_path / "projector").iterdir())) == 2


def test_a_3d_layout_is_computed_cached_and_exported_beside_the_2d_one(client):
    base = "/api/projector/collection/pts"
    meta = client.get(f"{base}/layout?method=pca&dims=3").json()
    assert meta["n"] == N and meta["how"] == f"PCA of all {N} rows (exact)."
    xyz = np.frombuffer(client.get(f"{base}/coords?method=pca&dims=3").content, "<f4").reshape(N, 3)
    col_vectors = client.app.state.embedlab.collection("pts").vectors().matrix
    want = fit_layout(col_vectors, "pca", dims=3, seed=0, metric="cosine")
    np.testing.assert_array_equal(xyz, want.coords)
    assert meta["trustworthiness"] == want.trustworthiness
    xy = np.frombuffer(client.get(f"{base}/coords?method=pca").content, "<f4")  # the 2-D layout is its own entry
    assert len(xy) == N * 2
    r = client.post(f"{base}/neighbors", json={"row": 0, "k": 5, "dims": 3})
    d = ((want.coords - want.coords[0]) ** 2).sum(axis=1)
    d[0] = np.inf
    flat = set(np.argsort(d)[:5].tolist())
    assert r.json()["also_2d"] == len({h["row"] for h in r.json()["hits"]} & flat)
    job = client.get(f"{base}/layout?method=tsne&dims=3").json()  # t-SNE in 3-D: a job, then 3 columns
    assert _wait(client, job)["status"] == "done"
    assert len(client.get(f"{base}/coords?method=tsne&dims=3").content) == N * 3 * 4
    rows = list(csv.DictReader(io.StringIO(client.post(f"{base}/export", json={"rows": [2, 5], "dims": 3}).text)))
    assert [[float(r[a]) for a in "xyz"] for r in rows] == [want.coords[2].tolist(), want.coords[5].tolist()]
    line = json.loads(client.post(f"{base}/export", json={"rows": [5], "format": "jsonl", "dims": 3}).text)
    assert [line["x"], line["y"], line["z"]] == want.coords[5].tolist()
    pq = pytest.importorskip("pyarrow.parquet")
    got = pq.read_table(io.BytesIO(client.post(f"{base}/export", json={"rows": [5], "format": "parquet",
                                                                       "dims": 3}).content))
    assert got.column_names == ["id", "label", "text", "x", "y", "z", "metadata"]  # text: a collection's rows
    r = client.get(f"{base}/layout?dims=4")
    assert r.status_code == 400 and r.json()["error"] == {
        "type": "InputError", "message": "invalid request: query.dims: Input should be less than or equal to 3"}
    r = client.get(f"{base}/coords?dims=1")
    assert r.status_code == 400 and r.json()["error"] == {
        "type": "InputError", "message": "invalid request: query.dims: Input should be greater than or equal to 2"}
    r = client.post(f"{base}/neighbors", json={"row": 0, "dims": 4})
    assert r.status_code == 400 and r.json()["error"]["message"] == (
        "invalid request: dims: Input should be less than or equal to 3")
    home = client.app.state.embedlab.home
    with Collection.create("flat2", dim=2, root=home / "collections") as col:
        col.add([f"f{i}" for i in range(5)], vectors=np.arange(10, dtype=np.float32).reshape(5, 2) + 1)
    r = client.get("/api/projector/collection/flat2/layout?dims=3")
    assert r.status_code == 400 and r.json()["error"]["message"] == "cannot lay out 2-dimensional vectors in 3 dimensions"


def test_ids_in_row_order_for_matching_two_sources(client, tmp_path):
    r = client.get("/api/projector/collection/pts/ids")
    assert r.status_code == 200 and r.json() == {"ids": [f"p{i}" for i in range(N)]}
    r = client.get("/api/projector/collection/nope/ids")
    assert r.status_code == 404 and r.json()["error"]["type"] == "CollectionNotFoundError"
    with TestClient(create_app(tmp_path / "v", vectors_sets={"w": Vectors(["b", "a"], np.eye(2, dtype=np.float32))}),
                    base_url="http://localhost") as c:
        assert c.get("/api/projector/vectors/w/ids").json() == {"ids": ["b", "a"]}


def test_the_page_scripts_are_served_by_fixed_names(client):
    page = client.get("/projector").text
    names = ["vendor/regl-scatterplot.min.js", "vendor/three-points.min.js", "projector-url.js",
             "projector-scatter.js", "projector-canvas.js", "projector-3d.js",
             "projector-compare.js", "projector.js"]
    assert [n for n in names if f'<script src="/static/{n}"></script>' in page] == names
    for name in names:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and r.headers["content-type"] == "text/javascript; charset=utf-8", name
    assert "window.View3D" in client.get("/static/projector-3d.js").text
    assert client.get("/static/vendor/three-points.min.js").headers["cache-control"] == "public, max-age=86400"
    assert client.get("/static/projector-nope.js").status_code == 404
