"""Both transports carry the same conversation: results, logs, cancels, crashes."""

from __future__ import annotations

import asyncio

import pytest

from cog.runtime.transport import TRANSPORTS
from tests.integration.workers.conftest import Sink, predict, running_pool, wait_for


@pytest.fixture(params=TRANSPORTS)
def transport(request, monkeypatch) -> str:
    monkeypatch.setenv("COG_TRANSPORT", request.param)
    return request.param


def test_conversation_over_each_transport(project, transport):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            assert pool._transport.address.startswith(
                {"unix": "unix://", "zeromq": "ipc://"}[transport]
            )
            sink = Sink()
            outcome = await predict(pool, "logs", sink, action="logs")
            assert outcome.status == "succeeded" and "raw fd 1\n" in sink.text("stdout")
            big = "x" * 3_000_000  # larger than any socket buffer, both ways
            assert (await predict(pool, "big", action="echo", text=big)).output == big
            assert (await predict(pool, "dies", action="crash")).status == "failed"
            await wait_for(lambda: pool.state == "READY")
            assert (await predict(pool, "after", action="echo", text="y")).output == "y"

    asyncio.run(body())


def test_unknown_transport_is_a_clear_error(monkeypatch):
    from cog.runtime.transport import front_transport

    monkeypatch.setenv("COG_TRANSPORT", "carrier-pigeon")
    with pytest.raises(ValueError, match="'carrier-pigeon' is not a transport; use one of unix"):
        front_transport()


def test_unix_framing_survives_any_split_of_the_byte_stream():
    from cog.runtime.transport.unix import _encode, _parse

    messages = [[b"header"], [b"h", b"", b"payload" * 1000], [b"\x00" * 70000]]
    stream = b"".join(_encode(tuple(m)) for m in messages)
    for chunk in (1, 3, 4096, len(stream)):
        buf, frames, got = bytearray(), [], []
        for i in range(0, len(stream), chunk):
            buf += stream[i : i + chunk]
            _parse(buf, frames, got.append)
        assert got == messages and not buf and not frames
