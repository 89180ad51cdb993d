"""Embedding Atlas's OpenAI-compatible embedder (``embedding-atlas --embedder litellm --model openai/NAME
--api-base URL/v1``: its ``embedding.create_embedder("litellm", ...)``, which calls ``litellm.aembedding``) against
`embedlab serve`'s /v1/embeddings on a real loopback server. Skipped where embedding-atlas or litellm is not
installed (neither is a test dependency of embedlab; the `openai` client's requests are tested in
test_server_openai.py)."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm: no fetch of its price list at import
pytest.importorskip("uvicorn")
pytest.importorskip("litellm", reason="litellm (Embedding Atlas's API embedder: pip install litellm) is not "
                    "installed; it is no test dependency of embedlab")
embedding = pytest.importorskip("embedding_atlas.embedding", reason="Embedding Atlas (pip install embedding-atlas) "
                                "is not installed; it is no test dependency of embedlab")

from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402

TEXTS = ["The cat sat on the mat.", "고양이가 매트 위에 앉았다.", "Stock prices fell sharply today."]


def _embed(url: str, texts: list[str], model: str = "openai/use-multilingual", key: str = "not-needed") -> np.ndarray:
    args = {"api_base": url + "/v1", "api_key": key}
    embed = embedding.create_embedder("litellm", modality="text", model=model, embedder_args=args)
    return asyncio.run(embed(texts, model=model, embedder_args=args))


def test_embedding_atlas_embeds_through_our_endpoint(tmp_path, use_encoder):
    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        got = _embed(srv.url, TEXTS)
        assert got.shape == (3, 512)
        np.testing.assert_allclose(got, use_encoder.encode(TEXTS), atol=1e-6)
        assert got[0] @ got[1] > got[0] @ got[2] + 0.2  # the Korean sentence lands beside its English twin
        one = _embed(srv.url, ["hello world"], model="openai/default")  # our alias of the default encoder
        np.testing.assert_allclose(one[0], use_encoder.encode("hello world")[0], atol=1e-6)


def test_embedding_atlas_sees_our_errors(tmp_path, use_encoder):
    import litellm

    with BackgroundServer(create_app(tmp_path, api_key="s3cret", public_reads=False, vectors_sets={})) as srv:
        np.testing.assert_allclose(_embed(srv.url, TEXTS[:1], key="s3cret"), use_encoder.encode(TEXTS[:1]), atol=1e-6)
        with pytest.raises(litellm.AuthenticationError, match="API key"):
            _embed(srv.url, TEXTS[:1], key="wrong")
        with pytest.raises(litellm.NotFoundError, match="the model 'text-embedding-3-small' does not exist here"):
            _embed(srv.url, TEXTS[:1], model="openai/text-embedding-3-small", key="s3cret")
        with pytest.raises(litellm.BadRequestError, match="input is an empty list"):
            _embed(srv.url, [], key="s3cret")
    with pytest.raises(ValueError, match="model must be specified with the litellm embedder"):
        embedding.create_embedder("litellm", modality="text", model=None, embedder_args={})
