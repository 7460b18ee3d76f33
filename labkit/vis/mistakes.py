"""The examples a classifier got wrong with the most confidence: where to look first for what it learned."""

from __future__ import annotations

import numpy as np

from labkit.errors import check_positive


def mistakes_grid(images, y_true, probabilities, class_names, *, count: int = 12, columns: int = 6,
                  title: str | None = None):
    """Draws the misclassified examples on which the model was surest, the surest first.

    Args:
        images: the N images (values in [0, 1]).
        y_true: their true labels.
        probabilities: the model's N×classes predicted probabilities.
        class_names: names of the classes, in label order.
        count: at most this many examples (`labkit.evaluation.confident_mistakes`).
        columns: images per row.
        title: the figure's title.

    Returns:
        The matplotlib Figure (one line of text instead of images when nothing is wrong).
    """
    import matplotlib.pyplot as plt

    from labkit.evaluation import confident_mistakes

    check_positive("columns", columns)
    chosen = confident_mistakes(y_true, probabilities, count=count)
    rows = max(1, -(-len(chosen) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.2 * rows + 0.5), squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    if not len(chosen):
        axes[0][0].text(0, 0.5, "no misclassified example", fontsize=11)
    for ax, index in zip(axes.flat, chosen):
        image = np.asarray(images[index])
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
        predicted = int(np.argmax(probabilities[index]))
        ax.set_title(f"said {class_names[predicted]} {probabilities[index][predicted]:.2f}\n"
                     f"was {class_names[int(y_true[index])]}", fontsize=8)
    wrong = int((np.argmax(probabilities, axis=1) != np.asarray(y_true)).sum())
    fig.suptitle(title or f"the {len(chosen)} most confident of {wrong} mistakes (predicted class and probability)")
    return fig
