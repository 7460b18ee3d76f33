"""The grader's watch over one sandbox: its processes, their memory, the deadline, and the kill.

A sandbox's processes are the descendants of its outermost process (in bubblewrap, orphans are
adopted inside its PID namespace, so they stay descendants) and, where the sandbox has a uid of its
own, every process of that uid (which catches what double-forked out of the tree). Memory is the
proportional set size summed over them, so that pages shared by forked children count once.
"""

from __future__ import annotations

import os
import signal
import threading
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _table() -> dict[int, tuple[int, int]]:
    """`{pid: (parent pid, uid)}` of every living process this process can see."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] not in (b"Z", b"X"):  # a zombie holds nothing; its parent reaps it
            table[int(entry)] = (int(fields[1]), uid)
    return table


def members(root: int | None, uid: int | None = None) -> set[int]:
    """Finds a sandbox's processes.

    Args:
        root: the pid of its outermost process, or `None` once it is gone.
        uid: the sandbox's own uid, or `None` where it runs as the grader's user.

    Returns:
        The pids: `root`, its descendants, and every process of `uid`.
    """
    table = _table()
    found = {pid for pid, (_, owner) in table.items() if uid is not None and owner == uid}
    if root is not None and root in table:
        found.add(root)
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in table.items():
            children.setdefault(parent, []).append(pid)
        stack = [root]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    found.discard(os.getpid())
    return found


def usage(pids: set[int]) -> tuple[int, int]:
    """Adds up the memory and the threads of processes.

    Args:
        pids: the processes.

    Returns:
        `(bytes, threads)`: the proportional set size (`Pss` of `smaps_rollup`, or the resident set size
        where that cannot be read), and the threads, which `RLIMIT_NPROC` counts.
    """
    total = threads = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
            threads += int(stat[stat.rfind(b")") + 2:].split()[17])
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                total += next(int(line.split()[1]) * 1024 for line in handle if line.startswith(b"Pss:"))
        except (OSError, StopIteration, IndexError, ValueError):
            try:
                with open(f"/proc/{pid}/statm", "rb") as handle:
                    total += int(handle.read().split()[1]) * _PAGE
            except (OSError, IndexError, ValueError):
                continue
    return total, threads


def kill_all(root: int | None, uid: int | None = None, *, rounds: int = 50) -> int:
    """Kills a sandbox's processes, again and again until none is left (a fork bomb races the kill).

    Args:
        root: the pid of its outermost process.
        uid: the sandbox's own uid, if any.
        rounds: how many sweeps at most.

    Returns:
        How many processes are left (0 unless a process could not be killed).
    """
    left: set[int] = set()
    for _ in range(rounds):
        left = members(root, uid)
        if not left:
            return 0
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    return len(left)


class Watchdog(threading.Thread):
    """Kills a sandbox at its deadline, or as soon as its processes use more than their memory.

    Args:
        root: returns the pid of the outermost process (`None` until it starts).
        uid: the sandbox's own uid, if any.
        seconds: the deadline, from now.
        limit: bytes of memory, all processes together.
        every: seconds between two looks.
    """

    def __init__(self, root, uid: int | None, seconds: float, limit: int, every: float = 0.25):
        super().__init__(daemon=True, name="labkit-grade-watchdog")
        self._root, self._uid, self._limit, self._every = root, uid, limit, every
        self._seconds, self._deadline = seconds, time.monotonic() + seconds
        self._finished = threading.Event()
        self.reason: str | None = None
        self.peak = 0
        self.most_processes = 0

    def run(self) -> None:
        """Looks every `every` seconds until stopped, or until it kills the sandbox (threading's hook)."""
        while not self._finished.wait(self._every):
            pids = members(self._root(), self._uid)
            used, threads = usage(pids)
            self.peak, self.most_processes = max(self.peak, used), max(self.most_processes, threads)
            if used > self._limit:
                self.reason = (f"killed: its {len(pids)} processes used {used / 2**20:,.0f} MiB, over the memory "
                               f"limit of {self._limit / 2**20:,.0f} MiB")
            elif time.monotonic() > self._deadline:
                self.reason = f"killed: the notebook ran past its deadline of {self._seconds:g} s"
            if self.reason:
                kill_all(self._root(), self._uid)
                return

    def stop(self) -> None:
        """Stops watching (the run is over)."""
        self._finished.set()
        self.join()
