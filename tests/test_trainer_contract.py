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
