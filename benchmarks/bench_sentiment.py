"""`embedlab sentiment evaluate` before and after the cross-validation speed-up, side by side in one run.

The "before" side is this repository at an earlier commit (default: the parent of 7360a3f, the last one with
multi-threaded nested cross-validation fits), checked out once under bench-data/ with `git worktree` and run with
the same Python environment; "after" is this checkout. Both run the same command with the same folds and seed, one
after the other, and the script prints each one's wall time, the ratio and every method's accuracy on both sides
(they must agree within 0.005).

    .venv/bin/python benchmarks/bench_sentiment.py --dataset bingliu --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import md_table, print_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def checkout(rev: str) -> Path:
    """A detached worktree of ``rev`` under bench-data/ (created once)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    where = ROOT / "bench-data" / f"sentiment-before-{sha}"
    if not where.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), sha], check=True,
                       capture_output=True)
    return where


def run(src: Path, args: list[str]) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "embedlab.cli", "sentiment", "evaluate", *args, "--json"],
                         capture_output=True, text=True, env=env, cwd=src, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{src}: exit {out.returncode}\n{out.stderr[-2000:]}")
    return took, json.loads(out.stdout)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="bingliu")
    ap.add_argument("--repeats", type=int, default=2, help="repeats of stratified 5-fold CV (the CLI default is 10)")
    ap.add_argument("--before", default="7360a3f^", help="the commit to compare with")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    settings = print_settings("sentiment evaluate: before vs after")
    cli_args = ["--dataset", args.dataset, "--repeats", str(args.repeats), "--seed", "0"]
    before_src = checkout(args.before)
    t_before, r_before = run(before_src, cli_args)
    print(f"# before ({args.before}): {t_before:.1f} s", flush=True)
    t_after, r_after = run(ROOT, cli_args)
    print(f"# after (this checkout): {t_after:.1f} s", flush=True)
    acc_before = {r["method"]: r["accuracy"] for r in r_before["rows"]}
    acc_after = {r["method"]: r["accuracy"] for r in r_after["rows"]}
    rows = [[m, f"{acc_before.get(m, float('nan')):.4f}", f"{acc_after[m]:.4f}",
             f"{abs(acc_after[m] - acc_before.get(m, float('nan'))):.4f}"] for m in acc_after]
    worst = max(abs(acc_after[m] - acc_before[m]) for m in acc_after if m in acc_before)
    text = "\n".join([
        f"# sentiment evaluate --dataset {args.dataset} --repeats {args.repeats}: before vs after", "",
        "Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), "",
        md_table(["", "before", "after", "ratio"],
                 [["wall time (s, whole command incl. encoding)", f"{t_before:.1f}", f"{t_after:.1f}",
                   f"{t_before / t_after:.1f}x faster"]]), "",
        md_table(["method", "accuracy before", "accuracy after", "|difference|"], rows), "",
        f"Largest accuracy difference: {worst:.4f} (target: within 0.005).", ""])
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
