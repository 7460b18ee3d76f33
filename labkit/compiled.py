"""A compiled model's state: built before its training step is traced, and reused from seed to seed.

Tracing a training step costs more than several epochs of the course's small fits on a ResNet. So
labkit builds a compiled model's optimizer and metrics before the first trace (one trace, not two:
`build_before_tracing`), and the seeds of one configuration train the same compiled model: each
seed's fresh weights are copied in (`copy_state`) and the optimizer starts again from step 0
(`reset_optimizer`); `benchmarks/README.md` has the figures.
"""

from __future__ import annotations

from labkit.errors import ParameterError


def require_compiled(model):
    """Refuses a model that is not compiled, with the one-line error that says how to compile it.

    Args:
        model: a `keras.Model`.

    Returns:
        Its optimizer.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", True):
        raise ParameterError("model must be compiled first: call model.compile(optimizer=..., loss=..., metrics=[...])")
    return optimizer


def build_before_tracing(model, x, y) -> bool:
    """Creates a compiled model's optimizer and metric variables before its training step is traced.

    With TensorFlow and no distribution strategy, Keras creates them inside the first trace of the
    training step; `tf.function` then traces that step a second time, since variables were made in
    the first. On a freshly built ResNet this doubled the cost of the first epoch (10.3 → 5.3 s for
    the ResNet34 of notebook 10; `benchmarks/README.md`). Building them first is what Keras itself
    does under a distribution strategy (`Trainer._symbolic_build`).

    Args:
        model: a compiled `keras.Model`.
        x: training inputs (only the first example's shape and dtype are used).
        y: their labels, as `fit` gets them.

    Returns:
        Whether it built anything: not for a model that runs eagerly (nothing is traced), nor for a
        Keras without `_symbolic_build` (the model then builds in its first trace, as before).
    """
    symbolic_build = getattr(model, "_symbolic_build", None)
    if model.run_eagerly or symbolic_build is None or getattr(model, "optimizer", None) is None:
        return False
    compiled = [getattr(model, "_compile_metrics", None), getattr(model, "_compile_loss", None)]
    if model.built and model.optimizer.built and all(part is None or part.built for part in compiled):
        return False
    symbolic_build(data_batch=(x[:1], y[:1], None))
    return True


def same_layout(model, other) -> bool:
    """Whether two models hold variables of the same shapes, types and trainability, in the same order.

    Args:
        model: a `keras.Model`.
        other: another.

    Returns:
        True when `copy_state(model, other)` can make `other` start where `model` starts.
    """
    def layout(m):
        return [type(layer).__name__ for layer in m.layers], [(tuple(v.shape), v.dtype, v.trainable) for v in m.variables]

    return layout(model) == layout(other)


def copy_state(source, target) -> None:
    """Gives `target` every variable value of `source`: weights, BatchNorm statistics, random generators' states.

    Variables the two models share (a frozen base used by both) are left as they are.

    Args:
        source: a `keras.Model`.
        target: a model of the same layout (`same_layout`).
    """
    if not same_layout(source, target):
        raise ParameterError(f"model={source.name!r} and {target.name!r} differ in their layers or variables: "
                             "copy_state needs two models of the same layout")
    for value, variable in zip(source.variables, target.variables):
        if value is not variable:
            variable.assign(value)


def reset_optimizer(model):
    """Puts a compiled model's optimizer back to where a fresh one starts (step 0, empty moments).

    A model trained again after `copy_state` keeps its compiled and traced training step: on a
    ResNet, tracing costs more than several epochs of a few hundred small images.

    Args:
        model: a compiled `keras.Model`.

    Returns:
        The model.
    """
    optimizer = require_compiled(model)
    if optimizer.built:
        fresh = type(optimizer).from_config(optimizer.get_config())
        fresh.build(model.trainable_variables)
        if len(fresh.variables) != len(optimizer.variables):
            raise ParameterError(f"model={model.name!r}: its trainable variables changed since its optimizer was "
                                 "built: compile it again instead")
        for variable, value in zip(optimizer.variables, fresh.variables):
            variable.assign(value)
    return model
