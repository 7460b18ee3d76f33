"""Offline datasets cut from images that labkit's own dependencies ship.

No file is downloaded and nothing binary is committed: the pictures come from
scikit-learn, scikit-image and matplotlib, so the same arrays come out on every machine.

- `digits`: scikit-learn's 1,797 handwritten digits (8×8, 10 classes), upsampled to 28×28
  to stand in for Fashion-MNIST.
- `photos`: crops of 8 colour photographs, the class being the photograph, to stand in for
  the flowers photos. Each photograph is cut into three vertical strips (60 % train, 20 %
  validation, 20 % test) and a split's crops come only from its own strip, so no test pixel
  was ever seen in training.
- `faces`: scikit-image's `lfw_subset`: 100 faces and 100 non-faces, 25×25 grayscale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labkit.data.pipeline import resize
from labkit.errors import bad_choice, check_image_size, check_positive

Arrays = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class EmbeddedSpec:
    """What one embedded dataset is, for descriptions and the book."""

    name: str
    title: str
    source: str
    licence: str
    stands_in_for: str | None
    default_size: int | None  # None: the profile's image size


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from skimage import data

        return getattr(data, name)()

    return load


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from pathlib import Path

        import sklearn.datasets
        from PIL import Image

        with Image.open(Path(sklearn.datasets.__file__).parent / "images" / filename) as image:
            return np.asarray(image.convert("RGB"))

    return load


def _matplotlib(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data(filename) as handle:
            return matplotlib.image.imread(handle, format=filename.rsplit(".", 1)[-1])

    return load


# The colour photographs bundled by the dependencies (all offline, no pooch download).
PHOTOS: dict[str, tuple[Callable[[], np.ndarray], str]] = {
    "astronaut": (_skimage("astronaut"), "scikit-image: NASA portrait of Eileen Collins"),
    "cat": (_skimage("chelsea"), "scikit-image: Chelsea the cat"),
    "coffee": (_skimage("coffee"), "scikit-image: a cup of coffee"),
    "rocket": (_skimage("rocket"), "scikit-image: a SpaceX rocket launch"),
    "galaxies": (_skimage("hubble_deep_field"), "scikit-image: Hubble eXtreme Deep Field"),
    "temple": (_sklearn("china.jpg"), "scikit-learn: a temple in China"),
    "flower": (_sklearn("flower.jpg"), "scikit-learn: a flower"),
    "portrait": (_matplotlib("grace_hopper.jpg"), "matplotlib: Grace Hopper"),
}

SPECS: dict[str, EmbeddedSpec] = {
    "digits": EmbeddedSpec(
        name="digits",
        title="Handwritten digits, 28×28 grayscale, 10 classes",
        source="scikit-learn load_digits (UCI optical digits), 8×8 upsampled to 28×28",
        licence="CC BY 4.0 (UCI ML repository)",
        stands_in_for="fashion_mnist",
        default_size=28,
    ),
    "photos": EmbeddedSpec(
        name="photos",
        title=f"Crops of {len(PHOTOS)} colour photographs, one class per photograph",
        source="photographs bundled with scikit-image, scikit-learn and matplotlib",
        licence="public domain / CC BY (see each library's data README)",
        stands_in_for="flowers",
        default_size=None,
    ),
    "tiles": EmbeddedSpec(
        name="tiles",
        title="Crops of 8 colour photographs from held-out cells, colours jittered; 48 per class to train",
        source="photographs bundled with scikit-image, scikit-learn and matplotlib (labkit.data.tiles)",
        licence="public domain / CC BY (see each library's data README)",
        stands_in_for=None,
        default_size=None,
    ),
    "faces": EmbeddedSpec(
        name="faces",
        title="Faces against non-faces, 25×25 grayscale, 2 classes",
        source="scikit-image lfw_subset (Labeled Faces in the Wild and non-face patches)",
        licence="LFW: research use; see scikit-image's data README",
        stands_in_for=None,
        default_size=25,
    ),
}


def digits(*, image_size=28) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Loads scikit-learn's handwritten digits.

    Args:
        image_size: the side in pixels, or `(height, width)`, to resize the 8×8 digits to.

    Returns:
        `(x, y, class_names)`: x float32 N×H×W×1 in [0, 1], y int64, names `"0"` … `"9"`.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = resize(bunch.images / 16.0, image_size)
    return x, bunch.target.astype(np.int64), [str(d) for d in range(10)]


def faces(*, image_size=25) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Loads scikit-image's `lfw_subset`: faces (label 1, the first 100) and non-faces.

    Args:
        image_size: the side in pixels, or `(height, width)`.

    Returns:
        `(x, y, class_names)`: x float32 N×H×W×1 in [0, 1], y int64, `["non-face", "face"]`.
    """
    from skimage.data import lfw_subset

    images = lfw_subset()
    y = np.zeros(len(images), dtype=np.int64)
    y[: len(images) // 2] = 1
    return resize(images, image_size), y, ["non-face", "face"]


def photos(
    *,
    image_size=64,
    per_class: tuple[int, int, int] = (240, 60, 60),
    classes: tuple[str, ...] | None = None,
    strips: tuple[float, float, float] = (0.6, 0.2, 0.2),
    min_scale: float = 0.5,
    seed: int = 0,
) -> tuple[Arrays, list[str]]:
    """Cuts square crops out of the bundled photographs.

    Args:
        image_size: side of the returned crops in pixels, or `(height, width)`.
        per_class: crops per photograph for train, validation and test.
        classes: which photographs (keys of `PHOTOS`); `None` takes all, in that order.
        strips: fractions of each photograph's width given to train, validation and test.
        min_scale: the smallest crop side, as a fraction of the largest that fits its strip.
        seed: seed of the crop positions, sizes and flips.

    Returns:
        `({"train": (x, y), "val": (x, y), "test": (x, y)}, class_names)`, x float32 N×S×S×3.
    """

    classes = tuple(PHOTOS) if classes is None else tuple(classes)
    for name in classes:
        if name not in PHOTOS:
            raise bad_choice("classes", name, PHOTOS)
    size = check_image_size("image_size", image_size)
    for count in per_class:
        check_positive("per_class", count)
    rng = np.random.default_rng(seed)
    edges = np.concatenate([[0.0], np.cumsum(strips) / np.sum(strips)])
    out: dict[str, list[tuple[np.ndarray, int]]] = {"train": [], "val": [], "test": []}
    for label, name in enumerate(classes):
        photo = photo_image(name)
        for split_index, (split, count) in enumerate(zip(out, per_class)):
            strip = edges[split_index : split_index + 2]
            out[split] += [(crop, label) for crop in _crops(photo, strip, count, size, min_scale, rng)]
    arrays = {
        split: (np.stack([c for c, _ in items]), np.array([l for _, l in items], dtype=np.int64))
        for split, items in out.items()
    }
    return arrays, list(classes)


def photo_image(name: str):
    """Loads one bundled photograph.

    Args:
        name: a key of `PHOTOS`.

    Returns:
        A PIL RGB image.
    """
    from PIL import Image

    pixels = np.asarray(PHOTOS[name][0]())[..., :3]
    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(pixels)


def _crops(photo, strip, count: int, size: tuple[int, int], min_scale: float, rng) -> list[np.ndarray]:
    """Random square crops of one vertical strip of a photograph, resized to `size`, half mirrored."""
    from PIL import Image

    width, height = photo.size
    left, right = (int(round(e * width)) for e in strip)
    largest = min(right - left, height)
    crops = []
    for _ in range(count):
        side = int(rng.integers(max(8, int(min_scale * largest)), largest + 1))
        x0 = int(rng.integers(left, right - side + 1))
        y0 = int(rng.integers(0, height - side + 1))
        crop = photo.resize((size[1], size[0]), Image.Resampling.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        crops.append(np.asarray(crop, dtype=np.float32) / 255.0)
    return crops
