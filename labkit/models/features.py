"""The fast path of transfer learning: cache what a frozen prefix computes, train only the rest.

While a base is frozen and nothing random runs before it (augmentation off), its outputs for a
given image never change: computing them once and training the head on them gives the same model
as training end to end, at the cost of one forward pass. `split(model)` finds the longest frozen,
deterministic prefix (descending into a partly frozen base: the cut is then the last layer before
the first trainable one that alone feeds the rest) and returns the prefix and the head as two
models that share the layers of `model`: training the head trains `model`'s own weights.
`outputs(model, names, x)` yields several cut points' outputs in one forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from labkit.errors import ParameterError

# Layers that act differently, at random, in training: they must stay in the head.
_RANDOM = ("Dropout", "SpatialDropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Random")


@dataclass
class Split:
    """A model cut in two: `head(prefix(x))` computes `model(x)` in inference mode.

    Attributes:
        prefix: images → features; frozen and deterministic.
        head: features → predictions; shares its layers (and weights) with the model.
        cut: the layer whose output is cached, as `"<model>/<layer>"`.
    """

    prefix: keras.Model
    head: keras.Model
    cut: str


def _is_random(layer) -> bool:
    if isinstance(layer, keras.Model):
        return any(_is_random(inner) for inner in layer.layers)
    return type(layer).__name__.startswith(_RANDOM)


def _frozen(layer) -> bool:
    return not layer.trainable_weights


def _inbound(layer) -> list:
    """The layers that feed `layer` in its (first) graph."""
    node = layer._inbound_nodes[0]
    return [t._keras_history.operation for t in keras.tree.flatten(node.input_tensors)]


def _cut_inside(base) -> int:
    """Index of the last layer of `base` before its first trainable one whose output alone feeds the rest."""
    layers = base.layers
    first = next(i for i, layer in enumerate(layers) if not _frozen(layer))
    position = {id(layer): i for i, layer in enumerate(layers)}
    for cut in range(first - 1, 0, -1):
        if all(position[id(src)] >= cut for layer in layers[cut + 1:] for src in _inbound(layer)):
            return cut
    return 0


def split(model) -> Split:
    """Cuts a chain-shaped model (such as `transfer.classifier`'s) after its frozen, deterministic prefix.

    Args:
        model: a functional model whose top level is a chain of layers; a nested model in the chain
            may be partly frozen (the cut then falls inside it).

    Returns:
        A `Split`.

    Raises:
        ParameterError: nothing can be cached (a random layer, such as augmentation, comes first, or
            the first layer is trainable).
    """
    layers = model.layers[1:]  # without the InputLayer
    index = 0
    while index < len(layers) and _frozen(layers[index]) and not _is_random(layers[index]):
        index += 1
    if index < len(layers) and isinstance(layers[index], keras.Model) and not _is_random(layers[index]):
        return _split_inside(model, layers, index)
    if index == 0:
        raise ParameterError(f"model={model.name!r}: its first layer ({layers[0].name!r}) trains or acts at random "
                             "(augmentation): nothing to cache; build it with augment=False and a frozen base")
    cut = layers[index - 1].output
    return Split(keras.Model(model.input, cut, name="prefix"), keras.Model(cut, model.output, name="head"),
                 f"{model.name}/{layers[index - 1].name}")


def _split_inside(model, layers, index) -> Split:
    base = layers[index]
    cut = _cut_inside(base)
    if index == 0 and cut == 0:
        raise ParameterError(f"model={model.name!r}: the first layer of {base.name!r} trains: nothing to cache")
    before = keras.Model(model.input, layers[index - 1].output) if index else None
    inner = keras.Model(base.input, base.layers[cut].output)
    images = keras.Input(model.input_shape[1:])
    features = inner(before(images) if before is not None else images)
    prefix = keras.Model(images, features, name="prefix")
    rest = keras.Model(base.layers[cut].output, base.output)
    entry = keras.Input(features.shape[1:])
    x = rest(entry, training=False)
    tail = keras.Model(layers[index + 1].input, model.output) if index + 1 < len(layers) else None
    head = keras.Model(entry, tail(x) if tail is not None else x, name="head")
    return Split(prefix, head, f"{base.name}/{base.layers[cut].name}")


def forward(model, x, *, batch_size: int = 64):
    """Runs a model in inference mode, batch by batch, eagerly.

    `model.predict` traces a graph first, which for a big backbone costs more than running a few
    hundred small images through it op by op.

    Args:
        model: a Keras model (one or several outputs).
        x: its input.
        batch_size: examples per batch.

    Returns:
        The output as a NumPy array (a list of arrays for several outputs).
    """
    batches = [model(x[i:i + batch_size], training=False) for i in range(0, len(x), batch_size)]
    if isinstance(batches[0], (list, tuple)):
        return [np.concatenate([keras.ops.convert_to_numpy(b[k]) for b in batches]) for k in range(len(batches[0]))]
    return np.concatenate([keras.ops.convert_to_numpy(b) for b in batches])


def outputs(model, names, x, *, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Computes the outputs of several layers of a functional model in one forward pass.

    Args:
        model: a functional model (such as a base from `transfer.backbone`).
        names: names of its layers.
        x: the model's input.
        batch_size: examples per batch.

    Returns:
        `{name: array}`, one array per layer.
    """
    names = list(names)
    taps = keras.Model(model.input, [model.get_layer(name).output for name in names])
    arrays = forward(taps, x, batch_size=batch_size)
    return dict(zip(names, arrays if len(names) > 1 else [arrays]))


def cached_dataset(parts: Split, dataset, *, batch_size: int = 64):
    """Runs a dataset's images through the prefix once.

    Args:
        parts: from `split`.
        dataset: a `labkit.data.Dataset`.
        batch_size: examples per batch.

    Returns:
        A copy of the dataset whose images are the prefix's features.
    """
    import copy

    cached = copy.copy(dataset)
    cached.splits = {name: (forward(parts.prefix, x, batch_size=batch_size), y)
                     for name, (x, y) in dataset.splits.items()}
    cached.notes = [*dataset.notes, f"features cached at {parts.cut}"]
    return cached


def check_attached(model, parts: Split, x, features=None, *, atol: float = 1e-5) -> float:
    """Checks that the model computes what its trained head computes on the cached features.

    Args:
        model: the full model.
        parts: its `split`.
        x: images.
        features: `parts.prefix` of them (computed when `None`).
        atol: the largest difference allowed.

    Returns:
        The largest absolute difference between the two sets of predictions.

    Raises:
        AssertionError: the difference is larger than `atol`.
    """
    features = forward(parts.prefix, x) if features is None else features
    gap = float(np.max(np.abs(forward(model, x) - forward(parts.head, features))))
    head_weights = {id(w) for w in parts.head.weights}
    assert head_weights <= {id(w) for w in model.weights}, "the head must share the model's weights"
    assert gap <= atol, f"the model and its head disagree by {gap:.2e}"
    return gap
