"""A sync model that sleeps until canceled, recording what cancellation looked like."""

import os
import time

from cog import BasePredictor, CancelationException

canceled = 0


class Predictor(BasePredictor):
    def predict(self, seconds: float = 60.0) -> str:
        global canceled
        try:
            time.sleep(seconds)
        except CancelationException:
            canceled += 1
            raise
        return f"slept {os.getpid()} canceled={canceled}"
