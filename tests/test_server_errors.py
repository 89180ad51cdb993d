"""Error answers of the server: one deliberate HTTP status per embedlab error class, no file-system paths or
lock-file names in any error body (every route kind), a generic 500 with a logged error id for bugs, storage
errors (507 / 503) that leave the server serving, and damaged collections that do not break the listing."""

from __future__ import annotations

import errno
import logging
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

import embedlab.errors as E  # noqa: E402
from embedlab import Vectors  # noqa: E402
from embedlab.server import create_app  # noqa: E402
from embedlab.server.errors import STATUS, AuthError, BusyError, HostError, Scrubber, status_of  # noqa: E402
from embedlab.server.state import ServerState  # noqa: E402
from embedlab.store import Collection  # noqa: E402

WORDS = Vectors(["alpha", "beta", "gamma", "delta"], np.eye(4, dtype=np.float32))
_PATHISH = re.compile(r"(?<![\w/.])/(tmp|root|home|work|usr|var|srv|etc)\b|\.lock\b|\.sqlite\b|\[Errno")


def _clean(r, *homes: Path) -> None:
    """No path, lock file, catalogue file name or errno prefix anywhere in the answer."""
    for home in homes:
        assert str(home) not in r.text, r.text
    assert not _PATHISH.search(r.text), r.text


def _error(r, status: int, kind: str, *parts: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["type"] == kind, body
    for part in parts:
        assert part in body["error"]["message"], body["error"]["message"]
    return body["error"]


@pytest.fixture()
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture()
def client(home):
    with TestClient(create_app(home, vectors_sets={"words": WORDS}), base_url="http://localhost") as c:
        assert c.post("/api/collections", json={"name": "v", "dim": 2, "metric": "dot"}).status_code == 201
        assert c.post("/api/collections/v/items", json={"items": [{"id": "a", "vector": [1, 0]}]}).status_code == 200
        yield c


# ---------------------------------------------------------------------------------------------------- statuses
def test_every_embedlab_error_has_a_deliberate_status():
    classes = {c for c in vars(E).values() if isinstance(c, type) and issubclass(c, E.EmbedlabError)}
    listed = [c for c, _ in STATUS]
    assert classes - set(listed) == set(), "map every embedlab error class to a status in server/errors.py"
    want = {E.InputError: 400, E.DimensionError: 400, E.NonFiniteError: 400, E.UnknownKeyError: 404,
            E.CollectionNotFoundError: 404, E.ResourceLimitError: 413, E.EncoderMismatchError: 409,
            E.CorruptFileError: 500, E.FormatVersionError: 500, E.EmbedlabError: 500, E.ModelNotFoundError: 503,
            E.MissingDependencyError: 503, E.LockTimeoutError: 503, E.ReadOnlyStorageError: 503,
            E.StorageFullError: 507, AuthError: 401, HostError: 421, BusyError: 503}
    assert {cls.__name__: status_of(cls("x")) for cls in want} == {cls.__name__: code for cls, code in want.items()}
    # subclasses come before their bases, so no entry is shadowed
    for i, (cls, _) in enumerate(STATUS):
        assert not any(issubclass(cls, earlier) for earlier, _ in STATUS[:i]), cls


# ---------------------------------------------------------------------------------------------------- scrubbing
def test_scrubber_keeps_the_message_and_drops_paths(tmp_path):
    home = tmp_path / "el"
    s = Scrubber(home)
    lock = (f"collection 'x' is being written by another process (lock {home}/collections/x/write.lock still held "
            "after 10 s); wait for that writer to finish, or pass a larger lock_timeout")
    assert s.scrub(lock) == ("collection 'x' is being written by another process (lock <collection 'x'> still held "
                             "after 10 s); wait for that writer to finish, or pass a larger lock_timeout")
    assert s.scrub(f"no collection named 'q' in {home}/collections (existing: a)") == \
        "no collection named 'q' in <collections folder> (existing: a)"
    assert s.scrub(f"cannot read {home}/models/w.bin.") == "cannot read <embedlab home>."
    assert s.scrub("[Errno 2] No such file or directory: '/usr/share/x/y.npy'") == \
        "[Errno 2] No such file or directory: '<path>'"
    assert s.scrub("see ~/data/x.txt and C:\\Users\\me\\x.txt or file:///etc/passwd") == \
        "see <path> and <path> or <path>"
    assert s.scrub("stale write.lock left") == "stale <lock file> left"
    kept = "no route GET /api/nope; see /docs, http://h:1/v1/models, king - man + woman, ~1 min, 1/2"
    assert s.scrub(kept) == kept  # URL paths and ordinary text stay


def _lock_error(home: Path) -> E.LockTimeoutError:
    return E.LockTimeoutError(f"collection 'v' is being written by another process (lock "
                              f"{home.resolve()}/collections/v/write.lock still held after 10 s); wait for that "
                              "writer to finish")


COLLECTION_ROUTES = [
    ("GET", "/api/collections/v", None),
    ("DELETE", "/api/collections/v", None),
    ("POST", "/api/collections/v/items", {"items": [{"id": "b", "vector": [0, 1]}]}),
    ("PUT", "/api/collections/v/items", {"items": [{"id": "b", "vector": [0, 1]}]}),
    ("POST", "/api/collections/v/delete", {"ids": ["a"]}),
    ("POST", "/api/collections/v/get", {"ids": ["a"]}),
    ("GET", "/api/collections/v/items/a", None),
    ("POST", "/api/collections/v/search", {"vector": [1, 0]}),
    ("GET", "/api/collections/v/projection", None),
    ("GET", "/api/collections/v/projection?method=tsne", None),
]


@pytest.mark.parametrize("method,path,body", COLLECTION_ROUTES)
def test_collection_routes_hide_paths_and_lock_files(client, home, monkeypatch, method, path, body):
    def locked(*a, **k):
        raise _lock_error(home)

    monkeypatch.setattr(ServerState, "collection", locked)
    monkeypatch.setattr(ServerState, "drop_collection", locked)
    r = client.request(method, path, json=body)
    _error(r, 503, "LockTimeoutError", "collection 'v' is being written by another process (lock <collection 'v'> "
                                       "still held after 10 s); wait for that writer to finish")
    assert r.headers["retry-after"] == "1"
    _clean(r, home)


def test_list_create_and_real_store_messages_hide_paths(client, home, monkeypatch):
    # messages the store really writes with its folder in them
    r = client.post("/api/collections", json={"name": "v", "dim": 2})
    _error(r, 400, "InputError", "collection 'v' already exists")
    _clean(r, home)
    assert client.post("/api/collections", json={"name": "w", "dim": 2}).status_code == 201
    assert client.delete("/api/collections/w").status_code == 200
    r = client.delete("/api/collections/w")
    _error(r, 404, "CollectionNotFoundError", "no collection named 'w'")
    _clean(r, home)
    # and ones raised while creating or listing
    monkeypatch.setattr(ServerState, "create_collection", lambda *a, **k: (_ for _ in ()).throw(_lock_error(home)))
    r = client.post("/api/collections", json={"name": "z", "dim": 2})
    _error(r, 503, "LockTimeoutError", "<collection 'v'>")
    _clean(r, home)
    monkeypatch.setattr(ServerState, "collection", lambda *a, **k: (_ for _ in ()).throw(_lock_error(home)))
    r = client.get("/api/collections")
    assert r.status_code == 200
    assert r.json()["collections"] == [{"name": "v", "status": "unavailable", "error": (
        "LockTimeoutError: collection 'v' is being written by another process (lock <collection 'v'> still held "
        "after 10 s); wait for that writer to finish")}]
    _clean(r, home)


VECTOR_ROUTES = [
    ("GET", "/api/vectors/words", None),
    ("POST", "/api/vectors/words/neighbors", {"query": "alpha"}),
    ("POST", "/api/vectors/words/arithmetic", {"query": "alpha - beta"}),
    ("POST", "/api/vectors/words/analogy", {"a": "alpha", "b": "beta", "c": "gamma"}),
    ("POST", "/api/vectors/words/similarity", {"a": "alpha", "b": "beta"}),
    ("GET", "/api/vectors/words/projection", None),
]


@pytest.mark.parametrize("method,path,body", VECTOR_ROUTES)
def test_vectors_routes_hide_paths(client, home, monkeypatch, method, path, body):
    def broken(*a, **k):
        raise E.CorruptFileError("/var/lib/embedlab/glove/glove.6B.50d.npy is truncated (1024 of 80000000 bytes); "
                                 "delete it and load the vectors again")

    monkeypatch.setattr(ServerState, "vectors", broken)
    r = client.request(method, path, json=body)
    _error(r, 500, "CorruptFileError", "<path> is truncated (1024 of 80000000 bytes); delete it and load the "
                                       "vectors again")
    _clean(r, home)


@pytest.mark.parametrize("path,body", [("/v1/embeddings", {"input": "hi", "model": "default"}),
                                       ("/api/similarity", {"a": "x", "b": "y"})])
def test_encoder_routes_hide_paths(client, home, monkeypatch, path, body):
    def missing(*a, **k):
        raise E.ModelNotFoundError(f"the model files are missing from {home}/models/use-multilingual/saved_model.pb;"
                                   " run scripts/fetch-models.sh")

    monkeypatch.setattr(ServerState, "encoder", missing)
    r = client.post(path, json=body)
    _error(r, 503, "ModelNotFoundError", "the model files are missing from <embedlab home>; run "
                                         "scripts/fetch-models.sh")
    _clean(r, home)


def test_static_and_job_routes_hide_paths(client, home, monkeypatch):
    from embedlab.server import routes_static, routes_vectors

    with monkeypatch.context() as m:  # an install without its package data: the page's files are missing
        m.setattr(routes_static, "STATIC", home.parent / "no-static")
        r = client.get("/static/vendor/regl-scatterplot.min.js")
    _error(r, 503, "MissingDependencyError", "the page's file <path> is missing from the installed embedlab "
                                             "package; reinstall it: pip install --force-reinstall 'embedlab[server]'")
    _clean(r, home)

    def corrupt(*a, **k):
        raise E.CorruptFileError(f"{home.resolve()}/collections/v/segments/00000001.npy is damaged; restore it")

    monkeypatch.setattr(routes_vectors, "_coords", corrupt)
    r = client.get("/api/collections/v/projection", params={"method": "tsne"})
    assert r.status_code == 202
    job = client.app.state.embedlab.jobs.wait(r.json()["id"], timeout=60)
    assert job["status"] == "error"
    assert job["error"] == {"type": "CorruptFileError", "message": "<collection 'v'> is damaged; restore it"}
    r = client.get(f"/api/jobs/{job['id']}")
    assert r.json()["error"] == job["error"]
    _clean(r, home)


def test_framework_errors_have_no_paths(client, home):
    for r in (client.get("/no/such/route"), client.post("/api/collections/v/search", json={"k": "x"}),
              client.put("/api/collections/v/search", json={}), client.get("/api/collections/..%2f..%2fetc")):
        assert r.status_code in (400, 404, 405) and set(r.json()["error"]) == {"type", "message"}
        _clean(r, home)


# ---------------------------------------------------------------------------------------------------- bugs: 500
def test_an_unexpected_exception_is_a_generic_500_with_a_logged_id(client, home, monkeypatch, caplog):
    secret = f"{home.resolve()}/collections/v/catalog.sqlite: table items has no column named x"

    def bug(*a, **k):
        raise RuntimeError(secret)

    monkeypatch.setattr(ServerState, "collection", bug)
    with caplog.at_level(logging.ERROR, logger="embedlab.server"):
        r = client.post("/api/collections/v/search", json={"vector": [1, 0]})
    err = _error(r, 500, "InternalError", "unexpected error")
    assert set(err) == {"type", "message", "id"} and re.fullmatch(r"[0-9a-f]{12}", err["id"])
    assert err["id"] in err["message"] and "RuntimeError" not in r.text and "catalog" not in r.text
    _clean(r, home)
    logged = [rec for rec in caplog.records if err["id"] in rec.getMessage()]
    assert len(logged) == 1 and "POST /api/collections/v/search" in logged[0].getMessage()
    assert logged[0].exc_info[0] is RuntimeError and secret in logged[0].getMessage()  # full detail server-side
    monkeypatch.undo()
    assert client.post("/api/collections/v/search", json={"vector": [1, 0]}).status_code == 200  # still serving


def test_bad_seed_is_a_400_not_a_crash(client):
    for seed in (-1, 2**32):
        _error(client.get("/api/collections/v/projection", params={"seed": seed}), 400, "InputError", "seed")
    assert client.get("/api/collections/v/projection", params={"seed": 2**32 - 1}).status_code == 200


def test_similarity_needs_a_text_model(client):
    _error(client.post("/api/similarity", json={"a": "x", "b": "y", "model": "mfcc"}), 400, "InputError",
           "not text")
    _error(client.post("/api/similarity", json={"a": "x", "b": "y", "model": "nope"}), 404, "UnknownKeyError",
           "the model 'nope' does not exist here")


def test_input_validation(client):
    _error(client.post("/api/collections", json={"name": "huge", "dim": 10**9}), 400, "InputError", "dim")
    _error(client.post("/api/collections", json={"name": "neg", "dim": 0}), 400, "InputError", "dim")
    _error(client.post("/api/collections/v/items", json={"items": [{"id": "n", "vector": [1, 0]}], "x": 1}), 400,
           "InputError", "x: Extra inputs are not permitted")
    _error(client.post("/api/collections/v/get", json={"ids": ["a"], "x": 1}), 400, "InputError", "x")
    r = client.post("/api/collections/v/items", content=b'{"items": [{"id": "n", "vector": [NaN, 1]}]}',
                    headers={"content-type": "application/json"})
    _error(r, 400, "NonFiniteError", "NaN or infinity")
    _error(client.post("/api/vectors/words/analogy", json={"a": "x" * 10_000, "b": "b", "c": "c"}), 413,
           "ResourceLimitError", "word 0 has 10000 characters")
    deep = {"a": 1}
    for _ in range(40):
        deep = {"a": deep}
    _error(client.post("/api/collections/v/items", json={"items": [{"id": "n", "vector": [1, 0], "metadata": deep}]}),
           413, "ResourceLimitError", "the metadata of item 0 nests more than 32 levels deep")
    where = {"a": 1}
    for _ in range(400):  # would exhaust the filter parser's recursion (a 500) without the limit
        where = {"$and": [where]}
    _error(client.post("/api/collections/v/search", json={"vector": [1, 0], "where": where}), 413,
           "ResourceLimitError", "the filter 'where' nests more than 32 levels deep")
    _error(client.post("/api/collections/v/search", content=b"[" * 100_000 + b"]" * 100_000,
                       headers={"content-type": "application/json"}), 400, "InputError", "parsing the body")
    assert client.get("/api/collections/v").json()["count"] == 1  # nothing was written
    _error(client.get("/api/jobs/" + "f" * 65), 400, "InputError", "job_id")
    _error(client.get("/api/jobs/nope"), 404, "UnknownKeyError", "no job 'nope'")


# ---------------------------------------------------------------------------------------------------- storage
def test_storage_full_is_507_and_read_only_is_503_and_the_server_keeps_serving(client, home, monkeypatch):
    original = Collection.add
    where = f"{home.resolve()}/collections/v/segments/00000002.npy"

    def full(self, *a, **k):
        raise E.StorageFullError(errno.ENOSPC, f"no space left to write {where} (No space left on device); free "
                                 "some disk space and retry: nothing after the last completed write was kept")

    def read_only(self, *a, **k):
        raise E.ReadOnlyStorageError(errno.EROFS, f"cannot write {where} (Read-only file system): the media is "
                                     "read-only or you lack write permission")

    def raw_full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", where)

    item = {"items": [{"id": "b", "vector": [0, 1]}]}
    monkeypatch.setattr(Collection, "add", full)
    r = client.post("/api/collections/v/items", json=item)
    _error(r, 507, "StorageFullError", "no space left to write <collection 'v'> (No space left on device); free some")
    _clean(r, home)
    monkeypatch.setattr(Collection, "add", read_only)
    r = client.post("/api/collections/v/items", json=item)
    _error(r, 503, "ReadOnlyStorageError", "cannot write <collection 'v'> (Read-only file system)")
    _clean(r, home)
    monkeypatch.setattr(Collection, "add", raw_full)  # an OSError a lower layer let through unwrapped
    r = client.post("/api/collections/v/items", json=item)
    _error(r, 507, "StorageFullError", "no space left to write")
    _clean(r, home)
    # the server is still up, reads work during the outage and writes once the disk has room again
    assert client.post("/api/collections/v/search", json={"vector": [1, 0]}).json()["hits"][0]["id"] == "a"
    monkeypatch.setattr(Collection, "add", original)
    r = client.post("/api/collections/v/items", json=item)
    assert r.status_code == 200 and r.json()["count"] == 2


def test_storage_errors_on_a_real_socket_leave_uvicorn_serving(home, monkeypatch):
    httpx = pytest.importorskip("httpx")
    from embedlab.server.background import BackgroundServer

    def full(self, *a, **k):
        raise E.StorageFullError(errno.ENOSPC, "no space left to write (No space left on device)")

    with BackgroundServer(create_app(home, vectors_sets={})) as srv:
        assert httpx.post(srv.url + "/api/collections", json={"name": "s", "dim": 2}).status_code == 201
        monkeypatch.setattr(Collection, "add", full)
        for _ in range(3):
            r = httpx.post(srv.url + "/api/collections/s/items", json={"items": [{"id": "x", "vector": [1, 0]}]})
            assert r.status_code == 507 and r.json()["error"]["type"] == "StorageFullError"
        monkeypatch.undo()
        r = httpx.post(srv.url + "/api/collections/s/items", json={"items": [{"id": "x", "vector": [1, 0]}]})
        assert r.status_code == 200 and r.json()["count"] == 1
        assert httpx.get(srv.url + "/api/health").json()["status"] == "ok"


# ---------------------------------------------------------------------------------------------------- damage
def _garble_catalogue(folder: Path) -> None:
    catalogues = [p for p in folder.rglob("*") if p.is_file() and ".sqlite" in p.name]
    assert catalogues, f"no SQLite catalogue under {folder}: the store's layout changed, update this test"
    for p in catalogues:
        if p.name.endswith((".sqlite-wal", ".sqlite-shm")):
            p.unlink()
        else:
            p.write_bytes(b"this is not a database " * 200)


def test_a_damaged_collection_does_not_break_the_list(tmp_path):
    home = tmp_path / "home"
    root = home / "collections"
    with Collection.create("good", dim=3, root=root) as good:
        good.add(["a", "b"], vectors=np.eye(3, dtype=np.float32)[:2])
    Collection.create("badjson", dim=3, root=root).close()
    (root / "badjson" / "manifest.json").write_text("{ this is not json", encoding="utf-8")
    with Collection.create("badsql", dim=3, root=root) as bad:
        bad.add(["x"], vectors=np.ones((1, 3), np.float32))
    _garble_catalogue(root / "badsql")

    with TestClient(create_app(home, vectors_sets={}), base_url="http://localhost") as c:
        r = c.get("/api/collections")
        assert r.status_code == 200, r.text
        _clean(r, home, tmp_path)
        cols = {col["name"]: col for col in r.json()["collections"]}
        assert sorted(cols) == ["badjson", "badsql", "good"]
        for name in ("badjson", "badsql"):
            assert set(cols[name]) == {"name", "status", "error"}
            assert cols[name]["status"] == "damaged"
            assert cols[name]["error"].startswith("CorruptFileError: <collection " + repr(name) + ">"), cols[name]
        assert "restore" in cols["badjson"]["error"] and "not valid JSON" in cols["badjson"]["error"]
        assert cols["good"]["status"] == "ok" and cols["good"]["count"] == 2 and cols["good"]["dim"] == 3
        assert "path" not in cols["good"]
        # the damaged one answers 500 with the same path-free error; the healthy one keeps working
        for name in ("badjson", "badsql"):
            r = c.get(f"/api/collections/{name}")
            _error(r, 500, "CorruptFileError", f"<collection {name!r}>")
            _clean(r, home, tmp_path)
        assert c.post("/api/collections/good/search", json={"vector": [1, 0, 0], "k": 1}).json()["hits"][0]["id"] == "a"
        assert c.get("/api/health").json()["collections"] == ["badjson", "badsql", "good"]
        # and it can be dropped to start over
        assert c.delete("/api/collections/badjson").json() == {"dropped": "badjson"}
        assert [col["name"] for col in c.get("/api/collections").json()["collections"]] == ["badsql", "good"]


# ---------------------------------------------------------------------------------------------------- strict types
@pytest.mark.parametrize("path, body", [
    ("/api/collections/v/search", {"vector": [1, 0], "k": True}),
    ("/api/collections/v/search", {"vector": [1, 0], "k": "5"}),
    ("/api/collections/v/search", {"vector": [1, 0], "k": 2.0}),
    ("/api/collections/v/search", {"vector": [1, 0], "ef": "8"}),
    ("/api/collections/v/search", {"vector": ["1", 0]}),
    ("/api/vectors/words/neighbors", {"query": "a", "k": True}),
    ("/api/vectors/words/analogy", {"a": "a", "b": "b", "c": "c", "k": "3"}),
    ("/api/collections/v/get", {"ids": ["a"], "include_vectors": "yes"}),
    ("/api/collections/v/items", {"items": [{"id": 5, "vector": [1, 0]}]}),
    ("/v1/embeddings", {"model": "use-multilingual", "input": "a", "dimensions": "8"}),
])
def test_request_fields_are_strictly_typed(client, path, body):
    """A boolean, a numeric string or a float is not an integer, and a string is not a number, a flag or an id:
    the request is refused as every malformed request is (400, an InputError naming the field), where ``"k":
    true`` and ``"k": "5"`` were once read as 1 and 5."""
    r = client.post(path, json=body)
    assert r.status_code == 400, (path, body, r.status_code, r.text[:200])
    field = next(k for k, v in body.items() if k not in ("vector", "query", "a", "b", "c", "model", "input", "ids")
                 or v in (["1", 0], [{"id": 5, "vector": [1, 0]}]))
    error = r.json()["error"]
    assert error["type"] == "InputError" and error["message"].startswith("invalid request: ") and field in error["message"]


def test_numbers_stay_numbers_in_strict_requests(client):
    """Strictness refuses only what is not a number: an integer vector component is a float, as JSON means."""
    r = client.post("/api/collections/v/search", json={"vector": [1, 0], "k": 1})
    assert r.status_code == 200 and r.json()["hits"][0]["id"] == "a"
