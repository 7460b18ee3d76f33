"""Searches over models and their hyperparameters, all on keras-tuner's bookkeeping.

- `tuner`: keras-tuner adapted for the course (time budget, resumable grid, seeded builds, timed trials).
- `sweeps`: one builder over a grid or a random sample of `{keyword: values}`.
- `designs`: grid, one-at-a-time and one-only designs over several layers, run as sweeps.
- `automl`: AutoKeras' `ImageClassifier` and a ResNet `AutoModel`.
"""
