from cog import Input


def train(steps: int = Input(description="Training steps"), rate: float = 0.5) -> dict:
    return {"steps": steps, "rate": rate, "loss": 1.0 / steps}
