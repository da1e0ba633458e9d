"""Models whose setup fails in different ways."""

import os
import time

from cog import BasePredictor


class Raises(BasePredictor):
    def setup(self) -> None:
        print("about to fail")
        raise RuntimeError("weights are missing")

    def predict(self) -> str:
        return "never"


class Slow(BasePredictor):
    def setup(self) -> None:
        print("sleeping through setup")
        time.sleep(60)

    def predict(self) -> str:
        return "never"


class Dies(BasePredictor):
    def setup(self) -> None:
        os._exit(9)

    def predict(self) -> str:
        return "never"


class SyncConcurrent(BasePredictor):
    def predict(self) -> str:
        return "never"
