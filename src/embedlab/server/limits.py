"""Request limits of the HTTP server and the ASGI middleware that enforces the body-size limit.

Every limit answers with HTTP 413 and a JSON error that names the limit and how to stay under it, so a client
can split its batch instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ResourceLimitError

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; the defaults suit a small shared machine."""

    max_body_bytes: int = 4 << 20  # whole request body (JSON)
    # inputs per /v1/embeddings call (OpenAI's own limit, so its clients and LangChain work with their defaults;
    # encoded in chunks, so memory stays bounded), items per write, ids per get
    max_batch: int = 2048
    max_input_chars: int = 8192  # characters per text input
    max_k: int = 1000  # neighbours per search
    max_projection_points: int = 5000  # points per explorer projection
    max_pending_jobs: int = 8  # background jobs (t-SNE/UMAP projections) waiting for the one worker
    max_json_depth: int = 32  # nesting of an item's metadata or a search filter

    def check_batch(self, n: int, what: str = "inputs") -> None:
        """ResourceLimitError when a request carries more than ``max_batch`` entries."""
        if n > self.max_batch:
            raise ResourceLimitError(f"{n} {what} in one request; the limit is {self.max_batch}: split the batch "
                                     f"into requests of at most {self.max_batch}")

    def check_texts(self, texts: Sequence[object], what: str = "input", hint: str = "send shorter texts",
                    names: Sequence[str] | None = None) -> None:
        """ResourceLimitError naming the first text longer than ``max_input_chars`` (by ``names[i]``, else by
        its position) and ``hint``: how to stay under the limit, in the words of the request."""
        for i, t in enumerate(texts):
            if isinstance(t, str) and len(t) > self.max_input_chars:
                which = f"{what} {names[i]!r}" if names is not None else f"{what} {i}"
                raise ResourceLimitError(f"{which} has {len(t)} characters; the limit is {self.max_input_chars}: "
                                         f"{hint}")

    def check_k(self, k: int) -> None:
        """ResourceLimitError when more than ``max_k`` neighbours are asked for."""
        if k > self.max_k:
            raise ResourceLimitError(f"k={k} is above the limit of {self.max_k} neighbours per search")

    def check_depth(self, value: Any, what: str) -> None:
        """ResourceLimitError when ``value`` (parsed JSON) nests more than ``max_json_depth`` levels (deeper
        structures would exhaust the recursion of the code that walks them)."""
        stack = [(value, 1)]
        while stack:
            v, depth = stack.pop()
            if depth > self.max_json_depth:
                raise ResourceLimitError(f"{what} nests more than {self.max_json_depth} levels deep; flatten it")
            if isinstance(v, dict):
                stack.extend((x, depth + 1) for x in v.values())
            elif isinstance(v, list):
                stack.extend((x, depth + 1) for x in v)

    def check_points(self, n: int) -> None:
        """ResourceLimitError when a projection asks for more than ``max_projection_points``."""
        if n > self.max_projection_points:
            raise ResourceLimitError(f"max_points={n} is above the limit of {self.max_projection_points} points "
                                     "per projection")


def error_body(kind: str, message: str) -> bytes:
    """The JSON error every route answers with, encoded: ``{"error": {"type": ..., "message": ...}}``."""
    from .errors import error_body as body

    return json.dumps(body(kind, message), ensure_ascii=False).encode()


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413 before the route runs (Content-Length or streamed).

    The body is read here (up to the limit) and replayed to the app, so a chunked upload without a
    Content-Length cannot slip past the limit either.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, int(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, int(declared))
            return
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body = msg.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._too_large(send, size)
                return
            chunks.append(body)
            if not msg.get("more_body"):
                break
        data, sent = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, size: int) -> None:
        body = error_body("ResourceLimitError", f"request body of {size} bytes is over the limit of "
                                                f"{self.max_bytes} bytes; send fewer or shorter inputs per request")
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
