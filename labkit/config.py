"""Profiles and paths: the one place in labkit that reads environment variables.

A profile chooses defaults only; every setting stays a named argument elsewhere.
Resolution order for the profile: the notebook's parameter, then ``LABKIT_PROFILE``,
then ``DEFAULT_PROFILE`` (what a learner on Colab wants: the real data and weights).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from labkit.errors import bad_choice

PROFILE_VARIABLE = "LABKIT_PROFILE"
BUILD_DIR_VARIABLE = "LABKIT_BUILD_DIR"
CACHE_DIR_VARIABLE = "LABKIT_DATA_DIR"
VARIANT_VARIABLE = "LABKIT_VARIANT"  # set by the runner when it runs one variant of a notebook
REGISTRY_VARIABLE = "LABKIT_REGISTRY"  # a mirror's registry file (`labkit.data.registry.active`)
DEFAULT_PROFILE = "full"


@dataclass(frozen=True)
class HyperScale:
    """How large notebook 05's searches are (`labkit.search.hyper`); the full profile's are the seeds'.

    Attributes:
        image_size: side of the colour images the ResNet space is searched on.
        split_cap: at most this many examples per split in the searches; `None` keeps all.
        width: the ResNet's first bottleneck width; `None`: keras-tuner's `HyperResNet` (64).
        eager: run the searched models eagerly (`model.run_eagerly`): with a few images, tracing a
            100-layer training step costs more than running it.
        depth_divisor: the ResNet is built with the space's conv3/conv4 depths divided by this
            (rounded up, at least 2); 1 builds the seed's depths.
        max_epochs: Hyperband's `max_epochs`, also each random trial's and retraining's epochs.
        factor: Hyperband's reduction factor.
        seeds: the search seeds of the RandomSearch-against-Hyperband comparison.
        optimizer_trials: trials per round of seed report 001's random search.
        optimizer_epochs: its most epochs per trial (early stopping may end a trial sooner).
    """

    image_size: int = 224
    split_cap: tuple[int, int, int] | None = None
    width: int | None = None
    depth_divisor: int = 1
    eager: bool = False
    max_epochs: int = 10
    factor: int = 2
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    optimizer_trials: int = 6
    optimizer_epochs: int = 50


@dataclass(frozen=True)
class Profile:
    """Defaults shared by every notebook for one way of running the course.

    Attributes:
        name: `smoke`, `offline`, `full` or `rehearsal`.
        real_data: whether datasets are downloaded (`full`, `rehearsal`) or embedded.
        weights: the default weights of `keras.applications` backbones: `"imagenet"` (downloaded by
            Keras), `"lab"` (pretrained by labkit on its own source task, cached) or `None` (random init).
        source_size: the lab source task (`labkit.data.source`): `(classes per family, images per
            class, image side, epochs)` of the pretraining that `"lab"` weights come from.
        source_sizes: per-backbone exceptions to `source_size`, as `((name, size), ...)`: on 2 CPU
            cores ResNet50 and InceptionV3 train several times slower per image than MobileNetV2
            (at their sizes, 3× and 5× with oneDNN kernels, 18× without; `benchmarks/throughput.py`),
            so the offline profile gives them a smaller source task.
        fit_eagerly: run the tiny fits of this profile eagerly: tracing a big backbone's graph costs
            more than a few steps on a handful of images.
        split_cap: at most this many examples per split (train, val, test); `None` keeps all.
        epochs: default number of training epochs.
        image_size: default side of the colour images, in pixels.
        cell_timeout: seconds one notebook cell may run under the runner (`None`: no limit).
        trials: default number of models a search (AutoKeras, keras-tuner) tries.
        search_seconds: default time budget of one search (`None`: no limit).
        sweep_design: default design of a sweep over several layers (`labkit.search.designs.plan`):
            `"grid"`, `"one at a time"` or `"one only"`.
        sweep_validation: when a sweep's trials are validated: `"every epoch"` (curves in TensorBoard)
            or `"last epoch"` (one pass over the validation split per trial: on 2 CPU cores a pass over
            4,000 images costs half a training epoch of 2,000).
        repeat_seeds: default seeds of repeated runs (`labkit.stats.repeat`).
        summary: one line saying what the profile is for.
        hyper: the size of notebook 05's searches.
        learns: whether a notebook's default training is long enough to beat chance, so that it can
            check that it did: smoke's epoch on a few dozen images checks that the code runs, not
            what it teaches.
        backbone_size: the side at which `keras.applications` backbones take the real data; `None`:
            their native side (224, 299 for InceptionV3). The rehearsal takes the full profile's code
            paths at a side that 2 CPU cores can afford.
        comparison_cap: at most this many configurations in a long default comparison (`capped`); `None`: all.
    """

    name: str
    real_data: bool
    weights: str | None
    source_size: tuple[int, int, int, int]
    fit_eagerly: bool
    split_cap: tuple[int, int, int] | None
    epochs: int
    image_size: int
    cell_timeout: int | None
    trials: int
    search_seconds: int | None
    sweep_design: str
    sweep_validation: str
    repeat_seeds: tuple[int, ...]
    summary: str
    hyper: HyperScale = HyperScale()
    source_sizes: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()
    learns: bool = True
    backbone_size: int | None = None
    comparison_cap: int | None = None

    def source_size_for(self, backbone: str) -> tuple[int, int, int, int]:
        """The source task that `backbone`'s lab weights are pretrained on.

        Args:
            backbone: a backbone name (`labkit.models.transfer.APPLICATIONS`).

        Returns:
            `(classes per family, images per class, image side, epochs)`: its entry in
            `source_sizes`, else `source_size`.
        """
        return dict(self.source_sizes).get(backbone, self.source_size)

    def capped(self, configurations) -> list:
        """A notebook's default configurations, cut to `comparison_cap`.

        Args:
            configurations: the comparison's, in the order the page shows them.

        Returns:
            All of them without a cap (or few enough); else that many, evenly spread from the first to the last.
        """
        items, cap = list(configurations), self.comparison_cap
        keep = len(items) if cap is None else min(cap, len(items))
        return [items[round(i * (len(items) - 1) / max(keep - 1, 1))] for i in range(keep)]

    @property
    def pretrained(self) -> bool:
        """Whether backbones load ImageNet weights (AutoKeras' `pretrained`); see `weights`."""
        return self.weights == "imagenet"


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        real_data=False,
        weights="lab",
        source_size=(2, 8, 32, 1),
        fit_eagerly=True,
        split_cap=(64, 32, 32),
        epochs=1,
        image_size=32,
        cell_timeout=600,
        trials=1,
        search_seconds=120,
        sweep_design="one only",
        sweep_validation="last epoch",
        repeat_seeds=(0, 1),
        summary="tiny slices of the embedded data, tiny lab-pretrained weights: CI and quick checks",
        hyper=HyperScale(image_size=16, split_cap=(32, 16, 16), width=2, depth_divisor=12, eager=True,
                         max_epochs=1, factor=2, seeds=(0,),
                         optimizer_trials=2, optimizer_epochs=2),
        learns=False,
        comparison_cap=2,
    ),
    "offline": Profile(
        name="offline",
        real_data=False,
        weights="lab",
        source_size=(32, 120, 32, 8),
        fit_eagerly=False,
        split_cap=None,
        epochs=3,
        image_size=64,
        cell_timeout=3600,
        trials=1,
        search_seconds=1200,
        sweep_design="one at a time",
        sweep_validation="last epoch",
        repeat_seeds=(0, 1, 2),
        summary="the embedded data at full size, lab-pretrained weights: the main job, no network",
        # ResNet50 and InceptionV3 train 3-5x slower per image than MobileNetV2: a smaller source task for them.
        source_sizes=(("resnet50", (16, 60, 32, 4)), ("inception_v3", (16, 60, 75, 4))),
        # Eager: 1.23x faster than traced here (benchmarks/hypersearch.py, alternated, stop 24).
        hyper=HyperScale(image_size=16, split_cap=(160, 80, 160), width=4, depth_divisor=3, eager=True,
                         max_epochs=3, factor=3, seeds=(0, 1, 2),
                         optimizer_trials=4, optimizer_epochs=12),
    ),
    "full": Profile(
        name="full",
        real_data=True,
        weights="imagenet",
        source_size=(32, 120, 32, 8),
        fit_eagerly=False,
        split_cap=None,
        epochs=10,
        image_size=160,
        cell_timeout=None,
        trials=5,
        search_seconds=3 * 3600,
        sweep_design="grid",
        sweep_validation="every epoch",
        repeat_seeds=(0, 1, 2, 3, 4),
        summary="the real datasets and ImageNet weights: Colab or a GPU",
    ),
}
# CI's rehearsal of `full` (`labkit.rehearsal`): smoke's sizes on a local mirror's small files, with full's code
# paths (real data, traced fits, grid sweeps validated every epoch, searches of several trials); no ImageNet
# weights without a network, so smoke's tiny "lab" weights stand in for them.
PROFILES["rehearsal"] = replace(
    PROFILES["smoke"], name="rehearsal", real_data=True, fit_eagerly=False, trials=2, backbone_size=32,
    sweep_design=PROFILES["full"].sweep_design, sweep_validation=PROFILES["full"].sweep_validation,
    hyper=replace(PROFILES["smoke"].hyper, eager=PROFILES["full"].hyper.eager, max_epochs=2),
    summary="the full profile's code paths on a local mirror's small files, tiny lab weights: CI's rehearsal",
)


def quiet_backend_logs() -> None:
    """Silences TensorFlow's C++ start-up log (oneDNN notices, absl lines) unless the user set
    `TF_CPP_MIN_LOG_LEVEL`: they would flood every page. Real failures still raise Python exceptions.
    Called when labkit is imported, before anything imports TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def fast_cpu_kernels() -> None:
    """Turns on TensorFlow's oneDNN kernels unless the user set `TF_ENABLE_ONEDNN_OPTS`.

    TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI, BF16 or AMX; on others (such
    as AVX2-only AMD EPYC cores) it falls back to kernels that train ResNet50 at 32 px 5× slower
    (15 against 77 images/s, 64 px 12 against 31, InceptionV3 at 75 px 32 against 48;
    `benchmarks/throughput.py`, stop 21). Results stay identical from run to run (same seed, same
    weights); they differ from the other kernels' in the last bits. MobileNetV2 trains 0.8× as fast with
    them: the course's ResNet50s and InceptionV3 outweigh it. It must happen before TensorFlow is
    imported: labkit does it when imported, and the runner, the grader and the tests pass it on to
    the kernels they start. Called when labkit is imported.
    """
    os.environ.setdefault(ONEDNN_VARIABLE, "1")


def resolve_profile(profile: str | Profile | None = None) -> Profile:
    """Returns the profile to use.

    Args:
        profile: a profile name or object; `None` falls back to `$LABKIT_PROFILE`,
            then to `DEFAULT_PROFILE`.

    Returns:
        The `Profile`.

    Raises:
        ParameterError: the name is not one of `PROFILES`.
    """
    if isinstance(profile, Profile):
        return profile
    parameter = "profile"
    if profile is None or profile == "":
        profile = os.environ.get(PROFILE_VARIABLE) or None
        parameter = PROFILE_VARIABLE
    if profile is None:
        profile = DEFAULT_PROFILE
    key = str(profile).strip().lower()
    if key not in PROFILES:
        raise bad_choice(parameter, profile, PROFILES)
    return PROFILES[key]


def project_root(start: Path | None = None) -> Path | None:
    """Finds the lab's checkout.

    Args:
        start: where to look from (the folder and its parents); `None` takes the working folder.

    Returns:
        The folder that holds `notebooks/` and `labkit/`, or `None` outside a checkout.
    """
    here = Path(start or Path.cwd()).resolve()
    candidates = [here, *here.parents, Path(__file__).resolve().parent.parent]
    for folder in candidates:
        if (folder / "notebooks").is_dir() and (folder / "labkit").is_dir():
            return folder
    return None


def resolve_build_dir(build_dir: str | os.PathLike | None = None) -> Path:
    """Resolves the build folder.

    Args:
        build_dir: the folder; `None` takes `$LABKIT_BUILD_DIR`, then the checkout's `build/`,
            then `./build` outside a checkout (Colab).

    Returns:
        The absolute path.
    """
    if build_dir is None:
        build_dir = os.environ.get(BUILD_DIR_VARIABLE) or None
    if build_dir is None:
        root = project_root()
        build_dir = (root or Path.cwd()) / "build"
    return Path(build_dir).resolve()


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Resolves the download cache.

    Args:
        cache_dir: the folder; `None` takes `$LABKIT_DATA_DIR`, then the checkout's `data/`,
            then `./data` outside a checkout.

    Returns:
        The absolute path.
    """
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_DIR_VARIABLE) or None
    if cache_dir is None:
        root = project_root()
        cache_dir = (root or Path.cwd()) / "data"
    return Path(cache_dir).resolve()


def resolve_variant(variant: str | None = None) -> str | None:
    """Resolves the variant of the notebook being run (see `labkit.runner.selection`).

    Args:
        variant: the variant's name; `None` takes `$LABKIT_VARIANT` (set by the runner), then none.

    Returns:
        The name, or `None`.
    """
    return variant if variant is not None else (os.environ.get(VARIANT_VARIABLE) or None)


def resolve_registry_file(path: str | os.PathLike | None = None) -> Path | None:
    """Resolves the file of a mirror's registry (`labkit.data.registry.active`).

    Args:
        path: the file; `None` takes `$LABKIT_REGISTRY`, then none (the real addresses).

    Returns:
        The absolute path, or `None`.
    """
    if path is None:
        path = os.environ.get(REGISTRY_VARIABLE) or None
    return None if path is None else Path(path).resolve()
