"""Errors that labkit raises on bad input, each a one-line message naming the parameter.

Every argument check in labkit goes through the `check_*` functions here, so that a bad value
always gives the same kind of message: the parameter, the value, and what is allowed. Each takes
the parameter's name and the value given, and returns the value (converted where said) or raises
a `ParameterError`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from pathlib import Path


class LabkitError(Exception):
    """Base class of labkit's own errors."""


class ParameterError(LabkitError, ValueError):
    """A parameter has a value that labkit does not accept."""


class DownloadError(LabkitError, OSError):
    """A remote dataset could not be fetched (no network, server down, cut off)."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the registered sha256; nothing was kept."""


class DataError(LabkitError, ValueError):
    """A data file (downloaded or given) cannot be read: the message names the file, and the
    dataset and URL where known."""


# The largest seed that every generator labkit seeds accepts (NumPy, scikit-learn, Keras).
MAX_SEED = 2**32 - 1


def bad_choice(parameter: str, value: object, allowed: Iterable[object]) -> ParameterError:
    """Makes the error for `parameter=value` when only `allowed` values are accepted.

    Args:
        parameter: the parameter's name, as the caller wrote it.
        value: the value that was given.
        allowed: the accepted values, listed in the message.

    Returns:
        The `ParameterError` (to raise).
    """
    choices = ", ".join(repr(a) for a in allowed)
    return ParameterError(f"{parameter}={value!r} is not one of the allowed values: {choices}")


def check_choice(parameter: str, value: object, allowed: Iterable[object]) -> object:
    """Checks that `value` is one of `allowed`.

    Args:
        parameter, value: the parameter's name and the value given.
        allowed: the accepted values (the message lists them).

    Returns:
        `value`, unchanged.
    """
    allowed = list(allowed)
    if value not in allowed:
        raise bad_choice(parameter, value, allowed)
    return value


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _whole(parameter: str, value: object, minimum: int, wording: str) -> int:
    if not _is_whole(value) or value < minimum:
        raise ParameterError(f"{parameter}={value!r} must be a whole number {wording}")
    return int(value)


def check_positive(parameter: str, value: object) -> int:
    """Checks a count: a whole number above zero.

    Args:
        parameter, value: the parameter's name and the value given.

    Returns:
        `value` as an `int`.
    """
    return _whole(parameter, value, 1, "greater than 0")


def check_seed(parameter: str, value: object) -> int:
    """Checks a seed: a whole number from 0 to `MAX_SEED` (what NumPy and scikit-learn accept).

    Args:
        parameter, value: the parameter's name and the value given.

    Returns:
        `value` as an `int`.
    """
    if _is_whole(value) and value > MAX_SEED:
        raise ParameterError(f"{parameter}={value!r} must be a whole number from 0 to {MAX_SEED}")
    return _whole(parameter, value, 0, "≥ 0")


def check_seconds(parameter: str, value: object, *, optional: bool = False) -> float | None:
    """Checks a duration: a number of seconds above zero.

    Args:
        parameter, value: the parameter's name and the value given.
        optional: whether `None` (no limit) is accepted.

    Returns:
        `value`, unchanged.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        tail = ", or None" if optional else ""
        raise ParameterError(f"{parameter}={value!r} must be a number of seconds greater than 0{tail}")
    return value


def check_number(parameter: str, value: object, *, low: float = 0.0, high: float | None = None,
                 low_open: bool = True, high_open: bool = False) -> float:
    """Checks a real number in a range (the message gives the range).

    Args:
        parameter, value: the parameter's name and the value given.
        low: the lower bound.
        high: the upper bound; `None` for none.
        low_open: whether `low` itself is refused.
        high_open: whether `high` itself is refused.

    Returns:
        `value` as a `float`.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        number = float(value)
        above = number > low if low_open else number >= low
        below = high is None or (number < high if high_open else number <= high)
        ok = above and below
    if not ok:
        left = "(" if low_open else "["
        right = "∞)" if high is None else (f"{high:g})" if high_open else f"{high:g}]")
        raise ParameterError(f"{parameter}={value!r} must be a number in {left}{low:g}, {right}")
    return float(value)


def check_rate(parameter: str, value: object) -> float:
    """Checks a dropout rate, in [0, 1).

    Args:
        parameter, value: the parameter's name and the value given.

    Returns:
        `value` as a `float`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ParameterError(f"{parameter}={value!r} must be a dropout rate in [0, 1)")
    return float(value)


def check_counts(parameter: str, value: object, length: int, *, what: str) -> tuple[int, ...]:
    """Checks a fixed number of counts, such as `(train, val, test)` sizes.

    Args:
        parameter, value: the parameter's name and the value given (a sequence).
        length: how many counts it must hold.
        what: what the counts are, for the message (`"(train, val, test)"`).

    Returns:
        The counts as a tuple of `int`, each checked by `check_positive`.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != length:
        raise ParameterError(f"{parameter}={value!r} must be {length} whole numbers greater than 0: {what}")
    return tuple(check_positive(parameter, v) for v in value)


def check_image_size(parameter: str, value: object, *, optional: bool = False) -> tuple[int, int] | None:
    """Checks an image size: one side in pixels, or a `(height, width)` pair.

    Args:
        parameter, value: the parameter's name and the value given (`64` or `(64, 48)`).
        optional: whether `None` (keep the images' own size) is accepted.

    Returns:
        `(height, width)`, or `None` when `optional` and `value` is `None`.
    """
    if value is None and optional:
        return None
    if _is_whole(value) and value > 0:
        return (int(value), int(value))
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) == 2:
        if all(_is_whole(v) and v > 0 for v in value):
            return (int(value[0]), int(value[1]))
    tail = ", or None" if optional else ""
    raise ParameterError(
        f"{parameter}={value!r} must be a whole number greater than 0 (a side in pixels), "
        f"or a (height, width) pair of them{tail}"
    )


def check_per_item(parameter: str, value: object, count: int, *, item: str = "item") -> tuple:
    """Accepts one value for all `count` items, or a sequence of exactly `count` values.

    Args:
        parameter, value: the parameter's name and the value given (one value, or a sequence).
        count: how many items there are.
        item: what an item is, for the message (`"convolution"`).

    Returns:
        A tuple of `count` values.
    """
    if isinstance(value, (str, numbers.Number)) and not isinstance(value, bool):
        return (value,) * count
    values = tuple(value) if isinstance(value, Iterable) else (value,)
    if len(values) != count:
        raise ParameterError(f"{parameter}={value!r} must give one value per {item} ({count}), or a single value")
    return values


def check_stem(parameter: str, value: object, *, what: str = "name", example: str = "'00_data_tour'") -> str:
    """Checks a plain file or folder name: not empty, not `.` or `..`, no path separator.

    Args:
        parameter, value: the parameter's name and the value given.
        what: what the name names, for the message (`"folder name"`).
        example: an example of a good value, for the message.

    Returns:
        `value`, unchanged.
    """
    if not isinstance(value, str) or value in ("", ".", "..") or Path(value).name != value:
        raise ParameterError(f"{parameter}={value!r} must be a plain {what} such as {example} (no folder)")
    return value


def check_text(parameter: str, value: object) -> str:
    """Checks a non-empty string.

    Args:
        parameter, value: the parameter's name and the value given.

    Returns:
        `value`, unchanged.
    """
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{parameter}={value!r} must be a non-empty string")
    return value
