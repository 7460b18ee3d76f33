"""What a built model is made of: parameter counts and a table of its layers."""

from __future__ import annotations

def parameter_counts(model) -> dict[str, int]:
    """Counts a built model's parameters.

    Args:
        model: a built `keras.Model`.

    Returns:
        `{"total": ..., "trainable": ..., "non_trainable": ...}`.
    """
    import numpy as np

    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    non_trainable = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


def layer_table(model):
    """Lists a model's layers: the content of `model.summary()`, as data a test or notebook can compare.

    Args:
        model: a built `keras.Model`.

    Returns:
        A pandas DataFrame indexed by layer name: type, output shape, parameters.
    """
    import pandas as pd

    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape) if shape is not None else None
        rows.append({"layer": layer.name, "type": type(layer).__name__, "output shape": shape, "params": layer.count_params()})
    return pd.DataFrame(rows).set_index("layer")
