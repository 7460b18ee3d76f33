"""Where a submission's kernel runs: the sandbox setups, their limits and the command that starts one.

Four setups, strongest first (`detect` picks the strongest that works on this machine):

- `bwrap+user`: the grader is root, so the kernel runs as a uid of its own (one per sandbox that
  runs at the same time, as the IOI's `isolate` does), inside bubblewrap: no network, a private
  `/tmp`, only its working copy writable, nothing of the machine visible but the system, Python
  and labkit, read-only.
- `bwrap`: bubblewrap as above, but as the grader's own uid (the grader is not root).
- `user`: the grader is root but bubblewrap is missing: the kernel runs as its own uid; it sees
  what Unix permissions let any user see, and the network.
- `none`: neither: the kernel runs as the grader's user. Only the limits and the throwaway
  working copy protect anything.

Every setup applies the same limits (`Limits`): CPU time, processes, file size and memory. The
memory limit is `RLIMIT_DATA` on each process plus a watchdog on the proportional set size of the
whole sandbox; `RLIMIT_AS` is not used because TensorFlow reserves address space far beyond what
it touches (measured: 2.5 GB of address space for 0.7 GB resident), so it fails under any useful
`RLIMIT_AS`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from labkit.config import ONEDNN_VARIABLE
from labkit.errors import ParameterError, bad_choice, check_positive, check_seconds
from labkit.grading.watch import kill_all

SETUPS = ("bwrap+user", "bwrap", "user", "none")
PROTECTION = {
    "bwrap+user": "bubblewrap and a uid of its own: no network, private /tmp, only its working copy "
    "writable, the checks and the instructor's data invisible, no signal to the grader's processes",
    "bwrap": "bubblewrap as the grader's user: no network, private /tmp, only its working copy "
    "writable, the checks and the instructor's data invisible; an escape from bubblewrap would act "
    "as the grader's user",
    "user": "a uid of its own, no bubblewrap: it can read whatever any user may read (make the checks "
    "and data unreadable to others), write to world-writable folders and use the network",
    "none": "NO ISOLATION: the submission runs as the grader's user and can read the checks file and "
    "the instructor's data, write the grader's files, use the network and leave processes behind; "
    "only the time, memory, process and file-size limits apply. Install bubblewrap, or grade as root.",
}
FIRST_UID = 60000  # one uid per concurrent sandbox, from here (isolate's convention)
SLOTS = 1000
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
        "hosts", "ssl", "ca-certificates", "alternatives", "fonts", "mime.types")


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    Attributes:
        seconds: wall time of the whole notebook; the sandbox is killed at this deadline.
        cell_seconds: wall time of one cell (papermill's per-cell timeout).
        memory: bytes, for the whole sandbox (every process together).
        processes: processes and threads of the sandbox's uid (`RLIMIT_NPROC`; TensorFlow needs
            a few dozen threads).
        file_size: bytes, the largest file it may write (`RLIMIT_FSIZE`).
        output: bytes of cell output the grader keeps; the rest is dropped with a notice.
    """

    seconds: float = 1800.0
    cell_seconds: float = 600.0
    memory: int = 4 * 2**30
    processes: int = 512
    file_size: int = 256 * 2**20
    output: int = 20 * 2**20

    def __post_init__(self):
        check_seconds("timeout", self.seconds)
        check_seconds("cell_timeout", self.cell_seconds)
        for name in ("memory", "processes", "file_size", "output"):
            check_positive(name, getattr(self, name))

    @property
    def cpu_seconds(self) -> int:
        """CPU seconds one process may use: the deadline on every core, plus a margin."""
        return int(self.seconds * (os.cpu_count() or 1)) + 60


def parse_size(parameter: str, text: str | int) -> int:
    """Reads a size such as `4G`, `512M` or a number of bytes.

    Args:
        parameter: the option's name, for the error message.
        text: the size.

    Returns:
        The size in bytes.
    """
    units = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    value = str(text).strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (value[:-1], value[-1]) if value and value[-1] in units else (value, "")
    try:
        size = int(float(number) * units[unit])
    except ValueError:
        size = 0
    if size <= 0:
        raise ParameterError(f"{parameter}={text!r} must be a size above zero, such as 4G, 512M or 1000000")
    return size


@dataclass(frozen=True)
class Sandbox:
    """One sandbox, ready to start a command in `work`.

    Attributes:
        setup: one of `SETUPS`.
        work: the throwaway working copy, the only folder the kernel may write.
        limits: the `Limits`.
        uid, gid: whom the kernel runs as (`None`: the grader's own).
        binds: folders shown read-only inside bubblewrap (Python, labkit, the data cache).
        hidden: files and folders that must stay invisible inside (the checks, the instructor's data).
    """

    setup: str
    work: Path
    limits: Limits
    uid: int | None = None
    gid: int | None = None
    binds: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    def command(self, argv: list[str], *, chown: tuple[str, ...] = ()) -> list[str]:
        """Wraps a command so that it runs inside this sandbox.

        Args:
            argv: the command (the kernel's).
            chown: files the grader wrote that the sandbox's uid must own (the connection file).

        Returns:
            The command: bubblewrap where the setup has it, around labkit's launcher (limits, uid),
            around `argv`.
        """
        limits = [self.limits.cpu_seconds, self.limits.memory, self.limits.processes, self.limits.file_size]
        launcher = [sys.executable, "-I", "-m", "labkit.grading.launch", ",".join(str(n) for n in limits)]
        if self.uid is not None:
            launcher += ["--uid", str(self.uid), "--gid", str(self.gid)]
        for path in chown:
            launcher += ["--chown", path]
        launcher += ["--", *argv]
        return self._bwrap(launcher) if self.setup.startswith("bwrap") else launcher

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Makes the kernel's environment from scratch: none of the grader's variables (tokens...) leak in.

        Args:
            extra: variables to add (the build folder, the profile).

        Returns:
            The environment.
        """
        home = str(self.work / ".home")
        scratch = "/tmp" if self.setup.startswith("bwrap") else str(self.work / ".tmp")  # bubblewrap's is private
        for folder in {home, scratch} - {"/tmp"}:
            os.makedirs(folder, exist_ok=True)
            if self.uid is not None:
                os.chown(folder, self.uid, self.gid)
        bin_dir = os.path.dirname(sys.executable)
        return {
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home, "TMPDIR": scratch, "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.matplotlib", "KERAS_HOME": f"{home}/.keras",
            "JUPYTER_RUNTIME_DIR": f"{home}/.jupyter-runtime", "IPYTHONDIR": f"{home}/.ipython",
            "TF_CPP_MIN_LOG_LEVEL": "3", ONEDNN_VARIABLE: os.environ.get(ONEDNN_VARIABLE, "1"), **(extra or {}),
        }

    def _bwrap(self, argv: list[str]) -> list[str]:
        # As root, bubblewrap makes the mounts with root's sight (Python may live under /root) and no
        # user namespace, so that the launcher inside drops to a real uid of the host; as anyone else,
        # a user namespace.
        users = [] if self.uid is not None else ["--unshare-user"]
        args = [shutil.which("bwrap") or "bwrap", *users, "--unshare-ipc", "--unshare-pid", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev", "--perms", "1777",
                "--size", str(self.limits.file_size), "--tmpfs", "/tmp"]  # in memory: no larger than a file may be
        for path in _SYSTEM:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in _ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        made = {"/", "/tmp", "/etc", *_SYSTEM}
        for path in (*self.binds, str(self.work)):
            for parent in reversed(Path(path).parents):
                if str(parent) not in made:  # bubblewrap would make it 0700: unreachable for the uid
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
        for path in self.binds:
            args += ["--ro-bind", path, path]
        args += ["--bind", str(self.work), str(self.work)]
        for path in self.hidden:
            if any(_inside(path, bound) for bound in (*self.binds, str(self.work), *_SYSTEM, "/etc")):
                args += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
        return [*args, "--chdir", str(self.work), *argv]


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def python_binds() -> tuple[str, ...]:
    """Lists what a kernel needs to see read-only: the Python installation, the environment, labkit.

    Returns:
        Absolute folders, none inside another, none under the system folders (bound anyway).
    """
    import labkit

    candidates = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)),
                  os.path.dirname(os.path.abspath(labkit.__file__))}
    folders = sorted({os.path.realpath(c) for c in candidates} - {"/"})
    folders = [f for f in folders if not any(_inside(f, s) for s in _SYSTEM)]
    return tuple(f for f in folders if not any(f != g and _inside(f, g) for g in folders))


def can_switch_user() -> bool:
    """Says whether the grader may run kernels as another uid.

    Returns:
        `True` when the grader runs as root.
    """
    return hasattr(os, "geteuid") and os.geteuid() == 0


def probe(setup: str) -> str | None:
    """Starts Python in a sandbox of this setup once and imports what a kernel needs.

    Args:
        setup: one of `SETUPS`.

    Returns:
        `None` when it works, else why not (one line).
    """
    if setup.startswith("bwrap") and shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    if setup.endswith("user") and not can_switch_user():
        return "the grader is not root, so it cannot run kernels as another user"
    slot = Slot(setup)
    try:
        with tempfile.TemporaryDirectory(prefix="labkit-probe-") as folder:
            if slot.uid is not None:
                os.chown(folder, slot.uid, slot.uid)
            box = Sandbox(setup, Path(folder), Limits(seconds=60), slot.uid, slot.uid, python_binds())
            code = "import ipykernel, labkit"
            done = subprocess.run(box.command([sys.executable, "-I", "-c", code]), capture_output=True,
                                  text=True, timeout=60, cwd=folder, env=box.environment())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{setup} did not start: {exc}"
    finally:
        slot.release()
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines()
        return f"{setup} fails here: {lines[-1] if lines else f'exit status {done.returncode}'}"
    return None


def detect(requested: str = "auto") -> tuple[str, list[str]]:
    """Chooses the sandbox setup, trying each once.

    Args:
        requested: `"auto"` (the strongest that works here) or one of `SETUPS`.

    Returns:
        `(setup, notes)`: the setup, and why each stronger one was not used.

    Raises:
        ParameterError: `requested` is unknown, or asks for what this machine cannot give.
    """
    if requested not in ("auto", *SETUPS):
        raise bad_choice("sandbox", requested, ("auto", *SETUPS))
    notes = []
    for setup in SETUPS if requested == "auto" else (requested,):
        problem = probe(setup) if setup != "none" else None
        if problem is None:
            return setup, notes
        notes.append(problem)
    raise ParameterError(f"sandbox={requested!r} is not possible here: {notes[-1]}")


class Slot:
    """A uid of its own for one sandbox, held (by a file lock) while the sandbox lives.

    Args:
        setup: the sandbox setup; only the `user` setups take a uid.
    """

    def __init__(self, setup: str):
        self.uid: int | None = None
        self._handle = None
        if not setup.endswith("user"):
            return
        folder = Path(tempfile.gettempdir()) / "labkit-grade-slots"
        folder.mkdir(mode=0o700, exist_ok=True)
        for slot in range(SLOTS):
            handle = open(folder / f"{slot}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.uid, self._handle = FIRST_UID + slot, handle
            kill_all(None, self.uid)  # what a grader that died may have left running as this uid
            return
        raise RuntimeError(f"all {SLOTS} sandbox uids from {FIRST_UID} are in use")

    def release(self) -> None:
        """Gives the uid back."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
