"""Applies one notebook's checks to its `Evidence`: one row per check, with points and a reason.

A row's status is `pass` (all its points), `partial`, `fail` (none: the answer is wrong), or
`missing` (none: what the check needs is not there; the reason says what and why).
"""

from __future__ import annotations

import fnmatch
import math
import numbers

from labkit.grading.checks import Check, NotebookChecks, for_profile
from labkit.grading.evidence import Evidence, Unavailable

DEFAULT_TOLERANCE = {"matches": 0.002, "other": 1e-6}


def score(notebook: NotebookChecks, evidence: Evidence) -> list[dict]:
    """Grades one run.

    Args:
        notebook: the notebook's checks.
        evidence: what the grader knows and measures of the run.

    Returns:
        One row per check: `check`, `points`, `max_points`, `status`, `reason`.
    """
    rows = []
    for check in notebook.checks:
        try:
            fraction, reason = _grade(check, evidence)
            fraction = min(1.0, max(0.0, float(fraction)))
            status = "pass" if fraction == 1.0 else ("partial" if fraction > 0 else "fail")
        except Unavailable as exc:
            fraction, status, reason = 0.0, "missing", str(exc)
        except KeyError as exc:
            fraction, status, reason = 0.0, "missing", f"the checks give no expected value for profile {exc}"
        rows.append({"check": check.name, "points": round(check.points * fraction, 2),
                     "max_points": check.points, "status": status, "reason": reason})
    return rows


def _grade(check: Check, evidence: Evidence) -> tuple[float, str]:
    spec = check.spec
    if check.kind == "ran":
        return (1.0, "every cell ran") if evidence.ran else (0.0, evidence.execution.reason or "it did not run")
    if check.kind == "python":
        answer = spec["python"](evidence)
        return answer if isinstance(answer, tuple) else (answer, "")
    if check.kind == "model":
        return _model(spec, evidence)
    return _metric(spec, evidence)


def _model(spec: dict, evidence: Evidence) -> tuple[float, str]:
    if "accuracy" in spec:
        measured = evidence.accuracy(spec["model"], spec["accuracy"])
        return _expect(spec, measured, evidence.profile, f"accuracy on the grader's {spec['accuracy']} data")
    model = evidence.model(spec["model"])
    prop = spec["property"]
    if prop == "parameters":
        value = int(model.count_params())
    elif prop == "trainable_parameters":
        value = int(sum(math.prod(w.shape) for w in model.trainable_weights))
    elif prop == "layers":
        value = [layer.name for layer in model.layers]
    else:
        value = _plain(getattr(model, prop))
    return _expect(spec, value, evidence.profile, prop)


def _metric(spec: dict, evidence: Evidence) -> tuple[float, str]:
    recorded = evidence.value(spec["metric"])
    profile = evidence.profile
    if "matches" in spec:
        model, data = spec["matches"]["model"], spec["matches"]["accuracy"]
        measured = evidence.accuracy(model, data)
        tolerance = for_profile(spec.get("tolerance", DEFAULT_TOLERANCE["matches"]), profile)
        if not _same(recorded, measured, tolerance):
            return 0.0, (f"recorded {_show(recorded)}, but the grader measured {_show(measured)} for model {model} "
                         f"on {data}: not credited")
        if "range" not in spec:
            return 1.0, f"recorded {_show(recorded)}; the grader measured {_show(measured)}"
        return _expect(spec, measured, profile, f"{model} accuracy on {data} (measured by the grader)")
    if "consistent" in spec:
        expected = _recompute(spec["consistent"], evidence, spec["metric"])
        tolerance = for_profile(spec.get("tolerance", DEFAULT_TOLERANCE["other"]), profile)
        if _same(recorded, expected, tolerance):
            return 1.0, f"{_show(recorded)}, as recomputed from the recorded values"
        return 0.0, f"recorded {_show(recorded)}, but the recorded values give {_show(expected)}"
    return _expect(spec, recorded, profile, "recorded")


def _expect(spec: dict, value, profile: str, what: str) -> tuple[float, str]:
    """Compares a value with `equals`, `one_of`, `contains` or `range` (+ `partial`)."""
    tolerance = for_profile(spec.get("tolerance", DEFAULT_TOLERANCE["other"]), profile)
    if "equals" in spec:
        expected = for_profile(spec["equals"], profile)
        ok = _same(value, expected, tolerance)
        return (1.0, f"{what}: {_show(value)}") if ok else (0.0, f"{what}: {_show(value)}, expected {_show(expected)}")
    if "one_of" in spec:
        allowed = for_profile(spec["one_of"], profile)
        ok = any(_same(value, a, tolerance) for a in allowed)
        return (1.0, f"{what}: {_show(value)}") if ok else (0.0, f"{what}: {_show(value)}, expected one of {_show(allowed)}")
    if "contains" in spec:
        wanted = for_profile(spec["contains"], profile)
        missing = [w for w in wanted if w not in value]
        return (0.0, f"{what}: missing {missing}") if missing else (1.0, f"{what}: has {_show(wanted)}")
    if "range" in spec:
        return _in_range(value, for_profile(spec["range"], profile), for_profile(spec.get("partial"), profile), what)
    return 1.0, f"{what}: {_show(value)}"


def _in_range(value, full, partial, what: str) -> tuple[float, str]:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        return 0.0, f"{what}: {_show(value)} is not a number"
    low, high = full
    text = f"{what}: {_show(value)}, full marks in [{_show(low)}, {_show(high)}]"
    if low <= value <= high:
        return 1.0, text
    if partial:
        plow, phigh = partial
        if plow <= value < low:
            return (value - plow) / (low - plow), text + f", partial credit from {_show(plow)}"
        if high < value <= phigh:
            return (phigh - value) / (phigh - high), text + f", partial credit up to {_show(phigh)}"
    return 0.0, text


def _recompute(spec: dict, evidence: Evidence, metric):
    """Recomputes a figure from other recorded values (see `checks.RECOMPUTE`)."""
    operation = next(op for op in spec if op not in ("field", "take"))
    source = spec[operation]
    if "*" in source:
        own = metric if isinstance(metric, str) else None
        matched = {name: v for name, v in evidence.values.items() if fnmatch.fnmatchcase(name, source) and name != own}
        if "field" in spec:  # recorded dicts, such as one row of a table per name
            matched = {name: v[spec["field"]] for name, v in matched.items() if isinstance(v, dict) and spec["field"] in v}
        prefix, _, suffix = source.partition("*")
        keys = [name[len(prefix): len(name) - len(suffix)] for name in matched]
        numbers_ = list(matched.values())
    else:
        records = evidence.value(source)
        if not isinstance(records, list) or not all(isinstance(r, dict) and spec.get("field") in r for r in records):
            raise Unavailable(f"{source} is not a list of records with {spec.get('field')!r}")
        numbers_ = [r[spec["field"]] for r in records]
        take = spec.get("take")
        keys = [[r.get(t) for t in take] if isinstance(take, list) else r.get(take) if take else r for r in records]
    if operation == "count":
        return len(numbers_)
    if not numbers_ or not all(isinstance(n, numbers.Real) and not isinstance(n, bool) for n in numbers_):
        raise Unavailable(f"no numbers recorded under {source!r} to recompute from")
    if operation in ("argmax", "argmin"):
        pick = max if operation == "argmax" else min
        return keys[pick(range(len(numbers_)), key=numbers_.__getitem__)]
    return {"max": max, "min": min, "sum": sum, "mean": lambda v: sum(v) / len(v)}[operation](numbers_)


def _same(a, b, tolerance: float) -> bool:
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tolerance)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, tolerance) for x, y in zip(a, b))
    return a == b


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"
