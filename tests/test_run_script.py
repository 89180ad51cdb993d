"""scripts/run.sh: ``tour`` and ``serve`` start embedlab with its own thread default (1), not a $OMP_NUM_THREADS
the script exported (which embedlab would take for the user's); ``test`` still sizes the pools to the cores; the
install step says what it does and how long it takes.

The script runs in a copy of the repository's layout whose .venv holds this interpreter and an ``embedlab`` that
reports, from the real ``embedlab.cli.app``, the default --threads the environment it was started with gives."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = """import os, sys
given = os.environ.get("OMP_NUM_THREADS")  # as run.sh started it (importing embedlab fills it in)
from embedlab.cli.app import default_threads
print("argv", *sys.argv[1:2], "OMP", given, "threads", default_threads())
"""


@pytest.fixture()
def layout(tmp_path):
    """A copy of run.sh's surroundings, with its install stamps current (so pip is not run)."""
    (tmp_path / "scripts").mkdir()
    for name in ("scripts/run.sh", "scripts/requirements-nodeps.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "python").symlink_to(sys.executable)
    (tmp_path / "report.py").write_text(REPORT, encoding="utf-8")
    (bin_ / "embedlab").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{tmp_path / "report.py"}" "$@"\n')
    (bin_ / "embedlab").chmod(0o755)
    data = b"".join((tmp_path / n).read_bytes() for n in ("pyproject.toml", "scripts/run.sh",
                                                          "scripts/requirements-nodeps.txt"))
    for stamp in ("core", "server"):
        (tmp_path / ".venv" / f".installed-{stamp}").write_text(hashlib.sha256(data).hexdigest()[:16] + "\n")
    return tmp_path


def _run(layout: Path, *args: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "EMBEDLAB_THREADS"}
    clean["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(["bash", str(layout / "scripts" / "run.sh"), *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("mode", ["tour", "serve"])
def test_tour_and_serve_start_with_embedlabs_thread_default(layout, mode):
    assert _run(layout, mode).splitlines()[-1] == f"argv {mode} OMP None threads 1"


def test_a_users_own_thread_setting_still_wins(layout):
    assert _run(layout, "tour", OMP_NUM_THREADS="2").splitlines()[-1] == "argv tour OMP 2 threads 2"


def test_the_install_step_says_how_long_it_takes():
    text = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert "pip install -q" not in text  # pip's phase lines show
    assert 'install "" core "about 30 s"' in text and 'install "[all]" all "about 6 minutes' in text
    assert "==> installing embedlab$1 into .venv with pip: $3 the first time" in text
