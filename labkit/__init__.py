"""labkit: the small shared package of the CNN course lab.

Every notebook starts with `lab = labkit.setup(profile=PROFILE, seed=SEED, notebook=...)`,
loads data with `labkit.data.load(...)` and keeps its numbers with `labkit.record(...)`.
"""

from labkit import config

config.quiet_backend_logs()
config.fast_cpu_kernels()

from labkit import logs  # noqa: E402

logs.import_backend_quietly()

from labkit.results import record  # noqa: E402 (after the backend's settings are made)
from labkit.session import current, setup  # noqa: E402

__version__ = "0.1.0"
__all__ = ["current", "record", "setup", "__version__"]
