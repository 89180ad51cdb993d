"""Collections under real processes: SIGKILL in the middle of adds, a second writer that times out, and
readers that must only ever see whole adds while another process writes, deletes and compacts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from embedlab.errors import LockTimeoutError
from embedlab.store import Collection

BATCH, DIM = 20_000, 64

CHILD_ADDER = textwrap.dedent(f"""
    import sys, time, numpy as np
    from embedlab.store import Collection
    from embedlab.store.local import segments
    real_write = segments.write_segment
    def traced_write(*a, **kw):  # the real writer, with progress reports so the parent can aim its SIGKILL
        print("writing", flush=True)
        record = real_write(*a, **kw)
        print("written", flush=True)
        time.sleep(float(sys.argv[2]))  # > 0: hold still between the segment write and the SQLite commit
        return record
    segments.write_segment = traced_write  # the write path (add, merges, compaction) looks it up there
    c = Collection.open_or_create("crash", dim={DIM}, root=sys.argv[1])
    b = len(c) // {BATCH}
    print("ready", b, flush=True)
    while True:
        v = np.random.default_rng(b).normal(size=({BATCH}, {DIM})).astype(np.float32)
        c.add([f"b{{b}}-{{i}}" for i in range({BATCH})], vectors=v, metadata=[{{"b": b}}] * {BATCH})
        print("committed", b, flush=True)
        b += 1
""")


def spawn(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env)


def expected(b: int) -> np.ndarray:
    v = np.random.default_rng(b).normal(size=(BATCH, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# (event to wait for after one commit, seconds to wait after it, child's pause between segment write and commit)
KILL_POINTS = [
    ("writing", 0.0, 0.0),     # while the segment file is being written
    ("written", 0.0, 1.0),     # segment complete and fsynced, nothing in SQLite yet: an orphan file
    ("written", 0.03, 0.0),    # during the SQLite inserts / commit
    ("committed", 0.1, 0.0),   # somewhere in the next add's preparation
    ("writing", 0.01, 0.0),
    ("committed", 0.0, 0.0),
    ("writing", 0.02, 0.0),    # by now the 8th small add has triggered merges of the trailing segments
    ("written", 0.0, 1.0),
]


@pytest.mark.slow
def test_sigkill_mid_add_leaves_last_committed_state(tmp_path):
    root = str(tmp_path)
    committed, orphans_seen = 0, 0
    for event, delay, pause in KILL_POINTS:
        child = spawn(CHILD_ADDER, root, str(pause))
        assert child.stdout.readline().split() == ["ready", str(committed)]
        lines = []
        while not (lines.count("committed") >= 1 and lines[-1] == event):
            word = child.stdout.readline().split()[0]
            lines.append(word)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines += [w for w in child.stdout.read().split() if not w.isdigit()]
        folder = tmp_path / "crash"
        files = len(list((folder / "segments").iterdir()))
        with Collection.open("crash", root=root) as c:
            n = len(c)
            reported = committed + lines.count("committed")
            assert n in (reported * BATCH, (reported + 1) * BATCH)  # +1: committed, killed before printing
            committed = n // BATCH
            listed = c.info()["segments"]  # small adds get merged, so segments <= adds
            orphans_seen += files - listed
            segs = sorted(p.name for p in (c.path / "segments").iterdir())
            assert len(segs) == listed <= committed  # half-written / uncommitted segments were deleted on open
            ids = c.ids()
            assert len(ids) == n and len(set(ids)) == n
            for b in range(committed):
                vb = expected(b)
                hit = c.search(vb[123], k=1)[0]
                assert hit.id == f"b{b}-123" and hit.metadata == {"b": b} and hit.score == pytest.approx(1.0)
                item = c.get([f"b{b}-{BATCH - 1}"])[0]
                np.testing.assert_allclose(item.vector, vb[-1], atol=1e-6)
            assert len(c.search(expected(0)[0], k=5, where={"b": committed - 1})) == 5
    assert committed >= len(KILL_POINTS) and orphans_seen >= 2
    with Collection.open("crash", root=root) as c:
        assert c.info()["segments"] < committed  # merges of small segments were part of the run


LOCK_HOLDER = textwrap.dedent("""
    import sys, time
    from embedlab.store import Collection
    c = Collection.open("shared", root=sys.argv[1])
    with c.writing():
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
""")


def test_second_writer_times_out_while_readers_continue(tmp_path):
    root = str(tmp_path)
    c = Collection.create("shared", dim=4, root=root, lock_timeout=0.3)
    c.add(["a"], vectors=[[1, 0, 0, 0]])
    holder = spawn(LOCK_HOLDER, root, "3")
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with pytest.raises(LockTimeoutError, match=r"collection 'shared' is being written by another process.*"
                                                   r"still held after 0.3 s.*lock_timeout"):
            c.add(["b"], vectors=[[0, 1, 0, 0]])
        assert time.monotonic() - t0 > 0.25  # it waited for the lock (no upper bound: a loaded machine is slow)
        with pytest.raises(LockTimeoutError):
            c.delete(["a"])
        assert len(c) == 1 and c.search([1, 0, 0, 0])[0].id == "a"  # reading is never blocked
        reader = Collection.open("shared", root=root, readonly=True)
        assert reader.ids() == ["a"]
        c.lock_timeout = 10.0  # a patient writer waits for the holder to finish
        c.add(["b"], vectors=[[0, 1, 0, 0]])
        assert holder.stdout.readline().strip() == "released"
        assert reader.ids() == ["a", "b"]
    finally:
        holder.kill()
        holder.wait()


CHURN_WRITER = textwrap.dedent("""
    import sys, numpy as np
    from embedlab.store import Collection
    c = Collection.open("churn", root=sys.argv[1], auto_compact=0.3)
    rng = np.random.default_rng(0)
    for b in range(1, 41):
        c.add([f"{b}-{i}" for i in range(50)], vectors=rng.normal(size=(50, 8)).astype(np.float32),
              metadata=[{"b": b}] * 50)
        if b % 3 == 0:
            c.delete([f"{b - 2}-{i}" for i in range(50)])
    print("done", c.info()["generation"], flush=True)
""")


def test_readers_only_see_whole_adds_during_writes_and_compactions(tmp_path):
    root = str(tmp_path)
    c = Collection.create("churn", dim=8, root=root)
    c.add([f"0-{i}" for i in range(50)], vectors=np.ones((50, 8), np.float32), metadata=[{"b": 0}] * 50)
    writer = spawn(CHURN_WRITER, root)
    reader = Collection.open("churn", root=root, readonly=True)
    q = np.ones(8, np.float32)
    seen_gens, checks = set(), 0
    try:
        while writer.poll() is None or checks == 0:
            for col in (c, reader):
                hits = col.search(q, k=5000)
                batches: dict[str, int] = {}
                for h in hits:
                    b = h.id.split("-")[0]
                    batches[b] = batches.get(b, 0) + 1
                    assert h.metadata["b"] == int(b)
                assert all(v == 50 for v in batches.values()), batches
                assert len(col) % 50 == 0
            seen_gens.add(reader.info()["generation"])
            checks += 1
        out = writer.stdout.read().split()
        assert writer.returncode == 0 and out[0] == "done"
    finally:
        writer.kill()
        writer.wait()
    final = {h.id.split("-")[0] for h in reader.search(q, k=5000)}
    deleted = {str(b - 2) for b in range(3, 41, 3)}
    assert final == {str(b) for b in range(41)} - deleted
    assert len(reader) == 50 * len(final) and reader.info()["generation"] == int(out[1])
    assert len(seen_gens) > 3  # the reader really ran while the writer was committing


def test_a_segment_removed_while_its_header_is_read_is_stale_not_damaged(tmp_path, monkeypatch):
    """The race behind a reader's retry: a compaction commits and removes a segment between the reader's listing
    and its opening. Wherever the file vanishes, the reader must see FileNotFoundError (re-read the catalogue),
    never a CorruptFileError that calls a healthy collection damaged."""
    from embedlab.store.local import segments

    c = Collection.create("race", dim=4, root=str(tmp_path))
    c.add(["a", "b"], vectors=np.eye(2, 4, dtype=np.float32))
    c.close()
    (path,) = (tmp_path / "race" / "segments").glob("seg-*.npy")
    real = segments.npy_header

    def vanish_then_read(p, *args, **kwargs):
        os.unlink(p)  # the compaction's cleanup, between the exists() check and the header read
        return real(p, *args, **kwargs)

    monkeypatch.setattr(segments, "npy_header", vanish_then_read)
    with pytest.raises(FileNotFoundError, match="is missing"):
        segments.open_segment(path, 2, 4)
