"""Every long library step draws the shared bar (``embedlab._progress.progress_bar``): on a terminal it shows, counts
exactly the work it promised and draws its last state; with ``progress=False`` it prints nothing, terminal or not."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from embedlab import _progress


def as_terminal(monkeypatch):
    """capsys's stderr reads as a terminal (bars show on a terminal only); called in the test body, where capsys's
    stream is the one installed."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)


def topic_corpus(n_sent: int = 300, topics: int = 3, words: int = 10) -> list[list[str]]:
    rng = np.random.default_rng(0)
    groups = [[f"{chr(97 + t)}{i}" for i in range(words)] for t in range(topics)]
    return [[groups[s % topics][j] for j in rng.integers(0, words, 10)] for s in range(n_sent)]


def last_state(err: str, desc: str) -> str:
    """The last drawing of the bar named ``desc`` (tqdm redraws in place with carriage returns)."""
    drawn = [part for part in re.split(r"[\r\n]", err) if part.startswith(f"{desc}:")]
    assert drawn, err[-2000:]
    return drawn[-1]


def test_bar_draws_its_last_state_before_it_clears(capsys, monkeypatch):
    as_terminal(monkeypatch)
    with _progress.progress_bar(3, "quick", "item") as bar:  # three updates within tqdm's 0.1 s: one drawing only
        bar.update(1)
        bar.update(2)
    assert re.match(r"quick: 100%\|.*\| 3/3 ", last_state(capsys.readouterr().err, "quick"))


def test_bar_options_scale_and_resume(capsys, monkeypatch):
    as_terminal(monkeypatch)
    with _progress.progress_bar(4_000_000, "words", "w", unit_scale=True) as bar:
        bar.update(1_500_000)
    assert re.search(r"\| 1\.50M/4\.00M ", last_state(capsys.readouterr().err, "words"))
    with _progress.progress_bar(10, "resumed", "step", initial=4) as bar:  # a resumed job starts where it stopped
        assert bar.n == 4
        bar.update(1)
    assert re.search(r"\| 5/10 ", last_state(capsys.readouterr().err, "resumed"))


def test_fasttext_glove_and_textbook_bars_count_their_whole_work(capsys, monkeypatch):
    as_terminal(monkeypatch)
    from embedlab.train import GloVe
    from embedlab.train.subword import FastText
    from embedlab.train.textbook import TextbookWord2Vec

    corpus = topic_corpus()
    ft = FastText(dim=8, min_count=1, subwords=(3, 4), buckets=1000, epochs=2, workers=1, sample=0, seed=1).fit(corpus)
    err = capsys.readouterr().err
    assert re.match(r"fasttext: 100%\|.*\| 6\.00k/6\.00k .*loss \d\.\d{4}\]", last_state(err, "fasttext"))
    assert len(ft.loss_history_) == 2
    GloVe(dim=8, window=3, min_count=1, epochs=2, workers=1).fit(corpus)
    err = capsys.readouterr().err
    assert re.match(r"reading corpus: 3\.00k", last_state(err, "reading corpus"))  # no total known while reading
    assert re.match(r"counting pairs: 100%\|.*\| 3\.00k/3\.00k ", last_state(err, "counting pairs"))
    assert re.match(r"glove: 100%\|.*epoch 2/2 loss \d", last_state(err, "glove"))
    tb = TextbookWord2Vec("skipgram", dim=4, window=1, epochs=3, seed=0, progress=True).fit(corpus[:20])
    n = len(tb.examples(corpus[:20])[0])
    err = capsys.readouterr().err
    assert re.match(rf"textbook skipgram: 100%\|.*\| {n * 3}/{n * 3} .*epoch 3/3\]", last_state(err, "textbook skipgram"))


def test_analogy_index_and_clip_bars(capsys, tmp_path, monkeypatch):
    as_terminal(monkeypatch)
    from embedlab.evaluate import evaluate_analogies
    from embedlab.index import HNSWIndex
    from embedlab.vectors import Vectors

    rng = np.random.default_rng(0)
    words = ["king", "queen", "man", "woman", "paris", "france", "rome", "italy"]
    qs = tmp_path / "q.txt"
    qs.write_text(": s\nking queen man woman\nparis france rome italy\nman woman king queen\n", encoding="utf-8")
    evaluate_analogies(Vectors(words, rng.normal(size=(8, 6)).astype(np.float32)), qs, progress=True)
    assert re.match(r"analogies: 100%\|.*\| 3/3 ", last_state(capsys.readouterr().err, "analogies"))
    h = HNSWIndex(8, "cosine", M=8, ef_construction=16)
    h.add(np.arange(50), rng.normal(size=(50, 8)).astype(np.float32), progress=True)
    assert re.match(r"hnsw build: 100%\|.*\| 50\.0/50\.0 ", last_state(capsys.readouterr().err, "hnsw build"))
    pytest.importorskip("torch")
    from embedlab.train.clip_heads import ContrastiveHeads

    img, txt = rng.normal(size=(20, 6)).astype(np.float32), rng.normal(size=(20, 5)).astype(np.float32)
    ContrastiveHeads(dim=4, epochs=2, batch_size=8, threads=1, progress=True).fit(img, txt, np.arange(20))
    assert re.match(r"clip heads: 100%\|.*\| 40/40 .*epoch 2/2\]", last_state(capsys.readouterr().err, "clip heads"))


def test_no_bar_without_progress_even_on_a_terminal(capsys, monkeypatch):
    as_terminal(monkeypatch)
    from embedlab.train import GloVe
    from embedlab.train.subword import FastText

    corpus = topic_corpus(60)
    FastText(dim=8, min_count=1, subwords=(3, 4), buckets=1000, epochs=1, workers=1, progress=False).fit(corpus)
    GloVe(dim=8, window=3, min_count=1, epochs=1, workers=1, progress=False).fit(corpus)
    assert capsys.readouterr().err == ""
