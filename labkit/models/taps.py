"""Many partly frozen models of one backbone, trained on features computed once.

Notebooks 08 and 09 train a dozen variants of one ResNet50 (head only, the last block unfrozen, the
last two, the last k layers, cuts at six activations), each over several seeds and two kinds of
weights. Every variant's frozen prefix ends at some layer of the backbone; `tap` runs the images
through the backbone once and keeps the outputs of all those layers, `cached_for` picks the one a
model's frozen prefix ends at (`features.split` says which), and `repeat` trains each variant once
per seed on it, restoring the backbone's weights between runs (fine-tuning changes them in place).
The seeds of one variant train one compiled model, each seed's fresh weights copied into it
(`finetune.run_phase(reuse=...)`): its step is traced once per variant.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import keras

from labkit.errors import ParameterError, check_positive
from labkit.models import features, finetune
from labkit.models.surgery import trainable_counts


# What is known about each cached entry, `{id(features): (weak reference, {...})}`: the frozen prefixes
# (their weight variables) already checked against it, since a prefix checked once computes the same
# features for any head; and the features of weightless layers after it (the pooling of a frozen base),
# which every seed of a head-only variant would otherwise compute again.
_KNOWN: dict[int, tuple] = {}


def _known(cached) -> dict:
    entry = _KNOWN.get(id(cached))
    if entry is None or entry[0]() is not cached:
        entry = _KNOWN[id(cached)] = (weakref.ref(cached), {"checked": set(), "after": {}})
    return entry[1]


def nested_base(model):
    """The backbone inside a classifier (its one nested model).

    Args:
        model: a chain such as `surgery.attach_head` or `transfer.classifier(..., augment=False)` makes.

    Returns:
        The nested `keras.Model`.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ParameterError(f"model={model.name!r} must hold exactly one nested backbone, not {len(nested)}")
    return nested[0]


def _with(dataset, splits: dict, note: str):
    cached = copy.copy(dataset)
    cached.splits = splits
    cached.notes = [*dataset.notes, note]
    return cached


def tap(model, dataset, layers, *, batch_size: int = 64) -> dict:
    """Computes the outputs of several layers of a classifier's backbone in one forward pass.

    Args:
        model: a classifier whose backbone is nested (`surgery.attach_head`); what comes before the
            backbone (preprocessing) must be deterministic.
        dataset: a `labkit.data.Dataset` of images.
        layers: names of layers inside the backbone, such as `["conv5_block2_out", "conv5_block3_out"]`.
        batch_size: images per forward pass.

    Returns:
        `{layer: dataset}`, each a copy of `dataset` whose images are that layer's outputs.
    """
    base = nested_base(model)
    layers = list(dict.fromkeys(layers))
    index = model.layers.index(base)
    before = keras.Model(model.input, model.layers[index - 1].output)
    taps = keras.Model(base.input, [base.get_layer(name).output for name in layers])
    images = keras.Input(model.input_shape[1:])
    prefix = keras.Model(images, taps(before(images)))
    outputs = {split: features.forward(prefix, x, batch_size=batch_size) for split, (x, _) in dataset.splits.items()}
    outputs = {split: out if isinstance(out, list) else [out] for split, out in outputs.items()}
    return {name: _with(dataset, {split: (outputs[split][k], y) for split, (_, y) in dataset.splits.items()},
                        f"features of {base.name}/{name}, computed once")
            for k, name in enumerate(layers)}


def cached_for(model, cache: dict, *, batch_size: int = 256):
    """The cached features that a partly frozen model's trainable part starts from.

    Args:
        model: a classifier (`surgery.attach_head`), frozen as wanted.
        cache: `tap`'s result for its backbone.
        batch_size: examples per batch when layers after the backbone (pooling) must still run.

    Returns:
        A dataset of features, or `None` when the cut falls at a layer `cache` does not hold.
    """
    parts = features.split(model)
    owner, layer = parts.cut.split("/", 1)
    base = nested_base(model)
    if owner == base.name:
        return cache.get(layer)
    last = base.layers[-1].name
    if owner != model.name or last not in cache:
        return None
    # The cut lies after the backbone (the pooling of a frozen base): run the layers up to it.
    names = [layer.name for layer in model.layers]
    steps = model.layers[names.index(base.name) + 1: names.index(layer) + 1]
    source = cache[last]
    key = tuple((type(step).__name__, repr(sorted((k, v) for k, v in step.get_config().items() if k != "name")))
                for step in steps)
    known = _known(source)["after"]
    if key in known and not any(step.weights for step in steps):
        return known[key]
    splits = {}
    for split, (x, y) in source.splits.items():
        out = x
        for step in steps:
            out = keras.ops.convert_to_numpy(step(out, training=False))
        splits[split] = (out, y)
    found = _with(source, splits, f"then {', '.join(s.name for s in steps)}")
    if not any(step.weights for step in steps):
        known[key] = found
    return found


@dataclass
class Variant:
    """One model of a comparison.

    Attributes:
        build: `build(seed)` returns the model, frozen as wanted (a fresh head per seed).
        learning_rate: Adam's learning rate; `None` takes `repeat`'s.
        train_images: train on this many training images (stratified); `None`: all of them.
    """

    build: Callable
    learning_rate: float | None = None
    train_images: int | None = None


def _scarce(dataset, count: int | None, seed: int):
    if count is None or count >= len(dataset.y_train):
        return dataset
    from labkit.data.splits import take_stratified

    x, y = take_stratified(dataset.x_train, dataset.y_train, check_positive("train_images", count), seed)
    return _with(dataset, {**dataset.splits, "train": (x, y)}, f"{count} training images (stratified)")


def repeat(variants: dict, dataset, cache: dict, *, seeds=(0,), restore=(), epochs: int = 10,
           learning_rate: float = 1e-3, batch_size: int = 32, eagerly: bool = False, subset_seed: int = 0):
    """Trains each variant once per seed on the cached features, the backbone reset between runs.

    Args:
        variants: `{label: Variant}`.
        dataset: the images (`labkit.data.Dataset`).
        cache: `tap`'s features of `dataset` (a missing cut point is computed and added).
        seeds: one run per seed (the head's initialisation, dropout, batch order).
        restore: models whose weights are put back before every run (the backbones that
            fine-tuning changes in place).
        epochs: epochs of each run.
        learning_rate: Adam's learning rate, unless a variant sets its own.
        batch_size: examples per step.
        eagerly: run the fits eagerly (the profile's `fit_eagerly`; a head of one dense layer on
            pooled features trains faster eagerly than traced, whatever the profile).
        subset_seed: seed of the stratified subsets of `train_images`.

    The first run of each frozen prefix on each cached entry checks that the whole model predicts
    what its head trained on the cached features predicts (`features.check_attached`); variants that
    share both (the same cut of the same backbone, another learning rate or fewer training images)
    are not checked again.

    Returns:
        A pandas DataFrame, one row per run, as `labkit.stats.repeat` makes it (`configuration`,
        `seed`, `val_accuracy`, `test_accuracy`, `seconds`) plus `trainable`, `parameters`,
        `trainable_layers`, `train_images`, `learning_rate` and `cut` (where the features were cached).
    """
    import pandas as pd

    from labkit.models.repeats import check_runs, prefix_key

    seeds = check_runs("variants", variants, seeds, epochs, "{label: Variant(build)}")
    saved = {id(w): (w, keras.ops.convert_to_numpy(w)) for model in restore for w in model.weights}
    changed = set()  # the restored variables that the last run could change: those of its trainable layers

    def put_back(ids):
        for key in ids:
            variable, value = saved[key]
            variable.assign(value)

    rows = []
    try:
        for label, variant in variants.items():
            rate = variant.learning_rate or learning_rate
            previous = None
            for seed in seeds:
                put_back(changed)
                keras.utils.set_random_seed(seed)
                model = variant.build(seed)
                cached = cached_for(model, cache)
                if cached is None:
                    parts = features.split(model)
                    cached = cache[parts.cut] = features.cached_dataset(parts, dataset)
                images = _scarce(dataset, variant.train_images, subset_seed)
                checked, prefix = _known(cached)["checked"], prefix_key(model)
                phase = finetune.run_phase(model, images, name=label, epochs=epochs, learning_rate=rate,
                                           batch_size=batch_size, eagerly=eagerly,
                                           check=prefix not in checked,
                                           cached=_scarce(cached, variant.train_images, subset_seed),
                                           reuse=previous)
                checked.add(prefix)
                previous = phase
                changed = {id(w) for layer in phase.model._flatten_layers(include_self=False) if layer.trainable
                           and not layer._layers for w in layer.weights if id(w) in saved}
                counts = trainable_counts(model)
                rows.append({"configuration": label, "seed": seed, "val_accuracy": phase.val_accuracy,
                             "test_accuracy": phase.test_accuracy, "seconds": phase.seconds,
                             "trainable": counts["trainable"], "parameters": counts["total"],
                             "trainable_layers": counts["trainable_layers"], "train_images": len(images.y_train),
                             "learning_rate": rate, "cut": phase.cut})
    finally:
        put_back(saved)
    return pd.DataFrame(rows)
