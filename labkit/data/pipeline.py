"""What happens to images between their source and `model.fit`: resizing (the one routine labkit uses)."""

from __future__ import annotations

import numpy as np

from labkit.errors import check_image_size

__all__ = ["resize"]


def resize(images: np.ndarray, image_size) -> np.ndarray:
    """Resizes a batch of images with bilinear interpolation (anti-aliased when shrinking).

    Every resize in labkit goes through here, for the embedded and the downloaded datasets alike.

    Args:
        images: N×H×W or N×H×W×C, either uint8 (0–255) or float (0–1).
        image_size: the side in pixels, or `(height, width)`.

    Returns:
        N×height×width×C images: uint8 for uint8 input, float32 clipped to [0, 1] otherwise.
        A batch already at that size is returned as is (cast to float32 for float input).
    """
    from skimage.transform import resize as skimage_resize

    height, width = check_image_size("image_size", image_size)
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    is_bytes = images.dtype == np.uint8
    if images.shape[1:3] == (height, width):
        return images if is_bytes else images.astype(np.float32)
    source = images.astype(np.float32) / 255.0 if is_bytes else images
    out = np.empty((len(images), height, width, images.shape[-1]), dtype=np.float32)
    for i, image in enumerate(source):
        out[i] = skimage_resize(image, (height, width), order=1, anti_aliasing=True, preserve_range=True)
    out = np.clip(out, 0.0, 1.0)
    return np.round(out * 255.0).astype(np.uint8) if is_bytes else out
