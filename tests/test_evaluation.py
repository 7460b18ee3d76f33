import matplotlib
import numpy as np
import pytest

from labkit import evaluation, models
from labkit.vis import plots
from labkit.errors import ParameterError

matplotlib.use("Agg")


class Fixed:
    """A stand-in model whose predictions are given."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities)

    def predict(self, x, batch_size=None, verbose=0):
        return self.probabilities[: len(x)]


def test_predict_labels_takes_the_most_probable_class():
    model = Fixed([[0.1, 0.9], [0.8, 0.2], [0.4, 0.6]])
    assert evaluation.predict_labels(model, np.zeros((3, 1))).tolist() == [1, 0, 1]


def test_a_single_sigmoid_output_is_the_probability_of_class_one():
    model = Fixed([[0.2], [0.7], [0.51]])
    assert evaluation.predict_labels(model, np.zeros((3, 1))).tolist() == [0, 1, 1]


def test_training_mode_normalises_with_the_batch_statistics():
    import keras

    # A batch-norm layer whose moving averages were never updated (mean 0, variance 1), then logits
    # (-z, z): class 1 when the normalised input z is positive. Inference mode keeps z ≈ x = 5 and 7
    # (both class 1); training mode centres the batch on its own mean, z ≈ -1 and +1.
    model = keras.Sequential([keras.Input((1,)), keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    model.layers[-1].set_weights([np.array([[-1.0, 1.0]]), np.array([0.0, 0.0])])
    x = np.array([[5.0], [7.0]], dtype="float32")
    assert evaluation.predict_labels(model, x).tolist() == [1, 1]
    assert evaluation.predict_labels(model, x, training_mode=True).tolist() == [0, 1]


def test_accuracy_and_its_errors():
    assert evaluation.accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    with pytest.raises(ParameterError, match="y_pred has 2 labels for 3 true labels"):
        evaluation.accuracy([0, 1, 2], [0, 1])


def test_scorecard_names_every_number():
    model = models.hand_built_cnn(dense_units=(8, 8), filters=4)
    card = evaluation.scorecard(
        [0, 1, 1, 1], [0, 1, 0, 1], model=model, training_seconds=2, inference_seconds=0.0015, search_seconds=None
    )
    assert card == {
        "test accuracy": 0.75,
        "parameters": model.count_params(),
        "training s": 2.0,
        "search s": None,
        "inference ms/image": pytest.approx(1.5),
    }


def test_confusion_matrix_counts_each_pair():
    fig = plots.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], ["a", "b", "c"], title="t")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1", "1", "0", "0", "1", "0", "1", "0", "2"]
    assert fig.axes[0].get_title() == "t"
    with pytest.raises(ParameterError, match="normalize='rows'"):
        plots.confusion_matrix([0], [0], ["a"], normalize="rows")


def test_learning_curves_draw_train_and_validation_per_run():
    fig = plots.learning_curves(
        {"a": {"loss": [3, 2, 1], "val_loss": [3, 3, 2], "accuracy": [0.1, 0.5, 0.9]}, "b": {"loss": [1, 1]}}
    )
    loss_ax, accuracy_ax = fig.axes
    assert len(loss_ax.lines) == 3 and len(accuracy_ax.lines) == 1
    assert [line.get_linestyle() for line in loss_ax.lines] == ["-", "--", "-"]


def test_inference_seconds_is_per_image():
    images = np.zeros((20, 4, 4, 1), "float32")
    calls = []

    def predict(x):
        calls.append(len(x))

    seconds = evaluation.inference_seconds(None, images, batch_size=8, predict=predict)
    assert calls == [8, 20] and 0 <= seconds < 0.01
