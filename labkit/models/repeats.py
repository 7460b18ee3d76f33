"""Models built and trained once per seed, side by side: a table for `labkit.stats.spread` and `compare`.

`repeat(builds, dataset)` takes `{label: build}`, each `build(seed)` returning a model whose frozen
part is already frozen, and trains every model once per seed on labkit's one training path
(`finetune.run_phase`). The seeds of one configuration share one compiled model: each seed's
freshly built weights are copied into it (`finetune.run_phase(reuse=...)`), so that its training
step is traced once per configuration, not once per seed. Whenever a model's frozen, deterministic
prefix is the same (the same weight variables) as one already seen, the features it cached are
reused, so that a seed costs only what trains. Models with a random layer in front (augmentation) or
trained from scratch train end to end.
"""

from __future__ import annotations

import numpy as np

from labkit.errors import ParameterError, check_choice, check_positive, check_seed


def _key(prefix) -> tuple:
    return tuple(id(w) for w in prefix.weights)


def prefix_key(model):
    """What identifies a model's frozen prefix, for a cache of its features (`repeat(cache=...)`).

    Args:
        model: a classifier, its frozen part frozen.

    Returns:
        The identities of the prefix's weight variables (two models sharing a frozen base share
        the key); `None` when nothing can be cached (`features.split` refuses the model).
    """
    from labkit.models import features

    try:
        return _key(features.split(model).prefix)
    except ParameterError:
        return None


def check_runs(name: str, configurations: dict, seeds, epochs: int, form: str) -> list[int]:
    """Checks the arguments shared by the repeated-runs functions (`repeat`, `taps.repeat`).

    Args:
        name: the parameter that holds the configurations.
        configurations: its value: at least one.
        seeds: at least one seed.
        epochs: a positive number of epochs.
        form: what one configuration looks like, for the message.

    Returns:
        The seeds, as a list of ints.
    """
    if not configurations:
        raise ParameterError(f"{name}={{}} must name at least one configuration: {form}")
    seeds = [check_seed("seeds", seed) for seed in seeds]
    if not seeds:
        raise ParameterError("seeds=[] must hold at least one seed")
    check_positive("epochs", epochs)
    return seeds


def repeat(builds: dict, dataset, *, seeds=(0, 1, 2), epochs: int = 10, learning_rate: float = 1e-3,
           batch_size: int = 32, eagerly: bool = False, fast: bool = True, cache: dict | None = None):
    """Builds and trains each configuration once per seed.

    Args:
        builds: `{label: build}`, `build(seed)` returning an uncompiled classifier (frozen parts frozen).
        dataset: a `labkit.data.Dataset`.
        seeds: one run per seed (`keras.utils.set_random_seed(seed)` before each build).
        epochs: epochs of each run.
        learning_rate: Adam's learning rate.
        batch_size: examples per step.
        eagerly: run the fits eagerly (the profile's `fit_eagerly`).
        fast: train on cached features where the model allows it (`finetune.run_phase`).
        cache: features cached by frozen prefixes, `{prefix_key(...): features}`: read, and filled
            with those this call computes (by default a cache of this call's own).

    Returns:
        A pandas DataFrame, one row per run: `configuration`, `seed`, `train_accuracy` (the last
        epoch's, on the training batches as they were fed, augmented or not), `val_accuracy`,
        `test_accuracy`, `seconds`, `trained_on` (`"images"` or the cached layer).
    """
    import keras
    import pandas as pd

    from labkit.models import finetune

    seeds = check_runs("builds", builds, seeds, epochs, "{label: build(seed)}")
    rows, cache = [], {} if cache is None else cache
    for label, build in builds.items():
        previous = None
        for seed in seeds:
            keras.utils.set_random_seed(seed)
            model = build(seed)
            key = prefix_key(model) if fast else None
            phase = finetune.run_phase(model, dataset, name=str(label), epochs=epochs, learning_rate=learning_rate,
                                       batch_size=batch_size, fast=fast, eagerly=eagerly, cached=cache.get(key),
                                       check=key not in cache, reuse=previous)
            previous = phase
            if key is not None and phase.features is not None:
                cache[key] = phase.features
            rows.append({"configuration": label, "seed": seed,
                         "train_accuracy": float(phase.history.get("accuracy", [float("nan")])[-1]),
                         "val_accuracy": phase.val_accuracy, "test_accuracy": phase.test_accuracy,
                         "seconds": phase.seconds, "trained_on": phase.cut or "images"})
    return pd.DataFrame(rows)


def against(runs, *, baseline: str, metric: str = "val_accuracy", alpha: float = 0.05):
    """Sets every configuration of `repeat`'s table against one baseline, with Welch's t-test over seeds.

    Args:
        runs: `repeat`'s table.
        baseline: the configuration the others are compared with (such as `"none"`).
        metric: the column compared.
        alpha: the test's level (`labkit.stats.compare`).

    Returns:
        A pandas DataFrame indexed by configuration, in the table's order: mean and standard deviation
        of `train_accuracy` and of `metric`, `gap` (to the baseline's mean of `metric`), `p_value`,
        `verdict` (`"baseline"`, `"higher"`, `"lower"` or `"within noise"`) and `sentence`
        (`stats.compare`'s verdict, with this run's numbers).
    """
    import pandas as pd

    from labkit import stats

    order = list(dict.fromkeys(runs["configuration"]))
    check_choice("baseline", baseline, order)
    grouped = runs.groupby("configuration", sort=False)
    table = pd.DataFrame({"train mean": grouped["train_accuracy"].mean(), "train sd": grouped["train_accuracy"].std(),
                          f"{metric} mean": grouped[metric].mean(), f"{metric} sd": grouped[metric].std(),
                          "runs": grouped[metric].count()}).loc[order]
    rows = []
    for label in order:
        if label == baseline:
            rows.append({"gap": 0.0, "p_value": None, "verdict": "baseline", "sentence": ""})
            continue
        result = stats.compare(runs, baseline=baseline, challenger=label, metric=metric, alpha=alpha)
        verdict = ("within noise" if not result["real"] else "higher" if result["gap"] > 0 else "lower")
        rows.append({"gap": result["gap"], "p_value": result["p_value"],
                     "verdict": "unknown" if result["real"] is None else verdict, "sentence": result["verdict"]})
    return table.join(pd.DataFrame(rows, index=order))


def verdict_sentence(table, *, what: str = "validation accuracy") -> str:
    """Says in words which configurations of `against`'s table differ from the baseline beyond the spread.

    Args:
        table: `against`'s table.
        what: how to name the metric.

    Returns:
        Two or three sentences, built from the table's numbers.
    """
    baseline = table.index[table["verdict"] == "baseline"][0]
    column = [c for c in table.columns if c.endswith(" mean") and not c.startswith("train")][0]

    def listed(verdict):
        rows = table[table["verdict"] == verdict]
        return ", ".join(f"{label} ({100 * row['gap']:+.1f} points, p = {row['p_value']:.2g})"
                         for label, row in rows.iterrows())

    runs = int(table["runs"].min())
    text = (f"Baseline {baseline}: {what} {100 * table.loc[baseline, column]:.1f} % "
            f"(mean of {runs} seeds or more).")
    for verdict, words in (("higher", "Higher beyond the seed-to-seed spread (Welch's t-test, p < 0.05)"),
                           ("lower", "Lower beyond the spread"),
                           ("within noise", "Not distinguishable from the baseline at this number of seeds")):
        if (table["verdict"] == verdict).any():
            text += f" {words}: {listed(verdict)}."
    return text


def _augmented_features(parts, layer, x, batch_size: int):
    import keras

    from labkit.models import features

    if layer is None:
        return None
    moved = [keras.ops.convert_to_numpy(layer(x[i:i + batch_size], training=True)) for i in range(0, len(x), batch_size)]
    return features.forward(parts.prefix, np.concatenate(moved).clip(0.0, 1.0), batch_size=batch_size)


def augmented(build, dataset, *, augmentations, seeds=(0, 1, 2), epochs: int = 10, learning_rate: float = 1e-3,
              batch_size: int = 32, eagerly: bool = False, **options):
    """Trains a model with a frozen base once per augmentation and seed, the augmentation drawn anew each epoch.

    The model is `augmentation → frozen prefix → head`. While the prefix is frozen (BatchNorm in
    inference mode) it trains exactly as `head(prefix(augmentation(x)))`: so each epoch the training
    images are augmented by the Keras layers (`labkit.data.augment`, `training=True`), sent once through
    the prefix in inference mode, and the head trains one epoch on what comes out. Validation and test
    images are never augmented: their features are computed once for every run. The cost of a run is
    one forward pass of the training images per epoch, with no graph of the big base traced per run;
    all runs train one compiled head, each run's freshly built weights copied into it.

    Args:
        build: `build(seed)` returns the model without augmentation (such as `resnets.cut_classifier`),
            its base frozen; `labkit.models.features.split` must find its frozen prefix.
        dataset: a `labkit.data.Dataset`.
        augmentations: names (or lists of names) of `labkit.data.augment.AUGMENTATIONS`.
        seeds: one run per seed (head initialisation, augmentation draws, batch order).
        epochs: epochs of each run.
        learning_rate: Adam's learning rate.
        batch_size: examples per step.
        eagerly: run the head's fits eagerly.
        **options: other arguments of `labkit.data.augment.augmentation` (`fraction`, `degrees`, `fill_mode`).

    Returns:
        `repeat`'s table, `configuration` being the augmentation's name; `train_accuracy` is the last
        epoch's, on the augmented images.
    """
    import copy
    import time

    import keras
    import pandas as pd

    from labkit import compiled, train
    from labkit.data import augment
    from labkit.models import features

    keras.utils.set_random_seed(int(seeds[0]))
    parts = features.split(build(seeds[0]))
    fixed = features.cached_dataset(parts, dataset)
    rows, reused = [], None
    for name in augmentations:
        label = name if isinstance(name, str) else "+".join(name)
        for seed in [check_seed("seeds", s) for s in seeds]:
            started = time.perf_counter()
            keras.utils.set_random_seed(seed)
            head = features.split(build(seed)).head
            if reused is not None and compiled.same_layout(head, reused):
                # every run trains one compiled head, this seed's fresh weights copied in: traced once
                compiled.copy_state(head, reused)
                head = compiled.reset_optimizer(reused)
            else:
                train.compile_classifier(head, optimizer_name="adam", learning_rate=learning_rate)
                head.run_eagerly = eagerly
                reused = head
            layer = augment.augmentation(name, seed=seed, **options)
            for _ in range(check_positive("epochs", epochs)):
                moved = _augmented_features(parts, layer, dataset.x_train, 128)
                epoch = copy.copy(fixed)
                epoch.splits = {**fixed.splits, "train": (moved if moved is not None else fixed.x_train, fixed.y_train)}
                fit = train.fit(head, epoch, epochs=1, batch_size=batch_size)
            scores = {split: train.evaluate(head, fixed, split=split)["accuracy"] for split in ("val", "test")}
            rows.append({"configuration": label, "seed": seed, "train_accuracy": float(fit.history["accuracy"][-1]),
                         "val_accuracy": scores["val"], "test_accuracy": scores["test"],
                         "seconds": time.perf_counter() - started, "trained_on": f"{parts.cut}, augmented each epoch"})
    return pd.DataFrame(rows)


def by_weights(name: str, dataset, *, weights=("lab", None), seeds=(0, 1, 2), epochs: int = 10,
               end_to_end_epochs: int | None = None, learning_rate: float = 1e-3, batch_size: int = 32,
               eagerly: bool = False, reuse=None):
    """Does pretraining help? The seed's classifier trained once per seed and per kind of weights.

    Each kind of weights trains the head on the frozen base (its features cached once). With
    `end_to_end_epochs`, the same classifier is also trained from random init with every layer
    learning: the strongest use of random init, which a frozen random base (the weakest) is not.

    Args:
        name: the backbone.
        dataset: a `labkit.data.Dataset` (its image size sets the input).
        weights: the kinds of weights to compare (`"imagenet"`, `"lab"`, `None`).
        seeds: one run per seed (initial weights, dropout and batch order).
        epochs: epochs of each run on a frozen base.
        end_to_end_epochs: epochs of each run from random init, end to end; `None`: no such run.
        learning_rate: Adam's learning rate.
        batch_size: examples per step.
        eagerly: run the fits eagerly.
        reuse: `{kind: (base, phase)}` of earlier runs on the same data: their bases, and the features
            their frozen-base phase cached, instead of building and computing them again.

    Returns:
        `repeat`'s table; `configuration` is `"lab weights"`, `"random init"`, `"imagenet weights"`
        (frozen base + head) or `"random init, end to end"`.
    """
    from labkit.models import transfer

    # Every argument is checked before anything trains: a bad end_to_end_epochs must not fail after the frozen runs.
    if not weights:
        raise ParameterError("weights=() must name at least one kind of weights: 'imagenet', 'lab' or None")
    check_runs("weights", dict.fromkeys(weights), seeds, epochs, "('lab', None)")
    if end_to_end_epochs is not None:
        check_positive("end_to_end_epochs", end_to_end_epochs)
    reuse = reuse or {}
    cache = {_key(phase.parts.prefix): phase.features for _, phase in reuse.values() if phase.parts is not None}
    bases = {kind: reuse[kind][0] if kind in reuse else transfer.backbone(name, input_shape=dataset.input_shape,
                                                                           weights=kind) for kind in weights}

    def frozen(base):
        def build(seed):
            model = transfer.classifier(base, dataset.num_classes, augment=False, seed=seed)
            transfer.freeze(model, verbose=False)
            return model
        return build

    def scratch(seed):
        base = transfer.backbone(name, input_shape=dataset.input_shape, weights=None, bn_momentum=0.9)
        return transfer.classifier(base, dataset.num_classes, augment=False, seed=seed)

    options = dict(seeds=seeds, learning_rate=learning_rate, batch_size=batch_size, eagerly=eagerly)
    runs = repeat({f"{kind or 'random'} {'init' if kind is None else 'weights'}": frozen(bases[kind]) for kind in weights},
                  dataset, epochs=epochs, cache=cache, **options)
    if end_to_end_epochs is None:
        return runs
    import pandas as pd

    whole = repeat({"random init, end to end": scratch}, dataset, epochs=end_to_end_epochs, fast=False, **options)
    return pd.concat([runs, whole], ignore_index=True)
