"""Long jobs report progress: the bars count exactly the work they promise (their estimate depends on it), and the
shared helpers stay silent off a terminal so --json and piped output are clean."""

from __future__ import annotations

import numpy as np
import pytest
from terminal_run import run_on_a_terminal

from embedlab import _progress
from embedlab.apps import recommend as R


def test_recommender_evaluation_counts_every_fit(monkeypatch, progress_bars):
    rng = np.random.default_rng(0)
    bars = progress_bars(R)
    content = rng.normal(size=(len(R.load_movielens().items), 8)).astype(np.float32)
    monkeypatch.setattr(R.ContentRecommender, "from_ratings", classmethod(lambda cls, *a, **k: cls(content)))
    grid = {"factors": [8], "regularization": [0.1, 1.0], "alpha": [1.0]}
    rows = R.evaluate_all(k=5, tune_grid=grid, signals=["ratings"], include_reference=False, progress=True)
    bar = bars[-1]
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
    return run_on_a_terminal(cmd, env, stdin_on_terminal=True)[0]


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


# --------------------------------------------------------------------------- off a terminal: plain lines
class Clock:
    """A clock a test sets by hand."""

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_progress_lines_are_due_after_a_second_then_every_ten_seconds_or_tenth():
    clock, out = Clock(), []
    lines = _progress.ProgressLines("indexing", "item", write=out.append, clock=clock)
    assert not lines.update(0, 100)  # at once: nothing (a step that ends within a second says nothing)
    clock.now = 0.5
    assert not lines.update(4, 100)
    clock.now = 2.0
    assert lines.update(8, 100)  # the first line, after a second
    clock.now = 2.5
    assert not lines.update(10, 100)  # a new tenth, but under a second after the last line
    clock.now = 4.0
    assert lines.update(12, 100)  # a new tenth, a second or more after the last line
    clock.now = 9.0
    assert not lines.update(19, 100)  # the same tenth, 5 s after
    clock.now = 14.0
    assert lines.update(19, 100)  # 10 s after the last line
    clock.now = 20.0
    assert not lines.update(100, 100)  # finished: the closing line says so
    lines.close(100, 100)
    assert out == [
        "indexing: 8/100 items (8 %), 4.0 items/s, 0:00:02 elapsed, about 0:00:23 left",
        "indexing: 12/100 items (12 %), 3.0 items/s, 0:00:04 elapsed, about 0:00:29 left",
        "indexing: 19/100 items (19 %), 1.4 items/s, 0:00:14 elapsed, about 0:01:00 left",
        "indexing: 100/100 items, done in 0:00:20",
    ]
    assert all("\r" not in line for line in out)
    quick = []
    fast = _progress.ProgressLines("reading", "file", write=quick.append, clock=Clock())
    fast.update(0, 3)
    fast.update(3, 3)
    fast.close(3, 3)
    assert quick == []  # nothing written: no closing line either


def test_progress_lines_leave_items_found_done_out_of_the_rate():
    """A resumed run: 1,024 items stored by the interrupted run are reported done at once; the rate and the
    time left are those of the work this run does (5 items/s), not 64 items/s."""
    clock, out = Clock(100.0), []
    lines = _progress.ProgressLines("indexing", "item", write=out.append, clock=clock)
    lines.update(0, 2860)
    lines.skip(1024)
    lines.update(1024, 2860)
    clock.now = 120.0
    lines.update(1124, 2860)
    assert out == ["indexing: 1,124/2,860 items (39 %), 1,024 found done already, 5.0 items/s, 0:00:20 elapsed, "
                   "about 0:05:47 left"]
    no_total = _progress.ProgressLines("words", "word", write=out.append, clock=clock, first_s=0)
    no_total.update(7, None)
    assert out[-1] == "words: 7 words, 0:00:00 elapsed"
    with pytest.raises(ValueError, match="delays must be >= 0, got first_s=-1, every_s=10.0, gap_s=1.0"):
        _progress.ProgressLines("x", first_s=-1)


def test_clock_text():
    assert [_progress.clock_text(s) for s in (0, 59.4, 61, 3600 * 7 + 62, -3)] == [
        "0:00:00", "0:00:59", "0:01:01", "7:01:02", "0:00:00"]


def test_a_bar_writes_plain_lines_when_stderr_is_a_file(tmp_path):
    """`embedlab index ... > log 2>&1`: stderr is a file, not a terminal; the bars of the library and of the
    CLI write lines (no carriage returns), and a step that ends within a second writes nothing."""
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text(
        "import time\n"
        "from embedlab._progress import progress_bar, working\n"
        "with progress_bar(30, 'demo', 'item') as bar:\n"
        "    for i in range(30):\n"
        "        time.sleep(0.1); bar.update(1)\n"
        "with working('loading the thing'):\n"
        "    time.sleep(1.6)\n"
        "with progress_bar(3, 'quick', 'item') as bar:\n"
        "    bar.update(3)\n"
        "with working('short'):\n"
        "    pass\n"
        "print('stdout stays clean')\n")
    log = tmp_path / "log"
    with open(log, "w") as err:
        done = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=err, timeout=120,
                              env={**__import__("os").environ, "CI": "true"}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stdout == b"stdout stays clean\n"
    text = log.read_text()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0].startswith("demo: ") and " items (" in lines[0] and " items/s, " in lines[0]
    assert " left" in lines[0]
    assert 1 <= len([x for x in lines if x.startswith("demo: ") and "left" in x]) <= 3
    assert [x for x in lines if x.startswith("demo: 30/30 items, done in 0:00:0")]
    assert lines[-2:] == ["loading the thing ...", "loading the thing: done in 0:00:02"]
    assert not [x for x in lines if x.startswith(("quick", "short"))]


def test_the_index_bar_writes_lines_off_a_terminal_with_an_honest_resumed_rate(capsys):
    from embedlab.cli.collections import progress_bar

    clock = Clock(50.0)
    with progress_bar("indexing", False, clock=clock) as step:  # pytest's console is not a terminal
        step(0, 2860)
        step.skip(1024)
        step(1024, 2860)
        clock.now = 80.0
        step(1174, 2860)
        clock.now = 81.0
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "indexing: 1,174/2,860 items (41 %), 1,024 found done already, 5.0 items/s, 0:00:30 elapsed, "
        "about 0:05:37 left",
        "indexing: 1,174/2,860 items, done in 0:00:31",
    ]
    with progress_bar("indexing", True, clock=clock) as step:  # --json: nothing
        step(0, 10)
        clock.now = 200.0
        step(5, 10)
    assert capsys.readouterr().err == ""


def test_progress_that_ends_by_an_exception_says_stopped_not_done(capsys, tmp_path):
    """Ctrl-C or an error inside a bar's block: its closing line says where it stopped, never "done"."""
    import subprocess
    import sys

    from embedlab.cli.collections import progress_bar

    out: list[str] = []
    clock = Clock()
    lines = _progress.ProgressLines("indexing", "item", write=out.append, clock=clock)
    clock.now = 2.0
    lines.update(161, 601)
    clock.now = 5.0
    lines.close(161, 601, stopped=True)
    assert out[-1] == "indexing: 161/601 items, stopped after 0:00:05"
    clock = Clock(10.0)
    with pytest.raises(KeyboardInterrupt):
        with progress_bar("indexing", False, clock=clock) as step:
            step(0, 601)
            clock.now = 12.0
            step(161, 601)
            clock.now = 15.0
            raise KeyboardInterrupt
    assert capsys.readouterr().err.splitlines() == [
        "indexing: 161/601 items (26 %), 80.5 items/s, 0:00:02 elapsed, about 0:00:05 left",
        "indexing: 161/601 items, stopped after 0:00:05",
    ]
    script = tmp_path / "job.py"
    script.write_text(
        "import time\n"
        "from embedlab._progress import progress_bar, working\n"
        "try:\n"
        "    with progress_bar(30, 'demo', 'item') as bar:\n"
        "        for i in range(12):\n"
        "            time.sleep(0.1); bar.update(1)\n"
        "        raise RuntimeError('boom')\n"
        "except RuntimeError: pass\n"
        "try:\n"
        "    with working('loading the thing'):\n"
        "        time.sleep(1.6); raise KeyboardInterrupt\n"
        "except KeyboardInterrupt: pass\n")
    log = tmp_path / "log"
    with open(log, "w") as err:
        done = subprocess.run([sys.executable, str(script)], stderr=err, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0
    text = log.read_text().splitlines()
    assert [x for x in text if x.startswith("demo: 12/30 items, stopped after 0:00:0")]
    assert not [x for x in text if "done in" in x]
    assert text[-2:] == ["loading the thing ...", "loading the thing: stopped after 0:00:02"]


def test_index_rate_and_time_left_leave_out_the_items_found_stored():
    from embedlab.cli.collections import Rate

    times = iter([0.0, 0.0, 30.0, 90.0])
    rate = Rate(lambda: next(times))
    assert rate.timing(0, 2860) == ""  # nothing reported yet
    assert rate.text(0) == "" and rate.timing(0, 2860) == "0:00:00 elapsed"
    rate.skip(1024)
    assert rate.text(1024) == "" and rate.timing(1024, 2860) == "0:00:00 elapsed"  # the jump is no work
    assert rate.text(1174) == "5 items/s"  # not (1174 / 30 =) 39 items/s
    assert rate.timing(1174, 2860) == "0:00:30 elapsed, about 0:05:37 left"
    assert rate.text(1474) == "5 items/s" and rate.timing(1474, 2860) == "0:01:30 elapsed, about 0:04:37 left"


def test_index_records_reports_items_found_stored_before_counting_them(use_encoder):
    from embedlab.ingest import Record
    from embedlab.passages import index_records
    from embedlab.store import Collection

    recs = [Record(f"n{i}", f"short note {i} on rivers and bridges", {"i": i}, f"n{i}.txt") for i in range(40)]
    events = []
    with Collection.create("resumed", use_encoder) as col:
        index_records(col, recs[:25], chunk=16)
        got = index_records(col, recs, chunk=16, progress=lambda done, total: events.append(("done", done)),
                            skipped=lambda n: events.append(("skip", n)))
        assert (got["added"], got["unchanged"], col.count()) == (15, 25, 40)
        # chunk 1: all 16 stored; chunk 2: 9 stored (said before they count), 7 encoded; chunk 3: 8 encoded
        assert events == [("done", 0), ("skip", 16), ("done", 16), ("done", 16), ("skip", 9), ("done", 25),
                          ("done", 32), ("done", 32), ("done", 40), ("done", 40)]


# --------------------------------------------------------------------------- first loads say what they do
def test_loading_an_encoder_says_so_in_one_line(monkeypatch, capsys):
    """minilm's first load took 27-44 s with nothing but transformers' own weight bar: the registry now names
    the load while it happens (here as plain lines: pytest's stderr is not a terminal)."""
    import time

    from embedlab.encoders import Encoder, register, registry
    from embedlab.encoders.registry import EncoderSpec

    class Slow(Encoder):
        name, dim = "test-slow-load", 2

        def __init__(self):
            time.sleep(0.3)  # a model's files being read

        def _encode_batch(self, items):
            return np.ones((len(items), 2), np.float32)

    monkeypatch.setattr(_progress, "FIRST_LINE_S", 0.05)
    register(EncoderSpec(name=Slow.name, factory=Slow, dim=2, modalities=("text",), extra="core"))
    try:
        first = registry.encoder(Slow.name)
        assert registry.encoder(Slow.name) is first  # shared: loaded (and announced) once
    finally:
        registry._SPECS.pop(Slow.name, None)
        for key in [k for k in registry._CACHE if k[0] == Slow.name]:
            del registry._CACHE[key]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "loading the encoder test-slow-load (once per process) ..."
    assert lines[1] == "loading the encoder test-slow-load (once per process): done in 0:00:00"
    assert len(lines) == 2


def test_a_spinner_inside_a_spinner_shows_the_outer_one_only(monkeypatch, capsys):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with _progress.working("indexing notes"):
        assert _progress._SPINNING == ["indexing notes"]
        with _progress.working("loading the encoder minilm"):  # no second live display (rich would refuse it)
            assert _progress._SPINNING == ["indexing notes"]
    assert _progress._SPINNING == []
    with pytest.raises(RuntimeError, match="boom"), _progress.working("outer"):
        raise RuntimeError("boom")
    assert _progress._SPINNING == []


def test_a_resumed_bar_leaves_its_initial_items_out_of_the_rate(capsys):
    """``progress_bar(..., initial=n)`` (tqdm's keyword, passed through): off a terminal the lines' rate counts
    only the items this run did, not the n done before it."""
    import re
    import time

    with _progress.progress_bar(2000, "resumed", "item", initial=1000) as bar:
        bar.lines.first_s, bar.mininterval = 0.0, 0.0
        time.sleep(0.2)
        bar.update(10)
        bar.lines.every_s = 0.0
        time.sleep(0.2)
        bar.update(10)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("resumed: 1,010/2,000 items (50 %), ") and lines[-1].startswith(
        "resumed: 1,020/2,000 items, done in 0:00:0")
    rates = [float(m.group(1).replace(",", "")) for m in map(re.compile(r", ([\d,.]+) items/s").search, lines) if m]
    assert rates and all(r < 200 for r in rates), lines  # about 20 items in 0.4 s; 1,020 would read > 2,000/s
    with _progress.progress_bar(5, "terminal options", "item", enabled=False, unit_scale=True) as off:
        assert off.disable and off.total == 5
