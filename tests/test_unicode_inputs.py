"""A lone surrogate (what an undecodable byte becomes in a command-line argument, or a "\\ud800" escape in JSON)
at every text entry point is an InputError naming the position — never the tokenizer's RuntimeError, an HTTP
500 or a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from embedlab.errors import InputError
from embedlab.server import create_app
from embedlab.store import Collection


def test_python_encoders_and_keyword_search_name_the_bad_text(use_encoder):
    with pytest.raises(InputError, match=r"item 1 is not valid Unicode: a lone surrogate U\+D800 at character 2"):
        use_encoder.encode(["fine", "ab\ud800cd"])
    with pytest.raises(InputError, match=r"item 0 is not valid Unicode: a lone surrogate U\+DCFF"):
        use_encoder.encode_queries("\udcff")
    from embedlab.search.tokenize import Tokenizer

    with pytest.raises(InputError, match=r"text at position 0 is not valid Unicode: a lone surrogate U\+DC80"):
        Tokenizer()("한국어 \udc80")


def test_collections_refuse_it_before_anything_is_written(use_encoder):
    col = Collection.create("u", use_encoder)
    with pytest.raises(InputError, match="item 0 is not valid Unicode"):
        col.add(["a"], ["\ud800"])
    with pytest.raises(InputError, match="item 0 is not valid Unicode"):
        col.search("\ud800")
    assert len(col) == 0


@pytest.fixture(scope="module")
def client(tmp_path_factory, use_encoder):
    app = create_app(tmp_path_factory.mktemp("u") / "home", vectors_sets={})
    with TestClient(app, base_url="http://localhost") as c:
        assert c.post("/api/collections", json={"name": "docs"}).status_code == 201
        yield c


@pytest.mark.parametrize("path, body", [
    ("/v1/embeddings", {"model": "use-multilingual", "input": "\ud800"}),
    ("/v1/embeddings", {"model": "use-multilingual", "input": ["ok", "x\udcff"]}),
    ("/api/similarity", {"a": "fine", "b": "\ud800"}),
    ("/api/collections/docs/search", {"query": "\ud800"}),
    ("/api/collections/docs/items", {"items": [{"id": "a", "text": "\ud800"}]}),
])
def test_http_answers_400_naming_the_position(client, path, body):
    raw = json.dumps(body).encode("ascii")  # the lone surrogate as a JSON escape, as a client sends it
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, (path, r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["type"] == "InputError" and "not valid Unicode: a lone surrogate" in err["message"], err


def test_cli_prints_one_line_for_an_undecodable_argument(tmp_path):
    """`embedlab search NAME $'\\xff'`: the shell passes a byte that is not UTF-8; the CLI names it, exit 2."""
    env = {**os.environ, "EMBEDLAB_HOME": str(tmp_path / "home")}
    ok = subprocess.run([sys.executable, "-m", "embedlab", "similar", "fine", b"bad\xff".decode("utf-8", "surrogateescape")],
                        capture_output=True, env=env, timeout=300, stdin=subprocess.DEVNULL)
    err = ok.stderr.decode("utf-8", "replace")
    assert ok.returncode == 2 and "Traceback" not in err, err
    assert "not valid Unicode: a lone surrogate U+DCFF at character 3" in err and len(err.strip().splitlines()) == 1
