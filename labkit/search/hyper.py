"""keras-tuner HyperModel searches: the seed reports' spaces, RandomSearch and Hyperband, narrowing.

- `resnet_space()` is seed report 000's space (ResNet depths, pooling, optimizer, learning rate),
  searched with a ResNet (`resnet_hypermodel`, from `labkit.search.hyperresnet`): keras-tuner's
  `HyperResNet` at full width, or the same stacks at a small width where the profile cannot
  afford 64 to 2,048 filters.
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
from labkit.search.hyperresnet import resnet_hypermodel, small_images, stage_blocks, stage_sides

__all__ = ["narrow", "optimizer_hypermodel", "optimizer_space", "preset", "resnet_hypermodel", "resnet_space",
           "rounds_verdict", "small_images", "space_values", "stage_blocks", "stage_sides"]

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



def narrow(table, *, objective: str = "val_accuracy", top: int = 2, first=None):
    """Derives a second round of seed report 001's search from the first round's winners.

    The seed kept the optimizer of its two best trials (both SGD) and chose ranges around their
    values by hand (batch 29 and 67 → 30-70, learning rate 0.044 and 0.088 → 0.04-0.1, momentum
    0.13 and 0.26 → 0.1-0.3). Here a rule does it: the optimizers of the `top` best trials, and
    for each number the span of their values, widened to one significant digit (low rounded
    down, high rounded up) and kept inside the first round's range; on the seed's table it
    gives 20-70, 0.04-0.09 and 0.1-0.3.

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
