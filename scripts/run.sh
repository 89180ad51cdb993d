#!/usr/bin/env bash
# One entry point for the README's two commands, on a fresh machine with nothing installed by hand:
#   bash scripts/run.sh tour   -> create .venv, install the core, run the end-to-end tour
#   bash scripts/run.sh test   -> create .venv, install everything (+ system packages as root), run all tests
#   bash scripts/run.sh serve  -> create .venv, install the core + [server], run `embedlab serve` (args passed on)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-tour}; shift || true

# Thread pools: tour and serve get embedlab's own default (1 thread, or --threads / $EMBEDLAB_THREADS /
# the $OMP_NUM_THREADS you set): exporting $OMP_NUM_THREADS here would count as yours and override it.
# The test run sizes every pool to the cores (before anything imports numpy/BLAS): see test_threads_env.
test_threads_env() {
  local cores
  cores=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$cores} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$cores}
  export MKL_NUM_THREADS=${MKL_NUM_THREADS:-$cores} NUMBA_NUM_THREADS=${NUMBA_NUM_THREADS:-$cores}
}
# Never reach for a model hub: every model ships inside an installed package or a local path.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1

PY=.venv/bin/python
[ -x "$PY" ] || python3 -m venv .venv

# pip only (uv/poetry ignore the local torch wheel). A stamp skips the install when nothing changed.
install() {  # $1 = extras spec, $2 = stamp name, $3 = how long it takes the first time
  local stamp=".venv/.installed-$2" sum
  sum=$(cat pyproject.toml scripts/run.sh scripts/requirements-nodeps.txt | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    # pip's own lines (Collecting ..., Installing collected packages ...) show each phase; not -q: silence for
    # minutes reads as a hang
    echo "==> installing embedlab$1 into .venv with pip: $3 the first time (measured on 2 busy cores; a rerun"
    echo "    skips this step); pip's lines below show each phase (collecting, then installing)"
    "$PY" -m pip install -e ".$1"
    if [ "$2" = all ]; then
      # These declare requirements that would downgrade numpy/scipy: install them without their deps.
      echo "==> installing the packages of scripts/requirements-nodeps.txt without their dependencies"
      "$PY" -m pip install --no-deps -r scripts/requirements-nodeps.txt
    fi
    echo "$sum" > "$stamp"
    echo "==> embedlab$1 installed"
  fi
}

case "$mode" in
  tour)
    install "" core "about 30 s"
    exec .venv/bin/embedlab tour "$@"
    ;;
  serve)
    install "[server]" server "about a minute"
    exec .venv/bin/embedlab serve "$@"
    ;;
  test)
    test_threads_env
    bash scripts/install-system.sh
    install "[all]" all "about 6 minutes (torch, transformers, ray, PostgreSQL drivers ...)"
    if [ $# -eq 0 ]; then  # the whole suite: the checks first (seconds), then every test with a coverage report
      echo "==> ruff check (pyflakes, bugbear, imports, pyupgrade)"
      .venv/bin/ruff check src tests benchmarks
      echo "==> lint-imports (the layer order, function-level imports included; no cycle between sibling modules)"
      .venv/bin/lint-imports
      echo "==> docstrings of the five nouns' public API (ruff pydocstyle, numpy convention + numpydoc validation)"
      PY="$PY" bash scripts/check_docs.sh
      echo "==> mypy --strict on src/embedlab"
      .venv/bin/mypy
      set -- --cov --cov-report=term
    fi
    set +e
    "$PY" -m pytest "$@"
    rc=$?
    set -e
    if [ "$rc" = 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi
    exit "$rc"
    ;;
  *)
    echo "usage: bash scripts/run.sh tour|test|serve [args...]" >&2; exit 2 ;;
esac
