"""gensim's own ``test_keyedvectors.py``, run against ``embedlab.Vectors`` through a thin loading shim.

gensim's test module is licensed LGPL-2.1, so it is not copied here: it is loaded from the installed gensim package
(the ``eval`` extra) into a private module object, and its two names for gensim's class are re-pointed at the shim
below: the module-level ``KeyedVectors``, and ``gensim`` (the tests also reach ``gensim.models.KeyedVectors`` and
the private loader ``gensim.models.keyedvectors._load_word2vec_format`` through it). gensim's own modules are not
touched, so the other gensim tests in this process are unaffected.

"Thin" means the shim adapts loading and construction only; every behaviour the tests check is ``Vectors``'s own:

- ``KeyedVectors(d)`` (an empty table of dimension d, as gensim's tests build one) → ``Vectors([], (0, d))``;
- ``KeyedVectors.load_word2vec_format`` → ``Vectors.load_word2vec_format`` (the same signature);
- ``_load_word2vec_format(cls, fname, ..., binary_chunk_size)`` → ``Vectors.load_word2vec_format`` (the chunk size
  is gensim's read-buffer size; embedlab memory-maps the file, so there is nothing to size);
- ``KeyedVectors.load(path)`` reads one of gensim's pickles, which embedlab refuses by design: the shim converts it
  once with gensim itself, as embedlab's refusal message tells users to (``kv.save_word2vec_format``), and loads
  that file into a ``Vectors``.

Every test of the file runs (33 in gensim 4.4); none is excluded (``EXCLUDED`` would list them, with reasons).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from embedlab import Vectors

gensim = pytest.importorskip("gensim")
gensim_test_utils = pytest.importorskip("gensim.test.utils")
gensim_models = pytest.importorskip("gensim.models")

SOURCE = Path(gensim.__file__).parent / "test" / "test_keyedvectors.py"

#: test id -> why it does not run here (none: the one test that reads a pickle runs on the converted file).
EXCLUDED: dict[str, str] = {}


class KeyedVectors:
    """What gensim's tests construct and load: every call returns an ``embedlab.Vectors``."""

    def __new__(cls, vector_size: int, count: int = 0, dtype: Any = np.float32) -> Vectors:  # type: ignore[misc]
        if count:
            raise NotImplementedError("the shim builds empty tables only (gensim's tests use count=0)")
        return Vectors([], np.zeros((0, vector_size), dtype=np.float32))

    load_word2vec_format = staticmethod(Vectors.load_word2vec_format)

    @staticmethod
    def load(fname: str, mmap: str | None = None) -> Vectors:
        """A gensim pickle, converted to word2vec format by gensim itself, then read by embedlab."""
        with tempfile.TemporaryDirectory() as tmp:
            converted = Path(tmp) / "converted.txt"
            gensim_models.KeyedVectors.load(fname, mmap=mmap).save_word2vec_format(str(converted))
            return Vectors.load_word2vec_format(converted)


def _load_word2vec_format(cls: Any, fname: str, fvocab: str | None = None, binary: bool = False,
                          encoding: str = "utf8", unicode_errors: str = "strict", limit: int | None = None,
                          datatype: Any = np.float32, no_header: bool = False,
                          binary_chunk_size: int = 100 * 1024) -> Vectors:
    """gensim's private loader (``binary_chunk_size`` sizes gensim's read buffer; there is none to size here)."""
    return Vectors.load_word2vec_format(fname, fvocab=fvocab, binary=binary, encoding=encoding,
                                        unicode_errors=unicode_errors, limit=limit, datatype=datatype,
                                        no_header=no_header)


def _load_suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("embedlab_shimmed_gensim_test_keyedvectors", SOURCE)
    assert spec is not None and spec.loader is not None, SOURCE
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.KeyedVectors = KeyedVectors
    module.gensim = SimpleNamespace(
        models=SimpleNamespace(KeyedVectors=KeyedVectors,
                               keyedvectors=SimpleNamespace(KeyedVectors=KeyedVectors,
                                                            _load_word2vec_format=_load_word2vec_format)),
        test=SimpleNamespace(utils=gensim_test_utils),
        utils=gensim.utils,
    )
    return module


suite = _load_suite()

# pytest collects these unittest classes from this module; their test methods are gensim's, unchanged
TestKeyedVectors = suite.TestKeyedVectors
Gensim320Test = suite.Gensim320Test
LoadWord2VecFormatTest = suite.LoadWord2VecFormatTest


def test_every_test_of_gensims_file_runs_here():
    """Every TestCase class of gensim's file is collected above, with every test method, less ``EXCLUDED``."""
    import unittest

    classes = {n: c for n, c in vars(suite).items() if isinstance(c, type) and issubclass(c, unittest.TestCase)}
    assert classes and all(globals().get(n) is c for n, c in classes.items()), sorted(classes)
    names = [f"{n}::{m}" for n, c in classes.items() for m in unittest.defaultTestLoader.getTestCaseNames(c)]
    assert len(names) == 33 and not set(EXCLUDED) - set(names)  # gensim 4.4's file: 33 tests
