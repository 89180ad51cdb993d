"""`embedlab encoders` and `embedlab encode`, run in-process."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

from embedlab.cli import main


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_encoders_json_lists_installed_without_loading(capsys):
    from embedlab.encoders.registry import _CACHE

    built_before = set(_CACHE)  # models other tests of this session built
    code, out, _ = _run(["encoders", "--json"], capsys)
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    for r in rows.values():
        assert {"name", "modalities", "dim", "description"} <= set(r)
        assert isinstance(r["modalities"], list) and r["description"]
    assert rows["use-multilingual"]["dim"] == 512 and rows["use-multilingual"]["default"] is True
    assert rows["minilm"]["aliases"] == ["sbert"] and rows["minilm"]["dim"] == 384
    assert rows["minilm-onnx"]["modalities"] == ["text"]
    assert rows["clip"]["modalities"] == ["text", "image"] and rows["clip"]["dim"] is None
    assert set(_CACHE) == built_before  # listing built no model


def test_encode_texts_stdin_and_files_with_keys(tmp_path, capsys, monkeypatch, use_encoder):
    from embedlab.io import load_npy

    doc = tmp_path / "doc.txt"
    doc.write_text("A whole document.\nWith two lines.", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("first line\n\nsecond line\nfirst line\n"))
    out_path = tmp_path / "v.npy"
    code, out, _ = _run(["encode", "-e", "use", "hello world", str(doc), "-", "-o", str(out_path),
                         "--batch-size", "2", "--json"], capsys)  # keys by default
    assert code == 0
    info = json.loads(out)
    assert info["count"] == 5 and info["dim"] == 512 and info["encoder"] == "use-multilingual"
    vecs = load_npy(out_path)
    assert vecs.keys == ["hello world", str(doc), "first line", "second line", "first line #2"]
    assert info["keys"] == str(out_path) + ".json"
    import embedlab

    assert embedlab.load_vectors(out_path).keys == vecs.keys  # the generic loader finds the sidecar
    assert np.load(out_path, allow_pickle=False).shape == (5, 512)  # still a plain .npy for numpy
    expected = use_encoder.encode(["hello world", "A whole document.\nWith two lines.", "first line"])
    np.testing.assert_allclose(vecs.matrix[:3], expected, atol=1e-5)
    np.testing.assert_allclose(vecs.matrix[2], vecs.matrix[4], atol=1e-6)


def test_encode_plain_npy_no_normalize(tmp_path, capsys, use_encoder):
    out_path = tmp_path / "raw.npy"
    code, out, _ = _run(["encode", "a dog", "a cat", "-o", str(out_path), "--no-normalize", "--no-keys"], capsys)
    assert code == 0 and "wrote 2 x 512 vectors" in out
    arr = np.load(out_path, allow_pickle=False)
    assert arr.shape == (2, 512) and arr.dtype == np.float32
    assert not (tmp_path / "raw.npy.json").exists()
    np.testing.assert_allclose(arr, use_encoder.encode(["a dog", "a cat"], normalize=False), atol=1e-5)


def test_encode_errors(tmp_path, capsys):
    code, _, err = _run(["encode", "x", "-o", str(tmp_path / "v.txt")], capsys)
    assert code == 2 and "must end in .npy" in err
    code, _, err = _run(["encode", "-e", "clip", "x", "-o", str(tmp_path / "v.npy")], capsys)
    assert code == 2 and "needs --model-path FOLDER" in err
    code, _, err = _run(["encode", "-e", "nope", "x", "-o", str(tmp_path / "v.npy")], capsys)
    assert code == 2 and "unknown encoder 'nope'" in err
    img = tmp_path / "pic.png"
    img.write_bytes(b"\x89PNG\r\n")
    code, _, err = _run(["encode", str(img), "-o", str(tmp_path / "v.npy")], capsys)
    assert code == 2 and "is an image file but this encoder takes text" in " ".join(err.split())
    code, _, err = _run(["encode", "-e", "minilm", "x", "--model-path", str(tmp_path / "nowhere"),
                         "-o", str(tmp_path / "v.npy")], capsys)
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "v.npy").exists()


def test_encoders_table_shows_the_install_command_of_a_missing_one(capsys, monkeypatch):
    """The extra in brackets is printed, not read as console markup (it once showed "pip install 'embedlab'")."""
    from embedlab.encoders import registry
    from embedlab.encoders.registry import EncoderSpec

    monkeypatch.setitem(registry._SPECS, "needs-extra", EncoderSpec(
        name="needs-extra", factory=lambda: None, dim=8, modalities=("text",), requires=("no_such_module_x",),
        extra="text", description="a [bracketed] description"))
    # one line per row; rich reads $COLUMNS whenever the console has no fixed width (setting console.width instead
    # would leave the width fixed after the undo, and later tests' tables would wrap at the width found then)
    monkeypatch.setenv("COLUMNS", "400")
    code, out, _ = _run(["encoders", "--all"], capsys)
    (row,) = [line for line in out.splitlines() if "needs-extra" in line]
    assert code == 0 and "a [bracketed] description (pip install 'embedlab[text]')" in row
    code, out, _ = _run(["index", "--help"], capsys)
    assert code == 0 and "'embedlab[scale]'" in "".join(out.split())
