"""Numbers that the seed reports published, to set beside this lab's own runs.

They are facts quoted from `shared/seeds/` (the course's original reports), not results of this
lab: each notebook shows them next to the numbers its own run produced, and says which data that
run used (the seed reports used the real datasets, on a GPU).
"""

from __future__ import annotations

SEED_002 = "seed report 002 (Fashion-MNIST; hand-built CNN, AutoKeras, HParams sweeps)"

# Question 1: the hand-built CNN (part A) against an AutoKeras AutoModel with a ResNet block (part B).
HAND_BUILT_CNN = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "test_accuracy": 0.9243,
    "params": 3_831_018,
    "trainable": 3_827_562,
    "non_trainable": 3_456,
}
AUTOKERAS_RESNET = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "test_accuracy": 0.9210,
    "params": 23_608_205,
    "trainable": 23_555_082,
    "non_trainable": 53_123,
}

# Question 2A: the hand-built CNN trained for 10 epochs with each Keras optimizer (HParams).
OPTIMIZER_ACCURACY = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "epochs": 10,
    "accuracy": {
        "adadelta": 0.7580,
        "adagrad": 0.8747,
        "adamax": 0.9299,
        "ftrl": 0.1000,
        "nadam": 0.9305,
        "rmsprop": 0.9257,
        "adam": 0.9183,
        "sgd": 0.9140,
    },
}

# Question 2B: relu / selu / elu on each of the four convolutions (81 combinations), with Nadam.
ACTIVATION_BEST = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "optimizer": "nadam",
    "combinations": 81,
    "activations": ("selu", "relu", "relu", "relu"),
    "accuracy": 0.9337,
}

# Question 2C: filters of each convolution, with the best activations of 2B.
FILTER_BEST = {
    "source": SEED_002,
    "dataset": "Fashion-MNIST",
    "baseline_filters": (32, 32, 64, 64),
    "baseline_accuracy": 0.9243,
    "filters": (32, 64, 64, 64),
    "accuracy": 0.9338,
}

# Question 3: transfer learning on the flowers photos (224×224 inputs, ImageNet weights, 10 epochs per
# phase as the figures' captions say): validation accuracy before and after fine-tuning.
SEED_002_FLOWERS = "seed report 002 (flowers photos; MobileNetV2 and InceptionV3 transfer learning)"
TRANSFER = {
    "mobilenet_v2": {"source": SEED_002_FLOWERS, "dataset": "flowers", "image_size": 224, "before": 0.9223, "after": 1.0000},
    "inception_v3": {"source": SEED_002_FLOWERS, "dataset": "flowers", "image_size": 224, "before": 0.9806, "after": 1.0000},
}

# Seed report 001 (8 classes of scene photographs): a pre-activation ResNet34 trained from scratch
# against the ImageNet ResNet50 (frozen, new head); validation accuracy at the best epoch.
SEED_001_SCRATCH = "seed report 001 (8 classes of scene photographs; pre-activation ResNet34 from scratch)"
RESNET34_SCRATCH = {
    "source": SEED_001_SCRATCH,
    "dataset": "scene photographs, 8 classes",
    "augmentation": "width shift, height shift, zoom, horizontal flip",
    "resnet34": {"train_accuracy": 1.0000, "val_accuracy": 0.5892},
    "resnet34_augmented": {"train_accuracy": 0.9937, "val_accuracy": 0.6329},
    "resnet50_imagenet": {"train_accuracy": 1.0, "val_accuracy": 0.9311},
    "resnet50_imagenet_augmented": {"train_accuracy": 1.0, "val_accuracy": 0.9296},
}

# Seed report 000 (8 classes of scene photographs, 379 training images, 50 epochs, one run each):
# ResNet50 (ImageNet) cut at its 37th activation, each augmentation of ImageDataGenerator alone.
AUGMENTATION_ABLATION = {
    "source": "seed report 000 (8 classes of scene photographs; ResNet-50 cut at activation 37)",
    "dataset": "scene photographs, 8 classes, 379 training images",
    "epochs": 50,
    "rows": {"none": (None, 0.94), "rotation": (1.00, 0.84), "width_shift": (0.12, 0.14), "height_shift": (0.99, 0.85),
             "shear": (1.00, 0.93), "zoom": (0.13, 0.14), "horizontal_flip": (1.00, 0.93),
             "vertical_flip": (0.99, 0.91), "all": (0.96, 0.66)},  # (train, validation) accuracy
    "none_note": "no augmentation: 94 % validation accuracy by epoch 20 (the cut-size study), train accuracy not given",
}

SEED_000 = "seed report 000 (8 classes of scene photographs; ResNet-50 fine-tuning, Hyperband)"
SEED_001 = "seed report 001 (8 classes of scene photographs; frozen ImageNet ResNet-50, random search)"

# Hyperband over the HyperResNet space (conv3/conv4 depths, pooling, optimizer, learning rate).
HYPERBAND_RESNET = {
    "source": SEED_000,
    "dataset": "scene photographs, 8 classes",
    "weights": "trained from scratch by HyperResNet",
    "max_epochs": 10,
    "factor": 2,
    "trials": 25,
    "seconds": 14 * 60 + 55,
    "best_val_accuracy": 0.3879,
    # The best values of a second search (max_epochs 20, factor 5), trained for 100 epochs.
    "final_epochs": 100,
    "final_val_accuracy": 0.697,
}

# Two rounds of random search with early stopping (patience 10, at most 50 epochs).
RANDOM_ROUNDS = {
    "source": SEED_001,
    "dataset": "scene photographs, 8 classes",
    "weights": "ImageNet (frozen ResNet-50, new head trained)",
    "patience": 10,
    "max_epochs": 50,
    "first": {"trials": 6, "best_optimizer": "sgd", "best_val_accuracy": 0.9342},
    "narrowed": {"optimizers": ("sgd",), "batch_size": (30, 70), "learning_rate": (0.04, 0.1), "momentum": (0.1, 0.3)},
    "second": {"trials": 5, "best_val_accuracy": 0.9343},
}
