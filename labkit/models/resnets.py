"""ResNets built by labkit: a ResNet50 with its last stage re-initialised, and a pre-activation ResNet34.

- `reinit_base(base)`: a ResNet50 from `transfer.backbone` cut at `conv4_block6_out`, with a new
  last stage on top: three bottleneck blocks (1×1 512, 3×3 512, 1×1 2048; a projection shortcut on
  the first), freshly initialised, with Keras' own layer names (`conv5_block1_1_conv`, ...), so that
  it has ResNet50's layers and parameter count and only the last stage's weights differ.
- `reinit_classifier(base, n)`: the frozen pretrained part (conv1 to conv4), then the new stage and
  seed report 003's head (three dense layers of 1024, dropout, softmax), trainable. The frozen part
  comes first and is deterministic, so `labkit.models.features` caches its outputs.
- `preact_resnet34(...)`: the 34-layer network of "Identity Mappings in Deep Residual Networks"
  (He et al., 2016) built from scratch with full pre-activation blocks (BN → ReLU → conv, twice, then
  the identity added), as seed report 001 trained it.
"""

from __future__ import annotations

import keras

from labkit.errors import ParameterError, bad_choice, check_choice, check_number, check_positive, check_rate

# The outputs of ResNet50's stages in `keras.applications`: where a new last stage may start.
STAGE_OUTPUTS = ("conv2_block3_out", "conv3_block4_out", "conv4_block6_out")
STRIDES = (1, 2)
DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}  # basic-block ResNets of He et al., Table 1
EPSILON = 1.001e-5  # Keras' ResNets


def _bn(name: str, momentum: float):
    return keras.layers.BatchNormalization(axis=-1, epsilon=EPSILON, momentum=momentum, name=name)


def _conv(filters: int, size: int, name: str, stride: int = 1, bias: bool = True):
    return keras.layers.Conv2D(filters, size, strides=stride, padding="same", use_bias=bias,
                               kernel_initializer="he_normal", name=name)


def bottleneck(x, filters: int, *, name: str, stride: int = 1, project: bool = False, bn_momentum: float = 0.9):
    """One bottleneck block of ResNet50 (1×1 `filters`, 3×3 `filters`, 1×1 4×`filters`), freshly initialised.

    Args:
        x: the input tensor.
        filters: the bottleneck's width (512 in the last stage); the block outputs four times as many.
        name: the block's prefix, such as `"conv5_block1"`; layers are named as Keras names them.
        stride: the stride of the first 1×1 convolution and of the projection.
        project: a 1×1 convolution on the shortcut (the first block of a stage); else the identity.
        bn_momentum: momentum of the BatchNorm layers.

    Returns:
        The block's output tensor (`<name>_out`).
    """
    shortcut = x
    if project:
        shortcut = _conv(4 * filters, 1, f"{name}_0_conv", stride)(x)
        shortcut = _bn(f"{name}_0_bn", bn_momentum)(shortcut)
    x = _conv(filters, 1, f"{name}_1_conv", stride)(x)
    x = keras.layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn", bn_momentum)(x))
    x = _conv(filters, 3, f"{name}_2_conv")(x)
    x = keras.layers.Activation("relu", name=f"{name}_2_relu")(_bn(f"{name}_2_bn", bn_momentum)(x))
    x = _bn(f"{name}_3_bn", bn_momentum)(_conv(4 * filters, 1, f"{name}_3_conv")(x))
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.Activation("relu", name=f"{name}_out")(x)


def last_stage(x, *, filters: int = 512, blocks: int = 3, stride: int = 2, name: str = "conv5",
               bn_momentum: float = 0.9):
    """ResNet50's last stage, freshly initialised: `blocks` bottlenecks, a projection on the first.

    Args:
        x: the input tensor (ResNet50's `conv4_block6_out`).
        filters: bottleneck width.
        blocks: how many blocks.
        stride: 2 halves the feature map as ResNet50 does; 1 keeps it (seed report 003's choice).
        name: the stage's prefix.
        bn_momentum: momentum of the BatchNorm layers (0.9: a new stage trains from scratch).

    Returns:
        The stage's output tensor.
    """
    check_positive("filters", filters)
    check_positive("blocks", blocks)
    check_choice("stride", stride, STRIDES)
    check_number("bn_momentum", bn_momentum, high=1.0, low_open=False, high_open=True)
    for block in range(1, blocks + 1):
        x = bottleneck(x, filters, name=f"{name}_block{block}", stride=stride if block == 1 else 1,
                       project=block == 1, bn_momentum=bn_momentum)
    return x


def _cut(base, at: str):
    if base.layers[-1].name != "conv5_block3_out":
        raise ParameterError(f"base={base.name!r} must be a ResNet50 from transfer.backbone('resnet50', ...)")
    check_choice("at", at, STAGE_OUTPUTS)
    return base.get_layer(at).output


def reinit_base(base, *, at: str = "conv4_block6_out", stride: int = 2, bn_momentum: float = 0.9):
    """A ResNet50 whose stages after `at` are replaced by one new, freshly initialised last stage.

    Args:
        base: a ResNet50 from `transfer.backbone("resnet50", ...)` (any weights); its layers up to
            `at` are shared, not copied.
        at: the stage output the new stage starts from (one of `STAGE_OUTPUTS`).
        stride: the new stage's stride (`last_stage`).
        bn_momentum: momentum of the new BatchNorm layers.

    Returns:
        A `keras.Model` named `<base>_reinit`: with `at="conv4_block6_out"`, ResNet50's layer names and
        parameter count, new weights in the `conv5_*` layers.
    """
    x = last_stage(_cut(base, at), stride=stride, bn_momentum=bn_momentum)
    model = keras.Model(base.input, x, name=f"{base.name}_reinit")
    model.weights_source = f"{getattr(base, 'weights_source', 'unknown weights')} up to {at}, new last stage"
    return model


def dense_head(x, num_classes: int, *, dense=(1024, 1024, 1024), dropout: float = 0.25):
    """Seed report 003's head: global average pooling, dense ReLU layers, dropout, a softmax layer.

    Args:
        x: a feature map.
        num_classes: units of the softmax layer.
        dense: units of each dense layer, in order (`()` for none).
        dropout: rate of the dropout before the softmax layer.

    Returns:
        The output tensor; layers `pooling`, `dense1`, ..., `dropout`, `predictions`.
    """
    check_positive("num_classes", num_classes)
    x = keras.layers.GlobalAveragePooling2D(name="pooling")(x)
    for index, units in enumerate(dense, start=1):
        x = keras.layers.Dense(check_positive("dense", units), activation="relu", name=f"dense{index}")(x)
    x = keras.layers.Dropout(check_rate("dropout", dropout), name="dropout")(x)
    return keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def reinit_classifier(base, num_classes: int, *, reinit: bool = True, at: str = "conv4_block6_out",
                      dense=(1024, 1024, 1024), dropout: float = 0.25, stride: int = 2, bn_momentum: float = 0.9):
    """Seed report 003's question 7: the pretrained part frozen, a new last stage and a dense head trained.

    Args:
        base: a ResNet50 from `transfer.backbone("resnet50", ...)`.
        num_classes: units of the softmax layer.
        reinit: replace the stages after `at` by a new last stage; `False` keeps the whole base,
            frozen, with the same head (the comparison: is a new stage better than the old one?).
        at: where the frozen part ends when `reinit` (one of `STAGE_OUTPUTS`).
        dense: units of the dense layers.
        dropout: rate of the dropout before the softmax layer.
        stride: the new stage's stride.
        bn_momentum: momentum of the new BatchNorm layers.

    Returns:
        A `keras.Model`: `image`, `preprocessing` (ResNet50's own), the frozen part (a nested model
        named `<base>_to_<at>` or the base itself, called with `training=False`), `features` (its
        output, where `labkit.models.features` cuts), the new stage's layers, then `dense_head`'s.
    """
    from labkit.models.transfer import Preprocess

    check_choice("reinit", reinit, (True, False))
    cut = _cut(base, at) if reinit else base.output
    frozen = keras.Model(base.input, cut, name=f"{base.name}_to_{at}") if reinit else base
    frozen.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:], name="image")
    x = frozen(Preprocess(base.name, name="preprocessing")(inputs), training=False)
    x = keras.layers.Identity(name="features")(x)  # the frozen part's output, where features are cached
    if reinit:
        x = last_stage(x, stride=stride, bn_momentum=bn_momentum)
    outputs = dense_head(x, num_classes, dense=dense, dropout=dropout)
    name = f"{base.name}_{'reinit' if reinit else 'frozen'}_classifier"
    return keras.Model(inputs, outputs, name=name)


def cut_classifier(cut, num_classes: int, *, backbone: str = "resnet50", augmentation=None, dropout: float = 0.4):
    """Seed report 000's cut model: a backbone cut at an activation, frozen, augmentation in front, a softmax head.

    Args:
        cut: the backbone up to its cut (such as `surgery.cut_at_activation(base, 37)`); it is frozen.
        num_classes: units of the softmax layer.
        backbone: the architecture whose `preprocess_input` the images go through.
        augmentation: a Keras layer applied to the images in training (`labkit.data.augment.augmentation`);
            `None` for none.
        dropout: rate of the dropout before the softmax layer.

    Returns:
        A `keras.Model` named `<cut>_classifier`: `image`, the augmentation (if any), `preprocessing`,
        the cut backbone (called with `training=False`), `pooling`, `dropout`, `predictions`.
    """
    from labkit.models.transfer import Preprocess

    cut.trainable = False
    inputs = keras.Input(shape=cut.input_shape[1:], name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    x = cut(Preprocess(backbone, name="preprocessing")(x), training=False)
    outputs = dense_head(x, num_classes, dense=(), dropout=dropout)
    return keras.Model(inputs, outputs, name=f"{cut.name}_classifier")


def preact_block(x, filters: int, *, name: str, stride: int = 1, bn_momentum: float = 0.9):
    """A full pre-activation basic block (He et al., 2016, fig. 4e): BN → ReLU → 3×3 conv, twice, plus the shortcut.

    When the block changes the shape (stride 2 or more filters), the shortcut is a 1×1 convolution of
    the pre-activated input, as in the paper's code; otherwise it is the identity.

    Args:
        x: the input tensor.
        filters: output channels.
        name: the block's prefix, such as `"conv3_block1"`.
        stride: the stride of the first convolution (2 at the start of stages 3 to 5).
        bn_momentum: momentum of the BatchNorm layers.

    Returns:
        The block's output tensor (`<name>_out`, no activation after the addition).
    """
    preact = keras.layers.Activation("relu", name=f"{name}_preact_relu")(_bn(f"{name}_preact_bn", bn_momentum)(x))
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, f"{name}_0_conv", stride, bias=False)(preact)
    y = _conv(filters, 3, f"{name}_1_conv", stride, bias=False)(preact)
    y = keras.layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn", bn_momentum)(y))
    y = _conv(filters, 3, f"{name}_2_conv", bias=False)(y)
    return keras.layers.Add(name=f"{name}_out")([shortcut, y])


def preact_resnet(input_shape=(224, 224, 3), num_classes: int = 1000, *, depth: int = 34, width: int = 64,
                  include_top: bool = True, augmentation=None, bn_momentum: float = 0.9, name: str | None = None):
    """A pre-activation ResNet of basic blocks (18 or 34 layers), random init.

    The stem is He et al.'s (7×7 convolution, stride 2, then 3×3 max pooling, stride 2); four stages
    of `DEPTHS[depth]` blocks with `width`, 2×, 4×, 8× filters, stride 2 at the start of stages 3–5;
    a final BN → ReLU (pre-activation leaves the last block's sum un-normalised), global average pooling.

    Args:
        input_shape: `(height, width, channels)`, each side at least 32.
        num_classes: units of the softmax layer.
        depth: 18 or 34 (one of `DEPTHS`).
        width: filters of the stem and the first stage (64 in the paper).
        include_top: end with the softmax layer; `False` ends with the pooled features.
        augmentation: a Keras layer applied to the images first, in training only
            (`labkit.data.augment.augmentation`); `None` for none.
        bn_momentum: momentum of the BatchNorm layers.
        name: the model's name; `None`: `preact_resnet<depth>`.

    Returns:
        A `keras.Model`; layers `conv1_conv`, `pool1_pool`, `conv<stage>_block<k>_*`, `post_bn`,
        `post_relu`, `avg_pool`, `predictions`.
    """
    if depth not in DEPTHS:
        raise bad_choice("depth", depth, DEPTHS)
    check_positive("width", width)
    check_positive("num_classes", num_classes)
    if len(input_shape) != 3 or min(input_shape[:2]) < 32:
        raise ParameterError(f"input_shape={tuple(input_shape)!r} must be (height, width, channels), sides of at least 32")
    check_number("bn_momentum", bn_momentum, high=1.0, low_open=False, high_open=True)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = augmentation(inputs) if augmentation is not None else inputs
    x = _conv(width, 7, "conv1_conv", 2)(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)
    for stage, blocks in enumerate(DEPTHS[depth], start=2):
        for block in range(1, blocks + 1):
            stride = 2 if block == 1 and stage > 2 else 1
            x = preact_block(x, width * 2 ** (stage - 2), name=f"conv{stage}_block{block}", stride=stride,
                             bn_momentum=bn_momentum)
    x = keras.layers.Activation("relu", name="post_relu")(_bn("post_bn", bn_momentum)(x))
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, x, name=name or f"preact_resnet{depth}")
    model.weights_source = "random init (trained from scratch)"
    return model


def preact_resnet34(input_shape=(224, 224, 3), num_classes: int = 1000, **options):
    """The pre-activation ResNet34 of seed report 001 (`preact_resnet` with `depth=34`).

    Args:
        input_shape: `(height, width, channels)`.
        num_classes: units of the softmax layer.
        **options: other arguments of `preact_resnet` (`width`, `include_top`, `augmentation`, ...).

    Returns:
        The `keras.Model`, named `preact_resnet34`.
    """
    return preact_resnet(input_shape, num_classes, depth=34, **options)


def weights_compared(profile=None) -> tuple:
    """The kinds of weights a notebook sets side by side when its question is about pretrained features.

    Args:
        profile: the profile; `None` takes the one `labkit.setup` chose.

    Returns:
        The profile's own weights first, then the lab weights (if not the profile's), then random init
        (`None`): `("imagenet", "lab", None)` with the real data, `("lab", None)` without a network.
    """
    from labkit.session import active_profile

    own = active_profile(profile).weights
    return tuple(dict.fromkeys([own, "lab", None]))


def scratch_width(profile=None) -> int:
    """The first-stage width at which the notebooks train a ResNet from scratch under a profile.

    Args:
        profile: the profile; `None` takes the one `labkit.setup` chose.

    Returns:
        64 (the paper's) with the real data; 16 without, a sixteenth of the compute, so that a
        from-scratch ResNet34 fits the 2-CPU budget over several seeds.
    """
    from labkit.session import active_profile

    return 64 if active_profile(profile).real_data else 16
