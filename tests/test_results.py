import json

import numpy as np
import pytest

import labkit
from labkit import results
from labkit.config import PROFILES
from labkit.errors import LabkitError, ParameterError


@pytest.fixture
def lab(tmp_path):
    return labkit.setup("smoke", seed=3, notebook="99_test", build_dir=tmp_path, quiet=True)


def test_record_writes_one_json_file_per_run(lab, tmp_path):
    labkit.record("accuracy", np.float32(0.875), headline=True)
    labkit.record("confusion", np.eye(2, dtype=np.int64))
    path = tmp_path / "smoke" / "results" / "99_test.json"
    assert path == lab.results_path
    stored = json.loads(path.read_text())
    assert stored["notebook"] == "99_test" and stored["profile"] == "smoke" and stored["seed"] == 3
    assert stored["values"] == {"accuracy": 0.875, "confusion": [[1, 0], [0, 1]]}
    assert results.headline(stored) == ("accuracy", 0.875)
    assert results.read_all(path.parent) == {"99_test": stored}
    assert not list(path.parent.glob("*.part")), "no temporary file may stay behind"


def test_nan_and_infinity_are_stored_as_null(lab):
    labkit.record("scores", {"search s": float("nan"), "ratio": [1.0, float("inf")]})
    text = lab.results_path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert results.read(lab.results_path)["values"]["scores"] == {"search s": None, "ratio": [1.0, None]}


def test_loading_a_dataset_notes_it_in_the_results(lab):
    from labkit import data

    data.load("fashion_mnist")
    stored = results.read(lab.results_path)
    assert stored["datasets"][0]["name"] == "garments"
    assert stored["datasets"][0]["requested"] == "fashion_mnist"
    assert stored["datasets"][0]["sizes"] == dict(zip(("train", "val", "test"), PROFILES["smoke"].split_cap))


def test_a_value_that_is_not_json_leaves_the_file_as_it_was(lab):
    labkit.record("kept", 1)
    before = lab.results_path.read_text()
    with pytest.raises(TypeError, match="cannot be recorded"):
        labkit.record("model", object())
    assert lab.results_path.read_text() == before


def test_a_name_must_be_given(lab):
    with pytest.raises(ParameterError, match="name=''"):
        labkit.record("", 1)


def test_record_needs_setup(monkeypatch):
    monkeypatch.setattr(results, "_current", None)
    with pytest.raises(LabkitError, match="call labkit.setup"):
        labkit.record("accuracy", 0.5)


def test_every_results_file_has_the_schema_fields(tmp_path):
    from labkit import data

    lab = labkit.setup("smoke", seed=1, notebook="98_schema", build_dir=tmp_path, quiet=True,
                       parameters={"EPOCHS": 2, "OPTIMIZERS": ["adam", "sgd"]})
    ds = data.load("fashion_mnist")
    labkit.record("val_accuracy", 0.5, headline=True, definition="accuracy on the validation split after the last epoch")
    stored = results.read(lab.results_path)
    assert set(results.SCHEMA) <= set(stored), set(results.SCHEMA) - set(stored)
    assert stored["parameters"] == {"EPOCHS": 2, "OPTIMIZERS": ["adam", "sgd"]}
    assert stored["commit"] is None or len(stored["commit"].split("+")[0]) == 40
    for library in ("autokeras", "keras-tuner", "scikit-learn", "keras", "tensorflow"):
        assert library in stored["versions"]
    assert stored["cpu"]["cores"] >= 1 and len(stored["cpu"]["load_average"]) == 3
    assert stored["wall_seconds"] >= 0
    assert stored["definitions"] == {"val_accuracy": "accuracy on the validation split after the last epoch"}
    fingerprints = stored["datasets"][0]["fingerprints"]
    assert fingerprints["test"] == results.fingerprint(ds.x_test, ds.y_test)
    assert len(set(fingerprints.values())) == 3


def test_a_fingerprint_changes_with_any_pixel():
    x = np.zeros((4, 2, 2), dtype=np.float32)
    before = results.fingerprint(x)
    x[3, 1, 1] = 1e-6
    assert results.fingerprint(x) != before
    assert results.fingerprint(x.astype(np.float64)) != results.fingerprint(x)


def test_earlier_reads_another_notebook_of_the_same_profile(tmp_path):
    labkit.setup("smoke", seed=0, notebook="02_first", build_dir=tmp_path, quiet=True)
    labkit.record("best_optimizer", "rmsprop")
    labkit.setup("smoke", seed=0, notebook="03_second", build_dir=tmp_path, quiet=True)
    assert results.earlier("02_first", "best_optimizer") == "rmsprop"
    assert results.earlier("02_first", "missing") is None
    assert results.earlier("01_never_ran", "best_optimizer") is None
    assert results.earlier("02_first", "best_optimizer", profile="offline") is None


def test_warnings_go_to_the_notebook_log_not_the_page(tmp_path, capsys):
    import warnings

    from labkit import logs

    labkit.setup("smoke", seed=0, notebook="97_logs", build_dir=tmp_path, quiet=True)
    warnings.warn("a library's warning with a /local/.venv/path", UserWarning)
    import logging

    logging.getLogger("tensorflow").error("a TensorFlow log line")
    logs.release()
    captured = capsys.readouterr()
    assert ".venv" not in captured.err + captured.out and "TensorFlow log line" not in captured.err
    text = (tmp_path / "smoke" / "logs" / "97_logs.log").read_text()
    assert "/local/.venv/path" in text and "a TensorFlow log line" in text


def test_tensorflow_start_up_lines_go_to_the_log_in_a_kernel(tmp_path):
    """TensorFlow writes absl / oneDNN lines to file descriptor 2 on import, whatever TF_CPP_MIN_LOG_LEVEL says;
    in a kernel (ipykernel imported) labkit's import hook keeps them for the notebook's log, whether TensorFlow
    is imported (here through Keras) before or after `setup`, and importing labkit alone does not import it."""
    import subprocess
    import sys

    script = (
        "import sys, types\n"
        "mode = sys.argv[1]\n"
        "if mode != 'script': sys.modules['ipykernel'] = types.ModuleType('ipykernel')\n"
        "import labkit\n"
        "assert 'tensorflow' not in sys.modules\n"
        "def start(): labkit.setup('smoke', seed=0, notebook='96_start', build_dir=sys.argv[2], quiet=True)\n"
        "if mode == 'late': start()\n"
        "import keras, tensorflow\n"
        "assert tensorflow.__spec__.loader is tensorflow.__loader__ and 'Quiet' not in type(tensorflow.__loader__).__name__\n"
        "if mode != 'late': start()\n"
    )
    runs = {}
    for mode in ("kernel", "late", "script"):
        build = tmp_path / mode
        done = subprocess.run([sys.executable, "-c", script, mode, str(build)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        log = build / "smoke" / "logs" / "96_start.log"
        runs[mode] = (done.stderr, log.read_text() if log.exists() else "")
    started = "oneDNN custom operations" in runs["script"][0] or "absl" in runs["script"][0]
    for mode in ("kernel", "late"):
        assert "oneDNN" not in runs[mode][0] and "absl" not in runs[mode][0], mode
        if started:  # this TensorFlow writes start-up lines: in a kernel they are in the log, not on stderr
            assert "start-up lines" in runs[mode][1] and ("oneDNN" in runs[mode][1] or "absl" in runs[mode][1]), mode


def test_choice_takes_the_parameter_then_the_earlier_winner_then_the_seed(tmp_path):
    labkit.setup("smoke", seed=0, notebook="04_later", build_dir=tmp_path, quiet=True)
    value, sentence = results.choice(None, notebook="02_first", name="best", seed_value="nadam", what="optimizer")
    assert value == "nadam" and "seed report's choice" in sentence and "no results under this profile" in sentence
    labkit.setup("smoke", seed=0, notebook="02_first", build_dir=tmp_path, quiet=True)
    labkit.record("best", "rmsprop")
    labkit.record("ties", ["adam", "nadam"])
    labkit.setup("smoke", seed=0, notebook="04_later", build_dir=tmp_path, quiet=True)
    value, sentence = results.choice(None, notebook="02_first", name="best", seed_value="nadam", what="optimizer", ties="ties")
    assert value == "rmsprop" and "highest-scoring choice of 02_first" in sentence and "adam, nadam" in sentence
    value, sentence = results.choice("sgd", notebook="02_first", name="best", seed_value="nadam", what="optimizer")
    assert value == "sgd" and "as set in the parameters" in sentence
