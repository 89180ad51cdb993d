"""`embedlab compact NAME` (issue 21: compaction was Python-only): runs Collection.compact() on both backends,
says what it did (rows, segments, bytes, seconds; --json), and refuses a missing or read-only collection in one
line."""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.store import Collection


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def cli(backend: dict) -> tuple[str, ...]:
    return ("--backend", backend["backend"]) if backend else ()


V = np.random.default_rng(7).normal(size=(1000, 64)).astype(np.float32)


def _with_dead_rows(name: str, **kw) -> None:
    """1,000 items written, then 300 deleted and 100 replaced: 700 live; auto-compaction off so the dead rows
    stay."""
    with Collection.create(name, dim=64, auto_compact=1.0, **kw) as col:
        col.add([f"i{n}" for n in range(500)], vectors=V[:500])
        col.add([f"i{n}" for n in range(500, 1000)], vectors=V[500:])
        col.delete([f"i{n}" for n in range(0, 600, 2)])
        col.upsert([f"i{n}" for n in range(601, 801, 2)], vectors=V[601:801:2][::-1])


def test_compact_on_both_backends(capsys, backend):
    _with_dead_rows("c", **backend)
    with Collection.open("c", **backend) as col:
        ids_before, hits_before = col.ids(), [h.id for h in col.search(V[3], k=5)]
        info = col.info()
    assert info["count"] == 700
    code, out, err = run(capsys, *cli(backend), "compact", "c", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert set(rep) == {"collection", "backend", "items", "rows_before", "rows_after", "segments_before",
                        "segments_after", "bytes_before", "bytes_after", "seconds"}
    assert (rep["collection"], rep["items"], rep["rows_after"]) == ("c", 700, 700)
    assert rep["seconds"] >= 0 and isinstance(rep["bytes_before"], int) and isinstance(rep["bytes_after"], int)
    if backend:  # PostgreSQL: VACUUM (ANALYZE); it counts live rows only and has no segments
        assert (rep["backend"], rep["rows_before"], rep["segments_before"], rep["segments_after"]) == \
            ("postgresql", 700, None, None)
    else:  # 1,000 written + 100 replaced = 1,100 stored rows, 400 of them dead, rewritten into one segment
        assert (rep["backend"], rep["rows_before"], rep["segments_after"]) == ("local", 1100, 1)
        assert rep["segments_before"] >= 1 and rep["bytes_after"] < rep["bytes_before"]
    with Collection.open("c", **backend) as col:
        assert col.ids() == ids_before and [h.id for h in col.search(V[3], k=5)] == hits_before
        assert col.info().get("deleted_rows", 0) == 0
        np.testing.assert_allclose(col.get(["i601"])[0].vector, V[799] / np.linalg.norm(V[799]), rtol=1e-6)

    # the text form; compacting again finds nothing to reclaim
    code, out, err = run(capsys, *cli(backend), "compact", "c")
    out = " ".join(out.split())
    assert code == 0 and out.startswith("compacted c (") and "700 → 700 stored row(s) for 700 item(s)" in out, err
    assert ("VACUUM (ANALYZE)" in out) == bool(backend) and ("1 → 1 segment(s)" in out) == (not backend)
    assert ("(nothing to reclaim)" in out) == (not backend)


def test_compact_refuses_a_missing_collection(capsys, backend):
    code, out, err = run(capsys, *cli(backend), "compact", "nothere")
    assert code == 2 and out == "" and "no collection named 'nothere'" in err and "Traceback" not in err


@contextlib.contextmanager
def _read_only_bind(tmp_path, src):
    point = tmp_path / f"ro-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(src), str(point)], check=True, capture_output=True, timeout=30)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(point)], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError) as exc:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)
        pytest.skip(f"cannot mount a read-only file system here (needs root): {exc}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def test_compact_refuses_a_read_only_collection_and_changes_nothing(capsys, tmp_path):
    src = tmp_path / "home"
    _with_dead_rows("c", root=src / "collections")
    with _read_only_bind(tmp_path, src) as ro:
        code, out, err = run(capsys, "--home", ro, "compact", "c")
        assert code == 2 and out == "" and "Traceback" not in err
        assert "collection 'c' is on read-only media or in a folder you cannot write" in err
        with Collection.open("c", root=ro / "collections") as col:
            assert col.readonly and col.info()["deleted_rows"] == 400 and col.count() == 700
