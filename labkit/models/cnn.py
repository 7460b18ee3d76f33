"""The hand-built CNN of seed report 002. Every choice is a named argument whose default is the seed's."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.errors import ParameterError, check_choice, check_per_item, check_positive, check_rate

# Activations a builder accepts by name (Keras' own names).
ACTIVATIONS = ("relu", "selu", "elu", "gelu", "leaky_relu", "silu", "tanh", "sigmoid", "softplus", "linear")
INITIALIZERS = ("he_uniform", "he_normal", "glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal")


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

    The layers have stable names, as `keras.applications` models do, so that feature maps,
    Grad-CAM and surgery can address them: `conv1` … `conv4` (each with `_bn` and `_act`),
    `pool1`, `pool2` (each with `_dropout`), `flatten`, `dense1`, `dense2` (each with `_bn`),
    `dense_dropout` and `predictions`.

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

    filters = check_per_item("filters", filters, 4, item="convolution")
    kernel_sizes = check_per_item("kernel_sizes", kernel_sizes, 4, item="convolution")
    activations = check_per_item("activations", activations, 4, item="convolution")
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
    conv_dropout = check_rate("conv_dropout", conv_dropout)
    dense_dropout = check_rate("dense_dropout", dense_dropout)

    stack = [keras.Input(shape=tuple(input_shape))]
    for index, (count, size, activation) in enumerate(zip(filters, kernel_sizes, activations)):
        initializer = first_initializer if index == 0 else "glorot_uniform"
        conv = f"conv{index + 1}"
        stack += [
            layers.Conv2D(count, size, padding="same", kernel_initializer=initializer, name=conv),
            layers.BatchNormalization(name=f"{conv}_bn"),
            layers.Activation(activation, name=f"{conv}_act"),
        ]
        if index % 2 == 1:
            pool = f"pool{index // 2 + 1}"
            stack += [layers.MaxPooling2D(2, name=pool), layers.Dropout(conv_dropout, name=f"{pool}_dropout")]
    stack += [
        layers.Flatten(name="flatten"),
        layers.Dense(dense_units[0], activation=dense_activation, name="dense1"),
        layers.BatchNormalization(name="dense1_bn"),
        layers.Dense(dense_units[1], activation=dense_activation, name="dense2"),
        layers.BatchNormalization(name="dense2_bn"),
        layers.Dropout(dense_dropout, name="dense_dropout"),
        layers.Dense(num_classes, activation="softmax", name="predictions"),
    ]
    return keras.Sequential(stack, name=name)
