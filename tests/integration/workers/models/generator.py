"""A sync generator model: each yield is streamed as it happens."""

import time
from collections.abc import Iterator

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, n: int = 3, fail_at: int = -1) -> Iterator[str]:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError(f"failed at {i}")
            print(f"yielding {i}")
            yield f"item {i}"
            time.sleep(0.01)
