"""Run the server inside the current process, on a background thread (notebooks, tests, embedding apps), or
as an `embedlab serve` child process (crash tests, load benchmarks).

    >>> with BackgroundServer(create_app()) as srv:
    ...     print(srv.url)          # http://127.0.0.1:<free port>
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from ..errors import EmbedlabError

if TYPE_CHECKING:  # pragma: no cover
    from starlette.types import ASGIApp


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for starting a server in another process)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve_process(port: int, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
                  ) -> subprocess.Popen[bytes]:
    """Start ``embedlab serve --port PORT ARGS...`` in a child process (environment ``env``, default this one's)
    and return it once it answers HTTP; EmbedlabError with its stderr tail if it exits or stays silent."""
    proc = subprocess.Popen([sys.executable, "-m", "embedlab", "serve", "--port", str(port), *args],
                            env=dict(os.environ) if env is None else env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr is not None else ""
            raise EmbedlabError(f"the server exited: {err[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1) as resp:
                if resp.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    proc.kill()
    raise EmbedlabError(f"the server did not answer on port {port} within {timeout:.0f} s")


class BackgroundServer:
    """uvicorn serving ``app`` on a daemon thread; ``port=0`` picks a free port (see ``url``)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        import uvicorn

        self.host = host
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                                     lifespan="on", timeout_graceful_shutdown=2))
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> BackgroundServer:
        """Start serving; returns once the socket accepts connections."""
        self._thread = threading.Thread(target=self._server.run, name="embedlab-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EmbedlabError(f"the server did not start on {self.host}:{self.port} within {timeout} s "
                                    "(port taken?)")
            time.sleep(0.02)
        self.port = int(self._server.servers[0].sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
