"""The folder a file given by itself is keyed relative to, so it gets the id its folder's indexing gives it.

``embedlab index notes/`` keys ``notes/sub/a.md`` as ``sub/a.md``; the same file given by itself used to be keyed
by its name (``a.md``), so indexing one file and then its folder (or the other way round) keyed one file two
ways, and each run re-keyed it. The collection's stored items tell which folders it was indexed from: an item
whose resolved source ends with its id (``/home/me/notes`` + ``/sub/a.md``) was indexed from that folder. A file
given by itself is keyed relative to the folder it was stored from, else the one above it that most items were
indexed from; with none of either (a new collection), by its own folder, as before.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection

_PASSAGE = re.compile(r"#\d+\Z")


def file_roots(collection: Collection, paths: Sequence[str | Path]) -> dict[str | Path, Path]:
    """For each file among ``paths``, the folder its id should be relative to, from what the collection holds.

    Parameters
    ----------
    collection : Collection
        The collection the files are about to be indexed into (its ids and sources are read, no vector).
    paths : sequence of str or Path
        The paths given to index; folders and missing paths are left out.

    Returns
    -------
    dict of str to Path
        Path as given → resolved folder above it, for ``ingest.read_sources(roots=)``; only files whose root is
        not their own folder (the default) are named.
    """
    files = {str(p): Path(p).expanduser().resolve() for p in paths if Path(p).expanduser().is_file()}
    if not files:
        return {}
    counts: Counter[str] = Counter()
    stored_from: dict[str, str] = {}
    for id_, source in collection.sources().items():
        doc = _PASSAGE.sub("", id_)
        if not source or not os.path.isabs(source) or not source.endswith(os.sep + doc.replace("/", os.sep)):
            continue  # a table row (path:line N), a relative source of an older version, a stem id
        folder = source[: -len(doc) - 1]
        counts[folder] += 1
        stored_from[source] = folder
    out: dict[str | Path, Path] = {}
    for given, file in files.items():
        root = stored_from.get(str(file))
        if root is None:
            above = [r for r in counts if file.is_relative_to(r)]
            root = max(above, key=lambda r: (counts[r], len(r))) if above else None
        if root is not None and Path(root) != file.parent:
            out[given] = Path(root)
    return out
