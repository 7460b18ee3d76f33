"""First-layer filters: what a convolution looks for, drawn as small colour images."""

from __future__ import annotations

import numpy as np


def first_kernel(model) -> np.ndarray:
    """Finds the kernel of the first convolution of a model (nested models searched in order).

    Args:
        model: a Keras model.

    Returns:
        The kernel, kh×kw×channels×filters.
    """
    for layer in model.layers:
        if hasattr(layer, "layers"):
            return first_kernel(layer)
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and len(kernel.shape) == 4:
            import keras

            return keras.ops.convert_to_numpy(kernel)
    raise ValueError(f"model={model.name!r} has no convolution")


def filter_grid(kernels: dict, *, count: int = 16, title: str | None = None):
    """Draws the same first-layer filters of several models, one row per model.

    Args:
        kernels: `{label: kernel}`, kernels as `first_kernel` returns them (3 input channels).
        count: filters per row.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(kernels), count, figsize=(0.75 * count + 1.5, 0.9 * len(kernels) + 0.6),
                             squeeze=False, layout="constrained")
    for row, (label, kernel) in zip(axes, kernels.items()):
        for index, ax in enumerate(row):
            patch = kernel[..., index]
            ax.imshow((patch - patch.min()) / max(float(np.ptp(patch)), 1e-12), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title or "First-layer filters (each scaled to its own range)")
    return fig


def change(before: np.ndarray, after: np.ndarray) -> float:
    """Measures how far training moved a kernel.

    Args:
        before: the kernel at initialisation.
        after: the kernel after training.

    Returns:
        ‖after − before‖ / ‖before‖.
    """
    return float(np.linalg.norm(after - before) / max(np.linalg.norm(before), 1e-12))
