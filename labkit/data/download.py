"""Downloads with checksums into one cache folder, with pooch.

`fetch(dataset, cache_dir)` downloads every file of a registry entry (`labkit.data.registry`) into
`cache_dir/<dataset>/`: a file is written to a temporary name and moved into place only when its
sha256 matches, so a failed download leaves nothing behind, and a file already in the cache with
the right sha256 is not downloaded again. Two processes that fetch the same dataset take turns
(a lock file, `cache_dir/.<dataset>.lock`, removed when done); the one that holds the lock also
removes the temporary files that a download killed mid-transfer left (pooch's `tmpXXXXXXXX`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import pooch
import requests

from labkit._lock import held
from labkit.data.registry import RemoteDataset, RemoteFile
from labkit.errors import ChecksumError, DownloadError, ParameterError, check_seconds

__all__ = ["fetch"]

_POOCH_TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}")  # tempfile.NamedTemporaryFile(dir=...) in pooch

_OFFLINE_HINT = (
    'without network, use the offline profile (PROFILE="offline" or LABKIT_PROFILE=offline), '
    "which uses the embedded data"
)


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
    check_seconds("timeout", timeout)
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

    with held(folder.parent / f".{dataset.name}.lock"):
        for leftover in folder.iterdir():  # what a download killed mid-transfer left
            if leftover.is_file() and _POOCH_TEMPORARY.fullmatch(leftover.name):
                leftover.unlink(missing_ok=True)
        return _fetch_all(dataset, folder, created, timeout, progress)


def _fetch_all(dataset: RemoteDataset, folder: Path, created: bool, timeout: float, progress: bool) -> dict[str, Path]:
    """Fetches every file, with the lock held; after a failure removes what this call added."""
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
