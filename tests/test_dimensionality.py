"""Distance concentration: contrast shrinks with dimension for random data; real embeddings keep more."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.analysis import dimensionality as dm
from embedlab.errors import InputError


def test_concentration_exact_on_a_tiny_example():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    c = dm.concentration(x, n_queries=1, seed=0)
    q = int(np.random.default_rng(0).choice(4, size=1, replace=False)[0])
    d = np.delete(np.linalg.norm(x - x[q], axis=1), q)
    assert c.relative_contrast == pytest.approx((d.max() - d.min()) / d.min(), rel=1e-5)


def test_random_data_concentrates_and_cosines_narrow():
    rows = dm.random_table(dims=(4, 64, 1024), n=500, seed=1)
    contrast = [r.relative_contrast for r in rows]
    assert contrast[0] > contrast[1] > contrast[2]
    assert contrast[2] < 0.2
    for r in rows:  # std of cosine between random directions is about 1/sqrt(d)
        assert r.cosine_std == pytest.approx(1 / np.sqrt(r.dim), rel=0.1)
    with pytest.raises(InputError, match="distribution"):
        dm.random_table(distribution="cauchy")


def test_glove_keeps_more_contrast_than_random(glove):
    real = dm.pca_table(glove.matrix[:20000], dims=(10, 50), n=2000, source="glove")
    rand = {r.dim: r for r in dm.random_table(dims=(10, 50), n=2000)}
    assert real[-1].source == "glove" and real[0].source == "glove-pca"
    assert real[1].relative_contrast > 2 * rand[50].relative_contrast
    with pytest.raises(InputError, match="cannot reduce 50-d data"):
        dm.pca_table(glove.matrix[:100], dims=(60,))
    with pytest.raises(InputError, match="at least 3 points"):
        dm.concentration(np.ones((2, 5), dtype=np.float32))


def test_plot_and_cli(tmp_path, capsys):
    out = dm.plot(dm.random_table(dims=(2, 8), n=200), tmp_path / "dims.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(["dims", "--sample", "1000", "--json", "--plot", str(tmp_path / "cli.png")])
    assert e.value.code == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["source"] for r in rows} >= {"random-gaussian", "glove-6b-50d", "glove-6b-50d-pca"}
    assert (tmp_path / "cli.png").exists()
