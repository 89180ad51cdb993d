"""How the server turns exceptions into HTTP answers: one status per embedlab error class, messages scrubbed of
file-system paths, and a generic 500 (with an error id that is also logged) for everything unexpected.

Every error body is ``{"error": {"type": ..., "message": ...}}`` (plus ``"id"`` on an internal error). Messages
of embedlab errors are written for the user (they say what to do), so they are kept, but the server's disk
layout is not the client's business: ``Scrubber`` replaces the embedlab home, the collections folder, any other
absolute path and lock-file names with placeholders such as ``<collection 'docs'>`` or ``<path>``.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import (
    BackendError,
    CollectionNotFoundError,
    CorruptFileError,
    DatabaseUnavailableError,
    DimensionError,
    EmbedlabError,
    EncoderMismatchError,
    FormatVersionError,
    InputError,
    LockTimeoutError,
    MissingDependencyError,
    ModelNotFoundError,
    NonFiniteError,
    ReadOnlyStorageError,
    ResourceLimitError,
    StorageFullError,
    UnknownKeyError,
)
from ..persist import storage_error

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AuthError", "BusyError", "HostError", "InternalErrorMiddleware", "Scrubber", "as_embedlab_error",
           "error_answer", "error_body", "internal_error", "log", "status_of"]

log = logging.getLogger("embedlab.server")


class AuthError(EmbedlabError):
    """A request without the server's API key on a route that needs it (HTTP 401)."""


class HostError(EmbedlabError):
    """A request whose ``Host`` header names a host this server does not answer to (HTTP 421)."""


class BusyError(EmbedlabError):
    """The server's background queue is full; retry later (HTTP 503)."""


# Checked in order (subclasses before their bases); every class of embedlab.errors is listed on purpose, and
# tests/test_server_errors.py fails when a new one is added without a deliberate status.
STATUS: list[tuple[type, int]] = [
    (AuthError, 401),
    (HostError, 421),
    (ResourceLimitError, 413),
    (CollectionNotFoundError, 404),
    (UnknownKeyError, 404),
    (DimensionError, 400),
    (NonFiniteError, 400),
    (InputError, 400),
    (EncoderMismatchError, 409),  # the collection was built with another version of its encoder
    (StorageFullError, 507),  # Insufficient Storage: the disk or quota is full; nothing was half-written
    (ReadOnlyStorageError, 503),  # the server's storage is read-only: its fault, not the request's; reads work
    (LockTimeoutError, 503),
    (DatabaseUnavailableError, 503),  # the database server cannot be reached: retry later
    (BackendError, 502),  # the database refused or failed (e.g. pgvector missing): a bad upstream, not the request
    (BusyError, 503),
    (ModelNotFoundError, 503),
    (MissingDependencyError, 503),
    (CorruptFileError, 500),
    (FormatVersionError, 500),
    (EmbedlabError, 500),  # an embedlab error with no class of its own: the server's side, message kept
]
RETRY_AFTER = {LockTimeoutError: "1", BusyError: "5"}


def status_of(exc: EmbedlabError) -> int:
    """The HTTP status an embedlab error maps to (see ``STATUS``)."""
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def headers_of(exc: EmbedlabError) -> dict[str, str] | None:
    """Extra response headers: ``WWW-Authenticate`` on 401, ``Retry-After`` on transient 503s."""
    if isinstance(exc, AuthError):
        return {"WWW-Authenticate": "Bearer"}
    for cls, seconds in RETRY_AFTER.items():
        if isinstance(exc, cls):
            return {"Retry-After": seconds}
    return None


_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def as_embedlab_error(exc: BaseException) -> EmbedlabError | None:
    """``exc`` as an embedlab error when it is one, or a full disk / read-only media ``OSError`` that a lower
    layer let through unwrapped; None for anything else (a bug: answered with a generic 500)."""
    if isinstance(exc, EmbedlabError):
        return exc
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        err = storage_error(exc)
        return err if isinstance(err, EmbedlabError) else None
    return None


def message_of(exc: BaseException) -> str:
    """An exception's message (an OSError subclass such as StorageFullError without the ``[Errno n]`` prefix)."""
    if isinstance(exc, OSError) and exc.strerror and len(exc.args) >= 2:
        return str(exc.strerror)
    return str(exc)


_ROOT_DIRS = {"bin", "boot", "dev", "etc", "home", "lib", "lib64", "media", "mnt", "opt", "private", "proc",
              "root", "run", "sbin", "snap", "srv", "sys", "tmp", "usr", "var", "work", "Users", "Volumes",
              "Library", "System", "Applications", "nix", "data", "scratch"}
_LOCK_NAME = re.compile(r"[\w.-]+\.lock\b")
_WIN_PATH = re.compile(r"\b[A-Za-z]:\\[^\s'\"(),;]*")
_ABS_PATH = re.compile(r"(?<![\w/.~-])(?:file://)?(?:~(?=/)|/[^\s/'\"(),;:<>]+)(?:/[^\s'\"(),;:<>]*)*")


class Scrubber:
    """Replaces the embedlab home, the collections folder, every other absolute path and lock-file names in a
    message with placeholders; the rest of the message (what went wrong, what to do) is kept.

        >>> Scrubber(Path("/srv/el")).scrub("cannot open /srv/el/collections/docs/write.lock (busy)")
        "cannot open <collection 'docs'> (busy)"

    URL paths in messages (``POST /api/collections``) are kept: only paths whose first part is a folder at the
    file-system root (or a well-known one) count as file-system paths.
    """

    def __init__(self, home: Path, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(home) / "collections"
        forms: list[tuple[str, str]] = []  # (prefix as it may appear in a message, what stands for it)
        for base, label in ((self.root, "collections"), (Path(home), "home")):
            for p in {str(base), os.path.abspath(base), os.path.realpath(base)}:
                if p and p != os.sep:
                    forms.append((p, label))
        forms.sort(key=lambda f: -len(f[0]))
        self._forms = forms
        alternation = "|".join(re.escape(p) for p, _ in forms)
        self._known = re.compile(f"(?:file://)?({alternation})(?=[/\\\\\\s'\"(),;:<>]|\\.(?:\\s|$)|$)"
                                 f"((?:[/\\\\][^\\s'\"(),;:<>]*)*)")
        try:
            self._roots = _ROOT_DIRS | {e for e in os.listdir(os.sep) if not e.startswith(".")}
        except OSError:  # pragma: no cover
            self._roots = set(_ROOT_DIRS)

    def _known_path(self, m: re.Match[str]) -> str:
        label = next(lab for p, lab in self._forms if p == m.group(1))
        tail = m.group(2)
        trail = tail[len(tail.rstrip(".")):]  # a sentence's full stop is not part of the path
        rest = [part for part in re.split(r"[/\\]", tail.rstrip(".")) if part]
        if label == "home" and rest[:1] == ["collections"]:
            label, rest = "collections", rest[1:]
        if label == "collections":
            named = rest and not rest[0].startswith(".")
            return (f"<collection {rest[0]!r}>" if named else "<collections folder>") + trail
        return "<embedlab home>" + trail

    def _any_path(self, m: re.Match[str]) -> str:
        text = m.group(0)
        bare = text[len("file://"):] if text.startswith("file://") else text
        if not bare.startswith("~") and bare.split("/", 2)[1] not in self._roots:
            return text  # a URL path such as /api/collections or /docs
        return "<path>" + text[len(text.rstrip(".")):]  # a sentence's full stop is not part of the path

    def scrub(self, message: str) -> str:
        """``message`` without file-system paths or lock-file names."""
        out = self._known.sub(self._known_path, message) if self._forms else message
        out = _WIN_PATH.sub("<path>", out)
        out = _ABS_PATH.sub(self._any_path, out)
        return _LOCK_NAME.sub("<lock file>", out)


def error_body(kind: str, message: str, error_id: str | None = None) -> dict[str, Any]:
    """The JSON every error answers with: ``{"error": {"type": ..., "message": ...}}`` (+ ``"id"``)."""
    err: dict[str, Any] = {"type": kind, "message": message}
    if error_id is not None:
        err["id"] = error_id
    return {"error": err}


def internal_error(exc: BaseException, where: str) -> dict[str, Any]:
    """Log ``exc`` with its traceback under a new error id and return the generic body a client gets: the
    exception's text stays in the server's log (it may name files, queries or library internals)."""
    error_id = uuid.uuid4().hex[:12]
    log.error("internal error %s in %s: %s: %s", error_id, where, type(exc).__name__, exc, exc_info=exc)
    return error_body("InternalError", f"the server hit an unexpected error (id {error_id}); it is logged on the "
                                       "server with that id: report it if it persists", error_id)


def error_answer(exc: BaseException, scrubber: Scrubber, where: str
                 ) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """``(status, body, headers)`` for any exception: an embedlab error (or a full-disk / read-only ``OSError``)
    keeps its type and its scrubbed message; anything else is a logged internal error (500 with an id)."""
    err = as_embedlab_error(exc)
    if err is None:
        return 500, internal_error(exc, where), None
    return status_of(err), error_body(type(err).__name__, scrubber.scrub(message_of(err))), headers_of(err)


class InternalErrorMiddleware:
    """Answer an exception no route handler turned into a response with ``error_answer`` (a generic 500 with an
    error id for a bug), so neither the exception text nor a traceback reaches the client."""

    def __init__(self, app: ASGIApp, scrubber: Scrubber) -> None:
        self.app, self.scrubber = app, scrubber

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for an error answer: let the server close the connection
                raise
            status, body, headers = error_answer(exc, self.scrubber, f"{scope.get('method')} {scope.get('path')}")
            data = json.dumps(body, ensure_ascii=False).encode()
            raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
            raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": data})
