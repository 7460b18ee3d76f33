"""The checks file (YAML or Python) and the scoring of one run's evidence: fast, no kernel."""

import textwrap

import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.grading import checks, scoring
from labkit.grading.evidence import Evidence, Unavailable
from labkit.grading.execute import Execution

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def write(tmp_path, text, name="checks.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run(values, *, ok=True, reason=None, models=None):
    return Execution(setup="none", ok=ok, reason=reason, results={"values": values}, models=models or {})


class Measured(Evidence):
    """Evidence whose model measurements are given, so that scoring is tested without Keras."""

    def __init__(self, execution, measured, profile="smoke"):
        super().__init__(execution, profile, {})
        self.measured = measured

    def accuracy(self, model, data):
        return self.measured[(model, data)]


def grade(tmp_path, text, evidence):
    rules = checks.load(write(tmp_path, text))
    return {r["check"]: r for r in scoring.score(next(iter(rules.notebooks.values())), evidence)}


def test_the_labs_own_checks_load():
    rules = checks.load(ROOT / "grading" / "checks.yml")
    assert {"00_data_tour", "01_cnn_vs_autokeras", "02_optimizer_sweep", "03_activation_sweep",
            "04_filter_sweep"} <= set(rules.notebooks)
    assert all(entry.points > 0 for entry in rules.notebooks.values())
    assert rules.match("alice/02_optimizer_sweep.ipynb") == "02_optimizer_sweep"
    assert rules.match("02_optimizer_sweep-bob.ipynb") == "02_optimizer_sweep"
    assert rules.match("homework.ipynb") is None


@pytest.mark.parametrize("text, words", [
    ("notebooks: {}", "needs a `notebooks:` mapping"),
    ("notebooks: {a: {checks: [{ran: true}]}}\nextra: 1", "unknown key(s) ['extra']"),
    ("notebooks: {a: {checks: [{ran: true, ponts: 1}]}}", "unknown key(s) ['ponts'] for a ran check; allowed: name, points, ran"),
    ("notebooks: {a: {checks: [{metric: x, range: [0, 1], points: 2}]}}", "a forged results file"),
    ("notebooks: {a: {checks: [{model: m, property: parameters, equals: 3}]}}", "model 'm' is not in `models:`"),
    ("notebooks: {a: {models: {m: m}, checks: [{model: m, accuracy: test, range: [0, 1]}]}}", "data 'test' is not in `data:`"),
    ("notebooks: {a: {data: {t: {file: nowhere.npz}}, checks: [{ran: true}]}}", "no such file"),
    ("notebooks: {a: {checks: [{metric: x, equals: 1, partial: [0, 1]}]}}", "`partial:` widens a `range:`"),
    ("notebooks: {a: {checks: [{ran: true}, {ran: true}]}}", "the same name"),
    ("notebooks: {a: {checks: [{metric: x, consistent: {median: 'v/*'}}]}}", "`consistent:` needs one of max"),
    ("notebooks: {a: {timeout: -5, checks: [{ran: true}]}}", "timeout=-5"),
    ("notebooks: {a: {checks: [{ran: true, points: -1}]}}", "points=-1"),
])
def test_a_wrong_checks_file_says_where_and_what_is_allowed(tmp_path, text, words):
    with pytest.raises(ParameterError) as caught:
        checks.load(write(tmp_path, text))
    assert words in str(caught.value)
    assert "checks.yml" in str(caught.value)


def test_a_missing_checks_file_names_the_parameter(tmp_path):
    with pytest.raises(ParameterError, match="checks=.*no such file"):
        checks.load(tmp_path / "nope.yml")


def test_secrets_are_the_checks_file_and_its_data(tmp_path):
    np.savez(tmp_path / "held.npz", x=np.zeros((2, 2)), y=np.zeros(2))
    rules = checks.load(write(tmp_path, """
        notebooks:
          a: {models: {m: m}, data: {h: {file: held.npz}, t: {dataset: digits}}, checks: [{model: m, accuracy: h, range: [0, 1]}]}
    """))
    assert set(rules.secrets) == {str(tmp_path / "checks.yml"), str(tmp_path / "held.npz")}
    assert rules.notebooks["a"].data["t"] == {"dataset": "digits", "split": "test"}


def test_equals_one_of_and_profile_dependent_values(tmp_path):
    rows = grade(tmp_path, """
        notebooks:
          a:
            checks:
              - {metric: n, equals: {smoke: 12, offline: 99}, points: 2}
              - {metric: name, one_of: [adam, nadam], points: 1}
              - {metric: missing, equals: 1, points: 1}
              - {metric: n, equals: {offline: 99}, points: 1, name: no smoke value}
    """, Measured(run({"n": 12, "name": "sgd"}), {}))
    assert (rows["n"]["points"], rows["n"]["status"]) == (2, "pass")
    assert rows["name"]["status"] == "fail" and "one of" in rows["name"]["reason"]
    assert rows["missing"]["status"] == "missing" and "was not recorded" in rows["missing"]["reason"]
    assert rows["no smoke value"]["status"] == "missing" and "profile 'smoke'" in rows["no smoke value"]["reason"]


def test_partial_credit_is_linear_between_the_partial_edge_and_the_range(tmp_path):
    text = """
        notebooks:
          a:
            models: {m: m}
            data: {t: {dataset: digits}}
            checks: [{model: m, accuracy: t, range: [0.8, 1], partial: [0.4, 0.8], points: 4}]
    """
    for measured, points, status in ((0.9, 4, "pass"), (0.6, 2, "partial"), (0.3, 0, "fail")):
        rows = grade(tmp_path, text, Measured(run({}), {("m", "t"): measured}))
        assert (rows["m accuracy on t"]["points"], rows["m accuracy on t"]["status"]) == (points, status)


def test_a_recorded_number_must_match_the_graders_measurement(tmp_path):
    text = """
        notebooks:
          a:
            models: {m: m}
            data: {t: {dataset: digits}}
            checks: [{metric: acc, matches: {model: m, accuracy: t}, range: [0.5, 1], points: 2}]
    """
    honest = grade(tmp_path, text, Measured(run({"acc": 0.7001}), {("m", "t"): 0.7}))["acc"]
    forged = grade(tmp_path, text, Measured(run({"acc": 0.99}), {("m", "t"): 0.31}))["acc"]
    assert honest["points"] == 2
    assert forged["points"] == 0 and "recorded 0.99, but the grader measured 0.31" in forged["reason"]


def test_consistency_is_recomputed_from_the_recorded_values(tmp_path):
    values = {"val_accuracy/adam": 0.8, "val_accuracy/sgd": 0.6, "best_optimizer": "adam", "best": 0.8,
              "trials": [{"conv1": "relu", "val_accuracy": 0.5}, {"conv1": "selu", "val_accuracy": 0.7}],
              "best_activations": ["selu"], "wrong_best": "sgd"}
    rows = grade(tmp_path, """
        notebooks:
          a:
            checks:
              - {metric: best_optimizer, consistent: {argmax: "val_accuracy/*"}}
              - {metric: best, consistent: {max: "val_accuracy/*"}}
              - {metric: best_activations, consistent: {argmax: trials, field: val_accuracy, take: [conv1]}}
              - {metric: wrong_best, consistent: {argmax: "val_accuracy/*"}}
              - {metric: best, consistent: {count: "val_accuracy/*"}, name: two optimizers}
    """, Measured(run(values), {}))
    assert [rows[n]["status"] for n in ("best_optimizer", "best", "best_activations")] == ["pass"] * 3
    assert rows["wrong_best"]["status"] == "fail" and "give adam" in rows["wrong_best"]["reason"]
    assert rows["two optimizers"]["status"] == "fail" and "give 2" in rows["two optimizers"]["reason"]


def test_ran_and_missing_results_say_why(tmp_path):
    stopped = Execution(setup="none", ok=False, reason="In [3]: ValueError: boom", results=None,
                        results_problem="no results: build/smoke/results/a.json: no such file")
    rows = grade(tmp_path, "notebooks: {a: {checks: [{ran: true}, {metric: x, equals: 1}]}}", Measured(stopped, {}))
    assert rows["runs to the end"]["reason"] == "In [3]: ValueError: boom"
    assert rows["x"]["status"] == "missing" and "no such file" in rows["x"]["reason"]


def test_python_checks_files_may_hold_functions(tmp_path):
    path = write(tmp_path, """
        def even(evidence):
            value = evidence.value("n")
            return (1.0, "even") if value % 2 == 0 else (0.25, "odd")

        CHECKS = {"notebooks": {"a": {"checks": [{"python": even, "points": 4, "name": "n is even"}]}}}
    """, name="checks.py")
    entry = checks.load(path).notebooks["a"]
    rows = scoring.score(entry, Measured(run({"n": 3}), {}))
    assert (rows[0]["points"], rows[0]["status"], rows[0]["reason"]) == (1.0, "partial", "odd")


def test_keras_rebuilds_only_plain_layers():
    """A handed-back model with a Lambda layer (Python code) is refused: Keras' safe mode."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(1)])
    evidence = Evidence(run({}, models={"m": {"config": model.to_json(), "weights": model.get_weights()}}), "smoke", {})
    with pytest.raises(Unavailable, match="cannot be rebuilt"):
        evidence.model("m")
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    weights = [np.ones((2, 3), "float32"), np.arange(3, dtype="float32")]
    evidence = Evidence(run({}, models={"m": {"config": plain.to_json(), "weights": weights}}), "smoke",
                        {"d": {"arrays": (np.array([[0.0, 0.0], [5.0, -5.0]]), np.array([2, 2]))}})
    assert evidence.model("m").count_params() == 9
    assert evidence.accuracy("m", "d") == 1.0  # argmax of [0,1,2] + ... is the bias' last unit


def test_the_resume_key_is_stable_and_follows_the_checks_and_their_data(tmp_path):
    from labkit.grading import batch

    np.savez(tmp_path / "held.npz", x=np.zeros((2, 2)), y=np.zeros(2))
    path = write(tmp_path, """
        def check(evidence):
            return 1.0

        CHECKS = {"notebooks": {"a": {"data": {"h": {"file": "held.npz"}}, "checks": [{"python": check}]}}}
    """, name="checks.py")
    first = batch._fingerprint(checks.load(path).notebooks["a"])
    assert batch._fingerprint(checks.load(path).notebooks["a"]) == first  # a function is keyed by its source
    np.savez(tmp_path / "held.npz", x=np.ones((2, 2)), y=np.zeros(2))
    assert batch._fingerprint(checks.load(path).notebooks["a"]) != first


def test_an_architecture_larger_than_its_weights_cannot_take_the_graders_memory():
    """A config that declares a Dense of a billion units, with small weights: the build fails inside a
    memory budget tied to the handed-back weights, as an error of that model."""
    import resource

    import keras

    small = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    config = small.to_json().replace('"units": 3', f'"units": {2**30}')
    before = resource.getrlimit(resource.RLIMIT_DATA)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    evidence = Evidence(run({}, models={"m": {"config": config, "weights": small.get_weights()}}), "smoke", {})
    with pytest.raises(Unavailable, match="cannot be rebuilt.*(OOM|ResourceExhausted|MemoryError)"):
        evidence.model("m")  # 8 GiB of weights asked for
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 2**20  # KiB: under 1 GiB more
