"""What every route takes from the running server, as FastAPI dependencies: its shared state (``state_of``), the
API-key checks (``require_read``, ``require_write``), the shared text encoder a request names (``text_encoder``)
and the JSON error answer (``error_response``).

Its own module so that the routes import these and never ``app.py``: ``app.py`` builds the app from the routes,
the routes use this, and nothing imports back up.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import JSONResponse

from ..encoders import available
from ..encoders.registry import EncoderSpec
from ..encoders.registry import spec as encoder_spec
from ..errors import InputError, UnknownKeyError, did_you_mean
from .errors import AuthError, error_body
from .state import GuardedEncoder, ServerState

__all__ = ["error_response", "require_read", "require_write", "state_of", "text_encoder"]


def servable_specs() -> list[EncoderSpec]:
    """The installed encoders a request can use by name: they read text and need no model folder (a folder model
    is offered by its folder name when the server was started with it).

    Returns
    -------
    list of EncoderSpec
        In the registry's order.
    """
    return [s for s in available() if "text" in s.modalities and s.dim]


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON error answer every route and handler gives.

    Parameters
    ----------
    status : int
        The HTTP status code.
    kind : str
        The error type shown to the client (an embedlab error class name, e.g. ``"InputError"``).
    message : str
        What went wrong and what to do, already scrubbed of file-system paths.
    headers : dict of str to str, optional
        Extra response headers.

    Returns
    -------
    fastapi.responses.JSONResponse
        ``{"error": {"type": kind, "message": message}}`` with ``status``.
    """
    return JSONResponse(error_body(kind, message), status_code=status, headers=headers)


def state_of(request: Request) -> ServerState:
    """The server's shared state (encoders, open collections, vectors sets, jobs) for a request.

    Parameters
    ----------
    request : fastapi.Request
        The request being answered.

    Returns
    -------
    ServerState
        The one state object ``create_app`` stored on the app.
    """
    st: ServerState = request.app.state.embedlab
    return st


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def _check_key(request: Request, write: bool) -> None:
    st = state_of(request)
    if st.api_key is None or (not write and st.public_reads):
        return
    key = _presented_key(request)
    if key is None:
        what = "write routes need" if write else "this server's read routes need"
        raise AuthError(f"{what} an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    if not hmac.compare_digest(key.encode(), st.api_key.encode()):
        raise AuthError("wrong API key; send the key the server was started with (--api-key-file or "
                        "EMBEDLAB_API_KEY)")


def require_write(request: Request) -> None:
    """Dependency of every route that changes data: the API key is needed when one is set.

    Parameters
    ----------
    request : fastapi.Request
        The request being answered (its ``Authorization: Bearer`` or ``X-API-Key`` header).

    Raises
    ------
    AuthError
        When the server has a key and the request sent none or another one (HTTP 401).
    """
    _check_key(request, write=True)


def require_read(request: Request) -> None:
    """Dependency of every reading route: the API key is needed only when reads are private.

    Parameters
    ----------
    request : fastapi.Request
        The request being answered.

    Raises
    ------
    AuthError
        When reads are private (``public_reads=False``) and the request lacks the key (HTTP 401).
    """
    _check_key(request, write=False)


def text_encoder(request: Request, model: str) -> GuardedEncoder:
    """The server's shared encoder ``model``, when it encodes text.

    Parameters
    ----------
    request : fastapi.Request
        The request being answered.
    model : str
        A registered encoder name or alias, or the folder name of a model folder the server was started with.

    Returns
    -------
    GuardedEncoder
        The shared, thread-guarded encoder (built on first use).

    Raises
    ------
    UnknownKeyError
        When no such model exists here (HTTP 404; the message lists the encoders).
    InputError
        When ``model`` is a path, or names a model that does not encode text (HTTP 400).
    """
    st = state_of(request)
    name = st.model_name(model)  # InputError for a path the server was not started with
    try:
        s = encoder_spec(name)
    except InputError:
        offered = [x.name for x in servable_specs()] + sorted(st.model_folders)
        guess = did_you_mean(model, offered)
        raise UnknownKeyError(f"the model {model!r} does not exist here; {guess + ' ' if guess else ''}this server "
                              f"offers: {', '.join(offered)} (GET /v1/models)") from None
    if "text" not in s.modalities:
        raise InputError(f"model {s.name!r} encodes {', '.join(s.modalities)}, not text; pick a text encoder "
                         "from GET /v1/models")
    return state_of(request).encoder(s.name)
