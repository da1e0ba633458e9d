"""Does nothing: measures the serving path alone, one prediction at a time."""

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, n: int = 0) -> int:
        return n
