"""A sweep's space, `{keyword: list of values}`: checked, and declared to keras-tuner and read back."""

from __future__ import annotations

import numbers

import numpy as np

from labkit.errors import ParameterError


def check_space(space) -> dict[str, list]:
    """Checks a sweep's space.

    Args:
        space: `{keyword: list of values}`; values are ints, floats, strings or bools, one kind
            per list (ints mixed with floats become floats), no value twice.

    Returns:
        `space` with lists of plain Python values.

    Raises:
        ParameterError: anything else, with the keyword and what is allowed.
    """
    allowed = (
        "a dict {keyword: non-empty list of ints, floats, strings or bools}, such as {'optimizer': ['adam', 'sgd']}"
    )
    if not isinstance(space, dict) or not space:
        raise ParameterError(f"space={space!r} must be {allowed}")
    checked = {}
    for keyword, values in space.items():
        if not isinstance(keyword, str) or not keyword.isidentifier():
            raise ParameterError(f"space key {keyword!r} must be the name of one of build's keyword arguments")
        listed = [] if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__") else list(values)
        if not listed:
            raise ParameterError(f"space[{keyword!r}]={values!r} must be a non-empty list; space must be {allowed}")
        plain = [_plain(keyword, value) for value in listed]
        kinds = {type(value) for value in plain}
        if kinds == {int, float}:
            plain, kinds = [float(value) for value in plain], {float}
        if len(kinds) > 1:
            kind = "values of one kind (ints, floats, strings or bools)"
            raise ParameterError(f"space[{keyword!r}]={values!r} must hold {kind}")
        if len(set(plain)) < len(plain):
            raise ParameterError(f"space[{keyword!r}]={values!r} lists a value twice")
        checked[keyword] = plain
    return checked


def _plain(keyword: str, value):
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ParameterError(f"space[{keyword!r}] holds {value!r}: the values must be ints, floats, strings or bools")


def _walk_order(hp) -> list:
    """The values of a declared hyperparameter in the order the grid walks them: its default first."""
    others = [value for value in hp.values if value != hp.default]
    return [hp.default, *others]


def declare(space: dict):
    """Declares a checked space as keras-tuner hyperparameters.

    Args:
        space: a space, as `check_space` returns it.

    Returns:
        A `keras_tuner.HyperParameters` with one `Choice` per keyword (bools as `Boolean`, a single
        bool as `Fixed`: keras-tuner's `Choice` would turn bools into ints).
    """
    import keras_tuner

    hyperparameters = keras_tuner.HyperParameters()
    for keyword, values in space.items():
        if not isinstance(values[0], bool):
            hyperparameters.Choice(keyword, values)
        elif len(values) == 1:
            hyperparameters.Fixed(keyword, values[0])
        else:
            hyperparameters.Boolean(keyword, default=values[0])
    return hyperparameters


def declared(hyperparameters) -> dict:
    """Reads a space back from keras-tuner's hyperparameters (a saved sweep's, say).

    Args:
        hyperparameters: a `keras_tuner.HyperParameters`.

    Returns:
        `{keyword: values}` in the order the grid walks them, comparable with `check_space`'s.
    """
    return {hp.name: _walk_order(hp) for hp in hyperparameters.space}
