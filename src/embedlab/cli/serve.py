"""`embedlab serve`: the HTTP API (OpenAI-compatible embeddings, collections) and the embedding projector at /."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from .. import config
from ..encoders import DEFAULT_ENCODER
from ..errors import MissingDependencyError
from .app import app, console, threads_option


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 exposes the server to the network)."),
    port: int = typer.Option(8000, help="TCP port."),
    api_key_file: Path | None = typer.Option(None, "--api-key-file",
                                                help="File whose first line is the API key (else $EMBEDLAB_API_KEY)."),
    public_reads: bool = typer.Option(True, "--public-reads/--private-reads",
                                      help="Whether reading routes work without the API key."),
    preload: bool = typer.Option(True, "--preload/--no-preload", help="Load the default encoder before serving."),
    encoder: list[Path] | None = typer.Option(
        None, "--encoder", metavar="PATH",
        help="Also offer this model folder (fine-tuned, `train mlm`/`clip`, a sentence-transformers folder) to "
             "requests, by its folder name: /v1/embeddings \"model\" and collections' \"encoder\" (repeatable). "
             "Requests can never name a path themselves."),
    max_body_mb: float = typer.Option(4.0, help="Largest request body, in MiB."),
    max_batch: int = typer.Option(2048, help="Most inputs/items per request (2,048: what OpenAI accepts per "
                                  "embeddings request; encoded in chunks of 256)."),
    threads: int = threads_option("Per model call and per search; concurrency comes from parallel requests and "
                                  "batching them together."),
    log_level: str = typer.Option("warning", help="uvicorn log level (info logs every request)."),
    allowed_host: list[str] | None = typer.Option(
        None, "--allowed-host", metavar="NAME",
        help="Also answer requests whose Host header is NAME (repeatable; 'name', 'name:port', '*.domain', or '*' "
             "for no check behind a proxy that checks it). Always allowed: localhost, 127.0.0.1, [::1]; bound to "
             "another address, that address too (bound to 0.0.0.0 or ::, this machine's host name). Other Hosts "
             "get 421: a web page cannot drive the server through DNS rebinding."),
) -> None:
    """Serve the API and the embedding projector (open http://HOST:PORT/ in a browser; API docs at /docs)."""
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - the server extra is installed in tests
        raise MissingDependencyError("the server needs fastapi and uvicorn: pip install 'embedlab[server]'") from None
    # here, not at the top: embedlab.server loads fastapi, starlette and pydantic
    from ..server import Limits, api_key_from, create_app
    from ..server.hosts import default_allowed_hosts, is_loopback  # (part of embedlab.server, loaded just above)

    key = api_key_from(api_key_file)
    limits = Limits(max_body_bytes=int(max_body_mb * (1 << 20)), max_batch=max_batch)
    hosts = default_allowed_hosts(host) + list(allowed_host or [])
    _log_errors()
    application = create_app(config.home(), api_key=key, public_reads=public_reads, limits=limits,
                             preload=(DEFAULT_ENCODER,) if preload else (), encoder_threads=threads,
                             allowed_hosts=hosts, model_folders=encoder or ())
    auth = "off" if key is None else ("writes" if public_reads else "reads and writes")
    console.print(f"embedlab serving {config.home()} on http://{host}:{port}/  (API key: {auth}; docs: /docs)",
                  highlight=False, soft_wrap=True)
    console.print("answering Host names: " + ", ".join(application.state.allowed_hosts.entries), highlight=False,
                  soft_wrap=True)
    if key is None and not is_loopback(host):
        console.print(f"[yellow]warning:[/] listening on {host} without an API key: anyone who can reach this port "
                      "can write; set EMBEDLAB_API_KEY or --api-key-file", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level=log_level)


def _log_errors() -> None:
    """Server-side errors (internal-error ids with their tracebacks) go to stderr with a timestamp."""
    log = logging.getLogger("embedlab.server")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
