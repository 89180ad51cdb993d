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


# --------------------------------------------------------------------------- index: progress inside a chunk
class TickingClock:
    """Every reading is one second later than the last: each encoder step 'takes' one second."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def test_encode_paced_steps_follow_the_measured_rate(use_encoder):
    from embedlab.passages.paced import encode_paced

    texts = [f"note number {i} about the harbour and its boats" for i in range(150)]
    seen = []
    vecs = encode_paced(use_encoder, texts, seen.append, normalize=True, pace=2.0, clock=TickingClock())
    # 8 items in the first step; each later one fits 2 s at the last step's rate (doubling), capped at 64
    assert seen == [8, 24, 56, 120, 150]
    whole = use_encoder.encode_documents(texts, normalize=True)
    assert vecs.shape == whole.shape == (150, use_encoder.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(vecs, whole, atol=1e-5)
    seen.clear()
    encode_paced(use_encoder, texts[:20], seen.append, normalize=True, pace=0.5, clock=TickingClock())
    assert seen == [8, 12, 14, 15, 16, 17, 18, 19, 20]  # halving down to one item a step, never zero


def test_encode_paced_refuses_bad_settings_and_items(use_encoder):
    from embedlab.errors import InputError
    from embedlab.passages.paced import encode_paced

    with pytest.raises(ValueError, match="pace must be > 0 and first >= 1, got pace=0, first=8"):
        encode_paced(use_encoder, ["a"], print, normalize=True, pace=0)
    with pytest.raises(ValueError, match="got pace=0.5, first=0"):
        encode_paced(use_encoder, ["a"], print, normalize=True, first=0)
    seen = []
    with pytest.raises(InputError, match="item 9"):  # refused before any step is encoded or reported
        encode_paced(use_encoder, ["fine"] * 9 + ["   "], seen.append, normalize=True)
    assert seen == []
    with pytest.raises(InputError, match="nothing to encode"):
        encode_paced(use_encoder, [], seen.append, normalize=True)


def test_index_records_reports_inside_a_chunk(use_encoder):
    """A chunk is 512+ items: the bar hears of the first 8 encoded, not only of the whole chunk written."""
    from embedlab.ingest import Record
    from embedlab.passages import index_records
    from embedlab.store import Collection

    recs = [Record(f"n{i}", f"short note {i} on rivers and bridges", {"i": i}, f"n{i}.txt") for i in range(530)]
    calls = []
    with Collection.create("paced", use_encoder) as col:
        got = index_records(col, recs, chunk=512, progress=lambda done, total: calls.append((done, total)))
        assert (got["added"], got["updated"], got["unchanged"], col.count()) == (530, 0, 0, 530)
        done = [d for d, _ in calls]
        assert calls[:2] == [(0, 530), (8, 530)] and calls[-1] == (530, 530)
        assert {t for _, t in calls} == {530} and done == sorted(done) and 512 in done
        assert len([d for d in done if 0 < d < 512]) >= 2  # steps within the first chunk
        plain = Collection.create("plain", use_encoder)
        with plain:
            index_records(plain, recs, chunk=512)
            a, b = col.vectors(), plain.vectors()
            assert list(a.keys) == list(b.keys) == [r.id for r in recs]
            np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-5)
        recs[3] = Record("n3", "a changed note on ferries", {"i": 3}, "n3.txt")
        recs[4] = Record("n4", recs[4].item, {"i": 40}, "n4.txt")  # metadata only
        calls.clear()
        again = index_records(col, recs, chunk=512, progress=lambda done, total: calls.append((done, total)))
        assert (again["added"], again["updated"], again["unchanged"]) == (0, 2, 528)
        assert calls == [(0, 530), (511, 530), (512, 530), (512, 530), (530, 530), (530, 530)]
        assert col.get(["n4"])[0].metadata["i"] == 40


# --------------------------------------------------------------------------- a terminal that reports no size
def _run_on_a_sizeless_terminal(cmd, env):
    """Run ``cmd`` on a pseudo-terminal opened without a window size (0 x 0); its whole output."""
    import os
    import pty
    import select
    import subprocess

    main, child = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=300) == 0, out[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    return out.decode("utf-8", "replace")


@pytest.mark.slow
def test_reading_bar_shows_in_the_cli_on_a_terminal_without_a_size(tmp_path, use_encoder):
    """tqdm draws a 0-wide bar (nothing) where the terminal reports 0 columns; rich's bars fall back to 80
    columns there, and so do ours now: `index` shows its reading bar (files/s, pages/s) over a folder of PDFs."""
    import os
    import re
    import sys

    from doc_builders import long_pdf

    docs = tmp_path / "pdfs"
    docs.mkdir()
    for i in range(6):
        long_pdf(docs / f"doc{i}.pdf", 30, seed=i)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")} | {"TERM": "xterm"}
    out = _run_on_a_sizeless_terminal([sys.executable, "-m", "embedlab", "index", "--dry-run", "docs", str(docs)],
                                      env)
    assert re.search(r"reading:\s+0%\|\s+\| 0/6 ", out), out[-2000:]
    assert re.search(r"reading: .*\| [1-6]/6 \[.*file/s, [\d,]+ pages, [\d.,]+ pages/s\]", out), out[-2000:]
    bars = [line for line in re.split(r"[\r\n]", out) if line.startswith("reading:")]
    assert bars and all(len(line) == 80 for line in bars)  # drawn 80 wide, the fallback width
    assert "6 document(s) read" in re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's colours left out


def test_index_rate_counts_from_the_first_report_not_the_bar_opening():
    """Reading and splitting come before the first report; the items/s shown leave that time out."""
    from embedlab.cli.collections import Rate

    times = iter([100.0, 102.0, 104.0, 104.0, 110.0])
    rate = Rate(lambda: next(times))
    assert rate.text(0) == ""  # the first report: nothing measured yet
    assert rate.text(8) == "4 items/s"  # 8 items in 2 s
    assert rate.text(2048) == "512 items/s"
    assert rate.text(2048) == "512 items/s"  # no time passed: the same rate
    assert rate.text(2048) == "205 items/s"  # 2048 in 10 s
    resumed = Rate(iter([0.0, 0.0, 5.0]).__next__)
    assert resumed.text(600) == "" and resumed.text(600) == "" and resumed.text(610) == "2 items/s"
