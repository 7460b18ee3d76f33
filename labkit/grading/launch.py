"""Starts one sandboxed command: `python -m labkit.grading.launch CPU,DATA,NPROC,FSIZE [--uid U --gid G] [--chown PATH]... -- COMMAND...`.

Run by the grader, as the grader: it sets the limits (hard and soft, so the command cannot raise
them), hands the files named by `--chown` to the sandbox's uid, drops to that uid and group with
no supplementary groups, and replaces itself with the command. Kept free of labkit imports beyond
this package so that it starts fast.
"""

from __future__ import annotations

import os
import resource
import sys


def main(argv: list[str]) -> None:
    """Applies the limits and the uid, then executes the command.

    Args:
        argv: the arguments after the module's name.
    """
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    cpu, data, nproc, fsize = (int(n) for n in options[0].split(","))
    uid = gid = None
    chown = []
    rest = options[1:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--uid":
            uid = int(value)
        elif flag == "--gid":
            gid = int(value)
        elif flag == "--chown":
            chown.append(value)
    for limit, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_DATA, data),
                         (resource.RLIMIT_NPROC, nproc), (resource.RLIMIT_FSIZE, fsize),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    if uid is not None:
        for path in chown:
            os.chown(path, uid, gid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    _die_with_parent()
    # ipykernel would watch JPY_PARENT_PID and, in a PID namespace where its parent is pid 1, shut
    # itself down at once; the grader watches the kernel instead.
    os.environ.pop("JPY_PARENT_PID", None)
    os.execv(command[0], command)


def _die_with_parent() -> None:
    """Asks the kernel for SIGKILL when the grader's thread that started it goes away (set after the uid
    changed, which clears it). Bubblewrap does the same for its own namespace (`--die-with-parent`)."""
    import ctypes
    import signal

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
