"""CLI errors in CLI words: a bad invocation of each command prints one line ``error: ...`` (exit code 2, no
traceback) that names flags and commands, never the Python API's keyword arguments, classes or module paths
(``limit=N``, ``overwrite=True``, ``Collection.open``, ``embedlab.passages``); and the help lists flags without a
value type."""

from __future__ import annotations

import re

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.cli import main
from embedlab.errors import CorruptFileError, InputError, ModelNotFoundError
from embedlab.store import Collection

#: What only a Python caller can act on: ``pass x=``, ``x=True`` / ``x=<...>`` / ``x=...`` / ``x=N`` / ``(x=)`` /
#: ``x='value'``, a class method such as ``Collection.open``, a module path such as ``embedlab.passages``.
PYTHON_WORDS = re.compile(r"\bpass [a-z_]+=|\b[a-z_]+=(True|False|None|\.\.\.|<|N\b|\)|')|\([a-z_]+=\)"
                          r"|\bCollection\.[a-z_]|\bembedlab\.[a-z_]")


def run(capsys, *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def error_line(capsys, *args: object) -> str:
    """The one error line a bad invocation prints (checked: exit 2, one line, no traceback, no Python words)."""
    code, _, err = run(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.endswith("\n") and err.count("\n") == 1, err
    text = err[len("error: "):-1]
    assert PYTHON_WORDS.search(text) is None, text
    return text


def test_the_pattern_catches_the_python_hints_of_the_issue():
    for said in ("fix it, or pass limit=N to read only", "or pass overwrite=True", "open it with Collection.open",
                 "needs model_path=<folder>", "split long texts (embedlab.passages)", "--encoding (encoding=)",
                 "use index='exact'"):
        assert PYTHON_WORDS.search(said), said
    for fine in ("--where takes key=value", "pass --overwrite", "embedlab index notes PATH...", "--nprobe 32"):
        assert PYTHON_WORDS.search(fine) is None, fine


@pytest.fixture
def files(tmp_path):
    """A vectors-only collection 'things', a word2vec file cut short, one with rows beyond its header's count, a
    non-empty folder, a pairs file and a text folder."""
    col = Collection.create("things", dim=3)
    col.add(["a", "b"], vectors=np.eye(3, dtype=np.float32)[:2])
    col.close()
    v = Vectors(["cat", "dog", "car", "bus"], np.arange(12, dtype=np.float32).reshape(4, 3) + 1)
    lines = v.save(tmp_path / "v.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "cut.txt").write_text("".join(lines[:3]), encoding="utf-8")  # header + 2 of 4 rows
    (tmp_path / "more.txt").write_text("2 3\n" + "".join(lines[1:]), encoding="utf-8")  # 4 rows, header says 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "pairs.jsonl").write_text("".join(f'{{"query": "question {i}", "positive": "answer text {i}"}}\n'
                                                  for i in range(20)), encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("alpha", encoding="utf-8")
    return tmp_path


def test_damaged_word2vec_files_say_what_to_do_in_cli_words(files, capsys):
    assert error_line(capsys, "similar", "cat", "dog", "--vectors", files / "cut.txt") == (
        f"{files / 'cut.txt'}: the file ends after line 3 but the header announces 4 vectors (2 read); it is "
        "truncated: re-export or re-download the file")
    assert error_line(capsys, "analogy", "cat-dog+car", "--vectors", files / "more.txt") == (
        f"{files / 'more.txt'}: line 4 holds data after the 2 vectors line 1 declares; the count in the header is "
        "wrong: fix it")


def test_the_python_message_keeps_its_keyword_hint(files):
    from embedlab.io import load_word2vec

    with pytest.raises(CorruptFileError, match=r"truncated: re-export or re-download the file, or pass limit=N to read"):
        load_word2vec(files / "cut.txt")
    with pytest.raises(CorruptFileError, match=r"fix it, or pass limit=2 to read only the declared rows"):
        load_word2vec(files / "more.txt")


def test_a_collection_that_exists_names_the_commands(backend):
    Collection.create("twice", dim=2, **backend).close()
    with pytest.raises(InputError, match=r"already exists.*; open it with Collection.open or drop it") as exc:
        Collection.create("twice", dim=2, **backend)
    assert exc.value.cli_message().endswith("'twice' already exists; add to it with: embedlab index twice PATH..., "
                                            "or drop it with: embedlab drop twice"
                                            if not backend else
                                            "; add to it with: embedlab index twice PATH..., or drop it with: "
                                            "embedlab drop twice")
    assert PYTHON_WORDS.search(exc.value.cli_message()) is None
    Collection.drop("twice", **backend)


def test_encoders_that_need_a_folder_say_which_flag(files, capsys):
    out = files / "v.npy"
    assert error_line(capsys, "encode", "-e", "mlm", "x", "-o", out) == (
        "encoder 'mlm' needs the folder written by `embedlab train mlm`: give that folder as the encoder "
        "(--encoder FOLDER)")
    assert error_line(capsys, "encode", "-e", "clip", "x", "-o", out) == (
        "encoder 'clip' needs --model-path FOLDER (a local folder of a transformers CLIP model); no CLIP weights "
        "ship offline: save one with CLIPModel/CLIPProcessor.save_pretrained")
    from embedlab.encoders.clip import CLIPEncoder

    with pytest.raises(ModelNotFoundError, match=r"needs model_path=<local folder"):
        CLIPEncoder()


def test_the_encoder_listing_speaks_no_keyword(capsys):
    code, out, _ = run(capsys, "encoders", "--all", "--json")
    assert code == 0
    assert PYTHON_WORDS.search(out) is None and "model_path" not in out and "path=" not in out


def test_non_empty_output_folders_name_overwrite_as_a_flag(files, capsys, use_encoder):
    full = files / "full"
    assert error_line(capsys, "distill", "-o", full) == (
        f"{full} is not empty; pick a new or empty folder, or pass --overwrite")
    assert error_line(capsys, "finetune", files / "pairs.jsonl", "-o", full) == (
        f"{full} is not empty; pick a new or empty folder, or pass --overwrite")


def test_ray_options_without_the_ray_engine_are_refused(files, capsys):
    docs = files / "docs"
    assert error_line(capsys, "index", "notes", docs, "--workers", "4") == (
        "--workers applies to --engine ray only (this process encodes with --engine local); add --engine ray, or "
        "leave it out")
    assert error_line(capsys, "index", "notes", docs, "--address", "auto", "--batch-size", "8") == (
        "--address, --batch-size apply to --engine ray only (this process encodes with --engine local); add "
        "--engine ray, or leave them out")
    assert "notes" not in Collection.names()


def test_export_creates_missing_folders_as_every_output_does(files, capsys):
    for out in (files / "new" / "deeper" / "t.parquet", files / "new2" / "t.npy", files / "new3" / "p" / "vectors.tsv"):
        code, _, err = run(capsys, "export", "things", "-o", out, "--json")
        assert code == 0, err
        assert (out.parent / "vectors.tsv" if out.name == "vectors.tsv" else out).is_file()
    (files / "afile").write_text("x")
    assert error_line(capsys, "export", "things", "-o", files / "afile" / "t.npy") == (
        f"{files / 'afile'} is a file, so -o {files / 'afile' / 't.npy'} cannot be created in it; choose another -o")
    assert error_line(capsys, "export", "nothings", "-o", files / "new4" / "t.npy").startswith(
        "no collection named 'nothings'")
    assert not (files / "new4").exists()  # nothing created for a collection that is not there


@pytest.mark.parametrize("args", [
    ("index", "notes", "{tmp}/nowhere"),
    ("index", "notes", "{tmp}/docs", "--index", "annoy"),
    ("index", "notes", "{tmp}/docs", "--engine", "spark"),
    ("search", "things", "q", "--where", "lang"),
    ("get", "things", "zz"),
    ("delete", "things"),
    ("drop", "things"),
    ("info", "nothing"),
    ("check", "nothing"),
    ("compact", "nothing"),
    ("export", "things", "-o", "{tmp}/x.unknown"),
    ("import", "{tmp}/missing.parquet", "--name", "y"),
    ("encode", "x", "-o", "{tmp}/v.txt"),
    ("similar", "cat", "dog", "--vectors", "{tmp}/nowhere.txt"),
    ("train", "word2vec", "{tmp}/docs/a.txt", "-o", "{tmp}/full"),
    ("train", "bpe", "{tmp}/docs/a.txt", "-o", "{tmp}/full"),
    ("plan", "--count", "100", "--dim", "8", "--index", "annoy"),
    ("reindex", "things", "--index", "ivf", "--nlist", "64", "--nprobe", "128"),
    ("tune", "nothing"),
    ("align", "{tmp}/v.txt", "{tmp}/v.txt", "-o", "{tmp}/v.txt"),
])
def test_bad_invocations_print_one_line_in_cli_words(files, capsys, args):
    error_line(capsys, *(a.replace("{tmp}", str(files)) for a in args))


def test_help_lists_flags_without_a_type_and_k_as_top_k(capsys):
    code, out, _ = run(capsys, "search", "--help")
    assert code == 0 and "<bool>" not in out
    rows = [" ".join(line.strip("│ ").split()) for line in out.splitlines()]
    assert any(r.startswith("--top-k -k <int> How many documents to return.") for r in rows), rows
    assert any(r.startswith("--json Print only a JSON list") for r in rows), rows
    for args in (("--help",), ("index", "--help"), ("train", "word2vec", "--help"), ("serve", "--help")):
        code, out, _ = run(capsys, *args)
        assert code == 0 and "<bool>" not in out, args


def test_index_settings_are_named_as_flags(files, capsys):
    assert error_line(capsys, "reindex", "things", "--index", "ivf", "--nlist", "64", "--nprobe", "128") == (
        "--nprobe 128 exceeds --nlist 64: a query scans at most every list (--nprobe 64 is an exact scan of the "
        "lists)")
    assert error_line(capsys, "plan", "--count", "100000", "--dim", "8", "--index", "ivf", "--nlist", "64",
                      "--nprobe", "128") == (
        "--nprobe 128 exceeds --nlist 64: a query scans at most every list (--nprobe 64 is an exact scan of the "
        "lists)")


def test_did_you_mean_names_the_closest_names():
    from embedlab.errors import close_names, did_you_mean

    assert did_you_mean("thigns", ["things", "other"]) == "did you mean 'things'?"
    assert did_you_mean("NOTES", ["notes", "Notes2", "zebra"]) == "did you mean 'notes' or 'Notes2'?"
    assert did_you_mean("glov", ["glove", "glove-50", "glow", "mfcc"]) == "did you mean 'glove', 'glow' or 'glove-50'?"
    assert did_you_mean("zzz", ["things"]) == "" and did_you_mean("x", []) == ""
    assert close_names("abc", ["abd", "abc", "xyz"], n=1) == ["abc"]


def test_a_misspelt_encoder_gets_a_suggestion(files, capsys):
    assert error_line(capsys, "encode", "-e", "glov", "x", "-o", files / "v.npy").startswith(
        "unknown encoder 'glov'; did you mean 'glove' or 'glove-50'? known encoders: aisfx, bert-tokens, ")
    assert error_line(capsys, "index", "notes", files / "docs", "-e", "use-multilingal").startswith(
        "unknown encoder 'use-multilingal'; did you mean 'use-multilingual', 'use-multilingual-static' or "
        "'e5-small-multilingual'? known encoders: ")
    assert error_line(capsys, "encode", "-e", "qqqq", "x", "-o", files / "v.npy").startswith(
        "unknown encoder 'qqqq'; known encoders: aisfx, ")


def test_a_misspelt_collection_gets_a_suggestion(backend, capsys):
    Collection.create("things", dim=3, **backend).close()
    where = ("--backend", backend["backend"]) if backend else ()
    assert error_line(capsys, *where, "search", "thigns", "q") == (
        "no collection named 'thigns' (existing: things); did you mean 'things'? Or make it with: embedlab index "
        "thigns PATH...")
    assert error_line(capsys, *where, "info", "zzz") == (
        "no collection named 'zzz' (existing: things); make it with: embedlab index zzz PATH...")
    Collection.drop("things", **backend)


def test_a_misspelt_path_gets_a_suggestion(files, capsys):
    (files / "docs" / "notes.txt").write_text("n", encoding="utf-8")
    assert error_line(capsys, "index", "notes", files / "docs" / "ntoes.txt") == (
        f"{files / 'docs' / 'ntoes.txt'} does not exist; check the path (similar names there: notes.txt)")
    assert error_line(capsys, "index", "notes", files / "docs" / "no-such-thing.md") == (
        f"{files / 'docs' / 'no-such-thing.md'} does not exist; check the path")  # nothing close: no guess


def test_skipped_files_are_listed_in_cli_words(tmp_path, capsys):
    """A file skipped while indexing is listed with its reason in CLI words (its error's CLI phrasing), in the
    listing and in --json; Python's read_sources keeps the keyword hints."""
    import json

    from embedlab.ingest import read_sources

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "ok.txt").write_text("plain text", encoding="utf-8")
    (tmp_path / "notes" / "cafe.txt").write_bytes("Le café était très bon, à Paris.".encode("cp1252"))
    code, out, err = run(capsys, "index", "skips", tmp_path / "notes", "--dry-run")
    assert code == 0, err
    shown = " ".join((out + err).split())  # unwrapped
    assert "or read it with --encoding CP1252, or --encoding-errors replace to substitute the bad bytes" in shown
    assert PYTHON_WORDS.search(shown) is None, shown
    code, out, _ = run(capsys, "index", "skips", tmp_path / "notes", "--dry-run", "--json")
    skipped = json.loads(out)["skipped"]
    assert len(skipped) == 1 and skipped[0].endswith(
        "or read it with --encoding CP1252, or --encoding-errors replace to substitute the bad bytes")
    assert PYTHON_WORDS.search(skipped[0]) is None
    python = read_sources([tmp_path / "notes"]).skipped
    assert len(python) == 1 and python[0].endswith(
        "or read it with --encoding CP1252 (encoding='cp1252'), or --encoding-errors replace (errors='replace') to "
        "substitute the bad bytes")


def test_a_teacher_folder_that_is_not_there_is_said_as_a_path(tmp_path, capsys):
    (tmp_path / "teacher-model").mkdir()
    assert error_line(capsys, "distill", "--teacher", tmp_path / "teacher-modle", "-o", tmp_path / "out") == (
        f"no model folder at '{tmp_path / 'teacher-modle'}': it does not exist; check the path (folders with similar "
        "names there: teacher-model)")
    assert not (tmp_path / "out").exists()


def test_oov_on_a_folder_without_ngrams_names_the_command_not_the_class(files, capsys):
    folder = files / "w2v"
    folder.mkdir()
    Vectors(["cat", "dog"], np.eye(2, dtype=np.float32)).save(folder / "vectors.txt")
    assert error_line(capsys, "oov", folder, "cta") == (
        f"{folder} holds no fasttext.json; pass a folder written by `embedlab train fasttext -o FOLDER` (word2vec "
        "and GloVe folders have no n-grams to build unknown words from)")
