"""What the training, encode and word commands (and the ConSE / ONNX caches) write and refuse: bad options fail
before any work with one readable line, outputs go through embedlab.persist (fsynced, then renamed whole), and a
full disk or read-only media is a clear error that leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from embedlab import persist
from embedlab.cli import main
from embedlab.errors import CorruptFileError, InputError
from embedlab.train.corpus import LineCorpus

WORDS = ["king", "queen", "man", "woman", "car", "road", "ship", "boat"]
SMALL = {"word2vec": ["--dim", "8", "--window", "2", "--epochs", "1", "--min-count", "1", "--workers", "1"],
         "fasttext": ["--dim", "8", "--epochs", "1", "--min-count", "1", "--workers", "1", "--buckets", "1000"],
         "bpe": ["--vocab-size", "40", "--no-byte-fallback"], "textbook": ["--dim", "4", "--epochs", "2"]}


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    out = capsys.readouterr()
    return e.value.code, out.out, " ".join(out.err.split())


@pytest.fixture
def corpus(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(WORDS[j] for j in rng.integers(0, 8, 10)) for _ in range(200)) + "\n",
                    encoding="utf-8")
    return path


@contextlib.contextmanager
def tmpfs(point: Path, size: str):
    """A tiny real file system (needs root, as the test set-up has); skips elsewhere."""
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


# ---------------------------------------------------------------- training commands
@pytest.mark.parametrize("command,extra,message", [
    ("word2vec", ["--sample", "nan"], "sample must be a non-negative number, got nan"),  # once: trained
    ("word2vec", ["--alpha", "inf"], "alpha must be a positive number, got inf"),  # once: NaN vectors
    ("word2vec", ["--min-alpha", "inf"], "min_alpha must be a non-negative number, got inf"),
    ("word2vec", ["--seed", "-1"], "seed must be a non-negative integer, got -1"),  # once: ValueError
    ("word2vec", ["--max-memory", "1.2.3GB"], "cannot read a memory size from '1.2.3GB'"),  # once: ValueError
    ("word2vec", ["--max-memory", "0"], "max_memory must be a positive number, got 0.0"),
    ("fasttext", ["--lr", "inf"], "lr must be a positive number, got inf"),
    ("fasttext", ["--seed", "-1"], "seed must be a non-negative integer, got -1"),
    ("fasttext", ["--max-memory-gb", "nan"], "max_memory_gb must be a positive number, got nan"),
    ("fasttext", ["--sample", "nan"], "sample must be a non-negative number, got nan"),
    ("bpe", ["--seed", "-1"], r"seed must be an integer in [0, 4294967294], got -1"),  # once: TypeError
    ("bpe", ["--max-sentences", "-1"], "max_sentences must be a positive integer, got -1"),  # once: ValueError
    ("bpe", ["--vocab-size", "7"], "vocab_size must be an integer >= 8, got 7"),
    ("textbook", ["--topn", "0"], "--topn must be a positive integer, got 0"),
])
def test_bad_options_fail_before_reading_and_write_nothing(tmp_path, corpus, capsys, monkeypatch, command, extra,
                                                           message):
    def untouchable(self):
        raise AssertionError("the corpus was read before the options were checked")

    monkeypatch.setattr(LineCorpus, "__iter__", untouchable)
    monkeypatch.setattr(LineCorpus, "lines", untouchable)
    out = tmp_path / "out"
    code, _, err = run(["train", command, corpus, "-o", out, *SMALL[command], *extra], capsys)
    assert code == 2 and message in err
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_textbook_checks_its_output_folder_before_training(tmp_path, corpus, capsys, monkeypatch):
    from embedlab.train.textbook import TextbookWord2Vec

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    monkeypatch.setattr(TextbookWord2Vec, "fit", lambda *a, **k: pytest.fail("trained before -o was checked"))
    code, _, err = run(["train", "textbook", corpus, "-o", tmp_path / "out", *SMALL["textbook"]], capsys)
    assert code == 2 and "already exists and is not empty; pass --overwrite" in err


@pytest.mark.parametrize("command", ["word2vec", "textbook"])
def test_overwrite_replaces_only_a_folder_embedlab_wrote(tmp_path, corpus, capsys, command):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    code, _, err = run(["train", command, corpus, "-o", mine, *SMALL[command], "--overwrite"], capsys)
    assert code == 2 and "holds files that no embedlab command wrote" in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "precious"
    out = tmp_path / "out"
    assert run(["train", command, corpus, "-o", out, *SMALL[command]], capsys)[0] == 0
    assert run(["train", command, corpus, "-o", out, *SMALL[command], "--overwrite"], capsys)[0] == 0  # ours: replaced


@pytest.mark.parametrize("command,files", [
    ("word2vec", {"W.npy", "W_out.npy", "vocab.tsv", "model.json", "vectors.txt"}),  # once: W*.npy never fsynced
    ("fasttext", {"input.npy", "output.npy", "ngram_buckets.npy", "fasttext.json", "vocab.tsv", "vectors.txt"}),
    ("bpe", {"spm.model", "tokenizer.json"}),
    ("textbook", {"vectors.txt"}),
])
def test_outputs_are_fsynced_then_renamed_whole(tmp_path, corpus, capsys, monkeypatch, command, files):
    events: list[tuple[str, str]] = []
    sync, rename = persist.fsync_file, persist.replace_folder
    monkeypatch.setattr(persist, "fsync_file", lambda p: (events.append(("sync", Path(p).name)), sync(p))[1])
    monkeypatch.setattr(persist, "replace_folder",
                        lambda src, dst: (events.append(("rename", Path(dst).name)), rename(src, dst))[1])
    out = tmp_path / "out"
    code, _, _ = run(["train", command, corpus, "-o", out, *SMALL[command], "--json"], capsys)
    assert code == 0 and {p.name for p in out.iterdir()} == files
    published = events.index(("rename", "out"))
    assert files <= {name for kind, name in events[:published] if kind == "sync"}
    assert ("rename", "out") not in events[published + 1:]  # one rename: no nested temp folder of a save
    assert not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("command", ["word2vec", "fasttext"])  # fastText: numpy's short write has no errno
def test_a_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path, corpus, capsys, command):
    with tmpfs(tmp_path / "disk", "64k") as disk:
        code, _, err = run(["train", command, corpus, "-o", disk / "out", *SMALL[command], "--dim", "600"], capsys)
        assert code == 2 and "no space left to write" in err  # once: a raw OSError traceback
        assert list(disk.iterdir()) == []


def test_read_only_output_is_a_clear_error(tmp_path, corpus, capsys):
    with tmpfs(tmp_path / "ro", "64k") as point:
        subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True, capture_output=True)
        code, _, err = run(["train", "word2vec", corpus, "-o", point / "out", *SMALL["word2vec"]], capsys)
        assert code == 2 and "read-only" in err  # once: a raw PermissionError / OSError traceback


def test_no_layer_reaches_into_the_trainers_internals():
    import embedlab.train.word2vec as w2v

    assert not hasattr(w2v, "replace_folder")  # the re-export for the CLI is gone
    root = Path(w2v.__file__).parents[1]
    for name in ("cli/train.py", "cli/train_subword.py", "cli/encode.py", "encoders/conse.py"):
        source = (root / name).read_text(encoding="utf-8")
        for private in ("._check_params(", "._write_files(", "replace_folder", "mkdtemp", "os.replace", ".replace("):
            assert private not in source, f"{name} uses {private}"


# ---------------------------------------------------------------- encode, similar, analogy
def test_encode_refuses_unusable_outputs_and_options(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.npy").mkdir()
    for argv, message in (
            (["-o", tmp_path / "afile" / "v.npy"], "afile is a file, so"),  # once: FileExistsError
            (["-o", tmp_path / "afile" / "sub" / "v.npy"], "afile is a file, so"),
            (["-o", tmp_path / "adir.npy"], "adir.npy is a folder; -o must name a .npy file"),  # IsADirectoryError
            (["-o", tmp_path / "v.npy", "--model-path", tmp_path], "encoder 'glove-50' takes no --model-path")):
        code, _, err = run(["encode", "-e", "glove-50", "a dog", *argv], capsys)  # once: TypeError ^
        assert code == 2 and message in err
    assert not (tmp_path / "v.npy").exists()


def test_encode_output_is_fsynced_and_renamed(tmp_path, capsys, monkeypatch):
    synced = []
    sync = persist.fsync_file
    monkeypatch.setattr(persist, "fsync_file", lambda p: (synced.append(Path(p).name), sync(p))[1])
    out = tmp_path / "new" / "v.npy"
    code, stdout, _ = run(["encode", "-e", "glove-50", "a dog", "a cat", "-o", out, "--json"], capsys)
    assert code == 0 and json.loads(stdout)["count"] == 2 and np.load(out).shape == (2, 50)
    assert any(name.startswith(".v.npy.tmp-") for name in synced)  # once: np.save + rename, never fsynced
    assert any(name.startswith(".v.npy.json.tmp-") for name in synced)  # the keys sidecar too
    assert sorted(p.name for p in out.parent.iterdir()) == ["v.npy", "v.npy.json"]  # no temp file left


def test_similar_analogy_and_evaluate_refuse_bad_paths_and_options(tmp_path, capsys):
    from embedlab import Vectors
    from embedlab.io import save_word2vec

    vec = tmp_path / "v.txt"
    save_word2vec(Vectors(["a", "b", "c", "d"], np.eye(4, dtype=np.float32)), vec)
    code, _, err = run(["similar", "a", "b", "-v", tmp_path / "missing.txt"], capsys)
    assert code == 2 and "no vectors file or folder at" in err  # once: a raw FileNotFoundError
    for value in ("0", "-1"):  # once: 0 searched everything, -1 returned nothing
        code, _, err = run(["analogy", "a", "-", "b", "+", "c", "-v", vec, "--restrict-vocab", value], capsys)
        assert code == 2 and f"--restrict-vocab must be a positive integer, got {value}" in err
        code, _, err = run(["evaluate", vec, "--restrict-vocab", value], capsys)  # once: -1 scored nothing
        assert code == 2 and f"--restrict-vocab must be a positive integer, got {value}" in err


# ---------------------------------------------------------------- ConSE and ONNX caches
def test_conse_top_t_and_label_cache(monkeypatch):
    from embedlab.encoders.conse import ConSEEncoder

    for top_t, message in ((2.5, r"must be an integer, got 2.5 \(float\)"), ("10", r"must be an integer, got '10'"),
                           (True, r"must be an integer, got True \(bool\)"), (0, "must be in 1..1000, got 0")):
        with pytest.raises(InputError, match=rf"top_t {message}"):
            ConSEEncoder(top_t=top_t)  # once: int(2.5) = 2, int('10') = 10, True = 1

    class FakeText:
        fingerprint = "fake-text"
        calls = 0

        def encode(self, names, batch_size=128, normalize=True):
            FakeText.calls += 1
            return np.full((len(names), 512), 1 / np.sqrt(512), np.float32)

    monkeypatch.setattr(ConSEEncoder, "text", property(lambda self: FakeText()))
    synced = []
    sync = persist.fsync_file
    monkeypatch.setattr(persist, "fsync_file", lambda p: (synced.append(Path(p)), sync(p))[1])
    assert ConSEEncoder().label_vectors().shape == (1000, 512) and FakeText.calls == 1
    cache = next(p for p in synced if p.name.startswith(".conse-labels-")).parent  # once: never fsynced
    (path,) = cache.glob("conse-labels-*.npy")
    assert ConSEEncoder().label_vectors().shape == (1000, 512) and FakeText.calls == 1  # read back from the cache
    path.write_bytes(path.read_bytes()[:4096])  # header intact, data cut
    assert ConSEEncoder().label_vectors().shape == (1000, 512) and FakeText.calls == 2  # recomputed and rewritten
    assert path.stat().st_size > 2_000_000 and not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_onnx_builder_reports_a_damaged_config(tmp_path):
    pytest.importorskip("onnx")
    from safetensors.numpy import save_file

    from embedlab.encoders._onnx_export import build_bert_graph, cached_onnx

    save_file({"x": np.zeros(1, np.float32)}, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text('{"hidden_size": 8,', encoding="utf-8")
    with pytest.raises(CorruptFileError, match=r"config.json is not valid JSON \(line 1, column 19"):
        cached_onnx(tmp_path, "fingerprint", normalize=True, int8=False)  # once: a raw JSONDecodeError
    good = {"hidden_size": 8, "num_attention_heads": 2, "num_hidden_layers": 1}
    for config, message in (([], "config.json holds list, not an object"),  # once: AttributeError
                            ({**good, "num_attention_heads": 0}, "num_attention_heads=0, expected a positive"),
                            ({"num_attention_heads": 2}, "hidden_size=None, expected a positive integer"),
                            ({**good, "hidden_size": 9}, "hidden_size=9, not a multiple of num_attention_heads=2"),
                            ({**good, "layer_norm_eps": "x"}, "layer_norm_eps='x', expected a small positive")):
        with pytest.raises(CorruptFileError, match=message):  # once: ZeroDivisionError, KeyError ...
            build_bert_graph({}, config, normalize=True)


@pytest.mark.parametrize("command", ["word2vec", "fasttext", "bpe", "textbook"])
def test_an_existing_empty_output_folder_is_accepted(tmp_path, corpus, capsys, command):
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run(["train", command, corpus, "-o", out, *SMALL[command]], capsys)
    assert code == 0, err
    assert any(out.iterdir()) and not list(tmp_path.glob(".out*"))
