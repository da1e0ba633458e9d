"""The design floor: granian and the real worker pool, with none of the front's own work.

Started like the server (`python -m benchmarks.load.pool_floor --host H` in the project
directory, `PORT`, `COG_PREDICT_TYPE_STUB` and `COG_MAX_CONCURRENCY` from the environment),
it serves `POST /predictions` by reading the body, taking a slot and running the
prediction on the same `WorkerPool` the server uses, then answering a minimal envelope: no
validation, registry, timestamps, webhooks, files or disconnect watch. What this design
(granian front, predictor in a worker process) reaches on the machine when the front's
logic costs nothing; the server's figures divided by it are what that logic costs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from typing import Any

import msgspec

from cog.runtime.pool import PoolSettings, WorkerPool
from cog.runtime.serve import GIL_SWITCH_INTERVAL

JSON = [("content-type", "application/json")]
READY = b'{"status":"READY"}'
BUSY = b'{"detail":"Already running a prediction"}'


class _Envelope(msgspec.Struct):
    input: dict[str, Any] = {}


class NoSink:
    """A `PredictionSink` that keeps nothing: the floor answers only the outcome."""

    def on_started(self) -> None:
        pass

    def on_log(self, source: str, data: str) -> None:
        pass

    def on_output(self, item: Any) -> None:
        pass

    def on_metric(self, name: str, value: Any, mode: str) -> None:
        pass


async def serve(host: str, port: int) -> None:
    from granian.constants import Interfaces
    from granian.server.embed import Server

    concurrency = os.environ.get("COG_MAX_CONCURRENCY")
    pool = WorkerPool(
        PoolSettings(
            predict_ref=os.environ.get("COG_PREDICT_TYPE_STUB", "predict.py:Predictor"),
            train_ref=None,
            mode="predict",
            project_dir=os.getcwd(),
            max_concurrency=int(concurrency) if concurrency else None,
        )
    )
    pool.spawn()
    await pool.start()
    decode = msgspec.json.Decoder(_Envelope).decode
    encode = msgspec.json.Encoder().encode
    ids = itertools.count(1)
    sink = NoSink()

    async def app(scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        if scope.method != "POST":
            proto.response_bytes(200, JSON, READY)
            return
        inputs = decode(await proto()).input
        slot = pool.acquire()
        if slot is None:
            proto.response_bytes(409, JSON, BUSY)
            return
        outcome = await pool.run(slot, f"p{next(ids)}", inputs, {}, sink)
        body = {"status": outcome.status, "output": outcome.output, "error": outcome.error}
        proto.response_bytes(200, JSON, encode(body))

    server = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        websockets=False,
        log_enabled=False,
        backlog=1024,
    )
    try:
        await server.serve()
    finally:
        await pool.shutdown(grace=0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load.pool_floor")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)  # as the server runs
    import uvloop

    uvloop.run(serve(args.host, int(os.environ.get("PORT", "5000"))))


if __name__ == "__main__":
    main()
