"""AutoKeras searches with the profile's trials, epochs and time budget; state in the build folder.

Two searches reproduce seed report 002: AutoKeras' own `ImageClassifier`, and an `AutoModel` made
of a normalisation layer, a ResNet block (augmentation off) and a classification head.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labkit.errors import check_choice, check_positive, check_seconds
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
        """Predicts with the search's best model, decoding AutoKeras' labels.

        Args:
            x: the images.
            batch_size: images per batch.

        Returns:
            Integer class labels (AutoKeras decodes them as strings).
        """
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            predicted = self._auto_model.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(predicted).reshape(-1).astype(np.int64)

    def score(self, dataset):
        """Scores the best model on a dataset's test split, with the search's own times.

        Args:
            dataset: a `labkit.data.Dataset`.

        Returns:
            A `labkit.evaluation.Scored`: training time of the best trial, search time, inference.
        """
        from labkit import evaluation

        return evaluation.score(self.model, dataset, training_seconds=self.training_seconds,
                                search_seconds=self.seconds, predict=self.predict_labels)


@dataclass(frozen=True)
class _Budget:
    """What one AutoKeras search may spend, checked, with the profile's defaults filled in."""

    max_trials: int
    epochs: int
    budget_seconds: float | None
    patience: int
    batch_size: int


def _budget(max_trials, epochs, budget_seconds, patience, batch_size) -> _Budget:
    profile = active_profile()
    budget_seconds = profile.search_seconds if budget_seconds is None else budget_seconds
    return _Budget(
        max_trials=check_positive("max_trials", profile.trials if max_trials is None else max_trials),
        epochs=check_positive("epochs", profile.epochs if epochs is None else epochs),
        budget_seconds=check_seconds("budget_seconds", budget_seconds, optional=True),
        patience=check_positive("patience", patience),
        batch_size=check_positive("batch_size", batch_size),
    )


def image_classifier(dataset, *, directory: str | os.PathLike, max_trials: int | None = None,
                     epochs: int | None = None, budget_seconds: float | None = None, patience: int = 3,
                     batch_size: int = 32, seed: int = 0) -> Search:
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
        batch_size: examples per gradient step.
        seed: the search's seed.

    Returns:
        A `Search`.
    """
    from labkit.search._autokeras import autokeras

    ak = autokeras()

    budget = _budget(max_trials, epochs, budget_seconds, patience, batch_size)
    trials = budget.max_trials if (active_profile().weights == "imagenet") else 1
    auto_model = ak.ImageClassifier(
        max_trials=trials, directory=str(directory), project_name="image_classifier", overwrite=True, seed=seed
    )
    return _search("image_classifier", auto_model, dataset, directory, budget)


def resnet_automodel(dataset, *, directory: str | os.PathLike, version: str = "resnet50",
                     pretrained: bool | None = None, max_trials: int | None = None, epochs: int | None = None,
                     budget_seconds: float | None = None, patience: int = 3, batch_size: int = 32,
                     seed: int = 0) -> Search:
    """Runs an AutoKeras `AutoModel`: normalisation, a ResNet block, a classification head.

    Augmentation is off and the input keeps its size (AutoKeras upsizes it to 32 pixels and
    repeats a gray channel three times), as in seed report 002. The ResNet version and the
    input size are fixed, so the search tunes the head (pooling, dropout) and the optimizer.

    Args:
        dataset: a `labkit.data.Dataset`.
        directory: the folder of the search state.
        version: `"resnet50"`, `"resnet101"` or `"resnet152"`.
        pretrained: ImageNet weights; `None` takes the profile's (off in `smoke` and `offline`).
        max_trials, epochs, budget_seconds, patience, batch_size, seed: as for `image_classifier`.

    Returns:
        A `Search`.
    """
    from labkit.search._autokeras import autokeras

    ak = autokeras()
    import keras_tuner

    budget = _budget(max_trials, epochs, budget_seconds, patience, batch_size)
    check_choice("version", version, ("resnet50", "resnet101", "resnet152"))
    pretrained = (active_profile().weights == "imagenet") if pretrained is None else bool(pretrained)
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
        max_trials=budget.max_trials,
        directory=str(directory),
        project_name="resnet_automodel",
        overwrite=True,
        seed=seed,
        hyperparameters=fixed,
        tune_new_entries=True,
    )
    return _search("resnet_automodel", auto_model, dataset, directory, budget)


# AutoKeras 3.0 passes a bare tensor to one-input functional models, and reloads the best trial
# without its optimizer state: Keras warns about both, harmlessly.
_HARMLESS = ("The structure of `inputs` doesn't match", "Skipping variable loading for optimizer")


def _search(name, auto_model, dataset, directory, budget: _Budget) -> Search:
    import keras

    from labkit.train import FitLog, fit_arguments

    oracle = auto_model.tuner.oracle
    if active_profile().fit_eagerly:
        _build_eagerly(auto_model.tuner)
    log = FitLog(deadline_seconds=budget.budget_seconds, oracle=oracle)
    callbacks = [
        # Our own early stopping: AutoKeras then keeps the best trial's model instead of retraining it.
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=budget.patience),
        log,
    ]
    started = time.perf_counter()
    with warnings.catch_warnings():
        for message in _HARMLESS:
            warnings.filterwarnings("ignore", message=message)
        auto_model.fit(**fit_arguments(dataset, epochs=budget.epochs, batch_size=budget.batch_size, callbacks=callbacks))
        seconds = time.perf_counter() - started
        model = auto_model.export_model()
    fits = dict(zip(oracle.start_order, log.fits))  # one fit per trial, in the order they started
    best = oracle.get_best_trials(1)[0]
    metrics = ("loss", "accuracy", "val_loss", "val_accuracy")
    history = {m: fits[best.trial_id].history[m] for m in metrics if best.trial_id in fits and m in fits[best.trial_id].history}
    path = Path(directory) / f"{name}.keras"
    model.save(path)
    return Search(
        name=name,
        model=model,
        history=history,
        seconds=seconds,
        trial_seconds={trial_id: fit.seconds for trial_id, fit in fits.items()},
        best_trial=best.trial_id,
        trials=_trials_table(oracle, fits),
        stopped_by_budget=log.expired,
        path=path,
        _auto_model=auto_model,
    )


def _build_eagerly(tuner) -> None:
    """Makes every model the AutoKeras tuner builds (trials, the best model) run eagerly: in `smoke`, tracing
    a ResNet50's training graph costs more than its few steps (01's AutoModel: 78 s traced, 31 s eager)."""
    build = tuner._try_build  # AutoKeras 3.0's one way to a compiled model, for trials and for the final fit

    def build_eagerly(hp):
        model = build(hp)
        model.run_eagerly = True
        return model

    tuner._try_build = build_eagerly


def _trials_table(oracle, fits):
    """One row per trial: status, score, best validation accuracy, epochs, seconds, hyperparameters."""
    import pandas as pd

    rows = []
    for trial_id in oracle.start_order:
        trial = oracle.trials[trial_id]
        fit = fits.get(trial_id)
        rows.append(
            {
                "trial": trial_id,
                "status": trial.status,
                "val_loss": trial.score,
                "best val_accuracy": trial.metrics.get_best_value("val_accuracy")
                if trial.metrics.exists("val_accuracy")
                else None,
                "epochs": 0 if fit is None else fit.epochs,
                "seconds": None if fit is None else fit.seconds,
                **{k.split("/")[-1]: v for k, v in trial.hyperparameters.values.items()},
            }
        )
    return pd.DataFrame(rows).set_index("trial")
