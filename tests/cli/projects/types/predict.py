import os
from typing import Literal

from cog import BasePredictor, Input, Path


class Predictor(BasePredictor):
    def predict(
        self,
        number: int = Input(description="An integer"),
        scale: float = Input(default=1.0, description="A float"),
        loud: bool = Input(default=False, description="A flag"),
        mode: Literal["sum", "list"] = Input(default="sum", description="A choice"),
        words: list[str] = Input(default=[], description="A list"),
        doc: Path | None = Input(default=None, description="A file"),
    ) -> dict:
        return {
            "number": number,
            "scale": scale,
            "loud": loud,
            "mode": mode,
            "words": words,
            "doc": doc.read_text() if doc else None,
            "greeting": os.environ.get("GREETING"),
            "extra": os.environ.get("EXTRA"),
        }
