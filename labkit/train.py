"""Training and evaluation with the profile's defaults, timed, with the history kept as a table."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from labkit.errors import ParameterError, check_choice, check_positive, check_seconds

# The Keras optimizers the seed reports compared, by their Keras class names in lower case.
OPTIMIZERS = ("adadelta", "adagrad", "adam", "adamax", "ftrl", "nadam", "rmsprop", "sgd")
_OPTIMIZER_CLASSES = {
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamax": "Adamax",
    "ftrl": "Ftrl",
    "nadam": "Nadam",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
}


def optimizer(name: str = "adam", *, learning_rate: float | None = None, **options):
    """Returns a Keras optimizer by name.

    Args:
        name: one of `OPTIMIZERS` (case does not matter).
        learning_rate: `None` keeps Keras' default for that optimizer.
        **options: other arguments of the optimizer's class, such as `momentum` for SGD.
    """
    import keras

    key = str(name).lower()
    check_choice("optimizer", key, OPTIMIZERS)
    if learning_rate is not None:
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ParameterError(f"learning_rate={learning_rate!r} must be a number greater than 0")
        options["learning_rate"] = float(learning_rate)
    return getattr(keras.optimizers, _OPTIMIZER_CLASSES[key])(**options)


def compile_classifier(model, *, optimizer_name: str = "adam", learning_rate: float | None = None, top_k: int | None = None):
    """Compiles a softmax classifier for integer labels, with accuracy (and top-k accuracy).

    Args:
        model: a `keras.Model` ending in a softmax layer.
        optimizer_name: one of `OPTIMIZERS`.
        learning_rate: `None` keeps the optimizer's default.
        top_k: also report `top_k` accuracy (as `top_k_accuracy`) when given.

    Returns:
        The model, compiled.
    """
    import keras

    metrics = ["accuracy"]
    if top_k is not None:
        check_positive("top_k", top_k)
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=top_k, name="top_k_accuracy"))
    model.compile(
        optimizer=optimizer(optimizer_name, learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=metrics,
    )
    return model


@dataclass
class Fit:
    """What `fit` returns.

    Attributes:
        history: per-epoch metrics, as `keras.callbacks.History.history` (name -> list).
        epochs: epochs run (fewer than asked when a callback stopped training early).
        seconds: wall time of `model.fit`.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epochs: int = 0
    seconds: float = 0.0

    def frame(self):
        """Returns the history as a pandas DataFrame, one row per epoch (numbered from 1)."""
        import pandas as pd

        frame = pd.DataFrame(self.history)
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
        return frame


def fit(
    model,
    dataset,
    *,
    epochs: int | None = None,
    batch_size: int = 32,
    callbacks=(),
    verbose: int = 0,
) -> Fit:
    """Trains a compiled Keras model on a dataset's train split, validating on its val split.

    Args:
        model: a compiled `keras.Model`.
        dataset: a `labkit.data.Dataset`.
        epochs: epochs to train; `None` takes the profile's default (`labkit.setup`).
        batch_size: examples per gradient step.
        callbacks: Keras callbacks, such as `keras.callbacks.EarlyStopping`.
        verbose: Keras' verbosity: 0 silent (the default, for clean pages), 1 a progress bar.

    Returns:
        A `Fit` with the history and the wall time.
    """
    if epochs is None:
        from labkit.session import active_profile

        epochs = active_profile().epochs
    check_positive("epochs", epochs)
    check_positive("batch_size", batch_size)
    check_choice("verbose", verbose, (0, 1, 2))
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ParameterError("model must be compiled first: call model.compile(optimizer=..., loss=..., metrics=[...])")
    started = time.perf_counter()
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        validation_data=(dataset.x_val, dataset.y_val),
        epochs=epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        verbose=verbose,
    )
    seconds = time.perf_counter() - started
    values = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    return Fit(history=values, epochs=len(next(iter(values.values()), [])), seconds=seconds)


def evaluate(model, dataset, *, split: str = "test", batch_size: int = 256) -> dict[str, float]:
    """Returns the model's compiled metrics on one split, such as `{"loss": ..., "accuracy": ...}`."""
    check_choice("split", split, dataset.splits)
    check_positive("batch_size", batch_size)
    x, y = dataset.splits[split]
    scores = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return {name: float(value) for name, value in scores.items()}


def inference_seconds(model, x, *, batch_size: int = 256, predict=None) -> float:
    """Returns the wall time of prediction per image, after one warm-up batch.

    Args:
        model: a `keras.Model` (ignored when `predict` is given).
        x: the images to predict.
        batch_size: images per prediction batch.
        predict: a function of `x` to time instead of `model.predict` (AutoKeras' decoding, say).
    """
    check_positive("batch_size", batch_size)
    if predict is None:
        def predict(images):
            return model.predict(images, batch_size=batch_size, verbose=0)

    predict(x[:batch_size])  # builds and traces the prediction function
    started = time.perf_counter()
    predict(x)
    return (time.perf_counter() - started) / len(x)


def deadline(seconds: float | None, *, oracle=None):
    """Returns a Keras callback that stops training once `seconds` have passed since its creation.

    With a keras-tuner (or AutoKeras) `oracle`, it also stops the search from starting new
    trials: the trial under way ends at the end of its epoch, and the search closes. `None`
    seconds returns a callback that never stops anything.
    """
    import weakref

    import keras

    check_seconds("seconds", seconds, optional=True)
    end = None if seconds is None else time.monotonic() + float(seconds)
    # A weak reference survives the deep copies that keras-tuner makes of callbacks.
    oracle_ref = None if oracle is None else weakref.ref(oracle)

    class Deadline(keras.callbacks.Callback):
        """Stops training (and a search's new trials) at a fixed time."""

        expired = False

        def on_epoch_end(self, epoch, logs=None):
            if end is None or time.monotonic() < end:
                return
            self.model.stop_training = True
            Deadline.expired = True
            tuner_oracle = oracle_ref() if oracle_ref is not None else None
            if tuner_oracle is not None:
                tuner_oracle.max_trials = len(tuner_oracle.trials)

    return Deadline()
