"""The book's "Results at a glance" page, written from the results files of the run that built the book.

`labkit.book.build` calls `write_page` while it stages the book: every number on the page comes from
`build/<profile>/results/*.json`, beside the seed reports' figures (`labkit.reference`), with the
differences each notebook measured over seeds and its verdict on them. Nothing on it is typed by hand.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from labkit import reference

PAGE = "book/glance.md"
FIGURE = "book/glance.png"


def _transfer(backbone: str):
    seed = reference.TRANSFER[backbone]
    return "val_accuracy_after_fine_tuning", seed["after"], f"{seed['dataset']} at {seed['image_size']} px, ImageNet weights"


def _augmentation():
    rows = reference.AUGMENTATION_ABLATION["rows"]
    return "val_accuracy_all_minus_none", round(rows["all"][1] - rows["none"][1], 4), "scene photographs, 8 classes"


# notebook (or job) → (the value of this run to set beside the seed, the seed's figure, the seed's data)
SEED_FIGURES = {
    "01_cnn_vs_autokeras": lambda: ("cnn_test_accuracy", reference.HAND_BUILT_CNN["test_accuracy"], "Fashion-MNIST"),
    "02_optimizer_sweep": lambda: ("best_val_accuracy", max(reference.OPTIMIZER_ACCURACY["accuracy"].values()), "Fashion-MNIST"),
    "03_activation_sweep": lambda: ("best_val_accuracy", reference.ACTIVATION_BEST["accuracy"], "Fashion-MNIST"),
    "04_filter_sweep": lambda: ("best_val_accuracy", reference.FILTER_BEST["accuracy"], "Fashion-MNIST"),
    "05_hyperparameter_search": lambda: ("best_val_accuracy", reference.HYPERBAND_RESNET["best_val_accuracy"],
                                         reference.HYPERBAND_RESNET["dataset"]),
    "07_transfer_learning-mobilenet_v2": lambda: _transfer("mobilenet_v2"),
    "07_transfer_learning-inception_v3": lambda: _transfer("inception_v3"),
    "09_resnet50_cut": lambda: ("best_cut", f"cut {reference.RESNET50_CUTS['best_cut_20_epochs']}", reference.RESNET50_CUTS["dataset"]),
    "11_augmentation_ablation": _augmentation,
    "13_evaluation": lambda: ("test_accuracy", reference.EVALUATION["accuracy"], "Natural Images, 8 classes at 50 px"),
}


def load(results_dir: str | os.PathLike) -> list[dict]:
    """Reads every results file of a run.

    Args:
        results_dir: `build/<profile>/results`.

    Returns:
        The files' contents, sorted by notebook (job) name; a file that is not JSON is skipped.
    """
    found = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            found.append({"job": path.stem, **json.loads(path.read_text(encoding="utf-8"))})
        except (OSError, ValueError):
            continue
    return found


def _number(value) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "/")


def _data(result: dict) -> str:
    names = sorted({d.get("name", "?") for d in result.get("datasets", [])})
    kind = "real" if result.get("real_data") else "embedded"
    return f"{', '.join(names) or '—'} ({kind})"


def _verdicts(job: str, values, trail: str = "") -> list[tuple[str, str, dict | str]]:
    """Every difference a notebook measured over seeds: dicts with a `verdict`, and `verdicts` of plain lines."""
    found = []
    if isinstance(values, dict):
        if isinstance(values.get("verdict"), str) and values["verdict"]:
            return [(job, trail, values)]
        for key, value in values.items():
            label = f"{trail} · {key}" if trail else str(key)
            if isinstance(value, str) and ("verdict" in trail or key == "verdict") and value:
                found.append((job, label, value))
            elif isinstance(value, (dict, list)):
                found += _verdicts(job, value, label)
    elif isinstance(values, list):
        for i, value in enumerate(values):
            if isinstance(value, dict):
                found += _verdicts(job, value, f"{trail}[{i}]")
    return found


def page(results: list[dict], profile: str, pages: set[str] | None = None) -> tuple[str, list[tuple[str, float, float]]]:
    """The page's Markdown, and the (job, this run, seed) pairs of accuracies for its figure.

    Args:
        results: what `load` returned.
        profile: the profile the book was built from.
        pages: the notebooks the book has a page for; a result of any other (a notebook run but not in the
            table of contents) is listed without a link, which the strict build would refuse. `None`: all.

    Returns:
        The Markdown text and the figure's pairs (empty when no run is comparable with a seed).
    """
    lines = ["# Results at a glance", "",
             f"Every number below comes from the results files of the run that built this site (profile "
             f"`{profile}`, `build/{profile}/results/*.json`), not from typed text. The seed reports' figures "
             "stand beside them for reference: the seeds trained on real datasets, mostly with ImageNet weights, "
             "so a gap between the two columns says as much about the data as about the method.", ""]
    if not results:
        return "\n".join(lines + ["No notebook has recorded results under this profile yet: run `python -m labkit run`."]), []
    lines += [_common(results), "",
              "| notebook | measure | this run | seed report | time |", "| --- | --- | --- | --- | --- |"]
    pairs = []
    for result in results:
        job, values = result["job"], result.get("values", {})
        name, seed_value, seed_data = SEED_FIGURES[job]() if job in SEED_FIGURES else (result.get("headline"), None, "")
        value = values.get(name)
        if isinstance(value, float) and isinstance(seed_value, float) and 0 <= value <= 1 and 0 <= seed_value <= 1:
            pairs.append((job, value, seed_value))
        seconds = result.get("wall_seconds")
        seed = "—" if seed_value is None else f"{_number(seed_value)} ({seed_data})"
        title = job.replace("_", " ")
        linked = f"[{title}](../notebooks/{job}.ipynb)" if pages is None or job in pages else title
        lines.append(f"| {linked} | {str(name).replace('_', ' ')} | "
                     f"{_number(value)} | {seed} | {'—' if seconds is None else f'{seconds:.0f} s'} |")
    if pairs:
        lines += ["", "![This run's accuracies beside the seed reports'](glance.png)", ""]
    rows = [row for result in results for row in _verdicts(result["job"], result.get("values", {}))]
    lines += ["", "## Differences measured over seeds", ""]
    if not rows:
        lines.append("No notebook of this run compared configurations over seeds.")
    else:
        lines += ["Each notebook that repeats a comparison over seeds says whether the difference exceeds the "
                  "seed-to-seed spread (Welch's t-test at the 0.05 level). Differences and standard errors in "
                  "points of accuracy.", "",
                  "| notebook | comparison | difference ± s.e. | p | verdict |", "| --- | --- | --- | --- | --- |"]
        for job, label, found in rows:
            text = found if isinstance(found, str) else found["verdict"]
            compared = text.split(":")[0] if " minus " in text.split(":")[0] else _number(label)
            if isinstance(found, str):  # a verdict kept as its sentence only
                gap, p = re.search(r"([+-]?\d+\.\d+) points", text), re.search(r"p = ([\d.e-]+)", text)
                found = {"gap": float(gap[1]) / 100 if gap else None, "p_value": float(p[1]) if p else None,
                         "real": "a real difference" in text}
            gap, error, p = found.get("gap"), found.get("standard_error"), found.get("p_value")
            size = "" if gap is None else f"{100 * gap:+.2f}" + ("" if error is None else f" ± {100 * error:.2f}")
            verdict = "**a real difference**" if found.get("real") else "within the noise"
            lines.append(f"| {job.replace('_', ' ')} | {compared} | {size} | {'' if p is None else f'{p:.2g}'} | {verdict} |")
    return "\n".join(lines) + "\n", pairs


def _common(results: list[dict]) -> str:
    """One sentence on the weights, seeds and data of the runs, instead of a column of repeats."""
    def said(values: list[str]) -> str:
        distinct = sorted(set(values))
        return distinct[0] + " (every run)" if len(distinct) == 1 else ", ".join(distinct)

    weights = said([str(r.get("weights") or "random init") for r in results])
    seeds = said([str(r.get("seed")) for r in results])
    kind = said(["real datasets" if r.get("real_data") else "embedded stand-ins" for r in results])
    return (f"Weights: {weights}. Seeds: {seeds}. Data: {kind}; each notebook's page names its datasets and "
            "their fingerprints. Time: from the notebook's setup to its last recorded value.")


def write_page(results_dir: str | os.PathLike, stage: str | os.PathLike, profile: str,
               pages: set[str] | None = None) -> Path:
    """Writes the page (and its figure) into a staged book.

    Args:
        results_dir: the run's results folder.
        stage: the staged book's root.
        profile: the profile the book is built from.
        pages: the notebooks the book has a page for (see `page`).

    Returns:
        The page's path.
    """
    text, pairs = page(load(results_dir), profile, pages)
    target = Path(stage) / PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    if pairs:
        _figure(pairs, Path(stage) / FIGURE)
    return target


def provenance(result: dict | None, seconds: float | None) -> str:
    """The line a notebook's page opens with: what produced its outputs, read from its results file.

    Args:
        result: the notebook's results file, as `load` reads it; `None` when the run recorded none.
        seconds: how long the whole notebook ran (papermill's duration in the executed copy), if known.

    Returns:
        One Markdown paragraph.
    """
    took = "" if seconds is None else f" · ran in {seconds:.0f} s"
    if not result:
        return f"**This page's run**: no results file was recorded{took}."
    versions = result.get("versions") or {}
    shown = " · ".join(f"{name} {versions[name]}" for name in ("python", "labkit", "keras", "tensorflow") if name in versions)
    cpu = result.get("cpu") or {}
    where = f" on {cpu.get('model', 'a CPU')} ({cpu.get('cores', '?')} cores)" if cpu else ""
    commit = result.get("commit") or "outside a checkout"
    commit = commit[:12] + ("+changes" if commit.endswith("+changes") else "") if result.get("commit") else commit
    parts = [f"profile `{result.get('profile')}`", f"data {_data(result)}", f"weights {result.get('weights') or 'random init'}",
             f"seed {result.get('seed')}", shown, f"commit {commit}"]
    return (f"**This page's run**: {' · '.join(p for p in parts if p)}{took}{where} "
            f"(from its results file, `{result.get('profile')}/results/{result['job']}.json`).")


def _figure(pairs: list[tuple[str, float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(pairs) + 1.2), dpi=110)
    ys = range(len(pairs))
    ax.barh([y + 0.2 for y in ys], [p[1] for p in pairs], height=0.4, label="this run", color="#2b5797")
    ax.barh([y - 0.2 for y in ys], [p[2] for p in pairs], height=0.4, label="seed report", color="#bbbbbb")
    ax.set_yticks(list(ys), [p[0] for p in pairs])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("accuracy (each row's headline; seed reports on their own data)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
