"""The progress bar of long library jobs (cross-validation, grid searches, evaluations, projections): tqdm on
stderr with the rate and an estimate of the time left; silent when progress is off (the CLI's ``--json``) or
stderr is not a terminal (pipes, CI logs), so machine-readable output stays clean.

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
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["progress_bar", "stage_bars", "working"]


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True, *, unit_scale: bool = False,
                 initial: int = 0, bar_format: str | None = None) -> Any:
    """A tqdm bar (a context manager with ``update(n)`` / ``set_postfix_str``), disabled unless ``enabled`` and
    stderr is a terminal.

    A terminal that reports no size (0 x 0: a pseudo-terminal opened without one, as IDE consoles, ``script``
    and test harnesses open them) gets a bar sized by ``COLUMNS`` / ``LINES``, else 80 x 24: tqdm would
    otherwise hide it (a bar on row 0 of a 0-row screen), while the CLI's rich bars (which fall back the same
    way) show. With a known total, the rate is always shown as units per second ("2.5 file/s", "0.4 file/s"):
    tqdm's default turns a rate below one into seconds per unit ("2.50s/file"), so a bar's wording changed with
    the machine's speed.

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
        Units already done (a resumed job): the bar starts there and its rate counts only the work done now.
    bar_format : str or None, default None
        tqdm's layout (None: tqdm's default with the rate in units per second), e.g. one without tqdm's own time
        left when the caller's postfix carries a better estimate (``train._eta.BAR_FORMAT``).

    Returns
    -------
    tqdm.tqdm
        The bar, open; close it (or use it as a context manager).
    """
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
    """A spinner with the elapsed time, for a step whose length is not known in advance (loading a model, a
    library call without progress hooks); off when ``enabled`` is false or stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        bar.add_task(desc, total=None)
        yield
