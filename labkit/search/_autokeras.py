"""AutoKeras 3.0.0 on current Keras: the one compatibility fix labkit applies when it imports AutoKeras.

AutoKeras 3.0.0 records the shapes of a model's inputs and outputs as tuples of NumPy integers
(`Graph.set_io_shapes`, fed by `utils.data_utils.dataset_shape`, which maps every array to
`np.array(x.shape)`); its heads then call `layers.Dense(self.shape[-1])` with such an integer.
Keras 3.13 made `Dense` accept only a Python `int` (keras-team/keras#21902), and the Keras
maintainers' answer is that callers cast (keras-team/keras#22240). Colab ships Keras 3.13, so
instead of pinning an older Keras, labkit casts the recorded shapes to Python integers right where
AutoKeras stores them. The fix is a no-op on Keras < 3.13 and on an AutoKeras that already casts.
"""

from __future__ import annotations

PATCHED = "_labkit_plain_int_shapes"


def _plain(shape):
    """A shape as a tuple of Python ints (None stays None)."""
    return None if shape is None else tuple(None if size is None else int(size) for size in shape)


def patch(graph_class) -> bool:
    """Makes `graph_class.set_io_shapes` store Python ints.

    Args:
        graph_class: `autokeras.graph.Graph` (or a class with the same `set_io_shapes`).

    Returns:
        Whether it patched now (`False`: it was patched already).
    """
    if getattr(graph_class.set_io_shapes, PATCHED, False):
        return False
    original = graph_class.set_io_shapes

    def set_io_shapes(self, shapes):
        original(self, shapes)
        for node in self.inputs:
            node.shape = _plain(node.shape)
        for node in self.outputs:
            node.in_blocks[0].shape = _plain(node.in_blocks[0].shape)

    setattr(set_io_shapes, PATCHED, True)
    set_io_shapes.__doc__ = original.__doc__
    graph_class.set_io_shapes = set_io_shapes
    return True


def autokeras():
    """Imports AutoKeras with labkit's compatibility fix applied.

    Returns:
        The `autokeras` module.
    """
    import autokeras as ak
    from autokeras import graph

    patch(graph.Graph)
    return ak
