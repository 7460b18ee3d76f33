import json

import numpy as np
import pytest

import labkit
from labkit import results
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
    assert stored["datasets"][0]["name"] == "digits"
    assert stored["datasets"][0]["requested"] == "fashion_mnist"
    assert stored["datasets"][0]["sizes"] == {"train": 240, "val": 80, "test": 80}


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
