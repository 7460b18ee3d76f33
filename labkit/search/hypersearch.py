"""One keras-tuner search over a HyperModel: RandomSearch or Hyperband, timed, resumable.

`search(build, space, dataset=..., directory=..., name=..., method="hyperband")` runs keras-tuner
over a declared space (`labkit.search.hyper`) with the course's mixins (`labkit.search.tuner`):
builds seeded, every trial fit carrying the search's `labkit.train.FitLog`, a time budget, and the
search's folder keeping finished trials so that the same call after an interruption runs only
what is missing. A `batch_size` in the space reaches `model.fit` through `HyperModel.fit`.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field

from labkit.errors import check_choice, check_positive, check_seconds, check_seed, check_stem

METHODS = ("random", "hyperband")


@dataclass
class Search:
    """What one search did.

    Attributes:
        table: one row per completed trial (see `search`).
        tuner: the keras-tuner tuner (`search_space_summary()`, `results_summary()`).
        epochs: epochs trained by every trial fit of this call, as the `FitLog` counted them.
        seconds: wall time of this call, builds and bookkeeping included.
        method: `"random"` or `"hyperband"`.
        fits: the `labkit.train.Fit`s of this call.
    """

    table: object
    tuner: object
    epochs: int
    seconds: float
    method: str
    fits: list = field(default_factory=list)

    def best_values(self) -> dict:
        """The best trial's values.

        Returns:
            `{name: value}` of the search space, without keras-tuner's `tuner/...` entries.
        """
        best = self.tuner.oracle.get_best_trials(1)[0].hyperparameters.values
        return {k: v for k, v in best.items() if not k.startswith("tuner/")}


class _BatchFromSpace:
    """HyperModel mixin: a `batch_size` in the trial's values replaces the one given to `fit`."""

    def fit(self, hp, model, *args, **kwargs):
        from labkit import compiled

        if "batch_size" in hp.values:
            kwargs["batch_size"] = int(hp.values["batch_size"])
        if "x" in kwargs and "y" in kwargs:
            compiled.build_before_tracing(model, kwargs["x"], kwargs["y"])
        return model.fit(*args, **kwargs)


class _OracleGiven:
    """Tuner mixin for keras-tuner's `Hyperband` tuner: takes an oracle (ours) instead of making one."""

    def __init__(self, oracle, hypermodel, **kwargs):
        import keras_tuner

        keras_tuner.Tuner.__init__(self, oracle=oracle, hypermodel=hypermodel, **kwargs)


@functools.cache
def _classes():
    import keras_tuner

    from labkit.search.tuner import _TimedTuner, classes

    kt = classes()
    return {
        "hypermodel": type("SpaceHyperModel", (_BatchFromSpace, kt.HyperModel), {}),
        "random": (kt.Tuner, kt.RandomOracle),
        "hyperband": (type("TimedHyperband", (_TimedTuner, _OracleGiven, keras_tuner.tuners.Hyperband), {}),
                      kt.HyperbandOracle),
    }


def search(build, space, *, dataset, directory: str | os.PathLike, name: str, method: str = "random",
           max_trials: int | None = None, epochs: int | None = None, max_epochs: int | None = None,
           factor: int = 3, batch_size: int = 32, seed: int = 0, objective: str = "val_accuracy",
           callbacks=(), budget_seconds: float | None = None, overwrite: bool = False, verbose: int = 0) -> Search:
    """Searches a declared space with keras-tuner's RandomSearch or Hyperband.

    Args:
        build: a function of `hp` that returns a compiled `keras.Model`, such as
            `labkit.search.hyper.resnet_hypermodel(...)`; it reads the values with `hp.get(name)`.
        space: a `keras_tuner.HyperParameters` (`hyper.resnet_space()`, `hyper.optimizer_space()`).
            Entries that `build` declares beyond it keep their defaults (HyperResNet's `version`).
        dataset: a `labkit.data.Dataset`.
        directory: the folder that holds the search (`lab.work_dir(...)`).
        name: the search's folder in `directory`.
        method: `"random"` or `"hyperband"`.
        max_trials: random search's trials; `None` takes the profile's `trials`.
        epochs: random search's epochs per trial; `None` takes `max_epochs`, then the profile's.
        max_epochs: Hyperband's most epochs for one model; `None` takes the profile's `epochs`.
        factor: Hyperband's reduction factor (keeps about one model in `factor` per round).
        batch_size: examples per step, unless the space has a `batch_size`.
        seed: seeds the oracle's draws and every build.
        objective: the metric that ranks the trials, such as `"val_accuracy"`.
        callbacks: more Keras callbacks for every trial fit, such as `EarlyStopping`.
        budget_seconds: no new trial after this many seconds (the one under way stops at its next
            epoch end); `None` takes the profile's `search_seconds`.
        overwrite: delete the saved trials and start afresh; otherwise a saved search goes on.
        verbose: Keras' and keras-tuner's verbosity, 0 silent.

    Returns:
        A `Search`; its `table` has one row per completed trial, sorted by trial number: the
        space's values (`momentum` empty where inactive; Hyperband's `tuner/epochs`, `tuner/round`
        ...), the metrics at the best epoch, `best_epoch`, `epochs` (run by that trial) and
        `seconds` (its training time).
    """
    from labkit.search.tuner import classes, objective as resolve_objective
    from labkit.session import active_profile
    from labkit.train import FitLog, fit_arguments

    check_choice("method", method, METHODS)
    check_stem("name", name, what="folder name", example="'hyperband'")
    profile = active_profile()
    max_epochs = check_positive("max_epochs", profile.epochs if max_epochs is None else max_epochs)
    epochs = check_positive("epochs", max_epochs if epochs is None else epochs)
    budget_seconds = check_seconds("budget_seconds", profile.search_seconds if budget_seconds is None else budget_seconds,
                                   optional=True)
    tuner = _tuner(build, space, method, directory, name, overwrite,
                   dict(objective=resolve_objective(objective), seed=check_seed("seed", seed) + 1),
                   max_trials=check_positive("max_trials", profile.trials if max_trials is None else max_trials),
                   max_epochs=max_epochs, factor=check_positive("factor", factor), seed=seed)
    if budget_seconds is not None:
        tuner.oracle.stop_at = time.monotonic() + budget_seconds
    log = FitLog(deadline_seconds=budget_seconds)
    tuner.fit_log = log
    started = time.perf_counter()
    try:
        tuner.search(**fit_arguments(dataset, epochs=epochs, batch_size=check_positive("batch_size", batch_size),
                                     callbacks=[*callbacks, log], verbose=verbose))
    except classes().Stop as stop:
        raise stop.error from None
    seconds = time.perf_counter() - started
    # A single process and a distributed chief hold the oracle; a worker holds a client of the chief's.
    trials = tuner.oracle.trials.values() if isinstance(tuner.oracle, classes().Oracle) else tuner.finished
    return Search(table=trials_table(trials), tuner=tuner, method=method,
                  epochs=sum(fit.epochs for fit in log.fits), seconds=seconds, fits=list(log.fits))


def _tuner(build, space, method, directory, name, overwrite, common, *, max_trials, max_epochs, factor, seed):
    from labkit.search.tuner import classes

    tuner_class, oracle_class = _classes()[method]
    if method == "random":
        oracle = oracle_class(max_trials=max_trials, hyperparameters=space, tune_new_entries=False, **common)
    else:
        oracle = oracle_class(max_epochs=max_epochs, factor=factor, hyperparameters=space, tune_new_entries=False,
                              **common)
    hypermodel = _classes()["hypermodel"](build, seed, classes().Stop, name="build")
    return tuner_class(oracle, hypermodel, directory=str(directory), project_name=name, overwrite=overwrite)


def trials_table(trials):
    """Tabulates keras-tuner trials.

    Args:
        trials: `keras_tuner` trials (`tuner.oracle.trials.values()`).

    Returns:
        A pandas DataFrame, one row per completed trial sorted by trial number: `trial`, the
        trial's values, its reported metrics, then `best_epoch`, `epochs`, `seconds`.
    """
    import pandas as pd

    rows = []
    for trial in trials:
        if trial.status != "COMPLETED":
            continue
        metrics = {metric: trial.metrics.get_last_value(metric) for metric in trial.metrics.metrics}
        rows.append({"trial": int(trial.trial_id), **trial.hyperparameters.values, **metrics})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    counts = [c for c in ("best_epoch", "epochs", "seconds") if c in frame]
    ordered = ["trial", *[c for c in frame if c not in ("trial", *counts)], *counts]
    return frame[ordered].sort_values("trial", ignore_index=True)


def retrain(build, values: dict, *, dataset, epochs: int, batch_size: int = 32, seed: int = 0, callbacks=()) -> dict:
    """Trains the model of chosen values afresh on the train split and scores it on the test split.

    Args:
        build: the search's build function.
        values: `{name: value}`, such as `Search.best_values()`; a `batch_size` there wins.
        dataset: a `labkit.data.Dataset`.
        epochs: epochs to train.
        batch_size: examples per step unless `values` has one.
        seed: the random state of the build.
        callbacks: more Keras callbacks, such as `EarlyStopping`.

    Returns:
        `{"test_accuracy", "test_loss", "epochs", "seconds"}`.
    """
    import keras
    import keras_tuner

    from labkit import train

    hp = keras_tuner.HyperParameters()
    for key, value in values.items():
        hp.Fixed(key, value)
    keras.utils.set_random_seed(seed)
    model = build(hp)
    fit = train.fit(model, dataset, epochs=epochs, batch_size=int(values.get("batch_size", batch_size)),
                    callbacks=list(callbacks))
    scores = train.evaluate(model, dataset, split="test")
    return {"test_accuracy": scores["accuracy"], "test_loss": scores["loss"], "epochs": fit.epochs,
            "seconds": fit.seconds}
