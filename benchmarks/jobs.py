"""Whether 2 notebooks side by side beat 1 at a time on this machine (issue 13): the same course,
run once with `--jobs 1` and once with `--jobs 2`, each into a fresh build folder.

    .venv/bin/python benchmarks/jobs.py --profile smoke [NOTEBOOK ...]

With 2 jobs each kernel gets `cores // 2` TensorFlow threads (the runner sets it). The load average
before and after each run is printed: on a shared machine, compare runs made under similar load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from labkit import runner


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke", choices=("offline", "smoke"))
    parser.add_argument("--order", default="1,2", help="the job counts to try, in order (default 1,2)")
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    walls = {}
    for jobs in (int(j) for j in args.order.split(",")):
        before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="labkit-jobs-") as build:
            started = time.perf_counter()
            rows = runner.run(args.notebooks, profile=args.profile, jobs=jobs, build_dir=build)
            walls[jobs] = time.perf_counter() - started
        failed = [r.notebook for r in rows if not r.ok]
        print(f"--jobs {jobs}: {walls[jobs]:.1f} s wall for {len(rows)} notebooks"
              f"{' (FAILED: ' + ', '.join(failed) + ')' if failed else ''}; "
              f"load average {before:.2f} before, {os.getloadavg()[0]:.2f} after", flush=True)
    if 1 in walls and 2 in walls:
        print(f"speed-up of 2 jobs over 1: {walls[1] / walls[2]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
