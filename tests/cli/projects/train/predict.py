from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, x: int = 1) -> int:
        return x
