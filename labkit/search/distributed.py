"""A search spread over processes with keras-tuner's own chief/worker mode, started by one call.

`run(spec, workers=2)` starts one chief and `workers` workers on 127.0.0.1, each a Python process
that runs `python -m labkit.search.distributed <spec.json> <table.json>` with keras-tuner's
`KERASTUNER_TUNER_ID` (`chief`, `tuner0`, `tuner1`, ...), `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT`, as the sweeps' distributed mode does (`labkit.search.sweeps`). The
chief holds the oracle and trains nothing; the workers ask it for trials and share the search's
folder. The spec names the search in plain data, so that every process builds the same one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from labkit.errors import ParameterError, check_positive, check_seconds

SPACES = ("resnet", "optimizers")


def run(spec: dict, *, workers: int = 2, timeout_seconds: float = 600, python: str | None = None):
    """Runs one search (`labkit.search.hypersearch.search`) with a chief and `workers` workers.

    Args:
        spec: the search, in plain data: `space` (`"resnet"` or `"optimizers"`), `dataset`, `profile`,
            `build_dir`, `directory`, `name`, and optionally `image_size`, `split_cap`, `width`, `depth_divisor`,
            `method`, `max_trials`, `epochs`, `max_epochs`, `factor`, `seed`, `batch_size`.
            Delete `directory/name` beforehand to start afresh (no process overwrites it).
        workers: worker processes (each trains models).
        timeout_seconds: the most the whole run may take; then every process is stopped.
        python: the interpreter; `None` takes this one.

    Returns:
        `(table, tables)`: the chief's table of every trial (a pandas DataFrame, as `search`'s),
        and `{"tuner0": DataFrame, ...}`, the trials each worker ran.

    Raises:
        ParameterError: a spec without its keys, or a `space` not in `SPACES`.
        RuntimeError: a process failed or the run timed out; the message ends with its log.
    """
    import pandas as pd

    check_positive("workers", workers)
    check_seconds("timeout_seconds", timeout_seconds)
    spec = _check_spec(spec)
    folder = Path(spec["directory"]) / f"{spec['name']}_processes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec))
    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    root = str(Path(__file__).resolve().parents[2])
    environment.update(KERASTUNER_ORACLE_IP="127.0.0.1", KERASTUNER_ORACLE_PORT=str(port),
                       PYTHONPATH=os.pathsep.join([root, environment.get("PYTHONPATH", "")]))
    roles = ["chief", *(f"tuner{i}" for i in range(workers))]
    _wait(_start(roles, folder, environment, python or sys.executable), folder, timeout_seconds)
    tables = {role: pd.read_json(folder / f"{role}.json", orient="records") for role in roles}
    return tables.pop("chief"), tables


def _check_spec(spec) -> dict:
    needed = ("space", "dataset", "profile", "build_dir", "directory", "name")
    if not isinstance(spec, dict) or any(key not in spec for key in needed):
        raise ParameterError(f"spec={spec!r} must be a dict with at least the keys {', '.join(needed)}")
    if spec["space"] not in SPACES:
        raise ParameterError(f"spec['space']={spec['space']!r} must be one of {', '.join(SPACES)}")
    return {key: str(value) if isinstance(value, Path) else value for key, value in spec.items()}


def _start(roles, folder: Path, environment: dict, python: str) -> dict:
    processes = {}
    for role in roles:
        with open(folder / f"{role}.log", "w") as log:
            processes[role] = subprocess.Popen(
                [python, "-m", "labkit.search.distributed", str(folder / "spec.json"), str(folder / f"{role}.json")],
                env=environment | {"KERASTUNER_TUNER_ID": role}, stdout=log, stderr=subprocess.STDOUT,
            )
        if role == "chief":
            time.sleep(0.5)  # workers retry their first call, but a listening chief spares them the wait
    return processes


def _wait(processes: dict, folder: Path, timeout_seconds: float) -> None:
    end = time.monotonic() + timeout_seconds
    try:
        for role, process in processes.items():
            try:
                code = process.wait(timeout=max(1.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
            if code != 0:
                tail = (folder / f"{role}.log").read_text()[-3000:]
                said = "timed out" if code is None else f"exited with {code}"
                raise RuntimeError(f"distributed search: {role} {said}; its log ends:\n{tail}")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def _main(spec_path: str, table_path: str) -> None:
    """One process of `run`: sets up the lab, loads the data, runs its part of the search."""
    import labkit
    from labkit import data
    from labkit.search import hyper
    from labkit.search.hypersearch import search

    spec = json.loads(Path(spec_path).read_text())
    labkit.setup(spec["profile"], seed=spec.get("seed", 0), notebook=spec["name"], build_dir=spec["build_dir"],
                 quiet=True)
    cap = spec.get("split_cap")
    dataset = data.load(spec["dataset"], image_size=spec.get("image_size"), split_cap=tuple(cap) if cap else None)
    build, space = hyper.preset(spec["space"], dataset, width=spec.get("width"),
                                depth_divisor=spec.get("depth_divisor", 1))
    options = {k: spec[k] for k in ("method", "max_trials", "epochs", "max_epochs", "factor", "seed", "batch_size")
               if k in spec}
    found = search(build, space, dataset=dataset, directory=spec["directory"], name=spec["name"], **options)
    found.table.to_json(table_path, orient="records")


if __name__ == "__main__":
    _main(*sys.argv[1:3])
