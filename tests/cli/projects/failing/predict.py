from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, reason: str = "broken on purpose") -> str:
        raise ValueError(reason)
