"""The OpenAI-compatible endpoints, driven by the official `openai` Python client against a real uvicorn
server on a loopback port (the same process, so the encoder is loaded once), plus concurrent clients."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

openai = pytest.importorskip("openai")
pytest.importorskip("uvicorn")

from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402

TEXTS = ["The cat sat on the mat.", "고양이가 매트 위에 앉았다.", "Stock prices fell sharply today."]


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_encoder):
    with BackgroundServer(create_app(tmp_path_factory.mktemp("openai-home"), vectors_sets={})) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=30)


def test_embeddings_match_the_local_encoder(client, use_encoder):
    want = use_encoder.encode(TEXTS)
    res = client.embeddings.create(model="use-multilingual", input=TEXTS)  # the client asks for base64
    assert res.model == "use-multilingual" and res.object == "list"
    assert [d.index for d in res.data] == [0, 1, 2]
    got = np.array([d.embedding for d in res.data], np.float32)
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    tokens = sum(len(use_encoder.tokenize(t)) for t in TEXTS)
    assert res.usage.prompt_tokens == res.usage.total_tokens == tokens > 0
    # cross-lingual: the Korean sentence is nearer the English one with the same meaning
    assert got[0] @ got[1] > got[0] @ got[2] + 0.2


def test_single_string_and_float_format(client, use_encoder):
    res = client.embeddings.create(model="default", input="hello world", encoding_format="float")
    assert len(res.data) == 1 and len(res.data[0].embedding) == 512
    np.testing.assert_allclose(res.data[0].embedding, use_encoder.encode("hello world")[0], atol=1e-6)


def test_base64_is_little_endian_float32(server, use_encoder):
    body = httpx.post(server.url + "/v1/embeddings", json={"model": "use", "input": ["a dog"],
                                                           "encoding_format": "base64"}).json()
    vec = np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), "<f4")
    np.testing.assert_array_equal(vec, use_encoder.encode(["a dog"])[0])


def test_models_list_and_retrieve(client):
    from embedlab.encoders import available

    ids = [m.id for m in client.models.list()]
    assert "use-multilingual" in ids
    # only what a request can load by name: text encoders that need no model folder (clip, joint, mlm need one)
    assert ids == [s.name for s in available() if "text" in s.modalities and s.dim]
    assert not {"clip", "joint", "mlm"} & set(ids)
    with pytest.raises(openai.NotFoundError, match=f"this server offers: {', '.join(ids)} "):
        client.embeddings.create(model="nope", input="x")
    m = client.models.retrieve("use-multilingual")
    assert m.id == "use-multilingual" and m.owned_by == "embedlab"


def test_client_errors(client):
    with pytest.raises(openai.NotFoundError, match="the model 'text-embedding-3-small' does not exist here"):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError, match="input is an empty list"):
        client.embeddings.create(model="use-multilingual", input=[])
    with pytest.raises(openai.BadRequestError, match="take text, so send the strings"):
        client.embeddings.create(model="use-multilingual", input=[[1, 2, 3]])
    with pytest.raises(openai.BadRequestError, match="cannot shorten them"):
        client.embeddings.create(model="use-multilingual", input="x", dimensions=256)
    with pytest.raises(openai.BadRequestError, match="item 0 is an empty string"):
        client.embeddings.create(model="use-multilingual", input=" ")


def test_api_key_with_the_client(tmp_path, use_encoder):
    app = create_app(tmp_path, api_key="k-123", public_reads=False, vectors_sets={})
    with BackgroundServer(app) as srv:
        bad = openai.OpenAI(base_url=srv.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="wrong API key"):
            bad.embeddings.create(model="use-multilingual", input="x")
        good = openai.OpenAI(base_url=srv.url + "/v1", api_key="k-123", max_retries=0)
        assert len(good.embeddings.create(model="use-multilingual", input="x").data[0].embedding) == 512


def test_concurrent_clients_reads_and_writes(server, use_encoder):
    """8 threads mixing embeddings, searches and writes to one collection: every answer right, every write kept."""
    texts = [f"sentence number {i} about {'cats' if i % 2 else 'trains'}" for i in range(16)]
    want = use_encoder.encode(texts)
    base = server.url
    assert httpx.post(base + "/api/collections", json={"name": "conc"}).status_code == 201

    def work(i: int):
        with httpx.Client(base_url=base, timeout=60) as c:
            emb = c.post("/v1/embeddings", json={"model": "use-multilingual", "input": texts[i],
                                                 "encoding_format": "float"}).json()
            w = c.post("/api/collections/conc/items", json={"items": [{"id": f"t{i}", "text": texts[i]}]})
            s = c.post("/api/collections/conc/search", json={"query": texts[i], "k": 1})
            return i, emb["data"][0]["embedding"], w.status_code, s.status_code

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(len(texts))))
    for i, emb, w, s in results:
        np.testing.assert_allclose(emb, want[i], atol=1e-6)
        assert (w, s) == (200, 200)
    info = httpx.get(base + "/api/collections/conc").json()
    assert info["count"] == len(texts)
    hits = httpx.post(base + "/api/collections/conc/search", json={"vector": want[5].tolist(), "k": 1}).json()
    assert hits["hits"][0]["id"] == "t5" and hits["hits"][0]["score"] == pytest.approx(1.0, abs=1e-5)


def test_concurrent_requests_are_coalesced_into_batches(use_encoder):
    """Dynamic batching: 24 single-text calls from 8 threads give the same vectors as one-by-one encoding,
    in fewer model calls than requests."""
    from embedlab.server.state import GuardedEncoder

    guarded = GuardedEncoder(use_encoder)
    texts = [f"short text {i}" for i in range(24)]
    want = use_encoder.encode(texts)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: guarded.encode([t])[0], texts))
    np.testing.assert_allclose(np.stack(got), want, atol=1e-6)
    assert guarded.coalesced == 24 and guarded.batches < 24
    from embedlab.errors import InputError

    with pytest.raises(InputError, match="item 0 is an empty string"):
        guarded.encode([""])


@pytest.mark.filterwarnings("ignore:glove-50.*no known word")  # the encoder's own warning, in the server's log
def test_a_text_with_no_known_word_is_422_not_a_zero_vector(server, client):
    """glove-50 averages word vectors: a Korean text has no word in its vocabulary and would get zeros."""
    with pytest.raises(openai.UnprocessableEntityError) as exc:
        client.embeddings.create(model="glove-50", input=["the cat sat", "안녕하세요", "!!! zzzqqq"])
    message = exc.value.body["message"] if isinstance(exc.value.body, dict) else str(exc.value)
    assert "cannot embed 1 of 3 input(s): input 1 ('안녕하세요') has no word it knows" in message
    assert "allow_zero_vectors" in message
    r = httpx.post(server.url + "/v1/embeddings", json={"model": "glove", "input": "안녕하세요"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "InputError"
    # the documented opt-in: zero vectors come back, the known text is encoded as usual
    res = client.embeddings.create(model="glove-50", input=["the cat sat", "안녕하세요"], encoding_format="float",
                                   extra_body={"allow_zero_vectors": True})
    got = np.array([d.embedding for d in res.data], np.float32)
    assert not got[1].any() and np.linalg.norm(got[0]) == pytest.approx(1.0, abs=1e-5)
    ok = client.embeddings.create(model="glove-50", input="the cat sat", encoding_format="float")
    np.testing.assert_allclose(ok.data[0].embedding, got[0], atol=1e-6)


def test_a_request_cannot_make_the_server_load_a_path(tmp_path):
    from embedlab.errors import InputError

    """Model folders are offered by the operator (`serve --encoder PATH`), by folder name; a request naming a path
    (embeddings or a new collection's encoder) is refused before anything is loaded."""
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    with TestClient(create_app(tmp_path / "home", vectors_sets={}), base_url="http://localhost") as c:
        for model in (str(tmp_path), "../models/x", "~/m", "./m", "a\\b"):
            r = c.post("/v1/embeddings", json={"model": model, "input": ["x"]})
            assert r.status_code == 400 and "not given as a path" in r.json()["error"]["message"], (model, r.text)
            r = c.post("/api/collections", json={"name": "w", "encoder": model})
            assert r.status_code == 400 and "not given as a path" in r.json()["error"]["message"], (model, r.text)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a model embedlab can load"):
        create_app(tmp_path / "home", vectors_sets={}, model_folders=[tmp_path / "empty"])
