"""The sandbox's parts, without a kernel: limits, the command, isolation facts, plain-data read-back."""

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.grading import plain, sandbox, watch


@pytest.mark.parametrize("text, size", [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)),
                                        ("1000", 1000), (2048, 2048)])
def test_sizes_read_as_people_write_them(text, size):
    assert sandbox.parse_size("memory", text) == size


@pytest.mark.parametrize("text", ["0", "-1G", "lots", ""])
def test_a_bad_size_names_the_option(text):
    with pytest.raises(ParameterError, match=r"memory=.*must be a size above zero"):
        sandbox.parse_size("memory", text)


def test_limits_are_checked():
    with pytest.raises(ParameterError, match="timeout=0"):
        sandbox.Limits(seconds=0)
    with pytest.raises(ParameterError, match="processes=0"):
        sandbox.Limits(processes=0)


def test_an_unknown_sandbox_lists_the_setups():
    with pytest.raises(ParameterError, match="sandbox='jail'.*'auto', 'bwrap\\+user', 'bwrap', 'user', 'none'"):
        sandbox.detect("jail")


def test_the_kernel_inherits_none_of_the_graders_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "hunter2")
    env = sandbox.Sandbox("none", tmp_path, sandbox.Limits()).environment({"LABKIT_PROFILE": "smoke"})
    assert "INSTRUCTOR_TOKEN" not in env and env["LABKIT_PROFILE"] == "smoke"
    assert env["HOME"].startswith(str(tmp_path)) and env["TMPDIR"].startswith(str(tmp_path))


def test_secrets_inside_a_bound_folder_are_masked(tmp_path):
    inside = tmp_path / "venv" / "checks.yml"
    inside.parent.mkdir()
    inside.write_text("secret")
    box = sandbox.Sandbox("bwrap", tmp_path / "work", sandbox.Limits(), binds=(str(inside.parent),),
                          hidden=(str(inside), "/elsewhere/data.npz"))
    command = box.command(["python"])
    assert command[command.index(str(inside)) - 2:command.index(str(inside)) + 1] == ["--ro-bind", "/dev/null", str(inside)]
    assert "/elsewhere/data.npz" not in command  # never bound, so nothing to mask


def test_the_launcher_sets_hard_limits(tmp_path):
    box = sandbox.Sandbox("none", tmp_path, sandbox.Limits(seconds=10, memory=2**30, processes=200, file_size=2**20))
    code = ("import resource as r; print([r.getrlimit(x) for x in (r.RLIMIT_CPU, r.RLIMIT_DATA, r.RLIMIT_NPROC, "
            "r.RLIMIT_FSIZE)])")
    out = subprocess.run(box.command([sys.executable, "-c", code]), capture_output=True, text=True, check=True).stdout
    cpu = box.limits.cpu_seconds
    assert out.strip() == str([(cpu, cpu), (2**30, 2**30), (200, 200), (2**20, 2**20)])


def test_a_file_larger_than_the_limit_cannot_be_written(tmp_path):
    box = sandbox.Sandbox("none", tmp_path, sandbox.Limits(file_size=2**16))
    code = "open('big', 'wb').write(b'x' * 2**20)"
    done = subprocess.run(box.command([sys.executable, "-c", code]), cwd=tmp_path, capture_output=True)
    assert done.returncode != 0 and os.path.getsize(tmp_path / "big") <= 2**16


@pytest.fixture(scope="module")
def isolated():
    setup, notes = sandbox.detect("auto")
    if not setup.startswith("bwrap"):
        pytest.skip(f"bubblewrap cannot run here: {'; '.join(notes)}")
    return setup


def test_inside_bubblewrap_only_the_working_copy_is_writable_and_there_is_no_network(isolated, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    slot = sandbox.Slot(isolated)
    if slot.uid is not None:
        os.chown(work, slot.uid, slot.uid)
    (tmp_path / "secret.txt").write_text("secret")
    code = """
import os, socket, json
facts = {"uid": os.getuid(), "tmp": os.listdir("/tmp"), "secret": os.path.exists(%r), "home": os.path.exists("/root/.bashrc")}
open("mine.txt", "w").write("ok")
for target in ("/usr/evil", %r):
    try:
        open(target, "w"); facts[target] = "written"
    except OSError as exc:
        facts[target] = type(exc).__name__
facts["interfaces"] = sorted(name for _, name in socket.if_nameindex())
print(json.dumps(facts))
""" % (str(tmp_path / "secret.txt"), sandbox.python_binds()[0] + "/evil")
    try:
        box = sandbox.Sandbox(isolated, work, sandbox.Limits(), slot.uid, slot.uid, sandbox.python_binds())
        done = subprocess.run(box.command([sys.executable, "-I", "-c", code]), capture_output=True, text=True,
                              cwd=work, env=box.environment(), timeout=60)
    finally:
        slot.release()
    import json

    facts = json.loads(done.stdout)
    assert facts["secret"] is False and facts["home"] is False
    # /tmp is private: it shows nothing of the host's but the way to the working copy
    # (and to Python itself, when the checkout or its .venv lies under /tmp, as a CI clone may)
    way = {Path(p).relative_to("/tmp").parts[0] for p in [str(work), *sandbox.python_binds()] if p.startswith("/tmp/")}
    assert set(facts["tmp"]) <= way and "labkit-grade-slots" in os.listdir("/tmp")
    assert facts["/usr/evil"] != "written" and facts[sandbox.python_binds()[0] + "/evil"] != "written"
    assert facts["interfaces"] == ["lo"]
    assert (work / "mine.txt").read_text() == "ok"
    if slot.uid is not None:
        assert facts["uid"] == slot.uid and (work / "mine.txt").stat().st_uid == slot.uid


def test_kill_all_kills_a_whole_tree(tmp_path):
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    try:
        for _ in range(50):
            if len(watch.members(parent.pid)) >= 3:
                break
            __import__("time").sleep(0.05)
        assert len(watch.members(parent.pid)) >= 3
        assert watch.kill_all(parent.pid) == 0
    finally:
        parent.kill()
        parent.wait()
    assert watch.members(parent.pid) == set()


def test_plain_reading_refuses_links_pipes_and_oversized_files(tmp_path):
    (tmp_path / "secret").write_text("the answers")
    work = tmp_path / "work"
    (work / "handin").mkdir(parents=True)
    (work / "handin" / "ok.json").write_text('{"a": 1}')
    (work / "link.json").symlink_to(tmp_path / "secret")
    (work / "folder").symlink_to(tmp_path)
    os.mkfifo(work / "pipe.json")
    (work / "big.json").write_bytes(b"0" * 2000)
    assert plain.read_json(work, "handin/ok.json", cap=100) == {"a": 1}
    for name, words in [("link.json", "link"), ("folder/secret", "link"), ("pipe.json", "not a regular file"),
                        ("big.json", "over the 1,000"), ("../secret", "not a path inside"), ("missing.json", "missing")]:
        with pytest.raises(plain.UnsafeFile, match=words):
            plain.read_bytes(work, name, cap=1000)


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_weights_come_back_as_plain_arrays_only():
    arrays = plain.read_arrays(npz(arr_0=np.ones((2, 3)), arr_1=np.arange(4)), cap=1000)
    assert [a.shape for a in arrays] == [(2, 3), (4,)]
    with pytest.raises(plain.UnsafeFile, match="pickle"):
        plain.read_arrays(npz(arr_0=np.array([{"code": 1}], dtype=object)), cap=1000)
    with pytest.raises(plain.UnsafeFile, match="other names"):
        plain.read_arrays(npz(weights=np.ones(2)), cap=1000)
    with pytest.raises(plain.UnsafeFile, match="cannot be read"):
        plain.read_arrays(b"not a zip", cap=1000)


def test_an_array_that_declares_a_huge_shape_is_refused_before_allocation():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("arr_0.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(plain.UnsafeFile, match="declare over"):
        plain.read_arrays(buffer.getvalue(), cap=2**20)
