"""Masked-language-model pretraining (train/mlm.py), its encoder folder (encoders/mlm.py) and CLI: the known
initial loss, learning beyond the unigram baseline, seeded and resumable training, contextual vectors, fill-mask,
and the bad inputs of issue 12."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from safetensors.torch import load_file  # noqa: E402

from embedlab.encoders.mlm import MLMEncoder, folder_spec, load_encoder_folder, recognises  # noqa: E402
from embedlab.errors import InputError, ModelNotFoundError  # noqa: E402
from embedlab.train.mlm import MaskedLMTrainer, read_manifest  # noqa: E402

NUMBERS = "one two three four five six seven eight nine ten"
VOCAB = 95  # every piece the numbers corpus yields: whole words included


def _tiny(**kw) -> MaskedLMTrainer:
    base = dict(vocab_size=VOCAB, layers=1, hidden=64, heads=2, max_length=16, batch_size=16, lr=2e-3, warmup=0.1,
                epochs=1000, max_steps=120, min_frequency=1, holdout_every=10, seed=0, threads=1, progress=False)
    return MaskedLMTrainer(**(base | kw))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("mlm") / "numbers.txt"
    path.write_text("\n".join([NUMBERS] * 60) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("mlm-model") / "model"
    summary = _tiny().fit(corpus, out).summary_
    return out, summary


def test_initial_loss_is_that_of_a_uniform_guess(trained):
    _, summary = trained
    assert summary["vocab_size"] == VOCAB
    # BERT's initialisation (std 0.02) gives near-zero logits: cross-entropy log(V) at the first step
    assert summary["loss_history"][0] == pytest.approx(math.log(VOCAB), abs=0.15)


def test_training_learns_more_than_word_frequencies(trained):
    out, summary = trained
    h = summary["heldout"]
    assert summary["heldout_lines"] == 6 and h["masked_tokens"] > 5
    # ten words, 54 times each in training: add-one smoothed p = 55 / (540 + V) for every one of them
    assert h["unigram_perplexity"] == pytest.approx((540 + VOCAB) / 55)
    assert h["perplexity"] < 0.8 * h["unigram_perplexity"]
    assert summary["loss_last"] < math.log(10) < summary["loss_first"]
    assert read_manifest(out)["steps"] == 120
    counts = np.load(out / "token_counts.npy", allow_pickle=False)
    assert counts.dtype == np.int64 and counts.sum() == summary["training_tokens"] == 54 * 10


def test_folder_is_a_contextual_token_encoder(trained):
    out, _ = trained
    assert recognises(out) and not recognises(out.parent)
    enc = load_encoder_folder(out)
    assert isinstance(enc, MLMEncoder) and enc.dim == 64 and enc.max_length == 16
    assert enc.name == str(out.resolve()) and enc.info()["kind"] == "mlm"
    spec = folder_spec(out)  # what the registry's --encoder PATH hook uses
    assert spec.name == enc.name and spec.dim == 64 and spec.modalities == ("text",)
    assert isinstance(spec.factory(), MLMEncoder) and folder_spec(out.parent) is None
    import embedlab

    assert embedlab.encoder(str(out)).name == enc.name  # --encoder PATH
    a = enc.word_vector("one two three", "two")
    b = enc.word_vector("eight nine ten two", "two")
    assert a.shape == (64,) and a.dtype == np.float32
    cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert cos < 0.999  # the same word in two contexts gets two vectors
    np.testing.assert_array_equal(a, enc.word_vector("one two three", "two"))
    v = enc.encode(["one two", "five six seven"])
    assert v.shape == (2, 64) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


def test_fill_mask(trained):
    out, _ = trained
    enc = MLMEncoder(out)
    (row,) = enc.fill_mask("one two three [MASK] five six", top_k=3)
    assert len(row) == 3 and all(isinstance(t, str) for t, _ in row)
    probs = [p for _, p in row]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert len(enc.fill_mask("[MASK] two [MASK]", top_k=2)) == 2
    with pytest.raises(InputError, match="has no \\[MASK\\]"):
        enc.fill_mask("one two three")
    with pytest.raises(InputError, match="top_k must be a positive integer"):
        enc.fill_mask("one [MASK]", top_k=0)


def _weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_interrupted_run_resumes_to_the_same_result(corpus, tmp_path):
    kw = dict(max_steps=12, checkpoint_every=4, holdout_every=0)
    whole = _tiny(**kw).fit(corpus, tmp_path / "whole").summary_

    def stop_at_6(step, loss):
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _tiny(**kw, on_step=stop_at_6).fit(corpus, tmp_path / "cut")
    state = json.loads((tmp_path / "cut" / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 6 and len(state["losses"]) == 6
    with pytest.raises(InputError, match="checkpoint of an interrupted run"):
        _tiny(**kw).fit(corpus, tmp_path / "cut")
    with pytest.raises(InputError, match=r"other parameters \(lr\)"):
        _tiny(**kw, lr=1e-3).fit(corpus, tmp_path / "cut", resume=True)
    resumed = _tiny(**kw).fit(corpus, tmp_path / "cut", resume=True).summary_
    assert not (tmp_path / "cut" / "checkpoint").exists()
    assert resumed["loss_history"] == whole["loss_history"]
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # another seed is another model
    other = _tiny(**(kw | {"seed": 1, "max_steps": 2})).fit(corpus, tmp_path / "seed1").summary_
    assert other["loss_history"][0] != whole["loss_history"][0]


def test_bad_corpora(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="no text to learn a vocabulary"):
        _tiny(vocab_size=16).fit(empty, tmp_path / "a")
    assert not (tmp_path / "a").exists()  # a failed start leaves nothing behind
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("one two one two\n" * 3, encoding="utf-8")
    with pytest.raises(InputError, match=r"too small: \d+ tokens, less than one training sequence of max_length=64"):
        _tiny(vocab_size=16, max_length=64).fit(tiny, tmp_path / "b")
    with pytest.raises(InputError, match=r"smaller than the vocabulary: it yields only \d+ WordPiece pieces, fewer "
                                         r"than vocab_size=5000"):
        _tiny(vocab_size=5000).fit([NUMBERS] * 20, tmp_path / "c")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        _tiny().fit([NUMBERS] * 20, busy)
    assert (busy / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("kw, message", [
    (dict(hidden=64, heads=3), "hidden=64 must be a multiple of heads=3"),
    (dict(vocab_size=8), "vocab_size must be an integer >= 16"),
    (dict(mask_prob=1.0), r"mask_prob must be a number in \(0, 1\)"),
    (dict(holdout_every=1), "holdout_every=1 would hold out every line"),
    (dict(max_steps=0), "max_steps must be a positive integer, got 0"),
    (dict(max_length=4), r"max_length must be an integer in \[8, 512\]"),
])
def test_bad_parameters_fail_before_reading(kw, message, tmp_path):
    with pytest.raises(InputError, match=message):
        _tiny(**kw).fit(tmp_path / "does-not-exist.txt", tmp_path / "x")


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not a finished `embedlab train mlm` folder"):
        MLMEncoder(tmp_path)


def test_cli_train_and_fill_mask(corpus, tmp_path, capsys):
    from embedlab.cli import main

    out = tmp_path / "cli-model"
    args = ["train", "mlm", str(corpus), "-o", str(out), "--vocab-size", str(VOCAB), "--layers", "1", "--hidden",
            "32", "--max-length", "16", "--batch-size", "8", "--max-steps", "6", "--threads", "1", "--json"]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 6 and summary["format"] == "embedlab.mlm" and "loss_history" not in summary
    with pytest.raises(SystemExit) as e:
        main(["fill-mask", str(out), "one two [MASK]", "-k", "4", "--json"])
    assert e.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["masks"]) == 1 and len(doc["masks"][0]) == 4 and {"token", "p"} <= set(doc["masks"][0][0])
    with pytest.raises(SystemExit) as e:
        main(args)  # OUT exists: refused
    assert e.value.code == 2
    assert "not empty" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["fill-mask", str(tmp_path / "nowhere"), "a [MASK]"])
    assert e.value.code == 2


def test_masked_only_loss_equals_the_full_head(trained):
    """The training loss runs the prediction head at masked positions only; it equals BertForMaskedLM's own."""
    from transformers import BertForMaskedLM

    from embedlab.train.mlm import masked_loss

    out, _ = trained
    model = BertForMaskedLM.from_pretrained(str(out)).eval()
    ids = torch.tensor([[2, 10, 11, 12, 13, 3], [2, 14, 15, 16, 17, 3]])
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 1], labels[1, 4] = 11, 14, 17
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    with torch.no_grad():
        assert float(masked_loss(model, batch)) == pytest.approx(float(model(**batch).loss), rel=1e-5)


# ---------------------------------------------------------------------- resume, interrupt and output-folder checks
def _interrupt_at(step_no):
    def on_step(step, loss):
        if step == step_no:
            raise KeyboardInterrupt
    return on_step


def test_resume_on_another_corpus_is_refused(corpus, tmp_path):
    kw = dict(max_steps=12, checkpoint_every=4, holdout_every=0)
    with pytest.raises(KeyboardInterrupt):
        _tiny(**kw, on_step=_interrupt_at(5)).fit(corpus, tmp_path / "cut")
    state = json.loads((tmp_path / "cut" / "checkpoint" / "trainer_state.json").read_text())
    assert state["corpus"]["bytes"] == corpus.stat().st_size and len(state["corpus"]["sha256"]) == 64
    other = tmp_path / "corpus2.txt"
    other.write_text("\n".join([NUMBERS.replace("ten", "nine")] * 60) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"made on another corpus: {re.escape(str(corpus))} \(.* bytes, sha256 "
                                         rf"\w+\), not {re.escape(str(other))} \("):
        _tiny(**kw).fit(other, tmp_path / "cut", resume=True)
    with pytest.raises(InputError, match=r"another corpus: .*, not a list of 60 lines \(sha256 \w+\)"):
        _tiny(**kw).fit([NUMBERS] * 60, tmp_path / "cut", resume=True)
    # the same text under another name is the same corpus; the refused attempts left the checkpoint as it was
    copy = tmp_path / "copy.txt"
    copy.write_bytes(corpus.read_bytes())
    summary = _tiny(**kw).fit(copy, tmp_path / "cut", resume=True).summary_
    assert summary["steps"] == 12 and summary["corpus"]["sha256"] == state["corpus"]["sha256"]
    # a list of lines is fingerprinted too (it is read once, so a generator works)
    lines = [f"{NUMBERS} {i % 3}" for i in range(60)]
    with pytest.raises(KeyboardInterrupt):
        _tiny(**kw, on_step=_interrupt_at(5)).fit(iter(lines), tmp_path / "gen")
    with pytest.raises(InputError, match=r"another corpus: a list of 60 lines \(sha256 \w+\), not a list of 59"):
        _tiny(**kw).fit(lines[:-1], tmp_path / "gen", resume=True)
    assert _tiny(**kw).fit(lines, tmp_path / "gen", resume=True).summary_["steps"] == 12


def test_resume_needs_a_checkpoint(corpus, trained, tmp_path):
    with pytest.raises(InputError, match=r"nothing to resume in .*nowhere: the folder does not exist; run without "
                                         r"--resume"):
        _tiny().fit(corpus, tmp_path / "nowhere", resume=True)
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"nothing to resume in .*empty: it holds no checkpoint"):
        _tiny().fit(corpus, tmp_path / "empty", resume=True)
    out, _ = trained  # a finished run: the message says how to replace it
    with pytest.raises(InputError, match=r"nothing to resume in .*model: its training finished; choose another "
                                         r"output folder, or replace it with --overwrite"):
        _tiny().fit(corpus, out, resume=True)
    with pytest.raises(InputError, match=r"model is not empty: it holds a finished model; choose another output "
                                         r"folder, or replace it with --overwrite"):
        _tiny().fit(corpus, out)
    assert read_manifest(out)["steps"] == 120


def test_output_folder_is_checked_before_training(corpus, tmp_path, monkeypatch):
    def no_training(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(MaskedLMTrainer, "_fit", no_training)
    a_file = tmp_path / "some_file.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot create the output folder .*sub: .*some_file.txt is not a folder"):
        _tiny().fit(corpus, a_file / "sub")
    with pytest.raises(InputError, match=r"cannot create the output folder .*some_file.txt is not a folder"):
        _tiny().fit(corpus, a_file / "sub" / "deeper")
    with pytest.raises(InputError, match=r"some_file.txt is a file; the output must name a folder"):
        _tiny().fit(corpus, a_file)
    if Path("/proc/self").is_dir():  # Linux: /proc takes no new folders, even for root
        with pytest.raises(InputError, match=r"output folder /proc/nope"):
            _tiny().fit(corpus, "/proc/nope")


def test_max_steps_beyond_the_epochs_is_reported(corpus, tmp_path):
    kw = dict(epochs=1, max_steps=60, holdout_every=0)
    with pytest.warns(UserWarning, match=r"training stops after 3 steps \(1 epoch of 3 steps\), before "
                                         r"max_steps=60; raise --epochs"):
        summary = _tiny(**kw).fit(corpus, tmp_path / "a").summary_
    assert summary["steps"] == 3 and summary["note"].startswith("training stops after 3 steps")
    summary = _tiny(max_steps=2, holdout_every=0).fit(corpus, tmp_path / "b").summary_  # max_steps reached: no note
    assert summary["steps"] == 2 and summary["note"] is None


def _cli(args, capsys):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(args)
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_cli_interrupt_resume_and_output_messages(corpus, tmp_path, capsys, monkeypatch):
    out = tmp_path / "cli"
    args = ["train", "mlm", str(corpus), "-o", str(out), "--vocab-size", str(VOCAB), "--layers", "1", "--hidden",
            "32", "--max-length", "16", "--batch-size", "8", "--max-steps", "6", "--checkpoint-every", "2",
            "--threads", "1", "--holdout-every", "0", "--json"]
    # Ctrl-C before the first checkpoint: nothing is claimed, nothing is left
    with monkeypatch.context() as m:
        def ctrl_c(*a, **k):
            raise KeyboardInterrupt

        m.setattr(MaskedLMTrainer, "_train_tokenizer", ctrl_c)
        code, _, err = _cli(args, capsys)
    assert code == 130 and "interrupted before the first checkpoint; nothing was saved" in err
    assert "saved in" not in err and not out.exists()
    # --resume with nothing to resume
    code, _, err = _cli([*args, "--resume"], capsys)
    assert code == 2 and "nothing to resume in" in err and "does not exist" in err and not out.exists()
    # Ctrl-C at step 3 (a checkpoint was written at step 2, and one at the interrupt)
    with monkeypatch.context() as m:
        init = MaskedLMTrainer.__init__

        def with_interrupt(self, *a, **k):
            init(self, *a, **k)
            self.on_step = _interrupt_at(3)

        m.setattr(MaskedLMTrainer, "__init__", with_interrupt)
        code, _, err = _cli(args, capsys)
    assert code == 130 and f"the checkpoint in {out / 'checkpoint'} holds step 3; continue with the same command " \
                           "and --resume" in " ".join(err.split())
    other = tmp_path / "corpus2.txt"
    other.write_text(corpus.read_text(encoding="utf-8") + "one more line\n", encoding="utf-8")
    code, _, err = _cli([*args[:2], str(other), *args[3:], "--resume"], capsys)
    assert code == 2 and "made on another corpus" in err and str(corpus) in err and str(other) in err
    code, stdout, _ = _cli([*args, "--resume"], capsys)
    assert code == 0 and json.loads(stdout)["steps"] == 6
    code, _, err = _cli([*args, "--resume"], capsys)
    assert code == 2 and "nothing to resume" in err and "--overwrite" in err
    # bad output folders: one line, no traceback
    a_file = tmp_path / "some_file.txt"
    a_file.write_text("x", encoding="utf-8")
    for bad in ([str(a_file / "sub")], ["/proc/nope"] if Path("/proc/self").is_dir() else []):
        for o in bad:
            code, _, err = _cli([*args[:3], "-o", o, *args[5:]], capsys)
            assert code == 2 and err.startswith("error: ") and "Traceback" not in err and "output folder" in err
    # --max-steps beyond one epoch: one line says so
    with pytest.warns(UserWarning, match=r"^training stops after 6 steps \(1 epoch of 6 steps\), before "
                                         r"max_steps=200; raise --epochs to train up to 200 steps$"):
        code, stdout, err = _cli([*args, "--max-steps", "200", "-o", str(tmp_path / "long")], capsys)
    assert code == 0  # the CLI prints the warning as one `warning: ...` line (test_cli_words)
    assert json.loads(stdout)["note"].startswith("training stops after 6 steps")


def test_resume_with_fewer_max_steps(corpus, tmp_path):
    """--resume takes a smaller --max-steps (the learning rate then decays to zero at the new end); a checkpoint
    already at or past it finishes at once, saying so; a larger one is refused."""
    kw = dict(max_steps=12, checkpoint_every=4, holdout_every=0)
    first = {}
    for name in ("a", "b", "c"):
        with pytest.raises(KeyboardInterrupt):
            _tiny(**kw, on_step=_interrupt_at(6)).fit(corpus, tmp_path / name)
        first[name] = json.loads((tmp_path / name / "checkpoint" / "trainer_state.json").read_text())["losses"]
    with pytest.raises(InputError, match=r"made to train up to 12 steps; resume with that many or fewer "
                                         r"\(--max-steps\), start over"):
        _tiny(**(kw | {"max_steps": 20})).fit(corpus, tmp_path / "a", resume=True)
    summary = _tiny(**(kw | {"max_steps": 8})).fit(corpus, tmp_path / "a", resume=True).summary_
    assert summary["steps"] == 8 and len(summary["loss_history"]) == 8
    assert summary["loss_history"][:6] == first["a"] and summary["params"]["max_steps"] == 8
    assert not (tmp_path / "a" / "checkpoint").exists()
    with pytest.warns(UserWarning, match=r"the checkpoint is at step 6, past the last step asked for \(5, "
                                         r"--max-steps\): training stops there without another step"):
        summary = _tiny(**(kw | {"max_steps": 5})).fit(corpus, tmp_path / "b", resume=True).summary_
    assert summary["steps"] == 6 and summary["loss_history"] == first["b"]
    assert "past the last step asked for (5, --max-steps)" in summary["note"]
    with pytest.warns(UserWarning, match=r"the checkpoint is at step 6, at the last step asked for \(6,"):
        assert _tiny(**(kw | {"max_steps": 6})).fit(corpus, tmp_path / "c", resume=True).summary_["steps"] == 6
