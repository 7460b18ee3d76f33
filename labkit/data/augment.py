"""Seed report 000's data augmentations, one at a time or all together, as Keras preprocessing layers.

The seed used Keras' old `ImageDataGenerator` (rotation_range=20, width_shift_range=0.2,
height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, horizontal_flip, vertical_flip). Here each
becomes a layer that runs inside the model, in training only: `RandomRotation`, `RandomTranslation`,
`RandomShear` (in Keras since 3.8), `RandomZoom`, `RandomFlip`. Empty regions are filled with the
nearest pixel, as `ImageDataGenerator` did by default. One difference is kept on purpose:
`ImageDataGenerator`'s `shear_range` is an angle in degrees, so the seed's 0.2 sheared by at most
0.2°, next to nothing; `RandomShear(x_factor=0.2)` shears by up to 20 % of the image (about 11°),
which is what "shear 20 %" says.
"""

from __future__ import annotations

from labkit.errors import ParameterError, check_choice, check_number, check_positive, check_seed

AUGMENTATIONS = ("none", "rotation", "width_shift", "height_shift", "shear", "zoom", "horizontal_flip",
                 "vertical_flip", "all")
DESCRIPTIONS = {
    "none": "no augmentation",
    "rotation": "rotation by up to ±20°",
    "width_shift": "horizontal shift by up to ±20 % of the width",
    "height_shift": "vertical shift by up to ±20 % of the height",
    "shear": "horizontal shear by up to ±20 % of the image (seed: ±0.2°)",
    "zoom": "zoom in or out by up to 20 %",
    "horizontal_flip": "mirror left-right, half the time",
    "vertical_flip": "mirror top-bottom, half the time",
    "all": "all seven together, in this order",
}
FILL_MODES = ("nearest", "reflect", "constant", "wrap")
# Seed report 001's augmentation of its ResNet34 from scratch.
SEED_001 = ("width_shift", "height_shift", "zoom", "horizontal_flip")


def _layers(name: str, *, fraction: float, degrees: float, fill_mode: str, seed):
    import keras

    layers = keras.layers
    every = {
        "rotation": lambda: layers.RandomRotation(degrees / 360, fill_mode=fill_mode, seed=seed, name="rotation"),
        "width_shift": lambda: layers.RandomTranslation(0.0, fraction, fill_mode=fill_mode, seed=seed, name="width_shift"),
        "height_shift": lambda: layers.RandomTranslation(fraction, 0.0, fill_mode=fill_mode, seed=seed, name="height_shift"),
        "shear": lambda: layers.RandomShear(x_factor=fraction, fill_mode=fill_mode, seed=seed, name="shear"),
        "zoom": lambda: layers.RandomZoom(fraction, fill_mode=fill_mode, seed=seed, name="zoom"),
        "horizontal_flip": lambda: layers.RandomFlip("horizontal", seed=seed, name="horizontal_flip"),
        "vertical_flip": lambda: layers.RandomFlip("vertical", seed=seed, name="vertical_flip"),
    }
    names = [n for n in AUGMENTATIONS if n in every] if name == "all" else [n for n in name if n in every]
    return [every[n]() for n in names]


def augmentation(name: str = "all", *, fraction: float = 0.2, degrees: float = 20.0, fill_mode: str = "nearest",
                 seed: int | None = None):
    """Builds one of the seed's augmentations as Keras preprocessing layers (active in training only).

    Args:
        name: one of `AUGMENTATIONS` (`"none"`, one augmentation, or `"all"` of them in order), or a
            list of them, such as seed report 001's `SEED_001`.
        fraction: the shifts', shear's and zoom's largest amount, as a fraction of the image.
        degrees: the largest rotation, in degrees.
        fill_mode: how empty regions are filled (one of `FILL_MODES`).
        seed: seed of the random layers.

    Returns:
        A `keras.Sequential` named `augment_<name>`, or `None` for `"none"`.
    """
    import keras

    names = (name,) if isinstance(name, str) else tuple(name)
    for each in names:
        check_choice("name", each, AUGMENTATIONS)
    check_number("fraction", fraction, high=1.0)
    check_number("degrees", degrees, high=180.0)
    check_choice("fill_mode", fill_mode, FILL_MODES)
    if seed is not None:
        check_seed("seed", seed)
    layers = _layers("all" if "all" in names else names, fraction=fraction, degrees=degrees, fill_mode=fill_mode,
                     seed=seed)
    return keras.Sequential(layers, name=f"augment_{'_'.join(names)}") if layers else None


def apply(images, name: str, *, copies: int = 1, seed: int = 0, **options):
    """Applies an augmentation to images, as a training step would see them.

    Args:
        images: float array N×H×W×C in [0, 1].
        name: one of `AUGMENTATIONS`.
        copies: how many augmented copies of each image, one after the other.
        seed: seed of the random layers (the same seed gives the same copies).
        **options: other arguments of `augmentation` (`fraction`, `degrees`, `fill_mode`).

    Returns:
        A float array of `copies` × N images.
    """
    import keras
    import numpy as np

    check_positive("copies", copies)
    if getattr(images, "ndim", 0) != 4:
        raise ParameterError(f"images of shape {getattr(images, 'shape', None)} must be a batch N×H×W×C")
    layer = augmentation(name, seed=seed, **options)
    out = [images if layer is None else keras.ops.convert_to_numpy(layer(images, training=True))
           for _ in range(copies)]
    return np.clip(np.concatenate(out), 0.0, 1.0)


def preview(images, names=AUGMENTATIONS, *, seed: int = 0, title: str | None = None, **options):
    """Draws what each augmentation does to the same images: one row per augmentation.

    Args:
        images: a few float images N×H×W×C in [0, 1] (4 to 8 fit a page).
        names: the augmentations, one row each (the first column of `"none"` is the original).
        seed: seed of the random layers.
        title: the figure's title.
        **options: other arguments of `augmentation`.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    names = [check_choice("names", n, AUGMENTATIONS) for n in names]
    fig, axes = plt.subplots(len(names), len(images), figsize=(1.3 * len(images), 1.3 * len(names)),
                             squeeze=False)
    for row, name in enumerate(names):
        for ax, image in zip(axes[row], apply(images, name, seed=seed, **options)):
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(name.replace("_", " "), rotation=0, ha="right", va="center", fontsize="small")
    fig.suptitle(title or "The same images under each augmentation (one random draw each)")
    fig.tight_layout()
    return fig
