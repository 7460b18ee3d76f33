"""Pretrained backbones from `keras.applications`, the seed's transfer classifier, freezing and unfreezing.

- `backbone(name, ...)`: any `keras.applications` model without its top, with weights
  `"imagenet"` (Keras downloads them), `"lab"` (pretrained by labkit on its source task,
  `labkit.models.pretrain`) or `None` (random init); the profile chooses the default.
- `classifier(...)`: input → augmentation → the backbone's own preprocessing → base called with
  `training=False` (BatchNorm stays in inference mode, even when the base is fine-tuned) → global
  average pooling → dropout 0.4 → dense softmax head, every layer named.
- `freeze(model, at=...)`: the base frozen below a layer, trainable from it, BatchNorm layers always
  frozen (in Keras 3, `fit` overrides the nested `training=False`; a frozen BatchNorm runs in
  inference mode); prints the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from labkit.errors import ParameterError, bad_choice, check_choice, check_number, check_positive
from labkit.models.inspect import parameter_counts


@dataclass(frozen=True)
class Application:
    """One `keras.applications` architecture: its constructor, its preprocessing module, its smallest input."""

    constructor: str
    module: str
    min_size: int
    native_size: int = 224


def _family(names: dict[str, str], module: str, min_size: int = 32, native_size: int = 224) -> dict[str, Application]:
    return {key: Application(value, module, min_size, native_size) for key, value in names.items()}


APPLICATIONS: dict[str, Application] = {
    **_family({"mobilenet": "MobileNet"}, "mobilenet"),
    **_family({"mobilenet_v2": "MobileNetV2"}, "mobilenet_v2"),
    **_family({"mobilenet_v3_small": "MobileNetV3Small", "mobilenet_v3_large": "MobileNetV3Large"}, "mobilenet_v3"),
    **_family({"inception_v3": "InceptionV3"}, "inception_v3", 75, 299),
    **_family({"inception_resnet_v2": "InceptionResNetV2"}, "inception_resnet_v2", 75, 299),
    **_family({"xception": "Xception"}, "xception", 71, 299),
    **_family({f"resnet{n}": f"ResNet{n}" for n in (50, 101, 152)}, "resnet"),
    **_family({f"resnet{n}_v2": f"ResNet{n}V2" for n in (50, 101, 152)}, "resnet_v2"),
    **_family({"vgg16": "VGG16"}, "vgg16"),
    **_family({"vgg19": "VGG19"}, "vgg19"),
    **_family({f"densenet{n}": f"DenseNet{n}" for n in (121, 169, 201)}, "densenet"),
    **_family({"nasnet_mobile": "NASNetMobile", "nasnet_large": "NASNetLarge"}, "nasnet"),
    **_family({f"efficientnet_b{n}": f"EfficientNetB{n}" for n in range(8)}, "efficientnet"),
    **_family({f"efficientnet_v2_{n}": f"EfficientNetV2{n.upper()}" for n in ("b0", "b1", "b2", "b3", "s", "m", "l")},
              "efficientnet_v2"),
    **_family({f"convnext_{n}": f"ConvNeXt{n.title()}" for n in ("tiny", "small", "base", "large", "xlarge")},
              "convnext"),
}
WEIGHTS = ("imagenet", "lab", None)
# Where phase 2 of the seed's recipe starts fine-tuning: the TensorFlow tutorial's layer 100 of
# MobileNetV2's 154, the last two inception blocks of InceptionV3 (layer 249), ResNet50's conv5 stage.
FINE_TUNE_AT = {"mobilenet_v2": 100, "inception_v3": 249, "resnet50": "conv5_block1_1_conv"}


def application(name: str) -> Application:
    """Looks up an architecture.

    Args:
        name: a key of `APPLICATIONS`, such as `"mobilenet_v2"`.

    Returns:
        Its `Application`.

    Raises:
        ParameterError: an unknown name; the message lists the accepted ones.
    """
    if name not in APPLICATIONS:
        raise bad_choice("backbone", name, APPLICATIONS)
    return APPLICATIONS[name]


def min_input_size(name: str) -> int:
    """The smallest side in pixels that `name` accepts without its top.

    Args:
        name: a key of `APPLICATIONS`.

    Returns:
        The side: 75 for InceptionV3, 71 for Xception, 32 for most others.
    """
    return application(name).min_size


def input_size(name: str, profile=None) -> int:
    """The side of the images a backbone is trained on under a profile.

    Args:
        name: a key of `APPLICATIONS`.
        profile: the profile; `None` takes the one `labkit.setup` chose.

    Returns:
        The backbone's native side with the real data (224, 299 for InceptionV3), or the profile's
        `backbone_size`; otherwise the side of the lab source task; at least `min_input_size(name)`.
    """
    from labkit.session import active_profile

    app, profile = application(name), active_profile(profile)
    if profile.real_data:
        return max(profile.backbone_size, app.min_size) if profile.backbone_size else app.native_size
    return max(profile.source_size_for(name)[2], app.min_size)


def target(name: str, *, profile=None, image_size: int | None = None):
    """Loads the target set of the transfer notebooks at the backbone's size.

    Args:
        name: the backbone (sets the image size).
        profile: the profile; `None` takes the one `labkit.setup` chose.
        image_size: the side in pixels; `None` takes `input_size(name)`.

    Returns:
        The flowers photos with the real data; otherwise `tiles`, the data-scarce embedded target
        (48 images per class to train).
    """
    from labkit import data
    from labkit.session import active_profile

    profile = active_profile(profile)
    size = image_size or input_size(name, profile)
    return data.load("flowers" if profile.real_data else "tiles", profile=profile, image_size=size)


def resolve_weights(weights="profile", profile=None):
    """Resolves a `weights` argument.

    Args:
        weights: `"imagenet"`, `"lab"`, `None` (random init) or `"profile"` (the profile's default).
        profile: the profile; `None` takes the one `labkit.setup` chose.

    Returns:
        `"imagenet"`, `"lab"` or `None`.
    """
    if isinstance(weights, str) and weights == "profile":
        from labkit.session import active_profile

        return active_profile(profile).weights
    return check_choice("weights", weights, WEIGHTS)


@keras.saving.register_keras_serializable(package="labkit")
class Preprocess(keras.layers.Layer):
    """The backbone's own `preprocess_input`, on images in [0, 1] (scaled to [0, 255] first)."""

    def __init__(self, backbone: str, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        module = getattr(keras.applications, application(backbone).module)
        self._preprocess = module.preprocess_input

    def call(self, inputs):
        """Preprocesses a batch.

        Args:
            inputs: images in [0, 1].

        Returns:
            What the backbone's `preprocess_input` makes of them once scaled to [0, 255].
        """
        return self._preprocess(keras.ops.multiply(inputs, 255.0))

    def get_config(self):
        """Describes the layer for saving.

        Returns:
            Keras' config, with the backbone's name.
        """
        return {**super().get_config(), "backbone": self.backbone}


def backbone(name: str, *, input_shape=(224, 224, 3), weights="profile", bn_momentum: float | None = None,
             profile=None, **options):
    """Builds a `keras.applications` model without its classifier top.

    Args:
        name: a key of `APPLICATIONS` (`"mobilenet_v2"`, `"inception_v3"`, `"resnet50"`, ...).
        input_shape: `(height, width, 3)`; each side at least `min_input_size(name)`.
        weights: `"imagenet"`, `"lab"`, `None` or `"profile"` (full: ImageNet; offline, smoke: lab).
        bn_momentum: set every BatchNorm layer's momentum (Keras ships 0.999 in MobileNetV2, which
            keeps the moving statistics far behind a network trained from scratch); `None` keeps it.
        profile: the profile for `weights="profile"` and for pretraining `"lab"` weights.
        **options: other arguments of the constructor, such as `alpha` for MobileNetV2.

    Returns:
        The base model, named `name`, with `base.weights_source` saying where its weights come from.
    """
    app = application(name)
    weights = resolve_weights(weights, profile)
    if min(input_shape[:2]) < app.min_size:
        raise ParameterError(f"input_shape={tuple(input_shape)!r}: {name} needs sides of at least {app.min_size} pixels")
    constructor = getattr(keras.applications, app.constructor)
    base = constructor(include_top=False, weights="imagenet" if weights == "imagenet" else None,
                       input_shape=tuple(input_shape), **options)
    base.name = name
    if bn_momentum is not None:
        check_number("bn_momentum", bn_momentum, high=1.0, low_open=False)
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = bn_momentum
    base.weights_source = "random init" if weights is None else "ImageNet (downloaded by Keras)"
    if weights == "lab":
        from labkit.models import pretrain

        record = pretrain.lab_weights(name, profile=profile, **options)
        base.load_weights(record.path)
        base.weights_source = record.describe()
    return base


def augmentation(*, flip: bool = True, rotation: float = 0.1, seed: int | None = None):
    """The seed's augmentation: random horizontal flips and small rotations (active in training only).

    Args:
        flip: mirror left-right at random.
        rotation: largest rotation, as a fraction of a full turn; 0 turns it off.
        seed: seed of the random layers.

    Returns:
        A `keras.Sequential` named `augmentation`.
    """
    layers = [keras.layers.RandomFlip("horizontal", seed=seed)] if flip else []
    if rotation:
        layers.append(keras.layers.RandomRotation(check_number("rotation", rotation, high=0.5), seed=seed))
    return keras.Sequential(layers, name="augmentation")


def classifier(base, num_classes: int, *, augment: bool = True, dropout: float = 0.4, seed: int | None = None):
    """Puts the seed's head on a base: input → augmentation → preprocessing → base → pooling → dropout → dense.

    Args:
        base: a model from `backbone` (its name picks the preprocessing).
        num_classes: units of the softmax layer.
        augment: include the augmentation layers (`augmentation`).
        dropout: rate of the dropout before the head.
        seed: seed of the augmentation and the dropout.

    Returns:
        A `keras.Model` named `<base>_classifier`, with layers `augmentation`, `preprocessing`,
        the base, `pooling`, `dropout`, `predictions`. The base is called with `training=False`.
    """
    check_positive("num_classes", num_classes)
    inputs = keras.Input(shape=base.input_shape[1:], name="image")
    x = augmentation(seed=seed)(inputs) if augment else inputs
    x = Preprocess(base.name, name="preprocessing")(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pooling")(x)
    x = keras.layers.Dropout(check_number("dropout", dropout, high=0.99, low_open=False), seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")


def freeze(model, *, at=None, base: str | None = None, verbose: bool = True) -> dict[str, int]:
    """Freezes the base of a classifier below one layer and lets it train from there on.

    Args:
        model: a model from `classifier`.
        at: the first trainable layer of the base, by name or index; `None` freezes the whole base;
            0 unfreezes it all. BatchNorm layers stay frozen, hence in inference mode, either way:
            fine-tuning on a few images must not overwrite the statistics learned on the source.
        base: the name of the base inside `model`; `None` takes the one nested model.
        verbose: print the trainable and non-trainable parameter counts.

    Returns:
        `{"total": ..., "trainable": ..., "non_trainable": ...}` parameter counts of the whole model.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name != "augmentation"]
    inner = model.get_layer(base) if base is not None else nested[0]
    names = [layer.name for layer in inner.layers]
    if at is None:
        start = len(names)
    elif isinstance(at, str):
        if at not in names:
            raise bad_choice("at", at, names[:3] + ["...", names[-1]])
        start = names.index(at)
    else:
        start = int(at) if int(at) >= 0 else len(names) + int(at)
        if not 0 <= start <= len(names):
            raise ParameterError(f"at={at!r}: {inner.name} has {len(names)} layers")
    inner.trainable = True
    for index, layer in enumerate(inner.layers):
        # Keras 3 overrides the `training=False` of a nested call when `fit` runs the outer model
        # (keras-team/keras#20285); a frozen BatchNormalization layer always runs in inference mode.
        layer.trainable = index >= start and not isinstance(layer, keras.layers.BatchNormalization)
    counts = parameter_counts(model)
    if verbose:
        where = "frozen" if start == len(names) else f"trainable from layer {start} ({names[start]!r})"
        print(f"{inner.name}: {where}; parameters trainable {counts['trainable']:,}, "
              f"non-trainable {counts['non_trainable']:,}")
    return counts
