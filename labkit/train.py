"""Training with the profile's defaults: one path for every fit, timed, bounded by a deadline, recorded.

Every model that labkit trains (a plain `fit`, a sweep trial, a keras-tuner search trial, an
AutoKeras trial) carries a `FitLog` callback. It measures the wall time of each fit, stops
training at a deadline, and keeps each fit's per-epoch history, so that every table and curve in
the course comes from the same code.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field

import keras

from labkit import compiled
from labkit.errors import check_choice, check_number, check_positive, check_seconds

# The Keras optimizers the seed reports compared, by their Keras class names in lower case.
OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamax", "ftrl", "nadam", "rmsprop", "sgd")
_OPTIMIZER_CLASSES = dict(zip(OPTIMIZERS, ("Adadelta", "Adagrad", "Adam", "Adamax", "Ftrl", "Nadam", "RMSprop", "SGD")))


def optimizer(name: str = "adam", *, learning_rate: float | None = None, **options):
    """Makes a Keras optimizer by name.

    Args:
        name: one of `OPTIMIZERS` (case does not matter).
        learning_rate: `None` keeps Keras' default for that optimizer.
        **options: other arguments of the optimizer's class, such as `momentum` for SGD.

    Returns:
        A new `keras.optimizers.Optimizer`.
    """
    key = str(name).lower()
    check_choice("optimizer", key, OPTIMIZERS)
    if learning_rate is not None:
        options["learning_rate"] = check_number("learning_rate", learning_rate)
    return getattr(keras.optimizers, _OPTIMIZER_CLASSES[key])(**options)


def compile_classifier(model, *, optimizer_name: str = "adam", learning_rate: float | None = None,
                       top_k: int | None = None, run_eagerly: bool | None = None, **options):
    """Compiles a softmax classifier for integer labels, with accuracy (and top-k accuracy).

    Args:
        model: a `keras.Model` ending in a softmax layer.
        optimizer_name: one of `OPTIMIZERS`.
        learning_rate: `None` keeps the optimizer's default.
        top_k: also report `top_k` accuracy (as `top_k_accuracy`) when given.
        run_eagerly: train and evaluate without tracing a graph; `None` takes the active profile's
            `fit_eagerly` (smoke: a fit of a few steps costs less than tracing it, about 7 s per model).
        **options: other arguments of the optimizer, such as `momentum`.

    Returns:
        The model, compiled.
    """
    from labkit.session import active_profile

    metrics = ["accuracy"]
    if top_k is not None:
        check_positive("top_k", top_k)
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=top_k, name="top_k_accuracy"))
    model.compile(
        optimizer=optimizer(optimizer_name, learning_rate=learning_rate, **options),
        loss="sparse_categorical_crossentropy",
        metrics=metrics,
        run_eagerly=active_profile().fit_eagerly if run_eagerly is None else bool(run_eagerly),
    )
    return model


@dataclass
class Fit:
    """One call of `model.fit`, as a `FitLog` recorded it.

    Attributes:
        history: per-epoch metrics, as `keras.callbacks.History.history` (name -> list), every
            list one value per epoch: NaN where a metric was not computed (validation skipped).
        epochs: epochs run (fewer than asked when a callback stopped training early).
        seconds: wall time of the fit.
        stopped_by_deadline: whether the deadline ended it.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0
    stopped_by_deadline: bool = False

    def last_value(self, metric: str) -> float:
        """A metric at the last epoch, NaN where that epoch did not compute it.

        Args:
            metric: a key of `history`, such as `"val_accuracy"`.

        Returns:
            Its last value. `fit` validates its last epoch with the statistics the model ends with,
            so `"val_accuracy"` is what scoring the validation split afterwards gives, without the pass.
        """
        values = self.history.get(metric) or [float("nan")]
        return float(values[-1])

    def frame(self):
        """Tabulates the history.

        Returns:
            A pandas DataFrame, one row per epoch (numbered from 1), one column per metric.
        """
        import pandas as pd

        frame = pd.DataFrame(self.history)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
        return frame


class FitLog(keras.callbacks.Callback):
    """Times every fit it is given to, stops them at a deadline, and keeps their histories.

    keras-tuner deep-copies the callbacks of each trial; a `FitLog` is shared instead, so that
    the object the caller holds sees every trial's fit.

    Args:
        deadline_seconds: seconds from now after which training stops at the next epoch end;
            `None`: never.
        oracle: a keras-tuner (or AutoKeras) oracle that must also stop starting new trials at
            the deadline.

    Attributes:
        fits: one `Fit` per call of `model.fit`, in order.
        expired: whether the deadline has passed and stopped a fit.
    """

    def __init__(self, *, deadline_seconds: float | None = None, oracle=None, batchnorm_images=None):
        super().__init__()
        # Images that re-estimate BatchNormalization statistics before each validation and at the end
        # of each fit (`recalibrate_batchnorm`); `fit_arguments` gives the training split.
        self.batchnorm_images = batchnorm_images
        # (x, y) of the validation split, for a fit cut at an epoch it does not validate; `fit_arguments` sets it.
        self.validation_data = None
        self._stale = False
        check_seconds("deadline_seconds", deadline_seconds, optional=True)
        self._end = None if deadline_seconds is None else time.monotonic() + float(deadline_seconds)
        # A weak reference: the oracle owns the tuner that owns this callback.
        self._oracle = None if oracle is None else weakref.ref(oracle)
        self._started = 0.0
        self.fits: list[Fit] = []
        self.expired = False

    def __deepcopy__(self, memo):
        return self

    @property
    def last(self) -> Fit:
        """The most recent fit."""
        return self.fits[-1]

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()
        self.fits.append(Fit())
        self._stale = True

    def on_epoch_begin(self, epoch, logs=None):
        self._stale = True  # the epoch's steps change the weights (no per-batch hook: it would slow fits)

    def on_test_begin(self, logs=None):
        self._recalibrate()

    def _recalibrate(self):
        if self._stale and self.batchnorm_images is not None:
            recalibrate_batchnorm(self.model, self.batchnorm_images)
        self._stale = False

    def on_epoch_end(self, epoch, logs=None):
        fit = self.last
        logs = logs or {}
        for name in logs:
            if name not in fit.history:  # a metric seen for the first time
                fit.history[name] = [float("nan")] * fit.epochs
        for name, values in fit.history.items():
            values.append(float(logs.get(name, float("nan"))))
        fit.epochs += 1
        fit.seconds = time.perf_counter() - self._started
        if self._end is None or time.monotonic() < self._end:
            return
        self._validate_cut_epoch(logs)
        self.model.stop_training = True
        self.expired = fit.stopped_by_deadline = True
        oracle = self._oracle() if self._oracle is not None else None
        if oracle is not None:
            oracle.max_trials = len(oracle.trials)

    def _validate_cut_epoch(self, logs: dict) -> None:
        """A fit that validates only some epochs, stopped by the deadline at one it does not validate, is
        validated now, so that its last epoch still has the `val_` metrics that rank it."""
        if self.validation_data is None or any(name.startswith("val_") for name in logs):
            return
        self._recalibrate()
        scores = self.model.evaluate(*self.validation_data, verbose=0, return_dict=True)
        logs.update({f"val_{name}": float(value) for name, value in scores.items()})
        for name, value in scores.items():
            self.last.history.setdefault(f"val_{name}", [float("nan")] * self.last.epochs)[-1] = float(value)

    def on_train_end(self, logs=None):
        self._recalibrate()
        self.last.seconds = time.perf_counter() - self._started


def recalibrate_batchnorm(model, images, *, batch_size: int = 500, limit: int = 1000) -> int:
    """Re-estimates the moving statistics of every trainable BatchNormalization layer ("precise BN").

    During a short training the moving averages (momentum 0.99) still remember the first batches,
    so a model can score far below what it learned. This pass sets each layer's statistics to the
    average over `images` of their batch statistics, with dropout off; the weights do not change.
    Every fit of labkit (plain, sweep trial, AutoKeras trial) does it before each validation and at
    its end, through its `FitLog`; frozen layers (`trainable=False`) keep their statistics.

    Args:
        model: a `keras.Model`.
        images: training images (the first `limit` are used).
        batch_size: images per forward pass.
        limit: at most this many images.

    Returns:
        The number of BatchNormalization layers re-estimated (0: the model has none).
    """
    layers = list(model._flatten_layers(include_self=False, recursive=True))
    norms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable]
    if not norms:
        return 0
    drops = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    saved = [(layer, layer.momentum) for layer in norms] + [(layer, layer.rate) for layer in drops]
    try:
        for layer in drops:
            layer.rate = 0.0
        for step, start in enumerate(range(0, min(len(images), limit), batch_size)):
            for layer in norms:
                layer.momentum = step / (step + 1)  # a running mean over the batches
            model(images[start : start + batch_size], training=True)
    finally:
        for layer, value in saved[: len(norms)]:
            layer.momentum = value
        for layer, value in saved[len(norms) :]:
            layer.rate = value
    return len(norms)


def fit_arguments(dataset, *, epochs: int, batch_size: int, callbacks=(), verbose: int = 0, **more) -> dict:
    """The arguments of every fit in labkit: train split, validation split, epochs, batch size, callbacks.

    `fit`, the sweeps (`tuner.search(**...)`) and AutoKeras (`auto_model.fit(**...)`) all take them,
    so that every model of the course is trained on the same splits in the same way.

    Args:
        dataset: a `labkit.data.Dataset`.
        epochs: epochs to train.
        batch_size: examples per gradient step.
        callbacks: Keras callbacks (one of them a `FitLog`).
        verbose: Keras' verbosity.
        **more: other arguments of `model.fit`, such as `validation_freq`.

    Returns:
        Keyword arguments for `model.fit`.
    """
    for callback in callbacks:
        if isinstance(callback, FitLog) and callback.batchnorm_images is None:
            callback.batchnorm_images = dataset.x_train
        if isinstance(callback, FitLog) and callback.validation_data is None:
            callback.validation_data = (dataset.x_val, dataset.y_val)
    return dict(
        x=dataset.x_train,
        y=dataset.y_train,
        validation_data=(dataset.x_val, dataset.y_val),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        verbose=verbose,
        **more,
    )


def fit(model, dataset, *, epochs: int | None = None, batch_size: int = 32, callbacks=(), verbose: int = 0,
        deadline_seconds: float | None = None, validation_freq: int = 1) -> Fit:
    """Trains a compiled Keras model on a dataset's train split, validating on its val split.

    Args:
        model: a compiled `keras.Model`.
        dataset: a `labkit.data.Dataset`.
        epochs: epochs to train; `None` takes the profile's default (`labkit.setup`).
        batch_size: examples per gradient step.
        callbacks: more Keras callbacks, such as `keras.callbacks.EarlyStopping`.
        verbose: Keras' verbosity: 0 silent (the default, for clean pages), 1 a progress bar.
        deadline_seconds: stop at the first epoch end after this many seconds; `None`: never.
        validation_freq: validate every this many epochs (the last epoch is always validated).

    Returns:
        The `Fit`: history, epochs run, wall time.
    """
    if epochs is None:
        from labkit.session import active_profile

        epochs = active_profile().epochs
    check_positive("epochs", epochs)
    check_positive("batch_size", batch_size)
    check_positive("validation_freq", validation_freq)
    check_choice("verbose", verbose, (0, 1, 2))
    compiled.require_compiled(model)
    log = FitLog(deadline_seconds=deadline_seconds)
    validate = [e for e in range(1, epochs + 1) if e % validation_freq == 0 or e == epochs]
    compiled.build_before_tracing(model, dataset.x_train, dataset.y_train)
    model.fit(**fit_arguments(dataset, epochs=epochs, batch_size=batch_size, callbacks=[*callbacks, log],
                              verbose=verbose, validation_freq=validate))
    return log.last


def evaluate(model, dataset, *, split: str = "test", batch_size: int = 256) -> dict[str, float]:
    """Scores a model with its compiled metrics on one split.

    Args:
        model: a compiled `keras.Model`.
        dataset: a `labkit.data.Dataset`.
        split: `"train"`, `"val"` or `"test"`.
        batch_size: images per batch.

    Returns:
        The metrics by name, such as `{"loss": ..., "accuracy": ...}`.
    """
    check_choice("split", split, dataset.splits)
    check_positive("batch_size", batch_size)
    x, y = dataset.splits[split]
    scores = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return {name: float(value) for name, value in scores.items()}
