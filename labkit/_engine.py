"""papermill's nbclient engine with a notebook client of labkit's own: the runner's (progress and the
imported modules) and the grader's (capped outputs, a sandboxed kernel) differ only in the client.

Both kill the kernel once the last cell has run, as nbval does, instead of nbclient's default of
asking it to exit and waiting: a Python process that imported TensorFlow spends about 1.4 s tearing
itself down after its last `atexit` hook (measured in stop 21; `benchmarks/README.md`), and nothing of
a notebook's lives in that teardown (`labkit.record` and the executed copy are written by then). A
notebook's own `atexit` hooks do not run, under the runner as under nbval.
"""

from __future__ import annotations

from papermill.engines import NBClientEngine
from papermill.utils import merge_kwargs, remove_args


class ClientEngine(NBClientEngine):
    """Subclasses set `client` (a `PapermillNotebookClient` subclass) and may take their own
    keyword arguments out of papermill's in `client_options`."""

    client = None

    @classmethod
    def client_options(cls, kwargs: dict) -> dict:
        """Takes this engine's own arguments out of `kwargs`.

        Args:
            kwargs: what papermill passed on (changed in place).

        Returns:
            Keyword arguments for the client.
        """
        return {}

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
        """Executes the notebook (papermill's own engine, but for the client).

        Args:
            nb_man: papermill's notebook execution manager.
            kernel_name: the kernel's name.
            log_output, stdout_file, stderr_file: as papermill's.
            start_timeout: seconds the kernel may take to start.
            execution_timeout: seconds one cell may take.
            **kwargs: this engine's own (see `client_options`), and what else nbclient takes.

        Returns:
            The executed notebook.
        """
        options = cls.client_options(kwargs)
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                             kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                             stderr_file=stderr_file)
        final.setdefault("shutdown_kernel", "immediate")
        return cls.client(nb_man, **final, **options).execute()
