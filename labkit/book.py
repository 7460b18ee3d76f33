"""The course site: the executed notebooks of one profile, published with Jupyter Book v1.

`build(profile=...)` stages a book source folder, `<build>/<profile>/book/`, made of the
checkout's `_config.yml`, `_toc.yml` and `book/` and of the EXECUTED copy of each notebook
that `_toc.yml` lists, taken from `<build>/<profile>/notebooks/`. It runs `jupyter-book build`
on it (execution is off in `_config.yml`: the pages show the run that made them) and moves the
HTML to `<build>/<profile>/site/`. The source notebooks in `notebooks/` are never read or written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from labkit import glance
from labkit.config import project_root, resolve_build_dir, resolve_profile
from labkit.errors import LabkitError

__all__ = ["build", "listed_notebooks"]

BOOK_FILES = ("_config.yml", "_toc.yml")
BOOK_FOLDERS = ("book",)
NOTEBOOKS = "notebooks"
STAGE_NAME = "book"  # <build>/<profile>/book/: the staged source (and jupyter-book's _build/)
SITE_NAME = "site"  # <build>/<profile>/site/: the HTML
LOG_NAME = "book.log"  # <build>/<profile>/book.log: jupyter-book's output of the last build
LOG_TAIL_LINES = 12  # the last lines of the log quoted in the error, after its warnings
LOG_PROBLEM_LINES = 20  # at most this many warning and error lines quoted in the error
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Sphinx colours its log even when it is not a terminal
_PROBLEM = re.compile(r"WARNING|ERROR|CRITICAL|Error:|Exception")
# The cell tag that marks an error output as intended (the same tag nbval and myst-nb use).
RAISES_TAG = "raises-exception"


def build(
    *,
    profile: str | None = None,
    build_dir: str | os.PathLike | None = None,
    root: str | os.PathLike | None = None,
    strict: bool = True,
) -> Path:
    """Builds the course site from the executed notebooks of one profile.

    Every run starts from an empty staging folder and an empty site folder, so no page of an
    earlier build survives. Before anything is touched, each notebook that `_toc.yml` lists must
    have an executed copy in `<build>/<profile>/notebooks/`.

    Args:
        profile: `"smoke"`, `"offline"` or `"full"`; `None` takes `$LABKIT_PROFILE`, then the
            default profile (see `labkit.config.resolve_profile`).
        build_dir: the build folder; `None` takes `$LABKIT_BUILD_DIR`, then the checkout's
            `build/` (see `labkit.config.resolve_build_dir`).
        root: the folder that holds `_config.yml`, `_toc.yml` and `book/`; `None` takes the
            checkout (`labkit.config.project_root()`).
        strict: fail on any Sphinx warning (`jupyter-book build -W --keep-going`: every warning
            is reported, then the build fails) and refuse a notebook whose executed copy holds
            an error output in a cell not tagged `raises-exception`. `False` builds anyway.

    Returns:
        The path of the site's `index.html`, in `<build>/<profile>/site/`.

    Raises:
        LabkitError: no checkout or book files found, a listed notebook was not executed (or
            holds an unexpected error under `strict`), or jupyter-book failed (with the tail
            of its log; the whole log is `<build>/<profile>/book.log`).
    """
    name = resolve_profile(profile).name
    _require_jupyter_book()
    root = _book_root(root)
    run_dir = resolve_build_dir(build_dir) / name
    executed_dir = run_dir / NOTEBOOKS
    listed = listed_notebooks(root / "_toc.yml")
    pages = _variant_pages(root, listed)
    stems = [name for stem in listed for name in pages.get(stem, [stem])]

    missing = [s for s in stems if not (executed_dir / f"{s}.ipynb").is_file()]
    if missing:
        raise LabkitError(
            f"no executed copy of {', '.join(f'{NOTEBOOKS}/{s}.ipynb' for s in missing)} in "
            f"{executed_dir}; make it with: python -m labkit run --profile {name}"
        )
    if strict:
        for stem in stems:
            _check_no_unexpected_error(executed_dir / f"{stem}.ipynb", name)

    stage = run_dir / STAGE_NAME
    site = run_dir / SITE_NAME
    for folder in (stage, site):
        if folder.exists():
            shutil.rmtree(folder)
    _stage(root, executed_dir, stems, stage)
    _list_variant_pages(stage / "_toc.yml", pages)
    glance.write_page(run_dir / "results", stage, name, set(stems))  # "Results at a glance", from the results files

    log_path = run_dir / LOG_NAME
    _run_jupyter_book(stage, log_path, strict=strict)

    html = stage / "_build" / "html"
    index = html / "index.html"
    if not index.is_file():
        raise LabkitError(f"jupyter-book finished but wrote no {index}; see {log_path}")
    shutil.move(html, site)
    return site / "index.html"


def listed_notebooks(toc: str | os.PathLike) -> list[str]:
    """Returns the stems of the notebooks that a `_toc.yml` lists under `notebooks/`, in order.

    Args:
        toc: the path of `_toc.yml`.

    Returns:
        File stems such as `["00_data_tour"]`.

    Raises:
        LabkitError: the file is missing or malformed, or a glob entry reaches into `notebooks/`
            (the site lists each executed notebook by name).
    """
    from sphinx_external_toc.parsing import MalformedError, parse_toc_yaml

    toc = Path(toc)
    if not toc.is_file():
        raise LabkitError(f"no table of contents at {toc}")
    try:
        site_map = parse_toc_yaml(toc)
    except MalformedError as error:
        raise LabkitError(f"{toc} is malformed: {error}") from error
    prefix = f"{NOTEBOOKS}/"
    if any(glob.startswith(prefix) or glob.startswith("*") for glob in site_map.globs()):
        raise LabkitError(f"{toc}: list the notebooks one by one, not with a glob")
    stems = []
    for docname in site_map:  # insertion order: root first, then as listed
        if docname.startswith(prefix):
            relative = docname[len(prefix):]
            stem = relative[: -len(".ipynb")] if relative.endswith(".ipynb") else relative
            if "/" in stem:
                raise LabkitError(f"{toc}: {docname} is in a subfolder of {prefix}; the runner writes none")
            stems.append(stem)
    return stems


def _variant_pages(root: Path, stems: list[str]) -> dict[str, list[str]]:
    """The pages of the notebooks that run once per variant: `{stem: ["<stem>-<variant>", ...]}`."""
    from labkit.runner.selection import variants

    pages = {}
    for stem in stems:
        source = root / NOTEBOOKS / f"{stem}.ipynb"
        if source.is_file():
            jobs = variants(source)
            if jobs and jobs[0].variant is not None:
                pages[stem] = [job.name for job in jobs]
    return pages


def _list_variant_pages(toc: Path, pages: dict[str, list[str]]) -> None:
    """Rewrites the staged `_toc.yml` so that a notebook with variants has one page per variant."""
    if not pages:
        return
    lines = []
    for line in toc.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(rf"(\s*-\s*file:\s*){NOTEBOOKS}/([^\s.]+)(\.ipynb)?\s*", line)
        if match and match.group(2) in pages:
            lines += [f"{match.group(1)}{NOTEBOOKS}/{name}" for name in pages[match.group(2)]]
        else:
            lines.append(line)
    toc.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _require_jupyter_book() -> None:
    """Raises unless jupyter-book v1 (the `_config.yml` + `_toc.yml` tool) is installed."""
    from importlib import metadata

    try:
        version = metadata.version("jupyter-book")
    except metadata.PackageNotFoundError:
        version = None
    if version is None or not version.startswith("1."):
        found = "is not installed" if version is None else f"is {version}, which reads myst.yml instead"
        raise LabkitError(f"the book needs jupyter-book 1.x, but it {found}: pip install 'labkit[book]'")


def _book_root(root: str | os.PathLike | None) -> Path:
    if root is None:
        root = project_root()
        if root is None:
            raise LabkitError("no checkout found (a folder with notebooks/ and labkit/); pass root=")
    root = Path(root).resolve()
    absent = [n for n in (*BOOK_FILES, *BOOK_FOLDERS) if not (root / n).exists()]
    if absent:
        raise LabkitError(f"{root} has no {', '.join(absent)}: it is not the root of the book")
    return root


def _check_no_unexpected_error(path: Path, profile: str) -> None:
    """Raises if an executed notebook shows an error that no cell tag announced."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LabkitError(f"{path} is not a readable notebook: {error}") from error
    for cell in notebook.get("cells", []):
        if RAISES_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # The cell as the executed copy and the runner's table show it: In [n].
                raise LabkitError(
                    f"{path.name}: In [{cell.get('execution_count') or '?'}] ended in {output.get('ename', 'an error')}: "
                    f"{output.get('evalue', '')}; fix it and run it again: "
                    f"python -m labkit run --profile {profile} {path.stem}"
                )


def _stage(root: Path, executed_dir: Path, stems: list[str], stage: Path) -> None:
    """Copies the book files and the executed notebooks into an empty `stage` folder."""
    stage.mkdir(parents=True)
    for name in BOOK_FILES:
        shutil.copy2(root / name, stage / name)
    for name in BOOK_FOLDERS:
        shutil.copytree(
            root / name, stage / name, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints")
        )
    (stage / NOTEBOOKS).mkdir()
    results = {r["job"]: r for r in glance.load(executed_dir.parent / "results")}
    for stem in stems:
        _stage_notebook(executed_dir / f"{stem}.ipynb", stage / NOTEBOOKS / f"{stem}.ipynb", results.get(stem))


def _stage_notebook(source: Path, target: Path, result: dict | None) -> None:
    """Copies an executed notebook, with the line that says what produced it after its title cell."""
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    seconds = notebook.metadata.get("papermill", {}).get("duration")
    line = nbformat.v4.new_markdown_cell(glance.provenance(result, seconds))
    notebook.cells.insert(1 if notebook.cells and notebook.cells[0].cell_type == "markdown" else 0, line)
    nbformat.write(notebook, target)


def _run_jupyter_book(stage: Path, log_path: Path, *, strict: bool) -> None:
    """Runs `jupyter-book build` on `stage` in a fresh interpreter; its output goes to `log_path`.

    A subprocess keeps Sphinx's and docutils' global state out of the caller (a notebook, the
    runner, pytest) and gives a complete log. jupyter-book v1 has no `python -m` entry point, so
    its click command is called from `-c`.
    """
    command = [
        sys.executable,
        "-c",
        "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
        "build",
        str(stage),
        "--builder",
        "html",
        "--all",
    ]
    if strict:
        command += ["-W", "--keep-going"]
    with open(log_path, "w", encoding="utf-8") as log:
        completed = subprocess.run(
            command,
            cwd=stage,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            check=False,
        )
    text = _ANSI.sub("", log_path.read_text(encoding="utf-8", errors="replace"))
    log_path.write_text(text, encoding="utf-8")
    if completed.returncode != 0:
        lines = text.splitlines()
        problems = [line for line in lines if _PROBLEM.search(line)][:LOG_PROBLEM_LINES]
        tail = [line for line in lines[-LOG_TAIL_LINES:] if line not in problems]
        raise LabkitError(
            f"jupyter-book failed (exit status {completed.returncode}); whole log: {log_path}\n"
            + "\n".join([*problems, "...", *tail])
        )
