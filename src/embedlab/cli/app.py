"""The Typer application every CLI module attaches its commands to (kept apart to avoid import cycles)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import config
from ..errors import EmbedlabError

app = typer.Typer(
    name="embedlab",
    help="Turn data into vectors and use them: search, arithmetic, training, analysis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors stay one line


@app.callback()
def _global(
    home: Path | None = typer.Option(None, "--home", help="embedlab home folder (default: $EMBEDLAB_HOME or the user data dir)."),
    backend: str | None = typer.Option(None, "--backend", help="Where collections live: local (folders under the "
                                          "home) or a postgresql://user@host:port/db URL (default: "
                                          "$EMBEDLAB_DATABASE_URL, else local)."),
) -> None:
    config.set_home(home)
    config.set_backend(backend)


def emit_json(obj: Any) -> None:
    """Print machine-readable JSON only (what every --json flag promises)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=_jsonable) + "\n")


def print_table(title: str, columns: list[str], rows: list[list[str]], right: tuple[str, ...] = ()) -> None:
    """Print a readable table (the non-JSON output of result commands); ``right`` names right-aligned columns."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _jsonable(o: object) -> object:
    """What ``json.dumps`` cannot write itself: numpy scalars and arrays, paths."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def fail(exc: EmbedlabError | str, code: int = 2) -> typer.Exit:
    """Print an error the user can act on (no traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)  # "[eval]" is text, not markup
    return typer.Exit(code)
