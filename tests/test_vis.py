"""labkit.vis on small models: feature maps, filters, Grad-CAM, mistakes; and the evaluation numbers behind them.

Every figure is drawn with the Agg backend (no display). The Grad-CAM model is set by hand: one
channel fires on a bright 3×3 square (the planted pattern) and votes for class 1, the other fires on
dark background and votes for class 0 (20 times more weakly: the square is small), so the evidence
for class 1 lies exactly where the square is.
"""

import matplotlib
import numpy as np
import pytest

from labkit import evaluation
from labkit.errors import ParameterError
from labkit.vis import filters, gradcam, maps, mistakes

matplotlib.use("Agg")

SIDE = 16


def _detector(nested: bool):
    import keras

    conv = keras.layers.Conv2D(2, 3, padding="same", name="conv")
    relu = keras.layers.ReLU(name="conv_relu")
    pool = keras.layers.GlobalAveragePooling2D(name="pooling")
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    images = keras.Input((SIDE, SIDE, 1))
    if nested:
        base = keras.Model(images, relu(conv(images)), name="base")
        outer = keras.Input((SIDE, SIDE, 1))
        model = keras.Model(outer, dense(pool(base(outer, training=False))), name="classifier")
    else:
        model = keras.Sequential([images, conv, relu, pool, dense], name="flat")
    kernel = np.zeros((3, 3, 1, 2), dtype="float32")
    kernel[..., 0, 0], kernel[..., 0, 1] = 1.0, -1.0
    conv.set_weights([kernel, np.array([-4.0, 1.0], dtype="float32")])
    dense.set_weights([np.array([[0.0, 100.0], [5.0, 0.0]], dtype="float32"), np.zeros(2, dtype="float32")])
    return model


def _planted(centres, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.05, size=(len(centres), SIDE, SIDE, 1)).astype("float32")
    for image, (row, column) in zip(x, centres):
        image[row - 1:row + 2, column - 1:column + 2] = 1.0
    return x


CENTRES = [(3, 3), (12, 4), (8, 8), (4, 12), (12, 12)]


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested base"])
def test_gradcam_peaks_where_the_planted_pattern_is(nested):
    model = _detector(nested)
    x = _planted(CENTRES)
    cams = gradcam.gradcam(model, x, layer="conv_relu")
    assert cams.maps.shape == (len(CENTRES), SIDE, SIDE)
    assert cams.maps.min() >= 0.0 and np.allclose(cams.maps.max(axis=(1, 2)), 1.0)
    assert cams.classes.tolist() == [1] * len(CENTRES)  # the square is there: class 1 predicted
    for heat, (row, column) in zip(cams.maps, CENTRES):
        peak = np.unravel_index(np.argmax(heat), heat.shape)
        assert abs(peak[0] - row) <= 1 and abs(peak[1] - column) <= 1, (peak, (row, column))
        assert heat[row, column] > 0.9 and heat[0 if row > 8 else -1, 0 if column > 8 else -1] < 0.1


def test_gradcam_of_the_other_class_avoids_the_pattern():
    x = _planted(CENTRES)
    cams = gradcam.gradcam(_detector(False), x, layer="conv", class_index=0)
    assert cams.classes.tolist() == [0] * len(CENTRES)
    for heat, (row, column) in zip(cams.maps, CENTRES):
        assert heat[row, column] < 0.2 < heat.mean()


def test_gradcam_refuses_an_unknown_or_flat_layer():
    model = _detector(True)
    with pytest.raises(ParameterError, match="layer='nope'"):
        gradcam.score_model(model, "nope")
    with pytest.raises(ParameterError, match="image-shaped"):
        gradcam.score_model(model, "pooling")


def test_overlay_grid_draws_one_panel_per_image():
    x = _planted(CENTRES[:3])
    cams = gradcam.gradcam(_detector(False), x, layer="conv_relu")
    fig = gradcam.overlay_grid(x, cams, ["background", "square"], labels=[1, 1, 1], columns=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 3 and all(len(ax.images) == 2 for ax in drawn)
    assert "square" in drawn[0].get_title() and fig._suptitle.get_text()


def test_feature_maps_have_the_layers_shapes_and_the_grids_one_panel_per_channel():
    model = _detector(True).get_layer("base")
    x = _planted([(8, 8)])
    out = maps.feature_maps(model, ["conv", "conv_relu"], x[0])
    assert list(out) == ["conv", "conv_relu"] and out["conv_relu"].shape == (SIDE, SIDE, 2)
    assert out["conv_relu"].min() >= 0.0 and out["conv_relu"][8, 8, 0] == pytest.approx(5.0, abs=0.1)
    assert maps.strongest(out["conv_relu"], 1).tolist() == [1]  # dark background covers most of the image
    fig = maps.map_grid(out["conv"], columns=4)
    tiled = fig.axes[0].images[0].get_array()  # two 16×16 maps side by side, 1-pixel borders
    assert tiled.shape == (1 + SIDE + 1, 1 + 2 * (SIDE + 1)) and [t.get_text() for t in fig.axes[0].texts] == ["0", "1"]
    assert tiled.min() == 0.0 and tiled.max() == 1.0  # each channel scaled to its own range
    fig = maps.depth_grid(out, per_layer=2, image=np.repeat(x[0], 3, axis=-1))
    assert len(fig.axes) == 2 * 2 and all(ax.images for ax in fig.axes)
    table = maps.layer_table(out)
    assert table.loc["conv_relu", "channels"] == 2 and 0.5 < table.loc["conv_relu", "zeros"] < 1.0
    assert 0.0 <= table.loc["conv", "alike"] <= 1.0
    with pytest.raises(ParameterError, match="layers="):
        maps.feature_maps(model, "nope", x[0])


def test_kernel_finds_a_convolution_inside_a_nested_model_and_draws_every_filter():
    model = _detector(True)
    weights = filters.kernel(model, "conv")
    assert weights.shape == (3, 3, 1, 2) and weights[..., 0, 0].min() == 1.0
    assert np.array_equal(filters.kernel(model), weights)
    fig = filters.kernel_grid(weights, columns=4)
    assert fig.axes[0].images[0].get_array().shape == (1 + 3 + 1, 1 + 2 * (3 + 1))
    with pytest.raises(ParameterError, match="layer='pooling'"):
        filters.kernel(model, "pooling")


PROBABILITIES = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.4, 0.45, 0.15], [0.05, 0.05, 0.9],
                          [0.25, 0.35, 0.4], [0.9, 0.04, 0.06]])
TRUE = np.array([0, 1, 0, 2, 1, 1])


def test_metrics_follow_both_definitions_of_precision():
    scores = evaluation.metrics(TRUE, PROBABILITIES, k=2)
    assert scores["accuracy"] == pytest.approx(3 / 6)
    # Keras' Precision on one-hot labels: 4 probabilities above 0.5, 3 of them on the true class.
    assert scores["precision (Keras, p > 0.5)"] == pytest.approx(3 / 4)
    assert scores["recall (Keras, p > 0.5)"] == pytest.approx(3 / 6)
    # macro: each class predicted twice, once rightly; true twice, three times and once
    assert scores["precision (macro)"] == pytest.approx(1 / 2)
    assert scores["recall (macro)"] == pytest.approx((1 / 2 + 1 / 3 + 1) / 3)
    assert scores["top-k accuracy"] == pytest.approx(5 / 6)  # only example 5 misses its top 2
    assert evaluation.metrics(TRUE, PROBABILITIES, k=3)["top-k accuracy"] == 1.0
    with pytest.raises(ParameterError, match="k=4"):
        evaluation.metrics(TRUE, PROBABILITIES, k=4)


def test_class_report_has_one_row_per_class_then_the_averages():
    table = evaluation.class_report(TRUE, PROBABILITIES.argmax(axis=1), ["a", "b", "c"])
    assert list(table.index) == ["a", "b", "c", "macro avg", "weighted avg"]
    assert table.loc["b", "support"] == 3 and table.loc["b", "precision"] == 0.5
    assert table.loc["b", "recall"] == pytest.approx(1 / 3) and table.loc["c", "recall"] == 1.0
    assert table[["precision", "recall", "f1-score"]].to_numpy().min() >= 0.0
    assert table[["precision", "recall", "f1-score"]].to_numpy().max() <= 1.0


def test_confident_mistakes_are_the_wrong_answers_surest_first():
    assert evaluation.confident_mistakes(TRUE, PROBABILITIES).tolist() == [5, 2, 4]
    assert evaluation.confident_mistakes(TRUE, PROBABILITIES, count=1).tolist() == [5]
    fig = mistakes.mistakes_grid(np.zeros((6, 4, 4, 3)), TRUE, PROBABILITIES, ["a", "b", "c"], columns=2)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles[0] == "said a 0.90\nwas b" and len(titles) == 3


def test_accuracy_interval_brackets_the_accuracy_and_agrees_with_the_binomial_one():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 8, 400)
    y_pred = np.where(rng.random(400) < 0.8, y_true, (y_true + 1) % 8)
    interval = evaluation.accuracy_interval(y_true, y_pred, resamples=2000)
    assert interval["low"] < interval["accuracy"] < interval["high"]
    assert interval["high"] - interval["low"] == pytest.approx(
        interval["binomial high"] - interval["binomial low"], rel=0.2)
    assert evaluation.accuracy_interval(y_true, y_pred, resamples=2000) == interval  # seeded
    perfect = evaluation.accuracy_interval(y_true, y_true)
    assert perfect["low"] == perfect["high"] == 1.0 and perfect["binomial low"] < 1.0
    with pytest.raises(ParameterError, match="confidence=1"):
        evaluation.accuracy_interval(y_true, y_pred, confidence=1)


def test_confusions_lists_the_most_frequent_wrong_pairs_first():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([1, 1, 0, 0, 1, 0, 1, 1, 2])
    table = evaluation.confusions(y_true, y_pred, ["a", "b", "c"], count=2)
    assert table[["true", "predicted", "count"]].values.tolist() == [["a", "b", 2], ["c", "b", 2]]
    assert table["share of the true class"].tolist() == pytest.approx([2 / 3, 2 / 4])
    assert evaluation.confusions(y_true, y_true, ["a", "b", "c"]).empty


def test_alike_sentence_names_the_layers_on_each_side():
    sentence = maps.alike_sentence({"a": 0.2, "b": 0.5}, {"a": 0.4, "b": 0.3}, ("pretrained", "random"))
    assert sentence.startswith("The channels of the pretrained weights are less alike than the random ones at a;")
    assert "more alike at b" in sentence
    only_more = maps.alike_sentence({"a": 0.5}, {"a": 0.3}, ("pretrained", "random"))
    assert only_more.startswith("The channels of the pretrained weights are more alike than the random ones at a")
