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
    return faces, lab, automl.image_classifier(faces, directory=lab.work_dir("autokeras"), max_trials=3, epochs=3,
                                                  budget_seconds=3600)  # a loaded machine must not cut it


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


def test_autokeras_records_python_int_shapes_whatever_keras_requires(search):
    """AutoKeras 3.0.0 stores NumPy integers as shapes; Keras >= 3.13's Dense refuses them (labkit casts)."""
    import keras

    from autokeras import graph
    from labkit.search import _autokeras

    faces, _, result = search
    assert getattr(graph.Graph.set_io_shapes, _autokeras.PATCHED)
    assert not _autokeras.patch(graph.Graph)  # once only
    heads = [layer for layer in result.model.layers if isinstance(layer, keras.layers.Dense)]
    assert heads and all(type(layer.units) is int for layer in heads)

    class Node:
        def __init__(self):
            self.shape, self.in_blocks = None, [self]

    class Graph:
        def __init__(self):
            self.inputs, self.outputs = [Node()], [Node()]

        def set_io_shapes(self, shapes):  # what AutoKeras 3.0.0 does with dataset_shape's arrays
            self.inputs[0].shape = tuple(shapes[0][1:])
            self.outputs[0].in_blocks[0].shape = tuple(shapes[1][1:])

    assert _autokeras.patch(Graph)
    g = Graph()
    g.set_io_shapes((np.array(faces.x_train.shape), np.array([len(faces.y_train), 10])))
    assert g.inputs[0].shape == faces.input_shape and all(type(size) is int for size in g.inputs[0].shape)
    assert g.outputs[0].shape == (10,) and type(g.outputs[0].shape[0]) is int


def test_smoke_runs_the_searched_models_eagerly(search):
    _, lab, result = search
    assert lab.profile.fit_eagerly
    assert result.model.run_eagerly  # tracing a ResNet50 per trial costs more than a smoke fit
