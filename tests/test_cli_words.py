"""`embedlab similar` and `embedlab analogy`, run in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture
def w2v(tmp_path):
    v = Vectors(["cat", "dog", "car"], np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 2]], dtype=np.float32))
    return v.save(tmp_path / "tiny.txt")


def test_analogy_bare_minus_signs_json(glove, capsys):
    code, out, _ = run(["analogy", "king", "-", "man", "+", "woman", "-n", "3", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["expression"] == "king + woman - man"
    assert data["results"][0]["key"] == "queen" and len(data["results"]) == 3
    assert data["results"][0]["score"] == pytest.approx(0.85236, abs=1e-4)


def test_analogy_one_argument_and_table(glove, capsys):
    code, out, _ = run(["analogy", "paris-france+italy", "-n", "1", "--json"], capsys)
    assert code == 0 and json.loads(out)["results"][0]["key"] == "rome"
    code, out, _ = run(["analogy", "king", "-", "man", "+", "woman"], capsys)
    assert code == 0 and "queen" in out and "throne" in out


def test_analogy_with_vectors_file(w2v, capsys):
    code, out, _ = run(["analogy", "cat", "-n", "2", "--vectors", str(w2v), "--json"], capsys)
    assert code == 0
    assert [r["key"] for r in json.loads(out)["results"]] == ["dog", "car"]


def test_analogy_errors(glove, capsys):
    code, _, err = run(["analogy", "king", "-", "-", "man"], capsys)
    assert code == 2 and "two operators in a row" in err
    code, _, err = run(["analogy", "kingg", "-", "man", "+", "woman"], capsys)
    assert code == 2 and "'kingg' is not in the vocabulary" in err and "did you mean" in err
    code, _, err = run(["analogy", "king", "-man"], capsys)  # an unspaced '-man' is an option to Click
    assert code == 2 and "No such option: -m" in err
    code, _, err = run(["analogy", "king", "-n", "0"], capsys)
    assert code == 2 and "-n must be at least 1" in err


def test_similar_keys_from_vectors_file(w2v, capsys):
    code, out, _ = run(["similar", "cat", "dog", "--vectors", str(w2v), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"a", "b", "cosine", "dot", "euclidean"}
    assert data["a"] == "cat" and data["b"] == "dog"
    assert data["cosine"] == pytest.approx(0.6) and data["dot"] == pytest.approx(0.6)
    assert data["euclidean"] == pytest.approx(np.sqrt(0.4**2 + 0.8**2))
    code, _, err = run(["similar", "cat", "cow", "--vectors", str(w2v)], capsys)
    assert code == 2 and "'cow' is not in the vocabulary" in err


def test_similar_texts_through_the_encoder(use_encoder, capsys):
    code, out, _ = run(["similar", "고양이가 소파에서 잔다", "The cat sleeps on the sofa", "--json"], capsys)
    assert code == 0
    same = json.loads(out)
    code, out, _ = run(["similar", "고양이가 소파에서 잔다", "Stock markets fell sharply today", "--json"], capsys)
    other = json.loads(out)
    assert same["cosine"] > 0.6 and same["cosine"] > other["cosine"] + 0.3
    assert same["euclidean"] == pytest.approx(np.sqrt(max(0.0, 2 - 2 * same["cosine"])), abs=1e-3)  # unit vectors
    code, out, _ = run(["similar", "cat", "dog"], capsys)
    assert code == 0 and "cosine" in out


def test_analogy_keeps_hyphenated_key(glove, capsys):
    code, out, _ = run(["analogy", "e-mail", "-", "mail", "+", "phone", "--json"], capsys)
    assert code == 0 and json.loads(out)["expression"] == '"e-mail" + phone - mail'


def test_cli_warnings_show_the_message_not_the_source_line():
    """A library warning printed by the CLI reads `warning: MESSAGE`, without the file, line and code that raised it."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "embedlab.cli", "similar", "안녕하세요", "the cat", "-e", "glove-50",
                        "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "warning: glove-50: 1 of 2 text(s) had no known word and got a zero vector" in r.stderr
    assert ".py:" not in r.stderr and "warnings.warn" not in r.stderr and "OOVWarning" not in r.stderr
    assert json.loads(r.stdout)["cosine"] == 0.0


def test_warning_format_names_foreign_categories():
    import warnings

    from embedlab.cli import _format_warning
    from embedlab.encoders.word_average import OOVWarning

    assert _format_warning("m", UserWarning, "/x/y.py", 3, "code") == "warning: m\n"
    assert _format_warning("m", OOVWarning, "/x/y.py", 3) == "warning: m\n"
    assert _format_warning("slow", RuntimeWarning, "/x/y.py", 3) == "warning (RuntimeWarning): slow\n"
    before = warnings.formatwarning
    with pytest.raises(SystemExit):
        main(["analogy", "king", "-n", "1", "--json"])
    assert warnings.formatwarning is before  # restored: an in-process caller keeps its own format
