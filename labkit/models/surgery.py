"""Model surgery: freezing by block or by count of layers, cutting a backbone at an activation, a new head.

The seed reports address ResNet50 in two ways that today's Keras no longer prints:

- by its *activation layers* counted from the input: Keras 2 named them `activation_1` …
  `activation_49`, and the seeds cut the network at `activation_37` and the like. Keras 3 names
  them after their place (`conv1_relu`, `conv2_block1_1_relu`, …, `conv5_block3_out`);
  `activation_layers` lists them in order, so the seeds' count k is the k-th name of that list,
  and `activation_table` shows the mapping.
- by *block* (`conv5_block3`: the third residual block of stage 5) or by a count of layers from the
  end (`model.layers[-k:]` trainable).

`freeze` makes everything untrainable except the chosen blocks, the last `last` layers and the
head; BatchNorm layers stay frozen unless asked (as `transfer.freeze` keeps them, so that a
fine-tuned base runs them in inference mode). Nested models (a backbone inside a classifier) are
looked into: layers are counted in the flat order in which the model computes them.
"""

from __future__ import annotations

import math
import re

import keras

from labkit.errors import ParameterError, bad_choice, check_number, check_positive
from labkit.models.inspect import parameter_counts

_BLOCK = re.compile(r"^(.*?block_?\d+)(?=_|$)")


def flat_layers(model) -> list:
    """The layers of a model in the order it computes them, nested models opened, input layers left out.

    Args:
        model: a Keras model (a backbone, or a classifier with a backbone inside).

    Returns:
        The list of leaf layers.
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(flat_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            found.append(layer)
    return found


def block_of(name: str) -> str | None:
    """The block a layer belongs to, read from its name.

    Args:
        name: a layer name such as `"conv5_block3_2_conv"` (ResNet) or `"block_16_project"` (MobileNetV2).

    Returns:
        `"conv5_block3"`, `"block_16"`, or `None` for a layer outside any block.
    """
    match = _BLOCK.match(name)
    return match.group(1) if match else None


def blocks(model) -> list[str]:
    """The blocks of a model, in order (ResNet50: `conv2_block1` … `conv5_block3`, 16 of them).

    Args:
        model: a Keras model (nested backbones are looked into).

    Returns:
        The block names, each once, in the order the model computes them.
    """
    names = [block_of(layer.name) for layer in flat_layers(model)]
    return list(dict.fromkeys(name for name in names if name is not None))


def check_blocks(model, names) -> list[str]:
    """Checks block names against a model's blocks.

    Args:
        model: a Keras model.
        names: block names (a single string is one name).

    Returns:
        The names, as a list.

    Raises:
        ParameterError: an unknown name; the message lists the model's blocks.
    """
    names = [names] if isinstance(names, str) else list(names)
    known = blocks(model)
    for name in names:
        if name not in known:
            raise bad_choice("block", name, known or ["(this model has no named blocks)"])
    return names


def activation_layers(model) -> list[str]:
    """The names of a model's Activation layers, in the order it computes them.

    The seed reports' `activation_k` (Keras 2's automatic names) is the k-th name of this list,
    counting from 1: ResNet50's `activation_37` is `conv4_block5_out`.

    Args:
        model: a Keras model (nested backbones are looked into).

    Returns:
        The layer names (49 for ResNet50).
    """
    return [layer.name for layer in flat_layers(model) if isinstance(layer, keras.layers.Activation)]


def _check_count(model, k) -> int:
    names = activation_layers(model)
    if not names:
        raise ParameterError(f"model={model.name!r} has no Activation layers to count")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(names):
        raise ParameterError(f"k={k!r} must be a whole number from 1 to {len(names)} "
                             f"(the activation layers of {model.name})")
    return k


def activation_name(model, k: int) -> str:
    """Today's name of the seeds' `activation_k`.

    Args:
        model: a Keras model.
        k: the count, from 1 (the first activation layer) to the number of activation layers.

    Returns:
        The layer name, such as `"conv4_block5_out"` for ResNet50's k = 37.

    Raises:
        ParameterError: `k` outside 1 … the number of activation layers (49 for ResNet50).
    """
    return activation_layers(model)[_check_count(model, k) - 1]


def activation_table(model):
    """The mapping from the seeds' count to today's layer names.

    Args:
        model: a functional Keras model (such as a ResNet50 backbone).

    Returns:
        A pandas DataFrame indexed by `count` (1 …): `seed name` (`activation_k`), `layer` (today's
        name), `block` and `output shape` (without the batch dimension).
    """
    import pandas as pd

    rows = []
    for count, name in enumerate(activation_layers(model), start=1):
        layer = _find(model, name)
        rows.append({"count": count, "seed name": f"activation_{count}", "layer": name, "block": block_of(name),
                     "output shape": tuple(layer.output.shape[1:])})
    return pd.DataFrame(rows).set_index("count")


def _find(model, name: str):
    return next(layer for layer in flat_layers(model) if layer.name == name)


def cut_at_activation(model, k: int):
    """The backbone up to and including its k-th activation layer (the seeds' `cut_activation_k`).

    Args:
        model: a functional backbone (such as `transfer.backbone("resnet50", ...)`).
        k: the activation's count, from 1; for ResNet50 1 … 49 (49 is the whole backbone).

    Returns:
        A `keras.Model` named `<model>_activation_<k>` from the backbone's input to that layer's
        output. It shares the backbone's layers (and weights); `architecture` names the backbone it
        came from (for its preprocessing).

    Raises:
        ParameterError: `k` outside the allowed range.
    """
    name = activation_name(model, k)
    cut = keras.Model(model.input, model.get_layer(name).output, name=f"{model.name}_activation_{k}")
    cut.architecture = getattr(model, "architecture", model.name)
    cut.weights_source = getattr(model, "weights_source", None)
    return cut


def _head_layers(model) -> list:
    """The leaf layers after the last nested model: a classifier's head (none in a bare backbone)."""
    tops = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    nested = [i for i, layer in enumerate(tops) if isinstance(layer, keras.Model)]
    return [] if not nested else [layer for layer in tops[nested[-1] + 1:]]


def _check_last(last, total: int) -> int:
    if isinstance(last, bool) or not isinstance(last, int) or not 0 <= last <= total:
        raise ParameterError(f"last={last!r} must be a whole number from 0 to {total} (the model's layers)")
    return last


def freeze(model, *, except_blocks=(), last: int = 0, head: bool = True, batchnorm: bool = False):
    """Freezes a model except some blocks, the last `last` layers and its head.

    Args:
        model: a Keras model: a backbone, or a classifier with a backbone inside.
        except_blocks: blocks left trainable, such as `["conv5_block3"]` (`blocks(model)` lists them).
        last: this many layers from the end stay trainable, counted as the seeds did
            (`model.layers[-last:]` of a flat model; nested models are opened, head included).
        head: the layers after the nested backbone (a classifier's head) stay trainable.
        batchnorm: let BatchNorm layers of the trainable part train too; by default they stay frozen,
            hence in inference mode (Keras 3's `fit` overrides a nested `training=False`).

    Returns:
        `model`, frozen in place.

    Raises:
        ParameterError: an unknown block (the message lists the model's blocks), or `last` out of range.
    """
    layers = flat_layers(model)
    chosen = set(check_blocks(model, except_blocks))
    last = _check_last(last, len(layers))
    keep = {id(layer) for layer in layers[len(layers) - last:]}
    keep |= {id(layer) for layer in layers if block_of(layer.name) in chosen}
    if head:
        keep |= {id(layer) for layer in _head_layers(model)}
    model.trainable = True  # nested models must be trainable for their layers to be
    for layer in layers:
        norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = id(layer) in keep and (batchnorm or not norm)
    return model


def unfreeze(model, *, blocks=(), last: int = 0, batchnorm: bool = False):
    """Makes some more layers trainable, leaving the others as they are.

    Args:
        model: a Keras model.
        blocks: blocks to unfreeze, such as `["conv5_block2"]`.
        last: unfreeze this many layers from the end too.
        batchnorm: unfreeze their BatchNorm layers too.

    Returns:
        `model`, changed in place.

    Raises:
        ParameterError: an unknown block, or `last` out of range.
    """
    layers = flat_layers(model)
    chosen = set(check_blocks(model, blocks))
    last = _check_last(last, len(layers))
    tail = {id(layer) for layer in layers[len(layers) - last:]}
    for layer in layers:
        if (id(layer) in tail or block_of(layer.name) in chosen) and (
                batchnorm or not isinstance(layer, keras.layers.BatchNormalization)):
            layer.trainable = True
    return model


def trainable_counts(model) -> dict:
    """Counts what trains: parameters and layers.

    Args:
        model: a built Keras model.

    Returns:
        `{"total", "trainable", "non_trainable"}` parameters (as `inspect.parameter_counts`) and
        `"trainable_layers"`: the leaf layers that hold trainable weights.
    """
    counts = parameter_counts(model)
    trains = {id(w) for w in model.trainable_weights}
    active = [layer for layer in flat_layers(model) if any(id(w) in trains for w in layer.weights)]
    return {**counts, "trainable_layers": len(active)}


def tail_table(model, count: int = 15):
    """The last layers of a model and what each adds when it is unfrozen (the seeds' `-3` … `-15`).

    Args:
        model: a Keras model.
        count: how many layers from the end.

    Returns:
        A pandas DataFrame indexed by `from end` (1 = the last layer): `layer`, `type`, `block`,
        `parameters` (all its weights) and `trainable now`.
    """
    import pandas as pd

    trains = {id(w): int(math.prod(w.shape)) for w in model.trainable_weights}
    layers = flat_layers(model)
    count = min(check_positive("count", count), len(layers))
    rows = []
    for back in range(1, count + 1):
        layer = layers[-back]
        rows.append({"from end": back, "layer": layer.name, "type": type(layer).__name__,
                     "block": block_of(layer.name), "parameters": layer.count_params(),
                     "trainable now": sum(trains.get(id(w), 0) for w in layer.weights)})
    return pd.DataFrame(rows).set_index("from end")


def attach_head(base, num_classes: int, *, dense=(), dropout: float = 0.0, seed: int | None = None):
    """Puts a new head on a backbone (or a cut of one): preprocessing → base → pooling → dense layers → softmax.

    Seed 000 replaced the top by one softmax layer; seed 003 (question 6) added three ReLU dense
    layers (512 … 2048 units) and a dropout before the softmax.

    Args:
        base: a model from `transfer.backbone` or `cut_at_activation`.
        num_classes: units of the softmax layer.
        dense: units of the ReLU dense layers between pooling and softmax, such as `(1024, 1024, 1024)`.
        dropout: rate of a dropout before the softmax; 0 adds none.
        seed: seed of the dense layers' initialisation and of the dropout.

    Returns:
        A chain-shaped `keras.Model` (what `features.split` caches) named `<base>_head`, layers
        `image`, `preprocessing`, the base (called with `training=False`), `pooling`, `dense1` …,
        `dropout`, `predictions`.
    """
    from labkit.models.transfer import Preprocess

    check_positive("num_classes", num_classes)
    inputs = keras.Input(shape=base.input_shape[1:], name="image")
    x = Preprocess(getattr(base, "architecture", base.name), name="preprocessing")(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pooling")(x)
    for index, units in enumerate(dense, start=1):
        init = keras.initializers.GlorotUniform(seed=None if seed is None else seed + index)
        x = keras.layers.Dense(check_positive("dense", units), activation="relu", kernel_initializer=init,
                               name=f"dense{index}")(x)
    if check_number("dropout", dropout, high=0.99, low_open=False):
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    init = keras.initializers.GlorotUniform(seed=seed)
    outputs = keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init, name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_head")
