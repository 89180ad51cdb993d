"""Upsert a chunk of items with progress inside it: the new and changed items are encoded in steps sized to take
about half a second each (the first step small, for a quick first estimate), each step reported, then written
in one commit as ``Collection.upsert`` would. A chunk of 512 items on a slow encoder otherwise reports nothing
for a minute or more."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..encoders import TruncationWarning, truncation_report

if TYPE_CHECKING:  # pragma: no cover
    from ..encoders import Encoder
    from ..ingest import Record
    from ..store import Collection

FIRST_STEP = 8  # items in the first encoder call: a first estimate within a second or two even on a slow model
PACE_S = 0.5  # the seconds each later step aims at (so the bar moves at least about once a second)


def encode_paced(encoder: Encoder, items: Sequence[Any], report: Callable[[int], None], *, normalize: bool,
                 batch_size: int = 64, pace: float = PACE_S, first: int = FIRST_STEP,
                 clock: Callable[[], float] = time.monotonic) -> np.ndarray:
    """Encode ``items`` as documents in steps of about ``pace`` seconds, calling ``report(done)`` after each.

    The first step encodes ``first`` items; each later one as many as the last step's rate fits in ``pace``
    seconds (at least 1, at most ``batch_size``). The encoder's warnings of the steps are given once:
    truncations summed into one ``TruncationWarning``, any other warning once per distinct message.

    Parameters
    ----------
    encoder : Encoder
        Encodes the items (``encode_documents``).
    items : sequence
        The raw inputs (``n`` >= 1).
    report : callable
        ``report(done)`` with the number of items encoded so far (int, 1..n), after each step.
    normalize : bool
        Unit-length vectors (as ``encode_documents``'s ``normalize``).
    batch_size : int
        The largest step, in items (>= 1).
    pace : float
        Seconds each step aims at (> 0).
    first : int
        Items in the first step (>= 1).
    clock : callable
        Seconds as a float (``time.monotonic``; a test passes its own).

    Returns
    -------
    numpy.ndarray
        ``(n, encoder.dim)`` float32 vectors, in the order of ``items``.

    Raises
    ------
    InputError
        For items the encoder refuses, ``batch_size < 1`` (from the encoder), or an empty ``items``.
    ValueError
        For ``pace <= 0`` or ``first < 1``.
    """
    if pace <= 0 or first < 1:
        raise ValueError(f"pace must be > 0 and first >= 1, got pace={pace}, first={first}")
    if len(items) == 0:
        return encoder.encode_documents(list(items), batch_size=batch_size, normalize=normalize)  # its InputError
    encoder.validate(items)  # a bad item is refused before any step, named by its position in ``items``
    parts: list[np.ndarray] = []
    done, size = 0, max(1, min(first, batch_size))
    with truncation_report() as cuts, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        while done < len(items):
            step = list(items[done:done + size])
            start = clock()
            parts.append(encoder.encode_documents(step, batch_size=batch_size, normalize=normalize))
            took = clock() - start
            done += len(step)
            report(done)
            size = int(max(1, min(batch_size, len(step) * pace / max(took, 1e-9))))
    _warn_once(encoder, caught, cuts.truncated, len(items))
    return np.concatenate(parts)


def upsert_paced(collection: Collection, part: Sequence[Record], report: Callable[[int], None],
                 batch_size: int = 64, skipped: Callable[[int], None] | None = None) -> dict[str, int]:
    """``collection.upsert`` of ``part`` with ``report(done)`` calls while it encodes (see ``encode_paced``).

    Items whose content is stored as it is are written first (their metadata/source only, nothing encoded) and
    counted done; the rest are encoded in paced steps and written in one commit.

    Parameters
    ----------
    collection : Collection
        The collection written to; it has an encoder.
    part : sequence of Record
        The items (ids unique), in write order.
    report : callable
        ``report(done)`` with the number of items of ``part`` written or encoded so far.
    batch_size : int
        The largest encoder call, in items.
    skipped : callable or None
        ``skipped(n)`` just before the report that counts the ``n`` items stored as they are (none encoded), so
        a bar can leave them out of its rate.

    Returns
    -------
    dict of str to int
        ``{"added", "updated", "unchanged"}``, as ``Collection.upsert`` counts them.

    Raises
    ------
    InputError
        As ``Collection.upsert`` raises.
    """
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    encoder = collection.encoder
    assert encoder is not None
    todo = collection.changed([r.id for r in part], [r.item for r in part])
    rest = sorted(set(range(len(part))) - set(todo))
    for which, vectors in ((rest, None), (todo, "encode")):
        if not which:
            continue
        rows = [part[i] for i in which]
        vecs = None
        if vectors is not None:
            vecs = encode_paced(encoder, [r.item for r in rows], lambda k: report(len(rest) + k),
                                normalize=collection.metric == "cosine", batch_size=batch_size)
        got = collection.upsert([r.id for r in rows], [r.item for r in rows], vectors=vecs,
                                metadata=[r.metadata for r in rows], sources=[r.source for r in rows])
        for key in counts:
            counts[key] += int(got.get(key, 0))
        if vectors is None:
            if skipped is not None:
                skipped(len(rest))
            report(len(rest))
    return counts


def _warn_once(encoder: Encoder, caught: list[warnings.WarningMessage], cut: int, total: int) -> None:
    """Give the steps' warnings again, once each; the steps' ``cut`` truncations as one summed warning.

    ``cut`` comes from ``truncation_report`` (a context variable), not from ``caught``: another thread leaving its
    own ``catch_warnings`` may restore the process-wide warning state under this one, losing records.
    """
    seen: set[tuple[type, str]] = set()
    for w in caught:
        if isinstance(w.message, TruncationWarning):
            continue
        key = (w.category, str(w.message))
        if key not in seen:
            seen.add(key)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if cut:
        warnings.warn(TruncationWarning(
            f"{encoder.name}: {cut} of {total} input(s) exceeded max_length={encoder.max_length} and were truncated; "
            "split long texts into passages to keep all content", truncated=cut, total=total, encoder=encoder.name),
            stacklevel=3)
