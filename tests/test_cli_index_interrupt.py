"""Ctrl-C during `embedlab index`: a real process on a terminal, sent SIGINT once its bar shows a committed chunk,
says in one line what is stored and that the same command continues; the re-run completes the collection."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import pytest

from embedlab.store import Collection

ROWS = 3000


def _sigint_default() -> None:
    """In the child before exec: SIGINT as a terminal would deliver it (a shell's background job ignores it, and
    Python then keeps ignoring it instead of raising KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _read_until(fd: int, pattern: re.Pattern[str], proc: subprocess.Popen, limit: float = 300.0) -> str:
    """The terminal's output up to the first match of ``pattern`` (or the process's end)."""
    seen, end = "", time.monotonic() + limit
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536).decode("utf-8", "replace")
            except OSError:  # the child closed the terminal
                break
            seen += chunk
            if pattern.search(seen):
                return seen
        elif proc.poll() is not None:
            break
    pytest.fail(f"no {pattern.pattern!r} in the output: {seen[-2000:]!r}")


@pytest.mark.slow
def test_ctrl_c_says_what_was_written_and_the_rerun_completes(tmp_path, use_encoder):
    rows = tmp_path / "notes.jsonl"
    rows.write_text("".join(json.dumps({"id": f"n{i}", "text": f"note {i}: the ferry leaves the harbour at {i % 24}h"})
                            + "\n" for i in range(ROWS)), "utf-8")
    cmd = [sys.executable, "-m", "embedlab", "index", "notes", str(rows)]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    main, child = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=child, stdout=child, stderr=child, env=env, start_new_session=True,
                            preexec_fn=_sigint_default)
    os.close(child)
    try:
        # the bar counts N/3000; the first chunk (512 items) is committed once N passes 512
        _read_until(main, re.compile(r"\b(51[3-9]|5[2-9]\d|[6-9]\d\d|1\d\d\d)/3,?000\b"), proc)
        proc.send_signal(signal.SIGINT)
        rest = _read_until(main, re.compile(r"interrupted[^\n]*continue[^\n]*\n"), proc)
        assert proc.wait(timeout=120) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    line = re.search(r"interrupted: ([\d,]+) item\(s\) added by this run; collection 'notes' holds ([\d,]+) "
                     r"item\(s\) and is marked incomplete until a run completes \(embedlab list shows it so\); run "
                     r"the same command again to continue: stored items are skipped, not encoded again", rest)
    assert line, rest[-1500:]
    added, held = (int(g.replace(",", "")) for g in line.groups())
    assert added == held and 512 <= held < ROWS and held % 512 == 0  # whole chunks only
    assert "Traceback" not in rest
    again = subprocess.run([*cmd, "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    res = json.loads(again.stdout)
    assert (res["added"], res["unchanged"], res["count"]) == (ROWS - held, held, ROWS)
    with Collection.open("notes") as col:
        assert col.incomplete is None and col.count() == ROWS
        assert sorted(col.ids()) == sorted(f"n{i}" for i in range(ROWS))


@pytest.mark.slow
def test_ctrl_c_while_reading_says_nothing_was_written(tmp_path, use_encoder):
    from doc_builders import long_pdf

    docs = tmp_path / "pdfs"
    docs.mkdir()
    for i in range(40):
        long_pdf(docs / f"doc{i}.pdf", 30, seed=i)
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "embedlab", "index", "library", str(docs)], stdin=child,
                            stdout=child, stderr=child, env=env, start_new_session=True, preexec_fn=_sigint_default)
    os.close(child)
    try:
        _read_until(main, re.compile(r"reading: .*\| [1-9]\d?/40 "), proc)  # a file read, many to go
        proc.send_signal(signal.SIGINT)
        rest = _read_until(main, re.compile(r"interrupted[^\n]*\n"), proc)
        assert proc.wait(timeout=120) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    assert ("interrupted before anything was written to 'library' (it is as it was); run the same command again "
            "to index") in rest
    assert "Traceback" not in rest and "library" not in Collection.names()


def test_ctrl_c_while_the_commands_load_is_one_line_not_a_traceback(tmp_path):
    """SIGINT in the first second of a run (the command modules importing): exit 130 and one line, as Ctrl-C
    later in the run, not a traceback of whichever import it stopped."""
    script = tmp_path / "run.py"
    script.write_text(
        "import os, signal, sys\n"
        "class Stop:  # a real SIGINT, delivered while _load_commands imports embedlab.cli.words\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'embedlab.cli.words':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Stop())\n"
        "from embedlab.cli import main\n"
        "main(['index', 'notes', sys.argv[1]])\n")
    (tmp_path / "a.txt").write_text("a note\n", "utf-8")
    env = {**os.environ, "EMBEDLAB_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "a.txt")], capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=_sigint_default, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stdout) == (130, "")
    assert done.stderr == ("interrupted while embedlab was starting, before the command began: nothing was read "
                           "or written; run the same command again\n")
    assert not (tmp_path / "home" / "collections").exists()
