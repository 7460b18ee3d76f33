"""Building the book from executed notebooks, against its budget (issue 16: at most 60 s on 2 cores).

    .venv/bin/python benchmarks/book_build.py [--profile offline] [--build-dir DIR] [--repeat 3] [--check]

It builds the site of the executed copies already in `<build>/<profile>/` (run `make lab`, or
`python -m labkit run --profile smoke`, first) `--repeat` times from scratch (jupyter-book's own
cache removed before each build, as on a fresh clone), and prints each build's seconds, the median,
and the load average beside them; `--check` also times `sitecheck` (every page in headless Chromium).
Exit status 1 when the median build misses the budget, 2 when there is nothing to build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time

from labkit import book
from labkit.config import resolve_build_dir

BUDGET = 60.0  # seconds, the issue's


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    run_dir = resolve_build_dir(args.build_dir) / args.profile
    executed = sorted((run_dir / "notebooks").glob("*.ipynb"))
    if not executed:
        print(f"nothing to build: no executed notebooks in {run_dir / 'notebooks'}", file=sys.stderr)
        return 2
    print(f"book of {len(executed)} executed notebooks ({args.profile}); load average before "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    seconds = []
    for attempt in range(args.repeat):
        shutil.rmtree(run_dir / "book", ignore_errors=True)  # the staged sources and jupyter-book's _build
        started = time.perf_counter()
        index = book.build(profile=args.profile, build_dir=args.build_dir)
        seconds.append(time.perf_counter() - started)
        print(f"  build {attempt + 1}: {seconds[-1]:.1f} s")
    median = statistics.median(seconds)
    print(f"median {median:.1f} s against a budget of {BUDGET:.0f} s: {'met' if median <= BUDGET else 'MISSED'}; "
          f"load average after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.check:
        from labkit import sitecheck

        started = time.perf_counter()
        report = sitecheck.check(index.parent, search_word="fingerprints", notebook_page="notebooks/00_data_tour.html",
                                 screenshots=run_dir / "screenshots")
        print(f"sitecheck: {len(report.pages)} pages, {len(report.problems)} problem(s) in "
              f"{time.perf_counter() - started:.1f} s")
        for line in report.problems:
            print(f"  problem: {line}")
    return 0 if median <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
