import random

import numpy as np
import pytest

import labkit
from labkit.errors import ParameterError


def test_setup_prints_profile_data_device_and_versions(tmp_path, capsys):
    lab = labkit.setup("offline", seed=1, notebook="99_banner", build_dir=tmp_path)
    block = capsys.readouterr().out
    assert "profile offline" in block
    assert "LAB-PRETRAINED, not ImageNet" in block  # a profile without ImageNet weights says so loudly
    assert "embedded" in block and "CPU" in block
    assert f"keras {lab.versions['keras']}" in block and "tensorflow" in block
    assert labkit.current() is lab


def test_the_banner_says_whether_tensorflows_onednn_kernels_are_on(tmp_path, capsys, monkeypatch):
    import os
    import subprocess
    import sys

    from tensorflow.python.util import _pywrap_util_port

    from labkit import session

    # this process set TF_ENABLE_ONEDNN_OPTS before TensorFlow loaded (conftest, as labkit's import does)
    labkit.setup("smoke", notebook="99_banner", build_dir=tmp_path)
    assert "oneDNN kernels on" in capsys.readouterr().out
    monkeypatch.setattr(_pywrap_util_port, "IsMklEnabled", lambda: False)
    assert "imported before labkit (restart the kernel and import labkit first" in session._device()
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert session._device().endswith("oneDNN kernels off (TF_ENABLE_ONEDNN_OPTS=0)")
    # importing labkit sets the variable for TensorFlow and the kernels it starts, unless the user did
    probe = "import os, labkit; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    for given, expected in ((None, "1"), ("0", "0")):
        env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"} | ({} if given is None else {"TF_ENABLE_ONEDNN_OPTS": given})
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
        assert out.strip() == expected


def test_the_full_profile_promises_real_data_and_imagenet(tmp_path, capsys):
    labkit.setup("full", notebook="99_banner", build_dir=tmp_path, cache_dir=tmp_path / "cache")
    block = capsys.readouterr().out
    assert "ImageNet" in block and "RANDOM INIT" not in block
    assert "download cache" in block
    assert str(tmp_path) not in block, "a page shows no local path"


def test_the_same_seed_gives_the_same_random_numbers_and_initial_weights(tmp_path):
    import keras

    def draw(seed):
        labkit.setup("smoke", seed=seed, notebook="99_seed", build_dir=tmp_path, quiet=True)
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        return random.random(), np.random.rand(), keras.ops.convert_to_numpy(layer.kernel).tolist()

    first, again, other = draw(7), draw(7), draw(8)
    assert first == again
    assert all(a != b for a, b in zip(first, other))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, "seed=-1"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"notebook": "../escape"}, "notebook='../escape'"),
        ({"profile": "huge"}, "profile='huge'.*'smoke', 'offline', 'full'"),
    ],
)
def test_bad_input_names_the_parameter(tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        labkit.setup(**{"profile": "smoke", "build_dir": tmp_path, "quiet": True, **kwargs})


def test_an_unwritable_build_dir_names_build_dir(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ParameterError, match="build_dir=.*a-file.*cannot be written"):
        labkit.setup("smoke", notebook="99_x", build_dir=blocker / "build", quiet=True)
