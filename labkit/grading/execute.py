"""Executes one submission in a throwaway sandbox and brings back plain data: `execute(...)`.

papermill runs in the grader's process and drives a kernel that lives in the sandbox (see
`kernel`): parameters injected (`PROFILE`, `SEED`), a per-cell timeout, and a watchdog that kills
the sandbox at the notebook's deadline or above its memory. The kernel writes its results under a
build folder that the grader made in the working copy (`LABKIT_BUILD_DIR`); the grader reads them,
and the models that the hand-in cell wrote, as plain data (`plain`), then deletes the working copy.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from labkit import results
from labkit.grading import handin, plain, watch
from labkit.grading.sandbox import Limits, Sandbox, Slot

RESULTS_CAP = 16 * 2**20
_HINTS = {"MemoryError": "the memory limit is {memory}", "BlockingIOError": "the process limit is {processes}"}
_SIGNALS = {signal.SIGXCPU: "its CPU-time limit", signal.SIGXFSZ: "its file-size limit", signal.SIGKILL: "SIGKILL"}


@dataclass
class Execution:
    """What one run of a submission left for the grader: plain data only.

    Attributes:
        setup: the sandbox setup it ran in.
        ok: whether every cell ran without error.
        reason: why it did not run to the end (`"In [4]: ValueError: ..."`), or `None`.
        seconds: wall time, kernel start included.
        peak_memory: the most bytes its processes used together (as the watchdog saw it).
        results: the results file's content, or `None`.
        results_problem: why there are no results, or `None`.
        models: `{name: {"config": json text, "weights": [arrays]} or {"problem": text}}`.
        notebook: the executed copy (JSON text), written by the grader's papermill.
        log: the last lines the kernel wrote to its own stderr.
    """

    setup: str
    ok: bool = False
    reason: str | None = None
    seconds: float = 0.0
    peak_memory: int = 0
    results: dict | None = None
    results_problem: str | None = None
    models: dict = field(default_factory=dict)
    notebook: str = ""
    log: str = ""


def execute(source: bytes, *, notebook: str, models: dict[str, str], profile: str, seed: int, setup: str,
            limits: Limits, binds: tuple[str, ...] = (), hidden: tuple[str, ...] = (),
            extra_env: dict[str, str] | None = None) -> Execution:
    """Runs one submitted notebook in a sandbox of its own.

    Args:
        source: the notebook file's bytes, as submitted.
        notebook: the notebook's name; its results file is `<build>/<profile>/results/<notebook>.json`.
        models: `{name: expression}` of the models to hand back (see `handin`).
        profile: injected as `PROFILE`.
        seed: injected as `SEED`.
        setup: the sandbox setup (`sandbox.SETUPS`).
        limits: the `Limits`.
        binds: folders the kernel sees read-only (`sandbox.python_binds()`, the data cache).
        hidden: files and folders that must stay invisible inside (the checks, the instructor's data).
        extra_env: more variables for the kernel.

    Returns:
        The `Execution`.
    """
    done = Execution(setup=setup)
    try:
        nb = nbformat.reads(source.decode("utf-8"), as_version=4)
    except Exception as exc:  # anything nbformat refuses: bad JSON, not a notebook, wrong version
        done.reason = f"not a readable notebook: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        return done
    _sweep_stale()
    slot = Slot(setup)
    scratch = Path(tempfile.mkdtemp(prefix=f"labkit-grade-{os.getpid()}-"))
    try:
        os.chmod(scratch, 0o711)
        work = scratch / "work"
        work.mkdir(mode=0o700)
        if slot.uid is not None:
            os.chown(work, slot.uid, slot.uid)
        if models:
            nb.cells.append(nbformat.v4.new_code_cell(handin.cell_source(models, str(work / "handin"))))
        box = Sandbox(setup, work, limits, slot.uid, slot.uid, binds, hidden)
        env = box.environment({"LABKIT_BUILD_DIR": str(work / "build"), "LABKIT_PROFILE": profile, **(extra_env or {})})
        started = time.perf_counter()
        _run(done, nb, box, env, scratch, profile, seed)
        done.seconds = time.perf_counter() - started
        _collect(done, work, scratch, notebook, profile, limits)
    finally:
        slot.release()
        shutil.rmtree(scratch, ignore_errors=True)
    return done


def _run(done: Execution, nb, box: Sandbox, env: dict, scratch: Path, profile: str, seed: int) -> None:
    """Executes the notebook with papermill; fills `ok`, `reason`, `peak_memory`, `notebook`, `log`."""
    import papermill

    from labkit.grading.kernel import ENGINE, SandboxKernelManager

    executed = scratch / "executed.ipynb"
    with open(scratch / "kernel.log", "wb") as log:
        km = SandboxKernelManager(box, env, log)
        dog = watch.Watchdog(lambda: km.kernel_pid, box.uid, box.limits.seconds, box.limits.memory)
        dog.start()
        try:
            papermill.execute_notebook(
                nb, str(executed), parameters={"PROFILE": profile, "SEED": seed}, engine_name=ENGINE,
                km=km, output_cap=box.limits.output, execution_timeout=box.limits.cell_seconds,
                kernel_name="python3", language="python", progress_bar=False, log_output=False,
            )
            done.ok = True
        except papermill.PapermillExecutionError as exc:
            message = _first_line(exc.evalue)
            done.reason = f"In [{exc.exec_count}]: {exc.ename}" + (f": {message}" if message else "")
            hint = _HINTS.get(exc.ename)
            if hint:
                done.reason += f" ({hint.format(memory=_size(box.limits.memory), processes=box.limits.processes)})"
        except Exception as exc:  # the kernel died, a cell timed out, the kernel did not start
            done.reason = _failure(exc, km, box.limits) + _running_cell(executed)
        finally:
            dog.stop()
            pid = km.kernel_pid
            watch.kill_all(pid, box.uid)
    if dog.reason:
        done.ok, done.reason = False, dog.reason + _running_cell(executed)
    if not done.ok and "memory" not in (done.reason or "") and dog.peak >= 0.8 * box.limits.memory:
        done.reason += f" (its memory reached {_size(dog.peak)} of its {_size(box.limits.memory)})"
    if not done.ok and dog.most_processes >= 0.9 * box.limits.processes:
        done.reason += f" (it ran {dog.most_processes} processes and threads; the limit is {box.limits.processes})"
    done.peak_memory = dog.peak
    done.notebook = executed.read_text(encoding="utf-8") if executed.exists() else ""
    done.log = _tail(scratch / "kernel.log")


def _failure(exc: Exception, km, limits: Limits) -> str:
    """Says why the run stopped, for what is not an error inside a cell."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(exc, CellTimeoutError):
        return f"killed: a cell ran past the cell timeout of {limits.cell_seconds:g} s"
    if isinstance(exc, DeadKernelError):
        process = getattr(km.provisioner, "process", None) if km.provisioner else None
        status = process.poll() if process is not None else None
        cause = f" (killed by {_SIGNALS.get(-status, signal.Signals(-status).name)})" if status and status < 0 else ""
        return f"the kernel died{cause}"
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


def _collect(done: Execution, work: Path, scratch: Path, notebook: str, profile: str, limits: Limits) -> None:
    """Reads the results file and the handed-back models from the working copy."""
    relative = f"build/{profile}/results/{notebook}.json"
    try:
        copy = scratch / "results.json"
        copy.write_bytes(plain.read_bytes(work, relative, cap=RESULTS_CAP))
        done.results = results.read(copy)
        if not isinstance(done.results, dict) or not isinstance(done.results.get("values"), dict):
            done.results, done.results_problem = None, f"{relative} is not a labkit results file"
    except plain.UnsafeFile as exc:
        done.results_problem = f"no results: {exc}"
    except ValueError as exc:
        done.results_problem = f"no results: {relative} is not JSON ({exc})"
    try:
        manifest = plain.read_json(work, f"handin/{handin.MANIFEST}", cap=2**20)
        entries = manifest["models"].items()
    except (plain.UnsafeFile, KeyError, TypeError, AttributeError) as exc:
        entries = []
        reason = done.reason or str(exc)
        done.models = {"*": {"problem": f"no models handed back: {reason}"}}
    for name, entry in entries:
        done.models[str(name)] = _model(work, entry, limits)


def _model(work: Path, entry, limits: Limits) -> dict:
    """Reads one handed-back model's architecture and weights."""
    if not isinstance(entry, dict) or "problem" in entry:
        return {"problem": str(entry.get("problem") if isinstance(entry, dict) else entry)[:300]}
    try:
        config = plain.read_bytes(work, f"handin/{entry['config']}", cap=16 * 2**20).decode("utf-8")
        weights = plain.read_arrays(plain.read_bytes(work, f"handin/{entry['weights']}", cap=limits.file_size),
                                    cap=limits.file_size)
    except (plain.UnsafeFile, KeyError, TypeError, UnicodeDecodeError) as exc:
        return {"problem": f"the handed-back model cannot be read: {exc}"}
    return {"config": config, "weights": weights}


def _sweep_stale() -> None:
    """Removes the working copies of graders that died (killed workers, Ctrl-C) before cleaning up."""
    for folder in Path(tempfile.gettempdir()).glob("labkit-grade-*-*"):
        pid = folder.name.split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _running_cell(executed: Path) -> str:
    """` in In [k]`: the cell that was running when the watchdog killed the kernel."""
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # no executed copy yet: the kernel never started
        return ""
    started = [c for c in nb.cells if c.cell_type == "code" and c.get("metadata", {}).get("papermill", {}).get("start_time")]
    if not started:
        return ""
    count = started[-1].get("execution_count")
    if count is None:  # it died before the kernel numbered the cell: the number it would have had
        count = 1 + max((c.get("execution_count") or 0 for c in started[:-1]), default=0)
    return f" in In [{count}]"


def _tail(path: Path, lines: int = 20, cap: int = 4000) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - cap))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _first_line(text: str, limit: int = 200) -> str:
    line = next((part for part in (text or "").strip().splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _size(count: int) -> str:
    return f"{count / 2**30:.3g} GiB" if count >= 2**30 else f"{count / 2**20:.0f} MiB"
