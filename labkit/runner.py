"""Executes notebooks headlessly with papermill: parameters injected, copies into the build folder.

The sources in `notebooks/` stay output-free. Each run writes `<build>/<profile>/notebooks/<stem>.ipynb`
(the executed copy, errors included) and the notebook itself writes `<build>/<profile>/results/<stem>.json`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labkit import results
from labkit.config import (
    BUILD_DIR_VARIABLE,
    PROFILE_VARIABLE,
    project_root,
    resolve_build_dir,
    resolve_profile,
)
from labkit.errors import ParameterError, bad_choice, check_positive, check_seed

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


@dataclass(frozen=True)
class RunResult:
    """How one notebook's run ended.

    Attributes:
        notebook: the notebook's stem (`"00_data_tour"`).
        ok: whether every cell ran without error.
        seconds: wall time of the run, kernel start included.
        headline: `"name = value"` of the metric the notebook marked as headline, if any.
        error: where and why it failed (`"cell 7: ValueError: ..."`), or `None`.
        output: the executed copy.
    """

    notebook: str
    ok: bool
    seconds: float
    headline: str | None
    error: str | None
    output: Path

    @property
    def status(self) -> str:
        return "ok" if self.ok else "FAILED"


def notebooks_folder(notebooks_dir: str | os.PathLike | None = None) -> Path:
    """Finds the folder of the source notebooks.

    Args:
        notebooks_dir: the folder; `None` takes the checkout's `notebooks/`.

    Returns:
        The absolute path.
    """
    if notebooks_dir is not None:
        return Path(notebooks_dir).resolve()
    root = project_root()
    if root is None:
        raise ParameterError("notebooks_dir=None: not inside the lab's checkout; pass notebooks_dir")
    return root / "notebooks"


def discover(notebooks_dir: str | os.PathLike | None = None) -> list[Path]:
    """Lists the numbered notebooks (`NN_topic.ipynb`) of a folder.

    Args:
        notebooks_dir: the folder; `None` takes the checkout's `notebooks/`.

    Returns:
        Their paths, in order.
    """
    return sorted(notebooks_folder(notebooks_dir).glob(NOTEBOOK_GLOB))


def select(names: Iterable[str], notebooks_dir: str | os.PathLike | None = None) -> list[Path]:
    """Resolves notebook names to paths.

    Args:
        names: stems (`00_data_tour`), file names, paths, or number prefixes (`00`).
        notebooks_dir: the folder of the source notebooks.

    Returns:
        The notebooks, in the order given; all of them when `names` is empty.

    Raises:
        ParameterError: a name matches no notebook (the message lists the known ones).
    """
    known = discover(notebooks_dir)
    names = list(names)
    if not names:
        return known
    chosen = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        matches = [p for p in known if p.stem == stem or p.stem.split("_", 1)[0] == stem]
        if len(matches) != 1:
            raise bad_choice("notebook", name, [p.stem for p in known])
        chosen.append(matches[0])
    return chosen


def run(
    notebooks: Sequence[str] = (),
    *,
    profile: str | None = None,
    seed: int | None = None,
    jobs: int = 1,
    build_dir: str | os.PathLike | None = None,
    cell_timeout: int | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Executes notebooks with papermill; a failing notebook does not stop the others.

    Args:
        notebooks: names as `select` takes them; empty runs every numbered notebook.
        profile: injected as the `PROFILE` parameter; `None` resolves it as `labkit.setup` does.
        seed: injected as the `SEED` parameter; `None` keeps each notebook's own.
        jobs: how many notebooks run side by side (each in its own kernel).
        build_dir: the build folder; `None` takes `$LABKIT_BUILD_DIR`, then the checkout's `build/`.
        cell_timeout: seconds one cell may run; `None` takes the profile's limit.
        notebooks_dir: the folder of the source notebooks.
        on_result: called with each `RunResult` as soon as its notebook ends.

    Returns:
        One `RunResult` per notebook, in the order of `notebooks`.
    """
    resolved = resolve_profile(profile)
    check_positive("jobs", jobs)
    if seed is not None:
        check_seed("seed", seed)
    if cell_timeout is not None:
        check_positive("cell_timeout", cell_timeout)
    paths = select(notebooks, notebooks_dir)
    build = resolve_build_dir(build_dir)
    out_dir = build / resolved.name / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.part.ipynb"):
        stale.unlink()
    parameters = {"PROFILE": resolved.name}
    if seed is not None:
        parameters["SEED"] = seed
    timeout = cell_timeout if cell_timeout is not None else resolved.cell_timeout
    tasks = [(path, out_dir, build, resolved.name, parameters, timeout) for path in paths]

    finished: list[RunResult] = []
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            finished.append(_execute(*task))
            if on_result:
                on_result(finished[-1])
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
            futures = [pool.submit(_execute, *task) for task in tasks]
            for future in futures:
                finished.append(future.result())
                if on_result:
                    on_result(finished[-1])
    return finished


def _execute(source: Path, out_dir: Path, build: Path, profile: str, parameters: dict, timeout) -> RunResult:
    """Runs one notebook into `out_dir` (in this process or a worker)."""
    import papermill

    results_path = results.results_dir(build, profile) / f"{source.stem}.json"
    results_path.unlink(missing_ok=True)  # never report the headline of an earlier run
    output = out_dir / source.name
    partial = out_dir / f".{source.stem}.part.ipynb"
    error = None
    started = time.perf_counter()
    try:
        with _kernel_environment({BUILD_DIR_VARIABLE: str(build), PROFILE_VARIABLE: profile}):
            papermill.execute_notebook(
                str(source),
                str(partial),
                parameters=parameters,
                kernel_name="python3",
                language="python",
                progress_bar=False,
                cwd=str(source.parent),
                execution_timeout=timeout,
            )
    except papermill.PapermillExecutionError as exc:
        error = f"cell {exc.cell_index}: {exc.ename}: {_first_line(exc.evalue)}"
    except Exception as exc:  # kernel died, cell timed out, unreadable notebook...
        error = f"{type(exc).__name__}: {_first_line(str(exc))}"
    seconds = time.perf_counter() - started
    if partial.exists():
        os.replace(partial, output)  # the executed copy, complete, errors and all
    headline = None
    if results_path.exists():
        pair = results.headline(results.read(results_path))
        if pair is not None:
            headline = f"{pair[0]} = {_format_value(pair[1])}"
    return RunResult(source.stem, error is None, seconds, headline, error, output)


@contextlib.contextmanager
def _kernel_environment(values: dict[str, str]):
    """Sets the variables that the kernel inherits, and restores the caller's afterwards."""
    values = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"), **values}
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _first_line(text: str, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows: Sequence[RunResult]) -> str:
    """Formats the runner's table.

    Args:
        rows: the `RunResult`s.

    Returns:
        One line per notebook: notebook, status, seconds, headline metric or error.
    """
    header = ("notebook", "status", "seconds", "headline / error")
    body = [(r.notebook, r.status, f"{r.seconds:.1f}", r.error or r.headline or "-") for r in rows]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(3)]
    lines = []
    for line in [header, *body]:
        lines.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line[:3])) + "  " + line[3])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(header[3]))
    return "\n".join(lines)
