"""Figures: `plots` (data, learning curves, confusion matrices, sweeps, spread over seeds), `filters`
(convolution kernels), `maps` (feature maps), `gradcam` (Grad-CAM heat maps), `mistakes` (the most
confident misclassified examples)."""
