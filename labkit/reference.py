"""Numbers that the seed reports published, to set beside this lab's own runs.

They are facts quoted from `shared/seeds/` (the course's original reports), not results of this
lab: each notebook shows them next to the numbers its own run produced, and says which data that
run used (the seed reports used the real datasets, on a GPU).
"""

from __future__ import annotations

SEED_002 = "seed report 002 (Fashion-MNIST; hand-built CNN, AutoKeras, HParams sweeps)"

# Question 1: the hand-built CNN (part A) against an AutoKeras AutoModel with a ResNet block (part B).
HAND_BUILT_CNN = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "test_accuracy": 0.9243,
    "params": 3_831_018,
    "trainable": 3_827_562,
    "non_trainable": 3_456,
}
AUTOKERAS_RESNET = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "test_accuracy": 0.9210,
    "params": 23_608_205,
    "trainable": 23_555_082,
    "non_trainable": 53_123,
}
