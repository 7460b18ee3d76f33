"""Guards the cost of labkit's one training path: `labkit.train.fit` against a bare `model.fit` on
the same arrays, same model, same initial weights (issue 13: measured at 97 %).

    .venv/bin/python benchmarks/fit_overhead.py [--epochs 2] [--repeats 3] [--cap 3000]

The two are run alternately, `--repeats` times each, from the same weights; the figure is the
median bare time over the median labkit time (1.0: no overhead). Target: at least `TARGET`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import labkit
from labkit import data, models, train

TARGET = 0.97


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cap", type=int, default=3000, help="train examples (the val split is capped at a third)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as build:
        labkit.setup("offline", seed=0, notebook="bench_fit", build_dir=build, quiet=True)
        ds = data.load("fashion_mnist", split_cap=(args.cap, args.cap // 3, args.cap // 3))
        model = train.compile_classifier(models.hand_built_cnn(input_shape=ds.input_shape, num_classes=ds.num_classes))
        start = model.get_weights()
        model.fit(ds.x_train[:64], ds.y_train[:64], epochs=1, verbose=0)  # trace once, outside the timing
        times = {"bare": [], "labkit": []}
        before = os.getloadavg()[0]
        for _ in range(args.repeats):
            for kind in ("bare", "labkit"):
                model.set_weights(start)
                started = time.perf_counter()
                if kind == "bare":
                    model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val), epochs=args.epochs,
                              batch_size=32, verbose=0)
                else:
                    train.fit(model, ds, epochs=args.epochs, batch_size=32)
                times[kind].append(time.perf_counter() - started)
    bare, ours = statistics.median(times["bare"]), statistics.median(times["labkit"])
    ratio = bare / ours
    print(f"bare model.fit {bare:.2f} s, labkit.train.fit {ours:.2f} s (medians of {args.repeats}, "
          f"{args.epochs} epochs, {len(ds.y_train)} images): labkit runs at {ratio:.1%} of bare "
          f"-> {'met' if ratio >= TARGET else 'MISSED'} (target {TARGET:.0%}); "
          f"load average {before:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
