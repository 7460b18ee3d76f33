import keras
import numpy as np
import pytest

import labkit
from labkit import compiled, data, train
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


@pytest.mark.parametrize("name", train.OPTIMIZERS)
def test_every_seed_optimizer_is_available_by_name(name):
    built = train.optimizer(name.upper(), learning_rate=0.005)
    assert type(built).__name__.lower() == name
    assert float(keras.ops.convert_to_numpy(built.learning_rate)) == pytest.approx(0.005)


def test_unknown_optimizer_and_bad_learning_rate_are_refused():
    with pytest.raises(ParameterError, match=r"optimizer='adamw'.*'adadelta', 'adagrad', 'adam'"):
        train.optimizer("adamw")
    with pytest.raises(ParameterError, match="learning_rate=0"):
        train.optimizer("sgd", learning_rate=0)


def test_compile_classifier_adds_top_k(faces):
    model = train.compile_classifier(tiny_model(faces), optimizer_name="sgd", top_k=1)
    assert type(model.optimizer).__name__ == "SGD"
    scores = train.evaluate(model, faces)
    assert scores["top_k_accuracy"] == pytest.approx(scores["accuracy"])  # top-1 is accuracy


def test_deadline_stops_a_search_from_starting_new_trials(tmp_path, faces):
    import keras_tuner

    def build(hp):
        model = tiny_model(faces)
        model.optimizer.learning_rate = hp.Float("lr", 1e-3, 1e-1, sampling="log")
        return model

    tuner = keras_tuner.RandomSearch(build, objective="val_accuracy", max_trials=20, directory=tmp_path, seed=1)
    budget = train.FitLog(deadline_seconds=1e-6, oracle=tuner.oracle)
    tuner.search(faces.x_train, faces.y_train, validation_data=(faces.x_val, faces.y_val), epochs=3, callbacks=[budget], verbose=0)
    assert len(tuner.oracle.trials) == 1
    assert budget.expired
    (trial,) = tuner.oracle.trials.values()
    assert len(trial.metrics.get_history("val_accuracy")) == 1  # stopped after its first epoch


def test_no_deadline_never_stops(tmp_path, faces):
    budget = train.FitLog(deadline_seconds=None)
    result = train.fit(tiny_model(faces), faces, epochs=2, callbacks=[budget])
    assert result.epochs == 2 and not budget.expired
    with pytest.raises(ParameterError, match="seconds=-1"):
        train.FitLog(deadline_seconds=-1)


def test_recalibrate_batchnorm_sets_the_statistics_of_the_training_images():
    import numpy as np

    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).normal(3.0, 2.0, size=(600, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(name="bn"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(2, activation="softmax")])
    bn = model.get_layer("bn")
    assert np.allclose(keras.ops.convert_to_numpy(bn.moving_mean), 0.0)
    assert train.recalibrate_batchnorm(model, images, batch_size=200, limit=600) == 1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), images.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), images.var(axis=0), rtol=0.02)
    assert bn.momentum == 0.99 and model.layers[1].rate == 0.5, "the layers' settings are restored"
    bn.trainable = False
    before = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    assert train.recalibrate_batchnorm(model, images + 5) == 0, "a frozen layer keeps its statistics"
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bn.moving_mean), before)


def test_every_fit_recalibrates_before_validating(faces):
    model = keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(),
                              keras.layers.BatchNormalization(name="bn"), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train.fit(model, faces, epochs=1)
    mean = keras.ops.convert_to_numpy(model.get_layer("bn").moving_mean)
    expected = faces.x_train.reshape(len(faces.x_train), -1).mean(axis=0)
    import numpy as np

    np.testing.assert_allclose(mean, expected, atol=1e-3)  # momentum 0.99 alone would leave it near 0


def _counting_train_steps(model):
    traced = []
    step = model.train_step

    def counted(data):
        traced.append(1)  # Python runs once per trace of the compiled step
        return step(data)

    model.train_step = counted
    return traced


def test_fit_traces_the_training_step_once(faces, tmp_path):
    labkit.setup("smoke", seed=0, notebook="99_train", build_dir=tmp_path, quiet=True)
    model = tiny_model(faces)  # compiled, run_eagerly=False: its step is traced
    traced = _counting_train_steps(model)
    train.fit(model, faces, epochs=2, batch_size=32)
    assert len(traced) == 1  # Keras alone traces it twice: its optimizer and metrics make variables in the first trace
    assert model.optimizer.built and model.optimizer.iterations.numpy() == 2 * -(-len(faces.y_train) // 32)
    assert not compiled.build_before_tracing(model, faces.x_train, faces.y_train)  # built already: nothing to do


def test_a_bare_model_fit_traces_twice_which_is_what_building_first_saves(faces):
    model = tiny_model(faces)
    traced = _counting_train_steps(model)
    model.fit(faces.x_train, faces.y_train, epochs=1, batch_size=32, verbose=0)
    assert len(traced) == 2  # if Keras stops doing this, build_before_tracing is no longer needed


def test_nothing_is_built_before_an_eager_fit(faces):
    model = tiny_model(faces)
    model.run_eagerly = True
    assert not compiled.build_before_tracing(model, faces.x_train, faces.y_train)
    assert not model.optimizer.built


def test_copy_state_refuses_models_of_another_layout(faces):
    wide = keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(3)])
    with pytest.raises(ParameterError, match="differ in their layers or variables: copy_state needs two models of the same layout"):
        compiled.copy_state(wide, tiny_model(faces))


def test_reset_optimizer_puts_any_optimizer_back_to_its_start(faces):
    model = tiny_model(faces)
    model.compile(optimizer=keras.optimizers.Adagrad(0.05, initial_accumulator_value=0.25), loss="sparse_categorical_crossentropy")
    model.fit(faces.x_train, faces.y_train, epochs=1, batch_size=32, verbose=0)
    assert model.optimizer.iterations.numpy() > 0
    compiled.reset_optimizer(model)
    assert model.optimizer.iterations.numpy() == 0
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    accumulators = [v.numpy() for v in model.optimizer.variables[2:]]
    assert accumulators and all(np.allclose(a, 0.25) for a in accumulators)  # Adagrad's start, not zeros


def test_reset_optimizer_refuses_a_model_whose_trainable_variables_changed(faces):
    model = tiny_model(faces)
    model.fit(faces.x_train, faces.y_train, epochs=1, batch_size=32, verbose=0)
    before = [v.numpy().copy() for v in model.optimizer.variables]
    model.layers[-1].trainable = False
    with pytest.raises(ParameterError, match=r"^model='[^']+': its trainable variables changed since its optimizer was built: compile it again instead$"):
        compiled.reset_optimizer(model)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.optimizer.variables))  # nothing half-reset
    with pytest.raises(ParameterError, match="model must be compiled first"):
        compiled.reset_optimizer(keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(2)]))


def test_a_fit_ends_validated_with_what_evaluate_gives(faces):
    model = keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(8),
                              keras.layers.BatchNormalization(), keras.layers.Dense(faces.num_classes, activation="softmax")])
    train.compile_classifier(model, learning_rate=0.01)
    fit = train.fit(model, faces, epochs=3, validation_freq=2)  # epoch 2 validated, and the last one
    assert np.isnan(fit.history["val_accuracy"][0]) and not np.isnan(fit.last_value("val_accuracy"))
    assert fit.last_value("val_accuracy") == train.evaluate(model, faces, split="val")["accuracy"]
    assert fit.last_value("val_loss") == pytest.approx(train.evaluate(model, faces, split="val")["loss"], rel=1e-5)
    assert np.isnan(fit.last_value("val_top_k_accuracy"))  # not a metric of this fit
