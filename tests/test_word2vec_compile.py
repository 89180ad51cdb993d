"""The first Word2Vec run on a machine compiles its numba kernels (about a minute): one line says so, off a terminal
only when it happens, so a run that loads them from numba's cache prints nothing extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from embedlab.train.word2vec import COMPILING

SCRIPT = """
import sys
from embedlab.train import Word2Vec
Word2Vec(arch=sys.argv[2], dim=8, min_count=1, epochs=1, workers=1, seed=1).fit(sys.argv[1])
"""


def run(corpus: Path, cache: Path, arch: str) -> list[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    res = subprocess.run([sys.executable, "-c", SCRIPT, str(corpus), arch], env=env, capture_output=True, text=True,
                         timeout=900, check=True)
    return res.stderr.splitlines()


@pytest.mark.slow
def test_compiling_is_said_once_and_only_when_the_cache_is_cold(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 50, encoding="utf-8")
    cache = tmp_path / "numba-cache"  # empty: every kernel compiles, as on a fresh install
    cold = run(corpus, cache, "cbow")
    assert cold.count(f"{COMPILING} ...") == 1
    done = [line for line in cold if line.startswith(f"{COMPILING}: done in ")]
    assert len(done) == 1 and sum(COMPILING in line for line in cold) == 2
    assert any(cache.rglob("*.nbi"))  # the kernels were cached there
    for arch in ("cbow", "skipgram"):  # one kernel serves both
        warm = run(corpus, cache, arch)
        assert not any(COMPILING in line for line in warm)
        assert any(line.startswith("word2vec: 7 words x 8 dims") for line in warm)  # progress was on
