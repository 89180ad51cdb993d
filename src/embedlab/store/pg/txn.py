"""The PostgreSQL backend's ``Reader`` and ``Writer`` (see ``store/backend.py``): queries of one snapshot and
the statements of one write transaction on a ``PgTable``.

They see their table through ``Session`` (its connection and settings), so this module and ``table.py`` do not
import each other: the table builds readers and writers, never the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from ...errors import InputError
from ...index.base import SearchParams
from ..capabilities import Capabilities
from ..filters import Filter
from ..records import Hit, Rows, Stored
from . import connection as pgc
from . import sql as q


class Session(Protocol):
    """What a reader or writer needs of a ``PgTable``: the connection of the transaction in progress, the
    collection's table and settings, and its catalogue row."""

    name: str
    table: str
    dim: int
    metric: str
    index_kind: str
    index_params: dict[str, Any]

    @property
    def capabilities(self) -> Capabilities:
        """The backend's declared capabilities (which search settings it takes)."""
        ...

    @property
    def conn(self) -> Any:
        """The psycopg connection of the transaction in progress."""
        ...

    def state(self) -> tuple[int, int]:
        """(generation, live rows) from the catalogue."""
        ...

    def approx_count(self, max_age: float = 5.0) -> int:
        """Live rows as of at most ``max_age`` seconds ago."""
        ...

    def set_ef(self, ef: int) -> None:
        """Set the session's ``hnsw.ef_search``."""
        ...

#: jsonb_typeof's names as ``filters.kind`` names them
_KIND = {"boolean": "bool"}
EXACT_BELOW = 20_000  # a filter keeping at most this many rows is searched exactly (full recall, still fast)
MAX_EF = 1000  # pgvector's largest hnsw.ef_search
FILTERED_EF = 200  # the least ef_search of a filtered HNSW scan (measured: 0.985 -> 0.99+ recall@10 at 50 %)


def _canon(meta: Any) -> str:
    """Metadata as embedlab's canonical JSON text (what Collection compares and the local backend stores)."""
    if isinstance(meta, str):
        meta = json.loads(meta)
    return json.dumps(meta, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _as_is(text: str) -> str:
    """The JSON text itself (``Jsonb``'s dumps for metadata that is canonical JSON text already)."""
    return text


def _vec(v: Any) -> np.ndarray:
    return v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v, np.float32)


class PgReader:
    """Reads of one snapshot; valid only inside ``PgTable.read()`` / ``write()``."""

    def __init__(self, table: Session, generation: int | None = None, live: int | None = None) -> None:
        self.t, self._generation, self._live = table, generation, live

    @property
    def generation(self) -> int:
        """The committed generation (read from the catalogue on first use)."""
        if self._generation is None:
            self._generation, self._live = self.t.state()
        return self._generation

    @property
    def live(self) -> int:
        if self._live is None:
            self._generation, self._live = self.t.state()
        return self._live

    @live.setter
    def live(self, n: int) -> None:
        self._live = n

    @property
    def conn(self) -> Any:
        return self.t.conn

    def _sql(self, template: str) -> Any:
        return pgc.ident_sql(template, self.t.table)

    def count(self) -> int:
        return self.live

    def lookup(self, ids: Sequence[str]) -> dict[str, Stored]:
        out = {}
        for id_, meta, src, h in self.conn.execute(
                self._sql("SELECT id, metadata, source, hash FROM {} WHERE id = ANY(%s)"), (list(ids),)):
            out[id_] = Stored(_canon(meta), src, h)
        return out

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        cur = self.conn.cursor(binary=True)
        got = {r[0]: _vec(r[1]) for r in cur.execute(self._sql("SELECT id, embedding FROM {} WHERE id = ANY(%s)"),
                                                          (list(ids),))}
        missing = [i for i in ids if i not in got]
        if missing:
            raise InputError(f"no stored vector for id(s) {missing[:5]}")
        return np.stack([got[i] for i in ids]).astype(np.float32, copy=False) if ids else \
            np.empty((0, self.t.dim), np.float32)

    def contents(self, ids: Sequence[str]) -> dict[str, str | None]:
        return {r[0]: r[1] for r in self.conn.execute(self._sql("SELECT id, content FROM {} WHERE id = ANY(%s)"),
                                                       (list(ids),))}

    def ids(self, where: Filter | None = None) -> list[str]:
        cond, params = q.compile_filter(where) if where is not None else ("true", [])
        return [r[0] for r in self.conn.execute(self._sql(f"SELECT id FROM {{}} WHERE {cond} ORDER BY seq"),
                                                params)]

    def key_types(self, keys: Sequence[str], sample: int = 1000) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        if keys:
            for key, t in self.conn.execute(self._sql(
                    "SELECT k, jsonb_typeof(t.metadata -> k) FROM {} AS t, unnest(%s::text[]) AS k "
                    "WHERE jsonb_exists(t.metadata, k) GROUP BY 1, 2"), (list(keys),)):
                out.setdefault(key, set()).add(_KIND.get(t, t))
        wanted = set(keys)
        for key, t in self.conn.execute(self._sql(
                "SELECT e.key, jsonb_typeof(e.value) FROM (SELECT metadata FROM {} ORDER BY seq LIMIT %s) AS s, "
                "jsonb_each(s.metadata) AS e GROUP BY 1, 2"), (int(sample),)):
            if key not in wanted:
                out.setdefault(key, set()).add(_KIND.get(t, t))
        return out

    # ------------------------------------------------------------------ search
    def search(self, qv: np.ndarray, k: int, where: Filter | None, params: SearchParams) -> list[list[Hit]]:
        """See ``backend.Reader.search``: exact below ``EXACT_BELOW`` (matching) rows, else pgvector's HNSW with
        ``params.ef_search`` (default: the collection's ``ef_search``); ``nprobe`` and ``rescore`` are refused."""
        t = self.t
        t.capabilities.check_search(params)
        ef = params.ef_search
        cond, args = q.compile_filter(where) if where is not None else ("true", [])
        exact = t.index_kind == "exact" or t.approx_count() <= EXACT_BELOW
        if not exact and where is not None:
            exact = self._matching(cond, args, EXACT_BELOW + 1) <= EXACT_BELOW
        out = []
        for row in np.asarray(qv, np.float32):
            hits = self._exact(row, k, cond, args) if exact else self._hnsw(row, k, cond, args, ef)
            if not exact and len(hits) < k and (where is not None or len(hits) < t.approx_count()):
                # an HNSW scan (even an iterative one) returned fewer than k rows: never lose results
                if len(hits) < min(k, self._matching(cond, args, k)):
                    hits = self._exact(row, k, cond, args)
            out.append(hits)
        return out

    def _matching(self, cond: str, params: list[Any], limit: int) -> int:
        """How many rows match ``cond``, counted up to ``limit``."""
        sql = self._sql(f"SELECT count(*) FROM (SELECT 1 FROM {{}} WHERE {cond} LIMIT %s) AS m")
        return int(self.conn.execute(sql, [*params, limit]).fetchone()[0])

    def _hits(self, rows: list[tuple[Any, ...]]) -> list[Hit]:
        metric = self.t.metric
        hits = [Hit(r[0], q.score_of(metric, float(r[3])), json.loads(_canon(r[1])) if r[1] else {}, r[2])
                for r in rows]
        hits.sort(key=lambda h: -h.score)  # iterative scans return nearly, not exactly, sorted rows
        return hits

    def _exact(self, row: np.ndarray, k: int, cond: str, params: list[Any]) -> list[Hit]:
        # distances of the matching rows only (no vectors copied), then metadata for the k best
        op = q.operator(self.t.metric)
        sql = pgc.ident_sql(f"SELECT t.id, t.metadata, t.source, f.d FROM (SELECT id, embedding {op} %s AS d FROM {{}} "
                            f"WHERE {cond} ORDER BY d, id LIMIT %s) AS f JOIN {{}} AS t USING (id) ORDER BY f.d, t.id",
                            self.t.table, self.t.table)
        return self._hits(self.conn.execute(sql, [row, *params, k]).fetchall())

    def _hnsw(self, row: np.ndarray, k: int, cond: str, params: list[Any], ef: int | None) -> list[Hit]:
        t = self.t
        op, expr, cast = q.operator(t.metric), q.index_expr(t.dim)[0], q.query_cast(t.dim)
        ef = int(ef or t.index_params.get("ef_search", 128))
        t.set_ef(min(MAX_EF, max(ef, k, FILTERED_EF if cond != "true" else 0)))  # sent only when it changes
        sql = self._sql(f"SELECT id, metadata, source, embedding {op} %s AS d FROM {{}} WHERE {cond} "
                        f"ORDER BY {expr} {op} %s{cast} LIMIT %s")
        return self._hits(self.conn.execute(sql, [row, *params, row, k]).fetchall())

    # ------------------------------------------------------------------ bulk reads
    def rows(self, batch: int) -> Iterator[Rows]:
        cur = self.conn.cursor(name="embedlab_export", binary=True)
        try:
            cur.execute(self._sql("SELECT id, embedding, metadata::text, source, hash, content FROM {} ORDER BY seq"))
            while block := cur.fetchmany(batch):
                yield Rows([r[0] for r in block], np.stack([_vec(r[1]) for r in block]).astype(np.float32),
                           [_canon(r[2]) for r in block], [r[3] for r in block], [r[4] for r in block],
                           [r[5] for r in block])
        finally:
            cur.close()

    def matrix(self) -> tuple[list[str], np.ndarray]:
        cur = self.conn.cursor(binary=True)
        rows = cur.execute(self._sql("SELECT id, embedding FROM {} ORDER BY seq")).fetchall()
        if not rows:
            return [], np.empty((0, self.t.dim), np.float32)
        return [r[0] for r in rows], np.stack([_vec(r[1]) for r in rows]).astype(np.float32)


class PgWriter(PgReader):
    """One write transaction: rows go in by binary COPY into a staging table, then one INSERT … ON CONFLICT;
    while a load is in progress (``loading``: its mark is set and the HNSW index dropped), by binary COPY straight
    into the table."""

    def __init__(self, table: Session, generation: int, live: int, next_seq: int, loading: bool = False) -> None:
        super().__init__(table, generation, live)
        self.next_seq, self.changed, self.loading = next_seq, False, loading

    def insert(self, rows: Rows, replace: Sequence[str] = ()) -> None:
        conn = self.conn
        if replace:
            cur = conn.execute(self._sql("DELETE FROM {} WHERE id = ANY(%s)"), (list(replace),))
            self.live -= cur.rowcount
        if self.loading and self._copy(rows):
            return
        self._staged(rows)

    def _copy(self, rows: Rows) -> bool:
        """COPY the rows straight into the table (no staging table, no ON CONFLICT pass), behind a savepoint:
        False, with nothing written, when an id exists already (``_staged`` then says which)."""
        from psycopg import errors as pe
        from psycopg.types.json import Jsonb

        conn, n = self.conn, len(rows)
        conn.execute("SAVEPOINT embedlab_copy")
        try:
            with conn.cursor().copy(self._sql("COPY {} (id, seq, embedding, metadata, content, source, hash) FROM "
                                              "STDIN WITH (FORMAT BINARY)")) as cp:
                cp.set_types(["text", "int8", "vector", "jsonb", "text", "text", "text"])
                vecs, seq = rows.vectors, self.next_seq
                for i in range(n):  # metadata is canonical JSON text already: sent as it is
                    cp.write_row([rows.ids[i], seq + i, vecs[i], Jsonb(q.jsonb_text(rows.metadata[i]), dumps=_as_is),
                                  rows.contents[i], rows.sources[i], rows.hashes[i]])
        except pe.UniqueViolation:
            conn.execute("ROLLBACK TO SAVEPOINT embedlab_copy")
            return False
        conn.execute("RELEASE SAVEPOINT embedlab_copy")
        self._added(n)
        return True

    def _added(self, n: int) -> None:
        self.next_seq += n
        self.live += n
        self.changed = True

    def _staged(self, rows: Rows) -> None:
        """Binary COPY into a staging table, then one INSERT … ON CONFLICT DO NOTHING: InputError naming up to
        five ids that exist already."""
        conn, n = self.conn, len(rows)
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS embedlab_stage (ord bigint, id text, embedding vector, "
                     "metadata text, content text, source text, hash text) ON COMMIT DELETE ROWS")
        conn.execute("TRUNCATE embedlab_stage")
        with conn.cursor().copy("COPY embedlab_stage FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.set_types(["int8", "text", "vector", "text", "text", "text", "text"])
            vecs = rows.vectors
            for i in range(n):
                cp.write_row([i, rows.ids[i], vecs[i], q.jsonb_text(rows.metadata[i]), rows.contents[i], rows.sources[i],
                              rows.hashes[i]])
        inserted = conn.execute(self._sql(
            "INSERT INTO {} (id, seq, embedding, metadata, content, source, hash) "
            "SELECT id, %s + ord, embedding, metadata::jsonb, content, source, hash FROM embedlab_stage "
            "ON CONFLICT (id) DO NOTHING"), (self.next_seq,)).rowcount
        if inserted != n:  # some ids exist: the whole transaction is rolled back by the caller
            dup = [r[0] for r in conn.execute(self._sql(
                "SELECT s.id FROM embedlab_stage s JOIN {} t ON t.id = s.id AND t.seq < %s ORDER BY s.ord LIMIT 5"),
                (self.next_seq,))]
            raise InputError(f"{n - inserted} id(s) already in collection {self.t.name!r}, e.g. {dup}; use upsert to "
                             "replace them or delete them first")
        self._added(n)

    def update(self, ids: Sequence[str], metadata: Sequence[str], sources: Sequence[str | None]) -> None:
        self.conn.execute(self._sql(
            "UPDATE {} AS t SET metadata = v.m::jsonb, source = v.s FROM (SELECT unnest(%s::text[]) AS id, "
            "unnest(%s::text[]) AS m, unnest(%s::text[]) AS s) AS v WHERE t.id = v.id"),
            (list(ids), [q.jsonb_text(m) for m in metadata], list(sources)))
        self.changed = True

    def delete(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        gone = self.conn.execute(self._sql("DELETE FROM {} WHERE id = ANY(%s)"), (list(ids),)).rowcount
        self.live -= gone
        self.changed = self.changed or gone > 0
        return int(gone)
