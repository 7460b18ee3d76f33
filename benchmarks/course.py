"""The whole course under the runner: each notebook's wall time against its budget, and the total.

    .venv/bin/python benchmarks/course.py --profile offline [--jobs N] [--build-dir DIR] [NOTEBOOK ...]

Every notebook runs (`--force`), into a throwaway build folder unless `--build-dir` is given. The
budgets are `benchmarks/budgets.py`'s; the load average before and after is printed beside the
figures, since the machine may be shared. Exit status 1 when a notebook failed or missed its budget.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from budgets import COURSE_GOAL, MINUTE, budget, course_total  # noqa: E402

from labkit import runner  # noqa: E402


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def slowest_cells(path: Path, count: int = 3) -> list[tuple[int, float, str]]:
    """The `count` slowest code cells of an executed copy: (In [n], seconds, first line of source)."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []
    timed = [
        (cell.get("execution_count") or 0, cell["metadata"].get("papermill", {}).get("duration") or 0.0,
         "".join(cell.get("source", "")).strip().splitlines()[0][:60] if "".join(cell.get("source", "")).strip() else "")
        for cell in cells if cell.get("cell_type") == "code"
    ]
    return sorted(timed, key=lambda t: -t[1])[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline", choices=("offline", "smoke"))
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    before = load()
    started = time.perf_counter()
    progress = runner.Progress()
    with tempfile.TemporaryDirectory(prefix="labkit-course-") as scratch:
        checked = runner.plan(args.notebooks, profile=args.profile, jobs=args.jobs, build_dir=args.build_dir or scratch)
        try:
            rows = runner.execute(checked, force=True, progress=progress,
                                  on_result=lambda r: progress.line(f"  {r.status:<7} {r.notebook} ({r.seconds:.1f} s)"))
        except runner.Interrupted as stop:  # the table of what finished, still
            print(stop)
            rows = stop.results
        slowest = {row.notebook: slowest_cells(row.output) for row in rows}
    wall = time.perf_counter() - started
    print(f"\nprofile {args.profile}, {checked.workers} job(s) at a time, {os.cpu_count()} cores; "
          f"load average {before} before, {load()} after\n")
    print("| notebook | status | time | budget | verdict |\n| --- | --- | --- | --- | --- |")
    missed = 0
    for row in rows:
        limit = budget(args.profile, row.notebook)
        verdict = "no budget" if limit is None else ("met" if row.ok and row.seconds <= limit else "MISSED")
        missed += verdict == "MISSED" or not row.ok
        shown = f"{limit / MINUTE:.2f} min" if limit else "-"
        print(f"| {row.notebook} | {row.status} | {row.seconds / MINUTE:.2f} min | {shown} | {verdict} |")
    print("\nwhere the time goes (the slowest cells of each notebook, from papermill's timings):")
    for name, cells in slowest.items():
        print(f"  {name}: " + "; ".join(f"In [{n}] {seconds:.0f} s `{line}`" for n, seconds, line in cells))
    ran = sum(r.seconds for r in rows)
    goal = COURSE_GOAL[args.profile]
    print(f"\nsum of notebook times {ran / MINUTE:.2f} min, wall {wall / MINUTE:.2f} min "
          f"(budgets of these notebooks {sum(budget(args.profile, r.notebook) or 0 for r in rows) / MINUTE:.2f} min; "
          f"of the whole planned course {course_total(args.profile) / MINUTE:.2f} min; course goal {goal / MINUTE:.0f} min)")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
