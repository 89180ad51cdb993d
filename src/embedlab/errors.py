"""embedlab's exceptions: every message says what went wrong and what to do next."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class EmbedlabError(Exception):
    """Base class of every error embedlab raises on purpose.

    Parameters
    ----------
    *args : object
        The message (as for any exception).
    cli : str, optional
        The same message for someone at the ``embedlab`` command line, where the message says what to do next in
        Python words: flags and commands instead of keyword arguments and calls (``pass --overwrite`` for ``pass
        overwrite=True``). The command line prints it instead of ``str(error)``; see `cli_message`.
    """

    cli: str | None = None  # also for subclasses whose __init__ does not call this one

    def __init__(self, *args: object, cli: str | None = None) -> None:
        super().__init__(*args)
        self.cli = cli

    def cli_message(self) -> str:
        """The message as the command line prints it: the ``cli`` phrasing when the error has one, else ``str``.

        Returns
        -------
        str
            One line naming CLI flags and commands where the Python message names keyword arguments and calls.
        """
        return self.cli if self.cli is not None else str(self)


class Said(str):
    """A message kept for later (a skipped file's reason in a list), carrying its CLI phrasing as the error did.

    Parameters
    ----------
    error : EmbedlabError
        The error whose message this is: the string is ``str(error)``, ``cli`` its ``cli_message()``.
    """

    cli: str

    def __new__(cls, error: EmbedlabError) -> Said:
        said = super().__new__(cls, str(error))
        said.cli = error.cli_message()
        return said


def cli_words(message: str) -> str:
    """A kept message as the command line prints it: the CLI phrasing of a ``Said``, else the message itself.

    Parameters
    ----------
    message : str
        A plain string or a ``Said``.

    Returns
    -------
    str
        The text naming CLI flags where the Python text names keyword arguments.
    """
    return message.cli if isinstance(message, Said) else str(message)


class InputError(EmbedlabError, ValueError):
    """The caller passed something unusable (empty list, wrong type, bad option)."""


class DimensionError(InputError):
    """Vectors whose dimension does not match the index, table or encoder."""


class NonFiniteError(InputError):
    """NaN or infinity inside vectors."""


class UnknownKeyError(EmbedlabError, KeyError):
    """A key (word, id, user, item, collection entry) that is not present."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class CorruptFileError(EmbedlabError, ValueError):
    """A file exists but cannot be read as what it claims to be (truncated, wrong format).

    A ``ValueError``, as gensim's loaders raise for a malformed file, so code written for gensim that catches
    ``ValueError`` keeps working; the word2vec reader raises two subclasses for the other two kinds gensim names
    (``embedlab.formats.word2vec``: ``TruncatedFileError`` is also an ``EOFError``, ``UndecodableFileError`` a
    ``UnicodeDecodeError``).
    """


class FormatVersionError(EmbedlabError):
    """A file written by a newer (or unknown) format version of embedlab."""


class ModelNotFoundError(EmbedlabError):
    """Model weights are missing; the message names the package or file to install."""


class MissingDependencyError(EmbedlabError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class CollectionNotFoundError(EmbedlabError):
    """A named collection does not exist in the embedlab home."""


class EncoderMismatchError(EmbedlabError):
    """A collection opened with an encoder other than the one it was built with."""


class LockTimeoutError(EmbedlabError, TimeoutError):
    """Another process holds the collection's write lock for too long."""


class StorageFullError(EmbedlabError, OSError):
    """The disk (or quota) filled up during a write; the store keeps its last committed state."""


class ReadOnlyStorageError(EmbedlabError, PermissionError):
    """A write was asked of read-only media or a folder without write permission."""


class BackendError(EmbedlabError):
    """The storage backend (e.g. a PostgreSQL server) refused or failed an operation; the message says how to fix
    it (a missing extension, a missing permission)."""


class DatabaseUnavailableError(BackendError, ConnectionError):
    """The database server cannot be reached (wrong URL, server down, authentication failed)."""


class ResourceLimitError(EmbedlabError):
    """A request would exceed a configured limit (memory, batch size, input length)."""


class IncompleteCollectionWarning(UserWarning):
    """A collection was opened whose load (an import, a first index, a bulk load) was interrupted or is still
    running: it holds only part of its items. The message says how to resume or remove it."""


class FilterWarning(UserWarning):
    """A metadata filter matched nothing, and the stored metadata says why: a key no item has, or a comparison
    with values of another JSON type (a number compared with values stored as strings)."""


class LanguageWarning(UserWarning):
    """Texts in a language the encoder does not read (Korean given to an English-only model): one per call.

    Parameters
    ----------
    message : str
        What the user reads (names the encoder, the counts and a multilingual encoder to use instead).
    encoder : str, default ""
        The encoder's ``name``.
    count : int, default 0
        How many texts of the call are in a language it does not read.
    total : int, default 0
        How many items the call encoded.
    languages : tuple of str, default ()
        The languages the encoder declares (ISO 639-1 codes).
    """

    def __init__(self, message: str, encoder: str = "", count: int = 0, total: int = 0,
                 languages: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.encoder, self.count, self.total, self.languages = encoder, count, total, languages


def not_fitted(estimator: object, fit_call: str = "fit") -> InputError:
    """The error for an estimator used before ``fit``: ``embedlab.errors.NotFittedError``.

    That class is an ``InputError`` (as this error always was) and scikit-learn's ``NotFittedError`` (so code and
    checks that catch scikit-learn's keep working; also a ``ValueError`` and an ``AttributeError``). It is made on
    first use, so importing embedlab does not import scikit-learn (about 1 s).
    """
    return _not_fitted_class()(f"this {type(estimator).__name__} is not fitted yet; call {fit_call} first")


_LAZY: dict[str, type[InputError]] = {}


def _not_fitted_class() -> type[InputError]:
    if "NotFittedError" not in _LAZY:
        from sklearn.exceptions import NotFittedError as SklearnNotFittedError

        class NotFittedError(InputError, SklearnNotFittedError):  # type: ignore[misc]  # scikit-learn has no stubs
            """An estimator was used before ``fit`` (scikit-learn's ``NotFittedError`` and an ``InputError``)."""

        NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"  # picklable by name
        _LAZY["NotFittedError"] = NotFittedError
    return _LAZY["NotFittedError"]


def __getattr__(name: str) -> Any:  # ``embedlab.errors.NotFittedError``, made on first use
    if name == "NotFittedError":
        return _not_fitted_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The names of ``known`` closest to a misspelt ``name`` (difflib, compared case-insensitively), closest first.

    Parameters
    ----------
    name : str
        What was asked for (an encoder, collection or file name).
    known : iterable of str
        The names that exist.
    n : int, default 3
        At most this many.

    Returns
    -------
    list of str
        Up to ``n`` names of ``known`` whose difflib ratio to ``name`` is at least 0.6; empty when none is.
    """
    folded: dict[str, str] = {}
    for k in known:
        folded.setdefault(k.lower(), k)
    return [folded[c] for c in difflib.get_close_matches(name.lower(), list(folded), n=n, cutoff=0.6)]


def did_you_mean(name: str, known: Iterable[str], n: int = 3) -> str:
    """``"did you mean 'a'?"`` (``'a' or 'b'``, ``'a', 'b' or 'c'``) for a misspelt ``name`` (`close_names`).

    Parameters
    ----------
    name : str
        What was asked for.
    known : iterable of str
        The names that exist.
    n : int, default 3
        At most this many suggestions.

    Returns
    -------
    str
        The question to put in an error message, or ``""`` when nothing is close.
    """
    close = [repr(c) for c in close_names(name, known, n)]
    if not close:
        return ""
    return "did you mean " + (f"{', '.join(close[:-1])} or {close[-1]}" if len(close) > 1 else close[0]) + "?"


def require(module: str, extra: str, what: str = "") -> Any:
    """Import an optional dependency or raise MissingDependencyError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        purpose = f" for {what}" if what else ""
        raise MissingDependencyError(
            f"'{module}' is needed{purpose}; install it with: pip install 'embedlab[{extra}]'"
        ) from exc


def caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside embedlab.

    That is what a user wrote, however deep inside the library the warning is issued.

    Returns
    -------
    int
        The ``stacklevel`` for ``warnings.warn`` called by the function that calls this one.
    """
    package = str(Path(__file__).resolve().parent)
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


# ``from embedlab.errors import *`` (as ``embedlab`` does) exports the error and warning classes only
__all__ = sorted(name for name, value in dict(globals()).items()
                 if isinstance(value, type) and (issubclass(value, EmbedlabError) or (
                     issubclass(value, Warning) and value.__module__ == __name__)))
