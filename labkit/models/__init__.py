"""Model builders and what a model is made of.

- `cnn`: the seed's hand-built CNN (`hand_built_cnn`).
- `inspect`: parameter counts and a table of layers.
- `transfer`: `keras.applications` backbones with `"imagenet"`, `"lab"` or no weights, the seed's
  transfer classifier, freezing and unfreezing.
- `pretrain`: the `"lab"` weights, pretrained once on `labkit.data.source` and cached under a key.
- `features`: the frozen prefix's outputs computed once (the fast path of a frozen base).
- `surgery`: freezing by block or by count of layers, cutting a backbone at its k-th activation
  (the seeds' `activation_k`), a new head.
- `finetune`: the seed's two phases (head, then fine-tuning at a tenth of the rate) on cached features.
- `resnets`: ResNet50 with a new, freshly initialised last stage on `conv4_block6_out`; a
  pre-activation ResNet34 built from scratch; a frozen cut backbone with augmentation in front.
- `repeats`: models trained once per seed side by side (cached prefixes reused, or the augmentation
  redrawn each epoch through a frozen prefix), each set against a baseline with Welch's t-test.
"""

from labkit.models.cnn import ACTIVATIONS, INITIALIZERS, hand_built_cnn
from labkit.models.inspect import layer_table, parameter_counts

__all__ = ["ACTIVATIONS", "INITIALIZERS", "hand_built_cnn", "layer_table", "parameter_counts"]
