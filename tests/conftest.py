"""Session-wide test settings: offline, two threads, a throw-away embedlab home, models loaded once."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own embedlab home so collections never leak between tests."""
    from embedlab import config

    monkeypatch.setenv("EMBEDLAB_HOME", str(tmp_path / "home"))
    config.set_home(None)
    yield


@pytest.fixture(scope="session")
def use_encoder():
    """The default multilingual encoder, loaded once per test session."""
    import embedlab

    return embedlab.encoder("use-multilingual")


@pytest.fixture(scope="session")
def glove():
    """GloVe 6B-50d (400k words), loaded once per test session."""
    from embedlab.io.glove import load_glove

    return load_glove()
