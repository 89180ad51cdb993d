"""Up-front checks of user-facing parameters, so every module refuses bad input with the same InputError wording.

    >>> k = check_int(k, "k", low=1)                       # "k must be a positive integer, got 0"
    >>> lr = check_float(lr, "lr", low=0, low_open=True)    # "lr must be a positive number, got nan"
    >>> arch = check_choice(arch, "arch", ("cbow", "skipgram"))
    >>> words = check_strings(words, "words")

A message names the parameter, the allowed range and what was given. ``bool`` is never a number here (``True``
is an int to Python, never a sensible ``k``); a float is never an integer (``factors=32.0``, ``k=2.5``); NaN and
infinity are never numbers. Numpy scalars count as the Python kind they hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import InputError


def _bounds(low, high, low_open: bool, high_open: bool, noun: str) -> str:
    """'a positive integer', 'a number in (0, 1]', 'an integer >= 2' ..."""
    if high is None and low == 0:
        return f"a {'positive' if low_open else 'non-negative'} {noun}"
    if high is None and low == 1 and noun == "integer" and not low_open:
        return "a positive integer"
    article = "an" if noun[0] in "aeiou" else "a"
    if low is not None and high is not None:
        return f"{article} {noun} in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{article} {noun} {'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{article} {noun} {'<' if high_open else '<='} {high}"
    return f"{article} {noun}"


def _fail(name: str, expected: str, value: Any, hint: str, show_type: bool = False) -> InputError:
    kind = f" ({type(value).__name__})" if show_type else ""
    return InputError(f"{name} must be {expected}, got {value!r}{kind}{f'; {hint}' if hint else ''}")


def check_int(value: Any, name: str, low: int | None = None, high: int | None = None, *, none: bool = False,
              hint: str = "") -> int | None:
    """``value`` as an int when it is an integer in [low, high]; ``none=True`` lets None through."""
    if value is None and none:
        return None
    expected = _bounds(low, high, False, False, "integer")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _fail(name, expected + (" or None" if none else ""), value, hint, show_type=True)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise _fail(name, expected, v, hint)
    return v


def check_float(value: Any, name: str, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, none: bool = False, hint: str = "") -> float | None:
    """``value`` as a float when it is a finite real number inside the bounds (open or closed at each end)."""
    if value is None and none:
        return None
    expected = _bounds(low, high, low_open, high_open, "number")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise _fail(name, expected + (" or None" if none else ""), value, hint, show_type=True)
    v = float(value)
    if not math.isfinite(v) or (low is not None and (v <= low if low_open else v < low)) or (
            high is not None and (v >= high if high_open else v > high)):
        raise _fail(name, expected, v, hint)
    return v


def check_choice(value: Any, name: str, choices: Sequence[str], what: str | None = None) -> str:
    """``value`` when it is one of ``choices``; else "unknown <what> 'x'; choose one of a, b"."""
    if not (isinstance(value, str) and value in choices):
        raise InputError(f"unknown {what or name} {value!r}; choose one of {', '.join(choices)}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``value`` when it is True or False (not 0/1, not a string such as 'false')."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(name, "True or False", value, "", show_type=True)
    return bool(value)


def check_strings(values: Any, name: str, *, empty: bool = False) -> list[str]:
    """``values`` as a list of strings; a lone string is refused (it would be read one character at a time)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InputError(f"{name} must be a list of strings, got {type(values).__name__} {values!r:.60}")
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise InputError(f"{name} must be a list of strings; it holds {type(v).__name__} {v!r:.40}")
    if not out and not empty:
        raise InputError(f"{name} is empty; give at least one")
    return out
