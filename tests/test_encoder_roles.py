"""Queries and documents: the two roles of the Encoder contract and where they are used (Collection writes and
searches, hybrid search, the server's shared encoders, the CLI, the HTTP API), and per-call truncation counts
that stay right when threads share one encoder instance."""

from __future__ import annotations

import json
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from embedlab.encoders import ROLES, Encoded, Encoder, TruncationWarning, available, register, registry
from embedlab.encoders.registry import EncoderSpec
from embedlab.errors import InputError
from embedlab.store import Collection


class RoleRecorder(Encoder):
    """A small asymmetric text encoder for testing the plumbing: character classes (ord % 7) in dims 0-6 and the
    role in dim 7 (query 1.0, document 0.5, plain encode 0.0), so the roles give different vectors while a query
    still finds the document with its text. It records which entry point each call used."""

    name = "test-roles"
    dim = 8
    asymmetric = True

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def _record(self, role: str) -> None:
        with self._lock:
            self.calls.append(role)

    def _rows(self, items: list[str], marker: float) -> np.ndarray:
        out = np.zeros((len(items), self.dim), np.float32)
        for r, text in enumerate(items):
            for ch in text.lower():
                out[r, ord(ch) % 7] += 1.0
            out[r, 7] = marker * 4
        return out

    def encode(self, items, batch_size=64, progress=False, normalize=True):
        self._record("encode")
        return super().encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_queries(self, items, batch_size=64, progress=False, normalize=True):
        self._record("query")
        return self._encode_using(lambda b: self._rows(b, 1.0), items, batch_size, progress, normalize)

    def encode_documents(self, items, batch_size=64, progress=False, normalize=True):
        self._record("document")
        return self._encode_using(lambda b: self._rows(b, 0.5), items, batch_size, progress, normalize)

    def _encode_batch(self, items):
        return self._rows(items, 0.0)


class Letters(Encoder):
    """A symmetric encoder (letter counts) that cuts texts over 10 characters and says how many it cut."""

    name = "test-letters"
    dim = 26
    max_length = 10

    def _encode_batch(self, items):
        out = np.zeros((len(items), 26), np.float32)
        cut = 0
        for r, text in enumerate(items):
            if len(text) > self.max_length:
                text, cut = text[: self.max_length], cut + 1
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[r, ord(ch) - 97] += 1
        return Encoded(out, cut)


@pytest.fixture
def roles_registered():
    """``test-roles`` in the registry (the server and the CLI build encoders by name), removed afterwards."""
    register(EncoderSpec(name=RoleRecorder.name, factory=RoleRecorder, dim=8, modalities=("text",), extra="core"))
    try:
        enc = registry.encoder(RoleRecorder.name)
        enc.calls.clear()
        yield enc
    finally:
        registry._SPECS.pop(RoleRecorder.name, None)
        for key in [k for k in registry._CACHE if k[0] == RoleRecorder.name]:
            del registry._CACHE[key]


# ---------------------------------------------------------------------------------------------- the contract
def test_roles_default_to_encode(use_encoder):
    texts = ["빠른 운송 수단", "a ripe banana", "abcdefghijklmnop"]
    for enc in (use_encoder, Letters()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncationWarning)
            plain = enc.encode(texts)
            assert not enc.asymmetric
            np.testing.assert_array_equal(enc.encode_queries(texts), plain)
            np.testing.assert_array_equal(enc.encode_documents(texts), plain)
            for role in (None, *ROLES):
                np.testing.assert_array_equal(enc.encode_role(texts, role), plain)
            np.testing.assert_allclose(enc.encode_queries(texts, normalize=False, batch_size=1),
                                       enc.encode(texts, normalize=False), atol=1e-5)
    with pytest.raises(InputError, match="unknown role 'passage'"):
        Letters().encode_role(["abc"], "passage")


def test_only_encoders_that_declare_two_roles_override_them():
    """Every registered encoder class either keeps the default roles or says it is asymmetric (no model is
    loaded: the classes are inspected)."""
    classes = {s.factory for s in available(installed_only=False) if isinstance(s.factory, type)}
    assert len(classes) >= 8
    for cls in classes:
        overrides = (cls.encode_queries is not Encoder.encode_queries
                     or cls.encode_documents is not Encoder.encode_documents)
        assert overrides == cls.asymmetric, cls.__name__


def test_an_asymmetric_encoder_gives_each_role_its_own_vectors():
    enc = RoleRecorder()
    q, d, p = enc.encode_queries(["abc"]), enc.encode_documents(["abc"]), enc.encode(["abc"])
    assert not np.allclose(q, d) and not np.allclose(d, p)
    assert enc.encode_role(["abc"], "query").tolist() == q.tolist()
    assert enc.calls == ["query", "document", "encode", "query"]


# ------------------------------------------------------------------------------------- where the roles are used
def test_collection_embeds_documents_on_writes_and_queries_on_search(tmp_path):
    enc = RoleRecorder()
    col = Collection.create("roles", enc, root=tmp_path)
    col.add(["a", "b"], ["alpha beta", "zzz yyy"])
    assert enc.calls == ["document"]
    col.upsert(["b", "c"], ["zzz yyy changed", "gamma"])
    assert enc.calls == ["document", "document"]
    enc.calls.clear()
    hits = col.search("alpha beta", k=1)
    assert hits[0].id == "a" and enc.calls == ["query"]
    col.search_many(["gamma", "zzz yyy changed"], k=1)
    assert enc.calls == ["query", "query"]
    # the stored vector is the document role's, the query the query role's
    stored = col.get(["a"])[0].vector
    np.testing.assert_allclose(stored, enc.encode_documents(["alpha beta"])[0], atol=1e-6)
    np.testing.assert_allclose(hits[0].score, float(enc.encode_queries(["alpha beta"])[0] @ stored), atol=1e-5)
    col.close()


def test_hybrid_and_passage_search_use_the_query_role(tmp_path):
    from embedlab.search import hybrid_search

    enc = RoleRecorder()
    col = Collection.create("roles-hybrid", enc, root=tmp_path)
    col.add(["a", "b", "c"], ["error code E1234 in the parser", "the weather is nice", "parsing fails slowly"])
    enc.calls.clear()
    for mode in ("vector", "hybrid"):
        hybrid_search(col, "parser error", k=2, mode=mode)
    assert enc.calls == ["query", "query"]
    col.close()


def test_the_servers_shared_encoder_keeps_roles_apart_when_coalescing():
    from embedlab.server.state import GuardedEncoder

    inner = RoleRecorder()
    guarded = GuardedEncoder(inner)
    assert guarded.asymmetric
    texts = [f"text number {i}" for i in range(24)]
    want = {"query": inner.encode_queries(texts), "document": inner.encode_documents(texts),
            None: inner.encode(texts)}

    def one(i):
        role = (None, "query", "document")[i % 3]
        return role, i % len(texts), guarded.encode_role([texts[i % len(texts)]], role)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(96)))
    for role, row, got in results:
        np.testing.assert_allclose(got[0], want[role][row], atol=1e-6)


# ------------------------------------------------------------------------------------ per-call truncation count
class _Rendezvous(Letters):
    """Letters whose every batch waits until the other thread is inside a batch too: two calls interleave."""

    name = "test-rendezvous"

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=20)

    def _encode_batch(self, items):
        self.barrier.wait()
        return super()._encode_batch(items)


def test_two_threads_sharing_one_encoder_each_get_their_own_truncation_count():
    enc = _Rendezvous()
    long = "abcdefghijklmnopqrstuvwxyz"
    calls = {"one": ["ab", long, "cd", "ef"], "three": [long, long, "gh", long]}  # 1 and 3 of 4 cut
    out: dict[str, np.ndarray] = {}

    def run(key: str) -> None:
        out[key] = enc.encode(calls[key], batch_size=2)  # 2 batches each, side by side with the other thread

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncationWarning)
        threads = [threading.Thread(target=run, args=(k,)) for k in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    got = sorted((w.message.truncated, w.message.total) for w in caught if w.category is TruncationWarning)
    assert got == [(1, 4), (3, 4)]
    assert sorted(str(w.message).split(":")[1].split(" of")[0].strip() for w in caught) == ["1", "3"]
    for key, texts in calls.items():
        np.testing.assert_array_equal(out[key], Letters().encode([t[:10] for t in texts]))
    assert not hasattr(enc, "last_truncated")


# ---------------------------------------------------------------------------------------------- CLI and HTTP
def test_cli_encode_role(tmp_path, capsys, roles_registered):
    from embedlab.cli import main

    outputs = {}
    for role in (None, "query", "document"):
        out = tmp_path / f"{role}.npy"
        argv = ["encode", "-e", "test-roles", "alpha beta", "-o", str(out), "--json"]
        with pytest.raises(SystemExit) as exc:
            main(argv + (["--role", role] if role else []))
        assert exc.value.code == 0
        report = json.loads(capsys.readouterr().out)
        assert report["role"] == role and report["truncated"] == 0
        outputs[role] = np.load(out)
    assert roles_registered.calls == ["encode", "query", "document"]
    np.testing.assert_allclose(outputs["query"], roles_registered.encode_queries(["alpha beta"]), atol=1e-6)
    assert not np.allclose(outputs["query"], outputs["document"])
    with pytest.raises(SystemExit) as exc:
        main(["encode", "-e", "test-roles", "x", "-o", str(tmp_path / "bad.npy"), "--role", "passage"])
    assert exc.value.code != 0
    assert "--role must be one of query, document" in capsys.readouterr().err.replace("\n", " ")


def test_cli_encode_reports_this_calls_truncation(tmp_path, capsys, use_encoder):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["encode", "word " * 600, "short", "-o", str(tmp_path / "v.npy"), "--json"])
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["truncated"] == 1


def test_http_input_type_and_collection_roles(tmp_path, roles_registered):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    enc = roles_registered
    with TestClient(create_app(tmp_path / "home", vectors_sets={}), base_url="http://localhost") as c:
        def embed(**extra):
            r = c.post("/v1/embeddings", json={"model": "test-roles", "input": ["alpha beta"],
                                               "encoding_format": "float", **extra})
            assert r.status_code == 200, r.text
            return np.array(r.json()["data"][0]["embedding"], np.float32)

        np.testing.assert_allclose(embed(input_type="query"), enc.encode_queries(["alpha beta"])[0], atol=1e-6)
        np.testing.assert_allclose(embed(input_type="document"), enc.encode_documents(["alpha beta"])[0],
                                   atol=1e-6)
        np.testing.assert_allclose(embed(), enc.encode(["alpha beta"])[0], atol=1e-6)
        r = c.post("/v1/embeddings", json={"model": "test-roles", "input": "x", "input_type": "passage"})
        assert r.status_code == 400 and "input_type" in r.text
        enc.calls.clear()
        assert c.post("/api/collections", json={"name": "roles", "encoder": "test-roles"}).status_code == 201
        r = c.post("/api/collections/roles/items", json={"items": [{"id": "a", "text": "alpha beta"},
                                                                   {"id": "b", "text": "zzz yyy"}]})
        assert r.status_code == 200, r.text
        assert enc.calls == ["document"]
        r = c.post("/api/collections/roles/search", json={"query": "alpha beta", "k": 1})
        assert r.status_code == 200, r.text
        assert r.json()["hits"][0]["id"] == "a" and enc.calls == ["document", "query"]


def test_cli_index_embeds_documents_and_search_embeds_queries(tmp_path, capsys, roles_registered):
    from embedlab.cli import main

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("alpha beta gamma", encoding="utf-8")
    (docs / "b.txt").write_text("zzz yyy xxx", encoding="utf-8")
    home = str(tmp_path / "home")
    outputs = []
    for argv in (["--home", home, "index", "notes", str(docs), "-e", "test-roles", "--json"],
                 ["--home", home, "search", "notes", "alpha beta gamma", "-k", "1", "--json"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        out, err = capsys.readouterr()
        assert exc.value.code == 0, err
        outputs.append(json.loads(out))
    assert roles_registered.calls == ["document", "query"]
    assert "a.txt" in json.dumps(outputs[1][0])


def test_ray_actors_embed_documents():
    """The actor class of ``--engine ray`` (called directly here: no cluster needed) embeds with the document role."""
    from embedlab.scale.ray import EncodeBatch

    enc = RoleRecorder()
    actor = EncodeBatch(lambda: enc, None)
    out = actor({"id": np.array(["a", "b"], dtype=object), "item": np.array(["alpha", "beta"], dtype=object)})
    assert enc.calls == ["document"]
    np.testing.assert_allclose(np.stack(out["vector"]), enc.encode_documents(["alpha", "beta"], normalize=False),
                               atol=1e-6)
