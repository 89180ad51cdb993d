"""The ``Host`` header allow-list: a guard against DNS rebinding.

A web page on ``evil.example`` can point its own name at 127.0.0.1 (DNS rebinding) and then call a server on
this machine as if it were its own origin: the browser sends ``Host: evil.example:8000``. A server without an
API key would obey. So the server answers only requests whose ``Host`` names it by a name on its list, and
refuses the rest with 421 (Misdirected Request) and a JSON error.

The list always holds the loopback names ``localhost``, ``127.0.0.1`` and ``[::1]`` (any port). ``embedlab
serve`` adds the address it is bound to when that is a specific non-loopback address, and the machine's host
name when bound to every interface (``0.0.0.0`` / ``::``); ``--allowed-host NAME`` (repeatable) adds more:
``name``, ``name:port``, ``*.example.com`` (any subdomain) or ``*`` (no check: only behind a proxy that checks
the host itself).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LOOPBACK_HOSTS", "HostAllowList", "HostCheckMiddleware", "default_allowed_hosts", "is_loopback"]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")


def _norm(name: str) -> str:
    """A host name or IP literal in one spelling: lower case, no brackets or trailing dot, IPv6 compressed."""
    name = name.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name.endswith(".") and len(name) > 1:
        name = name[:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a Host header value (``name``, ``name:port``, ``[v6]``, ``[v6]:port``); None when
    it is malformed."""
    value = value.strip()
    if not value or any(c.isspace() or c in "/@\\?#" for c in value):
        return None
    port: str | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    elif value.count(":") == 1:
        name, port = value.split(":")
    else:
        name = value  # no port, or a bare IPv6 literal
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return None
    return _norm(name), int(port) if port is not None else None


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` serves only this machine."""
    name = _norm(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(bind: str) -> list[str]:
    """The Host names a server bound to ``bind`` answers to besides the loopback names: the bound address when
    it is a specific non-loopback one, the machine's host name when bound to every interface."""
    if is_loopback(bind):
        return []
    if _norm(bind) in WILDCARD_BINDS:
        name = socket.gethostname()
        return [name] if name else []
    return [bind]


class HostAllowList:
    """Loopback names plus ``extra`` entries (``name``, ``name:port``, ``*.domain``, ``*``)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.any = False
        self.exact: set[tuple[str, int | None]] = {(_norm(h), None) for h in LOOPBACK_HOSTS}
        self.suffixes: list[str] = []
        self.entries = list(LOOPBACK_HOSTS)
        for entry in extra:
            entry = str(entry).strip()
            if not entry:
                continue
            if entry == "*":
                self.any = True
            elif entry.startswith("*."):
                self.suffixes.append("." + _norm(entry[2:]))
            else:
                parsed = split_host(entry)
                if parsed is None:
                    raise InputError(f"bad allowed host {entry!r}: give a host name or address, optionally with "
                                     ":port (e.g. 'example.com', '192.168.1.5:8000', '*.example.com' or '*')")
                self.exact.add(parsed)
            self.entries.append(entry)

    def allows(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header value is one this server answers."""
        if self.any:
            return True
        parsed = split_host(host_header) if host_header else None
        if parsed is None:
            return False
        name, port = parsed
        if (name, None) in self.exact or (name, port) in self.exact:
            return True
        return any(name.endswith(s) for s in self.suffixes)


def _refusal(host: str | None) -> bytes:
    from .limits import error_body

    parsed = split_host(host) if host else None
    shown = f"Host {host[:100]!r}" if host else "a request without a (single) Host header"
    name = parsed[0] if parsed else "NAME"
    return error_body("HostError", f"this server does not answer to {shown}; if clients reach it by that name, start "
                                   f"it with --allowed-host {name} (this check keeps a web page that points its own "
                                   "domain at this machine, DNS rebinding, from driving the server)")


class HostCheckMiddleware:
    """Refuse requests whose ``Host`` header is not on the allow-list with 421 and a JSON error, before any
    route, body read or authentication runs."""

    def __init__(self, app: ASGIApp, hosts: HostAllowList) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.hosts.any:
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope.get("headers") or [] if k == b"host"]
        host = values[0].decode("latin-1") if len(values) == 1 else None
        if host is not None and self.hosts.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = _refusal(host)
        await send({"type": "http.response.start", "status": 421,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
