"""labkit: the small shared package of the CNN course lab.

Every notebook starts with `lab = labkit.setup(profile=PROFILE, seed=SEED, notebook=...)`,
loads data with `labkit.data.load(...)` and keeps its numbers with `labkit.record(...)`.
"""

from labkit.results import record
from labkit.session import current, setup

__version__ = "0.1.0"
__all__ = ["current", "record", "setup", "__version__"]
