"""Every command that takes vectors (`analogy -v`, `similar -v`, `project --vectors`, `bias -v`, `dims -v`)
accepts the folder a training command wrote, through the one loader (`embedlab.io.load_vectors`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.io import load_vectors

SENTENCES = ["the cat sat on the mat", "the dog sat on the rug", "a cat and a dog play",
             "the king and the queen rule", "a man and a woman walk", "the car and the bus drive"]


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, " ".join(out.err.split())


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Output folders of `train word2vec`, `train fasttext`, `train textbook` and `train bpe` on a tiny corpus."""
    root = tmp_path_factory.mktemp("trained")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES * 20) + "\n", encoding="utf-8")
    small = ["--dim", "8", "--epochs", "1", "--min-count", "1", "--workers", "1", "--json"]
    out = {}
    for name, argv in (("word2vec", ["train", "word2vec", str(corpus), *small]),
                       ("fasttext", ["train", "fasttext", str(corpus), *small, "--buckets", "1000"]),
                       ("textbook", ["train", "textbook", str(corpus), "--dim", "8", "--epochs", "2", "--json"]),
                       ("bpe", ["train", "bpe", str(corpus), "--vocab-size", "320", "--json"])):
        out[name] = root / name
        with pytest.raises(SystemExit) as exc:
            main([*argv, "-o", str(out[name])])
        assert exc.value.code == 0, name
    return out


def test_the_loader_reads_each_training_folder_exactly(folders):
    from embedlab.train.subword import FastText
    from embedlab.train.word2vec import Word2Vec

    w2v = load_vectors(folders["word2vec"])
    np.testing.assert_array_equal(w2v.matrix, Word2Vec.load(folders["word2vec"]).W_)  # the model, not its text
    ft = load_vectors(folders["fasttext"])
    np.testing.assert_array_equal(ft.matrix, FastText.load(folders["fasttext"]).wv.matrix)  # composed, as oov
    tb = load_vectors(folders["textbook"])
    assert "cat" in tb and tb.dim == 8


@pytest.mark.parametrize("kind", ["word2vec", "fasttext", "textbook"])
def test_similar_and_analogy_take_a_training_folder(folders, kind, capsys):
    code, out, err = run(["similar", "cat", "dog", "-v", str(folders[kind]), "--json"], capsys)
    assert code == 0, err
    v = load_vectors(folders[kind])
    assert json.loads(out)["cosine"] == pytest.approx(v.similarity("cat", "dog"), abs=1e-5)
    code, out, err = run(["analogy", "king", "-", "man", "+", "woman", "-v", str(folders[kind]), "-n", "3",
                          "--json"], capsys)
    assert code == 0, err
    want = v.most_similar(positive=["king", "woman"], negative=["man"], topn=3)
    assert [r["key"] for r in json.loads(out)["results"]] == [k for k, _ in want]


def test_project_and_dims_take_a_training_folder(folders, tmp_path, capsys):
    png = tmp_path / "w2v.png"
    code, out, err = run(["project", "-o", str(png), "--vectors", str(folders["word2vec"]), "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["points"] == len(load_vectors(folders["word2vec"])) and png.stat().st_size > 0
    code, out, err = run(["dims", "-v", str(folders["fasttext"]), "--sample", "10", "--json"], capsys)
    assert code == 0, err
    assert any(r["source"] == "fasttext" for r in json.loads(out))


def test_bias_takes_a_training_folder(folders, capsys, monkeypatch):
    from embedlab.analysis import bias

    seen = {}

    def fake_report(vectors, **kwargs):  # the measures themselves are tested in test_bias.py
        seen["keys"] = list(vectors.keys)
        raise bias.InputError("stop here")

    monkeypatch.setattr(bias, "bias_report", fake_report)
    code, _, err = run(["bias", "-v", str(folders["word2vec"]), "--permutations", "10"], capsys)
    assert code == 2 and "stop here" in err
    assert seen["keys"] == load_vectors(folders["word2vec"]).keys


def test_folders_without_vectors_say_what_to_pass(folders, tmp_path, capsys):
    code, _, err = run(["similar", "a", "b", "-v", str(folders["bpe"])], capsys)
    assert code == 2 and "is a BPE tokenizer" in err and "--tokenizer" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run(["analogy", "a", "-v", str(tmp_path / "empty")], capsys)
    assert code == 2 and "is a folder without vectors" in err and "embedlab train word2vec" in err
    code, _, err = run(["analogy", "a", "-v", str(tmp_path / "nope")], capsys)
    assert code == 2 and "no vectors file or folder at" in err
