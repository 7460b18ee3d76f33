"""The worker processes of a run, `jobs` at a time, and what stops them.

SIGINT (Ctrl-C) and SIGTERM stop a run cleanly: no new job starts, the running ones are stopped
(their workers get SIGTERM, then SIGKILL after `STOP_GRACE` seconds, then their kernels' process
groups are killed), their half-written copies are removed, and `Interrupted` says what finished
and what did not.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from labkit import results
from labkit.errors import LabkitError
from labkit.runner import manifest
from labkit.runner.execute import log_path, work
from labkit.runner.selection import Job

STOP_GRACE = 5.0  # seconds a stopped worker gets to shut its kernel down before it is killed


@dataclass(frozen=True)
class RunResult:
    """How one notebook's run ended.

    Attributes:
        notebook: the job's name (`"00_data_tour"`, or `"07_transfer-mobilenet_v2"`).
        ok: whether every cell ran without error (or it was skipped, unchanged).
        seconds: wall time of the run, kernel start included (of the last run, when skipped).
        headline: `"name = value"` of the metric the notebook marked as headline, if any.
        error: where and why it failed (`"In [7]: ValueError: ..."`), or `None`.
        output: the executed copy.
        log: the notebook's log (the kernel's own output, warnings).
        skipped: why it did not run again (`"unchanged since ..."`), or `None`.
    """

    notebook: str
    ok: bool
    seconds: float
    headline: str | None
    error: str | None
    output: Path
    log: Path | None = None
    skipped: str | None = None

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else ("ok" if self.ok else "FAILED")


class Interrupted(LabkitError):
    """The run was stopped by a signal; `results` holds what finished, `stopped` and `not_started` the rest."""

    def __init__(self, signum: int, finished: list[RunResult], stopped: list[str], not_started: list[str]):
        self.signum, self.results, self.stopped, self.not_started = signum, finished, stopped, not_started
        done = ", ".join(r.notebook for r in finished) or "none"
        super().__init__(
            f"interrupted by {signal.Signals(signum).name}: finished {len(finished)} ({done}); "
            f"stopped {len(stopped)} ({', '.join(stopped) or 'none'}); not started {len(not_started)}"
        )


def headline_of(build: Path, profile: str, name: str) -> str | None:
    """The headline metric of a job's results file, as `"name = value"`.

    Args:
        build: the build folder.
        profile: the profile's name.
        name: the job's name.

    Returns:
        The text, or `None` when there is no results file or no headline.
    """
    path = results.results_dir(build, profile) / f"{name}.json"
    if not path.is_file():
        return None
    try:
        pair = results.headline(results.read(path))
    except Exception:  # an unreadable results file shows no headline, the run still counts
        return None
    if pair is None:
        return None
    value = f"{pair[1]:.4g}" if isinstance(pair[1], float) else str(pair[1])
    return f"{pair[0]} = {value}"


def _context():
    """Workers forked from a server that imported papermill once (importing it takes seconds);
    spawned where there is no fork server (not POSIX)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["labkit.runner.engine"])
    return context


class Pool:
    """Runs jobs in worker processes, `workers` at a time, and stops them all on a signal."""

    def __init__(self, run, estimates: dict, progress: Progress, finished: dict, on_result):
        self.plan, self.estimates, self.progress = run, estimates, progress
        self.finished, self.on_result = finished, on_result
        self.context = _context()
        self.events = self.context.Queue()
        self.running: dict[str, tuple] = {}  # name -> (process, job, started)
        self.kernels: dict[str, int] = {}
        self.signum: int | None = None

    def run(self) -> None:
        """Runs the plan's jobs until all have ended, or a signal stops them (then raises `Interrupted`)."""
        pending = list(self.plan.to_run)
        with self._signals():
            try:
                while (pending or self.running) and self.signum is None:
                    while pending and len(self.running) < self.plan.workers and self.signum is None:
                        self._start(pending.pop(0))
                    self._handle(self._next_event())
                    self._reap()
                    self.progress.tick()
            finally:
                stopped = list(self.running)
                if stopped:
                    self._stop_all()
                self.progress.close()
        if self.signum is not None:
            done = [self.finished[j.name] for j in self.plan.jobs if j.name in self.finished]
            raise Interrupted(self.signum, done, stopped, [j.name for j in pending])

    @contextlib.contextmanager
    def _signals(self):
        def stop(signum, frame):
            self.signum = signum

        try:
            previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: the caller handles signals
            previous = {}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _start(self, job: Job) -> None:
        settings = {"run_dir": str(self.plan.run_dir), "parameters": {**self.plan.parameters, **job.parameters},
                    "timeout": self.plan.timeout, "build": str(self.plan.build), "profile": self.plan.profile.name,
                    "threads": max(1, (os.cpu_count() or 1) // self.plan.workers) if self.plan.workers > 1 else None}
        process = self.context.Process(target=work, args=(job, settings, self.events), name=f"labkit-{job.name}")
        process.start()
        self.running[job.name] = (process, job, time.perf_counter())
        self.progress.started(job.name, self.estimates.get(job.name))

    def _next_event(self, timeout: float = 0.25):
        try:
            return self.events.get(timeout=timeout)
        except (queue.Empty, InterruptedError):
            return None

    def _handle(self, event) -> None:
        if event is None:
            return
        kind, name, *rest = event
        if kind == "kernel":
            self.kernels[name] = rest[0]
        elif kind == "cell":
            self.progress.cell(name, *rest)
        elif kind == "done" and name in self.running:
            process, job, started = self.running.pop(name)
            process.join(timeout=10)
            self._finish(job, rest[0], time.perf_counter() - started)

    def _reap(self) -> None:
        """Turns a worker that died without reporting into a failed run."""
        for name, (process, job, started) in list(self.running.items()):
            if process.exitcode is None:
                continue
            event = self._next_event(timeout=1.0)  # its report may still be on its way
            while event is not None:
                self._handle(event)
                event = self._next_event(timeout=0.1)
            if name in self.running:
                del self.running[name]
                self._kill_kernel(name)
                notebooks = self.plan.run_dir / "notebooks"
                for partial in notebooks.glob(f".{name}.{process.pid}.part.ipynb"):  # what ran, kept as a copy
                    os.replace(partial, notebooks / f"{name}.ipynb")
                error = f"the runner's worker died (exit status {process.exitcode})"
                self._finish(job, {"ok": False, "error": error}, time.perf_counter() - started)

    def _finish(self, job: Job, outcome: dict, seconds: float) -> None:
        run_dir = self.plan.run_dir
        output, log = run_dir / "notebooks" / f"{job.name}.ipynb", log_path(run_dir, job.name)
        seconds = outcome.get("seconds", seconds)
        if outcome.get("ok"):
            made = [output] + ([Path(outcome["results"])] if outcome.get("results") else [])
            manifest.record(run_dir, job, {**self.plan.parameters, **job.parameters}, outcome.get("modules"), seconds, made)
        else:
            manifest.forget(run_dir, [job.name])
        row = RunResult(job.name, bool(outcome.get("ok")), seconds, headline_of(self.plan.build, self.plan.profile.name, job.name),
                        outcome.get("error"), output, log)
        self.finished[job.name] = row
        self.progress.finished(job.name)
        if self.on_result:
            self.on_result(row)

    def _stop_all(self) -> None:
        """Stops the running workers (SIGTERM, then SIGKILL), then their kernels."""
        for process, _, _ in self.running.values():
            if process.exitcode is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for process, _, _ in self.running.values():
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                process.kill()
                process.join(timeout=5)
        while (event := self._next_event(timeout=0.05)) is not None:
            if event[0] == "kernel":
                self.kernels[event[1]] = event[2]
        manifest.forget(self.plan.run_dir, list(self.running))
        for name in list(self.running):
            self._kill_kernel(name)
            for leftover in (self.plan.run_dir / "notebooks").glob(f".{name}.*.part.ipynb"):
                leftover.unlink(missing_ok=True)
        for leftover in (self.plan.run_dir / "results").glob(".*.part"):
            leftover.unlink(missing_ok=True)

    def _kill_kernel(self, name: str) -> None:
        pid = self.kernels.pop(name, None)
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
