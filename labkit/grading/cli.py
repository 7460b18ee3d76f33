"""`python -m labkit grade SUBMISSIONS --checks CHECKS ...`: the command line of the grader."""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path

from labkit.config import PROFILES
from labkit.errors import ParameterError, check_positive, check_seed

DEFAULT_PROFILE = "offline"  # the embedded data, which every sandbox has (it has no network)
INTERRUPT_GRACE = 60.0  # seconds an interrupted grader has to close its cluster before it exits all the same


def add_parser(subparsers) -> None:
    """Adds the `grade` command to labkit's command line.

    Args:
        subparsers: what `argparse.ArgumentParser.add_subparsers()` returned.
    """
    from labkit.grading.sandbox import SETUPS

    grade = subparsers.add_parser("grade", help="re-execute submitted notebooks in sandboxes and grade them",
                                  description="Re-executes each submitted notebook in a sandbox of its own, applies "
                                  "the instructor's checks and writes grades.csv and a feedback page per submission.")
    grade.add_argument("submissions", metavar="SUBMISSIONS", help="a notebook, or a folder of them (searched at any depth)")
    grade.add_argument("--checks", required=True, metavar="CHECKS", help="the checks file (YAML, or Python with CHECKS)")
    grade.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                       help=f"injected as PROFILE; the checks' expected values are read for it (default {DEFAULT_PROFILE})")
    grade.add_argument("--seed", type=int, default=0, help="injected as SEED (default 0)")
    grade.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                       help="workers of the local Dask cluster, one submission each at a time (default: cores, at most 4)")
    grade.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://host:8786) instead of a local cluster")
    grade.add_argument("--timeout", type=float, default=1800, metavar="S", help="seconds one notebook may run (default 1800)")
    grade.add_argument("--cell-timeout", type=float, metavar="S", help="seconds one cell may run (default: the profile's, at most --timeout)")
    grade.add_argument("--memory", default="4G", metavar="M", help="memory of one submission, all its processes (default 4G)")
    grade.add_argument("--processes", type=int, default=512, metavar="N", help="processes and threads of one submission (default 512)")
    grade.add_argument("--max-file-size", default="256M", metavar="M", help="largest file a submission may write (default 256M)")
    grade.add_argument("--sandbox", choices=("auto", *SETUPS), default="auto",
                       help="isolation (default auto: the strongest this machine gives; see the book's Grading chapter)")
    grade.add_argument("--out", default="graded", metavar="DIR", help="where grades.csv and the feedback go (default ./graded)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")


def _options(args):
    """Checks every option before any work starts."""
    from labkit.grading import batch
    from labkit.grading.sandbox import Limits, parse_size

    check_positive("workers", args.workers)
    check_seed("seed", args.seed)
    check_positive("processes", args.processes)
    cell = args.cell_timeout or min(PROFILES[args.profile].cell_timeout or args.timeout, args.timeout)
    limits = Limits(seconds=args.timeout, cell_seconds=cell, memory=parse_size("memory", args.memory),
                    processes=args.processes, file_size=parse_size("max_file_size", args.max_file_size))
    threads = None if args.scheduler else max(1, (os.cpu_count() or 1) // args.workers)
    return batch.Options(profile=args.profile, seed=args.seed, limits=limits, sandbox=args.sandbox, kernel_threads=threads)


def run(args) -> int:
    """Grades the submissions as the command line asked.

    Args:
        args: the parsed arguments of `add_parser`'s command.

    Returns:
        The exit status: 0 when every submission got its grade, 1 when the grader itself failed on some.
    """
    from labkit.grading import batch, checks, report, sandbox

    options = _options(args)
    rules = checks.load(args.checks)
    submissions = batch.find(args.submissions)
    if not args.scheduler:  # remote workers choose their own setup, each the strongest it can give
        setup, notes = sandbox.detect(options.sandbox)
        _announce(setup, notes, rules)
        options = dataclasses.replace(options, sandbox=setup)
    jobs = batch.jobs(submissions, rules, options)
    out = Path(args.out).resolve()
    where = f"the scheduler at {args.scheduler}" if args.scheduler else f"{args.workers} local worker(s)"
    earlier = report.load_records(out / batch.RECORDS)
    already = sum(1 for job in jobs if earlier.get(job.name, {}).get("key") == job.key)
    print(f"grading {len(jobs) - already} submission(s) on {where}, profile {options.profile}, into {out}"
          + (f" ({already} already graded by an earlier run)" if already else ""), flush=True)
    started = time.perf_counter()
    watching = threading.current_thread() is threading.main_thread()
    closed = threading.Event()  # set once grade() has returned or raised: the watch then exits nothing
    previous = signal.signal(signal.SIGINT, _on_interrupt(out, closed)) if watching else None
    try:
        records = batch.grade(jobs, out, workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(_interrupted(out), file=sys.stderr)
        return 130
    finally:
        closed.set()
        if watching:
            signal.signal(signal.SIGINT, previous)
    totals = [report.total(r) for r in records]
    for line in totals:
        print(f"  {line['points']:>6g} / {line['max_points']:<6g} {line['submission']}  {line['reason'][:100]}")
    print(f"graded {len(records)} submission(s) in {time.perf_counter() - started:.1f} s: {out / 'grades.csv'}")
    failed = [r for r in records if (r.get("reason") or "").startswith(("the grader failed", "the grading worker failed"))]
    return 1 if failed else 0


def _interrupted(out: Path) -> str:
    """What an interrupted grader says: how many submissions it graded (their records are saved)."""
    from labkit.grading import batch, report

    finished = len(report.load_records(out / batch.RECORDS))
    return f"\ninterrupted: {finished} submission(s) graded; run the same command again to grade the rest"


def _on_interrupt(out: Path, closed: threading.Event):
    """The grader's Ctrl-C: raises KeyboardInterrupt, so that the cluster closes and kills what it started, and
    starts a watch that ends the process `INTERRUPT_GRACE` seconds later should that close hang (it did in CI,
    past 120 s, under load): the watch kills the workers and kernels left and exits with status 130, unless
    `closed` is set first (the grade returned: a caller that goes on living, a notebook, is not ended). Each
    submission's record is written whole as soon as it is graded, so an exit at any moment loses no grade."""

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts the close itself
        threading.Thread(target=_exit_after_grace, args=(out, closed), name="labkit-interrupt", daemon=True).start()
        raise KeyboardInterrupt

    return handler


def _exit_after_grace(out: Path, closed: threading.Event) -> None:
    from labkit.grading import batch

    if closed.wait(INTERRUPT_GRACE):
        return
    batch.kill_descendants()
    print(_interrupted(out) + f" (the cluster had not closed {INTERRUPT_GRACE:g} s after Ctrl-C)", file=sys.stderr, flush=True)
    os._exit(130)


def _announce(setup: str, notes: list[str], rules) -> None:
    """Says which protection the submissions get, loudly when it is weak."""
    from labkit.grading.sandbox import PROTECTION

    print(f"sandbox: {setup}: {PROTECTION[setup]}")
    for note in notes:
        print(f"  (not stronger because {note})")
    if setup == "none":
        bar = "!" * 78
        print(f"{bar}\nWARNING: submissions run WITHOUT ISOLATION, as your own user.\n{PROTECTION['none']}\n{bar}",
              file=sys.stderr)
    if setup == "user":
        readable = [p for p in rules.secrets if _readable_by_others(Path(p))]
        for path in readable:
            print(f"WARNING: {path} can be read by other users, so by the submissions: chmod o-r it", file=sys.stderr)


def _readable_by_others(path: Path) -> bool:
    """Whether a user who is neither owner nor in the group can read the file (every folder on the way searchable)."""
    folders = [p for p in path.parents]
    if not all(os.stat(p).st_mode & stat.S_IXOTH for p in folders):
        return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)

