"""Check a Ray cluster address before connecting: one short gRPC call instead of Ray's own retries.

``ray.init(address=...)`` on an address where no cluster answers retries for about 30 s, logging a C++ warning
each second, and ends in nested tracebacks; ``check_address`` answers in at most ``timeout`` seconds with one
line that says what to do. Both a cluster's GCS port and a Ray Client port (``ray://``) are gRPC servers, so
the check calls a method none of them has: a gRPC server answers UNIMPLEMENTED at once, while a port that
accepts connections but is no gRPC server (another service, or a proxy that accepts every connection and
answers 404) is refused too.

    >>> check_address("10.9.9.9:1")  # doctest: +SKIP
    InputError: no Ray cluster answers at 10.9.9.9:1 (timed out after 3 s); ...
"""

from __future__ import annotations

import os
import socket

from ..errors import InputError

TIMEOUT_S = 3.0
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_HEADERS, _SETTINGS, _END_STREAM, _END_HEADERS = 1, 4, 1, 4  # HTTP/2 frame types and flags
_STATUS_200 = 0x88  # HPACK's static-table entry 8, ":status: 200", as every gRPC server answers a call


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    """One HTTP/2 frame."""
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def _literal(name: str, value: str) -> bytes:
    """One HPACK header field, literal and not indexed (names and values under 127 bytes)."""
    return bytes([0, len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


def _grpc_call(host: str, port: int, timeout: float) -> bool:
    """Call an unknown gRPC method at host:port; True when a gRPC server answers it (HTTP status 200 with a
    gRPC status such as UNIMPLEMENTED), False when something else answers (a proxy's 404, no HTTP/2)."""
    headers = b"".join(_literal(k, v) for k, v in (
        (":method", "POST"), (":scheme", "http"), (":path", "/embedlab.Probe/Ping"),
        (":authority", f"{host}:{port}"), ("content-type", "application/grpc"), ("te", "trailers")))
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.settimeout(timeout)
        conn.sendall(_PREFACE + _frame(_SETTINGS, 0, 0, b"") + _frame(_HEADERS, _END_HEADERS, 1, headers)
                     + _frame(0, _END_STREAM, 1, bytes(5)))  # DATA: an empty gRPC message
        buf = b""
        while True:
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                size, kind, stream = int.from_bytes(buf[:3], "big"), buf[3], int.from_bytes(buf[5:9], "big")
                if kind == _HEADERS and stream == 1:
                    return size > 0 and buf[9] == _STATUS_200
                buf = buf[9 + size:]
            got = conn.recv(4096)
            if not got:
                return False
            buf += got


def _cluster_file() -> str:
    """Where ``ray start`` records the address of the cluster it started on this machine (as Ray reads it)."""
    tmp = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(tmp, "ray", "ray_current_cluster")


def _auto() -> str:
    """The address ``auto`` stands for: $RAY_ADDRESS, else the cluster ``ray start`` last started here."""
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env and env != "auto":
        return env
    try:
        with open(_cluster_file(), encoding="utf-8") as f:
            found = f.read().strip()
    except OSError:
        found = ""
    if not found:
        raise InputError(
            "no Ray cluster is running on this machine for address='auto' (none started with ray start --head, "
            "and $RAY_ADDRESS is not set); start one with ray start --head, pass its address, or pass no address "
            "to start a local Ray for this call",
            cli="no Ray cluster is running on this machine for --address auto (none started with ray start "
                "--head, and $RAY_ADDRESS is not set); start one with ray start --head, give its address, or "
                "leave out --address to start a local Ray for this command")
    return found


def _host_port(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``host:port``, ``[v6]:port`` or ``ray://host:port``; InputError naming the forms."""
    rest = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"address={address!r} is not a Ray cluster address; use HOST:PORT (the head's GCS "
                         "port, 6379 by default), ray://HOST:PORT (Ray Client, 10001 by default) or auto",
                         cli=f"--address {address} is not a Ray cluster address; use HOST:PORT (the head's GCS "
                             "port, 6379 by default), ray://HOST:PORT (Ray Client, 10001 by default) or auto")
    return host, int(port)


def check_address(address: str, timeout: float = TIMEOUT_S) -> str:
    """Check that a gRPC server (a Ray cluster's GCS or Ray Client) answers at an address, before ``ray.init``
    tries it.

    Parameters
    ----------
    address : str
        ``HOST:PORT``, ``ray://HOST:PORT`` or ``auto`` (``$RAY_ADDRESS``, else the cluster ``ray start`` last
        started on this machine).
    timeout : float
        Seconds to wait for the TCP connection (default 3).

    Returns
    -------
    str
        The address to give ``ray.init``: ``address`` itself, or what ``auto`` stands for.

    Raises
    ------
    InputError
        When the address is malformed, ``auto`` finds no cluster, or nothing answers there within ``timeout``
        (refused, unreachable, unknown host, timed out, or no gRPC greeting).
    """
    resolved = _auto() if address.strip() == "auto" else address.strip()
    host, port = _host_port(resolved)
    try:
        why = "" if _grpc_call(host, port, timeout) else "something accepts connections there, but no gRPC server"
    except OSError as exc:
        why = (f"timed out after {timeout:g} s" if isinstance(exc, TimeoutError | socket.timeout)
               else "unknown host" if isinstance(exc, socket.gaierror)
               else exc.strerror.lower() if exc.strerror else type(exc).__name__)
    if why:
        where = resolved if resolved == address.strip() else f"{resolved} (what auto found)"
        hint = "check the address and that the cluster is up (ray status on its head node)"
        raise InputError(f"no Ray cluster answers at {where} ({why}); {hint}, or pass no address to start a "
                         "local Ray for this call",
                         cli=f"no Ray cluster answers at --address {where} ({why}); {hint}, or leave out "
                             "--address to start a local Ray for this command")
    return resolved
