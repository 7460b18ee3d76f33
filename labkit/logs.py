"""The notebook's log file: Python warnings and the libraries' Python logging, off the page.

`labkit.setup` calls `capture(path)`: from then on a `warnings.warn` (a Keras `UserWarning` that
names a file of the installed package, a deprecation) and a log line of TensorFlow, absl,
keras-tuner or AutoKeras go to `build/<profile>/logs/<notebook>.log` (appended), not onto the
executed notebook's page. Errors still raise exceptions, which the page shows.
"""

from __future__ import annotations

import importlib.abc
import logging
import os
import sys
import tempfile
from pathlib import Path

# Python loggers of the libraries under labkit; their lines go to the log file only.
LOGGERS = ("py.warnings", "tensorflow", "absl", "keras", "keras_tuner", "autokeras", "h5py")

_handler: logging.Handler | None = None
_backend_lines: list[str] = []  # what TensorFlow's C++ code wrote to stderr on import, for the log


def import_backend_quietly() -> bool:
    """Keeps TensorFlow's C++ start-up lines off a notebook's page, at no cost until TensorFlow is imported.

    TensorFlow 2.19 and later write "All log messages before absl::InitializeLog()" and "oneDNN custom
    operations are on" to the process's stderr whatever `TF_CPP_MIN_LOG_LEVEL` says
    (tensorflow/tensorflow#100442), and a Jupyter kernel shows that file descriptor on the page of the
    cell that first imports TensorFlow. Only in a kernel (the command line does not need it) and only
    while TensorFlow is not yet imported, labkit puts an import hook on `sys.meta_path`: whoever imports
    TensorFlow first (Keras, labkit, the notebook) imports it with file descriptor 2 pointed at a
    temporary file, and the lines go to the notebook's log (`capture`). Importing labkit itself stays
    cheap: a notebook that never trains does not pay TensorFlow's import. Called when labkit is imported.

    Returns:
        Whether the hook was installed.
    """
    if "ipykernel" not in sys.modules or "tensorflow" in sys.modules:
        return False
    if not any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
    return True


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` with the other finders and wraps its loader in `_QuietLoader`; then leaves."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "tensorflow":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if finder is not self and find else None
            if spec is not None and spec.loader is not None:
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader with file descriptor 2 on a temporary file; keeps what was written."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader  # the package looks as if imported normally
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                self._loader.exec_module(module)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                _backend_lines.extend(sink.read().decode("utf-8", "replace").splitlines())
        if _handler is not None:  # imported after `capture`: straight to the log
            _write_backend_lines(_handler)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _write_backend_lines(handler: logging.Handler) -> None:
    if _backend_lines:
        handler.handle(logging.makeLogRecord({"name": "tensorflow", "levelno": logging.INFO, "levelname": "INFO",
                                              "msg": "TensorFlow's start-up lines on stderr:\n" + "\n".join(_backend_lines)}))
        _backend_lines.clear()


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
    _write_backend_lines(handler)
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
