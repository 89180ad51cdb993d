"""The Trainer contract (train/base.py), the same for every trainer: parameters declared once in the constructor
(get_params / set_params / clone from the signature), check_params() returning nothing and raising InputError,
fit(data) -> self, and results as .wv / .to_encoder() / .save(folder) that load back."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone

from embedlab import load_vectors
from embedlab._params import Params
from embedlab.encoders import Encoder
from embedlab.errors import InputError
from embedlab.train import (
    BPETokenizer,
    CLIPTrainer,
    DistillationTrainer,
    EntityEmbedding,
    FastText,
    FineTuner,
    GloVe,
    ImplicitALS,
    MaskedLMTrainer,
    TextbookWord2Vec,
    Trainer,
    Word2Vec,
)
from embedlab.vectors import Vectors

TRAINERS = [Word2Vec, FastText, GloVe, TextbookWord2Vec, BPETokenizer, EntityEmbedding, ImplicitALS,
            MaskedLMTrainer, CLIPTrainer, FineTuner, DistillationTrainer]
SENTENCES = [["the", "king", "rules", "the", "land"], ["the", "queen", "rules", "the", "land"],
             ["a", "cat", "sat", "on", "the", "mat"], ["a", "dog", "sat", "on", "the", "rug"]] * 15


def _defaults(cls: type) -> dict:
    sig = inspect.signature(cls.__init__)
    return {n: p.default for n, p in sig.parameters.items() if n != "self"}


@pytest.mark.parametrize("cls", TRAINERS, ids=lambda c: c.__name__)
def test_parameters_are_declared_once_in_the_signature(cls):
    assert issubclass(cls, Trainer) and issubclass(cls, Params)
    est = cls()
    assert est.get_params() == _defaults(cls)  # every constructor argument, nothing else
    again = clone(est)  # scikit-learn's clone rebuilds it from get_params
    assert type(again) is cls and again.get_params() == est.get_params() and again is not est
    name = next(iter(est.get_params()))
    assert est.set_params(**{name: est.get_params()[name]}) is est
    with pytest.raises(InputError, match=rf"{cls.__name__} has no parameter 'colour'; its parameters are "):
        est.set_params(colour="red")
    assert est.check_params() is None  # nothing returned: it raises or it passes
    assert not est.is_fitted
    with pytest.raises(InputError, match="not trained yet"):
        est.require_fitted("save")


@pytest.mark.parametrize("cls, bad, message", [
    (Word2Vec, {"dim": 0}, "dim must be a positive integer, got 0"),
    (FastText, {"epochs": -1}, "epochs must be a positive integer, got -1"),
    (GloVe, {"x_max": 0}, "x_max must be a positive number"),
    (TextbookWord2Vec, {"arch": "glove"}, "unknown arch 'glove'"),
    (BPETokenizer, {"vocab_size": 3}, "vocab_size must be an integer >= 8, got 3"),
    (EntityEmbedding, {"kind": "matrix"}, "unknown kind 'matrix'"),
    (ImplicitALS, {"factors": 2.0}, r"factors must be a positive integer, got 2.0 \(float\)"),
    (MaskedLMTrainer, {"hidden": 100, "heads": 3}, "hidden=100 must be a multiple of heads=3"),
    (CLIPTrainer, {"holdout": 1.0}, r"holdout must be a number in \[0, 1\), got 1.0"),
    (FineTuner, {"method": "lora"}, "method must be 'adapter' or 'full', got 'lora'"),
    (FineTuner, {"reg": -0.5}, r"reg must be a non-negative number, got -0.5"),
    (FineTuner, {"reg": []}, "reg must be a number >= 0 or a non-empty list of them"),
    (DistillationTrainer, {"dim": 0}, "dim must be a positive integer, got 0"),
])
def test_check_params_names_the_bad_parameter(cls, bad, message):
    with pytest.raises(InputError, match=message):
        cls(**bad).check_params()


def _fit_small(cls):
    if cls is Word2Vec:
        return Word2Vec(dim=8, min_count=1, sample=0.0, epochs=2, workers=1, progress=False).fit(SENTENCES)
    if cls is FastText:
        return FastText(dim=8, min_count=1, buckets=1000, epochs=2, workers=1, progress=False).fit(SENTENCES)
    if cls is GloVe:
        return GloVe(dim=8, min_count=1, epochs=3, workers=1, progress=False).fit(SENTENCES)
    if cls is TextbookWord2Vec:
        return TextbookWord2Vec(dim=6, epochs=3).fit(SENTENCES)
    if cls is EntityEmbedding:
        return EntityEmbedding(dim=3).fit([s[1:4] for s in SENTENCES])
    return ImplicitALS(factors=4, iterations=2).fit(sparse.random(30, 12, density=0.3, random_state=0, format="csr"))


@pytest.mark.parametrize("cls", [Word2Vec, FastText, GloVe, TextbookWord2Vec, EntityEmbedding, ImplicitALS],
                         ids=lambda c: c.__name__)
def test_fit_returns_self_and_the_results_agree(cls, tmp_path):
    est = _fit_small(cls)
    assert isinstance(est, cls) and est.is_fitted
    wv = est.wv
    assert isinstance(wv, Vectors) and wv.matrix.dtype == np.float32 and len(wv) > 0
    enc = est.to_encoder()
    assert isinstance(enc, Encoder) and enc.dim == wv.dim
    first = wv.keys[0]
    row = enc.encode([first])
    assert row.shape == (1, wv.dim) and row.dtype == np.float32
    expected = wv.matrix[0] / np.linalg.norm(wv.matrix[0])  # one word (or key): its own unit vector
    np.testing.assert_allclose(row[0], expected, rtol=1e-5, atol=1e-6)
    folder = est.save(tmp_path / "out")
    back = load_vectors(folder)
    assert back.keys == wv.keys
    np.testing.assert_allclose(back.matrix, wv.matrix, rtol=1e-6, atol=1e-7)


def test_a_tokenizer_has_no_vectors_and_says_so(tmp_path):
    tok = BPETokenizer(vocab_size=60, byte_fallback=False, character_coverage=1.0, seed=0, threads=1).fit([" ".join(s) for s in SENTENCES])
    assert tok.is_fitted and tok("the king")
    with pytest.raises(InputError, match="learns no keyed vectors"):
        _ = tok.wv
    with pytest.raises(InputError, match="learns pieces, not vectors"):
        tok.to_encoder()
    assert BPETokenizer.load(tok.save(tmp_path / "bpe")).vocab == tok.vocab


def test_the_masked_language_model_gives_token_vectors_an_encoder_and_a_copy(tmp_path):
    pytest.importorskip("torch")
    from embedlab.encoders.mlm import MLMEncoder

    lines = ["one two three four five six seven eight nine ten"] * 60
    trainer = MaskedLMTrainer(vocab_size=95, layers=1, hidden=16, heads=2, max_length=16, batch_size=8, max_steps=3,
                              min_frequency=1, holdout_every=0, checkpoint_every=100, seed=0, threads=1,
                              progress=False)
    assert trainer.fit(lines, tmp_path / "mlm") is trainer and trainer.summary_["steps"] == 3
    wv = trainer.wv
    assert wv.matrix.shape == (trainer.summary_["vocab_size"], 16) and "[MASK]" in wv.keys and "seven" in wv.keys
    assert trainer.to_encoder().encode(["one two three"]).shape == (1, 16)
    copy = trainer.save(tmp_path / "copy")
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in (tmp_path / "mlm").iterdir())
    np.testing.assert_array_equal(MLMEncoder(copy).encode(["one two"]), trainer.to_encoder().encode(["one two"]))


def test_the_masked_language_model_fits_on_data_alone(tmp_path):
    pytest.importorskip("torch")
    from embedlab import config

    lines = ["one two three four five six seven eight nine ten"] * 60
    params = dict(vocab_size=95, layers=1, hidden=16, heads=2, max_length=16, batch_size=8, max_steps=2,
                  min_frequency=1, holdout_every=0, checkpoint_every=100, seed=0, threads=1, progress=False)
    trainer = MaskedLMTrainer(**params).fit(lines)  # the Trainer contract: fit(data); the output goes to the home
    assert trainer.output_.parent == config.home() / "mlm" and (trainer.output_ / "mlm.json").is_file()
    with pytest.raises(InputError, match="resume=True needs out"):
        MaskedLMTrainer(**params).fit(lines, resume=True)


def test_results_before_fit_are_input_errors_not_attribute_errors():
    with pytest.raises(InputError, match="not trained yet"):
        ImplicitALS().vectors(["u"], ["i"])
    tb = TextbookWord2Vec()
    with pytest.raises(InputError, match="no vocabulary yet"):
        tb.examples([["a", "b"]])
    with pytest.raises(InputError, match="no weights yet"):
        tb.forward([0, 1])


@pytest.mark.parametrize("cls", [Word2Vec, FastText, GloVe, TextbookWord2Vec, EntityEmbedding, ImplicitALS],
                         ids=lambda c: c.__name__)
def test_save_replaces_its_own_output_but_never_the_users_files(cls, tmp_path):
    est = _fit_small(cls)
    out = est.save(tmp_path / "out")
    est.save(out)  # an earlier output is replaced whole
    assert load_vectors(out).keys == est.wv.keys
    mine = tmp_path / "mine"  # e.g. the corpus folder itself: model.save("data") must not delete data/
    mine.mkdir()
    (mine / "corpus.txt").write_text("the king rules\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{mine} holds files that no embedlab command wrote \(it has no embedlab "
                                         r"manifest\), so it is not replaced; pick a new or empty folder$"):
        est.save(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["corpus.txt"]
    assert (mine / "corpus.txt").read_text(encoding="utf-8") == "the king rules\n"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{a_file} is a file; the output must be a folder$"):
        est.save(a_file)
    assert a_file.read_text(encoding="utf-8") == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_vectors(est.save(empty)).keys == est.wv.keys


def test_a_tokenizer_save_never_replaces_the_users_files(tmp_path):
    tok = BPETokenizer(vocab_size=60, byte_fallback=False, character_coverage=1.0, seed=0, threads=1).fit(
        [" ".join(s) for s in SENTENCES])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="holds files that no embedlab command wrote"):
        tok.save(mine)
    assert [p.name for p in mine.iterdir()] == ["a.txt"]
    assert BPETokenizer.load(tok.save(tok.save(tmp_path / "bpe"))).vocab == tok.vocab


def _unit(v):
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.mark.parametrize("cls", [Word2Vec, FastText, GloVe], ids=lambda c: c.__name__)
def test_to_encoder_finds_the_capitalised_words_of_a_cased_vocabulary(cls):
    cased = [["Paris", "is", "big"], ["Rome", "is", "old"], ["the", "City", "is", "big"]] * 15
    est = _fit_small(cls).set_params(min_count=1).fit(cased)
    wv, enc = est.wv, est.to_encoder()
    np.testing.assert_allclose(enc.encode(["Rome"])[0], _unit(wv["Rome"]), rtol=1e-5, atol=1e-6)
    mean = (wv["Paris"] + wv["is"] + wv["big"]) / 3
    np.testing.assert_allclose(enc.encode(["Paris is big"])[0], _unit(mean), rtol=1e-5, atol=1e-6)
    lower = _fit_small(cls)  # a lower-case vocabulary: texts are lower-cased before the look-up
    np.testing.assert_allclose(lower.to_encoder().encode(["The KING"])[0],
                               _unit((lower.wv["the"] + lower.wv["king"]) / 2), rtol=1e-5, atol=1e-6)


def test_the_fasttext_encoder_builds_unknown_words_from_their_ngrams():
    ft = _fit_small(FastText)
    enc = ft.to_encoder()
    assert "kingz" not in ft.wv and np.any(ft.vector("kingz"))
    np.testing.assert_allclose(enc.encode(["kingz"])[0], _unit(ft.vector("kingz")), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(enc.encode(["the kingz"])[0], _unit((ft.wv["the"] + ft.vector("kingz")) / 2),
                               rtol=1e-5, atol=1e-6)
    assert enc.unknown_tokens(["the kingz qqqq"]) == int(not np.any(ft.vector("qqqq")))


def test_a_word_average_encoder_refuses_an_oov_that_is_no_function():
    from embedlab.encoders.word_average import WordAverageEncoder

    with pytest.raises(InputError, match="^oov must be a function token -> vector or None, got str$"):
        WordAverageEncoder(Vectors(["a"], np.ones((1, 2), np.float32)), oov="ngrams")


@pytest.mark.parametrize("cls", [Word2Vec, FastText, GloVe], ids=lambda c: c.__name__)
def test_one_worker_and_one_seed_give_the_same_vectors_twice(cls):
    first, again = _fit_small(cls), _fit_small(cls)  # each with workers=1 and its default seed
    np.testing.assert_array_equal(first.wv.matrix, again.wv.matrix)
    assert first.wv.keys == again.wv.keys
    other = _fit_small(cls).set_params(seed=7).fit(SENTENCES)
    assert not np.array_equal(other.wv.matrix, first.wv.matrix)


def test_a_glove_that_diverges_says_so_and_what_to_lower():
    est = GloVe(dim=8, min_count=1, epochs=3, workers=1, lr=1e6, progress=False)
    with pytest.raises(InputError, match=r"^GloVe training diverged in epoch 1: the loss became nan, so the vectors "
                                         r"are no numbers; lower lr \(1e\+06\) and train again$") as exc:
        est.fit(SENTENCES)
    assert exc.value.cli_message() == ("GloVe training diverged in epoch 1: the loss became nan, so the vectors are no "
                                       "numbers; lower --lr (1e+06) and train again")
    assert not est.is_fitted  # no NaN vectors are left to use


def test_check_loss_passes_a_finite_loss_and_refuses_infinity():
    from embedlab.train.base import check_loss

    assert check_loss(0.25, 3, "word2vec", "alpha", 0.025, "--alpha") == 0.25
    with pytest.raises(InputError, match=r"^word2vec training diverged in epoch 2: the loss became inf, so the "
                                         r"vectors are no numbers; lower alpha \(100\) and train again$"):
        check_loss(float("inf"), 2, "word2vec", "alpha", 100.0, "--alpha")


def test_save_replaces_its_own_output_whatever_the_size_of_its_key_list(tmp_path):
    """A vectors.npy folder of 200,000 keys has a key sidecar over 1 MB: still recognised as embedlab's own output."""
    from embedlab.persist import holds_embedlab_output
    from embedlab.train.base import save_folder

    big = Vectors([f"w{i:07d}" for i in range(200_000)], np.zeros((200_000, 2), np.float32))
    out = tmp_path / "big"
    out.mkdir()
    big.save(out / "vectors.npy")  # what Trainer.save writes
    assert (out / "vectors.npy.json").stat().st_size > 1 << 20 and holds_embedlab_output(out)
    with save_folder(out) as tmp:
        (tmp / "x.txt").write_text("new", encoding="utf-8")
    assert [p.name for p in out.iterdir()] == ["x.txt"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "big.json").write_text('{"keys": [' + ", ".join(['"k"'] * 400_000) + '], "format": "x"}')
    assert not holds_embedlab_output(tmp_path / "other")  # a large JSON of someone else's
