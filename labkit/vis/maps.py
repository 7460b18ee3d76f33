"""Feature maps: what each channel of a layer makes of one image.

`feature_maps` runs one image through a model and keeps the outputs of the layers asked for (one
forward pass, `labkit.models.features.outputs`); `map_grid` draws the channels of one layer,
`depth_grid` a few channels of several layers, one row per layer, to show the maps get coarser and
more abstract with depth. Each channel is scaled to its own range: the grids show where a channel
responds, not how strongly compared with its neighbours.
"""

from __future__ import annotations

import numpy as np

from labkit.errors import ParameterError, check_choice, check_positive


def feature_maps(model, layers, image) -> dict[str, np.ndarray]:
    """The outputs of some layers of a model for one image.

    Args:
        model: a functional model (such as a base from `transfer.backbone`; give it the image as it
            expects it, preprocessed by `transfer.Preprocess` for a `keras.applications` base).
        layers: a layer name or a list of them; each must have a 4-D (image-shaped) output.
        image: one H×W×C image (or a batch of one).

    Returns:
        `{layer: h×w×channels array}`, in the order given.
    """
    from labkit.models.features import outputs

    names = [layers] if isinstance(layers, str) else list(layers)
    known = [layer.name for layer in model.layers]
    for name in names:
        check_choice("layers", name, known)
        if len(model.get_layer(name).output.shape) != 4:
            raise ParameterError(f"layers={name!r}: its output is not image-shaped (N×h×w×channels)")
    batch = np.asarray(image, dtype=np.float32)
    batch = batch[None] if batch.ndim == 3 else batch
    if len(batch) != 1:
        raise ParameterError(f"image has shape {batch.shape}: give one image")
    return {name: values[0] for name, values in outputs(model, names, batch).items()}


def strongest(maps: np.ndarray, count: int) -> np.ndarray:
    """The channels with the largest mean activation, strongest first.

    Args:
        maps: h×w×channels.
        count: how many.

    Returns:
        Their indices.
    """
    check_positive("count", count)
    return np.argsort(-maps.mean(axis=(0, 1)), kind="stable")[:count]


def _scaled(channel: np.ndarray) -> np.ndarray:
    low, high = float(channel.min()), float(channel.max())
    return (channel - low) / (high - low) if high > low else np.zeros_like(channel)


def _tiled(maps: np.ndarray, channels, columns: int) -> np.ndarray:
    """The chosen channels, each scaled to [0, 1], tiled in one image (`skimage.util.montage`), NaN between."""
    from skimage.util import montage

    stack = np.stack([_scaled(maps[..., int(c)]) for c in channels])
    rows = -(-len(stack) // columns)
    return montage(stack, grid_shape=(rows, columns), padding_width=max(1, maps.shape[0] // 16), fill=np.nan)


def _label_tiles(ax, maps: np.ndarray, channels, columns: int) -> None:
    pad = max(1, maps.shape[0] // 16)
    for index, channel in enumerate(channels):
        row, column = divmod(index, columns)
        ax.text(pad + column * (maps.shape[1] + pad), pad + row * (maps.shape[0] + pad), str(int(channel)),
                fontsize=6, color="white", va="top", ha="left")


def map_grid(maps: np.ndarray, *, channels=None, columns: int = 8, cmap: str = "viridis", title: str | None = None):
    """Draws the channels of one layer's output for one image, each scaled to its own range.

    The channels are tiled into one image (one Axes, so that a grid of hundreds of maps draws fast),
    each labelled with its index in its top-left corner.

    Args:
        maps: h×w×channels, as `feature_maps` returns for one layer.
        channels: which channels, in order; `None` draws all of them.
        columns: channels per row.
        cmap: the matplotlib colour map.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    check_positive("columns", columns)
    channels = list(range(maps.shape[-1])) if channels is None else [int(c) for c in channels]
    columns = min(columns, len(channels))
    tiled = _tiled(maps, channels, columns)
    width = 1.25 * columns
    fig, ax = plt.subplots(figsize=(width, width * tiled.shape[0] / tiled.shape[1] + 0.6), layout="constrained")
    ax.imshow(tiled, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    _label_tiles(ax, maps, channels, columns)
    ax.set_axis_off()
    h, w, c = maps.shape
    ax.set_title(title or f"{len(channels)} of {c} channels, {h}×{w} (each scaled to its own range)")
    return fig


def depth_grid(layer_maps: dict, *, per_layer: int = 8, image=None, cmap: str = "viridis", title: str | None = None):
    """Draws the most active channels of several layers, one row per layer, the image first.

    Args:
        layer_maps: `{layer: h×w×channels}`, as `feature_maps` returns, shallow to deep.
        per_layer: channels per row (the `strongest` ones).
        image: the image, drawn at the start of every row; `None` leaves it out.
        cmap: the matplotlib colour map.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    check_positive("per_layer", per_layer)
    lead = 1 if image is not None else 0
    fig, axes = plt.subplots(len(layer_maps), 1 + lead, figsize=(1.3 * (per_layer + lead) + 1.6,
                                                                 1.35 * len(layer_maps) + 0.6),
                             squeeze=False, layout="constrained", width_ratios=[1] * lead + [per_layer])
    for row, (name, maps) in zip(axes, layer_maps.items()):
        chosen = strongest(maps, per_layer)
        if image is not None:
            row[0].imshow(np.clip(image, 0, 1))
        row[lead].imshow(_tiled(maps, chosen, len(chosen)), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        _label_tiles(row[lead], maps, chosen, len(chosen))
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_frame_on(False)
        h, w, c = maps.shape
        row[0].set_ylabel(f"{name}\n{h}×{w}×{c}", rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title or f"the {per_layer} most active channels of each layer, shallow to deep")
    return fig


def layer_table(layer_maps: dict):
    """Numbers that describe each layer's maps for one image: size, how sparse, how alike its channels are.

    Args:
        layer_maps: `{layer: h×w×channels}`, as `feature_maps` returns.

    Returns:
        A pandas DataFrame, one row per layer: `height`, `width`, `channels`, `zeros` (the fraction of
        values that are 0, as a ReLU leaves them) and `alike` (the mean absolute correlation between
        two channels over the positions; channels constant over the image left out; 1: all channels
        are copies of one map, 0: unrelated).
    """
    import pandas as pd

    rows = {}
    for name, values in layer_maps.items():
        h, w, c = values.shape
        flat = values.reshape(h * w, c).astype(np.float64)
        varying = flat[:, flat.std(axis=0) > 0]
        if varying.shape[1] > 1 and h * w > 1:
            r = np.corrcoef(varying, rowvar=False)
            alike = float((np.abs(r).sum() - len(r)) / (len(r) * (len(r) - 1)))
        else:
            alike = float("nan")
        rows[name] = {"height": h, "width": w, "channels": c, "zeros": float(np.mean(values == 0)), "alike": alike}
    return pd.DataFrame(rows).T.astype({"height": int, "width": int, "channels": int})


def alike_sentence(first: dict, second: dict, labels: tuple[str, str]) -> str:
    """Says, layer by layer, which of two sets of weights gives the more alike channels (`layer_table`).

    Args:
        first: `{layer: alike}` of the first set of weights.
        second: `{layer: alike}` of the second.
        labels: the names of the two sets, such as `("pretrained", "random")`.

    Returns:
        One sentence.
    """
    more = [name for name in first if first[name] > second[name]]
    less = [name for name in first if first[name] <= second[name]]
    subject = f"the channels of the {labels[0]} weights are"
    parts = []
    if less:
        parts.append(f"{subject} less alike than the {labels[1]} ones at " + ", ".join(less))
    if more:
        parts.append(("more alike at " if less else f"{subject} more alike than the {labels[1]} ones at ")
                     + ", ".join(more))
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + " (mean absolute correlation between channels)."
