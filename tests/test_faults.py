"""Faults and bad input of `python -m labkit run`, tried as a user would (issue 14).

Each case asserts the one line the user reads (naming the option, parameter or file), the exit
status, and that nothing is left behind: no temporary file, no half-written copy, no process.
Notebooks are tiny ones in throwaway folders (a kernel that imports nothing heavy). Every process
the runner starts inherits `LABKIT_BUILD_DIR`, which is unique per test: a process whose
environment still holds it after the run is one left running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit import book
from labkit._lock import held
from labkit.runner import manifest, progress
from labkit.runner.selection import Job

ROOT = Path(__file__).resolve().parent.parent


def write_notebook(path: Path, *sources: str, variants: dict | None = None) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if variants:
        nb.metadata["labkit"] = {"variants": variants}
    params = new_code_cell("PROFILE = None\nSEED = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(new_code_cell(s) for s in sources)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def cli(*args, build: Path, cwd: Path = ROOT, **popen) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {**os.environ, "LABKIT_BUILD_DIR": str(build), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "labkit", *args]
    if popen:
        return subprocess.Popen(command, cwd=cwd, env=env, text=True, **popen)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def survivors(marker: str, wait: float = 10.0) -> list[str]:
    """Processes (other than this one) whose environment names `marker`, after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")[:120]
                    found.append(f"{entry.name}: {command!r}")
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".part" in p.name or p.name.endswith(".lock"))


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# ---- usage errors: refused before anything is printed or written --------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0"], "--jobs=0 must be a whole number greater than 0"),
        (["--jobs", "-2"], "--jobs=-2 must be a whole number greater than 0"),
        (["--seed", "-1"], "--seed=-1 must be a whole number"),
        (["--seed", str(2**32)], f"--seed={2**32} must be a whole number from 0 to {2**32 - 1}"),
        (["--cell-timeout", "0"], "--cell-timeout=0 must be a whole number greater than 0"),
        (["--profile", "SMOKE", "--jobs", "0"], "--jobs=0"),  # SMOKE is accepted, as by the API
        (["99"], "notebook='99' is not one of the allowed values: '00_data_tour'"),
        (["0"], "notebook='0' is not one of the allowed values"),  # not a guess at 00
    ],
)
def test_usage_errors_come_before_any_work(args, message, tmp_path):
    build = tmp_path / "build"
    done = cli("run", "--profile", "smoke", "00", *args, build=build)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""  # not even "running 1 notebook(s)"
    assert message in one_line(done.stderr)
    assert not (build / "smoke").exists()


def build_dir_cases(tmp_path: Path):
    (tmp_path / "a_file").write_text("x")
    return {"a file": tmp_path / "a_file", "under a file": tmp_path / "a_file" / "build"}


def test_a_bad_build_dir_from_the_environment_names_the_variable(tmp_path):
    (tmp_path / "a_file").write_text("x")
    done = cli("run", "--profile", "smoke", "00", build=tmp_path / "a_file")
    assert done.returncode == 2 and done.stdout == ""
    assert f"LABKIT_BUILD_DIR='{tmp_path / 'a_file'}' cannot be used" in one_line(done.stderr)


@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_a_build_dir_that_cannot_be_a_folder_names_build_dir(case, tmp_path):
    build = build_dir_cases(tmp_path)[case]
    done = cli("run", "--profile", "smoke", "--build-dir", str(build), "00", build=tmp_path / "unused")
    assert done.returncode == 2 and done.stdout == ""
    line = one_line(done.stderr)
    assert f"--build-dir='{build}' cannot be used" in line
    assert (tmp_path / "a_file").read_text() == "x"


def test_a_read_only_build_dir_names_build_dir(tmp_path):
    if not shutil.which("unshare") or sys.platform != "linux":
        pytest.skip("needs unshare -m (Linux) for a read-only bind mount; chmod does not stop root")
    target = tmp_path / "ro"
    target.mkdir()
    script = (
        f"mount --bind {target} {target} && mount -o remount,bind,ro {target} && "
        f"LABKIT_BUILD_DIR={tmp_path / 'unused'} {sys.executable} -m labkit run --profile smoke "
        f"--build-dir {target / 'build'} 00"
    )
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if "mount" in done.stderr and done.returncode != 2:
        pytest.skip(f"no read-only bind mount here: {done.stderr.strip()[:120]}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert "Read-only file system" in one_line(done.stderr) and "--build-dir=" in done.stderr


def test_a_build_dir_in_use_by_another_run_is_refused(tmp_path):
    build = tmp_path / "build"
    (build / "smoke").mkdir(parents=True)
    with held(build / "smoke" / ".run.lock"):
        done = cli("run", "--profile", "smoke", "--build-dir", str(build), "00", build=build)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "--build-dir=" in line and f"another labkit run (process {os.getpid()})" in line
    assert not (build / "smoke" / "notebooks" / "00_data_tour.ipynb").exists()


# ---- selection: exactly what was named, or a refusal -------------------------------------------


def test_selection_never_guesses(tmp_path):
    (tmp_path / "00_notes.txt").write_text("not a notebook")
    (tmp_path / "00_folder.ipynb").mkdir()
    (tmp_path / "00_bad.ipynb").write_text("{ not json")
    write_notebook(tmp_path / "00_variants.ipynb", "1", variants={"a/b": {"X": 1}})
    cases = {
        str(tmp_path / "00_notes.txt"): "is not a notebook (a .ipynb file)",
        str(tmp_path / "00_missing.ipynb"): "no such file",
        str(tmp_path / "00_folder.ipynb"): "is a folder",
        str(tmp_path / "00_bad.ipynb"): "is not a readable notebook",
        str(tmp_path / "00_variants.ipynb"): "metadata labkit.variants must map plain names",
    }
    for name, reason in cases.items():
        done = cli("run", "--profile", "smoke", name, build=tmp_path / "build")
        assert done.returncode == 2, (name, done.stderr)
        line = one_line(done.stderr)
        assert f"notebook='{name}'" in line and reason in line, line
    assert not (tmp_path / "build").exists()


# ---- a run with faults inside: the log, the numbering, leftovers, the learner's own copy --------


def test_a_run_keeps_kernel_noise_in_logs_and_names_cells_as_the_copy_does(tmp_path):
    mine = tmp_path / "mine"
    write_notebook(mine / "00_data_tour.ipynb", "import os\nos.write(2, b'KERNEL-NOISE\\n')\nprint('my own copy')")
    write_notebook(mine / "01_broken.ipynb", "x = 1", "y = x / 0", "print('never')")
    write_notebook(mine / "02_dies.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    write_notebook(mine / "04_kills_worker.ipynb", "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(60)")
    write_notebook(mine / "03_variants.ipynb", "import os\nprint(os.environ['LABKIT_VARIANT'], WHICH)",
                   variants={"a": {"WHICH": 1}, "b": {"WHICH": 2}})
    build = tmp_path / "build"
    for folder, name in (("notebooks", ".00_data_tour.4242.part.ipynb"), ("results", ".00_data_tour.json.abc.part")):
        (build / "smoke" / folder).mkdir(parents=True, exist_ok=True)
        (build / "smoke" / folder / name).write_text("left by a killed run")

    done = cli("run", "--profile", "smoke", "--jobs", "2", *(str(p) for p in sorted(mine.glob("*.ipynb"))), build=build)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "KERNEL-NOISE" not in out and "without encryption" not in out
    logs = build / "smoke" / "logs"
    assert "KERNEL-NOISE" in (logs / "00_data_tour.log").read_text()
    executed = build / "smoke" / "notebooks"
    assert "my own copy" in (executed / "00_data_tour.ipynb").read_text()  # the named file, not the course's
    broken_row = next(line for line in out.splitlines() if line.startswith("01_broken"))
    assert "In [4]: ZeroDivisionError" in broken_row and f"(log: {logs / '01_broken.log'})" in broken_row
    copy = nbformat.read(executed / "01_broken.ipynb", as_version=4)
    failed = [c for c in copy.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert [c.execution_count for c in failed] == [4]
    with pytest.raises(Exception, match=r"In \[4\] ended in ZeroDivisionError"):
        book._check_no_unexpected_error(executed / "01_broken.ipynb", "smoke")
    dies_row = next(line for line in out.splitlines() if line.startswith("02_dies"))
    assert "FAILED" in dies_row and "In [3]: DeadKernelError" in dies_row
    killed_row = next(line for line in out.splitlines() if line.startswith("04_kills_worker"))
    assert "FAILED" in killed_row and "the runner's worker died (exit status -9)" in killed_row
    assert (executed / "04_kills_worker.ipynb").is_file()  # what ran, kept; its orphaned kernel is killed below
    for variant, which in (("a", 1), ("b", 2)):
        assert f"{variant} {which}" in (executed / f"03_variants-{variant}.ipynb").read_text()
    assert leftovers(build) == []
    assert survivors(str(build)) == []

    again = cli("run", "--profile", "smoke", *(str(p) for p in sorted(mine.glob("0[03]*.ipynb"))), build=build)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 unchanged, skipped" in again.stdout
    assert "skipped 03_variants-b" in again.stdout and "unchanged since its run of" in again.stdout


# ---- signals: everything stopped, one line, the finished notebooks kept -------------------------


def wait_for(path: Path, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


@pytest.mark.parametrize(
    ("signum", "status", "jobs"), [(signal.SIGTERM, 143, 2), (signal.SIGINT, 130, 1)], ids=["SIGTERM, 2 jobs", "Ctrl-C"]
)
def test_a_signal_stops_workers_and_kernels_and_says_what_finished(signum, status, jobs, tmp_path):
    mine = tmp_path / "mine"
    slow = ["01_slow", "02_slow"][:jobs]
    write_notebook(mine / "00_fast.ipynb", "print('done')")
    for name in slow:
        write_notebook(mine / f"{name}.ipynb", "import time\nprint('SLEEPING', flush=True)\ntime.sleep(120)")
    write_notebook(mine / "03_never.ipynb", "print('never')")
    build = tmp_path / "build"
    stdout = tmp_path / "stdout.txt"
    with open(stdout, "w") as out:
        runner = cli("run", "--profile", "smoke", "--jobs", str(jobs), *(str(p) for p in sorted(mine.glob("*.ipynb"))),
                     build=build, stdout=out, stderr=subprocess.PIPE)
        try:
            wait_for(stdout, "ok      00_fast")
            wait_for_kernel_output(build, slow)
            runner.send_signal(signum)
            _, err = runner.communicate(timeout=60)
        finally:
            if runner.poll() is None:
                runner.kill()
    assert runner.returncode == status, err
    line = one_line(err)
    assert f"interrupted by {signal.Signals(signum).name}: finished 1 (00_fast)" in line
    assert f"stopped {jobs} ({', '.join(slow)}); not started 1" in line
    executed = build / "smoke" / "notebooks"
    assert json.loads((executed / "00_fast.ipynb").read_text())["cells"]  # whole and readable
    assert sorted(p.name for p in executed.iterdir()) == ["00_fast.ipynb"]
    assert "00_fast" in json.loads((build / "smoke" / "manifest.json").read_text())  # it will be skipped next time
    assert leftovers(build) == []
    assert survivors(str(build)) == []


def wait_for_kernel_output(build: Path, names, timeout: float = 120.0) -> None:
    """Waits until each named notebook's kernel is running its cell (papermill saved its output)."""
    deadline = time.monotonic() + timeout
    folder = build / "smoke" / "notebooks"
    while time.monotonic() < deadline:
        parts = {n: list(folder.glob(f".{n}.*.part.ipynb")) for n in names}
        if all(p and "SLEEPING" in p[0].read_text() for p in parts.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the kernels of {names} never started")


# ---- incremental runs and the console (no kernel) ------------------------------------------------


def test_a_changed_labkit_module_is_a_reason_to_run_again(tmp_path):
    source = write_notebook(tmp_path / "00_x.ipynb", "1")
    job = Job("00_x", source.resolve())
    output = tmp_path / "00_x.ipynb.out"
    output.write_text("{}")
    entry = {
        "source": str(job.source), "source_sha256": manifest._sha256(job.source), "parameters": {"PROFILE": "smoke"},
        "modules": manifest.module_hashes(["labkit", "labkit.errors"]), "versions": manifest._versions(),
        "outputs": [str(output)], "seconds": 1.0, "finished": "2026-01-01T00:00:00+00:00",
    }
    assert manifest.why_run(entry, job, {"PROFILE": "smoke"}) is None
    assert manifest.why_run(entry, job, {"PROFILE": "smoke", "SEED": 3}) == "its parameters changed"
    stale = {**entry, "modules": {**entry["modules"], "labkit.errors": "0" * 64}}
    assert manifest.why_run(stale, job, {"PROFILE": "smoke"}) == "labkit/errors.py changed"
    output.unlink()
    assert manifest.why_run(entry, job, {"PROFILE": "smoke"}) == "00_x.ipynb.out is gone"
    write_notebook(source, "2")
    assert manifest.why_run(entry, job, {"PROFILE": "smoke"}) == "the notebook changed"


def test_progress_shows_notebook_cell_elapsed_and_estimate(tmp_path):
    import io

    live = io.StringIO()
    shown = progress.Progress(live, live=True)
    shown.started("02_optimizer_sweep", 255.0)
    shown.cell("02_optimizer_sweep", 5, 23)
    assert "02_optimizer_sweep cell 5/23 0:00 of ~4:15" in live.getvalue()
    plain = io.StringIO()
    lines = progress.Progress(plain, live=False)
    lines.started("00_data_tour", None)
    lines.cell("00_data_tour", 1, 9)
    assert plain.getvalue() == "  start  00_data_tour\n" and "\r" not in plain.getvalue()
