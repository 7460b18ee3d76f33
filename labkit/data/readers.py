"""Readers of the real datasets' file formats: gzipped IDX files, and archives of class folders."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import shutil
import struct
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from labkit.data.pipeline import resize
from labkit.errors import DataError, ParameterError, check_image_size

__all__ = ["read_class_folders", "read_idx"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}

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
        DataError: the file is not gzip (or is cut off or corrupt), or its header or length is not
            that of an IDX file; the message names the file.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path} is not a readable gzip file: {_reason(error)}") from None
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] not in _IDX_DTYPES:
        magic = data[:4].hex() or "(empty)"
        raise DataError(f"{path} is not an IDX file: bad magic number {magic}")
    ndim = data[3]
    start = 4 + 4 * ndim
    if ndim == 0 or len(data) < start:
        raise DataError(f"{path} has a truncated IDX header ({ndim} dimensions declared)")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        raise DataError(
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

    The archive is extracted once, into `extract_to/<sha256 of the archive, 16 digits>/`: first into
    a temporary folder beside it, renamed into place when complete, so that a folder there is always
    the whole of that very archive (another archive gets another folder, and replaces the old one).
    The class folders are the sub-folders of that folder, or of its only folder (as in
    `flower_photos/daisy/...`).

    Args:
        archive: the `.tgz` (or `.tar`) file.
        extract_to: the folder to extract into.
        image_size: the side, or `(height, width)`, to resize every image to; None keeps the
            sizes, which must then all be equal.

    Returns:
        `(x, y, class_names)`: uint8 images of shape (N, height, width, 3) in RGB, int64
        labels indexing `class_names`, and the class names sorted alphabetically.

    Raises:
        DataError: the archive is not a (gzipped) tar file, is cut off, holds an unsafe member
            (an absolute path, `..`, a link out of the folder, a device), or an image cannot be read.
    """
    image_size = check_image_size("image_size", image_size, optional=True)
    archive = Path(archive)
    root = Path(extract_to) / _sha256(archive)[:16]
    if not root.is_dir():
        _extract(archive, root)
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
        raise DataError(f"{archive} holds no images in class folders")
    sizes = {image.shape for image in images}
    if len(sizes) > 1:
        raise ParameterError(
            f"image_size=None, but the images of {archive} have different sizes; "
            "pass image_size=(height, width), e.g. (180, 180)"
        )
    return np.stack(images), np.asarray(labels, dtype=np.int64), class_names


def _extract(archive: Path, destination: Path) -> None:
    """Extracts `archive` into a temporary folder beside `destination`, then renames it; removes
    the folders that other archives left beside it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent))
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter=_refuse_unsafe)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            shutil.rmtree(tmp, ignore_errors=True)
            with contextlib.suppress(OSError):
                destination.parent.rmdir()  # only when nothing else is in it
            raise DataError(f"{archive} cannot be extracted: {_reason(error)}") from None
        try:
            os.replace(tmp, destination)
        except OSError:
            if not destination.is_dir():  # else another process extracted the same archive first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for other in destination.parent.iterdir():
        if other != destination and other.is_dir() and not other.name.startswith("."):
            shutil.rmtree(other, ignore_errors=True)


def _refuse_unsafe(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's "data" filter (no `..`, no links out, no devices), and no absolute names either
    (the filter would strip their "/": an archive of class folders has no reason to hold any)."""
    if member.name.startswith(("/", "\\")):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise DataError(f"{path} cannot be read: {_reason(error)}") from None
    return digest.hexdigest()


def _reason(error: BaseException) -> str:
    """A short reason, whatever library raised it (zlib, tarfile, gzip, the OS)."""
    if isinstance(error, EOFError):
        return "the file is cut off (it ends before its last member)"
    if isinstance(error, tarfile.FilterError):
        return f"unsafe member refused ({error})"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return " ".join(text.split())


def _read_image(path: Path, image_size: tuple[int, int] | None) -> np.ndarray:
    """Reads one image file as an RGB uint8 array, resized to `image_size` when given."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as error:
        raise DataError(f"{path} is not a readable image: {_reason(error)}") from None
    return pixels if image_size is None else resize(pixels[None], image_size)[0]
