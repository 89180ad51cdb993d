"""int8 for any BERT model folder (``int8:PATH``, ``embedlab int8``): exported and cached beside the folder, checked
against the float model, refused with the figure when it drifts, a clear error when it cannot be exported; and the
same tiny folder distilled from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import embedlab
from embedlab.cli import main
from embedlab.encoders.onnx_int8 import Int8DriftError, OnnxInt8Encoder, export_int8
from embedlab.errors import InputError, ModelNotFoundError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

WORDS = ["the", "a", "train", "car", "fast", "slow", "crosses", "country", "in", "hours", "has", "four", "wheels",
         "how", "do", "i", "reset", "my", "password", "meeting", "moved", "to", "thursday", "dogs", "are", "loyal"]


def make_bert_folder(folder, seed=0, model_type="bert"):
    """A tiny sentence-transformers BERT folder (random weights): config, safetensors, tokenizer, mean pooling."""
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *(f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz.?,")]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", "utf-8")
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).eval().save_pretrained(folder)
    wordpiece = BertWordPieceTokenizer({t: i for i, t in enumerate(vocab)}, lowercase=True)
    PreTrainedTokenizerFast(tokenizer_object=wordpiece._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                            model_max_length=64).save_pretrained(folder)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64, "do_lower_case": False}))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32,
                                                                  "pooling_mode_mean_tokens": True}))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    if model_type != "bert":
        doc = json.loads((folder / "config.json").read_text())
        doc["model_type"] = model_type
        (folder / "config.json").write_text(json.dumps(doc))
    return folder


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    return make_bert_folder(tmp_path_factory.mktemp("tiny") / "bert")


def test_any_bert_folder_exports_to_int8_cached_beside_it_and_checked(bert_folder):
    record = export_int8(bert_folder)
    assert record["passed"] and record["probes"] == 24 and record["cosine_min"] >= 0.98
    assert (bert_folder / "onnx" / "model-int8.onnx").is_file() and (bert_folder / "onnx" / "int8.json").is_file()
    assert export_int8(bert_folder)["seconds"] == record["seconds"]  # cached: not exported again
    enc = embedlab.encoder(f"int8:{bert_folder}")
    assert isinstance(enc, OnnxInt8Encoder) and enc.name == f"int8:{bert_folder.resolve()}" and enc.dim == 32
    assert enc.info()["int8_check"]["cosine_min"] == record["cosine_min"]
    flt = embedlab.encoder(str(bert_folder))  # the float model: sentence-transformers on the same folder
    texts = ["the fast train crosses the country", "how do i reset my password", "dogs are loyal"]
    cos = np.sum(enc.encode(texts) * flt.encode(texts), axis=1)
    assert cos.min() >= 0.98, cos


def test_a_folder_that_cannot_be_written_gets_its_export_under_the_home(tmp_path):
    folder = make_bert_folder(tmp_path / "ro", seed=1)
    (folder / "onnx").write_text("a file where the cache folder would go")
    record = export_int8(folder)
    assert str(embedlab.config.home()) in record["int8_path"] and record["passed"]


def test_an_export_that_drifts_is_refused_with_the_figure(tmp_path, monkeypatch):
    """The quantiser is swapped for one that quantises another model's graph (what a broken quantiser or a model
    whose activations do not survive int8 would give): the check against the float model catches it."""
    from embedlab.encoders import _onnx_export

    folder = make_bert_folder(tmp_path / "drift", seed=2)
    other = make_bert_folder(tmp_path / "other", seed=9)
    real_quantize = _onnx_export._quantize
    export_int8(other)

    def wrong_model(float_path, target):
        real_quantize(other / "onnx" / "model-float32.onnx", target)

    monkeypatch.setattr(_onnx_export, "_quantize", wrong_model)
    with pytest.raises(Int8DriftError, match=r"drifts from the float model: lowest cosine -?0\.\d{4} on 24 probe "
                                             r"sentences \(mean -?0\.\d{4}\), below 0\.98"):
        export_int8(folder)
    assert json.loads((folder / "onnx" / "int8.json").read_text())["passed"] is False
    with pytest.raises(Int8DriftError):
        embedlab.encoder(f"int8:{folder}")
    monkeypatch.setattr(_onnx_export, "_quantize", real_quantize)
    assert export_int8(folder)["passed"]  # a refused export is not reused: the next call exports again


def test_an_export_that_fails_says_why(tmp_path):
    folder = make_bert_folder(tmp_path / "roberta", seed=3, model_type="roberta")
    with pytest.raises(ModelNotFoundError, match="supports BERT models .* model_type='roberta'"):
        export_int8(folder)
    with pytest.raises(InputError, match="is not a model folder"):
        embedlab.encoder(f"int8:{tmp_path / 'nowhere'}")


def test_the_cli_exports_and_distils_a_folder(bert_folder, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["int8", str(bert_folder), "--json"])
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    out = tmp_path / "static"
    with pytest.raises(SystemExit) as done:
        main(["distill", "--teacher", str(bert_folder), "-o", str(out), "--dim", "8", "--json"])
    assert done.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dim"] == 8 and summary["out"] == str(out.resolve()) and summary["summary"]["tokens_embedded"] == 55
    enc = embedlab.encoder(str(out))
    assert enc.encode(["the fast train"]).shape == (1, 8)
    assert enc.tokenize("The trains") == ["the", "train", "##s"]
    with pytest.raises(SystemExit) as done:  # the folder exists now: refused in one line, exit 2
        main(["distill", "--teacher", str(bert_folder), "-o", str(out)])
    assert done.value.code == 2 and f"{out.resolve()} is not empty; pick a new or empty folder, or pass --overwrite" \
        in capsys.readouterr().err


def test_int8_takes_the_packaged_minilm_by_name_and_fused_names_bind_int8_to_one_member(capsys, tmp_path):
    from embedlab.encoders.onnx_int8 import int8_target
    from embedlab.encoders.registry import spec

    assert [int8_target(n) for n in ("minilm", "sbert", "minilm-onnx", " minilm ")] == [None] * 4
    with pytest.raises(InputError, match=r"^'nosuch' is not a model folder; int8 takes the path of a BERT model "
                                         r"folder \(config.json, model.safetensors, tokenizer.json\) or one of "
                                         r"minilm, sbert, minilm-onnx$"):
        int8_target("nosuch")
    # `embedlab int8 minilm` reaches the export of the packaged model (refused here by its own option check)
    with pytest.raises(SystemExit) as done:
        main(["int8", "minilm", "--min-cosine", "2"])
    assert done.value.code == 2 and "min_cosine must be in (0, 1], got 2.0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["int8", "nosuch"])
    assert done.value.code == 2 and "'nosuch' is not a model folder" in capsys.readouterr().err
    # int8: binds to one member of a fused name: int8:a+b is int8:a fused with b
    fused = spec("int8:minilm+use-multilingual").name
    assert fused.startswith("int8:") and fused.endswith("+use-multilingual") and fused.count("+") == 1
    with pytest.raises(InputError, match=r"unknown member 'int8:a' of the fused encoder 'int8:a\+b'"):
        spec("int8:a+b")
