"""Bias tools on the second vector set the issue names: WEFE's GoogleNews word2vec subset (cased vocabulary)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from embedlab.analysis import bias
from embedlab.cli import main

wefe = pytest.importorskip("wefe", reason="wefe is installed by the test set-up's --no-deps step")


@pytest.fixture(scope="module")
def googlenews():
    from embedlab.io.wefe import load_wefe_googlenews

    return load_wefe_googlenews()


def test_subset_loads_as_vectors(googlenews):
    assert (len(googlenews), googlenews.dim) == (13013, 300)
    assert googlenews.matrix.dtype == np.float32
    assert bias.find_words(googlenews, ["john", "Doctor", "nurse", "zzqx"]) == (["John", "doctor", "nurse"], ["zzqx"])


def test_weat_agrees_with_wefe_on_googlenews(googlenews):
    from gensim.models import KeyedVectors
    from wefe.metrics import WEAT
    from wefe.query import Query
    from wefe.word_embedding_model import WordEmbeddingModel

    kv = KeyedVectors(vector_size=googlenews.dim)
    kv.add_vectors(googlenews.keys, np.asarray(googlenews.matrix))
    model = WordEmbeddingModel(kv, "googlenews-subset")
    # WEFE tries each preprocessor in turn, as find_words does: as given, lower-cased, title-cased
    preprocessors = [{}, {"lowercase": True}, {"titlecase": True}]
    for name, t in bias.load_word_lists()["weat"].items():
        ours = bias.weat(googlenews, t["targets"], t["attributes"], permutations=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = WEAT().run_query(Query(t["targets"], t["attributes"]), model, return_effect_size=True,
                                      preprocessors=preprocessors, strategy="first")
        assert ours.effect_size == pytest.approx(theirs["effect_size"], abs=1e-3), name


def test_cli_bias_on_googlenews(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bias", "--vectors", "wefe-googlenews", "--permutations", "200", "--json"])
    assert e.value.code == 0
    report = json.loads(capsys.readouterr().out)
    before, after = report["before"], report["after"]
    assert report["vectors"] == "wefe-googlenews"
    assert before["projections"]["nurse"] > 0.2 and before["projections"]["engineer"] < -0.05
    assert all(abs(v) < 1e-5 for v in after["projections"].values())
    assert before["weat"]["science_arts"]["effect_size"] > 1.0 > abs(after["weat"]["science_arts"]["effect_size"])
    assert after["analogy_accuracy"] > before["analogy_accuracy"] - 0.02
