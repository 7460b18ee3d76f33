"""Figures the notebooks share: titled, labelled, returned so a notebook can save or tweak them."""

from __future__ import annotations

import numpy as np


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

    from labkit.errors import check_choice, check_positive

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
