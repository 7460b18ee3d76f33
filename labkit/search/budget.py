"""RandomSearch against Hyperband at an equal budget of epochs, over several search seeds.

For each seed, Hyperband runs first (`max_epochs`, `factor`); the epochs its trials trained set
the budget of the random search that follows, whose trials each train `max_epochs` epochs:
`budget // max_epochs` of them, so that it never spends more epochs than Hyperband did. The best
trial of each search is then trained afresh for `max_epochs` epochs and scored on the test split.
"""

from __future__ import annotations

import os

from labkit.errors import check_positive, check_seed

ORDER = ("hyperband", "random")


def compare(build, space, *, dataset, directory: str | os.PathLike, seeds=(0, 1, 2), max_epochs: int = 3,
            factor: int = 3, batch_size: int = 32, callbacks=(), overwrite: bool = True, on_search=None,
            budget_seconds: float | None = None):
    """Runs Hyperband, then RandomSearch with as many epochs, for every seed; retrains each winner.

    Args:
        build: a build function of `space` (`labkit.search.hyper.resnet_hypermodel(...)`).
        space: a `keras_tuner.HyperParameters`.
        dataset: a `labkit.data.Dataset`.
        directory: the folder of the searches (`<method>_seed<seed>` in it).
        seeds: the search seeds (oracle draws and builds).
        max_epochs: Hyperband's `max_epochs`, and the epochs of every random trial and retraining.
        factor: Hyperband's reduction factor.
        batch_size: examples per step.
        callbacks: more Keras callbacks for every fit.
        overwrite: start every search afresh (`False`: finished searches are reloaded, not rerun).
        on_search: called with `(seed, Search)` after each search (to print its table, say).
        budget_seconds: each search's time budget (`None`: the profile's `search_seconds`); a
            search it cuts short spends fewer epochs, which the `epochs` column shows.

    Returns:
        A pandas DataFrame, one row per (seed, method): `trials`, `epochs` spent, `seconds` of
        wall time, `best_val_accuracy`, `test_accuracy` of the retrained winner, and the winner's
        values as `best`.
    """
    import pandas as pd

    from labkit.search.hypersearch import retrain, search

    check_positive("max_epochs", max_epochs)
    rows = []
    for seed in seeds:
        check_seed("seeds", seed)
        budget = None
        for method in ORDER:
            trials = max(1, budget // max_epochs) if budget is not None else None
            found = search(build, space, dataset=dataset, directory=directory, name=f"{method}_seed{seed}",
                           method=method, max_trials=trials, max_epochs=max_epochs, factor=factor,
                           batch_size=batch_size, seed=seed, callbacks=callbacks, overwrite=overwrite,
                           budget_seconds=budget_seconds)
            budget = found.epochs if budget is None else budget
            if on_search is not None:
                on_search(seed, found)
            best = found.best_values()
            scored = retrain(build, best, dataset=dataset, epochs=max_epochs, batch_size=batch_size, seed=seed,
                             callbacks=callbacks)
            rows.append({"seed": seed, "method": method, "trials": len(found.table), "epochs": found.epochs,
                         "seconds": found.seconds, "best_val_accuracy": float(found.table["val_accuracy"].max()),
                         "test_accuracy": scored["test_accuracy"], "best": best})
    return pd.DataFrame(rows)


def spread(runs):
    """Summarises `compare`'s rows per method over the seeds.

    Args:
        runs: `compare`'s DataFrame.

    Returns:
        A DataFrame indexed by method: mean and standard deviation (over seeds) of `epochs`,
        `seconds`, `best_val_accuracy` and `test_accuracy`, and `seeds`.
    """
    columns = ["epochs", "seconds", "best_val_accuracy", "test_accuracy"]
    grouped = runs.groupby("method", sort=False)[columns]
    table = grouped.mean().add_suffix(" mean").join(grouped.std(ddof=1).add_suffix(" sd"))
    table = table[[f"{c} {s}" for c in columns for s in ("mean", "sd")]]
    table["seeds"] = runs.groupby("method", sort=False)["seed"].nunique()
    return table


def verdict(runs, *, metric: str = "test_accuracy") -> str:
    """Says which search did better on `metric` at the same budget, weighed against the seed spread.

    Args:
        runs: `compare`'s DataFrame.
        metric: the column compared (`"test_accuracy"` or `"best_val_accuracy"`).

    Returns:
        One sentence built from the numbers: the means, their gap, the spread, the epochs and the
        wall time of each method, and whether the gap is larger than the spread.
    """
    table = spread(runs)
    hb, rs = table.loc["hyperband"], table.loc["random"]
    gap = hb[f"{metric} mean"] - rs[f"{metric} mean"]
    noise = max(hb[f"{metric} sd"], rs[f"{metric} sd"])
    seeds = int(table["seeds"].min())
    if seeds < 2 or noise != noise:
        judged = f"one seed only, so the gap of {gap:+.3f} cannot be weighed against any spread"
    elif abs(gap) > noise:
        judged = f"{'Hyperband' if gap > 0 else 'random search'} is ahead by {abs(gap):.3f}, more than the seed-to-seed spread ({noise:.3f})"
    else:
        judged = f"the gap of {gap:+.3f} is within the seed-to-seed spread ({noise:.3f}): neither search is shown better"
    return (
        f"Over {seeds} search seed(s), Hyperband spent {hb['epochs mean']:.0f} epochs in {hb['seconds mean']:.0f} s "
        f"and random search {rs['epochs mean']:.0f} epochs in {rs['seconds mean']:.0f} s; {metric.replace('_', ' ')} "
        f"{hb[f'{metric} mean']:.3f} against {rs[f'{metric} mean']:.3f}: {judged}."
    )
