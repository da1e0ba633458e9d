"""An async model: setup and predictions share one loop; predictions interleave."""

import asyncio
import sys
from collections.abc import AsyncIterator

from cog import BasePredictor, concurrent


class Predictor(BasePredictor):
    async def setup(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.cleanups = 0
        print("async setup")

    @concurrent(max=4)
    async def predict(self, name: str = "a", sleep: float = 0.05, steps: int = 3) -> str:
        if name == "loop":
            return str(asyncio.get_running_loop() is self.loop)
        if name == "cleanups":
            return str(self.cleanups)
        try:
            for i in range(steps):
                print(f"{name} step {i}")
                print(f"{name} err {i}", file=sys.stderr)
                await asyncio.sleep(sleep)
        except asyncio.CancelledError:
            print(f"{name} canceled")
            raise
        finally:
            self.cleanups += 1
        return name


class Streamer(BasePredictor):
    async def predict(self, n: int = 3) -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(0.01)
            yield f"chunk {i}"
