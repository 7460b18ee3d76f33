"""Graded re-execution of learners' notebooks: `python -m labkit grade`.

Each submission runs in its own sandbox (`sandbox`), its kernel driven by papermill in the
grader's process (`execute`); the instructor's checks (`checks`) are applied by the grader to what
it verifies itself (`evidence`, `scoring`); `batch` spreads submissions over Dask workers and
resumes an interrupted run; `report` writes `grades.csv` and one feedback page per submission.
This module imports nothing heavy: the kernel's launcher lives in this package too.
"""
