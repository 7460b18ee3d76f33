"""What the last successful run of each notebook was made of, so that a run can skip what has not changed.

`<build>/<profile>/manifest.json` holds, per job (`<stem>` or `<stem>-<variant>`): the sha256 of
the notebook file, the parameters injected, the sha256 of every labkit module that the kernel had
imported when the notebook ended (recorded by the kernel itself, see `execute`), the versions of
the libraries that compute, the files the run made, and its wall time (the estimate that the
progress line shows next time). An entry is written only after a successful run; a run is skipped
only when every one of these is unchanged and the files it made are still there.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import labkit
from labkit._io import write_json
from labkit.runner.selection import Job

MANIFEST_NAME = "manifest.json"
_PACKAGE = Path(labkit.__file__).resolve().parent
_VERSIONED = ("keras", "tensorflow", "numpy", "scikit-learn", "autokeras", "keras-tuner")


def path_of(run_dir: Path) -> Path:
    """The manifest of one profile's runs.

    Args:
        run_dir: `<build>/<profile>`.

    Returns:
        `<build>/<profile>/manifest.json`.
    """
    return run_dir / MANIFEST_NAME


def read(run_dir: Path) -> dict:
    """Reads the manifest; a missing or unreadable one is empty (everything runs).

    Args:
        run_dir: `<build>/<profile>`.

    Returns:
        `{job name: entry}`.
    """
    try:
        data = json.loads(path_of(run_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(run_dir: Path, job: Job, parameters: dict, modules: list[str] | None, seconds: float,
           outputs: list[Path]) -> None:
    """Records a successful run (re-reads the file first: other jobs may have finished meanwhile).

    Args:
        run_dir: `<build>/<profile>`.
        job: the job that ran.
        parameters: the parameters injected.
        modules: the labkit modules the kernel had imported; `None` if unknown (then the whole
            package counts).
        seconds: its wall time.
        outputs: the files it made (executed copy, results file).
    """
    data = read(run_dir)
    data[job.name] = {
        "source": str(job.source),
        "source_sha256": _sha256(job.source),
        "parameters": parameters,
        "modules": module_hashes(modules),
        "versions": _versions(),
        "outputs": [str(p) for p in outputs],
        "seconds": round(seconds, 1),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(path_of(run_dir), data)


def forget(run_dir: Path, names: list[str]) -> None:
    """Drops the entries of jobs that failed or were stopped: they run again next time.

    Args:
        run_dir: `<build>/<profile>`.
        names: the jobs' names.
    """
    data = read(run_dir)
    if any(name in data for name in names):
        write_json(path_of(run_dir), {k: v for k, v in data.items() if k not in names})


def why_run(entry: dict | None, job: Job, parameters: dict) -> str | None:
    """Says why a job must run again, or `None` when its last successful run still holds.

    Args:
        entry: its manifest entry, or `None`.
        job: the job.
        parameters: the parameters this run would inject.

    Returns:
        A short reason (`"labkit/train.py changed"`), or `None`.
    """
    if not entry:
        return "no earlier successful run"
    if entry.get("source") != str(job.source) or entry.get("source_sha256") != _sha256(job.source):
        return "the notebook changed"
    if entry.get("parameters") != parameters:
        return "its parameters changed"
    missing = [Path(p).name for p in entry.get("outputs", []) if not Path(p).is_file()]
    if missing:
        return f"{', '.join(missing)} is gone"
    old = entry.get("modules") or {}
    now = module_hashes(list(old))
    changed = sorted(name for name in old if old[name] != now.get(name))
    if changed:
        shown = ", ".join(_file_of(name) for name in changed[:3])
        return f"{shown}{' and more' if len(changed) > 3 else ''} changed"
    if entry.get("versions") != _versions():
        return "library versions changed"
    return None


def module_hashes(modules: list[str] | None) -> dict[str, str]:
    """The sha256 of the source of each labkit module (`None`: every module of the package).

    Args:
        modules: dotted names such as `"labkit.train"`, or the files' stand-in `"*"`.

    Returns:
        `{module: sha256}`; a module whose file is gone has the hash `"missing"`.
    """
    if modules is None:
        files = sorted(_PACKAGE.rglob("*.py"))
        modules = [".".join(("labkit", *f.relative_to(_PACKAGE).with_suffix("").parts)) for f in files]
    hashes = {}
    for name in sorted(set(modules)):
        path = _PACKAGE.parent / _file_of(name)
        hashes[name] = _sha256(path) if path.is_file() else "missing"
    return hashes


def _file_of(module: str) -> str:
    """`labkit.data.splits` -> `labkit/data/splits.py` (or the package's `__init__.py`)."""
    parts = module.split(".")
    folder = _PACKAGE.parent.joinpath(*parts)
    if folder.is_dir():
        return os.path.join(*parts, "__init__.py")
    return os.path.join(*parts[:-1], parts[-1] + ".py")


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found
