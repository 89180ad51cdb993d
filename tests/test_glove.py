"""GloVe (Pennington et al. 2014): exact co-occurrence counts (also after spilling to disk), glove.c's AdaGrad
update checked against a float64 reference, decreasing loss, seeded reproducibility, a quality threshold, the
model folder, the CLI, and bad input (empty/tiny corpora, words that never co-occur, bad parameters)."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.errors import CorruptFileError, InputError, ResourceLimitError
from embedlab.train import GloVe
from embedlab.train import cooccurrence as cooc_mod
from embedlab.train.cooccurrence import Cooccurrence, count_cooccurrences

FAST = dict(dim=8, window=3, min_count=1, epochs=5, workers=1, x_max=10.0, progress=False)
NAN, INF = float("nan"), float("inf")


def topic_corpus(n_sent: int = 900, topics: int = 3, words: int = 10, seed: int = 0) -> list[list[str]]:
    """``topics`` topics of ``words`` words; a sentence draws 10 words from one topic only."""
    rng = np.random.default_rng(seed)
    groups = [[f"{chr(97 + t)}{i}" for i in range(words)] for t in range(topics)]
    return [[groups[s % topics][j] for j in rng.integers(0, words, 10)] for s in range(n_sent)]


def zipf_corpus(n_sent: int = 2000, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[f"w{int(z)}" for z in rng.zipf(1.4, int(rng.integers(2, 25)))] for _ in range(n_sent)]


def brute_force(corpus, index, window: int, weighting: bool = True) -> dict[tuple[int, int], float]:
    """X[i, j] (i <= j) summed in Python: every pair at distance d <= window in a line adds 1/d (or 1)."""
    ref: dict[tuple[int, int], float] = defaultdict(float)
    for sent in corpus:
        ids = [index[w] for w in sent if w in index]
        for p in range(len(ids)):
            for q in range(p + 1, min(len(ids), p + window + 1)):
                i, j = sorted((ids[p], ids[q]))
                ref[(i, j)] += 1.0 / (q - p) if weighting else 1.0
    return dict(ref)


def as_dict(c: Cooccurrence) -> dict[tuple[int, int], float]:
    return {(int(r), int(k)): float(x) for r, k, x in zip(c.rows, c.cols, c.values, strict=True)}


# --- counting ---------------------------------------------------------------------------------------------------
def test_cooccurrence_counts_are_exact_on_a_tiny_corpus():
    corpus = [["a", "b", "c", "a"], ["b", "a"], ["c"]]
    c = count_cooccurrences(corpus, window=2, min_count=1, progress=False)
    assert c.vocab.words == ["a", "b", "c"] and c.nnz == 3
    # line 1: a-b 1, a-c 1/2, b-c 1, b-a 1/2, c-a 1; line 2: b-a 1; line 3 has no pair
    assert np.allclose(c.to_dense(), [[0, 2.5, 1.5], [2.5, 0, 1], [1.5, 1, 0]])
    assert (c.rows <= c.cols).all() and c.rows.dtype == np.int32 and c.values.dtype == np.float32
    wide = count_cooccurrences(corpus, window=3, min_count=1, progress=False).to_dense()
    assert wide[0, 0] == pytest.approx(1 / 3)  # a ... a three apart: the diagonal
    flat = count_cooccurrences(corpus, window=2, min_count=1, distance_weighting=False, progress=False).to_dense()
    assert np.allclose(flat, [[0, 3, 2], [3, 0, 1], [2, 1, 0]])
    sparse = c.to_scipy()
    assert sparse.shape == (3, 3) and (sparse != sparse.T).nnz == 0


def test_counts_match_brute_force_for_any_worker_count_and_after_spilling(tmp_path, monkeypatch):
    corpus = zipf_corpus()
    base = count_cooccurrences(corpus, window=4, min_count=2, workers=1, progress=False)
    ref = brute_force(corpus, base.vocab.word_to_index, 4)
    got = as_dict(base)
    assert got.keys() == ref.keys()
    assert max(abs(got[k] - ref[k]) / ref[k] for k in ref) < 1e-6
    for workers in (2, 3):  # same cells, same order: the order comes from the seed, not the threads
        other = count_cooccurrences(corpus, window=4, min_count=2, workers=workers, progress=False)
        assert np.array_equal(other.rows, base.rows) and np.array_equal(other.cols, base.cols)
        assert np.allclose(other.values, base.values, rtol=1e-6)
    monkeypatch.setattr(cooc_mod, "DENSE_WORDS", 4)
    monkeypatch.setattr(cooc_mod, "_MIN_SLOTS", 64)
    slots, _ = cooc_mod.counting_memory(60_000, 2, min_slots=64)
    assert base.nnz > 5 * slots  # so each worker's table fills and spills several sorted runs to disk
    spilled = count_cooccurrences(corpus, window=4, min_count=2, workers=2, max_memory=60_000, progress=False)
    assert np.array_equal(spilled.rows, base.rows) and np.array_equal(spilled.cols, base.cols)
    assert np.allclose(spilled.values, base.values, rtol=1e-6)
    monkeypatch.setattr(cooc_mod, "_START_SLOTS", 64)  # tables start tiny and double (rehash) as they fill
    grown = count_cooccurrences(corpus, window=4, min_count=2, workers=2, progress=False)
    assert np.array_equal(grown.rows, base.rows) and np.allclose(grown.values, base.values, rtol=1e-6)
    reseeded = count_cooccurrences(corpus, window=4, min_count=2, seed=2, progress=False)
    assert as_dict(reseeded).keys() == got.keys() and not np.array_equal(reseeded.rows, base.rows)


def test_cooccurrence_save_load_and_checks(tmp_path):
    c = count_cooccurrences(zipf_corpus(300), window=3, min_count=1, progress=False)
    kept = count_cooccurrences(zipf_corpus(300), window=3, min_count=1, folder=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cols.i32", "rows.i32", "values.f32"]  # no scratch left
    assert np.array_equal(kept.rows, c.rows) and np.array_equal(kept.values, c.values)
    with pytest.raises(InputError, match="already holds rows.i32; count into an empty folder"):
        count_cooccurrences(zipf_corpus(300), window=3, min_count=1, folder=tmp_path, progress=False)
    del kept
    c.save(tmp_path / "cooc")
    back = Cooccurrence.load(tmp_path / "cooc")
    assert back.vocab.words == c.vocab.words and back.window == 3
    assert np.array_equal(back.rows, c.rows) and np.array_equal(back.values, c.values)
    bad = Cooccurrence(c.vocab, c.cols.copy(), c.rows.copy(), c.values, 3)  # row > col somewhere
    with pytest.raises(InputError, match="0 <= row <= col"):
        bad.check()
    (tmp_path / "cooc" / "values.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(CorruptFileError, match="values.npy"):
        Cooccurrence.load(tmp_path / "cooc")


# --- training ---------------------------------------------------------------------------------------------------
def reference_epoch(c: Cooccurrence, P: np.ndarray, C: np.ndarray, x_max: float, alpha: float, lr: float) -> float:
    """glove.c's update in float64, record by record, both orientations: returns the epoch's mean f diff^2."""
    d = (P.shape[1] - 2) // 2
    loss, terms = 0.0, 0
    for i0, j0, x in zip(c.rows.tolist(), c.cols.tolist(), c.values.tolist(), strict=True):
        f = 1.0 if x >= x_max else (x / x_max) ** alpha
        for i, j in ((i0, j0), (j0, i0)) if i0 != j0 else ((i0, j0),):
            diff = P[i, :d] @ C[j, :d] + P[i, d] + C[j, d] - math.log(x)
            loss += f * diff * diff
            terms += 1
            g = lr * f * diff
            t1, t2 = g * C[j, :d], g * P[i, :d]
            P[i, :d] -= t1 / np.sqrt(P[i, d + 1:2 * d + 1])
            C[j, :d] -= t2 / np.sqrt(C[j, d + 1:2 * d + 1])
            P[i, d + 1:2 * d + 1] += t1 * t1
            C[j, d + 1:2 * d + 1] += t2 * t2
            P[i, d] -= g / np.sqrt(P[i, -1])
            C[j, d] -= g / np.sqrt(C[j, -1])
            P[i, -1] += g * g
            C[j, -1] += g * g
    return loss / terms


def test_adagrad_updates_and_loss_match_glove_c_reference():
    c = count_cooccurrences(topic_corpus(60, topics=2, words=6), window=3, min_count=1, progress=False)
    v, d = len(c.vocab), 4
    model = GloVe(dim=d, epochs=2, workers=1, seed=7, x_max=3.0, alpha=0.75, lr=0.05, progress=False)
    model.fit_cooccurrence(c)
    rng = np.random.default_rng(7)  # glove.c's initialisation: uniform in [-0.5, 0.5) / dim, AdaGrad sums at 1
    tables = np.ones((2, v, 2 * (d + 1)))
    tables[:, :, : d + 1] = (rng.random((2, v, d + 1), dtype=np.float32) - np.float32(0.5)) / np.float32(d)
    losses = [reference_epoch(c, tables[0], tables[1], 3.0, 0.75, 0.05) for _ in range(2)]
    assert model.loss_history_ == pytest.approx(losses, rel=1e-5)
    assert np.allclose(model.W_, tables[0, :, :d], atol=1e-5) and np.allclose(model.W_ctx_, tables[1, :, :d], atol=1e-5)
    assert np.allclose(model.b_, tables[0, :, d], atol=1e-5) and np.allclose(model.b_ctx_, tables[1, :, d], atol=1e-5)
    assert np.allclose(model.wv.matrix, model.W_ + model.W_ctx_)


def test_loss_decreases_and_vectors_find_their_topic():
    corpus = topic_corpus()
    c = count_cooccurrences(corpus, window=5, min_count=1, progress=False)
    model = GloVe(**{**FAST, "dim": 10, "epochs": 30}).fit_cooccurrence(c)
    h = model.loss_history_
    assert all(b < a for a, b in zip(h, h[1:], strict=False)) and h[-1] < 0.2 * h[0]
    assert model.loss(c) < h[0]
    wv = model.wv
    unit = wv.matrix / np.linalg.norm(wv.matrix, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argsort(-sims, axis=1)[:, :3]
    same = np.mean([[wv.keys[j][0] == w[0] for j in row] for w, row in zip(wv.keys, top, strict=True)])
    assert same >= 0.95


def test_seeded_runs_are_identical_with_one_worker():
    corpus = topic_corpus(300)
    a = GloVe(**FAST, seed=3).fit(corpus)
    b = GloVe(**FAST, seed=3).fit(corpus)
    assert np.array_equal(a.W_, b.W_) and np.array_equal(a.b_ctx_, b.b_ctx_) and a.loss_history_ == b.loss_history_
    other = GloVe(**FAST, seed=4).fit(corpus)
    assert not np.array_equal(a.W_, other.W_)
    two = GloVe(**{**FAST, "workers": 2}, seed=3).fit(corpus)  # Hogwild: close, not bit-identical
    assert two.loss_history_[-1] == pytest.approx(a.loss_history_[-1], rel=0.2)


def test_save_load_roundtrip_and_damage(tmp_path):
    model = GloVe(**FAST).fit(topic_corpus(200))
    model.save(tmp_path / "m")
    back = GloVe.load(tmp_path / "m")
    assert back.vocab_.words == model.vocab_.words and np.array_equal(back.wv.matrix, model.wv.matrix)
    assert back.loss_history_ == pytest.approx(model.loss_history_) and back.x_max == 10.0
    meta = json.loads((tmp_path / "m" / "glove.json").read_text())
    meta["files"]["W"] = "../W.npy"
    (tmp_path / "m" / "glove.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="not a plain file name"):
        GloVe.load(tmp_path / "m")
    with pytest.raises(CorruptFileError, match="holds no glove.json"):
        GloVe.load(tmp_path)


# --- bad input --------------------------------------------------------------------------------------------------
class Untouchable:
    """A corpus that fails the test when read: the parameters must be refused before."""

    def __iter__(self):
        raise AssertionError("the corpus was read before the parameters were checked")


@pytest.mark.parametrize("params, message", [
    (dict(dim=0), "dim must be a positive integer, got 0"),
    (dict(window=2.5), r"window must be a positive integer, got 2.5 \(float\)"),
    (dict(epochs=True), r"epochs must be a positive integer, got True \(bool\)"),
    (dict(workers=0), "workers must be a positive integer, got 0"),
    (dict(x_max=0), "x_max must be a positive number, got 0.0"),
    (dict(x_max=NAN), "x_max must be a positive number, got nan"),
    (dict(alpha=-0.5), "alpha must be a non-negative number, got -0.5"),
    (dict(alpha=INF), "alpha must be a non-negative number, got inf"),
    (dict(lr=0), "lr must be a positive number, got 0.0"),
    (dict(lr="0.05"), r"lr must be a positive number, got '0.05' \(str\)"),
    (dict(min_count=0), "min_count must be a positive integer, got 0"),
    (dict(max_vocab_size=1), "max_vocab_size must be an integer >= 2, got 1"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(distance_weighting=1), r"distance_weighting must be True or False, got 1 \(int\)"),
    (dict(max_memory="lots"), "cannot read a memory size from 'lots'"),
])
def test_bad_parameters_are_refused_before_the_corpus_is_read(params, message):
    with pytest.raises(InputError, match=message):
        GloVe(**{**FAST, **params}).fit(Untouchable())


@pytest.mark.parametrize("corpus, message", [
    ([], "the corpus is empty"),
    ([["hello"], ["hello"]], r"only 1 distinct word\(s\)"),
    ([["a"], ["b"], ["a"], ["b"]], "no two vocabulary words occur within window=3"),
])
def test_empty_and_tiny_corpora_are_refused(corpus, message):
    with pytest.raises(InputError, match=message):
        GloVe(**FAST).fit(corpus)


def test_empty_file_and_words_without_neighbours(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputError, match="the corpus is empty"):
        GloVe(**FAST).fit(str(tmp_path / "empty.txt"))
    corpus = topic_corpus(100) + [["loner"]] * 3  # 'loner' never has a neighbour: it cannot be fitted
    with pytest.warns(UserWarning, match=r"1 of 31 vocabulary words never occur within 3 words of another \(e.g. 'loner'\)"):
        model = GloVe(**FAST).fit(corpus)
    assert "loner" not in model.vocab_ and len(model.wv) == 30


def test_a_corpus_smaller_than_the_vocabulary_asked_for():
    corpus = topic_corpus(60, topics=2, words=5)  # 10 distinct words
    with pytest.warns(UserWarning, match="the vocabulary has 10 words for 16 dimensions"):
        model = GloVe(**{**FAST, "dim": 16, "max_vocab_size": 1000}).fit(corpus)
    assert len(model.vocab_) == 10 and model.wv.matrix.shape == (10, 16)
    with pytest.raises(ResourceLimitError, match="max_memory"):
        GloVe(**{**FAST, "max_memory": 4096}).fit(corpus)
    with pytest.raises(InputError, match="takes a Cooccurrence"):
        GloVe(**FAST).fit_cooccurrence({"a": 1})
    with pytest.raises(InputError, match="not trained yet"):
        GloVe(**FAST).wv  # noqa: B018


# --- command line -----------------------------------------------------------------------------------------------
def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_cli_train_glove_then_evaluate(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(s) for s in topic_corpus(300)) + "\n")
    out = tmp_path / "g"
    args = ["train", "glove", str(corpus), "-o", str(out), "--dim", "8", "--window", "3", "--min-count", "1",
            "--epochs", "3", "--x-max", "10", "--workers", "1"]
    code, stdout, _ = run([*args, "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["vocab_size"] == 30 and summary["corpus_tokens"] == 3000 and len(summary["loss_history"]) == 3
    assert sorted(p.name for p in out.iterdir()) == ["W.npy", "W_ctx.npy", "b.npy", "b_ctx.npy", "glove.json",
                                                     "vectors.txt", "vocab.tsv"]
    assert not list(tmp_path.glob(".g.*"))  # no temp folder left behind
    assert np.allclose(GloVe.load(out).wv.matrix[0], np.loadtxt(out / "vectors.txt", skiprows=1, usecols=range(1, 9))[0])
    code, stdout, _ = run(["evaluate", str(out), "--json"], capsys)
    assert code == 0 and json.loads(stdout)["vocab_size"] == 30
    code, _, err = run(["train", "glove", str(corpus), "-o", str(tmp_path / "g2"), "--x-max", "0"], capsys)
    assert code == 2 and "x_max must be a positive number, got 0.0" in err and not (tmp_path / "g2").exists()
    code, _, err = run(args, capsys)
    assert code == 2 and "already exists and is not empty; pass --overwrite" in err
