"""A Jupyter kernel inside the sandbox, driven by papermill in the grader's own process.

Only the kernel is the learner's: papermill, the notebook file and the executed copy stay in the
grader, so the submission never sees the cells it has not reached (nor the hand-in cell that the
grader appends), and cannot write the executed copy. Kernel and grader talk over Unix sockets in the
working copy (ZeroMQ's `ipc` transport), since the sandbox has no network. What the kernel sends
is capped: a message above the cap is dropped by ZeroMQ, and cell outputs beyond the cap are
replaced by one notice, so that a submission that prints without end cannot fill the grader's memory.
"""

from __future__ import annotations

import json

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import papermill_engines

from labkit._engine import ClientEngine
from labkit.grading.sandbox import Sandbox

ENGINE = "labkit-sandbox"
DROPPED = "[labkit grader: the rest of this notebook's output was dropped: over {cap:,} bytes]\n"


class SandboxKernelManager(AsyncKernelManager):
    """Starts the `python3` kernel through `Sandbox.command`, talking over Unix sockets.

    Args:
        sandbox: the `Sandbox` (its working copy holds the sockets and the connection file).
        env: the kernel's environment (`Sandbox.environment`).
        log: an open file that receives the kernel's own stdout and stderr.
    """

    def __init__(self, sandbox: Sandbox, env: dict[str, str], log, **kwargs):
        super().__init__(kernel_name="python3", transport="ipc", ip=str(sandbox.work / ".kernel"),
                         connection_file=str(sandbox.work / ".kernel.json"), **kwargs)
        self._sandbox, self._env, self._log = sandbox, env, log
        self._context = _context(sandbox.limits.output)

    def format_kernel_cmd(self, extra_arguments=None):
        """Wraps the kernel's command in the sandbox (jupyter_client's hook).

        Args:
            extra_arguments: more arguments for the kernel.

        Returns:
            The command that starts the kernel inside the sandbox.
        """
        argv = super().format_kernel_cmd(extra_arguments)
        return self._sandbox.command(argv, chown=(self.connection_file,))

    async def start_kernel(self, **kw):
        """Starts the kernel with the sandbox's environment, folder and log (jupyter_client's hook).

        Args:
            **kw: what nbclient passes; the environment, folder and output files are replaced.
        """
        kw.update(env=self._env, cwd=str(self._sandbox.work), stdout=self._log, stderr=self._log)
        await super().start_kernel(**kw)

    def client(self, **kwargs):
        """Makes the client that talks to the kernel, over the capped context (jupyter_client's hook).

        Args:
            **kwargs: as jupyter_client's.

        Returns:
            The kernel client.
        """
        return super().client(context=self._context, **kwargs)

    @property
    def kernel_pid(self) -> int | None:
        """The pid of the sandbox's outermost process (bubblewrap, or the kernel), once started."""
        provisioner = self.provisioner
        return getattr(provisioner, "pid", None) if provisioner is not None else None


_CONTEXTS: dict[int, zmq.asyncio.Context] = {}


def _context(cap: int) -> zmq.asyncio.Context:
    """One ZeroMQ context per message cap, for the life of the process (as `zmq.Context.instance()`):
    the client's heartbeat thread may still use it after the kernel is gone."""
    if cap not in _CONTEXTS:
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, cap)
        _CONTEXTS[cap] = context
    return _CONTEXTS[cap]


class _CappedClient(PapermillNotebookClient):
    """papermill's client, with a cap on the bytes of output it keeps."""

    def __init__(self, nb_man, output_cap: int, **kwargs):
        super().__init__(nb_man, **kwargs)
        self._cap, self._spent, self._capped = output_cap, 0, False

    def output(self, outs, msg, display_id, cell_index):
        """Keeps an output while the cap allows, then one notice (nbclient's hook).

        Args:
            outs, msg, display_id, cell_index: as nbclient's.

        Returns:
            The output kept, or `None`.
        """
        self._spent += len(json.dumps(msg.get("content", {}), default=str))
        if self._spent <= self._cap:
            return super().output(outs, msg, display_id, cell_index)
        if not self._capped:
            self._capped = True
            outs.append(nbformat.v4.new_output("stream", name="stderr", text=DROPPED.format(cap=self._cap)))
        return None


class SandboxEngine(ClientEngine):
    """papermill's nbclient engine with `_CappedClient`: pass `output_cap` and `km`."""

    client = _CappedClient

    @classmethod
    def client_options(cls, kwargs: dict) -> dict:
        """Takes `output_cap` out of papermill's arguments.

        Args:
            kwargs: what papermill passed on (changed in place).

        Returns:
            The cap for the client.
        """
        return {"output_cap": kwargs.pop("output_cap")}


papermill_engines.register(ENGINE, SandboxEngine)
