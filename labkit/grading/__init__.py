"""Graded re-execution of learners' notebooks: `python -m labkit grade` (see the book's "Grading").

- `cli`: the command line; `batch`: the submissions on Dask workers, resumable.
- `checks`: the instructor's checks file; `scoring`: the checks applied to `evidence`, what the
  grader knows and measures itself (handed-back models on its own data).
- `execute`: one submission in its sandbox; `kernel`: papermill in the grader, the kernel in the
  sandbox; `sandbox`: the setups, limits and command; `launch`: limits and uid, then the kernel;
  `watch`: memory, deadline and the kill; `handin`: the grader's last cell, inside the kernel;
  `plain`: reading back what the submission left, with suspicion.
- `report`: grades.csv, totals.csv and the feedback pages.

Importing this package imports nothing heavy: the kernel's launcher lives in it too.
"""
