"""Grades many submissions on Dask: a `LocalCluster` of N workers, or an existing scheduler. `grade(...)`.

Each submission is one task; the task never raises (a submission that fails, loops, exhausts
memory or kills its kernel gets rows that say so), and its record is written as soon as it
completes, so that an interrupted run resumes where it stopped: a submission whose record carries
the same key (its bytes, its checks, the profile, seed and limits) is not graded again.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from labkit.grading import report
from labkit.grading.checks import Checks, NotebookChecks
from labkit.grading.sandbox import Limits

RECORDS = "records"


@dataclass(frozen=True)
class Options:
    """How a batch is graded.

    Attributes:
        profile: injected as `PROFILE`; also the profile the checks' expected values are read for.
        seed: injected as `SEED`.
        limits: the sandbox's `Limits`.
        sandbox: `"auto"` or a setup of `sandbox.SETUPS`; each worker checks that it can give it.
        kernel_threads: threads TensorFlow may use in each kernel (`None`: its default).
    """

    profile: str = "smoke"
    seed: int = 0
    limits: Limits = Limits()
    sandbox: str = "auto"
    kernel_threads: int | None = None


@dataclass(frozen=True)
class Job:
    """One submission to grade, as a worker receives it (plain data, and the checks).

    Attributes:
        name: the submission's name (its path below the submissions folder, without `.ipynb`).
        source: the notebook file's bytes.
        notebook: its checks, or `None` when no notebook of the checks matches its name.
        options: the `Options`.
        hidden: what no sandbox may see.
        key: what the record must carry to count as done.
    """

    name: str
    source: bytes
    notebook: NotebookChecks | None
    options: Options
    hidden: tuple[str, ...]
    key: str


def find(submissions: str | os.PathLike) -> list[tuple[str, Path]]:
    """Lists the submitted notebooks.

    Args:
        submissions: one `.ipynb` file, or a folder searched at any depth (checkpoints skipped).

    Returns:
        `(name, path)` pairs, sorted by name.
    """
    from labkit.errors import ParameterError

    root = Path(submissions)
    if root.is_file():
        return [(root.stem, root)]
    if not root.is_dir():
        raise ParameterError(f"submissions={str(root)!r}: no such file or folder")
    found = [p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()]
    if not found:
        raise ParameterError(f"submissions={str(root)!r} holds no .ipynb file")
    return sorted((p.relative_to(root).with_suffix("").as_posix(), p) for p in found)


def jobs(submissions: list[tuple[str, Path]], checks: Checks, options: Options) -> list[Job]:
    """Makes one `Job` per submission, with the key that says when its grade is done.

    Args:
        submissions: `(name, path)` pairs, as `find` returns them.
        checks: the `Checks`.
        options: the `Options`.

    Returns:
        The jobs, in the same order.
    """
    made = []
    prints = {name: _fingerprint(entry) for name, entry in checks.notebooks.items()}
    for name, path in submissions:
        source = path.read_bytes()
        notebook = checks.notebooks.get(checks.match(path.name) or "")
        digest = hashlib.sha256(source)
        digest.update(repr((prints.get(notebook.notebook) if notebook else None, options)).encode())
        made.append(Job(name, source, notebook, options, checks.secrets, digest.hexdigest()))
    return made


def _fingerprint(notebook: NotebookChecks) -> str:
    """What a notebook's grade depends on in its checks: the checks (a function by its source), the data files."""
    def stable(value):
        if callable(value):
            try:
                return inspect.getsource(value)
            except (OSError, TypeError):
                return getattr(value, "__qualname__", repr(value))
        return repr(value)

    digest = hashlib.sha256(json.dumps([notebook.notebook, [(c.name, c.kind, c.points, c.spec) for c in notebook.checks],
                                        notebook.models, notebook.timeout, notebook.memory], default=stable).encode())
    for spec in notebook.data.values():
        digest.update(json.dumps(spec, sort_keys=True).encode())
        if "file" in spec:
            digest.update(hashlib.sha256(Path(spec["file"]).read_bytes()).digest())
    return digest.hexdigest()


@functools.lru_cache(maxsize=4)
def _setup(requested: str) -> str:
    from labkit.grading import sandbox

    return sandbox.detect(requested)[0]


def grade_one(job: Job, data: dict | None = None) -> dict:
    """Grades one submission (in a Dask worker, or in this process). Never raises.

    Args:
        job: the `Job`.
        data: `{name: spec}` of the notebook's data, file data already read into `"arrays"`.

    Returns:
        The record: `submission`, `notebook`, `key`, `setup`, `seconds`, `reason`, `rows`, `executed`.
    """
    if job.notebook is None:
        return {**_record(job), "rows": [{"check": "notebook", "points": 0.0, "max_points": 0.0, "status": "missing",
                                          "reason": "its file name names no notebook of the checks file"}]}
    try:
        return _grade(job, data or {}, _record(job))
    except Exception as exc:  # the grader's own failure: the batch goes on, the rows say so
        return _failed(job, f"the grader failed on this submission: {type(exc).__name__}: {exc}")


def _grade(job: Job, data: dict, record: dict) -> dict:
    from labkit.config import resolve_cache_dir
    from labkit.grading import sandbox
    from labkit.grading.evidence import Evidence
    from labkit.grading.execute import execute
    from labkit.grading.scoring import score

    options = job.options
    setup = _setup(options.sandbox)
    binds, env = sandbox.python_binds(), {}
    cache = resolve_cache_dir()
    if cache.is_dir():
        binds, env["LABKIT_DATA_DIR"] = (*binds, str(cache)), str(cache)
    if options.kernel_threads:
        threads = str(options.kernel_threads)
        env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads, OMP_NUM_THREADS=threads)
    limits = options.limits
    if job.notebook.timeout:
        seconds = job.notebook.timeout
        limits = replace(limits, seconds=seconds, cell_seconds=min(limits.cell_seconds, seconds))
    if job.notebook.memory:
        limits = replace(limits, memory=job.notebook.memory)
    run = execute(job.source, notebook=job.notebook.notebook, models=job.notebook.models, profile=options.profile,
                  seed=options.seed, setup=setup, limits=limits, binds=binds, hidden=job.hidden, extra_env=env)
    rows = score(job.notebook, Evidence(run, options.profile, data))
    record.update(setup=setup, seconds=round(run.seconds, 2), reason=run.reason, peak_memory=run.peak_memory,
                  rows=rows, executed=run.notebook, log=run.log)
    return record


def load_data(notebook: NotebookChecks) -> dict:
    """Reads a notebook's data files in the grader (workers may not share its file system).

    Args:
        notebook: the notebook's checks.

    Returns:
        `{name: spec}`, each file spec with its `"arrays"`.
    """
    from labkit.grading.evidence import load_arrays

    return {name: {**spec, "arrays": load_arrays(spec["file"])} if "file" in spec else spec
            for name, spec in notebook.data.items()}


def grade(jobs_: list[Job], out: Path, *, workers: int = 2, scheduler: str | None = None,
          progress: bool = True) -> list[dict]:
    """Grades every job on Dask, skipping those already done, and writes the reports as it goes.

    Args:
        jobs_: the `Job`s.
        out: the output folder (`grades.csv`, `totals.csv`, `feedback/`, `executed/`, `records/`).
        workers: workers of the `LocalCluster` (one submission at a time each).
        scheduler: the address of an existing Dask scheduler; `None` starts a `LocalCluster`.
        progress: show a tqdm bar over submissions.

    Returns:
        The records of every job, in the jobs' order.
    """
    from dask.distributed import Client, LocalCluster

    done = report.load_records(out / RECORDS)
    todo = [j for j in jobs_ if done.get(j.name, {}).get("key") != j.key]
    if todo:
        with contextlib.ExitStack() as stack:  # closes the cluster, and so every sandbox, even on Ctrl-C
            left = []
            _PREEXISTING.clear()  # what this process had started before: never the grader's to kill
            _PREEXISTING.update(_pids(recursive=True))
            if not scheduler:  # runs last: whatever the cluster's close left alive is killed
                stack.callback(_kill, left)
            cluster = None if scheduler else stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(scheduler or cluster))
            if not scheduler:  # runs first: the workers and their kernels, while they are still our descendants
                stack.push(lambda kind, error, trace: _stop_workers(cluster, left, interrupted=kind is not None))
            _submit_all(client, jobs_, todo, done, out, progress)
    return [done[j.name] for j in jobs_ if j.name in done]


_PREEXISTING: set[int] = set()  # pids of the processes this one had started before the grading run


def _pids(*, recursive: bool) -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=recursive)}


def _descendants() -> list:
    """This process's descendants that the grading run started (the cluster's workers and their kernels):
    not multiprocessing's resource tracker, which exits with us and cleans up after the workers, and not what
    the caller had started before the run (a forkserver, a kernel of the caller's, and their children)."""
    import psutil

    found = []
    for process in psutil.Process().children(recursive=False):
        with contextlib.suppress(psutil.Error):
            if process.pid in _PREEXISTING or "resource_tracker" in " ".join(process.cmdline()):
                continue
            found += [process, *process.children(recursive=True)]
    return found


def _stop_workers(cluster, left: list, *, interrupted: bool) -> None:
    """Before the cluster closes: notes the workers and their kernels, and after Ctrl-C or a failure kills them
    at once. A worker whose task waits on a kernel mid-cell can keep the cluster's close waiting long on a
    loaded machine (120 s and more in CI); with its processes gone the close has nothing to wait for. Each
    nanny is told first that the cluster is closing, so that it does not start a new worker in place of the
    killed one."""
    found = _descendants()
    left.extend(found)
    if interrupted:
        for nanny in list(cluster.workers.values()):
            with contextlib.suppress(Exception):
                nanny.close_gracefully(reason="the grader was interrupted")
        _kill(found)


def kill_descendants() -> None:
    """Kills every process this one started (the cluster's workers and their kernels), but the resource tracker."""
    _kill(_descendants())


def _kill(processes: list) -> None:
    """SIGKILLs the processes still alive after the cluster closed: an interrupted run leaves no worker or
    kernel behind, even when closing the cluster timed out on a loaded machine."""
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(processes, timeout=10)


def _submit_all(client, jobs_: list[Job], todo: list[Job], done: dict, out: Path, progress: bool) -> None:
    """Submits the jobs left to do, and saves each record as soon as its task completes."""
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    data = {}
    for job in todo:  # each notebook's data travels once to every worker
        if job.notebook is not None and job.notebook.data and job.notebook.notebook not in data:
            data[job.notebook.notebook] = client.scatter([load_data(job.notebook)], broadcast=True, hash=False)[0]
    futures = {client.submit(grade_one, job, data.get(job.notebook.notebook) if job.notebook else None,
                             pure=False, key=f"grade-{i}-{job.key[:12]}"): job for i, job in enumerate(todo)}
    with tqdm(total=len(jobs_), initial=len(jobs_) - len(todo), unit="submission", desc="grading",
              disable=not progress, dynamic_ncols=True) as bar:
        for future in as_completed(futures):
            record = _result(future, futures[future])
            done[record["submission"]] = record
            report.save(out, record, [done[j.name] for j in jobs_ if j.name in done])
            bar.update(1)


def _result(future, job: Job) -> dict:
    try:
        return future.result()
    except Exception as exc:  # the worker died under the task (KilledWorker), or the cluster went away
        return _failed(job, f"the grading worker failed: {type(exc).__name__}: {exc}")


def _record(job: Job) -> dict:
    return {"submission": job.name, "notebook": job.notebook.notebook if job.notebook else None, "key": job.key,
            "setup": None, "seconds": 0.0, "reason": None, "peak_memory": 0, "executed": "", "log": ""}


def _failed(job: Job, reason: str) -> dict:
    record = {**_record(job), "reason": reason}
    record["rows"] = [{"check": c.name, "points": 0.0, "max_points": c.points, "status": "missing", "reason": reason}
                      for c in job.notebook.checks]
    return record
