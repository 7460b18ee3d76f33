"""labkit.search.hyper, hypersearch, budget and distributed on the smoke profile (tiny CNNs, one epoch)."""

import math

import keras
import pandas as pd
import pytest

import labkit
from labkit import data
from labkit.errors import ParameterError
from labkit.search import distributed, hyper
from labkit.search.hypersearch import search

# keras-tuner 1.4.8 calls threading.currentThread(), which Python 3.11 deprecates.
pytestmark = pytest.mark.filterwarnings(r"ignore:(currentThread|getName)\(\) is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    labkit.setup("smoke", seed=0, notebook="99_hyper", build_dir=tmp_path_factory.mktemp("build"), quiet=True)
    return data.load("fashion_mnist", split_cap=(60, 20, 20))


def test_the_resnet_space_holds_seed_000s_values():
    assert hyper.space_values(hyper.resnet_space()) == {
        "conv3_depth": [4, 8],
        "conv4_depth": [23, 36],
        "pooling": ["avg", "max"],
        "optimizer": ["adam", "sgd"],
        "learning_rate": [0.1, 0.01],
    }
    defaults = {hp.name: hp.default for hp in hyper.resnet_space().space}
    assert defaults == {"conv3_depth": 4, "conv4_depth": 23, "pooling": "avg", "optimizer": "adam", "learning_rate": 0.01}


def test_the_optimizer_space_holds_seed_001s_ranges_with_momentum_only_where_it_exists():
    space = hyper.optimizer_space()
    assert hyper.space_values(space) == {
        "optimizer": ["sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam"],
        "batch_size": (10, 100, "linear"),
        "learning_rate": (1e-4, 0.3, "log"),
        "momentum": (0.0, 0.9, "linear"),
    }
    momentum = next(hp for hp in space.space if hp.name == "momentum")
    assert [c.values for c in momentum.conditions] == [["sgd", "rmsprop"]]
    with pytest.raises(ParameterError, match="optimizers"):
        hyper.optimizer_space(optimizers=["lbfgs"])


def test_narrow_keeps_the_winners_optimizer_and_spans_their_values():
    # Seed report 001's first round (its table of six models).
    first = pd.DataFrame(
        {
            "optimizer": ["adadelta", "rmsprop", "rmsprop", "rmsprop", "sgd", "sgd"],
            "batch_size": [76, 49, 61, 97, 29, 67],
            "learning_rate": [0.120, 0.035, 0.035, 0.182, 0.044, 0.088],
            "momentum": [None, 0.10, 0.10, 0.50, 0.13, 0.26],
            "val_accuracy": [0.9026, 0.9219, 0.9092, 0.9148, 0.9328, 0.9342],
        }
    )
    space, ranges = hyper.narrow(first)
    assert ranges == {"optimizers": ["sgd"], "batch_size": (20, 70), "learning_rate": (0.04, 0.09),
                      "momentum": (0.1, 0.3)}
    assert hyper.space_values(space) == {"optimizer": ["sgd"], "batch_size": (20, 70, "linear"),
                                         "learning_rate": (0.04, 0.09, "log"), "momentum": (0.1, 0.3, "linear")}
    _, three = hyper.narrow(first, top=3)  # the third best is RMSprop, without momentum above 0.26
    assert three["optimizers"] == ["sgd", "rmsprop"] and three["momentum"] == (0.1, 0.3)


class StepCounter(keras.callbacks.Callback):
    """Records the steps per epoch of every fit (the batch size that reached `model.fit`)."""

    steps = []

    def on_train_begin(self, logs=None):
        StepCounter.steps.append(self.params["steps"])


def test_a_two_trial_search_returns_its_table_with_the_batch_size_through_fit(digits, tmp_path):
    build, space = hyper.preset("optimizers", digits)
    StepCounter.steps = []
    found = search(build, space, dataset=digits, directory=tmp_path, name="two", method="random", max_trials=2,
                   epochs=1, seed=3, callbacks=[StepCounter()], budget_seconds=3600)
    table = found.table
    assert list(table["trial"]) == [0, 1] and (table["epochs"] == 1).all() and found.epochs == 2
    assert set(table["optimizer"]) <= set(hyper.OPTIMIZERS) and table["batch_size"].between(10, 100).all()
    assert StepCounter.steps == [math.ceil(len(digits.y_train) / b) for b in table["batch_size"]]
    assert {"val_accuracy", "seconds"} <= set(table) and (table["seconds"] > 0).all()
    assert set(found.best_values()) >= {"optimizer", "batch_size", "learning_rate"}


class Interrupt(keras.callbacks.Callback):
    """Stops the process-like search at the first epoch of its second fit, as Ctrl-C would."""

    fits = 0

    def on_train_begin(self, logs=None):
        Interrupt.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        if Interrupt.fits == 2:
            raise KeyboardInterrupt


def test_an_interrupted_hyperband_search_resumes_where_it_stopped(digits, tmp_path):
    build, space = hyper.preset("optimizers", digits)
    options = dict(dataset=digits, directory=tmp_path, name="resume", method="hyperband", max_epochs=2, factor=2,
                   budget_seconds=3600)  # no time budget to cut one run shorter than the other
    Interrupt.fits = 0
    with pytest.raises(KeyboardInterrupt):
        search(build, space, callbacks=[Interrupt()], **options)
    again = search(build, space, **options)
    whole = search(build, space, **{**options, "directory": tmp_path / "whole"})
    assert list(again.table["trial"]) == list(whole.table["trial"])  # the same trials, none lost
    assert again.epochs == whole.epochs - 1  # the first trial's epoch was not trained again


def test_a_chief_and_two_workers_share_a_search(digits, tmp_path):
    spec = dict(space="optimizers", dataset="fashion_mnist", profile="smoke", build_dir=tmp_path / "build",
                directory=tmp_path / "search", name="shared", split_cap=[40, 20, 20], method="random",
                max_trials=3, epochs=1, seed=0)
    table, workers = distributed.run(spec, workers=2, timeout_seconds=240)
    assert list(table["trial"]) == [0, 1, 2] and (table["epochs"] == 1).all()
    ran = sorted(trial for frame in workers.values() for trial in frame.get("trial", []))
    assert ran == [0, 1, 2]  # every trial ran once, on one worker or the other
    with pytest.raises(ParameterError, match="space"):
        distributed.run({**spec, "space": "vgg"})
