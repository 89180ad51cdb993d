"""Projections (PCA / t-SNE / UMAP), silhouette, PNG/HTML plots with Korean labels, and `embedlab project`."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from embedlab.analysis import plots
from embedlab.analysis.reduce import cluster_separation, project
from embedlab.errors import InputError


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 20)) * 5
    x = np.vstack([c + rng.normal(size=(30, 20)) for c in centres]).astype(np.float32)
    return x, [g for g in "abc" for _ in range(30)]


def test_pca_is_exact_and_seeded():
    x, groups = _blobs()
    a = project(x, "pca", metric="l2")
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    ref = centred @ vt[:2].T
    np.testing.assert_allclose(np.abs(a), np.abs(ref), atol=1e-3)   # PCA is unique up to sign
    assert cluster_separation(a, groups, metric="l2") > 0.7


@pytest.mark.slow  # UMAP JIT-compiles for ~45 s on first use in a process
@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_nonlinear_methods_keep_clusters_and_are_deterministic(method):
    x, groups = _blobs()
    a = project(x, method, seed=1)
    b = project(x, method, seed=1)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a.shape == (90, 2) and cluster_separation(a, groups, metric="l2") > 0.6


def test_projection_bad_input():
    x, _ = _blobs()
    with pytest.raises(InputError, match="at least 2 points"):
        project(x[:1])
    with pytest.raises(InputError, match="cannot project 2-dimensional vectors to 3"):
        project(x[:, :2], dim=3)
    with pytest.raises(InputError, match="t-SNE needs at least 4 points"):
        project(x[:3], "tsne")
    with pytest.raises(InputError, match="unknown projection method 'mds'"):
        project(x, "mds")
    assert project(x[:2], "pca").shape == (2, 2)   # two points: a line, padded
    with pytest.raises(InputError, match="at least 2 groups"):
        cluster_separation(x, ["a"] * len(x))


def test_png_renders_hangul_with_a_cjk_font(tmp_path):
    if plots.cjk_font() is None:
        pytest.skip("no Hangul font installed (scripts/install-system.sh installs fonts-nanum as root)")
    x, groups = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a missing glyph would warn: fail instead
        out = plots.scatter_png(project(x), ["사과"] * 90, tmp_path / "k.png", groups, "과일")
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_html_is_self_contained(tmp_path):
    x, groups = _blobs()
    out = plots.save_scatter(project(x, dim=3), [f"p{i}" for i in range(90)], tmp_path / "p.html", groups)
    html = out.read_text()
    assert "Scatter3d" in html or "scatter3d" in html
    assert "https://cdn" not in html.split("<body>")[0]     # plotly.js embedded, works offline
    with pytest.raises(InputError, match="unknown plot format '.svg'"):
        plots.save_scatter(project(x), None, tmp_path / "p.svg")
    with pytest.raises(InputError, match="one entry per point"):
        plots.scatter_png(project(x), ["a"], tmp_path / "bad.png")


def test_cli_seed_picture_separates_fruits_animals_vehicles(tmp_path, capsys):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(["project", "-o", str(tmp_path / "seed.png"), "--json"])
    assert e.value.code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["points"] == 45 and (tmp_path / "seed.png").exists()
    assert res["silhouette"]["embedding"] > 0.15 and res["silhouette"]["projection"] > 0.5
    with pytest.raises(SystemExit) as e:
        main(["project", "-o", str(tmp_path / "x.png"), "--collection", "nope"])
    assert e.value.code == 2
