"""One notebook's execution, in a worker process of its own (see `scheduler`; papermill's side is `engine`).

The worker sends its file descriptors 1 and 2 to the notebook's log, `<build>/<profile>/logs/<name>.log`
(appended), so that what the kernel process prints (TensorFlow's C++ lines, absl) and what
jupyter_client and papermill warn about in the worker never reach the console. It reports to the
runner through a queue: the kernel's pid, each code cell as it starts, and how the run ended.
papermill writes the executed copy under a temporary name, `.<name>.<pid>.part.ipynb`, in the
same folder, renamed into place when the run ends (errors and all); a run stopped half-way leaves
no such file behind (and a later run removes any that a killed one left).
"""

from __future__ import annotations

import ast
import logging
import os
import signal
import time
from pathlib import Path

from labkit.config import BUILD_DIR_VARIABLE, PROFILE_VARIABLE, VARIANT_VARIABLE
from labkit.runner.selection import Job

PARTIAL_GLOB = ".*.part.ipynb"


def log_path(run_dir: Path, name: str) -> Path:
    """The log of one job.

    Args:
        run_dir: `<build>/<profile>`.
        name: the job's name.

    Returns:
        `<build>/<profile>/logs/<name>.log`.
    """
    return run_dir / "logs" / f"{name}.log"


def work(job: Job, settings: dict, events) -> None:
    """Runs one job and puts `("done", name, outcome)` on `events` (the worker process's target).

    Args:
        job: the `Job`.
        settings: `run_dir`, `parameters`, `timeout`, `build`, `profile`, `threads` (see `pool`).
        events: the runner's queue.
    """
    from labkit.runner import engine  # papermill: only in the worker (importing it takes seconds)

    engine.connect(events, job.name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides what Ctrl-C stops
    signal.signal(signal.SIGTERM, _raise_interrupt)
    run_dir = Path(settings["run_dir"])
    log = log_path(run_dir, job.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} labkit run {job.name} (pid {os.getpid()})", flush=True)
    os.environ.update({
        BUILD_DIR_VARIABLE: str(settings["build"]),
        PROFILE_VARIABLE: settings["profile"],
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
    })
    if settings.get("threads"):  # jobs side by side share the cores: one TensorFlow pool each, not one per core
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(settings["threads"]))
        os.environ.setdefault("OMP_NUM_THREADS", str(settings["threads"]))
    if job.variant:
        os.environ[VARIANT_VARIABLE] = job.variant
    else:
        os.environ.pop(VARIANT_VARIABLE, None)
    outcome = _execute(job, run_dir, settings["parameters"], settings["timeout"])
    events.put(("done", job.name, outcome))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def _execute(job: Job, run_dir: Path, parameters: dict, timeout) -> dict:
    """Executes the notebook into the build folder; returns how it ended."""
    import papermill

    from labkit.runner.engine import ENGINE

    out_dir = run_dir / "notebooks"
    output = out_dir / f"{job.name}.ipynb"
    partial = out_dir / f".{job.name}.{os.getpid()}.part.ipynb"
    results_path = run_dir / "results" / f"{job.name}.json"
    results_path.unlink(missing_ok=True)  # never report the headline of an earlier run
    outcome = {"ok": False, "error": None, "modules": None}
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(job.source), str(partial), parameters=parameters, engine_name=ENGINE,
            kernel_name="python3", language="python", progress_bar=False, log_output=False,
            cwd=str(job.source.parent), execution_timeout=timeout, outcome=outcome,
        )
        outcome["ok"] = True
    except papermill.PapermillExecutionError as exc:
        outcome["error"] = f"In [{exc.exec_count}]: {exc.ename}: {first_line(exc.evalue)}".rstrip(": ")
    except KeyboardInterrupt as exc:
        partial.unlink(missing_ok=True)
        outcome["error"] = f"stopped: {exc}"
        return outcome
    except Exception as exc:  # the kernel died or did not start, a cell timed out, an unreadable notebook
        where = f"In [{outcome['cell']}]: " if outcome.get("cell") else ""
        outcome["error"] = f"{where}{type(exc).__name__}: {first_line(str(exc))}"
        logging.getLogger("labkit.runner").exception("the run of %s failed", job.name)
    finally:
        _stop_kernel(outcome.get("kernel"))
    outcome["seconds"] = time.perf_counter() - started
    if partial.exists():
        os.replace(partial, output)  # the executed copy, complete, errors and all
    outcome["results"] = str(results_path) if results_path.is_file() else None
    return outcome


def _stop_kernel(pid: int | None) -> None:
    """Kills what is left of the kernel's process group (nothing, after a normal shutdown)."""
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def first_line(text: str, limit: int = 160) -> str:
    """The first non-empty line of `text`, cut to `limit` characters.

    Args:
        text: any text.
        limit: the most characters kept.

    Returns:
        The line.
    """
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


