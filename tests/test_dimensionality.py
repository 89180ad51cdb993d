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


@pytest.mark.parametrize("call, message", [
    (lambda: dm.concentration(np.ones((5, 3)), n_queries=0), "n_queries must be a positive integer, got 0"),
    (lambda: dm.concentration(np.ones((5, 3)), seed=-1), "seed must be a non-negative integer, got -1"),
    (lambda: dm.concentration(np.ones((5, 0))), r"no dimensions \(shape \(n, 0\)\)"),
    (lambda: dm.concentration(np.full((5, 3), np.nan)), r"contain NaN or infinity in 5 row\(s\)"),
    (lambda: dm.random_table(dims=()), "dims must be a non-empty list of dimensions"),
    (lambda: dm.random_table(dims=(4, 0)), "each of dims must be a positive integer, got 0"),
    (lambda: dm.random_table(dims=(2.5,)), r"each of dims must be a positive integer, got 2.5 \(float\)"),
    (lambda: dm.random_table(n=2), "n must be an integer >= 3, got 2; each query point needs a nearest"),
    (lambda: dm.random_table(n=True), r"n must be an integer >= 3, got True \(bool\)"),
    (lambda: dm.random_table(distribution="cauchy"), "unknown distribution 'cauchy'; choose one of gaussian, uniform"),
    (lambda: dm.pca_table(np.ones((10, 4)), dims=(2,), n=0), "n must be an integer >= 3, got 0"),
    (lambda: dm.plot([], "x.png"), "no rows to plot"),
])
def test_concentration_parameters_are_checked(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_pca_table_checks_every_dimension_before_the_first_pca(monkeypatch):
    monkeypatch.setattr("sklearn.decomposition.PCA.fit_transform", lambda *a: pytest.fail("PCA ran first"))
    x = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    with pytest.raises(InputError, match="cannot reduce 8-d data of 40 rows to 9 dimensions"):
        dm.pca_table(x, dims=(2, 9))


def test_plot_wants_a_png(tmp_path):
    with pytest.raises(InputError, match="the concentration plot is a PNG; name it .png, not '.html'"):
        dm.plot(dm.random_table(dims=(2,), n=10), tmp_path / "d.html")


def test_cli_dims_refuses_a_tiny_sample_before_loading(capsys, monkeypatch):
    from embedlab.cli import main
    from embedlab.io import glove

    monkeypatch.setattr(glove, "load_glove", lambda *a, **k: pytest.fail("vectors loaded before checking"))
    with pytest.raises(SystemExit) as e:
        main(["dims", "--sample", "2"])
    err = " ".join(capsys.readouterr().err.split())
    assert e.value.code == 2 and "sample must be an integer >= 3, got 2" in err and "Traceback" not in err
