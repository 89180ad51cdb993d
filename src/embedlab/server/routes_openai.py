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
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..encoders.registry import EncoderSpec
from ..encoders.registry import spec as encoder_spec
from ..errors import InputError, UnknownKeyError
from .deps import error_response, require_read, servable_specs, state_of, text_encoder

if TYPE_CHECKING:  # pragma: no cover
    from .state import GuardedEncoder

router = APIRouter(tags=["OpenAI-compatible"], dependencies=[Depends(require_read)])

ENCODE_CHUNK = 256  # texts per model call: the encoder is shared between chunks, its memory is one chunk's
ROWS_PER_PART = 64  # rows per piece of a streamed answer; answers up to this size go out in one JSON response


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
def create_embeddings(body: EmbeddingsRequest, request: Request) -> Response:
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
    vecs = _encode(enc, texts, body.input_type)
    zero = np.flatnonzero(~vecs.any(axis=1))
    if len(zero) and not body.allow_zero_vectors:
        return error_response(422, "InputError", st.scrubber.scrub(_zero_message(enc.name, texts, zero.tolist())))
    tokens = enc.count_tokens(texts)
    model = body.model if body.model in st.model_folders else enc.name  # a folder: by its name
    tail = {"model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    if len(texts) <= ROWS_PER_PART:
        return JSONResponse({"object": "list", "data": [_entry(row, i, body.encoding_format)
                                                        for i, row in enumerate(vecs)], **tail})
    return StreamingResponse(_body(vecs, body.encoding_format, tail), media_type="application/json")


def _encode(enc: GuardedEncoder, texts: list[str], role: str | None) -> np.ndarray:
    """All vectors as one little-endian float32 array, encoded ``ENCODE_CHUNK`` texts per model call.

    Between chunks the encoder is free for other requests (a 2,048-input request does not hold it for its whole
    length), and the model's working memory is that of one chunk.
    """
    out = np.empty((len(texts), enc.dim), dtype="<f4")
    for start in range(0, len(texts), ENCODE_CHUNK):
        out[start:start + ENCODE_CHUNK] = enc.encode_role(texts[start:start + ENCODE_CHUNK], role, normalize=True)
    return out


def _entry(row: np.ndarray, index: int, encoding_format: str) -> dict[str, Any]:
    """One row's ``{"object": "embedding", "index", "embedding"}`` (base64: little-endian float32 bytes)."""
    emb = base64.b64encode(row.tobytes()).decode("ascii") if encoding_format == "base64" else row.tolist()
    return {"object": "embedding", "index": index, "embedding": emb}


def _parts(vecs: np.ndarray, encoding_format: str, start: int) -> Iterator[str]:
    """The JSON text of each row's entry, ``index`` counted from ``start``."""
    for i, row in enumerate(vecs, start):
        yield json.dumps(_entry(row, i, encoding_format), separators=(",", ":"), allow_nan=False)


def _body(vecs: np.ndarray, encoding_format: str, tail: dict[str, Any]) -> Iterator[bytes]:
    """The response body in pieces of ``ROWS_PER_PART`` rows: the JSON text of all rows is never held at once
    (2,048 rows of 1,024 floats would be ~40 MB of text, and more as Python lists)."""
    yield b'{"object":"list","data":['
    for start in range(0, len(vecs), ROWS_PER_PART):
        sep = b"," if start else b""
        yield sep + ",".join(_parts(vecs[start:start + ROWS_PER_PART], encoding_format, start)).encode()
    yield b"]," + json.dumps(tail, ensure_ascii=False, separators=(",", ":"))[1:].encode()


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
    return JSONResponse({"object": "list", "data": [_model_card(s) for s in servable_specs()] + cards})


@router.get("/v1/models/{model}", summary="One encoder (OpenAI-compatible)")
def get_model(model: str, request: Request) -> JSONResponse:
    st = state_of(request)
    try:
        if model in st.model_folders:
            return JSONResponse(_model_card(encoder_spec(str(st.model_folders[model])), model))
        return JSONResponse(_model_card(encoder_spec(st.model_name(model))))
    except InputError:
        raise UnknownKeyError(f"the model {model!r} does not exist here; see GET /v1/models") from None
