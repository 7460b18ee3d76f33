"""papermill's engine for the runner's workers: the kernel's pid and each code cell as it starts
go to the runner's queue, and the kernel tells which labkit modules the notebook imported.

Imported only in a worker process (`execute.work`): papermill and nbformat take seconds to import.
"""

from __future__ import annotations

import ast
import os
import tempfile
import uuid

from jupyter_client.manager import AsyncKernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import papermill_engines
from traitlets import default

from labkit._engine import ClientEngine

ENGINE = "labkit-runner"
_MODULES = "sorted(m for m in __import__('sys').modules if m == 'labkit' or m.startswith('labkit.'))"
_events = None  # the queue to the runner
_job_name = ""


def connect(events, name: str) -> None:
    """Sends this worker's reports to the runner's queue.

    Args:
        events: the queue.
        name: the job's name, which every report carries.
    """
    global _events, _job_name
    _events, _job_name = events, name


class _KernelManager(AsyncKernelManager):
    """jupyter_client's manager, reporting the kernel's pid to the runner once started.

    The kernel talks over Unix sockets in the temporary folder, not TCP: jupyter_client picks free
    TCP ports and frees them before the kernel binds them, so kernels started side by side can pick
    the same port and one dies ("Address already in use"; jupyter_client#487, papermill#511).
    """

    @default("transport")
    def _transport_default(self):
        return "ipc"

    @default("ip")
    def _ip_default(self):  # the sockets' path prefix: absolute, so not in the notebook's folder
        return os.path.join(tempfile.gettempdir(), f"labkit-kernel-{uuid.uuid4().hex}")

    async def start_kernel(self, **kw):
        """Starts the kernel, then reports its pid (jupyter_client's hook).

        Args:
            **kw: as jupyter_client's.
        """
        await super().start_kernel(**kw)
        pid = getattr(self.provisioner, "pid", None)
        if _events is not None and pid:
            _events.put(("kernel", _job_name, pid))
            _Client.outcome_holder["kernel"] = pid


class _Client(PapermillNotebookClient):
    """papermill's client, reporting each code cell as it starts, and the labkit modules used."""

    outcome_holder: dict = {}

    def papermill_execute_cells(self):
        """Executes the cells as papermill does, reporting progress (papermill's hook)."""
        code = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code" and c.source.strip()]
        start = self.nb_man.cell_start

        def cell_start(cell, cell_index=None, **kwargs):
            if cell_index in code:
                number = code.index(cell_index) + 1
                self.outcome_holder["cell"] = number
                if _events is not None:
                    _events.put(("cell", _job_name, number, len(code)))
            return start(cell, cell_index, **kwargs)

        self.nb_man.cell_start = cell_start
        super().papermill_execute_cells()
        try:
            reply = self.wait_for_reply(
                self.kc.execute("", silent=True, store_history=False, user_expressions={"m": _MODULES})
            )
            text = reply["content"]["user_expressions"]["m"]["data"]["text/plain"]
            self.outcome_holder["modules"] = list(ast.literal_eval(text))
        except Exception:  # an old kernel, or one that died: the whole package counts
            self.outcome_holder["modules"] = None


class _Engine(ClientEngine):
    """papermill's nbclient engine with `_Client` and `_KernelManager`; pass `outcome` (a dict)."""

    client = _Client

    @classmethod
    def client_options(cls, kwargs: dict) -> dict:
        """Takes `outcome` (where the client reports) out of papermill's arguments.

        Args:
            kwargs: what papermill passed on (changed in place).

        Returns:
            The kernel manager class for the client.
        """
        _Client.outcome_holder = kwargs.pop("outcome")
        return {"kernel_manager_class": _KernelManager}


papermill_engines.register(ENGINE, _Engine)
