"""Errors that labkit raises on bad input, each a one-line message naming the parameter."""

from __future__ import annotations

from collections.abc import Iterable


class LabkitError(Exception):
    """Base class of labkit's own errors."""


class ParameterError(LabkitError, ValueError):
    """A parameter has a value that labkit does not accept."""


class DownloadError(LabkitError, OSError):
    """A remote dataset could not be fetched (no network, server down, cut off)."""


class ChecksumError(DownloadError):
    """A downloaded file does not have the registered sha256; nothing was kept."""


def bad_choice(parameter: str, value: object, allowed: Iterable[object]) -> ParameterError:
    """Returns the error for `parameter=value` when only `allowed` values are accepted."""
    choices = ", ".join(repr(a) for a in allowed)
    return ParameterError(f"{parameter}={value!r} is not one of the allowed values: {choices}")


def check_choice(parameter: str, value: object, allowed: Iterable[object]) -> object:
    """Returns `value` if it is in `allowed`, else raises `bad_choice(...)`."""
    allowed = list(allowed)
    if value not in allowed:
        raise bad_choice(parameter, value, allowed)
    return value


def check_positive(parameter: str, value: object) -> int:
    """Returns `value` if it is a whole number above zero, else raises a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ParameterError(f"{parameter}={value!r} must be a whole number greater than 0")
    return value


def check_seed(parameter: str, value: object) -> int:
    """Returns `value` if it is a whole number ≥ 0, else raises a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ParameterError(f"{parameter}={value!r} must be a whole number ≥ 0")
    return value


def check_seconds(parameter: str, value: object, *, optional: bool = False) -> float | None:
    """Returns `value` if it is a positive number of seconds (or None when `optional`)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        tail = ", or None" if optional else ""
        raise ParameterError(f"{parameter}={value!r} must be a number of seconds greater than 0{tail}")
    return value
