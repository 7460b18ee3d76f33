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
            rows.append(
                {
                    "configuration": label,
                    "seed": seed,
                    "val_accuracy": train.evaluate(model, dataset, split="val")["accuracy"],
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


def compare(runs, *, baseline: str, challenger: str, metric: str = "test_accuracy") -> dict:
    """Compares two configurations of `repeat`'s table: the gap of their means and its standard error.

    The verdict calls the gap real when it exceeds twice its standard error
    (sqrt(s_a²/n_a + s_b²/n_b)); with a single seed each, the spread is unknown and so is the verdict.

    Args:
        runs: `repeat`'s table.
        baseline: the label of one configuration.
        challenger: the label of the other.
        metric: the column to compare.

    Returns:
        `{"gap", "standard_error", "verdict"}`, the gap being challenger minus baseline.
    """
    table = spread(runs, metric=metric)
    for name, label in ((baseline, "baseline"), (challenger, "challenger")):
        check_choice(label, name, list(table.index))
    gap = float(table.loc[challenger, "mean"] - table.loc[baseline, "mean"])
    if (table.loc[[baseline, challenger], "runs"] < 2).any():
        return {"gap": gap, "standard_error": None, "verdict": "unknown: one run per configuration shows no spread"}
    error = math.sqrt(sum(table.loc[n, "std"] ** 2 / table.loc[n, "runs"] for n in (baseline, challenger)))
    verdict = (
        "larger than twice its standard error: likely a real difference"
        if abs(gap) > 2 * error
        else "within twice its standard error: not distinguishable from run-to-run noise"
    )
    return {"gap": gap, "standard_error": error, "verdict": verdict}
