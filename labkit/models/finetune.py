"""The seed's two-phase transfer recipe, on labkit's one training path.

Phase 1 trains the head on the frozen base; phase 2 unfreezes the base from one layer on and
recompiles with a learning rate ten times lower. Whenever nothing random runs before the first
trainable layer (augmentation off), a phase trains on cached features (`labkit.models.features`):
the prefix runs once, the head is the model's own layers, and the model is checked to compute
what its head computes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from labkit import compiled, evaluation, train
from labkit.errors import ParameterError
from labkit.models import features, transfer
from labkit.models.inspect import parameter_counts


@dataclass
class Phase:
    """One phase of `two_phase`.

    Attributes:
        name: `"head"` or `"fine-tune"`.
        history: per-epoch metrics, as `labkit.train.Fit.history`.
        val_accuracy: the full model's validation accuracy at the end of the phase.
        test_accuracy: the same on the test split.
        seconds: wall time of the phase (feature caching included).
        cut: where features were cached (`None`: trained end to end).
        counts: trainable and non-trainable parameters during the phase.
        features: the cached features it trained on (`None`: end to end).
        model: the model it trained (its compiled step is reused by a later phase given `reuse=`).
        parts: the prefix and head it trained on cached features (`None`: end to end).
    """

    name: str
    history: dict
    val_accuracy: float
    test_accuracy: float
    seconds: float
    cut: str | None
    counts: dict = field(default_factory=dict)
    features: object = field(default=None, repr=False)
    model: object = field(default=None, repr=False)
    parts: object = field(default=None, repr=False)


def _compile(model, learning_rate: float, eagerly: bool):
    train.compile_classifier(model, optimizer_name="adam", learning_rate=learning_rate)
    model.run_eagerly = eagerly
    return model


def _accuracy(model, dataset, split: str, *, cached: bool) -> float:
    """The model's accuracy on one split. A head on cached features is scored by calling it on them:
    the same labels as `model.evaluate`'s accuracy without building an input pipeline, which costs
    more than the head itself (a dense head on 32 pooled feature vectors, AMD EPYC: 70 ms against 1.5 ms)."""
    if not cached:
        return train.evaluate(model, dataset, split=split)["accuracy"]
    x, y = dataset.splits[split]
    return evaluation.accuracy(y, features.forward(model, x, batch_size=256).argmax(axis=-1))


def _reusable(model, reuse, learning_rate: float, eagerly: bool) -> bool:
    if reuse is None or reuse.model is None or reuse.model is model:
        return False
    trained = reuse.parts.head if reuse.parts is not None else reuse.model
    return (trained.optimizer is not None and bool(trained.run_eagerly) == bool(eagerly)
            and math.isclose(float(trained.optimizer.learning_rate), float(learning_rate), rel_tol=1e-6)
            and compiled.same_layout(model, reuse.model))


def run_phase(model, dataset, *, name: str, epochs: int, learning_rate: float, batch_size: int = 32,
              fast: bool = True, eagerly: bool = False, cached=None, check: bool = True, reuse: Phase | None = None) -> Phase:
    """Trains what is trainable in `model`, on cached features when it can.

    Args:
        model: a classifier from `transfer.classifier`, frozen as wanted (`transfer.freeze`).
        dataset: a `labkit.data.Dataset`.
        name: the phase's name.
        epochs: epochs to train.
        learning_rate: Adam's learning rate.
        batch_size: examples per step.
        fast: train on cached features when nothing random comes before the first trainable layer.
        eagerly: run the fit eagerly (the profile's `fit_eagerly`: for a handful of steps, tracing
            a big graph costs more than it saves).
        cached: the prefix's features of `dataset`, when an earlier phase with the same frozen
            prefix computed them (`features.cached_dataset`).
        check: after training on cached features, check that the full model predicts what its head
            predicts (`features.check_attached`).
        reuse: an earlier phase that trained a model of the same layout (another seed of the same
            configuration) at the same learning rate: `model`'s weights are copied into that model,
            whose optimizer starts afresh, and it trains with the step already compiled and traced.
            The numbers are those of training `model` itself; the earlier phase's model no longer
            holds its trained weights. Ignored when the layouts differ.

    Returns:
        A `Phase`, scored with the full model.
    """
    started = time.perf_counter()
    reused = _reusable(model, reuse, learning_rate, eagerly)
    if reused:
        compiled.copy_state(model, reuse.model)
        model = reuse.model
    parts = None
    if reused:
        parts = reuse.parts
    elif fast:
        try:
            parts = features.split(model)
        except ParameterError:  # augmentation or a trainable first layer: nothing to cache
            parts = None
    counts = parameter_counts(model)
    if parts is not None:
        if cached is None or cached.input_shape != tuple(parts.prefix.output.shape[1:]):
            cached = features.cached_dataset(parts, dataset, batch_size=max(batch_size, 64))
        head = compiled.reset_optimizer(parts.head) if reused else _compile(parts.head, learning_rate, eagerly)
        fit = train.fit(head, cached, epochs=epochs, batch_size=batch_size)
        if check:
            features.check_attached(model, parts, dataset.x_val[:16], cached.x_val[:16], atol=1e-4)
        scored, scorer = cached, parts.head  # the same numbers as the model's (checked), without its forward pass
        if not reused:
            _compile(model, learning_rate, eagerly)
    else:
        trained = compiled.reset_optimizer(model) if reused else _compile(model, learning_rate, eagerly)
        fit = train.fit(trained, dataset, epochs=epochs, batch_size=batch_size)
        scored, scorer = dataset, model
    scores = {"val": fit.last_value("val_accuracy")}
    for split in ("test", *(("val",) if math.isnan(scores["val"]) else ())):
        scores[split] = _accuracy(scorer, scored, split, cached=parts is not None)
    return Phase(name, fit.history, scores["val"], scores["test"], time.perf_counter() - started,
                 parts.cut if parts is not None else None, counts, cached if parts is not None else None,
                 model, parts)


def two_phase(model, dataset, *, fine_tune_at, epochs=(10, 10), learning_rate: float = 1e-3,
              batch_size: int = 32, fast: bool = True, eagerly: bool = False, verbose: bool = True) -> list[Phase]:
    """The seed's recipe: the head on the frozen base, then fine-tuning from `fine_tune_at` at a tenth of the rate.

    Args:
        model: a classifier from `transfer.classifier`.
        dataset: a `labkit.data.Dataset`.
        fine_tune_at: the first layer of the base that phase 2 trains (name or index).
        epochs: epochs of phase 1 and phase 2.
        learning_rate: phase 1's; phase 2 uses a tenth of it.
        batch_size: examples per step.
        fast: use cached features where possible (`run_phase`).
        eagerly: run the fits eagerly (`run_phase`).
        verbose: print the parameter counts of each phase.

    Returns:
        `[phase 1, phase 2]`.
    """
    transfer.freeze(model, verbose=verbose)
    head = run_phase(model, dataset, name="head", epochs=epochs[0], learning_rate=learning_rate,
                     batch_size=batch_size, fast=fast, eagerly=eagerly)
    transfer.freeze(model, at=fine_tune_at, verbose=verbose)
    tuned = run_phase(model, dataset, name="fine-tune", epochs=epochs[1], learning_rate=learning_rate / 10,
                      batch_size=batch_size, fast=fast, eagerly=eagerly)
    return [head, tuned]


def joined_history(phases: list[Phase]) -> tuple[dict, list[int]]:
    """Puts the phases' histories end to end, for one set of learning curves.

    Args:
        phases: from `two_phase`.

    Returns:
        `(history, switches)`: the joined history and the epochs after which a new phase began.
    """
    joined: dict[str, list[float]] = {}
    switches, done = [], 0
    for phase in phases:
        if done:
            switches.append(done)
        for key, values in phase.history.items():
            joined.setdefault(key, [float("nan")] * done).extend(values)
        done += max((len(v) for v in phase.history.values()), default=0)
    return joined, switches


def summary(phases: list[Phase], label: str) -> dict:
    """The numbers of one two-phase run, for a table and `labkit.record`.

    Args:
        phases: from `two_phase`.
        label: what the run was (such as `"lab weights"`).

    Returns:
        `{"run", "val_before", "val_after", "test_before", "test_after", "seconds_head", "seconds_fine_tune"}`.
    """
    head, tuned = phases
    return {"run": label, "val_before": head.val_accuracy, "val_after": tuned.val_accuracy,
            "test_before": head.test_accuracy, "test_after": tuned.test_accuracy,
            "seconds_head": head.seconds, "seconds_fine_tune": tuned.seconds}


def plot_phases(phases: list[Phase], *, title: str | None = None):
    """Draws one set of learning curves across the phases, the switch marked.

    Args:
        phases: from `two_phase`.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    from labkit.vis import plots

    history, switches = joined_history(phases)
    fig = plots.learning_curves({"model": history}, title=title)
    for ax in fig.axes:
        for switch in switches:
            ax.axvline(switch + 0.5, color="grey", linestyle=":", label="fine-tuning starts")
        ax.legend(fontsize="small")
    return fig
