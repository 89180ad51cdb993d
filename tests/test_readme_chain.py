"""The README's shell walk-through ("The same from the shell") runs in order, in one folder, as a user following it
would: each line's commands run one after another (``&&``, ``| head``), so a later line works on what an earlier
one made (``train fasttext`` -> ``oov fasttext/``, ``finetune -o ft/`` -> ``reindex --encoder ft/`` -> ``serve
--encoder ft/``). A line too long for the test, or needing what the test cannot give, ends its comment with
``(not run by the README test: WHY)`` and is skipped; a line neither run nor so marked fails the test. Where a long
step can run smaller, ``SMALLER`` below says how, so it still feeds the lines after it.

The user's own files the walk-through names (``my-notes/``, ``corpus.txt``, ``pairs.jsonl``, ``photos/*.jpg``) are
made here first. Commands run in this process (models load once, as in the rest of the test session), except
``serve``, which runs as its own process on a free port until it answers ``/api/health``."""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from embedlab.cli import main
from embedlab.server.background import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
MARK = "(not run by the README test:"
PG_PLACEHOLDER = "postgresql://…"

# README text -> what the test runs instead: the same commands, smaller, so their outputs still feed later lines.
SMALLER = {
    "--max-steps 2000": "--max-steps 4 --batch-size 8 --hidden 32 --heads 2 --layers 1",
    "--holdout 0.2": "--holdout 0.2 --restrict 50000",
    "clip-example digits/": "clip-example digits/ --limit 200",
    "-o joint/": "--epochs 5 -o joint/",
    "--method full --hard-negatives 1 -o ft/": "--method full --hard-negatives 1 --epochs 1 --batch-size 8 -o ft/",
    "--dataset ml-100k": "--dataset ml-100k --signal positives",
    "--dataset bingliu": "--dataset bingliu --folds 2 --repeats 1",
}

# What a command's output must show (the README's comments claim it), by the command's first words.
CHECKS: dict[tuple[str, ...], Callable[[str], bool]] = {
    ("search", "notes", "budget"): lambda out: "budget.txt" in out and "a.txt" not in out,
    ("get", "notes"): lambda out: [i["id"] for i in json.loads(out)] == ["a.txt", "b.txt"],
    ("ids", "notes"): lambda out: {"a.txt", "budget.txt", "drafts/old/plan.txt"} <= set(out.split()),
    ("delete", "notes"): lambda out: "drafts/plan.txt" in out and "drafts/old/plan.txt" in out
                                      and "budget.txt" not in out,
}


def walkthrough() -> list[str]:
    """The lines of the README's shell walk-through (its bash block that starts with ``embedlab similar``)."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    (block,) = [b for b in blocks if b.startswith("embedlab similar ")]
    return [line for line in block.splitlines() if line.strip()]


def _user_files(root: Path) -> None:
    """What a user brings: a notes folder (nested, Korean and English), a corpus, query/positive pairs, photos."""
    import numpy as np
    from PIL import Image

    notes = {
        "a.txt": "회의 일정: 다음 주 월요일 오전 10시에 팀 회의가 있습니다.",
        "b.txt": "The high-speed train leaves Seoul every morning and reaches Busan in under three hours.",
        "budget.txt": "Budget for next year: travel 1200 euros, books 300 euros, a new laptop 1500 euros.",
        "drafts/plan.txt": "A draft plan for the garden: tomatoes, beans and a small apple tree.",
        "drafts/old/plan.txt": "An old draft: paint the fence before the rain season starts.",
    }
    for rel, text in notes.items():
        (root / "my-notes" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "my-notes" / rel).write_text(text, "utf-8")
    gensim_utils = pytest.importorskip("gensim.test.utils")  # gensim's Lee corpus: 60k tokens of real English
    (root / "corpus.txt").write_bytes(Path(gensim_utils.datapath("lee_background.cor")).read_bytes())
    animals = ["cat", "dog", "horse", "cow", "sheep", "goat", "lion", "tiger", "bear", "wolf", "fox", "deer"]
    rows = [row for i, a in enumerate(animals) for row in (
        {"query": f"which animal is number {i}?", "positive": f"the {a} is animal number {i}"},
        {"query": f"tell me about the {a}", "positive": f"notes on the {a} and its habits"})]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    (root / "photos").mkdir()
    rng = np.random.default_rng(0)
    for name in ("cat.jpg", "street.jpg"):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(root / "photos" / name)


def _words(line: str) -> list[str]:
    """The line as the test runs it: SMALLER applied, the comment dropped, globs expanded as the shell does."""
    for readme_text, smaller in SMALLER.items():
        line = line.replace(readme_text, smaller)
    words = []
    for word in shlex.split(line, comments=True):
        if "*" in word:  # the walk-through's only glob (photos/*.jpg); its quoted words hold no "*"
            matches = sorted(glob.glob(word))
            assert matches, f"{word!r} matches no file"
            words.extend(matches)
        else:
            words.append(word)
    return words


def _commands(words: list[str]) -> list[tuple[list[str], str | None]]:
    """``a && b | head`` -> [(a's arguments, None), (b's arguments, "head")]; only ``embedlab`` commands, joined by
    ``&&`` and piped into ``head``, can be run."""
    out: list[tuple[list[str], str | None]] = []
    for part in " \0 ".join(words).split(" \0 && \0 "):
        command, _, pipe = part.partition(" \0 | \0 ")
        args = command.split(" \0 ")
        assert args[0] == "embedlab" and pipe in ("", "head") and not {";", "||", "&", ">", ">>", "<", "2>"} & set(
            args), f"the test cannot run {' '.join(args)!r}"
        out.append((args[1:], pipe or None))
    return out


def _run(capsys, args: list[str]) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    assert exc.value.code in (0, None), f"embedlab {' '.join(args)} exited {exc.value.code}: {err[-2000:]}"
    return out


def _serve(args: list[str], root: Path) -> None:
    """``embedlab serve ARGS`` on a free port: wait until /api/health answers, embed one text with each model it
    offers beside the default, stop it."""
    import httpx

    port = free_port()
    args = [*args[: args.index("--port") + 1], str(port), *args[args.index("--port") + 2:]]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    log = root / "serve.log"  # a file, not a pipe nobody reads while the server runs
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "embedlab", *args], cwd=root, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, f"serve exited {proc.returncode}: {log.read_text()[-2000:]}"
            try:
                health = httpx.get(base + "/api/health", timeout=5)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /api/health within 300 s"
            time.sleep(0.2)
        assert health.json()["status"] == "ok" and "notes" in health.json()["collections"]
        r = httpx.post(base + "/v1/embeddings", json={"model": "ft", "input": ["a fast train"]}, timeout=120)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"][0]["embedding"]) == 384  # the fine-tuned minilm of the finetune line
    finally:
        proc.terminate()
        proc.wait(60)


def runnable(line: str) -> bool:
    """False for a line marked ``(not run by the README test: WHY)`` at its end; True for one the test can run
    (``embedlab`` commands joined by ``&&``, optionally piped into ``head``); AssertionError for any other."""
    if MARK in line:
        assert re.search(re.escape(MARK) + r" [^)]+\)\s*$", line), f"the mark must end the line: {line}"
        return False
    _commands(shlex.split(line, comments=True))
    return True


def test_readme_walkthrough_lines_are_run_or_marked():
    """Every line runs as embedlab commands or says why the chain test leaves it out; the table of smaller
    settings names only text the README has, each in one line."""
    lines = walkthrough()
    assert len(lines) >= 20
    text = "\n".join(lines)
    for readme_text in SMALLER:
        assert text.count(readme_text) == 1, f"SMALLER's {readme_text!r} must be in exactly one walk-through line"
    for line in lines:
        runnable(line)


def test_a_line_neither_runnable_nor_marked_fails():
    assert runnable('embedlab list && embedlab ids notes | head   # a comment: with "quotes" | and && inside')
    assert not runnable("embedlab train mlm big.txt -o mlm/   # BERT (not run by the README test: hours on 2 cores)")
    for wrong in ("pip install embedlab", "embedlab list && ls", "embedlab ids notes | wc -l",
                  "embedlab list   # (not run by the README test: no reason closed", "embedlab ids notes > ids.txt"):
        with pytest.raises(AssertionError):
            runnable(wrong)


@pytest.mark.slow
def test_readme_walkthrough_runs_in_order(tmp_path, monkeypatch, capsys, request, use_encoder):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBEDLAB_THREADS", "1")
    monkeypatch.setenv("COLUMNS", "200")  # a terminal's width: tables keep ids on one line
    _user_files(tmp_path)
    times: list[tuple[float, float, str]] = []
    try:
        _chain(capsys, request, times)
    finally:
        if request.config.getoption("verbose") > 0:
            with capsys.disabled():
                wall, cpu = sum(t[0] for t in times), sum(t[1] for t in times)
                print(f"\nREADME walk-through: {wall:.1f} s, {cpu:.1f} s CPU (this process: not serve's)")
                for wall, cpu, line in sorted(times, reverse=True):
                    print(f"{wall:7.1f} s {cpu:7.1f} s CPU  {line}")


def _chain(capsys, request, times: list[tuple[float, float, str]]) -> None:
    """Run the walk-through's lines in order in the current folder, timing each into ``times``."""
    for line in walkthrough():
        if not runnable(line):
            continue
        start, cpu = time.monotonic(), time.process_time()
        try:
            _line(capsys, request, line)
        finally:
            times.append((time.monotonic() - start, time.process_time() - cpu, line.split("#")[0].strip()))


def _line(capsys, request, line: str) -> None:
    if PG_PLACEHOLDER in line:  # the server the test session runs, as `bash scripts/postgres.sh start` prints
        try:
            line = line.replace(PG_PLACEHOLDER, request.getfixturevalue("pg_url"))
        except pytest.skip.Exception:  # no PostgreSQL here (a failure in CI): the rest of the line still runs
            pass
    for args, pipe in _commands(_words(line)):
        if PG_PLACEHOLDER in " ".join(args):
            continue
        if args[0] == "serve":
            _serve(args, Path.cwd())
            continue
        out = _run(capsys, args)
        if pipe == "head":
            out = "\n".join(out.splitlines()[:10])
        for prefix, check in CHECKS.items():
            if tuple(args[: len(prefix)]) == prefix:
                assert check(out), f"embedlab {' '.join(args)} printed:\n{out[-3000:]}"
