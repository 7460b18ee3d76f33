"""Searches over models and their hyperparameters, all on keras-tuner's bookkeeping.

- `tuner`: keras-tuner adapted for the course (time budget, resumable grid, seeded builds, timed trials).
- `sweeps`: one builder over a grid or a random sample of `{keyword: values}`.
- `designs`: grid, one-at-a-time and one-only designs over several layers, run as sweeps.
- `automl`: AutoKeras' `ImageClassifier` and a ResNet `AutoModel`.
- `hyper`: the seed reports' HyperModel spaces (a ResNet's depths, an optimizer's settings) and narrowing.
- `hypersearch`: one keras-tuner RandomSearch or Hyperband over such a space, resumable.
- `budget`: RandomSearch against Hyperband at an equal budget of epochs, over search seeds.
- `distributed`: one search spread over a chief and workers (keras-tuner's `KERASTUNER_*`), by one call.
"""
