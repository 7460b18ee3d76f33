"""The real datasets of the course, as arrays: downloaded once (`download`), read (`readers`), cached."""

from __future__ import annotations

import os

import numpy as np

from labkit._io import atomic_write
from labkit.data.download import fetch
from labkit.data.pipeline import resize
from labkit.data.readers import read_class_folders, read_idx
from labkit.data.registry import RemoteDataset, active
from labkit.errors import DataError, ParameterError, bad_choice, check_image_size

__all__ = ["load"]


def load(
    name: str,
    cache_dir: str | os.PathLike,
    *,
    image_size: tuple[int, int] | None = None,
    timeout: float = 60.0,
    progress: bool = False,
    registry: dict[str, RemoteDataset] | None = None,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Downloads (once) and reads a real dataset of the course.

    Args:
        name: a key of `registry`: "fashion_mnist" or "flowers".
        cache_dir: the cache folder; the files go to `cache_dir / name`.
        image_size: the side, or `(height, width)`, to resize the images to; None keeps the native size
            (Fashion-MNIST only: the flowers photos differ in size, so they need one).
        timeout: seconds to wait for the server to connect or send data.
        progress: show a progress bar while downloading.
        registry: the datasets to choose from; None means `registry.active()`: `REGISTRY`, or a
            mirror's where `$LABKIT_REGISTRY` names one.

    Returns:
        `(splits, class_names)`: `splits["train"]` (and `splits["test"]` when the dataset has an
        official test set) is `(x, y)`, uint8 images of shape (N, height, width, C) with C=1
        for grayscale and 3 for colour, and int64 labels indexing `class_names`.
    """
    registry = active() if registry is None else registry
    if name not in registry:
        raise bad_choice("name", name, sorted(registry))
    dataset = registry[name]
    image_size = check_image_size("image_size", image_size, optional=True)
    if dataset.format == "class_folders" and image_size is None:
        raise ParameterError(
            f"image_size=None: the images of {name!r} differ in size; "
            "pass image_size=(height, width), e.g. (180, 180)"
        )
    paths = fetch(dataset, cache_dir, timeout=timeout, progress=progress)
    try:
        if dataset.format == "class_folders":
            return _class_folders(dataset, paths, image_size)
        return _idx_splits(dataset, paths, image_size)
    except DataError as error:  # name the dataset and where its files came from
        urls = ", ".join(f.url for f in dataset.files if f.name in str(error)) or dataset.files[0].url
        raise DataError(f"dataset {name!r}: {error} (downloaded from {urls})") from None


def _class_folders(dataset: RemoteDataset, paths, image_size) -> tuple[dict, list[str]]:
    """Reads an archive of class folders, through a cache of the resized arrays beside it."""
    archive = paths[dataset.files[0].name]
    # Decoding thousands of JPEGs takes a minute: keep the resized arrays beside the archive.
    cached = archive.parent / f"{dataset.files[0].sha256[:12]}-{image_size[0]}x{image_size[1]}.npz"
    if cached.is_file():
        with np.load(cached) as arrays:
            x, y, class_names = arrays["x"], arrays["y"], [str(c) for c in arrays["class_names"]]
    else:
        extract_to = archive.parent / "extracted"
        x, y, class_names = read_class_folders(archive, extract_to, image_size=image_size)
        atomic_write(cached, lambda handle: np.savez(handle, x=x, y=y, class_names=np.array(class_names)))
    if dataset.class_names and class_names != list(dataset.class_names):
        raise ValueError(f"{archive} has the class folders {class_names}, expected {list(dataset.class_names)}")
    return {"train": (x, y)}, class_names


def _idx_splits(dataset: RemoteDataset, paths, image_size) -> tuple[dict, list[str]]:
    """Reads the (images, labels) IDX files of each split."""
    splits = {}
    for split, images_file, labels_file in dataset.splits:
        x = read_idx(paths[images_file])
        y = read_idx(paths[labels_file]).astype(np.int64)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(
                f"{images_file} (shape {x.shape}) and {labels_file} (shape {y.shape}) "
                "are not N images and N labels"
            )
        x = x.astype(np.uint8)[..., np.newaxis]
        if image_size is not None:
            x = resize(x, image_size)
        splits[split] = (x, y)
    return splits, list(dataset.class_names)
