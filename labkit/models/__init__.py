"""Model builders and what a model is made of.

- `cnn`: the seed's hand-built CNN (`hand_built_cnn`).
- `inspect`: parameter counts and a table of layers.
"""

from labkit.models.cnn import ACTIVATIONS, INITIALIZERS, hand_built_cnn
from labkit.models.inspect import layer_table, parameter_counts

__all__ = ["ACTIVATIONS", "INITIALIZERS", "hand_built_cnn", "layer_table", "parameter_counts"]
