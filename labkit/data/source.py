"""The lab's source task: what the `"lab"` weights are pretrained on, with no download.

Two families of classes, none of them a class of any target set:

- **fractals**: each class is one iterated function system (a few random contracting affine maps),
  drawn by the chaos game, as in FractalDB (Kataoka et al., "Pre-training without Natural Images",
  ACCV 2020). The images of a class perturb its maps a little, rotate, mirror and colour the drawing.
- **regions**: each class is one quadrant of a picture that scikit-image bundles and that no target
  uses (`REGION_IMAGES`), seen through random crops of varied scale and colour.

Formula-drawn shapes teach edges and curves; the photo regions add the textures of real pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from labkit.errors import check_image_size, check_positive, check_seed

VERSION = "1"  # part of the weights' cache key: change it when the images change

# Pictures bundled with scikit-image (no pooch download) that no target set uses.
REGION_IMAGES = ("immunohistochemistry", "retina", "brick", "grass", "gravel", "camera", "coins", "moon")


def ifs_maps(rng, maps: int | None = None) -> np.ndarray:
    """Draws one iterated function system: contracting affine maps of the plane.

    Args:
        rng: a NumPy generator.
        maps: how many maps; `None` draws 2 to 4.

    Returns:
        An array n×6 of `(a, b, c, d, e, f)`: a point `p` goes to `[[a, b], [c, d]] @ p + [e, f]`.
    """
    n = int(rng.integers(2, 5)) if maps is None else maps
    params = rng.uniform(-1, 1, size=(n, 6))
    for row in params:  # scale each linear part so that it contracts (largest singular value < 1)
        norm = np.linalg.norm(row[:4].reshape(2, 2), 2)
        row[:4] *= rng.uniform(0.45, 0.9) / max(norm, 1e-6)
    return params


def draw_ifs(params: np.ndarray, size: int, rng, points: int = 6000) -> np.ndarray:
    """Draws the attractor of an iterated function system by the chaos game.

    Args:
        params: n×6 maps, as `ifs_maps` returns.
        size: side of the image in pixels.
        rng: a NumPy generator (which map each step takes).
        points: points plotted (spread over 64 chains after a burn-in of 12 steps).

    Returns:
        float32 size×size in [0, 1]: the visit density, log-scaled.
    """
    chains, steps = 64, max(1, points // 64)
    weights = np.abs(params[:, 0] * params[:, 3] - params[:, 1] * params[:, 2]) + 0.05
    choice = rng.choice(len(params), size=(steps + 12, chains), p=weights / weights.sum())
    p = rng.uniform(-1, 1, size=(chains, 2))
    trail = []
    for t in range(steps + 12):
        m = params[choice[t]]
        p = np.stack([m[:, 0] * p[:, 0] + m[:, 1] * p[:, 1] + m[:, 4], m[:, 2] * p[:, 0] + m[:, 3] * p[:, 1] + m[:, 5]], 1)
        if t >= 12:
            trail.append(p)
    xy = np.concatenate(trail)
    low, high = np.percentile(xy, 1, axis=0), np.percentile(xy, 99, axis=0)
    scaled = (xy - low) / np.maximum(high - low, 1e-6) * (size - 1)
    inside = np.all((scaled >= 0) & (scaled <= size - 1), axis=1)
    ij = np.round(scaled[inside]).astype(int)
    image = np.zeros((size, size), np.float32)
    np.add.at(image, (ij[:, 1], ij[:, 0]), 1.0)
    image = np.log1p(image)
    return image / max(float(image.max()), 1e-6)


def fractals(classes: int, per_class: int, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draws `classes` fractal classes of `per_class` images each.

    Args:
        classes: number of systems (classes).
        per_class: images per class.
        size: side in pixels.
        rng: a NumPy generator.

    Returns:
        `(x, y)`: x float32 N×size×size×3 in [0, 1], y int64 from 0.
    """
    x, y = [], []
    for label in range(classes):
        params = ifs_maps(rng)
        for _ in range(per_class):
            varied = params + rng.normal(0, 0.03, params.shape)
            mask = np.rot90(draw_ifs(varied, size, rng), int(rng.integers(4)))
            if rng.random() < 0.5:
                mask = mask[:, ::-1]
            ink, paper = rng.uniform(0.3, 1, 3), rng.uniform(0, 0.4, 3)
            x.append(mask[..., None] * ink + (1 - mask[..., None]) * paper)
            y.append(label)
    return np.asarray(x, np.float32), np.asarray(y, np.int64)


@lru_cache(maxsize=None)
def _region_picture(name: str) -> np.ndarray:
    from skimage import data

    pixels = np.asarray(getattr(data, name)())
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return pixels[..., :3]


def regions(classes: int, per_class: int, size: int, rng,
            picture: Callable[[str], np.ndarray] = _region_picture) -> tuple[np.ndarray, np.ndarray]:
    """Crops `classes` photo-region classes: quadrants of `REGION_IMAGES`, in that order.

    Args:
        classes: number of regions (at most 4 per picture of `REGION_IMAGES`).
        per_class: crops per region.
        size: side in pixels.
        rng: a NumPy generator.
        picture: loads a picture by name as uint8 H×W×3.

    Returns:
        `(x, y)`: x float32 N×size×size×3 in [0, 1], y int64 from 0.
    """
    from PIL import Image

    from labkit.data.tiles import jitter

    x, y = [], []
    for label in range(classes):
        name, quadrant = REGION_IMAGES[label // 4], label % 4
        photo = Image.fromarray(picture(name).astype(np.uint8))
        width, height = photo.size
        left, top = (quadrant % 2) * width // 2, (quadrant // 2) * height // 2
        largest = min(width, height) // 2
        for _ in range(per_class):
            side = int(rng.integers(largest // 3, largest + 1))
            x0 = left + int(rng.integers(0, width // 2 - side + 1))
            y0 = top + int(rng.integers(0, height // 2 - side + 1))
            crop = photo.resize((size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
            x.append(jitter(np.asarray(crop, np.float32) / 255.0, rng, 0.7))
            y.append(label)
    return np.asarray(x, np.float32), np.asarray(y, np.int64)


def source_task(*, fractal_classes: int = 32, region_classes: int = 32, per_class: int = 120, image_size=32,
                val_fraction: float = 0.1, seed: int = 0):
    """Makes the source task: fractal classes, then photo-region classes, shuffled and split.

    Args:
        fractal_classes: classes drawn by formula.
        region_classes: classes cut from `REGION_IMAGES` (at most 4 per picture).
        per_class: images per class.
        image_size: side in pixels, or `(height, width)` (square only).
        val_fraction: share of each class held out to watch the pretraining.
        seed: seed of the systems, the crops and the split.

    Returns:
        `({"train": (x, y), "val": (x, y)}, class_names)`.
    """
    size = check_image_size("image_size", image_size)[0]
    check_positive("per_class", per_class)
    check_seed("seed", seed)
    if not 0 <= region_classes <= 4 * len(REGION_IMAGES):
        raise ValueError(f"region_classes={region_classes} must be between 0 and {4 * len(REGION_IMAGES)}")
    rng = np.random.default_rng(seed)
    xf, yf = fractals(fractal_classes, per_class, size, rng)
    xr, yr = regions(region_classes, per_class, size, rng)
    x, y = np.concatenate([xf, xr]), np.concatenate([yf, yr + fractal_classes])
    names = [f"fractal {i}" for i in range(fractal_classes)]
    names += [f"{REGION_IMAGES[i // 4]} {'NW NE SW SE'.split()[i % 4]}" for i in range(region_classes)]
    held = (np.arange(len(y)) % per_class) < max(1, round(val_fraction * per_class))
    order = rng.permutation(int((~held).sum()))
    return {"train": (x[~held][order], y[~held][order]), "val": (x[held], y[held])}, names


def dataset(settings: dict):
    """The source task as a `labkit.data.Dataset`, to look at it like any other.

    Args:
        settings: as `labkit.models.pretrain.source_settings` returns them.

    Returns:
        A `Dataset` whose `test` split is the held-out validation split (pretraining has no test).
    """
    from labkit.data.dataset import Dataset

    splits, names = source_task(fractal_classes=settings["fractal_classes"], region_classes=settings["region_classes"],
                                per_class=settings["per_class"], image_size=settings["image_size"], seed=settings["seed"])
    return Dataset(name=f"lab source v{VERSION}", requested="source",
                   title=f"{settings['fractal_classes']} fractal classes (drawn by formula) and "
                         f"{settings['region_classes']} photo-region classes",
                   source="iterated function systems (Kataoka et al., ACCV 2020) and scikit-image's sample pictures",
                   licence="formula: none; pictures: see scikit-image's data README",
                   class_names=names, splits={**splits, "test": splits["val"]}, profile="-",
                   notes=["no class of any target set; the test split is the validation split"])


def preview(data, *, classes: int = 8, per_class: int = 6, seed: int = 0):
    """Draws a few classes of each family of the source task.

    Args:
        data: from `dataset`.
        classes: how many classes to show, half fractals and half photo regions.
        per_class: images per class.
        seed: which classes and images.

    Returns:
        The matplotlib Figure.
    """
    import copy

    from labkit.vis import plots

    rng = np.random.default_rng(seed)
    fractal = [i for i, n in enumerate(data.class_names) if n.startswith("fractal")]
    region = [i for i, n in enumerate(data.class_names) if not n.startswith("fractal")]
    shown = sorted([*rng.choice(fractal, min(len(fractal), classes // 2), replace=False),
                    *rng.choice(region, min(len(region), classes - classes // 2), replace=False)])
    x, y = data.splits["train"]
    keep = np.isin(y, shown)
    subset = copy.copy(data)
    subset.class_names = [data.class_names[i] for i in shown]
    subset.splits = {"train": (x[keep], np.searchsorted(shown, y[keep]))}
    return plots.sample_grid(subset, per_class=per_class,
                             title=f"The source task: {len(shown)} of its {data.num_classes} classes")
