"""Command line: `python -m labkit run ...`, `python -m labkit book ...` and `python -m labkit grade ...`."""

from __future__ import annotations

import argparse
import sys
import time

from labkit.config import PROFILES
from labkit.errors import LabkitError, ParameterError
from labkit.grading import cli as grading


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labkit", description="Run the lab's notebooks, build its book, grade submissions.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="execute notebooks with papermill into the build folder")
    run.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="stems, file names or number prefixes; default: all")
    run.add_argument("--profile", choices=sorted(PROFILES), help="default: $LABKIT_PROFILE, then 'full'")
    run.add_argument("--jobs", type=int, default=1, help="notebooks run side by side (default 1)")
    run.add_argument("--seed", type=int, help="inject SEED into every notebook (default: each notebook's own)")
    run.add_argument("--cell-timeout", type=int, help="seconds one cell may run (default: the profile's)")
    run.add_argument("--build-dir", help="default: $LABKIT_BUILD_DIR, then build/ of the checkout")

    book = commands.add_parser("book", help="build the jupyter-book site from the executed notebooks")
    book.add_argument("--profile", choices=sorted(PROFILES), help="whose executed notebooks (default as for run)")
    book.add_argument("--build-dir", help="default: $LABKIT_BUILD_DIR, then build/ of the checkout")
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
        return _book(args)
    except ParameterError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
    except LabkitError as exc:
        parser.exit(1, f"{parser.prog} {args.command}: {exc}\n")


def _run(args) -> int:
    from labkit import runner
    from labkit.config import resolve_build_dir, resolve_profile

    profile = resolve_profile(args.profile)
    paths = runner.select(args.notebooks)
    build = resolve_build_dir(args.build_dir)
    print(f"running {len(paths)} notebook(s) on profile {profile.name}, {args.jobs} at a time, into {build / profile.name}")
    started = time.perf_counter()
    rows = runner.run(
        args.notebooks,
        profile=profile.name,
        seed=args.seed,
        jobs=args.jobs,
        build_dir=build,
        cell_timeout=args.cell_timeout,
        on_result=lambda r: print(f"  {r.status:<6} {r.notebook} ({r.seconds:.1f} s)", flush=True),
    )
    print()
    print(runner.format_table(rows))
    failed = [r for r in rows if not r.ok]
    print(f"\nnotebooks: {len(rows) - len(failed)} ok, {len(failed)} failed, {time.perf_counter() - started:.1f} s in all")
    return 1 if failed else 0


def _book(args) -> int:
    from labkit import book

    index = book.build(profile=args.profile, build_dir=args.build_dir)
    print(f"book built: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
