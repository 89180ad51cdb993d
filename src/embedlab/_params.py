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

import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal, overload

import numpy as np

from .errors import InputError


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool, noun: str) -> str:
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


@overload
def check_int(value: Any, name: str, low: int | None = None, high: int | None = None, *,
              none: Literal[False] = False, hint: str = "") -> int: ...


@overload
def check_int(value: Any, name: str, low: int | None = None, high: int | None = None, *, none: bool,
              hint: str = "") -> int | None: ...


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


def check_k(value: Any, name: str = "k", *, hint: str = "") -> int:
    """``value`` as the number of results to return: an integer >= 1 (the one validator every ``k`` uses).

    Raises
    ------
    InputError
        "k must be a positive integer, got 0" (a bool, a float, NaN, a string or anything < 1).
    """
    return check_int(value, name, low=1, hint=hint)


def k_from_topn(k: Any, topn: Any, where: str, default: int) -> int:
    """The ``k`` of a method that used to call it ``topn`` (``topn`` still works, with a DeprecationWarning).

    Parameters
    ----------
    k, topn
        What the caller passed (None when not given).
    where : str
        The method, for the warning (``"Vectors.arithmetic"``).
    default : int
        ``k`` when neither is given.

    Raises
    ------
    InputError
        When both are given, or the value is not a positive integer.
    """
    if topn is not None:
        if k is not None:
            raise InputError(f"{where} takes k (the number of results); pass k only, not also topn")
        import warnings

        warnings.warn(f"{where}(topn=...) is deprecated; use k=", DeprecationWarning, stacklevel=3)
        return check_k(topn, "topn")
    return check_k(default if k is None else k)


@overload
def check_float(value: Any, name: str, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, none: Literal[False] = False,
                hint: str = "") -> float: ...


@overload
def check_float(value: Any, name: str, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False, none: bool, hint: str = "") -> float | None: ...


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


def check_unicode(text: str, what: str) -> str:
    """``text`` when it is valid Unicode (encodable as UTF-8: no lone surrogate), the check every text takes
    before it reaches a tokenizer, an encoder or storage.

    Parameters
    ----------
    text : str
    what : str
        How the message names the text ("item 3", "the query").

    Returns
    -------
    str
        ``text`` itself.

    Raises
    ------
    InputError
        "item 3 is not valid Unicode: a lone surrogate U+DCFF at character 5 ..." — what an undecodable byte
        becomes in a command-line argument or a file read with ``errors="surrogateescape"``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"{what} is not valid Unicode: a lone surrogate U+{ord(text[exc.start]):04X} at character "
                         f"{exc.start}; decode the text properly (its bytes may not be UTF-8)") from None
    return text


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


class Params:
    """Parameters declared once, in the constructor's signature, as scikit-learn's ``BaseEstimator`` does.

    A subclass's ``__init__`` only stores each argument under its own name; ``get_params`` / ``set_params`` and the
    ``repr`` are derived from the signature, so a parameter is never listed twice. ``check_params`` raises
    ``InputError`` naming the first unusable parameter and returns nothing; ``fit`` calls it before any work.

    >>> class Thing(Params):
    ...     def __init__(self, dim: int = 8, seed: int = 0) -> None:
    ...         self.dim, self.seed = dim, seed
    >>> Thing(dim=4).get_params()
    {'dim': 4, 'seed': 0}

    ``param_aliases`` maps another library's name of a parameter to its own (``{"vector_size": "dim"}``: gensim's):
    the constructor and ``set_params`` take it and store the value under the parameter's own name, so
    ``get_params`` and the ``repr`` show only the own name.
    """

    #: Other libraries' names of constructor parameters, ``{alias: own name}``, taken by ``__init__`` and
    #: ``set_params`` (the value is stored under the own name; giving both raises ``TypeError``).
    param_aliases: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Let a subclass's own ``__init__`` take the names of ``param_aliases`` (when it has any)."""
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ and cls.param_aliases:
            cls.__init__ = _aliased(cls.__dict__["__init__"])  # type: ignore[method-assign]

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's parameter names, in signature order.

        Returns
        -------
        list of str
            Every named parameter of ``__init__`` except ``self`` (``*args`` / ``**kwargs`` are not allowed).

        Raises
        ------
        TypeError
            When ``__init__`` takes ``*args`` or ``**kwargs`` (parameters must be named to be declared).
        """
        import inspect

        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must name its parameters (no *args / **kwargs)")
            names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters and their current values.

        Parameters
        ----------
        deep : bool
            Accepted for scikit-learn compatibility; parameters are never nested estimators here.

        Returns
        -------
        dict
            ``{name: value}`` for every constructor parameter, in signature order.
        """
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Any:
        """Change parameters (checked by ``check_params`` at the next ``fit``, as scikit-learn does).

        Parameters
        ----------
        **params
            ``name=value`` for constructor parameters.

        Returns
        -------
        self

        Raises
        ------
        InputError
            For a name that is not a constructor parameter (naming the valid ones).
        TypeError
            For a parameter given under both its own name and an alias of ``param_aliases``.
        """
        valid = self.param_names()
        params = _own_names(type(self), params)
        for name, value in params.items():
            if name not in valid:
                raise InputError(f"{type(self).__name__} has no parameter {name!r}; its parameters are "
                                 f"{', '.join(valid)}")
            setattr(self, name, value)
        return self

    def check_params(self) -> None:
        """Refuse unusable parameters before any work.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """

    def __repr__(self) -> str:
        import inspect

        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = default is not inspect.Parameter.empty and bool(default == value)
            except Exception:  # arrays and other values without a plain truth value: show them
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _own_names(cls: type[Params], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the aliases of ``cls.param_aliases`` renamed to the parameters' own names."""
    out = dict(params)
    for alias, own in cls.param_aliases.items():
        if alias in out:
            if own in out:
                raise TypeError(f"{cls.__name__} got both {own}= and {alias}= (another library's name of {own}); "
                                "pass one")
            out[own] = out.pop(alias)
    return out


def _aliased(init: Any) -> Any:
    """Wrap a ``Params`` subclass's ``__init__`` so that it takes the names of ``param_aliases`` too."""

    @functools.wraps(init)  # the signature (what param_names reads) stays the constructor's own
    def wrapped(self: Params, *args: Any, **kw: Any) -> None:
        cls = type(self)
        names = cls.param_names()
        unknown = [k for k in kw if k not in names and k not in cls.param_aliases]
        if unknown:
            aka = "".join(f", {a} (= {o})" for a, o in cls.param_aliases.items())
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {unknown[0]!r}; its parameters "
                            f"are {', '.join(names)}{aka}")
        init(self, *args, **_own_names(cls, kw))

    return wrapped
