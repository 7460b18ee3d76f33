"""Which notebooks a run executes: exactly what was named, or a refusal that says why.

A name is a stem (`00_data_tour`), a file name (`00_data_tour.ipynb`), a number prefix of two
digits (`00`), a stem and variant (`07_transfer-mobilenet_v2`) or a path to a notebook (a name with
a folder part, such as `notebooks/00_data_tour.ipynb` or `~/mine/00_data_tour.ipynb`). A path runs
that very file, wherever it lies; nothing is matched by a guess.

A notebook may declare variants in its metadata, `{"labkit": {"variants": {"mobilenet_v2":
{"BACKBONE": "mobilenet_v2"}, ...}}}`: it then runs once per variant with those parameters, as
`<stem>-<variant>` (executed copy, results file and log).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from labkit.config import project_root
from labkit.errors import ParameterError, bad_choice

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
_NUMBER = re.compile(r"[0-9]{2}")
_VARIANT = re.compile(r"[A-Za-z0-9_.]+")


@dataclass(frozen=True)
class Job:
    """One execution of one notebook.

    Attributes:
        name: what names its executed copy, results and log: the stem, or `<stem>-<variant>`.
        source: the notebook file.
        variant: the variant's name, or `None`.
        parameters: the variant's parameters (injected after `PROFILE` and `SEED`).
    """

    name: str
    source: Path
    variant: str | None = None
    parameters: dict = field(default_factory=dict)


def notebooks_folder(notebooks_dir: str | os.PathLike | None = None) -> Path:
    """Finds the folder of the source notebooks.

    Args:
        notebooks_dir: the folder; `None` takes the checkout's `notebooks/`.

    Returns:
        The absolute path.
    """
    if notebooks_dir is not None:
        folder = Path(notebooks_dir).expanduser().resolve()
        if not folder.is_dir():
            raise ParameterError(f"notebooks_dir={str(notebooks_dir)!r} is not a folder")
        return folder
    root = project_root()
    if root is None:
        raise ParameterError("notebooks_dir=None: not inside the lab's checkout; pass notebooks_dir")
    return root / "notebooks"


def discover(notebooks_dir: str | os.PathLike | None = None) -> list[Path]:
    """Lists the numbered notebooks (`NN_topic.ipynb`) of a folder.

    Args:
        notebooks_dir: the folder; `None` takes the checkout's `notebooks/`.

    Returns:
        Their paths, in order.
    """
    return sorted(notebooks_folder(notebooks_dir).glob(NOTEBOOK_GLOB))


def select(names: Iterable[str], notebooks_dir: str | os.PathLike | None = None) -> list[Path]:
    """Resolves notebook names to the notebook files they name.

    Args:
        names: as the module says; empty selects every numbered notebook of the folder.
        notebooks_dir: the folder of the source notebooks.

    Returns:
        The notebook files, in the order given, each once.

    Raises:
        ParameterError: a name names no notebook, or a file that is not one (the message says which).
    """
    return list(dict.fromkeys(job.source for job in plan_jobs(names, notebooks_dir)))


def plan_jobs(names: Iterable[str], notebooks_dir: str | os.PathLike | None = None) -> list[Job]:
    """Resolves notebook names to the executions they stand for, variants expanded.

    Args:
        names: as `select` takes them.
        notebooks_dir: the folder of the source notebooks.

    Returns:
        The `Job`s, in the order given, each once.
    """
    known = discover(notebooks_dir)
    names = list(names)
    chosen: list[Job] = []
    for name in names or [p.name for p in known]:
        for job in _resolve(str(name), known):
            if job.name not in {j.name for j in chosen}:
                chosen.append(job)
    return chosen


def _resolve(name: str, known: list[Path]) -> list[Job]:
    """The jobs that one name stands for."""
    if not name.strip():
        raise bad_choice("notebook", name, [p.stem for p in known])
    if os.sep in name or name.startswith(("~", ".")):
        return variants(_as_path(name))
    stem = name.removesuffix(".ipynb")
    matches = [p for p in known if p.stem == stem]
    if not matches and _NUMBER.fullmatch(stem):
        matches = [p for p in known if p.stem.split("_", 1)[0] == stem]
    if len(matches) == 1:
        return variants(matches[0])
    if not matches and "-" in stem:
        base, _, variant = stem.rpartition("-")
        for job in (j for p in known if p.stem == base for j in variants(p)):
            if job.variant == variant:
                return [job]
    raise bad_choice("notebook", name, [p.stem for p in known])


def _as_path(name: str) -> Path:
    """The notebook file that a path names; refuses anything else."""
    path = Path(name).expanduser()
    if not path.exists() and path.suffix != ".ipynb" and path.with_name(path.name + ".ipynb").is_file():
        path = path.with_name(path.name + ".ipynb")
    if not path.exists():
        raise ParameterError(f"notebook={name!r}: no such file")
    if path.is_dir():
        raise ParameterError(f"notebook={name!r} is a folder; name the notebooks in it")
    if path.suffix != ".ipynb":
        raise ParameterError(f"notebook={name!r} is not a notebook (a .ipynb file)")
    return path.resolve()


def variants(source: Path) -> list[Job]:
    """The executions of one notebook: one per variant in its metadata, or one.

    Args:
        source: the notebook file.

    Returns:
        The `Job`s.

    Raises:
        ParameterError: the file is not a readable notebook, or its variants are malformed.
    """
    try:
        metadata = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
        raise ParameterError(f"notebook={str(source)!r} is not a readable notebook: {reason}") from None
    declared = (metadata.get("labkit") or {}).get("variants") if isinstance(metadata, dict) else None
    if not declared:
        return [Job(source.stem, source)]
    if not isinstance(declared, dict) or not all(
        isinstance(k, str) and _VARIANT.fullmatch(k) and isinstance(v, dict) for k, v in declared.items()
    ):
        raise ParameterError(
            f"notebook={str(source)!r}: metadata labkit.variants must map plain names "
            "(letters, digits, '_', '.') to dicts of parameters"
        )
    return [Job(f"{source.stem}-{k}", source, k, dict(v)) for k, v in declared.items()]
