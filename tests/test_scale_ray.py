"""Distributed indexing on a local Ray cluster (``ray.init(num_cpus=2)``, one per test session): the same result
as the single-process path, one encoder per actor, direct idempotent writes to PostgreSQL, and a worker killed
in the middle of a run retried by Ray with no duplicates and no gaps."""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
cloudpickle = pytest.importorskip("ray.cloudpickle")

from embedlab.encoders.base import Encoder  # noqa: E402
from embedlab.ingest import read_sources  # noqa: E402
from embedlab.passages import index_records  # noqa: E402
from embedlab.store import Collection  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's encoder classes travel to the workers


class Trigrams(Encoder):
    """A small real text encoder (hashed character trigrams, 64-d); records each construction in ``log``."""

    name = "test-ray-trigrams"
    dim = 64
    metric = "cosine"

    def __init__(self, log: str | None = None) -> None:
        if log:
            with open(log, "a") as fh:
                fh.write(f"{os.getpid()}\n")

    def _encode_batch(self, items):
        out = np.zeros((len(items), self.dim), np.float32)
        for r, text in enumerate(items):
            t = f"  {text.lower()}  "
            for i in range(len(t) - 2):
                out[r, zlib.crc32(t[i:i + 3].encode()) % self.dim] += 1.0
        return out


class Build:
    def __init__(self, log: str | None = None, crash_marker: str | None = None) -> None:
        self.log, self.crash_marker = log, crash_marker

    def __call__(self) -> Encoder:
        enc = Trigrams(self.log)
        if self.crash_marker:
            enc = CrashOnce(enc, self.crash_marker)
        return enc


class CrashOnce(Trigrams):
    """Kills its worker process (as the OOM killer would) on its third batch, once per test run."""

    def __init__(self, inner: Trigrams, marker: str) -> None:
        self.inner, self.marker, self.calls = inner, marker, 0

    def _encode_batch(self, items):
        self.calls += 1
        if self.calls == 3 and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)
        return self.inner._encode_batch(items)


@pytest.fixture(scope="module")
def cluster():
    from embedlab.scale.ray import init

    was = ray.is_initialized()
    init(workers=2)
    yield
    if not was:
        ray.shutdown()


def _docs(folder: Path, n: int = 240) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"d{i:03d}.txt").write_text(f"Document {i} is about {['trains', 'ships', 'planes'][i % 3]} and "
                                              f"number {i % 11}.", "utf-8")
    return folder


def _single_process(name: str, docs: Path) -> Collection:
    c = Collection.create(name, Trigrams())
    index_records(c, read_sources(docs).records)
    return c


def test_same_result_as_the_single_process_path_and_one_encoder_per_actor(cluster, tmp_path):
    from embedlab.scale.ray import upsert_records

    docs = _docs(tmp_path / "docs")
    plain = _single_process("plain", docs)
    log = tmp_path / "constructed.log"
    c = Collection.create("onray", Trigrams())
    records = read_sources(docs).records
    got = upsert_records(c, records, workers=2, batch_size=16, encoder=Build(str(log)))
    assert got == {"added": 240, "updated": 0, "unchanged": 0}
    a, b = c.vectors(), plain.vectors()
    assert a.keys == b.keys
    np.testing.assert_allclose(np.asarray(a.matrix), np.asarray(b.matrix), atol=1e-6)
    pids = log.read_text().split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids)  # 15 batches, one model per actor
    assert upsert_records(c, records, workers=2, encoder=Build(str(log))) == {"added": 0, "updated": 0,
                                                                               "unchanged": 240}
    assert log.read_text().split() == pids  # nothing changed: nothing was sent to Ray


def test_a_killed_worker_is_retried_without_duplicates_or_gaps(cluster, tmp_path, pg_url):
    from embedlab.scale.ray import upsert_records

    for name in Collection.names(backend=pg_url):
        Collection.drop(name, backend=pg_url)
    docs = _docs(tmp_path / "docs", 300)
    plain = _single_process("plain", docs)
    marker = tmp_path / "crashed"
    c = Collection.create("killed", Trigrams(), backend=pg_url)  # actors write to PostgreSQL themselves
    records = read_sources(docs).records
    upsert_records(c, records, workers=2, batch_size=20, encoder=Build(crash_marker=str(marker)))
    assert marker.exists()  # a worker really died mid-run
    ids = c.ids()
    assert len(ids) == len(set(ids)) == 300 and sorted(ids) == sorted(plain.ids())
    a = c.get(sorted(ids))
    b = plain.get(sorted(ids))
    np.testing.assert_allclose(np.stack([x.vector for x in a]), np.stack([x.vector for x in b]), atol=1e-6)
    again = upsert_records(c, records, workers=2, encoder=Build())
    assert again == {"added": 0, "updated": 0, "unchanged": 300}


def test_cli_engine_ray_indexes_a_folder(cluster, tmp_path, capsys):
    import json

    from embedlab.cli import main

    docs = _docs(tmp_path / "docs", 30)
    with pytest.raises(SystemExit) as exc:
        main(["index", "viaray", str(docs), "--engine", "ray", "--workers", "2", "--batch-size", "8", "--json"])
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 30 and out["count"] == 30
    with Collection.open("viaray") as c:
        assert c.search("a ship at sea", k=3)[0].id in {f"d{i:03d}.txt" for i in range(1, 30, 3)}
    with pytest.raises(SystemExit) as exc:
        main(["index", "viaray", str(docs), "--engine", "spark"])
    assert exc.value.code == 2 and "--engine must be local or ray" in capsys.readouterr().err


def test_check_address_accepts_the_running_cluster(cluster, monkeypatch, tmp_path):
    from embedlab.scale import check_address
    from embedlab.scale.ray import init

    gcs = ray.get_runtime_context().gcs_address
    assert check_address(gcs) == gcs
    assert init(address=gcs) is ray  # checked, then the running connection is reused
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "ray_current_cluster").write_text(gcs + "\n")
    assert check_address("auto") == gcs
