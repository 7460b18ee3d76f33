"""Executes notebooks headlessly with papermill: parameters injected, copies into the build folder.

The sources in `notebooks/` stay output-free. Each run writes `<build>/<profile>/notebooks/<name>.ipynb`
(the executed copy, errors included), the notebook itself writes `<build>/<profile>/results/<name>.json`,
and what the kernel prints goes to `<build>/<profile>/logs/<name>.log`. A notebook runs again only when
its source, its parameters or a labkit module it imported changed since its last successful run.

- `selection`: which notebooks (and variants) a list of names stands for.
- `scheduler`: the checked plan, the worker processes, the lock, signals.
- `execute`: one notebook in its worker: papermill, the log, the progress reports.
- `manifest`: what each successful run was made of, to skip what has not changed.
- `progress`: the live line (or plain lines) on the console.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from labkit.runner.progress import Progress
from labkit.runner.scheduler import DEFAULT_JOBS, Interrupted, Plan, RunResult, execute, plan
from labkit.runner.selection import NOTEBOOK_GLOB, Job, discover, notebooks_folder, plan_jobs, select

__all__ = [
    "DEFAULT_JOBS", "NOTEBOOK_GLOB", "Interrupted", "Job", "Plan", "Progress", "RunResult", "discover",
    "execute", "format_table", "notebooks_folder", "plan", "plan_jobs", "run", "select",
]


def run(
    notebooks: Sequence[str] = (),
    *,
    profile: str | None = None,
    seed: int | None = None,
    jobs: int | None = None,
    build_dir: str | os.PathLike | None = None,
    cell_timeout: int | None = None,
    notebooks_dir: str | os.PathLike | None = None,
    force: bool = True,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Executes notebooks with papermill; a failing notebook does not stop the others.

    Args:
        notebooks: names as `select` takes them; empty runs every numbered notebook.
        profile: injected as the `PROFILE` parameter; `None` resolves it as `labkit.setup` does.
        seed: injected as the `SEED` parameter; `None` keeps each notebook's own.
        jobs: how many notebooks run side by side (each in its own kernel); `None`: `DEFAULT_JOBS`.
        build_dir: the build folder; `None` takes `$LABKIT_BUILD_DIR`, then the checkout's `build/`.
        cell_timeout: seconds one cell may run; `None` takes the profile's limit.
        notebooks_dir: the folder of the source notebooks.
        force: run every notebook; `False` skips those whose last successful run still holds
            (what `python -m labkit run` does unless given `--force`).
        on_result: called with each `RunResult` as soon as its notebook ends.

    Returns:
        One `RunResult` per notebook (per variant), in the order of `notebooks`.

    Raises:
        ParameterError: a bad argument (before anything ran).
        Interrupted: SIGINT or SIGTERM stopped the run.
    """
    checked = plan(notebooks, profile=profile, seed=seed, jobs=jobs, build_dir=build_dir,
                   cell_timeout=cell_timeout, notebooks_dir=notebooks_dir)
    return execute(checked, force=force, on_result=on_result)


def format_table(rows: Sequence[RunResult]) -> str:
    """Formats the runner's table.

    Args:
        rows: the `RunResult`s.

    Returns:
        One line per notebook: notebook, status, seconds, and the headline metric, the reason it
        was skipped, or the error and the log to read.
    """
    header = ("notebook", "status", "seconds", "headline / error")
    body = []
    for r in rows:
        if r.skipped:
            last = r.skipped + (f"; {r.headline}" if r.headline else "")
        elif r.error:
            last = r.error + (f" (log: {r.log})" if r.log else "")
        else:
            last = r.headline or "-"
        body.append((r.notebook, r.status, f"{r.seconds:.1f}", last))
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(3)]
    lines = []
    for line in [header, *body]:
        lines.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line[:3])) + "  " + line[3])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(header[3]))
    return "\n".join(lines)
