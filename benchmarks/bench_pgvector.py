"""PostgreSQL + pgvector backend vs the same SQL written directly with psycopg, on real sentence vectors.

Data: lines of the shared corpus (``python benchmarks/make_corpus.py bench-data/corpus.txt``: GCIDE,
WordNet glosses, KJV), 5–64 words, de-duplicated, shuffled with a fixed seed; the first ``--queries`` lines
are held-out queries, the next ``--n`` the collection. They are encoded once with ``--encoder`` (default
``minilm-onnx-int8``, the fastest real encoder here, 384-d, cosine) and cached under ``bench-data/pgvector/``.

Measured in one run, both sides on the same server, interleaved:

1. inserts: ``Collection.add(ids, vectors=, metadata=, contents=)`` into an HNSW collection vs a binary
   ``COPY`` straight into a table of the same layout with the same indexes (id primary key, seq, jsonb + GIN,
   HNSW ``m``/``ef_construction``), in the same batches, one transaction each; the same without the HNSW index
   (client overhead); and the raw "load first, ``CREATE INDEX`` after" path for the build time;
2. search: ``Collection.search`` / ``search_many`` vs one ``SELECT … ORDER BY embedding <=> q LIMIT k`` per
   query (same ef_search) on the same table; recall@10 against exact (numpy) search; index sizes;
3. filtered recall@10 at selectivities 0.1 / 1 / 10 / 50 % for embedlab, and for raw pgvector with its
   defaults (ef_search 40, no iterative scan), with how many queries come back short of k.

    bash scripts/postgres.sh start
    .venv/bin/python benchmarks/bench_pgvector.py                 # 50k rows (encodes once: ~4-8 min, cached)
    .venv/bin/python benchmarks/bench_pgvector.py --n 100000      # the recorded run (~10-25 min, load-dependent)
    .venv/bin/python benchmarks/bench_pgvector.py --n 20000 --rounds 3 --skip-deferred  # quick
    .venv/bin/python benchmarks/bench_pgvector.py --encode-only         # just build the cache
    .venv/bin/python benchmarks/bench_pgvector.py --bulk-only --n 100000 --rounds 3 --old-n 20000  # bulk loads
    .venv/bin/python benchmarks/bench_pgvector.py --bulk-only --n 50000 --build-configs 64MB/2,auto/2,auto/0

``--bulk-only`` (no encoder, no corpus: seeded random unit vectors) measures a bulk load into a new collection, as
``embedlab import`` / ``index`` / ``--engine ray`` run it (``Collection.create(loading=)`` + ``bulk()``: binary COPY
into the table, the HNSW index built once at the end with the build settings of ``store/pg/build.py``), against raw
binary ``COPY`` into a table of the same layout then ``CREATE INDEX`` with the same ``maintenance_work_mem`` and
workers, interleaved, ``--rounds`` times (medians and the median ratio); and, on ``--old-n`` rows, today's path for
a collection that holds rows (adds into the indexed table) beside the bulk load, once each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import md_table, print_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
CORPUS = DATA / "corpus.txt"
CHUNK = 2000
SELECTIVITIES = {"f0_1": 0.001, "f1": 0.01, "f10": 0.10, "f50": 0.50}


# ---------------------------------------------------------------------- data
def sentence_pool(corpus: Path = CORPUS, seed: int = 0, min_words: int = 5, max_words: int = 64) -> list[str]:
    """Real English lines of the shared corpus: 5-64 words (longer lines cut at 64), unique, shuffled."""
    if not corpus.exists():
        raise SystemExit(f"{corpus} is missing: python benchmarks/make_corpus.py {corpus}")
    seen: set[str] = set()
    pool = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            words = line.split()
            if len(words) < min_words:
                continue
            text = " ".join(words[:max_words])
            if text not in seen:
                seen.add(text)
                pool.append(text)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pool))
    return [pool[i] for i in order]


def encoded(total: int, encoder: str = "minilm-onnx-int8", budget_s: float = 900.0,
            verbose: bool = True) -> tuple[list[str], np.ndarray, dict]:
    """The first ``total`` pool sentences and their unit vectors, from the cache under bench-data/ or encoded
    now (in chunks of 2,000, each saved as it is done, so an interrupted run resumes). Stops encoding after
    ``budget_s`` seconds and returns fewer rows then (the caller reports it)."""
    from embedlab.encoders import encoder as build

    pool = sentence_pool()
    total = min(total, len(pool))
    folder = DATA / "pgvector" / encoder
    folder.mkdir(parents=True, exist_ok=True)
    enc = None
    parts, spent, fresh = [], 0.0, 0
    for c in range((total + CHUNK - 1) // CHUNK):
        path = folder / f"chunk-{c:05d}.npy"
        if not path.exists():
            if spent > budget_s:
                if verbose:
                    print(f"encoding budget of {budget_s:.0f} s spent; using {c * CHUNK:,} rows", flush=True)
                break
            if enc is None:
                enc = build(encoder)
            texts = pool[c * CHUNK:(c + 1) * CHUNK]
            order = np.argsort([len(t) for t in texts], kind="stable")  # less padding per batch
            t = time.perf_counter()
            vec = enc.encode_documents([texts[i] for i in order], batch_size=64, normalize=True)  # stored rows
            dt = time.perf_counter() - t
            spent += dt
            fresh += len(texts)
            out = np.empty_like(vec)
            out[order] = vec
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, out.astype(np.float32))
            os.replace(tmp, path)
            if verbose:
                print(f"encoded chunk {c} ({len(texts)} sentences, {len(texts) / dt:.0f}/s)", flush=True)
        parts.append(np.load(path))
    vectors = np.concatenate(parts)[:total] if parts else np.empty((0, 0), np.float32)
    info = {"encoder": encoder, "encoded_now": fresh, "encode_s": spent}
    return pool[:len(vectors)], vectors, info


# ---------------------------------------------------------------------- database
def server_url() -> str:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "postgres.sh"), "status"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("no PostgreSQL server: bash scripts/postgres.sh start")
    return out.stdout.strip().splitlines()[-1]


def with_db(url: str, db: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{db}"


def raw_connect(url: str):
    import psycopg
    from pgvector.psycopg import register_vector

    conn = psycopg.connect(url, autocommit=True, prepare_threshold=None)
    register_vector(conn)
    return conn


def fresh_database(url: str, db: str) -> str:
    """DROP + CREATE DATABASE ``db`` (the vector extension comes from template1); its URL."""
    import psycopg

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    return with_db(url, db)


def raw_table(conn, table: str, dim: int, hnsw: dict | None) -> None:
    """The embedlab PostgreSQL backend's table layout (store/pg: id, seq, vector(d), jsonb + GIN, content, source,
    hash), with the HNSW index when ``hnsw`` is given."""
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, seq bigint NOT NULL, embedding vector({dim}) NOT NULL, "
                 "metadata jsonb NOT NULL DEFAULT '{}', content text, source text, hash text)")
    conn.execute(f"CREATE INDEX {table}_seq ON {table} (seq)")
    conn.execute(f"CREATE INDEX {table}_meta ON {table} USING gin (metadata jsonb_path_ops)")
    if hnsw is not None:
        raw_hnsw(conn, table, hnsw)


def raw_hnsw(conn, table: str, hnsw: dict) -> None:
    conn.execute(f"CREATE INDEX {table}_hnsw ON {table} USING hnsw (embedding vector_cosine_ops) "
                 f"WITH (m = {int(hnsw['M'])}, ef_construction = {int(hnsw['ef_construction'])})")


def raw_copy(conn, table: str, ids, seq0: int, vectors, metas, texts) -> None:
    """One transaction: a binary COPY of the rows straight into ``table``."""
    from psycopg.types.json import Jsonb

    with conn.transaction(), conn.cursor().copy(
            f"COPY {table} (id, seq, embedding, metadata, content) FROM STDIN WITH (FORMAT BINARY)") as cp:
        cp.set_types(["text", "int8", "vector", "jsonb", "text"])
        for i in range(len(ids)):
            cp.write_row([ids[i], seq0 + i, vectors[i], Jsonb(metas[i]), texts[i]])


def raw_search(conn, table: str, q: np.ndarray, k: int, where: str | None = None) -> list[tuple]:
    """The straightforward pgvector query: id, metadata, source and distance of the k nearest."""
    cond = f"WHERE {where} " if where else ""
    return conn.execute(f"SELECT id, metadata, source, embedding <=> %s AS d FROM {table} {cond}"
                        "ORDER BY embedding <=> %s LIMIT %s", (q, q, k)).fetchall()


def sizes(conn, table: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT pg_total_relation_size(c.oid), pg_relation_size(c.oid), "
        "coalesce((SELECT sum(pg_relation_size(i.indexrelid)) FROM pg_index i JOIN pg_class ic ON "
        "ic.oid = i.indexrelid JOIN pg_am a ON a.oid = ic.relam WHERE i.indrelid = c.oid AND a.amname = 'hnsw'), 0) "
        "FROM pg_class c WHERE c.oid = %s::regclass", (table,)).fetchone()
    return {"total": int(row[0]), "heap": int(row[1]), "hnsw": int(row[2])}


# ---------------------------------------------------------------------- ground truth and recall
def exact_topk(base: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple:
    """(row indices, scores) of the exact top-k by cosine (unit rows), over the rows where ``mask`` holds."""
    rows = np.arange(len(base)) if mask is None else np.flatnonzero(mask)
    sub = base[rows]
    out_i, out_s = [], []
    for s in range(0, len(queries), 256):
        sc = queries[s:s + 256] @ sub.T
        kk = min(k, sub.shape[0])
        top = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        ts = np.take_along_axis(sc, top, 1)
        o = np.argsort(-ts, axis=1, kind="stable")
        out_i.append(rows[np.take_along_axis(top, o, 1)])
        out_s.append(np.take_along_axis(ts, o, 1))
    return np.concatenate(out_i), np.concatenate(out_s)


def recall(got: list[list[str]], truth_s: np.ndarray, base: np.ndarray, queries: np.ndarray, k: int,
           mask: np.ndarray | None = None) -> float:
    """recall@k with ties counted: a returned id is right when it passes the filter (``mask``) and its exact
    score reaches the k-th exact score (minus 1e-5); each query's denominator is min(k, rows that match)."""
    total = 0.0
    want = truth_s.shape[1]
    for qi, ids in enumerate(got):
        kth = truth_s[qi, want - 1] - 1e-5
        rows = np.array([int(i[1:]) for i in ids[:k]], dtype=np.int64)
        if mask is not None:
            rows = rows[mask[rows]]
        ok = int(np.sum(base[rows] @ queries[qi] >= kth)) if len(rows) else 0
        total += min(ok, want) / want
    return total / len(got)


# ---------------------------------------------------------------------- phases
def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def insert_phase(url: str, conn, ids, vecs, metas, texts, batch: int, hnsw: dict | None, tag: str) -> dict:
    """The same rows into an embedlab collection and a raw table (same layout, same indexes), batch by batch,
    alternating which side goes first; per-side seconds."""
    from embedlab.store import Collection

    name = f"bench_{tag}"
    col = Collection.create(name, dim=vecs.shape[1], metric="cosine", index="hnsw" if hnsw else "exact",
                            index_params=hnsw, backend=url)
    raw = f"raw_{tag}"
    raw_table(conn, raw, vecs.shape[1], hnsw)
    te, tr = [], []
    for bi, s in enumerate(range(0, len(ids), batch)):
        e = min(s + batch, len(ids))

        def ours(s=s, e=e):
            col.add(ids[s:e], vectors=vecs[s:e], metadata=metas[s:e], contents=texts[s:e])

        def theirs(s=s, e=e):
            raw_copy(conn, raw, ids[s:e], s, vecs[s:e], metas[s:e], texts[s:e])

        for side in ((ours, theirs) if bi % 2 == 0 else (theirs, ours)):
            t = time.perf_counter()
            side()
            (te if side is ours else tr).append(time.perf_counter() - t)
    table = col.location.rpartition("#")[2]
    ratios = [b / a for a, b in zip(te, tr, strict=True)]
    return {"col": col, "table": table, "raw": raw, "embedlab_s": sum(te), "raw_s": sum(tr),
            "ratio_total": sum(tr) / sum(te), "ratio_median": statistics.median(ratios), "batches": len(te)}


def qps_phase(col, conn, table: str, qs: np.ndarray, ef: int, rounds: int) -> dict:
    """Interleaved rounds: Collection.search one by one, search_many, raw SELECT one by one (same table, same
    ef_search). q/s medians and the median of per-round ratios."""
    conn.execute(f"SET hnsw.ef_search = {ef}")
    conn.execute("RESET hnsw.iterative_scan")

    def single():
        for q in qs:
            col.search(q, k=10, ef=ef)

    def batch():
        col.search_many(qs, k=10, ef=ef)

    def raw():
        for q in qs:
            raw_search(conn, table, q, 10)

    fns = {"single": single, "batch": batch, "raw": raw}
    for fn in fns.values():  # warm-up: index pages into shared buffers
        fn()
    qps: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(rounds):
        items = list(fns.items())
        for name, fn in (items if r % 2 == 0 else items[::-1]):
            t = time.perf_counter()
            fn()
            qps[name].append(len(qs) / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in qps.items()}
    return {**med, "ratio_single": statistics.median(a / b for a, b in zip(qps["single"], qps["raw"], strict=True)),
            "ratio_batch": statistics.median(a / b for a, b in zip(qps["batch"], qps["raw"], strict=True))}


def plan_of(conn, table: str, q: np.ndarray, where: str) -> str:
    rows = conn.execute(f"EXPLAIN SELECT id FROM {table} WHERE {where} ORDER BY embedding <=> %s LIMIT 10",
                        (q,)).fetchall()
    nodes = []
    for (line,) in rows:
        s = line.strip().lstrip("-> ").strip()
        if any(s.startswith(x) for x in ("Index Scan", "Bitmap Heap Scan", "Seq Scan", "Bitmap Index Scan",
                                          "Index Only Scan")):
            nodes.append(s.split("  (")[0])
    return "; ".join(nodes)


def profile(fn, top: int = 14) -> str:
    import cProfile
    import io
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# ---------------------------------------------------------------------- bulk loads (--bulk-only)
def random_rows(n: int, dim: int, seed: int = 0) -> tuple[list[str], np.ndarray, list[dict], list[str]]:
    """Seeded random unit vectors, small metadata and a short content per row."""
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, dim), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    metas = [{"n": i, "tag": f"t{i % 100}"} for i in range(n)]
    return [f"d{i}" for i in range(n)], vecs, metas, [f"document number {i}" for i in range(n)]


def ours_bulk(url: str, name: str, ids, vecs, metas, texts, batch: int, hnsw: dict) -> tuple[float, object]:
    """A load into a new collection as import/index run it; (seconds, the open collection)."""
    from embedlab.store import Collection

    t = time.perf_counter()
    col = Collection.create(name, dim=vecs.shape[1], metric="cosine", index="hnsw", index_params=hnsw, backend=url,
                            loading={"resume": "bench", "what": "a benchmark load"})
    with col.bulk(resume="bench"):
        for s in range(0, len(ids), batch):
            col.add(ids[s:s + batch], vectors=vecs[s:s + batch], metadata=metas[s:s + batch],
                    contents=texts[s:s + batch])
    return time.perf_counter() - t, col


def raw_bulk(conn, table: str, ids, vecs, metas, texts, batch: int, hnsw: dict, mem: int,
             workers: int) -> tuple[float, float]:
    """Raw binary COPY (one transaction per batch) into the same layout, then CREATE INDEX; (copy s, index s)."""
    t = time.perf_counter()
    raw_table(conn, table, vecs.shape[1], None)
    for s in range(0, len(ids), batch):
        raw_copy(conn, table, ids[s:s + batch], s, vecs[s:s + batch], metas[s:s + batch], texts[s:s + batch])
    copied = time.perf_counter() - t
    with conn.transaction():
        conn.execute(f"SET LOCAL maintenance_work_mem = '{mem // 1024}kB'")
        conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {workers}")
        raw_hnsw(conn, table, hnsw)
    return copied, time.perf_counter() - t - copied


def recall_of(search, base: np.ndarray, qv: np.ndarray, k: int = 10) -> float:
    _, ts = exact_topk(base, qv, k)
    return recall([search(q) for q in qv], ts, base, qv, k)


def builds_main(args) -> None:
    """``CREATE INDEX`` alone on one raw table (id, embedding) of ``--n`` random unit vectors, once per
    ``MEMORY/WORKERS`` setting of ``--build-configs`` (``auto`` memory: what ``store/pg/build.py`` picks)."""
    from embedlab.store.pg import build

    info = print_settings("pgvector HNSW build settings")
    dim = 384
    _, vecs, _, _ = random_rows(args.n, dim)
    url = fresh_database(args.url or server_url(), args.db)
    conn = raw_connect(url)
    auto = build.settings(args.n, dim, args.M, 0)["maintenance_work_mem"]
    conn.execute(f"CREATE TABLE probe (id text PRIMARY KEY, embedding vector({dim}))")
    with conn.transaction(), conn.cursor().copy("COPY probe FROM STDIN WITH (FORMAT BINARY)") as cp:
        cp.set_types(["text", "vector"])
        for i in range(args.n):
            cp.write_row([f"d{i}", vecs[i]])
    rows = []
    try:
        for config in args.build_configs.split(","):
            memory, workers = config.split("/")
            mem = f"{auto // 1024}kB" if memory == "auto" else memory
            conn.execute("DROP INDEX IF EXISTS probe_hnsw")
            with conn.transaction():
                conn.execute(f"SET LOCAL maintenance_work_mem = '{mem}'")
                conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {int(workers)}")
                t = time.perf_counter()
                raw_hnsw(conn, "probe", {"M": args.M, "ef_construction": args.ef_construction})
                dt = time.perf_counter() - t
            rows.append([memory if memory != "auto" else f"auto ({auto / 2 ** 20:.0f} MiB)", workers, f"{dt:.1f}",
                         f"{os.getloadavg()[0]:.1f}"])
            print(f"{config}: {dt:.1f} s", flush=True)
    finally:
        conn.close()
        import psycopg as _pg

        with _pg.connect(with_db(args.url or server_url(), "postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (start: {info['loadavg']})")
    print(md_table(["maintenance_work_mem", "workers", "CREATE INDEX s", "load"], rows))


def bulk_main(args) -> None:
    from embedlab.store import Collection
    from embedlab.store.pg import build

    info = print_settings("pgvector bulk load vs raw COPY + CREATE INDEX")
    dim, hnsw = 384, {"M": args.M, "ef_construction": args.ef_construction}
    ids, vecs, metas, texts = random_rows(args.n + args.queries, dim)
    qv, base = vecs[:args.queries], vecs[args.queries:]
    ids, metas, texts = ids[:args.n], metas[args.queries:], texts[args.queries:]
    url = fresh_database(args.url or server_url(), args.db)
    conn = raw_connect(url)
    server_mem = int(conn.execute("SELECT setting::bigint * 1024 FROM pg_settings WHERE name = "
                                  "'maintenance_work_mem'").fetchone()[0])
    chosen = build.settings(args.n, dim, args.M, server_mem)
    mem, workers = chosen["maintenance_work_mem"], chosen["max_parallel_maintenance_workers"]
    server = conn.execute("SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'vector'), "
                          "current_setting('max_parallel_workers'), current_setting('shared_buffers')").fetchone()
    print(f"# server: {server[0].split(',')[0]}, pgvector {server[1]}, shared_buffers {server[3]}, "
          f"max_parallel_workers {server[2]}; N={args.n:,} x {dim} seeded random unit vectors, batch {args.batch:,}, "
          f"HNSW m={args.M} ef_construction={args.ef_construction}; build: maintenance_work_mem "
          f"{mem / 2 ** 20:.0f} MiB, max_parallel_maintenance_workers {workers} (both sides)", flush=True)
    ours_s, raw_s, raw_parts, loads = [], [], [], []
    out: list[str] = []
    try:
        for r in range(args.rounds):
            sides = ["raw", "ours"] if r % 2 == 0 else ["ours", "raw"]
            for side in sides:
                if side == "ours":
                    dt, col = ours_bulk(url, f"bulk{r}", ids, base, metas, texts, args.batch, hnsw)
                    ours_s.append(dt)
                    if r == args.rounds - 1:
                        col.compact()  # VACUUM ANALYZE, as the raw table gets below
                        rec_ours = recall_of(lambda q, c=col: [h.id for h in c.search(q, k=10, ef=128)], base, qv)
                    col.close()
                    if r < args.rounds - 1:
                        Collection.drop(f"bulk{r}", backend=url)
                else:
                    c_s, i_s = raw_bulk(conn, f"raw{r}", ids, base, metas, texts, args.batch, hnsw, mem, workers)
                    raw_s.append(c_s + i_s)
                    raw_parts.append((c_s, i_s))
                    if r == args.rounds - 1:
                        conn.execute(f"VACUUM ANALYZE raw{r}")
                        conn.execute("SET hnsw.ef_search = 128")
                        rec_raw = recall_of(lambda q, r=r: [x[0] for x in raw_search(conn, f"raw{r}", q, 10)],
                                            base, qv)
                    else:
                        conn.execute(f"DROP TABLE raw{r}")
                load = os.getloadavg()[0]
                loads.append(load)
                print(f"round {r} {side}: {(ours_s if side == 'ours' else raw_s)[-1]:.1f} s (load {load:.1f})",
                      flush=True)
        ratios = [a / b for a, b in zip(ours_s, raw_s, strict=True)]
        rows = [["embedlab bulk load (create marked, `bulk()` + `add` per batch, index built at the end)",
                 f"{statistics.median(ours_s):.1f}", " / ".join(f"{x:.1f}" for x in ours_s),
                 f"{args.n / statistics.median(ours_s):,.0f}", f"{rec_ours:.4f}"],
                ["raw binary COPY, then CREATE INDEX (same settings)", f"{statistics.median(raw_s):.1f}",
                 " / ".join(f"{c:.1f}+{i:.1f}" for c, i in raw_parts), f"{args.n / statistics.median(raw_s):,.0f}",
                 f"{rec_raw:.4f}"]]
        old_rows = []
        if args.old_n:
            o_ids, o_vecs, o_metas, o_texts = ids[:args.old_n], base[:args.old_n], metas[:args.old_n], \
                texts[:args.old_n]
            t = time.perf_counter()
            old = Collection.create("old", dim=dim, metric="cosine", index="hnsw", index_params=hnsw, backend=url)
            for s in range(0, args.old_n, args.batch):
                old.add(o_ids[s:s + args.batch], vectors=o_vecs[s:s + args.batch], metadata=o_metas[s:s + args.batch],
                        contents=o_texts[s:s + args.batch])
            old_s = time.perf_counter() - t
            old.close()
            new_s, col = ours_bulk(url, "new", o_ids, o_vecs, o_metas, o_texts, args.batch, hnsw)
            col.close()
            old_rows = [[f"{args.old_n:,}", f"{old_s:.1f}", f"{new_s:.1f}", f"{old_s / new_s:.1f}x"]]
        out += [f"### Bulk load, {args.n:,} x {dim} (seeded random unit vectors), batches of {args.batch:,}, HNSW "
                f"m={args.M} ef_construction={args.ef_construction}, {args.rounds} interleaved rounds", "",
                f"Build settings (both sides): maintenance_work_mem {mem / 2 ** 20:.0f} MiB, "
                f"max_parallel_maintenance_workers {workers}. Load average per step: "
                f"{' '.join(f'{x:.1f}' for x in loads)}.", "",
                md_table(["load", "median s", "rounds (s)", "rows/s", "recall@10 ef 128"], rows), "",
                f"**embedlab / raw: median of per-round ratios {statistics.median(ratios):.2f}** "
                f"(rounds: {' '.join(f'{x:.2f}' for x in ratios)}; target ≤ 1.5)", ""]
        if old_rows:
            out += ["Today's path for a collection that already holds rows (adds into the HNSW-indexed table) vs the "
                    "bulk load, on the first rows, once each:", "",
                    md_table(["rows", "adds with the index in place, s", "bulk load, s", "bulk speed-up"], old_rows), ""]
    finally:
        conn.close()
        if not args.keep:
            import psycopg as _pg

            with _pg.connect(with_db(args.url or server_url(), "postgres"), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (start: {info['loadavg']})")
    print("\n".join(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000, help="collection rows (recorded runs: 100,000)")
    ap.add_argument("--queries", type=int, default=1000, help="held-out queries for recall (default 1,000)")
    ap.add_argument("--qps-queries", type=int, default=300, help="queries per q/s pass")
    ap.add_argument("--filter-queries", type=int, default=200, help="queries per filter selectivity")
    ap.add_argument("--encoder", default="minilm-onnx-int8")
    ap.add_argument("--encode-budget", type=float, default=900.0, help="seconds of encoding at most (then fewer rows)")
    ap.add_argument("--encode-only", action="store_true")
    ap.add_argument("--batch", type=int, default=10_000, help="rows per insert transaction")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--efs", default="40,128", help="ef_search values for recall and q/s")
    ap.add_argument("--filter-ef", type=int, default=256, help="a second ef for embedlab's filtered searches")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--db", default="bench_pgvector", help="database to (re)create on the server")
    ap.add_argument("--url", default=None, help="server URL (default: scripts/postgres.sh status)")
    ap.add_argument("--skip-deferred", action="store_true", help="skip the raw COPY-then-CREATE INDEX build")
    ap.add_argument("--profile", action="store_true", help="cProfile embedlab's search_many and one add")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--bulk-only", action="store_true", help="only the bulk-load comparison (random vectors)")
    ap.add_argument("--old-n", type=int, default=0, help="with --bulk-only: rows for today's add-with-index path")
    ap.add_argument("--build-configs", default="", help="with --bulk-only: only time CREATE INDEX on a raw table "
                    "for each MEMORY/WORKERS setting, e.g. 64MB/2,auto/2,auto/0")
    args = ap.parse_args()
    if args.bulk_only:
        (builds_main if args.build_configs else bulk_main)(args)
        return

    info = print_settings("pgvector backend vs raw psycopg")
    total = args.queries + args.n
    texts, vecs, enc_info = encoded(total, args.encoder, args.encode_budget)
    print(f"# data: {len(texts):,} sentences of bench-data/corpus.txt encoded with {args.encoder} "
          f"({vecs.shape[1]}-d); {enc_info['encoded_now']:,} encoded in this run ({enc_info['encode_s']:.0f} s)")
    if args.encode_only:
        return
    qv, base = vecs[:args.queries], vecs[args.queries:]
    n, dim = base.shape
    ids = [f"d{i}" for i in range(n)]
    rng = np.random.default_rng(1)
    flags = {key: rng.random(n) < p for key, p in SELECTIVITIES.items()}
    metas = [{key: bool(flags[key][i]) for key in SELECTIVITIES} for i in range(n)]
    docs = texts[args.queries:]
    hnsw = {"M": args.M, "ef_construction": args.ef_construction}
    efs = [int(x) for x in args.efs.split(",")]

    from importlib.metadata import version

    import psycopg

    url = fresh_database(args.url or server_url(), args.db)
    conn = raw_connect(url)
    server = conn.execute("SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'vector'), "
                          "current_setting('max_parallel_maintenance_workers'), "
                          "current_setting('shared_buffers')").fetchone()
    print(f"# server: {server[0].split(',')[0]}, pgvector {server[1]}, shared_buffers {server[3]}, "
          f"max_parallel_maintenance_workers {server[2]}; psycopg {psycopg.__version__}, pgvector-python "
          f"{version('pgvector')}; N={n:,} x {dim}, batch {args.batch:,}, HNSW m={args.M} "
          f"ef_construction={args.ef_construction}")
    out: list[str] = []
    try:
        # 1a. inserts without the HNSW index: the client-side cost of each path
        t0 = time.perf_counter()
        plain = insert_phase(url, conn, ids, base, metas, docs, args.batch, None, "plain")
        print(f"plain inserts done ({time.perf_counter() - t0:.0f} s)", flush=True)
        plain["col"].close()
        # 1b. deferred index build on the raw table (the fastest way to load pgvector)
        deferred = None
        if not args.skip_deferred:
            conn.execute("SET maintenance_work_mem = '1GB'")
            t = time.perf_counter()
            raw_hnsw(conn, plain["raw"], hnsw)
            deferred = time.perf_counter() - t
            conn.execute("RESET maintenance_work_mem")
            print(f"deferred CREATE INDEX: {deferred:.1f} s", flush=True)
        # 1c. inserts into the HNSW-indexed tables
        t0 = time.perf_counter()
        ins = insert_phase(url, conn, ids, base, metas, docs, args.batch, hnsw, "hnsw")
        print(f"HNSW inserts done ({time.perf_counter() - t0:.0f} s)", flush=True)
        col, table, raw = ins["col"], ins["table"], ins["raw"]
        col.compact()  # VACUUM ANALYZE (planner statistics), and the same for the raw table
        conn.execute(f"VACUUM ANALYZE {raw}")
        size_e, size_r = sizes(conn, table), sizes(conn, raw)
        size_d = sizes(conn, plain["raw"]) if deferred is not None else None

        mib = 2 ** 20
        out += [f"### Inserts and build, {n:,} x {dim} ({args.encoder} vectors of real sentences), batches of "
                f"{args.batch:,}", "",
                "Each batch is one transaction on each side; the sides alternate which goes first. embedlab: "
                "`Collection.add(ids, vectors=, metadata=, contents=)`; raw: binary `COPY` straight into a table "
                "of the same layout and indexes.", "",
                md_table(["indexes", "embedlab rows/s", "raw COPY rows/s", "ratio (total time)",
                          "ratio (median per batch)", "embedlab s", "raw s"],
                         [["pk + seq + GIN, no HNSW", fmt_rate(n / plain["embedlab_s"]), fmt_rate(n / plain["raw_s"]),
                           f"{plain['ratio_total']:.2f}", f"{plain['ratio_median']:.2f}",
                           f"{plain['embedlab_s']:.1f}", f"{plain['raw_s']:.1f}"],
                          [f"+ HNSW m={args.M}, ef_construction={args.ef_construction}",
                           fmt_rate(n / ins["embedlab_s"]), fmt_rate(n / ins["raw_s"]), f"{ins['ratio_total']:.2f}",
                           f"{ins['ratio_median']:.2f}", f"{ins['embedlab_s']:.1f}", f"{ins['raw_s']:.1f}"]]), ""]
        rows = [["embedlab (HNSW built row by row during the adds)", f"{ins['embedlab_s']:.1f}",
                 f"{size_e['hnsw'] / mib:.0f}", f"{size_e['total'] / mib:.0f}"],
                ["raw, same inserts", f"{ins['raw_s']:.1f}", f"{size_r['hnsw'] / mib:.0f}",
                 f"{size_r['total'] / mib:.0f}"]]
        if deferred is not None:
            rows.append(["raw, COPY first then CREATE INDEX (maintenance_work_mem 1GB)",
                         f"{plain['raw_s'] + deferred:.1f} ({plain['raw_s']:.1f} + {deferred:.1f})",
                         f"{size_d['hnsw'] / mib:.0f}", f"{size_d['total'] / mib:.0f}"])
        out += [md_table(["build", "seconds", "HNSW index MiB", "table + indexes MiB"], rows), ""]

        # 2. unfiltered recall and q/s
        t_idx, t_s = exact_topk(base, qv, 10)
        rec_rows = []
        for ef in efs:
            got_e = [[h.id for h in hs] for hs in col.search_many(qv, k=10, ef=ef)]
            conn.execute(f"SET hnsw.ef_search = {ef}")
            got_r = [[r[0] for r in raw_search(conn, raw, q, 10)] for q in qv]
            got_rs = [[r[0] for r in raw_search(conn, table, q, 10)] for q in qv]
            rec_rows.append([ef, f"{recall(got_e, t_s, base, qv, 10):.4f}", f"{recall(got_rs, t_s, base, qv, 10):.4f}",
                             f"{recall(got_r, t_s, base, qv, 10):.4f}"])
        conn.execute("RESET hnsw.ef_search")
        out += [f"### Recall@10 against exact search ({len(qv):,} held-out sentences as queries)", "",
                md_table(["ef_search", "embedlab", "raw SQL on embedlab's table", "raw SQL on the raw table"],
                         rec_rows), ""]
        qps_rows = []
        qs = qv[:args.qps_queries]
        for ef in efs:
            r = qps_phase(col, conn, table, qs, ef, args.rounds)
            qps_rows.append([ef, f"{r['single']:.0f}", f"{r['batch']:.0f}", f"{r['raw']:.0f}",
                             f"{r['ratio_single']:.2f}", f"{r['ratio_batch']:.2f}"])
        out += [f"### Search q/s, k=10, {len(qs)} queries per pass, {args.rounds} interleaved rounds (same table)", "",
                "Ratio = median of per-round ratios to the raw `SELECT id, metadata, source, embedding <=> q ... "
                "ORDER BY embedding <=> q LIMIT 10` on one autocommit connection with `SET hnsw.ef_search`.", "",
                md_table(["ef_search", "embedlab `search` q/s", "embedlab `search_many` q/s", "raw q/s",
                          "ratio search", "ratio search_many"], qps_rows), ""]

        # 3. filtered recall
        qf = qv[:args.filter_queries]
        dflt = raw_connect(url)  # pgvector's defaults: ef_search 40, no iterative scan
        dflt.execute("SELECT '[1]'::vector")  # loads pgvector in this session (defines the hnsw.* settings)
        defaults = dflt.execute("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan')"
                                ).fetchone()
        itr = raw_connect(url)
        itr.execute("SET hnsw.ef_search = 128")
        itr.execute("SET hnsw.iterative_scan = relaxed_order")
        f_rows, plans = [], []
        for key, p in SELECTIVITIES.items():
            mask = flags[key]
            _, ts = exact_topk(base, qf, 10, mask)
            where = {key: True}
            sql_where = f"metadata @> '{json.dumps(where)}'"
            t = time.perf_counter()
            got_e = [[h.id for h in hs] for hs in col.search_many(qf, k=10, where=where)]
            te = time.perf_counter() - t
            t = time.perf_counter()
            got_e2 = [[h.id for h in hs] for hs in col.search_many(qf, k=10, where=where, ef=args.filter_ef)]
            te2 = time.perf_counter() - t
            t = time.perf_counter()
            got_d = [[r[0] for r in raw_search(dflt, table, q, 10, sql_where)] for q in qf]
            td = time.perf_counter() - t
            t = time.perf_counter()
            got_i = [[r[0] for r in raw_search(itr, table, q, 10, sql_where)] for q in qf]
            ti = time.perf_counter() - t
            want = min(10, int(mask.sum()))

            def short(got, want=want):
                return sum(len(g) < want for g in got), np.mean([len(g) for g in got])

            se, sd, si = short(got_e), short(got_d), short(got_i)
            f_rows.append([f"{p * 100:g} % ({int(mask.sum()):,} rows)",
                           f"{recall(got_e, ts, base, qf, 10, mask):.4f}", f"{se[0]}", f"{len(qf) / te:.0f}",
                           f"{recall(got_e2, ts, base, qf, 10, mask):.4f}", f"{short(got_e2)[0]}",
                           f"{len(qf) / te2:.0f}",
                           f"{recall(got_d, ts, base, qf, 10, mask):.4f}", f"{sd[0]} (mean {sd[1]:.1f} rows)",
                           f"{len(qf) / td:.0f}",
                           f"{recall(got_i, ts, base, qf, 10, mask):.4f}", f"{si[0]}", f"{len(qf) / ti:.0f}"])
            plans.append(f"- {p * 100:g} %: `{plan_of(dflt, table, qf[0], sql_where)}`")
        dflt.close()
        itr.close()
        out += [f"### Filtered recall@10 against exact search over the matching rows ({len(qf)} queries per "
                "filter)", "",
                f"Filter: `where={{\"fX\": true}}` on a random boolean per row. embedlab: `search_many(queries, "
                f"k=10, where=...)` with its default ef_search (128), and with `ef={args.filter_ef}`. Raw default: pgvector's own "
                f"settings (ef_search {defaults[0]}, iterative_scan {defaults[1]}) and `WHERE metadata @> "
                "'{\"fX\": true}'` on the same table; raw iterative: ef_search 128, iterative_scan relaxed_order. "
                "'short' = queries that got fewer than k rows.", "",
                md_table(["selectivity", "embedlab recall", "short", "q/s", f"embedlab ef={args.filter_ef} recall",
                          "short", "q/s", "raw default recall", "short",
                          "q/s", "raw iterative recall", "short", "q/s"], f_rows), "",
                "Plans of the raw default query (EXPLAIN, first query):", "", *plans, ""]
        if args.profile:
            def one_by_one():
                for q in qs:
                    col.search(q, k=10, ef=efs[0])

            print(f"## profile: {len(qs)} x Collection.search, ef={efs[0]}")
            print(profile(one_by_one))
            print(f"## profile: Collection.search_many of {len(qs)}, ef={efs[-1]}")
            print(profile(lambda: col.search_many(qs, k=10, ef=efs[-1])))
            print(f"## profile: Collection.add of {args.batch} rows into the HNSW collection")
            extra = [f"x{i}" for i in range(args.batch)]
            print(profile(lambda: col.add(extra, vectors=base[:args.batch], metadata=metas[:args.batch],
                                          contents=docs[:args.batch])))
        col.close()
    finally:
        conn.close()
        if not args.keep:
            import psycopg as _pg

            with _pg.connect(with_db(args.url or server_url(), "postgres"), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    print(f"# load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (start: {info['loadavg']})")
    print("\n".join(out))


if __name__ == "__main__":
    main()
