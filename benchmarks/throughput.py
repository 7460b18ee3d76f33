"""Training and inference speed of the course's models on this machine, in images per second.

    .venv/bin/python benchmarks/throughput.py [cnn mobilenet_v2:32 resnet50:32 inception_v3:75 ...]

Every budget of the course is a number of images times a cost per image: this prints the cost per
image, so that a missed budget can be told apart from a slow machine. Each model is traced on two
batches, then timed over one epoch of random images (batch 32, Adam) and one prediction pass
(batch 128), with the load average beside it. Backbones come from `keras.applications` with
random weights (the speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

DEFAULT = ["cnn", "mobilenet_v2:32", "resnet50:32", "inception_v3:75", "resnet50:64", "mobilenet_v2:64"]
APPLICATIONS = {"mobilenet_v2": "MobileNetV2", "resnet50": "ResNet50", "inception_v3": "InceptionV3"}


def model_spec(text: str) -> str:
    """Checks one model argument: `cnn` or `backbone:side` (argparse prints the one-line error)."""
    name, _, side = text.partition(":")
    if text == "cnn" or (name in APPLICATIONS and side.isdigit() and int(side) >= 32):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} must be 'cnn' or BACKBONE:SIDE, BACKBONE one of "
                                     f"{', '.join(APPLICATIONS)} and SIDE a whole number >= 32 (75 for inception_v3)")


def model_for(spec: str):
    """The compiled model and random data of `spec` (`cnn` or `backbone:side`)."""
    import keras

    from labkit import models, train

    rng = np.random.default_rng(0)
    if spec == "cnn":
        x = rng.random((1024, 28, 28, 1), dtype=np.float32)
        model = models.hand_built_cnn(input_shape=(28, 28, 1), num_classes=10)
        return train.compile_classifier(model), x, rng.integers(0, 10, len(x))
    name, side = spec.split(":")
    side = int(side)
    x = rng.random((1024 if name == "mobilenet_v2" else 256, side, side, 3), dtype=np.float32) * 255
    base = getattr(keras.applications, APPLICATIONS[name])(include_top=False, weights=None, input_shape=(side, side, 3),
                                                        pooling="avg")
    model = keras.Sequential([keras.Input((side, side, 3)), base, keras.layers.Dense(10, activation="softmax")])
    return train.compile_classifier(model), x, rng.integers(0, 10, len(x))


def rates(model, x, y) -> tuple[float, float]:
    """(training, inference) images per second, after tracing."""
    model.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)
    model.predict(x[:128], batch_size=128, verbose=0)
    started = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    training = len(x) / (time.perf_counter() - started)
    started = time.perf_counter()
    model.predict(x, batch_size=128, verbose=0)
    return training, len(x) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=DEFAULT, type=model_spec,
                        help="cnn, or BACKBONE:SIDE with BACKBONE one of " + ", ".join(APPLICATIONS))
    args = parser.parse_args()
    import tempfile

    import labkit

    labkit.setup("offline", notebook="bench_throughput", build_dir=tempfile.mkdtemp(prefix="labkit-bench-"), quiet=True)
    print(f"{'model':<18} {'train img/s':>12} {'infer img/s':>12}  load")
    for spec in args.models:
        model, x, y = model_for(spec)
        training, inference = rates(model, x, y)
        print(f"{spec:<18} {training:12.0f} {inference:12.0f}  {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
