"""The loader's deprecation notices reach the setup logs (Python hides them by default)."""

from __future__ import annotations

import asyncio

from tests.integration.workers.conftest import running_pool


def test_deprecated_predictor_api_is_reported_in_setup_logs(project):
    async def body():
        async with running_pool(project("basic"), "basic.py:Predictor") as pool:
            assert pool.state == "READY"
            logs = pool.setup.logs
            assert "DeprecationWarning: BasePredictor is deprecated" in logs, logs
            assert "predict() is deprecated; use run() instead" in logs, logs
            # each notice names the user's file, not the runtime line that loaded it
            assert "basic.py:" in logs and "runtime/" not in logs, logs

    asyncio.run(body())
