"""Notebook 05's searches on this machine: the searched ResNets run eagerly against traced (issue 12).

    .venv/bin/python benchmarks/hypersearch.py [--profile offline] [--seed 0]

One Hyperband search of seed 000's ResNet space at the profile's size (`Profile.hyper`), then its
winner retrained, once with the searched models traced (`model.run_eagerly = False`) and once
eagerly, side by side in one process. With the offline profile's 160 training images and 3 epochs a
trial runs about 15 steps, so the cost of tracing each trial's new network can exceed the steps
themselves. The two run in the order traced, eager, eager, traced, so that neither gains from going
second (a warm process, a cooler CPU); the ratio is of the sums. Prints trials, epochs, wall and CPU seconds and the best validation accuracy of each,
with the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline", choices=("smoke", "offline"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import labkit
    from labkit import data
    from labkit.search import hyper
    from labkit.search.hypersearch import retrain, search

    lab = labkit.setup(profile=args.profile, seed=args.seed, notebook="benchmark_hypersearch",
                       build_dir=tempfile.mkdtemp(prefix="labkit-bench-"), quiet=True)
    scale = lab.profile.hyper
    photos = data.load("flowers", image_size=scale.image_size, split_cap=scale.split_cap)
    print(f"profile {args.profile}: {len(photos.y_train)} training images at {scale.image_size} px, width {scale.width}, "
          f"depths / {scale.depth_divisor}, max_epochs {scale.max_epochs}, factor {scale.factor}; "
          f"the profile runs them {'eagerly' if scale.eager else 'traced'}", flush=True)
    walls = {False: 0.0, True: 0.0}
    for eager in (False, True, True, False):
        build = hyper.resnet_hypermodel(input_shape=photos.input_shape, num_classes=photos.num_classes,
                                        width=scale.width, depth_divisor=scale.depth_divisor, eager=eager)
        started, used = time.perf_counter(), cpu()
        found = search(build, hyper.resnet_space(), dataset=photos, directory=lab.work_dir(f"eager{eager}"),
                       name="hyperband", method="hyperband", max_epochs=scale.max_epochs, factor=scale.factor,
                       seed=args.seed, overwrite=True, budget_seconds=3600)
        searched = (time.perf_counter() - started, cpu() - used)
        scored = retrain(build, found.best_values(), dataset=photos, epochs=scale.max_epochs, seed=args.seed)
        print(f"{'eager ' if eager else 'traced'}: {len(found.table)} trials, {found.epochs} epochs, search "
              f"{searched[0]:.1f} s wall / {searched[1]:.1f} s CPU, with the retraining "
              f"{time.perf_counter() - started:.1f} s wall; best val {found.table['val_accuracy'].max():.3f}, "
              f"retrained test {scored['test_accuracy']:.3f} (load {os.getloadavg()[0]:.2f})", flush=True)
        walls[eager] += time.perf_counter() - started
    print(f"traced / eager, both runs of each summed: {walls[False]:.1f} / {walls[True]:.1f} s = "
          f"{walls[False] / walls[True]:.2f}x", flush=True)


if __name__ == "__main__":
    main()
