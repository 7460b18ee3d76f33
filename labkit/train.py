"""Training and evaluation with the profile's defaults, timed, with the history kept as a table."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from labkit.errors import ParameterError, check_choice, check_positive


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
    batch_size: int = 64,
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
