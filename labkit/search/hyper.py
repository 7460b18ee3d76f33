"""keras-tuner HyperModel searches: the seed reports' spaces, RandomSearch and Hyperband, narrowing.

- `resnet_space()` is seed report 000's space (ResNet depths, pooling, optimizer, learning rate),
  searched with a ResNet (`resnet_hypermodel`): keras-tuner's `HyperResNet` at full width, or the
  same stacks at a small width where the profile cannot afford 64 to 2,048 filters.
- `optimizer_space()` is seed report 001's random search (batch size, learning rate, momentum,
  optimizer); the batch size reaches `model.fit` through `HyperModel.fit`.
- `search(...)` runs `"random"` (RandomSearch) or `"hyperband"` (Hyperband) over a space; every
  trial fit carries the search's `labkit.train.FitLog`, as the sweeps' do, and the search's folder
  keeps finished trials, so that an interrupted search resumes where it stopped.
- `narrow(table, space)` derives a second round's space from the first round's winners.

The comparison at an equal budget of epochs is in `labkit.search.budget`, the distributed run in
`labkit.search.distributed`.
"""

from __future__ import annotations

import math

from labkit.errors import ParameterError, check_choice, check_positive

# Seed report 000 (Hyperband on a ResNet): its printed search-space summary.
RESNET_SPACE = {
    "conv3_depth": [4, 8],
    "conv4_depth": [23, 36],
    "pooling": ["avg", "max"],
    "optimizer": ["adam", "sgd"],
    "learning_rate": [0.1, 0.01],
}
# Seed report 001 (first round of random search): ranges, and the optimizers it drew from.
OPTIMIZER_RANGES = {"batch_size": (10, 100), "learning_rate": (1e-4, 0.3), "momentum": (0.0, 0.9)}
OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam")
WITH_MOMENTUM = ("sgd", "rmsprop")  # the Keras optimizers among them that take `momentum`


def resnet_space():
    """Declares seed report 000's ResNet search space.

    Returns:
        A `keras_tuner.HyperParameters`: `conv3_depth` ∈ {4, 8}, `conv4_depth` ∈ {23, 36} (with
        conv2 and conv5 at 3 blocks: ResNet-50 ... 152 depths), `pooling` ∈ {avg, max},
        `optimizer` ∈ {adam, sgd}, `learning_rate` ∈ {0.1, 0.01}, defaults as the seed printed.
    """
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for name, values in RESNET_SPACE.items():
        default = 0.01 if name == "learning_rate" else values[0]
        hp.Choice(name, values, default=default)
    return hp


def optimizer_space(*, batch_size=OPTIMIZER_RANGES["batch_size"], learning_rate=OPTIMIZER_RANGES["learning_rate"],
                    momentum=OPTIMIZER_RANGES["momentum"], optimizers=OPTIMIZERS):
    """Declares seed report 001's random-search space (its first round by default).

    Args:
        batch_size: `(low, high)`, whole numbers, both included.
        learning_rate: `(low, high)`, sampled on a log scale.
        momentum: `(low, high)`, only for the optimizers that have one (`WITH_MOMENTUM`).
        optimizers: Keras optimizer names, lower case, from `OPTIMIZERS`.

    Returns:
        A `keras_tuner.HyperParameters` with `optimizer`, `batch_size`, `learning_rate` and a
        `momentum` active only when the optimizer takes one.
    """
    import keras_tuner

    optimizers = [check_choice("optimizers", name, OPTIMIZERS) for name in optimizers]
    if not optimizers:
        raise ParameterError(f"optimizers=[] must list at least one of {', '.join(OPTIMIZERS)}")
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", optimizers)
    hp.Int("batch_size", *_range("batch_size", batch_size, whole=True))
    hp.Float("learning_rate", *_range("learning_rate", learning_rate), sampling="log")
    with_momentum = [name for name in optimizers if name in WITH_MOMENTUM]
    if with_momentum:
        with hp.conditional_scope("optimizer", with_momentum):
            hp.Float("momentum", *_range("momentum", momentum, low=0.0))
    return hp


def _range(name, pair, *, whole=False, low=None):
    try:
        lo, hi = (int(v) if whole else float(v) for v in pair)
    except (TypeError, ValueError):
        lo = hi = None
    if lo is None or lo > hi or (low is None and lo <= 0) or (low is not None and lo < low):
        raise ParameterError(f"{name}={pair!r} must be a pair (low, high) with 0 {'≤' if low is not None else '<'} low ≤ high")
    return lo, hi


def space_values(hp) -> dict:
    """Describes a declared space, to compare with the seeds' values and ranges.

    Args:
        hp: a `keras_tuner.HyperParameters`.

    Returns:
        `{name: values}` for a choice, `{name: (low, high, sampling)}` for a range, in order.
    """
    described = {}
    for item in hp.space:
        config = item.get_config()
        if "values" in config:
            described[item.name] = list(config["values"])
        else:
            described[item.name] = (config["min_value"], config["max_value"], config.get("sampling") or "linear")
    return described


def resnet_hypermodel(*, input_shape, num_classes: int, width: int | None = None, depth_divisor: int = 1):
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
        return compile_classifier(model, optimizer_name=hp.get("optimizer"), learning_rate=hp.get("learning_rate"))

    return build


def optimizer_hypermodel(*, input_shape, num_classes: int, filters=(8, 8, 16, 16), dense_units=(64, 32)):
    """A build function of `optimizer_space()`: a small hand-built CNN, compiled with the trial's optimizer.

    Seed report 001 searched the optimizer of a frozen ImageNet ResNet-50's new head; here the
    trainable network is `labkit.models.hand_built_cnn` at a small width, so that the search fits
    a CPU.

    Args:
        input_shape: the images' shape.
        num_classes: classes of the softmax layer.
        filters: filters of the four convolutions.
        dense_units: units of the two dense layers.

    Returns:
        A function of `hp` that returns the compiled model (`optimizer`, `learning_rate`, and
        `momentum` where the trial has one; the batch size is applied by the search's `fit`).
    """
    from labkit.models import hand_built_cnn
    from labkit.train import compile_classifier

    def build(hp):
        model = hand_built_cnn(input_shape=tuple(input_shape), num_classes=num_classes, filters=tuple(filters),
                               dense_units=tuple(dense_units))
        options = {"momentum": hp.get("momentum")} if hp.is_active("momentum") and "momentum" in hp.values else {}
        return compile_classifier(model, optimizer_name=hp.get("optimizer"), learning_rate=hp.get("learning_rate"),
                                  **options)

    return build


def preset(space: str, dataset, *, width: int | None = None, depth_divisor: int = 1):
    """The build function and space of a seed's search, by name (for processes that rebuild it).

    Args:
        space: `"resnet"` (seed report 000) or `"optimizers"` (seed report 001).
        dataset: the `labkit.data.Dataset` searched on.
        width: the ResNet's width (`resnet_hypermodel`); ignored for `"optimizers"`.
        depth_divisor: the ResNet's `depth_divisor`; ignored for `"optimizers"`.

    Returns:
        `(build, hyperparameters)`.
    """
    check_choice("space", space, ("resnet", "optimizers"))
    shape, classes = dataset.input_shape, dataset.num_classes
    if space == "resnet":
        build = resnet_hypermodel(input_shape=shape, num_classes=classes, width=width, depth_divisor=depth_divisor)
        return build, resnet_space()
    return optimizer_hypermodel(input_shape=shape, num_classes=classes), optimizer_space()


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


def narrow(table, *, objective: str = "val_accuracy", top: int = 2, first=None):
    """Derives a second round of seed report 001's search from the first round's winners.

    The seed kept the optimizer of its two best trials (both SGD) and ranges around their values
    (batch 29 and 67 → 30-70, learning rate 0.044 and 0.088 → 0.04-0.1, momentum 0.13 and 0.26 →
    0.1-0.3). Here the same rule is written down: the optimizers of the `top` best trials, and
    for each number the span of their values, widened to one significant digit (low rounded
    down, high rounded up) and kept inside the first round's range.

    Args:
        table: the first round's trials (`Search.table`), with `optimizer`, `batch_size`,
            `learning_rate`, `momentum` (empty where inactive) and the `objective` column.
        objective: the column that ranks the trials (higher is better).
        top: how many of the best trials to keep.
        first: the first round's ranges, `{name: (low, high)}`; `None` takes `OPTIMIZER_RANGES`.

    Returns:
        `(space, ranges)`: the second round's `keras_tuner.HyperParameters` (`optimizer_space`)
        and `{"optimizers": [...], "batch_size": (lo, hi), "learning_rate": ..., "momentum": ...}`.
    """
    check_positive("top", top)
    for column in ("optimizer", "batch_size", "learning_rate", objective):
        if column not in table:
            raise ParameterError(f"table has no column {column!r}: pass the first round's Search.table")
    first = dict(OPTIMIZER_RANGES, **(first or {}))
    winners = table.sort_values(objective, ascending=False, kind="stable").head(top)
    optimizers = list(dict.fromkeys(winners["optimizer"]))
    ranges = {"optimizers": optimizers}
    for name in ("batch_size", "learning_rate", "momentum"):
        values = [float(v) for v in winners.get(name, []) if v == v and v is not None]
        if not values:
            ranges[name] = tuple(first[name])
            continue
        lo = max(first[name][0], _round(min(values), math.floor))
        hi = min(first[name][1], _round(max(values), math.ceil))
        ranges[name] = (int(lo), int(hi)) if name == "batch_size" else (lo, hi)
    space = optimizer_space(batch_size=ranges["batch_size"], learning_rate=ranges["learning_rate"],
                            momentum=ranges["momentum"], optimizers=optimizers)
    return space, ranges


def _round(value: float, direction) -> float:
    """Rounds to one significant digit, down (`math.floor`) or up (`math.ceil`)."""
    if value == 0:
        return 0.0
    scale = 10 ** math.floor(math.log10(abs(value)))
    return round(direction(value / scale) * scale, 12)


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


def rounds_verdict(first, second, ranges: dict, *, objective: str = "val_accuracy") -> str:
    """Says what narrowing did: the second round's space and best score against the first's.

    Args:
        first: the first round's table.
        second: the second round's table.
        ranges: `narrow`'s ranges.
        objective: the column compared (higher is better).

    Returns:
        One sentence built from the two tables.
    """
    best1, best2 = float(first[objective].max()), float(second[objective].max())
    spans = ", ".join(f"{name} {lo:g}–{hi:g}" for name, (lo, hi) in ranges.items() if name != "optimizers")
    change = "raised" if best2 > best1 else "did not raise"
    return (f"The first round's {len(first)} trials led to {', '.join(ranges['optimizers'])} with {spans}; the second "
            f"round's {len(second)} trials {change} the best {objective.replace('_', ' ')} ({best1:.3f} → {best2:.3f}), "
            f"one run per trial, so a gap smaller than the seeds' spread above is not evidence.")
