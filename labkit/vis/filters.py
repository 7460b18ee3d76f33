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


def kernel(model, layer: str | None = None) -> np.ndarray:
    """Finds the kernel of one convolution of a model, by name (nested models searched too).

    Args:
        model: a Keras model.
        layer: the convolution's name; `None` takes the first convolution (`first_kernel`).

    Returns:
        The kernel, kh×kw×input channels×filters.
    """
    import keras

    from labkit.errors import ParameterError

    if layer is None:
        return first_kernel(model)
    for inner in model.layers:
        if inner.name == layer:
            weights = getattr(inner, "kernel", None)
            if weights is None or len(weights.shape) != 4:
                raise ParameterError(f"layer={layer!r} is not a 2-D convolution")
            return keras.ops.convert_to_numpy(weights)
        if isinstance(inner, keras.Model):
            try:
                return kernel(inner, layer)
            except ParameterError:
                continue
    raise ParameterError(f"layer={layer!r}: no layer of that name in model={model.name!r}")


def kernel_grid(weights: np.ndarray, *, columns: int = 16, title: str | None = None):
    """Draws every filter of one convolution, tiled in one image (in grey: their mean over the input channels,
    unless there are 3).

    Args:
        weights: a kernel, kh×kw×input channels×filters (`kernel`, `first_kernel`).
        columns: filters per row.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    from skimage.util import montage

    height, width, channels, count = weights.shape
    columns = min(columns, count)
    patches = [weights[..., index] if channels == 3 else weights[..., index].mean(axis=-1, keepdims=True)
               for index in range(count)]
    scaled = np.stack([(p - p.min()) / max(float(np.ptp(p)), 1e-12) for p in patches])
    tiled = montage(scaled, grid_shape=(-(-count // columns), columns), padding_width=1, fill=(1.0,) * scaled.shape[-1],
                    channel_axis=-1)
    fig, ax = plt.subplots(figsize=(0.7 * columns, 0.7 * columns * tiled.shape[0] / tiled.shape[1] + 0.6),
                           layout="constrained")
    ax.imshow(tiled if channels == 3 else tiled[..., 0], cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    colour = "RGB" if channels == 3 else f"mean of {channels} input channels"
    ax.set_title(title or f"{count} filters {height}×{width} ({colour}, each scaled to its own range)")
    return fig


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
