"""Datasets ready for Keras, at the size the profile asks for.

`load(name)` is the one call the notebooks make. Real datasets (`fashion_mnist`,
`flowers`) are downloaded under the `full` profile; the `smoke` and `offline` profiles
substitute their embedded stand-ins (`garments`, drawn by formula, and `photos`, cut from
pictures that the dependencies ship), and say so in the dataset's notes.
"""

from __future__ import annotations

import os

import numpy as np

from labkit import session
from labkit.config import Profile, resolve_cache_dir
from labkit.data import embedded, garments
from labkit.data.dataset import SPLITS, Dataset
from labkit.data.pipeline import resize
from labkit.data.registry import REGISTRY
from labkit.data.splits import VAL_FRACTION, split_off, split_three, take_stratified
from labkit.errors import bad_choice, check_counts, check_image_size, check_seed

REAL = tuple(REGISTRY)
EMBEDDED = tuple(embedded.SPECS)
STAND_INS = {spec.stands_in_for: name for name, spec in embedded.SPECS.items() if spec.stands_in_for}

__all__ = ["Dataset", "EMBEDDED", "REAL", "STAND_INS", "catalogue", "load", "names", "overview"]


def names() -> list[str]:
    """Lists the datasets.

    Returns:
        Every name that `load` accepts: the real datasets, then the embedded ones.
    """
    return [*REAL, *EMBEDDED]


def catalogue():
    """Describes every dataset `load` knows.

    Returns:
        A pandas DataFrame, one row per dataset: kind, what it is, its offline stand-in, licence.
    """
    import pandas as pd

    rows = []
    for name in REAL:
        entry = REGISTRY[name]
        size = sum(f.size for f in entry.files)
        rows.append(
            {
                "name": name,
                "kind": f"download ({size / 1e6:.0f} MB)",
                "what": entry.title,
                "offline stand-in": STAND_INS.get(name, "-"),
                "licence": entry.licence,
            }
        )
    for name, spec in embedded.SPECS.items():
        rows.append(
            {
                "name": name,
                "kind": "embedded",
                "what": spec.title,
                "offline stand-in": "-",
                "licence": spec.licence,
            }
        )
    return pd.DataFrame(rows).set_index("name")


def overview(datasets):
    """Describes loaded datasets side by side.

    Args:
        datasets: `Dataset`s, as `load` returns them.

    Returns:
        A pandas DataFrame with one row per dataset: what it stands in for, split sizes,
        image shape and classes.
    """
    import pandas as pd

    rows = []
    for ds in datasets:
        sizes = {split: len(ds.splits[split][1]) for split in SPLITS}
        rows.append(
            {
                "dataset": ds.name,
                "stands in for": ds.requested if ds.substituted else "-",
                **sizes,
                "total": sum(sizes.values()),
                "image": "×".join(map(str, ds.input_shape)),
                "classes": ds.num_classes,
            }
        )
    return pd.DataFrame(rows).set_index("dataset")


def load(
    name: str,
    *,
    profile: str | Profile | None = None,
    image_size: int | None = None,
    split_cap: tuple[int, int, int] | None = None,
    split_seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> Dataset:
    """Loads a dataset with train, validation and test splits, ready for `model.fit`.

    Args:
        name: one of `names()`: `fashion_mnist`, `flowers` (downloaded under `full`,
            replaced by `garments` and `photos` otherwise), `garments`, `digits`, `photos`, `faces`.
        profile: the profile; `None` takes the one `labkit.setup` chose.
        image_size: side of the images in pixels, or `(height, width)`; `None` keeps the
            dataset's own size (28 for the grayscale sets, 25 for faces) or the profile's for
            colour photos.
        split_cap: at most this many examples in train, validation and test, sampled
            with the class balance kept; `None` takes the profile's cap.
        split_seed: seed of the split and the sampling. Fixed by default, so that every
            run and every seed of a notebook sees the same test set.
        cache_dir: the download cache; `None` takes `data/` of the checkout.
        progress: show download progress bars.

    Returns:
        A `Dataset`.
    """
    if name not in names():
        raise bad_choice("name", name, names())
    image_size = check_image_size("image_size", image_size, optional=True)
    check_seed("split_seed", split_seed)
    profile = session.active_profile(profile)
    cap = profile.split_cap if split_cap is None else check_counts(
        "split_cap", split_cap, 3, what="the most examples in (train, val, test)"
    )

    notes: list[str] = []
    actual = name
    if name in REAL and not profile.real_data:
        actual = STAND_INS[name]
        notes.append(
            f"'{name}' is downloaded only under the full profile; profile '{profile.name}' "
            f"uses its embedded stand-in '{actual}'."
        )

    if actual in REAL:
        dataset, capped = _load_real(actual, profile, image_size, split_seed, cache_dir, progress), False
    else:
        dataset, capped = _load_embedded(actual, profile, image_size, cap, split_seed)
    dataset.requested = name
    if cap is not None:
        before = {s: len(dataset.splits[s][1]) for s in SPLITS}
        dataset.splits = {
            s: take_stratified(*dataset.splits[s], cap[i], split_seed) for i, s in enumerate(SPLITS)
        }
        if capped or any(len(dataset.splits[s][1]) < before[s] for s in SPLITS):
            notes.append(f"profile '{profile.name}' caps the splits at {cap[0]}/{cap[1]}/{cap[2]} examples.")
    dataset.notes = notes + dataset.notes
    from labkit import results

    results.note_dataset(dataset)
    return dataset


def _load_embedded(name, profile, image_size, cap, split_seed) -> Dataset:
    """The embedded set, and whether it was drawn smaller than whole because of the cap."""
    spec = embedded.SPECS[name]
    size = image_size or spec.default_size or profile.image_size
    capped = False
    if name == "garments":
        sizes = garments.SIZES if cap is None else tuple(min(s, c) for s, c in zip(garments.SIZES, cap))
        capped = sizes != garments.SIZES
        splits = _cached_garments(sizes, split_seed)
        class_names = list(garments.CLASS_NAMES)
        if size != garments.SIDE:
            splits = {s: (resize(x[..., 0], size), y) for s, (x, y) in splits.items()}
    elif name == "photos":
        per_class = _capped_per_class((240, 60, 60), cap)
        capped = per_class != (240, 60, 60)
        splits, class_names = embedded.photos(image_size=size, per_class=per_class, seed=split_seed)
    elif name == "tiles":
        from labkit.data.tiles import PER_CLASS, tiles

        per_class = _capped_per_class(PER_CLASS, cap)
        capped = per_class != PER_CLASS
        splits, class_names = tiles(image_size=size, per_class=per_class, seed=split_seed)
    else:
        x, y, class_names = getattr(embedded, name)(image_size=size)
        splits = split_three(x, y, split_seed)
    return Dataset(name=name, requested=name, title=spec.title, source=spec.source, licence=spec.licence,
                   class_names=class_names, splits=splits, profile=profile.name), capped


def _capped_per_class(per_class: tuple[int, int, int], cap) -> tuple[int, int, int]:
    """Crops per photograph to cut in (train, val, test) under a split cap: no more than the cap keeps."""
    if cap is None:
        return per_class
    n = len(embedded.PHOTOS)
    return tuple(max(1, min(p, c // n)) for p, c in zip(per_class, cap))


def _cached_garments(sizes, seed) -> dict:
    """`garments.splits`, kept in the download cache (drawing 10,000 images takes a few seconds)."""
    folder = resolve_cache_dir(None) / "garments"
    path = folder / f"v1-seed{seed}-d{garments.DIFFICULTY}-{'-'.join(map(str, sizes))}.npz"
    try:
        with np.load(path) as stored:
            return {s: (stored[f"x_{s}"], stored[f"y_{s}"]) for s in SPLITS}
    except (OSError, KeyError, ValueError):
        pass
    splits = garments.splits(sizes, seed=seed)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.npz")
        np.savez(temporary, **{f"{p}_{s}": a for s, (x, y) in splits.items() for p, a in (("x", x), ("y", y))})
        os.replace(temporary, path)
    except OSError:  # a read-only cache: draw again next time
        pass
    return splits


def _load_real(name, profile, image_size, split_seed, cache_dir, progress) -> Dataset:
    from labkit.data import remote

    entry = REGISTRY[name]
    size = image_size or (None if name == "fashion_mnist" else profile.image_size)
    arrays, class_names = remote.load(name, resolve_cache_dir(cache_dir), image_size=size, progress=progress)
    x, y = arrays["train"]
    x = x.astype(np.float32) / 255.0
    if "test" in arrays:
        x_test, y_test = arrays["test"]
        train, val = split_off(x, y, VAL_FRACTION, split_seed)
        splits = {"train": train, "val": val, "test": (x_test.astype(np.float32) / 255.0, y_test.astype(np.int64))}
    else:
        splits = split_three(x, y, split_seed)
    return Dataset(name=name, requested=name, title=entry.title, source=entry.homepage, licence=entry.licence,
                   class_names=list(class_names), splits=splits, profile=profile.name)
