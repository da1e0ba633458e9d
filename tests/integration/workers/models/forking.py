"""A model whose setup leaves children behind: forked processes and a daemon holding stdout."""

import multiprocessing
import subprocess

from cog import BasePredictor


def child() -> None:
    print("hello from a forked child", flush=True)


class Predictor(BasePredictor):
    def setup(self) -> None:
        process = multiprocessing.get_context("fork").Process(target=child)
        process.start()
        process.join()
        # a double-forked daemon that keeps the captured stdout open after setup
        subprocess.run(["sh", "-c", "(sleep 20; echo late) &"], check=True)
        print("setup done")

    def predict(self, text: str = "x") -> str:
        print(f"predicting {text}")
        return text
