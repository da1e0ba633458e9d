"""A constant RSGI app: the fastest server granian can be, to measure the load generator alone.

With `COG_BENCH_AWAIT_S` set it also awaits that long per request, as a scenario's model
does: then it is the front floor, what granian itself allows with no worker behind it.
"""

import asyncio
import os

BODY = b'{"id":"p","status":"succeeded","output":1}'
HEADERS = [("content-type", "application/json")]
AWAIT_S = float(os.environ.get("COG_BENCH_AWAIT_S", "0"))


async def app(scope, proto):
    if scope.proto == "http":
        await proto()  # read the request body, as a server would
        if AWAIT_S:
            await asyncio.sleep(AWAIT_S)
        proto.response_bytes(200, HEADERS, BODY)
