"""The seed's hand-built CNN: layers, shapes and parameter counts derived from the architecture."""

import keras
import pytest

from labkit import models, reference
from labkit.errors import ParameterError


def conv_params(kernel, channels_in, filters):
    return kernel * kernel * channels_in * filters + filters


def expected_counts(input_shape=(28, 28, 1), classes=10, filters=(32, 32, 64, 64), kernels=(5, 5, 3, 3), dense=(1024, 512)):
    """Parameters of each weighted layer, from the architecture (no Keras involved)."""
    side, channels = input_shape[0], input_shape[2]
    trainable, non_trainable = 0, 0
    for index, (count, kernel) in enumerate(zip(filters, kernels)):
        trainable += conv_params(kernel, channels, count) + 2 * count  # conv + BN gamma/beta
        non_trainable += 2 * count  # BN moving mean/variance
        channels = count
        if index % 2 == 1:
            side //= 2
    features = side * side * channels
    for units in dense:
        trainable += features * units + units + 2 * units
        non_trainable += 2 * units
        features = units
    trainable += features * classes + classes
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


def test_defaults_are_the_seed_model():
    model = models.hand_built_cnn()
    counts = models.parameter_counts(model)
    assert counts == expected_counts()
    assert counts == {
        "total": reference.HAND_BUILT_CNN["params"],
        "trainable": reference.HAND_BUILT_CNN["trainable"],
        "non_trainable": reference.HAND_BUILT_CNN["non_trainable"],
    }
    assert model.count_params() == counts["total"]


def test_layer_sequence_and_shapes_follow_the_seed_table():
    table = models.layer_table(models.hand_built_cnn())
    conv_block = ["Conv2D", "BatchNormalization", "Activation"]
    assert table["type"].tolist() == (
        conv_block * 2 + ["MaxPooling2D", "Dropout"] + conv_block * 2 + ["MaxPooling2D", "Dropout"]
        + ["Flatten", "Dense", "BatchNormalization", "Dense", "BatchNormalization", "Dropout", "Dense"]
    )
    shapes = table["output shape"].tolist()
    assert shapes[0] == (None, 28, 28, 32) and shapes[6] == (None, 14, 14, 32)
    assert shapes[8] == (None, 14, 14, 64) and shapes[14] == (None, 7, 7, 64)
    assert shapes[16] == (None, 3136) and shapes[-1] == (None, 10)
    assert table.loc[table["type"] == "Dense", "params"].tolist() == [3136 * 1024 + 1024, 1024 * 512 + 512, 512 * 10 + 10]


def test_only_the_first_convolution_is_he_uniform():
    convs = [layer for layer in models.hand_built_cnn().layers if isinstance(layer, keras.layers.Conv2D)]
    names = [type(layer.kernel_initializer).__name__ for layer in convs]
    assert names == ["HeUniform", "GlorotUniform", "GlorotUniform", "GlorotUniform"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"filters": (16, 32, 48, 64)}, expected_counts(filters=(16, 32, 48, 64))),
        ({"filters": 8}, expected_counts(filters=(8, 8, 8, 8))),
        ({"kernel_sizes": (3, 3, 3, 3)}, expected_counts(kernels=(3, 3, 3, 3))),
        ({"kernel_sizes": (7, 5, 5, 1)}, expected_counts(kernels=(7, 5, 5, 1))),
        ({"dense_units": (256, 128)}, expected_counts(dense=(256, 128))),
        ({"num_classes": 5}, expected_counts(classes=5)),
        ({"input_shape": (32, 32, 3)}, expected_counts(input_shape=(32, 32, 3))),
    ],
)
def test_each_size_argument_changes_the_model(kwargs, expected):
    assert models.parameter_counts(models.hand_built_cnn(**kwargs)) == expected


def test_activations_are_set_one_convolution_at_a_time():
    model = models.hand_built_cnn(activations=("selu", "relu", "elu", "gelu"), dense_activation="elu")
    acts = [layer.activation.__name__ for layer in model.layers if isinstance(layer, keras.layers.Activation)]
    assert acts == ["selu", "relu", "elu", "gelu"]
    dense = [layer.activation.__name__ for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert dense == ["elu", "elu", "softmax"]


def test_initializer_and_dropout_rates_are_arguments():
    model = models.hand_built_cnn(first_initializer="glorot_normal", conv_dropout=0.1, dense_dropout=0.5)
    first = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert type(first.kernel_initializer).__name__ == "GlorotNormal"
    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == [0.1, 0.1, 0.5]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activations": "swishy"}, r"activations='swishy'.*'relu', 'selu', 'elu'"),
        ({"activations": ("relu", "relu", "relu")}, "one value per convolution"),
        ({"dense_activation": "max"}, "dense_activation='max'"),
        ({"filters": (32, 0, 64, 64)}, "filters=0"),
        ({"kernel_sizes": -3}, "kernel_sizes=-3"),
        ({"first_initializer": "zeros"}, "first_initializer='zeros'"),
        ({"conv_dropout": 1.0}, r"conv_dropout=1.0 must be a dropout rate in \[0, 1\)"),
        ({"dense_units": (10,)}, "dense_units"),
        ({"num_classes": 0}, "num_classes=0"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        models.hand_built_cnn(**kwargs)
