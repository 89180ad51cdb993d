"""The `embedlab` command: a thin layer over the library. Each module below adds its commands to `app`."""

from __future__ import annotations

import importlib
import pkgutil

import click

from ..errors import EmbedlabError
from .app import app, fail

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
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort:
        raise SystemExit(130) from None
    raise SystemExit(rv if isinstance(rv, int) else 0)
