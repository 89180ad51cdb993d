"""Long jobs report progress: the bars count exactly the work they promise (their estimate depends on it), and the
shared helpers stay silent off a terminal so --json and piped output are clean."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import _progress
from embedlab.apps import recommend as R


class RecordingBar:
    """Stands in for progress_bar: records the promised total and every update."""

    last: RecordingBar | None = None

    def __init__(self, total, desc, unit="it", enabled=True):
        self.total, self.desc, self.enabled, self.n, self.postfixes = total, desc, enabled, 0, []
        RecordingBar.last = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        self.n += n

    def set_postfix_str(self, text, refresh=True):
        self.postfixes.append(text)


def test_recommender_evaluation_counts_every_fit(monkeypatch):
    rng = np.random.default_rng(0)
    monkeypatch.setattr(R, "progress_bar", RecordingBar)
    content = rng.normal(size=(len(R.load_movielens().items), 8)).astype(np.float32)
    monkeypatch.setattr(R.ContentRecommender, "from_ratings", classmethod(lambda cls, *a, **k: cls(content)))
    grid = {"factors": [8], "regularization": [0.1, 1.0], "alpha": [1.0]}
    rows = R.evaluate_all(k=5, tune_grid=grid, signals=["ratings"], include_reference=False, progress=True)
    bar = RecordingBar.last
    assert bar.enabled and bar.n == bar.total == 1 + (2 + 1) + 1 + len(R.HYBRID_WEIGHTS) + 1
    assert bar.postfixes == ["popularity", "ALS (ratings)", "content", "hybrid"]
    assert [r.get("params", {}).get("factors") for r in rows[1:2]] == [8]


def test_bars_are_off_without_a_terminal(capsys):
    with _progress.progress_bar(3, "quiet", enabled=True) as bar:  # pytest's stderr is not a terminal
        bar.update(3)
    with _progress.progress_bar(3, "off", enabled=False) as bar:
        bar.update(3)
        assert bar.disable
    with _progress.working("nothing to show", enabled=True):
        pass
    assert capsys.readouterr().err == ""


def test_bars_show_on_a_terminal(monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with _progress.progress_bar(4, "folds", "fit", enabled=True) as bar:
        assert not bar.disable
        bar.update(4)
    assert "folds" in capsys.readouterr().err
    with pytest.raises(RuntimeError, match="boom"):  # a spinner never hides an error
        with _progress.working("thinking", enabled=True):
            raise RuntimeError("boom")
