"""The real datasets of the course: a registry of downloads with checksums, a fetcher, readers.

Like d2l's `DATA_HUB`, `REGISTRY` names every file the `full` profile downloads, with its URL,
sha256 and size. `fetch` downloads them with pooch into one cache folder: a file is written to a
temporary name and moved into place only when its sha256 matches, so a failed download leaves
nothing behind. `load` turns the files into numpy arrays.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import math
import os
import shutil
import struct
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pooch
import requests
from PIL import Image

from labkit._io import atomic_write
from labkit.errors import ChecksumError, DownloadError, ParameterError, bad_choice

__all__ = [
    "REGISTRY",
    "RemoteDataset",
    "RemoteFile",
    "fetch",
    "load",
    "read_class_folders",
    "read_idx",
]


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: its name in the cache, URL, sha256 (hex) and size in bytes."""

    name: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset made of remote files.

    `format` says how to read the files: `"idx"` (gzipped IDX files, paired into splits by
    `splits`, each `(split, images file, labels file)`) or `"class_folders"` (one archive of
    one folder of images per class; everything is the `"train"` split).
    """

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    licence: str
    homepage: str
    class_names: tuple[str, ...]
    format: str
    splits: tuple[tuple[str, str, str], ...] = ()


# sha256 and sizes of Fashion-MNIST: tensorflow/datasets, file
# tensorflow_datasets/url_checksums/fashion_mnist.txt (commit 333639b3), which lists the same four
# files on Zalando's S3 site (http only). Keras pins the identical sha256 values for its https
# mirror used here: keras-team/keras, keras/src/datasets/fashion_mnist.py, `FILE_HASHES`.
_KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FASHION_FILES = (  # (name, sha256, size in bytes)
    ("train-images-idx3-ubyte.gz",
     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
    ("train-labels-idx1-ubyte.gz",
     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
    ("t10k-images-idx3-ubyte.gz",
     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
    ("t10k-labels-idx1-ubyte.gz",
     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148),
)

REGISTRY: dict[str, RemoteDataset] = {
    "fashion_mnist": RemoteDataset(
        name="fashion_mnist",
        title="Fashion-MNIST (Zalando): 70,000 grayscale 28x28 images of 10 clothing classes",
        files=tuple(RemoteFile(n, _KERAS_MIRROR + n, h, s) for n, h, s in _FASHION_FILES),
        licence="MIT (Copyright (c) 2017 Zalando SE)",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        class_names=(
            "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
        ),
        format="idx",
        splits=(
            ("train", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            ("test", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        ),
    ),
    "flowers": RemoteDataset(
        name="flowers",
        title="TensorFlow flowers: 3,670 colour photos of 5 kinds of flowers",
        files=(
            # sha256 and size: tensorflow/datasets, tensorflow_datasets/url_checksums/tf_flowers.txt
            # (commit 333639b3), listed there under http://download.tensorflow.org/..., the same
            # object as this https address of the download.tensorflow.org bucket.
            RemoteFile(
                "flower_photos.tgz",
                "https://storage.googleapis.com/download.tensorflow.org/"
                "example_images/flower_photos.tgz",
                "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
                228_813_984,
            ),
        ),
        licence="CC-BY 2.0, per photo; photographers credited in flower_photos/LICENSE.txt",
        homepage="https://www.tensorflow.org/datasets/catalog/tf_flowers",
        class_names=("daisy", "dandelion", "roses", "sunflowers", "tulips"),
        format="class_folders",
    ),
}

_OFFLINE_HINT = (
    'without network, use the offline profile (PROFILE="offline" or LABKIT_PROFILE=offline), '
    "which uses the embedded data"
)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def fetch(
    dataset: RemoteDataset,
    cache_dir: str | os.PathLike,
    *,
    timeout: float = 60.0,
    progress: bool = False,
) -> dict[str, Path]:
    """Downloads every file of `dataset` into `cache_dir / dataset.name`, checking its sha256.

    Files already in the cache with the right sha256 are not downloaded again. After a failure
    nothing half-written is left in the cache.

    Args:
        dataset: the dataset, usually `REGISTRY[name]`.
        cache_dir: the cache folder; created when missing.
        timeout: seconds to wait for the server to connect or send data.
        progress: show a progress bar and pooch's log lines while downloading.

    Returns:
        The local path of each file, by file name.

    Raises:
        DownloadError: the server could not be reached, timed out or cut the download off.
        ChecksumError: a downloaded file does not have the registered sha256.
        ParameterError: `cache_dir` cannot be created or written.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ParameterError(f"timeout={timeout!r} must be a number of seconds greater than 0")
    folder = Path(cache_dir) / dataset.name
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ParameterError(
            f"cache_dir={str(cache_dir)!r} cannot be used: cannot create or write {folder} "
            f"({error.strerror or error})"
        ) from None

    before = set(folder.iterdir())
    paths: dict[str, Path] = {}
    try:
        with _pooch_log(progress):
            for file in dataset.files:
                paths[file.name] = _fetch_file(file, folder, timeout, progress)
    except BaseException:
        for leftover in set(folder.iterdir()) - before - set(paths.values()):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return paths


def _fetch_file(file: RemoteFile, folder: Path, timeout: float, progress: bool) -> Path:
    """Downloads one file with pooch; turns its failures into labkit's errors."""
    downloader = _HashingDownloader(timeout=timeout, progress=progress)
    try:
        path = pooch.retrieve(
            file.url,
            known_hash=f"sha256:{file.sha256}",
            fname=file.name,
            path=folder,
            downloader=downloader,
        )
    except requests.exceptions.RequestException as error:
        raise DownloadError(
            f"could not download {file.url}: {_reason(error, timeout)}; {_OFFLINE_HINT}"
        ) from None
    except ValueError:
        if downloader.sha256 is None or downloader.sha256 == file.sha256:
            raise
        raise ChecksumError(
            f"{file.name} downloaded from {file.url} has sha256 {downloader.sha256}, "
            f"expected {file.sha256}; the download was discarded"
        ) from None
    return Path(path)


class _HashingDownloader:
    """pooch's HTTP downloader that remembers the sha256 of what it received."""

    def __init__(self, *, timeout: float, progress: bool):
        self._http = pooch.HTTPDownloader(timeout=timeout, progressbar=progress)
        self.sha256: str | None = None

    def __call__(self, url, output_file, pooch_instance, check_only=False):
        result = self._http(url, output_file, pooch_instance, check_only=check_only)
        if not check_only:
            self.sha256 = pooch.file_hash(output_file, alg="sha256")
        return result


def _reason(error: requests.exceptions.RequestException, timeout: float) -> str:
    """A short, one-line reason for a failed request."""
    if isinstance(error, requests.exceptions.Timeout):
        return f"no answer within timeout={timeout} seconds"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the connection was cut off before the whole file arrived"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "the server is down or refused the connection"
    if isinstance(error, requests.exceptions.HTTPError) and error.response is not None:
        return f"the server answered HTTP {error.response.status_code}"
    return " ".join(str(error).split())


@contextlib.contextmanager
def _pooch_log(verbose: bool):
    """Silences pooch's "Downloading ..." log lines unless `verbose`."""
    logger = pooch.get_logger()
    level = logger.level
    if not verbose:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# IDX type codes (third byte of the magic number) and the big-endian numpy dtype of each.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads a gzipped IDX file (the format of MNIST and Fashion-MNIST).

    Args:
        path: the `.gz` file.

    Returns:
        The array, with the shape and element type given in the file's header
        (e.g. uint8 of shape (N, 28, 28) for images, (N,) for labels).

    Raises:
        ValueError: the file is not gzip, or its header or length is not that of an IDX file.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"{path} is not a readable gzip file: {error}") from None
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] not in _IDX_DTYPES:
        magic = data[:4].hex() or "(empty)"
        raise ValueError(f"{path} is not an IDX file: bad magic number {magic}")
    ndim = data[3]
    start = 4 + 4 * ndim
    if ndim == 0 or len(data) < start:
        raise ValueError(f"{path} has a truncated IDX header ({ndim} dimensions declared)")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        raise ValueError(
            f"{path} holds {len(data) - start} bytes of data, but its IDX header "
            f"(shape {shape}, {dtype.name}) needs {expected}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=start).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_class_folders(
    archive: str | os.PathLike,
    extract_to: str | os.PathLike,
    *,
    image_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Extracts a `.tgz` of one folder of images per class, and reads the images.

    The archive is extracted once: into a temporary folder beside `extract_to`, renamed into
    place when complete. If `extract_to` exists, extraction is skipped. The class folders are
    the sub-folders of `extract_to`, or of its only folder (as in `flower_photos/daisy/...`).

    Args:
        archive: the `.tgz` (or `.tar`) file.
        extract_to: the folder to extract into.
        image_size: `(height, width)` to resize every image to; None keeps the sizes, which
            must then all be equal.

    Returns:
        `(x, y, class_names)`: uint8 images of shape (N, height, width, 3) in RGB, int64
        labels indexing `class_names`, and the class names sorted alphabetically.
    """
    image_size = _check_image_size(image_size)
    root = Path(extract_to)
    if not root.is_dir():
        _extract(Path(archive), root)
    folders = [p for p in root.iterdir() if p.is_dir()]
    if len(folders) == 1 and not any(p.suffix.lower() in _IMAGE_SUFFIXES for p in root.iterdir()):
        root = folders[0]
    class_names = sorted(p.name for p in root.iterdir() if p.is_dir())
    images, labels = [], []
    for label, class_name in enumerate(class_names):
        for file in sorted((root / class_name).iterdir()):
            if file.suffix.lower() in _IMAGE_SUFFIXES:
                images.append(_read_image(file, image_size))
                labels.append(label)
    if not images:
        raise ValueError(f"{archive} holds no images in class folders")
    sizes = {image.shape for image in images}
    if len(sizes) > 1:
        raise ParameterError(
            f"image_size=None, but the images of {archive} have different sizes; "
            "pass image_size=(height, width), e.g. (180, 180)"
        )
    return np.stack(images), np.asarray(labels, dtype=np.int64), class_names


def _extract(archive: Path, destination: Path) -> None:
    """Extracts `archive` into a temporary folder beside `destination`, then renames it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    tmp = Path(tmp)
    try:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # Python < 3.10.12 / 3.11.4: keep only plain files and folders inside `tmp`.
                members = [
                    m for m in tar.getmembers()
                    if (m.isfile() or m.isdir())
                    and (tmp / m.name).resolve().is_relative_to(tmp.resolve())
                ]
                tar.extractall(tmp, members=members)
        os.replace(tmp, destination)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _read_image(path: Path, image_size: tuple[int, int] | None) -> np.ndarray:
    """Reads one image file as an RGB uint8 array, resized to `image_size` when given."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        if image_size is not None:
            image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def _check_image_size(image_size) -> tuple[int, int] | None:
    """Returns `image_size` as a (height, width) tuple, or raises a ParameterError."""
    if image_size is None:
        return None
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size)
    ):
        raise ParameterError(
            f"image_size={image_size!r} must be None or a (height, width) pair of whole numbers > 0"
        )
    return (image_size[0], image_size[1])


def _resize_batch(x: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Resizes a batch of uint8 images of shape (N, H, W, C), C = 1 or 3."""
    if x.shape[1:3] == image_size:
        return x
    resized = []
    for image in x:
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        pil = pil.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        resized.append(np.asarray(pil, dtype=np.uint8).reshape(*image_size, image.shape[-1]))
    return np.stack(resized)


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
        image_size: `(height, width)` to resize the images to; None keeps the native size
            (Fashion-MNIST only: the flowers photos differ in size, so they need one).
        timeout: seconds to wait for the server to connect or send data.
        progress: show a progress bar while downloading.
        registry: the datasets to choose from; None means `REGISTRY`.

    Returns:
        `(splits, class_names)`: `splits["train"]` (and `splits["test"]` when the dataset has an
        official test set) is `(x, y)`, uint8 images of shape (N, height, width, C) with C=1
        for grayscale and 3 for colour, and int64 labels indexing `class_names`.
    """
    registry = REGISTRY if registry is None else registry
    if name not in registry:
        raise bad_choice("name", name, sorted(registry))
    dataset = registry[name]
    image_size = _check_image_size(image_size)
    if dataset.format == "class_folders" and image_size is None:
        raise ParameterError(
            f"image_size=None: the images of {name!r} differ in size; "
            "pass image_size=(height, width), e.g. (180, 180)"
        )
    paths = fetch(dataset, cache_dir, timeout=timeout, progress=progress)

    if dataset.format == "class_folders":
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
            raise ValueError(
                f"{archive} has the class folders {class_names}, "
                f"expected {list(dataset.class_names)}"
            )
        return {"train": (x, y)}, class_names

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
            x = _resize_batch(x, image_size)
        splits[split] = (x, y)
    return splits, list(dataset.class_names)
