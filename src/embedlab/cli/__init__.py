"""The `embedlab` command: a thin layer over the library. Each module below adds its commands to `app`."""

from __future__ import annotations

import importlib
import pkgutil

import click

from ..errors import EmbedlabError
from .app import app, fail

try:  # typer >= 0.20 vendors its own click; its usage errors are not click's classes
    from typer import exceptions as _texc
    from typer._click import exceptions as _tclick

    _CLICK_ERRORS: tuple = (click.ClickException, _tclick.ClickException)
    _ABORTS: tuple = (click.Abort, _texc.Abort)
except ImportError:  # pragma: no cover - older typer uses click itself
    _CLICK_ERRORS, _ABORTS = (click.ClickException,), (click.Abort,)

def _load_commands() -> None:
    """Import every command module of this package; each registers its commands on `app`."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("app", "__main__"):
            importlib.import_module(f"{__name__}.{mod.name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning embedlab errors into one readable line and exit code 2."""
    _load_commands()
    try:
        rv = app(args=argv, standalone_mode=False)
    except EmbedlabError as exc:
        raise SystemExit(fail(exc).exit_code) from None
    except _CLICK_ERRORS as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except _ABORTS:
        raise SystemExit(130) from None
    raise SystemExit(rv if isinstance(rv, int) else 0)
