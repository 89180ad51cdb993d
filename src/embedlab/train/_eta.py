"""An honest time-left estimate for a training bar: none until the speed has been measured after a warm-up.

tqdm's own estimate starts from the first update's rate. A Word2Vec run's first block includes loading (or
compiling) the numba kernels and the threads' start, so its first estimate read "7:23:15" for a run of a few
minutes. ``WarmEta`` shows nothing until ``warmup_s`` seconds of work *after* the first update, then divides the
work left by the rate measured since that update.

    >>> eta = WarmEta(total=1000, warmup_s=2.0)
    >>> eta.text(100, now=10.0), eta.text(150, now=11.0), eta.text(300, now=12.0)
    ('', '', 'ETA 0:00:07')
"""

from __future__ import annotations

import math

__all__ = ["BAR_FORMAT", "WarmEta"]

#: tqdm's default layout without its own rate and time left (``{remaining}``): the postfix carries ours.
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


class WarmEta:
    """Time left from the rate measured after a warm-up.

    Parameters
    ----------
    total : int
        Units of work in the whole job (>= 0).
    warmup_s : float, default 2.0
        Seconds of work after the first update before an estimate is shown (>= 0).
    """

    def __init__(self, total: int, warmup_s: float = 2.0) -> None:
        self.total, self.warmup_s = int(total), float(warmup_s)
        self._mark: tuple[int, float] | None = None  # (units done, time) at the first update

    def rate(self, done: int, now: float) -> float | None:
        """Units per second since the first update, once the warm-up is over.

        Parameters
        ----------
        done : int
            Units done so far (the whole job's count).
        now : float
            The current time, in seconds (any monotonic clock, the same for every call).

        Returns
        -------
        float or None
            The measured rate, or None during the warm-up (the first call starts it).
        """
        if self._mark is None:
            self._mark = (int(done), float(now))
            return None
        d0, t0 = self._mark
        if now - t0 < self.warmup_s or done <= d0:
            return None
        return (done - d0) / (now - t0)

    def text(self, done: int, now: float) -> str:
        """The estimate to show: ``"ETA h:mm:ss"``, or ``""`` during the warm-up.

        Parameters
        ----------
        done : int
            Units done so far.
        now : float
            The current time, in seconds (as for ``rate``).

        Returns
        -------
        str
            ``""`` until the warm-up is over, then the time left at the measured rate, rounded up to a second.
        """
        r = self.rate(done, now)
        if r is None:
            return ""
        left = int(math.ceil(max(self.total - int(done), 0) / r))
        return f"ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
