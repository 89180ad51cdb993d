"""`--threads N` on every command that encodes, trains or serves: one option (`cli.app.threads_option`), applied by
`_threads.using_threads` to BLAS, OpenMP (FAISS), torch and the encoders' engines while the command runs, restored
afterwards; default: $EMBEDLAB_THREADS, else the $OMP_NUM_THREADS the user set, else 1 (serve's rule); 0, negative and non-integer values refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer

from embedlab._threads import cpu_count, using_threads
from embedlab.cli import _load_commands, main
from embedlab.cli.app import app
from embedlab.errors import InputError

#: Runs the CLI in a fresh process; stdin is read inside the command (`encode -`), and the settings are noted then.
PROBE = r"""
import io, json, os, sys
import faiss, torch
from threadpoolctl import threadpool_info
from embedlab.cli import main

def settings():
    info = threadpool_info()
    return {"env": os.environ.get("OMP_NUM_THREADS"), "torch": torch.get_num_threads(),
            "faiss": faiss.omp_get_max_threads(),
            "blas": sorted({p["num_threads"] for p in info if p["user_api"] == "blas"}),
            "openmp": sorted({p["num_threads"] for p in info if p["user_api"] == "openmp"})}

during = []

class Stdin(io.StringIO):
    def read(self, *args):
        during.append(settings())
        return super().read(*args)

before = settings()
sys.stdin = Stdin("a dog\na cat\n")
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "before": before, "during": during, "after": settings()}, fh)
"""


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def probe(tmp_path, *args: str, user_threads: str | None = "2") -> dict:
    """Run ``embedlab encode - ... ARGS`` in a fresh process whose user set ``$OMP_NUM_THREADS`` (and OpenBLAS's
    and MKL's) to ``user_threads``, or none of them (embedlab then fills in the core count)."""
    result = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if user_threads is not None:
        env.update({var: user_threads for var in THREAD_VARS[:3]})
    proc = subprocess.run([sys.executable, "-c", PROBE, str(result), "encode", "-", "-o", str(tmp_path / "v.npy"),
                           "--json", *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(result.read_text())


def test_threads_reach_blas_openmp_faiss_and_torch_while_the_command_runs(tmp_path):
    seen = probe(tmp_path, "--threads", "3")
    assert seen["code"] == 0
    assert seen["before"] == {"env": "2", "torch": 2, "faiss": 2, "blas": [2], "openmp": [2]}
    assert seen["during"] == [{"env": "3", "torch": 3, "faiss": 3, "blas": [3], "openmp": [3]}]
    assert seen["after"] == seen["before"]


def test_the_default_is_one_thread(tmp_path):
    seen = probe(tmp_path, user_threads=None)
    assert seen["code"] == 0
    assert seen["before"]["env"] == str(cpu_count())  # filled in by embedlab, not the user's choice
    assert seen["during"] == [{"env": "1", "torch": 1, "faiss": 1, "blas": [1], "openmp": [1]}]
    assert seen["after"] == seen["before"]


def test_the_omp_num_threads_the_user_set_is_the_default(tmp_path):
    seen = probe(tmp_path, user_threads="2")
    assert seen["code"] == 0
    assert seen["during"] == [{"env": "2", "torch": 2, "faiss": 2, "blas": [2], "openmp": [2]}]
    assert seen["after"] == seen["before"]


def run(capsys, *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.mark.parametrize("command", [
    ("encode", "x", "-o", "{tmp}/v.npy"),
    ("index", "notes", "{tmp}"),
    ("search", "notes", "query"),
    ("train", "word2vec", "{tmp}/corpus.txt", "-o", "{tmp}/out"),
    ("finetune", "{tmp}/pairs.jsonl", "-o", "{tmp}/out"),
    ("serve", "--no-preload"),
])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_zero_and_negative_threads_are_refused_before_anything_runs(tmp_path, capsys, command, value):
    code, out, err = run(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in command), "--threads", value)
    assert (code, out) == (2, "")
    assert err == f"error: --threads must be 1 or more, got {value} (this process may use {cpu_count()} cores)\n"
    assert not (tmp_path / "out").exists() and not (tmp_path / "v.npy").exists()


def test_a_threads_value_that_is_no_number_is_a_usage_error(tmp_path, capsys):
    code, out, err = run(capsys, "encode", "x", "-o", tmp_path / "v.npy", "--threads", "x")
    assert (code, out) == (2, "")
    assert err == ("error: Invalid value for '--threads': Input should be a valid integer, unable to parse string "
                   "as an integer (see embedlab encode --help)\n")


def test_every_command_that_encodes_trains_or_serves_takes_threads():
    _load_commands()
    group = typer.main.get_command(app)
    takes = {" ".join(path): any("--threads" in p.opts for p in cmd.params)
             for path, cmd in _commands(group, ())}
    wanted = {"index", "search", "encode", "similar", "finetune", "reindex", "tune", "distill", "int8",
              "compare-encoders", "fill-mask", "serve", "train word2vec", "train fasttext", "train glove",
              "train textbook", "train bpe", "train mlm", "train clip", "sentiment evaluate", "sentiment predict"}
    assert {name for name, has in takes.items() if has} == wanted


def _commands(group, prefix):
    for name, cmd in group.commands.items():
        if getattr(cmd, "commands", None):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_using_threads_checks_its_value_and_restores_the_environment():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InputError, match=r"threads must be a positive integer, got "):
            with using_threads(bad):
                pass
    before = os.environ.get("OMP_NUM_THREADS")
    with pytest.raises(RuntimeError, match="inside"):
        with using_threads(1):
            assert os.environ["OMP_NUM_THREADS"] == os.environ["OPENBLAS_NUM_THREADS"] == "1"
            raise RuntimeError("inside")
    assert os.environ.get("OMP_NUM_THREADS") == before


def test_embedlab_threads_sets_the_default_and_the_flag_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_THREADS", "2")
    assert probe(tmp_path, user_threads="3")["during"] == [{"env": "2", "torch": 2, "faiss": 2, "blas": [2],
                                                            "openmp": [2]}]  # before the user's OMP_NUM_THREADS
    assert probe(tmp_path, "--threads", "3")["during"] == [{"env": "3", "torch": 3, "faiss": 3, "blas": [3],
                                                            "openmp": [3]}]


def test_a_bad_embedlab_threads_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EMBEDLAB_THREADS", "0")
    code, out, err = run(capsys, "encode", "x", "-o", tmp_path / "v.npy")
    assert (code, out) == (2, "")
    assert err == f"error: --threads must be 1 or more, got 0 (this process may use {cpu_count()} cores)\n"
