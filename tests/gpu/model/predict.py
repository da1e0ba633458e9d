"""A torch model that lives on the GPU: setup moves weights there, predict runs on them."""

import os
import time

import torch

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.device = torch.device("cuda")
        torch.manual_seed(0)
        self.weight = torch.randn(1024, 1024, device=self.device)
        print(f"setup on {torch.cuda.get_device_name(0)} pid={os.getpid()}")

    def predict(
        self,
        n: int = Input(default=4, ge=1, le=4096),
        busy_seconds: float = Input(default=0.0, ge=0.0),
        crash: bool = Input(default=False),
    ) -> dict:
        if crash:
            os._exit(3)
        deadline = time.monotonic() + busy_seconds
        x = torch.ones(n, 1024, device=self.device)
        while True:
            y = x @ self.weight
            torch.cuda.synchronize()
            if time.monotonic() >= deadline:
                break
        return {
            "device": torch.cuda.get_device_name(0),
            "sum": float(y.sum().item()),
            "pid": os.getpid(),
            "allocated": int(torch.cuda.memory_allocated()),
        }
