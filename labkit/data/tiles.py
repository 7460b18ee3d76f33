"""`tiles`: the data-scarce target of the transfer notebooks, cut from the bundled photographs.

Each photograph of `embedded.PHOTOS` (one class per photograph) is cut into a grid of cells and
the cells are dealt to train, validation and test (10 / 3 / 3 of a 4×4 grid), so a test crop comes
from a region of the photograph that training never saw, yet from the same picture (unlike the
`photos` set, whose test strip is the right edge of every photograph). Every crop then gets its own
hue, saturation, contrast and brightness, so that the colour of a photograph alone does not
give its class away: the network must learn textures and shapes, which is what pretraining offers.
"""

from __future__ import annotations

import numpy as np

from labkit.errors import check_counts, check_image_size, check_number, check_seed

Arrays = dict[str, tuple[np.ndarray, np.ndarray]]

TITLE = "Crops of 8 photographs from cells held out per split, colours jittered: a data-scarce target"
# Crops per photograph (class) in train, validation and test: a few dozen, as the seed's flowers subset.
PER_CLASS = (48, 16, 32)


def deal_cells(grid: int, counts: tuple[int, int, int], rng) -> list[list[tuple[int, int]]]:
    """Deals the cells of a `grid`×`grid` grid to the three splits.

    Args:
        grid: cells per side.
        counts: cells for train, validation and test; they must add up to `grid ** 2`.
        rng: a NumPy generator.

    Returns:
        Three lists of `(row, column)` cells, disjoint.
    """
    if sum(counts) != grid * grid:
        check_counts("cells", counts, 3, what=f"cells per split adding up to {grid * grid}")
        raise ValueError(f"cells={counts} must add up to {grid * grid}")
    order = rng.permutation(grid * grid)
    edges = np.cumsum([0, *counts])
    return [[divmod(int(i), grid) for i in order[edges[k]:edges[k + 1]]] for k in range(3)]


def jitter(image: np.ndarray, rng, strength: float = 1.0) -> np.ndarray:
    """Changes one image's hue, saturation, contrast and brightness at random.

    Args:
        image: float H×W×3 in [0, 1].
        rng: a NumPy generator.
        strength: 0 leaves the image as it is; 1 shifts the hue by up to ±0.15 of the colour
            wheel and scales saturation, contrast and brightness by 0.5–1.5, 0.6–1.4 and 0.7–1.3.

    Returns:
        The jittered image, float32 in [0, 1].
    """
    from skimage.color import hsv2rgb, rgb2hsv

    hsv = rgb2hsv(image)
    hsv[..., 0] = (hsv[..., 0] + strength * rng.uniform(-0.15, 0.15)) % 1.0
    hsv[..., 1] = np.clip(hsv[..., 1] * (1 + strength * rng.uniform(-0.5, 0.5)), 0, 1)
    out = hsv2rgb(hsv)
    mean = out.mean()
    out = (out - mean) * (1 + strength * rng.uniform(-0.4, 0.4)) + mean
    out = out * (1 + strength * rng.uniform(-0.3, 0.3))
    return np.clip(out, 0, 1).astype(np.float32)


def tiles(
    *,
    image_size=32,
    per_class: tuple[int, int, int] = PER_CLASS,
    grid: int = 4,
    cells: tuple[int, int, int] = (10, 3, 3),
    strength: float = 1.0,
    seed: int = 0,
) -> tuple[Arrays, list[str]]:
    """Cuts the target set: crops of held-out cells of each photograph, colours jittered.

    Args:
        image_size: side of the crops in pixels, or `(height, width)`.
        per_class: crops per photograph in train, validation and test.
        grid: cells per side of each photograph.
        cells: cells of the grid dealt to train, validation and test.
        strength: colour jitter (`jitter`); 0 turns it off.
        seed: seed of the deal, the crops and the jitter.

    Returns:
        `({"train": (x, y), "val": (x, y), "test": (x, y)}, class_names)`, x float32 N×S×S×3.
    """
    from labkit.data.embedded import PHOTOS, photo_image

    size = check_image_size("image_size", image_size)
    per_class = check_counts("per_class", per_class, 3, what="crops per class in (train, val, test)")
    check_seed("seed", seed)
    strength = check_number("strength", strength, high=2.0)
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"train": [], "val": [], "test": []}
    for label, name in enumerate(PHOTOS):
        photo = photo_image(name)
        dealt = deal_cells(grid, cells, rng)
        for split, split_cells, count in zip(out, dealt, per_class):
            for _ in range(count):
                crop = _cell_crop(photo, split_cells[int(rng.integers(len(split_cells)))], grid, size, rng)
                out[split].append((jitter(crop, rng, strength), label))
    arrays = {split: (np.stack([c for c, _ in items]), np.array([l for _, l in items], dtype=np.int64))
              for split, items in out.items()}
    return arrays, list(PHOTOS)


def _cell_crop(photo, cell: tuple[int, int], grid: int, size: tuple[int, int], rng) -> np.ndarray:
    """A random square crop inside one cell (60–100 % of its shorter side), half mirrored."""
    from PIL import Image

    width, height = photo.size
    row, column = cell
    left, right = width * column // grid, width * (column + 1) // grid
    top, bottom = height * row // grid, height * (row + 1) // grid
    largest = min(right - left, bottom - top)
    side = int(rng.integers(int(0.6 * largest), largest + 1))
    x0 = int(rng.integers(left, right - side + 1))
    y0 = int(rng.integers(top, bottom - side + 1))
    crop = photo.resize((size[1], size[0]), Image.Resampling.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(crop, dtype=np.float32) / 255.0
