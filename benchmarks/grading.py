"""The grader's speed: 8 smoke submissions on 1 and on 2 Dask workers, and the sandbox's own cost.

Targets (issue 15): grading 8 smoke submissions on 2 workers is at least 1.6× as fast as on 1
worker (2 CPU cores); the sandbox's overhead per submission, against a bare papermill run of the
same notebook, is reported.

    .venv/bin/python benchmarks/grading.py                    # 00, 02, 03, 04, twice each
    .venv/bin/python benchmarks/grading.py --overhead-only --notebooks 00 --copies 1 --overhead-runs 5

Each phase prints the load average beside its times: other processes on the machine slow both
sides of a ratio, not only one, but the absolute seconds move with them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labkit import runner  # noqa: E402
from labkit.grading import batch, checks, sandbox  # noqa: E402
from labkit.grading.execute import execute  # noqa: E402

GOAL = 1.6


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def make_submissions(folder: Path, notebooks: list[str], copies: int) -> list[Path]:
    """Copies the lab's notebooks as learners would hand them in: `learner-K/<stem>.ipynb`."""
    sources = runner.select(notebooks)
    made = []
    for k in range(copies):
        for source in sources:
            target = folder / f"learner-{k + 1}" / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
            made.append(target)
    return made


def grade_all(folder: Path, out: Path, workers: int, setup: str) -> tuple[float, list[dict]]:
    rules = checks.load(ROOT / "grading" / "checks.yml")
    threads = max(1, (os.cpu_count() or 1) // workers)
    options = batch.Options(profile="smoke", seed=0, sandbox=setup, kernel_threads=threads,
                            limits=sandbox.Limits(seconds=1800, cell_seconds=600))
    jobs = batch.jobs(batch.find(folder), rules, options)
    started = time.perf_counter()
    records = batch.grade(jobs, out, workers=workers, progress=False)
    return time.perf_counter() - started, records


def empty_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell("PROFILE = None\nSEED = 0")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    return path


def overhead(paths: list[Path], setup: str, runs: int, scratch: Path) -> list[tuple[str, float, float, str]]:
    """Bare papermill (the runner) against the sandbox, each notebook's runs interleaved.

    Both sides are timed around the whole call: for the sandbox, the working copy, the uid, the
    kernel in bubblewrap, the watchdog, the read-back and the clean-up."""
    rows = []
    binds = sandbox.python_binds()
    for path in paths:
        bare, boxed, failed = [], [], set()
        for _ in range(runs):
            started = time.perf_counter()
            result = runner.run([path.stem], profile="smoke", notebooks_dir=path.parent, build_dir=scratch / "bare")[0]
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            run = execute(path.read_bytes(), notebook=path.stem, models={}, profile="smoke", seed=0, setup=setup,
                          limits=sandbox.Limits(seconds=1800, cell_seconds=600), binds=binds)
            boxed.append(time.perf_counter() - started)
            if not result.ok:
                failed.add(f"bare: {result.error}")
            if not run.ok:
                failed.add(f"sandboxed: {run.reason}")
        rows.append((path.stem, statistics.median(bare), statistics.median(boxed), "; ".join(sorted(failed))))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="+", default=["00", "02", "03", "04"])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--overhead-runs", type=int, default=1, help="runs of each notebook, bare and sandboxed")
    parser.add_argument("--sandbox", default="auto")
    parser.add_argument("--overhead-only", action="store_true", help="skip the 1-against-2-workers batch")
    args = parser.parse_args()

    setup, _ = sandbox.detect(args.sandbox)
    print(f"sandbox {setup}; {os.cpu_count()} cores; {load()}")
    with tempfile.TemporaryDirectory(prefix="labkit-bench-grading-") as tmp:
        scratch = Path(tmp)
        paths = make_submissions(scratch / "submissions", args.notebooks, args.copies)
        walls = {1: 0.0, 2: 0.0}
        for workers in (1, 2) if not args.overhead_only else ():
            before = load()
            walls[workers], records = grade_all(scratch / "submissions", scratch / f"out-{workers}", workers, setup)
            failed = [r["submission"] for r in records if r.get("reason")]
            print(f"{len(paths)} submissions, {workers} worker(s): {walls[workers]:.1f} s "
                  f"(before: {before}; after: {load()}){'; FAILED: ' + ', '.join(failed) if failed else ''}")
        if not args.overhead_only:
            ratio = walls[1] / walls[2]
            print(f"speed-up with 2 workers: {ratio:.2f}x (goal >= {GOAL}x): {'met' if ratio >= GOAL else 'NOT met'}")

        distinct = [p for p in paths if p.parent.name == "learner-1"]
        distinct.append(empty_notebook(scratch / "99_empty.ipynb"))
        print(f"\noverhead of the sandbox ({load()}), median of {args.overhead_runs} run(s):")
        print(f"{'notebook':<22} {'bare papermill s':>17} {'sandboxed s':>12} {'overhead s':>11}")
        for stem, bare, boxed, failed in overhead(distinct, setup, args.overhead_runs, scratch):
            print(f"{stem:<22} {bare:>17.1f} {boxed:>12.1f} {boxed - bare:>+11.1f}  {failed[:120]}")
        print(f"({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
