"""Figures: `plots` (data, learning curves, confusion matrices, sweeps, spread over seeds)."""
