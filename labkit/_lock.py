"""A lock between processes on one machine, as a file that is removed when the lock is released.

Two processes that prepare the same thing (download a dataset into a fresh cache, run notebooks
into one build folder) take the same lock; the second waits, or is told who holds it. The lock is
`fcntl.flock` on the file, so the kernel releases it when its holder dies, however it dies; a file
left by a killed holder is taken over by the next process and removed when that one is done.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path


class LockBusy(Exception):
    """The lock is held by another process (`pid`, when known) and waiting was not asked for."""

    def __init__(self, path: Path, pid: int | None):
        super().__init__(f"{path} is held by process {pid or '?'}")
        self.path, self.pid = path, pid


@contextlib.contextmanager
def held(path: str | os.PathLike, *, wait: bool = True, poll: float = 0.1):
    """Holds the lock file `path` for the duration of the `with` block.

    Args:
        path: the lock file; its folder must exist.
        wait: wait for the holder to finish; `False` raises `LockBusy` at once.
        poll: seconds between tries while waiting.

    Returns:
        A context manager; the lock file is removed when the block ends.
    """
    path = Path(path)
    fd = _acquire(path, wait, poll)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # before unlocking: a waiter then finds a new file, not this one
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(path: Path, wait: bool, poll: float) -> int:
    """Opens and locks `path`, making sure that the locked file is still the one at `path`."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            if not wait:
                pid = _holder(fd)
                os.close(fd)
                raise LockBusy(path, pid) from None
            os.close(fd)
            time.sleep(poll)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False  # the last holder removed it after we opened it: try again
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _holder(fd: int) -> int | None:
    """The pid written in the lock file by its holder, if readable."""
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
