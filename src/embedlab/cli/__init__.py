"""The `embedlab` command: a thin layer over the library. Each module below adds its commands to `app`."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import warnings
from typing import Any

from ..errors import EmbedlabError
from .app import app, fail


def _usage_errors() -> tuple[tuple[type[Any], ...], tuple[type[BaseException], ...]]:
    """(usage-error classes, abort classes) of whichever click typer runs on: typer >= 0.20 vendors its own
    click (and does not install click), older typer uses click itself; catch both when both exist."""
    errors: list[type[Any]] = []  # click's ClickException (exit_code, show()), from either click: typed Any
    aborts: list[type[BaseException]] = []
    try:
        from typer import exceptions as texc
        from typer._click import exceptions as tclick

        errors.append(tclick.ClickException)
        aborts.append(texc.Abort)
    except ImportError:  # pragma: no cover - older typer
        pass
    try:
        import click

        errors.append(click.ClickException)
        aborts.append(click.Abort)
    except ImportError:
        pass
    return tuple(errors), tuple(aborts)


_CLICK_ERRORS, _ABORTS = _usage_errors()
EXIT_BROKEN_PIPE = 1  # as click exits when the pipe closes while a command writes


def _load_commands() -> None:
    """Import every command module of this package; each registers its commands on `app`."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("app", "__main__"):
            importlib.import_module(f"{__name__}.{mod.name}")


def _format_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    line: str | None = None) -> str:
    """A warning as the CLI prints it: ``warning: MESSAGE`` (its category when not a plain UserWarning), not the
    library's file, line number and source line that Python prints by default."""
    kind = "" if category is UserWarning or category.__module__.startswith("embedlab") else f" ({category.__name__})"
    return f"warning{kind}: {message}\n"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning embedlab errors into one readable line and exit code 2.

    Ctrl-C while the commands load (the first second of every run, before any command has begun) exits 130
    with one line saying nothing was done, not a traceback of the import it stopped.

    Parameters
    ----------
    argv : list of str or None
        The arguments after ``embedlab`` (None: the process's own).

    Raises
    ------
    SystemExit
        Always: the command's exit status (0 success, 2 an error, 130 Ctrl-C).
    """
    try:
        _load_commands()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted while embedlab was starting, before the command began: nothing was read or "
                         "written; run the same command again\n")
        raise SystemExit(130) from None
    previous, warnings.formatwarning = warnings.formatwarning, _format_warning
    try:
        _run(argv)
    finally:
        warnings.formatwarning = previous


def _run(argv: list[str] | None) -> None:
    try:
        rv = app(args=argv, prog_name="embedlab", standalone_mode=False)
        sys.stdout.flush()  # here, where a closed pipe is caught below, not at exit
    except BrokenPipeError:  # the reader stopped early (`embedlab ids notes | head`): quietly, as `yes | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the flush at exit must not fail again
        raise SystemExit(EXIT_BROKEN_PIPE) from None
    except EmbedlabError as exc:
        raise SystemExit(fail(exc).exit_code) from None
    except OSError as exc:  # a path the user gave that cannot be read or written: one line, not a traceback
        if exc.filename is None:
            raise
        where = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 else "")
        raise SystemExit(fail(f"{exc.strerror or exc}: {where}").exit_code) from None
    except _CLICK_ERRORS as exc:  # a usage error: one line, as our own errors, with where the help is
        ctx = getattr(exc, "ctx", None)  # click's UsageError knows its command; other click errors do not
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        raise SystemExit(fail(f"{exc.format_message().rstrip('.')}{hint}", exc.exit_code).exit_code) from None
    except _ABORTS:
        raise SystemExit(130) from None
    raise SystemExit(rv if isinstance(rv, int) else 0)
