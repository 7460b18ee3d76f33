"""labkit.sweeps on the tiny faces set with a one-hidden-layer model (about 50 s, 12 s of it distributed)."""

import glob
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import pandas as pd
import pytest

import labkit
from labkit import data, models, stats, train
from labkit.search import designs, sweeps
from labkit.errors import ParameterError

# keras-tuner 1.4.8 calls threading.currentThread(), which Python 3.11 deprecates.
pytestmark = pytest.mark.filterwarnings(r"ignore:(currentThread|getName)\(\) is deprecated:DeprecationWarning")

SPACE = {"optimizer": ["adam", "sgd"], "units": [4, 8]}


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    labkit.setup("smoke", seed=0, notebook="99_sweeps", build_dir=tmp_path_factory.mktemp("build"), quiet=True)
    return data.load("faces")


class Builder:
    """A tiny compiled classifier per call, remembering the values it was called with."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.calls = []

    def __call__(self, optimizer="adam", units=4):
        self.calls.append((optimizer, units))
        model = keras.Sequential(
            [
                keras.Input(self.dataset.input_shape),
                keras.layers.Flatten(),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(self.dataset.num_classes, activation="softmax"),
            ]
        )
        return train.compile_classifier(model, optimizer_name=optimizer)


@pytest.fixture(scope="module")
def grid(faces, tmp_path_factory):
    directory = tmp_path_factory.mktemp("sweeps")
    build = Builder(faces)
    started = time.perf_counter()
    frame = sweeps.run(build, SPACE, dataset=faces, directory=directory, name="grid", epochs=2)
    return frame, build.calls, directory, time.perf_counter() - started


def test_a_grid_runs_every_combination_once_in_the_given_order(grid):
    frame, calls, _, _ = grid
    order = [("adam", 4), ("adam", 8), ("sgd", 4), ("sgd", 8)]
    assert calls == order
    assert list(frame["trial"]) == [0, 1, 2, 3]
    assert list(zip(frame["optimizer"], frame["units"])) == order


def test_the_table_holds_the_best_epoch_metrics_and_the_training_time(grid):
    frame, _, directory, seconds = grid
    assert list(frame.columns) == [
        "trial", "optimizer", "units", "accuracy", "loss", "val_accuracy", "val_loss", "best_epoch", "epochs", "seconds"
    ]
    assert (frame["epochs"] == 2).all() and frame["best_epoch"].isin([1, 2]).all()
    assert frame[["accuracy", "val_accuracy"]].stack().between(0, 1).all() and (frame["loss"] > 0).all()
    assert (frame["seconds"] > 0).all() and frame["seconds"].sum() < seconds
    # The objective column is the score keras-tuner ranked the trial by.
    for row in frame.itertuples():
        saved = json.loads(next(Path(directory, "grid").glob(f"trial_{row.trial}/trial.json")).read_text())
        assert saved["status"] == "COMPLETED" and saved["score"] == pytest.approx(row.val_accuracy)


def test_every_trial_logs_its_hyperparameters_to_tensorboard(grid):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    frame, _, directory, _ = grid
    logs = sweeps.log_dir(directory, "grid")
    assert logs == directory / "grid" / "tensorboard"
    assert sweeps.tensorboard_command(directory, "grid") == f"tensorboard --logdir {logs.resolve()}"
    # relative to the working folder (or the checkout), never an absolute local path; quoted for the shell
    assert sweeps.tensorboard_command("my runs", "grid") == "tensorboard --logdir 'my runs/grid/tensorboard'"
    for row in frame.itertuples():
        events = EventAccumulator(str(logs / str(row.trial) / "execution0"))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
        assert start.hparams["optimizer"].string_value == row.optimizer
        assert start.hparams["units"].number_value == row.units
        assert "_hparams_/session_end_info" in content
        assert glob.glob(str(logs / str(row.trial) / "execution0" / "validation" / "events.out.tfevents.*"))


def test_a_stopped_grid_goes_on_where_it_stopped(faces, grid, tmp_path):
    build = Builder(faces)
    first = sweeps.run(build, SPACE, dataset=faces, directory=tmp_path, name="grid", epochs=2, max_trials=2)
    assert len(first) == 2 and build.calls == [("adam", 4), ("adam", 8)]
    resumed = sweeps.run(build, SPACE, dataset=faces, directory=tmp_path, name="grid", epochs=2)
    assert build.calls[2:] == [("sgd", 4), ("sgd", 8)]  # only the missing trials ran
    pd.testing.assert_frame_equal(resumed.iloc[:2], first)
    # Each trial starts from the same seed: the resumed sweep equals the uninterrupted one.
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), grid[0].drop(columns="seconds"))
    again = sweeps.run(build, SPACE, dataset=faces, directory=tmp_path, name="grid", epochs=2)
    assert len(build.calls) == 4
    pd.testing.assert_frame_equal(again, resumed)


def test_an_interrupted_sweep_runs_the_trial_under_way_again_then_the_rest(faces, tmp_path):
    builder, interruptions = Builder(faces), []

    def build(optimizer):
        if optimizer == "sgd" and not interruptions:
            interruptions.append(optimizer)
            raise KeyboardInterrupt  # what stopping the notebook's kernel raises
        return builder(optimizer)

    space = {"optimizer": ["adam", "sgd", "rmsprop"]}
    options = dict(dataset=faces, directory=tmp_path, name="interrupted", epochs=1)
    with pytest.raises(KeyboardInterrupt):
        sweeps.run(build, space, **options)
    assert builder.calls == [("adam", 4)] and interruptions == ["sgd"]
    resumed = sweeps.run(build, space, **options)
    assert builder.calls == [("adam", 4), ("sgd", 4), ("rmsprop", 4)]
    assert list(resumed["optimizer"]) == ["adam", "sgd", "rmsprop"] and list(resumed["trial"]) == [0, 1, 2]


def test_a_sweep_cut_by_its_time_budget_goes_on_when_run_again(faces, tmp_path):
    build = Builder(faces)
    space = {"optimizer": ["adam", "sgd", "rmsprop", "adamax"]}
    options = dict(dataset=faces, directory=tmp_path, name="budget", mode="random", max_trials=3, epochs=2)
    with pytest.warns(UserWarning, match=r"time budget of 0.001 s ran out with 1 of 3 trials"):
        cut = sweeps.run(build, space, budget_seconds=0.001, **options)
    assert len(build.calls) == 1 and list(cut["epochs"]) == [1]  # stopped at its first epoch end
    resumed = sweeps.run(build, space, **options)
    assert len(build.calls) == 3 and list(resumed["trial"]) == [0, 1, 2]
    assert list(resumed["epochs"]) == [1, 2, 2]  # trial 0 is not run again
    assert resumed["optimizer"].is_unique and [c[0] for c in build.calls] == list(resumed["optimizer"])


def test_random_mode_samples_by_the_seed_and_defaults_to_the_profile_trials(faces, tmp_path):
    space = {"optimizer": ["adam", "sgd", "rmsprop", "adamax"], "units": [4, 8]}
    options = dict(dataset=faces, mode="random", epochs=1, seed=3)
    two = sweeps.run(Builder(faces), space, directory=tmp_path / "a", name="random", max_trials=2, **options)
    one = sweeps.run(Builder(faces), space, directory=tmp_path / "b", name="random", **options)
    assert len(two) == 2 and len(set(zip(two["optimizer"], two["units"]))) == 2
    assert len(one) == labkit.current().profile.trials == 1
    pd.testing.assert_frame_equal(one.drop(columns="seconds"), two.iloc[:1].drop(columns="seconds"))


def test_bools_and_mixed_numbers_keep_their_kind(faces, tmp_path):
    calls = []

    def build(learning_rate, bias):
        calls.append((learning_rate, bias))
        layers = [keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(2, "softmax", use_bias=bias)]
        return train.compile_classifier(keras.Sequential(layers), learning_rate=learning_rate)

    space = {"learning_rate": [0.01], "bias": [False, True]}
    frame = sweeps.run(build, space, dataset=faces, directory=tmp_path, name="kinds", epochs=1)
    assert calls == [(0.01, False), (0.01, True)] and all(type(bias) is bool for _, bias in calls)
    assert frame["bias"].dtype == bool and list(frame["bias"]) == [False, True]
    again = sweeps.run(build, space, dataset=faces, directory=tmp_path, name="kinds", epochs=1)  # the same space
    assert len(calls) == 2 and again.equals(frame)
    more = {"learning_rate": [0.01, 1], "bias": [False, True]}  # 1 becomes 1.0
    with pytest.raises(ParameterError, match=r"space=\{'learning_rate': \[0.01, 1.0\], 'bias': \[False, True\]\} differs"):
        sweeps.run(build, more, dataset=faces, directory=tmp_path, name="kinds")


@pytest.mark.parametrize(
    "space, options, message",
    [
        ({}, {}, r"space=\{\} must be a dict \{keyword: non-empty list of ints, floats, strings or bools\}"),
        ({"optimizer": []}, {}, r"space\['optimizer'\]=\[\] must be a non-empty list; space must be a dict"),
        ({"units": [4, "8"]}, {}, r"space\['units'\]=\[4, '8'\] must hold values of one kind"),
        ({"units": [4, None]}, {}, r"space\['units'\] holds None: the values must be ints, floats, strings or bools"),
        ({"units": [4, 4]}, {}, r"lists a value twice"),
        ({"layers": [1, 2]}, {}, r"build\(optimizer='adam', units=4\) cannot be called with the keywords of space"),
        (SPACE, {"mode": "bayes"}, r"mode='bayes' is not one of the allowed values: 'grid', 'random'"),
        (SPACE, {"max_trials": 0}, r"max_trials=0 must be a whole number greater than 0"),
        (SPACE, {"epochs": -1}, r"epochs=-1 must be a whole number greater than 0"),
        (SPACE, {"budget_seconds": 0}, r"budget_seconds=0 must be a number of seconds greater than 0, or None"),
        (SPACE, {"name": "a/b"}, r"name='a/b' must be a plain folder name"),
        (SPACE, {"validation": "never"}, r"validation='never' is not one of the allowed values: 'every epoch', 'last epoch'"),
        (SPACE, {"objective": "val_banana"}, r"objective='val_banana': keras-tuner cannot tell whether to maximise"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(faces, tmp_path, space, options, message):
    build = Builder(faces)
    arguments = dict(dataset=faces, directory=tmp_path, name="bad", epochs=1) | options
    with pytest.raises(ParameterError, match=message):
        sweeps.run(build, space, **arguments)
    assert build.calls == []


def test_a_parameter_error_inside_build_reaches_the_caller_unchanged(faces, tmp_path):
    raised = []

    def build(optimizer):
        try:
            return Builder(faces)(optimizer)
        except ParameterError as error:
            raised.append(error)
            raise

    with pytest.raises(ParameterError, match=r"^optimizer='adamm' is not one of the allowed values: 'adadelta'") as caught:
        sweeps.run(build, {"optimizer": ["adam", "adamm"]}, dataset=faces, directory=tmp_path, name="typo", epochs=1)
    assert caught.value is raised[0] and len(raised) == 1  # not retried, not wrapped
    with pytest.raises(ParameterError, match=r"space=\{'optimizer': \['adam'\]\} differs from the space of the sweep saved"):
        sweeps.run(build, {"optimizer": ["adam"]}, dataset=faces, directory=tmp_path, name="typo", epochs=1)
    again = dict(dataset=faces, directory=tmp_path, name="typo", epochs=1, overwrite=True)
    assert list(sweeps.run(build, {"optimizer": ["adam"]}, **again)["optimizer"]) == ["adam"]


def test_build_errors_found_before_training_stop_the_sweep(faces, tmp_path):
    def cnn(activations):
        model = models.hand_built_cnn(input_shape=faces.input_shape, num_classes=2, activations=activations)
        return train.compile_classifier(model)

    with pytest.raises(ParameterError, match=r"^activations='relux' is not one of the allowed values: 'relu', 'selu'"):
        sweeps.run(cnn, {"activations": ["relux", "relu"]}, dataset=faces, directory=tmp_path, name="cnn", epochs=1)

    def uncompiled(units):
        return keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(units)])

    with pytest.raises(ParameterError, match=r"build returned an uncompiled Sequential: build must return a compiled"):
        sweeps.run(uncompiled, {"units": [2]}, dataset=faces, directory=tmp_path, name="uncompiled", epochs=1)


def test_an_objective_the_model_does_not_report_stops_after_one_epoch(faces, tmp_path):
    build = Builder(faces)
    reported = r"'accuracy', 'loss', 'val_accuracy', 'val_loss'"
    with pytest.raises(ParameterError, match=rf"objective='val_acc' is not a metric the model reports: {reported}"):
        sweeps.run(build, SPACE, dataset=faces, directory=tmp_path, name="acc", epochs=3, objective="val_acc")
    assert len(build.calls) == 1


def test_failed_trials_are_left_out_with_a_warning(faces, tmp_path):
    def build(units):
        if units == 8:
            raise RuntimeError("no room for 8 units")
        return Builder(faces)(units=units)

    with pytest.warns(UserWarning, match=r"trial\(s\) 1 failed .* RuntimeError: no room for 8 units"):
        frame = sweeps.run(build, {"units": [4, 8]}, dataset=faces, directory=tmp_path, name="failing", epochs=1)
    assert list(frame["units"]) == [4]


WORKER_SCRIPT = """
import sys

import keras

import labkit
from labkit import data, train
from labkit.search import sweeps

directory, build_dir, table = sys.argv[1:]
labkit.setup("smoke", seed=0, notebook="99_sweeps", build_dir=build_dir, quiet=True)
faces = data.load("faces")


def build(optimizer):
    model = keras.Sequential(
        [keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")]
    )
    return train.compile_classifier(model, optimizer_name=optimizer)


space = {"optimizer": ["adam", "sgd", "rmsprop"]}
frame = sweeps.run(build, space, dataset=faces, directory=directory, name="shared", epochs=1)
frame.to_json(table, orient="records")
"""


def test_a_chief_and_a_worker_share_the_trials(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(WORKER_SCRIPT))
    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    environment = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    environment.update(
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(port),
        PYTHONPATH=os.pathsep.join([str(root), environment.get("PYTHONPATH", "")]),
    )
    processes = {}
    try:
        for role in ("chief", "tuner0"):
            with open(tmp_path / f"{role}.log", "w") as log:
                arguments = [tmp_path / "sweep", tmp_path / "build", tmp_path / f"{role}.json"]
                processes[role] = subprocess.Popen(
                    [sys.executable, str(script), *map(str, arguments)],
                    env=environment | {"KERASTUNER_TUNER_ID": role},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        end = time.monotonic() + 300  # about 12 s on an idle machine; the limit only catches a hang
        for role, process in processes.items():
            code = process.wait(timeout=max(1.0, end - time.monotonic()))
            assert code == 0, f"{role} exited with {code}:\n{(tmp_path / f'{role}.log').read_text()[-3000:]}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    chief = pd.read_json(tmp_path / "chief.json", orient="records")
    worker = pd.read_json(tmp_path / "tuner0.json", orient="records")
    assert list(chief["trial"]) == [0, 1, 2] and list(chief["optimizer"]) == ["adam", "sgd", "rmsprop"]
    assert (chief["epochs"] == 1).all() and (chief["seconds"] > 0).all()  # timed by the worker, reported to the chief
    assert list(worker["trial"]) == [0, 1, 2]  # the one worker ran them all
    oracle = json.loads((tmp_path / "sweep" / "shared" / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2"] and set(oracle["run_times"].values()) == {1}
    assert oracle["ongoing_trials"] == {}  # so that running the sweep again runs nothing
    statuses = [json.loads(p.read_text())["status"] for p in (tmp_path / "sweep" / "shared").glob("trial_*/trial.json")]
    assert statuses == ["COMPLETED"] * 3


def test_repeat_varies_only_the_seed_and_spread_summarises_it(tmp_path):
    import keras

    from labkit import data, train

    labkit.setup("smoke", notebook="99_repeat", build_dir=tmp_path, quiet=True)
    faces = data.load("faces")

    def build(units):
        model = keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(2, activation="softmax")])
        return train.compile_classifier(model)

    runs = stats.repeat(build, {"small": {"units": 2}, "wide": {"units": 16}}, dataset=faces, seeds=(0, 1, 0), epochs=2)
    assert runs["configuration"].tolist() == ["small"] * 3 + ["wide"] * 3
    small = runs[runs.configuration == "small"]
    assert small["test_accuracy"].iloc[0] == small["test_accuracy"].iloc[2]  # same seed, same run
    assert runs[["val_accuracy", "test_accuracy"]].stack().between(0, 1).all()
    table = stats.spread(runs)
    assert list(table.index) == ["small", "wide"] and table["runs"].tolist() == [3, 3]
    assert table.loc["small", "min"] <= table.loc["small", "mean"] <= table.loc["small", "max"]
    with pytest.raises(ParameterError, match="configurations="):
        stats.repeat(build, {}, dataset=faces)
    with pytest.raises(ParameterError, match="metric='f1'"):
        stats.spread(runs, metric="f1")


def test_one_at_a_time_varies_each_keyword_alone_around_the_baseline():
    spaces = designs.one_at_a_time(
        {"a": "relu", "b": "relu", "c": 3}, {"a": ["relu", "selu", "elu"], "b": ["relu", "selu"], "c": [3]}
    )
    assert spaces == [
        {"a": ["relu", "selu", "elu"], "b": ["relu"], "c": [3]},
        {"a": ["relu"], "b": ["selu"], "c": [3]},
    ]  # c has no alternative: no space of its own
    with pytest.raises(ParameterError, match=r"values='d'.*'a', 'b', 'c'"):
        designs.one_at_a_time({"a": 1, "b": 2, "c": 3}, {"d": [1]})


def test_run_design_runs_every_part_and_labels_it(tmp_path):
    labkit.setup("smoke", notebook="99_design", build_dir=tmp_path, quiet=True)
    faces = data.load("faces")
    calls = []

    def build(units, rate):
        calls.append((units, rate))
        model = keras.Sequential([keras.Input(faces.input_shape), keras.layers.Flatten(), keras.layers.Dense(units), keras.layers.Dense(2, activation="softmax")])
        return train.compile_classifier(model, learning_rate=rate)

    spaces = designs.one_at_a_time({"units": 4, "rate": 0.01}, {"units": [4, 8], "rate": [0.01, 0.1]})
    table = designs.run_design(build, spaces, dataset=faces, directory=tmp_path / "sweeps", name="design", epochs=1, tensorboard=False)
    assert calls == [(4, 0.01), (8, 0.01), (4, 0.1)]
    assert table["part"].tolist() == [0, 0, 1]
    assert table[["units", "rate"]].values.tolist() == [[4, 0.01], [8, 0.01], [4, 0.1]]
    assert (tmp_path / "sweeps" / "design" / "part1").is_dir()
    assert designs.tensorboard_command(tmp_path / "sweeps", "design").endswith("/sweeps/design")


def test_plan_builds_each_design():
    baseline = {"a": 1, "b": 2}
    values = {"a": [1, 3], "b": [2, 4]}
    assert designs.plan("grid", baseline, values) == [{"a": [1, 3], "b": [2, 4]}]
    assert designs.plan("one at a time", baseline, values) == [{"a": [1, 3], "b": [2]}, {"a": [1], "b": [4]}]
    assert designs.plan("one only", baseline, values, focus="b") == [{"a": [1], "b": [2, 4]}]
    with pytest.raises(ParameterError, match=r"design='half'.*'grid', 'one at a time', 'one only'"):
        designs.plan("half", baseline, values)
    with pytest.raises(ParameterError, match="focus='c'"):
        designs.plan("one only", baseline, values, focus="c")


def test_compare_weighs_the_gap_against_the_spread():
    runs = pd.DataFrame(
        {
            "configuration": ["base"] * 3 + ["wide"] * 3 + ["noisy"] * 3,
            "seed": [0, 1, 2] * 3,
            "test_accuracy": [0.90, 0.91, 0.92, 0.95, 0.96, 0.97, 0.80, 0.99, 0.96],
        }
    )
    clear = stats.compare(runs, baseline="base", challenger="wide")
    assert clear["gap"] == pytest.approx(0.05) and clear["standard_error"] == pytest.approx((2 * 0.01**2 / 3) ** 0.5)
    assert clear["real"] is True and "Welch's t-test" in clear["verdict"] and clear["p_value"] < 0.05
    noisy = stats.compare(runs, baseline="base", challenger="noisy")
    assert noisy["real"] is False and "not distinguishable" in noisy["verdict"]
    single = stats.compare(runs[runs.seed == 0], baseline="base", challenger="wide")
    assert single["standard_error"] is None and single["verdict"].startswith("unknown")
    with pytest.raises(ParameterError, match="challenger='tall'"):
        stats.compare(runs, baseline="base", challenger="tall")


@pytest.mark.parametrize("validation, passes", [("last epoch", 1), ("every epoch", 3)])
def test_validation_last_epoch_validates_each_trial_once(faces, tmp_path, validation, passes):
    calls = []

    def build(units):
        model = Builder(faces)(units=units)
        evaluate = model.evaluate  # Keras' fit validates through the model's evaluate

        def counted(*args, **kwargs):
            calls.append(kwargs.get("x") if "x" in kwargs else args[0])
            return evaluate(*args, **kwargs)

        model.evaluate = counted
        return model

    frame = sweeps.run(build, {"units": [4]}, dataset=faces, directory=tmp_path, name="once", epochs=3,
                       validation=validation)
    assert len(calls) == passes and all(x is faces.x_val or len(x) == len(faces.x_val) for x in calls)
    assert list(frame["epochs"]) == [3] and frame["val_accuracy"].between(0, 1).all()
    if validation == "last epoch":
        assert list(frame["best_epoch"]) == [3]


def test_a_trial_cut_before_its_validated_epoch_is_validated_where_it_stopped(faces, tmp_path):
    with pytest.warns(UserWarning, match=r"time budget"):
        frame = sweeps.run(Builder(faces), {"units": [4]}, dataset=faces, directory=tmp_path, name="cut", epochs=3,
                           validation="last epoch", budget_seconds=0.001)
    assert list(frame["epochs"]) == [1] and frame["val_accuracy"].between(0, 1).all()
