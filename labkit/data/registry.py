"""The registry of the real datasets: every file the `full` profile downloads, with its sha256.

Like d2l's `DATA_HUB`, one entry per dataset names its files (URL, sha256, size), its licence,
its classes and how its files are read (`labkit.data.readers`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["REGISTRY", "RemoteDataset", "RemoteFile", "active"]


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


def active(path=None) -> dict[str, RemoteDataset]:
    """The registry in use: `REGISTRY`, with the files of the datasets a mirror serves replaced.

    A mirror's registry is a JSON file, named by `path` or `$LABKIT_REGISTRY`, mapping a dataset's name
    to its files, each `{"url": ..., "sha256": ..., "size": ...}` under the file's name in `REGISTRY`:
    the same files in the same formats, served from elsewhere (CI's rehearsal, `labkit.rehearsal`,
    serves small ones on 127.0.0.1). Every file of a dataset it names must be listed; the download
    checks each against the sha256 given there.

    Args:
        path: the mirror's registry file; `None` takes `$LABKIT_REGISTRY`, then none.

    Returns:
        The datasets by name.

    Raises:
        ParameterError: the file cannot be read, or does not describe the registry's files.
    """
    import json

    from labkit.config import REGISTRY_VARIABLE, resolve_registry_file
    from labkit.errors import ParameterError

    file = resolve_registry_file(path)
    if file is None:
        return REGISTRY
    where = f"{REGISTRY_VARIABLE}={str(file)!r}" if path is None else f"path={str(file)!r}"
    try:
        mirror = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ParameterError(f"{where}: not a readable JSON registry ({getattr(error, 'strerror', None) or error})") from None
    if not isinstance(mirror, dict) or not set(mirror) <= set(REGISTRY):
        raise ParameterError(f"{where}: its keys must be datasets of the registry: {', '.join(sorted(REGISTRY))}")
    datasets = dict(REGISTRY)
    for name, files in mirror.items():
        wanted = [f.name for f in REGISTRY[name].files]
        if not isinstance(files, dict) or sorted(files) != sorted(wanted):
            raise ParameterError(f"{where}: {name!r} must list exactly its files {', '.join(wanted)}")
        try:
            replaced = tuple(RemoteFile(n, str(files[n]["url"]), str(files[n]["sha256"]).lower(), int(files[n]["size"]))
                             for n in wanted)
        except (TypeError, KeyError, ValueError):
            raise ParameterError(f"{where}: each file of {name!r} needs a url, a sha256 and a size") from None
        datasets[name] = replace(REGISTRY[name], files=replaced)
    return datasets
