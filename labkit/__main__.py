"""Command line: `python -m labkit run ...`, `book ...`, `rehearse ...` and `grade ...`."""

from __future__ import annotations

import argparse
import sys
import time

from labkit.config import BUILD_DIR_VARIABLE, PROFILES
from labkit.errors import LabkitError, ParameterError
from labkit.grading import cli as grading

DEFAULT_JOBS = 2  # labkit.runner.DEFAULT_JOBS, without importing the runner for --help
# The parameters of labkit's functions, as the command line names them.
OPTIONS = {"build_dir": "--build-dir", "cell_timeout": "--cell-timeout", "jobs": "--jobs", "seed": "--seed",
           "profile": "--profile"}


def _lower(text: str) -> str:
    return text.strip().lower()


def _as_option(message: str, args) -> str:
    """`build_dir='x' ...` -> `--build-dir='x' ...`: errors name what the user typed (or the
    environment variable, when the option was not given)."""
    name, equals, rest = message.partition("=")
    if not equals or name not in OPTIONS:
        return message
    if name == "build_dir" and getattr(args, "build_dir", None) is None:
        return f"{BUILD_DIR_VARIABLE}={rest}"
    return f"{OPTIONS[name]}={rest}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labkit", description="Run the lab's notebooks, build its book, grade submissions.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="execute notebooks with papermill into the build folder")
    run.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help="stems, file names, number prefixes, <stem>-<variant>, or paths to notebooks; default: all")
    run.add_argument("--profile", type=_lower, choices=sorted(PROFILES), help="default: $LABKIT_PROFILE, then 'full'")
    run.add_argument("--jobs", type=int, help=f"notebooks run side by side (default {DEFAULT_JOBS}, the faster on 2 cores)")
    run.add_argument("--seed", type=int, help="inject SEED into every notebook (default: each notebook's own)")
    run.add_argument("--cell-timeout", type=int, help="seconds one cell may run (default: the profile's)")
    run.add_argument("--build-dir", help="default: $LABKIT_BUILD_DIR, then build/ of the checkout")
    run.add_argument("--force", action="store_true", help="run every notebook, even those unchanged since their last run")

    book = commands.add_parser("book", help="build the jupyter-book site from the executed notebooks")
    book.add_argument("--profile", type=_lower, choices=sorted(PROFILES), help="whose executed notebooks (default as for run)")
    book.add_argument("--build-dir", help="default: $LABKIT_BUILD_DIR, then build/ of the checkout")
    book.add_argument("--check", action="store_true",
                      help="then open every page in headless Chromium (Debian's chromium, chromium-driver; selenium): "
                           "console errors, images, internal links, search; screenshots to <build>/<profile>/screenshots")
    rehearse = commands.add_parser("rehearse", help="run the notebooks on the full profile's code paths against a "
                                   "local mirror of its datasets (CI: no network)")
    rehearse.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="as for run; default: all")
    rehearse.add_argument("--jobs", type=int, help=f"notebooks run side by side (default {DEFAULT_JOBS})")
    rehearse.add_argument("--build-dir", help="default: $LABKIT_BUILD_DIR, then build/ of the checkout")
    grading.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "grade":
            return grading.run(args)
        if args.command == "rehearse":
            return _rehearse(args)
        return _book(args)
    except ParameterError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {_as_option(str(exc), args)}\n")
    except LabkitError as exc:
        parser.exit(1, f"{parser.prog} {args.command}: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog} {args.command}: interrupted\n")


def _run(args) -> int:
    from labkit import runner

    checked = runner.plan(args.notebooks, profile=args.profile, seed=args.seed, jobs=args.jobs,
                          build_dir=args.build_dir, cell_timeout=args.cell_timeout)
    progress = runner.Progress()
    started = time.perf_counter()

    def on_start(plan):
        skipped = f"; {len(plan.skips)} unchanged, skipped (--force runs them)" if plan.skips else ""
        print(f"running {len(plan.to_run)} of {len(plan.jobs)} notebook(s) on profile {plan.profile.name}, "
              f"{plan.workers} at a time, into {plan.run_dir}{skipped}; logs in {plan.run_dir / 'logs'}", flush=True)

    def on_result(r):
        tail = f": {r.skipped}" if r.skipped else (f": {r.error} (log: {r.log})" if r.error else "")
        progress.line(f"  {r.status:<7} {r.notebook} ({r.seconds:.1f} s){tail}")

    try:
        rows = runner.execute(checked, force=args.force, on_start=on_start, on_result=on_result, progress=progress)
    except runner.Interrupted as stop:
        if stop.results:
            print("\n" + runner.format_table(stop.results))
        print(f"{stop}; the finished notebooks' copies are in {checked.run_dir / 'notebooks'}", file=sys.stderr)
        return 128 + stop.signum
    print()
    print(runner.format_table(rows))
    failed = [r for r in rows if not r.ok]
    ran = sum(1 for r in rows if not r.skipped)
    print(f"\nnotebooks: {ran - len(failed)} ok, {len(failed)} failed, {len(rows) - ran} skipped, "
          f"{time.perf_counter() - started:.1f} s in all")
    return 1 if failed else 0


def _rehearse(args) -> int:
    from labkit import rehearsal, runner

    progress = runner.Progress()
    started = time.perf_counter()
    print(f"rehearsing the full profile on a local mirror (profile {rehearsal.PROFILE!r}; tiny lab weights "
          "stand in for ImageNet's, which cannot be downloaded without a network)", flush=True)

    def on_result(r):
        progress.line(f"  {r.status:<7} {r.notebook} ({r.seconds:.1f} s)" + (f": {r.error} (log: {r.log})" if r.error else ""))

    try:
        rows, downloads = rehearsal.rehearse(args.notebooks, jobs=args.jobs, build_dir=args.build_dir,
                                             on_result=on_result, progress=progress)
    except runner.Interrupted as stop:
        if stop.results:
            print("\n" + runner.format_table(stop.results))
        print(f"rehearsal {stop}", file=sys.stderr)
        return 128 + stop.signum
    print()
    print(runner.format_table(rows))
    failed = [r for r in rows if not r.ok]
    fetched = [f"{name} x{count}" for name, count in downloads.items() if count]
    print(f"\nrehearsal: {len(rows) - len(failed)} ok, {len(failed)} failed, {time.perf_counter() - started:.1f} s; "
          f"downloaded from the mirror: {', '.join(fetched) or 'nothing'}")
    twice = [name for name, count in downloads.items() if count > 1]
    if twice:
        print(f"rehearsal: downloaded more than once (the cache did not hold): {', '.join(twice)}")
    return 1 if failed or twice else 0


def _book(args) -> int:
    from labkit import book

    index = book.build(profile=args.profile, build_dir=args.build_dir)
    print(f"book built: {index}")
    if not args.check:
        return 0
    from labkit import sitecheck

    report = sitecheck.check(index.parent, search_word="fingerprints", expect_hit="notebooks/00_data_tour.html",
                             notebook_page="notebooks/00_data_tour.html", screenshots=index.parent.parent / "screenshots")
    for line in report.problems:
        print(f"  problem: {line}")
    print(f"site checked in Chromium: {len(report.pages)} pages, {len(report.problems)} problem(s), "
          f"{len(report.external)} resource(s) of other hosts not loaded (no network); "
          f"screenshots in {index.parent.parent / 'screenshots'}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
