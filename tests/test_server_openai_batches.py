"""`/v1/embeddings` takes what OpenAI takes: 2,048 inputs per request by default (the OpenAI SDK's and LangChain's
batches pass unchanged), encoded in chunks and answered in streamed pieces, so one big request's memory stays
bounded; one more input is a 413 that names the limit."""

from __future__ import annotations

import base64
import json
import tracemalloc

import httpx
import numpy as np
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("uvicorn")

from embedlab.server import Limits, create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402
from embedlab.server.routes_openai import ENCODE_CHUNK, ROWS_PER_PART  # noqa: E402

TEXTS = [f"document {i}: a train crosses the country" if i % 2 else f"문서 {i}: 자동차는 바퀴가 네 개다"
         for i in range(2048)]


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_encoder):
    with BackgroundServer(create_app(tmp_path_factory.mktemp("batches-home"), vectors_sets={})) as srv:
        yield srv


def test_the_default_limit_is_openais():
    assert Limits().max_batch == 2048 and ENCODE_CHUNK < 2048 and ROWS_PER_PART < ENCODE_CHUNK


def test_2048_inputs_with_the_openai_client_defaults(server, use_encoder):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=300)
    res = client.embeddings.create(model="use-multilingual", input=TEXTS)  # one request, base64 (the default)
    assert [d.index for d in res.data] == list(range(2048))
    got = np.array([d.embedding for d in res.data], np.float32)
    rows = [0, 1, 255, 256, 257, 1000, 2047]  # across the chunk boundaries
    np.testing.assert_allclose(got[rows], use_encoder.encode([TEXTS[i] for i in rows]), atol=1e-5)
    assert res.usage.prompt_tokens == sum(len(use_encoder.tokenize(t)) for t in TEXTS)


def test_one_more_input_is_refused_naming_the_limit(server):
    r = httpx.post(server.url + "/v1/embeddings", json={"model": "default", "input": TEXTS + ["x"]}, timeout=60)
    assert r.status_code == 413
    assert "2049 inputs in one request; the limit is 2048" in r.json()["error"]["message"]


def test_a_big_float_answer_is_streamed_in_bounded_memory(server, use_encoder):
    """Answered as one JSON text held in memory, these 2,048 x 512 floats peaked at 79 MB of Python allocations
    (the lists, the text, its bytes); streamed in pieces they stay near the vectors' own 4 MB."""
    tracemalloc.start()
    try:
        sizes = []  # the client keeps only the sizes: it must not hold the answer either
        with httpx.stream("POST", server.url + "/v1/embeddings", timeout=300,
                          json={"model": "default", "input": TEXTS, "encoding_format": "float"}) as r:
            assert r.status_code == 200 and r.headers["content-type"] == "application/json"
            sizes = [len(chunk) for chunk in r.iter_bytes()]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30 << 20, f"peak {peak / 2**20:.1f} MB"
    assert sum(sizes) > 20 << 20  # ~22 MB of JSON went over the wire


def test_streamed_answers_are_the_same_json(server, use_encoder):
    texts = TEXTS[:ROWS_PER_PART * 2 + 3]  # streamed: three pieces, the last one short
    for fmt in ("float", "base64"):
        body = httpx.post(server.url + "/v1/embeddings", timeout=120,
                          json={"model": "use", "input": texts, "encoding_format": fmt}).json()
        assert list(body) == ["object", "data", "model", "usage"] and body["model"] == "use-multilingual"
        assert [d["index"] for d in body["data"]] == list(range(len(texts)))
        assert all(d["object"] == "embedding" for d in body["data"])
        if fmt == "base64":
            got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in body["data"]])
        else:
            got = np.array([d["embedding"] for d in body["data"]], np.float32)
        np.testing.assert_allclose(got, use_encoder.encode(texts), atol=1e-5)
    small = httpx.post(server.url + "/v1/embeddings", json={"model": "use", "input": texts[:3]})
    assert small.headers["content-length"] == str(len(small.content))  # small answers: one plain JSON response
    assert json.loads(small.content)["usage"]["total_tokens"] > 0
