"""A BM25 keyword index (``bm25s``) over tokens that handle Korean, saved beside a Collection.

    >>> kw = KeywordIndex.build(["a", "b"], ["파일을 열 수 없습니다", "permission denied"])
    >>> kw.search("파일이 없음", k=1)          # 파일 (file) matches 파일을 through its morpheme
    [('a', 0.69...)]

Scores are BM25 (Lucene variant; higher is better, 0 means no query token occurs). Only documents with a
positive score are returned: a keyword search never pads its results with non-matches.

On disk (``<collection>/keyword-index/``): ``keyword.json`` (format, format_version, tokenizer, the collection
generation it covers, ids) plus bm25s's own files (JSON + ``.npy``, no pickle). ``for_collection`` reuses it
while the collection's generation and the tokenizer are unchanged and rebuilds it from the stored texts
otherwise.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, FormatVersionError, InputError, MissingDependencyError
from ..persist import atomic_folder, read_versioned, versioned, write_json_atomic
from .tokenize import Tokenizer

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection

FORMAT = "embedlab.keyword-index"
FORMAT_VERSION = 1
FOLDER = "keyword-index"
META = "keyword.json"
TEXT_SUFFIXES = (".txt", ".md")


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError:  # pragma: no cover - bm25s is a core dependency
        raise MissingDependencyError("keyword search needs bm25s: pip install bm25s") from None
    return bm25s


class KeywordIndex:
    """BM25 over ``ids`` → texts; ``search`` returns ``(id, score)`` pairs, best first."""

    def __init__(self, ids: list[str], bm25: Any, tokenizer: Tokenizer, generation: int | None = None,
                 missing: int = 0) -> None:
        self.ids = ids
        self._row = {id_: i for i, id_ in enumerate(ids)}
        self._bm25 = bm25
        self.tokenizer = tokenizer
        self.generation = generation
        self.missing = missing  # collection items without a recoverable text (not keyword-searchable)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"KeywordIndex({len(self)} docs, tokenizer={self.tokenizer.name!r})"

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75,
              tokenizer: Tokenizer | None = None, progress: bool = False) -> KeywordIndex:
        """Tokenize ``texts`` and build the BM25 index (``ids[i]`` names ``texts[i]``)."""
        ids = [str(i) for i in ids]
        if len(ids) != len(texts):
            raise InputError(f"got {len(texts)} texts for {len(ids)} ids; pass one text per id")
        if not ids:
            raise InputError("no texts to index; pass at least one (id, text)")
        if len(set(ids)) != len(ids):
            raise InputError("duplicate ids; each id may appear once in a keyword index")
        tok = tokenizer or Tokenizer()
        tokens = tok.tokenize_many(list(texts))
        bm25 = _bm25s().BM25(k1=k1, b=b, method="lucene")
        bm25.index(tokens, show_progress=progress)
        return cls(ids, bm25, tok)

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, in ``ids`` order); ``mask`` zeroes the rest."""
        tokens = self._query_tokens(query)
        ids = self._bm25.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.ids), np.float32)
        out = np.asarray(self._bm25.get_scores_from_ids(ids), np.float32)
        if mask is not None:
            out = np.where(mask, out, np.float32(0))
        return out

    def search(self, query: str, k: int = 10, allowed: np.ndarray | set[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` best-scoring ``(id, score)`` pairs with score > 0; ``allowed`` (bool mask over ``ids`` or a
        set of ids) restricts the documents considered."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        mask = self._mask(allowed)
        s = self.scores(query, mask)
        pos = np.flatnonzero(s > 0)
        if len(pos) > k:
            pos = pos[np.argpartition(-s[pos], k - 1)[:k]]
        pos = pos[np.lexsort((pos, -s[pos]))]  # best first; ties by index order, so results are deterministic
        return [(self.ids[i], float(s[i])) for i in pos]

    def _mask(self, allowed: np.ndarray | set[str] | None) -> np.ndarray | None:
        if allowed is None:
            return None
        if isinstance(allowed, np.ndarray):
            if allowed.dtype != bool or allowed.shape != (len(self.ids),):
                raise InputError(f"allowed must be a bool mask of length {len(self.ids)} or a set of ids")
            return allowed
        mask = np.zeros(len(self.ids), bool)
        rows = [self._row[i] for i in allowed if i in self._row]
        mask[rows] = True
        return mask

    def _query_tokens(self, query: str) -> list[str]:
        if not isinstance(query, str):
            raise InputError(f"keyword search takes a text query, got {type(query).__name__}")
        if not query.strip():
            raise InputError("empty query; pass some words to search for")
        return self.tokenizer(query)

    # ------------------------------------------------------------------ files
    def save(self, folder: str | Path) -> Path:
        """Write the index to ``folder`` (replaced as a whole: built aside, then renamed into place)."""
        with atomic_folder(folder) as tmp:
            self._bm25.save(tmp, show_progress=False)
            write_json_atomic(tmp / META, versioned(FORMAT, FORMAT_VERSION, tokenizer=self.tokenizer.name,
                                                   generation=self.generation, missing=self.missing,
                                                   count=len(self.ids), ids=self.ids), indent=None)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, tokenizer: Tokenizer | None = None) -> KeywordIndex:
        """Read an index written by ``save``; FormatVersionError for a newer format, CorruptFileError if damaged."""
        folder = Path(folder)
        if not (folder / META).is_file():
            raise InputError(f"no keyword index in {folder}; build one with KeywordIndex.build(...).save()")
        meta = read_versioned(folder / META, FORMAT, FORMAT_VERSION, "keyword index", f"delete {folder} to rebuild it")
        if not isinstance(meta.get("ids"), list):
            raise CorruptFileError(f"{folder / META} lacks its list of ids; delete {folder} to rebuild it")
        try:
            bm25 = _bm25s().BM25.load(folder, show_progress=False)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptFileError(f"{folder} holds a damaged BM25 index ({exc}); delete it to rebuild") from None
        tok = tokenizer or Tokenizer()
        if tok.name != meta.get("tokenizer"):
            raise InputError(f"{folder} was built with tokenizer {meta.get('tokenizer')!r} but {tok.name!r} is in "
                             "use here; rebuild the index")
        ids = [str(i) for i in meta["ids"]]
        if len(ids) != int(bm25.scores["num_docs"]):
            raise CorruptFileError(f"{folder}: {len(ids)} ids for {bm25.scores['num_docs']} documents; delete it")
        return cls(ids, bm25, tok, meta.get("generation"), int(meta.get("missing", 0)))

    # ------------------------------------------------------------------ collections
    @classmethod
    def for_collection(cls, collection: Collection, *, texts: dict[str, str] | None = None, rebuild: bool = False,
                       save: bool | None = None) -> KeywordIndex:
        """The keyword index of a collection, reused while it is current.

        The saved one is used while it matches the collection's generation and the tokenizer; else it is rebuilt
        from ``texts`` or from the texts the collection stores, and saved beside it.

        Parameters
        ----------
        collection : Collection
            The collection (its ``cache_dir`` holds the saved index).
        texts : dict of str to str, optional
            id → text to index instead of the stored texts.
        rebuild : bool
            Rebuild even when the saved index is current.
        save : bool or None
            Save the rebuilt index; None: unless the collection is read-only.

        Returns
        -------
        KeywordIndex
            Covering the collection's current generation.

        Raises
        ------
        InputError
            When the collection is empty or stores no texts (pass ``texts=``).
        """
        folder = Path(collection.cache_dir) / FOLDER
        generation = collection.generation
        tok = Tokenizer()
        if not rebuild and texts is None:
            kw = _CACHE.get(collection)
            if kw is not None and kw.generation == generation and kw.tokenizer.name == tok.name:
                return kw
            if (folder / META).is_file():
                try:
                    kw = cls.load(folder, tok)
                except (InputError, CorruptFileError, FormatVersionError):
                    kw = None
                if kw is not None and kw.generation == generation:
                    _CACHE[collection] = kw
                    return kw
        ids = collection.ids()
        if not ids:
            raise InputError(f"collection {collection.name!r} is empty; add items before a keyword search")
        known = texts if texts is not None else stored_texts(collection, ids)
        have = [i for i in ids if isinstance(known.get(i), str) and known[i].strip()]
        if not have:
            raise InputError(f"collection {collection.name!r} stores no texts for its {len(ids)} item(s) (they were "
                             "indexed from files or table rows); pass texts={id: text} to build the keyword index")
        kw = cls.build(have, [known[i] for i in have], tokenizer=tok)
        kw.generation, kw.missing = generation, len(ids) - len(have)
        if save is None:
            save = not collection.readonly
        if save:
            try:
                kw.save(folder)
            except OSError:  # a cache: the next call rebuilds instead
                pass
        _CACHE[collection] = kw
        return kw


# Collection object -> its keyword index, so repeated queries on an open collection skip the disk; entries go
# away with the Collection object (a collection dropped and re-created is a new object, never a stale hit).
_CACHE: weakref.WeakKeyDictionary[Collection, KeywordIndex] = weakref.WeakKeyDictionary()


def stored_texts(collection: Collection, ids: Sequence[str]) -> dict[str, str]:
    """The texts a keyword index is built from.

    For each item: its text as ``Collection.texts`` gives it (the content it was encoded from, else — in a
    collection written by an earlier version, or a vector added with one — a ``text`` metadata string), else —
    for collections written before contents were stored — the source when it is the text itself
    (``Collection.add`` with strings stored it so). Source files are never read: they may have changed or gone
    since they were indexed.

    Parameters
    ----------
    collection : Collection
        The collection read.
    ids : sequence of str
        Ids of stored items (unknown ones are skipped).

    Returns
    -------
    dict of str to str
        id → text, for the items that have one.
    """
    out: dict[str, str] = {}
    for start in range(0, len(ids), 10_000):
        chunk = list(ids[start:start + 10_000])
        texts = dict(zip(chunk, collection.texts(chunk, missing="skip"), strict=True))  # no vectors read
        rest = [i for i in chunk if texts[i] is None]
        sources = {it.id: it.source for it in collection.get(rest, missing="skip")} if rest else {}
        for id_ in chunk:
            text = texts[id_]
            if text is not None:
                out[id_] = text
                continue
            src = sources.get(id_)
            if not src or _looks_like_row_source(src):
                continue
            if src.endswith(TEXT_SUFFIXES) and "\n" not in src and len(src) < 4096:
                continue  # a file name, not a text
            out[id_] = src
    return out


def _looks_like_row_source(src: str) -> bool:
    """``table.csv:12``-style sources name a row of a file, not a text."""
    head, sep, _ = src.rpartition(":")
    return bool(sep) and head.lower().endswith((".csv", ".tsv", ".jsonl", ".ndjson", ".json")) and "\n" not in src
