"""Plans a run (every argument checked before anything is written or printed), then runs its jobs
in worker processes, skipping those whose last successful run still holds.

Each job runs in a process of its own (`pool`), `jobs` at a time. The runner holds a lock on
`<build>/<profile>` while it runs, so that two runners never share a build folder, and removes the
temporary files that a killed run left there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit._lock import LockBusy, held
from labkit.config import Profile, resolve_build_dir, resolve_profile
from labkit.errors import ParameterError, check_positive, check_seed
from labkit.runner import manifest
from labkit.runner.execute import PARTIAL_GLOB, log_path
from labkit.runner.pool import Interrupted, Pool, RunResult, headline_of
from labkit.runner.progress import Progress
from labkit.runner.selection import Job, plan_jobs

# Two notebooks side by side: 1.68x faster than one at a time on 2 cores (benchmarks/jobs.py, benchmarks/README.md).
DEFAULT_JOBS = 2


@dataclass
class Plan:
    """A checked run: what `plan` resolved, before anything was written."""

    profile: Profile
    jobs: list[Job]
    build: Path
    parameters: dict
    timeout: int | None
    workers: int
    to_run: list[Job] = field(default_factory=list)
    skips: dict[str, str] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return self.build / self.profile.name


def plan(notebooks: Sequence[str] = (), *, profile: str | None = None, seed: int | None = None,
         jobs: int | None = None, build_dir: str | os.PathLike | None = None, cell_timeout: int | None = None,
         notebooks_dir: str | os.PathLike | None = None) -> Plan:
    """Checks every argument and the build folder; writes nothing but an empty build folder.

    Args:
        notebooks, profile, seed, jobs, build_dir, cell_timeout, notebooks_dir: as `run`'s.

    Returns:
        The `Plan`.

    Raises:
        ParameterError: one line naming the parameter and what is allowed.
    """
    resolved = resolve_profile(profile)
    workers = DEFAULT_JOBS if jobs is None else check_positive("jobs", jobs)
    if seed is not None:
        check_seed("seed", seed)
    if cell_timeout is not None:
        check_positive("cell_timeout", cell_timeout)
    selected = plan_jobs(notebooks, notebooks_dir)
    build = usable_build_dir(build_dir)
    parameters = {"PROFILE": resolved.name} | ({"SEED": seed} if seed is not None else {})
    timeout = cell_timeout if cell_timeout is not None else resolved.cell_timeout
    return Plan(resolved, selected, build, parameters, timeout, workers)


def usable_build_dir(build_dir: str | os.PathLike | None) -> Path:
    """Resolves the build folder, creates it, and checks that files can be written in it.

    Args:
        build_dir: the folder, or `None` (see `labkit.config.resolve_build_dir`).

    Returns:
        The folder, absolute.
    """
    build = resolve_build_dir(build_dir).expanduser().absolute()
    try:
        if build.exists() and not build.is_dir():
            raise NotADirectoryError(20, "it is a file, not a folder")
        build.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=build):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, (FileExistsError, NotADirectoryError)) and not build.is_file():
            reason = "a part of its path is a file, not a folder"
        raise ParameterError(f"build_dir={str(build)!r} cannot be used: {reason}") from None
    return build


def job_parameters(run, job: Job) -> dict:
    """The parameters injected into one job: `PROFILE`, `SEED`, then the variant's.

    Args:
        run: the plan.
        job: the job.

    Returns:
        The parameters.
    """
    return {**run.parameters, **job.parameters}


def execute(run: Plan, *, force: bool = False, on_start: Callable[[Plan], None] | None = None,
            on_result: Callable[[RunResult], None] | None = None, progress: Progress | None = None) -> list[RunResult]:
    """Runs a plan: skips what has not changed (unless `force`), runs the rest.

    Args:
        run: from `plan`.
        force: run every job, changed or not.
        on_start: called once the lock is held and the skips are known (`run.to_run`, `run.skips`).
        on_result: called with each `RunResult` as soon as its job ends (skipped ones first).
        progress: the console display; `None` shows nothing.

    Returns:
        One `RunResult` per job, in the plan's order.

    Raises:
        ParameterError: another runner is running into the same build folder.
        Interrupted: SIGINT or SIGTERM stopped the run.
    """
    run_dir = run.run_dir
    for folder in ("notebooks", "results", "logs"):
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    try:
        with held(run_dir / ".run.lock", wait=False):
            _remove_leftovers(run_dir)
            return _execute_locked(run, force, on_start, on_result, progress)
    except LockBusy as busy:
        raise ParameterError(
            f"build_dir={str(run.build)!r} is in use: another labkit run (process {busy.pid}) is running "
            f"into {run_dir}; wait for it, or pass another build_dir"
        ) from None


def _remove_leftovers(run_dir: Path) -> None:
    """Removes the temporary files that a killed run left (executed copies, results, manifest)."""
    for pattern in (f"notebooks/{PARTIAL_GLOB}", "results/.*.part", ".*.part"):
        for leftover in run_dir.glob(pattern):
            leftover.unlink(missing_ok=True)


def _execute_locked(run: Plan, force, on_start, on_result, progress) -> list[RunResult]:
    """`execute`, with the lock held."""
    known = manifest.read(run.run_dir)
    finished: dict[str, RunResult] = {}
    run.to_run, run.skips = [], {}
    for job in run.jobs:
        reason = None if force else manifest.why_run(known.get(job.name), job, job_parameters(run, job))
        output = run.run_dir / "notebooks" / f"{job.name}.ipynb"
        if reason is None and not force:
            entry = known[job.name]
            run.skips[job.name] = f"unchanged since its run of {entry['finished'][:16].replace('T', ' ')}"
            finished[job.name] = RunResult(job.name, True, entry.get("seconds", 0.0), headline_of(run.build, run.profile.name, job.name),
                                           None, output, log_path(run.run_dir, job.name), run.skips[job.name])
        else:
            run.to_run.append(job)
    if on_start:
        on_start(run)
    for job in run.jobs:
        if job.name in finished and on_result:
            on_result(finished[job.name])
    estimates = {name: entry.get("seconds") for name, entry in known.items()}
    with open(os.devnull, "w") as nowhere:
        Pool(run, estimates, progress or Progress(nowhere, live=False), finished, on_result).run()
    return [finished[job.name] for job in run.jobs]


