"""The runner: papermill execution into the build folder, the table, the CLI's exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit import results, runner
from labkit.config import PROFILES
from labkit.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent


def write_notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell("PROFILE = None\nSEED = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(new_code_cell(s) for s in sources)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def folder(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(
        notebooks / "00_ok.ipynb",
        "from labkit import results\n"
        "import os\n"
        "from pathlib import Path\n"
        "recorder = results.start(Path(os.environ['LABKIT_BUILD_DIR']) / PROFILE / 'results' / '00_ok.json',"
        " {'profile': PROFILE, 'seed': SEED})\n"
        "results.record('answer', 40 + SEED, headline=True)",
    )
    write_notebook(notebooks / "01_broken.ipynb", "x = 1", "y = x / 0", "print('never')")
    write_notebook(notebooks / "02_slow.ipynb", "import time\ntime.sleep(60)")
    return notebooks


def test_select_takes_stems_file_names_and_numbers(folder):
    assert [p.name for p in runner.select(["01", "00_ok.ipynb", str(folder / "02_slow")], folder)] == [
        "01_broken.ipynb",
        "00_ok.ipynb",
        "02_slow.ipynb",
    ]
    assert len(runner.select([], folder)) == 3


def test_an_unknown_notebook_lists_the_known_ones(folder):
    with pytest.raises(ParameterError, match=r"notebook='07'.*'00_ok', '01_broken', '02_slow'"):
        runner.select(["07"], folder)


def test_zero_jobs_is_refused(folder, tmp_path):
    with pytest.raises(ParameterError, match="jobs=0"):
        runner.run(["00"], profile="smoke", jobs=0, build_dir=tmp_path / "build", notebooks_dir=folder)


def test_a_failing_notebook_does_not_stop_the_others(folder, tmp_path):
    build = tmp_path / "build"
    rows = runner.run(
        ["01", "00", "02"],
        profile="smoke",
        seed=2,
        jobs=2,
        build_dir=build,
        cell_timeout=3,
        notebooks_dir=folder,
    )
    by_name = {r.notebook: r for r in rows}
    assert [r.notebook for r in rows] == ["01_broken", "00_ok", "02_slow"]
    assert by_name["00_ok"].ok and by_name["00_ok"].headline == "answer = 42"  # SEED=2 was injected
    broken = by_name["01_broken"]
    assert not broken.ok and broken.error.startswith("In [4]: ZeroDivisionError")
    assert not by_name["02_slow"].ok and "Timeout" in by_name["02_slow"].error

    out = build / "smoke" / "notebooks"
    assert sorted(p.name for p in out.iterdir()) == ["00_ok.ipynb", "01_broken.ipynb", "02_slow.ipynb"]
    executed = nbformat.read(out / "01_broken.ipynb", as_version=4)
    assert any(o.get("ename") == "ZeroDivisionError" for c in executed.cells for o in c.get("outputs", []))
    for source in folder.iterdir():  # the sources stay output-free
        assert all(not c.get("outputs") for c in nbformat.read(source, as_version=4).cells)
    stored = results.read(build / "smoke" / "results" / "00_ok.json")
    assert stored["profile"] == "smoke" and stored["values"] == {"answer": 42}

    table = runner.format_table(rows)
    assert "01_broken  FAILED" in table and "answer = 42" in table


def run_cli(*args, build):
    env = {**os.environ, "LABKIT_BUILD_DIR": str(build)}
    return subprocess.run(
        [sys.executable, "-m", "labkit", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_the_cli_runs_the_data_tour_on_smoke_and_reads_the_results_back(tmp_path):
    done = run_cli("run", "--profile", "smoke", "00", build=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "00_data_tour  ok" in done.stdout
    stored = json.loads((tmp_path / "smoke" / "results" / "00_data_tour.json").read_text())
    assert stored["profile"] == "smoke" and stored["headline"] == "images"
    sizes = {d["name"]: d["sizes"] for d in stored["datasets"]}
    cap = dict(zip(("train", "val", "test"), PROFILES["smoke"].split_cap))
    assert sizes["garments"] == sizes["photos"] == cap  # capped, each split
    assert stored["values"]["images"] == sum(sum(s.values()) for s in sizes.values())
    assert f"images = {stored['values']['images']}" in done.stdout
    assert [d["name"] for d in stored["datasets"]] == ["garments", "photos", "faces"]
    executed = json.loads((tmp_path / "smoke" / "notebooks" / "00_data_tour.ipynb").read_text())
    stderr = [o.get("text") for c in executed["cells"] for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert stderr == [], "nothing on the page's stderr: TensorFlow's start-up lines go to the notebook's log"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "99"], "notebook='99' is not one of the allowed values: '00_data_tour'"),
        (["run", "--jobs", "0", "00"], "--jobs=0 must be a whole number greater than 0"),
        (["run", "--profile", "gpu"], "invalid choice: 'gpu'"),
        (["run", "--cell-timeout", "-5", "00"], "--cell-timeout=-5"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, tmp_path):
    done = run_cli(*args, build=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert not (tmp_path / "smoke" / "notebooks").exists() or not any((tmp_path / "smoke" / "notebooks").iterdir())


def test_running_leaves_the_callers_environment_as_it_was(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "offline")
    monkeypatch.delenv("LABKIT_BUILD_DIR", raising=False)
    rows = runner.run(["00"], profile="smoke", build_dir=tmp_path / "build", notebooks_dir=folder)
    assert rows[0].ok, rows[0].error  # the kernel saw the build folder it was given
    assert os.environ["LABKIT_PROFILE"] == "offline"
    assert "LABKIT_BUILD_DIR" not in os.environ


def test_variants_name_their_jobs_and_results(tmp_path, monkeypatch):
    from labkit import config, session

    source = write_notebook(tmp_path / "07_transfer.ipynb", "1")
    nb = nbformat.read(source, as_version=4)
    nb.metadata["labkit"] = {"variants": {"mobilenet_v2": {"BACKBONE": "mobilenet_v2"}, "resnet50": {"BACKBONE": "resnet50"}}}
    nbformat.write(nb, source)
    jobs = runner.plan_jobs([], tmp_path)
    assert [(j.name, j.variant, j.parameters) for j in jobs] == [
        ("07_transfer-mobilenet_v2", "mobilenet_v2", {"BACKBONE": "mobilenet_v2"}),
        ("07_transfer-resnet50", "resnet50", {"BACKBONE": "resnet50"}),
    ]
    assert [j.name for j in runner.plan_jobs(["07_transfer-resnet50"], tmp_path)] == ["07_transfer-resnet50"]
    monkeypatch.setenv(config.VARIANT_VARIABLE, "resnet50")  # what the runner sets for the kernel
    assert session._with_variant("07_transfer", config.resolve_variant(None)) == "07_transfer-resnet50"
    assert session._with_variant("07_transfer", config.resolve_variant("mobilenet_v2")) == "07_transfer-mobilenet_v2"
    with pytest.raises(ParameterError, match="variant='a/b'"):
        session._with_variant("07_transfer", "a/b")


def test_the_book_gives_each_variant_its_own_page(tmp_path):
    from labkit import book

    (tmp_path / "notebooks").mkdir()
    write_notebook(tmp_path / "notebooks" / "07_t.ipynb", "1")
    nb = nbformat.read(tmp_path / "notebooks" / "07_t.ipynb", as_version=4)
    nb.metadata["labkit"] = {"variants": {"a": {"X": 1}, "b": {"X": 2}}}
    nbformat.write(nb, tmp_path / "notebooks" / "07_t.ipynb")
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/intro\nparts:\n  - caption: N\n    chapters:\n"
                   "      - file: notebooks/00_x\n      - file: notebooks/07_t\n")
    pages = book._variant_pages(tmp_path, book.listed_notebooks(toc))
    assert pages == {"07_t": ["07_t-a", "07_t-b"]}
    book._list_variant_pages(toc, pages)
    assert book.listed_notebooks(toc) == ["00_x", "07_t-a", "07_t-b"]


def test_the_command_line_states_the_runners_default_jobs():
    from labkit import __main__ as cli

    assert cli.DEFAULT_JOBS == runner.DEFAULT_JOBS


def test_kernels_talk_over_unix_sockets_outside_the_notebook_folder():
    from labkit.runner.engine import _KernelManager

    manager = _KernelManager(kernel_name="python3")
    # TCP ports chosen before the kernel binds them can collide between kernels started side by side
    assert manager.transport == "ipc" and os.path.isabs(manager.ip)
    assert manager.ip != _KernelManager(kernel_name="python3").ip


def test_the_kernel_is_killed_after_the_last_cell_not_asked_to_exit(tmp_path):
    # nbclient's default asks the kernel to exit and waits: with TensorFlow imported, 1.4 s of teardown
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    marker = tmp_path / "atexit-ran"
    write_notebook(notebooks / "00_exit.ipynb",
                   f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).touch)\nprint('registered')")
    rows = runner.run(["00"], profile="smoke", jobs=1, build_dir=tmp_path / "build", notebooks_dir=notebooks)
    assert rows[0].ok, rows[0].error
    executed = nbformat.read(tmp_path / "build" / "smoke" / "notebooks" / "00_exit.ipynb", as_version=4)
    assert "registered" in executed.cells[-1].outputs[0]["text"]  # the cell ran, and its output was saved
    assert not marker.exists()  # the kernel never reached its atexit hooks
