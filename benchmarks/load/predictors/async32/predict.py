"""An async predictor that awaits 5 ms of simulated I/O, 32 predictions at a time."""

import asyncio

from cog import BasePredictor


class Predictor(BasePredictor):
    async def predict(self, n: int = 0) -> int:
        await asyncio.sleep(0.005)
        return n
