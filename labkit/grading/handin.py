"""What the grader's last cell does inside the learner's kernel: hand back models as plain data.

The grader appends one cell to every submission that its checks ask models of. That cell calls
`export`, which writes each model's architecture (Keras' JSON) and weights (an `.npz` of plain
arrays, no pickle) into the working copy. The grader rebuilds the model from them in its own
process and measures it on its own data; nothing here is trusted.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = "manifest.json"


def cell_source(models: dict[str, str], folder: str) -> str:
    """Writes the hand-in cell that the grader appends to a submission.

    Args:
        models: `{name: expression}`: the models to hand back, such as `{"cnn": "cnn"}` or
            `{"resnet": "resnet.model"}` (a variable, then attributes).
        folder: where the kernel writes them (in its working copy).

    Returns:
        The cell's source.
    """
    return (
        "# Added by the grader after the last cell: hands back the models that the checks measure.\n"
        "import labkit.grading.handin\n\n"
        f"labkit.grading.handin.export(globals(), {models!r}, folder={folder!r})\n"
    )


def _resolve(namespace: dict, expression: str):
    """Finds `variable.attribute...` in the kernel's namespace."""
    first, *rest = expression.split(".")
    if first not in namespace:
        raise NameError(f"the notebook defines no variable {first!r}")
    value = namespace[first]
    for attribute in rest:
        value = getattr(value, attribute)
    return value


def export(namespace: dict, models: dict[str, str], *, folder: str) -> dict:
    """Writes each model's architecture and weights, and a manifest of what was handed back.

    Args:
        namespace: the kernel's globals.
        models: `{name: expression}`, as `cell_source` takes.
        folder: the folder to write into (created).

    Returns:
        The manifest: `{"models": {name: {"config": file, "weights": file} or {"problem": text}}}`.
    """
    import numpy as np

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"models": {}}
    for name, expression in models.items():
        try:
            model = _resolve(namespace, expression)
            config = model.to_json()
            weights = [np.asarray(w) for w in model.get_weights()]
            (out / f"{name}.json").write_text(config, encoding="utf-8")
            np.savez(out / f"{name}.npz", *weights)
            manifest["models"][name] = {"config": f"{name}.json", "weights": f"{name}.npz"}
        except Exception as exc:  # the learner's variable may be anything: say what went wrong
            manifest["models"][name] = {"problem": f"{expression}: {type(exc).__name__}: {exc}"[:300]}
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return manifest
