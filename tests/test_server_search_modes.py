"""HTTP parity with the CLI (in-process, FastAPI's TestClient): search ``mode`` vector / keyword / hybrid gives
what ``embedlab search --mode`` gives on the same collection, and long texts written over HTTP are stored as
passages as ``embedlab index`` stores long files (``"passages"``, ``"max_tokens"``, ``"overlap"``), with 413
hints in request words."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from server_helpers import add_items, api_client  # noqa: E402
from server_helpers import assert_error as _error  # noqa: E402

from embedlab.server import Limits, create_app  # noqa: E402

LONG = " ".join(["The ferry timetable changes in winter and boats leave less often."] * 12) + " Code QX-4471."
DOCS = {
    "cat": "A cat is sleeping on the warm sofa in the living room.",
    "disk": "Write failed with error ENOSPC because the disk is full.",
    "ko-train": "고속열차는 서울에서 부산까지 세 시간이 걸립니다.",
    "bike": "Bicycles can be rented near the station.",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("modes-home")


@pytest.fixture(scope="module")
def client(home, use_encoder):
    with api_client(home, "kb", [{"id": i, "text": t} for i, t in DOCS.items()],
                    expect={"added": 4, "split": 0, "passages": 4}) as c:
        r = add_items(c, "kb", [{"id": "long", "text": LONG, "metadata": {"lang": "en"}}], max_tokens=20)
        assert r["split"] == 1 and r["added"] == r["passages"] > 1
        yield c


def _cli_search(home, capsys, *args: str) -> list[dict]:
    from embedlab.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "search", "kb", *args, "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
def test_search_modes_match_the_cli(client, home, capsys, mode):
    for query in ("QX-4471", "고양이가 소파에서 자고 있다", "ENOSPC disk full"):
        body = {"query": query, "k": 3} | ({} if mode == "vector" else {"mode": mode})
        r = client.post("/api/collections/kb/search", json=body)
        assert r.status_code == 200, r.text
        http = [(h["id"], h["score"], h["text"]) for h in r.json()["hits"]]
        cli = [(h["id"], h["score"], h["text"]) for h in _cli_search(home, capsys, query, "--mode", mode, "-k", "3")]
        assert http == cli, (mode, query)
        ids = [i for i, _, _ in http]
        assert all(text == DOCS[i] for i, _, text in http if i in DOCS)  # each hit's text: its stored content
        assert len(ids) == len(set(ids))  # the long document's passages are reported once, by its own id
        assert not any("#" in i for i in ids)
    got = client.post("/api/collections/kb/search", json={"query": "QX-4471", "k": 2, "mode": mode}).json()["hits"]
    assert got[0]["id"] == "long" and got[0]["metadata"]["doc_id"] == "long"
    # the text of a document hit is its best passage's (the one holding the code), not the whole document's
    assert "QX-4471" in got[0]["text"] and got[0]["text"] != LONG and got[0]["text"] in LONG


def test_keyword_mode_finds_rare_tokens(client):
    hits = client.post("/api/collections/kb/search", json={"query": "ENOSPC", "k": 5, "mode": "keyword"}).json()
    assert [h["id"] for h in hits["hits"]] == ["disk"]  # BM25: only the item holding the token
    hits = client.post("/api/collections/kb/search",
                       json={"query": "QX-4471", "k": 5, "mode": "keyword", "where": {"lang": "en"}}).json()
    assert [h["id"] for h in hits["hits"]] == ["long"]


def test_search_mode_errors(client):
    url = "/api/collections/kb/search"
    _error(client.post(url, json={"query": "cat", "mode": "fuzzy"}), 400, "InputError",
           "unknown search mode 'fuzzy'; use one of vector, keyword, hybrid")
    _error(client.post(url, json={"vector": [0.0] * 512, "mode": "keyword"}), 400, "InputError",
           "mode 'keyword' searches a text 'query'")
    _error(client.post(url, json={"id": "cat", "mode": "hybrid"}), 400, "InputError",
           "mode 'hybrid' searches a text 'query'")
    _error(client.post(url, json={"query": "cat", "mode": "keyword", "ef": 10}), 400, "InputError",
           "ef tune(s) the vector search; mode 'keyword' does not use it")
    _error(client.post(url, json={"query": "   ", "mode": "hybrid"}), 400, "InputError", "the query is empty")


def test_long_items_are_stored_as_passages(client):
    r = client.post("/api/collections", json={"name": "pass"})
    assert r.status_code == 201
    items = "/api/collections/pass/items"
    r = client.post(items, json={"items": [{"id": "doc", "text": LONG, "metadata": {"tag": "x"}, "source": "a.txt"}],
                                 "max_tokens": 20, "overlap": 2})
    n = r.json()["passages"]
    assert r.json()["split"] == 1 and r.json()["added"] == n and r.json()["count"] == n
    first = client.get(f"{items}/doc%230").json()
    assert first["metadata"] == {"tag": "x", "doc_id": "doc", "passage": 0}  # the text is stored once: content
    assert first["source"] == "a.txt" and LONG.startswith(first["content"])
    _error(client.get(f"{items}/doc"), 404, "UnknownKeyError", "'doc'")
    # adding the same document again is refused (it is stored as passages); nothing is written
    _error(client.post(items, json={"items": [{"id": "doc", "text": "short"}]}), 400, "InputError",
           "already in collection 'pass' (whole or as passages): 'doc#0'")
    # an upsert that makes it shorter removes the passages it no longer has
    r = client.put(items, json={"items": [{"id": "doc", "text": LONG[:150]}], "max_tokens": 20, "overlap": 2})
    fewer = r.json()["passages"]
    assert 1 < fewer < n and r.json()["removed"] == n - fewer and r.json()["count"] == fewer
    # and one that makes it whole removes them all
    r = client.put(items, json={"items": [{"id": "doc", "text": "Short now."}]}).json()
    assert (r["added"], r["removed"], r["split"], r["count"]) == (1, fewer, 0, 1)
    assert client.get(f"{items}/doc").json()["content"] == "Short now."
    # whole again -> split again: the whole item goes
    r = client.put(items, json={"items": [{"id": "doc", "text": LONG}], "max_tokens": 20}).json()
    assert r["removed"] == 1 and r["count"] == r["passages"] > 1
    _error(client.post(items, json={"items": [{"id": "doc", "text": "x"}], "passages": False, "max_tokens": 5}),
           400, "InputError", "'max_tokens' and 'overlap' set how long texts are split into passages")
    _error(client.post(items, json={"items": [{"id": "z", "text": LONG}, {"id": "z#1", "text": "y"}],
                                    "max_tokens": 20}), 400, "InputError",
           "id 'z#1' is both an item of this request and a passage of a longer item")


def test_long_text_limits_name_the_request_options(tmp_path, use_encoder):
    limits = Limits(max_input_chars=200)
    with TestClient(create_app(tmp_path, limits=limits), base_url="http://localhost") as c:
        assert c.post("/api/collections", json={"name": "l"}).status_code == 201
        _error(c.post("/api/collections/l/items", json={"items": [{"id": "a", "text": LONG}], "passages": False}),
               413, "ResourceLimitError", f"item 'a' has {len(LONG)} characters; the limit is 200: send "
               '"passages": true (the default) to store it as passages, as `embedlab index` does')
        _error(c.post("/api/collections/l/items", json={"items": [{"id": "a", "text": LONG}], "max_tokens": 200}),
               413, "ResourceLimitError", 'the limit is 200: send a smaller "max_tokens" to split it into shorter')
        r = c.post("/api/collections/l/items", json={"items": [{"id": "a", "text": LONG}], "max_tokens": 20})
        assert r.status_code == 200 and r.json()["split"] == 1
        assert "embedlab.passages" not in c.post("/v1/embeddings", json={"input": LONG, "model": "default"}).text


def test_upsert_without_metadata_keeps_it_for_whole_items(client):
    assert client.post("/api/collections", json={"name": "keep"}).status_code == 201
    items = "/api/collections/keep/items"
    client.post(items, json={"items": [{"id": "k", "text": "A short note.", "metadata": {"a": 1}}]})
    r = client.put(items, json={"items": [{"id": "k", "text": "A short note, edited."}]}).json()
    assert (r["updated"], r["added"], r["removed"], r["split"]) == (1, 0, 0, 0)
    got = client.get(f"{items}/k").json()
    assert (got["metadata"], got["content"]) == ({"a": 1}, "A short note, edited.")  # as Collection.upsert
    r = client.put(items, json={"items": [{"id": "k", "text": "A short note, edited.", "metadata": {"b": 2}}]}).json()
    assert (r["updated"], r["unchanged"]) == (1, 0) and client.get(f"{items}/k").json()["metadata"] == {"b": 2}
