"""The grader end to end, on a LocalCluster on 127.0.0.1: one batch of small, mostly hostile submissions.

Each submission gets the grade and the reason it deserves, and none of them stops the batch or
disturbs another. The hostile cases (reading the checks, writing outside, the network) need the
bubblewrap sandbox; the test is skipped, with the reason, where this machine cannot give it.
"""

import csv
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labkit.grading import batch, checks, sandbox, watch

pytestmark = pytest.mark.slow

SECRET = "secret-answer-7d41c"  # in the checks file only: no submission may ever see it

START = """import os, labkit
from labkit import results
results.start(results.results_dir(os.environ["LABKIT_BUILD_DIR"], PROFILE) / "{task}.json", {{"profile": PROFILE, "seed": SEED}})"""
RECORD = "labkit.record('parts/a', 40)\nlabkit.record('parts/b', 2)\nlabkit.record('total', 42)\nlabkit.record('answer', {answer}, headline=True)"
MODEL = """import numpy as np, keras
rng = np.random.default_rng(SEED)
x = rng.random((200, 2)).astype("float32")
y = (x[:, 0] > x[:, 1]).astype("int64")
clf = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
clf.set_weights([np.array({weights}, "float32"), np.zeros(2, "float32")])"""
GOOD_WEIGHTS = "[[-10.0, 10.0], [10.0, -10.0]]"


def write_notebook(path: Path, *sources: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell("PROFILE = None\nSEED = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(new_code_cell(s) for s in sources)]
    nbformat.write(nb, path)


def points_data(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.random((200, 2)).astype("float32")
    return {"x": x, "y": (x[:, 0] > x[:, 1]).astype("int64")}


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            connection.close()


def make_case(root: Path, listener: Listener) -> tuple[Path, Path, Path]:
    """Writes the checks, the instructor's data and the submissions; returns their paths and the output folder."""
    instructor = root / "instructor"
    instructor.mkdir()
    np.savez(instructor / "test.npz", **points_data(0))  # what the notebook itself uses with SEED=0
    np.savez(instructor / "heldout.npz", **points_data(1))  # what it never sees
    (instructor / "checks.yml").write_text(f"""# {SECRET}
version: 1
notebooks:
  answer:
    timeout: 12
    checks:
      - {{ran: true, points: 1}}
      - {{metric: answer, equals: 42, points: 2}}
      - {{metric: total, consistent: {{sum: "parts/*"}}, points: 1}}
  model:
    timeout: 150
    memory: 2G
    models: {{clf: clf}}
    data: {{test: {{file: test.npz}}, heldout: {{file: heldout.npz}}}}
    checks:
      - {{ran: true, points: 1}}
      - {{model: clf, property: parameters, equals: 6, points: 1}}
      - {{model: clf, accuracy: heldout, range: [0.9, 1], partial: [0.6, 0.9], points: 3}}
      - {{metric: accuracy, matches: {{model: clf, accuracy: test}}, points: 2}}
""")
    out = root / "graded"
    out.mkdir()
    subs = root / "submissions"
    subs.mkdir()
    answer = START.format(task="answer")
    cases = {
        "correct": [RECORD.format(answer=42)],
        "stderr": ["import sys, warnings, os\nprint('a warning', file=sys.stderr)\nwarnings.warn('old API')\n"
                   "os.write(2, b'raw stderr\\n')", RECORD.format(answer=42)],
        "wrong": [RECORD.format(answer=41)],
        "raises": ["raise ValueError('the learner forgot something')", RECORD.format(answer=42)],
        "loop": ["while True:\n    pass", RECORD.format(answer=42)],
        "hog": ["hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 2**20))", RECORD.format(answer=42)],
        "forkbomb": ["import os\nwhile True:\n    os.fork()", RECORD.format(answer=42)],
        "dies": ["import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", RECORD.format(answer=42)],
        "steal": [f"print(open({str(instructor / 'checks.yml')!r}).read())", RECORD.format(answer=42)],
        "escape": ["import labkit.grading, pathlib\n"
                   "(pathlib.Path(labkit.grading.__file__).parent / 'ESCAPED').write_text('the grader is mine')",
                   RECORD.format(answer=42)],
        "overwrite": [f"open({str(out / 'grades.csv')!r}, 'w').write('everyone,100')", RECORD.format(answer=42)],
        "network": [f"import socket\nsocket.create_connection(('127.0.0.1', {listener.port}), timeout=5)",
                    RECORD.format(answer=42)],
    }
    for name, cells in cases.items():
        write_notebook(subs / f"{name}-answer.ipynb", answer, *cells)
    model = START.format(task="model")
    write_notebook(subs / "correct-model.ipynb", model, MODEL.format(weights=GOOD_WEIGHTS),
                   "from labkit.evaluation import predict_labels\n"
                   "labkit.record('accuracy', float((predict_labels(clf, x) == y).mean()), headline=True)")
    # The forger trains nothing and writes its results file by hand, claiming a perfect score.
    write_notebook(subs / "forged-model.ipynb", model, MODEL.format(weights="[[0.0, 0.0], [0.0, 0.0]]"),
                   "import json\npath = results.results_dir(os.environ['LABKIT_BUILD_DIR'], PROFILE) / 'model.json'\n"
                   "path.write_text(json.dumps({'profile': PROFILE, 'seed': SEED, 'headline': 'accuracy', "
                   "'values': {'accuracy': 1.0}}))")
    return instructor / "checks.yml", subs, out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    setup, notes = sandbox.detect("auto")
    if not setup.startswith("bwrap"):
        pytest.skip(f"the hostile submissions need the bubblewrap sandbox: {'; '.join(notes)}")
    root = tmp_path_factory.mktemp("grading")
    listener = Listener()
    checks_path, subs, out = make_case(root, listener)
    rules = checks.load(checks_path)
    limits = sandbox.Limits(seconds=600, cell_seconds=600, memory=512 * 2**20, processes=128)
    options = batch.Options(profile="smoke", seed=0, limits=limits, sandbox=setup, kernel_threads=1)
    jobs = batch.jobs(batch.find(subs), rules, options)
    # a process the caller started before grading (as a forkserver or a kernel of its own): not the grader's to kill
    callers = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)"])
    records = batch.grade(jobs, out, workers=2, progress=False)
    callers_alive_after = callers.poll() is None
    listener.server.close()
    rows = list(csv.DictReader(open(out / "grades.csv")))
    yield {"records": {r["submission"]: r for r in records}, "rows": rows, "out": out, "root": root,
           "listener": listener, "jobs": jobs, "setup": setup, "callers_alive_after": callers_alive_after}
    callers.kill()
    callers.wait()


def score(graded, submission) -> float:
    return sum(float(r["points"]) for r in graded["rows"] if r["submission"] == submission)


def reason(graded, submission) -> str:
    return graded["records"][submission]["reason"] or ""


def test_every_submission_gets_its_rows(graded):
    assert len(graded["records"]) == 14
    per_submission = {}
    for row in graded["rows"]:
        per_submission[row["submission"]] = per_submission.get(row["submission"], 0) + 1
    assert all(count == (4 if name.endswith("model") else 3) for name, count in per_submission.items())
    assert len(per_submission) == 14


def test_correct_and_noisy_submissions_get_full_marks(graded):
    assert score(graded, "correct-answer") == 4
    assert score(graded, "stderr-answer") == 4  # warnings on stderr are not errors
    assert score(graded, "correct-model") == 7


def test_a_wrong_answer_loses_its_points_and_says_why(graded):
    assert score(graded, "wrong-answer") == 2
    row = next(r for r in graded["rows"] if r["submission"] == "wrong-answer" and r["check"] == "answer")
    assert row["status"] == "fail" and "41" in row["reason"] and "42" in row["reason"]


@pytest.mark.parametrize("submission, words", [
    ("raises-answer", "ValueError: the learner forgot something"),
    ("loop-answer", "killed"),
    ("hog-answer", "memory"),
    ("dies-answer", "the kernel died"),
])
def test_a_failing_submission_gets_zero_and_the_reason(graded, submission, words):
    assert score(graded, submission) == 0
    assert words in reason(graded, submission)


def test_a_fork_bomb_is_contained_and_leaves_nothing_running(graded):
    assert score(graded, "forkbomb-answer") == 0
    assert any(w in reason(graded, "forkbomb-answer") for w in ("process", "memory", "killed", "BlockingIOError"))
    leftovers = [uid for uid in range(sandbox.FIRST_UID, sandbox.FIRST_UID + 16) if watch.members(None, uid)]
    assert leftovers == []


def test_the_checks_file_stays_invisible(graded):
    assert score(graded, "steal-answer") == 0
    assert "FileNotFoundError" in reason(graded, "steal-answer")
    for path in graded["out"].rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_nothing_is_written_outside_the_working_copy(graded):
    import labkit.grading

    escaped = Path(labkit.grading.__file__).parent / "ESCAPED"
    written = escaped.exists()
    escaped.unlink(missing_ok=True)
    assert not written
    assert score(graded, "escape-answer") == 0 and "Read-only file system" in reason(graded, "escape-answer")
    assert score(graded, "overwrite-answer") == 0
    assert "everyone" not in (graded["out"] / "grades.csv").read_text()


def test_no_network_from_inside(graded):
    assert score(graded, "network-answer") == 0
    assert "ConnectionRefusedError" in reason(graded, "network-answer") or "unreachable" in reason(graded, "network-answer")
    assert graded["listener"].accepted == 0


def test_a_forged_results_file_earns_nothing(graded):
    rows = {r["check"]: r for r in graded["rows"] if r["submission"] == "forged-model"}
    assert rows["accuracy"]["points"] == "0.0" and "not credited" in rows["accuracy"]["reason"]
    assert rows["clf accuracy on heldout"]["points"] == "0.0"
    # What it does earn, it earns for what it really did: it ran, and its model has the right shape.
    assert score(graded, "forged-model") == 2


def test_feedback_pages_and_executed_copies(graded):
    pages = sorted(p.name for p in (graded["out"] / "feedback").glob("*.md"))
    assert len(pages) == 14
    page = next((graded["out"] / "feedback").glob("wrong-answer-*.md")).read_text()
    assert "**Score: 2 / 4**" in page and "expected 42" in page
    executed = next((graded["out"] / "executed").glob("correct-answer-*.ipynb"))
    assert nbformat.read(executed, as_version=4).cells[-1].source.startswith("labkit.record")
    totals = list(csv.DictReader(open(graded["out"] / "totals.csv")))
    assert {t["submission"]: t["sandbox"] for t in totals}["correct-answer"] == graded["setup"]


def test_the_callers_own_processes_survive_the_grading(graded):
    """The grader kills what its cluster left alive, not a process its caller had started before (CI, stop 24:
    a grading run in a pytest worker killed the runner's forkserver, and the next runner.run failed)."""
    assert graded["callers_alive_after"]


def test_a_second_run_regrades_nothing(graded):
    before = {p.name: p.stat().st_mtime_ns for p in (graded["out"] / "records").glob("*.json")}
    again = batch.grade(graded["jobs"], graded["out"], workers=2, progress=False)
    assert len(again) == 14
    assert {p.name: p.stat().st_mtime_ns for p in (graded["out"] / "records").glob("*.json")} == before
    assert json.loads(next((graded["out"] / "records").glob("correct-answer-*.json")).read_text())["rows"][0]["points"] == 1.0
