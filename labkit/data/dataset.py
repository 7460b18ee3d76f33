"""The `Dataset` that `labkit.data.load` returns: three splits ready for Keras, and a description."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "val", "test")


def _part(split: str, index: int, doc: str) -> property:
    """A read-only attribute for the images (index 0) or labels (index 1) of one split."""
    return property(lambda self: self.splits[split][index], doc=doc)


@dataclass
class Dataset:
    """Images and integer labels in three splits, with what a reader needs to know about them.

    Attributes:
        name: the dataset that was loaded (`"digits"`).
        requested: the dataset the notebook asked for (`"fashion_mnist"`); differs from
            `name` when the profile substituted an embedded stand-in.
        title: one line saying what the images are.
        source: where the images come from.
        licence: the images' licence.
        class_names: the label of class `i` is `class_names[i]`.
        splits: `{"train": (x, y), "val": (x, y), "test": (x, y)}`; x is float32
            N×H×W×C in [0, 1], y is int64.
        profile: the profile that chose the size.
        notes: what was done to the data (substitution, caps), in plain words.
    """

    name: str
    requested: str
    title: str
    source: str
    licence: str
    class_names: list[str]
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    profile: str
    notes: list[str] = field(default_factory=list)

    x_train = _part("train", 0, "The training images.")
    y_train = _part("train", 1, "The training labels.")
    x_val = _part("val", 0, "The validation images.")
    y_val = _part("val", 1, "The validation labels.")
    x_test = _part("test", 0, "The test images.")
    y_test = _part("test", 1, "The test labels.")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one image, as `keras.Input(shape=...)` wants it."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def substituted(self) -> bool:
        """Whether an embedded stand-in replaced the requested dataset."""
        return self.name != self.requested

    def counts(self):
        """Counts the examples of each class in each split.

        Returns:
            A pandas DataFrame, one row per class and one column per split.
        """
        import pandas as pd

        table = {
            split: np.bincount(y, minlength=self.num_classes) for split, (_, y) in self.splits.items()
        }
        frame = pd.DataFrame(table, index=pd.Index(self.class_names, name="class"))
        return frame

    def describe(self):
        """Describes each split.

        Returns:
            A pandas DataFrame with one row per split: examples, image shape, classes, the
            fewest and most examples per class, pixel range.
        """
        import pandas as pd

        rows = []
        for split, (x, y) in self.splits.items():
            per_class = np.bincount(y, minlength=self.num_classes)
            rows.append(
                {
                    "split": split,
                    "examples": len(x),
                    "image shape": "×".join(str(d) for d in x.shape[1:]),
                    "classes": int((per_class > 0).sum()),
                    "fewest per class": int(per_class.min()),
                    "most per class": int(per_class.max()),
                    "pixel range": f"{float(x.min()):.2f}–{float(x.max()):.2f}",
                }
            )
        return pd.DataFrame(rows).set_index("split")

    def summary(self) -> str:
        """Says what was loaded and why.

        Returns:
            A few lines: title, source, licence, split sizes, image shape, classes, notes.
        """
        sizes = " / ".join(f"{len(self.splits[s][0])} {s}" for s in SPLITS)
        lines = [
            f"{self.name}: {self.title}",
            f"  source   {self.source}",
            f"  licence  {self.licence}",
            f"  splits   {sizes}; image {'×'.join(map(str, self.input_shape))}; "
            f"{self.num_classes} classes",
        ]
        lines += [f"  note     {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(self.splits[s][0])}" for s in SPLITS)
        return f"Dataset({self.name!r}, {sizes}, input_shape={self.input_shape}, profile={self.profile!r})"

    def plot_class_distribution(self, **kwargs):
        """Draws the examples per class and split as a bar chart.

        Args:
            **kwargs: the options of `labkit.vis.plots.class_distribution`.

        Returns:
            The matplotlib Figure.
        """
        from labkit.vis import plots

        return plots.class_distribution(self, **kwargs)

    def plot_samples(self, **kwargs):
        """Draws a grid of sample images per class.

        Args:
            **kwargs: the options of `labkit.vis.plots.sample_grid`.

        Returns:
            The matplotlib Figure.
        """
        from labkit.vis import plots

        return plots.sample_grid(self, **kwargs)
