"""The `npy` predictor's twin with an array input: the server hands it a float32 array."""

from typing import Annotated

import numpy as np

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def predict(self, x: Annotated[np.ndarray, np.float32] = Input()) -> float:
        return float(x.sum())
