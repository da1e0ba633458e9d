"""Predictions by id: the in-flight ones, and a bounded history of finished ones.

Lookups and inserts never await, so on the single event loop a check-then-insert is
atomic: two identical concurrent PUTs cannot both start a prediction.
"""

from __future__ import annotations

import time

from cog.runtime.front.prediction import Prediction


class Registry:
    def __init__(self, history_size: int) -> None:
        self.in_flight: dict[str, Prediction] = {}
        self._history: dict[str, Prediction] = {}
        self._history_size = history_size
        self._last_id = 0

    def new_id(self) -> str:
        """`pred_<hex nanoseconds>` like Cog's, strictly increasing so never repeated."""
        stamp = time.time_ns()
        if stamp <= self._last_id:
            stamp = self._last_id + 1
        self._last_id = stamp
        return f"pred_{stamp:x}"

    def add(self, prediction: Prediction) -> None:
        self.in_flight[prediction.id] = prediction

    def finish(self, prediction: Prediction) -> None:
        """Forget an in-flight prediction (a re-PUT of its id runs again) but keep it for GET."""
        if self.in_flight.get(prediction.id) is prediction:
            del self.in_flight[prediction.id]
        if self._history_size:
            history = self._history
            history.pop(prediction.id, None)  # a re-run id moves to the newest end
            history[prediction.id] = prediction
            if len(history) > self._history_size:
                del history[next(iter(history))]

    def lookup(self, prediction_id: str) -> Prediction | None:
        """An in-flight prediction, else a recently finished one."""
        return self.in_flight.get(prediction_id) or self._history.get(prediction_id)
