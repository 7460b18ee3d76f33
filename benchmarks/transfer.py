"""Transfer learning offline (issue 9): pretraining time, the cached-features speed-up, the gain over random init.

Targets: pretraining all the course's backbones ≤ 10 min on 2 cores (once, then cached); one epoch
of phase 1 on cached features ≥ 5× faster than end to end; the lab-pretrained backbone beats the
same architecture from random init by more than the seed-to-seed spread on the data-scarce target.
Wall times depend on the machine's load: each line gives the CPU seconds and the load average too.

    .venv/bin/python benchmarks/transfer.py pretrain [--backbones mobilenet_v2 inception_v3 resnet50]
    .venv/bin/python benchmarks/transfer.py cache [--backbone mobilenet_v2]
    .venv/bin/python benchmarks/transfer.py gain [--backbone mobilenet_v2] [--seeds 0 1 2] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import labkit
from labkit import stats, train
from labkit.models import features, pretrain, repeats, transfer

PRETRAIN_SECONDS = 600
CACHE_RATIO = 5.0


def _clock():
    wall, cpu = time.perf_counter(), time.process_time()
    return lambda: (time.perf_counter() - wall, time.process_time() - cpu, os.getloadavg()[0])


def bench_pretrain(args) -> bool:
    """Pretrains each backbone under the profile (in the lab's cache; `--rebuild` to time a cached one)."""
    total = 0.0
    for name in args.backbones:
        clock = _clock()
        record = pretrain.lab_weights(name, rebuild=args.rebuild)
        wall, cpu, load = clock()
        seconds = record.seconds if not record.trained_now else wall
        total += seconds
        print(f"{name}: {record.key}: {'pretrained' if record.trained_now else 'cached; pretraining took'} {seconds:.0f} s "
              f"(this call {wall:.0f} s wall, {cpu:.0f} s CPU, load {load:.1f}); source val accuracy "
              f"{record.history['val_accuracy'][-1]:.3f}")
    ok = total <= PRETRAIN_SECONDS
    print(f"all backbones: {total:.0f} s (goal ≤ {PRETRAIN_SECONDS} s) -> {'met' if ok else 'MISSED'}")
    return ok


def bench_cache(args) -> bool:
    """Times one epoch of phase 1: the head on cached features against the end-to-end model."""
    ds = transfer.target(args.backbone)
    base = transfer.backbone(args.backbone, input_shape=ds.input_shape, weights=args.weights)
    model = transfer.classifier(base, ds.num_classes, augment=False)
    transfer.freeze(model, verbose=False)
    train.compile_classifier(model, learning_rate=1e-3)
    train.fit(model, ds, epochs=1)  # trace the graph first: time the second epoch
    clock = _clock()
    train.fit(model, ds, epochs=1)
    end_to_end = clock()
    parts = features.split(model)
    clock = _clock()
    cached = features.cached_dataset(parts, ds)
    caching = clock()
    head = train.compile_classifier(parts.head, learning_rate=1e-3)
    train.fit(head, cached, epochs=1)
    clock = _clock()
    train.fit(head, cached, epochs=1)
    fast = clock()
    ratio = end_to_end[0] / fast[0]
    print(f"{args.backbone} on {ds.name} ({len(ds.y_train)} images, {ds.input_shape[0]} px): one epoch end to end "
          f"{end_to_end[0]:.2f} s ({end_to_end[1]:.1f} s CPU, load {end_to_end[2]:.1f}); on cached features "
          f"{fast[0]:.3f} s ({fast[1]:.2f} s CPU); caching once {caching[0]:.1f} s")
    print(f"speed-up per epoch {ratio:.0f}× (goal ≥ {CACHE_RATIO:.0f}×) -> {'met' if ratio >= CACHE_RATIO else 'MISSED'}; "
          f"over 10 epochs, caching included: {10 * end_to_end[0] / (caching[0] + 10 * fast[0]):.1f}×")
    return ratio >= CACHE_RATIO


def bench_gain(args) -> bool:
    """The head on the frozen lab-pretrained base against random init (frozen, and trained end to end)."""
    ds = transfer.target(args.backbone)
    clock = _clock()
    runs = repeats.by_weights(args.backbone, ds, weights=("lab", None), seeds=args.seeds, epochs=args.epochs,
                              end_to_end_epochs=args.epochs)
    print(f"{len(args.seeds)} seeds of each: {clock()[0]:.0f} s wall, {clock()[1]:.0f} s CPU, load {clock()[2]:.1f}")
    print(runs.round(3).to_string())
    print(stats.spread(runs).round(3).to_string())
    verdicts = {other: stats.compare(runs, baseline=other, challenger="lab weights")
                for other in ("random init", "random init, end to end")}
    for other, verdict in verdicts.items():
        print(f"lab weights (frozen + head) vs {other}: gap {verdict['gap']:+.3f}, "
              f"standard error {verdict['standard_error']:.3f} -> {verdict['verdict']}")
    return all(v["real"] and v["gap"] > 0 for v in verdicts.values())


_BUILD = tempfile.mkdtemp(prefix="labkit-bench-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["pretrain", "cache", "gain"])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--backbones", nargs="+", default=["mobilenet_v2", "inception_v3", "resnet50"])
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--weights", default="lab", type=lambda w: None if w == "none" else w,
                        help="weights of the base in the cache benchmark: imagenet, lab or none (the speed-up does not depend on them)")
    args = parser.parse_args()
    labkit.setup(args.profile, notebook="bench_transfer", build_dir=_BUILD, quiet=True)
    print(f"profile {args.profile}, load average {os.getloadavg()[0]:.1f}")
    ok = {"pretrain": bench_pretrain, "cache": bench_cache, "gain": bench_gain}[args.what](args)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
