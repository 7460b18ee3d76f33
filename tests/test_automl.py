"""AutoKeras' ImageClassifier through labkit.automl, on the tiny faces set (about 15 s)."""

import numpy as np
import pytest

import labkit
from labkit import data, evaluation
from labkit.search import automl
from labkit.errors import ParameterError


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    lab = labkit.setup("smoke", seed=0, notebook="99_automl", build_dir=build, quiet=True)
    faces = data.load("faces")
    return faces, lab, automl.image_classifier(faces, directory=lab.work_dir("autokeras"), max_trials=3, epochs=3)


def test_without_imagenet_weights_the_search_is_one_trial(search):
    _, _, result = search
    assert list(result.trials.index) == [result.best_trial] == ["0"]
    assert result.trials.loc["0", "block_type"] == "vanilla"


def test_the_best_trial_has_its_learning_curves_and_times(search):
    _, _, result = search
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 1 <= len(result.history["loss"]) <= 3 and len(set(map(len, result.history.values()))) == 1
    assert result.trials.loc["0", "epochs"] == len(result.history["loss"])
    assert 0 < result.training_seconds <= result.seconds
    assert not result.stopped_by_budget


def test_the_best_model_is_exported_into_the_build_folder(search):
    faces, lab, result = search
    assert result.path.is_file() and lab.run_dir in result.path.parents
    labels = result.predict_labels(faces.x_test)
    assert labels.dtype == np.int64 and set(labels) <= {0, 1}
    assert result.model.predict(faces.x_test, verbose=0).shape == (len(faces.x_test), 1)  # binary: one sigmoid
    np.testing.assert_array_equal(evaluation.predict_labels(result.model, faces.x_test), labels)


def test_bad_search_arguments_name_the_parameter(tmp_path):
    faces = data.load("faces", profile="smoke")
    with pytest.raises(ParameterError, match="max_trials=0"):
        automl.image_classifier(faces, directory=tmp_path, max_trials=0)
    with pytest.raises(ParameterError, match="budget_seconds=-5"):
        automl.image_classifier(faces, directory=tmp_path, budget_seconds=-5)
    with pytest.raises(ParameterError, match="version='resnet18'.*'resnet50'"):
        automl.resnet_automodel(faces, directory=tmp_path, version="resnet18")
