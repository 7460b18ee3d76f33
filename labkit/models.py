"""Model builders. Every choice is a named argument whose default reproduces the seed's model."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.errors import ParameterError, check_choice, check_positive

# Activations a builder accepts by name (Keras' own names).
ACTIVATIONS = ("relu", "selu", "elu", "gelu", "leaky_relu", "silu", "tanh", "sigmoid", "softplus", "linear")
INITIALIZERS = ("he_uniform", "he_normal", "glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal")


def _per_conv(name: str, value, count: int) -> tuple:
    """Accepts one value for every convolution, or a sequence with one value per convolution."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return (value,) * count
    values = tuple(value)
    if len(values) != count:
        raise ParameterError(f"{name}={value!r} must give one value per convolution ({count}), or a single value")
    return values


def _rate(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ParameterError(f"{name}={value!r} must be a dropout rate in [0, 1)")
    return float(value)


def hand_built_cnn(
    *,
    input_shape: Sequence[int] = (28, 28, 1),
    num_classes: int = 10,
    filters: int | Sequence[int] = (32, 32, 64, 64),
    kernel_sizes: int | Sequence[int] = (5, 5, 3, 3),
    activations: str | Sequence[str] = "relu",
    first_initializer: str = "he_uniform",
    conv_dropout: float = 0.3,
    dense_units: Sequence[int] = (1024, 512),
    dense_activation: str = "relu",
    dense_dropout: float = 0.2,
    name: str = "hand_built_cnn",
):
    """The hand-built CNN of seed report 002 (3,831,018 parameters with the defaults).

    Two blocks of two convolutions (each Conv2D → BatchNormalization → Activation), each block
    closed by 2×2 max-pooling and dropout; then Flatten, Dense → BatchNormalization twice, dropout,
    and a softmax layer. Only the first convolution uses `first_initializer`; the others keep
    Keras' default (Glorot uniform), as in the seed.

    Args:
        input_shape: the shape of one image.
        num_classes: units of the softmax layer.
        filters: filters of the four convolutions, one value or one per convolution.
        kernel_sizes: kernel sides of the four convolutions, one value or one per convolution.
        activations: activations after the four convolutions, one name or one per convolution;
            one of `ACTIVATIONS`.
        first_initializer: kernel initializer of the first convolution; one of `INITIALIZERS`.
        conv_dropout: dropout rate after each convolution block.
        dense_units: units of the two hidden Dense layers.
        dense_activation: activation of the hidden Dense layers; one of `ACTIVATIONS`.
        dense_dropout: dropout rate before the softmax layer.
        name: the model's name.

    Returns:
        An uncompiled `keras.Sequential`.
    """
    import keras
    from keras import layers

    filters = _per_conv("filters", filters, 4)
    kernel_sizes = _per_conv("kernel_sizes", kernel_sizes, 4)
    activations = _per_conv("activations", activations, 4)
    for value in filters:
        check_positive("filters", value)
    for value in kernel_sizes:
        check_positive("kernel_sizes", value)
    for value in activations:
        check_choice("activations", value, ACTIVATIONS)
    check_choice("dense_activation", dense_activation, ACTIVATIONS)
    check_choice("first_initializer", first_initializer, INITIALIZERS)
    check_positive("num_classes", num_classes)
    dense_units = tuple(dense_units)
    if len(dense_units) != 2:
        raise ParameterError(f"dense_units={dense_units!r} must give the units of the two hidden Dense layers")
    for value in dense_units:
        check_positive("dense_units", value)
    conv_dropout = _rate("conv_dropout", conv_dropout)
    dense_dropout = _rate("dense_dropout", dense_dropout)

    stack = [keras.Input(shape=tuple(input_shape))]
    for index, (count, size, activation) in enumerate(zip(filters, kernel_sizes, activations)):
        initializer = first_initializer if index == 0 else "glorot_uniform"
        stack += [
            layers.Conv2D(count, size, padding="same", kernel_initializer=initializer),
            layers.BatchNormalization(),
            layers.Activation(activation),
        ]
        if index % 2 == 1:
            stack += [layers.MaxPooling2D(2), layers.Dropout(conv_dropout)]
    stack += [
        layers.Flatten(),
        layers.Dense(dense_units[0], activation=dense_activation),
        layers.BatchNormalization(),
        layers.Dense(dense_units[1], activation=dense_activation),
        layers.BatchNormalization(),
        layers.Dropout(dense_dropout),
        layers.Dense(num_classes, activation="softmax"),
    ]
    return keras.Sequential(stack, name=name)


def parameter_counts(model) -> dict[str, int]:
    """Returns `{"total", "trainable", "non_trainable"}` parameter counts of a built model."""
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


def layer_table(model):
    """Returns a pandas DataFrame of the model's layers: type, output shape, parameters
    (the content of `model.summary()`, as data that a test or a notebook can compare)."""
    import pandas as pd

    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape) if shape is not None else None
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output shape": shape, "params": layer.count_params()})
    return pd.DataFrame(rows).set_index("layer")
