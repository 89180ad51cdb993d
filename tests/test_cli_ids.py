"""`embedlab ids` on both backends: every id one per line in write order, pages (--offset, --limit), --where, one
JSON page, one-line errors for bad values, and a pipe that closes early (``| head``) ends it quietly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.store import Collection


def run(capsys, backend: dict, *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    where = ("--backend", backend["backend"]) if backend else ()
    with pytest.raises(SystemExit) as exc:
        main([*where, *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def things(backend):
    col = Collection.create("things", dim=3, **backend)
    col.add(["a", "b", "rail#0", "rail#1", "c"], vectors=np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]],
            metadata=[{"lang": "en"}, {"lang": "ko"}, {"doc_id": "rail"}, {"doc_id": "rail"}, {"lang": "ko"}])
    col.close()
    return backend


def test_every_id_one_per_line(capsys, things):
    assert run(capsys, things, "ids", "things") == (0, "a\nb\nrail#0\nrail#1\nc\n", "")


def test_pages(capsys, things):
    assert run(capsys, things, "ids", "things", "--offset", "1", "--limit", "2") == (0, "b\nrail#0\n", "")
    assert run(capsys, things, "ids", "things", "--limit", "1") == (0, "a\n", "")
    assert run(capsys, things, "ids", "things", "--offset", "4") == (0, "c\n", "")
    assert run(capsys, things, "ids", "things", "--offset", "9") == (0, "", "")


def test_where_and_json(capsys, things):
    assert run(capsys, things, "ids", "things", "--where", "lang=ko") == (0, "b\nc\n", "")
    code, out, _ = run(capsys, things, "ids", "things", "--offset", "1", "--limit", "2", "--json")
    assert code == 0
    assert json.loads(out) == {"collection": "things", "count": 5, "offset": 1, "limit": 2, "ids": ["b", "rail#0"]}
    code, out, _ = run(capsys, things, "ids", "things", "--where", "lang=ko", "--json")
    assert json.loads(out) == {"collection": "things", "count": 2, "offset": 0, "limit": None, "ids": ["b", "c"]}


@pytest.mark.parametrize("args,message", [
    (("--offset", "-1"), "--offset must be 0 or more, got -1"),
    (("--limit", "0"), "--limit must be 1 or more, got 0 (leave it out for all ids)"),
    (("--limit", "-3"), "--limit must be 1 or more, got -3 (leave it out for all ids)"),
    (("--where", "lang"), "--where takes key=value or a JSON filter, got 'lang' (e.g. --where lang=ko or --where "
                          """'{"year": {"$gte": 2020}}')"""),
])
def test_bad_values_are_one_line_errors(capsys, things, args, message):
    assert run(capsys, things, "ids", "things", *args) == (2, "", f"error: {message}\n")


def test_unknown_collection(capsys, things):
    code, out, err = run(capsys, things, "ids", "thing")
    assert (code, out) == (2, "")
    assert " ".join(err.split()) == ("error: no collection named 'thing' (existing: things); did you mean 'things'? "
                                     "Or make it with: embedlab index thing PATH...")


def test_a_pipe_closed_early_ends_quietly(tmp_path, backend):
    """`embedlab ids many | head -1`: far more ids than a pipe buffers; the reader leaves after one line."""
    n = 40_000
    col = Collection.create("many", dim=2, **backend)
    col.add([f"id-{i:06d}" for i in range(n)], vectors=np.ones((n, 2), np.float32))
    col.close()
    where = ["--backend", backend["backend"]] if backend else ["--home", str(tmp_path / "home")]
    proc = subprocess.Popen([sys.executable, "-m", "embedlab.cli", *where, "ids", "many"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"id-000000\n"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1  # as click exits for a closed pipe
    assert err == ""
