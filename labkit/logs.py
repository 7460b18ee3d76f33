"""The notebook's log file: Python warnings and the libraries' Python logging, off the page.

`labkit.setup` calls `capture(path)`: from then on a `warnings.warn` (a Keras `UserWarning` that
names a file of the installed package, a deprecation) and a log line of TensorFlow, absl,
keras-tuner or AutoKeras go to `build/<profile>/logs/<notebook>.log` (appended), not onto the
executed notebook's page. Errors still raise exceptions, which the page shows.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

# Python loggers of the libraries under labkit; their lines go to the log file only.
LOGGERS = ("py.warnings", "tensorflow", "absl", "keras", "keras_tuner", "autokeras", "h5py")

_handler: logging.Handler | None = None


def capture(path: str | os.PathLike, *, level: int = logging.INFO) -> Path:
    """Sends Python warnings and the libraries' log lines to `path` (appended) instead of the page.

    Calling it again moves the capture to the new file.

    Args:
        path: the log file; its folder is created when missing.
        level: the least severe level written.

    Returns:
        The log file's path.
    """
    global _handler
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    release()
    handler = logging.FileHandler(path, mode="a", encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    handler.setLevel(level)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    logging.captureWarnings(True)
    _handler = handler
    return path


def release() -> None:
    """Stops the capture: warnings and log lines reach the console again."""
    global _handler
    if _handler is None:
        return
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.removeHandler(_handler)
        logger.propagate = True
    logging.captureWarnings(False)
    _handler.close()
    _handler = None


def current() -> Path | None:
    """Finds the log file in use.

    Returns:
        Its path, or `None` when nothing is captured.
    """
    return None if _handler is None else Path(_handler.baseFilename)
