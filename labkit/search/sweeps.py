"""Sweeps: one model builder trained over a grid, or a random sample, of hyperparameter values.

`run(build, {"optimizer": ["adam", "sgd"]}, dataset=..., directory=..., name=...)` calls
`build(optimizer="adam")` and `build(optimizer="sgd")`, trains each compiled model and returns a
table with one row per trial. keras-tuner does the bookkeeping (`labkit.search.tuner`): its
`GridSearch` and `RandomSearch` oracles choose the values; every finished trial is kept in
`directory/<name>/`, so running the same sweep again runs only what is missing; each trial logs to
TensorBoard's HParams dashboard; and keras-tuner's chief/worker mode (its `KERASTUNER_*`
environment variables) spreads the trials over several processes or machines.
"""

from __future__ import annotations

import inspect
import math
import os
import shlex
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import ParameterError, check_choice, check_positive, check_seconds, check_seed, check_stem
from labkit.search.space import check_space, declare, declared

MODES = ("grid", "random")
VALIDATIONS = ("every epoch", "last epoch")


def log_dir(directory: str | os.PathLike, name: str) -> Path:
    """Finds a sweep's TensorBoard logs.

    Args:
        directory: the sweep's `directory`, as given to `run`.
        name: the sweep's `name`.

    Returns:
        `directory/<name>/tensorboard`.
    """
    return Path(directory) / _check_name(name) / "tensorboard"


def tensorboard_command(directory: str | os.PathLike, name: str) -> str:
    """Makes the shell command that opens TensorBoard (and its HParams tab) on a sweep's logs.

    The dashboard is live: start it while the sweep runs and reload it to see new trials.

    Args:
        directory: the sweep's `directory`, as given to `run`.
        name: the sweep's `name`.

    Returns:
        A command such as `tensorboard --logdir build/offline/work/.../name/tensorboard`, to run
        in the lab's folder.
    """
    return f"tensorboard --logdir {shlex.quote(shown_path(log_dir(directory, name)))}"


def shown_path(path: str | os.PathLike) -> str:
    """Writes a path as a page may show it: relative to the lab's checkout (or the working folder).

    Args:
        path: a file or folder.

    Returns:
        The path relative to the checkout's root, else to the working folder, else as given.
    """
    from labkit.config import project_root

    path = Path(path).resolve()
    for base in (project_root(), Path.cwd()):
        if base is not None and path.is_relative_to(base.resolve()):
            return str(path.relative_to(base.resolve()))
    return str(path)


@dataclass(frozen=True)
class _Settings:
    """A sweep's arguments, checked, with the profile's defaults filled in."""

    space: dict
    mode: str
    planned: int
    epochs: int
    batch_size: int
    seed: int
    budget_seconds: float | None
    executions_per_trial: int
    verbose: int
    objective: object
    validation: str = "every epoch"


def run(build, space: dict, *, dataset, directory: str | os.PathLike, name: str, mode: str = "grid",
        max_trials: int | None = None, epochs: int | None = None, batch_size: int = 32, seed: int = 0,
        objective: str = "val_accuracy", budget_seconds: float | None = None, overwrite: bool = False,
        executions_per_trial: int = 1, tensorboard: bool = True, verbose: int = 0, test: bool = False,
        validation: str | None = None):
    """Trains the models of `build` over a grid or a random sample of `space`.

    A trial calls `build(**values)` with one combination of values, trains the compiled model on
    `dataset`'s train split for `epochs` epochs and validates it on its val split. Before each
    build the random generators are seeded with `seed` (plus the execution number), so that
    every trial starts from the same random state, whichever order or process it runs in.

    The sweep's state lives in `directory/<name>/`. Running the same sweep again with
    `overwrite=False` reloads it and runs only the trials that are missing (a larger
    `max_trials`, or the rest of a sweep that a time budget or an interruption stopped);
    its table then holds the old trials and the new ones.

    Distributed mode is keras-tuner's own: start the same script once with the environment
    variables `KERASTUNER_TUNER_ID=chief`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`
    (the chief serves the trials and trains nothing), and once per worker with
    `KERASTUNER_TUNER_ID=tuner0`, `tuner1`, ... and the same address, all with the same
    `directory` (a shared folder) and `name`. On the chief `run` returns every trial; on a
    worker it returns the trials that worker ran. Pass `overwrite=True` to none of them (each
    would delete the others' files): delete the sweep's folder beforehand instead.

    Args:
        build: a function that takes the values of `space` as keyword arguments and returns a
            compiled `keras.Model`, such as `lambda optimizer: compile_classifier(model(),
            optimizer_name=optimizer)`. A `ParameterError` it raises (an unknown optimizer, say)
            stops the sweep and reaches the caller unchanged (the trials done so far stay saved);
            other errors fail that trial only.
        space: `{keyword: list of values}`, such as `{"optimizer": ["adam", "sgd"]}`; values are
            ints, floats, strings or bools, one kind per list (ints mixed with floats become
            floats). The grid walks them in the order given, the last keyword fastest.
        dataset: a `labkit.data.Dataset`.
        directory: the folder that holds the sweep (inside the build folder: `lab.work_dir(...)`).
        name: the sweep's name: its folder in `directory`.
        mode: `"grid"` (every combination, in order) or `"random"` (a sample without repeats).
        max_trials: trials at most; `None` runs the whole grid in `"grid"` mode and the
            profile's `trials` in `"random"` mode. Never more than the number of combinations.
        epochs: epochs per trial; `None` takes the profile's.
        batch_size: examples per gradient step.
        seed: seeds the random sample and each trial's initial weights (a whole number ≥ 0).
        objective: the metric that ranks the trials, one the model reports in its history such as
            `"val_accuracy"` (maximised) or `"val_loss"` (minimised); a `keras_tuner.Objective`
            for a metric whose direction keras-tuner cannot infer from its name.
        budget_seconds: after this many seconds no new trial starts, and the one under way stops
            at its next epoch end (it then counts as done, with fewer epochs); `None` takes
            the profile's `search_seconds`.
        overwrite: delete the sweep's saved trials and logs and start afresh.
        executions_per_trial: models trained per combination; their metrics are averaged.
        tensorboard: log every trial to `log_dir(directory, name)` with its hyperparameters
            (TensorBoard's HParams tab); see `tensorboard_command`.
        verbose: 0 silent, 1 keras-tuner's trial tables and Keras' progress bars, 2 one line
            per epoch.
        validation: `"every epoch"` or `"last epoch"` (one validation pass per trial, so the best
            epoch is the last); `None` takes the profile's `sweep_validation`.
        test: also score each trial's model at its best epoch (the weights keras-tuner keeps) on the
            test split, as a `test_accuracy` column.

    Returns:
        A pandas DataFrame with one row per completed trial, sorted by `trial` (keras-tuner's
        trial number): a column per keyword of `space`; the metrics the model reports (`loss`,
        `accuracy`, `val_loss`, `val_accuracy`, ...) at the epoch where `objective` was best,
        so that the `objective` column is the trial's best value; `best_epoch` and `epochs`
        (epochs run, from 1); and `seconds`, the wall time of training (`model.fit`) summed
        over executions. Failed trials are left out, with a warning that names them.
    """
    settings = _settings(build, space, dataset, name, mode, max_trials, epochs, batch_size, seed,
                         objective, budget_seconds, executions_per_trial, verbose, validation)
    tuner = _tuner(build, settings, directory, name, overwrite)
    log = _search(tuner, settings, dataset, log_dir(directory, name) if tensorboard else None)
    frame = _report(tuner, log, settings, name)
    return _test_scores(tuner, frame, dataset) if test else frame


# What the columns of `run`'s table measure, for results files (`labkit.results.record(definition=...)`).
DEFINITIONS = {
    "val_accuracy": "validation accuracy at the trial's best validated epoch (with validation 'last epoch', the last)",
    "test_accuracy": "test accuracy of the trial's weights at that best epoch",
    "seconds": "wall time of the trial's training (model.fit), validation included",
}


def _test_scores(tuner, frame, dataset):
    """Adds `test_accuracy`: each trial's best-epoch weights scored on the test split."""
    from labkit.search.tuner import classes
    from labkit.train import evaluate

    if not isinstance(tuner.oracle, classes().Oracle):  # a distributed worker holds no trials
        return frame
    trials = {int(t.trial_id): t for t in tuner.oracle.trials.values()}
    scores = []
    for number in frame["trial"]:
        model = tuner.load_model(trials[int(number)])
        scores.append(evaluate(model, dataset, split="test")["accuracy"])
    return frame.assign(test_accuracy=scores)


def _settings(build, space, dataset, name, mode, max_trials, epochs, batch_size, seed, objective,
              budget_seconds, executions_per_trial, verbose, validation=None) -> _Settings:
    """Checks every argument of `run` before anything is trained, and fills in the profile's defaults."""
    from labkit.search.tuner import objective as resolve_objective
    from labkit.session import active_profile

    space = check_space(space)
    _check_build(build, space)
    check_choice("mode", mode, MODES)
    _check_name(name)
    for split in ("x_train", "y_train", "x_val", "y_val"):
        if not hasattr(dataset, split):
            raise ParameterError(f"dataset={type(dataset).__name__} must be a labkit.data.Dataset (labkit.data.load)")
    profile = active_profile()
    combinations = math.prod(len(values) for values in space.values())
    if max_trials is None:
        max_trials = combinations if mode == "grid" else profile.trials
    check_positive("max_trials", max_trials)
    budget_seconds = profile.search_seconds if budget_seconds is None else budget_seconds
    check_seconds("budget_seconds", budget_seconds, optional=True)
    check_choice("verbose", verbose, (0, 1, 2))
    return _Settings(
        space=space,
        mode=mode,
        planned=min(max_trials, combinations),
        epochs=check_positive("epochs", profile.epochs if epochs is None else epochs),
        batch_size=check_positive("batch_size", batch_size),
        seed=check_seed("seed", seed),
        budget_seconds=budget_seconds,
        executions_per_trial=check_positive("executions_per_trial", executions_per_trial),
        verbose=verbose,
        objective=resolve_objective(objective),
        validation=check_choice("validation", validation or profile.sweep_validation, VALIDATIONS),
    )


def _tuner(build, settings: _Settings, directory, name: str, overwrite: bool):
    """Makes the keras-tuner tuner of a sweep, reloading a saved one of the same space."""
    from labkit.search.tuner import classes

    kt = classes()
    hyperparameters = declare(settings.space)
    oracle_class = kt.GridOracle if settings.mode == "grid" else kt.RandomOracle
    # keras-tuner replaces a seed of 0 by a random one: shift it so that seed=0 stays reproducible.
    oracle = oracle_class(objective=settings.objective, max_trials=settings.planned,
                          hyperparameters=hyperparameters, seed=settings.seed + 1)
    if settings.budget_seconds is not None:
        oracle.stop_at = time.monotonic() + settings.budget_seconds
    keywords = list(settings.space)

    def build_from(hp):
        return build(**{keyword: hp.get(keyword) for keyword in keywords})

    tuner = kt.Tuner(
        oracle,
        kt.HyperModel(build_from, settings.seed, kt.Stop, name="build"),
        directory=str(directory),
        project_name=name,
        overwrite=overwrite,
        executions_per_trial=settings.executions_per_trial,
    )
    saved = declared(oracle.hyperparameters)
    if saved != settings.space:
        raise ParameterError(
            f"space={settings.space!r} differs from the space of the sweep saved in {tuner.project_dir!r} "
            f"({saved!r}): pass overwrite=True to start it afresh, or another name"
        )
    return tuner


def _search(tuner, settings: _Settings, dataset, logs: Path | None):
    """Runs the trials; every fit carries the sweep's `FitLog`, which times it and applies the budget."""
    import keras

    from labkit.search.tuner import classes
    from labkit.train import FitLog, fit_arguments

    log = FitLog(deadline_seconds=settings.budget_seconds)  # ends the trial under way at its epoch end
    tuner.fit_log = log
    callbacks = [log]
    if logs is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(logs), write_graph=False))
    try:
        last = settings.validation == "last epoch"
        tuner.search(**fit_arguments(dataset, epochs=settings.epochs, batch_size=settings.batch_size, callbacks=callbacks,
                                     verbose=settings.verbose, validation_freq=[settings.epochs] if last else 1))
    except classes().Stop as stop:
        raise stop.error from None
    return log


def _report(tuner, log, settings: _Settings, name: str):
    """The table of the sweep's trials, with a warning for failed trials and for a budget that ran out."""
    from labkit.search.tuner import classes

    # The chief and a single process hold the oracle itself; a worker holds a client of the chief's.
    oracle = tuner.oracle
    trials = list(oracle.trials.values()) if isinstance(oracle, classes().Oracle) else tuner.finished
    frame = _frame(trials, settings.space)
    failed = sorted((t for t in trials if t.status in ("FAILED", "INVALID")), key=lambda t: int(t.trial_id))
    if failed:
        last_line = (failed[-1].message or "").strip().splitlines()[-1:] or ["no message"]
        warnings.warn(
            f"sweep {name!r}: trial(s) {', '.join(t.trial_id for t in failed)} failed and are left out of the "
            f"table; the last one said: {last_line[0]}",
            stacklevel=3,
        )
    if getattr(oracle, "ran_out", False) or log.expired:
        warnings.warn(
            f"sweep {name!r}: its time budget of {settings.budget_seconds:g} s ran out with {len(frame)} of "
            f"{settings.planned} trials done (a trial cut short shows it in `epochs`); run the sweep again to go on",
            stacklevel=3,
        )
    return frame


def _check_name(name) -> str:
    return check_stem("name", name, what="folder name", example="'optimizers'")


def _check_build(build, space: dict) -> None:
    if not callable(build):
        raise ParameterError(f"build={build!r} must be a function that returns a compiled keras.Model")
    try:
        signature = inspect.signature(build)
    except (TypeError, ValueError):  # some built-in callables have no signature to check
        return
    try:
        signature.bind(**dict.fromkeys(space))
    except TypeError as error:
        keywords = ", ".join(space)
        message = f"build{signature} cannot be called with the keywords of space ({keywords}): {error}"
        raise ParameterError(message) from None


def _frame(trials, space: dict):
    """The table of the completed trials, one row each, sorted by trial number."""
    import pandas as pd

    rows = []
    for trial in trials:
        if trial.status != "COMPLETED":
            continue
        metrics = {metric: trial.metrics.get_last_value(metric) for metric in trial.metrics.metrics}
        rows.append({"trial": int(trial.trial_id), **{k: trial.hyperparameters.get(k) for k in space}, **metrics})
    counts = ["best_epoch", "epochs", "seconds"]
    reported = sorted({key for row in rows for key in row} - {"trial", *space, *counts})
    frame = pd.DataFrame(rows, columns=["trial", *space, *reported, *counts])
    for column in ("best_epoch", "epochs"):  # whole numbers unless executions disagree
        if len(frame) and (frame[column] % 1 == 0).all():
            frame[column] = frame[column].astype(int)
    return frame.sort_values("trial", ignore_index=True)
