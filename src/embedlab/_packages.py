"""Files that ship inside installed packages (models, data sets, static assets), found without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import MissingDependencyError


def package_dir(name: str) -> Path | None:
    """The folder of the installed top-level package ``name``, located without running its ``__init__``; None
    when it is not installed."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_file(package: str, *parts: str, what: str, install: str) -> Path:
    """``<package folder>/<parts...>``; MissingDependencyError naming ``what`` and the ``install`` command when
    the package or the file is missing."""
    root = package_dir(package)
    if root is None:
        raise MissingDependencyError(f"{what} ships in the '{package}' package: {install}")
    path = root.joinpath(*parts)
    if not path.exists():
        raise MissingDependencyError(f"{path} is missing; reinstall: {install}")
    return path
