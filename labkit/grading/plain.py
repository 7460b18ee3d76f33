"""Reading back what a submission left in its working copy: plain data only, read with suspicion.

The working copy was writable by the submission, so any name in it may be a symbolic link (to the
checks file, to `/etc/shadow`), a named pipe that would block the reader, or a file of any size.
Every read here walks the path one folder at a time without following links, opens only regular
files, and refuses what is larger than its cap. Arrays come from `.npz` files without pickle, each
array's declared size checked before numpy allocates it.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import numpy as np

_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(ValueError):
    """A file of the working copy that the grader refuses to read, with the reason."""


def read_bytes(root: str | os.PathLike, relative: str, *, cap: int) -> bytes:
    """Reads one regular file below `root`, following no link.

    Args:
        root: the working copy.
        relative: the file's path below it (`/`-separated).
        cap: the most bytes accepted.

    Returns:
        The file's content.

    Raises:
        UnsafeFile: a part of the path is a link or missing, the file is not regular, or too large.
    """
    parts = [p for p in relative.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise UnsafeFile(f"{relative!r} is not a path inside the working copy")
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    except OSError as exc:
        raise UnsafeFile(f"the working copy cannot be opened: {exc.strerror}") from None
    try:
        for part in parts[:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        handle = os.open(parts[-1], os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=folder)
    except OSError as exc:
        raise UnsafeFile(f"{relative}: {exc.strerror.lower()} (missing, or a link)") from None
    finally:
        os.close(folder)
    with os.fdopen(handle, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{relative} is not a regular file")
        if info.st_size > cap:
            raise UnsafeFile(f"{relative} has {info.st_size:,} bytes, over the {cap:,} the grader reads")
        return file.read(cap + 1)[:cap]


def read_json(root: str | os.PathLike, relative: str, *, cap: int):
    """Reads a JSON file below `root` (as `read_bytes`).

    Args:
        root: the working copy.
        relative: the file's path below it.
        cap: the most bytes accepted.

    Returns:
        The parsed value.

    Raises:
        UnsafeFile: as `read_bytes`, or the content is not JSON.
    """
    try:
        return json.loads(read_bytes(root, relative, cap=cap).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeFile(f"{relative} is not JSON: {exc}") from None


def read_arrays(content: bytes, *, cap: int) -> list[np.ndarray]:
    """Reads the arrays of an `.npz` (as `numpy.savez` writes them, `arr_0`, `arr_1`, ...).

    Args:
        content: the file's bytes.
        cap: the most bytes all arrays may hold together, checked on their headers before loading.

    Returns:
        The arrays, in order.

    Raises:
        UnsafeFile: not an npz, object arrays (pickle), other names, or arrays too large.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        names = archive.namelist()
        expected = [f"arr_{i}.npy" for i in range(len(names))]
        if sorted(names) != sorted(expected):
            raise UnsafeFile("the weights file holds other names than arr_0, arr_1, ...")
        total = 0
        for name in names:
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                if version not in ((1, 0), (2, 0)):
                    raise UnsafeFile(f"{name} has npy format {version}, not 1.0 or 2.0")
                header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = header(member)
            if dtype.hasobject:
                raise UnsafeFile("the weights file holds Python objects (pickle): refused")
            total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if total > cap:
                raise UnsafeFile(f"the weights declare over {cap:,} bytes: refused")
        with np.load(io.BytesIO(content), allow_pickle=False) as data:
            return [np.asarray(data[name.removesuffix(".npy")]) for name in expected]
    except UnsafeFile:
        raise
    except Exception as exc:  # a damaged archive can fail in many ways; each is a refusal
        raise UnsafeFile(f"the weights file cannot be read: {type(exc).__name__}: {exc}") from None

