"""Scoring trained classifiers on a test split: labels, accuracy, and a comparable scorecard."""

from __future__ import annotations

import numpy as np

from labkit.errors import ParameterError, check_positive


def predict_labels(model, x, *, batch_size: int = 256, training_mode: bool = False) -> np.ndarray:
    """Returns the most probable class of each image, as int64.

    A single sigmoid output is read as the probability of class 1 (AutoKeras exports binary
    classifiers so).

    Args:
        model: a `keras.Model`.
        x: the images.
        batch_size: images per batch.
        training_mode: predict as in training: BatchNormalization normalises with each batch's own
            statistics instead of its moving averages (and dropout is on). A diagnostic: a large
            gap to the usual prediction means the moving averages have not converged.
    """
    check_positive("batch_size", batch_size)
    if training_mode:
        import keras

        batches = [model(x[i : i + batch_size], training=True) for i in range(0, len(x), batch_size)]
        probabilities = np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])
    else:
        probabilities = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if probabilities.ndim == 2 and probabilities.shape[1] == 1:
        return (probabilities[:, 0] > 0.5).astype(np.int64)
    return probabilities.argmax(axis=-1).astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Returns the fraction of `y_pred` equal to `y_true`."""
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ParameterError(f"y_pred has {y_pred.size} labels for {y_true.size} true labels; they must match and not be empty")
    return float((y_true == y_pred).mean())


def scorecard(
    y_true,
    y_pred,
    *,
    model,
    training_seconds: float,
    inference_seconds: float,
    search_seconds: float | None = None,
) -> dict[str, float | int | None]:
    """Returns the numbers by which two classifiers are compared, under the same names for every model.

    Args:
        y_true: the test labels.
        y_pred: the model's predicted test labels.
        model: the `keras.Model` (for its parameter count).
        training_seconds: wall time of training the model that is scored.
        inference_seconds: prediction wall time per image (`labkit.train.inference_seconds`).
        search_seconds: wall time of the search that found the model, if any.
    """
    from labkit.models import parameter_counts

    return {
        "test accuracy": accuracy(y_true, y_pred),
        "parameters": parameter_counts(model)["total"],
        "training s": float(training_seconds),
        "search s": None if search_seconds is None else float(search_seconds),
        "inference ms/image": 1000.0 * float(inference_seconds),
    }
