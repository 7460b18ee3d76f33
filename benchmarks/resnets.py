"""What the runs of notebooks 10 and 11 cost on this machine, piece by piece (issue 10).

    .venv/bin/python benchmarks/resnets.py [--profile smoke|offline] [--jit]

Prints, with the load average beside each figure: one training epoch of ResNet50's new last stage and
seed 003's head on cached conv4 features (graph mode; `--jit` adds XLA), one epoch of the
pre-activation ResNet34 from scratch at the width `resnets.scratch_width()` gives, and one epoch of the
augmentation ablation (augment, one pass through ResNet50 cut at activation 37, one epoch of the head).
The notebooks' own wall times come from `benchmarks/course.py --profile offline 10 11`.
"""

from __future__ import annotations

import argparse
import os
import time


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def report(what: str, started: tuple[float, float], epochs: int = 1) -> None:
    wall, used = time.perf_counter() - started[0], cpu() - started[1]
    print(f"{what}: {wall / epochs:.1f} s wall, {used / epochs:.1f} s CPU per epoch "
          f"(load {os.getloadavg()[0]:.2f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline", choices=("smoke", "offline"))
    parser.add_argument("--jit", action="store_true", help="also time the new stage with XLA (jit_compile=True)")
    args = parser.parse_args()

    import keras

    import labkit
    from labkit import train
    from labkit.models import features, repeats, resnets, transfer

    lab = labkit.setup(profile=args.profile, seed=0, notebook="benchmark_resnets")
    ds = transfer.target("resnet50")
    base = transfer.backbone("resnet50", input_shape=ds.input_shape)
    parts = features.split(resnets.reinit_classifier(base, ds.num_classes))
    cached = features.cached_dataset(parts, ds)
    for jit in (False, True) if args.jit else (False,):
        head = features.split(resnets.reinit_classifier(base, ds.num_classes)).head
        head.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=jit)
        train.fit(head, cached, epochs=1)  # traces (and compiles)
        started = (time.perf_counter(), cpu())
        train.fit(head, cached, epochs=2)
        report(f"new conv5 + 3×1024 head on cached features, jit_compile={jit}", started, 2)
    started = (time.perf_counter(), cpu())
    repeats.repeat({"r34": lambda seed: resnets.preact_resnet34(ds.input_shape, ds.num_classes,
                                                                 width=resnets.scratch_width())},
                   ds, seeds=(0,), epochs=2, eagerly=lab.profile.fit_eagerly)
    report(f"pre-activation ResNet34 (width {resnets.scratch_width()}) from scratch, tracing included", started, 2)
    cut = keras.Model(base.input, base.get_layer("conv4_block5_out").output, name="cut37")
    repeats.augmented(lambda seed: resnets.cut_classifier(cut, ds.num_classes), ds, augmentations=["none"], seeds=(0,),
                      epochs=1, eagerly=lab.profile.fit_eagerly)  # caches validation and test features
    started = (time.perf_counter(), cpu())
    repeats.augmented(lambda seed: resnets.cut_classifier(cut, ds.num_classes), ds, augmentations=["all"], seeds=(0,),
                      epochs=2, eagerly=lab.profile.fit_eagerly)
    report("ablation, 'all' (augment, cut-37 forward, head epoch; validation features cached again)", started, 2)


if __name__ == "__main__":
    main()
