"""`embedlab explore SOURCE`: serve a collection, vectors file, training folder, TensorBoard folder or Parquet
export and open it in the projector."""

from __future__ import annotations

import sys
import threading
import webbrowser

import typer

from ..errors import MissingDependencyError
from .app import app, console


@app.command()
def explore(
    source: str = typer.Argument(..., help="A collection name, a vectors file (word2vec, .npy, .safetensors, "
                                 "projector), a training folder, a TensorBoard folder (tensors.tsv + metadata.tsv) or "
                                 "a Parquet export."),
    port: int = typer.Option(8000, help="TCP port on 127.0.0.1."),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the page (else print its address)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Open SOURCE in the embedding projector (a server on 127.0.0.1 until Ctrl+C)."""
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - the server extra is installed in tests
        raise MissingDependencyError("the projector needs fastapi and uvicorn: pip install 'embedlab[server]'") from None
    from ..server import create_app
    from ..server.explore import page_url, prepare

    prepared = prepare(source)
    application = create_app(prepared.home, vectors_sets=dict(prepared.vectors_sets))
    url = page_url(f"http://127.0.0.1:{port}", prepared.source)
    console.print(f"embedlab projector: {url}", highlight=False, soft_wrap=True)
    sys.stdout.flush()  # the address before the server blocks, also when stdout is a pipe
    if browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        uvicorn.run(application, host="127.0.0.1", port=port, log_level=log_level)
    finally:
        if prepared.temporary is not None:
            import shutil

            shutil.rmtree(prepared.temporary, ignore_errors=True)
