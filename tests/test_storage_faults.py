"""Storage faults: a full disk, read-only media, damaged files, and names or ids the store cannot round-trip.

The full-disk and read-only tests use real conditions: a 2 MiB tmpfs and a read-only bind mount, which need
root (the test set-up runs as root); elsewhere they skip and say why."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import uuid

import numpy as np
import pytest

from embedlab.errors import (
    CollectionNotFoundError,
    CorruptFileError,
    InputError,
    ReadOnlyStorageError,
    StorageFullError,
)
from embedlab.store import Collection


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def mounted(tmp_path, *opts: str):
    point = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
    point.mkdir()
    try:
        _mount(*opts, str(point)) if opts[0] != "--bind" else _mount(*opts[:2], str(point))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a test file system here (needs root): {exc}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def test_a_full_disk_is_a_clear_error_and_keeps_the_last_commit(tmp_path):
    with mounted(tmp_path, "-t", "tmpfs", "-o", "size=2m", "tmpfs") as disk:
        rng = np.random.default_rng(0)
        c = Collection.create("full", dim=64, root=disk)
        first = rng.normal(size=(500, 64)).astype(np.float32)  # 128 KB
        c.add([f"a{i}" for i in range(500)], vectors=first)
        before = (c.ids(), c.generation)
        with pytest.raises(StorageFullError, match="no space left"):
            c.add([f"b{i}" for i in range(20_000)], vectors=rng.normal(size=(20_000, 64)).astype(np.float32))
        assert (c.ids(), c.generation) == before  # nothing half-written became visible
        assert c.search(first[7], k=1)[0].id == "a7"
        leftovers = [p.name for p in (c.path / "segments").iterdir()]
        assert len(leftovers) == 1  # the failed segment file was removed, the committed one kept
        c.delete([f"a{i}" for i in range(0, 500, 2)])  # small writes still work once space is left
        assert len(c) == 250
        c.close()
        with Collection.open("full", root=disk) as again:
            assert len(again) == 250 and again.check()["ok"]
        filler = disk / "filler"
        with pytest.raises(OSError):
            with open(filler, "wb") as fh:  # leave no space at all, then try every kind of write
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
        with Collection.open("full", root=disk) as again:
            for write in (lambda: again.add(["z"], vectors=first[:1]), lambda: again.compact()):
                with pytest.raises(StorageFullError):
                    write()
            assert len(again) == 250 and again.search(first[9], k=1)[0].id == "a9"
        filler.unlink()
        with Collection.open("full", root=disk) as again:
            again.compact()
            assert len(again) == 250 and again.info()["segments"] == 1


def test_a_healthy_collection_opens_read_only_on_read_only_media(tmp_path):
    src = tmp_path / "src"
    v = np.eye(4, dtype=np.float32)
    with Collection.create("docs", dim=4, root=src) as c:
        c.add(["a", "b", "c", "d"], vectors=v, metadata=[{"n": i} for i in range(4)], contents=list("wxyz"))
    with mounted(tmp_path, "--bind", str(src)) as ro:
        _mount("-o", "remount,bind,ro", str(ro))
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")
        with Collection.open("docs", root=ro) as c:  # not "damaged": read-only, by itself
            assert c.readonly and len(c) == 4 and c.search(v[2], k=1)[0].id == "c"
            assert c.get(["d"])[0].metadata == {"n": 3} and c.contents(["a"]) == ["w"]
            assert c.info()["count"] == 4 and len(list(c.export_rows(2))) == 2 and c.check()["ok"]
            with pytest.raises(ReadOnlyStorageError, match="read-only media.*copy it somewhere writable"):
                c.add(["e"], vectors=v[:1])
            with pytest.raises(ReadOnlyStorageError):
                c.delete(["a"])
        assert Collection.names(ro) == ["docs"]


def _segments(c):
    return sorted((c.path / "segments").iterdir())


def test_damaged_files_answer_loudly_never_wrongly(tmp_path):
    rng = np.random.default_rng(1)
    v = rng.normal(size=(3000, 32)).astype(np.float32)
    c = Collection.create("dmg", dim=32, root=tmp_path)
    c.add([f"x{i}" for i in range(1500)], vectors=v[:1500])
    c.add([f"y{i}" for i in range(1500)], vectors=v[1500:])  # two segments of the same size
    assert c.check()["ok"] and c.check(deep=False)["ok"]
    c.close()
    a, b = _segments(c)
    # swapped segments: same shape and size, other rows
    tmp = a.with_suffix(".swap")
    os.rename(a, tmp), os.rename(b, a), os.rename(tmp, b)
    with pytest.raises(CorruptFileError, match="does not hold the rows the catalogue recorded"):
        Collection.open("dmg", root=tmp_path)
    os.rename(a, tmp), os.rename(b, a), os.rename(tmp, b)
    # one flipped bit in the middle: the cheap open checks cannot see it, `check` does
    data = bytearray(a.read_bytes())
    data[len(data) // 2] ^= 0x10
    a.write_bytes(bytes(data))
    with Collection.open("dmg", root=tmp_path) as c2:
        report = c2.check()
        assert not report["ok"] and "CRC32 differs" in report["problems"][0]
        assert c2.check(deep=False)["ok"]  # the quick check skips the full read, as documented
    data[len(data) // 2] ^= 0x10
    a.write_bytes(bytes(data))
    # a truncated segment
    with open(b, "r+b") as fh:
        fh.truncate(b.stat().st_size - 128)
    with pytest.raises(CorruptFileError, match="truncated or replaced"):
        Collection.open("dmg", root=tmp_path)



@pytest.mark.parametrize("flip", range(12))
def test_any_flipped_byte_in_a_segment_header_is_a_corrupt_file_error(tmp_path, flip):
    """A damaged .npy header inside a segment (once a raw tokenize.TokenError or SyntaxError) is reported as
    damage of that segment, whichever byte of the header dict is hit."""
    c = Collection.create("hdr", dim=8, root=tmp_path)
    c.add(["a", "b"], vectors=np.eye(2, 8, dtype=np.float32))
    c.close()
    (seg,) = _segments(c)
    data = bytearray(seg.read_bytes())
    header_end = data.index(b"}")  # the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }
    pos = 10 + (flip * (header_end - 10)) // 12
    data[pos] = ord("'") if data[pos] != ord("'") else ord("(")  # a quote or bracket where there was none
    seg.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"vector segment .*\.npy"):
        Collection.open("hdr", root=tmp_path)


def test_a_segments_path_that_is_not_a_folder_is_reported_as_damage(tmp_path):
    """``segments/`` replaced by a file (or gone): CorruptFileError on open, for reading and writing alike (once
    a raw NotADirectoryError when opened for writing)."""
    c = Collection.create("lay", dim=4, root=tmp_path)
    c.add(["a"], vectors=np.ones((1, 4), np.float32))
    c.close()
    seg_dir = c.path / "segments"
    for p in seg_dir.iterdir():
        p.unlink()
    seg_dir.rmdir()
    seg_dir.write_text("not a folder")
    for readonly in (False, True):
        with pytest.raises(CorruptFileError, match=r"collection 'lay' is damaged: .*segments is not a folder"):
            Collection.open("lay", root=tmp_path, readonly=readonly)
    seg_dir.unlink()
    with pytest.raises(CorruptFileError, match=r"segments is missing"):
        Collection.open("lay", root=tmp_path)

def test_an_edited_manifest_and_bad_catalogue_rows_are_errors(tmp_path):
    with Collection.create("man", dim=4, metric="cosine", root=tmp_path) as c:
        c.add(["a", "b"], vectors=np.eye(4, dtype=np.float32)[:2])
    path = tmp_path / "man" / "manifest.json"
    doc = json.loads(path.read_text())
    doc["encoder"]["metric"] = "dot"  # would silently change every score
    path.write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError, match="was changed after the collection was created.*metric"):
        Collection.open("man", root=tmp_path)
    doc["encoder"]["metric"] = "cosine"
    path.write_text(json.dumps(doc))
    con = sqlite3.connect(tmp_path / "man" / "catalog.sqlite")
    con.execute("UPDATE items SET id = CAST('b' AS BLOB) WHERE id = 'b'")  # an id that comes back as bytes
    con.commit()
    con.close()
    with Collection.open("man", root=tmp_path) as c:
        with pytest.raises(CorruptFileError, match="item id came back as bytes"):
            c.ids()
        with pytest.raises(CorruptFileError, match="item id came back as bytes"):
            c.search([1, 0, 0, 0], k=2)


def test_every_sqlite_error_becomes_an_embedlab_error(tmp_path):
    with Collection.create("sq", dim=2, root=tmp_path) as c:
        c.add(["a"], vectors=[[1, 0]])
    con = sqlite3.connect(tmp_path / "sq" / "catalog.sqlite")
    con.execute("DROP TABLE dead")
    con.commit()
    con.close()
    with pytest.raises(CorruptFileError, match="damaged or not an embedlab catalogue"):
        Collection.open("sq", root=tmp_path)


def test_names_are_checked_on_every_path_and_only_marked_folders_are_deleted(tmp_path):
    for bad in ("docs\n", "../up", "", ".hidden", "a/b", "x" * 200, None, 7):
        for call in (lambda bad=bad: Collection.open(bad, root=tmp_path),
                     lambda bad=bad: Collection.drop(bad, root=tmp_path),
                     lambda bad=bad: Collection.create(bad, dim=2, root=tmp_path)):
            with pytest.raises(InputError, match="bad collection name"):
                call()
    stranger = tmp_path / "photos"
    stranger.mkdir()
    (stranger / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(InputError, match="without embedlab's marks"):
        Collection.drop("photos", root=tmp_path)
    assert (stranger / "holiday.jpg").exists()
    with pytest.raises(CollectionNotFoundError):
        Collection.drop("nothing", root=tmp_path)
    with Collection.create("kept", dim=2, root=tmp_path) as c:
        c.add(["a"], vectors=[[1, 0]])
        mine = c.path / "segments" / "notes.txt"  # a user's file inside: not named like a segment
    mine.write_text("keep me")
    Collection.open("kept", root=tmp_path).close()  # opening collects garbage segments only
    assert mine.read_text() == "keep me"


def test_ids_the_store_cannot_round_trip_are_refused_up_front():
    c = Collection.create("ids", dim=2)
    for bad, msg in (("a\0b", "NUL character"), ("\ud800x", "not valid Unicode")):
        with pytest.raises(InputError, match=msg):
            c.add([bad], vectors=[[1, 0]])
        with pytest.raises(InputError, match=msg):
            c.upsert(["ok", bad], vectors=[[1, 0], [0, 1]])
        assert bad not in c
    with pytest.raises(InputError, match="source at position 0 is not valid Unicode"):
        c.add(["s"], vectors=[[1, 0]], sources=["\udcff"])
    assert len(c) == 0
    c.add(["ünï-😀 id"], vectors=[[1, 0]])
    assert c.get(["ünï-😀 id"])[0].id == "ünï-😀 id" and c.delete(["ünï-😀 id"]) == 1


def test_a_closed_collection_releases_its_memory_maps(tmp_path):
    c = Collection.create("mm", dim=8, root=tmp_path)
    c.add([f"m{i}" for i in range(100)], vectors=np.ones((100, 8), np.float32))
    seg = _segments(c)[0]

    def maps() -> int:
        with open("/proc/self/maps") as fh:
            return sum(str(seg) in line for line in fh)

    c.search(np.ones(8), k=1)
    assert maps() >= 1
    c.close()
    import gc

    gc.collect()
    assert maps() == 0
    with pytest.raises(InputError, match="closed"):
        c.count()


def _flip_in_file(path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, (old, data.count(old))
    path.write_bytes(data.replace(old, new))


def test_a_flipped_bit_in_a_catalogue_row_is_caught_never_returned(tmp_path):
    """SQLite pages carry no checksum: a flipped bit inside an item's row once came back as a silently different
    item with the count still right. Every row carries CRC32s, verified when read and by check()."""
    c = Collection.create("cat", dim=2, root=tmp_path)
    c.add(["a", "b"], vectors=np.eye(2, dtype=np.float32), metadata=[{"price": 12345}, {"price": 7}],
          contents=["a bright morning", "a quiet night"])
    c.close()
    db = c.path / "catalog.sqlite"
    _flip_in_file(db, b'12345', b'12344')  # a 5 -> 4 (one bit) inside the JSON text
    with Collection.open("cat", root=tmp_path, readonly=True) as ro:
        assert ro.get(["b"])[0].metadata == {"price": 7}  # the undamaged row reads as before
        with pytest.raises(CorruptFileError, match="catalogue row of item 'a' does not match its checksum"):
            ro.get(["a"])
        with pytest.raises(CorruptFileError, match="does not match its checksum"):
            ro.search([1.0, 0.0], k=2)  # a hit's metadata is read through the same check
        report = ro.check()
        assert not report["ok"] and "do not match their checksum (e.g. id 'a')" in " ".join(report["problems"])
    _flip_in_file(db, b'12344', b'12345')
    _flip_in_file(db, b"a quiet night", b"a quiet nighu")  # the content of "b"
    with Collection.open("cat", root=tmp_path, readonly=True) as ro:
        with pytest.raises(CorruptFileError, match="content of item 'b' does not match its checksum"):
            ro.contents(["b"])
        assert ro.contents(["a"]) == ["a bright morning"]


def test_the_catalogues_own_records_are_checked_on_every_open(tmp_path):
    """The state table (counts, generation), the segment rows and the manifest copy carry one checksum, checked
    cheaply when a collection opens."""
    c = Collection.create("rec", dim=2, root=tmp_path)
    c.add(["a"], vectors=np.ones((1, 2), np.float32))
    c.close()
    con = sqlite3.connect(c.path / "catalog.sqlite")
    con.execute("UPDATE state SET value = 5 WHERE key = 'count'")  # what a flipped bit in that row does
    con.commit()
    con.close()
    for readonly in (True, False):
        with pytest.raises(CorruptFileError, match="records do not match their checksum"):
            Collection.open("rec", root=tmp_path, readonly=readonly)


def test_an_older_catalogue_gains_its_checksums_on_the_first_writable_open(tmp_path):
    c = Collection.create("old", dim=2, root=tmp_path)
    c.add(["a", "b"], vectors=np.eye(2, dtype=np.float32), metadata=[{"x": 1}, {"x": 2}])
    c.close()
    con = sqlite3.connect(c.path / "catalog.sqlite")  # as schema 2 wrote it: no row or record checksums
    con.execute("ALTER TABLE items DROP COLUMN crc")
    con.execute("ALTER TABLE items DROP COLUMN content_crc")
    con.execute("DELETE FROM meta WHERE key = 'records_crc'")
    con.execute("UPDATE state SET value = 2 WHERE key = 'schema'")
    con.commit()
    con.close()
    with Collection.open("old", root=tmp_path, readonly=True) as ro:  # reads as before, unchecked
        assert [it.metadata for it in ro.get(["a", "b"])] == [{"x": 1}, {"x": 2}]
    with Collection.open("old", root=tmp_path) as rw:  # upgraded here
        assert rw.check()["ok"] and rw.get(["a"])[0].metadata == {"x": 1}
    _flip_in_file(c.path / "catalog.sqlite", b'"x": 2', b'"x": 3')
    with Collection.open("old", root=tmp_path, readonly=True) as ro, pytest.raises(CorruptFileError, match="checksum"):
        ro.get(["b"])


def _open_catalogue_files(folder) -> list[str]:
    """This process's open file handles on ``folder``'s catalogue files (Linux: /proc/self/fd)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder / "catalog.sqlite")):
                out.append(target)
    return out


@pytest.mark.parametrize("readonly", [False, True])
@pytest.mark.parametrize("damage", ["half", "garbage", "no tables"])
def test_a_catalogue_that_fails_to_open_leaves_nothing_open(tmp_path, damage, readonly):
    # a failed open used to keep its SQLite connection until the garbage collector ran: the same process's next
    # open of the folder then read as "stayed locked by another process" (LockTimeoutError), not as the damage
    import gc

    c = Collection.create("cat", dim=4, root=tmp_path)
    c.add([f"a{i}" for i in range(200)], vectors=np.ones((200, 4), np.float32), metadata=[{"k": "v" * 50}] * 200)
    folder = c.path
    c.close()
    cat = folder / "catalog.sqlite"
    data = cat.read_bytes()
    cat.write_bytes({"half": data[:len(data) // 2], "garbage": b"not a database" * 100, "no tables": b""}[damage])
    want = {"half": "malformed", "garbage": "not a database", "no tables": "tables state/segments/items/dead are "
                                                                           "missing"}[damage]
    gc.disable()  # the leaked connection sat in a reference cycle: only a collection released it
    try:
        with pytest.raises(CorruptFileError, match=want):
            Collection.open("cat", root=tmp_path, readonly=readonly)
        assert _open_catalogue_files(folder) == []
        cat.write_bytes(b"")  # the same process opens the folder again: the damage, not a lock, is reported
        with pytest.raises(CorruptFileError, match="tables state/segments/items/dead are missing"):
            Collection.open("cat", root=tmp_path, readonly=readonly)
        assert _open_catalogue_files(folder) == []
    finally:
        gc.enable()
