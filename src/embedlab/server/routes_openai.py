"""OpenAI-compatible embeddings: ``POST /v1/embeddings`` and ``GET /v1/models``.

The request and response follow the OpenAI embeddings API, so its official clients (and the many tools built
on them) work against embedlab: ``model`` names an embedlab encoder (``use-multilingual``, ``default`` ...),
``encoding_format`` is ``float`` or ``base64`` (little-endian float32, what the Python client asks for by
default), and ``usage`` counts the encoder's tokens. Vectors are unit length, as OpenAI's are.

An input the encoder cannot place anywhere (a word-average encoder such as ``glove-50`` given a text with no word
of its vocabulary, e.g. Korean) would come back as an all-zero vector: that is answered ``422`` naming the inputs,
never a silent ``200``. A client that prefers zero vectors for them sends ``"allow_zero_vectors": true`` (an
embedlab extension; the OpenAI Python client passes it with ``extra_body=``).

Queries and documents: ``"input_type": "query"`` embeds the inputs as search queries and ``"document"`` as the
items searched in (an embedlab extension, named as in other embedding APIs; ``extra_body=`` again). It matters
for encoders that embed the two roles differently (``e5-small-multilingual`` adds E5's ``query:`` / ``passage:``
prefixes); for the others both give the plain vectors. Left out, the inputs are encoded plainly (``encode``).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..encoders import available
from ..encoders.registry import EncoderSpec
from ..encoders.registry import spec as encoder_spec
from ..errors import InputError, UnknownKeyError
from .deps import error_response, require_read, state_of, text_encoder

router = APIRouter(tags=["OpenAI-compatible"], dependencies=[Depends(require_read)])


class EmbeddingsRequest(BaseModel):
    """The OpenAI embeddings request (``user`` and unknown fields are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True)  # "5" and true are not numbers
    input: str | list[str] | list[int] | list[list[int]]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = None
    allow_zero_vectors: bool = False  # embedlab: accept all-zero vectors for inputs the encoder cannot place
    input_type: Literal["query", "document"] | None = Field(
        default=None, description="embedlab: embed the inputs as search queries or as the documents searched in "
                                  "(for encoders with two roles, e.g. e5-small-multilingual); default: plain encode")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not value:
        raise InputError("input is an empty list; send at least one text")
    if not all(isinstance(x, str) for x in value):
        raise InputError("input holds token ids; embedlab encoders take text, so send the strings themselves")
    return list(value)


@router.post("/v1/embeddings", summary="Create embeddings (OpenAI-compatible)")
def create_embeddings(body: EmbeddingsRequest, request: Request) -> JSONResponse:
    """Embed one text or a list of texts with an embedlab encoder; the answer has OpenAI's shape.

    ``input_type`` (optional, an embedlab extension): ``"query"`` or ``"document"`` selects the encoder's query or
    document role (E5's ``query:`` / ``passage:``); without it the texts are encoded plainly."""
    st = state_of(request)
    texts = _texts(body.input)
    st.limits.check_batch(len(texts), "inputs")
    st.limits.check_texts(texts)
    enc = text_encoder(request, body.model)
    if body.dimensions is not None and body.dimensions != enc.dim:
        raise InputError(f"model {enc.name!r} makes {enc.dim}-d vectors and cannot shorten them; leave "
                         f"'dimensions' out or set it to {enc.dim}")
    vecs = np.ascontiguousarray(enc.encode_role(texts, body.input_type, normalize=True), dtype="<f4")
    zero = np.flatnonzero(~vecs.any(axis=1))
    if len(zero) and not body.allow_zero_vectors:
        return error_response(422, "InputError", st.scrubber.scrub(_zero_message(enc.name, texts, zero.tolist())))
    tokens = enc.count_tokens(texts)
    if body.encoding_format == "base64":
        data = [base64.b64encode(row.tobytes()).decode("ascii") for row in vecs]
    else:
        data = vecs.tolist()
    return JSONResponse({
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(data)],
        "model": body.model if body.model in st.model_folders else enc.name,  # a folder: by its name
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })


def _zero_message(model: str, texts: list[str], rows: list[int]) -> str:
    shown = ", ".join(f"input {i} ({texts[i][:40]!r})" for i in rows[:5]) + (" ..." if len(rows) > 5 else "")
    return (f"model {model!r} cannot embed {len(rows)} of {len(texts)} input(s): {shown} has no word it knows, so "
            "its vector would be all zeros; use an encoder that reads any text (e.g. 'use-multilingual'), send "
            "text in the model's vocabulary, or set \"allow_zero_vectors\": true to accept zero vectors")


def _model_card(s: EncoderSpec, name: str | None = None) -> dict[str, Any]:
    return {"id": name or s.name, "object": "model", "created": 0, "owned_by": "embedlab", "dim": s.dim,
            "modalities": list(s.modalities), "aliases": list(s.aliases), "description": s.description}


@router.get("/v1/models", summary="List the encoders this server offers (OpenAI-compatible)")
def list_models(request: Request) -> JSONResponse:
    folders = state_of(request).model_folders  # offered by `embedlab serve --encoder PATH`, by folder name
    cards = [_model_card(encoder_spec(str(path)), name) for name, path in sorted(folders.items())]
    return JSONResponse({"object": "list", "data": [_model_card(s) for s in available()] + cards})


@router.get("/v1/models/{model}", summary="One encoder (OpenAI-compatible)")
def get_model(model: str, request: Request) -> JSONResponse:
    st = state_of(request)
    try:
        if model in st.model_folders:
            return JSONResponse(_model_card(encoder_spec(str(st.model_folders[model])), model))
        return JSONResponse(_model_card(encoder_spec(st.model_name(model))))
    except InputError:
        raise UnknownKeyError(f"the model {model!r} does not exist here; see GET /v1/models") from None
