"""Writing to a Collection: add, upsert, delete, and the segment upkeep that follows them (merging small
segments, compaction).

Each write is one ``_write()`` transaction (write lock + ``BEGIN IMMEDIATE``, see ``_snapshot``): new vectors go
to a fresh append-only segment file, ids/metadata/tombstones to the catalogue, and the commit makes both visible.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..metrics import as_matrix, normalize
from . import _inputs, db
from .segments import SEGMENT_DIR, CachedANN, write_segment

SMALL_SEGMENT_BYTES = 32 << 20  # segments smaller than this get merged with their small neighbours ...
MERGE_FAN = 8  # ... once this many of them trail the segment list


class WriteMixin:
    """Writing for Collection (which provides _read, _write, _rows, _live_blocks, _save_ann, _conn, _segs, _count,
    encoder, path, name, dim, metric, readonly, lock_timeout and auto_compact)."""

    def _vectors_for(self, items: Sequence[Any] | None, vectors: ArrayLike | None, n: int, batch_size: int,
                     progress: bool) -> np.ndarray:
        if (items is None) == (vectors is None):
            raise InputError("pass either items (raw inputs for the encoder) or vectors=, exactly one of them")
        if vectors is not None:
            vecs = as_matrix(vectors, dim=self.dim, name="vectors")
            if len(vecs) != n:
                raise InputError(f"got {len(vecs)} vectors for {n} ids; pass exactly one vector per id")
        else:
            enc = self.encoder
            if enc is None:
                raise InputError(f"collection {self.name!r} is vectors-only (no encoder); pass vectors=")
            items = _inputs.check_items(items, n)
            vecs = as_matrix(enc.encode(items, batch_size=batch_size, progress=progress,
                                        normalize=self.metric == "cosine"), dim=self.dim, name="encoded vectors")
        if self.metric == "cosine":
            vecs = normalize(vecs)
        return vecs

    def _hashes(self, items: Sequence[Any]) -> list[str]:
        text_only = self.encoder is not None and tuple(self.encoder.modalities) == ("text",)
        return [_inputs.item_hash(x, text_only) for x in items]

    def _append(self, pending: list[Path], ids: list[str], vecs: np.ndarray, metas: list[str],
                srcs: Sequence[str | None], hashes: Sequence[str | None], kill: Sequence[int] = ()) -> None:
        """Write one new segment and record it and its rows in the open write transaction."""
        st = db.state(self._conn)
        gen, start, n = st["generation"] + 1, st["next_label"], len(ids)
        file = f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"
        path = self.path / SEGMENT_DIR / file
        pending.append(path)
        write_segment(path, [vecs], n, self.dim)
        c = self._conn
        c.execute("INSERT INTO segments(file, start, rows, gen) VALUES (?, ?, ?, ?)", (file, start, n, gen))
        if kill:
            c.executemany("DELETE FROM items WHERE label = ?", [(lb,) for lb in kill])
            c.executemany("INSERT INTO dead(label, gen) VALUES (?, ?)", [(lb, gen) for lb in kill])
        try:
            c.executemany("INSERT INTO items(label, id, metadata, source, hash) VALUES (?, ?, ?, ?, ?)",
                          zip(range(start, start + n), ids, metas, srcs, hashes))
        except db.sqlite3.IntegrityError:  # UNIQUE(id): the transaction is rolled back by _write
            self._refuse_existing(ids, in_txn=True, below=start)  # rows inserted just now do not count
            raise
        db.set_state(c, generation=gen, next_label=start + n, count=st["count"] + n - len(kill))

    def add(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: ArrayLike | None = None,
            metadata: Sequence[dict] | None = None, sources: Sequence[str | None] | None = None,
            batch_size: int = 64, progress: bool = False) -> int:
        """Add new items (encoded from ``items`` or given as ``vectors``); an existing id raises InputError and
        nothing is written. One new segment and one commit; returns how many were added."""
        ids = _inputs.check_ids(ids)
        n = len(ids)
        metas = _inputs.check_metadata(metadata, n) or ["{}"] * n
        srcs = _inputs.check_sources(sources, n)
        hashes: list[str | None] = [None] * n
        if items is not None and vectors is None:
            _inputs.check_items(items, n)
            self._refuse_existing(ids)  # before spending time on encoding
            hashes = self._hashes(items)
        vecs = self._vectors_for(items, vectors, n, batch_size, progress)
        if srcs is None:
            srcs = [_inputs.default_source(x) for x in items] if items is not None else [None] * n
        with self._write() as pending:
            self._append(pending, ids, vecs, metas, srcs, hashes)
        self._merge_small()
        return n

    def _refuse_existing(self, ids: list[str], in_txn: bool = False, below: int | None = None) -> None:
        if in_txn:
            found = {k: v for k, v in db.lookup(self._conn, ids).items() if below is None or v[0] < below}
        else:
            with self._read():
                found = db.lookup(self._conn, ids)
        if found:
            dup = [i for i in ids if i in found][:5]
            raise InputError(f"{len(found)} id(s) already in collection {self.name!r}, e.g. {dup}; use upsert to "
                             "replace them or delete them first")

    def upsert(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: ArrayLike | None = None,
               metadata: Sequence[dict] | None = None, sources: Sequence[str | None] | None = None,
               batch_size: int = 64, progress: bool = False) -> dict[str, int]:
        """Add new ids, replace changed ones, skip unchanged ones (same content hash, or the same vector: not
        re-encoded, not rewritten). ``metadata``/``sources`` of None keep an existing item's metadata and source."""
        ids = _inputs.check_ids(ids)
        n = len(ids)
        metas = _inputs.check_metadata(metadata, n)
        srcs = _inputs.check_sources(sources, n)
        if (items is None) == (vectors is None):
            raise InputError("pass either items (raw inputs for the encoder) or vectors=, exactly one of them")
        if items is not None:
            items = _inputs.check_items(items, n)
            hashes = self._hashes(items)
        else:
            vectors = self._vectors_for(None, vectors, n, batch_size, progress)
            hashes = [None] * n
        with self._write() as pending:
            found = db.lookup(self._conn, ids)
            if vectors is not None:  # compare with the stored rows (both prepared the same way)
                known = [i for i, id_ in enumerate(ids) if id_ in found]
                stored = self._rows(np.array([found[ids[i]][0] for i in known], np.int64))
                same = set(np.array(known, np.int64)[(stored == vectors[known]).all(axis=1)].tolist())
            encode, meta_only, unchanged = [], [], 0
            for i, id_ in enumerate(ids):
                old = found.get(id_)
                if old is None or (i not in same if vectors is not None else old[3] != hashes[i]):
                    encode.append(i)
                    continue
                new_meta = old[1] if metas is None else metas[i]
                new_src = old[2] if srcs is None else srcs[i]
                if (new_meta, new_src) != (old[1], old[2]):
                    meta_only.append((new_meta, new_src, id_))
                else:
                    unchanged += 1
            replaced = sum(1 for i in encode if ids[i] in found)
            if encode:
                if vectors is None:
                    vecs = self._vectors_for([items[i] for i in encode], None, len(encode), batch_size, progress)
                else:
                    vecs = vectors[encode]
                e_ids = [ids[i] for i in encode]
                e_meta = [metas[i] if metas is not None else (found[ids[i]][1] if ids[i] in found else "{}")
                          for i in encode]
                e_src = [srcs[i] if srcs is not None else
                         (_inputs.default_source(items[i]) if items is not None else
                          (found[ids[i]][2] if ids[i] in found else None)) for i in encode]
                kill = [found[i][0] for i in e_ids if i in found]
                self._append(pending, e_ids, vecs, e_meta, e_src, [hashes[i] for i in encode], kill)
            if meta_only:
                self._conn.executemany("UPDATE items SET metadata = ?, source = ? WHERE id = ?", meta_only)
                if not encode:
                    db.set_state(self._conn, generation=db.state(self._conn)["generation"] + 1)
        if encode:
            self._merge_small()
        self._maybe_compact()
        return {"added": len(encode) - replaced, "updated": replaced + len(meta_only), "unchanged": unchanged}

    def delete(self, ids: Sequence[str]) -> int:
        """Delete items by id (unknown ids are ignored); returns how many were deleted."""
        ids = _inputs.check_ids(ids)
        with self._write():
            found = db.lookup(self._conn, ids)
            if found:
                st = db.state(self._conn)
                gen = st["generation"] + 1
                labels = [v[0] for v in found.values()]
                self._conn.executemany("DELETE FROM items WHERE label = ?", [(lb,) for lb in labels])
                self._conn.executemany("INSERT INTO dead(label, gen) VALUES (?, ?)", [(lb, gen) for lb in labels])
                db.set_state(self._conn, generation=gen, count=st["count"] - len(labels))
        self._maybe_compact()
        return len(found)

    def _maybe_compact(self) -> None:
        with self._read():
            total = sum(rows for _, rows, _ in self._segs)
            dead = total - self._count
        if total and dead > self.auto_compact * total:
            self.compact()

    def _small_tail(self) -> int:
        """How many segments at the end of the list are small."""
        run = 0
        for _, rows, _ in reversed(self._segs):
            if rows * 4 * self.dim >= SMALL_SEGMENT_BYTES:
                break
            run += 1
        return run

    def _merge_small(self) -> None:
        """Merge the trailing run of small segments into one, keeping labels (and deleted rows), so many small
        adds do not leave many small files to scan. Bounded work: at most MERGE_FAN x SMALL_SEGMENT_BYTES."""
        with self._read():
            if self._small_tail() < MERGE_FAN:
                return
        with self._write() as pending:
            run = self._small_tail()
            if run < MERGE_FAN:
                return
            segs = db.segments(self._conn)[-run:]
            tail = self._segs[-run:]
            st = db.state(self._conn)
            gen, start, n = st["generation"] + 1, tail[0][0], sum(r for _, r, _ in tail)
            file = f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"
            path = self.path / SEGMENT_DIR / file
            pending.append(path)
            write_segment(path, [mat for _, _, mat in tail], n, self.dim)
            self._conn.executemany("DELETE FROM segments WHERE seg = ?", [(s[0],) for s in segs])
            self._conn.execute("INSERT INTO segments(file, start, rows, gen) VALUES (?, ?, ?, ?)",
                               (file, start, n, gen))
            db.set_state(self._conn, generation=gen, layout=st.get("layout", 0) + 1)
        for s in segs:
            (self.path / SEGMENT_DIR / s[1]).unlink(missing_ok=True)

    def compact(self) -> None:
        """Rewrite the segments into one without deleted rows, renumber the labels and rebuild the index."""
        with self._write() as pending:
            st = db.state(self._conn)
            total = sum(rows for _, rows, _ in self._segs)
            if total == st["count"] and len(self._segs) <= 1:
                return
            gen, n = st["generation"] + 1, st["count"]
            old_files = [r[1] for r in db.segments(self._conn)]
            c = self._conn
            c.execute("DELETE FROM segments")
            if n:
                file = f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"
                path = self.path / SEGMENT_DIR / file
                pending.append(path)
                write_segment(path, self._live_blocks(), n, self.dim)
                c.execute("INSERT INTO segments(file, start, rows, gen) VALUES (?, 0, ?, ?)", (file, n, gen))
            # live rows keep their order, so label order = row order in the new segment
            c.execute(db.ITEMS_TABLE.replace("items(", "items_new(", 1))
            c.execute("INSERT INTO items_new SELECT ROW_NUMBER() OVER (ORDER BY label) - 1, id, metadata, source, "
                      "hash FROM items ORDER BY label")
            c.execute("DROP TABLE items")
            c.execute("ALTER TABLE items_new RENAME TO items")
            c.execute("DELETE FROM dead")
            db.set_state(c, generation=gen, epoch=st["epoch"] + 1, next_label=n, count=n)
        for f in old_files:
            (self.path / SEGMENT_DIR / f).unlink(missing_ok=True)
        if isinstance(self._index, CachedANN) and not self.readonly:
            self._save_ann(timeout=self.lock_timeout)
