"""One persistence implementation for every saved format (issue 16 §7): model, tokenizer, vocabulary and index
folders read their manifests through ``embedlab.persist``, may only name files inside their folder, have their
matrices checked against the manifest before they are read, and are written atomically (no temp left over,
the old file kept when a write fails)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import CorruptFileError, FormatVersionError
from embedlab.index import ExactIndex, load_index
from embedlab.io import save_npy, save_word2vec
from embedlab.persist import atomic_path, read_npy
from embedlab.train import Vocab, Word2Vec

FAST = dict(dim=8, window=2, sample=0.0, min_count=1, epochs=1, workers=1, progress=False)
CORPUS = [["red", "green", "blue", "red"], ["green", "blue", "red"]] * 5


@pytest.fixture(scope="module")
def w2v_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w2v") / "model"
    Word2Vec(**FAST).fit(CORPUS).save(folder)
    return folder


def _copy(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _edit_json(path, **fields):
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(fields)
    path.write_text(json.dumps(doc), encoding="utf-8")


# ---------------------------------------------------------------- Word2Vec model folders
def test_word2vec_model_names_files_only_inside_its_folder(w2v_folder, tmp_path):
    folder = _copy(w2v_folder, tmp_path / "m")
    (tmp_path / "W.npy").write_bytes((folder / "W.npy").read_bytes())
    _edit_json(folder / "model.json", files={"vocab": "vocab.tsv", "W": "../W.npy"})  # once: read outside
    with pytest.raises(CorruptFileError, match=r"model.json in .*m names '../W.npy', which is not a plain file name"):
        Word2Vec.load(folder)


def test_word2vec_matrix_header_checked_before_reading(w2v_folder, tmp_path):
    folder = _copy(w2v_folder, tmp_path / "m")
    n = len(Vocab.load(folder / "vocab.tsv"))
    raw = (folder / "W.npy").read_bytes()
    (folder / "W.npy").write_bytes(raw.replace(f"'shape': ({n}, 8)".encode(), f"'shape': ({n}, 9)".encode()))
    with pytest.raises(CorruptFileError, match=rf"W.npy holds {4 * n * 8} data bytes after its header \(byte offset "
                                               rf"128\), but the header declares shape \({n}, 9\)"):
        Word2Vec.load(folder)


@pytest.mark.parametrize("params", [["dim", 8], {"dim": 8, "colour": "red"}, {"dim": -3}])
def test_word2vec_unusable_parameters(w2v_folder, tmp_path, params):  # once: TypeError, or a model with dim -3
    folder = _copy(w2v_folder, tmp_path / "m")
    _edit_json(folder / "model.json", params=params)
    with pytest.raises(CorruptFileError, match=r"model.json (holds unusable parameters|lacks its \"params\")"):
        Word2Vec.load(folder)


def test_word2vec_save_is_atomic_and_leaves_no_temp(tmp_path, monkeypatch):
    m = Word2Vec(**FAST).fit(CORPUS)
    m.save(tmp_path / "model")
    before = sorted(p.name for p in (tmp_path / "model").iterdir())

    def broken(self, folder):
        (folder / "W.npy").write_bytes(b"half")
        raise OSError("disk went away")

    monkeypatch.setattr(Word2Vec, "write_files", broken)
    with pytest.raises(OSError, match="disk went away"):
        m.save(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temp folder left
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == before
    monkeypatch.undo()
    assert Word2Vec.load(tmp_path / "model").wv.keys == m.wv.keys


# ---------------------------------------------------------------- vocabulary files
@pytest.mark.parametrize("body,fragment", [
    ("red\t5\ngreen\tmany\n", r"vocab.tsv:3: expected word<TAB>count, got 'green\\tmany'"),  # once: ValueError
    ("red\t5\nred\t4\n", r"vocab.tsv: vocabulary words must be unique"),  # once: InputError without the file
    ("red\t99999999999999999999\n", r"vocab.tsv:2: expected word<TAB>count"),  # once: OverflowError
])
def test_vocab_damaged_lines(tmp_path, body, fragment):
    p = tmp_path / "vocab.tsv"
    p.write_text("# embedlab vocab v1: word<TAB>count; raw_tokens=9; sentences=2\n" + body, encoding="utf-8")
    with pytest.raises(CorruptFileError, match=fragment):
        Vocab.load(p)


def test_vocab_versions(tmp_path):
    p = tmp_path / "vocab.tsv"
    p.write_text("# embedlab vocab v10: word<TAB>count\nred\t1\n", encoding="utf-8")  # once: read as v1
    with pytest.raises(FormatVersionError, match=r"vocab.tsv holds a vocabulary in format version 10.*upgrade"):
        Vocab.load(p)
    p.write_bytes(b"# embedlab vocab v1\nr\xffd\t1\n")
    with pytest.raises(CorruptFileError, match=r"vocab.tsv is not UTF-8 text \(byte offset 21\)"):
        Vocab.load(p)


# ---------------------------------------------------------------- fastText and BPE folders
def test_fasttext_matrix_shape_checked_before_reading(tmp_path):
    from embedlab.train.subword import FastText

    folder = FastText(dim=8, min_count=1, subwords=(3, 4), buckets=1000, epochs=1, workers=1,
                      progress=False).fit(CORPUS).save(tmp_path / "ft")
    np.save(folder / "output.npy", np.zeros((2, 8), np.float32))
    with pytest.raises(CorruptFileError, match=r"output.npy holds an array of shape \(2, 8\), expected \(3, 8\)"):
        FastText.load(folder, mmap=True)


def test_bpe_model_file_must_be_inside_the_folder(tmp_path):
    from embedlab.train.bpe import BPETokenizer

    tok = BPETokenizer(vocab_size=25, byte_fallback=False, character_coverage=1.0, seed=0, threads=1)
    folder = tok.fit(["red green blue yellow"] * 20).save(tmp_path / "bpe")
    (tmp_path / "elsewhere.model").write_bytes((folder / "spm.model").read_bytes())
    _edit_json(folder / "tokenizer.json", model_file="../elsewhere.model")  # once: read outside
    with pytest.raises(CorruptFileError, match=r"tokenizer.json in .*bpe names '../elsewhere.model'"):
        BPETokenizer.load(folder)
    _edit_json(folder / "tokenizer.json", model_file="spm.model", options=[1])
    with pytest.raises(CorruptFileError, match=r"tokenizer.json has \"options\" \[1\], not an object"):
        BPETokenizer.load(folder)
    (folder / "spm.model").write_bytes(b"junk")
    _edit_json(folder / "tokenizer.json", options={})
    with pytest.raises(CorruptFileError, match=r"spm.model: not a SentencePiece model"):
        BPETokenizer.load(folder)


# ---------------------------------------------------------------- index folders
@pytest.fixture
def index_folder(tmp_path):
    idx = ExactIndex(4)
    idx.add(np.arange(10), np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32))
    idx.save(tmp_path / "ix")
    return tmp_path / "ix"


@pytest.mark.parametrize("fields,fragment", [
    ({"dim": "four"}, r"has a kind, metric, dim, count, params or files of the wrong type"),  # once: ValueError
    ({"count": -1}, r"has a kind, metric, dim, count, params or files of the wrong type"),
    ({"files": {"../ids.npy": {"bytes": 1}}}, r"index.json in .*ix names '../ids.npy'"),
    ({"files": {"ids.npy": None}}, r"the manifest's record of ids.npy is damaged"),
    ({"format_version": True}, r"lacks a valid integer format_version"),
])
def test_index_manifest_faults(index_folder, fields, fragment):
    _edit_json(index_folder / "index.json", **fields)
    with pytest.raises(CorruptFileError, match=fragment):
        load_index(index_folder)


def test_index_vectors_header_checked_when_memory_mapped(index_folder):
    doc = json.loads((index_folder / "index.json").read_text())
    raw = (index_folder / "vectors.npy").read_bytes()
    (index_folder / "vectors.npy").write_bytes(raw.replace(b"'shape': (10, 4)", b"'shape': (4, 10)"))
    _edit_json(index_folder / "index.json", files={**doc["files"], "vectors.npy": {"bytes": len(raw)}})
    with pytest.raises(CorruptFileError, match=r"vectors.npy holds an array of shape \(4, 10\), expected \(10, 4\)"):
        ExactIndex.load(index_folder, mmap=True)


# ---------------------------------------------------------------- atomic single files
def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new, half written")
            raise RuntimeError("writer failed")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.bin"]


class _FailingRows:
    """A matrix whose rows cannot be read: the writer fails after it has started the file."""

    shape, dtype = (1, 2), np.float32

    def __getitem__(self, item):
        raise OSError("disk full")


def test_vector_files_written_atomically(tmp_path, monkeypatch):
    v = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
    txt, npy = save_word2vec(v, tmp_path / "v.txt"), save_npy(v, tmp_path / "v.npy")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = Vectors(["c"], np.ones((1, 2), np.float32))
    bad.matrix = _FailingRows()
    with pytest.raises(OSError, match="disk full"):
        save_word2vec(bad, txt)  # once: left v.txt.tmp behind

    def half_save(file, arr, allow_pickle=False):
        with open(file, "ab") if isinstance(file, (str, os.PathLike)) else file as fh:
            fh.write(b"\x93NUMPY half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", half_save)
    with pytest.raises(OSError, match="disk full"):
        save_npy(v, npy)  # once: left v.npy.tmp.npy behind
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_read_npy_checks_dtype_and_shape_from_the_header(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 2), np.float64))
    with pytest.raises(CorruptFileError, match=r"a.npy holds float64 values, expected float32; redo it"):
        read_npy(tmp_path / "a.npy", "redo it", np.float32)
    with pytest.raises(CorruptFileError, match=r"a.npy holds an array of shape \(3, 2\), expected \(any, 3\)"):
        read_npy(tmp_path / "a.npy", "redo it", shape=(-1, 3))
    assert read_npy(tmp_path / "a.npy", "redo it", np.float64, (-1, 2), mmap=True).shape == (3, 2)
