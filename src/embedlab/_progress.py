"""The progress bar of long library jobs (cross-validation, grid searches, evaluations, projections): tqdm on
stderr with the rate and an estimate of the time left; silent when progress is off (the CLI's ``--json``).

Where stderr is not a terminal (``> log 2>&1``, ``tee``, nohup, cron, CI logs) the bar becomes plain lines, no
carriage returns: nothing for a step that ends within a second, then a line, then one every 10 s or at each new
tenth of the total (at least a second apart), and a last line with the total time if any line was written.
stdout, where machine-readable output goes, stays clean.

    >>> with progress_bar(250, "cross-validation", "fit", enabled=True) as bar:
    ...     for task in tasks:
    ...         run(task); bar.update(1)
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["ProgressLines", "clock_text", "is_terminal", "progress_bar", "stage_bars", "working"]

FIRST_LINE_S = 1.0  # off a terminal: a step that ends sooner writes no line
LINE_EVERY_S = 10.0  # then a line at least this often
LINE_GAP_S = 1.0  # and at each new tenth of the total, but never closer together than this


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True, *, unit_scale: bool = False,
                 initial: int = 0, bar_format: str | None = None) -> Any:
    """A tqdm bar (a context manager with ``update(n)`` / ``set_postfix_str``), disabled unless ``enabled``.

    Where stderr is not a terminal (a log file, a pipe, CI) the bar writes plain lines instead (see
    ``ProgressLines``). A terminal that reports no size (0 x 0: a pseudo-terminal opened without one, as IDE
    consoles, ``script`` and test harnesses open them) gets a bar sized by ``COLUMNS`` / ``LINES``, else 80 x 24:
    tqdm would otherwise hide it (a bar on row 0 of a 0-row screen), while the CLI's rich bars (which fall back
    the same way) show. With a known total, the rate is always shown as units per second ("2.5 file/s", "0.4
    file/s"): tqdm's default turns a rate below one into seconds per unit ("2.50s/file"), so a bar's wording
    changed with the machine's speed.

    Parameters
    ----------
    total : int or None
        Units of work in the whole job (None: unknown, the bar shows a count and a rate).
    desc : str
        The bar's label.
    unit : str, default "it"
        What is counted (``"word"``, ``"step"``).
    enabled : bool, default True
        False: a disabled bar whose ``update`` / ``set_postfix_str`` / ``close`` do nothing.
    unit_scale : bool, default False
        Show counts and rates with SI prefixes (``1.2M word``), for counts in the millions.
    initial : int, default 0
        Units already done (a resumed job): the bar starts there and its rate and time left count only the work
        done now.
    bar_format : str or None, default None
        tqdm's layout on a terminal (None: tqdm's default with the rate in units per second), e.g. one without
        tqdm's own time left when the caller's postfix carries a better estimate (``train._eta.BAR_FORMAT``).

    Returns
    -------
    tqdm.tqdm
        The bar, open; close it (or use it as a context manager).
    """
    if enabled and not is_terminal():
        return _line_bar()(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, mininterval=LINE_GAP_S,
                           miniters=1, unit_scale=unit_scale, initial=initial)
    sized = _columns() > 0
    size = None if sized else shutil.get_terminal_size((80, 24))  # COLUMNS / LINES, else 80 x 24
    if bar_format is None and total is not None:
        bar_format = RATE_PER_SECOND
    return _bar_type()(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=sized,
                       ncols=None if size is None else size.columns, nrows=None if size is None else size.lines,
                       disable=None if enabled else True, unit_scale=unit_scale, initial=initial,
                       bar_format=bar_format)


RATE_PER_SECOND = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]"


@functools.cache
def _bar_type() -> Any:
    """tqdm's bar, drawing its last state when it closes: tqdm draws at most every 0.1 s (``mininterval``), so a
    job's last updates (often its whole run, for a short one) were never shown before the bar was cleared."""
    from tqdm.auto import tqdm

    class Bar(tqdm):  # type: ignore[misc]
        def close(self) -> None:
            if not self.disable and self.n != self.last_print_n:
                self.refresh()
            super().close()

    return Bar


def _columns() -> int:
    """The width stderr's terminal reports (0: none, or not a terminal)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):  # not a terminal; a stream without a file descriptor
        return 0


@contextlib.contextmanager
def stage_bars(unit: str = "it", enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """One bar per stage of a job made of several long stages; yields ``report(stage, done, total)``.

    A report naming another stage than the last (or counting back from it) closes the last stage's bar and opens
    one for this stage, so each bar's rate and time left are those of its own stage. Bars are ``progress_bar``'s
    (off unless ``enabled`` and stderr is a terminal); the last one closes when the block ends.

    Parameters
    ----------
    unit : str
        What the stages count (``"row"``).
    enabled : bool
        False: reports are taken and nothing is shown.

    Yields
    ------
    callable
        ``report(stage, done, total)``: ``stage`` names the bar, ``done`` (int) of ``total`` (int) are finished.
    """
    open_: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = open_.get("bar")
        if bar is None or open_["stage"] != stage or done < bar.n:
            if bar is not None:
                bar.close()
            bar = progress_bar(total, stage, unit, enabled)
            open_.update(bar=bar, stage=stage)
        bar.update(done - bar.n)

    try:
        yield report
    finally:
        if open_.get("bar") is not None:
            open_["bar"].close()


@contextlib.contextmanager
def working(desc: str, enabled: bool = True) -> Iterator[None]:
    """A line with the elapsed time, for a step whose length is not known in advance (loading a model, a
    library call without progress hooks); off when ``enabled`` is false. On a terminal it is a tqdm line as
    ``progress_bar``'s bars are (``"desc ... 00:03"``, redrawn twice a second, cleared at the end), so a command
    shows one style; inside another ``working`` step it shows nothing (the outer one speaks for both). Where
    stderr is not a terminal: a line ``"desc ..."`` once the step has run a second, and ``"desc: done in
    0:00:12"`` at its end (``"desc: stopped after 0:00:12"`` when an exception or Ctrl-C ends it; nothing for a
    step that ends sooner)."""
    if not enabled:
        yield
        return
    if not is_terminal():
        start, said = time.monotonic(), threading.Event()

        def say() -> None:
            said.set()
            _write(f"{desc} ...")

        timer = threading.Timer(FIRST_LINE_S, say)
        timer.daemon = True
        timer.start()
        end = "stopped after"  # unless the step finishes: Ctrl-C or an error inside it is not "done"
        try:
            yield
            end = "done in"
        finally:
            timer.cancel()
            if said.is_set():
                _write(f"{desc}: {end} {clock_text(time.monotonic() - start)}")
        return
    if _SPINNING:  # a spinner inside a spinner (a model loaded inside a step): the outer one speaks for both
        yield
        return
    sized = _columns() > 0
    size = None if sized else shutil.get_terminal_size((80, 24))  # as progress_bar's: COLUMNS / LINES, else 80 x 24
    bar = _bar_type()(total=None, desc=desc, file=sys.stderr, leave=False, bar_format=SPINNER_FORMAT,
                      dynamic_ncols=sized, ncols=None if size is None else size.columns,
                      nrows=None if size is None else size.lines)
    stop = threading.Event()

    def tick() -> None:  # the elapsed time moves while the step runs without reporting
        while not stop.wait(0.5):
            bar.refresh()

    ticker = threading.Thread(target=tick, name=f"working: {desc}", daemon=True)
    _SPINNING.append(desc)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        _SPINNING.pop()
        bar.close()


#: ``working``'s tqdm line on a terminal: what runs and for how long ("loading the encoder minilm ... 00:03").
SPINNER_FORMAT = "{desc} ... {elapsed}"


_SPINNING: list[str] = []  # the spinner showing, if any


def is_terminal() -> bool:
    """Whether stderr, where progress goes, is a terminal: ``progress_bar`` draws a tqdm bar there, plain lines
    (``ProgressLines``) elsewhere; a command's own progress decides the same way, so one run shows one style.

    Returns
    -------
    bool
        False also for a stream without ``isatty`` or a closed one.
    """
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced by an object without isatty; closed
        return False


def _write(line: str) -> None:
    """One line on stderr, flushed at once (a log file is read while the job runs)."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed or broken stderr: progress is never worth an error
        pass


def clock_text(seconds: float) -> str:
    """``seconds`` as ``H:MM:SS`` (``"0:04:05"``); negative counts as 0.

    Parameters
    ----------
    seconds : float
        A duration in seconds.

    Returns
    -------
    str
        Hours (any number of digits), minutes and seconds, rounded to the second.
    """
    total = max(0, round(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


class ProgressLines:
    """Plain progress lines for a stream that is not a terminal: ``"indexing: 1,024/2,860 items (35 %), 5.2
    items/s, 0:03:17 elapsed, about 0:05:53 left"``.

    ``update(done, total)`` writes a line when one is due: the first once ``first_s`` seconds have passed since
    the lines began (a step that ends sooner writes none), then after ``every_s`` seconds, or at a new tenth of
    the total at least ``gap_s`` after the last line. The rate and the time left count only the work done by
    this run: items reported through ``skip(n)`` (found already done, e.g. stored by an interrupted run) are
    left out of the rate, as tqdm's ``initial=`` leaves them out; the rate is measured from the first update.

    Parameters
    ----------
    desc : str
        What the lines are about (``"indexing"``).
    unit : str
        What is counted, singular (``"item"``); an ``"s"`` is added.
    write : callable or None
        Takes one line (without its newline); None: stderr.
    clock : callable
        Seconds as a float (``time.monotonic``; a test passes its own).
    first_s, every_s, gap_s : float or None
        The delays above, in seconds (>= 0); None: ``FIRST_LINE_S``, ``LINE_EVERY_S``, ``LINE_GAP_S`` (1, 10 and 1
        s) as the module holds them when the lines begin.

    Raises
    ------
    ValueError
        For a negative delay.
    """

    def __init__(self, desc: str, unit: str = "it", write: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, first_s: float | None = None,
                 every_s: float | None = None, gap_s: float | None = None) -> None:
        first_s = FIRST_LINE_S if first_s is None else first_s  # the module's settings when the lines begin
        every_s = LINE_EVERY_S if every_s is None else every_s
        gap_s = LINE_GAP_S if gap_s is None else gap_s
        if min(first_s, every_s, gap_s) < 0:
            raise ValueError(f"delays must be >= 0, got first_s={first_s}, every_s={every_s}, gap_s={gap_s}")
        self.desc, self.unit, self.write, self.clock = desc, unit, write or _write, clock
        self.first_s, self.every_s, self.gap_s = first_s, every_s, gap_s
        self.begun = clock()
        self.started: float | None = None  # the first update: the rate is measured from here
        self.skipped = 0  # items found done already, left out of the rate
        self.base = 0  # ``done`` at the first update, also left out of the rate
        self.last: float | None = None  # when the last line was written
        self.tenth = -1  # the tenth of the total the last line reached
        self.postfix = ""

    def skip(self, n: int) -> None:
        """Count ``n`` items (int >= 0) about to be reported done as found done already: not in the rate."""
        self.skipped += int(n)

    def rate(self, done: int, now: float) -> float | None:
        """Items per second done by this run after ``done`` items at ``now`` (None: nothing measured yet)."""
        if self.started is None or now <= self.started:
            return None
        work = done - self.base - self.skipped
        return work / (now - self.started) if work > 0 else None

    def line(self, done: int, total: int | None, now: float) -> str:
        """The line for ``done`` of ``total`` (None: unknown) items at ``now``, e.g. ``"indexing: 10/40 items
        (25 %), 2.0 items/s, 0:00:05 elapsed, about 0:00:15 left"``."""
        units = f"{self.unit}s"
        head = f"{done:,}/{total:,} {units} ({100 * done // total} %)" if total else f"{done:,} {units}"
        parts = [head]
        if self.skipped:
            parts.append(f"{self.skipped:,} found done already")
        rate = self.rate(done, now)
        if rate is not None:
            parts.append(f"{rate:,.1f} {units}/s")
        parts.append(f"{clock_text(now - self.begun)} elapsed")
        if rate is not None and total:
            parts.append(f"about {clock_text((total - done) / rate)} left")
        if self.postfix:
            parts.append(self.postfix)
        return f"{self.desc}: " + ", ".join(parts)

    def update(self, done: int, total: int | None) -> bool:
        """Note that ``done`` of ``total`` items are done; write a line if one is due. Returns whether it wrote."""
        now = self.clock()
        if self.started is None:
            self.started, self.base = now, done - self.skipped
        tenth = 10 * done // total if total else -1
        if total and done >= total:
            due = False  # finished: ``close`` says so
        elif self.last is None:
            due = now - self.begun >= self.first_s
        else:
            due = now - self.last >= self.every_s or (tenth > self.tenth and now - self.last >= self.gap_s)
        if due:
            self.write(self.line(done, total, now))
            self.last, self.tenth = now, tenth
        return due

    def close(self, done: int, total: int | None, stopped: bool = False) -> None:
        """The last line, if any line was written: ``"indexing: 40/40 items, done in 0:00:20"``, or with
        ``stopped`` (the work ended by an error or Ctrl-C, not by finishing) ``"indexing: 12/40 items, stopped
        after 0:00:20"``."""
        if self.last is not None:
            head = f"{done:,}/{total:,}" if total else f"{done:,}"
            end = "stopped after" if stopped else "done in"
            self.write(f"{self.desc}: {head} {self.unit}s, {end} {clock_text(self.clock() - self.begun)}")
            self.last = None


_LINE_BAR: Any = None


def _line_bar() -> Any:
    """The tqdm class whose display is ``ProgressLines`` (made once: tqdm is imported only when a bar is)."""
    global _LINE_BAR
    if _LINE_BAR is None:
        from tqdm.std import tqdm

        class LineBar(tqdm):  # type: ignore[misc]
            """tqdm writing ``ProgressLines`` instead of redrawing one line with carriage returns."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.lines = ProgressLines(kwargs.get("desc") or "", kwargs.get("unit", "it"))
                super().__init__(*args, **kwargs)

            def display(self, msg: str | None = None, pos: int | None = None) -> bool:
                if msg == "":  # tqdm clearing its line: there is none (and no carriage return to write)
                    return False
                self.lines.desc = self.desc.rstrip(": ") or self.lines.desc
                self.lines.postfix = self.postfix or ""
                self.lines.update(self.n, self.total)
                return True

            stopped = False  # the ``with`` block it closes ended by an exception (Ctrl-C, an error)

            def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> Any:
                self.stopped = exc_type is not None
                return super().__exit__(exc_type, exc_value, traceback)

            def close(self) -> None:
                if not self.disable:
                    self.lines.close(self.n, self.total, stopped=self.stopped)
                super().close()

        _LINE_BAR = LineBar
    return _LINE_BAR
