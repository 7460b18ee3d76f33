"""Faults of downloads, archives and splits (issue 14): one line naming the dataset, file or URL, or
the parameter; nothing left in the cache; two processes that prepare one dataset both succeed.

The files are served by the local server of `test_remote` (127.0.0.1), into throwaway folders.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_remote import FLOWERS_TGZ, Server, contents, idx_gz, jpeg, server, tgz  # noqa: F401

from labkit.data import download, readers, remote, splits
from labkit.errors import DataError, ParameterError

ROOT = Path(__file__).resolve().parent.parent


def serve(srv: Server, name: str, bodies: dict[str, bytes]):
    """The registry entry `name` served from `srv`, with some files' bodies replaced (sha256 to match)."""
    dataset = srv.dataset(name)
    files = []
    for file in dataset.files:
        if file.name in bodies:
            body = bodies[file.name]
            srv.files[file.url.removeprefix(srv.base)] = body
            file = replace(file, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
        files.append(file)
    return {name: replace(dataset, files=tuple(files))}


def corrupt_gzip() -> bytes:
    good = bytearray(idx_gz(np.zeros((20, 28, 28), np.uint8)))
    good[len(good) // 2: len(good) // 2 + 8] = b"\xff" * 8  # the deflate stream, not the header
    return bytes(good)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (corrupt_gzip(), "is not a readable gzip file"),
        (idx_gz(np.zeros((20, 28, 28), np.uint8))[:-30], "is not a readable gzip file"),
        (b"plain bytes, not gzip", "is not a readable gzip file"),
    ],
    ids=["corrupt member", "cut off", "not gzip"],
)
def test_a_bad_gzip_names_dataset_file_and_url(server, tmp_path, body, reason):
    registry = serve(server, "fashion_mnist", {"train-images-idx3-ubyte.gz": body})
    with pytest.raises(DataError) as info:
        remote.load("fashion_mnist", tmp_path, registry=registry)
    message = str(info.value)
    assert "\n" not in message and reason in message
    assert "dataset 'fashion_mnist'" in message and "train-images-idx3-ubyte.gz" in message
    assert registry["fashion_mnist"].files[0].url in message
    assert not [p for p in contents(tmp_path) if ".part" in p or p.endswith(".lock")]


def evil_tgz(kind: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        image = jpeg((0, 0, 0), (4, 4))
        info = tarfile.TarInfo("flower_photos/daisy/1.jpg")
        info.size = len(image)
        tar.addfile(info, io.BytesIO(image))
        bad = tarfile.TarInfo({"dotdot": "../escaped.txt", "absolute": "/tmp/labkit-escaped.txt",
                               "symlink": "flower_photos/daisy/link", "device": "flower_photos/dev"}[kind])
        if kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "device":
            bad.type, bad.devmajor, bad.devminor = tarfile.CHRTYPE, 1, 3
        else:
            bad.size = 1
        tar.addfile(bad, io.BytesIO(b"x") if bad.size else None)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not an archive at all" * 10, "cannot be extracted"),
        (FLOWERS_TGZ[: len(FLOWERS_TGZ) // 2], "cannot be extracted"),
        (evil_tgz("dotdot"), "unsafe member refused"),
        (evil_tgz("absolute"), "unsafe member refused"),
        (evil_tgz("symlink"), "unsafe member refused"),
        (evil_tgz("device"), "unsafe member refused"),
    ],
    ids=["not gzip", "cut off", "dotdot", "absolute", "symlink", "device"],
)
def test_a_bad_archive_names_dataset_archive_and_url_and_leaves_nothing(server, tmp_path, body, reason):
    registry = serve(server, "flowers", {"flower_photos.tgz": body})
    with pytest.raises(DataError) as info:
        remote.load("flowers", tmp_path / "cache", image_size=8, registry=registry)
    message = str(info.value)
    assert "\n" not in message and reason in message, message
    assert "dataset 'flowers'" in message and "flower_photos.tgz" in message
    assert registry["flowers"].files[0].url in message
    assert contents(tmp_path / "cache" / "flowers") == ["flower_photos.tgz"]  # nothing half-extracted
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/labkit-escaped.txt").exists()


def test_an_unreadable_image_names_the_image(tmp_path):
    archive = tmp_path / "f.tgz"
    archive.write_bytes(tgz({"photos/roses/0.jpg": jpeg((1, 2, 3), (4, 4)), "photos/roses/1.jpg": b"not a jpeg"}))
    with pytest.raises(DataError, match=r"roses/1\.jpg is not a readable image"):
        readers.read_class_folders(archive, tmp_path / "out", image_size=4)


def test_an_extraction_is_never_reused_for_another_archive(tmp_path):
    first, second = tmp_path / "first.tgz", tmp_path / "second.tgz"
    first.write_bytes(tgz({"p/cats/0.jpg": jpeg((0, 0, 0), (4, 4)), "p/dogs/0.jpg": jpeg((9, 9, 9), (4, 4))}))
    second.write_bytes(tgz({"p/ants/0.jpg": jpeg((0, 0, 0), (4, 4)), "p/bees/0.jpg": jpeg((9, 9, 9), (4, 4))}))
    assert readers.read_class_folders(first, tmp_path / "out")[2] == ["cats", "dogs"]
    assert readers.read_class_folders(second, tmp_path / "out")[2] == ["ants", "bees"]
    assert len(list((tmp_path / "out").iterdir())) == 1  # the first archive's folder was replaced


KILLED_DOWNLOAD = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from labkit.data import download
    from labkit.data.registry import REGISTRY
    real = REGISTRY["flowers"]
    file = replace(real.files[0], url=sys.argv[1])
    download.fetch(replace(real, files=(file,)), sys.argv[2], timeout=60)
    """
)


def test_a_download_killed_mid_transfer_leaves_nothing_for_good(server, tmp_path):
    body = FLOWERS_TGZ * 40
    server.files["/stall/flower_photos.tgz"] = body  # /stall/: half the body, then the server waits
    cache = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-c", KILLED_DOWNLOAD, server.base + "/stall/flower_photos.tgz", str(cache)],
                             cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not [p for p in (cache / "flowers").glob("tmp*") if p.stat().st_size]:
        time.sleep(0.1)
    child.kill()
    child.wait()
    assert [p.name for p in (cache / "flowers").glob("tmp*")], "the killed download left no temporary file to test"

    registry = serve(server, "flowers", {})
    remote.load("flowers", cache, image_size=8, registry=registry)
    assert not list((cache / "flowers").glob("tmp*"))
    assert not [p for p in contents(cache) if p.endswith(".lock")]


RACE = textwrap.dedent(
    """
    import sys, pickle
    import numpy as np
    from labkit.data import remote
    registry = pickle.loads(bytes.fromhex(sys.argv[1]))
    splits, _ = remote.load("flowers", sys.argv[2], image_size=8, registry=registry)
    print(int(splits["train"][0].sum()))
    """
)


def test_two_processes_preparing_one_dataset_in_a_fresh_cache_both_succeed(server, tmp_path):
    import pickle

    registry = server.registry("flowers", prefix="/slow")  # a second's wait: the two overlap
    argv = [sys.executable, "-c", RACE, pickle.dumps(registry).hex(), str(tmp_path / "cache")]
    children = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    outcomes = [child.communicate(timeout=120) for child in children]
    assert [c.returncode for c in children] == [0, 0], outcomes
    assert outcomes[0][0] == outcomes[1][0]
    assert server.requests.count("/slow/flowers/flower_photos.tgz") == 1
    assert not [p for p in contents(tmp_path / "cache") if ".part" in p or p.endswith(".lock")]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x, y: splits.split_off(x, y, 0.2, 2**32), r"split_seed=4294967296 must be a whole number from 0"),
        (lambda x, y: splits.split_off(x, y, 0.2, -1), r"split_seed=-1 must be a whole number"),
        (lambda x, y: splits.split_off(x, y, 0.2, 1.5), r"split_seed=1.5 must be a whole number"),
        (lambda x, y: splits.split_off(x, y, 0.99, 0), r"fraction=0.99 of 20 examples leaves one part empty"),
        (lambda x, y: splits.split_off(x, y[:-1], 0.2, 0), r"y must hold one label per image: got \(19,\) labels for 20"),
        (lambda x, y: splits.take_stratified(x, y, 0, 0), r"split_cap=0 must be a whole number greater than 0"),
        (lambda x, y: splits.take_stratified(x, y, 5, 2**40), r"split_seed=1099511627776"),
        (lambda x, y: splits.take_stratified(x, y.reshape(4, 5), 5, 0), r"y must hold one label per image"),
    ],
)
def test_split_arguments_are_checked_by_labkit(call, message):
    x, y = np.zeros((20, 2, 2)), np.arange(20) % 2
    with pytest.raises(ParameterError, match=message):
        call(x, y)


def test_a_bad_split_cap_names_split_cap():
    from labkit import data

    for cap in [(0, 5, 5), (5, 5), 5, (5.5, 5, 5)]:
        with pytest.raises(ParameterError, match=r"split_cap="):
            data.load("digits", profile="smoke", split_cap=cap)
    with pytest.raises(ParameterError, match=r"split_seed=4294967296"):
        data.load("digits", profile="smoke", split_seed=2**32)


def test_gzip_reader_names_the_file_for_every_zlib_fault(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(corrupt_gzip())
    with pytest.raises(DataError, match="x-idx1-ubyte.gz is not a readable gzip file") as info:
        readers.read_idx(path)
    assert isinstance(info.value, ValueError)  # still a ValueError, as before
    assert os.fspath(path) in str(info.value)
