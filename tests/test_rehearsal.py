"""The full profile's rehearsal: a local mirror of the real datasets, its registry, and the command."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from labkit import rehearsal
from labkit.config import PROFILES
from labkit.data import garments, readers, registry
from labkit.errors import ChecksumError, ParameterError


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mirror")
    rehearsal.write_mirror(folder)
    return folder


def test_the_mirror_holds_every_registered_file_in_its_real_format(mirror):
    fashion = mirror / "fashion_mnist"
    train, test = rehearsal.FASHION_SIZES
    assert readers.read_idx(fashion / "train-images-idx3-ubyte.gz").shape == (train, 28, 28)
    labels = readers.read_idx(fashion / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (test,) and sorted(set(labels.tolist())) == list(range(10))
    with tarfile.open(mirror / "flowers" / "flower_photos.tgz") as tar:
        names = tar.getnames()
        folders = {n.split("/")[1] for n in names if n.endswith(".jpg")}
        sizes = {Image.open(tar.extractfile(n)).size for n in names if n.endswith(".jpg")}
    assert "flower_photos/LICENSE.txt" in names and folders == set(registry.REGISTRY["flowers"].class_names)
    assert sizes == {(w, h) for h, w in rehearsal.FLOWER_SIDES}  # photos of different sizes, as the real ones


def test_the_full_profiles_loading_runs_on_the_mirror_and_downloads_each_file_once(mirror, tmp_path, monkeypatch):
    from labkit import data

    with rehearsal.serve(mirror) as (file, asked):
        monkeypatch.setenv("LABKIT_REGISTRY", str(file))
        gray = data.load("fashion_mnist", profile="rehearsal", cache_dir=tmp_path)
        colour = data.load("flowers", profile="rehearsal", image_size=16, cache_dir=tmp_path)
        data.load("fashion_mnist", profile="rehearsal", cache_dir=tmp_path)  # from the cache
    assert gray.name == "fashion_mnist" and not gray.substituted
    assert [len(gray.splits[s][1]) for s in ("train", "val", "test")] == list(PROFILES["rehearsal"].split_cap)
    x_test, _ = garments.generate(rehearsal.FASHION_SIZES[1], seed=0, stream=1)
    drawn = {tuple(np.round(x[..., 0] * 255).astype(int).ravel()[:50]) for x in x_test}
    assert all(tuple(np.round(x[..., 0] * 255).astype(int).ravel()[:50]) in drawn for x in gray.x_test)  # the official test split
    assert colour.input_shape == (16, 16, 3) and colour.class_names == list(registry.REGISTRY["flowers"].class_names)
    assert sorted(asked) == sorted(f"{d}/{f.name}" for d in registry.REGISTRY for f in registry.REGISTRY[d].files)
    assert set(asked.values()) == {1}
    served = json.loads(file.read_text())
    assert served["flowers"]["flower_photos.tgz"]["url"].startswith("http://127.0.0.1:")


def test_the_download_checks_the_mirrors_checksums(mirror, tmp_path, monkeypatch):
    from labkit.data import remote

    with rehearsal.serve(mirror) as (file, _):
        wrong = json.loads(file.read_text())
        wrong["fashion_mnist"]["train-labels-idx1-ubyte.gz"]["sha256"] = "0" * 64
        (tmp_path / "wrong.json").write_text(json.dumps(wrong))
        monkeypatch.setenv("LABKIT_REGISTRY", str(tmp_path / "wrong.json"))
        with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz"):
            remote.load("fashion_mnist", tmp_path / "cache")
    assert not any(p.is_file() and "labels" in p.name for p in (tmp_path / "cache").rglob("*"))


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not a readable JSON registry"),
        ('{"cifar10": {}}', "keys must be datasets of the registry: fashion_mnist, flowers"),
        ('{"flowers": {"other.tgz": {}}}', "'flowers' must list exactly its files flower_photos.tgz"),
        ('{"flowers": {"flower_photos.tgz": {"url": "http://127.0.0.1/x"}}}', "needs a url, a sha256 and a size"),
    ],
)
def test_a_bad_mirror_registry_gets_one_line_naming_the_variable(tmp_path, monkeypatch, content, match):
    (tmp_path / "registry.json").write_text(content)
    monkeypatch.setenv("LABKIT_REGISTRY", str(tmp_path / "registry.json"))
    with pytest.raises(ParameterError, match=match) as caught:
        registry.active()
    assert str(caught.value).startswith("LABKIT_REGISTRY=") and "\n" not in str(caught.value)


def test_without_a_mirror_the_registry_is_the_real_one(monkeypatch):
    monkeypatch.delenv("LABKIT_REGISTRY", raising=False)
    assert registry.active() is registry.REGISTRY


@pytest.mark.slow
def test_the_command_line_rehearses_a_notebook_from_an_empty_cache(tmp_path):
    done = subprocess.run([sys.executable, "-m", "labkit", "rehearse", "00_data_tour", "--build-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rehearsal: 1 ok, 0 failed" in done.stdout
    assert done.stdout.count(" x1") == 5  # every file downloaded, once
    result = json.loads((tmp_path / "rehearsal" / "results" / "00_data_tour.json").read_text())
    assert result["profile"] == "rehearsal" and result["real_data"] is True


@pytest.mark.parametrize(
    "arguments, named",
    [(["--jobs", "0"], "--jobs=0"), (["no_such_notebook"], "no_such_notebook")],
)
def test_a_bad_argument_is_refused_in_one_line_before_the_mirror_is_written(tmp_path, arguments, named):
    done = subprocess.run([sys.executable, "-m", "labkit", "rehearse", *arguments, "--build-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m labkit rehearse: error:") and named in lines[0]
    assert not (tmp_path / "rehearsal" / "mirror").exists() and not (tmp_path / "rehearsal" / "data").exists()


@pytest.mark.slow
def test_ctrl_c_stops_the_rehearsal_with_130_and_one_line(tmp_path):
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "labkit", "rehearse", "00_data_tour", "--build-dir", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "rehearsal" / "mirror" / "registry.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # the notebook's kernel is starting
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "interrupted by SIGINT" in err and "Traceback" not in err
    assert "rehearsal: 1 ok" not in out  # stopped, not finished
