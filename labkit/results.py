"""One JSON file of results per notebook run, written atomically, read back by tests and the book.

A notebook calls `labkit.setup(...)` once, then `record(name, value)` for each number it
wants to keep. The file lives at `<build>/<profile>/results/<notebook>.json`.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labkit._io import _jsonable, write_json
from labkit.errors import LabkitError, check_text

_RESULTS_NAME = "results"


class Recorder:
    """Keeps the values of one run and rewrites its JSON file after every `record`."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = Path(path)
        self.data: dict[str, Any] = {**header, "started": _now(), "headline": None, "values": {}}
        write_json(self.path, self.data)

    def record(self, name: str, value: Any, *, headline: bool = False) -> Any:
        """Stores `value` under `name` (and as the run's headline metric) and rewrites the file.

        Args:
            name: a short key, such as `"test_accuracy"`.
            value: a JSON-able value.
            headline: makes this the run's headline metric.

        Returns:
            The value as stored (plain Python types, NaN as None).
        """
        check_text("name", name)
        value = _finite(json.loads(json.dumps(value, default=_jsonable)))
        self.data["values"][name] = value
        if headline:
            self.data["headline"] = name
        self.data["updated"] = _now()
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


def record(name: str, value: Any, *, headline: bool = False) -> Any:
    """Records one result of the current notebook run.

    Args:
        name: a short key, such as `"test_accuracy"`.
        value: a JSON-able value (numbers, strings, lists, dicts; numpy values are converted).
        headline: makes this the metric that the runner's table shows for the notebook.

    Returns:
        The value as stored (plain Python types).
    """
    if _current is None:
        raise LabkitError("record() needs a run: call labkit.setup(...) first")
    return _current.record(name, value, headline=headline)


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
