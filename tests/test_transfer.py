"""Backbones, the seed's classifier, freezing, and the cached-features fast path.

Random-init bases keep these fast (the lab weights are tested in test_pretrain.py); tiny fits run
eagerly, which for a few steps costs less than tracing a big graph.
"""

import keras
import numpy as np
import pytest

from labkit.errors import ParameterError
from labkit.models import features, finetune, transfer

SIZES = {"mobilenet_v2": 32, "inception_v3": 75}


@pytest.fixture(scope="module", params=list(SIZES))
def built(request):
    name = request.param
    keras.utils.set_random_seed(0)
    base = transfer.backbone(name, input_shape=(SIZES[name],) * 2 + (3,), weights=None)
    return name, base, transfer.classifier(base, 5, augment=False, seed=0)


def test_the_classifier_is_the_seeds(built):
    name, base, model = built
    assert [layer.name for layer in model.layers] == ["image", "preprocessing", name, "pooling", "dropout", "predictions"]
    assert model.output_shape == (None, 5) and model.get_layer("dropout").rate == 0.4
    assert base.output_shape[-1] == {"mobilenet_v2": 1280, "inception_v3": 2048}[name]
    with_augmentation = transfer.classifier(base, 5)
    assert with_augmentation.layers[1].name == "augmentation"


def test_freezing_and_unfreezing_count_the_parameters(built, capsys):
    name, base, model = built
    head = 5 * (base.output_shape[-1] + 1)
    frozen = transfer.freeze(model)
    assert frozen["trainable"] == head and frozen["non_trainable"] == base.count_params()
    at = transfer.FINE_TUNE_AT[name]
    tuned = transfer.freeze(model, at=at)
    expected = sum(int(np.prod(w.shape)) for layer in base.layers[at:] for w in layer.weights
                   if not isinstance(layer, keras.layers.BatchNormalization) and w.trainable)
    assert tuned["trainable"] == head + expected and tuned["total"] == frozen["total"]
    assert all(not layer.trainable for layer in base.layers[:at]) and expected > 0
    assert all(not layer.trainable for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert f"trainable {tuned['trainable']:,}" in capsys.readouterr().out
    transfer.freeze(model, verbose=False)


def test_batchnorm_stays_in_inference_mode_when_fine_tuning():
    keras.utils.set_random_seed(0)
    base = transfer.backbone("mobilenet_v2", input_shape=(32, 32, 3), weights=None, alpha=0.35)
    model = transfer.classifier(base, 3, augment=False)
    transfer.freeze(model, at=0, verbose=False)
    norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and any(w.trainable for w in base.get_layer("Conv1").weights)
    before = [keras.ops.convert_to_numpy(layer.moving_mean).copy() for layer in norms]
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    model.fit(np.random.rand(8, 32, 32, 3).astype("float32"), np.arange(8) % 3, epochs=1, batch_size=8, verbose=0)
    after = [keras.ops.convert_to_numpy(layer.moving_mean) for layer in norms]
    assert all(np.array_equal(a, b) for a, b in zip(before, after)), "the moving statistics must not move"


def test_the_head_trained_on_cached_features_equals_the_end_to_end_head():
    x = np.random.default_rng(0).random((32, 32, 32, 3), dtype=np.float32)
    y = np.arange(32) % 4
    heads = []
    for cached in (False, True):
        keras.utils.set_random_seed(1)
        base = transfer.backbone("mobilenet_v2", input_shape=(32, 32, 3), weights=None, alpha=0.35)
        model = transfer.classifier(base, 4, augment=False, dropout=0.0)
        transfer.freeze(model, verbose=False)
        trained = features.split(model).head if cached else model
        inputs = features.forward(features.split(model).prefix, x) if cached else x
        trained.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", run_eagerly=True)
        trained.fit(inputs, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        heads.append([keras.ops.convert_to_numpy(w) for w in model.get_layer("predictions").weights])
        parts = features.split(model)
        assert parts.cut.endswith("/pooling")
        assert features.check_attached(model, parts, x[:4]) <= 1e-5
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(*heads))
    assert not np.allclose(heads[0][0], 0)


def test_a_cut_inside_a_partly_frozen_base_and_several_cut_points_in_one_pass():
    keras.utils.set_random_seed(0)
    base = transfer.backbone("mobilenet_v2", input_shape=(32, 32, 3), weights=None, alpha=0.35)
    model = transfer.classifier(base, 3, augment=False)
    transfer.freeze(model, at="block_13_expand", verbose=False)
    parts = features.split(model)
    assert parts.cut == "mobilenet_v2/block_12_add"  # the last layer that alone feeds block 13
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    assert features.check_attached(model, parts, x) <= 1e-4
    taps = features.outputs(base, ["block_12_add", "out_relu"], x)
    assert taps["block_12_add"].shape == (4, 2, 2, 32) and taps["out_relu"].shape[-1] == 1280
    with pytest.raises(ParameterError, match="augmentation"):
        features.split(transfer.classifier(base, 3))


def test_joined_history_marks_the_switch():
    phases = [finetune.Phase("head", {"loss": [3, 2]}, 0, 0, 0, None), finetune.Phase("fine-tune", {"loss": [1]}, 0, 0, 0, None)]
    assert finetune.joined_history(phases) == ({"loss": [3, 2, 1]}, [2])


def test_unknown_backbones_and_weights_list_the_accepted_ones():
    with pytest.raises(ParameterError, match=r"backbone='mobilenet_v9'.*'mobilenet_v2'.*'inception_v3'.*'resnet50'"):
        transfer.backbone("mobilenet_v9", weights=None)
    with pytest.raises(ParameterError, match=r"weights='imagenet21k'.*'imagenet', 'lab', None"):
        transfer.backbone("mobilenet_v2", weights="imagenet21k")
    with pytest.raises(ParameterError, match="at least 75 pixels"):
        transfer.backbone("inception_v3", input_shape=(32, 32, 3), weights=None)
    assert transfer.min_input_size("inception_v3") == 75 and transfer.min_input_size("resnet50") == 32


def test_the_target_is_data_scarce_and_its_cells_disjoint():
    from labkit.data.tiles import deal_cells, tiles

    dealt = deal_cells(4, (10, 3, 3), np.random.default_rng(0))
    assert sorted(sum(dealt, [])) == [(r, c) for r in range(4) for c in range(4)]
    splits, names = tiles(image_size=16, per_class=(3, 2, 2))
    assert splits["train"][0].shape == (24, 16, 16, 3) and len(names) == 8
    assert np.bincount(splits["test"][1]).tolist() == [2] * 8
