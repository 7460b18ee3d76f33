"""Designs of sweeps over several layers: the full grid, one layer at a time, or one layer only.

A full grid grows as the product of its choices (3 activations on 4 layers: 81 models). The
other designs answer "which layer matters" at a fraction of the cost, but cannot see how layers
interact. `plan` makes the spaces of a design, `run_design` runs them as sweeps.
"""

from __future__ import annotations

import math
import os
import shlex
from pathlib import Path

from labkit.errors import ParameterError, bad_choice, check_choice

DESIGNS = ("grid", "one at a time", "one only")


def one_at_a_time(baseline: dict, values: dict) -> list[dict]:
    """Makes the spaces of a one-at-a-time design around `baseline`.

    The first space varies the first keyword of `values` (baseline included); each next space varies
    one more keyword alone, the others held at their baseline values, without repeating the
    baseline. `run_design` runs them: 1 + Σ(len(values[k]) - 1) trials instead of the grid's Π len(values[k]).

    Args:
        baseline: `{keyword: value}` for every keyword of the builder.
        values: `{keyword: values to try}` for the keywords to vary (a subset of `baseline`'s).

    Returns:
        A list of spaces for `run_design`.
    """
    if not values:
        raise ParameterError("values={} must name at least one keyword to vary")
    unknown = [k for k in values if k not in baseline]
    if unknown:
        raise bad_choice("values", unknown[0], list(baseline))
    spaces = []
    for index, (keyword, options) in enumerate(values.items()):
        others = [v for v in options if v != baseline[keyword]]
        choices = ([baseline[keyword]] if index == 0 else []) + others
        if choices:
            spaces.append({k: (choices if k == keyword else [v]) for k, v in baseline.items()})
    return spaces


def plan(design: str | None, baseline: dict, values: dict, *, focus: str | None = None) -> list:
    """Makes the spaces of a design, for `run_design`.

    Args:
        design: `"grid"` (every combination of `values`), `"one at a time"` (each keyword varied
            alone around `baseline`) or `"one only"` (only `focus` varied around `baseline`);
            `None` takes the profile's `sweep_design`.
        baseline: `{keyword: value}` for every keyword of the builder.
        values: `{keyword: values to try}`.
        focus: the keyword that `"one only"` varies.

    Returns:
        A list of spaces (`{keyword: values}`).
    """
    if design is None:
        from labkit.session import active_profile

        design = active_profile().sweep_design
    check_choice("design", design, DESIGNS)
    if design == "grid":
        return [{k: list(values.get(k, [v])) for k, v in baseline.items()}]
    if design == "one at a time":
        return one_at_a_time(baseline, values)
    check_choice("focus", focus, list(values))
    return one_at_a_time(baseline, {focus: values[focus]})


def trials(spaces: list) -> int:
    """Counts the trials of a design.

    Args:
        spaces: the spaces, as `plan` returns them.

    Returns:
        The number of combinations over all spaces.
    """
    return sum(math.prod(len(v) for v in space.values()) for space in spaces)


def run_design(build, spaces: list, *, directory: str | os.PathLike, name: str, **options):
    """Runs one sweep per space, each in `directory/<name>/part<i>`.

    Args:
        build: the builder, as `labkit.search.sweeps.run` takes it.
        spaces: the spaces, as `plan` returns them.
        directory: the folder that holds the design.
        name: the design's name: its folder in `directory`.
        **options: the other keyword arguments of `labkit.search.sweeps.run`.

    Returns:
        All the trials in one pandas DataFrame, with a `part` column.
    """
    import pandas as pd

    from labkit.search import sweeps

    sweeps._check_name(name)
    if not spaces:
        raise ParameterError("spaces=[] must hold at least one space")
    folder = Path(directory) / name
    tables = []
    for index, space in enumerate(spaces):
        table = sweeps.run(build, space, directory=folder, name=f"part{index}", **options)
        tables.append(table.assign(part=index))
    return pd.concat(tables, ignore_index=True)


def tensorboard_command(directory: str | os.PathLike, name: str) -> str:
    """Makes the command that opens TensorBoard on every part of a `run_design` design.

    Args:
        directory: the design's `directory`.
        name: the design's `name`.

    Returns:
        A command such as `tensorboard --logdir build/offline/work/.../name`, to run in the lab's folder.
    """
    from labkit.search import sweeps

    return f"tensorboard --logdir {shlex.quote(sweeps.shown_path(Path(directory) / sweeps._check_name(name)))}"
