"""The lab weights cache: key, atomic write, one pretraining under a lock, corrupt files rebuilt.

A stand-in for the pretraining (a tiny model, counted) keeps these tests fast; the real pretraining
runs in the notebooks (smoke) and in benchmarks/transfer.py.
"""

import json
import threading

import keras
import numpy as np
import pytest

from labkit.config import PROFILES
from labkit.data import source
from labkit.models import pretrain

SMOKE = PROFILES["smoke"]


@pytest.fixture
def counted(monkeypatch):
    calls = []

    def fake(name, settings, **options):
        calls.append(name)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        return model, {"loss": [1.0, 0.5]}, 0.01

    monkeypatch.setattr(pretrain, "pretrain", fake)
    return calls


def test_the_key_names_architecture_size_source_seed_and_keras():
    settings = pretrain.source_settings("inception_v3", SMOKE)
    key = pretrain.cache_key("inception_v3", settings, {"alpha": 0.35})
    assert settings["image_size"] == 75  # InceptionV3's smallest input, larger than the source's 32 px
    for part in ("inception_v3", "alpha0.35", "75px", f"src{source.VERSION}", "seed0", f"keras{keras.__version__}"):
        assert part in key
    assert pretrain.cache_key("mobilenet_v2", pretrain.source_settings("mobilenet_v2", SMOKE)) != key


def test_pretrains_once_then_loads(tmp_path, counted):
    first = pretrain.lab_weights("mobilenet_v2", profile=SMOKE, cache_dir=tmp_path)
    second = pretrain.lab_weights("mobilenet_v2", profile=SMOKE, cache_dir=tmp_path)
    assert counted == ["mobilenet_v2"]
    assert first.trained_now and not second.trained_now
    assert second.path == tmp_path / "weights" / f"{second.key}.weights.h5"
    assert second.history == {"loss": [1.0, 0.5]} and "not ImageNet" in second.describe()
    assert [p.name for p in (tmp_path / "weights").iterdir() if ".tmp" in p.name] == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "no sidecar"])
def test_a_corrupt_or_partial_file_is_rebuilt(tmp_path, counted, damage):
    record = pretrain.lab_weights("mobilenet_v2", profile=SMOKE, cache_dir=tmp_path)
    data = record.path.read_bytes()
    if damage == "truncate":
        record.path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        record.path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        record.path.with_suffix("").with_suffix(".json").unlink()
    assert pretrain.read_valid(record.path) is None
    again = pretrain.lab_weights("mobilenet_v2", profile=SMOKE, cache_dir=tmp_path)
    assert again.trained_now and counted == ["mobilenet_v2"] * 2
    assert pretrain.read_valid(again.path)["sha256"] == json.loads(
        again.path.with_suffix("").with_suffix(".json").read_text())["sha256"]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    target = tmp_path / "w.weights.h5"

    def broken(path):
        open(path, "wb").write(b"half a file")
        raise OSError("disk full")

    model.save_weights = broken
    with pytest.raises(OSError, match="disk full"):
        pretrain.save(model, target, {})
    assert list(tmp_path.iterdir()) == []


def test_two_callers_side_by_side_pretrain_once(tmp_path, counted):
    records = []
    threads = [threading.Thread(target=lambda: records.append(
        pretrain.lab_weights("mobilenet_v2", profile=SMOKE, cache_dir=tmp_path))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counted == ["mobilenet_v2"] and sum(r.trained_now for r in records) == 1


def test_the_source_task_is_disjoint_from_the_targets_and_balanced():
    from labkit.data.embedded import PHOTOS

    splits, names = source.source_task(fractal_classes=3, region_classes=5, per_class=10, image_size=32)
    assert not set(source.REGION_IMAGES) & set(PHOTOS) and "chelsea" not in source.REGION_IMAGES
    x, y = splits["train"]
    assert x.shape[1:] == (32, 32, 3) and len(names) == 8 and 0 <= x.min() and x.max() <= 1
    assert np.bincount(y).tolist() == [9] * 8 and np.bincount(splits["val"][1]).tolist() == [1] * 8


def test_fractals_differ_between_classes_more_than_within():
    rng = np.random.default_rng(0)
    maps = [source.ifs_maps(rng) for _ in range(2)]
    a, a2, b = (source.draw_ifs(m, 32, np.random.default_rng(i)) for i, m in enumerate([maps[0], maps[0], maps[1]]))
    assert np.abs(a - a2).mean() < np.abs(a - b).mean()
