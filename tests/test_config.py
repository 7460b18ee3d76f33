import pytest

from labkit.config import DEFAULT_PROFILE, PROFILES, resolve_profile
from labkit.errors import ParameterError


def test_the_parameter_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "offline")
    assert resolve_profile("smoke").name == "smoke"


def test_the_environment_wins_over_the_default(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "offline")
    assert resolve_profile(None).name == "offline"


def test_the_default_is_what_a_colab_learner_wants(monkeypatch):
    monkeypatch.delenv("LABKIT_PROFILE", raising=False)
    assert resolve_profile(None).name == DEFAULT_PROFILE == "full"
    assert PROFILES["full"].real_data and PROFILES["full"].weights == "imagenet"


def test_names_are_case_insensitive():
    assert resolve_profile(" Offline ").name == "offline"


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(ParameterError, match=r"profile='fast'.*'smoke', 'offline', 'full'"):
        resolve_profile("fast")


def test_an_unknown_profile_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("LABKIT_PROFILE", "gpu")
    with pytest.raises(ParameterError, match="LABKIT_PROFILE='gpu'"):
        resolve_profile(None)


def test_only_full_uses_real_data_and_imagenet_weights():
    assert [p.name for p in PROFILES.values() if p.real_data or p.weights == "imagenet"] == ["full"]
    assert all(p.weights == "lab" for p in PROFILES.values() if not p.real_data)  # offline transfer is real transfer
    smoke, offline = PROFILES["smoke"], PROFILES["offline"]
    assert smoke.split_cap is not None and offline.split_cap is None
    assert smoke.epochs <= offline.epochs
    # notebooks check that they beat chance where the profile trains enough to (12's Grad-CAM CNN)
    assert [p.name for p in PROFILES.values() if not p.learns] == ["smoke"]
