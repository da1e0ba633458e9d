"""A training function and a predictor in one project."""

from cog import BasePredictor


def train(steps: int = 2) -> str:
    print(f"training for {steps} steps")
    return f"trained {steps}"


class Predictor(BasePredictor):
    def predict(self, text: str = "x") -> str:
        return text
