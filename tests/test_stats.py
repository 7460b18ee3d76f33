import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from labkit import stats
from labkit.errors import ParameterError


def runs(values):
    return pd.DataFrame(
        [{"configuration": label, "seed": i, "test_accuracy": v} for label, vs in values.items() for i, v in enumerate(vs)]
    )


def test_standard_error_is_binomial():
    assert stats.standard_error(0.9, 4000) == pytest.approx(np.sqrt(0.9 * 0.1 / 4000))
    assert 2 * stats.standard_error(0.9, 4000) * 100 < 1.0  # the stand-in's splits are large enough
    assert 2 * stats.standard_error(0.99, 270) * 100 > 1.0
    with pytest.raises(ParameterError, match="examples=0"):
        stats.standard_error(0.5, 0)


def test_beyond_chance_is_a_one_sided_binomial_test():
    # 12 offline: about half of 256 tiles right among 8 classes is no luck; 5 of 32 is
    assert stats.beyond_chance(128 / 256, 256, 8) < 1e-30
    assert stats.beyond_chance(5 / 32, 32, 8) > 0.3
    assert stats.beyond_chance(0.5, 100, 2) == pytest.approx(scipy_stats.binomtest(50, 100, 0.5, alternative="greater").pvalue)
    assert stats.beyond_chance(0.0, 10, 4) == pytest.approx(1.0)
    for bad, message in (({"examples": 0}, "examples=0"), ({"classes": 1}, "classes=1"), ({"accuracy": 1.2}, "accuracy=1.2")):
        arguments = {"accuracy": 0.5, "examples": 10, "classes": 4} | bad
        with pytest.raises(ParameterError, match=message):
            stats.beyond_chance(**arguments)


def test_compare_uses_welch_t_test():
    table = runs({"a": [0.90, 0.91, 0.92], "b": [0.93, 0.935, 0.94]})
    result = stats.compare(table, baseline="a", challenger="b")
    expected = scipy_stats.ttest_ind([0.93, 0.935, 0.94], [0.90, 0.91, 0.92], equal_var=False).pvalue
    assert result["p_value"] == pytest.approx(expected)
    assert result["gap"] == pytest.approx(0.025)
    assert result["real"] is True and "a real difference" in result["verdict"]


def test_a_gap_within_seed_noise_is_not_called_real():
    # twice the standard error would call it real; with 2 degrees of freedom the t-test does not
    table = runs({"a": [0.90, 0.92], "b": [0.935, 0.955]})
    result = stats.compare(table, baseline="a", challenger="b")
    assert abs(result["gap"]) > 2 * result["standard_error"]
    assert result["real"] is False and "not distinguishable" in result["verdict"]


def test_one_seed_each_gives_no_verdict():
    result = stats.compare(runs({"a": [0.9], "b": [0.95]}), baseline="a", challenger="b")
    assert result["real"] is None and result["verdict"].startswith("unknown")


def test_noise_floor_calls_ties_ties():
    table = pd.DataFrame({"optimizer": ["adam", "sgd", "ftrl", "nadam"], "val_accuracy": [0.93, 0.925, 0.10, 0.90]})
    marked = stats.noise_floor(table, "optimizer", examples=4000)
    assert marked["optimizer"].tolist() == ["adam", "sgd", "nadam", "ftrl"]
    assert marked["verdict"].tolist() == ["best", "tied with the best", "below the best", "below the best"]
    # a seed-to-seed spread widens the noise: nadam's 3 points become a tie
    wide = stats.noise_floor(table, "optimizer", examples=4000, seed_sd=0.012)
    assert wide["verdict"].tolist()[2] == "tied with the best"
    sentence = stats.ranking_sentence(marked, "optimizer")
    assert sentence.startswith("Highest validation accuracy: adam (93.0 %).")
    assert "sgd (92.5 %)" in sentence and "cannot rank" in sentence and "ftrl (10.0 %)" in sentence


def test_against_best_compares_every_other_configuration_with_the_highest_mean():
    table = runs({"a": [0.90, 0.91, 0.92], "b": [0.93, 0.935, 0.94], "c": [0.80, 0.95, 0.85]})
    best, verdicts = stats.against_best(table)
    assert best == "b" and list(verdicts) == ["a", "c"]  # highest mean first
    assert verdicts["a"] == stats.compare(table, baseline="b", challenger="a")
    assert verdicts["a"]["gap"] < 0 and verdicts["a"]["real"] is True
    assert verdicts["c"]["real"] is False  # its seeds spread over 15 points: a 6.8-point gap is within noise
    with pytest.raises(ParameterError, match="metric"):
        stats.against_best(table, metric="val_accuracy")
