"""The full profile rehearsed without a network: a local mirror of its datasets, and every notebook run on it.

A learner's first `full` run downloads Fashion-MNIST and the flowers photos, reads them from their real
formats, fits traced graphs at the real data's shapes and sweeps grids validated every epoch: code that
the embedded profiles never take. `python -m labkit rehearse` takes it in CI:

- `write_mirror(folder)` writes small files in the real formats and layout: Fashion-MNIST's four gzipped
  IDX files (drawn by `labkit.data.garments`) and `flower_photos.tgz`, one folder of JPEGs per class and
  a LICENSE.txt (crops of the bundled photographs, of three sizes);
- `serve(folder)` serves them on 127.0.0.1 and writes the mirror's registry (`labkit.data.registry.active`):
  their addresses, sha256 and sizes;
- `rehearse()` runs the notebooks on the `rehearsal` profile against that mirror, from an empty download
  cache, and checks that every file was downloaded once.

What stays unrehearsed: the real files' sizes and addresses (their sha256 are the registry's, checked by
`tests/test_remote.py` against the same code), and ImageNet weights (Keras downloads them itself; the
rehearsal's backbones start from smoke's tiny lab-pretrained weights instead).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import tarfile
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from labkit.config import CACHE_DIR_VARIABLE, REGISTRY_VARIABLE
from labkit.data.registry import REGISTRY

__all__ = ["PROFILE", "write_mirror", "serve", "rehearse"]

PROFILE = "rehearsal"
FASHION_SIZES = (600, 200)  # train, test images of the mirror's Fashion-MNIST
FLOWER_SIDES = ((60, 80), (80, 60), (72, 72))  # (height, width) of its photos: they differ, as the real ones
FLOWERS_PER_SIDE = 8  # photos per class and side


def _idx_gz(array: np.ndarray) -> bytes:
    """A gzipped IDX file of a uint8 array, as Fashion-MNIST's (magic 0x0000080N, big-endian sizes)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes(), mtime=0)


def _fashion_files() -> dict[str, bytes]:
    from labkit.data import garments

    files = {}
    for stream, (split, count) in enumerate(zip(("train", "t10k"), FASHION_SIZES)):
        x, y = garments.generate(count, seed=0, stream=stream)
        files[f"{split}-images-idx3-ubyte.gz"] = _idx_gz((x[..., 0] * 255).round())
        files[f"{split}-labels-idx1-ubyte.gz"] = _idx_gz(y)
    return files


def _flowers_tgz() -> bytes:
    from PIL import Image

    from labkit.data import embedded

    classes = REGISTRY["flowers"].class_names
    members = {"flower_photos/LICENSE.txt": b"Crops of the photographs bundled with scikit-image, scikit-learn and "
                                            b"matplotlib, standing in for the flowers photos (CC-BY 2.0).\n"}
    for seed, side in enumerate(FLOWER_SIDES):
        arrays, _ = embedded.photos(image_size=side, per_class=(FLOWERS_PER_SIDE, 1, 1),
                                    classes=tuple(embedded.PHOTOS)[: len(classes)], seed=seed)
        x, y = arrays["train"]
        for i, (pixels, label) in enumerate(zip(x, y)):
            buffer = io.BytesIO()
            Image.fromarray((pixels * 255).round().astype(np.uint8)).save(buffer, format="JPEG", quality=90)
            members[f"flower_photos/{classes[label]}/{seed}_{i}.jpg"] = buffer.getvalue()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def write_mirror(folder: str | os.PathLike) -> dict[str, dict[str, Path]]:
    """Writes the mirror's files: every file of `REGISTRY`, small, in its real format, under its own name.

    Args:
        folder: where; `<folder>/<dataset>/<file>` is written.

    Returns:
        The paths written, by dataset and file name.
    """
    contents = {"fashion_mnist": _fashion_files(), "flowers": {"flower_photos.tgz": _flowers_tgz()}}
    written: dict[str, dict[str, Path]] = {}
    for dataset, files in contents.items():
        assert sorted(files) == sorted(f.name for f in REGISTRY[dataset].files), dataset
        (Path(folder) / dataset).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            path = Path(folder) / dataset / name
            path.write_bytes(content)
            written.setdefault(dataset, {})[name] = path
    return written


class _Counting(SimpleHTTPRequestHandler):
    """Counts each request's path once (whatever its answer) and prints no line per request."""

    def log_request(self, code="-", size="-") -> None:
        self.server.asked[self.path.lstrip("/")] += 1

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve(folder: str | os.PathLike) -> Iterator[tuple[Path, Counter]]:
    """Serves `folder`'s mirror on 127.0.0.1 (a free port) while the block runs.

    Args:
        folder: a folder `write_mirror` wrote.

    Yields:
        `(registry file, requests)`: the mirror's registry, `<folder>/registry.json`, with each file's
        address, sha256 and size; and how many times each path was asked for, filled as it is served.
    """
    folder = Path(folder).resolve()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Counting, directory=str(folder)))
    server.asked = Counter()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    registry = {
        dataset: {f.name: {"url": f"{base}{dataset}/{f.name}",
                           "sha256": hashlib.sha256((folder / dataset / f.name).read_bytes()).hexdigest(),
                           "size": (folder / dataset / f.name).stat().st_size}
                  for f in REGISTRY[dataset].files}
        for dataset in REGISTRY
    }
    file = folder / "registry.json"
    file.write_text(json.dumps(registry, indent=1), encoding="utf-8")
    thread = threading.Thread(target=server.serve_forever, name="labkit-mirror", daemon=True)
    thread.start()
    try:
        yield file, server.asked
    finally:
        server.shutdown()
        server.server_close()


def rehearse(notebooks=(), *, jobs: int | None = None, build_dir=None, on_result=None, progress=None):
    """Runs notebooks on the `rehearsal` profile against a local mirror, from an empty download cache.

    Args:
        notebooks: names as `labkit.runner.select` takes them; empty runs every notebook.
        jobs: notebooks side by side; `None`: the runner's default.
        build_dir: the build folder; `None` as for `labkit.runner.run`. The mirror and the download
            cache go to `<build>/rehearsal/mirror` and `<build>/rehearsal/data`, both written afresh.
        on_result: called with each `RunResult` as soon as its notebook ends.
        progress: the runner's console display (`labkit.runner.Progress`); `None` shows nothing.

    Returns:
        `(results, downloads)`: the runner's `RunResult`s, and how many times each of the mirror's files
        was downloaded.

    Raises:
        ParameterError: a bad argument, said in one line before anything is written.
        Interrupted: SIGINT or SIGTERM stopped the run (`labkit.runner.Interrupted`).
    """
    from labkit import runner

    checked = runner.plan(notebooks, profile=PROFILE, jobs=jobs, build_dir=build_dir)
    root = checked.run_dir
    mirror, cache = root / "mirror", root / "data"
    for folder in (mirror, cache):
        shutil.rmtree(folder, ignore_errors=True)
    write_mirror(mirror)
    with serve(mirror) as (registry, asked), _environment({REGISTRY_VARIABLE: str(registry), CACHE_DIR_VARIABLE: str(cache)}):
        rows = runner.execute(checked, force=True, on_result=on_result, progress=progress)
    files = {f"{d}/{f.name}": asked.get(f"{d}/{f.name}", 0) for d in REGISTRY for f in REGISTRY[d].files}
    return rows, files


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Sets environment variables (which the runner's kernels inherit) while the block runs."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
