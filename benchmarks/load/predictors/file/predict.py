"""Takes a file input (sent as a data URL) and returns its size."""

import os

from cog import BasePredictor, Path


class Predictor(BasePredictor):
    def predict(self, data: Path) -> int:
        return os.path.getsize(data)
