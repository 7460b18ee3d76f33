"""Figures the notebooks share: titled, labelled, returned so a notebook can save or tweak them.

seaborn draws what it is made for (heat maps, bars with error bars over seeds); matplotlib the rest.
"""

from __future__ import annotations

import numpy as np

from labkit.errors import check_choice, check_positive


def class_distribution(dataset, *, ax=None, title: str | None = None):
    """Draws the number of examples of each class in each split, as grouped bars.

    Args:
        dataset: a `labkit.data.Dataset`.
        ax: the matplotlib Axes to draw on; `None` makes a new figure.
        title: the title; `None` names the dataset.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    counts = dataset.counts()
    if ax is None:
        width = max(6.0, 0.55 * dataset.num_classes + 2)
        _, ax = plt.subplots(figsize=(width, 3.6), layout="constrained")
    counts.plot.bar(ax=ax, width=0.8, rot=45 if dataset.num_classes > 5 else 0)
    ax.set_title(title or f"{dataset.name}: examples per class and split")
    ax.set_xlabel("class")
    ax.set_ylabel("examples")
    ax.legend(title="split", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax.figure


def sample_grid(dataset, *, per_class: int = 6, split: str = "train", seed: int = 0, title: str | None = None):
    """Draws `per_class` random images of every class, one row per class.

    Args:
        dataset: a `labkit.data.Dataset`.
        per_class: images per row.
        split: `"train"`, `"val"` or `"test"`.
        seed: which images are drawn.
        title: the title; `None` names the dataset and split.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    check_choice("split", split, dataset.splits)
    check_positive("per_class", per_class)
    x, y = dataset.splits[split]
    rng = np.random.default_rng(seed)
    rows = dataset.num_classes
    fig, axes = plt.subplots(
        rows, per_class, figsize=(1.1 * per_class + 1.2, 1.1 * rows + 0.5), squeeze=False, layout="constrained"
    )
    for label, row in enumerate(axes):
        members = np.flatnonzero(y == label)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False) if len(members) else []
        for column, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if column < len(chosen):
                image = x[chosen[column]]
                ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
        row[0].set_ylabel(dataset.class_names[label], rotation=0, ha="right", va="center")
    fig.suptitle(title or f"{dataset.name}: {per_class} {split} images per class")
    return fig


def learning_curves(histories, *, metrics=("loss", "accuracy"), title: str | None = None):
    """Draws training and validation curves of one or more runs, one panel per metric.

    Args:
        histories: `{run name: history}` where a history maps metric names (`"loss"`,
            `"val_loss"`, ...) to per-epoch values, like `keras.callbacks.History.history`
            or `labkit.train.Fit.history`.
        metrics: the metrics to draw; `val_<metric>` is drawn dashed when present.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.6), squeeze=False, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics):
        for index, (name, history) in enumerate(histories.items()):
            colour = colours[index % len(colours)]
            for key, style, label in ((metric, "-", "train"), (f"val_{metric}", "--", "validation")):
                values = history.get(key)
                if values:
                    epochs = range(1, len(values) + 1)
                    ax.plot(epochs, values, style, color=colour, marker="o", markersize=3, label=f"{name} ({label})")
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(y_true, y_pred, class_names, *, ax=None, normalize: str | None = None, title: str | None = None):
    """Draws the confusion matrix of integer labels as an annotated heat map (seaborn).

    Args:
        y_true: the true labels.
        y_pred: the predicted labels.
        class_names: names of the classes, in label order.
        ax: the matplotlib Axes to draw on; `None` makes a new figure.
        normalize: `None` (counts), `"true"` (rows sum to 1), `"pred"` or `"all"`.
        title: the title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from sklearn.metrics import confusion_matrix as count_pairs

    check_choice("normalize", normalize, (None, "true", "pred", "all"))
    classes = len(class_names)
    matrix = count_pairs(y_true, y_pred, labels=list(range(classes)), normalize=normalize)
    if ax is None:
        side = max(3.5, 0.6 * classes + 1.5)
        _, ax = plt.subplots(figsize=(side, side), layout="constrained")
    sns.heatmap(
        matrix,
        annot=True,
        fmt=".2f" if normalize else "d",
        cmap="Blues",
        cbar=False,
        square=True,
        linewidths=0.5,
        xticklabels=class_names,
        yticklabels=class_names,
        annot_kws={"fontsize": 10 if classes <= 10 else 8},
        ax=ax,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.tick_params(axis="x", labelrotation=45 if classes > 5 else 0)
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_title(title or "confusion matrix")
    return ax.figure


def sweep_bars(table, by: str, *, metric: str = "val_accuracy", reference: dict | None = None,
               reference_label: str = "seed report", title: str | None = None, examples: int | None = None,
               seed_sd: float | None = None):
    """Draws one bar per value of `by` (a sweep's hyperparameter), highest first, with an optional
    second bar per value from `reference` (such as the seed report's numbers).

    With `examples`, each bar of this run carries ± twice its binomial standard error, and its colour
    says whether it is tied with the best (`labkit.stats.noise_floor`).

    Args:
        table: a sweep's DataFrame (`labkit.sweeps.run`).
        by: the column that names each bar.
        metric: the column to draw.
        reference: `{value of by: number}` drawn beside this run's bars.
        reference_label: the legend entry of `reference`.
        title: the title.
        examples: images of the split `metric` was measured on; `None` draws no noise.
        seed_sd: the seed-to-seed standard deviation, where measured (widens the ties).

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from labkit import stats

    ordered = table.sort_values(metric, ascending=False, kind="stable")
    names = ordered[by].astype(str).to_list()
    values = ordered[metric].to_numpy(dtype=float)
    positions = np.arange(len(names))
    width = 0.4 if reference is not None else 0.7
    _, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(names) + 2.5), 3.8), layout="constrained")
    colours = ["tab:blue"] * len(names)
    errors = None
    if examples is not None:
        marked = stats.noise_floor(ordered, by, metric=metric, examples=examples, seed_sd=seed_sd)
        errors = 2 * marked["standard error"].to_numpy()
        palette = {"best": "tab:blue", "tied with the best": "tab:cyan", "below the best": "tab:gray"}
        colours = [palette[v] for v in marked["verdict"]]
    offset = -width / 2 if reference is not None else 0.0
    ax.bar(positions + offset, values, width, yerr=errors, capsize=3, color=colours, label="this run")
    if reference is not None:
        ax.bar(positions + width / 2, [reference.get(n, np.nan) for n in names], width, color="tab:orange",
               alpha=0.7, label=reference_label)
    if examples is not None:
        for verdict, colour in (("tied with the best", "tab:cyan"), ("below the best", "tab:gray")):
            ax.bar([np.nan], [np.nan], color=colour, label=f"this run: {verdict}")
    ax.set_xticks(positions, names, rotation=30 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
    ax.set_ylim(0, 1.0)
    noise = "; error bars: ± 2 standard errors of the split" if examples is not None else ""
    ax.set_xlabel(by + noise)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title or f"{metric.replace('_', ' ')} by {by}", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    return ax.figure


def marginal_means(table, columns, *, metric: str = "val_accuracy", title: str | None = None):
    """Draws, for each hyperparameter in `columns`, the mean of `metric` over the trials that took
    each of its values (bars), with the lowest and highest trial as an error bar. A panel whose bars
    differ a lot is a hyperparameter that matters.

    Args:
        table: a sweep's DataFrame.
        columns: the hyperparameters, one panel each.
        metric: the column to average.
        title: the title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    columns = list(columns)
    fig, axes = plt.subplots(1, len(columns), figsize=(min(3.0 * len(columns) + 1, 10.0), 3.6), sharey=True,
                             squeeze=False, layout="constrained")
    # Zoom on the range the trials span (close accuracies would otherwise look identical), never
    # narrower than 5 points, so that a tiny gap is not drawn as a large one.
    low, high = float(table[metric].min()), float(table[metric].max())
    margin = max(0.25 * (high - low), (0.05 - (high - low)) / 2, 0.005)
    for ax, column in zip(axes[0], columns):
        grouped = table.groupby(column, sort=True)[metric]
        means, lows, highs = grouped.mean(), grouped.min(), grouped.max()
        positions = range(len(means))
        ax.bar(positions, means.to_numpy(), yerr=[means - lows, highs - means], capsize=4, color="tab:blue", alpha=0.8)
        ax.set_xticks(list(positions), [str(v) for v in means.index])
        ax.set_title(column)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylim(max(0.0, low - margin), min(1.0, high + margin) if high <= 1.0 else high + margin)
    axes[0][0].set_ylabel(f"mean {metric.replace('_', ' ')} (axis zoomed)")
    fig.suptitle(title or f"mean {metric.replace('_', ' ')} by the value of each hyperparameter")
    return fig


def spread_bars(runs, *, metric: str = "test_accuracy", by: str = "configuration", title: str | None = None):
    """Draws repeated runs: one bar per configuration at the mean over seeds, with ± one standard
    deviation as the error bar and every seed's run as a dot (seaborn).

    Args:
        runs: a table with one row per run, such as `labkit.stats.repeat`'s.
        metric: the column to draw.
        by: the column that names each bar.
        title: the title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    check_choice("metric", metric, list(runs.columns))
    check_choice("by", by, list(runs.columns))
    _, ax = plt.subplots(figsize=(max(4.5, 1.6 * runs[by].nunique() + 2), 3.8), layout="constrained")
    sns.barplot(data=runs, x=by, y=metric, errorbar="sd", capsize=0.2, color="tab:blue", alpha=0.6, ax=ax)
    sns.stripplot(data=runs, x=by, y=metric, color="black", size=5, jitter=0.15, ax=ax)
    low, high = float(runs[metric].min()), float(runs[metric].max())
    margin = max(0.5 * (high - low), 0.01)
    ax.set_ylim(max(0.0, low - margin), min(1.0, high + margin) if high <= 1.0 else high + margin)
    ax.set_xlabel(by)
    ax.set_ylabel(f"{metric.replace('_', ' ')} (axis zoomed)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or f"{metric.replace('_', ' ')} over seeds: mean ± sd, one dot per seed")
    return ax.figure
