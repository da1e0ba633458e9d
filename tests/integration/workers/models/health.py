"""Models with user healthchecks that pass, fail, raise or hang."""

import os
import time

from cog import BasePredictor


class Predictor(BasePredictor):
    def predict(self, seconds: float = 0.0) -> str:
        time.sleep(seconds)
        return "done"

    def healthcheck(self) -> bool:
        mode = open("health_mode").read().strip() if os.path.exists("health_mode") else "ok"
        if mode == "false":
            return False
        if mode == "raise":
            raise RuntimeError("disk is full")
        if mode == "hang":
            time.sleep(30)
        return True
