"""Runs repeated over seeds, and how to tell a real difference between configurations from noise.

A sweep ranks configurations by one run each. `repeat` trains chosen configurations once per seed,
`spread` shows how much each varies from run to run, and `compare` says whether the gap between two
is larger than that variation.
"""

from __future__ import annotations

import math

from labkit.errors import ParameterError, check_choice, check_seed


def repeat(build, configurations: dict, *, dataset, seeds=None, epochs: int | None = None, batch_size: int = 32):
    """Trains each configuration once per seed and scores it on the validation and test splits.

    A sweep ranks configurations by one run each; `repeat` shows how much a single configuration
    varies from run to run, which says whether the sweep's winner really is better.

    Args:
        build: the sweep's builder (keyword arguments to a compiled `keras.Model`).
        configurations: `{label: keyword arguments of build}`, such as
            `{"baseline": {"filters_2": 32}, "best": {"filters_2": 64}}`.
        dataset: a `labkit.data.Dataset`.
        seeds: one run per seed (initial weights and batch order); `None` takes the profile's
            `repeat_seeds`.
        epochs: epochs per run; `None` takes the profile's.
        batch_size: examples per gradient step.

    Returns:
        A pandas DataFrame with one row per run: `configuration`, `seed`, `val_accuracy`,
        `test_accuracy`, `seconds`.
    """
    import keras
    import pandas as pd

    from labkit import train

    if not configurations:
        raise ParameterError("configurations={} must name at least one configuration: {label: keyword arguments}")
    if seeds is None:
        from labkit.session import active_profile

        seeds = active_profile().repeat_seeds
    seeds = [check_seed("seeds", seed) for seed in seeds]
    if not seeds:
        raise ParameterError("seeds=[] must hold at least one seed")
    rows = []
    for label, values in configurations.items():
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            model = build(**values)
            fit = train.fit(model, dataset, epochs=epochs, batch_size=batch_size)
            val = fit.last_value("val_accuracy")  # the fit validated its last epoch: no second pass
            rows.append(
                {
                    "configuration": label,
                    "seed": seed,
                    "val_accuracy": train.evaluate(model, dataset, split="val")["accuracy"] if math.isnan(val) else val,
                    "test_accuracy": train.evaluate(model, dataset, split="test")["accuracy"],
                    "seconds": fit.seconds,
                }
            )
    return pd.DataFrame(rows)


def spread(runs, *, metric: str = "test_accuracy"):
    """Summarises how much each configuration of `repeat`'s table varies from seed to seed.

    Args:
        runs: `repeat`'s table.
        metric: the column to summarise.

    Returns:
        A pandas DataFrame indexed by configuration: mean, std, min, max and the number of runs.
    """
    check_choice("metric", metric, [c for c in runs.columns if c not in ("configuration", "seed")])
    grouped = runs.groupby("configuration", sort=False)[metric]
    table = grouped.agg(["mean", "std", "min", "max", "count"]).rename(columns={"count": "runs"})
    return table


def compare(runs, *, baseline: str, challenger: str, metric: str = "test_accuracy", alpha: float = 0.05) -> dict:
    """Compares two configurations of `repeat`'s table with Welch's t-test over their seeds.

    With three seeds each, twice the standard error is far too lenient (a t distribution with
    about four degrees of freedom has wide tails); Welch's test (`scipy.stats.ttest_ind`,
    `equal_var=False`) accounts for it. With a single seed each the spread is unknown, and so
    is the verdict.

    Args:
        runs: `repeat`'s table.
        baseline: the label of one configuration.
        challenger: the label of the other.
        metric: the column to compare.
        alpha: the test's level: the gap is called real when p < alpha.

    Returns:
        `{"gap", "standard_error", "p_value", "real", "verdict"}`, the gap being challenger minus
        baseline; `real` is None when the test cannot be made; `verdict` a sentence.
    """
    from scipy import stats as scipy_stats

    table = spread(runs, metric=metric)
    for name, label in ((baseline, "baseline"), (challenger, "challenger")):
        check_choice(label, name, list(table.index))
    gap = float(table.loc[challenger, "mean"] - table.loc[baseline, "mean"])
    result = {"gap": gap, "standard_error": None, "p_value": None, "real": None}
    if (table.loc[[baseline, challenger], "runs"] < 2).any():
        return {**result, "verdict": "unknown: one run per configuration shows no spread"}
    error = math.sqrt(sum(table.loc[n, "std"] ** 2 / table.loc[n, "runs"] for n in (baseline, challenger)))
    a, b = (runs.loc[runs["configuration"] == n, metric].to_numpy() for n in (challenger, baseline))
    p_value = 1.0 if error == 0 else float(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    real = p_value < alpha
    runs_each = f"{int(table.loc[baseline, 'runs'])} and {int(table.loc[challenger, 'runs'])} seeds"
    verdict = (
        f"{challenger} minus {baseline}: {100 * gap:+.2f} points over {runs_each}, Welch's t-test p = {p_value:.2g}: "
        + ("a real difference" if real else f"not distinguishable from seed-to-seed noise at the {alpha:g} level")
    )
    return {**result, "standard_error": error, "p_value": p_value, "real": real, "verdict": verdict}


def against_best(runs, *, metric: str = "test_accuracy", alpha: float = 0.05) -> tuple[str, dict]:
    """Compares every configuration of `repeat`'s table with the one of the highest mean (`compare`).

    Args:
        runs: `repeat`'s table.
        metric: the column to compare.
        alpha: the tests' level.

    Returns:
        `(best, {label: compare(...)})`: the best configuration's label, and each other one's comparison
        with it (`gap` is that configuration minus the best), highest mean first.
    """
    order = spread(runs, metric=metric).sort_values("mean", ascending=False, kind="stable").index
    best = str(order[0])
    return best, {label: compare(runs, baseline=best, challenger=label, metric=metric, alpha=alpha)
                  for label in order[1:]}


def standard_error(accuracy, examples: int):
    """The binomial standard error of an accuracy measured on `examples` images: sqrt(p(1 - p) / n).

    It is the noise of the split alone: another sample of as many images would move the accuracy
    by about this much.

    Args:
        accuracy: a fraction in [0, 1] (a number or an array).
        examples: the number of images it was measured on.

    Returns:
        The standard error, as a fraction (same shape as `accuracy`).
    """
    import numpy as np

    examples = int(examples)
    if examples < 1:
        raise ParameterError(f"examples={examples} must be a whole number greater than 0")
    p = np.clip(np.asarray(accuracy, dtype=float), 0.0, 1.0)
    error = np.sqrt(p * (1 - p) / examples)
    return float(error) if error.ndim == 0 else error


def beyond_chance(accuracy, examples: int, classes: int) -> float:
    """How likely guessing is to score `accuracy` or more: the one-sided binomial test's p-value.

    A classifier that guesses among `classes` classes gets each of `examples` images right with
    probability 1 / `classes`; a small p-value says the accuracy is not luck.

    Args:
        accuracy: the measured accuracy, a fraction in [0, 1].
        examples: the number of images it was measured on.
        classes: the number of classes (chance is 1 / classes).

    Returns:
        The p-value (`scipy.stats.binomtest`, alternative "greater").
    """
    from scipy.stats import binomtest

    examples, classes = int(examples), int(classes)
    if examples < 1:
        raise ParameterError(f"examples={examples} must be a whole number greater than 0")
    if classes < 2:
        raise ParameterError(f"classes={classes} must be a whole number of at least 2")
    if not 0.0 <= float(accuracy) <= 1.0:
        raise ParameterError(f"accuracy={accuracy} must be a fraction in [0, 1]")
    return float(binomtest(round(float(accuracy) * examples), examples, 1 / classes, alternative="greater").pvalue)


def noise_floor(table, by: str, *, metric: str = "val_accuracy", examples: int, seed_sd: float | None = None):
    """Ranks a sweep's trials and marks which are distinguishable from the best one.

    A gap to the best counts only when it exceeds twice its noise: sqrt(se_best² + se² + 2·sd²),
    se being each accuracy's binomial standard error on `examples` images and sd the seed-to-seed
    standard deviation of one configuration, where measured (`spread`). Smaller gaps are ties.

    Args:
        table: a sweep's DataFrame, one row per trial.
        by: the column naming the trials (such as `"optimizer"`).
        metric: the accuracy column.
        examples: images of the split `metric` was measured on.
        seed_sd: the seed-to-seed standard deviation (a fraction), or `None` when not measured.

    Returns:
        A DataFrame, best first: `by`, `metric`, `standard error`, `gap to best`, `noise of gap`
        (twice the gap's noise) and `verdict` (`"best"`, `"tied with the best"` or `"below the best"`).
    """
    import numpy as np
    import pandas as pd

    check_choice("metric", metric, list(table.columns))
    ranked = table.sort_values(metric, ascending=False, kind="stable")
    value = ranked[metric].to_numpy(dtype=float)
    error = standard_error(value, examples)
    extra = 0.0 if seed_sd is None else 2 * float(seed_sd) ** 2
    noise = 2 * np.sqrt(error[0] ** 2 + error ** 2 + extra)
    gap = value - value[0]
    verdict = np.where(np.abs(gap) > noise, "below the best", "tied with the best")
    verdict[0] = "best"
    return pd.DataFrame({by: ranked[by].astype(str).to_numpy(), metric: value, "standard error": error,
                         "gap to best": gap, "noise of gap": noise, "verdict": verdict})


def ranking_sentence(marked, by: str, *, metric: str = "val_accuracy", what: str = "validation accuracy") -> str:
    """Says in words what `noise_floor`'s table shows: the best, its ties, and the rest.

    Args:
        marked: `noise_floor`'s table.
        by: its naming column.
        metric: its accuracy column.
        what: how to name the metric in the sentence.

    Returns:
        One or more sentences, with this run's numbers.
    """
    def named(rows):
        return ", ".join(f"{r[by]} ({100 * r[metric]:.1f} %)" for _, r in rows.iterrows())

    best = marked.iloc[0]
    ties = marked[marked["verdict"] == "tied with the best"]
    below = marked[marked["verdict"] == "below the best"]
    noise = 100 * float(ties["noise of gap"].max()) if len(ties) else 0.0
    text = f"Highest {what}: {best[by]} ({100 * best[metric]:.1f} %)."
    if len(ties):
        text += (f" Tied with it (gaps within twice their noise, up to ±{noise:.1f} points): {named(ties)};"
                 f" this run cannot rank these.")
    else:
        text += " Every other value is below it by more than twice the noise of the gap."
    if len(below):
        text += f" Below the best by more than the noise: {named(below)}."
    return text


def pair_sentence(first: tuple, second: tuple, *, examples: int, what: str = "test accuracy",
                  seed_sd: float | None = None) -> str:
    """Says whether two single accuracies differ by more than twice the noise of their gap.

    Args:
        first: `(name, accuracy)`.
        second: `(name, accuracy)`.
        examples: images each accuracy was measured on.
        what: how to name the metric.
        seed_sd: the seed-to-seed standard deviation, where measured.

    Returns:
        One sentence with both numbers, the gap and its noise.
    """
    (a, pa), (b, pb) = first, second
    extra = 0.0 if seed_sd is None else 2 * float(seed_sd) ** 2
    noise = 200 * math.sqrt(standard_error(pa, examples) ** 2 + standard_error(pb, examples) ** 2 + extra)
    gap = 100 * (pa - pb)
    numbers = f"{a} {100 * pa:.1f} % against {b} {100 * pb:.1f} % ({what} on {examples:,} images)"
    if abs(gap) <= noise:
        return f"{numbers}: a gap of {gap:+.1f} points, within twice its noise (±{noise:.1f}): a tie."
    return f"{numbers}: a gap of {gap:+.1f} points, more than twice its noise (±{noise:.1f})."
