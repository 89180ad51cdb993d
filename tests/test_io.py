"""File formats: word2vec text/binary (both directions with gensim), npy/safetensors + sidecar, projector TSV."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab import Vectors, load_vectors
from embedlab.errors import CorruptFileError, FormatVersionError, InputError, NonFiniteError
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

KEYS = ["the", "café", "日本語", "naïve", "x.y", "Straße", "'s"]


@pytest.fixture
def vecs():
    rng = np.random.default_rng(3)
    m = rng.standard_normal((len(KEYS), 9)).astype(np.float32)
    m[0, 0] = 1e-30  # tiny and exact values must survive the text format
    m[1, 1] = 0.1
    return Vectors(KEYS, m)


def _same(a: Vectors, b: Vectors):
    assert a.keys == b.keys
    np.testing.assert_array_equal(np.asarray(a.matrix), np.asarray(b.matrix))


# ---------------------------------------------------------------- word2vec
@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_round_trip_and_gensim_both_ways(vecs, tmp_path, binary):
    km = pytest.importorskip("gensim.models")
    ours = tmp_path / ("ours.bin" if binary else "ours.txt")
    save_word2vec(vecs, ours, binary=binary)
    _same(load_word2vec(ours), vecs)  # binary auto-detected
    _same(load_word2vec(ours, binary=binary), vecs)
    kv = km.KeyedVectors.load_word2vec_format(str(ours), binary=binary)  # gensim reads ours
    assert kv.index_to_key == KEYS
    np.testing.assert_array_equal(kv.vectors, vecs.matrix)
    theirs = tmp_path / "gensim.out"
    kv.save_word2vec_format(str(theirs), binary=binary)  # we read gensim's
    _same(load_word2vec(theirs), vecs)
    assert detect_format(theirs) == ("word2vec-binary" if binary else "word2vec")


def test_word2vec_layout_is_the_c_tools(vecs, tmp_path):
    p = save_word2vec(vecs, tmp_path / "v.bin", binary=True)
    raw = p.read_bytes()
    assert raw.startswith(b"7 9\nthe ")
    first = raw[len(b"7 9\nthe ") : len(b"7 9\nthe ") + 36]
    np.testing.assert_array_equal(np.frombuffer(first, "<f4"), vecs.matrix[0])
    assert raw[len(b"7 9\nthe ") + 36 : len(b"7 9\nthe ") + 37] == b"\n"  # word2vec.c's newline after each vector
    t = save_word2vec(vecs, tmp_path / "v.txt").read_text(encoding="utf-8").splitlines()
    assert t[0] == "7 9" and t[2].startswith("café ") and t[2].split()[2] == "0.1"  # shortest exact decimals


def test_word2vec_limit_and_headerless(vecs, tmp_path):
    p = save_word2vec(vecs, tmp_path / "v.txt")
    assert load_word2vec(p, limit=3).keys == KEYS[:3]
    assert load_word2vec(save_word2vec(vecs, tmp_path / "v.bin", binary=True), limit=2).keys == KEYS[:2]
    glove_style = tmp_path / "glove.txt"  # GloVe's own .txt has no header line
    glove_style.write_text("".join(ln + "\n" for ln in p.read_text(encoding="utf-8").splitlines()[1:]),
                           encoding="utf-8")
    _same(load_word2vec(glove_style), vecs)


def test_word2vec_keys_with_spaces_refused(tmp_path):
    with pytest.raises(InputError, match="'new york' cannot be stored in word2vec format"):
        save_word2vec(Vectors(["new york"], np.ones((1, 2))), tmp_path / "x.txt")


def test_truncated_text_file(vecs, tmp_path):
    p = save_word2vec(vecs, tmp_path / "v.txt")
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut.txt"
    cut.write_text("".join(lines[:5]), encoding="utf-8")  # header + 4 of 7 rows
    with pytest.raises(CorruptFileError, match=r"ends after line 5 but the header announces 7 vectors.*limit=N"):
        load_word2vec(cut)
    assert load_word2vec(cut, limit=4).keys == KEYS[:4]  # what the message suggests works
    half = tmp_path / "half.txt"
    half.write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2] + "\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"line 5 \(key 'naïve'\) has \d numbers, expected 9"):
        load_word2vec(half)
    bad = tmp_path / "bad.txt"
    bad.write_text("".join(lines[:3]) + lines[3].replace(lines[3].split()[2], "abc", 1) + "".join(lines[4:]),
                   encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"line 4 \(key '日本語'\) contains a value that is not a number"):
        load_word2vec(bad)


def test_truncated_binary_file(vecs, tmp_path):
    p = save_word2vec(vecs, tmp_path / "v.bin", binary=True)
    raw = p.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(raw[:-20])
    with pytest.raises(CorruptFileError, match=r"ends inside row 7 of 7 \(found 17 of 36 vector bytes\).*truncated"):
        load_word2vec(cut, binary=True)
    assert load_word2vec(cut, binary=True, limit=6).keys == KEYS[:6]


def test_nonfinite_and_bad_header(tmp_path):
    p = tmp_path / "nan.txt"
    p.write_text("2 2\na 1 2\nb nan 1\n", encoding="utf-8")
    with pytest.raises(NonFiniteError, match=r"line 3 \(key 'b'\) contains NaN or infinity"):
        load_word2vec(p)
    q = tmp_path / "neg.txt"
    q.write_text("-1 2\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="header is invalid"):
        load_word2vec(q)


# ---------------------------------------------------------------- npy / safetensors
@pytest.mark.parametrize("kind", ["npy", "safetensors"])
@pytest.mark.parametrize("mmap", [False, True])
def test_array_formats_round_trip(vecs, tmp_path, kind, mmap):
    path = tmp_path / f"v.{kind}"
    (save_npy if kind == "npy" else save_safetensors)(vecs, path)
    side = json.loads((tmp_path / f"v.{kind}.json").read_text(encoding="utf-8"))
    assert side["format"] == "embedlab.vectors" and side["format_version"] == 1
    assert side["keys"] == KEYS and side["dim"] == 9
    loaded = (load_npy if kind == "npy" else load_safetensors)(path, mmap=mmap)
    _same(loaded, vecs)
    assert isinstance(loaded.matrix, np.memmap) == mmap
    _same(load_vectors(path, mmap=mmap), vecs)
    if kind == "safetensors":
        from safetensors.numpy import load_file

        np.testing.assert_array_equal(load_file(str(path))["vectors"], vecs.matrix)  # a standard file


def test_newer_format_version_refused(vecs, tmp_path):
    path = save_npy(vecs, tmp_path / "v.npy")
    side = tmp_path / "v.npy.json"
    meta = json.loads(side.read_text(encoding="utf-8"))
    meta["format_version"] = 2
    side.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FormatVersionError, match="format version 2, newer than this embedlab reads.*upgrade"):
        load_npy(path)


def test_sidecar_problems(vecs, tmp_path):
    path = save_npy(vecs, tmp_path / "v.npy")
    (tmp_path / "keys.txt").write_text("\n".join(KEYS) + "\n", encoding="utf-8")
    side = tmp_path / "v.npy.json"
    meta = json.loads(side.read_text(encoding="utf-8"))
    del meta["keys"]
    meta["keys_file"] = "keys.txt"
    side.write_text(json.dumps(meta), encoding="utf-8")
    _same(load_npy(path), vecs)  # keys may live in a separate file
    meta["keys_file"] = "missing.txt"
    side.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(CorruptFileError, match="names keys file 'missing.txt', which is missing"):
        load_npy(path)
    side.unlink()
    with pytest.raises(CorruptFileError, match="v.npy.json is missing"):
        load_npy(path)
    save_npy(Vectors(KEYS[:3], np.zeros((3, 9))), tmp_path / "other.npy")
    (tmp_path / "other.npy.json").replace(side)
    with pytest.raises(CorruptFileError, match=r"shape \(7, 9\) but its sidecar lists 3 keys"):
        load_npy(path)


# ---------------------------------------------------------------- projector
def test_projector_single_column_has_no_header(vecs, tmp_path):
    folder = save_projector(vecs, tmp_path / "proj")
    meta = (folder / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert meta == KEYS  # one column: no header row (TensorBoard's rule)
    rows = (folder / "vectors.tsv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 7 and len(rows[0].split("\t")) == 9
    _same(load_projector(folder), vecs)
    _same(load_vectors(folder), vecs)
    assert 'tensor_path: "vectors.tsv"' in (folder / "projector_config.pbtxt").read_text(encoding="utf-8")


def test_projector_with_metadata_has_header(vecs, tmp_path):
    labels = ["a", "b", "a", "c", "b", "a", "c"]
    folder = save_projector(vecs, tmp_path / "proj", metadata={"label": labels})
    meta = (folder / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert meta[0] == "key\tlabel" and meta[2] == "café\tb" and len(meta) == 8
    loaded, md = load_projector(folder, with_metadata=True)
    _same(loaded, vecs)
    assert md == {"label": labels}
    with pytest.raises(InputError, match="has 2 values for 7 vectors"):
        save_projector(vecs, tmp_path / "p2", metadata={"label": ["a", "b"]})
    with pytest.raises(InputError, match="contains a tab or newline"):
        save_projector(vecs, tmp_path / "p3", metadata={"label": ["a\tb"] * 7})


def test_save_load_dispatch(vecs, tmp_path):
    for name, fmt in [("a.txt", "word2vec"), ("a.bin", "word2vec-binary"), ("a.npy", "npy"),
                      ("a.safetensors", "safetensors"), ("a.vec", "word2vec")]:
        vecs.save(tmp_path / name)
        assert detect_format(tmp_path / name) == fmt
        _same(Vectors.load(tmp_path / name), vecs)
    vecs.save(tmp_path / "folder", format="projector")
    _same(Vectors.load(tmp_path / "folder"), vecs)
    with pytest.raises(InputError, match="unknown vectors format 'xml'"):
        vecs.save(tmp_path / "a.xml", format="xml")


def test_save_follows_the_extension_and_refuses_one_it_cannot_write(tmp_path):
    """``Vectors.save("x.parquet")`` once wrote word2vec text under a Parquet name; an extension names a format
    or the call is refused, listing the choices (``format=`` still decides for any name)."""
    v = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
    for name in ("x.parquet", "x.json", "x.emb"):
        with pytest.raises(InputError, match=rf"{name}: no vectors format is written as '\.\w+'; name the file"):
            v.save(tmp_path / name)
        assert not (tmp_path / name).exists()
    assert load_vectors(v.save(tmp_path / "x.emb", format="word2vec")).keys == ["a", "b"]
    assert load_vectors(v.save(tmp_path / "noext")).keys == ["a", "b"]  # no extension: word2vec text, as documented
