"""AutoKeras searches with the profile's trials, epochs and time budget; state in the build folder.

Two searches reproduce seed report 002: AutoKeras' own `ImageClassifier`, and an `AutoModel` made
of a normalisation layer, a ResNet block (augmentation off) and a classification head.
"""

from __future__ import annotations

import os
import time
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labkit.errors import check_positive, check_seconds
from labkit.session import active_profile


@dataclass
class Search:
    """The outcome of one AutoKeras search.

    Attributes:
        name: the search's name (its folder in the build folder).
        model: the best model, exported as a plain `keras.Model` (preprocessing included).
        history: per-epoch metrics of the best trial (`loss`, `accuracy`, `val_loss`, `val_accuracy`).
        seconds: wall time of the whole search.
        trial_seconds: training wall time of each trial, by trial id.
        best_trial: the best trial's id.
        trials: a pandas DataFrame, one row per trial: status, score, seconds, hyperparameters.
        stopped_by_budget: whether the time budget ended the search early.
        path: the exported model's `.keras` file.
    """

    name: str
    model: object
    history: dict[str, list[float]]
    seconds: float
    trial_seconds: dict[str, float]
    best_trial: str
    trials: object
    stopped_by_budget: bool
    path: Path
    _auto_model: object = field(repr=False, default=None)

    @property
    def training_seconds(self) -> float:
        """Training time of the best trial alone."""
        return self.trial_seconds.get(self.best_trial, float("nan"))

    def predict_labels(self, x, *, batch_size: int = 256) -> np.ndarray:
        """Returns integer class labels (AutoKeras decodes them as strings)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            predicted = self._auto_model.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(predicted).reshape(-1).astype(np.int64)


def _defaults(max_trials, epochs, budget_seconds):
    profile = active_profile()
    max_trials = profile.trials if max_trials is None else max_trials
    epochs = profile.epochs if epochs is None else epochs
    budget_seconds = profile.search_seconds if budget_seconds is None else budget_seconds
    check_positive("max_trials", max_trials)
    check_positive("epochs", epochs)
    check_seconds("budget_seconds", budget_seconds, optional=True)
    return profile, max_trials, epochs, budget_seconds


def image_classifier(
    dataset,
    *,
    directory: str | os.PathLike,
    max_trials: int | None = None,
    epochs: int | None = None,
    budget_seconds: float | None = None,
    patience: int = 3,
    seed: int = 0,
) -> Search:
    """Runs AutoKeras' `ImageClassifier` search.

    Without ImageNet weights (the `smoke` and `offline` profiles) the search is capped at one
    trial: AutoKeras' second and third candidates are a ResNet50 on 224-pixel inputs and an
    EfficientNet-B7 with ImageNet weights, neither of which a CPU run without a network can take.

    Args:
        dataset: a `labkit.data.Dataset`; trained on its train split, validated on val.
        directory: the folder of the search state (inside the build folder).
        max_trials: models to try; `None` takes the profile's.
        epochs: epochs per trial (early stopping after `patience` epochs without progress);
            `None` takes the profile's.
        budget_seconds: no new trial starts, and the one under way stops at its next epoch
            end, after this many seconds; `None` takes the profile's.
        patience: epochs without a better validation loss before a trial stops.
        seed: the search's seed.

    Returns:
        A `Search`.
    """
    import autokeras as ak

    profile, max_trials, epochs, budget_seconds = _defaults(max_trials, epochs, budget_seconds)
    if not profile.pretrained:
        max_trials = 1
    auto_model = ak.ImageClassifier(
        max_trials=max_trials, directory=str(directory), project_name="image_classifier", overwrite=True, seed=seed
    )
    return _search("image_classifier", auto_model, dataset, directory, epochs, budget_seconds, patience)


def resnet_automodel(
    dataset,
    *,
    directory: str | os.PathLike,
    max_trials: int | None = None,
    epochs: int | None = None,
    budget_seconds: float | None = None,
    patience: int = 3,
    version: str = "resnet50",
    pretrained: bool | None = None,
    seed: int = 0,
) -> Search:
    """Runs an AutoKeras `AutoModel`: normalisation, a ResNet block, a classification head.

    Augmentation is off and the input keeps its size (AutoKeras upsizes it to 32 pixels and
    repeats a gray channel three times), as in seed report 002. The ResNet version and the
    input size are fixed, so the search tunes the head (pooling, dropout) and the optimizer.

    Args:
        dataset: a `labkit.data.Dataset`.
        directory: the folder of the search state.
        max_trials: models to try; `None` takes the profile's.
        epochs: epochs per trial; `None` takes the profile's.
        budget_seconds: the search's time budget; `None` takes the profile's.
        patience: epochs without a better validation loss before a trial stops.
        version: `"resnet50"`, `"resnet101"` or `"resnet152"`.
        pretrained: ImageNet weights; `None` takes the profile's (off in `smoke` and `offline`).
        seed: the search's seed.

    Returns:
        A `Search`.
    """
    import autokeras as ak
    import keras_tuner

    from labkit.errors import check_choice

    profile, max_trials, epochs, budget_seconds = _defaults(max_trials, epochs, budget_seconds)
    check_choice("version", version, ("resnet50", "resnet101", "resnet152"))
    pretrained = profile.pretrained if pretrained is None else bool(pretrained)
    inputs = ak.ImageInput()
    features = ak.Normalization()(inputs)
    features = ak.ResNetBlock(version="v1", pretrained=pretrained)(features)
    outputs = ak.ClassificationHead()(features)
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("res_net_block_1/version", version)
    fixed.Fixed("res_net_block_1/imagenet_size", False)
    auto_model = ak.AutoModel(
        inputs=inputs,
        outputs=outputs,
        max_trials=max_trials,
        directory=str(directory),
        project_name="resnet_automodel",
        overwrite=True,
        seed=seed,
        hyperparameters=fixed,
        tune_new_entries=True,
    )
    return _search("resnet_automodel", auto_model, dataset, directory, epochs, budget_seconds, patience)


class _TrialLog:
    """Wall time and per-epoch metrics of every `fit` the search makes, in order (one per trial).

    keras-tuner keeps only each trial's best epoch, so the learning curves are recorded here.
    """

    def __init__(self):
        self.seconds: list[float] = []
        self.epochs: list[list[dict[str, float]]] = []


def _log_callback(log: _TrialLog):
    import keras

    ref = weakref.ref(log)  # survives keras-tuner's deep copies of the callbacks

    class TrialLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self._started = time.perf_counter()
            target = ref()
            if target is not None:
                target.epochs.append([])

        def on_epoch_end(self, epoch, logs=None):
            target = ref()
            if target is not None and target.epochs:
                target.epochs[-1].append({k: float(v) for k, v in (logs or {}).items()})

        def on_train_end(self, logs=None):
            target = ref()
            if target is not None:
                target.seconds.append(time.perf_counter() - self._started)

    return TrialLog()


def _search(name, auto_model, dataset, directory, epochs, budget_seconds, patience) -> Search:
    import keras
    import pandas as pd

    from labkit.train import deadline

    oracle = auto_model.tuner.oracle
    budget = deadline(budget_seconds, oracle=oracle)
    log = _TrialLog()
    callbacks = [
        # Our own early stopping: AutoKeras then keeps the best trial's model instead of retraining it.
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience),
        budget,
        _log_callback(log),
    ]
    started = time.perf_counter()
    with warnings.catch_warnings():
        # AutoKeras 3.0 passes a bare tensor to one-input functional models, and reloads the best
        # trial without its optimizer state: Keras warns about both, harmlessly.
        warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        auto_model.fit(
            dataset.x_train,
            dataset.y_train,
            validation_data=(dataset.x_val, dataset.y_val),
            epochs=epochs,
            callbacks=callbacks,
            verbose=0,
        )
        seconds = time.perf_counter() - started
        model = auto_model.export_model()
    order = list(oracle.start_order)
    trial_seconds = dict(zip(order, log.seconds))
    best = oracle.get_best_trials(1)[0]
    trial_epochs = dict(zip(order, log.epochs))
    epochs = trial_epochs.get(best.trial_id, [])
    history = {metric: [e[metric] for e in epochs if metric in e] for metric in ("loss", "accuracy", "val_loss", "val_accuracy")}
    rows = []
    for trial_id in order:
        trial = oracle.trials[trial_id]
        rows.append(
            {
                "trial": trial_id,
                "status": trial.status,
                "val_loss": trial.score,
                "best val_accuracy": trial.metrics.get_best_value("val_accuracy")
                if trial.metrics.exists("val_accuracy")
                else None,
                "epochs": len(trial_epochs.get(trial_id, [])),
                "seconds": trial_seconds.get(trial_id),
                **{k.split("/")[-1]: v for k, v in trial.hyperparameters.values.items()},
            }
        )
    path = Path(directory) / f"{name}.keras"
    model.save(path)
    return Search(
        name=name,
        model=model,
        history=history,
        seconds=seconds,
        trial_seconds=trial_seconds,
        best_trial=best.trial_id,
        trials=pd.DataFrame(rows).set_index("trial"),
        stopped_by_budget=bool(type(budget).expired),
        path=path,
        _auto_model=auto_model,
    )
