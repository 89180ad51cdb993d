"""HTTP API (in-process, FastAPI's TestClient): collections, items, search, similarity, arithmetic, projection,
auth, limits, names, error shapes, the explorer's static files and the OpenAPI docs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from server_helpers import api_client  # noqa: E402
from server_helpers import assert_error as _error  # noqa: E402

from embedlab import Vectors  # noqa: E402
from embedlab.cli.tour import tour_documents  # noqa: E402
from embedlab.server import Limits, api_key_from, create_app  # noqa: E402

TINY = Vectors(["king", "queen", "man", "woman", "apple"],
               np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("server-home")


@pytest.fixture(scope="module")
def client(home, use_encoder):
    items = [{"id": d["id"], "text": d["text"], "metadata": {"category": d["category"]}} for d in tour_documents()]
    with api_client(home, "tour", items,
                    vectors_sets={"tiny": TINY, "glove-50": lambda: __import__("embedlab").glove(50_000)}) as c:
        yield c


def test_collection_lifecycle(client):
    r = client.post("/api/collections", json={"name": "life", "dim": 3, "metric": "dot"})
    assert r.status_code == 201
    info = r.json()
    assert (info["name"], info["dim"], info["metric"], info["count"]) == ("life", 3, "dot", 0)
    assert "path" not in info and "location" not in info  # the server's disk layout stays private
    assert str(client.app.state.embedlab.home) not in r.text
    assert "life" in [c["name"] for c in client.get("/api/collections").json()["collections"]]
    _error(client.post("/api/collections", json={"name": "life", "dim": 3}), 400, "InputError", "already exists")
    assert client.delete("/api/collections/life").json() == {"dropped": "life"}
    _error(client.get("/api/collections/life"), 404, "CollectionNotFoundError", "no collection named 'life'")
    _error(client.delete("/api/collections/life"), 404, "CollectionNotFoundError", "no collection named 'life'")
    _error(client.post("/api/collections", json={"name": "x", "encoder": "no-such-encoder"}), 400, "InputError",
           "unknown encoder 'no-such-encoder'")


def test_items_add_upsert_delete_get(client):
    client.post("/api/collections", json={"name": "items", "dim": 2, "metric": "dot"})
    r = client.post("/api/collections/items/items", json={"items": [
        {"id": "a", "vector": [1, 0], "metadata": {"tag": "x"}}, {"id": "b", "vector": [0, 2], "source": "b.txt"}]})
    assert r.status_code == 200 and r.json()["added"] == 2 and r.json()["count"] == 2
    item = client.get("/api/collections/items/items/b", params={"include_vector": True}).json()
    assert item == {"id": "b", "metadata": {}, "source": "b.txt", "content": None, "vector": [0.0, 2.0]}
    _error(client.post("/api/collections/items/items", json={"items": [{"id": "a", "vector": [3, 3]}]}),
           400, "InputError", "already in collection 'items'")
    r = client.put("/api/collections/items/items", json={"items": [
        {"id": "a", "vector": [1, 0], "metadata": {"tag": "x"}}, {"id": "b", "vector": [0, 3]},
        {"id": "c", "vector": [1, 1]}]})
    assert {k: r.json()[k] for k in ("added", "updated", "unchanged", "count")} == \
        {"added": 1, "updated": 1, "unchanged": 1, "count": 3}
    got = client.post("/api/collections/items/get", json={"ids": ["c", "b"], "include_vectors": True}).json()
    assert [(i["id"], i["vector"]) for i in got["items"]] == [("c", [1.0, 1.0]), ("b", [0.0, 3.0])]
    assert client.post("/api/collections/items/delete", json={"ids": ["a", "zzz"]}).json() == \
        {"deleted": 1, "count": 2}
    _error(client.get("/api/collections/items/items/a"), 404, "UnknownKeyError", "not in collection 'items'")
    _error(client.post("/api/collections/items/items", json={"items": [{"id": "d", "vector": [1, 2, 3]}]}),
           400, "DimensionError", "3")
    _error(client.post("/api/collections/items/items", json={"items": [{"id": "d"}]}), 400, "InputError",
           "exactly one of 'text' or 'vector'")
    _error(client.post("/api/collections/items/items", json={"items": [{"id": "d", "text": "hi"}]}), 400,
           "InputError", "vectors-only")


def test_get_items_whose_ids_are_paths_and_documents_split_into_passages(client):
    """Ids are file paths (``notes/a.txt``): GET /items/{id} answered 'no route' for every file in a subfolder;
    a document stored as passages is named with them, as `embedlab get` names them."""
    client.post("/api/collections", json={"name": "paths", "dim": 2, "metric": "dot"})
    client.post("/api/collections/paths/items", json={"items": [
        {"id": "notes/a.txt", "vector": [1, 0]}, {"id": "notes/sub/b c.txt", "vector": [0, 1]},
        {"id": "big.txt#0", "vector": [1, 1], "metadata": {"doc_id": "big.txt", "passage": 0}},
        {"id": "big.txt#1", "vector": [1, 2], "metadata": {"doc_id": "big.txt", "passage": 1}}]})
    for url, want in (("notes%2Fa.txt", "notes/a.txt"), ("notes/a.txt", "notes/a.txt"),
                      ("notes/sub/b%20c.txt", "notes/sub/b c.txt"), ("big.txt%230", "big.txt#0")):
        r = client.get(f"/api/collections/paths/items/{url}")
        assert r.status_code == 200 and r.json()["id"] == want, r.text
    hint = "1 id(s) not in collection 'paths': ['big.txt']; 'big.txt' is a long document stored as 2 passages " \
           "(big.txt#0 … big.txt#1)"
    r = client.get("/api/collections/paths/items/big.txt")
    assert r.status_code == 404 and r.json()["error"] == {"type": "UnknownKeyError", "message": hint}
    r = client.post("/api/collections/paths/get", json={"ids": ["notes/a.txt", "big.txt"]})
    assert r.status_code == 404 and r.json()["error"]["message"] == hint
    _error(client.get("/api/collections/paths/items/notes/zz.txt"), 404, "UnknownKeyError",
           "1 id(s) not in collection 'paths': ['notes/zz.txt']")
    got = client.post("/api/collections/paths/get", json={"ids": ["big.txt", "notes/a.txt"], "missing": "skip"})
    assert [i["id"] for i in got.json()["items"]] == ["notes/a.txt"]
    client.post("/api/collections", json={"name": "plain", "dim": 2, "metric": "dot"})
    client.post("/api/collections/plain/items", json={"items": [{"id": "a", "vector": [1, 0]}]})
    with warnings.catch_warnings():  # the passages looked up for the error are no filter of the user's
        warnings.simplefilter("error")
        _error(client.get("/api/collections/plain/items/b"), 404, "UnknownKeyError", "['b']")


def test_delete_by_where_get_missing_content_list_drop(client):
    client.post("/api/collections", json={"name": "dw", "dim": 2, "metric": "dot"})
    client.post("/api/collections/dw/items", json={"items": [
        {"id": "a", "vector": [1, 0], "metadata": {"tag": "x"}}, {"id": "b", "vector": [0, 1], "metadata": {"tag": "y"}},
        {"id": "c", "vector": [1, 1], "metadata": {"tag": "x", "n": 3}, "source": "c.txt"}]})
    assert client.post("/api/collections/dw/delete", json={"where": {"n": {"$gte": 4}}}).json() == \
        {"deleted": 0, "count": 3, "ids": []}
    assert client.post("/api/collections/dw/delete", json={"where": {"tag": "x"}}).json() == \
        {"deleted": 2, "count": 1, "ids": ["a", "c"]}
    for body in ({"ids": ["b"], "where": {"tag": "y"}}, {}):
        _error(client.post("/api/collections/dw/delete", json=body), 400, "InputError",
               "send exactly one of 'ids' (a list of ids) or 'where' (a metadata filter) to delete")
    _error(client.post("/api/collections/dw/delete", json={"where": {"tag": {"$near": 1}}}), 400, "InputError",
           "unknown operator '$near'")
    _error(client.post("/api/collections/dw/delete", json={"ids": []}), 400, "InputError", "ids")
    _error(client.post("/api/collections/nodw/delete", json={"where": {"tag": "y"}}), 404,
           "CollectionNotFoundError", "no collection named 'nodw'")
    deep: dict = {"tag": "y"}
    for _ in range(40):
        deep = {"$and": [deep]}
    _error(client.post("/api/collections/dw/delete", json={"where": deep}), 413, "ResourceLimitError", "where")
    assert client.get("/api/collections/dw").json()["count"] == 1  # refused requests deleted nothing

    # get: unknown ids are a 404 naming them, or left out with missing=skip; items carry their content
    _error(client.post("/api/collections/dw/get", json={"ids": ["b", "zz"]}), 404, "UnknownKeyError",
           "1 id(s) not in collection 'dw': ['zz']")
    assert client.post("/api/collections/dw/get", json={"ids": ["zz", "b"], "missing": "skip"}).json() == \
        {"items": [{"id": "b", "metadata": {"tag": "y"}, "source": None, "content": None}]}
    _error(client.post("/api/collections/dw/get", json={"ids": ["b"], "missing": "maybe"}), 400, "InputError",
           "missing")
    got = client.post("/api/collections/tour/get", json={"ids": ["cat"]}).json()["items"][0]
    assert got["content"] == next(d["text"] for d in tour_documents() if d["id"] == "cat")
    assert client.get("/api/collections/tour/items/cat").json()["content"] == got["content"]

    # list and drop
    listed = {c["name"]: c for c in client.get("/api/collections").json()["collections"]}
    assert (listed["dw"]["status"], listed["dw"]["count"]) == ("ok", 1)
    assert client.delete("/api/collections/dw").json() == {"dropped": "dw"}
    assert "dw" not in [c["name"] for c in client.get("/api/collections").json()["collections"]]


def test_delete_by_where_needs_the_api_key(tmp_path):
    with TestClient(create_app(tmp_path, api_key="k", vectors_sets={}), base_url="http://localhost") as c:
        key = {"Authorization": "Bearer k"}
        c.post("/api/collections", json={"name": "w", "dim": 2}, headers=key)
        c.post("/api/collections/w/items", json={"items": [{"id": "x", "vector": [1, 0], "metadata": {"t": 1}}]},
               headers=key)
        _error(c.post("/api/collections/w/delete", json={"where": {"t": 1}}), 401, "AuthError", "API key")
        assert c.post("/api/collections/w/get", json={"ids": ["x"]}).status_code == 200  # reads stay public
        assert c.post("/api/collections/w/delete", json={"where": {"t": 1}}, headers=key).json() == \
            {"deleted": 1, "count": 0, "ids": ["x"]}


def test_one_collection_object_per_name(client):
    """The store's single-writer rule inside the server: every request shares one open Collection per name."""
    st = client.app.state.embedlab
    assert st.collection("tour") is st.collection("tour")
    assert st.encoder("use") is st.encoder("use-multilingual") is st.collection("tour").encoder


def test_vector_search_exact_scores_filter_and_neighbours(client):
    client.post("/api/collections", json={"name": "vs", "dim": 2, "metric": "dot"})
    client.post("/api/collections/vs/items", json={"items": [
        {"id": "p", "vector": [1, 0], "metadata": {"side": "right"}},
        {"id": "q", "vector": [0.5, 0.5], "metadata": {"side": "right"}},
        {"id": "r", "vector": [-1, 0], "metadata": {"side": "left"}}]})
    hits = client.post("/api/collections/vs/search", json={"vector": [2, 0], "k": 3}).json()["hits"]
    assert [(h["id"], h["score"]) for h in hits] == [("p", 2.0), ("q", 1.0), ("r", -2.0)]
    hits = client.post("/api/collections/vs/search", json={"vector": [2, 0], "k": 3, "where": {"side": "left"}})
    assert [h["id"] for h in hits.json()["hits"]] == ["r"]
    hits = client.post("/api/collections/vs/search", json={"id": "p", "k": 5}).json()["hits"]
    assert [h["id"] for h in hits] == ["q", "r"]  # the item itself is left out
    _error(client.post("/api/collections/vs/search", json={"vector": [1, 0], "where": {"side": {"$like": 1}}}),
           400, "InputError", "unknown operator '$like'")
    _error(client.post("/api/collections/vs/search", json={"query": "a", "vector": [1, 0]}), 400, "InputError",
           "exactly one of 'query'")
    _error(client.post("/api/collections/vs/search", json={"vector": [1, 0], "k": 0}), 400, "InputError", "k")


def test_text_search_is_cross_lingual(client):
    hits = client.post("/api/collections/tour/search", json={"query": "빠른 운송 수단", "k": 3}).json()["hits"]
    assert [h["metadata"]["category"] for h in hits] == ["vehicle"] * 3
    assert hits[0]["source"].startswith("A high-speed train")
    hits = client.post("/api/collections/tour/search",
                       json={"query": "빠른 운송 수단", "k": 5, "where": {"category": "animal"}}).json()["hits"]
    assert len(hits) == 5 and {h["metadata"]["category"] for h in hits} == {"animal"}
    hits = client.post("/api/collections/tour/search", json={"id": "apple", "k": 4}).json()["hits"]
    assert {h["metadata"]["category"] for h in hits} == {"fruit"}


def test_similarity_matches_the_encoder(client, use_encoder):
    a, b = "a fast train", "고속 열차"
    got = client.post("/api/similarity", json={"a": a, "b": b}).json()
    va, vb = use_encoder.encode([a, b])
    assert got["model"] == "use-multilingual"
    assert got["similarity"] == pytest.approx(float(va @ vb), abs=1e-6)
    far = client.post("/api/similarity", json={"a": a, "b": "ripe bananas"}).json()["similarity"]
    assert got["similarity"] > far + 0.2


def test_vectors_arithmetic_analogy_and_errors(client):
    assert client.get("/api/vectors").json() == {"vectors": ["glove-50", "tiny"]}
    assert client.get("/api/vectors/tiny").json() == {"name": "tiny", "count": 5, "dim": 4}
    r = client.post("/api/vectors/tiny/arithmetic", json={"query": "king - man + woman", "k": 1}).json()
    q = TINY.unit_matrix()[0] - TINY.unit_matrix()[2] + TINY.unit_matrix()[3]  # 3CosAdd over unit vectors
    want = float(q @ TINY.unit_matrix()[1] / np.linalg.norm(q))
    assert r["hits"][0]["id"] == "queen" and r["hits"][0]["score"] == pytest.approx(want, abs=1e-6)
    r = client.post("/api/vectors/tiny/analogy", json={"a": "man", "b": "king", "c": "woman", "k": 1}).json()
    assert r["hits"][0]["id"] == "queen"
    r = client.post("/api/vectors/tiny/similarity", json={"a": "king", "b": "queen"}).json()
    assert r["similarity"] == pytest.approx(0.5, abs=1e-6)
    r = client.post("/api/vectors/glove-50/arithmetic", json={"query": "king - man + woman", "k": 3}).json()
    assert r["hits"][0]["id"] == "queen"
    r = client.post("/api/vectors/glove-50/neighbors", json={"query": "france", "k": 5}).json()
    assert "france" not in [h["id"] for h in r["hits"]] and len(r["hits"]) == 5
    _error(client.post("/api/vectors/tiny/neighbors", json={"query": "Queen"}), 404, "UnknownKeyError",
           "did you mean 'queen'")
    _error(client.post("/api/vectors/tiny/arithmetic", json={"query": "king - - man"}), 400, "InputError",
           "two operators in a row")
    _error(client.post("/api/vectors/nope/arithmetic", json={"query": "king"}), 404, "UnknownKeyError",
           "no vectors set named 'nope'; this server offers: glove-50, tiny")


def test_projection_is_the_library_pca(client, home):
    from embedlab.analysis.reduce import project
    from embedlab.store import Collection

    p = client.get("/api/collections/tour/projection").json()
    assert (p["kind"], p["method"], p["total"], len(p["ids"])) == ("collection", "pca", 20, 20)
    assert set(p["metadata"]["category"]) == {"fruit", "animal", "vehicle"}
    col = Collection.open("tour", root=home / "collections", readonly=True)
    want = project(np.stack([it.vector for it in col.get(p["ids"])]), "pca", dim=2, seed=0)
    np.testing.assert_allclose(np.c_[p["x"], p["y"]], want, atol=1e-5)
    sample = client.get("/api/collections/tour/projection", params={"max_points": 7}).json()
    assert len(sample["ids"]) == 7 and sample["total"] == 20
    v = client.get("/api/vectors/glove-50/projection", params={"max_points": 300}).json()
    assert len(v["ids"]) == 300 and all(w.isalpha() for w in v["ids"]) and v["ids"][0] == "the"
    client.post("/api/collections", json={"name": "grow", "dim": 3})
    client.post("/api/collections/grow/items", json={"items": [{"id": str(i), "vector": [i, 1, 2 - i]}
                                                                for i in range(3)]})
    assert client.get("/api/collections/grow/projection").json()["total"] == 3
    client.post("/api/collections/grow/items", json={"items": [{"id": "3", "vector": [0, 0, 1]}]})
    grown = client.get("/api/collections/grow/projection").json()  # a write invalidates the cached projection
    assert grown["total"] == 4 and grown["ids"] == ["0", "1", "2", "3"]
    _error(client.get("/api/vectors/tiny/projection", params={"max_points": 10**6}), 413, "ResourceLimitError",
           "above the limit of 5000 points")
    _error(client.get("/api/vectors/tiny/projection", params={"method": "lda"}), 400, "InputError", "method")


def test_api_key_on_writes_and_private_reads(tmp_path):
    with TestClient(create_app(tmp_path, api_key="s3cret", vectors_sets={}), base_url="http://localhost") as c:
        r = c.post("/api/collections", json={"name": "a", "dim": 2})
        _error(r, 401, "AuthError", "write routes need an API key")
        assert r.headers["www-authenticate"] == "Bearer"
        _error(c.post("/api/collections", json={"name": "a", "dim": 2}, headers={"Authorization": "Bearer nope"}),
               401, "AuthError", "wrong API key")
        assert c.post("/api/collections", json={"name": "a", "dim": 2},
                      headers={"Authorization": "Bearer s3cret"}).status_code == 201
        assert c.post("/api/collections/a/items", json={"items": [{"id": "x", "vector": [1, 0]}]},
                      headers={"X-API-Key": "s3cret"}).status_code == 200
        _error(c.delete("/api/collections/a"), 401, "AuthError", "API key")
        assert c.get("/api/collections/a").json()["count"] == 1  # reads stay public by default
    with TestClient(create_app(tmp_path, api_key="s3cret", public_reads=False, vectors_sets={}),
                    base_url="http://localhost") as c:
        _error(c.get("/api/collections"), 401, "AuthError", "read routes need an API key")
        _error(c.get("/v1/models"), 401, "AuthError", "read routes need an API key")
        assert c.get("/api/collections", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/").status_code == 200  # the page itself loads; it asks for the key


def test_api_key_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDLAB_API_KEY", raising=False)
    assert api_key_from() is None
    monkeypatch.setenv("EMBEDLAB_API_KEY", " from-env ")
    assert api_key_from() == "from-env"
    f = tmp_path / "key"
    f.write_text("from-file\n")
    assert api_key_from(f) == "from-file"
    f.write_text("\n")
    with pytest.raises(Exception, match="is empty; put the key on its first line"):
        api_key_from(f)


def test_limits_body_batch_length_k(tmp_path):
    limits = Limits(max_body_bytes=2000, max_batch=3, max_input_chars=50, max_k=5)
    with TestClient(create_app(tmp_path, limits=limits, vectors_sets={"tiny": TINY}), base_url="http://localhost") as c:
        c.post("/api/collections", json={"name": "l", "dim": 2})
        _error(c.post("/api/collections/l/items", content=b"x" * 2001, headers={"content-type": "application/json"}),
               413, "ResourceLimitError", "over the limit of 2000 bytes")
        chunks = (b"y" * 500 for _ in range(5))  # streamed without a Content-Length
        _error(c.post("/api/collections/l/items", content=chunks, headers={"content-type": "application/json"}),
               413, "ResourceLimitError", "over the limit of 2000 bytes")
        items = [{"id": str(i), "vector": [1, 0]} for i in range(4)]
        _error(c.post("/api/collections/l/items", json={"items": items}), 413, "ResourceLimitError",
               "4 items in one request; the limit is 3")
        _error(c.post("/v1/embeddings", json={"input": ["a"] * 4, "model": "default"}), 413, "ResourceLimitError",
               "4 inputs in one request; the limit is 3")
        _error(c.post("/v1/embeddings", json={"input": "z" * 51, "model": "default"}), 413, "ResourceLimitError",
               "input 0 has 51 characters; the limit is 50")
        _error(c.post("/api/collections/l/search", json={"vector": [1, 0], "k": 6}), 413, "ResourceLimitError",
               "k=6 is above the limit of 5")
        assert c.get("/api/collections/l").json()["count"] == 0  # nothing was written by refused requests


def test_names_never_reach_files(client, home):
    _error(client.post("/api/collections", json={"name": "../evil", "dim": 2}), 400, "InputError",
           "bad collection name '../evil'")
    _error(client.get("/api/collections/..%2e"), 400, "InputError", "bad collection name")
    for path in ("/api/collections/%2e%2e%2f%2e%2e%2fetc/projection", "/static/../pyproject.toml",
                 "/static/%2e%2e/app.py", "/static/projector.html", "/api/vectors/%2fetc%2fpasswd"):
        r = client.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert "error" in r.json()
    _error(client.post("/api/vectors/..%5C..%5Cetc%5Cpasswd/arithmetic", json={"query": "a"}), 404,
           "UnknownKeyError", "no vectors set named")
    assert not (home.parent / "evil").exists() and not (home / "evil").exists()


def test_error_shapes(client):
    _error(client.get("/no/such/route"), 404, "NotFound", "no route GET /no/such/route")
    _error(client.post("/api/collections/tour/search", json={"query": "x", "k": "many"}), 400, "InputError", "k")
    _error(client.post("/api/collections/tour/search", content=b"{not json",
                       headers={"content-type": "application/json"}), 400, "InputError", "invalid request")
    _error(client.put("/api/collections/tour/search", json={}), 405, "MethodNotAllowed", "Method Not Allowed")


def test_openapi_docs_and_explorer_files(client):
    docs = client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in docs and "/openapi.json" in docs  # served locally, no CDN
    assert client.get("/static/docs/swagger-ui-bundle.js").content.startswith(b"/*")
    _error(client.get("/static/docs/core.py"), 404, "UnknownKeyError", "no docs asset 'core.py'")
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/v1/embeddings", "/v1/models", "/api/collections/{name}/search", "/api/vectors/{name}/arithmetic"):
        assert p in paths
    for old in ("/", "/explorer"):  # the old explorer's addresses open the projector
        r = client.get(old, follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == "/projector"
    r = client.get("/", params={"source": "collection:tour"}, follow_redirects=False)  # an old explorer link
    assert r.headers["location"] == "/projector#source=collection%3Atour"
    page = client.get("/", follow_redirects=True)
    assert page.headers["content-type"].startswith("text/html") and "<title>embedlab projector</title>" in page.text
    scripts = ["/static/vendor/regl-scatterplot.min.js", "/static/vendor/three-points.min.js",
               "/static/projector-url.js", "/static/projector-frames.js", "/static/projector-scatter.js",
               "/static/projector-canvas.js",
               "/static/projector-3d.js", "/static/projector-compare.js", "/static/source-memory.js",
               "/static/projector.js", "/static/analogy.js"]
    assert [line.split('"')[1] for line in page.text.splitlines() if line.startswith("<script src=")] == scripts
    for path in scripts:
        js = client.get(path)
        assert js.status_code == 200 and js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "window.projectorMemory" in client.get("/static/source-memory.js").text
    for gone in ("/static/explorer.js", "/static/plotly.min.js", "/static/index.html"):
        assert client.get(gone).status_code == 404
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and "tour" in health["collections"]


def test_cli_serve_help(capsys):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(["serve", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--api-key-file" in out and "--private-reads" in out and "--allowed-host" in out


def test_json_is_utf8(client):
    r = client.post("/api/collections/tour/search", json={"query": "고양이", "k": 1})
    assert json.loads(r.content.decode("utf-8"))["hits"][0]["id"] == "cat"
