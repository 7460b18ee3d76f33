"""Sweeps: one model builder trained over a grid, or a random sample, of hyperparameter values.

`run(build, {"optimizer": ["adam", "sgd"]}, dataset=..., directory=..., name=...)` calls
`build(optimizer="adam")` and `build(optimizer="sgd")`, trains each compiled model and returns a
table with one row per trial. keras-tuner does the bookkeeping: its `GridSearch` and `RandomSearch`
oracles choose the values; every finished trial is kept in `directory/<name>/`, so running the
same sweep again runs only what is missing; each trial logs to TensorBoard's HParams dashboard;
and keras-tuner's chief/worker mode (its `KERASTUNER_*` environment variables) spreads the trials
over several processes or machines.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import shlex
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from labkit.errors import ParameterError, bad_choice, check_choice, check_positive, check_seconds, check_seed

MODES = ("grid", "random")


def log_dir(directory: str | os.PathLike, name: str) -> Path:
    """Returns the TensorBoard folder of a sweep: `directory/<name>/tensorboard`."""
    return Path(directory) / _check_name(name) / "tensorboard"


def tensorboard_command(directory: str | os.PathLike, name: str) -> str:
    """Returns the shell command that opens TensorBoard (and its HParams tab) on a sweep's logs.

    The dashboard is live: start it while the sweep runs and reload it to see new trials.

    Args:
        directory: the sweep's `directory`, as given to `run`.
        name: the sweep's `name`.

    Returns:
        A command such as `tensorboard --logdir /path/to/directory/name/tensorboard`.
    """
    return f"tensorboard --logdir {shlex.quote(str(log_dir(directory, name).resolve()))}"


def run(
    build,
    space: dict,
    *,
    dataset,
    directory: str | os.PathLike,
    name: str,
    mode: str = "grid",
    max_trials: int | None = None,
    epochs: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
    objective: str = "val_accuracy",
    budget_seconds: float | None = None,
    overwrite: bool = False,
    executions_per_trial: int = 1,
    tensorboard: bool = True,
    verbose: int = 0,
):
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

    Returns:
        A pandas DataFrame with one row per completed trial, sorted by `trial` (keras-tuner's
        trial number): a column per keyword of `space`; the metrics the model reports (`loss`,
        `accuracy`, `val_loss`, `val_accuracy`, ...) at the epoch where `objective` was best,
        so that the `objective` column is the trial's best value; `best_epoch` and `epochs`
        (epochs run, from 1); and `seconds`, the wall time of training (`model.fit`) summed
        over executions. Failed trials are left out, with a warning that names them.
    """
    import keras

    from labkit.session import active_profile
    from labkit.train import deadline

    space = _check_space(space)
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
    epochs = profile.epochs if epochs is None else epochs
    check_positive("epochs", epochs)
    check_positive("batch_size", batch_size)
    check_positive("executions_per_trial", executions_per_trial)
    check_seed("seed", seed)
    budget_seconds = profile.search_seconds if budget_seconds is None else budget_seconds
    check_seconds("budget_seconds", budget_seconds, optional=True)
    check_choice("verbose", verbose, (0, 1, 2))
    objective = _objective(objective)

    kt = _keras_tuner()
    hyperparameters = kt.HyperParameters()
    for keyword, values in space.items():
        if not isinstance(values[0], bool):
            hyperparameters.Choice(keyword, values)
        elif len(values) == 1:  # keras-tuner's Choice would turn bools into ints
            hyperparameters.Fixed(keyword, values[0])
        else:
            hyperparameters.Boolean(keyword, default=values[0])
    planned = min(max_trials, combinations)
    oracle_class = kt.GridOracle if mode == "grid" else kt.RandomOracle
    # keras-tuner replaces a seed of 0 by a random one: shift it so that seed=0 stays reproducible.
    oracle = oracle_class(objective=objective, max_trials=planned, hyperparameters=hyperparameters, seed=seed + 1)
    if budget_seconds is not None:
        oracle.stop_at = time.monotonic() + budget_seconds
    tuner = kt.Tuner(
        oracle,
        kt.Builder(build, space, seed, kt.Stop),
        directory=str(directory),
        project_name=name,
        overwrite=overwrite,
        executions_per_trial=executions_per_trial,
    )
    saved = {hp.name: _walk_order(hp) for hp in oracle.hyperparameters.space}
    if saved != space:
        raise ParameterError(
            f"space={space!r} differs from the space of the sweep saved in {tuner.project_dir!r} ({saved!r}): "
            "pass overwrite=True to start it afresh, or another name"
        )

    stopper = deadline(budget_seconds)  # ends the trial under way at its epoch end
    callbacks = [stopper]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(log_dir(directory, name)), write_graph=False))
    try:
        tuner.search(
            dataset.x_train,
            dataset.y_train,
            validation_data=(dataset.x_val, dataset.y_val),
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
            verbose=verbose,
        )
    except kt.Stop as stop:
        raise stop.error from None

    # The chief and a single process hold the oracle itself; a worker holds a client of the chief's.
    trials = list(tuner.oracle.trials.values()) if isinstance(tuner.oracle, kt.Oracle) else tuner.finished
    frame = _frame(trials, space)
    failed = sorted((t for t in trials if t.status in ("FAILED", "INVALID")), key=lambda t: int(t.trial_id))
    if failed:
        last_line = (failed[-1].message or "").strip().splitlines()[-1:] or ["no message"]
        warnings.warn(
            f"sweep {name!r}: trial(s) {', '.join(t.trial_id for t in failed)} failed and are left out of the "
            f"table; the last one said: {last_line[0]}",
            stacklevel=2,
        )
    if oracle.ran_out or type(stopper).expired:
        warnings.warn(
            f"sweep {name!r}: its time budget of {budget_seconds:g} s ran out with {len(frame)} of {planned} trials "
            "done (a trial cut short shows it in `epochs`); run the sweep again to go on",
            stacklevel=2,
        )
    return frame


def _check_name(name) -> str:
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        raise ParameterError(f"name={name!r} must be a plain folder name such as 'optimizers'")
    return name


def _check_space(space) -> dict[str, list]:
    """Returns `space` with lists of plain Python values, or raises a ParameterError."""
    allowed = (
        "a dict {keyword: non-empty list of ints, floats, strings or bools}, such as {'optimizer': ['adam', 'sgd']}"
    )
    if not isinstance(space, dict) or not space:
        raise ParameterError(f"space={space!r} must be {allowed}")
    checked = {}
    for keyword, values in space.items():
        if not isinstance(keyword, str) or not keyword.isidentifier():
            raise ParameterError(f"space key {keyword!r} must be the name of one of build's keyword arguments")
        listed = [] if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__") else list(values)
        if not listed:
            raise ParameterError(f"space[{keyword!r}]={values!r} must be a non-empty list; space must be {allowed}")
        plain = [_plain(keyword, value) for value in listed]
        kinds = {type(value) for value in plain}
        if kinds == {int, float}:
            plain, kinds = [float(value) for value in plain], {float}
        if len(kinds) > 1:
            kind = "values of one kind (ints, floats, strings or bools)"
            raise ParameterError(f"space[{keyword!r}]={values!r} must hold {kind}")
        if len(set(plain)) < len(plain):
            raise ParameterError(f"space[{keyword!r}]={values!r} lists a value twice")
        checked[keyword] = plain
    return checked


def _plain(keyword: str, value):
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ParameterError(f"space[{keyword!r}] holds {value!r}: the values must be ints, floats, strings or bools")


def _walk_order(hp) -> list:
    """The values of a declared hyperparameter in the order the grid walks them: its default first."""
    others = [value for value in hp.values if value != hp.default]
    return [hp.default, *others]


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


def _objective(objective):
    """Returns `objective` as a `keras_tuner.Objective`, its direction inferred from its name."""
    import keras_tuner

    if isinstance(objective, keras_tuner.Objective):
        return objective
    if not isinstance(objective, str) or not objective:
        raise ParameterError(
            f"objective={objective!r} must be the name of a metric the model reports, such as 'val_accuracy'"
        )
    direction = keras_tuner.engine.metrics_tracking.infer_metric_direction(objective)
    if direction is None:
        raise ParameterError(
            f"objective={objective!r}: keras-tuner cannot tell whether to maximise or minimise it; "
            f"pass keras_tuner.Objective({objective!r}, direction='max') (or 'min')"
        )
    return keras_tuner.Objective(objective, direction)


def _summary(histories, objective) -> dict[str, float]:
    """The numbers one trial reports to the oracle.

    Per execution: every metric at the epoch where `objective` was best, that epoch (from 1) and
    the epochs run; averaged over executions. `seconds` is the training time of all executions.
    """
    rows = []
    for history in histories:
        curve = history.history[objective.name]
        pick = max if objective.direction == "max" else min
        best = pick(range(len(curve)), key=curve.__getitem__)
        row = {metric: float(values[best]) for metric, values in history.history.items()}
        row.update(best_epoch=best + 1, epochs=len(curve))
        rows.append(row)
    summary = {key: sum(row[key] for row in rows) / len(rows) for key in rows[0]}
    summary["seconds"] = sum(history.seconds for history in histories)
    return summary


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


class _SweepOracle:
    """Oracle mixin: a time budget, and a saved state that never lists a finished trial as under way.

    Both live in the oracle so that they also hold on a distributed chief, which trains nothing.
    """

    stop_at: float | None = None  # a `time.monotonic()` value: no new trial after it
    ran_out = False

    def create_trial(self, tuner_id):
        if self.stop_at is not None and time.monotonic() >= self.stop_at and not self.ran_out:
            self.ran_out = True
            self.max_trials = max(len(self.trials), 1)  # 0 would mean "no limit"
        return super().create_trial(tuner_id)

    def end_trial(self, trial):
        super().end_trial(trial)
        # keras-tuner saves before it marks the trial as no longer under way; in one process the
        # tuner saves again afterwards, but a chief does not, and would run the trial again on resume.
        self.save()


class _ResumableGrid:
    """GridSearchOracle mixin: a reloaded grid goes on where it stopped.

    keras-tuner 1.4.8 does not save how far its grid walk went (`_ordered_ids`, `_populate_next`),
    so a reloaded GridSearch stops without running the missing combinations, or fails with a
    KeyError after re-running an interrupted trial (keras-team/keras-tuner#1055, open). Both are
    rebuilt here from the reloaded trials, with the oracle's own ordering of combinations.
    """

    def set_state(self, state):
        super().set_state(state)

        def order(a, b):
            return self._compare(self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values)

        walked = sorted(self.trials, key=functools.cmp_to_key(order))
        self._ordered_ids = type(self._ordered_ids)()
        for trial_id in walked:
            self._ordered_ids.insert(trial_id)
        self._populate_next = walked


class _Builder:
    """HyperModel mixin around a plain `build(**values)`: seeds each build, times each fit."""

    def __init__(self, build, space, seed, stop):
        super().__init__(name="build")
        self.function, self.space, self.seed, self.stop = build, space, seed, stop
        self.executions = 0  # of the trial under way: reset by the tuner

    def build(self, hp):
        import keras

        values = {keyword: hp.get(keyword) for keyword in self.space}
        keras.utils.set_random_seed(self.seed + self.executions)
        self.executions += 1
        try:
            model = self.function(**values)
        except ParameterError as error:  # a bad value in the space: stop, do not retry or wrap
            raise self.stop(error) from error
        if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
            problem = f"build returned an uncompiled {type(model).__name__}"
            advice = "call labkit.train.compile_classifier(model) or model.compile(...) in it"
            raise self.stop(ParameterError(f"{problem}: build must return a compiled keras.Model; {advice}"))
        return model

    def fit(self, hp, model, *args, **kwargs):
        started = time.perf_counter()
        history = model.fit(*args, **kwargs)
        history.seconds = time.perf_counter() - started
        return history


class _SweepTuner:
    """Tuner mixin: reports `_summary` to the oracle and checks the objective after one epoch."""

    def __init__(self, *args, **kwargs):
        self.finished = []  # trials this process ran, as the oracle recorded them
        super().__init__(*args, **kwargs)

    def _populate_initial_space(self):
        # keras-tuner builds one model here to find the space; ours is declared on the oracle,
        # so `build` runs once per trial and nowhere else.
        pass

    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.executions = 0
        return _summary(super().run_trial(trial, *args, **kwargs), self.oracle.objective)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        name = self.oracle.objective.name
        if epoch == 0 and name not in (logs or {}):
            reported = ", ".join(repr(metric) for metric in sorted(logs or {}))
            error = ParameterError(f"objective={name!r} is not a metric the model reports: {reported}")
            raise self.hypermodel.stop(error)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        # Asked now, while a distributed chief is sure to be up (it waits for this worker).
        self.finished.append(self.oracle.get_trial(trial.trial_id))


class _Stop:
    """FatalError mixin: carries a ParameterError out of keras-tuner's search, which re-raises fatal errors."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


@functools.cache
def _keras_tuner():
    """keras-tuner's classes with the mixins above, made on first use (importing keras-tuner imports
    the backend, which `labkit.setup` should configure first)."""
    import keras_tuner

    return SimpleNamespace(
        HyperParameters=keras_tuner.HyperParameters,
        Oracle=keras_tuner.Oracle,
        GridOracle=type("GridOracle", (_SweepOracle, _ResumableGrid, keras_tuner.oracles.GridSearchOracle), {}),
        RandomOracle=type("RandomOracle", (_SweepOracle, keras_tuner.oracles.RandomSearchOracle), {}),
        Tuner=type("SweepTuner", (_SweepTuner, keras_tuner.Tuner), {}),
        Builder=type("Builder", (_Builder, keras_tuner.HyperModel), {}),
        Stop=type("SweepStop", (_Stop, keras_tuner.errors.FatalError), {}),
    )


def repeat(build, configurations: dict, *, dataset, seeds=(0, 1, 2), epochs: int | None = None, batch_size: int = 32):
    """Trains each configuration once per seed and scores it on the validation and test splits.

    A sweep ranks configurations by one run each; `repeat` shows how much a single configuration
    varies from run to run, which says whether the sweep's winner really is better.

    Args:
        build: the sweep's builder (keyword arguments to a compiled `keras.Model`).
        configurations: `{label: keyword arguments of build}`, such as
            `{"baseline": {"filters_2": 32}, "best": {"filters_2": 64}}`.
        dataset: a `labkit.data.Dataset`.
        seeds: one run per seed (initial weights and batch order).
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
    seeds = list(seeds)
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
    """Returns the mean, standard deviation, lowest and highest `metric` of each configuration of
    `repeat`'s table, and the number of runs."""
    check_choice("metric", metric, [c for c in runs.columns if c not in ("configuration", "seed")])
    grouped = runs.groupby("configuration", sort=False)[metric]
    table = grouped.agg(["mean", "std", "min", "max", "count"]).rename(columns={"count": "runs"})
    return table


def one_at_a_time(baseline: dict, values: dict) -> list[dict]:
    """Returns the spaces of a one-at-a-time design around `baseline`.

    The first space varies the first keyword of `values` (baseline included); each next space varies
    one more keyword alone, the others held at their baseline values, without repeating the
    baseline. `run_design` runs them: 1 + Σ(len(values[k]) - 1) trials instead of the grid's Π len(values[k]).

    Args:
        baseline: `{keyword: value}` for every keyword of the builder.
        values: `{keyword: values to try}` for the keywords to vary (a subset of `baseline`'s).

    Returns:
        A list of spaces for `run_design`.
    """
    if not values:
        raise ParameterError("values={} must name at least one keyword to vary")
    unknown = [k for k in values if k not in baseline]
    if unknown:
        raise bad_choice("values", unknown[0], list(baseline))
    spaces = []
    for index, (keyword, options) in enumerate(values.items()):
        others = [v for v in options if v != baseline[keyword]]
        choices = ([baseline[keyword]] if index == 0 else []) + others
        if choices:
            spaces.append({k: (choices if k == keyword else [v]) for k, v in baseline.items()})
    return spaces


def run_design(build, spaces: list, *, directory: str | os.PathLike, name: str, **options):
    """Runs one sweep per space (as `run` does, each in `directory/<name>/part<i>`) and returns all
    their trials in one table, with a `part` column. `options` are `run`'s keyword arguments."""
    import pandas as pd

    _check_name(name)
    if not spaces:
        raise ParameterError("spaces=[] must hold at least one space")
    folder = Path(directory) / name
    tables = []
    for index, space in enumerate(spaces):
        table = run(build, space, directory=folder, name=f"part{index}", **options)
        tables.append(table.assign(part=index))
    return pd.concat(tables, ignore_index=True)


def design_tensorboard_command(directory: str | os.PathLike, name: str) -> str:
    """Returns the command that opens TensorBoard on every part of a `run_design` design."""
    return f"tensorboard --logdir {shlex.quote(str((Path(directory) / _check_name(name)).resolve()))}"


DESIGNS = ("grid", "one at a time", "one only")


def plan(design: str, baseline: dict, values: dict, *, focus: str | None = None) -> list:
    """Returns the spaces of a design, for `run_design`.

    Args:
        design: `"grid"` (every combination of `values`), `"one at a time"` (each keyword varied
            alone around `baseline`) or `"one only"` (only `focus` varied around `baseline`).
        baseline: `{keyword: value}` for every keyword of the builder.
        values: `{keyword: values to try}`.
        focus: the keyword that `"one only"` varies.
    """
    check_choice("design", design, DESIGNS)
    if design == "grid":
        return [{k: list(values.get(k, [v])) for k, v in baseline.items()}]
    if design == "one at a time":
        return one_at_a_time(baseline, values)
    check_choice("focus", focus, list(values))
    return one_at_a_time(baseline, {focus: values[focus]})


def compare(runs, *, baseline: str, challenger: str, metric: str = "test_accuracy") -> dict:
    """Compares two configurations of `repeat`'s table: the gap of their means and its standard error.

    The verdict calls the gap real when it exceeds twice its standard error
    (sqrt(s_a²/n_a + s_b²/n_b)); with a single seed each, the spread is unknown and so is the verdict.

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
