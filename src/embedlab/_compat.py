"""Old public names kept working, with a ``DeprecationWarning`` that names the new one.

A module lists its renamed names once and forwards unknown attributes here from its ``__getattr__``:

    >>> _RENAMED = {"WordAverage": "WordAverageEncoder"}
    >>> def __getattr__(name): return renamed(__name__, _RENAMED, globals(), name)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["renamed"]


def renamed(module: str, table: Mapping[str, str], namespace: Mapping[str, Any], name: str) -> Any:
    """The object an old name of ``module`` now has, after a ``DeprecationWarning`` saying which.

    Parameters
    ----------
    module : str
        The module's ``__name__`` (for messages).
    table : mapping of str to str
        Old name -> new name, both attributes of ``module``.
    namespace : mapping
        The module's ``globals()``.
    name : str
        The attribute looked up.

    Raises
    ------
    AttributeError
        For a name that is neither defined nor renamed (as Python would).
    """
    new = table.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(f"{module}.{name} is deprecated; use {module}.{new}", DeprecationWarning, stacklevel=3)
    return namespace[new]
