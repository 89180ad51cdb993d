"""The Typer application every CLI module attaches its commands to (kept apart to avoid import cycles)."""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperCommand, TyperGroup, TyperOption

from .. import config
from .._threads import cpu_count, user_threads, using_threads
from ..errors import EmbedlabError, InputError

_F = TypeVar("_F", bound=Callable[..., Any])


def _untyped_flags(params: list[Any]) -> list[Any]:
    """``params`` with every flag's type column left empty: typer's help otherwise shows ``--force <bool>``, as if
    the flag took a value (``--force true``), which it does not."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


def reflowed(help: str | None) -> str | None:
    """A command's docstring as help text that wraps to the terminal: each paragraph's hard line breaks (the
    source's ~110 columns) become spaces, so rich re-wraps it at any width; a paragraph with an indented line (an
    example, code) or starting with ``\\b`` (click's no-rewrap mark) is kept line for line.

    Parameters
    ----------
    help : str or None
        The docstring (None: no help).

    Returns
    -------
    str or None
        Paragraphs separated by a blank line, dedented as ``inspect.cleandoc`` does.
    """
    if not help:
        return help
    paragraphs = inspect.cleandoc(help).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") or any(line[:1].isspace() for line in p.splitlines())
                       else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


class Command(TyperCommand):
    """An `embedlab` command: its help lists flags without a value type and re-flows its docstring to the
    terminal's width (``reflowed``), and an embedlab error that is also an ``EOFError`` (a truncated file) is
    printed like any other, not taken for end of input (typer aborts then)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflowed(self.help)

    def get_params(self, ctx: Any) -> list[Any]:  # numpydoc ignore=GL08
        return _untyped_flags(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:  # numpydoc ignore=GL08
        takes_threads = "threads" in ctx.params  # the --threads of `threads_option`, on commands that take it
        if takes_threads and ctx.params["threads"] is None:
            ctx.params["threads"] = default_threads()
        try:
            with using_threads(checked_threads(ctx.params["threads"])) if takes_threads else nullcontext():
                return super().invoke(ctx)
        except EOFError as exc:
            if isinstance(exc, EmbedlabError):
                raise fail(exc) from None
            raise


DEFAULT_THREADS = 1  # `embedlab serve`'s rule, for every command: see threads_option
THREADS_ENV = "EMBEDLAB_THREADS"  # sets --threads for every command (the flag wins)


def threads_option(help: str = "") -> Any:
    """The ``--threads N`` option of every command that encodes, trains or serves (one definition).

    The command's `Command` runs it with every compute pool at N threads (`embedlab._threads.using_threads`: BLAS,
    OpenMP and FAISS, torch, onnxruntime and the other encoder engines), restored when it returns.

    Parameters
    ----------
    help : str, default ""
        What the threads do in this command, put before the common text.

    Returns
    -------
    typer.models.OptionInfo
        The option, for a command's ``threads: int = threads_option()`` parameter.
    """
    return typer.Option(None, "--threads", show_default=False,
                        metavar="N", envvar=THREADS_ENV, show_envvar=False, help=(help + " " if help else "") + (
        f"Threads for BLAS, OpenMP (FAISS), torch and onnxruntime while the command runs (default: "
        f"${THREADS_ENV}, else the $OMP_NUM_THREADS you set, else {DEFAULT_THREADS}: on a busy machine 1 measured "
        f"8-20x faster than 2; on an idle one give up to the {cpu_count()} cores this process may use)."))


def default_threads() -> int:
    """``--threads`` when not given (``$EMBEDLAB_THREADS`` is read by the option itself): the ``$OMP_NUM_THREADS``
    the user set before starting embedlab, else `DEFAULT_THREADS`.

    Returns
    -------
    int
        1 or more.
    """
    return user_threads() or DEFAULT_THREADS


def checked_threads(value: object) -> int:
    """A ``--threads`` value, or InputError naming the flag.

    Parameters
    ----------
    value : object
        What the option parsed.

    Returns
    -------
    int
        The value, 1 or more.

    Raises
    ------
    InputError
        For 0, a negative number or anything but an integer.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"--threads must be 1 or more, got {value!r} (this process may use {cpu_count()} "
                         "cores)")
    return value


class Group(TyperGroup):
    """A group of `embedlab` commands (``embedlab``, ``embedlab train``): its help lists flags without a type and
    re-flows its docstring (``reflowed``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflowed(self.help)

    def get_params(self, ctx: Any) -> list[Any]:  # numpydoc ignore=GL08
        return _untyped_flags(super().get_params(ctx))


class App(typer.Typer):
    """A Typer app whose commands and groups are `Command` and `Group` (every `embedlab` app is one)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=Group, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[_F], _F]:  # numpydoc ignore=GL08
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


app = App(
    name="embedlab",
    help="Turn data into vectors and use them: search, arithmetic, training, analysis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one-line errors stay one line


def _print_version(given: bool) -> None:
    """``embedlab --version``: the installed embedlab's version, then exit."""
    if given:
        try:
            version = metadata.version("embedlab")
        except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
            version = "unknown (not installed)"
        console.print(f"embedlab {version}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _global(
    home: Path | None = typer.Option(None, "--home", help="embedlab home folder (default: $EMBEDLAB_HOME or the user data dir)."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print embedlab's version and exit."),
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
    """Print an error the user can act on (no traceback) and return the Exit to raise.

    An embedlab error is printed in its command-line words (`EmbedlabError.cli_message`: flags, not keyword
    arguments)."""
    text = exc.cli_message() if isinstance(exc, EmbedlabError) else exc
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False)  # "[eval]" is text, not markup
    return typer.Exit(code)
