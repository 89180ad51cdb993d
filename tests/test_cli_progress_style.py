"""`embedlab index` shows one progress style per run: its reading bar and its indexing bar are both
``_progress.progress_bar``'s (tqdm on stderr when stderr is a terminal, plain lines when it is not). The indexing
bar used to be rich's, drawn on stdout's console, beside tqdm's reading bar: two styles in one run, and plain
lines mixed with a tqdm bar when only stdout was redirected."""

from __future__ import annotations

import os
import re
import sys

import pytest
from terminal_run import run_on_a_terminal

from embedlab import _progress
from embedlab.cli import main

READING = re.compile(r"reading: \d+/3 files \(\d+ %\)(, [\d.,]+ files/s)?, 0:\d\d:\d\d elapsed(, about 0:\d\d:\d\d left)?$")
INDEXING = re.compile(r"indexing: [\d,]+/3 items \(\d+ %\)(, [\d.,]+ items/s)?, 0:\d\d:\d\d elapsed"
                      r"(, about 0:\d\d:\d\d left)?$")
CLOSING = re.compile(r"(reading: 3/3 files|indexing: 3/3 items), done in 0:\d\d:\d\d$")
RICH_BAR = "\u2501"  # rich's bar is drawn with this line character; tqdm's with blocks


@pytest.fixture
def notes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "notes"
    folder.mkdir()
    for i, text in enumerate(["The ferry leaves at nine.", "Bread is baked at dawn.", "The museum opens at ten."]):
        (folder / f"n{i}.txt").write_text(text, "utf-8")
    return folder


def test_index_off_a_terminal_writes_only_plain_progress_lines(notes, monkeypatch, capsys, use_encoder):
    """pytest's stderr is not a terminal: every progress line is a ``ProgressLines`` line (made due at once here),
    the reading bar's as the indexing bar's; no carriage return, escape code or bar anywhere."""
    monkeypatch.setattr(_progress, "FIRST_LINE_S", 0.0)
    monkeypatch.setattr(_progress, "LINE_EVERY_S", 0.0)
    monkeypatch.setattr(_progress, "LINE_GAP_S", 0.0)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["index", "notes", str(notes)])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    assert "3 added" in out
    for text in (out, err):
        assert "\r" not in text and "\x1b" not in text and RICH_BAR not in text and "%|" not in text
    progress = [line for line in err.splitlines() if line.startswith(("reading:", "indexing:"))]
    assert [line for line in progress if not (READING.match(line) or INDEXING.match(line) or CLOSING.match(line))] \
        == []
    assert [line for line in progress if line.startswith("reading:")]
    assert [line for line in progress if line.startswith("indexing:")]
    assert "indexing: 3/3 items, done in 0:00:0" in err and "reading: 3/3 files, done in 0:00:0" in err
    assert not [line for line in out.splitlines() if line.startswith(("reading:", "indexing:"))]  # stdout: results


def _run_with_stderr_on_a_terminal(cmd: list[str], stdout_too: bool) -> tuple[str, str]:
    """Run ``cmd`` with stderr (and stdout, if ``stdout_too``) on an 80 x 24 pseudo-terminal; (stdout piped, the
    terminal's whole output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "CI")} | {"TERM": "xterm"}
    screen, piped = run_on_a_terminal(cmd, env, size=(24, 80), stdout_on_terminal=stdout_too)
    return piped, screen


@pytest.mark.slow
@pytest.mark.parametrize("stdout_too", [True, False], ids=["both-on-the-terminal", "stdout-piped"])
def test_index_on_a_terminal_draws_tqdm_bars_only(notes, stdout_too):
    """On a terminal both of index's bars are tqdm's, on stderr; none is rich's, and stdout (piped or not) carries
    no progress."""
    piped, screen = _run_with_stderr_on_a_terminal(
        [sys.executable, "-m", "embedlab", "index", "notes", str(notes)], stdout_too)
    assert re.search(r"reading:\s+\d+%\|.*\| [0-3]/3 ", screen), screen[-2000:]
    assert re.search(r"indexing:\s+\d+%\|.*\| [0-3]/3", screen), screen[-2000:]
    assert RICH_BAR not in screen + piped
    assert "\x1b[?25l" not in screen  # rich's live displays (its bars and spinners) hide the cursor; tqdm does not
    plain = [line for line in re.split(r"[\r\n]", screen) if re.match(r"(reading|indexing): [\d,]+/3 (file|item)s", line)]
    assert plain == []  # no ProgressLines line (they read "indexing: 3/3 items ...") beside the bars
    assert "3 added" in re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen if stdout_too else piped)  # rich's colours out
    assert "%|" not in piped
