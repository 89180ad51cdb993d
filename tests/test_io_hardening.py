"""Malformed vectors files, one test per kind of fault (issue 16 §1): a header or sidecar that disagrees with the
data, text sniffed as binary, raw exceptions from numpy/json/safetensors/tokenize, sidecars naming files
outside their folder, non-finite values in memory-mapped loads, and gensim pickles. Each input here failed
(MemoryError, a raw exception, a silent misreading) before the readers checked it."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from embedlab import Vectors, load_vectors
from embedlab.errors import CorruptFileError, InputError, NonFiniteError
from embedlab.io import (
    detect_format,
    load_npy,
    load_projector,
    load_safetensors,
    load_word2vec,
    save_npy,
    save_projector,
    save_safetensors,
    save_word2vec,
)


def _npy(header: str, data: bytes = b"") -> bytes:
    """A version 1.0 ``.npy`` file with a hand-written header dict text (padded as numpy pads it)."""
    raw = header.encode("latin-1")
    raw += b" " * ((-(10 + len(raw) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + data


def _sidecar(path: Path, **fields) -> None:
    meta = {"format": "embedlab.vectors", "format_version": 1, "keys": ["a", "b"], "dim": 3}
    meta.update(fields)
    meta = {k: v for k, v in meta.items() if v is not ...}
    path.with_name(path.name + ".json").write_text(json.dumps(meta), encoding="utf-8")


def _refused(path: Path, content: bytes, error: type, pattern: str, **options) -> None:
    """Write ``content`` to ``path``; loading it as word2vec must raise ``error`` matching ``pattern``."""
    path.write_bytes(content)
    with pytest.raises(error, match=pattern):
        load_word2vec(path, **options)


@pytest.fixture
def small():
    return Vectors(["a", "b"], np.arange(6, dtype=np.float32).reshape(2, 3))


# ---------------------------------------------------------------- word2vec: headers that lie about sizes
@pytest.mark.parametrize("binary", [None, True, False])
def test_word2vec_count_larger_than_the_file_is_refused_before_allocating(tmp_path, binary):
    lie = tmp_path / "lie.bin"
    lie.write_bytes(b"100000000 300\nw AAAAAAAA")  # once: a 112 GiB request and MemoryError
    with pytest.raises(CorruptFileError, match=r"lie.bin: line 1 declares 100000000 vectors of dimension 300, "
                                               r"which need at least [\d,]+ bytes, but only 10 bytes follow the "
                                               r"header \(byte offset 14\).*limit=N"):
        load_word2vec(lie, binary=binary)
    with pytest.raises(CorruptFileError, match="declares 100000000 vectors"):
        load_vectors(lie)


@pytest.mark.parametrize("header", [b"1099511627776 300", b"1099511627776 2"])  # once: a raw ValueError
def test_word2vec_absurd_count(tmp_path, header):
    p = tmp_path / "huge.bin"
    p.write_bytes(header + b"\nw " + bytes(8) + b"\n")
    with pytest.raises(CorruptFileError, match=r"huge.bin: line 1 declares 1099511627776 vectors"):
        load_word2vec(p, binary=True)


@pytest.mark.parametrize("dim", [b"3000000000", b"100000000000000000000"])  # once: a raw OverflowError
def test_word2vec_absurd_dimension(tmp_path, dim):
    p = tmp_path / "wide.bin"
    p.write_bytes(b"2 " + dim + b"\nw " + bytes(8))
    for binary in (None, True, False):
        with pytest.raises(CorruptFileError, match=r"wide.bin: line 1 declares 2 vectors of dimension \d+; the "
                                                   r"header is invalid"):
            load_word2vec(p, binary=binary)


def test_word2vec_rows_after_the_declared_count_are_not_dropped(tmp_path, small):
    text = save_word2vec(small, tmp_path / "v.txt").read_text(encoding="utf-8")
    p = tmp_path / "short_header.txt"
    p.write_text("1 3" + text[text.index("\n"):], encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"short_header.txt: line 3 holds data after the 1 vectors line 1 "
                                               r"declares.*limit=1"):
        load_word2vec(p)
    assert load_word2vec(p, limit=1).keys == ["a"]  # what the message suggests works
    raw = save_word2vec(small, tmp_path / "v.bin", binary=True).read_bytes()
    b = tmp_path / "short_header.bin"
    b.write_bytes(b"1 3" + raw[raw.index(b"\n"):])
    with pytest.raises(CorruptFileError, match=r"short_header.bin: 15 bytes follow the 1 vectors line 1 declares "
                                               r"\(byte offset 19\).*limit=1"):
        load_word2vec(b, binary=True)
    assert load_word2vec(b, binary=True, limit=1).keys == ["a"]


def test_word2vec_binary_dimension_smaller_than_the_rows(tmp_path, small):
    raw = save_word2vec(small, tmp_path / "v.bin", binary=True).read_bytes()
    p = tmp_path / "narrow.bin"
    p.write_bytes(b"2 2" + raw[raw.index(b"\n"):])  # rows hold 3 floats: the second key would swallow bytes
    with pytest.raises(CorruptFileError, match=r"narrow.bin: row 2 \(byte offset \d+\) has a key with a line "
                                               r"break; the header's dimension 2 does not match"):
        load_word2vec(p, binary=True)


def test_word2vec_text_rows_that_only_add_up_are_refused(tmp_path):
    _refused(tmp_path / "shifted.txt", b"2 2\na 1\nb 2 3 4\n", CorruptFileError,  # 4 numbers, not 2 per row
             r"shifted.txt: line 2 \(key 'a'\) has 1 numbers, expected 2")


def test_word2vec_repeated_key_names_both_lines(tmp_path):
    _refused(tmp_path / "dup.txt", b"3 2\na 1 2\nb 3 4\na 5 6\n", CorruptFileError,
             r"dup.txt: line 4 repeats key 'a' \(first at line 2\)")
    raw = save_word2vec(Vectors(["a", "b"], np.ones((2, 2))), tmp_path / "v.bin", binary=True).read_bytes()
    _refused(tmp_path / "dup.bin", raw.replace(b"b ", b"a "), CorruptFileError,
             r"dup.bin: row 2 repeats key 'a' \(first at row 1\)")


def test_word2vec_bad_header_less_and_bad_options(tmp_path):
    p = tmp_path / "words.txt"
    _refused(p, b"hello\nworld\n", CorruptFileError, r"words.txt: line 1 holds no numbers after its key")
    _refused(p, b"a 1\n", InputError, "unknown encoding 'klingon'", encoding="klingon")
    _refused(p, b"a 1\n", InputError, "limit must be a whole number >= 0, got '3'", limit="3")


# ---------------------------------------------------------------- word2vec: format detection
def test_text_file_whose_first_key_is_a_space_is_text(tmp_path):
    p = tmp_path / "space.txt"
    p.write_bytes(b"2 2\n  1.5 2\nb 3 4\n")  # the key " " then its two values (gensim writes it so)
    assert detect_format(p) == "word2vec"  # once: sniffed as binary, then "truncated"
    v = load_word2vec(p)
    assert v.keys == [" ", "b"]
    np.testing.assert_array_equal(v.matrix, [[1.5, 2], [3, 4]])
    q = tmp_path / "lead.txt"
    q.write_bytes(b"1 2\n xy 1 2\n")
    assert detect_format(q) == "word2vec" and load_word2vec(q).keys == [" xy"]


def test_malformed_text_is_not_sniffed_as_binary(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("2 3\na 1 2\nb 3 4 5\n", encoding="utf-8")  # plain text, first row short
    assert detect_format(p) == "word2vec"
    with pytest.raises(CorruptFileError, match=r"bad.txt: line 2 \(key 'a'\) has 2 numbers, expected 3"):
        load_vectors(p)


def test_real_binary_files_are_still_sniffed_as_binary(tmp_path):
    for dim in (1, 2, 7, 300):
        m = np.random.default_rng(dim).standard_normal((5, dim)).astype(np.float32)
        m[0, 0] = 0.0
        p = save_word2vec(Vectors([f"w{i}" for i in range(5)], m), tmp_path / f"d{dim}.bin", binary=True)
        assert detect_format(p) == "word2vec-binary"
        np.testing.assert_array_equal(load_vectors(p).matrix, m)


# ---------------------------------------------------------------- gensim pickles
@pytest.fixture(scope="module")
def gensim_files(tmp_path_factory):
    gensim = pytest.importorskip("gensim")
    folder = tmp_path_factory.mktemp("gensim")
    model = gensim.models.Word2Vec([["king", "queen", "man", "woman"]] * 5, vector_size=4, min_count=1, workers=1,
                                   epochs=1, seed=1)
    model.save(str(folder / "w2v.model"))
    model.wv.save(str(folder / "w2v.kv"))
    (folder / "renamed.txt").write_bytes((folder / "w2v.kv").read_bytes())
    return folder


@pytest.mark.parametrize("name", ["w2v.model", "w2v.kv", "renamed.txt"])
def test_gensim_pickles_are_refused_with_how_to_convert(gensim_files, name):
    p = gensim_files / name
    msg = rf"{name} is a Python pickle \(byte offset 0: pickle protocol \d header\).*gensim.*save_word2vec_format"
    for load in (load_vectors, load_word2vec, lambda x: load_word2vec(x, binary=True), detect_format):
        with pytest.raises(CorruptFileError, match=msg):
            load(p)


# ---------------------------------------------------------------- .npy headers
@pytest.mark.parametrize("header,fragment", [
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", "damaged .npy header"),  # once: tokenize.TokenError
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x", "damaged .npy header"),
    ("{'descr': '<f4', 'fortran_order': False}", "damaged .npy header"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", "Python objects"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", "impossible shape"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1000000000), }",  # once: 7.45 GiB asked for
     r"holds 24 data bytes after its header \(byte offset 128\), but the header declares shape \(2, 1000000000\)"),
])
@pytest.mark.parametrize("mmap", [False, True])
def test_npy_header_faults(tmp_path, header, fragment, mmap):
    p = tmp_path / "bad.npy"
    p.write_bytes(_npy(header, bytes(24)))
    _sidecar(p)
    with pytest.raises(CorruptFileError, match=rf"bad.npy.*{fragment}"):
        load_npy(p, mmap=mmap)


def test_npy_cut_inside_the_header_length(tmp_path, small):
    path = save_npy(small, tmp_path / "v.npy")
    path.write_bytes(path.read_bytes()[:9])
    with pytest.raises(CorruptFileError, match=r"v.npy has a damaged .npy header \(byte offset \d+"):
        load_npy(path)


# ---------------------------------------------------------------- sidecars
@pytest.mark.parametrize("fields,fragment", [
    ({"keys": None}, r"\"keys\" must be a list of strings \(found NoneType\)"),  # once: TypeError
    ({"keys": ["a", 2]}, r"\"keys\" must be a list of strings \(found int\)"),
    ({"keys": ..., "keys_file": 7}, r"names 7, which is not a plain file name"),  # once: TypeError
    ({"keys": ..., "keys_file": "../outside.txt"}, r"names '../outside.txt', which is not a plain file name"),
    ({"keys": ..., "keys_file": "/etc/hostname"}, r"names '/etc/hostname', which is not a plain file name"),
    ({"keys": ..., "keys_file": None}, r"has neither \"keys\" nor \"keys_file\""),
    ({"count": 5}, r"lists 2 keys but says \"count\": 5"),
    ({"dim": "3"}, r"\"dim\" must be a whole number >= 0, got '3'"),
    ({"format_version": "1"}, r"lacks a valid integer format_version"),
])
def test_sidecar_faults(tmp_path, small, fields, fragment):
    (tmp_path / "outside.txt").write_text("a\nb\n", encoding="utf-8")
    folder = tmp_path / "inner"
    folder.mkdir()
    for save, load in ((save_npy, load_npy), (save_safetensors, load_safetensors)):
        path = save(small, folder / "v.arr")
        _sidecar(path, **fields)
        with pytest.raises(CorruptFileError, match=rf"v.arr.json.*{fragment}"):
            load(path)


def test_sidecar_keys_file_not_utf8(tmp_path, small):
    path = save_npy(small, tmp_path / "v.npy")
    (tmp_path / "keys.txt").write_bytes(b"a\nb\xff\n")
    _sidecar(path, keys=..., keys_file="keys.txt")
    with pytest.raises(CorruptFileError, match=r"keys.txt is not UTF-8 text \(byte offset 3\)"):
        load_npy(path)


def test_sidecar_not_json(tmp_path, small):
    path = save_npy(small, tmp_path / "v.npy")
    (tmp_path / "v.npy.json").write_bytes(b'{"format": "embedlab.vectors", "keys": [\xff]}')
    with pytest.raises(CorruptFileError, match=r"v.npy.json is not UTF-8 text \(byte offset 40\)"):
        load_npy(path)
    (tmp_path / "v.npy.json").write_text('{"format": "embedlab.vectors",\n "keys": [}', encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"v.npy.json is not valid JSON \(line 2, column 11"):
        load_npy(path)


# ---------------------------------------------------------------- safetensors headers
def _safetensors(path: Path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize("offsets", [[0], None, ["0", "24"], [24, 0], [0, 24.0], [-1, 23], True])
def test_safetensors_bad_data_offsets(tmp_path, offsets):  # once: TypeError / ValueError / SafetensorError
    p = tmp_path / "v.safetensors"
    _safetensors(p, {"vectors": {"dtype": "F32", "shape": [2, 3], "data_offsets": offsets}}, bytes(24))
    _sidecar(p)
    for mmap in (False, True):
        with pytest.raises(CorruptFileError, match=r"v.safetensors: the safetensors header gives tensor 'vectors' "
                                                   r"data_offsets .*, not two whole numbers >= 0"):
            load_safetensors(p, mmap=mmap)


@pytest.mark.parametrize("header,fragment", [
    ({"vectors": {"dtype": "F32", "shape": None, "data_offsets": [0, 24]}}, "gives tensor 'vectors' shape None"),
    ({"vectors": {"dtype": "F32", "shape": [2, 1000000000], "data_offsets": [0, 24]}}, r"shape \(2, 1000000000\)"),
    ({"vectors": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 8000000000]}},
     r"data_offsets \[0, 8000000000\].*truncated"),
    ({"vectors": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 24]}}, "no float32 tensor"),
    ([1, 2], "not a JSON object"),  # once: InputError
])
def test_safetensors_header_faults(tmp_path, header, fragment):
    p = tmp_path / "v.safetensors"
    _safetensors(p, header, bytes(24))
    _sidecar(p)
    with pytest.raises(CorruptFileError, match=rf"v.safetensors.*{fragment}"):
        load_safetensors(p)


def test_safetensors_header_length_lies(tmp_path, small):
    p = save_safetensors(small, tmp_path / "v.safetensors")
    raw = p.read_bytes()
    p.write_bytes(struct.pack("<Q", 10**12) + raw[8:])
    with pytest.raises(CorruptFileError, match=r"declares a 1000000000000-byte safetensors header at byte offset 0"):
        load_safetensors(p)
    p.write_bytes(raw[:5])
    with pytest.raises(CorruptFileError, match=r"is too short \(5 bytes\) to be a safetensors file"):
        load_safetensors(p)


# ---------------------------------------------------------------- finite values, also memory-mapped
@pytest.mark.parametrize("kind", ["npy", "safetensors"])
@pytest.mark.parametrize("mmap", [False, True])
def test_nonfinite_rows_refused_in_every_load_mode(tmp_path, kind, mmap):
    m = np.ones((4, 3), np.float32)
    m[2, 1] = np.nan
    m[3, 0] = np.inf
    v = Vectors.__new__(Vectors)  # Vectors itself refuses NaN; write the file as another tool would
    v.keys, v.matrix = ["a", "b", "c", "d"], m
    path = (save_npy if kind == "npy" else save_safetensors)(v, tmp_path / f"v.{kind}")
    with pytest.raises(NonFiniteError, match=rf"v.{kind}: row 3 \(key 'c'\) contains NaN or infinity; 2 row\(s\)"):
        (load_npy if kind == "npy" else load_safetensors)(path, mmap=mmap)


def test_memory_mapped_finite_check_reads_in_blocks(tmp_path, monkeypatch):
    from embedlab.formats import keyed as _common

    m = np.ones((64, 8), np.float32)
    m[50, 3] = np.nan
    v = Vectors.__new__(Vectors)
    v.keys, v.matrix = [f"k{i}" for i in range(64)], m
    path = save_npy(v, tmp_path / "v.npy")
    seen = []
    real = np.isfinite
    monkeypatch.setattr(_common, "_CHECK_BYTES", 256)  # 8 rows of 32 bytes per block
    monkeypatch.setattr(_common.np, "isfinite", lambda a: seen.append(a.shape) or real(a))
    with pytest.raises(NonFiniteError, match=r"row 51 \(key 'k50'\)"):
        load_npy(path, mmap=True)
    assert seen and max(s[0] for s in seen) == 8 and sum(s[0] for s in seen) == 64


# ---------------------------------------------------------------- projector TSV
def test_projector_faults(tmp_path, small):
    folder = save_projector(small, tmp_path / "p")
    vt, mt = folder / "vectors.tsv", folder / "metadata.tsv"
    vt.write_bytes(b"1\t2\t3\n4\t5\t\xff\n")  # once: UnicodeDecodeError
    with pytest.raises(CorruptFileError, match=r"vectors.tsv is not UTF-8 text \(byte offset 10\)"):
        load_projector(folder)
    vt.write_text("1 2\t3\n\t4\n", encoding="utf-8")  # 4 numbers in all, but "1 2" is one cell: once misread
    with pytest.raises(CorruptFileError, match=r"vectors.tsv: line 1 contains a value that is not a number"):
        load_projector(folder)
    vt.write_text("1\t2\t3\n4\t5\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"vectors.tsv: line 2 has 2 numbers, expected 3"):
        load_projector(folder)
    vt.write_text("1\t2\t3\n4\t5\t6\n", encoding="utf-8")
    mt.write_text("key\tlabel\na\tx\nb\n", encoding="utf-8")  # once: the missing cell became ""
    with pytest.raises(CorruptFileError, match=r"metadata.tsv: line 3 has 1 columns, the header row 2"):
        load_projector(folder)
    mt.write_text("key\tlabel\na\tx\na\ty\n", encoding="utf-8")  # once: InputError without the file
    with pytest.raises(CorruptFileError, match=r"metadata.tsv: row 2 repeats key 'a' \(first at row 1\)"):
        load_projector(folder)
