"""A sync model that exercises logs, state, metrics, files and failures."""

import ctypes
import io
import os
import subprocess
import sys
from pathlib import Path

from cog import BasePredictor, current_scope

calls = 0


class Predictor(BasePredictor):
    def setup(self) -> None:
        print("setup on stdout")
        print("setup on stderr", file=sys.stderr)
        os.system("echo setup from a subprocess")
        self.pid = os.getpid()

    def predict(self, action: str = "echo", text: str = "hi") -> str:
        global calls
        calls += 1
        if action == "echo":
            return text
        if action == "count":
            return str(calls)
        if action == "pid":
            return str(os.getpid())
        if action == "logs":
            print("python stdout")
            print("python stderr", file=sys.stderr)
            os.write(1, b"raw fd 1\n")
            os.write(2, b"raw fd 2\n")
            subprocess.run(["echo", "child process"], check=True)
            libc = ctypes.CDLL(None)
            libc.printf(b"c printf\n")
            sys.stdout.buffer.write(b"bytes through the buffer\n")
            sys.__stdout__.write("the original stdout\n")
            sys.stdout.write("partial line")
            return "ok"
        if action == "raise":
            raise ValueError("this is a value error")
        if action == "exit":
            sys.exit(3)
        if action == "metrics":
            scope = current_scope()
            scope.record_metric("timing.inference", 1.5)
            scope.record_metric("count", 1, mode="incr")
            scope.record_metric("count", 2, mode="incr")
            return "ok"
        if action == "crash":
            os._exit(7)
        if action == "segfault":
            ctypes.string_at(0)
        if action == "hang":
            import time

            time.sleep(600)
        raise ValueError(f"unknown action {action}")


class FilePredictor(BasePredictor):
    def predict(self, kind: str = "path") -> list[Path]:
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cog-test-{os.getpid()}.txt"
        path.write_text("hello file")
        return [path, io.BytesIO(b"bytes out")]  # type: ignore[list-item]
