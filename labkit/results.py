"""One JSON file of results per notebook run, written atomically, read back by tests and the book.

A notebook calls `labkit.setup(...)` once, then `record(name, value)` for each number it
wants to keep. The file lives at `<build>/<profile>/results/<notebook>.json`; `SCHEMA` lists its
fields (the book's chapter "Results files" explains them), so that two runs can be compared.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labkit._io import _jsonable, write_json
from labkit.errors import LabkitError, check_text

_RESULTS_NAME = "results"

# Every results file has these top-level fields (tests/test_results.py checks them).
SCHEMA = {
    "notebook": "the notebook's name",
    "profile": "smoke, offline or full",
    "seed": "the notebook's SEED",
    "real_data": "whether the real datasets were used",
    "weights": "the backbones' weights: \"imagenet\", \"lab\" (pretrained by labkit on its source task) or null (random init)",
    "device": "what the backend computed on",
    "versions": "python, labkit, keras, tensorflow, numpy, autokeras, keras-tuner, scikit-learn, scipy, pandas",
    "commit": "the lab's git commit (with '+changes' when the checkout had uncommitted changes); null outside a checkout",
    "cpu": "processor, cores and the load average when the run started",
    "parameters": "the notebook's parameters, as given to labkit.setup",
    "datasets": "each loaded dataset: sizes, shape and a sha256 fingerprint of each split's arrays",
    "started": "UTC time of labkit.setup",
    "updated": "UTC time of the last record",
    "wall_seconds": "seconds from labkit.setup to the last record",
    "headline": "the name of the run's headline value",
    "values": "the recorded values, by name",
    "definitions": "what a recorded value means, by name (how a metric was measured)",
}
_LIBRARIES = ("autokeras", "keras-tuner", "scikit-learn", "scipy", "pandas")


class Recorder:
    """Keeps the values of one run and rewrites its JSON file after every `record`."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = Path(path)
        self._clock = time.monotonic()
        header = {**header, "versions": {**header.get("versions", {}), **_library_versions()}}
        self.data: dict[str, Any] = {
            "parameters": {}, "datasets": [], **header, "commit": _commit(), "cpu": _cpu(),
            "started": _now(), "updated": _now(), "wall_seconds": 0.0, "headline": None,
            "values": {}, "definitions": {},
        }
        self.data["parameters"] = _finite(json.loads(json.dumps(self.data["parameters"], default=_jsonable)))
        write_json(self.path, self.data)

    def record(self, name: str, value: Any, *, headline: bool = False, definition: str | None = None) -> Any:
        """Stores `value` under `name` (and as the run's headline metric) and rewrites the file.

        Args:
            name: a short key, such as `"test_accuracy"`.
            value: a JSON-able value.
            headline: makes this the run's headline metric.
            definition: how the value was measured, kept under `definitions` (such as "accuracy on
                the 4,000 test images after the last epoch").

        Returns:
            The value as stored (plain Python types, NaN as None).
        """
        check_text("name", name)
        value = _finite(json.loads(json.dumps(value, default=_jsonable)))
        self.data["values"][name] = value
        if definition is not None:
            self.data["definitions"][name] = check_text("definition", definition)
        if headline:
            self.data["headline"] = name
        self.data["updated"] = _now()
        self.data["wall_seconds"] = round(time.monotonic() - self._clock, 1)
        write_json(self.path, self.data)
        return value


_current: Recorder | None = None


def results_dir(build_dir: str | os.PathLike, profile: str) -> Path:
    """Finds the results folder of one profile's runs.

    Args:
        build_dir: the build folder.
        profile: the profile's name.

    Returns:
        `<build_dir>/<profile>/results`.
    """
    return Path(build_dir) / profile / _RESULTS_NAME


def start(path: Path, header: dict[str, Any]) -> Recorder:
    """Starts the results file of a run (called by `labkit.setup`).

    Args:
        path: the results file.
        header: what the run is made of (profile, seed, device, versions, ...).

    Returns:
        The run's `Recorder`, which `record` writes to from now on.
    """
    global _current
    _current = Recorder(path, header)
    return _current


def record(name: str, value: Any, *, headline: bool = False, definition: str | None = None) -> Any:
    """Records one result of the current notebook run.

    Args:
        name: a short key, such as `"test_accuracy"`.
        value: a JSON-able value (numbers, strings, lists, dicts; numpy values are converted).
        headline: makes this the metric that the runner's table shows for the notebook.
        definition: how the value was measured (kept under the file's `definitions`).

    Returns:
        The value as stored (plain Python types).
    """
    if _current is None:
        raise LabkitError("record() needs a run: call labkit.setup(...) first")
    return _current.record(name, value, headline=headline, definition=definition)


def earlier(notebook: str, name: str, *, profile: str | None = None, build_dir=None) -> Any:
    """Reads a value that an earlier notebook of the same profile recorded, such as its winner.

    Args:
        notebook: that notebook's name (`"02_optimizer_sweep"`).
        name: the value's name.
        profile: the profile; `None` takes the current run's.
        build_dir: the build folder; `None` takes the current run's.

    Returns:
        The value, or `None` when that notebook has not run under this profile or did not record it.
    """
    from labkit import session

    lab = session.current()
    if profile is None or build_dir is None:
        if lab is None:
            raise LabkitError("earlier() needs a run, or profile and build_dir: call labkit.setup(...) first")
        profile, build_dir = profile or lab.profile.name, build_dir or lab.build_dir
    path = results_dir(build_dir, profile) / f"{notebook}.json"
    try:
        return read(path).get("values", {}).get(name)
    except (OSError, ValueError):
        return None


def note_dataset(dataset) -> None:
    """Adds a loaded dataset to the current run's file, so its numbers say what data made them.

    Args:
        dataset: a `labkit.data.Dataset`.
    """
    if _current is None:
        return
    entry = {
        "name": dataset.name,
        "requested": dataset.requested,
        "sizes": {split: len(y) for split, (_, y) in dataset.splits.items()},
        "input_shape": list(dataset.input_shape),
        "fingerprints": {split: fingerprint(x, y) for split, (x, y) in dataset.splits.items()},
        "notes": list(dataset.notes),
    }
    listed = _current.data.setdefault("datasets", [])
    if entry not in listed:
        listed.append(entry)
        write_json(_current.path, _current.data)


def read(path: str | os.PathLike) -> dict[str, Any]:
    """Reads one results file.

    Args:
        path: the file.

    Returns:
        Its content.
    """
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_all(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Reads every results file in a results folder.

    Args:
        folder: the results folder.

    Returns:
        `{notebook: content}`.
    """
    folder = Path(folder)
    return {p.stem: read(p) for p in sorted(folder.glob("*.json"))}


def headline(data: dict[str, Any]) -> tuple[str, Any] | None:
    """Finds a run's headline metric.

    Args:
        data: a results file's content.

    Returns:
        `(name, value)`, or `None` when the run marked none.
    """
    name = data.get("headline")
    if name is None or name not in data.get("values", {}):
        return None
    return name, data["values"][name]


def choice(given: Any, *, notebook: str, name: str, seed_value: Any, what: str, ties: str | None = None) -> tuple:
    """Chooses a setting that an earlier notebook decided: the parameter, else its winner, else the seed's.

    Args:
        given: the notebook's parameter; `None` asks the earlier notebook.
        notebook: the earlier notebook (`"02_optimizer_sweep"`).
        name: the value it recorded (`"best_optimizer"`).
        seed_value: the seed report's choice, used when the earlier notebook has not run under this profile.
        what: how to name the setting in the sentence.
        ties: the name of the earlier notebook's list of values tied with its winner, if it recorded one.

    Returns:
        `(value, sentence)`: the setting and one sentence saying where it comes from.
    """
    def shown(value):
        return " · ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)

    if given is not None:
        return given, f"{what}: {shown(given)}, as set in the parameters."
    value = earlier(notebook, name)
    if value is None:
        return seed_value, f"{what}: {shown(seed_value)}, the seed report's choice ({notebook} has no results under this profile)."
    tied = earlier(notebook, ties) if ties else None
    note = f"; {notebook} could not tell it apart from {', '.join(map(shown, tied))}" if tied else ""
    return value, f"{what}: {shown(value)}, the highest-scoring choice of {notebook} under this profile{note}."


def fingerprint(*arrays) -> str:
    """Hashes arrays (their dtype, shape and bytes), so that two runs can tell whether they saw the same split.

    Args:
        *arrays: numpy arrays, such as a split's images and labels.

    Returns:
        The first 16 hex digits of their sha256.
    """
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _library_versions() -> dict[str, str | None]:
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _commit() -> str | None:
    """The checkout's commit, `+changes` when files differ from it; None outside a git checkout."""
    from labkit.config import project_root

    root = project_root()
    if root is None:
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _cpu() -> dict[str, Any]:
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"model": model, "cores": os.cpu_count(), "load_average": load}


def _finite(value: Any) -> Any:
    """Replaces NaN and infinities (not valid JSON) by None, at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
