"""Model surgery on ResNet50: the seeds' activation counts, blocks, freezing, cutting, a new head.

A random-init ResNet50 at 32 px keeps these fast; every count is recomputed from the layers
themselves, not typed in, except the architecture's facts (49 activations, 16 blocks, stage widths).
"""

import keras
import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.models import features, surgery, taps, transfer

# The seeds' cut points (seed 000) and the layers they are in today's Keras.
SEED_CUTS = {7: "conv2_block2_out", 22: "conv3_block4_out", 37: "conv4_block5_out", 40: "conv4_block6_out",
             43: "conv5_block1_out", 46: "conv5_block2_out", 49: "conv5_block3_out"}


@pytest.fixture(scope="module")
def base():
    keras.utils.set_random_seed(0)
    return transfer.backbone("resnet50", input_shape=(32, 32, 3), weights=None)


def weights_of(layers, *, batchnorm=True):
    return sum(int(np.prod(w.shape)) for layer in layers for w in layer.weights
               if w.trainable and (batchnorm or not isinstance(layer, keras.layers.BatchNormalization)))


def test_resnet50_has_49_activations_and_the_seeds_names_map_to_block_outputs(base):
    names = surgery.activation_layers(base)
    assert len(names) == 49 and names[0] == "conv1_relu"
    assert all(isinstance(base.get_layer(n), keras.layers.Activation) for n in names)
    for k, name in SEED_CUTS.items():
        assert surgery.activation_name(base, k) == name
    table = surgery.activation_table(base)
    assert list(table.index) == list(range(1, 50)) and table.loc[37, "seed name"] == "activation_37"
    assert table.loc[37, "layer"] == "conv4_block5_out" and table.loc[37, "block"] == "conv4_block5"
    assert table.loc[1, "output shape"] == (16, 16, 64) and table.loc[49, "output shape"] == (1, 1, 2048)


def test_blocks_are_the_sixteen_residual_blocks(base):
    names = surgery.blocks(base)
    assert len(names) == 16 and names[0] == "conv2_block1" and names[-1] == "conv5_block3"
    assert [n.split("_")[0] for n in names].count("conv4") == 6
    assert surgery.block_of("conv5_block3_2_conv") == "conv5_block3" and surgery.block_of("pool1_pool") is None
    assert surgery.block_of("block_16_project") == "block_16"


@pytest.mark.parametrize("k, shape", [(7, (8, 8, 256)), (22, (4, 4, 512)), (37, (2, 2, 1024)), (49, (1, 1, 2048))])
def test_a_cut_ends_at_the_kth_activation_and_keeps_what_comes_before(base, k, shape):
    cut = surgery.cut_at_activation(base, k)
    assert cut.output_shape[1:] == shape and cut.layers[-1].name == SEED_CUTS[k]
    assert cut.name == f"resnet50_activation_{k}" and cut.architecture == "resnet50"
    kept = {layer.name for layer in cut.layers}
    assert cut.count_params() == sum(layer.count_params() for layer in base.layers if layer.name in kept)
    assert cut.count_params() < base.count_params() or k == 49
    shared = ("conv1_conv", "conv2_block1_1_conv")
    assert all(cut.get_layer(n).weights[0] is base.get_layer(n).weights[0] for n in shared)


@pytest.mark.parametrize("k", [0, 50, -1, 2.0, "37", True])
def test_a_cut_outside_1_to_49_is_a_one_line_error_naming_the_range(base, k):
    with pytest.raises(ParameterError, match=r"from 1 to 49") as raised:
        surgery.cut_at_activation(base, k)
    assert "\n" not in str(raised.value) and repr(k) in str(raised.value)


def test_an_unknown_block_is_a_one_line_error_listing_the_blocks(base):
    with pytest.raises(ParameterError, match="conv6_block1") as raised:
        surgery.freeze(base, except_blocks=["conv6_block1"])
    message = str(raised.value)
    assert "\n" not in message and "'conv2_block1'" in message and "'conv5_block3'" in message
    with pytest.raises(ParameterError, match="last=200"):
        surgery.freeze(base, last=200)


def test_freezing_all_but_the_last_block_counts_its_convolutions(base):
    model = surgery.attach_head(base, 8, seed=0)
    head = 2048 * 8 + 8
    block = [layer for layer in base.layers if layer.name.startswith("conv5_block3_")]
    surgery.freeze(model)
    assert surgery.trainable_counts(model) == {**transfer.parameter_counts(model), "trainable": head,
                                               "non_trainable": model.count_params() - head, "trainable_layers": 1}
    surgery.freeze(model, except_blocks=["conv5_block3"])
    counts = surgery.trainable_counts(model)
    assert counts["trainable"] == head + weights_of(block, batchnorm=False) and counts["trainable_layers"] == 4
    assert all(not layer.trainable for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization))
    surgery.freeze(model, except_blocks="conv5_block3", batchnorm=True)
    assert surgery.trainable_counts(model)["trainable"] == head + weights_of(block) > counts["trainable"]
    surgery.freeze(model, except_blocks=["conv5_block3", "conv5_block2"])
    two = [layer for layer in base.layers if layer.name.startswith(("conv5_block2_", "conv5_block3_"))]
    assert surgery.trainable_counts(model)["trainable"] == head + weights_of(two, batchnorm=False)


def test_the_last_k_layers_count_as_the_seeds_did(base):
    model = surgery.attach_head(base, 8, seed=0)
    flat = surgery.flat_layers(model)
    assert [layer.name for layer in flat[-3:]] == ["conv5_block3_out", "pooling", "predictions"]
    head = 2048 * 8 + 8
    trainable = {}
    for last in range(3, 16):
        surgery.freeze(model, last=last, head=False)
        trainable[last] = surgery.trainable_counts(model)["trainable"]
        assert trainable[last] == head + weights_of(flat[-last:-2], batchnorm=False)
    # -3 … -5 are an activation, an addition and a (frozen) BatchNorm: nothing more trains.
    assert trainable[3] == trainable[4] == trainable[5] == head < trainable[6]
    table = surgery.tail_table(model, 6)
    assert table.loc[6, "layer"] == "conv5_block3_3_conv" and table.loc[6, "trainable now"] == 512 * 2048 + 2048
    assert table.loc[5, "type"] == "BatchNormalization" and table.loc[5, "trainable now"] == 0


def test_unfreeze_adds_a_block_and_keeps_the_rest(base):
    model = surgery.attach_head(base, 8, seed=0)
    surgery.freeze(model, except_blocks=["conv5_block3"])
    before = surgery.trainable_counts(model)["trainable"]
    surgery.unfreeze(model, blocks=["conv5_block2"])
    surgery.freeze(model, except_blocks=["conv5_block3", "conv5_block2"])
    assert surgery.trainable_counts(model)["trainable"] > before


def test_the_seeds_dense_head_and_the_cache_of_the_frozen_prefix(base):
    cut = surgery.cut_at_activation(base, 37)
    model = surgery.attach_head(cut, 8, dense=(16, 16, 16), dropout=0.25, seed=0)
    names = [layer.name for layer in model.layers]
    assert names == ["image", "preprocessing", cut.name, "pooling", "dense1", "dense2", "dense3", "dropout",
                     "predictions"]
    assert model.output_shape == (None, 8) and model.get_layer("dense1").kernel.shape == (1024, 16)
    surgery.freeze(model, except_blocks=["conv4_block5"])
    parts = features.split(model)
    assert parts.cut == f"{cut.name}/conv4_block4_out"
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    features.check_attached(model, parts, x, atol=1e-4)
    with pytest.raises(ParameterError, match="dropout"):
        surgery.attach_head(base, 8, dropout=1.5)


def tiny_dataset(rng, classes=2, per_split=(16, 8, 8)):
    from labkit.data.dataset import Dataset

    splits = {name: (rng.random((n, 32, 32, 3), dtype=np.float32), np.arange(n) % classes)
              for name, n in zip(("train", "val", "test"), per_split)}
    return Dataset("tiny", "tiny", "random images", "numpy", "none", [str(c) for c in range(classes)], splits, "smoke")


def test_taps_train_variants_on_features_computed_once(base):
    ds = tiny_dataset(np.random.default_rng(0))
    model = surgery.attach_head(base, ds.num_classes, seed=0)
    cache = taps.tap(model, ds, ["conv5_block2_out", "conv5_block3_out"])
    assert cache["conv5_block2_out"].x_train.shape == (16, 1, 1, 2048) and cache["conv5_block3_out"].x_val.shape[0] == 8
    expected = features.forward(keras.Model(base.input, base.get_layer("conv5_block2_out").output),
                                keras.applications.resnet.preprocess_input(ds.x_test * 255.0))
    assert np.allclose(cache["conv5_block2_out"].x_test, expected, atol=1e-4)
    before = [w.copy() for w in base.get_weights()]

    def last_block(seed):
        return surgery.freeze(surgery.attach_head(base, ds.num_classes, seed=seed), except_blocks=["conv5_block3"])

    def head(seed):
        return surgery.freeze(surgery.attach_head(base, ds.num_classes, seed=seed))

    variants = {"head": taps.Variant(head, learning_rate=0.01, train_images=8), "last block": taps.Variant(last_block)}
    runs = taps.repeat(variants, ds, cache, seeds=(0, 1), restore=[base], epochs=1, eagerly=True)
    assert list(runs["configuration"]) == ["head", "head", "last block", "last block"]
    assert list(runs["cut"]) == ["resnet50_head/pooling"] * 2 + ["resnet50/conv5_block2_out"] * 2
    assert list(runs["train_images"]) == [8, 8, 16, 16] and list(runs["learning_rate"]) == [0.01, 0.01, 1e-3, 1e-3]
    assert runs["trainable"].iloc[2] > runs["trainable"].iloc[0] == 2049 * 2
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights())), "the backbone must be restored"
    with pytest.raises(ParameterError, match="nested backbone"):
        taps.nested_base(base)
    for options, words in (({"variants": {}}, r"variants=\{\} must name at least one configuration"),
                           ({"seeds": ()}, r"seeds=\[\] must hold at least one seed"),
                           ({"seeds": (-1,)}, "seeds=-1"), ({"epochs": 0}, "epochs=0")):
        arguments = {"variants": variants, "seeds": (0,), "epochs": 1, **options}
        with pytest.raises(ParameterError, match=words):  # refused before any training
            taps.repeat(arguments.pop("variants"), ds, cache, restore=[base], eagerly=True, **arguments)


def test_taps_seeds_of_a_variant_share_one_compiled_model_and_keep_their_own_numbers(base):
    ds = tiny_dataset(np.random.default_rng(1))
    model = surgery.attach_head(base, ds.num_classes, seed=0)
    cache = taps.tap(model, ds, ["conv5_block2_out"])

    def last_block(seed):
        return surgery.freeze(surgery.attach_head(base, ds.num_classes, seed=seed), except_blocks=["conv5_block3"])

    def scores(seeds):
        runs = taps.repeat({"last block": taps.Variant(last_block)}, ds, cache, seeds=seeds, restore=[base], epochs=2,
                           batch_size=4, eagerly=False)
        return runs.set_index("seed")[["val_accuracy", "test_accuracy"]]

    assert scores((0, 1)).loc[[1]].equals(scores((1,)))  # seed 1 on seed 0's compiled model, or on its own


def test_taps_check_each_frozen_prefix_once_per_cached_entry_and_another_backbones_again(base, monkeypatch):
    ds = tiny_dataset(np.random.default_rng(2))
    cache = taps.tap(surgery.attach_head(base, ds.num_classes, seed=0), ds, ["conv5_block2_out"])
    checked, check = [], features.check_attached
    monkeypatch.setattr(features, "check_attached", lambda model, parts, *a, **k: checked.append(parts.cut) or check(model, parts, *a, **k))

    def last_block(backbone):
        return lambda seed: surgery.freeze(surgery.attach_head(backbone, ds.num_classes, seed=seed), except_blocks=["conv5_block3"])

    same_prefix = {"last block": taps.Variant(last_block(base)), "at 0.01": taps.Variant(last_block(base), learning_rate=0.01),
                   "8 images": taps.Variant(last_block(base), train_images=8)}
    taps.repeat(same_prefix, ds, cache, seeds=(0, 1), restore=[base], epochs=1, eagerly=True)
    taps.repeat({"again": taps.Variant(last_block(base))}, ds, cache, seeds=(0,), restore=[base], epochs=1, eagerly=True)
    assert checked == ["resnet50/conv5_block2_out"]  # one prefix on one cached entry: one forward pass through it
    pooled = taps.tap(surgery.attach_head(base, ds.num_classes, seed=0), ds, ["conv5_block3_out"])
    head = [surgery.freeze(surgery.attach_head(base, ds.num_classes, seed=seed)) for seed in (0, 1)]
    assert taps.cached_for(head[0], pooled) is taps.cached_for(head[1], pooled)  # pooled once, for every seed
    taps.repeat({"head": taps.Variant(lambda seed: surgery.freeze(surgery.attach_head(base, ds.num_classes, seed=seed)))},
                ds, pooled, seeds=(0, 1), restore=[base], epochs=1, eagerly=True)
    assert checked == ["resnet50/conv5_block2_out", "resnet50_head/pooling"]
    fresh = taps.tap(surgery.attach_head(base, ds.num_classes, seed=0), ds, ["conv5_block2_out"])
    taps.repeat({"fresh cache": taps.Variant(last_block(base))}, ds, fresh, seeds=(0,), restore=[base], epochs=1, eagerly=True)
    assert len(checked) == 3
    keras.utils.set_random_seed(1)
    other = transfer.backbone("resnet50", input_shape=(32, 32, 3), weights=None)  # other weights, the same layer names
    taps.repeat({"other backbone": taps.Variant(last_block(other))}, ds, fresh, seeds=(0,), restore=[other], epochs=1,
                eagerly=True)
    assert len(checked) == 4  # another backbone's prefix on the same features is checked again
