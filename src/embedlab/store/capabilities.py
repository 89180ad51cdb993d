"""What a storage backend's table declares about itself: ``Capabilities`` (see ``store/backend.py``).

Its own module so that backends (``store/local``, ``store/pg``) import it without importing ``backend.py``, which
chooses between them (``backend.connect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..index.base import SearchParams

__all__ = ["Capabilities"]


@dataclass(frozen=True)
class Capabilities:
    """What a Table is and what it can do, declared by its backend (a Collection asks this, never probes).

    Attributes
    ----------
    kind : str
        The backend kind: ``"local"`` or ``"postgresql"``.
    path : pathlib.Path or None
        The collection's folder on this machine (local backend); None where it lives elsewhere (a database).
    search_settings : frozenset of str
        The ``SearchParams`` fields (``"ef_search"``, ``"nprobe"``, ``"rescore"``) the backend passes on to its
        index; a search that sets another one is refused by ``check_search``. Whether the collection's own index
        kind takes a passed-on setting is the index's decision (an IVF index takes no ``ef_search``).
    set_index : bool
        Whether ``Table.set_index`` can rebuild the collection's index with other settings.
    refusal_note : str
        Why the settings outside ``search_settings`` are refused, appended to the error message (e.g. ``"its
        indexes are exact and HNSW over float32 vectors"``); empty for none.
    """

    kind: str
    path: Path | None
    search_settings: frozenset[str]
    set_index: bool
    refusal_note: str = ""

    def check_search(self, params: SearchParams) -> None:
        """Refuse the per-call search settings this backend cannot honour.

        Parameters
        ----------
        params : SearchParams
            The settings of one search; None fields are the index's saved ones and always pass.

        Raises
        ------
        InputError
            When ``params`` sets a field outside ``search_settings``; the message names every such field (e.g.
            ``"the postgresql backend takes no nprobe or rescore per query (...)"``).
        """
        refused = [name for name, value in (("ef_search", params.ef_search), ("nprobe", params.nprobe),
                                            ("rescore", params.rescore))
                   if value is not None and name not in self.search_settings]
        if refused:
            note = f" ({self.refusal_note})" if self.refusal_note else ""
            raise InputError(f"the {self.kind} backend takes no {' or '.join(refused)} per query{note}")
