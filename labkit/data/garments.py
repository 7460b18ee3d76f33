"""Garments: a Fashion-MNIST stand-in drawn by formula, 28×28 grayscale, the same 10 classes.

Each image is the silhouette of one garment (torso, sleeves, legs, soles, handles) whose widths,
lengths and gaps are drawn at random per image, then textured (stripes, shading), rotated, scaled,
shifted, blurred and covered with noise. `difficulty` (0 to 1) widens the range of the shape
parameters, so that neighbouring classes (shirt, T-shirt, pullover, coat; sneaker, sandal, boot)
overlap more, and raises the jitter and noise. At the default the seed CNN lands near its
Fashion-MNIST accuracy (about 92 %, see the book's results chapter), so that configurations
differ by more than the noise of the splits.

Every split comes from its own random stream (`numpy.random.SeedSequence` of the seed and the
split's name): no validation or test image shares a source with a training image.
"""

from __future__ import annotations

import numpy as np

from labkit.errors import check_number, check_positive, check_seed

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SIZES = (2000, 4000, 4000)  # train, val, test: twice the binomial standard error ≤ 1 point at 90 %
DIFFICULTY = 0.6
SIDE = 28
_SPLITS = ("train", "val", "test")


def generate(count: int, *, seed: int = 0, difficulty: float = DIFFICULTY, stream: int = 0):
    """Draws `count` garments, the classes balanced and shuffled.

    Args:
        count: how many images.
        seed: seed of the drawing; the same seed gives the same arrays on every machine.
        difficulty: 0 (clean, easily told apart) to 1 (classes overlap, heavy noise).
        stream: a second seed component, so that splits of one seed are independent.

    Returns:
        `(x, y)`: x float32 count×28×28×1 in [0, 1], y int64.
    """
    check_positive("count", count)
    check_seed("seed", seed)
    d = check_number("difficulty", difficulty, low=0.0, high=1.0)
    rng = np.random.default_rng(np.random.SeedSequence([seed, stream, 0x6A4D]))
    y = rng.permutation(np.arange(count) % len(CLASS_NAMES)).astype(np.int64)
    x = np.empty((count, SIDE, SIDE), dtype=np.float32)
    for label, draw in enumerate(_DRAW):
        index = np.flatnonzero(y == label)
        if len(index):
            u, v = _grid(len(index), d, rng)
            shape = draw(u, v, len(index), d, rng)
            x[index] = _finish(shape, u, v, d, rng)
    return x[..., None], y


def splits(sizes=SIZES, *, seed: int = 0, difficulty: float = DIFFICULTY) -> dict:
    """Draws train, validation and test splits, each from its own random stream.

    Args:
        sizes: images in train, validation and test.
        seed: seed of all three splits.
        difficulty: as in `generate`.

    Returns:
        `{"train": (x, y), "val": (x, y), "test": (x, y)}`.
    """
    return {name: generate(int(n), seed=seed, difficulty=difficulty, stream=i + 1)
            for i, (name, n) in enumerate(zip(_SPLITS, sizes))}


# ---- geometry: every array is n×28×28; parameters are n×1×1 -------------------------------------

def _grid(n, d, rng):
    """Pixel coordinates in [-1, 1] of each image, after a random rotation, scale and shift."""
    axis = np.linspace(-1.0, 1.0, SIDE, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    angle = _p(rng, n, -0.05 - 0.2 * d, 0.05 + 0.2 * d)
    scale = _p(rng, n, 1.0 - 0.15 * d, 1.05 + 0.15 * d)
    dx, dy = _p(rng, n, -0.08 * d - 0.02, 0.08 * d + 0.02), _p(rng, n, -0.08 * d - 0.02, 0.08 * d + 0.02)
    cos, sin = np.cos(angle), np.sin(angle)
    u = (cos * xx + sin * yy) * scale + dx
    v = (-sin * xx + cos * yy) * scale + dy
    return u.astype(np.float32), v.astype(np.float32)


def _p(rng, n, low, high):
    return rng.uniform(low, high, size=(n, 1, 1)).astype(np.float32)


def _j(rng, n, centre, spread, d):
    """A shape parameter around `centre`, its range growing with the difficulty."""
    return _p(rng, n, centre - spread * (0.4 + d), centre + spread * (0.4 + d))


def _box(u, v, x0, x1, y0, y1, edge=12.0):
    inside = np.minimum(np.minimum(u - x0, x1 - u), np.minimum(v - y0, y1 - v))
    return np.clip(inside * edge + 0.5, 0.0, 1.0)


def _ellipse(u, v, cx, cy, rx, ry, edge=6.0):
    return np.clip((1.0 - ((u - cx) / rx) ** 2 - ((v - cy) / ry) ** 2) * edge + 0.5, 0.0, 1.0)


def _band(u, v, x0, y0, x1, y1, width, edge=12.0):
    """A thick segment from (x0, y0) to (x1, y1): sleeves and straps."""
    ex, ey = x1 - x0, y1 - y0
    length = np.sqrt(ex ** 2 + ey ** 2) + 1e-6
    t = np.clip(((u - x0) * ex + (v - y0) * ey) / length ** 2, 0.0, 1.0)
    distance = np.sqrt((u - x0 - t * ex) ** 2 + (v - y0 - t * ey) ** 2)
    return np.clip((width - distance) * edge + 0.5, 0.0, 1.0)


def _torso(u, v, n, d, rng, *, width, top, bottom, sleeve, neck):
    """A garment's upper body: torso, two sleeves (length `sleeve` as a fraction of the body) and a neckline."""
    w = _j(rng, n, width, 0.08, d)
    t, b = _j(rng, n, top, 0.05, d), _j(rng, n, bottom, 0.08, d)
    body = _box(u, v, -w, w, t, b)
    length = _j(rng, n, sleeve, 0.15, d) * (b - t)
    droop = _j(rng, n, 0.9, 0.25, d)
    thick = _j(rng, n, 0.14, 0.04, d)
    for side in (-1.0, 1.0):
        x0 = side * (w - 0.05)
        body = np.maximum(body, _band(u, v, x0, t + 0.12, x0 + side * length * np.sin(droop),
                                      t + 0.12 + length * np.cos(droop), thick))
    return np.minimum(body, 1.0 - _ellipse(u, v, 0.0, t, _j(rng, n, neck, 0.04, d), 0.12))


def _tshirt(u, v, n, d, rng):
    return _torso(u, v, n, d, rng, width=0.45, top=-0.7, bottom=0.75, sleeve=0.28, neck=0.2)


def _trouser(u, v, n, d, rng):
    w, gap = _j(rng, n, 0.42, 0.06, d), _j(rng, n, 0.06, 0.04, d)
    top, bottom = _j(rng, n, -0.85, 0.05, d), _j(rng, n, 0.9, 0.05, d)
    flare = _j(rng, n, 0.0, 0.08, d)
    spread = (v - top) / (bottom - top) * flare
    legs = _box(u, v, -w - spread, -gap, top + 0.25, bottom) + _box(u, v, gap, w + spread, top + 0.25, bottom)
    return np.maximum(np.clip(legs, 0, 1), _box(u, v, -w, w, top, top + 0.3))


def _pullover(u, v, n, d, rng):
    return _torso(u, v, n, d, rng, width=0.5, top=-0.65, bottom=0.7, sleeve=0.85, neck=0.16)


def _dress(u, v, n, d, rng):
    top, bottom = _j(rng, n, -0.8, 0.05, d), _j(rng, n, 0.9, 0.05, d)
    waist, hem = _j(rng, n, 0.2, 0.06, d), _j(rng, n, 0.6, 0.15, d)
    half = waist + (hem - waist) * np.clip((v - top) / (bottom - top), 0, 1) ** _j(rng, n, 1.0, 0.4, d)
    body = np.clip((half - np.abs(u)) * 12 + 0.5, 0, 1) * _box(u, v, -2, 2, top, bottom)
    sleeve = _j(rng, n, 0.1, 0.12, d)
    straps = _box(u, v, -waist - sleeve, waist + sleeve, top, top + 0.2)
    return np.maximum(body, straps)


def _coat(u, v, n, d, rng):
    body = _torso(u, v, n, d, rng, width=0.52, top=-0.75, bottom=0.85, sleeve=0.9, neck=0.12)
    opening = _box(u, v, -0.02, 0.02, -0.6, 1.0, edge=30.0) * _p(rng, n, 0.3, 0.8)
    return body * (1.0 - opening)


def _sandal(u, v, n, d, rng):
    sole_y, length = _j(rng, n, 0.35, 0.08, d), _j(rng, n, 0.85, 0.08, d)
    shape = _box(u, v, -length, length, sole_y, sole_y + 0.12)
    for k in range(3):
        x = -length + (k + 0.7) * length * 0.6
        lean = _j(rng, n, 0.2, 0.2, d)
        shape = np.maximum(shape, _band(u, v, x, sole_y, x + lean, sole_y - _j(rng, n, 0.45, 0.12, d), 0.05))
    return shape


def _shirt(u, v, n, d, rng):
    body = _torso(u, v, n, d, rng, width=0.48, top=-0.7, bottom=0.75, sleeve=_sleeve_choice(n, d, rng), neck=0.12)
    collar = _ellipse(u, v, 0.0, -0.62, _j(rng, n, 0.22, 0.05, d), 0.1) * _p(rng, n, 0.3, 0.8)
    buttons = (np.abs(u) < 0.03) * (np.sin(v * 22) > 0.6) * _p(rng, n, 0.2, 0.5)
    return np.clip(np.maximum(body, collar) - buttons, 0, 1)


def _sleeve_choice(n, d, rng):
    """Short or long sleeves, as shirts have both: shirts overlap T-shirts and pullovers."""
    return rng.choice(np.array([0.35, 0.85], dtype=np.float32), size=(n, 1, 1))


def _shoe(u, v, n, d, rng, *, shaft):
    length, sole = _j(rng, n, 0.85, 0.06, d), _j(rng, n, 0.45, 0.06, d)
    height = _j(rng, n, 0.35, 0.06, d)
    body = _ellipse(u, v, 0.1, sole, length, height, edge=4.0) * (v < sole + 0.02)
    sole_band = _box(u, v, -length, length, sole, sole + _j(rng, n, 0.1, 0.03, d))
    back = _box(u, v, -length + 0.05, -length + _j(rng, n, 0.65, 0.1, d), sole - _j(rng, n, shaft, 0.12, d), sole)
    return np.maximum(np.maximum(body, sole_band), back)


def _sneaker(u, v, n, d, rng):
    return _shoe(u, v, n, d, rng, shaft=0.4)


def _bag(u, v, n, d, rng):
    w, top, bottom = _j(rng, n, 0.7, 0.1, d), _j(rng, n, -0.25, 0.15, d), _j(rng, n, 0.75, 0.06, d)
    box = _box(u, v, -w, w, top, bottom)
    rx, ry = _j(rng, n, 0.35, 0.1, d), _j(rng, n, 0.35, 0.12, d)
    ring = _ellipse(u, v, 0.0, top, rx, ry, edge=3.0) * (1 - _ellipse(u, v, 0.0, top, rx - 0.1, ry - 0.1, edge=3.0))
    return np.maximum(box, ring * (v < top))


def _boot(u, v, n, d, rng):
    return _shoe(u, v, n, d, rng, shaft=0.95)


_DRAW = (_tshirt, _trouser, _pullover, _dress, _coat, _sandal, _shirt, _sneaker, _bag, _boot)


def _finish(shape, u, v, d, rng):
    """Texture, shading, blur and noise."""
    n = len(shape)
    base = _p(rng, n, 0.35, 1.0)
    stripes = (rng.random((n, 1, 1)) < 0.4) * _p(rng, n, 0.0, 0.35)
    frequency, phase = _p(rng, n, 6.0, 20.0), _p(rng, n, 0.0, 6.3)
    direction = rng.random((n, 1, 1)) < 0.5
    wave = np.sin(np.where(direction, u, v) * frequency + phase)
    shading = 1.0 + _p(rng, n, -0.3, 0.3) * v + _p(rng, n, -0.3, 0.3) * u
    image = shape * base * (1.0 - stripes * (0.5 + 0.5 * wave)) * shading
    image = _blur(image, rng.uniform(0.0, 0.5 + d, size=n))
    noise = rng.normal(0.0, 1.0, image.shape) * _p(rng, n, 0.02, 0.04 + 0.12 * d)
    return np.clip(image + noise, 0.0, 1.0).astype(np.float32)


def _blur(images, amount):
    """Mixes each image with its 3×3 box blur, in proportion `amount` (clipped to 1)."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    blurred = sum(padded[:, i : i + SIDE, j : j + SIDE] for i in range(3) for j in range(3)) / 9.0
    weight = np.clip(amount, 0.0, 1.0)[:, None, None]
    return (1 - weight) * images + weight * blurred
