"""keras-tuner, adapted for the course: a time budget, a grid that resumes, seeded builds, timed trials.

keras-tuner does the bookkeeping of every search in labkit (its oracles choose the values, its
project folder keeps finished trials, its chief/worker mode spreads trials over processes). The
mixins here add what the course needs, and live on the oracle where they must also hold on a
distributed chief, which trains nothing:

- `_BudgetOracle`: no new trial after a deadline; a saved state that never lists a finished trial
  as under way.
- `_ResumableGrid`: a reloaded grid goes on where it stopped (keras-team/keras-tuner#1055).
- `_SeededBuilds`: every build starts from the same random state, whichever order or process it
  runs in; a `ParameterError` stops the whole search instead of failing one trial.
- `_TimedTuner`: each trial reports the metrics of its best epoch, its epochs and its training
  time, read from the `labkit.train.FitLog` that every fit carries.
"""

from __future__ import annotations

import functools
import time
from types import SimpleNamespace

from labkit.errors import ParameterError


def objective(name_or_objective):
    """Resolves a search objective, its direction inferred from its name.

    Args:
        name_or_objective: a metric the model reports, such as `"val_accuracy"` (maximised) or
            `"val_loss"` (minimised), or a `keras_tuner.Objective`.

    Returns:
        A `keras_tuner.Objective`.

    Raises:
        ParameterError: not a name, or a name whose direction keras-tuner cannot infer.
    """
    import keras_tuner

    if isinstance(name_or_objective, keras_tuner.Objective):
        return name_or_objective
    name = name_or_objective
    if not isinstance(name, str) or not name:
        raise ParameterError(f"objective={name!r} must be the name of a metric the model reports, such as 'val_accuracy'")
    direction = keras_tuner.engine.metrics_tracking.infer_metric_direction(name)
    if direction is None:
        raise ParameterError(
            f"objective={name!r}: keras-tuner cannot tell whether to maximise or minimise it; "
            f"pass keras_tuner.Objective({name!r}, direction='max') (or 'min')"
        )
    return keras_tuner.Objective(name, direction)


def summarise(fits, objective) -> dict[str, float]:
    """Turns the fits of one trial into the numbers it reports to the oracle.

    Args:
        fits: the trial's `labkit.train.Fit`s, one per execution.
        objective: the search's `keras_tuner.Objective`.

    Returns:
        Every metric at the epoch where `objective` was best, that epoch (from 1) and the epochs
        run, each averaged over executions; `seconds`, the training time of all executions.
    """
    rows = []
    for fit in fits:
        curve = fit.history[objective.name]
        pick = max if objective.direction == "max" else min
        best = pick((i for i, v in enumerate(curve) if v == v), key=curve.__getitem__)  # skip NaN epochs
        row = {metric: float(values[best]) for metric, values in fit.history.items()}
        row.update(best_epoch=best + 1, epochs=len(curve))
        rows.append(row)
    summary = {key: sum(row[key] for row in rows) / len(rows) for key in rows[0]}
    summary["seconds"] = sum(fit.seconds for fit in fits)
    return summary


class _BudgetOracle:
    """Oracle mixin: a time budget, and a saved state that never lists a finished trial as under way."""

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


class _SeededBuilds:
    """HyperModel mixin: seeds every build; a `ParameterError` or an uncompiled model stops the search.

    Args:
        build: a function of `hp` (a `keras_tuner.HyperParameters`) that returns a compiled model.
        seed: the random state of the first execution of every trial (the next ones add 1, 2, ...).
        stop: the `FatalError` class that carries a `ParameterError` out of keras-tuner.
    """

    def __init__(self, build, seed, stop, **kwargs):
        super().__init__(**kwargs)
        self.function, self.seed, self.stop = build, seed, stop
        self.executions = 0  # of the trial under way: reset by the tuner

    def build(self, hp):
        import keras

        keras.utils.set_random_seed(self.seed + self.executions)
        self.executions += 1
        try:
            model = self.function(hp)
        except ParameterError as error:  # a bad value in the space: stop, do not retry or wrap
            raise self.stop(error) from error
        if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
            problem = f"build returned an uncompiled {type(model).__name__}"
            advice = "call labkit.train.compile_classifier(model) or model.compile(...) in it"
            raise self.stop(ParameterError(f"{problem}: build must return a compiled keras.Model; {advice}"))
        return model


class _TimedTuner:
    """Tuner mixin: reports `summarise(...)` of the trial's fits to the oracle; checks the objective early.

    The fits come from `fit_log`, the `labkit.train.FitLog` passed among the search's callbacks.
    """

    fit_log = None

    def __init__(self, *args, **kwargs):
        self.finished = []  # trials this process ran, as the oracle recorded them
        super().__init__(*args, **kwargs)

    def _populate_initial_space(self):
        # keras-tuner builds one model here to find the space; ours is declared on the oracle
        # (or found by the first trial), so `build` runs once per execution and nowhere else.
        if not self.oracle.hyperparameters.space:
            super()._populate_initial_space()

    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.executions = 0
        start = len(self.fit_log.fits)
        super().run_trial(trial, *args, **kwargs)
        return summarise(self.fit_log.fits[start:], self.oracle.objective)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        name = self.oracle.objective.name
        reported_name = name.removeprefix("val_")  # validation may be skipped in early epochs
        if epoch == 0 and name not in (logs or {}) and reported_name not in (logs or {}):
            names = {*logs} | {f"val_{metric}" for metric in logs if not metric.startswith("val_")}  # validated later
            reported = ", ".join(repr(metric) for metric in sorted(names))
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
def classes():
    """Makes keras-tuner's classes with the course's mixins, on first use.

    Importing keras-tuner imports the backend, which `labkit.setup` should configure first.

    Returns:
        A namespace: `HyperParameters`, `Oracle`, `GridOracle`, `RandomOracle`, `HyperbandOracle`,
        `Tuner`, `HyperModel` (seeded builds), `Stop`.
    """
    import keras_tuner

    oracles = keras_tuner.oracles
    return SimpleNamespace(
        HyperParameters=keras_tuner.HyperParameters,
        Oracle=keras_tuner.Oracle,
        GridOracle=type("GridOracle", (_BudgetOracle, _ResumableGrid, oracles.GridSearchOracle), {}),
        RandomOracle=type("RandomOracle", (_BudgetOracle, oracles.RandomSearchOracle), {}),
        HyperbandOracle=type("HyperbandOracle", (_BudgetOracle, oracles.HyperbandOracle), {}),
        Tuner=type("TimedTuner", (_TimedTuner, keras_tuner.Tuner), {}),
        HyperModel=type("SeededHyperModel", (_SeededBuilds, keras_tuner.HyperModel), {}),
        Stop=type("SearchStop", (_Stop, keras_tuner.errors.FatalError), {}),
    )
