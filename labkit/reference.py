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

# Seed report 000, ResNet-50 on its 8 classes (ImageNet weights): cut at the k-th activation layer
# (Keras 2's `activation_k`, `labkit.models.surgery.activation_name` gives today's name) with a new
# head, and the learning rate. Validation accuracies as the report states them (single runs).
RESNET50_CUTS = {
    "source": SEED_000,
    "dataset": "scene photographs, 8 classes",
    "weights": "ImageNet",
    "cuts": (46, 43, 40, 37, 22, 7),
    "best_cut_20_epochs": 43,
    "scarce_train_images": 379,
    "scarce_epochs": 50,
    "scarce_best_cut": 37,
    "scarce_best_val_accuracy": 0.94,  # reached at epoch 20
    "learning_rates": (0.1, 0.01, 0.001),
    "best_learning_rate": 0.01,
    "best_val_accuracy": 0.9690,  # 100 epochs at 0.01
    # Unfreezing the last 3, 4, 5 ... 15 layers "does not change the output", no numbers given.
    "unfrozen_last_layers": tuple(range(3, 16)),
}

SEED_003 = "seed report 003 (flowers photos, 5 classes; ResNet-50 v1 fine-tuning, ImageNet weights)"
# Its 14 models: question 5 unfreezes the last block (conv5_block3), question 6 the last two blocks
# and adds three ReLU dense layers, question 7 replaces the last stage by new convolutions. Adam with
# the learning rate and decay given, early stopping; test set: 35 images per class from the web.
_SEED_003_ROWS = (
    (1, 5, 5e-6, 0.001, 0.25, (), 0.52999, 0.85143),
    (2, 5, 1e-6, 0.001, 0.0, (), 1.26781, 0.70857),
    (3, 5, 1e-5, 0.01, 0.0, (), 0.86317, 0.68000),
    (4, 6, 5e-6, 0.001, 0.25, (512, 512, 512), 1.34390, 0.76571),
    (5, 6, 1e-6, 0.001, 0.0, (512, 1024, 1024), 0.98356, 0.77143),
    (6, 6, 1e-6, 0.001, 0.25, (512, 1024, 1024), 0.93507, 0.80571),
    (7, 6, 1e-6, 0.001, 0.25, (1024, 2048, 2048), 0.85349, 0.86857),
    (8, 6, 1e-6, 0.001, 0.0, (1024, 1024, 1024), 0.83125, 0.86286),
    (9, 6, 1e-6, 0.001, 0.25, (1024, 1024, 1024), 1.21581, 0.78857),
    (10, 7, 1e-6, 0.001, 0.0, (512, 1024, 1024), 0.52568, 0.84571),
    (11, 7, 1e-6, 0.001, 0.25, (512, 1024, 1024), 0.87438, 0.78857),
    (12, 7, 1e-6, 0.001, 0.0, (1024, 1024, 1024), 0.52680, 0.84000),
    (13, 7, 1e-6, 0.001, 0.25, (1024, 1024, 1024), 0.56724, 0.82857),
    (14, 7, 1e-6, 0.001, 0.25, (1024, 2048, 2048), 0.42535, 0.88571),
)
_SEED_003_COLUMNS = ("model", "question", "learning_rate", "decay", "dropout", "dense", "test_loss", "test_accuracy")
RESNET50_FINE_TUNING = {
    "source": SEED_003,
    "dataset": "flowers photos, 5 classes (test: 35 web images per class)",
    "weights": "ImageNet",
    "image_size": 224,
    "models": tuple(
        dict(zip(_SEED_003_COLUMNS, row)) for row in _SEED_003_ROWS
    ),
}

# Feature maps: seed 000 drew the 64 channels of ResNet-50's first convolution for one photograph of a
# coast (some channels separate the sea from the sky); seed 001 drew maps at several depths of its
# ResNet for one image. Neither reports a number beyond the 64 channels, nor a Grad-CAM.
FEATURE_MAPS = {
    "source": f"{SEED_000}; {SEED_001}",
    "weights": "ResNet-50, ImageNet",
    "image": "a photograph of a coast (seed 000)",
    "first_layer_channels": 64,
    "depths": "several (figures only)",
    "gradcam": "none",
}

SEED_004 = "seed report 004 (Natural Images, 8 classes at 50×50; ResNet-50 fine-tuned end to end)"

# Seed 004's evaluation of its fine-tuned ResNet-50 (ImageNet weights, all layers trainable, flatten and
# a dense softmax head, Adam, 20 epochs), printed by Keras' `evaluate` with the Precision, Recall and
# TopKCategoricalAccuracy metrics (k = 5, Keras' default; precision and recall on one-hot labels at 0.5).
EVALUATION = {
    "source": SEED_004,
    "dataset": "Natural Images (airplane, car, cat, dog, flower, fruit, motorbike, person)",
    "image_size": 50,
    "epochs": 20,
    "loss": 0.1752,
    "accuracy": 0.9583,
    "precision": 0.9595,
    "recall": 0.9578,
    "top_k": 5,
    "top_k_accuracy": 1.0000,
    "confusions": "airplanes often taken for flowers",
}
