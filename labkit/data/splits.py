"""Train / validation / test splits that keep the class balance, and class-balanced caps."""

from __future__ import annotations

import math

import numpy as np

from labkit.errors import ParameterError, check_number, check_positive, check_seed

# Fractions of a dataset without an official test split that go to validation and test.
VAL_FRACTION = 0.15
TEST_FRACTION = 0.15

Arrays = tuple[np.ndarray, np.ndarray]

__all__ = ["TEST_FRACTION", "VAL_FRACTION", "split_off", "split_three", "take_stratified"]


def split_off(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[Arrays, Arrays]:
    """Splits off a fraction of the examples, stratified by class when every class allows it.

    Args:
        x: the images.
        y: their integer labels.
        fraction: the share of examples that goes to the second part, in (0, 1).
        seed: seed of the split.

    Returns:
        `((x_kept, y_kept), (x_off, y_off))`, labels as int64.
    """
    from sklearn.model_selection import train_test_split

    check_number("fraction", fraction, low=0.0, high=1.0, high_open=True)
    check_seed("split_seed", seed)
    _check_arrays(x, y)
    held_out = math.ceil(len(y) * fraction)  # as scikit-learn counts them
    if held_out < 1 or len(y) - held_out < 1:
        raise ParameterError(
            f"fraction={fraction!r} of {len(y)} examples leaves one part empty; "
            "the dataset needs more examples (or split_cap allows too few)"
        )
    try:
        x_a, x_b, y_a, y_b = train_test_split(x, y, test_size=fraction, stratify=y, random_state=seed)
    except ValueError:  # too few examples per class to stratify: a plain random split
        x_a, x_b, y_a, y_b = train_test_split(x, y, test_size=fraction, random_state=seed)
    return (x_a, y_a.astype(np.int64)), (x_b, y_b.astype(np.int64))


def split_three(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Arrays]:
    """Splits into train / val / test (`VAL_FRACTION`, `TEST_FRACTION`) with the class balance kept.

    Args:
        x: the images.
        y: their integer labels.
        seed: seed of the split.

    Returns:
        `{"train": (x, y), "val": (x, y), "test": (x, y)}`.
    """
    held_out = VAL_FRACTION + TEST_FRACTION
    train, rest = split_off(x, y, held_out, seed)
    val, test = split_off(*rest, TEST_FRACTION / held_out, seed)
    return {"train": train, "val": val, "test": test}


def take_stratified(x: np.ndarray, y: np.ndarray, count: int, seed: int) -> Arrays:
    """Keeps at most `count` examples, each class keeping its share.

    Args:
        x: the images.
        y: their integer labels.
        count: how many to keep at most.
        seed: seed of the sampling.

    Returns:
        `(x, y)`, in their original order; unchanged when there are `count` or fewer.
    """
    from sklearn.model_selection import train_test_split

    check_positive("split_cap", count)
    check_seed("split_seed", seed)
    _check_arrays(x, y)
    if len(y) <= count:
        return x, y
    try:
        keep, _ = train_test_split(np.arange(len(y)), train_size=count, stratify=y, random_state=seed)
    except ValueError:  # fewer examples than classes in the cap: plain sampling
        keep = np.random.default_rng(seed).choice(len(y), size=count, replace=False)
    keep = np.sort(keep)
    return x[keep], y[keep]


def _check_arrays(x, y) -> None:
    """Refuses images and labels that do not pair up (before scikit-learn says it its own way)."""
    if np.ndim(y) != 1 or len(x) != len(y):
        raise ParameterError(
            f"y must hold one label per image: got {np.shape(y)} labels for {len(x)} images"
        )
