import numpy as np
import pytest

from labkit import data
from labkit.config import PROFILES
from labkit.data import embedded
from labkit.errors import ParameterError


@pytest.fixture(scope="module")
def offline():
    return {name: data.load(name, profile="offline") for name in ("garments", "digits", "photos", "faces")}


def test_every_split_is_float32_in_unit_range_with_every_class(offline):
    for ds in offline.values():
        for split, (x, y) in ds.splits.items():
            assert x.dtype == np.float32 and y.dtype == np.int64, (ds.name, split)
            assert 0.0 <= x.min() and x.max() <= 1.0
            assert len(x) == len(y)
            assert set(np.unique(y)) == set(range(ds.num_classes)), (ds.name, split)


def test_sizes_and_shapes_are_the_documented_ones(offline):
    sizes = {name: tuple(len(ds.splits[s][1]) for s in ("train", "val", "test")) for name, ds in offline.items()}
    assert sizes == {"garments": (2000, 4000, 4000), "digits": (1257, 270, 270), "photos": (1920, 480, 480),
                     "faces": (140, 30, 30)}
    assert offline["garments"].input_shape == (28, 28, 1)
    assert offline["garments"].class_names[0] == "T-shirt/top" and offline["garments"].num_classes == 10
    assert offline["digits"].input_shape == (28, 28, 1)
    assert offline["photos"].input_shape == (64, 64, 3)
    assert offline["faces"].input_shape == (25, 25, 1)
    assert offline["photos"].class_names == list(embedded.PHOTOS)


def test_no_test_image_is_also_a_training_image(offline):
    for ds in offline.values():
        train = {image.tobytes() for image in ds.x_train}
        assert not any(image.tobytes() in train for image in ds.x_test), ds.name


def test_loading_twice_gives_the_same_arrays():
    first, second = data.load("photos", profile="smoke"), data.load("photos", profile="smoke")
    for split in first.splits:
        np.testing.assert_array_equal(first.splits[split][0], second.splits[split][0])


def test_the_split_seed_changes_the_split():
    a = data.load("digits", profile="smoke", split_seed=0)
    b = data.load("digits", profile="smoke", split_seed=1)
    assert not np.array_equal(a.y_test, b.y_test)


def test_smoke_caps_every_split_and_keeps_the_class_balance():
    ds = data.load("digits", profile="smoke")
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == list(PROFILES["smoke"].split_cap)
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.max() - counts.min() <= 2
    assert any("caps the splits" in note for note in ds.notes)


def test_offline_profiles_substitute_the_stand_in_and_say_so():
    ds = data.load("fashion_mnist", profile="smoke")
    assert (ds.name, ds.requested, ds.substituted) == ("garments", "fashion_mnist", True)
    assert "stand-in 'garments'" in ds.notes[0]
    assert data.load("flowers", profile="smoke").name == "photos"
    assert not data.load("faces", profile="smoke").substituted


def test_image_size_and_split_cap_are_arguments():
    ds = data.load("photos", profile="smoke", image_size=48, split_cap=(16, 8, 8))
    assert ds.input_shape == (48, 48, 3)
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == [16, 8, 8]


def test_photo_crops_of_each_split_come_from_its_own_strip(monkeypatch):
    # A synthetic "photograph" whose red channel is the column position: a crop's red values
    # then say where it was cut from.
    ramp = np.tile(np.linspace(0, 255, 300).astype(np.uint8), (120, 1))
    photo = np.stack([ramp, np.zeros_like(ramp), np.zeros_like(ramp)], axis=-1)
    monkeypatch.setitem(embedded.PHOTOS, "ramp", (lambda: photo, "a red ramp"))
    splits, names = embedded.photos(image_size=8, per_class=(30, 10, 10), classes=("ramp",), seed=3)
    assert names == ["ramp"]
    bounds = {"train": (0.0, 0.6), "val": (0.6, 0.8), "test": (0.8, 1.0)}
    for split, (x, _) in splits.items():
        low, high = bounds[split]
        red = x[..., 0]
        assert red.min() >= low - 0.02 and red.max() <= high + 0.02, (split, red.min(), red.max())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "mnist"}, r"name='mnist'.*'fashion_mnist', 'flowers', 'garments', 'digits', 'photos', 'tiles', 'faces'"),
        ({"name": "digits", "image_size": 0}, "image_size=0 must be a whole number greater than 0"),
        ({"name": "digits", "split_cap": (10, 0, 5)}, "split_cap=0"),
        ({"name": "digits", "profile": "tiny"}, "profile='tiny'"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        data.load(**kwargs)


def test_an_unknown_photo_lists_the_photos():
    with pytest.raises(ParameterError, match="classes='dog'.*'astronaut'"):
        embedded.photos(classes=("dog",))


def test_describe_counts_and_catalogue(offline):
    ds = offline["faces"]
    table = ds.describe()
    assert list(table.index) == ["train", "val", "test"]
    assert table.loc["train", "examples"] == 140
    assert ds.counts().loc["face"].tolist() == [70, 15, 15]
    assert set(data.catalogue().index) == set(data.names())


def test_plots_have_one_row_per_class(offline):
    import matplotlib

    matplotlib.use("Agg")
    ds = offline["faces"]
    grid = ds.plot_samples(per_class=3)
    assert len(grid.axes) == 2 * 3 and grid.axes[0].get_ylabel() == "non-face"
    bars = ds.plot_class_distribution()
    assert len(bars.axes[0].patches) == 2 * 3  # classes × splits
    with pytest.raises(ParameterError, match="split='dev'"):
        ds.plot_samples(split="dev")


def test_overview_has_one_row_per_dataset(offline):
    table = data.overview([offline["digits"], data.load("fashion_mnist", profile="smoke")])
    assert table["total"].tolist() == [1257 + 270 + 270, sum(PROFILES["smoke"].split_cap)]
    assert table.index.tolist() == ["digits", "garments"]
    assert table["stands in for"].tolist() == ["-", "fashion_mnist"]
    assert table["image"].tolist() == ["28×28×1", "28×28×1"]


def test_garments_are_deterministic_and_balanced():
    from labkit.data import garments

    x, y = garments.generate(200, seed=3)
    again, _ = garments.generate(200, seed=3)
    np.testing.assert_array_equal(x, again)
    assert x.shape == (200, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert np.bincount(y, minlength=10).tolist() == [20] * 10
    assert not np.array_equal(x, garments.generate(200, seed=4)[0])


def test_garment_splits_come_from_separate_streams():
    from labkit.data import garments

    splits = garments.splits((50, 50, 50), seed=0)
    train = splits["train"][0]
    for other in ("val", "test"):
        x = splits[other][0]
        # no image is shared, nor nearly shared: the closest pair differs clearly
        distances = ((train[:, None] - x[None]) ** 2).reshape(50, 50, -1).mean(axis=-1)
        assert distances.min() > 1e-3, other


def test_garment_difficulty_must_be_a_fraction():
    from labkit.data import garments

    with pytest.raises(ParameterError, match="difficulty=2"):
        garments.generate(10, difficulty=2)


@pytest.mark.parametrize("name", ["tiles", "photos"])
def test_cut_sets_are_cut_at_the_cap_balanced_and_say_so(name):
    ds = data.load(name, profile="smoke")
    cap = PROFILES["smoke"].split_cap
    assert [len(ds.splits[s][1]) for s in ("train", "val", "test")] == list(cap)  # 8 photographs divide the cap
    assert len(set(np.bincount(ds.y_train))) == 1
    assert any("caps the splits" in note for note in ds.notes)
