"""The PostgreSQL backend's SQL: the catalogue, one table per collection, filters compiled to jsonb tests.

Schema (pgvector ≥ 0.8):

- ``embedlab_collections``: one row per collection — ``name``, its ``table_name``, the ``manifest`` (jsonb:
  encoder name/dim/metric/fingerprint, index kind/params, format version), ``generation`` (bumped by every
  committed write), ``count``, ``next_seq`` (write order) and ``pending`` (jsonb: the mark of a load that has not
  completed; NULL when complete). Writers lock their collection's row
  (``SELECT … FOR UPDATE``), so writes to one collection are serialised and each is one transaction.
- one table per collection: ``id text PRIMARY KEY``, ``seq bigint`` (write order), ``embedding vector(d)``
  (float32, exact), ``metadata jsonb`` (GIN index, ``jsonb_path_ops``), ``content``, ``source``, ``hash``;
  an HNSW index on ``embedding`` (``m``, ``ef_construction``), on ``embedding::halfvec(d)`` when
  2,000 < d ≤ 4,000 (pgvector's index limits), none for ``index="exact"``; a load drops it (or a collection created
  for a load starts without it) and its completion builds it (``build.py`` sizes the build session), so it is
  missing only while ``pending`` is set; meanwhile writes COPY their rows straight into the table.

Every value reaches the server as a bound parameter; identifiers are quoted with ``psycopg.sql``.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from ..filters import Filter, canonical, to_sql

CATALOG = "embedlab_collections"
VECTOR_INDEX_MAX = 2000  # pgvector indexes vector(d) up to this dimension ...
HALFVEC_INDEX_MAX = 4000  # ... and halfvec(d) up to this one
_OPS = {"cosine": ("<=>", "cosine"), "dot": ("<#>", "ip"), "l2": ("<->", "l2")}

CATALOG_DDL = f"""
CREATE TABLE IF NOT EXISTS {CATALOG} (
    name text PRIMARY KEY,
    table_name text NOT NULL UNIQUE,
    manifest jsonb NOT NULL,
    format_version integer NOT NULL,
    generation bigint NOT NULL DEFAULT 0,
    count bigint NOT NULL DEFAULT 0,
    next_seq bigint NOT NULL DEFAULT 0,
    created timestamptz NOT NULL DEFAULT now(),
    pending jsonb
)"""

#: Catalogues made before the load mark existed gain its column (NULL: complete) on their next create or load.
PENDING_DDL = f"ALTER TABLE {CATALOG} ADD COLUMN IF NOT EXISTS pending jsonb"
#: Whether the catalogue has the column (an older one may not; reads then see every collection complete).
HAS_PENDING = ("SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = 'pending' "
               "AND NOT attisdropped)")
#: A writer's lock on its collection's catalogue row: generation, count, next_seq and whether a load is in progress
#: (its mark set; on any catalogue), which makes its inserts COPY straight into the table.
WRITE_ROW = (f"SELECT generation, count, next_seq, coalesce(jsonb_typeof(to_jsonb(c) -> 'pending') = 'object', false), "
             "created "
             f"FROM {CATALOG} AS c WHERE name = %s FOR UPDATE")
#: The load mark of one collection, on any catalogue (to_jsonb of the row has no 'pending' key without the column).
PENDING_OF = f"SELECT to_jsonb(c) -> 'pending' FROM {CATALOG} AS c WHERE name = %s"


def table_name(name: str) -> str:
    """A PostgreSQL identifier (≤ 63 bytes) for collection ``name``: readable prefix + a hash of the name."""
    slug = re.sub(r"[^a-z0-9_]", "_", name.lower())[:40]
    return f"emb_{slug}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def operator(metric: str) -> str:
    """pgvector's distance operator for a metric (smaller is nearer)."""
    return _OPS[metric][0]


def score_of(metric: str, distance: float) -> float:
    """embedlab's higher-is-better score from pgvector's distance: cosine 1 - d, dot -(-ip), l2 -d."""
    return 1.0 - distance if metric == "cosine" else -distance


def index_expr(dim: int) -> tuple[str, str]:
    """(indexed expression, operator-class prefix) for a dimension: the vector itself, or its halfvec cast."""
    if dim <= VECTOR_INDEX_MAX:
        return "embedding", "vector"
    return f"(embedding::halfvec({dim}))", "halfvec"


def opclass(dim: int, metric: str) -> str:
    return f"{index_expr(dim)[1]}_{_OPS[metric][1]}_ops"


def hnsw_index_name(table: str) -> str:
    return table + "_hnsw"


def hnsw_index_sql(table: str, dim: int, metric: str, params: dict[str, Any]) -> Any:
    """CREATE INDEX for a collection table's HNSW index (``M`` → m, ``ef_construction``)."""
    from .connection import ident_sql

    m, efc = int(params.get("M", 16)), int(params.get("ef_construction", 64))
    return ident_sql(f"CREATE INDEX IF NOT EXISTS {{}} ON {{}} USING hnsw ({index_expr(dim)[0]} "
                     f"{opclass(dim, metric)}) WITH (m = {m}, ef_construction = {efc})", hnsw_index_name(table), table)


def query_cast(dim: int) -> str:
    """How a query vector parameter is cast to match the index expression."""
    return f"::vector({dim})" if dim <= VECTOR_INDEX_MAX else f"::vector({dim})::halfvec({dim})"


#: The advisory lock that serialises collection creation in one database (an arbitrary 63-bit key: "embedlab").
CREATE_LOCK = 0x656D6265646C6162 & 0x7FFFFFFFFFFFFFFF


def load_lock_key(table: str) -> int:
    """The session advisory lock a running load of collection table ``table`` holds (a signed 64-bit key)."""
    return int.from_bytes(hashlib.sha1(f"embedlab-load\0{table}".encode()).digest()[:8], "big", signed=True)


# ---------------------------------------------------------------------- filters -> SQL (jsonb)
# Typed semantics identical to filters.matches (and to the SQLite compiler): jsonb_typeof distinguishes
# string/number/boolean/null/array/object; scalar equality uses containment (@>, served by the GIN index), which
# compares numbers as numbers and never equates a boolean with a number; lists and objects compare by jsonb
# equality (same order, same keys, values equal as JSON values: filters.value_key); strings order by code point
# (COLLATE "C").
def _plain(v: Any) -> str:
    """JSON text of ``v`` with each float Python writes as ``1e+16`` written as ``10000000000000000.0``."""
    if isinstance(v, float) and "e+" in repr(v):  # integral; written exactly, as Python compares it
        return f"{Decimal(v):f}.0"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _plain(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_plain(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False, allow_nan=False)


def jsonb_text(text: str) -> str:
    """Metadata JSON text as jsonb must receive it to give back the same values.

    jsonb keeps a number's digits and scale, not its notation: ``1e+16`` (how Python writes a float of 1e16 and
    up) would come back as ``10000000000000000``, which reads as an integer (and ``1e+300`` as one that no
    64-bit integer holds, so the item could not be exported to another backend). Such floats are sent as their
    exact value in positional notation with ``.0`` (not Python's shortest digits, ``9.223372036854776e+18``,
    which are another number than the float's own: filters compare exact values, as Python does); any other
    text is sent unchanged. Filter values go through it too.

    Parameters
    ----------
    text : str
        Canonical metadata JSON text (``_inputs.check_metadata``'s).

    Returns
    -------
    str
        JSON text of the same values whose jsonb reads back as floats where they were floats.
    """
    if "e+" not in text:  # Python writes every float of 1e16 and up, and no other, with "e+"
        return text
    return _plain(json.loads(text))


def _field(key_param: str) -> str:
    return f"(metadata -> {key_param})"


class _Postgres:
    """The PostgreSQL leaf tests of ``filters.to_sql`` (jsonb)."""

    def eq(self, key: str, v: Any) -> tuple[str, list[Any]]:
        if v is None:  # JSON null or a missing key
            return "coalesce(jsonb_typeof(metadata -> %s), 'null') = 'null'", [key]
        if isinstance(v, (list, dict)):  # jsonb equality: filters.value_key's (numbers as numbers at every depth)
            return f"coalesce({_field('%s')} = %s::jsonb, false)", [key, jsonb_text(canonical(v))]
        return "metadata @> jsonb_build_object(%s::text, %s::jsonb)", [key, jsonb_text(canonical(v))]

    def exists(self, key: str, present: bool) -> tuple[str, list[Any]]:
        return f"{'' if present else 'NOT '}jsonb_exists(metadata, %s)", [key]

    def contains(self, key: str, v: Any) -> tuple[str, list[Any]]:
        return (f"(CASE WHEN jsonb_typeof({_field('%s')}) = 'array' THEN {_field('%s')} @> jsonb_build_array(%s::jsonb) "
                "ELSE false END)"), [key, key, jsonb_text(canonical(v))]

    def compare(self, key: str, op: str, v: Any) -> tuple[str, list[Any]]:
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        if isinstance(v, str):
            return (f"(CASE WHEN jsonb_typeof({_field('%s')}) = 'string' THEN (metadata ->> %s) COLLATE \"C\" {sign} "
                    "%s COLLATE \"C\" ELSE false END)"), [key, key, v]
        return (f"(CASE WHEN jsonb_typeof({_field('%s')}) = 'number' THEN ({_field('%s')})::numeric {sign} "
                "%s::numeric ELSE false END)"), [key, key, jsonb_text(canonical(v))]


    def in_(self, key: str, values: list[Any]) -> tuple[str, list[Any]]:
        # jsonb equality is the typed semantics: numbers by value (1 = 1.0), never a boolean with a number, lists
        # in order, objects by keys and values; one array parameter however many values there are
        parts: list[tuple[str, list[Any]]] = []
        if any(x is None for x in values):
            parts.append(self.eq(key, None))
        rest = [jsonb_text(canonical(x)) for x in values if x is not None]
        if rest:
            parts.append((f"coalesce({_field('%s')} = ANY(%s::jsonb[]), false)", [key, rest]))
        return "(" + " OR ".join(sql for sql, _ in parts) + ")", [x for _, p in parts for x in p]


def compile_filter(flt: Filter) -> tuple[str, list[Any]]:
    """A SQL boolean expression over a collection table (``%s`` placeholders) and its parameters, equal to
    ``filters.matches``."""
    return to_sql(flt, _Postgres())
