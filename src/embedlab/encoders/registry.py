"""Encoders by name: ``embedlab.encoder("use-multilingual")`` builds (once) and returns a shared instance.

Each entry names the modules it needs and the extra(s) of pyproject.toml that install them (``extra="text,image"``
for two, ``"core"`` for the base install), so `available()` can list what is installed without loading models and
a missing module's message names a command that provides it (tests/test_extras.py checks every entry against
pyproject.toml).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._progress import working
from ..errors import InputError, MissingDependencyError, close_names, did_you_mean
from .base import Encoder

DEFAULT_ENCODER = "use-multilingual"


@dataclass(frozen=True)
class EncoderSpec:
    """How to build one named encoder and what it needs.

    Attributes
    ----------
    name : str
        The name ``encoder(name)`` takes (or a model folder's absolute path).
    factory : callable
        Builds the encoder; takes the options ``encoder(name, **options)`` passes.
    dim : int
        The vectors' width, for listings (0 when it depends on the model loaded).
    modalities : tuple of str
        What it encodes (``"text"``, ``"image"``, ``"audio"``, ``"key"``).
    requires : tuple of str
        The modules it imports (checked by ``installed`` / ``missing`` without importing them).
    extra : str
        The pyproject extra(s) that install them, comma-separated; ``"core"`` for the base install.
    description : str
        One line for listings.
    aliases : tuple of str
        Other names ``encoder`` accepts.
    model_ids : tuple of str
        The ids other libraries know the model by (sentence-transformers' / the Hugging Face Hub's, e.g.
        ``"sentence-transformers/all-MiniLM-L6-v2"``), also accepted by ``encoder``; not listed as aliases.
    """

    name: str
    factory: Callable[..., Encoder]
    dim: int
    modalities: tuple[str, ...]
    requires: tuple[str, ...] = ()
    extra: str = ""
    description: str = ""
    aliases: tuple[str, ...] = field(default=())
    model_ids: tuple[str, ...] = field(default=())

    def installed(self) -> bool:
        """Whether every required module is importable (found without importing it).

        Returns
        -------
        bool
            True when ``missing()`` is empty.
        """
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def missing(self) -> list[str]:
        """The required modules that are not installed.

        Returns
        -------
        list of str
            Module names, in ``requires`` order.
        """
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def extras(self) -> tuple[str, ...]:
        """The pyproject extras this encoder needs.

        Returns
        -------
        tuple of str
            Extra names; empty for the core install.
        """
        return tuple(e.strip() for e in self.extra.split(",") if e.strip() and e.strip() != "core")

    def install_command(self, missing: list[str] | None = None) -> str:
        """The pip command(s) that install what this encoder needs.

        Parameters
        ----------
        missing : list of str, optional
            Only these modules (default: all of ``requires``).

        Returns
        -------
        str
            One or more ``pip install`` commands joined by ``&&`` (``--no-deps`` pins for packages whose declared
            requirements would downgrade numpy / scipy).
        """
        missing = list(self.requires) if missing is None else missing
        steps = []
        if self.extras():
            steps.append(f"pip install 'embedlab[{','.join(self.extras())}]'")
        elif any(m not in NO_DEPS for m in missing):
            steps.append("pip install embedlab")
        pinned = [NO_DEPS[m] for m in missing if m in NO_DEPS]
        if pinned:
            steps.append("pip install --no-deps " + " ".join(pinned))
        return " && ".join(steps)


# Modules whose packages declare requirements that would downgrade numpy/scipy, so no extra can carry them: they
# are installed with `pip install --no-deps` (scripts/requirements-nodeps.txt, which tests/test_extras.py matches).
NO_DEPS = {"resemblyzer": "resemblyzer==0.1.4", "aisfx": "aisfx==0.1.2"}


_SPECS: dict[str, EncoderSpec] = {}
_ALIASES: dict[str, str] = {}
# Loaders for model folders given by path (``--encoder PATH``): each returns a spec when it recognises the folder
# (by the manifest file its format writes), else None; ``what`` names that file for the error message.
_FOLDERS: list[tuple[Callable[[Path], EncoderSpec | None], str]] = []
# Resolvers of composed names (e.g. ``a+b`` for a fused encoder): each returns a spec for a name it understands,
# else None; asked after registered names and folders.
_RESOLVERS: list[Callable[[str], EncoderSpec | None]] = []
_CACHE: dict[tuple[str, tuple[tuple[str, Any], ...]], Encoder] = {}
_LOCK = threading.RLock()  # re-entrant: a fused encoder builds its members inside its own factory


def register(spec: EncoderSpec) -> EncoderSpec:
    """Add (or replace) an encoder under ``spec.name``, its aliases and its model ids.

    Parameters
    ----------
    spec : EncoderSpec
        How to build it.

    Returns
    -------
    EncoderSpec
        ``spec``, so a module can keep it.
    """
    _SPECS[spec.name] = spec
    for alias in (*spec.aliases, *spec.model_ids):
        _ALIASES[alias] = spec.name
    return spec


def register_folder(loader: Callable[[Path], EncoderSpec | None], what: str) -> None:
    """Let ``spec(PATH)`` build encoders from the model folders ``loader`` recognises.

    The spec ``loader`` returns must be named by the folder's absolute path, which is also the encoder's ``name``,
    so collections built with it reopen by that name. Registering the same loader twice has no effect.

    Parameters
    ----------
    loader : callable
        ``loader(folder) -> EncoderSpec | None``: a spec when the folder is one of its kind, else None.
    what : str
        The file that marks such folders, for messages, e.g. ``"mlm.json (`embedlab train mlm`)"``.
    """
    if all(loader is not known for known, _ in _FOLDERS):
        _FOLDERS.append((loader, what))


def register_resolver(resolver: Callable[[str], EncoderSpec | None]) -> None:
    """Let ``spec(name)`` build encoders from composed names (``encoders/fused.py``: ``"a*0.7+b*0.3"``).

    The spec ``resolver`` returns must be named by the canonical form of the name, which is also the encoder's
    ``name``. Registering the same resolver twice has no effect.

    Parameters
    ----------
    resolver : callable
        ``resolver(name) -> EncoderSpec | None``; it raises ``InputError`` for a name of its syntax that is wrong.
    """
    if all(resolver is not known for known in _RESOLVERS):
        _RESOLVERS.append(resolver)


def spec(name: str) -> EncoderSpec:
    """The registered spec for ``name`` (or an alias), or for the model folder at path ``name``.

    Parameters
    ----------
    name : str
        A registered name, alias or model id, or the path of a folder that a registered folder loader recognises.

    Returns
    -------
    EncoderSpec
        How to build the encoder.

    Raises
    ------
    InputError
        For an unknown name (the message lists the known ones), or a folder no loader recognises (the message
        lists the files that mark the folders embedlab loads, and says when one is there but damaged).
    """
    _load_builtin()
    key = _ALIASES.get(name, name)
    if key in _SPECS:
        return _SPECS[key]
    folder = Path(name).expanduser()
    if folder.is_dir():
        for loader, _ in _FOLDERS:
            found = loader(folder)
            if found is not None:
                return found
        present = [f for _, what in _FOLDERS for f in what.split(" (")[0].split(" + ") if (folder / f).is_file()]
        if present:  # a marker is there but its loader refused it: damaged, or another tool's file
            raise InputError(f"{name!r} has {', '.join(present)} but embedlab cannot read it as a model folder "
                             f"(damaged, incomplete, or another tool's file); expected one of "
                             f"{'; '.join(what for _, what in _FOLDERS)}")
        raise InputError(f"{name!r} is a folder but not a model embedlab can load: it has none of "
                         f"{'; '.join(what for _, what in _FOLDERS)}")
    for resolver in _RESOLVERS:
        composed = resolver(name)
        if composed is not None:
            return composed
    _refuse_missing_path(name)
    hint = " (or the path of a model folder)" if _FOLDERS else ""
    guess = did_you_mean(name, [*_SPECS, *_ALIASES])
    raise InputError(f"unknown encoder {name!r}; {guess + ' ' if guess else ''}known encoders: "
                     f"{', '.join(sorted(_SPECS))}{hint}")


def _refuse_missing_path(name: str) -> None:
    """Refuse a ``name`` written as a path to a model folder that is not there, or to a file, in path words.

    A path is a name with a separator, or ``.`` / ``~`` first, whose parent folder exists (``org/model``, a Hugging
    Face id, with no folder ``org/`` here, stays an unknown name).

    Parameters
    ----------
    name : str
        What ``spec`` was given and no loader or resolver took.

    Raises
    ------
    InputError
        "no model folder at 'NAME': it does not exist; check the path (folders with similar names there: …)", or
        "'NAME' is a file, not a model folder; …".
    """
    if not ("/" in name or "\\" in name or name.startswith((".", "~"))):
        return
    path = Path(name).expanduser()
    if path.is_file():
        raise InputError(f"{name!r} is a file, not a model folder; give the folder the model was saved in")
    parent = path.parent
    if path.exists() or not parent.is_dir():  # e.g. a Hugging Face id such as org/model: not a path here
        return
    names = sorted(p.name for p in parent.iterdir() if p.is_dir())
    near = close_names(path.name, names)
    hint = f" (folders with similar names there: {', '.join(near[:5])})" if near else ""
    raise InputError(f"no model folder at {name!r}: it does not exist; check the path{hint}")


def encoder(name: str = DEFAULT_ENCODER, **options: Any) -> Encoder:
    """The encoder ``name``, built once per process for each set of options and shared (thread-safe).

    Parameters
    ----------
    name : str, default "use-multilingual"
        A registered name, alias or model id, or the path of a model folder (see ``spec``).
    **options
        Passed to the encoder's constructor (e.g. ``model_path=``, ``threads=``); hashable values only.

    Returns
    -------
    Encoder
        The shared instance.

    Raises
    ------
    InputError
        For an unknown name or folder, or an option the encoder does not take.
    MissingDependencyError
        When a required module is not installed (the message gives the pip command).
    TypeError
        Raised by the encoder's constructor for a reason other than an unknown option.
    ModelNotFoundError, CorruptFileError
        When the model's files are missing or damaged (raised by the encoder's constructor).
    """
    s = spec(name)
    missing = s.missing()
    if missing:
        raise MissingDependencyError(
            f"encoder {s.name!r} needs {', '.join(missing)}; install it with: {s.install_command(missing)}"
        )
    key = (s.name, tuple(sorted(options.items())))
    with _LOCK:
        if key not in _CACHE:
            try:
                with working(f"loading the encoder {s.name} (once per process)"):
                    _CACHE[key] = s.factory(**options)
            except TypeError as exc:
                if options and "argument" in str(exc):
                    raise InputError(f"encoder {s.name!r} does not take the option(s) {sorted(options)} ({exc})") \
                        from None
                raise
        return _CACHE[key]


def available(installed_only: bool = True) -> list[EncoderSpec]:
    """The registered encoders, sorted by name.

    Parameters
    ----------
    installed_only : bool, default True
        List only those whose required modules are installed.

    Returns
    -------
    list of EncoderSpec
        Sorted by name.
    """
    _load_builtin()
    return [s for _, s in sorted(_SPECS.items()) if s.installed() or not installed_only]


_loaded = False


def _load_builtin() -> None:
    """Import every module of this package once; each registers its encoders at import time.

    Encoder modules must import heavy dependencies (torch, onnxruntime ...) inside their factories, so
    listing encoders stays fast and works without the extras installed.
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    import pkgutil

    from .. import encoders as package  # this module's own package: its __init__ imports this module

    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name not in ("base", "registry"):
            importlib.import_module(f"{package.__name__}.{mod.name}")
