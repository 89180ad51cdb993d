"""The textbook full-softmax Word2Vec: exact gradients, and the behaviour the derivation promises."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.errors import InputError, UnknownKeyError
from embedlab.train.textbook import TextbookWord2Vec

CAT = [["the", "cat", "sat", "on", "the", "mat"]]


def _float64_model(arch: str, sentences, dim: int = 6, window: int = 2) -> TextbookWord2Vec:
    m = TextbookWord2Vec(arch, dim=dim, window=window, seed=3, dtype="float64")
    m.build_vocab(sentences).init_weights()
    rng = np.random.default_rng(7)  # larger weights than the init, so the softmax is not nearly uniform
    m.W_ = rng.normal(0, 0.5, m.W_.shape)
    m.W_prime_ = rng.normal(0, 0.5, m.W_prime_.shape)
    return m


def _numeric_grad(m: TextbookWord2Vec, which: str, *args, eps: float = 1e-6) -> np.ndarray:
    p = getattr(m, which)
    g = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + eps
        lp = m.loss_and_grads(*args)[0]
        p[idx] = old - eps
        lm = m.loss_and_grads(*args)[0]
        p[idx] = old
        g[idx] = (lp - lm) / (2 * eps)
    return g


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12))


SENTS = [["a", "b", "c", "d", "e", "a", "c"], ["b", "d", "f", "a"]]


@pytest.mark.parametrize("arch", ["cbow", "skipgram"])
def test_single_example_gradients_match_finite_differences(arch):
    m = _float64_model(arch, SENTS)
    inputs, targets = m.examples(SENTS)
    assert any(len(set(x)) < len(x) for x in inputs + targets)  # a repeated context word is covered
    for k in range(len(inputs)):
        loss, dW, dWp = m.loss_and_grads(inputs[k], targets[k])
        assert loss > 0
        assert _rel_err(dW, _numeric_grad(m, "W_", inputs[k], targets[k])) < 1e-5
        assert _rel_err(dWp, _numeric_grad(m, "W_prime_", inputs[k], targets[k])) < 1e-5


@pytest.mark.parametrize("arch", ["cbow", "skipgram"])
def test_batched_padded_gradients_match_finite_differences_and_sum_of_singles(arch):
    from embedlab.train.textbook import _pad

    m = _float64_model(arch, SENTS)
    inputs, targets = m.examples(SENTS)
    ids, im = _pad(inputs)
    tg, tm = _pad(targets)
    loss, dW, dWp = m.loss_and_grads(ids, tg, im, tm)
    assert _rel_err(dW, _numeric_grad(m, "W_", ids, tg, im, tm)) < 1e-5
    assert _rel_err(dWp, _numeric_grad(m, "W_prime_", ids, tg, im, tm)) < 1e-5
    singles = [m.loss_and_grads(a, b) for a, b in zip(inputs, targets, strict=True)]
    assert loss == pytest.approx(sum(s[0] for s in singles), rel=1e-12)
    np.testing.assert_allclose(dW, sum(s[1] for s in singles), rtol=1e-10, atol=1e-12)


def test_forward_shapes_and_the_math_by_hand():
    m = _float64_model("cbow", CAT)
    V, d = len(m.vocab_), m.dim
    ctx = [m.word_to_id_[w] for w in ("the", "sat", "on")]
    h, u, y = m.forward(ctx)
    assert h.shape == (d,) and u.shape == (V,) and y.shape == (V,)
    X = np.eye(V)[ctx]                                   # c x V one-hot rows
    np.testing.assert_allclose(h, (X @ m.W_).mean(0))
    np.testing.assert_allclose(u, h @ m.W_prime_)
    np.testing.assert_allclose(y, np.exp(u) / np.exp(u).sum())
    loss, _, _ = m.loss_and_grads(ctx, [m.word_to_id_["cat"]])
    assert loss == pytest.approx(-np.log(y[m.word_to_id_["cat"]]))
    # skip-gram: the loss is summed over the c context words with one shared softmax
    s = _float64_model("skipgram", CAT)
    _, _, ys = s.forward([s.word_to_id_["cat"]])
    loss_s, _, _ = s.loss_and_grads([s.word_to_id_["cat"]], ctx)
    assert loss_s == pytest.approx(-np.log(ys[ctx]).sum())


def test_cbow_predicts_cat_from_its_context():
    m = TextbookWord2Vec("cbow", dim=10, window=2, lr=0.05, epochs=300, seed=0).fit(CAT)
    assert m.predict(["the", "sat", "on"], k=1)[0][0] == "cat"
    assert m.loss_history_[-1] < m.loss_history_[0] / 5
    assert len(m.loss_history_) == 300
    probs = [p for _, p in m.predict(["the", "sat", "on"], k=len(m.vocab_))]
    assert sum(probs) == pytest.approx(1.0, abs=1e-5) and probs == sorted(probs, reverse=True)


def test_skipgram_predicts_the_context_of_cat():
    m = TextbookWord2Vec("skipgram", dim=10, window=2, lr=0.05, epochs=300, seed=0).fit(CAT)
    top3 = {w for w, _ in m.predict_context("cat", k=3)}
    assert top3 == {"the", "sat", "on"}


@pytest.mark.parametrize("arch", ["cbow", "skipgram"])
def test_words_sharing_contexts_become_nearest_neighbours(arch):
    rng = np.random.default_rng(0)
    sents = []
    frames = [("i", "fed", "my", "{}", "this", "morning"), ("a", "{}", "chased", "the", "ball"),
              ("we", "bought", "{}", "food", "today")]
    for _ in range(20):
        frame = frames[rng.integers(len(frames))]
        pet = ("dog", "puppy")[rng.integers(2)]
        sents.append([w.format(pet) for w in frame])
        sents.append(["the", "sun", "rose", "over", "grey", "hills"])
        sents.append(["rain", "fell", "on", "the", "old", "roof"])
    m = TextbookWord2Vec(arch, dim=12, window=2, lr=0.05, epochs=30, seed=1).fit(sents)
    W = m.W_ / np.linalg.norm(m.W_, axis=1, keepdims=True)
    sims = W @ W[m.word_to_id_["dog"]]
    sims[m.word_to_id_["dog"]] = -np.inf
    assert m.vocab_[int(np.argmax(sims))] == "puppy"
    assert m.wv.matrix.dtype == np.float32 and m.wv.keys == m.vocab_


def test_same_seed_same_result_and_errors():
    a = TextbookWord2Vec("cbow", epochs=5, seed=4).fit(CAT)
    b = TextbookWord2Vec("cbow", epochs=5, seed=4).fit(CAT)
    np.testing.assert_array_equal(a.W_, b.W_)
    with pytest.raises(InputError, match="unknown arch 'glove'; choose one of cbow, skipgram"):
        TextbookWord2Vec("glove").fit(CAT)
    with pytest.raises(InputError, match="non-empty list of token lists"):
        TextbookWord2Vec().fit("the cat sat")
    with pytest.raises(UnknownKeyError, match="'dog' is not in the vocabulary"):
        a.predict(["the", "dog"])
    with pytest.raises(InputError, match="not trained yet"):
        _ = TextbookWord2Vec().wv
    with pytest.raises(InputError, match="not trained yet"):
        TextbookWord2Vec().predict(["the"])


@pytest.mark.parametrize("params, message", [
    (dict(dim=0), "dim must be a positive integer, got 0"),
    (dict(dim=10.0), r"dim must be a positive integer, got 10.0 \(float\)"),
    (dict(window=True), r"window must be a positive integer, got True \(bool\)"),
    (dict(window="2"), r"window must be a positive integer, got '2' \(str\)"),
    (dict(epochs=-1), "epochs must be a positive integer, got -1"),
    (dict(min_count=0), "min_count must be a positive integer, got 0"),
    (dict(batch_size=2.7), r"batch_size must be a positive integer, got 2.7 \(float\)"),
    (dict(lr=0), "lr must be a positive number, got 0.0"),
    (dict(lr=float("inf")), "lr must be a positive number, got inf"),
    (dict(lr=float("nan")), "lr must be a positive number, got nan"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(dtype="float16"), "unknown dtype 'float16'; choose one of float32, float64"),
    (dict(progress="yes"), r"progress must be True or False, got 'yes' \(str\)"),
])
def test_every_parameter_is_checked_before_training(params, message):
    with pytest.raises(InputError, match=message):
        TextbookWord2Vec(**params).fit(CAT)


def test_sentences_are_token_lists_and_k_is_positive():
    with pytest.raises(InputError, match=r"sentence 0 \(a list of tokens.*must be a list of strings, got str"):
        TextbookWord2Vec().fit(["the cat sat on the mat"])
    with pytest.raises(InputError, match="sentence 1 .* it holds int 3"):
        TextbookWord2Vec().fit([["the", "cat"], ["sat", 3]])
    m = TextbookWord2Vec(epochs=2, seed=0).fit(CAT)
    assert len(m.predict(["the"], k=100)) == 5  # k above the vocabulary: every word, once
    for k in (0, -2, 1.5):
        with pytest.raises(InputError, match="k must be a positive integer"):
            m.predict(["the"], k=k)
    with pytest.raises(InputError, match="k must be a positive integer, got 0"):
        m.predict_context("cat", k=0)
    with pytest.warns(DeprecationWarning, match=r"TextbookWord2Vec.predict\(topn=...\) is deprecated; use k="):
        assert m.predict(["the"], topn=2) == m.predict(["the"], k=2)
    with pytest.raises(InputError, match="pass k only, not also topn"):
        m.predict(["the"], k=2, topn=2)


def test_cli_textbook_predicts_and_writes_vectors(tmp_path, capsys):
    import json

    from embedlab.cli import main

    (tmp_path / "cat.txt").write_text("The cat sat on the mat.\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["train", "textbook", str(tmp_path / "cat.txt"), "--epochs", "300", "--predict", "the sat on",
              "--context", "cat", "--topn", "3", "-o", str(tmp_path / "tb"), "--json"])
    assert e.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["predict"][0]["word"] == "cat" and out["vocab_size"] == 5
    assert {r["word"] for r in out["context"]} == {"the", "sat", "on"}
    assert (tmp_path / "tb" / "vectors.txt").read_text().splitlines()[0] == "5 10"
    with pytest.raises(SystemExit) as e:
        main(["train", "textbook", str(tmp_path / "cat.txt"), "--epochs", "2", "--predict", "the dog"])
    assert e.value.code == 2
    assert "'dog' is not in the vocabulary" in " ".join(capsys.readouterr().err.split())
