"""`"lab"` weights: a backbone pretrained once on the lab's source task, cached under a key.

The first call trains the backbone on `labkit.data.source` (fractal and photo-region classes, none of
them a class of any target) and saves its weights in `<cache>/weights/<key>.weights.h5`; later calls
load them in seconds. The key names the architecture, input size, source version and size, epochs,
seed and Keras version, so a change of any of them trains afresh. The file is written to a temporary
name in the same folder and moved into place (`os.replace`), then a sidecar `<key>.json` records its
size and sha256 and the pretraining's history; a file lock makes two notebooks started side by side
train it once. A weights file whose sidecar is missing or does not match is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from labkit.config import resolve_cache_dir

LEARNING_RATE = 1e-3
BATCH_SIZE = 64


@dataclass
class LabWeights:
    """Where a backbone's `"lab"` weights are and how they were made.

    Attributes:
        path: the `.weights.h5` file (the base's weights, no head).
        key: the cache key (the file's stem).
        source: the source task: `classes`, `per_class`, `image_size`, `epochs`, `version`, `seed`.
        history: per-epoch metrics of the pretraining (name -> list).
        seconds: wall time of the pretraining (when it ran, possibly in an earlier session).
        trained_now: whether this call trained them (else they were loaded from the cache).
    """

    path: Path
    key: str
    source: dict
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    trained_now: bool = False

    def describe(self) -> str:
        """Says in one line what the weights are.

        Returns:
            A line such as "lab-pretrained on 64 source classes × 120 images at 32 px, 8 epochs".
        """
        s = self.source
        return (f"lab-pretrained on the lab source task v{s['version']} ({s['classes']} classes × {s['per_class']} "
                f"images at {s['image_size']} px: fractals and photo regions, {s['epochs']} epoch{'s' * (s['epochs'] != 1)}, "
                f"{self.seconds:.0f} s), not ImageNet")


def source_settings(name: str, profile=None) -> dict:
    """The source task that the profile pretrains `name` on.

    Args:
        name: a backbone name (`labkit.models.transfer.APPLICATIONS`).
        profile: the profile; `None` takes the one `labkit.setup` chose.

    Returns:
        `{"fractal_classes", "region_classes", "classes", "per_class", "image_size", "epochs", "version", "seed"}`.
    """
    from labkit.data.source import VERSION
    from labkit.models.transfer import min_input_size
    from labkit.session import active_profile

    per_family, per_class, side, epochs = active_profile(profile).source_size_for(name)
    return {"fractal_classes": per_family, "region_classes": per_family, "classes": 2 * per_family,
            "per_class": per_class, "image_size": max(side, min_input_size(name)), "epochs": epochs,
            "version": VERSION, "seed": 0}


def cache_key(name: str, source: dict, options: dict | None = None) -> str:
    """Names one set of lab weights.

    Args:
        name: the backbone.
        source: as `source_settings` returns.
        options: constructor options (such as `alpha`), part of the key when given.

    Returns:
        A file stem such as `mobilenet_v2-32px-src1-64x120-e8-seed0-keras3.12.0`.
    """
    import keras

    extra = "".join(f"-{k}{v}" for k, v in sorted((options or {}).items()))
    return (f"{name}{extra}-{source['image_size']}px-src{source['version']}-{source['classes']}x{source['per_class']}"
            f"-e{source['epochs']}-seed{source['seed']}-keras{keras.__version__}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_valid(path: Path) -> dict | None:
    """Reads the sidecar of a weights file, if the file is whole.

    Args:
        path: the `.weights.h5` file.

    Returns:
        The sidecar's contents, or `None` when the file or its sidecar is missing, or its size or
        sha256 differs from the sidecar's (a partial or corrupt file).
    """
    sidecar = path.with_suffix("").with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
        if path.stat().st_size != meta["size"] or _sha256(path) != meta["sha256"]:
            return None
        return meta
    except (OSError, ValueError, KeyError):
        return None


def _write_atomic(path: Path, write) -> None:
    """Calls `write(temporary_path)`, then moves the temporary file onto `path`."""
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def save(base, path: Path, meta: dict) -> dict:
    """Saves a base's weights atomically, then their sidecar (size, sha256 and `meta`).

    Args:
        base: a Keras model.
        path: the `.weights.h5` file.
        meta: what else to record (source, history, seconds).

    Returns:
        The sidecar's contents.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, base.save_weights)
    meta = {**meta, "size": path.stat().st_size, "sha256": _sha256(path)}
    sidecar = path.with_suffix("").with_suffix(".json")
    _write_atomic(sidecar, lambda p: Path(p).write_text(json.dumps(meta, indent=1)))
    return meta


def initial_base(name: str, source: dict, **options):
    """Builds the backbone exactly as the pretraining starts from: random init, seeded.

    Args:
        name: the backbone.
        source: as `source_settings` returns.
        **options: constructor options (such as `alpha`).

    Returns:
        The base, BatchNorm momentum 0.9 (Keras' 0.999 lags far behind a network trained from scratch).
    """
    import keras

    from labkit.models import transfer

    keras.utils.set_random_seed(source["seed"])
    side = source["image_size"]
    return transfer.backbone(name, input_shape=(side, side, 3), weights=None, bn_momentum=0.9, **options)


def pretrain(name: str, source: dict, *, verbose: int = 0, fit_eagerly: bool = False, **options):
    """Trains a backbone from random init on the source task.

    Args:
        name: the backbone.
        source: as `source_settings` returns.
        verbose: Keras' verbosity.
        fit_eagerly: run the fit eagerly (cheaper than tracing for a handful of steps).
        **options: constructor options (such as `alpha`).

    Returns:
        `(base, history, seconds)`.
    """
    import keras

    from labkit import compiled
    from labkit.data.source import source_task
    from labkit.models import transfer

    splits, class_names = source_task(fractal_classes=source["fractal_classes"], region_classes=source["region_classes"],
                                      per_class=source["per_class"], image_size=source["image_size"], seed=source["seed"])
    side = source["image_size"]
    base = initial_base(name, source, **options)
    inputs = keras.Input((side, side, 3))
    x = transfer.Preprocess(name)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(base(x))
    model = keras.Model(inputs, keras.layers.Dense(len(class_names), activation="softmax")(x))
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], run_eagerly=fit_eagerly)
    started = time.perf_counter()
    compiled.build_before_tracing(model, *splits["train"])
    history = model.fit(*splits["train"], validation_data=splits["val"], epochs=source["epochs"],
                        batch_size=BATCH_SIZE, verbose=verbose)
    return base, {k: [float(v) for v in vs] for k, vs in history.history.items()}, time.perf_counter() - started


def lab_weights(name: str, *, profile=None, cache_dir=None, rebuild: bool = False, verbose: int = 0,
                **options) -> LabWeights:
    """Finds a backbone's lab weights in the cache, pretraining them first when they are missing.

    Args:
        name: the backbone (`labkit.models.transfer.APPLICATIONS`).
        profile: the profile whose `source_size_for(name)` sets the source task; `None`: `labkit.setup`'s.
        cache_dir: the cache folder; `None` takes `labkit.setup`'s, else `labkit.config.resolve_cache_dir()`.
        rebuild: pretrain again even when valid weights are cached.
        verbose: Keras' verbosity while pretraining.
        **options: constructor options (such as `alpha`).

    Returns:
        A `LabWeights`.
    """
    from filelock import FileLock

    from labkit.session import active_profile

    from labkit.session import current

    source = source_settings(name, profile)
    key = cache_key(name, source, options)
    if cache_dir is None and current() is not None:
        cache_dir = current().cache_dir
    folder = resolve_cache_dir(cache_dir) / "weights"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.weights.h5"
    with FileLock(str(folder / f"{key}.lock")):
        meta = None if rebuild else read_valid(path)
        if meta is not None:
            return LabWeights(path, key, meta["source"], meta["history"], meta["seconds"], False)
        base, history, seconds = pretrain(name, source, verbose=verbose,
                                          fit_eagerly=active_profile(profile).fit_eagerly, **options)
        save(base, path, {"key": key, "source": source, "history": history, "seconds": seconds})
        return LabWeights(path, key, source, history, seconds, True)


IMAGENET_ORIGIN = ("ImageNet weights: keras.applications downloads them on first use from "
                   "https://storage.googleapis.com/tensorflow/keras-applications/ into ~/.keras/models "
                   "(trained on ImageNet-1k: 1.28 million photographs, 1,000 classes)")


def weights_note(name: str, *, profile=None) -> str:
    """Says which weights the transfer notebooks use for a backbone under a profile.

    Args:
        name: the backbone.
        profile: the profile; `None` takes the one `labkit.setup` chose.

    Returns:
        One or two sentences.
    """
    from labkit.session import active_profile

    profile = active_profile(profile)
    if profile.weights == "imagenet":
        return (f"{IMAGENET_ORIGIN}. The transfer notebooks use them in profile '{profile.name}'; "
                "the lab weights pretrained here show how such weights are made.")
    if profile.weights == "lab":
        s = source_settings(name, profile)
        return (f"Profile '{profile.name}' has no network: the transfer notebooks use these lab weights "
                f"({s['classes']} source classes × {s['per_class']} images at {s['image_size']} px, "
                f"{s['epochs']} epoch{'s' * (s['epochs'] != 1)}), not ImageNet.")
    return f"Profile '{profile.name}' uses random init: no pretrained weights."
