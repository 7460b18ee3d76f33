"""Grad-CAM: where in an image a trained classifier found the evidence for a class.

Selvaraju et al. (2017): weight each channel of a convolution's output by the mean gradient of the
class score with respect to it, sum the weighted channels, keep the positive part. The class score
is the logit before the softmax (when the model ends with a softmax `Dense`), as in the paper and in
keras-io's `grad_cam.py`: the softmax probability saturates near 1 and its gradient fades.

`score_model(model, layer)` builds a model that returns the layer's output and the logits, also when the
layer lies inside a nested base (as in `labkit.models.transfer.classifier`); `heatmaps` holds the
gradient code, the only TensorFlow-specific part; `gradcam` scales and resizes the maps to the images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.errors import ParameterError, bad_choice


@dataclass
class GradCam:
    """Grad-CAM maps of a batch of images.

    Attributes:
        maps: N×H×W, each map scaled to [0, 1] (its largest value 1; all 0 when nothing is positive)
            and resized to the images' height and width.
        classes: the class each map explains (the predicted one unless given).
        probabilities: the model's N×classes output.
        layer: the convolution the maps come from.
    """

    maps: np.ndarray
    classes: np.ndarray
    probabilities: np.ndarray
    layer: str


def _holder(model, layer: str):
    """The model among `model` and its nested models that owns a layer named `layer`."""
    import keras

    names = [inner.name for inner in model.layers]
    if layer in names:
        return model
    for inner in model.layers:
        if isinstance(inner, keras.Model) and _holder(inner, layer) is not None:
            return inner
    return None


def score_model(model, layer: str):
    """Builds a model from the images to the output of `layer` and the class logits.

    Args:
        model: a classifier whose top level is a chain of layers (a `keras.Sequential`, the hand-built
            CNN, a `transfer.classifier`); `layer` may lie in a nested model of the chain.
        layer: the name of a layer with a 4-D output (a convolution or its activation).

    Returns:
        A `keras.Model` with outputs `[layer output (N×h×w×c), logits]`; the logits are the input of
        a final softmax `Dense` layer multiplied out, else the model's output.
    """
    import keras

    holder = _holder(model, layer)
    if holder is None:
        names = [inner.name for inner in model.layers]
        raise bad_choice("layer", layer, names[:4] + ["...", names[-1]])
    if len(holder.get_layer(layer).output.shape) != 4:
        raise ParameterError(f"layer={layer!r}: Grad-CAM needs a layer with an image-shaped (4-D) output")
    last = model.layers[-1]
    softmax_dense = isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax
    images = keras.Input(model.input_shape[1:])
    x, tapped = images, None
    for inner in model.layers:
        if isinstance(inner, keras.layers.InputLayer):
            continue
        if softmax_dense and inner is last:
            x = keras.ops.matmul(x, last.kernel) + last.bias
        elif holder is not model and inner is holder:
            tapped, x = keras.Model(holder.input, [holder.get_layer(layer).output, holder.output])(x)
        else:
            x = inner(x)
        if holder is model and inner.name == layer:
            tapped = x
    return keras.Model(images, [tapped, x], name=f"{model.name}_gradcam")


def heatmaps(tapped, images, class_index=None) -> tuple[np.ndarray, np.ndarray]:
    """Computes raw Grad-CAM maps: the gradient code.

    Args:
        tapped: a model from `score_model`.
        images: a batch of images as the model takes them.
        class_index: the class to explain, one for all images or one per image; `None` takes each
            image's predicted class.

    Returns:
        `(maps, classes)`: maps N×h×w at the layer's resolution (≥ 0, not scaled), and the classes.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(np.asarray(images, dtype=np.float32))
    with tf.GradientTape() as tape:
        activations, logits = tapped(images, training=False)
        if class_index is None:
            classes = tf.argmax(logits, axis=-1)
        else:
            classes = tf.broadcast_to(tf.constant(class_index, dtype=tf.int64), tf.shape(logits)[:1])
        score = tf.gather(logits, classes, axis=1, batch_dims=1)
    gradients = tape.gradient(score, activations)
    weights = tf.reduce_mean(gradients, axis=(1, 2))  # one weight per channel and image
    maps = tf.nn.relu(tf.einsum("nhwc,nc->nhw", activations, weights))
    return maps.numpy(), classes.numpy().astype(np.int64)


def gradcam(model, images, *, layer: str, class_index=None, batch_size: int = 32) -> GradCam:
    """Grad-CAM maps of images for a trained classifier, scaled to [0, 1] and resized to the images.

    Args:
        model: a trained classifier (see `score_model`).
        images: N×H×W×C images as the model takes them.
        layer: the convolution (or its activation) to explain; the last convolutional layer gives
            the most class-specific maps, an earlier one a finer grid.
        class_index: the class to explain (one for all images, or one per image); `None`: the predicted.
        batch_size: images per gradient computation.

    Returns:
        A `GradCam`.
    """
    import keras

    from labkit.models.features import forward

    tapped = score_model(model, layer)
    images = np.asarray(images, dtype=np.float32)
    chosen = None if class_index is None else np.broadcast_to(np.asarray(class_index, dtype=np.int64), (len(images),))
    maps, classes = [], []
    for start in range(0, len(images), batch_size):
        part = None if chosen is None else chosen[start:start + batch_size]
        raw, picked = heatmaps(tapped, images[start:start + batch_size], part)
        maps.append(raw)
        classes.append(picked)
    raw, classes = np.concatenate(maps), np.concatenate(classes)
    peak = raw.reshape(len(raw), -1).max(axis=1)
    scaled = raw / np.where(peak > 0, peak, 1.0)[:, None, None]
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(scaled[..., None], images.shape[1:3],
                                                                interpolation="bilinear"))[..., 0]
    probabilities = forward(model, images, batch_size=batch_size)
    return GradCam(np.clip(resized, 0.0, 1.0), classes, probabilities, layer)


def overlay_grid(images, cams: GradCam, class_names, *, labels=None, columns: int = 6, alpha: float = 0.45,
                 title: str | None = None):
    """Draws each image with its Grad-CAM map over it, titled by the class the map explains.

    Args:
        images: the N images the maps belong to (values in [0, 1]).
        cams: from `gradcam`.
        class_names: names of the classes, in label order.
        labels: the true labels, shown beside the explained class when given.
        columns: images per row.
        alpha: opacity of the heat map.
        title: the figure's title.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    count = len(cams.maps)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.0 * columns, 2.2 * rows + 0.5), squeeze=False,
                             layout="constrained")
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index >= count:
            continue
        image = np.asarray(images[index])
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
        ax.imshow(cams.maps[index], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        shown = class_names[int(cams.classes[index])]
        probability = cams.probabilities[index, int(cams.classes[index])]
        truth = "" if labels is None else f"\n(true: {class_names[int(labels[index])]})"
        ax.set_title(f"{shown} {probability:.2f}{truth}", fontsize=9)
    fig.suptitle(title or f"Grad-CAM at {cams.layer}: where the evidence for the class lies")
    return fig
