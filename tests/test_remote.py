"""Tests of labkit.data.remote against a local HTTP server serving small files in real formats."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import socket
import struct
import tarfile
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from labkit.data import download, readers, remote
from labkit.data.registry import REGISTRY, RemoteDataset
from labkit.errors import ChecksumError, DataError, DownloadError, ParameterError

FASHION_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
FLOWER_COLOURS = ((250, 250, 250), (250, 220, 0), (200, 0, 30), (240, 160, 0), (150, 0, 150))


def idx_gz(array: np.ndarray) -> bytes:
    """The bytes of a gzipped IDX file of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def jpeg(colour, size) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size[1], size[0]), colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def tgz(members: dict[str, bytes]) -> bytes:
    """The bytes of a .tgz holding `members` (path -> content), folders added implicitly."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


rng = np.random.default_rng(0)
X_TRAIN = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
Y_TRAIN = np.arange(20, dtype=np.uint8) % 10
X_TEST = rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
Y_TEST = np.arange(10, dtype=np.uint8)[::-1].copy()
FASHION_FILES = dict(zip(FASHION_NAMES, map(idx_gz, (X_TRAIN, Y_TRAIN, X_TEST, Y_TEST))))

FLOWERS_TGZ = tgz(
    {"flower_photos/LICENSE.txt": b"All images in this archive are licensed under CC-BY 2.0.\n"}
    | {
        f"flower_photos/{name}/{i}.jpg": jpeg(colour, (10 + 2 * i, 14 + i))
        for name, colour in zip(FLOWER_CLASSES, FLOWER_COLOURS)
        for i in range(3)
    }
)


class Server:
    """A local HTTP server: `files` maps URL paths to bodies, `requests` records the paths asked.

    Paths under /cut/ send a Content-Length twice the body's, the body, then close the connection;
    paths under /slow/ wait a second before answering; paths under /stall/ send half the body, then
    nothing for 30 s.
    """

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                if self.path.startswith("/slow/"):
                    time.sleep(1.0)
                self.send_response(200)
                length = 2 * len(body) if self.path.startswith("/cut/") else len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if self.path.startswith("/stall/"):  # half the body, then nothing for a long while
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    time.sleep(30)
                    return
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client killed mid-transfer (a test does it on purpose) is no news

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def dataset(self, name: str, prefix: str = "") -> RemoteDataset:
        """A copy of the real registry entry `name`, served here under `prefix`."""
        real = REGISTRY[name]
        served = {**FASHION_FILES, "flower_photos.tgz": FLOWERS_TGZ}
        files = []
        for file in real.files:
            body = served[file.name]
            path = f"{prefix}/{name}/{file.name}"
            self.files[path] = body
            sha256 = hashlib.sha256(body).hexdigest()
            files.append(replace(file, url=self.base + path, sha256=sha256, size=len(body)))
        return replace(real, files=tuple(files))

    def registry(self, name: str, prefix: str = "") -> dict[str, RemoteDataset]:
        return {name: self.dataset(name, prefix)}


@pytest.fixture
def server():
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def contents(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_real_registry_is_well_formed():
    assert set(REGISTRY) == {"fashion_mnist", "flowers"}
    names = []
    for key, dataset in REGISTRY.items():
        assert dataset.name == key
        assert dataset.format in {"idx", "class_folders"}
        assert dataset.licence and dataset.homepage.startswith("https://")
        for file in dataset.files:
            assert re.fullmatch(r"[0-9a-f]{64}", file.sha256), file
            assert file.size > 0 and file.url.startswith("https://")
            assert file.url.endswith(file.name)
            names.append(file.name)
        for _, images, labels in dataset.splits:
            assert {images, labels} <= {f.name for f in dataset.files}
    assert len(names) == len(set(names))
    fashion = REGISTRY["fashion_mnist"]
    assert [f.name for f in fashion.files] == list(FASHION_NAMES)
    assert [s[0] for s in fashion.splits] == ["train", "test"]
    assert fashion.class_names[0] == "T-shirt/top" and len(fashion.class_names) == 10
    assert REGISTRY["flowers"].class_names == FLOWER_CLASSES


def test_load_fashion_mnist(server, tmp_path):
    registry = server.registry("fashion_mnist")
    splits, class_names = remote.load("fashion_mnist", tmp_path, registry=registry)

    assert set(splits) == {"train", "test"}
    (x, y), (x_test, y_test) = splits["train"], splits["test"]
    assert x.shape == (20, 28, 28, 1) and x.dtype == np.uint8
    assert x_test.shape == (10, 28, 28, 1)
    assert y.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(x[..., 0], X_TRAIN)
    np.testing.assert_array_equal(y, Y_TRAIN)
    np.testing.assert_array_equal(y_test, Y_TEST)
    assert class_names == list(REGISTRY["fashion_mnist"].class_names)
    cached = sorted(f"fashion_mnist/{n}" for n in FASHION_NAMES)
    assert contents(tmp_path) == ["fashion_mnist"] + cached
    assert len(server.requests) == 4

    again, _ = remote.load("fashion_mnist", tmp_path, registry=registry)
    assert len(server.requests) == 4
    np.testing.assert_array_equal(again["test"][0], x_test)


def test_load_resizes_fashion_mnist(server, tmp_path):
    registry = server.registry("fashion_mnist")
    splits, _ = remote.load("fashion_mnist", tmp_path, image_size=(14, 12), registry=registry)
    assert splits["train"][0].shape == (20, 14, 12, 1)


def test_a_corrupt_cached_file_is_downloaded_again(server, tmp_path):
    registry = server.registry("fashion_mnist")
    (tmp_path / "fashion_mnist").mkdir()
    (tmp_path / "fashion_mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"half a file")
    splits, _ = remote.load("fashion_mnist", tmp_path, registry=registry)
    np.testing.assert_array_equal(splits["test"][1], Y_TEST)
    assert len(server.requests) == 4


def test_load_flowers(server, tmp_path):
    registry = server.registry("flowers")
    splits, class_names = remote.load("flowers", tmp_path, image_size=(8, 6), registry=registry)

    assert list(splits) == ["train"]
    x, y = splits["train"]
    assert x.shape == (15, 8, 6, 3) and x.dtype == np.uint8
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [3, 3, 3, 3, 3]
    assert class_names == list(FLOWER_CLASSES)
    for label, colour in enumerate(FLOWER_COLOURS):
        np.testing.assert_allclose(x[y == label].mean(axis=(0, 1, 2)), colour, atol=6)
    key = hashlib.sha256(FLOWERS_TGZ).hexdigest()[:16]  # the extraction is named after its archive
    extracted = tmp_path / "flowers" / "extracted" / key / "flower_photos"
    assert (extracted / "LICENSE.txt").is_file() and len(list((extracted / "roses").iterdir())) == 3
    assert {"extracted", f"extracted/{key}/flower_photos"} <= set(contents(tmp_path / "flowers"))
    assert (tmp_path / "flowers" / "flower_photos.tgz").is_file()
    assert not [p for p in (tmp_path / "flowers").rglob("*") if p.name.startswith(".")]
    assert len(server.requests) == 1

    (extracted / "LICENSE.txt").unlink()  # a second load neither downloads nor extracts again
    again, _ = remote.load("flowers", tmp_path, image_size=(8, 6), registry=registry)
    assert len(server.requests) == 1 and not (extracted / "LICENSE.txt").exists()
    np.testing.assert_array_equal(again["train"][0], x)
    assert len(list((tmp_path / "flowers").glob("*-8x6.npz"))) == 1  # the decoded arrays are cached

    (extracted / "roses" / "0.jpg").unlink()  # served from the array cache, not from the folders
    cached, names = remote.load("flowers", tmp_path, image_size=(8, 6), registry=registry)
    np.testing.assert_array_equal(cached["train"][1], y)
    assert names == list(FLOWER_CLASSES)


def test_flowers_need_an_image_size(server, tmp_path):
    with pytest.raises(ParameterError, match=r"image_size=None"):
        remote.load("flowers", tmp_path, registry=server.registry("flowers"))
    assert server.requests == []
    with pytest.raises(ParameterError, match=r"image_size=\(0, 5\)"):
        remote.load("flowers", tmp_path, image_size=(0, 5), registry=server.registry("flowers"))


def test_read_class_folders_refuses_mixed_sizes_without_image_size(tmp_path):
    (tmp_path / "f.tgz").write_bytes(FLOWERS_TGZ)
    with pytest.raises(ParameterError, match="image_size"):
        readers.read_class_folders(tmp_path / "f.tgz", tmp_path / "out")


def test_an_archive_escaping_its_folder_is_refused_and_nothing_is_left(tmp_path):
    members = {"a/1.jpg": jpeg((0, 0, 0), (4, 4)), "../escaped.txt": b"x"}
    (tmp_path / "evil.tgz").write_bytes(tgz(members))
    (tmp_path / "dest").mkdir()
    with pytest.raises(DataError, match="evil.tgz cannot be extracted: unsafe member refused"):
        readers.read_class_folders(tmp_path / "evil.tgz", tmp_path / "dest" / "out")
    assert not (tmp_path / "escaped.txt").exists()
    assert contents(tmp_path / "dest") == []


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    dataset = server.dataset("fashion_mnist")
    wrong = "0" * 64
    first = dataset.files[0]
    dataset = replace(dataset, files=(replace(first, sha256=wrong),) + dataset.files[1:])
    with pytest.raises(ChecksumError) as info:
        download.fetch(dataset, tmp_path / "cache")
    message = str(info.value)
    assert first.name in message and wrong in message
    assert hashlib.sha256(FASHION_FILES[first.name]).hexdigest() in message
    assert "\n" not in message
    assert contents(tmp_path / "cache") == []


def test_download_cut_off_midway_keeps_nothing(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        registry = server.registry("flowers", prefix="/cut")
        remote.load("flowers", tmp_path, image_size=(8, 8), registry=registry)
    assert not isinstance(info.value, ChecksumError)
    assert "cut off" in str(info.value) and "/cut/flowers/flower_photos.tgz" in str(info.value)
    assert contents(tmp_path) == []


def test_server_down_names_the_url_and_the_offline_profile(tmp_path):
    with socket.socket() as bound_not_listening:  # a port where nobody listens
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        real = REGISTRY["fashion_mnist"]
        url = f"http://127.0.0.1:{port}/{FASHION_NAMES[0]}"
        dataset = replace(real, files=(replace(real.files[0], url=url),))
        with pytest.raises(DownloadError) as info:
            download.fetch(dataset, tmp_path, timeout=5)
    message = str(info.value)
    assert url in message and 'PROFILE="offline"' in message and "LABKIT_PROFILE=offline" in message
    assert "\n" not in message
    assert contents(tmp_path) == []


def test_timeout_is_a_download_error(server, tmp_path):
    with pytest.raises(DownloadError, match="timeout=0.2"):
        registry = server.registry("fashion_mnist", prefix="/slow")
        remote.load("fashion_mnist", tmp_path, timeout=0.2, registry=registry)
    assert contents(tmp_path) == []


def test_unwritable_cache_dir_names_cache_dir(server, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    cache_dir = tmp_path / "a_file" / "cache"
    with pytest.raises(ParameterError, match=r"cache_dir=") as info:
        remote.load("fashion_mnist", cache_dir, registry=server.registry("fashion_mnist"))
    assert str(cache_dir) in str(info.value)
    assert server.requests == []


@pytest.mark.parametrize(
    "content, match",
    [
        (gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + bytes(3), mtime=0), "needs 5"),
        (gzip.compress(b"\x08\x03\x00\x00" + bytes(20), mtime=0), "magic number"),
        (gzip.compress(b"\x00\x00\x08\x03" + bytes(4), mtime=0), "truncated"),
        (b"not gzip at all", "gzip"),
    ],
)
def test_read_idx_rejects_malformed_files(tmp_path, content, match):
    path = tmp_path / "bad-idx1-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        readers.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_reads_other_types_big_endian(tmp_path):
    values = np.array([[1, -2], [300, 70000]], dtype=">i4")
    path = tmp_path / "ints.gz"
    header = b"\x00\x00\x0c\x02" + struct.pack(">2I", 2, 2)
    path.write_bytes(gzip.compress(header + values.tobytes()))
    np.testing.assert_array_equal(readers.read_idx(path), values)


def test_unknown_dataset_lists_the_registry(tmp_path):
    with pytest.raises(ParameterError, match=r"name='cifar10'.*'fashion_mnist', 'flowers'"):
        remote.load("cifar10", tmp_path)


def test_the_full_profile_loads_the_downloads_through_labkit_data(server, tmp_path, monkeypatch):
    from labkit import data

    monkeypatch.setitem(REGISTRY, "fashion_mnist", server.dataset("fashion_mnist"))
    monkeypatch.setitem(REGISTRY, "flowers", server.dataset("flowers"))

    gray = data.load("fashion_mnist", profile="full", cache_dir=tmp_path)
    assert (gray.name, gray.substituted, gray.notes) == ("fashion_mnist", False, [])
    assert [len(gray.splits[s][1]) for s in ("train", "val", "test")] == [17, 3, 10]
    assert gray.x_train.dtype == np.float32 and gray.x_test.max() <= 1.0
    np.testing.assert_allclose(gray.x_test[..., 0] * 255, X_TEST, atol=1e-3)  # the official test split

    colour = data.load("flowers", profile="full", image_size=12, cache_dir=tmp_path)
    assert colour.input_shape == (12, 12, 3) and colour.class_names == list(FLOWER_CLASSES)
    assert sum(len(colour.splits[s][1]) for s in ("train", "val", "test")) == 15
    assert len(server.requests) == 5
