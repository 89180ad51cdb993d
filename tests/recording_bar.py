"""One stand-in for ``_progress.progress_bar`` in the tests that check what a job promises and reports: a
``RecordingBar`` records its total, label, unit and whether it was enabled, counts every update, and keeps each
postfix with the count it was set at. The ``progress_bars`` fixture (conftest.py) puts it in place of a module's
``progress_bar`` and hands back the list of bars made, in order."""

from __future__ import annotations

from typing import Any


class RecordingBar:
    """Stands in for ``progress_bar(total, desc, unit, enabled, **options)``: records the promised total and every
    update (``n``), postfix (``postfixes``; ``steps``: ``(n, text)`` pairs) and whether it was closed."""

    def __init__(self, total: int | None, desc: str, unit: str = "it", enabled: bool = True, *,
                 made: list[RecordingBar] | None = None, **options: Any) -> None:
        self.total, self.desc, self.unit, self.enabled, self.options = total, desc, unit, enabled, options
        self.n, self.postfixes, self.steps, self.closed = 0, [], [], False
        if made is not None:
            made.append(self)

    def __enter__(self) -> RecordingBar:
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.close()
        return False

    def update(self, n: int) -> None:
        self.n += n

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfixes.append(text)
        self.steps.append((self.n, text))

    def close(self) -> None:
        self.closed = True


def recording_into(made: list[RecordingBar]) -> Any:
    """A ``progress_bar`` that makes ``RecordingBar`` s and appends each to ``made``."""

    def progress_bar(*args: Any, **kwargs: Any) -> RecordingBar:
        return RecordingBar(*args, made=made, **kwargs)

    return progress_bar
