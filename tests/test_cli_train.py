"""`embedlab train word2vec` and `embedlab evaluate`: round trip, atomic output, bad input messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.cli import main


def write_corpus(path, n_sent: int = 600, seed: int = 0) -> None:
    """Two topics of real words (so the evaluation finds a few pairs and analogies in vocabulary)."""
    rng = np.random.default_rng(seed)
    topics = [["king", "queen", "man", "woman", "boy", "girl", "father", "mother"],
              ["car", "train", "bus", "road", "plane", "ship", "boat", "street"]]
    with open(path, "w", encoding="utf-8") as f:
        for s in range(n_sent):
            f.write(" ".join(topics[s % 2][j] for j in rng.integers(0, 8, 10)) + "\n")


def run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


ARGS = ["--dim", "16", "--window", "3", "--epochs", "2", "--min-count", "1", "--workers", "1", "--sample", "0"]


def test_train_then_evaluate_roundtrip(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus)
    out = tmp_path / "w2v"
    code, stdout, _ = run(["train", "word2vec", str(corpus), "-o", str(out), "--arch", "cbow", *ARGS, "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["vocab_size"] == 16 and summary["corpus_tokens"] == 6000 and len(summary["loss_history"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["W.npy", "W_out.npy", "model.json", "vectors.txt", "vocab.tsv"]
    assert not list(tmp_path.glob(".w2v*"))  # no temp folder left behind
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(out / "vectors.txt"))
    assert len(kv.index_to_key) == 16 and kv.vector_size == 16

    code, stdout, _ = run(["evaluate", str(out), "--json"], capsys)
    assert code == 0
    report = json.loads(stdout)
    an = report["analogy"]
    assert an["total_questions"] > 19000 and 0 < an["evaluated"] < 100 and 0 < an["coverage"] < 0.01
    assert "family" in an["sections"] and report["analogy_oov_ratio"] == pytest.approx(1 - an["coverage"])
    ws = report["wordsim353"]
    assert ws["evaluated"] >= 1 and 0.9 < ws["oov_ratio"] < 1.0
    assert set(report) >= {"simlex999", "vocab_size", "dim"}

    code, stdout, _ = run(["evaluate", str(out)], capsys)  # table form
    assert code == 0 and "WordSim-353" in stdout and "OOV rates" in stdout


def test_hs_and_overwrite(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus, 200)
    out = tmp_path / "w2v"
    assert run(["train", "word2vec", str(corpus), "-o", str(out), "--hs", *ARGS, "--json"], capsys)[0] == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["params"]["hs"] is True and meta["params"]["negative"] == 0 and meta["files"]["W_out"] is None
    assert meta["params"]["shuffle"] is True
    code, _, err = run(["train", "word2vec", str(corpus), "-o", str(out), *ARGS], capsys)
    assert code == 2 and "already exists" in err and "--overwrite" in err
    code, _, _ = run(["train", "word2vec", str(corpus), "-o", str(out), *ARGS, "--overwrite", "--json", "--binary",
                      "--no-shuffle"], capsys)
    assert code == 0 and (out / "vectors.bin").is_file() and not (out / "W_hs.npy").exists()
    assert json.loads((out / "model.json").read_text())["params"]["shuffle"] is False


@pytest.mark.parametrize("extra,message", [
    (["--dim", "0"], "dim must be a positive integer"),
    (["--window", "-1"], "window must be a positive integer"),
    (["--arch", "glove"], "unknown arch 'glove'"),
    (["--min-count", "1000"], "removes every word"),
    (["--max-memory", "1KB"], "max_memory is"),
    (["--negative", "0"], "nothing to train: give --negative above 0 (negative sampling) and/or --hs (hierarchical "
                          "softmax)"),
])
def test_bad_options_write_nothing(tmp_path, capsys, extra, message):
    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus, 50)
    out = tmp_path / "w2v"
    code, _, err = run(["train", "word2vec", str(corpus), "-o", str(out), *ARGS, *extra], capsys)
    assert code == 2 and message in " ".join(err.split())
    assert not out.exists() and not list(tmp_path.glob(".w2v*"))


@pytest.mark.parametrize("content,message", [
    (b"", "corpus is empty"),
    (b"\x00\x01\x02binary\x00" * 100, "looks like a binary file"),
    (b"only only only\n" * 20, "needs at least 2"),
])
def test_bad_corpora_write_nothing(tmp_path, capsys, content, message):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(content)
    out = tmp_path / "w2v"
    code, _, err = run(["train", "word2vec", str(corpus), "-o", str(out), *ARGS], capsys)
    assert code == 2 and message in " ".join(err.split())
    assert not out.exists() and not list(tmp_path.glob(".w2v*"))


def test_evaluate_bad_path(tmp_path, capsys):
    code, _, err = run(["evaluate", str(tmp_path / "nope")], capsys)
    assert code == 2 and "does not exist" in " ".join(err.split())
    (tmp_path / "empty").mkdir()
    code, _, err = run(["evaluate", str(tmp_path / "empty")], capsys)
    assert code == 2 and "neither model.json" in " ".join(err.split())


def _sigint_default() -> None:
    """In the child before exec: SIGINT raises KeyboardInterrupt, as at a terminal (a runner may ignore it)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["word2vec", "glove", "fasttext"])
def test_ctrl_c_says_nothing_was_written_and_how_to_go_on(tmp_path, command):
    import os
    import signal
    import subprocess
    import sys

    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus, 2000)
    out = tmp_path / "out"
    extra = ["--x-max", "10"] if command == "glove" else []
    cmd = [sys.executable, "-m", "embedlab", "train", command, str(corpus), "-o", str(out), "--dim", "16",
           "--epochs", "100000", "--min-count", "1", "--workers", "1", *extra]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"}, preexec_fn=_sigint_default)
    try:
        for line in proc.stderr:  # progress lines (stderr is no terminal): wait for the training's own bar
            if line.startswith(f"{command}: ") and "/" in line:
                break
        else:
            pytest.fail(f"the training bar never showed; exit {proc.wait()}")
        proc.send_signal(signal.SIGINT)
        rest, code = proc.stderr.read(), proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert code == 130, rest
    said = (f"interrupted: nothing was written to {out} (it is as it was); `embedlab train {command}` keeps no "
            "checkpoint, so run the same command again to train from the start")
    # the line, once; the bar's own closing line may come before or after it (its thread ends on its own)
    assert rest.splitlines().count(said) == 1 and all(x.startswith(f"{command}: ") for x in rest.splitlines()
                                                      if x != said), rest
    assert "Traceback" not in rest and not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt"]
