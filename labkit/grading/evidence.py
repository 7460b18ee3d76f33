"""What the grader knows of one run, and what it measures itself: `Evidence`.

Recorded values are what the submission claims. Models are rebuilt in the grader's process from
the architecture and weights the kernel handed back (Keras' safe mode: no lambdas, no code, only
Keras' own layers) and measured on the grader's own data, which the sandbox never saw.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource

import numpy as np

from labkit.grading.execute import Execution


class Unavailable(Exception):
    """What a check needs is missing (no results, no model, no such value); the message says why."""


def load_arrays(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Reads the instructor's data file.

    Args:
        path: an `.npz` with arrays `x` (inputs) and `y` (labels).

    Returns:
        `(x, y)`.
    """
    with np.load(path, allow_pickle=False) as data:
        missing = {"x", "y"} - set(data.files)
        if missing:
            raise ValueError(f"{path}: the data file needs arrays x and y (missing {sorted(missing)})")
        return np.asarray(data["x"]), np.asarray(data["y"])


@functools.lru_cache(maxsize=1)
def _keras():
    """Imports Keras once per grader process, its backend's start-up lines (absl, oneDNN: written to the
    file descriptor, whatever TF_CPP_MIN_LOG_LEVEL says) sent to a log file instead of the console."""
    import sys
    import tempfile

    log = os.path.join(tempfile.gettempdir(), f"labkit-grade-backend-{os.getpid()}.log")
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "ab") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            import keras
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras


@contextlib.contextmanager
def _memory_budget(extra: int):
    """Lets this process's data segment grow by at most `extra` bytes for a while (`RLIMIT_DATA`).

    A handed-back architecture may declare layers far larger than its weights (a Dense of a billion
    units): building or running it would take the grader's memory. Within the budget, such an
    allocation fails as an error of that model, not of the grader."""
    try:
        with open("/proc/self/status") as handle:
            used = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmData:"))
        saved = resource.getrlimit(resource.RLIMIT_DATA)
    except (OSError, StopIteration, ValueError):
        yield
        return
    hard = saved[1]
    limit = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, saved)


@functools.lru_cache(maxsize=8)
def _dataset(name: str, split: str, profile: str) -> tuple[np.ndarray, np.ndarray]:
    from labkit import data

    _keras()
    return data.load(name, profile=profile).splits[split]


class Evidence:
    """One run's facts, as the checks read them.

    Args:
        execution: the `Execution`.
        profile: the grading profile.
        data: `{name: spec}` from the checks; a spec with `"arrays"` holds `(x, y)` already.
    """

    def __init__(self, execution: Execution, profile: str, data: dict):
        self.execution = execution
        self.profile = profile
        self.ran = execution.ok
        self.values = (execution.results or {}).get("values") or {}
        self._data = data
        self._models: dict = {}
        self._measured: dict = {}

    def value(self, path):
        """Finds a recorded value.

        Args:
            path: its name, or a list of keys into nested values (`["scores", "accuracy"]`).

        Returns:
            The value, as the results file holds it.
        """
        if self.execution.results is None:
            raise Unavailable(self.execution.results_problem or "no results file")
        keys = path if isinstance(path, list) else [path]
        value = self.values
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                raise Unavailable(f"{'/'.join(map(str, keys))} was not recorded" + self._stop())
            value = value[key]
        return value

    def model(self, name: str):
        """Rebuilds a handed-back model in the grader's process.

        Args:
            name: its name in the checks' `models:`.

        Returns:
            A `keras.Model` with the handed-back weights.
        """
        if name not in self._models:
            self._models[name] = self._rebuild(name)
        if isinstance(self._models[name], Unavailable):
            raise self._models[name]
        return self._models[name]

    def _rebuild(self, name: str):
        entry = self.execution.models.get(name) or self.execution.models.get("*") or {"problem": "not handed back"}
        if "problem" in entry:
            return Unavailable(f"model {name}: {entry['problem']}")
        keras = _keras()
        try:
            with _memory_budget(self._budget(name)):
                model = keras.models.model_from_json(entry["config"])  # safe mode: Keras objects only
                model.set_weights(entry["weights"])
        except Exception as exc:  # any config Keras refuses, weights of the wrong shapes, layers too large
            return Unavailable(f"model {name} cannot be rebuilt by the grader: {type(exc).__name__}: {str(exc)[:200]}")
        return model

    def data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Gives the grader's own data.

        Args:
            name: its name in the checks' `data:`.

        Returns:
            `(x, y)`.
        """
        spec = self._data[name]
        if "arrays" in spec:
            return spec["arrays"]
        return _dataset(spec["dataset"], spec["split"], self.profile)

    def accuracy(self, model: str, data: str) -> float:
        """Measures a handed-back model's accuracy on the grader's data (once per pair).

        Args:
            model: the model's name.
            data: the data's name.

        Returns:
            The share of correct labels.
        """
        key = (model, data)
        if key not in self._measured:
            from labkit.evaluation import predict_labels

            x, y = self.data(data)
            network = self.model(model)
            try:
                with _memory_budget(self._budget(model)):
                    predicted = predict_labels(network, x)
            except Exception as exc:  # input shape mismatch, layers too large for the budget
                raise Unavailable(f"model {model} cannot predict the grader's {data} data: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:200]}") from None
            self._measured[key] = float(np.mean(predicted == np.asarray(y).reshape(-1)))
        return self._measured[key]

    def _budget(self, name: str) -> int:
        """Bytes a model may take to build or predict: a few times its handed-back weights, plus room."""
        weights = (self.execution.models.get(name) or {}).get("weights") or []
        return 4 * sum(int(np.asarray(w).nbytes) for w in weights) + 1024 * 2**20

    def _stop(self) -> str:
        return f" (the run stopped: {self.execution.reason})" if self.execution.reason else ""
