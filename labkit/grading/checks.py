"""The instructor's checks: a YAML (or Python) file that the learner never sees. `load(path)`.

```yaml
version: 1
notebooks:
  01_cnn_vs_autokeras:                 # the notebook's name: its results file's name
    models: {cnn: cnn}                 # hand back the kernel's variable `cnn` (a Keras model)
    data:                              # the grader's own data, never shown to the sandbox
      test: {dataset: fashion_mnist, split: test}    # labkit's dataset, on the grading profile
      heldout: {file: heldout/digits.npz}            # arrays x and y, beside this file
    checks:
      - {ran: true, points: 1}
      - {model: cnn, property: parameters, equals: 3831018, points: 1}
      - {model: cnn, accuracy: heldout, range: [0.8, 1], partial: [0.5, 0.8], points: 3}
      - {metric: cnn_test_accuracy, matches: {model: cnn, accuracy: test}, points: 1}
      - {metric: best_optimizer, consistent: {argmax: "val_accuracy/*"}, points: 1}
```

Any expected value may depend on the profile: `range: {smoke: [0.1, 1], offline: [0.8, 1]}`.
A range on a recorded number that the grader cannot re-measure earns no points (`points: 0`): a
forged results file would earn them. The book's chapter "Grading" describes every key.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labkit.config import PROFILES
from labkit.errors import ParameterError
from labkit.grading.sandbox import parse_size

KINDS = {
    "ran": {"ran"},
    "model": {"model", "property", "accuracy", "equals", "range", "partial", "contains", "tolerance"},
    "metric": {"metric", "equals", "one_of", "range", "partial", "matches", "consistent", "tolerance"},
    "python": {"python"},
}
COMMON = {"name", "points"}
PROPERTIES = ("parameters", "trainable_parameters", "layers", "input_shape", "output_shape")
RECOMPUTE = ("max", "min", "argmax", "argmin", "sum", "mean", "count")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Check:
    """One check: what it looks at, what it expects, what it is worth.

    Attributes:
        name: how grades.csv and the feedback name it.
        kind: `"ran"`, `"model"`, `"metric"` or `"python"`.
        points: what it is worth (partial credit gives a part of it).
        spec: the check's other keys, as written.
    """

    name: str
    kind: str
    points: float
    spec: dict


@dataclass(frozen=True)
class NotebookChecks:
    """The checks of one notebook.

    Attributes:
        notebook: its name (`"02_optimizer_sweep"`), which its results file carries.
        checks: the `Check`s, in order.
        models: `{name: expression}` of the models the kernel hands back.
        data: `{name: spec}` of the grader's own data (`{"file": path}` or `{"dataset": name, "split": ...}`).
        timeout: seconds the whole notebook may run, overriding the command's `--timeout`; `None` keeps it.
        memory: bytes its processes may use, overriding the command's `--memory`; `None` keeps it.
    """

    notebook: str
    checks: tuple[Check, ...]
    models: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    timeout: float | None = None
    memory: int | None = None

    @property
    def points(self) -> float:
        """The most points this notebook can earn."""
        return sum(c.points for c in self.checks)


@dataclass(frozen=True)
class Checks:
    """A whole checks file.

    Attributes:
        path: the file (kept invisible to every sandbox).
        notebooks: `{notebook: NotebookChecks}`.
    """

    path: Path
    notebooks: dict

    @property
    def secrets(self) -> tuple[str, ...]:
        """The checks file and every data file it names: what no sandbox may see."""
        files = [str(self.path)]
        for entry in self.notebooks.values():
            files += [spec["file"] for spec in entry.data.values() if "file" in spec]
        return tuple(files)

    def match(self, submission: str) -> str | None:
        """Finds which notebook a submitted file is.

        Args:
            submission: the file's name or path (`alice/02_optimizer_sweep.ipynb`).

        Returns:
            The longest notebook name that the file's name contains, or `None`.
        """
        stem = Path(submission).name.removesuffix(".ipynb")
        found = [name for name in self.notebooks if name in stem]
        return max(found, key=len) if found else None


def load(path: str | Path) -> Checks:
    """Reads and validates a checks file.

    Args:
        path: a `.yml`/`.yaml` file, or a `.py` file that defines `CHECKS` (the same structure, where
            a check may be `{"python": callable, "points": ...}`).

    Returns:
        The `Checks`.

    Raises:
        ParameterError: the file is missing or unreadable, or a key or value is wrong (the message
            says where, and what is allowed).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ParameterError(f"checks={str(path)!r}: no such file")
    raw = _python(path) if path.suffix == ".py" else _yaml(path)
    where = f"checks file {path.name}"
    if not isinstance(raw, dict) or not isinstance(raw.get("notebooks"), dict) or not raw["notebooks"]:
        raise ParameterError(f"{where}: needs a `notebooks:` mapping of notebook names to their checks")
    unknown = set(raw) - {"version", "notebooks"}
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: version, notebooks")
    notebooks = {str(name): _notebook(str(name), entry, path, f"{where}: {name}")
                 for name, entry in raw["notebooks"].items()}
    return Checks(path, notebooks)


def _yaml(path: Path):
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParameterError(f"checks={str(path)!r} cannot be read: {str(exc).splitlines()[0]}") from None


def _python(path: Path):
    import cloudpickle

    spec = importlib.util.spec_from_file_location(f"labkit_checks_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the instructor's own file: say what broke, in one line
        raise ParameterError(f"checks={str(path)!r} fails to load: {type(exc).__name__}: {exc}") from None
    cloudpickle.register_pickle_by_value(module)  # its functions travel to remote workers by value
    if not hasattr(module, "CHECKS"):
        raise ParameterError(f"checks={str(path)!r} defines no CHECKS")
    return module.CHECKS


def _notebook(name: str, entry, path: Path, where: str) -> NotebookChecks:
    if not _NAME.match(name):
        raise ParameterError(f"{where}: the notebook's name must be a plain file stem")
    if not isinstance(entry, dict) or not isinstance(entry.get("checks"), list) or not entry["checks"]:
        raise ParameterError(f"{where}: needs a non-empty `checks:` list")
    unknown = set(entry) - {"checks", "models", "data", "timeout", "memory"}
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: checks, models, data, timeout, memory")
    memory = parse_size(f"{where}: memory", entry["memory"]) if "memory" in entry else None
    timeout = entry.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ParameterError(f"{where}: timeout={timeout!r} must be a number of seconds greater than 0")
    models = entry.get("models") or {}
    if not isinstance(models, dict) or not all(isinstance(v, str) and _NAME.match(k) for k, v in models.items()):
        raise ParameterError(f"{where}: `models:` maps names to the notebook's variables, such as {{cnn: cnn}}")
    data = {str(k): _data(v, path, f"{where}: data {k}") for k, v in (entry.get("data") or {}).items()}
    checks = tuple(_check(c, i, models, data, f"{where}: checks[{i}]") for i, c in enumerate(entry["checks"]))
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise ParameterError(f"{where}: two checks have the same name; give them `name:`s")
    return NotebookChecks(name, checks, dict(models), data, timeout, memory)


def _data(spec, path: Path, where: str) -> dict:
    if isinstance(spec, dict) and set(spec) == {"file"}:
        file = (path.parent / str(spec["file"])).resolve()
        if not file.is_file():
            raise ParameterError(f"{where}: no such file {str(file)!r}")
        return {"file": str(file)}
    if isinstance(spec, dict) and "dataset" in spec and set(spec) <= {"dataset", "split"}:
        return {"dataset": str(spec["dataset"]), "split": str(spec.get("split", "test"))}
    raise ParameterError(f"{where}: must be {{file: PATH}} (arrays x and y) or {{dataset: NAME, split: test}}")


def _check(raw, index: int, models: dict, data: dict, where: str) -> Check:
    if not isinstance(raw, dict):
        raise ParameterError(f"{where}: must be a mapping such as {{ran: true, points: 1}}")
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        raise ParameterError(f"{where}: needs exactly one of {', '.join(KINDS)}")
    kind = kinds[0]
    unknown = set(raw) - KINDS[kind] - COMMON
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {sorted(unknown)} for a {kind} check; allowed: "
                             f"{', '.join(sorted(KINDS[kind] | COMMON))}")
    points = raw.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0 or not math.isfinite(points):
        raise ParameterError(f"{where}: points={points!r} must be a number ≥ 0")
    spec = {k: v for k, v in raw.items() if k not in COMMON}
    _validate(kind, spec, points, models, data, where)
    return Check(str(raw.get("name") or _default_name(kind, spec, index)), kind, float(points), spec)


def _validate(kind: str, spec: dict, points: float, models: dict, data: dict, where: str) -> None:
    if kind == "ran" and spec["ran"] is not True:
        raise ParameterError(f"{where}: write `ran: true`")
    if kind == "python" and not callable(spec["python"]):
        raise ParameterError(f"{where}: `python:` must be a function of the evidence (a Python checks file)")
    if kind == "model":
        if spec["model"] not in models:
            raise ParameterError(f"{where}: model {spec['model']!r} is not in `models:` ({', '.join(models) or 'none'})")
        if ("property" in spec) == ("accuracy" in spec):
            raise ParameterError(f"{where}: a model check needs one of `property:` ({', '.join(PROPERTIES)}) or `accuracy: DATA`")
        if spec.get("property", PROPERTIES[0]) not in PROPERTIES:
            raise ParameterError(f"{where}: property={spec['property']!r} is not one of {', '.join(PROPERTIES)}")
    if kind == "metric":
        if "matches" in spec:
            target = spec["matches"]
            if not isinstance(target, dict) or set(target) != {"model", "accuracy"}:
                raise ParameterError(f"{where}: `matches:` must be {{model: NAME, accuracy: DATA}}")
            spec = {**spec, **target}
        if "consistent" in spec:
            _validate_recompute(spec["consistent"], where)
        verified = {"equals", "one_of", "matches", "consistent"} & set(spec)
        if not verified and points > 0:
            raise ParameterError(f"{where}: a range on a recorded number earns no points (a forged results file "
                                 "would earn them): add `matches:`, `equals:`, `one_of:` or `consistent:`, or set points: 0")
    if "model" in spec and spec["model"] not in models:
        raise ParameterError(f"{where}: model {spec['model']!r} is not in `models:`")
    if "accuracy" in spec and spec["accuracy"] not in data:
        raise ParameterError(f"{where}: data {spec['accuracy']!r} is not in `data:` ({', '.join(data) or 'none'})")
    if "partial" in spec and "range" not in spec:
        raise ParameterError(f"{where}: `partial:` widens a `range:`; give the range too")


def _validate_recompute(spec, where: str) -> None:
    if not isinstance(spec, dict) or len(set(spec) & set(RECOMPUTE)) != 1 or not set(spec) <= {*RECOMPUTE, "field", "take"}:
        raise ParameterError(f"{where}: `consistent:` needs one of {', '.join(RECOMPUTE)}: a pattern of recorded "
                             "names (\"val_accuracy/*\") or the name of recorded records, with `field:`")


def _default_name(kind: str, spec: dict, index: int) -> str:
    if kind == "ran":
        return "runs to the end"
    if kind == "model":
        what = spec.get("property") or f"accuracy on {spec['accuracy']}"
        return f"{spec['model']} {what}"
    if kind == "metric":
        metric = spec["metric"]
        return "/".join(str(m) for m in metric) if isinstance(metric, list) else str(metric)
    return f"check {index + 1}"


def for_profile(value, profile: str):
    """Picks a profile's expected value where the checks give one per profile.

    Args:
        value: an expected value, or `{profile: value}` with profile names as keys.
        profile: the grading profile.

    Returns:
        The value for `profile` (`KeyError` when the mapping has none for it).
    """
    if isinstance(value, dict) and value and set(value) <= set(PROFILES):
        return value[profile]
    return value
