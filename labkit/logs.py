"""The notebook's log file: Python warnings and the libraries' Python logging, off the page.

`labkit.setup` calls `capture(path)`: from then on a `warnings.warn` (a Keras `UserWarning` that
names a file of the installed package, a deprecation) and a log line of TensorFlow, absl,
keras-tuner or AutoKeras go to `build/<profile>/logs/<notebook>.log` (appended), not onto the
executed notebook's page. Errors still raise exceptions, which the page shows.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

# Python loggers of the libraries under labkit; their lines go to the log file only.
LOGGERS = ("py.warnings", "tensorflow", "absl", "keras", "keras_tuner", "autokeras", "h5py")

_handler: logging.Handler | None = None
_backend_lines: list[str] = []  # what TensorFlow's C++ code wrote to stderr when labkit imported it


def import_backend_quietly() -> bool:
    """Imports TensorFlow in a notebook kernel with its C++ start-up lines kept off the page.

    TensorFlow 2.19 and later write "All log messages before absl::InitializeLog()" and "oneDNN custom
    operations are on" to the process's stderr whatever `TF_CPP_MIN_LOG_LEVEL` says
    (tensorflow/tensorflow#100442), and a Jupyter kernel shows that file descriptor on the page of the
    cell that first imports TensorFlow. Only in a kernel (the command line does not need TensorFlow) and
    only while TensorFlow is not yet imported, labkit imports it with file descriptor 2 pointed at a
    temporary file; `capture` writes those lines to the notebook's log. Called when labkit is imported.

    Returns:
        Whether it imported TensorFlow.
    """
    if "ipykernel" not in sys.modules or "tensorflow" in sys.modules:
        return False
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow  # noqa: F401 (imported for its side effect: loading the C++ runtime)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            _backend_lines.extend(sink.read().decode("utf-8", "replace").splitlines())
    return True


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
    if _backend_lines:
        handler.handle(logging.makeLogRecord({"name": "tensorflow", "levelno": logging.INFO, "levelname": "INFO",
                                              "msg": "TensorFlow's start-up lines on stderr:\n" + "\n".join(_backend_lines)}))
        _backend_lines.clear()
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
