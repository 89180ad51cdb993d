"""`embedlab export`: the format follows the -o extension, a --format that contradicts it is refused, and a name
that says no format needs --format (issue 21: `export NAME -o x.parquet` silently wrote word2vec text)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.formats import detect_format
from embedlab.io import load_projector, load_vectors
from embedlab.store import Collection


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def cli(backend: dict) -> tuple[str, ...]:
    return ("--backend", backend["backend"]) if backend else ()


VECS = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)


def _make(backend: dict):
    with Collection.create("c", dim=4, **backend) as col:
        col.add(["a", "b", "c"], vectors=VECS, metadata=[{"k": 1}, {"k": "two"}, {}], sources=["x", "y", None])
        return col.vectors()


@pytest.fixture
def made():
    """The collection on the local backend."""
    return _make({})


def test_export_to_x_parquet_without_format_writes_parquet_that_imports(capsys, tmp_path, backend):
    made = _make(backend)
    out = tmp_path / "x.parquet"
    code, got, err = run(capsys, *cli(backend), "export", "c", "-o", out, "--json")
    assert code == 0, err
    assert json.loads(got)["format"] == "parquet" and out.read_bytes()[:4] == b"PAR1"
    code, _, err = run(capsys, *cli(backend), "import", out, "--name", "copy", "--json")
    assert code == 0, err
    with Collection.open("copy", **backend) as col:
        again = col.vectors()
        assert col.get(["a"])[0].metadata == {"k": 1} and col.get(["b"])[0].source == "y"
    assert again.keys == made.keys
    np.testing.assert_array_equal(again.matrix, made.matrix)


@pytest.mark.parametrize("name, fmt, detected", [
    ("v.npy", "npy", "npy"), ("v.safetensors", "safetensors", "safetensors"), ("v.txt", "word2vec", "word2vec"),
    ("v.vec", "word2vec", "word2vec"), ("v.w2v", "word2vec", "word2vec"), ("v.BIN", "word2vec-binary", "word2vec-binary"),
])
def test_the_extension_picks_the_vectors_format(capsys, tmp_path, made, name, fmt, detected):
    code, got, err = run(capsys, "export", "c", "-o", tmp_path / name, "--json")
    assert code == 0, err
    assert json.loads(got)["format"] == fmt and detect_format(tmp_path / name) == detected
    back = load_vectors(tmp_path / name)
    assert back.keys == made.keys
    np.testing.assert_allclose(back.matrix, made.matrix, rtol=1e-6)
    # the same format named explicitly (or by an alias) is accepted
    code, _, err = run(capsys, "export", "c", "-o", tmp_path / name, "--format", fmt.replace("word2vec-binary", "bin"))
    assert code == 0, err


def test_a_folder_or_vectors_tsv_is_the_projector_format(capsys, tmp_path, made):
    (tmp_path / "proj").mkdir()
    for target, folder in ((tmp_path / "proj", tmp_path / "proj"), (tmp_path / "p2" / "vectors.tsv", tmp_path / "p2")):
        code, got, err = run(capsys, "export", "c", "-o", target, "--json")
        assert code == 0, err
        assert json.loads(got) == {"collection": "c", "format": "tsv", "path": str(folder), "count": 3, "dim": 4}
        vecs, meta = load_projector(folder, with_metadata=True)
        assert vecs.keys == ["a", "b", "c"] and meta["k"] == ["1", "two", ""]
    # a new folder named without an extension, with --format tsv, as before
    code, _, err = run(capsys, "export", "c", "--format", "tsv", "-o", tmp_path / "p3")
    assert code == 0 and (tmp_path / "p3" / "vectors.tsv").is_file(), err


@pytest.mark.parametrize("args, message", [
    (["--format", "word2vec", "-o", "x.parquet"], "--format word2vec does not match -o x.parquet, which is a "
                                                  ".parquet name (parquet)"),
    (["--format", "parquet", "-o", "x.npy"], "--format parquet does not match -o x.npy, which is a .npy name (npy)"),
    (["--format", "word2vec", "-o", "x.bin"], "which is a .bin name (word2vec-binary)"),
    (["--format", "npy", "-o", "folder"], "--format npy does not match -o folder, which is an existing folder (tsv)"),
    (["-o", "x.csv"], "cannot tell the format of -o x.csv from its extension '.csv'; use a .parquet, .npy, "
                      ".safetensors, .txt/.vec/.w2v (word2vec), .bin (binary word2vec) file, or an existing folder"),
    (["-o", "vectors"], "cannot tell the format of -o vectors from a name without an extension"),
    (["-o", "emb.tsv"], "-o emb.tsv: the tsv (projector) format writes a folder"),
    (["--format", "hdf5", "-o", "x.h5"], "--format must be one of parquet, word2vec, word2vec-binary, npy, "
                                         "safetensors, tsv, atlas, got 'hdf5'"),
])
def test_contradicting_or_unknown_formats_are_refused_in_one_line(capsys, tmp_path, monkeypatch, made, args,
                                                                  message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, "export", "c", *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_an_unknown_extension_with_format_is_written_as_asked(capsys, tmp_path, made):
    code, got, err = run(capsys, "export", "c", "-o", tmp_path / "x.data", "--format", "parquet", "--json")
    assert code == 0, err
    assert (tmp_path / "x.data").read_bytes()[:4] == b"PAR1"
    code, got, err = run(capsys, "export", "c", "-o", tmp_path / "plain", "--format", "word2vec")
    assert code == 0 and load_vectors(tmp_path / "plain", format="word2vec").keys == made.keys, err
