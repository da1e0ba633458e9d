"""Streams `tokens` short strings over server-sent events."""

from cog import BasePredictor, ConcatenateIterator, streaming


class Predictor(BasePredictor):
    @streaming
    def predict(self, tokens: int = 64) -> ConcatenateIterator[str]:
        for i in range(tokens):
            yield f"tok{i} "
