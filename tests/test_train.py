import keras
import pytest

import labkit
from labkit import data, train
from labkit.errors import ParameterError


@pytest.fixture(scope="module")
def faces():
    return data.load("faces", profile="smoke")


def tiny_model(dataset):
    model = keras.Sequential(
        [keras.Input(dataset.input_shape), keras.layers.Flatten(), keras.layers.Dense(dataset.num_classes, activation="softmax")]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_trains_on_train_and_validates_on_val(faces, tmp_path):
    labkit.setup("smoke", seed=0, notebook="99_train", build_dir=tmp_path, quiet=True)
    model = tiny_model(faces)
    result = train.fit(model, faces, epochs=5, batch_size=32)
    assert result.epochs == 5 and result.seconds > 0
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert list(result.frame().index) == [1, 2, 3, 4, 5]
    scores = train.evaluate(model, faces)
    assert set(scores) == {"loss", "accuracy"} and scores["accuracy"] > 0.7  # faces vs flat patches


def test_epochs_default_to_the_profile(faces, tmp_path):
    labkit.setup("smoke", notebook="99_train", build_dir=tmp_path, quiet=True)
    assert train.fit(tiny_model(faces), faces).epochs == labkit.current().profile.epochs


@pytest.mark.parametrize("epochs", [0, -3, 2.5])
def test_epochs_must_be_positive(faces, epochs):
    with pytest.raises(ParameterError, match=f"epochs={epochs!r} must be a whole number greater than 0"):
        train.fit(tiny_model(faces), faces, epochs=epochs)


def test_an_uncompiled_model_is_refused(faces):
    model = keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ParameterError, match="model must be compiled"):
        train.fit(model, faces, epochs=1)


def test_evaluate_names_a_bad_split(faces):
    with pytest.raises(ParameterError, match="split='holdout'"):
        train.evaluate(tiny_model(faces), faces, split="holdout")
