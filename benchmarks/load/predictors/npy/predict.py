"""Takes a `.npy` file (sent as a data URL), loads it and returns the sum: what a model on
Cog 0.23.1 does with an array today."""

import numpy as np

from cog import BasePredictor, Path


class Predictor(BasePredictor):
    def predict(self, x: Path) -> float:
        return float(np.load(x).sum())
