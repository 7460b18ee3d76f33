"""The ResNets built by labkit (`labkit.models.resnets`), the named augmentations (`labkit.data.augment`)
and runs repeated over seeds (`labkit.models.repeats`): shapes, names, parameter counts and errors.

Random-init bases at 32 px keep these fast.
"""

import keras
import numpy as np
import pytest

from labkit.data import augment
from labkit.data.dataset import Dataset
from labkit.errors import ParameterError
from labkit.models import features, repeats, resnets, transfer
from labkit.models.inspect import parameter_counts

# ResNet50 without its top (`keras.applications`), and its conv5 stage: 3 bottlenecks of
# 1×1 512, 3×3 512, 1×1 2048 (biases and BatchNorm included) plus the 1×1 projection.
RESNET50_NOTOP = 23_587_712
# torchvision's resnet34 has 21,797,672 parameters: less its fc layer (513,000) and its BatchNorm
# scales and offsets (17,024), its convolutions hold 21,267,648 weights; the pre-activation
# network has the same convolutions (He et al. 2016, Table 1, 34-layer column).
RESNET34_CONV_WEIGHTS = 21_267_648


@pytest.fixture(scope="module")
def resnet50():
    keras.utils.set_random_seed(0)
    return transfer.backbone("resnet50", input_shape=(32, 32, 3), weights=None)


def test_reinit_base_has_resnet50s_layers_and_counts_but_new_last_stage(resnet50):
    keras.utils.set_random_seed(1)
    model = resnets.reinit_base(resnet50)
    assert sorted(layer.name for layer in model.layers) == sorted(layer.name for layer in resnet50.layers)
    assert parameter_counts(model) == parameter_counts(resnet50)
    assert parameter_counts(model)["total"] == RESNET50_NOTOP
    assert model.output_shape == resnet50.output_shape == (None, 1, 1, 2048)
    old, new = resnet50.get_layer("conv5_block1_1_conv"), model.get_layer("conv5_block1_1_conv")
    assert old is not new and not np.allclose(old.kernel.numpy(), new.kernel.numpy())
    assert model.get_layer("conv4_block6_out") is resnet50.get_layer("conv4_block6_out")  # shared, not copied
    assert new.kernel.shape == (1, 1, 1024, 512) and model.get_layer("conv5_block1_0_conv").kernel.shape == (1, 1, 1024, 2048)
    assert model.get_layer("conv5_block3_2_conv").kernel.shape == (3, 3, 512, 512)
    assert "conv5_block2_0_conv" not in {layer.name for layer in model.layers}  # projection on the first block only
    assert resnets.reinit_base(resnet50, stride=1).output_shape == (None, 2, 2, 2048)


def test_reinit_classifier_is_seed_003s_question_7(resnet50):
    model = resnets.reinit_classifier(resnet50, 8)
    names = [layer.name for layer in model.layers]
    assert names[:4] == ["image", "preprocessing", "resnet50_to_conv4_block6_out", "features"]
    assert names[-6:] == ["pooling", "dense1", "dense2", "dense3", "dropout", "predictions"]
    assert [model.get_layer(f"dense{k}").units for k in (1, 2, 3)] == [1024] * 3
    assert model.get_layer("dropout").rate == 0.25 and model.output_shape == (None, 8)
    counts = parameter_counts(model)
    frozen = parameter_counts(model.get_layer("resnet50_to_conv4_block6_out"))["total"]
    head = 2048 * 1024 + 2 * 1024 * 1025 + 1024 + 8 * 1025
    assert counts["total"] == RESNET50_NOTOP + head
    stage_bn_statistics = 2 * (2 * 512 + 2048) * 3 + 2 * 2048  # moving means and variances of the new stage
    assert counts["non_trainable"] == frozen + stage_bn_statistics
    assert features.split(model).cut == "resnet50_reinit_classifier/features"
    kept = resnets.reinit_classifier(resnet50, 8, reinit=False)
    assert parameter_counts(kept)["trainable"] == head and kept.name == "resnet50_frozen_classifier"


def test_preact_resnet34_follows_the_paper():
    keras.utils.set_random_seed(0)
    model = resnets.preact_resnet34((32, 32, 3), 1000)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert sum(int(np.prod(layer.kernel.shape)) for layer in convs) == RESNET34_CONV_WEIGHTS
    # 33 convolutions on the main path and the fc layer make its 34 layers; 3 projections besides.
    assert len([c for c in convs if not c.name.endswith("_0_conv")]) == 33
    assert [c.name for c in convs if c.name.endswith("_0_conv")] == [f"conv{s}_block1_0_conv" for s in (3, 4, 5)]
    blocks = {layer.name.split("_")[0] + "_" + layer.name.split("_")[1] for layer in model.layers
              if layer.name.endswith("_out")}
    assert len(blocks) == 3 + 4 + 6 + 3
    assert model.get_layer("conv3_block1_0_conv").input is model.get_layer("conv3_block1_preact_relu").output
    assert model.get_layer("conv2_block2_out").input[0] is model.get_layer("conv2_block1_out").output  # identity
    assert model.get_layer("post_bn").input is model.get_layer("conv5_block3_out").output
    assert model.output_shape == (None, 1000) and model.get_layer("conv5_block3_out").output.shape[1:] == (1, 1, 512)
    small = resnets.preact_resnet((32, 32, 3), 8, depth=18, width=16, include_top=False)
    assert small.output_shape == (None, 128) and len(small.layers) < len(model.layers)


def test_cut_classifier_puts_the_augmentation_first(resnet50):
    cut = keras.Model(resnet50.input, resnet50.get_layer("conv4_block5_out").output, name="cut")
    model = resnets.cut_classifier(cut, 8, augmentation=augment.augmentation("zoom", seed=0))
    assert [layer.name for layer in model.layers] == ["image", "augment_zoom", "preprocessing", "cut", "pooling",
                                                      "dropout", "predictions"]
    assert parameter_counts(model)["trainable"] == 8 * 1025 and not cut.trainable
    plain = resnets.cut_classifier(cut, 8)
    assert features.split(plain).cut == "cut_classifier/pooling"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda base: resnets.reinit_base(base, at="conv4_block5_out"), "at='conv4_block5_out' is not one of the allowed values: 'conv2_block3_out'"),
        (lambda base: resnets.reinit_base(base, stride=3), "stride=3 is not one of the allowed values: 1, 2"),
        (lambda base: resnets.reinit_classifier(base, 8, dense=(1024, 0)), "dense=0 must be a whole number greater than 0"),
        (lambda base: resnets.reinit_classifier(base, 8, dropout=1.0), "dropout=1.0 must be a dropout rate in [0, 1)"),
        (lambda base: resnets.reinit_base(resnets.preact_resnet34((32, 32, 3), 8)), "must be a ResNet50"),
        (lambda base: resnets.preact_resnet((32, 32, 3), 8, depth=50), "depth=50 is not one of the allowed values: 18, 34"),
        (lambda base: resnets.preact_resnet((16, 16, 3), 8), "sides of at least 32"),
        (lambda base: augment.augmentation("blur"), "name='blur' is not one of the allowed values: 'none', 'rotation'"),
        (lambda base: augment.augmentation("zoom", fill_mode="mirror"), "fill_mode='mirror' is not one of the allowed"),
        (lambda base: augment.apply(np.zeros((4, 4, 3)), "zoom"), "must be a batch N×H×W×C"),
    ],
)
def test_bad_input_is_one_line_naming_the_allowed_values(resnet50, call, message):
    with pytest.raises(ParameterError) as caught:
        call(resnet50)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_named_augmentations():
    assert augment.AUGMENTATIONS[0] == "none" and augment.AUGMENTATIONS[-1] == "all"
    assert set(augment.DESCRIPTIONS) == set(augment.AUGMENTATIONS)
    assert augment.augmentation("none") is None
    every = augment.augmentation("all", seed=0)
    assert [layer.name for layer in every.layers] == list(augment.AUGMENTATIONS[1:-1])
    assert every.get_layer("rotation").factor == (-20 / 360, 20 / 360)
    shift = every.get_layer("width_shift")
    assert (shift.width_lower, shift.width_upper) == (-0.2, 0.2) and (shift.height_lower, shift.height_upper) == (0.0, 0.0)
    assert every.get_layer("zoom").height_factor == 0.2 and augment.augmentation(augment.SEED_001).layers[-1].name == "horizontal_flip"
    assert every.get_layer("shear").x_factor == (-0.2, 0.2) and every.get_layer("vertical_flip").mode == "vertical"


def test_augmentations_change_images_in_training_only():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(4, 32, 32, 3)).astype("float32")
    assert np.array_equal(augment.apply(images, "none"), images)
    flipped = augment.apply(images, "horizontal_flip", copies=8, seed=1)
    assert flipped.shape == (32, 32, 32, 3)
    mirrored = np.isclose(flipped, np.tile(images[:, :, ::-1], (8, 1, 1, 1))).all(axis=(1, 2, 3))
    assert mirrored.any() and not mirrored.all()  # about half are mirrored
    zoom = augment.augmentation("zoom", seed=0)
    assert np.allclose(keras.ops.convert_to_numpy(zoom(images, training=False)), images)
    assert augment.preview(images[:3], ("none", "zoom")).axes[0].get_ylabel() == "none"


def _toy_dataset():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(48, 32, 32, 3)).astype("float32")
    y = np.arange(48) % 4
    splits = {"train": (x[:32], y[:32]), "val": (x[32:40], y[32:40]), "test": (x[40:], y[40:])}
    return Dataset("toy", "toy", "random images", "numpy", "none", [f"c{k}" for k in range(4)], splits, "smoke")


def test_repeat_reuses_a_frozen_prefix_and_trains_the_rest(resnet50):
    dataset = _toy_dataset()
    runs = repeats.repeat({"reinit": lambda seed: resnets.reinit_classifier(resnet50, 4, dense=(8,)),
                           "scratch": lambda seed: resnets.preact_resnet((32, 32, 3), 4, depth=18, width=4)},
                          dataset, seeds=(0, 1), epochs=1, eagerly=True)
    assert list(runs["configuration"]) == ["reinit", "reinit", "scratch", "scratch"]
    assert list(runs["trained_on"]) == ["resnet50_reinit_classifier/features"] * 2 + ["images"] * 2
    assert runs[["train_accuracy", "val_accuracy", "test_accuracy"]].apply(lambda c: c.between(0, 1)).all().all()
    with pytest.raises(ParameterError, match="seeds=\\[\\] must hold at least one seed"):
        repeats.repeat({"x": None}, dataset, seeds=())


@pytest.mark.parametrize("configuration", ["reinit on cached features", "scratch, augmented, end to end"])
def test_a_seed_trained_on_an_earlier_seeds_compiled_model_gets_the_numbers_of_its_own(resnet50, configuration):
    from labkit.models import finetune

    dataset = _toy_dataset()
    if configuration.startswith("reinit"):
        def build(seed):
            return resnets.reinit_classifier(resnet50, 4, dense=(8,), dropout=0.5)
    else:
        def build(seed):
            return resnets.preact_resnet((32, 32, 3), 4, depth=18, width=4,
                                         augmentation=augment.augmentation(augment.SEED_001, seed=seed))

    def phase(seed, reuse=None):
        keras.utils.set_random_seed(seed)
        return finetune.run_phase(build(seed), dataset, name="x", epochs=2, learning_rate=1e-3, batch_size=8,
                                  eagerly=False, reuse=reuse)

    first = phase(0)
    alone = phase(1)
    traced = []
    trained = first.parts.head if first.parts is not None else first.model
    step = trained.train_step
    trained.train_step = lambda data: (traced.append(1), step(data))[1]
    again = phase(1, reuse=first)
    assert again.model is first.model and traced == []  # the earlier compiled step, not traced again
    if configuration.startswith("reinit"):
        assert again.history == alone.history
    else:
        # On an AVX2-only CPU (AMD EPYC), with another process on the second core, the same seed's augmented
        # end-to-end fit differs from run to run by about 1e-3 of its loss (1.71927, 1.71785, 1.71782 in epoch 2,
        # alone, in three runs), reused or not: compared up to that noise, far below what another start would give.
        assert again.history.keys() == alone.history.keys()
        assert all(again.history[k] == pytest.approx(alone.history[k], rel=1e-2) for k in alone.history)
        assert first.history["loss"] != pytest.approx(alone.history["loss"], rel=1e-2)  # another seed is told apart
    assert (again.val_accuracy, again.test_accuracy) == (alone.val_accuracy, alone.test_accuracy)
    assert again.cut == alone.cut and again.counts == alone.counts


@pytest.mark.parametrize("fast", [True, False], ids=["cached features", "end to end"])
def test_a_phase_takes_its_validation_accuracy_from_the_fit_and_it_is_what_evaluate_gives(resnet50, fast, monkeypatch):
    from labkit import train
    from labkit.models import finetune

    dataset = _toy_dataset()
    scored = []
    evaluate = train.evaluate
    monkeypatch.setattr(train, "evaluate", lambda model, data, **kw: (scored.append(kw.get("split")), evaluate(model, data, **kw))[1])
    phase = finetune.run_phase(resnets.reinit_classifier(resnet50, 4, dense=(8,)), dataset, name="x", epochs=2,
                               learning_rate=1e-2, batch_size=8, eagerly=True, fast=fast)
    # The fit validated its last epoch: no second pass over the validation split. A head on cached features is
    # scored by calling it on them, with no input pipeline: the same test accuracy as the full model's evaluate.
    assert scored == ([] if fast else ["test"])
    assert (phase.cut is not None) == fast
    assert phase.val_accuracy == phase.history["val_accuracy"][-1]
    assert phase.val_accuracy == evaluate(phase.model, dataset, split="val")["accuracy"]
    assert phase.test_accuracy == evaluate(phase.model, dataset, split="test")["accuracy"]


def test_a_model_of_another_layout_is_not_reused(resnet50):
    from labkit.models import finetune

    dataset = _toy_dataset()
    first = finetune.run_phase(resnets.reinit_classifier(resnet50, 4, dense=(8,)), dataset, name="x", epochs=1,
                               learning_rate=1e-3, eagerly=True)
    other = resnets.reinit_classifier(resnet50, 4, dense=(16,))
    assert finetune.run_phase(other, dataset, name="x", epochs=1, learning_rate=1e-3, eagerly=True,
                              reuse=first).model is other
    slower = resnets.reinit_classifier(resnet50, 4, dense=(8,))
    assert finetune.run_phase(slower, dataset, name="x", epochs=1, learning_rate=1e-4, eagerly=True,
                              reuse=first).model is slower  # another learning rate: compiled afresh


def test_augmented_runs_train_one_compiled_head_and_keep_their_own_numbers(resnet50):
    from labkit.models import surgery

    dataset = _toy_dataset()
    cut = surgery.cut_at_activation(resnet50, 37)

    def build(seed):
        return resnets.cut_classifier(cut, 4)

    def runs(augmentations, seeds):
        table = repeats.augmented(build, dataset, augmentations=augmentations, seeds=seeds, epochs=2, batch_size=8)
        return table.set_index(["configuration", "seed"])[["train_accuracy", "val_accuracy", "test_accuracy"]]

    together = runs(["none", "horizontal_flip"], (0, 1))
    alone = runs(["horizontal_flip"], (1,))
    assert together.loc[[("horizontal_flip", 1)]].equals(alone)  # the fourth run of a shared head, or the first of its own


@pytest.mark.parametrize("reused", [True, False], ids=["features of an earlier phase", "computed"])
def test_by_weights_trains_frozen_bases_on_cached_features_and_random_init_end_to_end(reused, monkeypatch):
    from labkit.models import finetune

    dataset = _toy_dataset()
    keras.utils.set_random_seed(0)
    base = transfer.backbone("mobilenet_v2", input_shape=(32, 32, 3), weights=None)
    reuse = None
    if reused:
        model = transfer.classifier(base, 4, augment=False, seed=0)
        transfer.freeze(model, verbose=False)
        reuse = {None: (base, finetune.run_phase(model, dataset, name="head", epochs=1, learning_rate=1e-3, eagerly=True))}
    computed = []
    cache = features.cached_dataset
    monkeypatch.setattr(features, "cached_dataset", lambda *a, **k: (computed.append(1), cache(*a, **k))[1])
    runs = repeats.by_weights("mobilenet_v2", dataset, weights=(None,), seeds=(0, 1), epochs=1, end_to_end_epochs=2,
                              eagerly=True, reuse=reuse)
    assert list(runs["configuration"]) == ["random init"] * 2 + ["random init, end to end"] * 2
    assert len(computed) == (0 if reused else 1)  # a frozen base's features: once, or never when given
    assert (runs["trained_on"].iloc[:2] != "images").all() and (runs["trained_on"].iloc[2:] == "images").all()
    assert runs[["val_accuracy", "test_accuracy"]].stack().between(0, 1).all()


@pytest.mark.parametrize("arguments, message", [
    (dict(weights=()), r"^weights=\(\) must name at least one kind of weights: 'imagenet', 'lab' or None$"),
    (dict(weights=(None,), seeds=()), r"^seeds=\[\] must hold at least one seed$"),
    (dict(weights=(None,), end_to_end_epochs=0), r"^end_to_end_epochs=0"),
])
def test_by_weights_refuses_bad_arguments_before_it_builds_or_trains(arguments, message, monkeypatch):
    built = []
    monkeypatch.setattr(transfer, "backbone", lambda *a, **k: built.append(1))
    with pytest.raises(ParameterError, match=message):
        repeats.by_weights("mobilenet_v2", _toy_dataset(), epochs=1, **arguments)
    assert built == []  # nothing built, nothing trained
