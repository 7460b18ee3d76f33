"""Scoring trained classifiers on a test split: labels, accuracy, and a comparable scorecard."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from labkit.errors import ParameterError, check_choice, check_number, check_positive


def predict_labels(model, x, *, batch_size: int = 256, training_mode: bool = False) -> np.ndarray:
    """Predicts the most probable class of each image.

    A single sigmoid output is read as the probability of class 1 (AutoKeras exports binary
    classifiers so).

    Args:
        model: a `keras.Model`.
        x: the images.
        batch_size: images per batch.
        training_mode: predict as in training: BatchNormalization normalises with each batch's own
            statistics instead of its moving averages (and dropout is on). A diagnostic: a large
            gap to the usual prediction means the moving averages have not converged.

    Returns:
        The labels, int64.
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
    """Computes the fraction of correct labels.

    Args:
        y_true: the true labels.
        y_pred: the predicted labels, as many.

    Returns:
        The fraction of `y_pred` equal to `y_true`.
    """
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ParameterError(
            f"y_pred has {y_pred.size} labels for {y_true.size} true labels; they must match and not be empty"
        )
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
    """Gathers the numbers by which two classifiers are compared, under the same names for every model.

    Args:
        y_true: the test labels.
        y_pred: the model's predicted test labels.
        model: the `keras.Model` (for its parameter count).
        training_seconds: wall time of training the model that is scored.
        inference_seconds: prediction wall time per image (`labkit.train.inference_seconds`).
        search_seconds: wall time of the search that found the model, if any.

    Returns:
        `{"test accuracy", "parameters", "training s", "search s", "inference ms/image"}`.
    """
    from labkit.models import parameter_counts

    return {
        "test accuracy": accuracy(y_true, y_pred),
        "parameters": parameter_counts(model)["total"],
        "training s": float(training_seconds),
        "search s": None if search_seconds is None else float(search_seconds),
        "inference ms/image": 1000.0 * float(inference_seconds),
    }


@dataclass
class Scored:
    """A model scored on a test split.

    Attributes:
        labels: its predicted test labels.
        card: its `scorecard`.
    """

    labels: np.ndarray
    card: dict


def score(model, dataset, *, training_seconds: float, search_seconds: float | None = None,
          predict=None, batch_size: int = 256) -> Scored:
    """Predicts a dataset's test split with a model, times the prediction, and fills its scorecard.

    Args:
        model: a trained `keras.Model`.
        dataset: a `labkit.data.Dataset`.
        training_seconds: wall time of training the model.
        search_seconds: wall time of the search that found it, if any.
        predict: a function from images to integer labels, instead of `predict_labels(model, ...)`
            (an AutoKeras search decodes its own labels).
        batch_size: images per prediction batch.

    Returns:
        A `Scored` with the labels and the scorecard.
    """
    if predict is None:
        def predict(images):
            return predict_labels(model, images, batch_size=batch_size)

    labels = predict(dataset.x_test)
    seconds = inference_seconds(model, dataset.x_test, batch_size=batch_size, predict=predict)
    card = scorecard(dataset.y_test, labels, model=model, training_seconds=training_seconds,
                     inference_seconds=seconds, search_seconds=search_seconds)
    return Scored(labels=labels, card=card)


def batchnorm_diagnosis(model, dataset, *, history: dict, epochs: int, batch_size: int, split: str = "test") -> dict:
    """Tells how much of a model's gap between training and test accuracy batch normalisation explains.

    In training, BatchNormalization normalises with each batch's statistics; at inference, with
    moving averages that move by 1 % per step. After few steps they are still far from the real
    statistics, and a model that fits its training data scores near chance at inference.
    Predicting in training mode (batch statistics) shows how much of the gap that explains.

    Args:
        model: the trained `keras.Model`.
        dataset: a `labkit.data.Dataset`.
        history: the fit's per-epoch metrics (with `"accuracy"`).
        epochs: epochs the model trained.
        batch_size: the batch size it trained with.
        split: the split to score.

    Returns:
        The training accuracy of the last epoch, the accuracy with moving averages and with batch
        statistics, the epochs and the gradient steps.
    """
    check_choice("split", split, dataset.splits)
    check_positive("epochs", epochs)
    check_positive("batch_size", batch_size)
    x, y = dataset.splits[split]
    steps_per_epoch = math.ceil(len(dataset.y_train) / batch_size)
    return {
        "training accuracy, last epoch": float(history["accuracy"][-1]),
        f"{split} accuracy, moving averages (inference)": accuracy(y, predict_labels(model, x)),
        f"{split} accuracy, batch statistics (training mode)": accuracy(y, predict_labels(model, x, training_mode=True)),
        "epochs run": int(epochs),
        f"training steps (batches of {batch_size})": int(epochs) * steps_per_epoch,
    }


def predict_probabilities(model, x, *, batch_size: int = 256) -> np.ndarray:
    """Predicts the class probabilities of each image, eagerly (`labkit.models.features.forward`: for a
    few hundred images, tracing a big backbone's graph for `model.predict` costs more than it saves).

    Args:
        model: a `keras.Model` ending in a softmax.
        x: the images.
        batch_size: images per batch.

    Returns:
        N×classes, float.
    """
    from labkit.models.features import forward

    check_positive("batch_size", batch_size)
    return np.asarray(forward(model, x, batch_size=batch_size), dtype=np.float64)


def metrics(y_true, probabilities, *, k: int = 3) -> dict[str, float]:
    """The seed's evaluation numbers of a classifier, under both definitions of precision and recall.

    Keras' `Precision()` and `Recall()` metrics, which seed report 004 printed, treat the one-hot
    labels as independent yes/no questions and a probability above 0.5 as a yes; scikit-learn's
    macro average takes each class's precision (recall) of the predicted labels and averages them.

    Args:
        y_true: the true labels (integers).
        probabilities: N×classes predicted probabilities.
        k: the `k` of top-k accuracy (a hit when the true class is among the `k` most probable).

    Returns:
        `{"accuracy", "precision (macro)", "recall (macro)", "f1 (macro)", "precision (Keras, p > 0.5)",
        "recall (Keras, p > 0.5)", "top-k accuracy"}`.
    """
    from sklearn.metrics import precision_recall_fscore_support, precision_score, recall_score, top_k_accuracy_score

    y_true = np.asarray(y_true).reshape(-1)
    probabilities = np.asarray(probabilities)
    classes = probabilities.shape[1]
    check_positive("k", k)
    if k > classes:
        raise ParameterError(f"k={k}: the model has only {classes} classes")
    y_pred = probabilities.argmax(axis=1)
    labels = list(range(classes))
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro",
                                                               zero_division=0)
    one_hot, above = np.eye(classes, dtype=int)[y_true], (probabilities > 0.5).astype(int)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "precision (macro)": float(precision),
        "recall (macro)": float(recall),
        "f1 (macro)": float(f1),
        "precision (Keras, p > 0.5)": float(precision_score(one_hot, above, average="micro", zero_division=0)),
        "recall (Keras, p > 0.5)": float(recall_score(one_hot, above, average="micro", zero_division=0)),
        "top-k accuracy": float(top_k_accuracy_score(y_true, probabilities, k=k, labels=labels)),
    }


def class_report(y_true, y_pred, class_names):
    """Precision, recall, F1 and support of every class (scikit-learn's `classification_report`).

    Args:
        y_true: the true labels.
        y_pred: the predicted labels.
        class_names: names of the classes, in label order.

    Returns:
        A pandas DataFrame, one row per class, then the macro and weighted averages.
    """
    import pandas as pd
    from sklearn.metrics import classification_report

    report = classification_report(y_true, y_pred, labels=list(range(len(class_names))), target_names=class_names,
                                   output_dict=True, zero_division=0)
    report.pop("accuracy", None)
    table = pd.DataFrame(report).T[["precision", "recall", "f1-score", "support"]]
    table["support"] = table["support"].astype(int)
    return table


def confident_mistakes(y_true, probabilities, *, count: int = 12) -> np.ndarray:
    """The misclassified examples on which the model was surest of its wrong answer.

    Args:
        y_true: the true labels.
        probabilities: N×classes predicted probabilities.
        count: at most this many.

    Returns:
        Their indices, the most confident first (fewer when fewer are wrong).
    """
    check_positive("count", count)
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(y_true).reshape(-1))
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def accuracy_interval(y_true, y_pred, *, confidence: float = 0.95, resamples: int = 9999, seed: int = 0) -> dict:
    """A bootstrap confidence interval on accuracy (scipy.stats.bootstrap, BCa), beside the exact binomial one.

    The bootstrap resamples the test examples with replacement; the Clopper-Pearson interval
    (`scipy.stats.binomtest`) assumes only that they are independent draws: two answers to the same
    question, which should roughly agree.

    Args:
        y_true: the true labels.
        y_pred: the predicted labels.
        confidence: the interval's confidence level.
        resamples: bootstrap resamples.
        seed: seed of the resampling.

    Returns:
        `{"accuracy", "low", "high", "binomial low", "binomial high", "examples", "confidence",
        "method"}`.
    """
    from scipy import stats

    check_number("confidence", confidence, high=1.0, high_open=True)
    check_positive("resamples", resamples)
    correct = (np.asarray(y_true).reshape(-1) == np.asarray(y_pred).reshape(-1)).astype(float)
    accuracy(y_true, y_pred)  # checks the lengths
    hits, n = int(correct.sum()), len(correct)
    binomial = stats.binomtest(hits, n).proportion_ci(confidence_level=confidence, method="exact")
    if hits in (0, n):  # every resample is the same: the bootstrap has nothing to say
        low = high = hits / n
        method = "bootstrap degenerate (all examples right or all wrong)"
    else:
        result = stats.bootstrap((correct,), np.mean, confidence_level=confidence, n_resamples=resamples,
                                 method="BCa", rng=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        method = f"scipy.stats.bootstrap, BCa, {resamples} resamples"
    return {"accuracy": hits / n, "low": low, "high": high, "binomial low": float(binomial.low),
            "binomial high": float(binomial.high), "examples": n, "confidence": confidence, "method": method}


def confusions(y_true, y_pred, class_names, *, count: int = 3):
    """The pairs of classes most often confused: a true class, the class it was taken for, how often.

    Args:
        y_true: the true labels.
        y_pred: the predicted labels.
        class_names: names of the classes, in label order.
        count: at most this many pairs (pairs never confused are left out).

    Returns:
        A pandas DataFrame with `true`, `predicted`, `count` and `share of the true class`, most frequent first.
    """
    import pandas as pd
    from sklearn.metrics import confusion_matrix

    check_positive("count", count)
    matrix = confusion_matrix(y_true, y_pred, labels=list(range(len(class_names))))
    support = matrix.sum(axis=1)
    pairs = [(matrix[t, p], t, p) for t in range(len(matrix)) for p in range(len(matrix)) if t != p and matrix[t, p]]
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    return pd.DataFrame([{"true": class_names[t], "predicted": class_names[p], "count": int(n),
                          "share of the true class": float(n / support[t])} for n, t, p in pairs[:count]],
                        columns=["true", "predicted", "count", "share of the true class"])


def inference_seconds(model, x, *, batch_size: int = 256, predict=None) -> float:
    """Times prediction per image, after one warm-up batch.

    Args:
        model: a `keras.Model` (ignored when `predict` is given).
        x: the images to predict.
        batch_size: images per prediction batch.
        predict: a function of `x` to time instead of `model.predict` (AutoKeras' decoding, say).

    Returns:
        Wall time per image, in seconds.
    """
    check_positive("batch_size", batch_size)
    predict = predict or (lambda images: model.predict(images, batch_size=batch_size, verbose=0))
    predict(x[:batch_size])  # builds and traces the prediction function
    started = time.perf_counter()
    predict(x)
    return (time.perf_counter() - started) / len(x)
