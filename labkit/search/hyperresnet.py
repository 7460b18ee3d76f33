"""A ResNet for seed report 000's space: keras-tuner's HyperResNet, or its stacks at a small width.

Also what small images do to it: the side of each stack's feature maps, and a sentence about them.
"""

from __future__ import annotations

import math

from labkit.errors import ParameterError, check_positive


def resnet_hypermodel(*, input_shape, num_classes: int, width: int | None = None, depth_divisor: int = 1,
                      eager: bool = False):
    """A build function of `resnet_space()`: a pre-activation ResNet (v2) with the trial's depths.

    Args:
        input_shape: the images' shape, such as `(16, 16, 3)`.
        num_classes: classes of the softmax layer.
        width: filters of the first stack's bottleneck (each stack doubles it, each block's output
            has four times as many); `None` builds keras-tuner's own `HyperResNet` (64, as in
            ResNet-50 ... 152).
        depth_divisor: builds `ceil(depth / depth_divisor)` blocks (at least 2) for the trial's `conv3_depth` and
            `conv4_depth` (1: the seed's depths; more, for a CPU that cannot trace a 100-layer
            network per trial). The space keeps the seed's values; only the built depth shrinks.
        eager: run the model eagerly (`model.run_eagerly`), cheaper than tracing for a few steps.

    Returns:
        A function of `hp` that returns a model compiled by `labkit.train.compile_classifier`
        (integer labels), with the trial's optimizer and learning rate.
    """
    from labkit.train import compile_classifier

    if width is not None:
        check_positive("width", width)
    check_positive("depth_divisor", depth_divisor)
    if width is None and depth_divisor != 1:
        raise ParameterError(f"depth_divisor={depth_divisor!r} needs a width: keras-tuner's HyperResNet builds the seed's depths")

    def build(hp):
        if width is None:
            import keras_tuner

            # HyperResNet compiles for one-hot labels; compiled again below for integer ones.
            model = keras_tuner.applications.HyperResNet(input_shape=tuple(input_shape), classes=num_classes).build(hp)
        else:
            model = _narrow_resnet(hp, tuple(input_shape), num_classes, width, depth_divisor)
        model = compile_classifier(model, optimizer_name=hp.get("optimizer"), learning_rate=hp.get("learning_rate"))
        model.run_eagerly = bool(eager)
        return model

    return build


def _narrow_resnet(hp, input_shape, num_classes, width, divisor):
    """HyperResNet's v2 network, with `width` in place of its 64 filters."""
    import keras
    from keras_tuner.src.applications.resnet import stack2  # the residual stacks HyperResNet uses

    layers = keras.layers
    inputs = keras.Input(shape=input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(inputs)
    x = layers.Conv2D(width, 7, strides=2, name="conv1_conv")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack2(x, width, 3, name="conv2")
    x = stack2(x, 2 * width, _blocks(hp.get("conv3_depth"), divisor), name="conv3")
    x = stack2(x, 4 * width, _blocks(hp.get("conv4_depth"), divisor), name="conv4")
    x = stack2(x, 8 * width, 3, stride1=1, name="conv5")
    x = layers.BatchNormalization(epsilon=1.001e-5, name="post_bn")(x)
    x = layers.Activation("relu", name="post_relu")(x)
    pool = layers.GlobalAveragePooling2D if hp.get("pooling") == "avg" else layers.GlobalMaxPooling2D
    x = pool(name=f"{hp.get('pooling')}_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=f"resnet_w{width}")


def _blocks(depth: int, divisor: int) -> int:
    """`depth / divisor` rounded up, at least 2 (keras-tuner's `stack2` names a single block twice)."""
    return max(2, math.ceil(depth / divisor))


def stage_sides(model) -> dict[str, tuple[int, int]]:
    """Reads the side of the feature maps that each ResNet stack puts out.

    Args:
        model: a model of `resnet_hypermodel` (stacks named `conv2` ... `conv5`).

    Returns:
        `{"conv1": (h, w), "conv2": ..., "conv5": ...}`: 1×1 means that the stack's 3×3
        convolutions see a single position (their other taps see only padding).
    """
    sides = {}
    for layer in model.layers:
        if layer.name == "pool1_pool":
            sides["conv1"] = tuple(layer.output.shape[1:3])
        elif layer.name.startswith("conv") and layer.name.endswith("_out"):
            sides[layer.name.split("_")[0]] = tuple(layer.output.shape[1:3])
    return sides


def small_images(sides: dict, *, image_size, blocks: dict) -> str:
    """Says what the image size does to a ResNet, from its feature-map sides.

    Args:
        sides: `stage_sides(model)`.
        image_size: the side of the images it was built for.
        blocks: `stage_blocks(model)`: residual blocks per stack.

    Returns:
        One sentence naming the first stack whose maps are 1×1 and the blocks that work on them.
    """
    single = [stage for stage in blocks if tuple(sides.get(stage, (0, 0))) == (1, 1)]
    if not single:
        smallest = min(blocks, key=lambda stage: sides[stage][0])
        return (f"At {image_size} px the last maps are {sides[smallest][0]}×{sides[smallest][1]}: every stack still "
                f"sees several positions.")
    wasted = sum(blocks[stage] for stage in single)
    return (f"At {image_size} px the maps are 1×1 from {single[0]} on: {wasted} of the "
            f"{sum(blocks.values())} residual blocks see a single position, so their 3×3 convolutions use only "
            f"their centre tap, and the extra blocks of a ResNet-101 or 152 add layers per pixel, not receptive field.")


def stage_blocks(model) -> dict[str, int]:
    """Counts the residual blocks of each stack of a `resnet_hypermodel` model.

    Args:
        model: the model.

    Returns:
        `{"conv2": 3, "conv3": ..., "conv4": ..., "conv5": 3}`.
    """
    counts = {}
    for layer in model.layers:
        if layer.name.startswith("conv") and layer.name.endswith("_out"):
            stage = layer.name.split("_")[0]
            counts[stage] = counts.get(stage, 0) + 1
    return counts
