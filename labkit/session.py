"""`labkit.setup(...)`: the first call of every notebook.

It resolves the profile, seeds every random generator, turns on deterministic ops, opens the
run's results file and prints one short block saying what this run is made of.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit import config, logs, results
from labkit.config import Profile, resolve_build_dir, resolve_cache_dir, resolve_profile, resolve_variant
from labkit.errors import ParameterError, check_seed, check_stem

_current: Lab | None = None


@dataclass(frozen=True)
class Lab:
    """What `setup` resolved for one notebook run.

    Attributes:
        profile: the `Profile` in force.
        seed: the seed given to Python, NumPy and Keras.
        notebook: the notebook's name (`"00_data_tour"`), which names its results file.
        build_dir: the build folder (executed notebooks, results, logs, search state).
        cache_dir: the download cache.
        versions: library versions, as printed.
        device: what the backend computes on, as printed.
    """

    profile: Profile
    seed: int
    notebook: str
    build_dir: Path
    cache_dir: Path
    versions: dict[str, str]
    device: str

    @property
    def run_dir(self) -> Path:
        """`<build>/<profile>`: everything this profile's runs write."""
        return self.build_dir / self.profile.name

    @property
    def results_path(self) -> Path:
        """`<build>/<profile>/results/<notebook>.json`: this run's results file."""
        return results.results_dir(self.build_dir, self.profile.name) / f"{self.notebook}.json"

    def work_dir(self, *parts: str) -> Path:
        """Makes a folder of this notebook's run, such as its logs or search state.

        Args:
            *parts: the folder's path below `<build>/<profile>/work/<notebook>/`.

        Returns:
            The folder, created when missing.
        """
        folder = self.run_dir / "work" / self.notebook / Path(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def current() -> Lab | None:
    """Finds the run that the last `setup` call prepared.

    Returns:
        The `Lab` of the last `setup` call in this process, or `None`.
    """
    return _current


def active_profile(profile: str | Profile | None = None) -> Profile:
    """Resolves the profile a labkit function should use.

    Args:
        profile: a name or `Profile`; `None` takes the last `setup` call's, else as `resolve_profile`.

    Returns:
        The `Profile`.
    """
    if profile is None and _current is not None:
        return _current.profile
    return resolve_profile(profile)


def setup(
    profile: str | None = None,
    seed: int = 0,
    *,
    notebook: str = "scratch",
    build_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    deterministic: bool = True,
    quiet: bool = False,
    variant: str | None = None,
    parameters: dict | None = None,
) -> Lab:
    """Prepares a notebook run.

    Args:
        profile: `"smoke"`, `"offline"` or `"full"`; `None` takes `$LABKIT_PROFILE`, then `"full"`.
        seed: seed of Python's `random`, NumPy and Keras (a whole number ≥ 0).
        notebook: the notebook's name; its results go to `<build>/<profile>/results/<notebook>.json`.
        build_dir: the build folder; `None` takes `$LABKIT_BUILD_DIR`, then the checkout's `build/`.
        cache_dir: the download cache; `None` takes `$LABKIT_DATA_DIR`, then the checkout's `data/`.
        deterministic: turn on the backend's deterministic ops (same numbers on every run on
            the same machine, a little slower).
        quiet: do not print the summary block.
        variant: the variant of the notebook being run (its results go to `<notebook>-<variant>.json`);
            `None` takes `$LABKIT_VARIANT`, which the runner sets.
        parameters: the notebook's parameters (`{"EPOCHS": 3, ...}`), kept in the results file.

    Returns:
        The `Lab`, also kept as `labkit.session.current()`.
    """
    global _current
    resolved = resolve_profile(profile)
    check_seed("seed", seed)
    notebook = _with_variant(check_stem("notebook", notebook, what="file stem"), resolve_variant(variant))

    determinism = _seed_backend(seed, deterministic)
    lab = Lab(
        profile=resolved,
        seed=seed,
        notebook=notebook,
        build_dir=resolve_build_dir(build_dir),
        cache_dir=resolve_cache_dir(cache_dir),
        versions=_versions(),
        device=_device(),
    )
    try:
        lab.results_path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(lab.results_path.parent, os.W_OK):
            raise PermissionError("not writable")
    except OSError as exc:
        raise ParameterError(f"build_dir={str(lab.build_dir)!r} cannot be written: {exc}") from None
    results.start(
        lab.results_path,
        {
            "notebook": notebook,
            "profile": resolved.name,
            "seed": seed,
            "real_data": resolved.real_data,
            "weights": resolved.weights,
            "device": lab.device,
            "versions": lab.versions,
            "parameters": dict(parameters or {}),
        },
    )
    logs.capture(lab.run_dir / "logs" / f"{notebook}.log")
    _current = lab
    if not quiet:
        print(_banner(lab, determinism))
    return lab


def _seed_backend(seed: int, deterministic: bool) -> str:
    """Seeds Python, NumPy and Keras and turns on deterministic ops; returns `"on"` or `"off"`."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() != "tensorflow":
        return "off"
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing notices between models are not the learner's concern
    if not deterministic:
        return "off"
    tf.config.experimental.enable_op_determinism()
    return "on"


def _with_variant(notebook: str, variant: str | None) -> str:
    """`07_transfer` and `mobilenet_v2` -> `07_transfer-mobilenet_v2`, which names the results file."""
    if variant is None:
        return notebook
    return f"{notebook}-{check_stem('variant', variant, what='variant name', example=repr('mobilenet_v2'))}"


def _source_words(size) -> str:
    per_family, per_class, _, epochs = size
    return f"{2 * per_family} classes × {per_class} images, {epochs} epoch{'s' * (epochs != 1)}"


def _banner(lab: Lab, determinism: str) -> str:
    profile = lab.profile
    data = "real datasets, downloaded to the download cache" if profile.real_data else (
        "embedded stand-ins (drawn by formula or cut from images the dependencies ship; no network)"
    )
    weights = {
        "imagenet": "ImageNet (keras.applications downloads them)",
        "lab": "LAB-PRETRAINED, not ImageNet: backbones pretrained by labkit on its source task "
        f"({_source_words(profile.source_size)}"
        + "".join(f"; {name}: {_source_words(size)}" for name, size in profile.source_sizes)
        + "; labkit.models.pretrain)",
    }.get(profile.weights, "RANDOM INIT: no pretrained weights in this profile")
    versions = " · ".join(f"{k} {v}" for k, v in lab.versions.items())
    return "\n".join(
        [
            f"labkit · profile {profile.name}: {profile.summary}",
            f"  data     {data}",
            f"  weights  {weights}",
            f"  device   {lab.device}",
            f"  seed     {lab.seed} (python, numpy, keras; deterministic ops {determinism})",
            f"  versions {versions}",
            f"  results  {lab.results_path.relative_to(lab.build_dir)} (in the build folder)",
        ]
    )


def _versions() -> dict[str, str]:
    from importlib import metadata

    import keras
    import numpy

    versions = {"python": platform.python_version()}
    try:
        versions["labkit"] = metadata.version("labkit")
    except metadata.PackageNotFoundError:
        versions["labkit"] = "source"
    versions["keras"] = keras.__version__
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    else:
        versions[keras.backend.backend()] = "backend"
    versions["numpy"] = numpy.__version__
    return versions


def _device() -> str:
    import keras

    place = "Colab" if "google.colab" in sys.modules else platform.node() or "local"
    cores = os.cpu_count() or 1
    gpus: list[str] = []
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    if gpus:
        return f"{len(gpus)} GPU ({', '.join(gpus)}) on {place}"
    return f"CPU only ({cores} cores) on {place}{_cpu_kernels()}"


def _cpu_kernels() -> str:
    """`, oneDNN kernels on` or off, with the remedy when TensorFlow was imported before labkit."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return ""
    try:
        from tensorflow.python.util import _pywrap_util_port

        on = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):  # a TensorFlow without the probe: say nothing
        return ""
    if on:
        return ", oneDNN kernels on"
    if os.environ.get(config.ONEDNN_VARIABLE) == "0":
        return f", oneDNN kernels off ({config.ONEDNN_VARIABLE}=0)"
    return (", oneDNN kernels off: TensorFlow was imported before labkit (restart the kernel and import "
            "labkit first; ResNet50 trains up to 5× faster with them)")
