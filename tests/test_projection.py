"""Projections (PCA / t-SNE / UMAP), silhouette, PNG/HTML plots with Korean labels, and `embedlab project`."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from embedlab.analysis import plots
from embedlab.analysis.reduce import cluster_separation, project
from embedlab.errors import InputError, NonFiniteError


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


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="mds"), "unknown projection method 'mds'; choose one of pca, tsne, umap"),
    (dict(dim=4), r"dim must be an integer in \[2, 3\], got 4"),
    (dict(dim=True), r"dim must be an integer in \[2, 3\], got True \(bool\)"),
    (dict(dim=2.0), r"got 2.0 \(float\)"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(metric="manhattan"), "unknown metric 'manhattan'"),
    (dict(method="tsne", perplexity=20), r"perplexity must be a number in \(0, 10\), got 20.0; it must stay "
                                         r"below the number of points \(10\)"),
    (dict(method="tsne", perplexity=10), r"perplexity must be a number in \(0, 10\), got 10.0"),
    (dict(method="tsne", perplexity=0), r"perplexity must be a number in \(0, 10\), got 0.0"),
    (dict(method="tsne", perplexity=float("nan")), "perplexity must be a number in .*got nan"),
    (dict(method="tsne", perplexity="5"), r"got '5' \(str\)"),
    (dict(method="umap", n_neighbors=10), r"n_neighbors must be an integer in \[2, 9\], got 10"),
    (dict(method="umap", n_neighbors=1), r"n_neighbors must be an integer in \[2, 9\], got 1"),
    (dict(method="umap", n_neighbors=4.0), r"got 4.0 \(float\)"),
    (dict(method="pca", perplexity=5), "perplexity is a t-SNE setting; pca does not use it"),
    (dict(method="tsne", n_neighbors=5), "n_neighbors is a UMAP setting; tsne does not use it"),
])
def test_projection_parameters_are_checked_before_fitting(kwargs, message, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "umap", None)       # importing (let alone fitting) UMAP would fail
    monkeypatch.setattr("sklearn.manifold.TSNE.fit_transform", lambda *a, **k: pytest.fail("t-SNE ran"))
    x, _ = _blobs()
    with pytest.raises(InputError, match=message):
        project(x[:10], **kwargs)


def test_projection_refuses_bad_matrices_and_too_few_points(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "umap", None)
    x, groups = _blobs()
    bad = x[:10].copy()
    bad[3, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"NaN or infinity in 1 row\(s\)"):
        project(bad, "tsne")
    bad[3, 2] = np.inf
    with pytest.raises(NonFiniteError):
        project(bad)
    with pytest.raises(InputError, match="projection needs at least 2 points, got 0"):
        project(np.zeros((0, 5)))
    with pytest.raises(InputError, match="UMAP needs at least 4 points, got 3; use PCA for tiny sets"):
        project(x[:3], "umap")
    with pytest.raises(InputError, match="89 labels for 90 points"):
        cluster_separation(x, groups[:-1])
    with pytest.raises(InputError, match="unknown metric 'hamming'"):
        cluster_separation(x, groups, metric="hamming")


def test_tsne_takes_an_explicit_perplexity_below_the_number_of_points():
    x, _ = _blobs()
    a = project(x[::9], "tsne", perplexity=9.5, seed=2)  # 10 points: the largest perplexity allowed is < 10
    np.testing.assert_array_equal(a, project(x[::9], "tsne", perplexity=9.5, seed=2))
    assert a.shape == (10, 2) and np.isfinite(a).all()


def test_plots_refuse_non_finite_coordinates_and_3d_png(tmp_path):
    with pytest.raises(NonFiniteError, match="coordinates contain NaN"):
        plots.save_scatter(np.array([[0.0, 1.0], [np.nan, 2.0]]), None, tmp_path / "p.html")
    with pytest.raises(InputError, match="PNG plots are 2-D"):
        plots.plot_format(tmp_path / "p.png", 3)
    assert plots.plot_format(tmp_path / "p.HTML", 3) == "html"


def test_cli_refuses_bad_parameters_before_encoding(tmp_path, capsys, monkeypatch):
    from embedlab.cli import main
    from embedlab.cli import project as cli_project

    # patch the name the command calls: patching embedlab.encoders.encoder before the command's module is first
    # imported would bind the failing stand-in into it for every later test
    monkeypatch.setattr(cli_project, "encoder", lambda *a, **k: pytest.fail("encoded before checking"))
    vec = tmp_path / "v.txt"
    vec.write_text("5 3\n" + "".join(f"w{i} {i} {i % 2} {i * i}\n" for i in range(5)), encoding="utf-8")
    for args, message in ((["--dim", "3"], "PNG plots are 2-D"),
                          (["--method", "mds"], "unknown projection method 'mds'"),
                          (["--limit", "0"], "limit must be a positive integer, got 0"),
                          (["--dim", "4", "-o", str(tmp_path / "x.html")], "dim must be an integer in [2, 3]"),
                          (["--vectors", str(vec), "--method", "tsne", "--perplexity", "5"],
                           "perplexity must be a number in (0, 5), got 5.0"),
                          (["--vectors", str(vec), "--neighbors", "3"], "n_neighbors is a UMAP setting")):
        with pytest.raises(SystemExit) as e:
            main(["project", "-o", str(tmp_path / "x.png"), *args])
        err = " ".join(capsys.readouterr().err.split())
        assert e.value.code == 2 and message in err and "Traceback" not in err
        assert not (tmp_path / "x.png").exists()


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


def test_tsne_progress_reads_its_iterations_and_changes_nothing():
    """The progress bar follows t-SNE's own iteration lines; the coordinates are those of a quiet run."""
    from embedlab.analysis.reduce import _TSNELines

    x, _ = _blobs()
    quiet = project(x, "tsne", seed=2)
    np.testing.assert_array_equal(project(x, "tsne", seed=2, progress=True), quiet)

    class Bar:
        n, total = 0, 1000

        def update(self, k):
            self.n += k

    bar = Bar()
    out = _TSNELines(bar)
    out.write("[t-SNE] Computing 91 nearest neighbors...\n[t-SNE] Iteration 50: error = 1.0, gradient")
    assert bar.n == 0  # a line counts once it is complete
    out.write(" norm = 0.1 (50 iterations in 0.1s)\n[t-SNE] Iteration 300: error = 0.5\n")
    assert bar.n == 300
    out.write("[t-SNE] Iteration 5000: beyond the total\n")
    assert bar.n == 1000
