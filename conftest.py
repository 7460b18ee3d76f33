"""Test-wide settings: notebooks run on the smoke profile, and write into a throwaway build folder.

This file sits at the top so that it also applies to the notebooks that nbval collects from
`notebooks/`; it is read before any kernel starts, and kernels inherit the environment.
"""

import os
import tempfile

os.environ.setdefault("LABKIT_PROFILE", "smoke")
os.environ.setdefault("LABKIT_BUILD_DIR", tempfile.mkdtemp(prefix="labkit-test-build-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as labkit sets it (labkit.config.fast_cpu_kernels)
os.environ.setdefault("MPLBACKEND", "Agg")
