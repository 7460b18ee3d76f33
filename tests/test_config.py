from dataclasses import replace

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


def test_only_full_uses_imagenet_weights_and_only_its_rehearsal_shares_its_real_data():
    assert [p.name for p in PROFILES.values() if p.weights == "imagenet"] == ["full"]
    assert [p.name for p in PROFILES.values() if p.real_data] == ["full", "rehearsal"]
    full, rehearsal = PROFILES["full"], PROFILES["rehearsal"]
    # the rehearsal takes the full profile's code paths: traced fits, grid sweeps validated every epoch, searches of trials
    assert (rehearsal.fit_eagerly, rehearsal.sweep_design, rehearsal.sweep_validation, rehearsal.hyper.eager) == (
        full.fit_eagerly, full.sweep_design, full.sweep_validation, full.hyper.eager)
    assert rehearsal.trials > 1 and rehearsal.split_cap == PROFILES["smoke"].split_cap and rehearsal.weights == "lab"
    assert all(p.weights == "lab" for p in PROFILES.values() if not p.real_data)  # offline transfer is real transfer
    smoke, offline = PROFILES["smoke"], PROFILES["offline"]
    assert smoke.split_cap is not None and offline.split_cap is None
    assert smoke.epochs <= offline.epochs
    # notebooks check that they beat chance where the profile trains enough to (12's Grad-CAM CNN)
    assert [p.name for p in PROFILES.values() if not p.learns] == ["smoke", "rehearsal"]


def test_only_the_quick_profiles_cap_a_notebooks_comparisons_and_keep_their_ends():
    cuts = [7, 22, 37, 40, 43, 46]
    assert [p.name for p in PROFILES.values() if p.comparison_cap is not None] == ["smoke", "rehearsal"]
    assert PROFILES["offline"].capped(cuts) == PROFILES["full"].capped(cuts) == cuts
    assert PROFILES["smoke"].capped(cuts) == [7, 46] and PROFILES["smoke"].capped([1]) == [1]
    assert [replace(PROFILES["smoke"], comparison_cap=k).capped(cuts) for k in (1, 3, 6)] == [[7], [7, 37, 46], cuts]


def test_the_books_table_of_profiles_says_what_each_profile_sets():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "book" / "intro.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`"): line for line in text.splitlines() if line.startswith("| `")}
    assert sorted(rows) == sorted(PROFILES)
    words = {"imagenet": "ImageNet", "lab": "lab-pretrained", None: "random init"}
    for name, profile in PROFILES.items():
        weights, defaults = (cell.strip() for cell in rows[name].split("|")[3:5])
        assert weights.startswith(words[profile.weights]), (name, weights)
        assert defaults.startswith(f"{profile.epochs} epoch") and f"{profile.image_size} px" in defaults, (name, defaults)
